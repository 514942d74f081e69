/* ioasid-bench — map/unmap throughput of any IOMMU backend, measured the same way.
 *
 * A driver and workers, in rounds. The driver (this program as the user runs it) runs -R
 * rounds; in each it first times a fixed CPU loop (bench_calibrate: the machine's speed at that
 * moment), then starts one worker per backend in turn — itself again, with --worker NAME
 * --worker-round K: plainly for `ref` and the kernel backends, under ioasid-run (a private mock
 * host unless --platform) for `ref-uapi` and `ref-type1`. So round 1 of every backend comes
 * before round 2 of any: each backend's rounds are spread over the run, not bunched in one
 * time window. A worker runs one round (runner.c: the workloads untraced, then once per --trace
 * mode) and streams raw samples back (bench_wire_*: versioned, every length checked). The
 * driver keeps a round's messages until its END arrives and only then pools them
 * (bench_pool_*); when every round is in, each figure is computed over every repeat of every
 * round, and a traced figure's overhead is its pooled median over the pooled untraced one.
 *
 * A worker that dies, or whose stream is cut short or damaged, loses that backend's round only:
 * the output says which backend, which round and why (a skip line "backend round K"), the
 * other rounds and backends are pooled as usual, and the exit status is 1. A backend that
 * cannot be opened is not started again in later rounds. Identical skip lines of several rounds
 * are reported once.
 *
 * Test hook: IOASID_BENCH_FAULT=BACKEND:ROUND:KIND (ROUND 1-based), honoured only by a worker
 * (--worker) of that backend and round, breaks its stream at its first figure (or at END if it
 * has none): kill (send the figure, then SIGKILL itself), truncate (send half the message, exit
 * 0), magic / version (send it with a wrong magic / protocol version, carry on). The driver
 * never reads it.
 *
 * Output: the table on stdout (-q: none), JSON Lines with --json FILE ('-': stdout, table off):
 * skips as they come, the figures once every round is in, then one calibration line per round.
 * -v says on stderr each round's calibration and each worker as it starts. Exit status: 0
 * measured (skips are reported, not errors), 1 a round was lost, a worker failed or a live
 * check found violations, 2 usage.
 */
#include "benchkit/workload.h"
#include "common/compiler.h"
#include "common/locate.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef IOASID_VERSION
#define IOASID_VERSION "0.1.0"
#endif

#define WORKER_FD 100
#define MAX_ROUNDS 100
#define FAULT_ENV "IOASID_BENCH_FAULT"

struct options {
	struct bench_params p;
	bool backend[BENCH_BE_COUNT];
	bool workload[16];
	bool trace[BENCH_TRACE_COUNT];
	const char *json;
	const char *anchors;            /* Markdown comparison with the published figures */
	const char *compare;            /* --compare OLD (NEW is the one positional argument) */
	const char *compare_new;
	const char *device;
	unsigned int group;
	const char *platform;           /* ref-uapi/ref-type1: shared host name; NULL: private */
	unsigned int rounds;            /* rounds of every backend; repeats pooled over them */
	unsigned int big_rounds;        /* workers of the big-region phase (at most rounds) */
	bool quiet, list, verbose;
	int worker;                     /* >= 0: this process is the worker of that backend */
	int worker_fd;
	unsigned int worker_round;      /* 1-based: the round the worker runs */
};

