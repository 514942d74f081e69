/* diff_cdev.c — the VFIO device cdev + iommufd path, step by step, for the differential suite
 * (scripts/testbed/diff-clients.sh runs it on a real kernel and under the reference and
 * compares the transcripts).
 *
 *   usage: diff_cdev nonviable CDEV
 *          diff_cdev viable GROUP CDEV SIBLING [OTHER]
 *
 *   nonviable  CDEV's device is on vfio-pci, a sibling in its group is still on a DMA-API
 *              kernel driver: BIND_IOMMUFD's errno, what an unbound cdev answers.
 *   viable     CDEV and SIBLING are the VFIO devices of GROUP (every member on vfio-pci or
 *              driver-less); OTHER a device alone in another group behind the same IOMMU.
 *              BIND_IOMMUFD and its edges; GET_HW_INFO; ATTACH to an IOAS (automatic domain;
 *              pt_id), IOVA ranges after attach (reserved MSI window, aperture), maps inside
 *              and outside; HWPT_ALLOC plain / NEST_PARENT / DIRTY_TRACKING / nested VT-d
 *              stage 1 / FAULT_ID_VALID; replace; PASID attach; destroy in use; detach;
 *              unbind by close.
 * Transcript format: tests/clients/diff_common.h. Built with only -Iuapi-shim and libc.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "diff_common.h"

#define SZ_4K 0x1000ULL
#define SZ_2M 0x200000ULL
#define SZ_4M 0x400000ULL
#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED IOMMU_IOAS_MAP_FIXED_IOVA
#define END_OF(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))

static int ifd;       /* the iommufd */
static uintptr_t A;   /* 4 MiB-aligned base of the client's buffers */

static int open_step(const char *name, const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	result_line(name, fd, errno);
	return fd;
}

static void close_step(const char *name, int fd)
{
	int rc = close(fd);

	result_line(name, rc, errno);
}

static uint32_t bind(const char *name, int dev, uint32_t argsz, uint32_t flags, int32_t fd)
{
	struct vfio_device_bind_iommufd cmd = {
		.argsz = argsz, .flags = flags, .iommufd = fd,
	};

	if (step(name, dev, VFIO_DEVICE_BIND_IOMMUFD, &cmd) == 0)
		field("out_devid=%u", cmd.out_devid);
	end();
	return cmd.out_devid;
}

static uint32_t attach(const char *name, int dev, uint32_t argsz, uint32_t flags,
		       uint32_t pt_id, uint32_t pasid)
{
	struct vfio_device_attach_iommufd_pt cmd = {
		.argsz = argsz, .flags = flags, .pt_id = pt_id, .pasid = pasid,
	};

	if (step(name, dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd) == 0)
		field("pt_id=%u", cmd.pt_id);
	end();
	return cmd.pt_id;
}

static void detach(const char *name, int dev, uint32_t argsz, uint32_t flags, uint32_t pasid)
{
	struct vfio_device_detach_iommufd_pt cmd = {
		.argsz = argsz, .flags = flags, .pasid = pasid,
	};

	step(name, dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &cmd);
	end();
}

static void device_info(const char *name, int dev)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	if (step(name, dev, VFIO_DEVICE_GET_INFO, &info) == 0)
		field("flags=0x%x num_regions=%u num_irqs=%u", info.flags, info.num_regions,
		      info.num_irqs);
	end();
}

static uint32_t ioas_alloc(const char *name)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	if (step(name, ifd, IOMMU_IOAS_ALLOC, &cmd) == 0)
		field("id=%u", cmd.out_ioas_id);
	end();
	return cmd.out_ioas_id;
}

static void destroy(const char *name, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	step(name, ifd, IOMMU_DESTROY, &cmd);
	end();
}

