/* workloads.c — what ioasid-bench measures. Each workload drives a backend through bench.h's
 * bench_be_* calls only, so every backend is measured the same way.
 *
 *   pages          map then unmap one page per call (4K, 2M, 1G), IOVAs sequential, random
 *                  (a permutation over a window 4× larger) or fragmented (the IOAS already
 *                  holds an area in every other slot; the calls fill the holes)
 *   region         one map call of a large region (1 GiB, 16 GiB) with leaves of at most
 *                  4K, 2M or 1G, then one unmap: GB/s (above 4 GiB, with rounds: in
 *                  workers of their own, before the rounds; ioasid-bench.c)
 *   small-regions  10 k+ small regions mapped one by one and held together, unmapped one by
 *                  one; then the same unmapped by one range call
 *   copy           IOMMU_IOAS_COPY of a mapped region into a second IOAS with a domain, against
 *                  a direct map of the same memory there (pinning saved)
 *   dma            device accesses through the mock IOTLB: a working set it holds (hit) and a
 *                  sweep 16× larger than it (miss)
 *   dma-api        a kernel driver's map / DMA / unmap cycle (dma_map_benchmark's loop) on the
 *                  mock IOMMU, strict (invalidate on every unmap) and deferred (a flush queue)
 *   vm-start       a VMM starting a guest: bind the device, allocate the IOAS, attach, map the
 *                  guest RAM in chunks (QEMU's layout: below 2 GiB, the rest above 4 GiB)
 *   threads        T threads mapping and unmapping 4 KiB pages on one IOAS
 *
 * Timing: CLOCK_MONOTONIC. A repeat's time is the wall time of its loop; per-operation
 * latencies are timed around each call. Device accesses (dma, ~50 ns) would be distorted by
 * the clock reads, so their throughput comes from an untimed pass and their latencies from a
 * second, timed pass. dma-api alternates map and unmap, so its phases can only be timed call
 * by call: its figures include one clock read (~20 ns) per call. Memory is faulted in before
 * anything is timed (a VMM's guest RAM usually is); the page tables are warmed by one untimed
 * map+unmap pass.
 */
#include "benchkit/workload.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SZ_4K (1ULL << 12)
#define SZ_2M (1ULL << 21)
#define SZ_1G (1ULL << 30)
#define IOVA_BASE (1ULL << 32)          /* above the x86 MSI window and the low holes */

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- parameters ------------------------------------------------------------------------------ */

void bench_params_default(struct bench_params *p)
{
	memset(p, 0, sizeof(*p));
	p->repeats = 5;
	p->big_region_bytes = 4 * SZ_1G;
	p->regions[p->nregions++] = SZ_1G;
	p->pages[p->npages++] = SZ_4K;
	p->pages[p->npages++] = SZ_2M;
	p->pages[p->npages++] = SZ_1G;
	p->patterns = BENCH_PAT_SEQ | BENCH_PAT_RANDOM | BENCH_PAT_FRAG;
	p->threads[p->nthreads++] = 1;
	p->threads[p->nthreads++] = 2;
	p->threads[p->nthreads++] = 4;
	p->page_ops_bytes = 64ULL << 20;
	p->small_regions = 16384;
	p->small_region_bytes = SZ_4K;
	p->guest_ram = 4 * SZ_1G;
	p->guest_chunk = 256ULL << 20;
	p->dma_bytes = 64;
	p->fq_size = 256;
	p->thread_pairs = 4096;
}

void bench_params_quick(struct bench_params *p)
{
	bench_params_default(p);
	p->repeats = 3;
	p->regions[0] = 64ULL << 20;
	p->page_ops_bytes = 4ULL << 20;
	p->pages[2] = SZ_1G;            /* still one 1 GiB page per call: 2 calls of 1 GiB */
	p->small_regions = 10240;
	p->guest_ram = 256ULL << 20;
	p->guest_chunk = 64ULL << 20;
	p->threads[2] = 2;
	p->nthreads = 2;
	p->thread_pairs = 512;
}

/* ---- helpers --------------------------------------------------------------------------------- */

static void skipf(struct bench_run *r, const char *workload, const char *fmt, ...)
{
	char why[BENCH_WHY];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	r->sink.skip(r->sink.arg, bench_backend_name(r->id), workload, why);
}

static const char *page_name(uint64_t page)
{
	return page >= SZ_1G ? "1G" : page >= SZ_2M ? "2M" : "4K";
}

static void cfg_init(struct bench_run *r, struct bench_config *c, const char *workload,
		     const char *phase, const char *attach)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->backend, sizeof(c->backend), "%s", bench_backend_name(r->id));
	snprintf(c->served_by, sizeof(c->served_by), "%s", bench_be_served_by(r->be));
	snprintf(c->workload, sizeof(c->workload), "%s", workload);
	snprintf(c->phase, sizeof(c->phase), "%s", phase);
	snprintf(c->pattern, sizeof(c->pattern), "-");
	snprintf(c->inval, sizeof(c->inval), "-");
	snprintf(c->trace, sizeof(c->trace), "%s", r->trace);
	snprintf(c->attach, sizeof(c->attach), "%s", attach ? attach : "none");
	c->threads = 1;
	c->repeats = r->p->repeats;
}

int bench_meas_init(struct bench_meas *m, struct bench_run *r, const char *workload,
		    const char *phase, const char *attach)
{
	memset(m, 0, sizeof(*m));
	cfg_init(r, &m->rec.cfg, workload, phase, attach);
	m->rec.violations = -1;
	return bench_samples_init(&m->s, r->p->repeats);
}

/* Does a measurement take another repeat, `done` taken since its loop began at `since`? At
 * least --repeats; with --min-time, more until the loop has run that long. A figure whose
 * repeat is a few microseconds (one unmap of a region on huge leaves, 32 calls on 2 MiB pages)
 * is otherwise a handful of samples taken within a millisecond, at the mercy of one interrupt
 * or one slow moment of a VM's host; a few hundred spread over the time its slowest
 * neighbours take describe it better, and cost little. */
static bool more_repeats(const struct bench_params *p, unsigned int done, uint64_t since)
{
	if (done < p->repeats)
		return true;
	return p->min_time_ns && done < BENCH_MIN_TIME_REPEATS &&
	       bench_now_ns() - since < p->min_time_ns;
}

void bench_meas_emit(struct bench_meas *m, struct bench_run *r)
{
	m->rec.magic = BENCH_RECORD_MAGIC;
	m->rec.size = sizeof(m->rec);
	r->sink.emit(r->sink.arg, &m->rec, &m->s);      /* it fills the figures */
	bench_samples_free(&m->s);
}