static void usage(FILE *out)
{
	fprintf(out,
"Usage: ioasid-bench [OPTIONS]\n"
"\n"
"Measure IOMMU map/unmap throughput, latency and what tracing costs, the same way on every\n"
"backend this host offers; say what was skipped and why.\n"
"\n"
"Backends (-b, default all):\n"
"  ref           the reference linked in, through its C API\n"
"  ref-uapi      the reference through /dev/iommu under ioasid-run (the LD_PRELOAD shim)\n"
"  ref-type1     the reference's VFIO type1 compat container under ioasid-run\n"
"  kernel        this kernel's /dev/iommu (iommufd)\n"
"  kernel-type1  this kernel's VFIO type1 container (needs a group bound to vfio-pci)\n"
"\n"
"Options:\n"
"  -b, --backend LIST     backends, comma-separated, or 'all'\n"
"  -w, --workload LIST    workloads, comma-separated, or 'all' (see --list)\n"
"  -t, --trace LIST       off,counters,events,check: each listed mode reruns the workloads\n"
"                         with that tracing attached; 'off' (untraced) always runs first and\n"
"                         each traced figure gets its overhead ratio against it\n"
"  -r, --repeats N        samples per figure and round (default 5)\n"
"      --min-time MS      and more samples (up to 128 per round) while a figure's repeats\n"
"                         have taken less than MS milliseconds: figures whose repeat is a\n"
"                         few microseconds get enough samples to be stable (0..10000;\n"
"                         default 0: exactly -r; the standard set: 20)\n"
"  -R, --rounds N         run every backend N times, round 1 of each backend before round 2\n"
"                         of any, each round in a fresh worker; each figure pools its\n"
"                         repeats over the rounds, so its spread includes what changes\n"
"                         during a run (memory placement, huge pages, other load). Each\n"
"                         round starts by timing a fixed CPU loop (the calibration lines)\n"
"                         (default 1)\n"
"      --big-rounds N     with -R above 1, regions above 4 GiB are measured in N workers\n"
"                         of their own, back to back before the rounds (faulting 16 GiB in\n"
"                         costs more than a round; memory one frees is still warm when the\n"
"                         next faults it in), their samples pooled (default 3, at most -R)\n"
"      --big-above SIZE   what counts as a big region for --big-rounds (default 4G)\n"
"      --region LIST      region sizes for 'region' (default 1G; e.g. 1G,16G)\n"
"      --pages LIST       page sizes (default 4K,2M,1G)\n"
"      --pattern LIST     IOVA patterns for 'pages': seq,random,frag (default all)\n"
"      --threads LIST     thread counts for 'threads' (default 1,2,4)\n"
"      --small-regions N  regions held together by 'small-regions' (default 16384)\n"
"      --guest-ram SIZE   guest RAM of 'vm-start' (default 4G)\n"
"      --quick            small sizes, 3 repeats: a quick look (every workload still runs)\n"
"      --standard         the set 'make bench' records: regions 1G and 16G (16G when the\n"
"                         memory is there; 16G on ref only, in as many workers of its own\n"
"                         as rounds),\n"
"                         2G of guest RAM for vm-start, 5 rounds of 4 repeats\n"
"                         (--min-time 20),\n"
"                         everything else default\n"
"      --device NAME      the device for vm-start/attach (default: the first usable)\n"
"      --group N          the IOMMU group for the type1 backends (default: the device's)\n"
"      --platform NAME    ref-uapi/ref-type1 share the mock host NAME (default: private)\n"
"  -j, --json FILE        JSON Lines, one object per figure ('-': stdout, no table)\n"
"  -a, --anchors FILE     a Markdown table of the figures the issues cite (VFIO type1,\n"
"                         dma_map_benchmark) beside this run's, and every backend against\n"
"                         ref ('-': stdout)\n"
"  -c, --compare OLD NEW  do two runs' JSON Lines agree? Each figure's median ops/s must lie\n"
"                         within the other run's [min-max]; lists those that do not\n"
"                         (exit 0: all agree, 1: some do not)\n"
"  -q, --quiet            no table\n"
"  -v, --verbose          each round's calibration and each worker as it starts, on stderr\n"
"  -l, --list             list the backends (usable here or why not) and the workloads\n"
"  -h, --help             this help;  -V, --version  the version\n"
"\n"
"Sizes take K, M, G, T suffixes (powers of two). Figures: ops/s and GB/s (1e9 bytes/s) are\n"
"medians over the repeats of every round with [min-max]; latency p50/p99/max over every\n"
"timed call. A round a worker could not finish is reported lost (exit status 1); the other\n"
"rounds still count.\n"
"Examples:\n"
"  ioasid-bench -b ref,ref-uapi -w pages --pages 4K\n"
"  ioasid-bench -b ref -w pages,threads -t counters,events,check\n"
"  ioasid-bench --standard -j results.jsonl\n");
}

