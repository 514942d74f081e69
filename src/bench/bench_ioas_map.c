/* bench_ioas_map.c — end-to-end IOMMU_IOAS_MAP / IOMMU_IOAS_UNMAP throughput through the
 * reference's ioctl entry point (argument copy-in, pinning = populate + accounting, IOVA
 * checks, page-table writes into an attached mock domain, strict IOTLB invalidation on unmap).
 *
 * Usage: bench_ioas_map [--size BYTES[K|M|G]] [--backing 4k|2m|1g] [--repeats N] [--json]
 *                       [--small N]
 *   --backing 4k : anonymous memory with MADV_NOHUGEPAGE, IOAS HUGE_PAGES=0 (4 KiB IOPTEs)
 *   --backing 2m : THP-advised memory, domain leaves up to 2 MiB
 *   --backing 1g : THP-advised memory, 1 GiB-aligned IOVA and VA, domain leaves up to 1 GiB
 *   --small N    : instead, N single 4 KiB map+unmap pairs (latency per pair)
 * Memory is faulted in before timing (a VMM's guest RAM usually is). Results: median over the
 * repeats with min and max, as GB/s (1e9 bytes/s) and as a table line plus one JSON line.
 *
 * Honest caveats: "physical" contiguity in the mock is virtual contiguity, so leaf sizes follow
 * IOVA/VA alignment and the backing only changes what pinning costs.
 */
#include "ioasid/ioasid.h"

#include <errno.h>
#include <linux/iommufd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'G': case 'g': return v << 30;
	case 'M': case 'm': return v << 20;
	case 'K': case 'k': return v << 10;
	case 0: return v;
	}
	fprintf(stderr, "bench_ioas_map: size '%s' not understood: use e.g. 1G, 512M\n", s);
	exit(2);
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_ioas_map: %s failed: %s\n", what, strerror(-rc));
	exit(1);
}