static void ranges(const char *name, uint32_t ioas)
{
	struct iommu_iova_range r[8];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .num_iovas = 8,
		.allowed_iovas = (uintptr_t)r,
	};
	uint32_t i;
	int rc;

	rc = step(name, ifd, IOMMU_IOAS_IOVA_RANGES, &cmd);
	field("num_iovas=%u alignment=0x%llx", cmd.num_iovas,
	      (unsigned long long)cmd.out_iova_alignment);
	for (i = 0; rc == 0 && i < cmd.num_iovas && i < 8; i++)
		field("range[%u]=[0x%llx,0x%llx]", i, (unsigned long long)r[i].start,
		      (unsigned long long)r[i].last);
	end();
}

static void map(const char *name, uint32_t ioas, uint32_t flags, uint64_t va_off,
		uint64_t length, uint64_t iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = flags, .ioas_id = ioas, .user_va = A + va_off,
		.length = length, .iova = iova,
	};

	if (step(name, ifd, IOMMU_IOAS_MAP, &cmd) == 0)
		field("iova=0x%llx", (unsigned long long)cmd.iova);
	end();
}

static void unmap(const char *name, uint32_t ioas, uint64_t iova, uint64_t length)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova, .length = length,
	};

	step(name, ifd, IOMMU_IOAS_UNMAP, &cmd);
	field("length=0x%llx", (unsigned long long)cmd.length);
	end();
}

static void allow(const char *name, uint32_t ioas, uint64_t start, uint64_t last)
{
	struct iommu_iova_range r = { start, last };
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .num_iovas = 1,
		.allowed_iovas = (uintptr_t)&r,
	};

	step(name, ifd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
	end();
}

static void hw_info(const char *name, uint32_t dev_id, uint32_t size, uint32_t data_len)
{
	uint64_t data[8];
	struct iommu_hw_info cmd = {
		.size = size, .dev_id = dev_id, .data_len = data_len,
		.data_uptr = data_len ? (uintptr_t)data : 0,
	};
	int rc;

	memset(data, 0xa5, sizeof(data));
	rc = step(name, ifd, IOMMU_GET_HW_INFO, &cmd);
	if (rc == 0) {
		field("data_len=%u out_data_type=%u", cmd.data_len, cmd.out_data_type);
		if (size >= END_OF(struct iommu_hw_info, out_capabilities))
			field("out_capabilities=0x%llx",
			      (unsigned long long)cmd.out_capabilities);
		field("out_max_pasid_log2=%u", cmd.out_max_pasid_log2);
		if (data_len >= sizeof(struct iommu_hw_info_vtd) &&
		    cmd.out_data_type == IOMMU_HW_INFO_TYPE_INTEL_VTD) {
			struct iommu_hw_info_vtd *v = (void *)data;

			field("vtd.flags=0x%x cap_reg=0x%llx ecap_reg=0x%llx", v->flags,
			      (unsigned long long)v->cap_reg, (unsigned long long)v->ecap_reg);
		}
		if (data_len > sizeof(struct iommu_hw_info_vtd))
			field("tail=0x%llx", (unsigned long long)data[3]);
		if (data_len && data_len < sizeof(struct iommu_hw_info_vtd))
			field("data[0]=0x%llx data[1]=0x%llx", (unsigned long long)data[0],
			      (unsigned long long)data[1]);
	}
	end();
}

static uint32_t hwpt_alloc(const char *name, uint32_t flags, uint32_t dev_id, uint32_t pt_id,
			   uint32_t type, const void *data, uint32_t len, uint32_t fault_id)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev_id, .pt_id = pt_id,
		.data_type = type, .data_len = len, .data_uptr = (uintptr_t)data,
		.fault_id = fault_id,
	};

	if (step(name, ifd, IOMMU_HWPT_ALLOC, &cmd) == 0)
		field("id=%u", cmd.out_hwpt_id);
	end();
	return cmd.out_hwpt_id;
}

/* An allocation that is expected to fail: an HWPT it makes anyway is destroyed at once, without
 * a line, so that later IDs and destroys do not depend on it. */
