/* type1_client.c — an unmodified legacy VFIO program: the container/group/type1 sequence a VMM
 * of the pre-iommufd era runs (QEMU's hw/vfio/container.c in miniature), then DMA by the device.
 *
 * Built with only -Iuapi-shim: <linux/vfio.h>, libc, open/ioctl/pread/pwrite/mmap. Under
 * ioasid-run the shim serves /dev/vfio/vfio, /dev/vfio/N and the device fd; on a host with VFIO
 * and the mock DMA engine (not a real device) it would run the same.
 *
 *   usage: type1_client [GROUP [DEVICE]]
 *     GROUP   the IOMMU group number of DEVICE (a VMM reads /sys/bus/pci/devices/DEVICE/
 *             iommu_group; there is no sysfs here): argument, else $IOASID_TEST_GROUP
 *     DEVICE  PCI name, default $IOASID_TEST_DEVICE or 0000:00:02.0
 *
 * Steps: API version and TYPE1v2 extension; group viable; SET_CONTAINER; SET_IOMMU TYPE1v2;
 * GET_INFO with its capability chain (IOVA ranges, DMA mappings available); 64 MiB mapped in
 * 2 MiB chunks; GET_DEVICE_FD; the device copies 10000 bytes across a chunk boundary through
 * the IOMMU (BAR0 DMA engine: register map in src/vfio/vfio.h); unmap everything; the same copy
 * now faults. Prints each step; exits 1 on the first failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <linux/vfio.h>

#define CLIENT_PROG "type1_client"
#include "engine_client.h"

#define MAP_TOTAL  (64ULL << 20)
#define CHUNK      (2ULL << 20)
#define IOVA_BASE  (1ULL << 32)
#define COPY_LEN   10000

static void fail(const char *fmt, const char *detail)
{
	fprintf(stderr, "%s: FAIL: ", prog);
	fprintf(stderr, fmt, detail);
	fputc('\n', stderr);
	exit(1);
}

/* Memory locked for DMA is charged to the process (type1 accounting): ask for enough. */
static void raise_memlock(void)
{
	struct rlimit rl = { .rlim_cur = 2 * MAP_TOTAL, .rlim_max = 2 * MAP_TOTAL };

	if (setrlimit(RLIMIT_MEMLOCK, &rl) == 0)
		return;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_MEMLOCK, &rl);
	}
}

static void show_caps(struct vfio_iommu_type1_info *info)
{
	uint32_t off = info->cap_offset;
	int in_range = 0;

	while (off) {
		struct vfio_info_cap_header *h = (void *)((char *)info + off);

		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range *r = (void *)h;

			for (uint32_t i = 0; i < r->nr_iovas; i++) {
				printf("%s:   IOVA range [0x%llx, 0x%llx]\n", prog,
				       (unsigned long long)r->iova_ranges[i].start,
				       (unsigned long long)r->iova_ranges[i].end);
				if (r->iova_ranges[i].start <= IOVA_BASE &&
				    r->iova_ranges[i].end >= IOVA_BASE + MAP_TOTAL - 1)
					in_range = 1;
			}
		} else if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
			struct vfio_iommu_type1_info_dma_avail *a = (void *)h;

			printf("%s:   DMA mappings available: %u\n", prog, a->avail);
		}
		off = h->next;
	}
	if (!in_range)
		fail("%s", "the IOVA window [4 GiB, +64 MiB) is not in a valid IOVA range");
}