static int usage_error(const char *fmt, const char *val)
{
	fprintf(stderr, "ioasid-bench: ");
	fprintf(stderr, fmt, val);
	fprintf(stderr, " (ioasid-bench --help)\n");
	return 2;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'T': case 't': shift = 40; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'K': case 'k': shift = 10; end++; break;
	}
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' ? (end[1] == 'B' ? 2 : 1) : 1;
	if (*end || v == 0 || (shift && v > (~0ULL >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* Comma lists: each item through fn; an unknown item is a usage error naming it. */
static int parse_list(const char *arg, const char *what, int (*fn)(void *, const char *),
		      void *ctx)
{
	char buf[512], *save, *tok;

	if (strlen(arg) >= sizeof(buf))
		return usage_error("%s: list too long", what);
	snprintf(buf, sizeof(buf), "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int rc = fn(ctx, tok);

		if (rc)
			return rc;
	}
	return 0;
}

static int add_backend(void *ctx, const char *name)
{
	struct options *o = ctx;
	int id;

	if (!strcmp(name, "all")) {
		for (int i = 0; i < BENCH_BE_COUNT; i++)
			o->backend[i] = true;
		return 0;
	}
	id = bench_backend_from_name(name);
	if (id < 0)
		return usage_error("backend '%s' unknown: ref, ref-uapi, ref-type1, kernel, "
				   "kernel-type1 or all", name);
	o->backend[id] = true;
	return 0;
}

static int add_workload(void *ctx, const char *name)
{
	struct options *o = ctx;
	const struct bench_workload *const *w = bench_workloads();

	for (int i = 0; w[i]; i++)
		if (!strcmp(name, "all") || !strcmp(name, w[i]->name)) {
			o->workload[i] = true;
			if (strcmp(name, "all"))
				return 0;
		}
	if (!strcmp(name, "all"))
		return 0;
	return usage_error("workload '%s' unknown: see ioasid-bench --list", name);
}

static int add_trace(void *ctx, const char *name)
{
	struct options *o = ctx;
	int m = bench_trace_from_name(name);

	if (m < 0)
		return usage_error("trace mode '%s' unknown: off, counters, events or check", name);
	o->trace[m] = true;
	return 0;
}

struct size_list {
	uint64_t *v;
	unsigned int *n;
	const char *what;
};

static int add_size(void *ctx, const char *s)
{
	struct size_list *l = ctx;
	uint64_t v;

	if (parse_size(s, &v) || (v & 4095))
		return usage_error("size '%s' not understood: a multiple of 4K such as 4K, 2M, 1G",
				   s);
	if (*l->n >= BENCH_MAX_LIST)
		return usage_error("%s: at most 8 values", l->what);
	l->v[(*l->n)++] = v;
	return 0;
}

static int add_pattern(void *ctx, const char *s)
{
	struct options *o = ctx;

	if (!strcmp(s, "seq"))
		o->p.patterns |= BENCH_PAT_SEQ;
	else if (!strcmp(s, "random"))
		o->p.patterns |= BENCH_PAT_RANDOM;
	else if (!strcmp(s, "frag"))
		o->p.patterns |= BENCH_PAT_FRAG;
	else
		return usage_error("pattern '%s' unknown: seq, random or frag", s);
	return 0;
}

static int add_threads(void *ctx, const char *s)
{
	struct options *o = ctx;
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v < 1 || v > 256)
		return usage_error("thread count '%s': give 1..256", s);
	if (o->p.nthreads >= BENCH_MAX_LIST)
		return usage_error("--threads: at most 8 values%s", "");
	o->p.threads[o->p.nthreads++] = (unsigned int)v;
	return 0;
}

static int parse_uint(const char *s, const char *what, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v == 0 || v > max) {
		fprintf(stderr, "ioasid-bench: %s '%s': give 1..%lu (ioasid-bench --help)\n", what,
			s, max);
		return 2;
	}
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	enum { O_REGION = 256, O_PAGES, O_PATTERN, O_THREADS, O_SMALL, O_RAM, O_QUICK,
	       O_STANDARD, O_DEVICE, O_GROUP, O_PLATFORM, O_WORKER, O_WORKER_FD,
	       O_WORKER_ROUND, O_BIG_ROUNDS, O_WORKER_BIG, O_BIG_ABOVE, O_MIN_TIME };
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "workload", required_argument, NULL, 'w' },
		{ "trace", required_argument, NULL, 't' },
		{ "repeats", required_argument, NULL, 'r' },
		{ "rounds", required_argument, NULL, 'R' },
		{ "region", required_argument, NULL, O_REGION },
		{ "pages", required_argument, NULL, O_PAGES },
		{ "pattern", required_argument, NULL, O_PATTERN },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "small-regions", required_argument, NULL, O_SMALL },
		{ "guest-ram", required_argument, NULL, O_RAM },
		{ "quick", no_argument, NULL, O_QUICK },
		{ "standard", no_argument, NULL, O_STANDARD },
		{ "device", required_argument, NULL, O_DEVICE },
		{ "group", required_argument, NULL, O_GROUP },
		{ "platform", required_argument, NULL, O_PLATFORM },
		{ "json", required_argument, NULL, 'j' },
		{ "anchors", required_argument, NULL, 'a' },
		{ "compare", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "worker", required_argument, NULL, O_WORKER },
		{ "worker-fd", required_argument, NULL, O_WORKER_FD },
		{ "worker-round", required_argument, NULL, O_WORKER_ROUND },
		{ "worker-big", required_argument, NULL, O_WORKER_BIG },
		{ "big-rounds", required_argument, NULL, O_BIG_ROUNDS },
		{ "big-above", required_argument, NULL, O_BIG_ABOVE },
		{ "min-time", required_argument, NULL, O_MIN_TIME },
		{ 0 }
	};
	bool any_backend = false, any_workload = false, pattern_given = false;
	bool regions_given = false, pages_given = false, threads_given = false;
	bool repeats_given = false, standard = false, big_rounds_given = false;
	bool ram_given = false, min_time_given = false;
	unsigned long v;
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->worker = -1;
	o->worker_fd = -1;
	o->worker_round = 1;
	o->big_rounds = 3;
	bench_params_default(&o->p);
	/* First pass: --quick / --standard set the defaults the other options then refine. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			bench_params_quick(&o->p);
		else if (!strcmp(argv[i], "--"))
			break;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:w:t:r:R:j:a:c:qvlhV", longopts, NULL)) != -1) {
		struct size_list sl;

		switch (c) {
		case 'b':
			any_backend = true;
			if ((rc = parse_list(optarg, "--backend", add_backend, o)))
				return rc;
			break;
		case 'w':
			any_workload = true;
			if ((rc = parse_list(optarg, "--workload", add_workload, o)))
				return rc;
			break;
		case 't':
			if ((rc = parse_list(optarg, "--trace", add_trace, o)))
				return rc;
			break;
		case 'r':
			if ((rc = parse_uint(optarg, "--repeats", 1000, &v)))
				return rc;
			o->p.repeats = (unsigned int)v;
			repeats_given = true;
			break;
		case 'R':
			if ((rc = parse_uint(optarg, "--rounds", MAX_ROUNDS, &v)))
				return rc;
			o->rounds = (unsigned int)v;
			break;
		case O_MIN_TIME:
			v = 0;          /* 0: exactly -r (the standard set's default off) */
			if (strcmp(optarg, "0") &&
			    (rc = parse_uint(optarg, "--min-time", 10000, &v)))
				return rc;
			o->p.min_time_ns = (uint64_t)v * 1000000u;
			min_time_given = true;
			break;
		case O_BIG_ROUNDS:
			if ((rc = parse_uint(optarg, "--big-rounds", MAX_ROUNDS, &v)))
				return rc;
			o->big_rounds = (unsigned int)v;
			big_rounds_given = true;
			break;
		case O_BIG_ABOVE:
			if (parse_size(optarg, &o->p.big_region_bytes))
				return usage_error("--big-above '%s': a size such as 4G", optarg);
			break;
		case O_WORKER_BIG:
			if (!strcmp(optarg, "none"))
				o->p.big_scope = BENCH_BIG_NONE;
			else if (!strcmp(optarg, "only"))
				o->p.big_scope = BENCH_BIG_ONLY;
			else
				return usage_error("--worker-big %s: none or only", optarg);
			break;
		case O_REGION:
			if (!regions_given)
				o->p.nregions = 0;
			regions_given = true;
			sl = (struct size_list){ o->p.regions, &o->p.nregions, "--region" };
			if ((rc = parse_list(optarg, "--region", add_size, &sl)))
				return rc;
			break;
		case O_PAGES:
			if (!pages_given)
				o->p.npages = 0;
			pages_given = true;
			sl = (struct size_list){ o->p.pages, &o->p.npages, "--pages" };
			if ((rc = parse_list(optarg, "--pages", add_size, &sl)))
				return rc;
			for (unsigned int i = 0; i < o->p.npages; i++)
				if (o->p.pages[i] != 4096 && o->p.pages[i] != (1ULL << 21) &&
				    o->p.pages[i] != (1ULL << 30))
					return usage_error("--pages '%s': page sizes are 4K, 2M "
							   "and 1G", optarg);
			break;
		case O_PATTERN:
			if (!pattern_given)
				o->p.patterns = 0;
			pattern_given = true;
			if ((rc = parse_list(optarg, "--pattern", add_pattern, o)))
				return rc;
			break;
		case O_THREADS:
			if (!threads_given)
				o->p.nthreads = 0;
			threads_given = true;
			if ((rc = parse_list(optarg, "--threads", add_threads, o)))
				return rc;
			break;
		case O_SMALL:
			if ((rc = parse_uint(optarg, "--small-regions", 1u << 20, &v)))
				return rc;
			o->p.small_regions = (unsigned int)v;
			break;
		case O_RAM:
			if (parse_size(optarg, &o->p.guest_ram) ||
			    (o->p.guest_ram & ((1 << 21) - 1)))
				return usage_error("--guest-ram '%s': a multiple of 2M such as 4G",
						   optarg);
			ram_given = true;
			break;
		case O_QUICK:
			break;
		case O_STANDARD:
			standard = true;
			o->p.regions[0] = 1ULL << 30;
			o->p.regions[1] = 16ULL << 30;
			o->p.nregions = 2;
			regions_given = true;
			break;
		case O_DEVICE:
			o->device = optarg;
			break;
		case O_GROUP:
			if ((rc = parse_uint(optarg, "--group", 1u << 30, &v)))
				return rc;
			o->group = (unsigned int)v;
			break;
		case O_PLATFORM:
			o->platform = optarg;
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'a':
			o->anchors = optarg;
			break;
		case 'c':
			o->compare = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'l':
			o->list = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("ioasid-bench %s\n", IOASID_VERSION);
			exit(0);
		case O_WORKER:
			o->worker = bench_backend_from_name(optarg);
			if (o->worker < 0)
				return usage_error("--worker '%s': not a backend", optarg);
			break;
		case O_WORKER_FD:
			if ((rc = parse_uint(optarg, "--worker-fd", 1u << 20, &v)))
				return rc;
			o->worker_fd = (int)v;
			break;
		case O_WORKER_ROUND:
			if ((rc = parse_uint(optarg, "--worker-round", MAX_ROUNDS, &v)))
				return rc;
			o->worker_round = (unsigned int)v;
			break;
		default:
			fprintf(stderr, "ioasid-bench: see ioasid-bench --help\n");
			return 2;
		}
	}
	if (standard) {
		if (!o->rounds)
			o->rounds = 5;
		if (!repeats_given)
			o->p.repeats = 4;
		if (!ram_given)
			o->p.guest_ram = 2ULL << 30;
		if (!min_time_given)
			o->p.min_time_ns = 20 * 1000000u;
		if (!big_rounds_given)
			o->big_rounds = o->rounds;
		o->p.big_regions_ref_only = true;
	}
	if (!o->rounds)
		o->rounds = 1;
	if (o->compare) {
		if (optind + 1 != argc)
			return usage_error("--compare %s: give the second run's JSON Lines file "
					   "after it", o->compare);
		o->compare_new = argv[optind];
		return 0;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->p.patterns)
		o->p.patterns = BENCH_PAT_SEQ;
	if (!any_backend)
		add_backend(o, "all");
	if (!any_workload)
		add_workload(o, "all");
	o->trace[BENCH_TRACE_OFF] = true;
	return 0;
}