void bench_meas_drop(struct bench_meas *m)
{
	bench_samples_free(&m->s);
}

/* Memory a client would map: aligned to its page size, advised (4K: no THP; else THP, as a
 * VMM backs guest RAM) and faulted in. Faulting is the slowest thing a round does on a VM
 * whose host takes freed memory back (about 3 s per GiB when the host must supply it, 50 ms
 * when it still holds it), and every round is a fresh worker, so a worker faults as little as
 * it can:
 *  - THP buffers (pages, region, copy and vm-start above 4K) share one arena, 1 GiB-aligned,
 *    kept until the worker ends and grown when a request is larger (up to 4 GiB): a request
 *    gets its first len bytes. Every workload maps the memory, never relies on its contents.
 *  - 4K buffers are kept for a later request of the same length (traced passes repeat them).
 *  - Larger ones (the 16 GiB region) are mapped for the call and returned at once.
 * Where the memory lands still changes from round to round, as it does between reruns: each
 * round's worker faults its own. */
struct mem {
	void *raw;
	size_t rawlen;
	uint8_t *buf;
	uint64_t len, page;
	bool thp, busy;
};

#define MEM_CACHE 16
#define MEM_CACHE_MAX (4 * SZ_1G)
static struct mem mem_cache[MEM_CACHE];         /* 4K buffers */
static struct mem thp_arena;                    /* every THP buffer of this worker */

/* A fresh mapping of len bytes aligned to `align`, advised and faulted in. */
static int mem_fault_in(struct mem *m, uint64_t len, uint64_t align, bool thp)
{
	m->rawlen = len + align;
	m->raw = mmap(NULL, m->rawlen, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->raw == MAP_FAILED) {
		m->raw = NULL;
		return -errno;
	}
	m->buf = (uint8_t *)(((uintptr_t)m->raw + align - 1) & ~(uintptr_t)(align - 1));
	m->len = len;
	m->thp = thp;
	m->busy = true;
	madvise(m->buf, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	/* one call populates the whole range (Linux 5.14+), several times faster than a write
	 * fault per page; older kernels get the faults */
	if (madvise(m->buf, len, MADV_POPULATE_WRITE))
		for (uint64_t off = 0; off < len; off += SZ_4K)
			m->buf[off] = 1;
	return 0;
}

static int mem_get(struct mem *m, uint64_t len, uint64_t page)
{
	bool thp = page > SZ_4K;
	int rc;

	if (thp && len <= MEM_CACHE_MAX && !thp_arena.busy) {
		if (thp_arena.raw && thp_arena.len < len) {
			munmap(thp_arena.raw, thp_arena.rawlen);
			thp_arena.raw = NULL;
		}
		if (!thp_arena.raw && (rc = mem_fault_in(&thp_arena, len, SZ_1G, true)))
			return rc;
		thp_arena.busy = true;
		*m = thp_arena;
		m->len = len;
		m->page = page;
		return 0;
	}
	for (int i = 0; !thp && i < MEM_CACHE; i++) {
		struct mem *c = &mem_cache[i];

		if (c->raw && !c->busy && c->len == len) {
			c->busy = true;
			*m = *c;
			m->page = page;
			return 0;
		}
	}
	if ((rc = mem_fault_in(m, len, page < SZ_2M ? SZ_2M : page, thp)))
		return rc;
	m->page = page;
	if (!thp && len <= MEM_CACHE_MAX)
		for (int i = 0; i < MEM_CACHE; i++)
			if (!mem_cache[i].raw) {
				mem_cache[i] = *m;
				break;
			}
	return 0;
}

static void mem_put(struct mem *m)
{
	if (!m->raw)
		return;
	if (m->raw == thp_arena.raw) {
		thp_arena.busy = false;
		m->raw = NULL;
		return;
	}
	for (int i = 0; i < MEM_CACHE; i++)
		if (mem_cache[i].raw == m->raw) {
			mem_cache[i].busy = false;
			m->raw = NULL;
			return;
		}
	munmap(m->raw, m->rawlen);
	m->raw = NULL;
}

static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	unsigned long long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb << 10;
}

/* Is there room for `len` more bytes (plus 512 MiB slack)? Else skip with the figures. */
static bool mem_fits(struct bench_run *r, const char *workload, uint64_t len)
{
	uint64_t avail = mem_available();
	char name[24];

	if (avail >= len + (512ULL << 20))
		return true;
	skipf(r, workload, "%llu MiB of memory needed for %s, %llu MiB available: free memory or "
	      "choose smaller sizes", (unsigned long long)((len + (512ULL << 20)) >> 20),
	      (bench_fmt_bytes(len, name, sizeof(name)), name), (unsigned long long)(avail >> 20));
	return false;
}

/* An IOAS as a workload wants it: 4 KiB IOPTEs forced when small_only (where the backend has
 * the option), a domain attached when attach (where the backend has one). *handle: -1 when
 * none; attach_desc says what owns the domain. */
struct ioas_setup {
	uint32_t ioas;
	int handle;
	char attach[64];
	bool forced_4k;
};

static int ioas_setup(struct bench_run *r, const char *workload, bool small_only, bool attach,
		      struct ioas_setup *s)
{
	char why[BENCH_WHY] = "";
	unsigned int caps = bench_be_caps(r->be);
	int rc;

	memset(s, 0, sizeof(*s));
	s->handle = -1;
	snprintf(s->attach, sizeof(s->attach), "none");
	rc = bench_be_ioas_alloc(r->be, &s->ioas);
	if (rc) {
		skipf(r, workload, "IOAS allocation failed: %s", strerror(-rc));
		return rc;
	}
	if (small_only && (caps & BENCH_CAP_HUGE_OPTION)) {
		rc = bench_be_set_huge_pages(r->be, s->ioas, false);
		if (rc) {
			skipf(r, workload, "IOMMU_OPTION HUGE_PAGES=0 on IOAS %u failed: %s",
			      s->ioas, strerror(-rc));
			bench_be_ioas_destroy(r->be, s->ioas);
			return rc;
		}
		s->forced_4k = true;
	}
	if (attach && (caps & BENCH_CAP_DOMAIN)) {
		rc = bench_be_attach(r->be, s->ioas, why, sizeof(why));
		if (rc >= 0) {
			s->handle = rc;
			snprintf(s->attach, sizeof(s->attach), "%s", bench_be_describe(r->be));
		} else if (rc != -ENODEV) {
			skipf(r, workload, "attach to IOAS %u failed: %s", s->ioas,
			      why[0] ? why : strerror(-rc));
			bench_be_ioas_destroy(r->be, s->ioas);
			return rc;
		}
	}
	return 0;
}

