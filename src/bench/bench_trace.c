/* bench_trace.c — what tracing the reference costs, against a bare uprobe hit in the same run.
 *
 * Usage: bench_trace [--calls N] [--repeats R] [--json]
 *
 * Figures (ns per call: median of R repeats of N calls, with min and max):
 *   probe_off          an IOASID_PROBE site with nothing listening (semaphore 0)
 *   bare_uprobe_nop5   a uprobe on a 5-byte nop running a one-counter BPF program: the floor
 *                      for any uprobe tracer (the kernel may optimise this site)
 *   bare_uprobe_nop1   the same on a 1-byte nop (plain sys/sdt.h sites): never optimised
 *   usdt_counters      an IOASID_PROBE site traced with aggregates only (no ring buffer)
 *   usdt_events        aggregates + ring buffer, a consumer thread draining (no loss allowed)
 * and ratios usdt_* / bare_uprobe_nop5 (goal: events ≤ 1.2×); ring-buffer throughput with two
 * producer threads and one consumer (events/s, drops reported); and the cost added to a real
 * operation: a 4 KiB IOMMU_IOAS_MAP + IOMMU_IOAS_UNMAP pair on an IOAS with a mock domain
 * attached, untraced vs counters vs events (ns added per pair, and the events per pair).
 * Needs root (BPF, uprobes). Nothing is timed in tests; this is the only place.
 */
#include <errno.h>
#include <linux/iommufd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/probe.h"
#include "ioasid/ioasid.h"
#include "ioasid/trace.h"
#include "ioasid_bench.skel.h"

/* Bare sites: a 5-byte nop and a 1-byte nop, each the whole body of a function. */
__asm__(".text\n"
	".globl bench_site_nop5\n.type bench_site_nop5,@function\n.p2align 4\n"
	"bench_site_nop5:\n\t.nops 5\n\tret\n.size bench_site_nop5, .-bench_site_nop5\n"
	".globl bench_site_nop1\n.type bench_site_nop1,@function\n.p2align 4\n"
	"bench_site_nop1:\n\tnop\n\tret\n.size bench_site_nop1, .-bench_site_nop1\n");
void bench_site_nop5(void);
void bench_site_nop1(void);

static unsigned long calls = 1000000;
static int repeats = 5;
static bool json;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct result {
	double med, min, max;
};

static struct result measure(void (*fn)(unsigned long n))
{
	double v[64];
	struct result r;

	fn(calls / 10);                  /* warm-up: the first hit of a uprobe is the slow one */
	for (int i = 0; i < repeats; i++) {
		double t0 = now_ns();

		fn(calls);
		v[i] = (now_ns() - t0) / (double)calls;
	}
	qsort(v, (size_t)repeats, sizeof(v[0]), cmp_double);
	r.med = v[repeats / 2];
	r.min = v[0];
	r.max = v[repeats - 1];
	return r;
}

static void report(const char *name, struct result r, const char *unit)
{
	if (json)
		printf("{\"figure\":\"%s\",\"median\":%.1f,\"min\":%.1f,\"max\":%.1f,\"unit\":\"%s\","
		       "\"calls\":%lu,\"repeats\":%d}\n", name, r.med, r.min, r.max, unit, calls,
		       repeats);
	else
		printf("%-26s %10.1f %10.1f %10.1f  %s\n", name, r.med, r.min, r.max, unit);
}

static void report_ratio(const char *name, double ratio)
{
	if (json)
		printf("{\"figure\":\"%s\",\"ratio\":%.2f}\n", name, ratio);
	else
		printf("%-26s %10.2f×\n", name, ratio);
}

__attribute__((noinline)) static void fire_probe(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		IOASID_PROBE(ioas_map, .ctx = 1, .obj = 1, .iova = i << 12, .length = 4096,
			     .value = 1, .latency_ns = 100);
}

/* The reference's own site with the bare program: what the site costs without our program. */
__attribute__((noinline)) static void hit_probe_site(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		struct ioasid_event ev = { .type = IOASID_EV_IOAS_MAP, .iova = i << 12 };

		ioasid_probe_fire_ioas_map(&ev);
	}
}

__attribute__((noinline)) static void hit_nop5(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		bench_site_nop5();
}

__attribute__((noinline)) static void hit_nop1(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		bench_site_nop1();
}

static struct result bare_uprobe(const char *func, void (*fn)(unsigned long))
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = func);
	struct ioasid_bench *skel = ioasid_bench__open_and_load();
	struct bpf_link *l;
	struct result r = { 0 };

	if (!skel) {
		fprintf(stderr, "bench_trace: cannot load the baseline program: %s (run as root)\n",
			strerror(errno));
		exit(2);
	}
	l = bpf_program__attach_uprobe_opts(skel->progs.bench_bare_hit, getpid(), "/proc/self/exe",
					    0, &uo);
	if (!l) {
		fprintf(stderr, "bench_trace: uprobe on %s: %s (needs CAP_SYS_ADMIN)\n", func,
			strerror(errno));
		exit(2);
	}
	r = measure(fn);
	bpf_link__destroy(l);
	ioasid_bench__destroy(skel);
	return r;
}