/* ---- the worker ------------------------------------------------------------------------------ */

enum fault_kind { FAULT_NONE, FAULT_KILL, FAULT_TRUNCATE, FAULT_MAGIC, FAULT_VERSION };

struct sender {
	int fd;
	enum fault_kind fault;          /* the test hook, when it names this backend and round */
	bool fired;
};

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(3);   /* the driver is gone or stopped reading: nobody to tell */
		p += n;
		len -= (size_t)n;
	}
}

/* IOASID_BENCH_FAULT=BACKEND:ROUND:KIND (file note): the fault for this worker, if any. */
static enum fault_kind fault_for(const char *spec, int backend, unsigned int round)
{
	static const char *const kinds[] = { [FAULT_KILL] = "kill",
					     [FAULT_TRUNCATE] = "truncate",
					     [FAULT_MAGIC] = "magic", [FAULT_VERSION] = "version" };
	char name[32], kind[16];
	unsigned int r;

	if (!spec || sscanf(spec, "%31[^:]:%u:%15s", name, &r, kind) != 3 ||
	    strcmp(name, bench_backend_name(backend)) || r != round)
		return FAULT_NONE;
	for (int k = FAULT_KILL; k <= FAULT_VERSION; k++)
		if (!strcmp(kind, kinds[k]))
			return k;
	return FAULT_NONE;
}

