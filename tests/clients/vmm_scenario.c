/* vmm_scenario.c — what a VMM does at start with iommufd and three passthrough devices, as an
 * unmodified program (only <linux/iommufd.h>, <linux/vfio.h>, libc): the acceptance scenario of
 * the device side.
 *
 *   usage: vmm_scenario [RAM_GIB] [--guest-invalidates] [--churn N] [--hold FILE]
 *          RAM_GIB default 4; --guest-invalidates: the guest of step 4 invalidates right
 *          after editing its table, as a correct guest does (no stale DMA on purpose: the
 *          run ioasid-check audits clean). --churn N: before teardown, N map+unmap pairs of
 *          a 2 MiB buffer in the second IOAS (a balloon / hotplug). --hold FILE: before
 *          teardown, write this process's pid to FILE and wait until FILE is removed (a
 *          monitor's test looks at the running VMM meanwhile). Devices from the default platform:
 *          /dev/vfio/devices/vfio0 (NVMe, PASID), vfio1 (DSA-like: the vIOMMU-managed device),
 *          vfio3 (GPU)
 *
 *  1. open /dev/iommu and the three cdevs, VFIO_DEVICE_BIND_IOMMUFD each
 *  2. IOMMU_IOAS_ALLOC; map guest RAM in 2 MiB chunks below and above the x86 PCI hole
 *     (GPA [0, 3 GiB) and [4 GiB, ...)), as a VMM's memory listener does
 *  3. attach NVMe and GPU to the IOAS (one automatic domain for both: same IOMMU)
 *  4. the vIOMMU device: a nesting parent HWPT over the IOAS, a guest stage-1 table (x86-64
 *     format) built in guest RAM, a nested HWPT (IOMMU_HWPT_DATA_VTD_S1) and the DSA attached
 *     to it; DMA by guest virtual address; the guest edits its table: stale until
 *     IOMMU_HWPT_INVALIDATE, correct after
 *  5. PASID: NVMe's RID moves to a PASID-compatible HWPT (a second ATTACH = replace), PASID 1
 *     attaches to a HWPT of a second IOAS; DMA tagged with the PASID reaches that IOAS only
 *  6. DMA by each device through BAR0's DMA engine (register map: src/vfio/vfio.h), checked
 *     byte for byte; an unmapped IOVA faults
 *  7. detach everything (PASID, RIDs), destroy the HWPTs, unmap, close the fds
 * Prints one line per step, then what it did ("performed: maps=... unmaps=... map_bytes=...
 * unmap_bytes=... attaches=... detaches=...": every successful call counted by the client, so a
 * monitor's numbers can be checked against it); exits 1 on the first failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "mock_dma_engine.h" /* the BAR0 DMA engine's registers (src/vfio/vfio.h) */
#define FLAG_PASID_VALID 1u

#define SZ_2M   (2ULL << 20)
#define SZ_1G   (1ULL << 30)
#define HOLE_LO (3 * SZ_1G)      /* the PCI hole: [3 GiB, 4 GiB) is not RAM */
#define HOLE_HI (4 * SZ_1G)

static int iommufd;
static unsigned long long n_maps, n_unmaps, map_bytes, unmap_bytes, n_attaches, n_detaches;
static uint8_t *ram;             /* guest RAM, host side */
static uint64_t ram_size;

static void fail(const char *what)
{
	fprintf(stderr, "vmm_scenario: FAIL: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "vmm_scenario: FAIL: %s\n", what);
		exit(1);
	}
}

/* guest physical → host pointer */
static uint8_t *gpa(uint64_t a)
{
	uint64_t off = a < HOLE_LO ? a : a - (HOLE_HI - HOLE_LO);

	return ram + off;
}

/* ---- devices ------------------------------------------------------------------------------ */

struct dev {
	const char *path, *what;
	int fd;
	uint32_t id;
	uint64_t bar0;
};

static void dev_open_bind(struct dev *d)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };
	struct vfio_region_info reg = { .argsz = sizeof(reg), .index = VFIO_PCI_BAR0_REGION_INDEX };

	d->fd = open(d->path, O_RDWR | O_CLOEXEC);
	if (d->fd < 0)
		fail(d->path);
	if (ioctl(d->fd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		fail("VFIO_DEVICE_BIND_IOMMUFD");
	d->id = bind.out_devid;
	if (ioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, &reg))
		fail("VFIO_DEVICE_GET_REGION_INFO BAR0");
	d->bar0 = reg.offset;
	printf("bind %s (%s): dev_id %u\n", d->path, d->what, d->id);
}