static void hwpt_probe(const char *name, uint32_t flags, uint32_t dev_id, uint32_t pt_id,
		       uint32_t type, const void *data, uint32_t len, uint32_t fault_id)
{
	uint32_t id = hwpt_alloc(name, flags, dev_id, pt_id, type, data, len, fault_id);
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	if (id)
		ioctl(ifd, IOMMU_DESTROY, &cmd);
}

static void dirty_ops(uint32_t hwpt)
{
	struct iommu_hwpt_set_dirty_tracking set = {
		.size = sizeof(set), .flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE, .hwpt_id = hwpt,
	};
	uint64_t bitmap[8] = { 0 };
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get), .hwpt_id = hwpt, .iova = 0x100000, .length = 0x10000,
		.page_size = SZ_4K, .data = (uintptr_t)bitmap,
	};
	struct iommu_hwpt_vtd_s1_invalidate inv = { .addr = 0, .npages = 1 };
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt, .data_uptr = (uintptr_t)&inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, .entry_len = sizeof(inv),
		.entry_num = 1,
	};

	step("SET_DIRTY_TRACKING ENABLE (paging HWPT without dirty tracking)", ifd,
	     IOMMU_HWPT_SET_DIRTY_TRACKING, &set);
	end();
	step("GET_DIRTY_BITMAP (paging HWPT without dirty tracking)", ifd,
	     IOMMU_HWPT_GET_DIRTY_BITMAP, &get);
	end();
	step("HWPT_INVALIDATE VTD_S1 (paging HWPT)", ifd, IOMMU_HWPT_INVALIDATE, &cmd);
	field("entry_num=%u", cmd.entry_num);
	end();
}

static void nonviable(const char *cdev)
{
	int dev;

	heading("device cdev, group not viable");
	ifd = open_step("open /dev/iommu", "/dev/iommu");
	dev = open_step("open CDEV", cdev);
	if (ifd < 0 || dev < 0)
		return;
	device_info("DEVICE_GET_INFO (not bound)", dev);
	attach("ATTACH_IOMMUFD_PT (not bound)", dev, 12, 0, 1, 0);
	bind("BIND_IOMMUFD (a sibling on a DMA-API driver)", dev,
	     sizeof(struct vfio_device_bind_iommufd), 0, ifd);
	device_info("DEVICE_GET_INFO (bind failed)", dev);
	close_step("close CDEV", dev);
	close_step("close /dev/iommu", ifd);
}

