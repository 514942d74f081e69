/* type1_map_loop.c — N map/unmap pairs of 4 KiB through a VFIO type1 container: a known number
 * of IOMMU domain maps and unmaps, for checking what a tracer counts against what was done.
 *
 * Built with only -Iuapi-shim: <linux/vfio.h>, libc, open/ioctl/mmap. Runs the same on a real
 * kernel (the testbed guest: group devices bound to vfio-pci) and under ioasid-run (the shim
 * serves /dev/vfio/vfio and /dev/vfio/N).
 *
 *   usage: type1_map_loop GROUP [N [IOVA]]
 *     GROUP  the IOMMU group number (/sys/bus/pci/devices/BDF/iommu_group)
 *     N      map/unmap pairs, default 1000
 *     IOVA   where each 4 KiB page is mapped, default 0x100000000 (4 GiB): away from IOVA 0,
 *            where type1 makes its own 8 KiB probe map at the first map of a container
 *
 * Steps: API version and TYPE1v2 (or TYPE1) extension; group viable; SET_CONTAINER;
 * SET_IOMMU; N × (MAP_DMA 4 KiB read/write at IOVA, UNMAP_DMA 4 KiB at IOVA, checking the
 * unmapped size); close. The last line, on success:
 *   type1_map_loop: OK group G pairs N size 4096 iova 0x... maps N unmaps N seconds S
 * Exits 1 on the first failure, naming the step and errno; 2 on a usage error.
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

#include <linux/vfio.h>

#define PAGE 4096ULL

static const char *prog = "type1_map_loop";

static void die(const char *what)
{
	fprintf(stderr, "%s: FAIL: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

static unsigned long long parse(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end) {
		fprintf(stderr, "%s: %s '%s': not a number\n", prog, what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	unsigned long long n = 1000, iova = 1ULL << 32, maps = 0, unmaps = 0;
	char group_path[64];
	struct timespec t0, t1;
	int container, group, type;
	void *buf;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: %s GROUP [N [IOVA]]: N map/unmap pairs of 4 KiB at IOVA "
				"(default 1000, 0x100000000) in a type1 container holding GROUP\n",
			prog);
		return 2;
	}
	parse(argv[1], "GROUP");
	if (argc > 2)
		n = parse(argv[2], "N");
	if (argc > 3)
		iova = parse(argv[3], "IOVA");
	if (iova % PAGE) {
		fprintf(stderr, "%s: IOVA 0x%llx is not 4 KiB aligned\n", prog, iova);
		return 2;
	}

	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		die("open /dev/vfio/vfio");
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		fprintf(stderr, "%s: FAIL: VFIO_GET_API_VERSION is not %d\n", prog, VFIO_API_VERSION);
		return 1;
	}
	if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1)
		type = VFIO_TYPE1v2_IOMMU;
	else if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) == 1)
		type = VFIO_TYPE1_IOMMU;
	else {
		fprintf(stderr, "%s: FAIL: the container offers neither VFIO_TYPE1v2_IOMMU nor "
				"VFIO_TYPE1_IOMMU (vfio_iommu_type1 not loaded?)\n", prog);
		return 1;
	}

	snprintf(group_path, sizeof(group_path), "/dev/vfio/%s", argv[1]);
	group = open(group_path, O_RDWR | O_CLOEXEC);
	if (group < 0)
		die(group_path);
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status))
		die("VFIO_GROUP_GET_STATUS");
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		fprintf(stderr, "%s: FAIL: group %s is not viable (flags 0x%x): bind every device "
				"of the group to vfio-pci (or leave it driverless)\n", prog, argv[1],
			status.flags);
		return 1;
	}
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, type))
		die("VFIO_SET_IOMMU");
	printf("%s: group %s in a %s container\n", prog, argv[1],
	       type == VFIO_TYPE1v2_IOMMU ? "TYPE1v2" : "TYPE1");

	buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap 4 KiB");
	memset(buf, 0x5a, PAGE);   /* resident: pinning must not fault it in */

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long long i = 0; i < n; i++) {
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)buf, .iova = iova, .size = PAGE,
		};
		struct vfio_iommu_type1_dma_unmap unmap = {
			.argsz = sizeof(unmap), .iova = iova, .size = PAGE,
		};

		if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map)) {
			fprintf(stderr, "%s: FAIL: VFIO_IOMMU_MAP_DMA #%llu (4 KiB at 0x%llx): %s\n",
				prog, i + 1, iova, strerror(errno));
			return 1;
		}
		maps++;
		if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap)) {
			fprintf(stderr, "%s: FAIL: VFIO_IOMMU_UNMAP_DMA #%llu (4 KiB at 0x%llx): %s\n",
				prog, i + 1, iova, strerror(errno));
			return 1;
		}
		if (unmap.size != PAGE) {
			fprintf(stderr, "%s: FAIL: VFIO_IOMMU_UNMAP_DMA #%llu unmapped %llu bytes, "
					"expected 4096\n", prog, i + 1, (unsigned long long)unmap.size);
			return 1;
		}
		unmaps++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	munmap(buf, PAGE);
	close(group);
	close(container);
	printf("%s: OK group %s pairs %llu size 4096 iova 0x%llx maps %llu unmaps %llu seconds "
	       "%.3f\n", prog, argv[1], n, iova, maps, unmaps,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