static void dev_attach(struct dev *d, uint32_t pasid, uint32_t *pt)
{
	struct vfio_device_attach_iommufd_pt at = {
		.argsz = sizeof(at), .pt_id = *pt,
		.flags = pasid ? VFIO_DEVICE_ATTACH_PASID : 0, .pasid = pasid,
	};

	if (ioctl(d->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at))
		fail("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	*pt = at.pt_id;
	n_attaches++;
}

static void dev_detach(struct dev *d, uint32_t pasid)
{
	struct vfio_device_detach_iommufd_pt dt = {
		.argsz = sizeof(dt), .flags = pasid ? VFIO_DEVICE_DETACH_PASID : 0, .pasid = pasid,
	};

	if (ioctl(d->fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt))
		fail("VFIO_DEVICE_DETACH_IOMMUFD_PT");
	n_detaches++;
}

static void reg_write(struct dev *d, uint64_t off, const void *v, size_t n)
{
	if (pwrite(d->fd, v, n, (off_t)(d->bar0 + off)) != (ssize_t)n)
		fail("BAR0 write");
}

/* The device copies len bytes src → dst through the IOMMU; returns STATUS. */
static uint32_t dev_copy(struct dev *d, uint64_t src, uint64_t dst, uint64_t len, int pasid)
{
	uint32_t flags = pasid >= 0 ? FLAG_PASID_VALID : 0, p = pasid >= 0 ? (uint32_t)pasid : 0;
	uint32_t one = 1, status;

	reg_write(d, REG_SRC_IOVA, &src, 8);
	reg_write(d, REG_DST_IOVA, &dst, 8);
	reg_write(d, REG_LEN, &len, 8);
	reg_write(d, REG_PASID, &p, 4);
	reg_write(d, REG_FLAGS, &flags, 4);
	reg_write(d, REG_DOORBELL, &one, 4);
	if (pread(d->fd, &status, 4, (off_t)(d->bar0 + REG_STATUS)) != 4)
		fail("BAR0 read STATUS");
	return status;
}

/* ---- iommufd ------------------------------------------------------------------------------- */

static uint32_t ioas_alloc(void)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };

	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &a))
		fail("IOMMU_IOAS_ALLOC");
	return a.out_ioas_id;
}

static void ioas_map(uint32_t ioas, void *va, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m), .ioas_id = ioas, .user_va = (uintptr_t)va, .length = len,
		.iova = iova,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
	};

	if (ioctl(iommufd, IOMMU_IOAS_MAP, &m))
		fail("IOMMU_IOAS_MAP");
	n_maps++;
	map_bytes += len;
}

static void ioas_unmap(uint32_t ioas, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = iova,
				      .length = len };

	if (ioctl(iommufd, IOMMU_IOAS_UNMAP, &u))
		fail("IOMMU_IOAS_UNMAP");
	n_unmaps++;
	unmap_bytes += u.length;
}

/* --hold FILE: say we are here (our pid in FILE) and wait until FILE is gone. */
static void hold(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f))
		fail(path);
	printf("holding: remove %s to tear down\n", path);
	fflush(stdout);
	while (access(path, F_OK) == 0)
		usleep(10000);
}

static uint32_t hwpt_alloc(uint32_t dev, uint32_t pt, uint32_t flags, uint32_t type,
			   void *data, uint32_t len)
{
	struct iommu_hwpt_alloc h = {
		.size = sizeof(h), .flags = flags, .dev_id = dev, .pt_id = pt, .data_type = type,
		.data_len = len, .data_uptr = (uintptr_t)data,
	};

	if (ioctl(iommufd, IOMMU_HWPT_ALLOC, &h))
		fail("IOMMU_HWPT_ALLOC");
	return h.out_hwpt_id;
}

static void destroy(uint32_t id)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = id };

	if (ioctl(iommufd, IOMMU_DESTROY, &d))
		fail("IOMMU_DESTROY");
}

/* ---- the guest's stage-1 table (x86-64 first-stage format, in guest RAM) ------------------- */

#define PTE_P 1ULL
#define PTE_RW 2ULL
#define PTE_US 4ULL
#define S1_ROOT 0x10000000ULL    /* GPA of the guest's page-table pages */

static uint64_t *s1_entry(uint64_t table, uint64_t gva, int level)
{
	return (uint64_t *)gpa(table) + ((gva >> (12 + 9 * level)) & 511);
}

static void s1_map(uint64_t gva, uint64_t target)
{
	const uint64_t pdpt = S1_ROOT + 0x1000, pd = S1_ROOT + 0x2000, pt = S1_ROOT + 0x3000;

	*s1_entry(S1_ROOT, gva, 3) = pdpt | PTE_P | PTE_RW | PTE_US;
	*s1_entry(pdpt, gva, 2) = pd | PTE_P | PTE_RW | PTE_US;
	*s1_entry(pd, gva, 1) = pt | PTE_P | PTE_RW | PTE_US;
	*s1_entry(pt, gva, 0) = target | PTE_P | PTE_RW | PTE_US;
}