int main(int argc, char **argv)
{
	uint64_t size = 1ULL << 30, align;
	const char *backing = "4k";
	int repeats = 5, json = 0, small = 0;
	struct ioasid_ctx *ctx;
	uint8_t *raw, *buf;
	uint32_t ioas;
	int rc, dom;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--size") && i + 1 < argc)
			size = parse_size(argv[++i]);
		else if (!strcmp(argv[i], "--backing") && i + 1 < argc)
			backing = argv[++i];
		else if (!strcmp(argv[i], "--repeats") && i + 1 < argc)
			repeats = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--small") && i + 1 < argc)
			small = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--json"))
			json = 1;
		else {
			fprintf(stderr, "usage: %s [--size BYTES[K|M|G]] [--backing 4k|2m|1g] "
					"[--repeats N] [--small N] [--json]\n", argv[0]);
			return 2;
		}
	}
	if (strcmp(backing, "4k") && strcmp(backing, "2m") && strcmp(backing, "1g")) {
		fprintf(stderr, "bench_ioas_map: backing '%s' unknown: use 4k, 2m or 1g\n", backing);
		return 2;
	}
	if (repeats < 1 || repeats > 1000)
		repeats = 5;
	if (small)
		size = 4096;
	align = !strcmp(backing, "1g") ? 1ULL << 30 : 1ULL << 21;

	raw = mmap(NULL, size + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		   MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED) {
		perror("bench_ioas_map: mmap");
		return 1;
	}
	buf = (uint8_t *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
	madvise(buf, size, !strcmp(backing, "4k") ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
	for (uint64_t off = 0; off < size; off += 4096)
		buf[off] = 1;

	if ((rc = ioasid_ctx_open(&ctx)))
		die("ioasid_ctx_open", rc);
	{
		struct iommu_ioas_alloc a = { .size = sizeof(a) };
		if ((rc = ioasid_ctx_ioctl(ctx, IOMMU_IOAS_ALLOC, &a)))
			die("IOMMU_IOAS_ALLOC", rc);
		ioas = a.out_ioas_id;
	}
	if (!strcmp(backing, "4k")) {
		struct iommu_option o = { .size = sizeof(o), .option_id = IOMMU_OPTION_HUGE_PAGES,
					  .op = IOMMU_OPTION_OP_SET, .object_id = ioas, .val64 = 0 };
		if ((rc = ioasid_ctx_ioctl(ctx, IOMMU_OPTION, &o)))
			die("IOMMU_OPTION HUGE_PAGES=0", rc);
	}
	dom = ioasid_test_domain_attach(ctx, ioas, 0);
	if (dom < 0)
		die("domain attach", dom);

	struct iommu_ioas_map map = {
		.size = sizeof(map), .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = size,
		.iova = align, .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
					IOMMU_IOAS_MAP_WRITEABLE,
	};
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = ioas, .iova = align,
					  .length = size };
	double *tm = calloc(repeats, sizeof(double)), *tu = calloc(repeats, sizeof(double));

	/* warm-up: allocates the page-table levels once, as a long-running VMM would have */
	if ((rc = ioasid_ctx_ioctl(ctx, IOMMU_IOAS_MAP, &map)))
		die("IOMMU_IOAS_MAP", rc);
	if ((rc = ioasid_ctx_ioctl(ctx, IOMMU_IOAS_UNMAP, &unmap)))
		die("IOMMU_IOAS_UNMAP", rc);

	for (int r = 0; r < repeats; r++) {
		int n = small ? small : 1;
		double t0 = now(), t1, t2;

		if (small) {
			t1 = 0;
			t2 = 0;
			for (int k = 0; k < n; k++) {
				double a = now();
				map.iova = align + (uint64_t)(k % 4096) * 4096;
				unmap.iova = map.iova;
				unmap.length = 4096;
				if ((rc = ioasid_ctx_ioctl(ctx, IOMMU_IOAS_MAP, &map)))
					die("IOMMU_IOAS_MAP", rc);
				double b = now();
				if ((rc = ioasid_ctx_ioctl(ctx, IOMMU_IOAS_UNMAP, &unmap)))
					die("IOMMU_IOAS_UNMAP", rc);
				t1 += b - a;
				t2 += now() - b;
			}
			tm[r] = t1 / n;
			tu[r] = t2 / n;
			continue;
		}
		if ((rc = ioasid_ctx_ioctl(ctx, IOMMU_IOAS_MAP, &map)))
			die("IOMMU_IOAS_MAP", rc);
		t1 = now();
		unmap.length = size;
		if ((rc = ioasid_ctx_ioctl(ctx, IOMMU_IOAS_UNMAP, &unmap)))
			die("IOMMU_IOAS_UNMAP", rc);
		t2 = now();
		tm[r] = t1 - t0;
		tu[r] = t2 - t1;
	}
	qsort(tm, repeats, sizeof(double), cmp_double);
	qsort(tu, repeats, sizeof(double), cmp_double);

	double mm = tm[repeats / 2], um = tu[repeats / 2];
	if (small) {
		printf("ioctl 4KiB map   %8.0f ns  (min %.0f max %.0f, %d pairs x %d)\n", mm * 1e9,
		       tm[0] * 1e9, tm[repeats - 1] * 1e9, small, repeats);
		printf("ioctl 4KiB unmap %8.0f ns  (min %.0f max %.0f)\n", um * 1e9, tu[0] * 1e9,
		       tu[repeats - 1] * 1e9);
		if (json)
			printf("{\"bench\":\"ioas_map_small\",\"backing\":\"%s\",\"pairs\":%d,"
			       "\"repeats\":%d,\"map_ns\":%.0f,\"map_ns_min\":%.0f,\"map_ns_max\":%.0f,"
			       "\"unmap_ns\":%.0f,\"unmap_ns_min\":%.0f,\"unmap_ns_max\":%.0f}\n",
			       backing, small, repeats, mm * 1e9, tm[0] * 1e9, tm[repeats - 1] * 1e9,
			       um * 1e9, tu[0] * 1e9, tu[repeats - 1] * 1e9);
	} else {
		printf("IOAS_MAP   %6.1f GiB %s-backed: %8.1f GB/s  (min %.1f max %.1f, %d repeats)\n",
		       size / 1073741824.0, backing, size / mm / 1e9, size / tm[repeats - 1] / 1e9,
		       size / tm[0] / 1e9, repeats);
		printf("IOAS_UNMAP %6.1f GiB %s-backed: %8.1f GB/s  (min %.1f max %.1f)\n",
		       size / 1073741824.0, backing, size / um / 1e9, size / tu[repeats - 1] / 1e9,
		       size / tu[0] / 1e9);
		if (json)
			printf("{\"bench\":\"ioas_map\",\"backing\":\"%s\",\"bytes\":%llu,\"repeats\":%d,"
			       "\"map_gbps\":%.2f,\"map_gbps_min\":%.2f,\"map_gbps_max\":%.2f,"
			       "\"unmap_gbps\":%.2f,\"unmap_gbps_min\":%.2f,\"unmap_gbps_max\":%.2f}\n",
			       backing, (unsigned long long)size, repeats, size / mm / 1e9,
			       size / tm[repeats - 1] / 1e9, size / tm[0] / 1e9, size / um / 1e9,
			       size / tu[repeats - 1] / 1e9, size / tu[0] / 1e9);
	}
	ioasid_ctx_close(ctx);
	munmap(raw, size + align);
	free(tm);
	free(tu);
	return 0;
}