/* The hook fires on the first figure (or END): false when it sent nothing of the message. */
static bool fault_fire(struct sender *s, const void *msg, size_t len)
{
	const struct bench_wire_hdr *h = msg;
	struct bench_wire_hdr bad = *h;

	switch (s->fault) {
	case FAULT_KILL:
		if (h->type == BENCH_WIRE_FIGURE)
			write_all(s->fd, msg, len);
		raise(SIGKILL);
		break;
	case FAULT_TRUNCATE:
		write_all(s->fd, msg, len / 2);
		_exit(0);
	case FAULT_MAGIC:
	case FAULT_VERSION:
		if (s->fault == FAULT_MAGIC)
			bad.magic = ~bad.magic;
		else
			bad.version++;
		write_all(s->fd, &bad, sizeof(bad));
		write_all(s->fd, (const char *)msg + sizeof(bad), len - sizeof(bad));
		return true;
	case FAULT_NONE:
		break;
	}
	return false;
}

static void send_msg(void *arg, const void *msg, size_t len)
{
	struct sender *s = arg;
	const struct bench_wire_hdr *h = msg;

	if (s->fault && !s->fired && (h->type == BENCH_WIRE_FIGURE || h->type == BENCH_WIRE_END)) {
		s->fired = true;
		if (fault_fire(s, msg, len))
			return;
	}
	write_all(s->fd, msg, len);
}

static int worker_main(struct options *o)
{
	struct sender snd = {
		.fd = o->worker_fd,
		.fault = fault_for(getenv(FAULT_ENV), o->worker, o->worker_round),
	};
	struct bench_runner_opts ro = {
		.be = { .id = (enum bench_backend_id)o->worker, .device = o->device,
			.group = o->group },
		.p = &o->p, .workload = o->workload, .trace = o->trace,
		.round = o->worker_round - 1, .send = send_msg, .arg = &snd,
	};

	signal(SIGPIPE, SIG_IGN);
	return bench_runner_run(&ro);
}

/* ---- the driver ------------------------------------------------------------------------------ */

/* Start the worker of backend id for round (0-based); its stream arrives on *rfd. big: its
 * part of the big-region split ("only", "none"), or NULL when the run has no big phase. */
