/* diff_type1.c — the legacy VFIO group + type1 container path, step by step, for the
 * differential suite (scripts/testbed/diff-clients.sh runs it on a real kernel and under the
 * reference and compares the transcripts).
 *
 *   usage: diff_type1 nonviable GROUP DEVICE
 *          diff_type1 viable GROUP DEVICE [SIBLING [NONDEVICE]]
 *
 *   nonviable  DEVICE is on vfio-pci, a sibling in GROUP is still on a DMA-API kernel driver:
 *              container probes, GROUP_GET_STATUS flags, SET_CONTAINER's errno, GET_DEVICE_FD
 *              without a container.
 *   viable     every device of GROUP on vfio-pci (or driver-less): SET_CONTAINER, the
 *              CHECK_EXTENSION values, SET_IOMMU(TYPE1v2), GET_INFO with its capability chain,
 *              MAP_DMA / UNMAP_DMA and their edges, GET_DEVICE_FD (DEVICE, SIBLING, NONDEVICE:
 *              a group member that is no VFIO device, e.g. the bridge), DEVICE_GET_INFO; then
 *              the same type1 ioctls on the iommufd compat container (/dev/iommu used as a
 *              container: VFIO_SET_IOMMU etc. on the iommufd).
 * Transcript format: tests/clients/diff_common.h. Built with only -Iuapi-shim and libc.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/vfio.h>
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
#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

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

static void extensions(const char *what, int container)
{
	static const struct { const char *name; unsigned long ext; } exts[] = {
		{ "TYPE1", VFIO_TYPE1_IOMMU },
		{ "SPAPR_TCE", VFIO_SPAPR_TCE_IOMMU },
		{ "TYPE1v2", VFIO_TYPE1v2_IOMMU },
		{ "DMA_CC", VFIO_DMA_CC_IOMMU },
		{ "EEH", VFIO_EEH },
		{ "TYPE1_NESTING", VFIO_TYPE1_NESTING_IOMMU },
		{ "SPAPR_TCE_v2", VFIO_SPAPR_TCE_v2_IOMMU },
		{ "NOIOMMU", VFIO_NOIOMMU_IOMMU },
		{ "UNMAP_ALL", VFIO_UNMAP_ALL },
		{ "UPDATE_VADDR", VFIO_UPDATE_VADDR },
		{ "11 (unknown)", 11 },
	};
	char name[96];
	unsigned int i;

	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		int rc;

		snprintf(name, sizeof(name), "CHECK_EXTENSION %s (%s)", exts[i].name, what);
		rc = ioctl(container, VFIO_CHECK_EXTENSION, exts[i].ext);
		printf("%s%s: rc=%d", diff_prefix, name, rc < 0 ? -1 : rc);
		if (rc < 0)
			printf(" errno=%s", errno_name(errno));
		end();
	}
}

static void group_status(const char *name, int group)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };

	if (step(name, group, VFIO_GROUP_GET_STATUS, &st) == 0)
		field("flags=0x%x", st.flags);
	end();
}

static int set_container(const char *name, int group, int container)
{
	int rc = step(name, group, VFIO_GROUP_SET_CONTAINER, &container);

	end();
	return rc;
}

static int get_device_fd(const char *name, int group, const char *dev)
{
	int rc = step_fd(name, group, VFIO_GROUP_GET_DEVICE_FD, (void *)dev);

	end();
	return rc;
}

/* A GET_DEVICE_FD that is expected to fail: a device file it opens anyway is closed at once. */
static void get_device_fd_probe(const char *name, int group, const char *dev)
{
	int fd = get_device_fd(name, group, dev);

	if (fd >= 0)
		close(fd);
}

