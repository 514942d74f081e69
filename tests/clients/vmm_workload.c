/* vmm_workload.c — what a VMM does with /dev/iommu at start and stop, as an unmodified client:
 * only <linux/iommufd.h>, libc, open() and ioctl(). Used by `make demo` under ioasid-run.
 *
 *   1. open /dev/iommu, allocate the guest's IOAS, restrict its allocator to the guest's
 *      physical window (ALLOW_IOVAS), query the usable ranges;
 *   2. map guest RAM at its guest-physical addresses in 2 MiB chunks (as QEMU's memory
 *      listener does for each RAM section);
 *   3. allocate a second IOAS for an emulated vIOMMU and COPY a DMA window into it (shares the
 *      pinned pages, no re-pin), plus an automatic-IOVA map for a bounce buffer;
 *   4. tear down: unmap the window, unmap everything, destroy, close.
 * Prints one line per phase with its result and rate.
 *
 * Usage: vmm_workload [GUEST_RAM_MIB]   (default 1024)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/iommufd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (2ULL << 20)
#define GPA_BASE (4ULL << 30)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void check(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "vmm_workload: %s failed: %s\n", what, strerror(errno));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	uint64_t ram = (argc > 1 ? strtoull(argv[1], NULL, 0) : 1024) << 20;
	struct iommu_iova_range window = { .start = GPA_BASE, .last = GPA_BASE + (64ULL << 30) - 1 };
	struct iommu_iova_range ranges[8];
	uint32_t guest_ioas, viommu_ioas;
	double t0, t1;
	uint8_t *mem;
	int fd;

	if (ram < CHUNK || ram % CHUNK) {
		fprintf(stderr, "vmm_workload: guest RAM must be a multiple of 2 MiB\n");
		return 2;
	}
	fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "vmm_workload: open /dev/iommu: %s (run under ioasid-run, or on a "
				"kernel with CONFIG_IOMMUFD)\n", strerror(errno));
		return 1;
	}
	mem = mmap(NULL, ram, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (mem == MAP_FAILED) {
		perror("vmm_workload: mmap guest RAM");
		return 1;
	}

	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	check(ioctl(fd, IOMMU_IOAS_ALLOC, &alloc), "IOMMU_IOAS_ALLOC");
	guest_ioas = alloc.out_ioas_id;
	check(ioctl(fd, IOMMU_IOAS_ALLOC, &alloc), "IOMMU_IOAS_ALLOC (vIOMMU)");
	viommu_ioas = alloc.out_ioas_id;
	printf("ioas: guest=%u viommu=%u\n", guest_ioas, viommu_ioas);

	struct iommu_ioas_allow_iovas allow = { .size = sizeof(allow), .ioas_id = guest_ioas,
						.num_iovas = 1, .allowed_iovas = (uintptr_t)&window };
	check(ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &allow), "IOMMU_IOAS_ALLOW_IOVAS");
	struct iommu_ioas_iova_ranges q = { .size = sizeof(q), .ioas_id = guest_ioas,
					    .num_iovas = 8, .allowed_iovas = (uintptr_t)ranges };
	check(ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &q), "IOMMU_IOAS_IOVA_RANGES");
	printf("usable ranges: %u, first [%#llx, %#llx], alignment %#llx\n", q.num_iovas,
	       (unsigned long long)ranges[0].start, (unsigned long long)ranges[0].last,
	       (unsigned long long)q.out_iova_alignment);

	t0 = now();
	for (uint64_t off = 0; off < ram; off += CHUNK) {
		struct iommu_ioas_map map = {
			.size = sizeof(map), .ioas_id = guest_ioas, .user_va = (uintptr_t)mem + off,
			.length = CHUNK, .iova = GPA_BASE + off,
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
		};
		check(ioctl(fd, IOMMU_IOAS_MAP, &map), "IOMMU_IOAS_MAP guest RAM");
	}
	t1 = now();
	printf("map guest RAM: %llu MiB in %llu chunks, %.1f ms (%.0f maps/s)\n",
	       (unsigned long long)(ram >> 20), (unsigned long long)(ram / CHUNK), (t1 - t0) * 1e3,
	       (ram / CHUNK) / (t1 - t0));

	uint64_t win = ram < (64ULL << 20) ? ram : (64ULL << 20);
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy), .dst_ioas_id = viommu_ioas, .src_ioas_id = guest_ioas,
		.length = win, .src_iova = GPA_BASE,
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
	};
	check(ioctl(fd, IOMMU_IOAS_COPY, &copy), "IOMMU_IOAS_COPY");
	printf("vIOMMU window: %llu MiB copied to iova %#llx (pages shared, not re-pinned)\n",
	       (unsigned long long)(win >> 20), (unsigned long long)copy.dst_iova);

	static uint8_t bounce[65536] __attribute__((aligned(4096)));
	struct iommu_ioas_map bmap = { .size = sizeof(bmap), .ioas_id = viommu_ioas,
				       .user_va = (uintptr_t)bounce, .length = sizeof(bounce),
				       .flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE };
	check(ioctl(fd, IOMMU_IOAS_MAP, &bmap), "IOMMU_IOAS_MAP bounce buffer");
	printf("bounce buffer: 64 KiB at automatic iova %#llx\n", (unsigned long long)bmap.iova);

	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = viommu_ioas,
					  .iova = copy.dst_iova, .length = win };
	check(ioctl(fd, IOMMU_IOAS_UNMAP, &unmap), "IOMMU_IOAS_UNMAP window");
	printf("unmap window: %llu bytes\n", (unsigned long long)unmap.length);

	t0 = now();
	unmap = (struct iommu_ioas_unmap){ .size = sizeof(unmap), .ioas_id = guest_ioas,
					   .iova = 0, .length = UINT64_MAX };
	check(ioctl(fd, IOMMU_IOAS_UNMAP, &unmap), "IOMMU_IOAS_UNMAP all");
	t1 = now();
	printf("unmap all guest RAM: %llu bytes in %.1f ms\n", (unsigned long long)unmap.length,
	       (t1 - t0) * 1e3);

	struct iommu_destroy d = { .size = sizeof(d), .id = guest_ioas };
	check(ioctl(fd, IOMMU_DESTROY, &d), "IOMMU_DESTROY guest");
	d.id = viommu_ioas;
	check(ioctl(fd, IOMMU_DESTROY, &d), "IOMMU_DESTROY viommu (bounce buffer still mapped)");
	close(fd);
	printf("done: all %s calls succeeded\n", "iommufd");
	return 0;
}