int main(int argc, char **argv)
{
	const char *group_s = argc > 1 ? argv[1] : getenv("IOASID_TEST_GROUP");
	const char *device = argc > 2 ? argv[2] : getenv("IOASID_TEST_DEVICE");
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_iommu_type1_info *info;
	struct vfio_device_info dinfo = { .argsz = sizeof(dinfo) };
	struct vfio_region_info reg = { .argsz = sizeof(reg), .index = VFIO_PCI_BAR0_REGION_INDEX };
	char group_path[64];
	int container, group, dev;
	uint8_t *mem;
	uint32_t st;

	if (!device)
		device = "0000:00:02.0";
	if (!group_s || !*group_s) {
		fprintf(stderr, "usage: %s GROUP [DEVICE] (or IOASID_TEST_GROUP=GROUP): the IOMMU "
				"group of DEVICE (sysfs iommu_group on a real host)\n", prog);
		return 2;
	}
	raise_memlock();

	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		die("open /dev/vfio/vfio");
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		fail("%s", "VFIO_GET_API_VERSION is not VFIO_API_VERSION");
	if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1)
		fail("%s", "no VFIO_TYPE1v2_IOMMU");
	printf("%s: container fd %d, API %d, TYPE1v2 supported\n", prog, container,
	       VFIO_API_VERSION);

	snprintf(group_path, sizeof(group_path), "/dev/vfio/%s", group_s);
	group = open(group_path, O_RDWR | O_CLOEXEC);
	if (group < 0)
		die(group_path);
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status))
		die("VFIO_GROUP_GET_STATUS");
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		fail("group %s is not viable: bind all its devices to vfio-pci", group_s);
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status))
		die("VFIO_GROUP_GET_STATUS");
	if (!(status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET))
		fail("%s", "CONTAINER_SET not reported");
	printf("%s: group %s viable, joined the container\n", prog, group_s);

	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU");

	info = calloc(1, sizeof(*info));
	info->argsz = sizeof(*info);
	if (ioctl(container, VFIO_IOMMU_GET_INFO, info))
		die("VFIO_IOMMU_GET_INFO");
	if (info->argsz > sizeof(*info)) {
		uint32_t need = info->argsz;

		info = realloc(info, need);
		memset(info, 0, need);
		info->argsz = need;
		if (ioctl(container, VFIO_IOMMU_GET_INFO, info))
			die("VFIO_IOMMU_GET_INFO (with caps)");
	}
	if (!(info->flags & VFIO_IOMMU_INFO_PGSIZES) || !(info->iova_pgsizes & 4096))
		fail("%s", "no 4 KiB IOMMU page size");
	printf("%s: type1v2 IOMMU, page sizes 0x%llx\n", prog,
	       (unsigned long long)info->iova_pgsizes);
	if (info->flags & VFIO_IOMMU_INFO_CAPS)
		show_caps(info);
	free(info);

	mem = mmap(NULL, MAP_TOTAL, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	for (uint64_t off = 0; off < MAP_TOTAL; off += CHUNK) {
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)mem + off, .iova = IOVA_BASE + off, .size = CHUNK,
		};

		if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map))
			die("VFIO_IOMMU_MAP_DMA");
	}
	printf("%s: mapped %llu MiB at IOVA 0x%llx in %llu chunks of 2 MiB\n", prog,
	       (unsigned long long)(MAP_TOTAL >> 20), (unsigned long long)IOVA_BASE,
	       (unsigned long long)(MAP_TOTAL / CHUNK));

	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, device);
	if (dev < 0)
		die("VFIO_GROUP_GET_DEVICE_FD (RLIMIT_MEMLOCK too low? the device's domain pins "
		    "the 64 MiB)");
	if (ioctl(dev, VFIO_DEVICE_GET_INFO, &dinfo))
		die("VFIO_DEVICE_GET_INFO");
	if (!(dinfo.flags & VFIO_DEVICE_FLAGS_PCI) || dinfo.num_regions <= VFIO_PCI_BAR0_REGION_INDEX)
		fail("%s", "not a PCI device with a BAR0");
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &reg))
		die("VFIO_DEVICE_GET_REGION_INFO");
	if (reg.size < 0x40 || !(reg.flags & VFIO_REGION_INFO_FLAG_WRITE))
		fail("%s", "BAR0 is too small or not writable");
	bar0 = reg.offset;
	if (reg_read(dev, REG_ID, 4) != ENGINE_ID)
		fail("%s", "BAR0 does not hold the mock DMA engine");
	printf("%s: device %s fd %d, %u regions, BAR0 %llu bytes at offset 0x%llx\n", prog, device,
	       dev, dinfo.num_regions, (unsigned long long)reg.size, (unsigned long long)bar0);

	/* The source crosses the first 2 MiB chunk boundary; the destination is 40 MiB in. */
	{
		const uint64_t src_off = CHUNK - 3000, dst_off = 40ULL << 20;

		for (int i = 0; i < COPY_LEN; i++)
			mem[src_off + i] = (uint8_t)(i * 13 + 5);
		memset(mem + dst_off, 0, COPY_LEN);
		st = device_copy(dev, IOVA_BASE + src_off, IOVA_BASE + dst_off, COPY_LEN);
		if (st != STATUS_OK)
			fail("DMA copy failed: STATUS %s", st == STATUS_FAULT ? "IO page fault" : "error");
		if (memcmp(mem + src_off, mem + dst_off, COPY_LEN))
			fail("%s", "the device wrote the wrong bytes");
		printf("%s: device DMA copied %d bytes IOVA 0x%llx -> 0x%llx: bytes match\n", prog,
		       COPY_LEN, (unsigned long long)(IOVA_BASE + src_off),
		       (unsigned long long)(IOVA_BASE + dst_off));

		{
			struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };

			for (uint64_t off = 0; off < MAP_TOTAL; off += CHUNK) {
				unmap.iova = IOVA_BASE + off;
				unmap.size = CHUNK;
				if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap))
					die("VFIO_IOMMU_UNMAP_DMA");
				if (unmap.size != CHUNK)
					fail("%s", "UNMAP_DMA unmapped a different size");
			}
		}
		printf("%s: unmapped all %llu MiB\n", prog, (unsigned long long)(MAP_TOTAL >> 20));
		st = device_copy(dev, IOVA_BASE + src_off, IOVA_BASE + dst_off, COPY_LEN);
		if (st != STATUS_FAULT)
			fail("%s", "DMA after unmap did not fault");
		if (reg_read(dev, REG_FAULT_IOVA, 8) != IOVA_BASE + src_off)
			fail("%s", "FAULT_IOVA is not the first unmapped address read");
		printf("%s: DMA after unmap faults at IOVA 0x%llx\n", prog,
		       (unsigned long long)(IOVA_BASE + src_off));
	}

	close(dev);
	if (ioctl(group, VFIO_GROUP_UNSET_CONTAINER))
		die("VFIO_GROUP_UNSET_CONTAINER");
	close(group);
	close(container);
	munmap(mem, MAP_TOTAL);
	printf("%s: OK\n", prog);
	return 0;
}