/* GET_INFO with an argsz of `argsz`; prints the fixed part and walks the capability chain. */
static void get_info(const char *name, int container, uint32_t argsz)
{
	static uint8_t buf[4096];
	struct vfio_iommu_type1_info *info = (void *)buf;
	uint32_t off;
	int guard = 0;

	memset(buf, 0, sizeof(buf));
	info->argsz = argsz;
	if (step(name, container, VFIO_IOMMU_GET_INFO, info)) {
		end();
		return;
	}
	field("argsz=%u flags=0x%x iova_pgsizes=0x%llx", info->argsz, info->flags,
	      (unsigned long long)info->iova_pgsizes);
	if (argsz >= sizeof(*info))
		field("cap_offset=0x%x", info->cap_offset);
	/* The capability chain, on the same line: cap=<kind>(<contents>) in chain order. */
	if ((info->flags & VFIO_IOMMU_INFO_CAPS) && argsz >= sizeof(*info))
		off = info->cap_offset;
	else
		off = 0;
	for (; off && off < argsz && off < sizeof(buf) - 16 && guard < 8; guard++) {
		struct vfio_info_cap_header *h = (void *)(buf + off);

		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range *r = (void *)h;
			uint32_t i;

			printf(" cap=iova_range(v%u,nr=%u", h->version, r->nr_iovas);
			for (i = 0; i < r->nr_iovas && i < 8; i++)
				printf(",[0x%llx,0x%llx]",
				       (unsigned long long)r->iova_ranges[i].start,
				       (unsigned long long)r->iova_ranges[i].end);
			putchar(')');
		} else if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION) {
			struct vfio_iommu_type1_info_cap_migration *m = (void *)h;

			printf(" cap=migration(v%u,flags=0x%x,pgsizes=0x%llx,max_bitmap=0x%llx)",
			       h->version, m->flags, (unsigned long long)m->pgsize_bitmap,
			       (unsigned long long)m->max_dirty_bitmap_size);
		} else if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
			struct vfio_iommu_type1_info_dma_avail *d = (void *)h;

			printf(" cap=dma_avail(v%u,%u)", h->version, d->avail);
		} else {
			printf(" cap=id%u(v%u)", h->id, h->version);
		}
		off = h->next;
	}
	end();
}

static int map_dma(const char *name, int container, uint32_t argsz, uint32_t flags,
		   uint64_t va_off, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = argsz, .flags = flags, .vaddr = A + va_off, .iova = iova, .size = size,
	};
	int rc = step(name, container, VFIO_IOMMU_MAP_DMA, &map);

	end();
	return rc;
}

static void unmap_dma(const char *name, int container, uint32_t flags, uint64_t iova,
		      uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .flags = flags, .iova = iova, .size = size,
	};

	step(name, container, VFIO_IOMMU_UNMAP_DMA, &unmap);
	field("size=0x%llx", (unsigned long long)unmap.size);
	end();
}

