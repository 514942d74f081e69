/* test_bench_backend.c — ioasid-bench's backends and device picking (src/benchkit/backend*.c,
 * hostdev.c), with exact errnos.
 *
 * Suites:
 *   bench_backend       the registry (names, probing, open), the "ref" backend through the C
 *                       API (IOAS ops, mock domains and DMA, the DMA API's strict and deferred
 *                       invalidation on the mock IOMMU, devices), and one test that runs the
 *                       next suite in a child under ioasid-run.
 *   bench_hostdev       the kernel's sysfs view on fake trees under /tmp, and the reference's
 *                       platform topology (the default host, topology files).
 *   bench_backend_shim  the uAPI backends (ref-uapi: /dev/iommu, ref-type1: /dev/vfio/vfio)
 *                       against the reference served by the LD_PRELOAD shim. They do their work
 *                       only in that child (IOASID_BENCH_SHIM_TEST=1, and they insist that the
 *                       shim is loaded there); in any other run each returns at once.
 *
 * The kernel backends are probed the same way on any host: the tests look at what exists
 * (access()) and expect the matching answer, so they pass with or without /dev/iommu.
 */
#define RUN_TIMEOUT_S 120
#include "run_child.h"

#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "benchkit/bench.h"
#include "ioasid/ioasid.h"

#define PAGE     4096ULL
#define BUF_LEN  (4ULL << 20)
#define SHIM_TESTS 7      /* the tests of bench_backend_shim */

static char why[BENCH_WHY];
static int64_t live_at_start;

#define assert_rc(expected, expr)                                                          \
	do {                                                                               \
		int rc__ = (expr);                                                         \
		cr_assert_eq(rc__, (expected), "%s: got %d (%s), expected %d (%s); why: %s", \
			     #expr, rc__, strerror(-rc__), (expected), strerror(-(expected)), \
			     why);                                                         \
	} while (0)

#define assert_why_has(needle) assert_contains(why, (needle), "why")

/* ---- helpers ------------------------------------------------------------------------------ */

static struct bench_be *open_opts(const struct bench_be_opts *o)
{
	struct bench_be *be = NULL;
	int rc;

	why[0] = '\0';
	rc = bench_be_open(o, &be, why, sizeof(why));
	cr_assert_eq(rc, 0, "open %s: %d (%s): %s", bench_backend_name(o->id), rc, strerror(-rc),
		     why);
	cr_assert_not_null(be);
	return be;
}

static struct bench_be *open_ok(enum bench_backend_id id)
{
	struct bench_be_opts o = { .id = id };

	return open_opts(&o);
}

static uint32_t ioas_ok(struct bench_be *be)
{
	uint32_t id = 0;

	assert_rc(0, bench_be_ioas_alloc(be, &id));
	cr_assert_neq(id, 0);
	return id;
}

static void map_fixed_ok(struct bench_be *be, uint32_t ioas, void *va, uint64_t len,
			 uint64_t iova)
{
	uint64_t got = iova;

	assert_rc(0, bench_be_map(be, ioas, &got, va, len, true));
	cr_assert_eq(got, iova, "a fixed map moved: %#llx", (unsigned long long)got);
}

static void unmap_ok(struct bench_be *be, uint32_t ioas, uint64_t iova, uint64_t len,
		     uint64_t expect)
{
	uint64_t unmapped = ~0ULL;

	assert_rc(0, bench_be_unmap(be, ioas, iova, len, &unmapped));
	cr_assert_eq(unmapped, expect, "unmapped %llu bytes, expected %llu",
		     (unsigned long long)unmapped, (unsigned long long)expect);
}

static int attach_ok(struct bench_be *be, uint32_t ioas)
{
	int h;

	why[0] = '\0';
	h = bench_be_attach(be, ioas, why, sizeof(why));
	cr_assert_geq(h, 0, "attach IOAS %u: %d (%s): %s", ioas, h, strerror(-h), why);
	return h;
}