static void ioas_teardown(struct bench_run *r, struct ioas_setup *s)
{
	if (s->handle >= 0)
		bench_be_detach(r->be, s->handle);
	bench_be_ioas_destroy(r->be, s->ioas);
}

/* Stop a workload on an unexpected failure: say which call, where, and why. */
static int failed(struct bench_run *r, const char *workload, const char *what, uint64_t iova,
		  uint64_t len, int rc)
{
	skipf(r, workload, "%s at IOVA 0x%llx length 0x%llx failed: %s: stopped this workload",
	      what, (unsigned long long)iova, (unsigned long long)len, strerror(-rc));
	return rc;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* ---- pages ----------------------------------------------------------------------------------- */

static const char *pattern_name(unsigned int pat)
{
	return pat == BENCH_PAT_SEQ ? "seq" : pat == BENCH_PAT_RANDOM ? "random" : "frag";
}

/* IOVA of operation k for a pattern (slots are pages from IOVA_BASE rounded up to the page). */
static void pattern_slots(unsigned int pat, uint64_t n, uint64_t *slot)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	if (pat == BENCH_PAT_SEQ) {
		for (uint64_t k = 0; k < n; k++)
			slot[k] = k;
	} else if (pat == BENCH_PAT_FRAG) {
		for (uint64_t k = 0; k < n; k++)
			slot[k] = 2 * k;
	} else {
		/* n distinct slots drawn from 4n: a partial Fisher-Yates over the window */
		uint64_t w = 4 * n, *all = malloc(w * sizeof(*all));

		if (!all) {
			for (uint64_t k = 0; k < n; k++)
				slot[k] = k;
			return;
		}
		for (uint64_t i = 0; i < w; i++)
			all[i] = i;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t j = i + xorshift(&seed) % (w - i), t = all[i];

			all[i] = all[j];
			all[j] = t;
			slot[i] = all[i];
		}
		free(all);
	}
}