/* The type1 ioctls of a container that has a group and an IOMMU set. */
static void map_edges(int c)
{
	uint32_t sz = sizeof(struct vfio_iommu_type1_dma_map);

	heading("MAP_DMA");
	map_dma("MAP_DMA va=A iova=0x100000000 size=0x200000", c, sz, RW, 0, 1ULL << 32, SZ_2M);
	map_dma("MAP_DMA the same again (overlap)", c, sz, RW, 0, 1ULL << 32, SZ_2M);
	map_dma("MAP_DMA overlapping the end", c, sz, RW, 0, (1ULL << 32) + SZ_2M - SZ_4K,
		0x2000);
	map_dma("MAP_DMA adjacent below", c, sz, RW, SZ_2M, (1ULL << 32) - SZ_2M, SZ_2M);
	map_dma("MAP_DMA size=0", c, sz, RW, 0, 0x200000000ULL, 0);
	map_dma("MAP_DMA unaligned size=0x800", c, sz, RW, 0, 0x200000000ULL, 0x800);
	map_dma("MAP_DMA unaligned iova", c, sz, RW, 0, 0x200000800ULL, SZ_4K);
	map_dma("MAP_DMA unaligned vaddr", c, sz, RW, 0x800, 0x200000000ULL, SZ_4K);
	map_dma("MAP_DMA no READ/WRITE", c, sz, 0, 0, 0x200000000ULL, SZ_4K);
	map_dma("MAP_DMA WRITE only", c, sz, VFIO_DMA_MAP_FLAG_WRITE, 0x4000, 0x200000000ULL,
		SZ_4K);
	map_dma("MAP_DMA READ only", c, sz, VFIO_DMA_MAP_FLAG_READ, 0x5000, 0x200001000ULL,
		SZ_4K);
	map_dma("MAP_DMA flags=0x80 (unknown)", c, sz, RW | 0x80, 0, 0x200002000ULL, SZ_4K);
	map_dma("MAP_DMA VADDR (nothing invalidated)", c, sz, VFIO_DMA_MAP_FLAG_VADDR, 0,
		1ULL << 32, SZ_2M);
	map_dma("MAP_DMA argsz=16 (too small)", c, 16, RW, 0, 0x200003000ULL, SZ_4K);
	map_dma("MAP_DMA iova+size overflows", c, sz, RW, 0, 0xfffffffffffff000ULL, 0x2000);
	map_dma("MAP_DMA size=U64_MAX-0xfff", c, sz, RW, 0, 0, 0xfffffffffffff000ULL);
	map_dma("MAP_DMA into the MSI window", c, sz, RW, 0, 0xfee00000ULL, SZ_4K);
	map_dma("MAP_DMA straddling the MSI window", c, sz, RW, 0, 0xfedff000ULL, 0x2000);
	map_dma("MAP_DMA just below the MSI window", c, sz, RW, 0, 0xfedff000ULL, SZ_4K);
	map_dma("MAP_DMA at 2^39-0x1000 (last page of a 39-bit aperture)", c, sz, RW, 0,
		(1ULL << 39) - SZ_4K, SZ_4K);
	map_dma("MAP_DMA at 2^39 (beyond a 39-bit aperture)", c, sz, RW, 0, 1ULL << 39, SZ_4K);
	map_dma("MAP_DMA at 2^48", c, sz, RW, 0, 1ULL << 48, SZ_4K);
	map_dma("MAP_DMA iova=0 size=0x1000", c, sz, RW, 0, 0, SZ_4K);
	map_dma("MAP_DMA 3 x 4K at 0x300000000", c, sz, RW, 0, 0x300000000ULL, 0x3000);
	get_info("GET_INFO after maps", c, 4096);

	heading("UNMAP_DMA");
	unmap_dma("UNMAP_DMA size=0", c, 0, 1ULL << 32, 0);
	unmap_dma("UNMAP_DMA nothing mapped there", c, 0, 0x400000000ULL, SZ_4K);
	unmap_dma("UNMAP_DMA unaligned iova", c, 0, (1ULL << 32) + 0x800, SZ_4K);
	unmap_dma("UNMAP_DMA unaligned size", c, 0, 1ULL << 32, 0x800);
	unmap_dma("UNMAP_DMA first page of a 2M mapping (bisects)", c, 0, 1ULL << 32, SZ_4K);
	unmap_dma("UNMAP_DMA last page of a 2M mapping", c, 0, (1ULL << 32) + SZ_2M - SZ_4K,
		  SZ_4K);
	unmap_dma("UNMAP_DMA middle page of 3 x 4K (one mapping)", c, 0, 0x300001000ULL, SZ_4K);
	unmap_dma("UNMAP_DMA starting before a mapping, ending inside", c, 0,
		  (1ULL << 32) - SZ_2M - SZ_4K, 0x2000);
	unmap_dma("UNMAP_DMA iova+size overflows", c, 0, 0xfffffffffffff000ULL, 0x2000);
	unmap_dma("UNMAP_DMA flags=0x80 (unknown)", c, 0x80, 1ULL << 32, SZ_2M);
	unmap_dma("UNMAP_DMA GET_DIRTY_BITMAP (no dirty tracking)", c,
		  VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 1ULL << 32, SZ_2M);
	unmap_dma("UNMAP_DMA ALL with size!=0", c, VFIO_DMA_UNMAP_FLAG_ALL, 0, SZ_4K);
	unmap_dma("UNMAP_DMA ALL with iova!=0", c, VFIO_DMA_UNMAP_FLAG_ALL, SZ_4K, 0);
	unmap_dma("UNMAP_DMA exactly one 2M mapping", c, 0, 1ULL << 32, SZ_2M);
	unmap_dma("UNMAP_DMA spanning two mappings and a hole", c, 0, 0x200000000ULL,
		  0x10000);
	unmap_dma("UNMAP_DMA ALL", c, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
	unmap_dma("UNMAP_DMA ALL (empty)", c, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
	get_info("GET_INFO after unmapping everything", c, 4096);
}

static void device_info(const char *name, int dev)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	if (step(name, dev, VFIO_DEVICE_GET_INFO, &info) == 0)
		field("flags=0x%x num_regions=%u num_irqs=%u", info.flags, info.num_regions,
		      info.num_irqs);
	end();
}

static void devices(int group, const char *dev, const char *sibling, const char *nondev)
{
	char name[128];
	int d, s = -1;

	heading("devices");
	snprintf(name, sizeof(name), "GET_DEVICE_FD %s", dev);
	d = get_device_fd(name, group, dev);
	if (d >= 0)
		device_info("DEVICE_GET_INFO", d);
	snprintf(name, sizeof(name), "GET_DEVICE_FD %s again", dev);
	{
		int d2 = get_device_fd(name, group, dev);

		if (d2 >= 0)
			close(d2);
	}
	if (sibling) {
		snprintf(name, sizeof(name), "GET_DEVICE_FD %s (sibling)", sibling);
		s = get_device_fd(name, group, sibling);
	}
	if (nondev) {
		snprintf(name, sizeof(name), "GET_DEVICE_FD %s (no VFIO device)", nondev);
		get_device_fd_probe(name, group, nondev);
	}
	get_device_fd_probe("GET_DEVICE_FD 0000:7f:00.0 (not in the group)", group,
			    "0000:7f:00.0");
	get_device_fd_probe("GET_DEVICE_FD \"\"", group, "");
	if (s >= 0)
		close(s);
	if (d >= 0)
		close(d);
}

static void nonviable(int group_nr, const char *dev)
{
	char path[64];
	int c, g;

	heading("type1 container, group %d not viable", group_nr);
	c = open_step("open /dev/vfio/vfio", "/dev/vfio/vfio");
	if (c < 0)
		return;
	step("GET_API_VERSION", c, VFIO_GET_API_VERSION, NULL);
	end();
	extensions("no group", c);
	snprintf(path, sizeof(path), "/dev/vfio/%d", group_nr);
	g = open_step("open /dev/vfio/GROUP", path);
	if (g >= 0) {
		group_status("GROUP_GET_STATUS", g);
		set_container("GROUP_SET_CONTAINER", g, c);
		group_status("GROUP_GET_STATUS after SET_CONTAINER", g);
		get_device_fd_probe("GET_DEVICE_FD (no container)", g, dev);
		step("GROUP_UNSET_CONTAINER (none set)", g, VFIO_GROUP_UNSET_CONTAINER, NULL);
		end();
		close_step("close group", g);
	}
	step("SET_IOMMU TYPE1v2 (no group)", c, VFIO_SET_IOMMU, (void *)VFIO_TYPE1v2_IOMMU);
	end();
	close_step("close container", c);
}

/* The sequence shared by the VFIO container and the iommufd compat container. */
static void container_run(const char *what, const char *cpath, const char *gpath,
			  const char *dev, const char *sibling, const char *nondev)
{
	int c, g;

	heading("%s", what);
	c = open_step("open container", cpath);
	if (c < 0)
		return;
	step("GET_API_VERSION", c, VFIO_GET_API_VERSION, NULL);
	end();
	extensions("no group", c);
	get_info("GET_INFO (no group, no IOMMU)", c, 4096);
	step("SET_IOMMU TYPE1v2 (no group)", c, VFIO_SET_IOMMU, (void *)VFIO_TYPE1v2_IOMMU);
	end();
	g = open_step("open /dev/vfio/GROUP", gpath);
	if (g < 0) {
		close(c);
		return;
	}
	{
		int g2 = open(gpath, O_RDWR | O_CLOEXEC);

		result_line("open /dev/vfio/GROUP again", g2, errno);
		if (g2 >= 0)
			close(g2);
	}
	group_status("GROUP_GET_STATUS", g);
	get_device_fd_probe("GET_DEVICE_FD (no container)", g, dev);
	{
		int bad = -1;

		step("GROUP_SET_CONTAINER fd=-1", g, VFIO_GROUP_SET_CONTAINER, &bad);
		end();
		bad = 0; /* stdin: not a container */
		step("GROUP_SET_CONTAINER fd=0 (not a container)", g, VFIO_GROUP_SET_CONTAINER,
		     &bad);
		end();
	}
	if (set_container("GROUP_SET_CONTAINER", g, c)) {
		close(g);
		close(c);
		return;
	}
	group_status("GROUP_GET_STATUS", g);
	set_container("GROUP_SET_CONTAINER again", g, c);
	extensions("group set", c);
	get_info("GET_INFO (no IOMMU set)", c, 4096);
	if (map_dma("MAP_DMA (no IOMMU set)", c, sizeof(struct vfio_iommu_type1_dma_map), RW, 0,
		    1ULL << 32, SZ_4K) == 0) {
		/* Accepted (iommufd's compat container takes maps before SET_IOMMU): take it
		 * back without a line, so that the steps below start from the same state. */
		struct vfio_iommu_type1_dma_unmap u = {
			.argsz = sizeof(u), .iova = 1ULL << 32, .size = SZ_4K,
		};

		ioctl(c, VFIO_IOMMU_UNMAP_DMA, &u);
	}
	get_device_fd_probe("GET_DEVICE_FD (no IOMMU set)", g, dev);
	step("SET_IOMMU 7 (unknown)", c, VFIO_SET_IOMMU, (void *)7UL);
	end();
	step("SET_IOMMU NOIOMMU", c, VFIO_SET_IOMMU, (void *)VFIO_NOIOMMU_IOMMU);
	end();
	step("SET_IOMMU TYPE1v2", c, VFIO_SET_IOMMU, (void *)VFIO_TYPE1v2_IOMMU);
	end();
	step("SET_IOMMU TYPE1v2 again", c, VFIO_SET_IOMMU, (void *)VFIO_TYPE1v2_IOMMU);
	end();
	extensions("IOMMU set", c);
	get_info("GET_INFO argsz=16 (fixed part without cap_offset)", c, 16);
	get_info("GET_INFO argsz=24 (no room for caps)", c, sizeof(struct vfio_iommu_type1_info));
	get_info("GET_INFO argsz=8 (too small)", c, 8);
	get_info("GET_INFO argsz=4096", c, 4096);
	map_edges(c);
	devices(g, dev, sibling, nondev);
	map_dma("MAP_DMA with the device open", c, sizeof(struct vfio_iommu_type1_dma_map), RW, 0,
		1ULL << 32, SZ_2M);
	step("GROUP_UNSET_CONTAINER (a mapping left)", g, VFIO_GROUP_UNSET_CONTAINER, NULL);
	end();
	group_status("GROUP_GET_STATUS after UNSET", g);
	get_info("GET_INFO after the last group left", c, 4096);
	unmap_dma("UNMAP_DMA ALL after the last group left", c, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
	close_step("close group", g);
	close_step("close container", c);
}

int main(int argc, char **argv)
{
	char gpath[64];
	void *region;
	int group_nr;

	if (argc < 4) {
		fprintf(stderr, "usage: diff_type1 nonviable|viable GROUP DEVICE [SIBLING "
				"[NONDEVICE]]\n");
		return 2;
	}
	group_nr = atoi(argv[2]);
	region = mmap(NULL, 4 * SZ_4M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		printf("mmap: rc=-1 errno=%s\n", errno_name(errno));
		return 1;
	}
	A = ((uintptr_t)region + SZ_4M - 1) & ~(SZ_4M - 1);
	memset((void *)A, 0x5a, 2 * SZ_4M);

	diff_prefix = "vfio: ";
	if (!strcmp(argv[1], "nonviable")) {
		nonviable(group_nr, argv[3]);
		return 0;
	}
	snprintf(gpath, sizeof(gpath), "/dev/vfio/%d", group_nr);
	container_run("type1 container (/dev/vfio/vfio), group viable", "/dev/vfio/vfio", gpath,
		      argv[3], argc > 4 ? argv[4] : NULL, argc > 5 ? argv[5] : NULL);
	diff_prefix = "compat: ";
	container_run("iommufd compat container (/dev/iommu)", "/dev/iommu", gpath, argv[3],
		      argc > 4 ? argv[4] : NULL, argc > 5 ? argv[5] : NULL);
	return 0;
}