static uint8_t *buffer(void)
{
	uint8_t *p = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	cr_assert_neq(p, MAP_FAILED);
	for (uint64_t i = 0; i < BUF_LEN; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	return p;
}

static void quiet_env(void)
{
	setenv("IOASID_QUIET", "1", 1);
	unsetenv("IOASID_PLATFORM");
	unsetenv("IOASID_TOPOLOGY");
}

/* ---- suite bench_backend ------------------------------------------------------------------- */

static void be_setup(void)
{
	quiet_env();
	/* The process's platform is loaded once, on the first device call, and stays: load it
	 * now so that it is not counted as a leak of the test that happens to load it. */
	cr_assert_eq(ioasid_platform_check(), 0);
	live_at_start = ioasid_live_allocations();
}

static void be_teardown(void)
{
	cr_assert_eq(ioasid_live_allocations(), live_at_start,
		     "the backend leaked %lld allocations of the reference",
		     (long long)(ioasid_live_allocations() - live_at_start));
}

TestSuite(bench_backend, .init = be_setup, .fini = be_teardown);

Test(bench_backend, names_round_trip)
{
	static const char *const names[BENCH_BE_COUNT] = {
		"ref", "ref-uapi", "ref-type1", "kernel", "kernel-type1",
	};

	for (int i = 0; i < BENCH_BE_COUNT; i++) {
		cr_assert_str_eq(bench_backend_name(i), names[i]);
		cr_assert_eq(bench_backend_from_name(names[i]), i);
	}
	cr_assert_null(bench_backend_name(BENCH_BE_COUNT));
	cr_assert_null(bench_backend_name((enum bench_backend_id)-1));
	cr_assert_eq(bench_backend_from_name("REF"), -ENOENT);
	cr_assert_eq(bench_backend_from_name("ref "), -ENOENT);
	cr_assert_eq(bench_backend_from_name(""), -ENOENT);
	cr_assert_eq(bench_backend_from_name(NULL), -ENOENT);
}

Test(bench_backend, probe_ref_and_unknown_ids)
{
	struct bench_be_opts o = { .id = BENCH_BE_COUNT };
	struct bench_be *be = (void *)1;

	why[0] = '\0';
	assert_rc(0, bench_backend_probe(BENCH_BE_REF, why, sizeof(why)));
	cr_assert_str_empty(why);
	assert_rc(-EINVAL, bench_backend_probe(BENCH_BE_COUNT, why, sizeof(why)));
	assert_why_has("backend id 5 is unknown: use one of ref, ref-uapi");
	why[0] = '\0';
	assert_rc(-EINVAL, bench_be_open(&o, &be, why, sizeof(why)));
	cr_assert_null(be);
	assert_why_has("backend id 5 is unknown");
	assert_rc(-EINVAL, bench_be_open(NULL, &be, why, sizeof(why)));
	assert_why_has("opts is NULL");
	/* A NULL why buffer is fine everywhere. */
	assert_rc(-EINVAL, bench_backend_probe(BENCH_BE_COUNT, NULL, 0));
	bench_be_close(NULL);
}

Test(bench_backend, uapi_backends_need_the_shim)
{
	struct bench_be_opts o = { .id = BENCH_BE_REF_UAPI };
	struct bench_be *be = NULL;

	cr_assert(!bench_under_shim(), "the test binary runs without LD_PRELOAD");
	assert_rc(-ENODEV, bench_backend_probe(BENCH_BE_REF_UAPI, why, sizeof(why)));
	assert_why_has("ref-uapi: the ioasid shim is not loaded in this process, so /dev/iommu "
		       "would be the kernel's: run it under ioasid-run");
	assert_rc(-ENODEV, bench_backend_probe(BENCH_BE_REF_TYPE1, why, sizeof(why)));
	assert_why_has("ref-type1: the ioasid shim is not loaded in this process, so "
		       "/dev/vfio/vfio");
	why[0] = '\0';
	assert_rc(-ENODEV, bench_be_open(&o, &be, why, sizeof(why)));
	cr_assert_null(be);
	assert_why_has("run it under ioasid-run");
}

/* The kernel's /dev/iommu: ENOENT with the reason on a host without it; on a host with it,
 * usable or refused for a stated reason. */
Test(bench_backend, probe_kernel_iommufd)
{
	struct bench_be_opts o = { .id = BENCH_BE_KERNEL };
	struct bench_be *be = NULL;
	bool exists = access("/dev/iommu", F_OK) == 0;
	int rc;

	why[0] = '\0';
	rc = bench_backend_probe(BENCH_BE_KERNEL, why, sizeof(why));
	if (!exists) {
		assert_rc(-ENOENT, rc);
		assert_why_has("kernel: /dev/iommu does not exist: this kernel has no "
			       "CONFIG_IOMMUFD (or the module is not loaded: modprobe iommufd)");
		assert_rc(-ENOENT, bench_be_open(&o, &be, why, sizeof(why)));
		cr_assert_null(be);
		return;
	}
	if (rc) {
		cr_assert(rc == -EACCES || rc == -EPERM, "rc %d: %s", rc, why);
		assert_why_has("/dev/iommu");
		return;
	}
	be = open_opts(&o);
	cr_assert_str_eq(bench_be_served_by(be), "kernel");
	bench_be_close(be);
}

Test(bench_backend, probe_kernel_type1)
{
	bool exists = access("/dev/vfio/vfio", F_OK) == 0;
	int rc;

	why[0] = '\0';
	rc = bench_backend_probe(BENCH_BE_KERNEL_TYPE1, why, sizeof(why));
	if (!exists) {
		assert_rc(-ENOENT, rc);
		assert_why_has("kernel-type1: /dev/vfio/vfio does not exist: load VFIO");
		return;
	}
	/* A container without a usable device in a viable group cannot be set up. */
	if (rc) {
		cr_assert(rc == -ENODEV || rc == -EACCES || rc == -EPERM, "rc %d: %s", rc, why);
		cr_assert_str_not_empty(why);
	}
}

Test(bench_backend, ref_caps_and_describe)
{
	struct bench_be *be = open_ok(BENCH_BE_REF);

	cr_assert_eq(bench_be_caps(be), BENCH_CAP_MULTI_IOAS | BENCH_CAP_COPY |
		     BENCH_CAP_HUGE_OPTION | BENCH_CAP_DOMAIN | BENCH_CAP_DMA |
		     BENCH_CAP_IOTLB_STATS | BENCH_CAP_LAZY_INVAL | BENCH_CAP_DEVICE);
	cr_assert_eq(bench_be_caps(be) & BENCH_CAP_FIXED_ONLY, 0);
	cr_assert_str_eq(bench_be_served_by(be), "reference");
	cr_assert_str_eq(bench_be_describe(be), "C API, no domain");
	bench_be_close(be);
}

Test(bench_backend, ref_map_fixed_and_allocated_unmap_bytes)
{
	struct bench_be *be = open_ok(BENCH_BE_REF);
	uint8_t *buf = buffer();
	uint32_t ioas = ioas_ok(be), other = ioas_ok(be);
	uint64_t iova = 0;

	cr_assert_neq(ioas, other);
	map_fixed_ok(be, ioas, buf, 16 * PAGE, 0x100000);
	iova = 0x100000;
	assert_rc(-EEXIST, bench_be_map(be, ioas, &iova, buf, PAGE, true));
	/* Not fixed: the reference picks the IOVA and writes it back. */
	iova = 0x100000;
	assert_rc(0, bench_be_map(be, ioas, &iova, buf + 16 * PAGE, 2 * PAGE, false));
	cr_assert_neq(iova, 0);
	cr_assert(iova + 2 * PAGE <= 0x100000 || iova >= 0x100000 + 16 * PAGE,
		  "allocated IOVA %#llx overlaps the fixed map", (unsigned long long)iova);
	unmap_ok(be, ioas, 0x100000, 16 * PAGE, 16 * PAGE);
	assert_rc(-ENOENT, bench_be_unmap(be, ioas, 0x100000, 16 * PAGE, NULL));
	unmap_ok(be, ioas, iova, 2 * PAGE, 2 * PAGE);
	/* The same range in the other IOAS was never mapped. */
	assert_rc(-ENOENT, bench_be_unmap(be, other, 0x100000, 16 * PAGE, NULL));
	assert_rc(-ENOENT, bench_be_map(be, 9999, &iova, buf, PAGE, false));
	assert_rc(0, bench_be_ioas_destroy(be, other));
	assert_rc(-ENOENT, bench_be_ioas_destroy(be, other));
	assert_rc(0, bench_be_ioas_destroy(be, ioas));
	bench_be_close(be);
	munmap(buf, BUF_LEN);
}

Test(bench_backend, ref_copy_between_ioas)
{
	struct bench_be *be = open_ok(BENCH_BE_REF);
	uint8_t *buf = buffer();
	uint32_t src = ioas_ok(be), dst = ioas_ok(be);

	map_fixed_ok(be, src, buf, 16 * PAGE, 0x200000);
	assert_rc(0, bench_be_copy(be, dst, 0x400000, src, 0x200000, 16 * PAGE));
	/* The copy is a mapping of its own in dst, at the fixed IOVA. */
	assert_rc(-EEXIST, bench_be_copy(be, dst, 0x400000, src, 0x200000, 16 * PAGE));
	unmap_ok(be, dst, 0x400000, 16 * PAGE, 16 * PAGE);
	assert_rc(-ENOENT, bench_be_copy(be, dst, 0x400000, src, 0x900000, 16 * PAGE));
	assert_rc(-ENOENT, bench_be_copy(be, 9999, 0x400000, src, 0x200000, 16 * PAGE));
	unmap_ok(be, src, 0x200000, 16 * PAGE, 16 * PAGE);
	bench_be_close(be);
	munmap(buf, BUF_LEN);
}

Test(bench_backend, ref_huge_pages_option)
{
	struct bench_be *be = open_ok(BENCH_BE_REF);
	uint8_t *buf = buffer();
	uint32_t a = ioas_ok(be), b = ioas_ok(be);
	int h;

	assert_rc(0, bench_be_set_huge_pages(be, a, false));
	assert_rc(0, bench_be_set_huge_pages(be, a, true));
	/* With a domain attached and something mapped, huge IOPTEs may exist: refused. */
	h = attach_ok(be, a);
	cr_assert_str_eq(bench_be_describe(be), "C API, mock domain attached (4K|2M|1G leaves)");
	map_fixed_ok(be, a, buf, BUF_LEN, 0x400000);
	assert_rc(-EINVAL, bench_be_set_huge_pages(be, a, false));
	assert_rc(0, bench_be_detach(be, h));
	/* Without a domain a map is no obstacle; the domain attached afterwards is 4K-only. */
	map_fixed_ok(be, b, buf, BUF_LEN, 0x400000);
	assert_rc(0, bench_be_set_huge_pages(be, b, false));
	attach_ok(be, b);
	cr_assert_str_eq(bench_be_describe(be), "C API, mock domain attached (4K leaves)");
	assert_rc(-ENOENT, bench_be_set_huge_pages(be, 9999, false));
	bench_be_close(be);
	munmap(buf, BUF_LEN);
}

Test(bench_backend, ref_attach_dma_and_iotlb_stats)
{
	struct bench_be *be = open_ok(BENCH_BE_REF);
	uint8_t *buf = buffer(), in[64], out[64];
	uint32_t ioas = ioas_ok(be);
	struct bench_iotlb_stats st, st2;
	int h = attach_ok(be, ioas), h2;

	map_fixed_ok(be, ioas, buf, 2 * PAGE, 0x100000);
	/* First access walks the tables, the second hits the IOTLB. */
	assert_rc(0, bench_be_dma(be, h, 0x100000 + 8, in, sizeof(in), 0));
	cr_assert_arr_eq(in, buf + 8, sizeof(in));
	assert_rc(0, bench_be_iotlb_stats(be, h, &st));
	cr_assert_eq(st.misses, 1);
	cr_assert_eq(st.hits, 0);
	cr_assert_eq(st.entries, 1);
	assert_rc(0, bench_be_dma(be, h, 0x100000 + 100, in, sizeof(in), 0));
	assert_rc(0, bench_be_iotlb_stats(be, h, &st));
	cr_assert_eq(st.misses, 1);
	cr_assert_eq(st.hits, 1);
	/* A device write lands in the buffer. */
	memset(out, 0xa5, sizeof(out));
	assert_rc(0, bench_be_dma(be, h, 0x101000, out, sizeof(out), 1));
	cr_assert_arr_eq(buf + PAGE, out, sizeof(out));
	/* Nothing mapped there: an IO page fault. */
	assert_rc(-EFAULT, bench_be_dma(be, h, 0x900000, in, sizeof(in), 0));
	/* The uAPI is strict: once the unmap returns, the IOTLB no longer translates. */
	unmap_ok(be, ioas, 0x100000, 2 * PAGE, 2 * PAGE);
	assert_rc(0, bench_be_iotlb_stats(be, h, &st2));
	cr_assert_gt(st2.invalidations, st.invalidations);
	assert_rc(-EFAULT, bench_be_dma(be, h, 0x100000 + 8, in, sizeof(in), 0));
	assert_rc(0, bench_be_iotlb_stats(be, h, &st2));
	cr_assert_eq(st2.stale_hits, 0);
	assert_rc(-EINVAL, bench_be_dma(be, h, 0x100000, in, sizeof(in), 2));
	/* Handles are per domain; describe keeps what the latest attach attached. */
	h2 = attach_ok(be, ioas_ok(be));
	cr_assert_neq(h, h2);
	assert_rc(0, bench_be_detach(be, h2));
	assert_rc(0, bench_be_detach(be, h));
	cr_assert_str_eq(bench_be_describe(be), "C API, mock domain attached (4K|2M|1G leaves)");
	assert_rc(-ENOENT, bench_be_detach(be, h));
	assert_rc(-ENOENT, bench_be_iotlb_stats(be, h, &st));
	assert_rc(-ENOENT, bench_be_dma(be, h, 0x100000, in, sizeof(in), 0));
	why[0] = '\0';
	assert_rc(-ENOENT, bench_be_attach(be, 9999, why, sizeof(why)));
	assert_why_has("ref: IOAS 9999: IOMMU_OPTION GET HUGE_PAGES");
	bench_be_close(be);
	munmap(buf, BUF_LEN);
}

Test(bench_backend, ref_dma_api_strict_and_deferred)
{
	struct bench_be *be = open_ok(BENCH_BE_REF);
	uint8_t *buf = buffer(), in[32];
	uint64_t inv, stale, inv0;

	assert_rc(-EINVAL, bench_be_dma_api_dma(be, 0x10000, in, sizeof(in)));
	assert_rc(-EINVAL, bench_be_dma_api_begin(be, 0));
	assert_rc(0, bench_be_dma_api_begin(be, 4));
	assert_rc(-EBUSY, bench_be_dma_api_begin(be, 4));

	/* Strict: the IOTLB entry is gone when unmap returns, the next DMA faults. */
	assert_rc(0, bench_be_dma_api_map(be, 0x10000, buf, PAGE));
	assert_rc(0, bench_be_dma_api_dma(be, 0x10000, in, sizeof(in)));
	cr_assert_arr_eq(in, buf, sizeof(in));
	assert_rc(0, bench_be_dma_api_stats(be, &inv0, &stale));
	assert_rc(0, bench_be_dma_api_unmap(be, 0x10000, PAGE, false));
	assert_rc(-EFAULT, bench_be_dma_api_dma(be, 0x10000, in, sizeof(in)));
	assert_rc(0, bench_be_dma_api_stats(be, &inv, &stale));
	cr_assert_eq(inv, inv0 + 1, "strict unmap: one range invalidation");
	cr_assert_eq(stale, 0);

	/* Deferred: the old translation keeps working (a stale hit) until the queue flushes. */
	assert_rc(0, bench_be_dma_api_map(be, 0x10000, buf, PAGE));
	assert_rc(0, bench_be_dma_api_dma(be, 0x10000, in, sizeof(in)));
	assert_rc(0, bench_be_dma_api_unmap(be, 0x10000, PAGE, true));
	assert_rc(0, bench_be_dma_api_dma(be, 0x10000, in, sizeof(in)));
	cr_assert_arr_eq(in, buf, sizeof(in));
	assert_rc(0, bench_be_dma_api_stats(be, &inv0, &stale));
	cr_assert_eq(inv0, inv, "a deferred unmap invalidates nothing by itself");
	cr_assert_eq(stale, 1);
	assert_rc(0, bench_be_dma_api_flush(be));
	assert_rc(-EFAULT, bench_be_dma_api_dma(be, 0x10000, in, sizeof(in)));
	assert_rc(0, bench_be_dma_api_stats(be, &inv, &stale));
	cr_assert_eq(inv, inv0 + 1, "the flush is one domain-wide invalidation");
	cr_assert_eq(stale, 1);
	/* Nothing queued: flushing again issues nothing. */
	assert_rc(0, bench_be_dma_api_flush(be));
	assert_rc(0, bench_be_dma_api_stats(be, &inv0, NULL));
	cr_assert_eq(inv0, inv);

	assert_rc(-ENOENT, bench_be_dma_api_unmap(be, 0x10000, PAGE, true));
	assert_rc(-EINVAL, bench_be_dma_api_unmap(be, 0x10000, 0, false));
	assert_rc(-EINVAL, bench_be_dma_api_map(be, 0x10001, buf, PAGE));
	bench_be_dma_api_end(be);
	bench_be_dma_api_end(be);
	assert_rc(-EINVAL, bench_be_dma_api_flush(be));
	assert_rc(-EINVAL, bench_be_dma_api_stats(be, &inv, &stale));
	bench_be_close(be);
	munmap(buf, BUF_LEN);
}

/* A full flush queue flushes the whole domain by itself (fq_size entries). */
Test(bench_backend, ref_dma_api_queue_full_flushes)
{
	struct bench_be *be = open_ok(BENCH_BE_REF);
	uint8_t *buf = buffer(), in[16];
	uint64_t inv, stale;

	assert_rc(0, bench_be_dma_api_begin(be, 2));
	assert_rc(0, bench_be_dma_api_map(be, 0x10000, buf, PAGE));
	assert_rc(0, bench_be_dma_api_map(be, 0x20000, buf + PAGE, PAGE));
	assert_rc(0, bench_be_dma_api_dma(be, 0x10000, in, sizeof(in)));
	assert_rc(0, bench_be_dma_api_dma(be, 0x20000, in, sizeof(in)));
	assert_rc(0, bench_be_dma_api_unmap(be, 0x10000, PAGE, true));
	assert_rc(0, bench_be_dma_api_stats(be, &inv, &stale));
	cr_assert_eq(inv, 0);
	assert_rc(0, bench_be_dma_api_dma(be, 0x20000, in, sizeof(in)));
	assert_rc(0, bench_be_dma_api_unmap(be, 0x20000, PAGE, true));
	assert_rc(0, bench_be_dma_api_stats(be, &inv, &stale));
	cr_assert_eq(inv, 1, "the second entry fills the queue of 2: one flush");
	assert_rc(-EFAULT, bench_be_dma_api_dma(be, 0x10000, in, sizeof(in)));
	assert_rc(-EFAULT, bench_be_dma_api_dma(be, 0x20000, in, sizeof(in)));
	/* close ends the DMA API session itself */
	bench_be_close(be);
	munmap(buf, BUF_LEN);
}

Test(bench_backend, ref_device_bind_attach_detach_unbind)
{
	struct bench_be *be = open_ok(BENCH_BE_REF);
	uint8_t *buf = buffer();
	uint32_t ioas = ioas_ok(be);
	int dev, dev2;

	why[0] = '\0';
	dev = bench_be_device_bind(be, why, sizeof(why));
	cr_assert_geq(dev, 0, "bind: %d: %s", dev, why);
	assert_rc(0, bench_be_device_attach(be, dev, ioas, why, sizeof(why)));
	cr_assert_str_eq(bench_be_describe(be), "C API, device 0000:00:02.0 attached");
	map_fixed_ok(be, ioas, buf, 2 * PAGE, 0x100000);
	/* The IOAS is in use by the attachment. */
	assert_rc(-EBUSY, bench_be_ioas_destroy(be, ioas));
	assert_rc(0, bench_be_device_detach(be, dev));
	bench_be_device_unbind(be, dev);
	/* The report reads describe after a measurement's teardown: it still names the device. */
	cr_assert_str_eq(bench_be_describe(be), "C API, device 0000:00:02.0 attached");
	assert_rc(-ENOENT, bench_be_device_detach(be, dev));
	assert_rc(-ENOENT, bench_be_device_attach(be, dev, ioas, why, sizeof(why)));
	assert_why_has("ref: device handle 0 is not bound");
	/* Bound again and left bound: close unbinds it (the teardown counts allocations). */
	dev2 = bench_be_device_bind(be, why, sizeof(why));
	cr_assert_geq(dev2, 0, "bind again: %d: %s", dev2, why);
	assert_rc(0, bench_be_device_attach(be, dev2, ioas, why, sizeof(why)));
	bench_be_close(be);
	munmap(buf, BUF_LEN);
}

Test(bench_backend, ref_device_refused_names_the_sibling)
{
	struct bench_be_opts o = { .id = BENCH_BE_REF, .device = "0000:02:01.0" };
	struct bench_be *be = open_opts(&o);

	/* The backend opens (the IOAS ops need no device); the bind says why not. */
	why[0] = '\0';
	assert_rc(-ENODEV, bench_be_device_bind(be, why, sizeof(why)));
	assert_why_has("reference: device 0000:02:01.0: group 12 also holds 0000:02:02.0, bound "
		       "to e1000e (a DMA-API driver)");
	bench_be_close(be);
}

Test(bench_backend, ref_close_releases_everything)
{
	struct bench_be *be = open_ok(BENCH_BE_REF);
	uint8_t *buf = buffer();
	uint32_t a = ioas_ok(be), b = ioas_ok(be);
	int dev;

	attach_ok(be, a);
	map_fixed_ok(be, a, buf, BUF_LEN, 0x400000);
	assert_rc(0, bench_be_copy(be, b, 0x400000, a, 0x400000, BUF_LEN));
	dev = bench_be_device_bind(be, why, sizeof(why));
	cr_assert_geq(dev, 0, "%s", why);
	assert_rc(0, bench_be_device_attach(be, dev, b, why, sizeof(why)));
	assert_rc(0, bench_be_dma_api_begin(be, 8));
	assert_rc(0, bench_be_dma_api_map(be, 0x10000, buf, BUF_LEN));
	bench_be_close(be);
	cr_assert_eq(ioasid_live_allocations(), live_at_start);
	munmap(buf, BUF_LEN);
}

/* ---- the shim: run bench_backend_shim in a child under ioasid-run ----------------------- */

/* The count after `label` in Criterion's synthesis line ("Tested: 7 | Passing: 7 | ..."). */
static long synthesis_count(const char *text, const char *label)
{
	const char *line = strstr(text, "Synthesis:"), *p;

	cr_assert_not_null(line, "no Criterion synthesis in:\n%s", text);
	p = strstr(line, label);
	cr_assert_not_null(p, "no \"%s\" in the synthesis:\n%s", label, line);
	return strtol(p + strlen(label), NULL, 10);
}

Test(bench_backend, uapi_backends_through_the_shim, .timeout = 150)
{
	char run_bin[PATH_MAX], self_exe[PATH_MAX], asan[512];
	const char *old = getenv("ASAN_OPTIONS");
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	struct run r;

	cr_assert_gt(n, 0);
	self_exe[n] = '\0';
	run_locate("../bin/ioasid-run", "../../bin/ioasid-run", run_bin);
	/* An ASan build runs with the shim preloaded ahead of the ASan runtime. */
	snprintf(asan, sizeof(asan), "%s%sverify_asan_link_order=0", old ? old : "",
		 old && old[0] ? ":" : "");
	setenv("ASAN_OPTIONS", asan, 1);
	/* This worker's sandbox handle (BoxFort's): the child is a Criterion runner of its own. */
	unsetenv("BXFI_MAP");
	/* A private mock host: nothing shared with tests running beside this one. */
	run_v(&r, ENV("IOASID_BENCH_SHIM_TEST=1"),
	      ARGV(run_bin, "--private-platform", "--", self_exe, "--filter",
		   "bench_backend_shim/*", "--jobs", "1"));
	assert_status(&r, 0);
	cr_assert_eq(synthesis_count(r.err, "Tested:"), SHIM_TESTS, "stderr:\n%s", r.err);
	cr_assert_eq(synthesis_count(r.err, "Passing:"), SHIM_TESTS, "stderr:\n%s", r.err);
	cr_assert_eq(synthesis_count(r.err, "Failing:"), 0, "stderr:\n%s", r.err);
	cr_assert_eq(synthesis_count(r.err, "Crashing:"), 0, "stderr:\n%s", r.err);
	run_free(&r);
}

/* ---- suite bench_backend_shim (runs for real only under ioasid-run) ------------------------ */

static bool shim_test_on(void)
{
	const char *on = getenv("IOASID_BENCH_SHIM_TEST");

	if (!on || strcmp(on, "1"))
		return false;
	cr_assert(bench_under_shim(), "IOASID_BENCH_SHIM_TEST=1 but the shim is not loaded");
	return true;
}

#define SHIM_ONLY()                      \
	do {                             \
		if (!shim_test_on())     \
			return;          \
	} while (0)

TestSuite(bench_backend_shim, .init = quiet_env);

Test(bench_backend_shim, probe)
{
	SHIM_ONLY();
	why[0] = '\0';
	assert_rc(0, bench_backend_probe(BENCH_BE_REF_UAPI, why, sizeof(why)));
	assert_rc(0, bench_backend_probe(BENCH_BE_REF_TYPE1, why, sizeof(why)));
	assert_rc(0, bench_backend_probe(BENCH_BE_REF, why, sizeof(why)));
	/* Under the shim /dev/iommu is the reference's: the kernel backends must refuse. */
	assert_rc(-ENODEV, bench_backend_probe(BENCH_BE_KERNEL, why, sizeof(why)));
	assert_why_has("kernel: this process runs under the ioasid shim (LD_PRELOAD), so "
		       "/dev/iommu is the reference's: run the kernel backends outside ioasid-run");
	assert_rc(-ENODEV, bench_backend_probe(BENCH_BE_KERNEL_TYPE1, why, sizeof(why)));
	assert_why_has("kernel-type1: this process runs under the ioasid shim");
}

Test(bench_backend_shim, uapi_ioas_map_unmap_copy)
{
	struct bench_be *be;
	uint8_t *buf;
	uint32_t a, b;
	uint64_t iova;
	uint8_t in[8];

	SHIM_ONLY();
	be = open_ok(BENCH_BE_REF_UAPI);
	buf = buffer();
	cr_assert_eq(bench_be_caps(be), BENCH_CAP_MULTI_IOAS | BENCH_CAP_COPY |
		     BENCH_CAP_HUGE_OPTION | BENCH_CAP_DOMAIN | BENCH_CAP_DEVICE);
	cr_assert_str_eq(bench_be_served_by(be), "reference");
	cr_assert_str_eq(bench_be_describe(be), "iommufd fd, device 0000:00:02.0 (vfio0)");
	a = ioas_ok(be);
	b = ioas_ok(be);
	assert_rc(0, bench_be_set_huge_pages(be, b, false));
	map_fixed_ok(be, a, buf, 16 * PAGE, 0x100000);
	iova = 0x100000;
	assert_rc(-EEXIST, bench_be_map(be, a, &iova, buf, PAGE, true));
	iova = 0;
	assert_rc(0, bench_be_map(be, a, &iova, buf + 16 * PAGE, 4 * PAGE, false));
	cr_assert_neq(iova, 0);
	assert_rc(0, bench_be_copy(be, b, 0x800000, a, 0x100000, 16 * PAGE));
	unmap_ok(be, b, 0x800000, 16 * PAGE, 16 * PAGE);
	unmap_ok(be, a, 0x100000, 16 * PAGE, 16 * PAGE);
	unmap_ok(be, a, iova, 4 * PAGE, 4 * PAGE);
	assert_rc(-ENOENT, bench_be_unmap(be, a, iova, 4 * PAGE, NULL));
	/* The uAPI has no DMA or IOTLB view and no DMA API. */
	assert_rc(-EOPNOTSUPP, bench_be_dma(be, 0, 0x100000, in, sizeof(in), 0));
	assert_rc(-EOPNOTSUPP, bench_be_dma_api_begin(be, 4));
	assert_rc(0, bench_be_ioas_destroy(be, b));
	assert_rc(-ENOENT, bench_be_ioas_destroy(be, b));
	bench_be_close(be);
	munmap(buf, BUF_LEN);
}

Test(bench_backend_shim, uapi_attach_device_then_selftest)
{
	struct bench_be *be;
	uint8_t *buf;
	uint32_t a, b;
	int h1, h2, h3;

	SHIM_ONLY();
	be = open_ok(BENCH_BE_REF_UAPI);
	buf = buffer();
	a = ioas_ok(be);
	b = ioas_ok(be);
	/* The first attach takes the device through its cdev. */
	h1 = attach_ok(be, a);
	cr_assert_str_eq(bench_be_describe(be), "iommufd fd, device 0000:00:02.0 (vfio0) attached");
	map_fixed_ok(be, a, buf, BUF_LEN, 0x400000);
	assert_rc(-EINVAL, bench_be_set_huge_pages(be, a, false));
	assert_rc(-EBUSY, bench_be_ioas_destroy(be, a));
	/* The device is taken: the second gets a selftest mock domain (aperture from 16 MiB). */
	h2 = attach_ok(be, b);
	cr_assert_neq(h1, h2);
	cr_assert_str_eq(bench_be_describe(be), "iommufd fd, selftest mock domain attached");
	map_fixed_ok(be, b, buf, 16 * PAGE, 1ULL << 24);
	unmap_ok(be, b, 1ULL << 24, 16 * PAGE, 16 * PAGE);
	assert_rc(0, bench_be_detach(be, h1));
	assert_rc(-ENOENT, bench_be_detach(be, h1));
	/* A detach leaves describe as the latest attach set it. */
	cr_assert_str_eq(bench_be_describe(be), "iommufd fd, selftest mock domain attached");
	/* Detached and unbound: the device serves the next attach again. */
	h3 = attach_ok(be, a);
	cr_assert_str_eq(bench_be_describe(be), "iommufd fd, device 0000:00:02.0 (vfio0) attached");
	assert_rc(0, bench_be_detach(be, h3));
	assert_rc(0, bench_be_detach(be, h2));
	cr_assert_str_eq(bench_be_describe(be), "iommufd fd, device 0000:00:02.0 (vfio0) attached");
	assert_rc(-ENOENT, bench_be_detach(be, -1));
	unmap_ok(be, a, 0x400000, BUF_LEN, BUF_LEN);
	assert_rc(0, bench_be_ioas_destroy(be, a));
	bench_be_close(be);
	munmap(buf, BUF_LEN);
}

Test(bench_backend_shim, uapi_vm_start)
{
	struct bench_be *be;
	uint8_t *buf;
	uint32_t ioas, other;
	int dev, h;

	SHIM_ONLY();
	be = open_ok(BENCH_BE_REF_UAPI);
	buf = buffer();
	dev = bench_be_device_bind(be, why, sizeof(why));
	cr_assert_geq(dev, 0, "bind: %d: %s", dev, why);
	ioas = ioas_ok(be);
	assert_rc(0, bench_be_device_attach(be, dev, ioas, why, sizeof(why)));
	map_fixed_ok(be, ioas, buf, BUF_LEN, 1ULL << 32);
	/* One device: a second bind is refused; an attach falls back to the selftest. */
	why[0] = '\0';
	assert_rc(-EBUSY, bench_be_device_bind(be, why, sizeof(why)));
	assert_why_has("ref-uapi: device 0000:00:02.0 is bound by bench_be_device_bind: unbind "
		       "it first");
	other = ioas_ok(be);
	h = attach_ok(be, other);
	cr_assert_str_eq(bench_be_describe(be), "iommufd fd, selftest mock domain attached");
	assert_rc(0, bench_be_detach(be, h));
	assert_rc(-ENOENT, bench_be_device_attach(be, 3, ioas, why, sizeof(why)));
	assert_rc(0, bench_be_device_detach(be, dev));
	unmap_ok(be, ioas, 1ULL << 32, BUF_LEN, BUF_LEN);
	bench_be_device_unbind(be, dev);
	assert_rc(-ENOENT, bench_be_device_detach(be, dev));
	/* Unbound (its cdev closed): it can be bound again. */
	dev = bench_be_device_bind(be, why, sizeof(why));
	cr_assert_geq(dev, 0, "bind again: %d: %s", dev, why);
	bench_be_close(be);
	munmap(buf, BUF_LEN);
}

Test(bench_backend_shim, uapi_unusable_device)
{
	struct bench_be_opts o = { .id = BENCH_BE_REF_UAPI, .device = "0000:02:01.0" };
	struct bench_be *be;
	uint32_t ioas;

	SHIM_ONLY();
	be = open_opts(&o);
	cr_assert_str_eq(bench_be_describe(be), "iommufd fd, no device");
	why[0] = '\0';
	assert_rc(-ENODEV, bench_be_device_bind(be, why, sizeof(why)));
	assert_why_has("group 12 also holds 0000:02:02.0, bound to e1000e");
	ioas = ioas_ok(be);
	attach_ok(be, ioas);
	cr_assert_str_eq(bench_be_describe(be), "iommufd fd, selftest mock domain attached");
	bench_be_close(be);
}

Test(bench_backend_shim, type1_container)
{
	struct bench_be *be;
	uint8_t *buf, in[8];
	uint32_t ioas, second;
	uint64_t iova;
	int dev;

	SHIM_ONLY();
	why[0] = '\0';
	assert_rc(0, bench_backend_probe(BENCH_BE_REF_TYPE1, why, sizeof(why)));
	be = open_ok(BENCH_BE_REF_TYPE1);
	buf = buffer();
	cr_assert_eq(bench_be_caps(be), BENCH_CAP_FIXED_ONLY | BENCH_CAP_DOMAIN |
		     BENCH_CAP_DEVICE);
	cr_assert_str_eq(bench_be_served_by(be), "reference");
	cr_assert_str_eq(bench_be_describe(be), "type1 container, group 3, device 0000:00:02.0");
	ioas = ioas_ok(be);
	assert_rc(-EOPNOTSUPP, bench_be_ioas_alloc(be, &second));
	iova = 0;
	assert_rc(-EOPNOTSUPP, bench_be_map(be, ioas, &iova, buf, PAGE, false));
	assert_rc(-ENOENT, bench_be_map(be, ioas + 1, &iova, buf, PAGE, true));
	map_fixed_ok(be, ioas, buf, BUF_LEN, 1ULL << 32);
	iova = 1ULL << 32;
	assert_rc(-EEXIST, bench_be_map(be, ioas, &iova, buf, PAGE, true));
	unmap_ok(be, ioas, 1ULL << 32, BUF_LEN, BUF_LEN);
	/* The group's domain exists since open: attach is handle 0. */
	assert_rc(0, bench_be_attach(be, ioas, why, sizeof(why)));
	assert_rc(0, bench_be_detach(be, 0));
	assert_rc(-ENOENT, bench_be_attach(be, ioas + 1, why, sizeof(why)));
	assert_why_has("ref-type1: IOAS 2 is not the container's address space");
	assert_rc(-EOPNOTSUPP, bench_be_copy(be, ioas, 0, ioas, 1ULL << 32, PAGE));
	assert_rc(-EOPNOTSUPP, bench_be_set_huge_pages(be, ioas, false));
	assert_rc(-EOPNOTSUPP, bench_be_dma(be, 0, 1ULL << 32, in, sizeof(in), 0));
	/* VM start: the device fd from the group, attached through its group already. */
	dev = bench_be_device_bind(be, why, sizeof(why));
	cr_assert_geq(dev, 0, "bind: %d: %s", dev, why);
	assert_rc(0, bench_be_device_attach(be, dev, ioas, why, sizeof(why)));
	assert_rc(-ENOENT, bench_be_device_attach(be, dev, ioas + 1, why, sizeof(why)));
	map_fixed_ok(be, ioas, buf, BUF_LEN, 1ULL << 32);
	assert_rc(0, bench_be_device_detach(be, dev));
	bench_be_device_unbind(be, dev);
	assert_rc(-ENOENT, bench_be_device_detach(be, dev));
	/* Destroying the address space unmaps everything; it can be allocated again. */
	assert_rc(0, bench_be_ioas_destroy(be, ioas));
	assert_rc(-ENOENT, bench_be_ioas_destroy(be, ioas));
	assert_rc(-ENOENT, bench_be_unmap(be, ioas, 1ULL << 32, BUF_LEN, NULL));
	cr_assert_eq(ioas_ok(be), ioas);
	map_fixed_ok(be, ioas, buf, BUF_LEN, 1ULL << 32);
	bench_be_close(be);
	munmap(buf, BUF_LEN);
}

Test(bench_backend_shim, type1_groups_and_devices)
{
	struct bench_be_opts o = { .id = BENCH_BE_REF_TYPE1 };
	struct bench_be *be = NULL;

	SHIM_ONLY();
	/* No such group on the platform: its node does not exist. */
	o.group = 99;
	why[0] = '\0';
	assert_rc(-ENOENT, bench_be_open(&o, &be, why, sizeof(why)));
	cr_assert_null(be);
	assert_why_has("ref-type1: open /dev/vfio/99: No such file or directory");
	/* Group 12 holds a device on a DMA-API driver. */
	o.group = 12;
	assert_rc(-EPERM, bench_be_open(&o, &be, why, sizeof(why)));
	assert_why_has("ref-type1: group 12 is not viable");
	/* A device of another group than the one asked for. */
	o.group = 3;
	o.device = "0000:01:00.0";
	assert_rc(-EINVAL, bench_be_open(&o, &be, why, sizeof(why)));
	assert_why_has("ref-type1: device 0000:01:00.0 is in group 9, not in group 3");
	/* A group without a named device: the container works, binding needs a name. */
	o.group = 9;
	o.device = NULL;
	be = open_opts(&o);
	cr_assert_str_eq(bench_be_describe(be), "type1 container, group 9");
	why[0] = '\0';
	assert_rc(-ENODEV, bench_be_device_bind(be, why, sizeof(why)));
	assert_why_has("ref-type1: no device of group 9 was named");
	bench_be_close(be);
	/* Named: the multi-function group's second device. */
	o.device = "0000:01:00.1";
	be = open_opts(&o);
	cr_assert_str_eq(bench_be_describe(be), "type1 container, group 9, device 0000:01:00.1");
	bench_be_close(be);
}

/* ---- suite bench_hostdev -------------------------------------------------------------------- */

static char sysroot[64];

static void mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(tmp, 0755);
		*p = '/';
	}
	cr_assert(mkdir(tmp, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", tmp, strerror(errno));
}

/* <sysroot>/kernel/iommu_groups/GROUP/devices/NAME, its driver link, its vfio-dev/vfioN. */
static void fake_device(unsigned int group, const char *name, const char *driver, int cdev)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], target[128];

	snprintf(dir, sizeof(dir), "%s/kernel/iommu_groups/%u/devices/%s", sysroot, group, name);
	mkdir_p(dir);
	if (driver) {
		snprintf(path, sizeof(path), "%s/driver", dir);
		snprintf(target, sizeof(target), "../../../../bus/pci/drivers/%s", driver);
		cr_assert_eq(symlink(target, path), 0, "symlink %s: %s", path, strerror(errno));
	}
	if (cdev >= 0) {
		snprintf(path, sizeof(path), "%s/vfio-dev/vfio%d", dir, cdev);
		mkdir_p(path);
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void hostdev_setup(void)
{
	quiet_env();
	snprintf(sysroot, sizeof(sysroot), "/tmp/ioasid-bench-sysfs-XXXXXX");
	cr_assert_not_null(mkdtemp(sysroot));
}

static void hostdev_teardown(void)
{
	nftw(sysroot, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(bench_hostdev, .init = hostdev_setup, .fini = hostdev_teardown);

static void kernel_pick_ok(const char *want, const char *name, unsigned int group, int cdev)
{
	struct bench_hostdev d;

	why[0] = '\0';
	assert_rc(0, bench_hostdev_kernel(sysroot, want, &d, why, sizeof(why)));
	cr_assert_str_eq(d.name, name);
	cr_assert_eq(d.group, group);
	cr_assert_eq(d.cdev, cdev);
}

static void kernel_pick_err(const char *want, const char *needle)
{
	struct bench_hostdev d;

	why[0] = '\0';
	assert_rc(-ENODEV, bench_hostdev_kernel(sysroot, want, &d, why, sizeof(why)));
	assert_why_has(needle);
}

Test(bench_hostdev, kernel_picks_a_vfio_device_of_a_viable_group)
{
	fake_device(1, "0000:00:1f.6", "e1000e", -1);
	fake_device(20, "0000:06:00.0", "vfio-pci", 1);
	fake_device(3, "0000:00:02.0", "vfio-pci", 0);
	fake_device(10, "0000:05:00.0", NULL, -1);
	/* Groups in numeric order: 3 comes before 20. */
	kernel_pick_ok(NULL, "0000:00:02.0", 3, 0);
	kernel_pick_ok("0000:06:00.0", "0000:06:00.0", 20, 1);
	kernel_pick_err("0000:00:1f.6", "kernel: device 0000:00:1f.6 is bound to e1000e, not "
			"vfio-pci: unbind it (echo 0000:00:1f.6 > /sys/bus/pci/devices/"
			"0000:00:1f.6/driver/unbind) and bind it to vfio-pci");
	kernel_pick_err("0000:05:00.0", "kernel: device 0000:05:00.0 has no driver");
	kernel_pick_err("0000:99:00.0", "kernel: device 0000:99:00.0 is in no IOMMU group");
}

Test(bench_hostdev, kernel_sibling_on_a_dma_driver_makes_the_group_not_viable)
{
	fake_device(12, "0000:02:01.0", "vfio-pci", 5);
	fake_device(12, "0000:02:02.0", "e1000e", -1);
	kernel_pick_err(NULL, "kernel: device 0000:02:01.0: group 12 is not viable: it also holds "
			"0000:02:02.0, bound to e1000e (a DMA-API driver)");
	kernel_pick_err("0000:02:01.0", "it also holds 0000:02:02.0, bound to e1000e");
	/* A usable device elsewhere wins over the refusal. */
	fake_device(14, "0000:03:00.0", "vfio-pci", 6);
	kernel_pick_ok(NULL, "0000:03:00.0", 14, 6);
}

Test(bench_hostdev, kernel_driverless_and_pci_stub_siblings_are_harmless)
{
	/* No vfio-dev: a kernel before 6.6 or without VFIO_DEVICE_CDEV. */
	fake_device(9, "0000:01:00.0", "vfio-pci", -1);
	fake_device(9, "0000:01:00.1", NULL, -1);
	fake_device(9, "0000:01:00.2", "pci-stub", -1);
	kernel_pick_ok(NULL, "0000:01:00.0", 9, -1);
	/* A vfio variant driver counts as vfio. */
	fake_device(4, "0000:00:04.0", "mlx5_vfio_pci", 2);
	kernel_pick_ok(NULL, "0000:00:04.0", 4, 2);
}

Test(bench_hostdev, kernel_nothing_on_vfio)
{
	fake_device(1, "0000:00:1f.6", "e1000e", -1);
	kernel_pick_err(NULL, "kernel: no device is bound to vfio-pci: bind one with 'echo "
			"0000:00:1f.6 > /sys/bus/pci/drivers/vfio-pci/bind'");
}

Test(bench_hostdev, kernel_without_iommu_groups)
{
	char dir[PATH_MAX];

	kernel_pick_err(NULL, "/kernel/iommu_groups does not exist: no IOMMU is enabled (boot "
			"with intel_iommu=on or amd_iommu=on");
	snprintf(dir, sizeof(dir), "%s/kernel/iommu_groups", sysroot);
	mkdir_p(dir);
	kernel_pick_err(NULL, "/kernel/iommu_groups is empty: no IOMMU is enabled");
}

/* This host's real /sys: whatever it has, a device or a stated reason. */
Test(bench_hostdev, kernel_this_host)
{
	struct bench_hostdev d;
	int rc;

	why[0] = '\0';
	rc = bench_hostdev_kernel(NULL, NULL, &d, why, sizeof(why));
	if (rc) {
		assert_rc(-ENODEV, rc);
		assert_why_has("kernel: ");
	} else {
		cr_assert_str_not_empty(d.name);
	}
}

static void ref_pick_ok(const char *want, const char *name, unsigned int group, int cdev)
{
	struct bench_hostdev d;

	why[0] = '\0';
	assert_rc(0, bench_hostdev_reference(want, &d, why, sizeof(why)));
	cr_assert_str_eq(d.name, name);
	cr_assert_eq(d.group, group);
	cr_assert_eq(d.cdev, cdev);
}

static void ref_pick_err(int err, const char *want, const char *needle)
{
	struct bench_hostdev d;

	why[0] = '\0';
	assert_rc(-err, bench_hostdev_reference(want, &d, why, sizeof(why)));
	assert_why_has(needle);
}

Test(bench_hostdev, reference_default_host)
{
	ref_pick_ok(NULL, "0000:00:02.0", 3, 0);
	ref_pick_ok("0000:01:00.1", "0000:01:00.1", 9, 4);
	ref_pick_ok("0000:80:00.0", "0000:80:00.0", 20, 7);
	ref_pick_err(ENODEV, "0000:02:01.0", "reference: device 0000:02:01.0: group 12 also "
		     "holds 0000:02:02.0, bound to e1000e (a DMA-API driver), so the group cannot "
		     "be claimed: 'ioasid-platform unbind 0000:02:02.0'");
	ref_pick_err(ENODEV, "0000:00:17.0", "reference: device 0000:00:17.0 is bound to ahci, "
		     "not to a user driver");
	ref_pick_err(ENODEV, "mdev0", "reference: device mdev0 is a software-table (mdev-like) "
		     "device");
	ref_pick_err(ENODEV, "0000:42:00.0", "reference: device 0000:42:00.0 is not on the "
		     "platform (built-in default)");
}

static char *write_topology(const char *text)
{
	char *path = run_tmp_path("bench", "topo");
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

Test(bench_hostdev, reference_topology_file)
{
	char *path = write_topology(
		"iommu smmu0 type=smmuv3 pgsizes=4k,2m ias=48 coherent\n"
		"iommu slow0 type=vtd pgsizes=4k ias=39\n"
		"driver mlx5_core kind=dma-api\n"
		"group 5 iommu=smmu0\n"
		"group 7 iommu=smmu0 no-msi-isolation\n"
		"group 8 iommu=slow0\n"
		"group 6 iommu=smmu0\n"
		"device 0000:03:00.0 group=5 vfio=0 driver=mlx5_core\n"
		"device 0000:04:00.0 group=7 vfio=2 driver=vfio-pci\n"
		"device 0000:05:00.0 group=8 vfio=3 driver=vfio-pci\n"
		"device 0000:03:00.2 group=6 vfio=1 driver=vfio-pci\n");

	setenv("IOASID_TOPOLOGY", path, 1);
	/* Groups 7 (no MSI isolation) and 8 (no coherency) cannot be bound: 6 is first. */
	ref_pick_ok(NULL, "0000:03:00.2", 6, 1);
	ref_pick_err(ENODEV, "0000:04:00.0", "reference: device 0000:04:00.0: group 7 has no MSI "
		     "isolation, so binding it fails with EPERM");
	ref_pick_err(ENODEV, "0000:05:00.0", "reference: device 0000:05:00.0: IOMMU slow0 cannot "
		     "enforce cache coherency, so binding it fails with EINVAL");
	ref_pick_err(ENODEV, "0000:03:00.0", "is bound to mlx5_core, not to a user driver");
	unlink(path);

	path = write_topology("iommu m0 type=vtd pgsizes=4k ias=50\n");
	setenv("IOASID_TOPOLOGY", path, 1);
	ref_pick_err(EINVAL, NULL, "reference: IOASID_TOPOLOGY=");
	assert_why_has("ias=50");
	unlink(path);
	unsetenv("IOASID_TOPOLOGY");
}