/* ---- traced by the library ------------------------------------------------------------------- */
static struct ioasid_trace *trace_open(unsigned int produce, size_t ringbuf)
{
	struct ioasid_trace_opts o = { .sz = sizeof(o), .kind = IOASID_TRACE_SELF,
				       .produce = produce, .ringbuf_bytes = ringbuf };
	struct ioasid_trace *t;

	if (ioasid_trace_open(&o, &t)) {
		fprintf(stderr, "bench_trace: %s\n", ioasid_trace_last_error());
		exit(2);
	}
	return t;
}

static atomic_bool consumer_stop;
static atomic_ulong consumed;

static int count_event(void *arg, const struct ioasid_event *ev)
{
	(void)arg;
	(void)ev;
	atomic_fetch_add_explicit(&consumed, 1, memory_order_relaxed);
	return 0;
}

static void *consumer(void *arg)
{
	struct ioasid_trace *t = arg;

	while (!atomic_load(&consumer_stop))
		ioasid_trace_poll(t, 10, count_event, NULL);
	while (ioasid_trace_poll(t, 0, count_event, NULL) > 0)
		;
	return NULL;
}

static void stats_line(const char *what, struct ioasid_trace *t)
{
	struct ioasid_trace_stats st;

	ioasid_trace_stats(t, &st);
	if (json)
		printf("{\"figure\":\"%s_accounting\",\"emitted\":%llu,\"received\":%llu,"
		       "\"dropped\":%llu}\n", what, (unsigned long long)st.emitted,
		       (unsigned long long)st.received, (unsigned long long)st.dropped);
	else
		printf("%-26s emitted %llu, received %llu, dropped %llu\n", what,
		       (unsigned long long)st.emitted, (unsigned long long)st.received,
		       (unsigned long long)st.dropped);
}

static void *producer(void *arg)
{
	fire_probe(*(unsigned long *)arg);
	return NULL;
}

static void ringbuf_throughput(void)
{
	struct ioasid_trace *t = trace_open(IOASID_TRACE_EVENTS, 64u << 20);
	unsigned long per = calls;
	pthread_t c, p[2];
	double t0, dt;
	struct ioasid_trace_stats st;

	atomic_store(&consumer_stop, false);
	atomic_store(&consumed, 0);
	pthread_create(&c, NULL, consumer, t);
	t0 = now_ns();
	for (int i = 0; i < 2; i++)
		pthread_create(&p[i], NULL, producer, &per);
	for (int i = 0; i < 2; i++)
		pthread_join(p[i], NULL);
	for (;;) {
		ioasid_trace_stats(t, &st);
		if (st.received + st.dropped >= st.emitted)
			break;
		usleep(1000);
	}
	dt = now_ns() - t0;
	atomic_store(&consumer_stop, true);
	pthread_join(c, NULL);
	ioasid_trace_stats(t, &st);
	if (json)
		printf("{\"figure\":\"ringbuf_2producers\",\"events_per_s\":%.0f,\"emitted\":%llu,"
		       "\"received\":%llu,\"dropped\":%llu}\n", (double)st.received / dt * 1e9,
		       (unsigned long long)st.emitted, (unsigned long long)st.received,
		       (unsigned long long)st.dropped);
	else
		printf("%-26s %10.0f events/s received (2 producers, 1 consumer; emitted %llu, "
		       "dropped %llu)\n", "ringbuf_2producers", (double)st.received / dt * 1e9,
		       (unsigned long long)st.emitted, (unsigned long long)st.dropped);
	ioasid_trace_close(t);
}

/* ---- a real operation: 4 KiB map + unmap with a mock domain attached -------------------------- */
static struct ioasid_ctx *op_ctx;
static uint32_t op_ioas;
static char *op_buf;

static void op_setup(void)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };

	op_buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		      -1, 0);
	if (op_buf == MAP_FAILED || ioasid_ctx_open(&op_ctx) ||
	    ioasid_ctx_ioctl(op_ctx, IOMMU_IOAS_ALLOC, &a) ||
	    ioasid_test_domain_attach(op_ctx, a.out_ioas_id, 0) < 0) {
		fprintf(stderr, "bench_trace: cannot set up the map/unmap workload\n");
		exit(2);
	}
	op_ioas = a.out_ioas_id;
}