static int pages_one(struct bench_run *r, uint64_t page, unsigned int pat, struct mem *mem,
		     uint64_t n)
{
	const char *wl = "pages";
	uint64_t base = (IOVA_BASE + page - 1) & ~(page - 1), *slot;
	struct bench_meas mm, mu;
	struct ioas_setup s;
	int rc;

	slot = calloc(n, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	pattern_slots(pat, n, slot);
	rc = ioas_setup(r, wl, page == SZ_4K, true, &s);
	if (rc) {
		free(slot);
		return rc;
	}
	/* fragmented: an area in every odd slot, held for the whole measurement */
	if (pat == BENCH_PAT_FRAG) {
		for (uint64_t k = 0; k < n; k++) {
			uint64_t iova = base + (2 * k + 1) * page;

			rc = bench_be_map(r->be, s.ioas, &iova, mem->buf, page, true);
			if (rc) {
				failed(r, wl, "fence map", iova, page, rc);
				goto out;
			}
		}
	}
	/* warm-up: the page-table levels are allocated once, as in a long-running VMM */
	for (uint64_t k = 0; k < n; k++) {
		uint64_t iova = base + slot[k] * page;

		rc = bench_be_map(r->be, s.ioas, &iova, mem->buf + k * page, page, true);
		if (rc) {
			failed(r, wl, "map", iova, page, rc);
			goto out;
		}
	}
	for (uint64_t k = 0; k < n; k++) {
		rc = bench_be_unmap(r->be, s.ioas, base + slot[k] * page, page, NULL);
		if (rc) {
			failed(r, wl, "unmap", base + slot[k] * page, page, rc);
			goto out;
		}
	}
	if ((rc = bench_meas_init(&mm, r, wl, "map", s.attach)))
		goto out;
	if ((rc = bench_meas_init(&mu, r, wl, "unmap", s.attach))) {
		bench_meas_drop(&mm);
		goto out;
	}
	uint64_t since = bench_now_ns();
	for (unsigned int rep = 0; more_repeats(r->p, rep, since) && !rc; rep++) {
		uint64_t t0 = bench_now_ns(), t1, t2;

		for (uint64_t k = 0; k < n; k++) {
			uint64_t iova = base + slot[k] * page, a = bench_now_ns();

			rc = bench_be_map(r->be, s.ioas, &iova, mem->buf + k * page, page, true);
			if (rc) {
				failed(r, wl, "map", iova, page, rc);
				break;
			}
			bench_samples_add_op(&mm.s, (double)(bench_now_ns() - a));
		}
		t1 = bench_now_ns();
		for (uint64_t k = 0; k < n && !rc; k++) {
			uint64_t a = bench_now_ns();

			rc = bench_be_unmap(r->be, s.ioas, base + slot[k] * page, page, NULL);
			if (rc) {
				failed(r, wl, "unmap", base + slot[k] * page, page, rc);
				break;
			}
			bench_samples_add_op(&mu.s, (double)(bench_now_ns() - a));
		}
		t2 = bench_now_ns();
		bench_samples_add_repeat(&mm.s, (double)(t1 - t0));
		bench_samples_add_repeat(&mu.s, (double)(t2 - t1));
	}
	if (rc) {
		bench_meas_drop(&mm);
		bench_meas_drop(&mu);
		goto out;
	}
	for (struct bench_meas *m = &mm; m; m = m == &mm ? &mu : NULL) {
		struct bench_config *c = &m->rec.cfg;

		snprintf(c->pattern, sizeof(c->pattern), "%s", pattern_name(pat));
		c->page_size = page;
		c->leaf_max = s.forced_4k ? SZ_4K : 0;
		c->op_bytes = page;
		c->ops = n;
		c->repeat_bytes = n * page;
		const char *how = pat == BENCH_PAT_FRAG ? "every other slot already mapped" :
				  pat == BENCH_PAT_RANDOM ? "slots drawn from a window 4x larger" :
				  "";

		snprintf(m->rec.note, sizeof(m->rec.note), "%s%s%s",
			 page == SZ_4K && !s.forced_4k ? "4 KiB leaves not forced (no HUGE_PAGES "
			 "option)" : "", page == SZ_4K && !s.forced_4k && *how ? "; " : "", how);
		bench_meas_emit(m, r);
	}
out:
	if (pat == BENCH_PAT_FRAG)
		bench_be_unmap(r->be, s.ioas, base, 2 * n * page, NULL);
	ioas_teardown(r, &s);
	free(slot);
	return rc;
}

static int run_pages(struct bench_run *r)
{
	const struct bench_params *p = r->p;
	int rc = 0;

	for (unsigned int i = 0; i < p->npages; i++) {
		uint64_t page = p->pages[i], n = p->page_ops_bytes / page;
		struct mem mem = { 0 };

		if (n < 2)
			n = 2;
		if (!mem_fits(r, "pages", n * page))
			continue;
		if ((rc = mem_get(&mem, n * page, page))) {
			skipf(r, "pages", "%llu bytes of %s-page memory: %s",
			      (unsigned long long)(n * page), page_name(page), strerror(-rc));
			continue;
		}
		for (unsigned int pat = BENCH_PAT_SEQ; pat <= BENCH_PAT_FRAG; pat <<= 1)
			if (p->patterns & pat)
				pages_one(r, page, pat, &mem, n);
		mem_put(&mem);
	}
	return 0;
}

/* ---- region ---------------------------------------------------------------------------------- */

static int run_region(struct bench_run *r)
{
	const struct bench_params *p = r->p;
	const char *wl = "region";

	for (unsigned int i = 0; i < p->nregions; i++) {
		uint64_t size = p->regions[i];

		struct mem mem = { 0 };
		int rc;

		bool big = size > p->big_region_bytes;

		/* Big regions have workers of their own (BENCH_BIG_ONLY), back to back before the
		 * rounds; the rounds' workers leave them out. */
		if (big && p->big_regions_ref_only && r->id != BENCH_BE_REF) {
			char name[24];

			skipf(r, wl, "%s region: measured on ref only in the standard set (the "
			      "backends share the reference's io_pagetable); --region %s "
			      "measures it here", (bench_fmt_bytes(size, name, sizeof(name)), name), name);
			continue;
		}
		if ((big && p->big_scope == BENCH_BIG_NONE) ||
		    (!big && p->big_scope == BENCH_BIG_ONLY))
			continue;
		if (!mem_fits(r, wl, size))
			continue;
		/* One buffer serves every page size: THP-advised and 1 GiB-aligned, so that what
		 * differs is the largest leaf the domain may use. */
		if ((rc = mem_get(&mem, size, SZ_1G))) {
			skipf(r, wl, "%llu bytes: %s", (unsigned long long)size, strerror(-rc));
			continue;
		}
		for (unsigned int j = 0; j < p->npages; j++) {
			uint64_t page = p->pages[j], iova = (IOVA_BASE + page - 1) & ~(page - 1);
			struct bench_meas mm, mu;
			struct ioas_setup s;

			rc = 0;
			if (size < page)
				continue;
			/* 4K: 4 KiB IOPTEs forced; 2M: leaves up to 2 MiB (IOVA 2 MiB- but not
			 * 1 GiB-aligned); 1G: leaves up to 1 GiB */
			if (page == SZ_2M)
				iova += SZ_2M;
			if (ioas_setup(r, wl, page == SZ_4K, true, &s))
				continue;
			rc = bench_be_map(r->be, s.ioas, &iova, mem.buf, size, true);
			if (!rc)
				rc = bench_be_unmap(r->be, s.ioas, iova, size, NULL);
			if (rc) {
				failed(r, wl, "warm-up map/unmap", iova, size, rc);
				goto next;
			}
			if (bench_meas_init(&mm, r, wl, "map", s.attach))
				goto next;
			if (bench_meas_init(&mu, r, wl, "unmap", s.attach)) {
				bench_meas_drop(&mm);
				goto next;
			}
			uint64_t since = bench_now_ns();
			for (unsigned int rep = 0; more_repeats(p, rep, since) && !rc; rep++) {
				uint64_t t0 = bench_now_ns(), t1, t2;

				rc = bench_be_map(r->be, s.ioas, &iova, mem.buf, size, true);
				t1 = bench_now_ns();
				if (!rc)
					rc = bench_be_unmap(r->be, s.ioas, iova, size, NULL);
				t2 = bench_now_ns();
				if (rc) {
					failed(r, wl, "map/unmap", iova, size, rc);
					break;
				}
				bench_samples_add_repeat(&mm.s, (double)(t1 - t0));
				bench_samples_add_op(&mm.s, (double)(t1 - t0));
				bench_samples_add_repeat(&mu.s, (double)(t2 - t1));
				bench_samples_add_op(&mu.s, (double)(t2 - t1));
			}
			for (struct bench_meas *m = &mm; m; m = m == &mm ? &mu : NULL) {
				struct bench_config *c = &m->rec.cfg;

				if (rc) {
					bench_meas_drop(m);
					continue;
				}
				c->page_size = page;
				c->leaf_max = s.forced_4k ? SZ_4K : 0;
				c->op_bytes = size;
				c->ops = 1;
				c->repeat_bytes = size;
				snprintf(m->rec.note, sizeof(m->rec.note), "%s",
					 page == SZ_1G ? "leaves up to 1 GiB" : page == SZ_2M ?
					 "leaves up to 2 MiB (IOVA not 1 GiB-aligned)" :
					 s.forced_4k ? "4 KiB IOPTEs forced (HUGE_PAGES=0)" :
					 "4 KiB IOPTEs not forced (no HUGE_PAGES option): leaves "
					 "follow VA contiguity");
				bench_meas_emit(m, r);
			}
next:
			ioas_teardown(r, &s);
		}
		mem_put(&mem);
	}
	return 0;
}

/* ---- small-regions --------------------------------------------------------------------------- */

static int run_small_regions(struct bench_run *r)
{
	const struct bench_params *p = r->p;
	const char *wl = "small-regions";
	uint64_t n = p->small_regions, len = p->small_region_bytes, stride = 2 * len;
	struct bench_meas mm, mu, mr;
	struct mem mem = { 0 };
	struct ioas_setup s;
	int rc;

	if (!mem_fits(r, wl, n * len))
		return 0;
	if ((rc = mem_get(&mem, n * len, SZ_4K))) {
		skipf(r, wl, "%llu bytes: %s", (unsigned long long)(n * len), strerror(-rc));
		return rc;
	}
	if ((rc = ioas_setup(r, wl, true, true, &s))) {
		mem_put(&mem);
		return rc;
	}
	if ((rc = bench_meas_init(&mm, r, wl, "map", s.attach)))
		goto out;
	bench_meas_init(&mu, r, wl, "unmap", s.attach);
	bench_meas_init(&mr, r, wl, "unmap-range", s.attach);
	/* repeat 0 is the warm-up */
	uint64_t since = bench_now_ns();
	for (unsigned int rep = 0; (!rep || more_repeats(p, rep - 1, since)) && !rc; rep++) {
		for (int range = 0; range < 2 && !rc; range++) {
			uint64_t t0 = bench_now_ns(), t1, t2;

			for (uint64_t k = 0; k < n; k++) {
				uint64_t iova = IOVA_BASE + k * stride, a = bench_now_ns();

				rc = bench_be_map(r->be, s.ioas, &iova, mem.buf + k * len, len,
						  true);
				if (rc) {
					failed(r, wl, "map", iova, len, rc);
					break;
				}
				if (rep && !range)
					bench_samples_add_op(&mm.s, (double)(bench_now_ns() - a));
			}
			t1 = bench_now_ns();
			if (rc)
				break;
			if (range) {
				rc = bench_be_unmap(r->be, s.ioas, IOVA_BASE, n * stride, NULL);
				if (rc)
					failed(r, wl, "range unmap", IOVA_BASE, n * stride, rc);
				t2 = bench_now_ns();
				if (rep) {
					bench_samples_add_repeat(&mr.s, (double)(t2 - t1));
					bench_samples_add_op(&mr.s, (double)(t2 - t1));
				}
				continue;
			}
			for (uint64_t k = 0; k < n; k++) {
				uint64_t a = bench_now_ns();

				rc = bench_be_unmap(r->be, s.ioas, IOVA_BASE + k * stride, len,
						    NULL);
				if (rc) {
					failed(r, wl, "unmap", IOVA_BASE + k * stride, len, rc);
					break;
				}
				if (rep)
					bench_samples_add_op(&mu.s, (double)(bench_now_ns() - a));
			}
			t2 = bench_now_ns();
			if (rep) {
				bench_samples_add_repeat(&mm.s, (double)(t1 - t0));
				bench_samples_add_repeat(&mu.s, (double)(t2 - t1));
			}
		}
	}
	for (struct bench_meas *m = &mm; m; m = m == &mm ? &mu : m == &mu ? &mr : NULL) {
		struct bench_config *c = &m->rec.cfg;

		if (rc) {
			bench_meas_drop(m);
			continue;
		}
		c->page_size = SZ_4K;
		c->leaf_max = s.forced_4k ? SZ_4K : 0;
		c->op_bytes = m == &mr ? n * len : len;
		c->ops = m == &mr ? 1 : n;
		c->repeat_bytes = n * len;
		snprintf(m->rec.note, sizeof(m->rec.note), "%llu regions of %llu KiB held together",
			 (unsigned long long)n, (unsigned long long)(len >> 10));
		bench_meas_emit(m, r);
	}
out:
	bench_be_unmap(r->be, s.ioas, IOVA_BASE, n * stride, NULL);
	ioas_teardown(r, &s);
	mem_put(&mem);
	return rc;
}

/* ---- copy ------------------------------------------------------------------------------------ */

static int run_copy(struct bench_run *r)
{
	const struct bench_params *p = r->p;
	const char *wl = "copy";
	uint64_t size = p->regions[0], iova = IOVA_BASE;
	struct ioas_setup src, dst;
	struct bench_meas mc, mm;
	struct mem mem = { 0 };
	int rc;

	if (!mem_fits(r, wl, size))
		return 0;
	if ((rc = mem_get(&mem, size, SZ_2M))) {
		skipf(r, wl, "%llu bytes: %s", (unsigned long long)size, strerror(-rc));
		return rc;
	}
	if ((rc = ioas_setup(r, wl, false, false, &src)))
		goto out_mem;
	if ((rc = ioas_setup(r, wl, false, true, &dst)))
		goto out_src;
	rc = bench_be_map(r->be, src.ioas, &iova, mem.buf, size, true);
	if (rc) {
		failed(r, wl, "source map", iova, size, rc);
		goto out;
	}
	/* warm-up of the destination's page tables */
	rc = bench_be_copy(r->be, dst.ioas, IOVA_BASE, src.ioas, IOVA_BASE, size);
	if (!rc)
		rc = bench_be_unmap(r->be, dst.ioas, IOVA_BASE, size, NULL);
	if (rc) {
		failed(r, wl, "copy", IOVA_BASE, size, rc);
		goto out;
	}
	bench_meas_init(&mc, r, wl, "copy", dst.attach);
	bench_meas_init(&mm, r, wl, "map", dst.attach);
	uint64_t since = bench_now_ns();
	for (unsigned int rep = 0; more_repeats(p, rep, since) && !rc; rep++) {
		uint64_t t0 = bench_now_ns(), t1, t2, t3;

		rc = bench_be_copy(r->be, dst.ioas, IOVA_BASE, src.ioas, IOVA_BASE, size);
		t1 = bench_now_ns();
		if (!rc)
			rc = bench_be_unmap(r->be, dst.ioas, IOVA_BASE, size, NULL);
		t2 = bench_now_ns();
		iova = IOVA_BASE;
		if (!rc)
			rc = bench_be_map(r->be, dst.ioas, &iova, mem.buf, size, true);
		t3 = bench_now_ns();
		if (!rc)
			rc = bench_be_unmap(r->be, dst.ioas, IOVA_BASE, size, NULL);
		if (rc) {
			failed(r, wl, "copy/map/unmap", IOVA_BASE, size, rc);
			break;
		}
		bench_samples_add_repeat(&mc.s, (double)(t1 - t0));
		bench_samples_add_op(&mc.s, (double)(t1 - t0));
		bench_samples_add_repeat(&mm.s, (double)(t3 - t2));
		bench_samples_add_op(&mm.s, (double)(t3 - t2));
	}
	for (struct bench_meas *m = &mc; m; m = m == &mc ? &mm : NULL) {
		struct bench_config *c = &m->rec.cfg;

		if (rc) {
			bench_meas_drop(m);
			continue;
		}
		c->page_size = SZ_2M;
		c->op_bytes = size;
		c->ops = 1;
		c->repeat_bytes = size;
		snprintf(m->rec.note, sizeof(m->rec.note), "%s", m == &mc ?
			 "IOMMU_IOAS_COPY from a second IOAS: pages already pinned" :
			 "the same memory mapped directly into the destination, same run");
		bench_meas_emit(m, r);
	}
out:
	bench_be_unmap(r->be, src.ioas, IOVA_BASE, size, NULL);
	ioas_teardown(r, &dst);
out_src:
	ioas_teardown(r, &src);
out_mem:
	mem_put(&mem);
	return rc;
}

/* ---- dma ------------------------------------------------------------------------------------- */

static int dma_pass(struct bench_run *r, int h, uint64_t set, uint64_t nops, void *buf,
		    struct bench_samples *s, bool timed)
{
	uint64_t len = r->p->dma_bytes;

	for (uint64_t k = 0; k < nops; k++) {
		uint64_t iova = IOVA_BASE + (k % set) * SZ_4K, a = timed ? bench_now_ns() : 0;
		int rc = bench_be_dma(r->be, h, iova, buf, len, 0);

		if (rc)
			return failed(r, "dma", "device read", iova, len, rc);
		if (timed)
			bench_samples_add_op(s, (double)(bench_now_ns() - a));
	}
	return 0;
}

static int run_dma(struct bench_run *r)
{
	const struct bench_params *p = r->p;
	const char *wl = "dma";
	uint64_t pages = 16384, size = pages * SZ_4K, iova = IOVA_BASE;
	struct mem mem = { 0 };
	struct ioas_setup s;
	uint8_t *buf;
	int rc;

	if (p->dma_bytes == 0 || p->dma_bytes > SZ_4K) {
		skipf(r, wl, "--dma-bytes %llu: give 1..4096 (one page per access)",
		      (unsigned long long)p->dma_bytes);
		return -EINVAL;
	}
	if ((rc = mem_get(&mem, size, SZ_4K)))
		return rc;
	buf = malloc(SZ_4K);
	if ((rc = ioas_setup(r, wl, true, true, &s)))
		goto out_mem;
	if (s.handle < 0) {
		skipf(r, wl, "no domain to translate through on this backend");
		goto out;
	}
	rc = bench_be_map(r->be, s.ioas, &iova, mem.buf, size, true);
	if (rc) {
		failed(r, wl, "map", iova, size, rc);
		goto out;
	}
	/* hit: 16 pages, touched first; miss: a sweep over every page, 16x the default IOTLB */
	for (int miss = 0; miss < 2 && !rc; miss++) {
		uint64_t set = miss ? pages : 16, nops = miss ? pages : 65536;
		struct bench_iotlb_stats a = { 0 }, b = { 0 };
		struct bench_meas m;

		rc = dma_pass(r, s.handle, set, set, buf, NULL, false);
		if (rc || bench_meas_init(&m, r, wl, miss ? "miss" : "hit", s.attach))
			break;
		bench_be_iotlb_stats(r->be, s.handle, &a);
		uint64_t since = bench_now_ns();
		for (unsigned int rep = 0; more_repeats(p, rep, since) && !rc; rep++) {
			uint64_t t0 = bench_now_ns();

			rc = dma_pass(r, s.handle, set, nops, buf, NULL, false);
			bench_samples_add_repeat(&m.s, (double)(bench_now_ns() - t0));
		}
		bench_be_iotlb_stats(r->be, s.handle, &b);
		/* latencies: a second pass, timed per access */
		if (!rc)
			rc = dma_pass(r, s.handle, set, nops, buf, &m.s, true);
		if (rc) {
			bench_meas_drop(&m);
			break;
		}
		m.rec.cfg.page_size = SZ_4K;
		m.rec.cfg.leaf_max = s.forced_4k ? SZ_4K : 0;
		m.rec.cfg.op_bytes = p->dma_bytes;
		m.rec.cfg.ops = nops;
		m.rec.cfg.repeat_bytes = nops * p->dma_bytes;
		{
			uint64_t hits = b.hits - a.hits, misses = b.misses - a.misses;

			snprintf(m.rec.note, sizeof(m.rec.note),
				 "IOTLB hit rate %.1f %% over %llu pages; latency from a timed "
				 "pass",
				 hits + misses ? 100.0 * (double)hits / (double)(hits + misses) : 0,
				 (unsigned long long)set);
		}
		bench_meas_emit(&m, r);
	}
	bench_be_unmap(r->be, s.ioas, IOVA_BASE, size, NULL);
out:
	ioas_teardown(r, &s);
out_mem:
	free(buf);
	mem_put(&mem);
	return rc;
}

/* ---- dma-api --------------------------------------------------------------------------------- */

static int dma_api_pass(struct bench_run *r, struct mem *mem, uint64_t n, bool deferred,
			struct bench_samples *sm, struct bench_samples *su, uint64_t *tmap,
			uint64_t *tunmap)
{
	uint8_t buf[64];
	uint64_t m = 0, u = 0;
	int rc;

	for (uint64_t k = 0; k < n; k++) {
		uint64_t iova = IOVA_BASE + k * SZ_4K, a = bench_now_ns(), b, c, d;

		rc = bench_be_dma_api_map(r->be, iova, mem->buf + k * SZ_4K, SZ_4K);
		b = bench_now_ns();
		if (!rc)
			rc = bench_be_dma_api_dma(r->be, iova, buf, sizeof(buf));
		if (rc)
			return failed(r, "dma-api", "map/DMA", iova, SZ_4K, rc);
		c = bench_now_ns();
		rc = bench_be_dma_api_unmap(r->be, iova, SZ_4K, deferred);
		d = bench_now_ns();
		if (rc)
			return failed(r, "dma-api", "unmap", iova, SZ_4K, rc);
		m += b - a;
		u += d - c;
		if (sm) {
			bench_samples_add_op(sm, (double)(b - a));
			bench_samples_add_op(su, (double)(d - c));
		}
	}
	{
		uint64_t a = bench_now_ns();

		rc = bench_be_dma_api_flush(r->be);
		u += bench_now_ns() - a;
	}
	*tmap = m;
	*tunmap = u;
	return rc;
}

static int run_dma_api(struct bench_run *r)
{
	const struct bench_params *p = r->p;
	const char *wl = "dma-api";
	uint64_t n = 16384, tm, tu;
	struct mem mem = { 0 };
	int rc;

	if ((rc = mem_get(&mem, n * SZ_4K, SZ_4K)))
		return rc;
	rc = bench_be_dma_api_begin(r->be, p->fq_size);
	if (rc) {
		skipf(r, wl, "a private mock domain could not be created: %s", strerror(-rc));
		goto out;
	}
	for (int deferred = 0; deferred < 2 && !rc; deferred++) {
		uint64_t inv0, inv1, st0, st1;
		struct bench_meas mm, mu;

		rc = dma_api_pass(r, &mem, n, deferred, NULL, NULL, &tm, &tu);   /* warm-up */
		if (rc || bench_meas_init(&mm, r, wl, "map", "private mock domain"))
			break;
		bench_meas_init(&mu, r, wl, "unmap", "private mock domain");
		bench_be_dma_api_stats(r->be, &inv0, &st0);
		uint64_t since = bench_now_ns();
		for (unsigned int rep = 0; more_repeats(p, rep, since) && !rc; rep++) {
			rc = dma_api_pass(r, &mem, n, deferred, NULL, NULL, &tm, &tu);
			bench_samples_add_repeat(&mm.s, (double)tm);
			bench_samples_add_repeat(&mu.s, (double)tu);
		}
		bench_be_dma_api_stats(r->be, &inv1, &st1);
		if (!rc)
			rc = dma_api_pass(r, &mem, n, deferred, &mm.s, &mu.s, &tm, &tu);
		for (struct bench_meas *m = &mm; m; m = m == &mm ? &mu : NULL) {
			struct bench_config *c = &m->rec.cfg;

			if (rc) {
				bench_meas_drop(m);
				continue;
			}
			snprintf(c->inval, sizeof(c->inval), "%s",
				 deferred ? "deferred" : "strict");
			c->page_size = SZ_4K;
			c->leaf_max = SZ_4K;   /* every map is one 4 KiB page */
			c->op_bytes = SZ_4K;
			c->ops = n;
			c->repeat_bytes = n * SZ_4K;
			snprintf(m->rec.note, sizeof(m->rec.note),
				 "%.3f IOTLB invalidations per unmap%s; a 64 B DMA between map "
				 "and unmap",
				 (double)(inv1 - inv0) / (double)(n * m->s.nrepeat),
				 deferred ? " (flush queue, whole-domain flushes)" : "");
			bench_meas_emit(m, r);
		}
	}
	bench_be_dma_api_end(r->be);
out:
	mem_put(&mem);
	return rc;
}

/* ---- vm-start -------------------------------------------------------------------------------- */

/* QEMU's x86 layout: RAM below 2 GiB at IOVA 0 (clear of the MSI window at 0xfee00000), the
 * rest from 4 GiB. */
static int map_guest_ram(struct bench_run *r, uint32_t ioas, struct mem *ram, uint64_t chunk,
			 uint64_t *nchunks)
{
	uint64_t low = ram->len < 2 * SZ_1G ? ram->len : 2 * SZ_1G, n = 0;
	const struct { uint64_t off, len, iova; } seg[2] = {
		{ 0, low, 0 }, { low, ram->len - low, IOVA_BASE },
	};

	for (int i = 0; i < 2; i++) {
		for (uint64_t done = 0; done < seg[i].len; done += chunk, n++) {
			uint64_t len = seg[i].len - done < chunk ? seg[i].len - done : chunk;
			uint64_t iova = seg[i].iova + done;
			int rc = bench_be_map(r->be, ioas, &iova, ram->buf + seg[i].off + done, len,
					      true);

			if (rc)
				return failed(r, "vm-start", "guest RAM map", iova, len, rc);
		}
	}
	*nchunks = n;
	return 0;
}

static int run_vm_start(struct bench_run *r)
{
	const struct bench_params *p = r->p;
	const char *wl = "vm-start";
	static const char *const phase[] = { "bind", "attach", "map-ram", "total", "teardown" };
	struct bench_meas m[5];
	uint64_t chunks = 0;
	struct mem ram = { 0 };
	char why[BENCH_WHY] = "";
	int rc;

	if (!mem_fits(r, wl, p->guest_ram))
		return 0;
	if ((rc = mem_get(&ram, p->guest_ram, SZ_2M)))
		return rc;
	for (int i = 0; i < 5; i++)
		bench_meas_init(&m[i], r, wl, phase[i], NULL);
	/* repeat 0 is the warm-up */
	uint64_t since = bench_now_ns();
	for (unsigned int rep = 0; (!rep || more_repeats(p, rep - 1, since)) && !rc; rep++) {
		uint64_t t[6];
		uint32_t ioas;
		int dev;

		t[0] = bench_now_ns();
		dev = bench_be_device_bind(r->be, why, sizeof(why));
		if (dev < 0) {
			skipf(r, wl, "device bind: %s", why[0] ? why : strerror(-dev));
			rc = dev;
			break;
		}
		t[1] = bench_now_ns();
		rc = bench_be_ioas_alloc(r->be, &ioas);
		if (!rc)
			rc = bench_be_device_attach(r->be, dev, ioas, why, sizeof(why));
		t[2] = bench_now_ns();
		if (rc) {
			skipf(r, wl, "device attach: %s", why[0] ? why : strerror(-rc));
			bench_be_device_unbind(r->be, dev);
			break;
		}
		rc = map_guest_ram(r, ioas, &ram, p->guest_chunk, &chunks);
		t[3] = bench_now_ns();
		t[4] = t[3];
		bench_be_unmap(r->be, ioas, 0, 2 * SZ_1G, NULL);
		bench_be_unmap(r->be, ioas, IOVA_BASE, ram.len, NULL);
		bench_be_device_detach(r->be, dev);
		bench_be_device_unbind(r->be, dev);
		bench_be_ioas_destroy(r->be, ioas);
		t[5] = bench_now_ns();
		if (rc || !rep)
			continue;
		bench_samples_add_repeat(&m[0].s, (double)(t[1] - t[0]));
		bench_samples_add_repeat(&m[1].s, (double)(t[2] - t[1]));
		bench_samples_add_repeat(&m[2].s, (double)(t[3] - t[2]));
		bench_samples_add_repeat(&m[3].s, (double)(t[3] - t[0]));
		bench_samples_add_repeat(&m[4].s, (double)(t[5] - t[4]));
		for (int i = 0; i < 5; i++)
			bench_samples_add_op(&m[i].s, m[i].s.repeat_ns[m[i].s.nrepeat - 1]);
	}
	for (int i = 0; i < 5; i++) {
		struct bench_config *c = &m[i].rec.cfg;

		if (rc) {
			bench_meas_drop(&m[i]);
			continue;
		}
		snprintf(c->attach, sizeof(c->attach), "%s", bench_be_describe(r->be));
		c->page_size = SZ_2M;
		c->op_bytes = i == 2 ? p->guest_chunk : 0;
		c->ops = i == 2 ? chunks : 1;
		c->repeat_bytes = i == 2 || i == 3 ? ram.len : 0;
		snprintf(m[i].rec.note, sizeof(m[i].rec.note),
			 "%llu MiB of guest RAM in %llu chunks; attach before the RAM is mapped "
			 "(QEMU's order)", (unsigned long long)(ram.len >> 20),
			 (unsigned long long)chunks);
		bench_meas_emit(&m[i], r);
	}
	mem_put(&ram);
	return rc;
}

/* ---- threads --------------------------------------------------------------------------------- */

struct worker {
	struct bench_run *r;
	uint32_t ioas;
	uint64_t base, pairs;
	uint8_t *va;
	pthread_barrier_t *go;
	double *lat;
	int rc;
	uint64_t fail_iova;
};

static void *thread_main(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(w->go);
	for (uint64_t k = 0; k < w->pairs; k++) {
		uint64_t iova = w->base + (k % 1024) * SZ_4K, a = bench_now_ns();

		w->rc = bench_be_map(w->r->be, w->ioas, &iova, w->va + (k % 1024) * SZ_4K, SZ_4K,
				     true);
		if (!w->rc)
			w->rc = bench_be_unmap(w->r->be, w->ioas, iova, SZ_4K, NULL);
		if (w->rc) {
			w->fail_iova = iova;
			break;
		}
		w->lat[k] = (double)(bench_now_ns() - a);
	}
	return NULL;
}

static int run_threads(struct bench_run *r)
{
	const struct bench_params *p = r->p;
	const char *wl = "threads";
	struct mem mem = { 0 };
	struct ioas_setup s;
	double single = 0;
	int rc;

	if ((rc = mem_get(&mem, 1024 * SZ_4K, SZ_4K)))
		return rc;
	if ((rc = ioas_setup(r, wl, true, true, &s)))
		goto out_mem;
	for (unsigned int i = 0; i < p->nthreads && !rc; i++) {
		unsigned int nt = p->threads[i];
		struct worker *w = calloc(nt, sizeof(*w));
		pthread_t *tid = calloc(nt, sizeof(*tid));
		pthread_barrier_t go;
		struct bench_meas m;

		if (!w || !tid || nt == 0 || bench_meas_init(&m, r, wl, "map+unmap", s.attach)) {
			free(w);
			free(tid);
			rc = -ENOMEM;
			break;
		}
		for (unsigned int t = 0; t < nt; t++) {
			w[t] = (struct worker){ .r = r, .ioas = s.ioas, .pairs = p->thread_pairs,
						.base = IOVA_BASE + (uint64_t)t * SZ_1G,
						.va = mem.buf, .go = &go };
			w[t].lat = calloc(p->thread_pairs, sizeof(double));
			if (!w[t].lat)
				rc = -ENOMEM;
		}
		/* repeat 0 is the warm-up (each thread's page tables) */
		uint64_t since = bench_now_ns();
		for (unsigned int rep = 0; (!rep || more_repeats(p, rep - 1, since)) && !rc;
		     rep++) {
			uint64_t t0;

			pthread_barrier_init(&go, NULL, nt + 1);
			for (unsigned int t = 0; t < nt; t++)
				pthread_create(&tid[t], NULL, thread_main, &w[t]);
			t0 = bench_now_ns();
			pthread_barrier_wait(&go);
			for (unsigned int t = 0; t < nt; t++)
				pthread_join(tid[t], NULL);
			if (rep)
				bench_samples_add_repeat(&m.s, (double)(bench_now_ns() - t0));
			pthread_barrier_destroy(&go);
			for (unsigned int t = 0; t < nt && !rc; t++) {
				if (w[t].rc) {
					rc = failed(r, wl, "map/unmap", w[t].fail_iova, SZ_4K,
						    w[t].rc);
					break;
				}
				for (uint64_t k = 0; rep && k < w[t].pairs; k++)
					bench_samples_add_op(&m.s, w[t].lat[k]);
			}
		}
		if (!rc) {
			struct bench_config *c = &m.rec.cfg;

			c->threads = nt;
			c->page_size = SZ_4K;
			c->leaf_max = s.forced_4k ? SZ_4K : 0;
			c->op_bytes = SZ_4K;
			c->ops = (uint64_t)nt * p->thread_pairs;
			c->repeat_bytes = c->ops * SZ_4K;
			bench_record_fill(&m.rec, &m.s);
			if (nt == 1)
				single = m.rec.ops_s.median;
			snprintf(m.rec.note, sizeof(m.rec.note),
				 "map+unmap pairs on one IOAS, each thread its own IOVA window");
			if (nt > 1 && single > 0) {
				size_t used = strlen(m.rec.note);

				snprintf(m.rec.note + used, sizeof(m.rec.note) - used,
					 "; %.2fx the 1-thread rate on %ld CPUs",
					 m.rec.ops_s.median / single,
					 sysconf(_SC_NPROCESSORS_ONLN));
			}
			bench_meas_emit(&m, r);
		} else {
			bench_meas_drop(&m);
		}
		for (unsigned int t = 0; t < nt; t++)
			free(w[t].lat);
		free(w);
		free(tid);
	}
	ioas_teardown(r, &s);
out_mem:
	mem_put(&mem);
	return rc;
}

/* ---- the list -------------------------------------------------------------------------------- */

static const struct bench_workload wl_pages = {
	"pages", "map then unmap one page per call: 4K/2M/1G, seq/random/frag IOVAs", 0,
	run_pages };
static const struct bench_workload wl_region = {
	"region", "one map and one unmap of a large region (1G, 16G) on 4K/2M/1G pages", 0,
	run_region };
static const struct bench_workload wl_small = {
	"small-regions", "10k+ small regions held together: map, unmap, one range unmap", 0,
	run_small_regions };
static const struct bench_workload wl_copy = {
	"copy", "IOMMU_IOAS_COPY into a second IOAS against a direct map",
	BENCH_CAP_COPY | BENCH_CAP_MULTI_IOAS, run_copy };
static const struct bench_workload wl_dma = {
	"dma", "device accesses through the mock IOTLB: hit and miss",
	BENCH_CAP_DMA | BENCH_CAP_DOMAIN | BENCH_CAP_IOTLB_STATS, run_dma };
static const struct bench_workload wl_dma_api = {
	"dma-api", "a driver's map/DMA/unmap cycle, strict vs deferred invalidation",
	BENCH_CAP_LAZY_INVAL, run_dma_api };
static const struct bench_workload wl_vm_start = {
	"vm-start", "bind a device, attach, map guest RAM in chunks (a VMM's start)",
	BENCH_CAP_DEVICE, run_vm_start };
static const struct bench_workload wl_threads = {
	"threads", "T threads mapping and unmapping 4 KiB pages on one IOAS", 0, run_threads };

static const struct bench_workload *const workloads[] = {
	&bench_wl_machine, &wl_pages, &wl_region, &wl_small, &wl_copy, &wl_dma, &wl_dma_api,
	&wl_vm_start, &wl_threads, NULL,
};

const struct bench_workload *const *bench_workloads(void)
{
	return workloads;
}

const struct bench_workload *bench_workload_find(const char *name)
{
	for (const struct bench_workload *const *w = workloads; *w; w++)
		if (!strcmp((*w)->name, name))
			return *w;
	return NULL;
}