static void viable(int group_nr, const char *cdev, const char *sib_path, const char *other)
{
	const uint32_t bsz = sizeof(struct vfio_device_bind_iommufd);
	const uint32_t asz = 12; /* the 6.6 struct: argsz, flags, pt_id */
	struct iommu_hwpt_vtd_s1 s1 = { .pgtbl_addr = 0x10000, .addr_width = 48 };
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	uint32_t devid, sibid = 0, othid = 0, ioas1, ioas2, auto_hwpt, hwpt, fault = 0;
	char gpath[64];
	int dev, sib = -1, oth = -1, g;

	heading("device cdev, group viable");
	ifd = open_step("open /dev/iommu", "/dev/iommu");
	dev = open_step("open CDEV", cdev);
	if (ifd < 0 || dev < 0)
		return;
	device_info("DEVICE_GET_INFO (not bound)", dev);
	bind("BIND_IOMMUFD argsz=8", dev, 8, 0, ifd);
	bind("BIND_IOMMUFD flags=0x2 (unknown)", dev, bsz, 0x2, ifd);
	bind("BIND_IOMMUFD iommufd=-1", dev, bsz, 0, -1);
	bind("BIND_IOMMUFD iommufd=CDEV (not an iommufd)", dev, bsz, 0, dev);
	devid = bind("BIND_IOMMUFD", dev, bsz, 0, ifd);
	bind("BIND_IOMMUFD again", dev, bsz, 0, ifd);
	device_info("DEVICE_GET_INFO (bound)", dev);
	snprintf(gpath, sizeof(gpath), "/dev/vfio/%d", group_nr);
	g = open(gpath, O_RDWR | O_CLOEXEC);
	result_line("open /dev/vfio/GROUP (a device bound through its cdev)", g, errno);
	if (g >= 0)
		close(g);

	heading("GET_HW_INFO");
	hw_info("GET_HW_INFO data_len=0", devid, sizeof(struct iommu_hw_info), 0);
	hw_info("GET_HW_INFO data_len=64", devid, sizeof(struct iommu_hw_info), 64);
	hw_info("GET_HW_INFO data_len=8", devid, sizeof(struct iommu_hw_info), 8);
	hw_info("GET_HW_INFO size=32 (before out_capabilities)", devid, 32, 64);

	heading("attach to an IOAS");
	ioas1 = ioas_alloc("IOAS_ALLOC");
	ioas2 = ioas_alloc("IOAS_ALLOC");
	ranges("IOVA_RANGES before attach", ioas1);
	map("MAP fixed va=A iova=0x100000 length=0x10000 (before attach)", ioas1, FIXED | RW, 0,
	    0x10000, 0x100000);
	map("MAP fixed va=A+0x800 iova=0x200800 length=0x800 (before attach, unaligned)", ioas2,
	    FIXED | RW, 0x800, 0x800, 0x200800);
	map("MAP fixed va=A iova=0xfee00000 length=0x1000 (MSI window, before attach)", ioas2,
	    FIXED | RW, 0, SZ_4K, 0xfee00000ULL);
	attach("ATTACH argsz=8", dev, 8, 0, ioas1, 0);
	attach("ATTACH flags=0x2 (unknown)", dev, asz, 0x2, ioas1, 0);
	attach("ATTACH pt_id=99", dev, asz, 0, 99, 0);
	attach("ATTACH pt_id=devid (a device)", dev, asz, 0, devid, 0);
	attach("ATTACH ioas2 (an unaligned map: needs alignment 0x1000)", dev, asz, 0, ioas2, 0);
	unmap("UNMAP ioas2 iova=0x200800", ioas2, 0x200800, 0x800);
	attach("ATTACH ioas2 (a map in the MSI window)", dev, asz, 0, ioas2, 0);
	unmap("UNMAP all ioas2", ioas2, 0, UINT64_MAX);
	auto_hwpt = attach("ATTACH ioas1", dev, asz, 0, ioas1, 0);
	ranges("IOVA_RANGES after attach", ioas1);
	map("MAP fixed unaligned iova=0x300800 length=0x800", ioas1, FIXED | RW, 0x800, 0x800,
	    0x300800);
	map("MAP fixed iova=0xfee00000 (MSI window)", ioas1, FIXED | RW, 0, SZ_4K, 0xfee00000ULL);
	map("MAP fixed iova=0xfedff000 length=0x2000 (into the MSI window)", ioas1, FIXED | RW, 0,
	    0x2000, 0xfedff000ULL);
	map("MAP fixed iova=2^39-0x1000 (last page of the aperture)", ioas1, FIXED | RW, 0, SZ_4K,
	    (1ULL << 39) - SZ_4K);
	map("MAP fixed iova=2^39 (beyond the aperture)", ioas1, FIXED | RW, 0, SZ_4K, 1ULL << 39);
	map("MAP fixed iova=2^48", ioas1, FIXED | RW, 0, SZ_4K, 1ULL << 48);
	map("MAP auto length=0x200000 va=A+0x200000", ioas1, RW, SZ_2M, SZ_2M, 0);
	map("MAP auto length=0x1000", ioas1, RW, 0x3000, SZ_4K, 0);
	allow("ALLOW_IOVAS over the MSI window", ioas1, 0xfe000000ULL, 0xffffffffULL);
	allow("ALLOW_IOVAS [0x100000, 2^40-1] (past the aperture)", ioas1, 0x100000,
	      (1ULL << 40) - 1);
	allow("ALLOW_IOVAS [0x0, 0xfedfffff]", ioas1, 0, 0xfedfffffULL);
	ranges("IOVA_RANGES after ALLOW_IOVAS", ioas1);
	{
		struct iommu_ioas_allow_iovas cmd = { .size = sizeof(cmd), .ioas_id = ioas1 };

		step("ALLOW_IOVAS num=0", ifd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
		end();
	}
	attach("ATTACH ioas1 again (same IOAS)", dev, asz, 0, ioas1, 0);
	hw_info("GET_HW_INFO dev_id=ioas1", ioas1, sizeof(struct iommu_hw_info), 64);

	heading("destroy in use");
	destroy("DESTROY ioas1 (attached)", ioas1);
	destroy("DESTROY the automatic HWPT (attached)", auto_hwpt);
	destroy("DESTROY devid (a device: not destroyable while bound)", devid);

	heading("group sibling");
	if (sib_path) {
		sib = open_step("open SIBLING", sib_path);
		if (sib >= 0) {
			sibid = bind("BIND_IOMMUFD SIBLING", sib, bsz, 0, ifd);
			attach("ATTACH SIBLING ioas2 (the group is on ioas1's domain)", sib, asz, 0,
			       ioas2, 0);
			attach("ATTACH SIBLING ioas1", sib, asz, 0, ioas1, 0);
		}
	}

	heading("HWPT_ALLOC");
	hwpt = hwpt_alloc("HWPT_ALLOC plain pt_id=ioas1", 0, devid, ioas1, 0, NULL, 0, 0);
	hwpt_probe("HWPT_ALLOC NEST_PARENT", IOMMU_HWPT_ALLOC_NEST_PARENT, devid, ioas1, 0, NULL,
		   0, 0);
	hwpt_probe("HWPT_ALLOC DIRTY_TRACKING", IOMMU_HWPT_ALLOC_DIRTY_TRACKING, devid, ioas1, 0,
		   NULL, 0, 0);
	hwpt_probe("HWPT_ALLOC flags=0x8 (PASID)", 0x8, devid, ioas1, 0, NULL, 0, 0);
	hwpt_probe("HWPT_ALLOC nested VTD_S1 pt_id=plain HWPT (not a parent)", 0, devid, hwpt,
		   IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1), 0);
	hwpt_probe("HWPT_ALLOC nested VTD_S1 pt_id=ioas1", 0, devid, ioas1,
		   IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1), 0);
	hwpt_probe("HWPT_ALLOC pt_id=auto HWPT", 0, devid, auto_hwpt, 0, NULL, 0, 0);
	hwpt_probe("HWPT_ALLOC pt_id=99", 0, devid, 99, 0, NULL, 0, 0);
	hwpt_probe("HWPT_ALLOC dev_id=ioas1", 0, ioas1, ioas1, 0, NULL, 0, 0);
	if (step("FAULT_QUEUE_ALLOC", ifd, IOMMU_FAULT_QUEUE_ALLOC, &fa) == 0) {
		field("id=%u", fa.out_fault_id);
		fault = fa.out_fault_id;
		close((int)fa.out_fault_fd);
	}
	end();
	hwpt_probe("HWPT_ALLOC FAULT_ID_VALID (device without PRI)",
		   IOMMU_HWPT_FAULT_ID_VALID, devid, ioas1, 0, NULL, 0, fault);
	hwpt_probe("HWPT_ALLOC FAULT_ID_VALID fault_id=ioas1", IOMMU_HWPT_FAULT_ID_VALID, devid,
		   ioas1, 0, NULL, 0, ioas1);
	dirty_ops(hwpt);

	heading("replace");
	attach("ATTACH (replace) the plain HWPT", dev, asz, 0, hwpt, 0);
	destroy("DESTROY the automatic HWPT (after replace)", auto_hwpt);
	destroy("DESTROY the plain HWPT (attached)", hwpt);
	if (sib >= 0)
		attach("ATTACH SIBLING ioas1 (the group moved to the plain HWPT)", sib, asz, 0,
		       ioas1, 0);
	attach("ATTACH (replace) ioas1", dev, asz, 0, ioas1, 0);
	attach("ATTACH (replace) ioas2", dev, asz, 0, ioas2, 0);
	ranges("IOVA_RANGES ioas2 after replace", ioas2);

	heading("PASID");
	attach("ATTACH PASID=1 ioas1", dev, sizeof(struct vfio_device_attach_iommufd_pt),
	       VFIO_DEVICE_ATTACH_PASID, ioas1, 1);
	detach("DETACH PASID=1", dev, sizeof(struct vfio_device_detach_iommufd_pt),
	       VFIO_DEVICE_DETACH_PASID, 1);

	heading("other group");
	if (other) {
		oth = open_step("open OTHER", other);
		if (oth >= 0) {
			othid = bind("BIND_IOMMUFD OTHER", oth, bsz, 0, ifd);
			attach("ATTACH OTHER ioas1", oth, asz, 0, ioas1, 0);
			attach("ATTACH OTHER ioas2 (the domain of CDEV's group)", oth, asz, 0,
			       ioas2, 0);
			hw_info("GET_HW_INFO OTHER", othid, sizeof(struct iommu_hw_info), 64);
			detach("DETACH OTHER", oth, 8, 0, 0);
		}
	}

	heading("detach");
	detach("DETACH argsz=4", dev, 4, 0, 0);
	detach("DETACH flags=0x2 (unknown)", dev, 8, 0x2, 0);
	detach("DETACH", dev, 8, 0, 0);
	detach("DETACH again", dev, 8, 0, 0);
	if (sib >= 0)
		detach("DETACH SIBLING", sib, 8, 0, 0);
	ranges("IOVA_RANGES ioas2 after detach", ioas2);
	ranges("IOVA_RANGES ioas1 after detach", ioas1);
	destroy("DESTROY the plain HWPT (detached)", hwpt);
	destroy("DESTROY ioas2 (detached)", ioas2);
	destroy("DESTROY ioas1 (detached, mappings left)", ioas1);
	destroy("DESTROY the FAULT object", fault);

	heading("unbind");
	close_step("close CDEV", dev);
	destroy("DESTROY devid (after close)", devid);
	hw_info("GET_HW_INFO devid (after close)", devid, sizeof(struct iommu_hw_info), 64);
	g = open(gpath, O_RDWR | O_CLOEXEC);
	result_line("open /dev/vfio/GROUP (SIBLING still bound)", g, errno);
	if (g >= 0)
		close(g);
	if (sib >= 0)
		close_step("close SIBLING", sib);
	if (oth >= 0)
		close_step("close OTHER", oth);
	(void)sibid;
	(void)othid;
	g = open(gpath, O_RDWR | O_CLOEXEC);
	result_line("open /dev/vfio/GROUP (all closed)", g, errno);
	if (g >= 0)
		close(g);
	dev = open(cdev, O_RDWR | O_CLOEXEC);
	result_line("open CDEV again", dev, errno);
	if (dev >= 0) {
		bind("BIND_IOMMUFD again after close", dev, bsz, 0, ifd);
		close(dev);
	}
	close_step("close /dev/iommu", ifd);
}

int main(int argc, char **argv)
{
	void *region;

	region = mmap(NULL, 4 * SZ_4M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		printf("mmap: rc=-1 errno=%s\n", errno_name(errno));
		return 1;
	}
	A = ((uintptr_t)region + SZ_4M - 1) & ~(SZ_4M - 1);
	memset((void *)A, 0x5a, 2 * SZ_4M);
	if (argc >= 3 && !strcmp(argv[1], "nonviable")) {
		nonviable(argv[2]);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "viable")) {
		viable(atoi(argv[2]), argv[3], argc > 4 ? argv[4] : NULL,
		       argc > 5 ? argv[5] : NULL);
		return 0;
	}
	fprintf(stderr, "usage: diff_cdev nonviable CDEV | viable GROUP CDEV [SIBLING [OTHER]]\n");
	return 2;
}