__attribute__((noinline)) static void map_unmap(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		struct iommu_ioas_map m = {
			.size = sizeof(m), .ioas_id = op_ioas, .user_va = (uintptr_t)op_buf,
			.length = 4096, .iova = 0x100000,
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
		};
		struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = op_ioas,
					      .iova = 0x100000, .length = 4096 };

		if (ioasid_ctx_ioctl(op_ctx, IOMMU_IOAS_MAP, &m) ||
		    ioasid_ctx_ioctl(op_ctx, IOMMU_IOAS_UNMAP, &u)) {
			fprintf(stderr, "bench_trace: map/unmap failed\n");
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	struct result off, nop5, nop1, site, counters, events, events_only, op_off, op_cnt, op_ev;
	struct ioasid_trace *t;
	pthread_t c;
	unsigned long saved;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--calls") && i + 1 < argc)
			calls = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--repeats") && i + 1 < argc)
			repeats = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else {
			fprintf(stderr, "usage: bench_trace [--calls N] [--repeats R] [--json]\n");
			return 2;
		}
	}
	if (calls < 1000 || repeats < 1 || repeats > 63) {
		fprintf(stderr, "bench_trace: --calls >= 1000, --repeats 1..63\n");
		return 2;
	}
	libbpf_set_print(NULL);
	if (!json)
		printf("%-26s %10s %10s %10s\n", "figure (ns per call)", "median", "min", "max");

	off = measure(fire_probe);
	report("probe_off", off, "ns");
	nop5 = bare_uprobe("bench_site_nop5", hit_nop5);
	report("bare_uprobe_nop5", nop5, "ns");
	nop1 = bare_uprobe("bench_site_nop1", hit_nop1);
	report("bare_uprobe_nop1", nop1, "ns");
	site = bare_uprobe("ioasid_probe_fire_ioas_map", hit_probe_site);
	report("bare_uprobe_probe_site", site, "ns");

	t = trace_open(IOASID_TRACE_AGGREGATES, 0);
	counters = measure(fire_probe);
	ioasid_trace_close(t);
	report("usdt_counters", counters, "ns");

	t = trace_open(0, 64u << 20);
	atomic_store(&consumer_stop, false);
	pthread_create(&c, NULL, consumer, t);
	events = measure(fire_probe);
	atomic_store(&consumer_stop, true);
	pthread_join(c, NULL);
	report("usdt_events", events, "ns");
	stats_line("usdt_events", t);
	ioasid_trace_close(t);

	t = trace_open(IOASID_TRACE_EVENTS, 64u << 20);
	atomic_store(&consumer_stop, false);
	pthread_create(&c, NULL, consumer, t);
	events_only = measure(fire_probe);
	atomic_store(&consumer_stop, true);
	pthread_join(c, NULL);
	report("usdt_events_no_aggregates", events_only, "ns");
	ioasid_trace_close(t);

	report_ratio("ratio_counters_vs_bare", counters.med / nop5.med);
	report_ratio("ratio_events_vs_bare", events.med / nop5.med);
	report_ratio("ratio_nop1_vs_nop5", nop1.med / nop5.med);

	ringbuf_throughput();

	/* ns added per real operation */
	saved = calls;
	calls = calls / 10 < 1000 ? 1000 : calls / 10;
	op_setup();
	op_off = measure(map_unmap);
	report("map_unmap_4k_untraced", op_off, "ns/pair");
	t = trace_open(IOASID_TRACE_AGGREGATES, 0);
	op_cnt = measure(map_unmap);
	ioasid_trace_close(t);
	report("map_unmap_4k_counters", op_cnt, "ns/pair");
	t = trace_open(0, 64u << 20);
	atomic_store(&consumer_stop, false);
	atomic_store(&consumed, 0);
	pthread_create(&c, NULL, consumer, t);
	op_ev = measure(map_unmap);
	atomic_store(&consumer_stop, true);
	pthread_join(c, NULL);
	report("map_unmap_4k_events", op_ev, "ns/pair");
	{
		struct ioasid_trace_stats st;
		unsigned long pairs = calls / 10 + calls * (unsigned long)repeats;

		ioasid_trace_stats(t, &st);
		if (json)
			printf("{\"figure\":\"map_unmap_4k_events_per_pair\",\"value\":%.2f,"
			       "\"dropped\":%llu}\n", (double)st.emitted / (double)pairs,
			       (unsigned long long)st.dropped);
		else
			printf("%-26s %10.2f events per pair (dropped %llu)\n",
			       "map_unmap_4k_events", (double)st.emitted / (double)pairs,
			       (unsigned long long)st.dropped);
	}
	ioasid_trace_close(t);
	{
		struct result add_cnt = { op_cnt.med - op_off.med, op_cnt.min - op_off.med,
					  op_cnt.max - op_off.med };
		struct result add_ev = { op_ev.med - op_off.med, op_ev.min - op_off.med,
					 op_ev.max - op_off.med };

		report("added_counters_per_pair", add_cnt, "ns/pair");
		report("added_events_per_pair", add_ev, "ns/pair");
	}
	calls = saved;
	return 0;
}