static pid_t start_worker(int id, unsigned int round, const char *big, int argc, char **argv,
			  const struct options *o, int *rfd)
{
	char self[PATH_MAX], run[PATH_MAX], err[512], fdbuf[16], roundbuf[16];
	int p[2];
	pid_t pid;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	bool shim = id == BENCH_BE_REF_UAPI || id == BENCH_BE_REF_TYPE1;

	if (n <= 0)
		return -errno;
	self[n] = '\0';
	if (shim && !bench_under_shim() &&
	    ioasid_locate_tool("ioasid-run", run, sizeof(run), err, sizeof(err))) {
		fprintf(stderr, "ioasid-bench: %s: %s\n", bench_backend_name(id), err);
		return -ENOENT;
	}
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		pid = -errno;
		close(p[0]);
		close(p[1]);
		return pid;
	}
	if (pid == 0) {
		char **av = calloc((size_t)argc + 16, sizeof(*av));
		int k = 0;

		if (!av)
			_exit(127);
		/* a number the pipe itself cannot have; dup2 leaves it open across exec */
		dup2(p[1], WORKER_FD);
		snprintf(fdbuf, sizeof(fdbuf), "%d", WORKER_FD);
		snprintf(roundbuf, sizeof(roundbuf), "%u", round + 1);
		if (shim && !bench_under_shim()) {
			av[k++] = run;
			if (o->platform) {
				av[k++] = "--platform";
				av[k++] = (char *)o->platform;
			} else {
				av[k++] = "--private-platform";
			}
			av[k++] = "--";
		} else if (!shim) {
			unsetenv("LD_PRELOAD");     /* the kernel's nodes, not the shim's */
		}
		av[k++] = self;
		for (int i = 1; i < argc; i++)
			av[k++] = argv[i];
		av[k++] = "--worker";
		av[k++] = (char *)bench_backend_name(id);
		av[k++] = "--worker-fd";
		av[k++] = fdbuf;
		av[k++] = "--worker-round";
		av[k++] = roundbuf;
		if (big) {
			av[k++] = "--worker-big";
			av[k++] = (char *)big;
		}
		av[k] = NULL;
		execv(av[0], av);
		fprintf(stderr, "ioasid-bench: cannot run %s: %s\n", av[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

/* A round's messages, kept until its END says the round is whole. */
struct stage {
	struct bench_wire_msg *m;
	size_t n, cap;
	uint32_t figures, skips;
	struct bench_wire_end end;
};

static void stage_free(struct stage *st)
{
	for (size_t i = 0; i < st->n; i++)
		bench_wire_msg_free(&st->m[i]);
	free(st->m);
	memset(st, 0, sizeof(*st));
}

/* Read a worker's round into st: 0 when it is whole (END came and its counts agree),
 * -EBADMSG malformed, -EPIPE the stream ended without END, -ENOMEM; why says what. */
static int stage_read(int fd, unsigned int round, struct stage *st, char *why, size_t whylen)
{
	for (;;) {
		struct bench_wire_msg m;
		int rc = bench_wire_recv(fd, round, &m, why, whylen);

		if (rc == 0) {
			snprintf(why, whylen, "the stream ended before the round did (no END after "
				 "%u figures)", st->figures);
			return -EPIPE;
		}
		if (rc < 0)
			return rc == -ENOMEM ? rc : -EBADMSG;
		if (m.hdr.type == BENCH_WIRE_END) {
			memcpy(&st->end, m.payload, sizeof(st->end));
			bench_wire_msg_free(&m);
			if (st->end.figures != st->figures || st->end.skips != st->skips) {
				snprintf(why, whylen, "its END counts %u figures and %u skips, "
					 "%u and %u came", st->end.figures, st->end.skips,
					 st->figures, st->skips);
				return -EBADMSG;
			}
			return 0;
		}
		if (st->n == st->cap) {
			size_t cap = st->cap ? 2 * st->cap : 64;
			struct bench_wire_msg *v = realloc(st->m, cap * sizeof(*v));

			if (!v) {
				bench_wire_msg_free(&m);
				snprintf(why, whylen, "no memory to keep the round's messages");
				return -ENOMEM;
			}
			st->m = v;
			st->cap = cap;
		}
		st->m[st->n++] = m;
		if (m.hdr.type == BENCH_WIRE_FIGURE)
			st->figures++;
		else
			st->skips++;
	}
}

struct driver {
	const struct options *o;
	struct bench_output *out;
	struct bench_pool *pool;
	struct bench_skip *said;        /* skips reported: each is said once */
	size_t nsaid, cap_said;
	struct bench_record *all;       /* every figure, for --anchors */
	size_t nall, cap_all;
	bool active[BENCH_BE_COUNT];    /* started in the coming rounds */
	bool problem[BENCH_BE_COUNT][MAX_ROUNDS];       /* its worker's status was not 0 */
	int problem_status[BENCH_BE_COUNT];
	int status;
};

/* A skip into the output, unless the same one was already said (rounds repeat them). */
static void say_skip(struct driver *d, const struct bench_skip *s)
{
	for (size_t i = 0; i < d->nsaid; i++)
		if (!strcmp(d->said[i].backend, s->backend) &&
		    !strcmp(d->said[i].workload, s->workload) && !strcmp(d->said[i].why, s->why))
			return;
	if (d->nsaid == d->cap_said) {
		size_t cap = d->cap_said ? 2 * d->cap_said : 32;
		struct bench_skip *v = realloc(d->said, cap * sizeof(*v));

		if (v) {
			d->said = v;
			d->cap_said = cap;
		}
	}
	if (d->nsaid < d->cap_said)
		d->said[d->nsaid++] = *s;
	bench_output_skip(d->out, s);
}

static void skip_line(struct driver *d, int id, const char *workload, const char *why)
{
	struct bench_skip s = { .magic = BENCH_SKIP_MAGIC, .size = sizeof(s) };

	snprintf(s.backend, sizeof(s.backend), "%s", bench_backend_name(id));
	snprintf(s.workload, sizeof(s.workload), "%s", workload);
	snprintf(s.why, sizeof(s.why), "%s", why);
	say_skip(d, &s);
}

/* A whole round of a worker: its skips said, its figures pooled. */
static void stage_commit(struct driver *d, int id, unsigned int round, struct stage *st)
{
	bool lost = false;

	for (size_t i = 0; i < st->n; i++) {
		struct bench_wire_msg *m = &st->m[i];

		if (m->hdr.type == BENCH_WIRE_SKIP) {
			say_skip(d, m->payload);
		} else {
			struct bench_samples view;
			const struct bench_record *r = bench_wire_figure(m, &view);

			lost |= bench_pool_add(d->pool, r, &view, round) != 0;
		}
	}
	if (lost) {
		fprintf(stderr, "ioasid-bench: %s, round %u: out of memory while pooling: some of "
			"this round's figures are missing (free memory, or fewer workloads with "
			"-w)\n", bench_backend_name(id), round + 1);
		d->status = 1;
	}
}

/* The round of backend id could not be had: say so, once on stderr and in a skip line. */
static void round_lost(struct driver *d, int id, unsigned int round, const char *cause,
		       const char *todo)
{
	const char *name = bench_backend_name(id);
	char workload[24], why[1024];   /* whole on stderr; the skip line keeps what fits */

	snprintf(workload, sizeof(workload), "round %u", round + 1);
	snprintf(why, sizeof(why), "%s in round %u of %u: that round of %s is lost, the other "
		 "rounds are pooled; %s", cause, round + 1, d->o->rounds, name, todo);
	fprintf(stderr, "ioasid-bench: %s: %s\n", name, why);
	skip_line(d, id, workload, why);
	d->status = 1;
}

static void run_worker_round(struct driver *d, int id, unsigned int round, const char *big,
			     int argc, char **argv)
{
	const char *name = bench_backend_name(id);
	char why[BENCH_WHY] = "", cause[BENCH_WHY + 64];
	struct stage st = { 0 };
	int fd, ws = 0, rc;
	pid_t pid;

	pid = start_worker(id, round, big, argc, argv, d->o, &fd);
	if (pid < 0) {
		snprintf(why, sizeof(why), "its worker could not start: %s", strerror((int)-pid));
		skip_line(d, id, "*", why);
		d->active[id] = false;
		d->status = 1;
		return;
	}
	if (d->o->verbose) {
		bool big_phase = big && !strcmp(big, "only");

		fprintf(stderr, "ioasid-bench: %s %u of %u: starting %s (pid %d)\n",
			big_phase ? "big regions, worker" : "round", round + 1,
			big_phase ? MIN(d->o->big_rounds, d->o->rounds) : d->o->rounds, name,
			(int)pid);
	}
	rc = stage_read(fd, round, &st, why, sizeof(why));
	close(fd);              /* a worker still writing gets EPIPE and ends */
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (rc == 0) {
		stage_commit(d, id, round, &st);
		if (!st.end.opened)
			d->active[id] = false;
		if (st.end.status || WIFSIGNALED(ws) || WEXITSTATUS(ws)) {
			d->problem[id][round] = true;
			d->problem_status[id] = WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) :
						WEXITSTATUS(ws) ? WEXITSTATUS(ws) : st.end.status;
		}
	} else if (WIFSIGNALED(ws)) {
		char todo[96];

		snprintf(cause, sizeof(cause), "its worker died of signal %d (%s)", WTERMSIG(ws),
			 strsignal(WTERMSIG(ws)));
		snprintf(todo, sizeof(todo), "rerun with -b %s and fewer workloads (-w) to find "
			 "which one", name);
		round_lost(d, id, round, cause, todo);
	} else if (rc == -ENOMEM) {
		round_lost(d, id, round, "the driver had no memory to keep its messages",
			   "free memory, or run fewer workloads (-w)");
	} else if (rc == -EBADMSG) {
		snprintf(cause, sizeof(cause), "its result stream is malformed (%s)", why);
		round_lost(d, id, round, cause, "a bug (the worker is this same program): report "
			   "it with the command line");
	} else {
		snprintf(cause, sizeof(cause), "its worker exited with status %d: %s",
			 WEXITSTATUS(ws), why);
		round_lost(d, id, round, cause, "its reasons are on stderr above");
	}
	stage_free(&st);
}

/* Backends whose worker reported a problem: one line each, naming the rounds. */
static void say_problems(struct driver *d)
{
	for (int id = 0; id < BENCH_BE_COUNT; id++) {
		char rounds[40] = "", why[BENCH_WHY + 64];     /* the skip keeps what fits */
		size_t used = 0, n = 0;

		for (unsigned int r = 0; r < d->o->rounds; r++) {
			char one[16];

			if (!d->problem[id][r])
				continue;
			snprintf(one, sizeof(one), "%s%u", n++ ? "," : "", r + 1);
			if (used + strlen(one) + 4 < sizeof(rounds))
				used += (size_t)snprintf(rounds + used, sizeof(rounds) - used,
							 "%s", one);
			else if (!strstr(rounds, "..."))
				used += (size_t)snprintf(rounds + used, sizeof(rounds) - used,
							 ",...");
		}
		if (!n)
			continue;
		snprintf(why, sizeof(why), "its worker reported a problem in round%s %s of %u "
			 "(exit status %d): a trace mode did not start, a live check was not "
			 "clean, or figures were lost; the reasons are on stderr and in the lines "
			 "above", n > 1 ? "s" : "", rounds, d->o->rounds, d->problem_status[id]);
		skip_line(d, id, "*", why);
		d->status = 1;
	}
}

static void on_figure(void *arg, const struct bench_record *r)
{
	struct driver *d = arg;

	bench_output_record(d->out, r);
	if (d->nall == d->cap_all) {
		size_t cap = d->cap_all ? 2 * d->cap_all : 256;
		struct bench_record *v = realloc(d->all, cap * sizeof(*v));

		if (!v)
			return;     /* --anchors lacks it; the table and JSON have it */
		d->all = v;
		d->cap_all = cap;
	}
	d->all[d->nall++] = *r;
}

static int list(void)
{
	const struct bench_workload *const *wl = bench_workloads();
	char why[BENCH_WHY], path[PATH_MAX], err[512];

	printf("backends:\n");
	for (int id = 0; id < BENCH_BE_COUNT; id++) {
		const char *state = "usable";

		why[0] = '\0';
		if (id == BENCH_BE_REF_UAPI || id == BENCH_BE_REF_TYPE1) {
			if (!bench_under_shim() &&
			    ioasid_locate_tool("ioasid-run", path, sizeof(path), err, sizeof(err)))
				state = err;
			else
				state = "usable (run under ioasid-run)";
		} else if (bench_backend_probe(id, why, sizeof(why))) {
			state = why;
		}
		printf("  %-13s %s\n", bench_backend_name(id), state);
	}
	printf("workloads:\n");
	for (int i = 0; wl[i]; i++)
		printf("  %-14s %s\n", wl[i]->name, wl[i]->what);
	return 0;
}

/* The backends this driver will start: those selected that the driver itself does not rule
 * out (a kernel backend under the shim, or one the driver's own probe refuses). */
static void pick_backends(struct driver *d)
{
	for (int id = 0; id < BENCH_BE_COUNT; id++) {
		char why[BENCH_WHY];
		bool kernel = id == BENCH_BE_KERNEL || id == BENCH_BE_KERNEL_TYPE1;

		if (!d->o->backend[id])
			continue;
		if (kernel && bench_under_shim()) {
			skip_line(d, id, "*", "ioasid-bench runs under the shim, so /dev/iommu and "
				  "/dev/vfio are the reference's: run it without ioasid-run to "
				  "measure the kernel");
			continue;
		}
		if (kernel && bench_backend_probe(id, why, sizeof(why))) {
			skip_line(d, id, "*", why);
			continue;
		}
		d->active[id] = true;
	}
}

/* Does the run measure a region above 4 GiB? Then, with more than one round, those regions get
 * a phase of their own: faulting 16 GiB in takes longer than a round here, and a 16 GiB
 * figure needs samples from several workers to show what a rerun changes. The phase's
 * workers run back to back, so each faults in memory the last one has just freed (the VM's
 * host has not taken it back yet: seconds instead of a minute), and before the rounds, so
 * that no round's freed memory is being handed back to the host while they measure. */
static bool has_big_region(const struct options *o)
{
	const struct bench_workload *const *wl = bench_workloads();

	for (int i = 0; wl[i]; i++)
		if (o->workload[i] && !strcmp(wl[i]->name, "region"))
			for (unsigned int j = 0; j < o->p.nregions; j++)
				if (o->p.regions[j] > o->p.big_region_bytes)
					return true;
	return false;
}

static int run_rounds(const struct options *o, struct bench_output *out, int argc, char **argv)
{
	struct driver d = { .o = o, .out = out };
	bool big = o->rounds > 1 && has_big_region(o);
	int status;

	d.pool = bench_pool_new(o->rounds);
	if (!d.pool) {
		fprintf(stderr, "ioasid-bench: no memory for the figures' pool: free memory and "
			"rerun\n");
		bench_output_finish(out);
		return 1;
	}
	pick_backends(&d);
	for (unsigned int k = 0; big && k < MIN(o->big_rounds, o->rounds); k++)
		for (int id = 0; id < BENCH_BE_COUNT; id++)
			if (d.active[id] && (!o->p.big_regions_ref_only || id == BENCH_BE_REF))
				run_worker_round(&d, id, k, "only", argc, argv);
	for (unsigned int round = 0; round < o->rounds; round++) {
		struct bench_calibration cal = { .round = round + 1 };
		bool any = false;

		for (int id = 0; id < BENCH_BE_COUNT; id++)
			any |= d.active[id];
		if (!any)
			break;
		cal.ns = bench_calibrate();
		bench_output_calibration(out, &cal);
		if (o->verbose)
			fprintf(stderr, "ioasid-bench: round %u of %u: calibration %.3f ms\n",
				round + 1, o->rounds, cal.ns / 1e6);
		for (int id = 0; id < BENCH_BE_COUNT; id++)
			if (d.active[id])
				run_worker_round(&d, id, round, big ? "none" : NULL, argc,
						 argv);
	}
	bench_pool_emit(d.pool, on_figure, &d);
	say_problems(&d);
	bench_output_finish(out);
	if (o->anchors) {
		FILE *f = strcmp(o->anchors, "-") ? fopen(o->anchors, "w") : stdout;

		if (!f) {
			fprintf(stderr, "ioasid-bench: --anchors %s: %s: check the directory "
				"exists and is writable\n", o->anchors, strerror(errno));
			d.status = 1;
		} else {
			bench_anchors_markdown(f, d.all, d.nall);
			if (f != stdout && fclose(f))
				d.status = 1;
		}
	}
	status = d.status;
	bench_pool_free(d.pool);
	free(d.said);
	free(d.all);
	return status;
}

int main(int argc, char **argv)
{
	struct options o;
	struct bench_output *out;
	FILE *json = NULL;
	int rc, status;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	if (o.worker >= 0) {
		if (o.worker_fd < 0)
			return usage_error("--worker needs --worker-fd%s", "");
		return worker_main(&o);
	}
	if (o.list)
		return list();
	if (o.compare) {
		rc = bench_compare_files(o.compare, o.compare_new, stdout);
		return rc < 0 ? 2 : rc > 0;
	}
	if (o.json) {
		json = strcmp(o.json, "-") ? fopen(o.json, "w") : stdout;
		if (!json) {
			fprintf(stderr, "ioasid-bench: --json %s: %s: check the directory exists "
				"and is writable\n", o.json, strerror(errno));
			return 2;
		}
	}
	out = bench_output_new(o.quiet || json == stdout ? NULL : stdout, json);
	if (!out) {
		fprintf(stderr, "ioasid-bench: no memory for the output: free memory and rerun\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	status = run_rounds(&o, out, argc, argv);
	if (json && json != stdout && fclose(json)) {
		fprintf(stderr, "ioasid-bench: --json %s: write failed: %s\n", o.json,
			strerror(errno));
		status = 1;
	}
	return status;
}