static void s1_invalidate_all(uint32_t hwpt)
{
	struct iommu_hwpt_vtd_s1_invalidate inv = { .addr = 0, .npages = UINT64_MAX };
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt, .data_uptr = (uintptr_t)&inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, .entry_len = sizeof(inv),
		.entry_num = 1,
	};

	if (ioctl(iommufd, IOMMU_HWPT_INVALIDATE, &cmd) || cmd.entry_num != 1)
		fail("IOMMU_HWPT_INVALIDATE");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct dev nvme = { "/dev/vfio/devices/vfio0", "NVMe, PASID-capable", -1, 0, 0 };
	struct dev dsa = { "/dev/vfio/devices/vfio1", "DSA-like, behind the vIOMMU", -1, 0, 0 };
	struct dev gpu = { "/dev/vfio/devices/vfio3", "GPU", -1, 0, 0 };
	uint64_t gib = argc > 1 ? strtoull(argv[1], NULL, 0) : 4, chunks = 0, a;
	int guest_invalidates = 0;
	unsigned long churn = 0;
	const char *hold_path = NULL;
	uint32_t ioas, ioas2, pt, hw_nvme, hw_gpu, parent, nested, hw_pasid_rid, hw_pasid;
	struct iommu_hwpt_vtd_s1 s1 = { .pgtbl_addr = S1_ROOT, .addr_width = 48 };
	uint8_t *side;
	double t0;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--guest-invalidates"))
			guest_invalidates = 1;
		else if (!strcmp(argv[i], "--churn") && i + 1 < argc)
			churn = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--hold") && i + 1 < argc)
			hold_path = argv[++i];
		else
			check(0, "usage: vmm_scenario [RAM_GIB] [--guest-invalidates] [--churn N] "
			      "[--hold FILE]");
	}
	check(gib >= 1 && gib <= 64, "RAM_GIB must be 1..64");
	ram_size = gib * SZ_1G;
	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (iommufd < 0)
		fail("open /dev/iommu");
	dev_open_bind(&nvme);
	dev_open_bind(&dsa);
	dev_open_bind(&gpu);

	/* 2. guest RAM */
	ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		fail("mmap guest RAM");
	madvise(ram, ram_size, MADV_HUGEPAGE);   /* as VMMs back guest RAM: THP where available */
	ioas = ioas_alloc();
	t0 = now_s();
	for (a = 0; a < ram_size; a += SZ_2M, chunks++) {
		uint64_t g = a < HOLE_LO ? a : a + (HOLE_HI - HOLE_LO);

		ioas_map(ioas, ram + a, g, SZ_2M);
	}
	printf("IOAS %u: %llu GiB of guest RAM mapped in %llu chunks of 2 MiB (%.0f ms)\n", ioas,
	       (unsigned long long)gib, (unsigned long long)chunks, (now_s() - t0) * 1e3);

	/* 3. RIDs of NVMe and GPU on the IOAS */
	t0 = now_s();
	hw_nvme = ioas;
	dev_attach(&nvme, 0, &hw_nvme);
	hw_gpu = ioas;
	dev_attach(&gpu, 0, &hw_gpu);
	check(hw_nvme == hw_gpu, "NVMe and GPU share the IOAS's automatic domain");
	printf("attach NVMe and GPU to IOAS %u: automatic HWPT %u (%.0f ms, pins guest RAM)\n",
	       ioas, hw_nvme, (now_s() - t0) * 1e3);

	/* 6a. DMA by GPA */
	memcpy(gpa(0x100000), "guest buffer", 13);
	check(dev_copy(&nvme, 0x100000, 0x200000, 13, -1) == STATUS_OK, "NVMe copy");
	check(!memcmp(gpa(0x200000), "guest buffer", 13), "NVMe copy landed");
	check(dev_copy(&gpu, 0x100000, 0x280000, 13, -1) == STATUS_OK, "GPU copy");
	check(!memcmp(gpa(0x280000), "guest buffer", 13), "GPU copy landed");
	if (ram_size > HOLE_LO) {
		check(dev_copy(&gpu, 0x100000, HOLE_HI + 0x1000, 13, -1) == STATUS_OK,
		      "GPU copy above the PCI hole");
		check(!memcmp(gpa(HOLE_HI + 0x1000), "guest buffer", 13), "copy above the hole");
	}
	check(dev_copy(&gpu, HOLE_LO + 0x1000, 0x200000, 13, -1) == STATUS_FAULT,
	      "DMA from the PCI hole faults");
	printf("DMA: NVMe and GPU copy through the IOMMU; the PCI hole faults\n");

	/* 4. the vIOMMU device: nesting */
	parent = hwpt_alloc(dsa.id, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0, NULL, 0);
	memset(gpa(S1_ROOT), 0, 4 * 4096);
	memcpy(gpa(0x300000), "first page", 11);
	memcpy(gpa(0x301000), "second page", 12);
	s1_map(0x7f0000000000ULL, 0x300000);
	nested = hwpt_alloc(dsa.id, parent, 0, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1));
	pt = nested;
	dev_attach(&dsa, 0, &pt);
	s1_map(0x7f0000201000ULL, 0x400000);    /* a guest-virtual destination */
	s1_invalidate_all(nested);
	check(dev_copy(&dsa, 0x7f0000000000ULL, 0x7f0000201000ULL, 11, -1) == STATUS_OK,
	      "nested copy by guest virtual address");
	check(!memcmp(gpa(0x400000), "first page", 11), "nested copy landed");
	/* the guest repoints its PTE; a careless guest DMAs before invalidating (MAP-4) */
	s1_map(0x7f0000000000ULL, 0x301000);
	if (!guest_invalidates) {
		check(dev_copy(&dsa, 0x7f0000000000ULL, 0x7f0000201000ULL, 11, -1) == STATUS_OK,
		      "nested copy (stale)");
		check(!memcmp(gpa(0x400000), "first page", 11),
		      "stale: the IOTLB still held page one");
	}
	s1_invalidate_all(nested);
	check(dev_copy(&dsa, 0x7f0000000000ULL, 0x7f0000201000ULL, 12, -1) == STATUS_OK,
	      "nested copy (after invalidate)");
	check(!memcmp(gpa(0x400000), "second page", 12), "after HWPT_INVALIDATE: page two");
	if (guest_invalidates)
		printf("vIOMMU: parent HWPT %u, nested HWPT %u: stage-1 edit, "
		       "IOMMU_HWPT_INVALIDATE, correct\n", parent, nested);
	else
		printf("vIOMMU: parent HWPT %u, nested HWPT %u: stage-1 edit stale until "
		       "IOMMU_HWPT_INVALIDATE, correct after\n", parent, nested);

	/* 5. PASID on the NVMe */
	ioas2 = ioas_alloc();
	side = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (side == MAP_FAILED)
		fail("mmap PASID buffer");
	ioas_map(ioas2, side, 0x100000, SZ_2M);
	hw_pasid_rid = hwpt_alloc(nvme.id, ioas, IOMMU_HWPT_ALLOC_PASID, 0, NULL, 0);
	pt = hw_pasid_rid;
	dev_attach(&nvme, 0, &pt);        /* second attach = replace */
	hw_pasid = hwpt_alloc(nvme.id, ioas2, IOMMU_HWPT_ALLOC_PASID, 0, NULL, 0);
	pt = hw_pasid;
	dev_attach(&nvme, 1, &pt);
	memcpy(side, "pasid data", 11);
	check(dev_copy(&nvme, 0x100000, 0x180000, 11, 1) == STATUS_OK, "PASID 1 copy");
	check(!memcmp(side + 0x80000, "pasid data", 11), "PASID 1 copy landed in IOAS 2");
	check(memcmp(gpa(0x180000), "pasid data", 11) != 0, "and not in guest RAM");
	check(dev_copy(&nvme, 0x100000, 0x180000, 11, 2) == STATUS_FAULT,
	      "an unattached PASID faults");
	printf("PASID: NVMe RID on HWPT %u (replace), PASID 1 on HWPT %u of IOAS %u\n",
	       hw_pasid_rid, hw_pasid, ioas2);

	for (unsigned long i = 0; i < churn; i++) {
		ioas_map(ioas2, side, 0x10000000, SZ_2M);
		ioas_unmap(ioas2, 0x10000000, SZ_2M);
	}
	if (churn)
		printf("churn: %lu map+unmap pairs of 2 MiB in IOAS %u\n", churn, ioas2);
	if (hold_path)
		hold(hold_path);

	/* 7. teardown */
	dev_detach(&nvme, 1);
	dev_detach(&nvme, 0);
	dev_detach(&gpu, 0);
	dev_detach(&dsa, 0);
	check(dev_copy(&gpu, 0x100000, 0x200000, 13, -1) == STATUS_FAULT,
	      "a detached device is blocked");
	destroy(hw_pasid);
	destroy(hw_pasid_rid);
	destroy(nested);
	destroy(parent);
	destroy(ioas2);
	destroy(ioas);               /* its automatic domain died with its last device */
	close(nvme.fd);
	close(dsa.fd);
	close(gpu.fd);
	close(iommufd);
	munmap(side, SZ_2M);
	munmap(ram, ram_size);
	printf("teardown: detached, destroyed, closed\n");
	printf("performed: maps=%llu unmaps=%llu map_bytes=%llu unmap_bytes=%llu attaches=%llu "
	       "detaches=%llu\n", n_maps, n_unmaps, map_bytes, unmap_bytes, n_attaches, n_detaches);
	printf("vmm_scenario: OK\n");
	return 0;
}
