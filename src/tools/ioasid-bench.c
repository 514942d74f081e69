/* ioasid-bench — map/unmap throughput of any IOMMU backend, measured the same way.
 *
 * A driver and workers. The driver (this program as the user runs it) starts one worker per
 * backend — itself again, with --worker: plainly for `ref` and the kernel backends, under
 * ioasid-run (a private mock host unless --platform) for `ref-uapi` and `ref-type1` — and reads
 * their results from a pipe as fixed-size records (struct bench_record / bench_skip, same
 * binary on both ends). A worker probes its backend, opens it, runs the workloads untraced,
 * then once per --trace mode with that tracing attached to itself, and gives each traced
 * record the ratio of its median time to the untraced one of the same run. A crashed worker
 * loses its backend only; the driver says which and how to reproduce it.
 *
 * Output: the table on stdout (-q: none), JSON Lines with --json FILE ('-': stdout, table
 * off). Exit status: 0 measured (skips are reported, not errors), 1 a worker failed or a live
 * check found violations, 2 usage.
 */
#include "benchkit/workload.h"
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

#define MAX_RECORDS 4096
#define WORKER_FD 100

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
	unsigned int rounds;            /* passes over the workload list; repeats pooled */
	bool quiet, list;
	int worker;                     /* >= 0: this process is the worker of that backend */
	int worker_fd;
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
"  -R, --rounds N         run the workload list N times and pool each figure's repeats over\n"
"                         the rounds, so the spread includes what changes between runs\n"
"                         (memory placement, huge pages, other load) (default 1)\n"
"      --region LIST      region sizes for 'region' (default 1G; e.g. 1G,16G)\n"
"      --pages LIST       page sizes (default 4K,2M,1G)\n"
"      --pattern LIST     IOVA patterns for 'pages': seq,random,frag (default all)\n"
"      --threads LIST     thread counts for 'threads' (default 1,2,4)\n"
"      --small-regions N  regions held together by 'small-regions' (default 16384)\n"
"      --guest-ram SIZE   guest RAM of 'vm-start' (default 4G)\n"
"      --quick            small sizes, 3 repeats: a quick look (every workload still runs)\n"
"      --standard         the set 'make bench' records: regions 1G and 16G (16G when the\n"
"                         memory is there; 16G on ref only), 3 rounds of 2 repeats,\n"
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
"  -l, --list             list the backends (usable here or why not) and the workloads\n"
"  -h, --help             this help;  -V, --version  the version\n"
"\n"
"Sizes take K, M, G, T suffixes (powers of two). Figures: ops/s and GB/s (1e9 bytes/s) are\n"
"medians over the repeats with [min-max]; latency p50/p99/max over every timed call.\n"
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
	       O_STANDARD, O_DEVICE, O_GROUP, O_PLATFORM, O_WORKER, O_WORKER_FD };
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
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "worker", required_argument, NULL, O_WORKER },
		{ "worker-fd", required_argument, NULL, O_WORKER_FD },
		{ 0 }
	};
	bool any_backend = false, any_workload = false, pattern_given = false;
	bool regions_given = false, pages_given = false, threads_given = false;
	bool repeats_given = false, standard = false;
	unsigned long v;
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->worker = -1;
	o->worker_fd = -1;
	bench_params_default(&o->p);
	/* First pass: --quick / --standard set the defaults the other options then refine. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			bench_params_quick(&o->p);
		else if (!strcmp(argv[i], "--"))
			break;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:w:t:r:R:j:a:c:qlhV", longopts, NULL)) != -1) {
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
			if ((rc = parse_uint(optarg, "--rounds", 100, &v)))
				return rc;
			o->rounds = (unsigned int)v;
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
		default:
			fprintf(stderr, "ioasid-bench: see ioasid-bench --help\n");
			return 2;
		}
	}
	if (standard) {
		if (!o->rounds)
			o->rounds = 3;
		if (!repeats_given)
			o->p.repeats = 2;
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

static void send_all(void *arg, const void *buf, size_t len)
{
	const char *p = buf;
	int fd = *(int *)arg;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(3);           /* the driver is gone: nobody to report to */
		p += n;
		len -= (size_t)n;
	}
}

static int worker_main(struct options *o)
{
	struct bench_runner_opts ro = {
		.be = { .id = (enum bench_backend_id)o->worker, .device = o->device,
			.group = o->group },
		.p = &o->p, .workload = o->workload, .trace = o->trace, .rounds = o->rounds,
		.send = send_all, .arg = &o->worker_fd,
	};

	signal(SIGPIPE, SIG_IGN);
	return bench_runner_run(&ro);
}

/* ---- the driver ------------------------------------------------------------------------------ */

/* Start the worker of backend id; its records arrive on *rfd. */
static pid_t start_worker(int id, int argc, char **argv, const struct options *o, int *rfd)
{
	char self[PATH_MAX], run[PATH_MAX], err[512], fdbuf[16];
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
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char **av = calloc((size_t)argc + 12, sizeof(*av));
		int k = 0;

		/* a number the pipe itself cannot have; dup2 leaves it open across exec */
		dup2(p[1], WORKER_FD);
		snprintf(fdbuf, sizeof(fdbuf), "%d", WORKER_FD);
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
		av[k] = NULL;
		execv(av[0], av);
		fprintf(stderr, "ioasid-bench: cannot run %s: %s\n", av[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return got ? -EBADMSG : 0;
		got += (size_t)n;
	}
	return 1;
}

/* Every record of the run, for --anchors. */
static struct bench_record *all;
static size_t nall;

/* Records of one worker into the output; 0, or 1 when the stream was broken. */
static int collect(int fd, struct bench_output *out, const char *backend)
{
	union {
		struct { uint32_t magic, size; } h;
		struct bench_record r;
		struct bench_skip s;
	} u;

	for (;;) {
		int rc = read_full(fd, &u.h, sizeof(u.h));
		size_t want;

		if (rc == 0)
			return 0;
		if (rc < 0)
			break;
		want = u.h.magic == BENCH_RECORD_MAGIC ? sizeof(u.r) :
		       u.h.magic == BENCH_SKIP_MAGIC ? sizeof(u.s) : 0;
		if (!want || u.h.size != want)
			break;
		if (read_full(fd, (char *)&u + sizeof(u.h), want - sizeof(u.h)) != 1)
			break;
		if (u.h.magic == BENCH_RECORD_MAGIC) {
			u.r.cfg.backend[sizeof(u.r.cfg.backend) - 1] = '\0';
			u.r.note[sizeof(u.r.note) - 1] = '\0';
			bench_output_record(out, &u.r);
			if (nall < MAX_RECORDS)
				all[nall++] = u.r;
		} else {
			u.s.why[sizeof(u.s.why) - 1] = '\0';
			bench_output_skip(out, &u.s);
		}
	}
	fprintf(stderr, "ioasid-bench: %s: the worker's result stream is malformed (magic "
		"0x%08x size %u): results of this backend may be missing\n", backend, u.h.magic,
		u.h.size);
	return 1;
}

static void skip_backend(struct bench_output *out, int id, const char *why)
{
	struct bench_skip s = { .magic = BENCH_SKIP_MAGIC, .size = sizeof(s) };

	snprintf(s.backend, sizeof(s.backend), "%s", bench_backend_name(id));
	snprintf(s.workload, sizeof(s.workload), "*");
	snprintf(s.why, sizeof(s.why), "%s", why);
	bench_output_skip(out, &s);
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

int main(int argc, char **argv)
{
	struct options o;
	struct bench_output *out;
	FILE *json = NULL;
	int rc, status = 0;

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
	all = calloc(MAX_RECORDS, sizeof(*all));
	if (!out || !all)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	for (int id = 0; id < BENCH_BE_COUNT; id++) {
		char why[BENCH_WHY];
		int fd, ws;
		pid_t pid;

		if (!o.backend[id])
			continue;
		if ((id == BENCH_BE_KERNEL || id == BENCH_BE_KERNEL_TYPE1) && bench_under_shim()) {
			skip_backend(out, id, "ioasid-bench runs under the shim, so /dev/iommu and "
				     "/dev/vfio are the reference's: run it without ioasid-run to "
				     "measure the kernel");
			continue;
		}
		if ((id == BENCH_BE_KERNEL || id == BENCH_BE_KERNEL_TYPE1) &&
		    bench_backend_probe(id, why, sizeof(why))) {
			skip_backend(out, id, why);
			continue;
		}
		pid = start_worker(id, argc, argv, &o, &fd);
		if (pid < 0) {
			snprintf(why, sizeof(why), "its worker could not start: %s",
				 strerror((int)-pid));
			skip_backend(out, id, why);
			status = 1;
			continue;
		}
		if (collect(fd, out, bench_backend_name(id)))
			status = 1;
		close(fd);
		while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
			;
		if (WIFSIGNALED(ws) || (WIFEXITED(ws) && WEXITSTATUS(ws))) {
			if (WIFSIGNALED(ws))
				snprintf(why, sizeof(why), "its worker died of signal %d (%s): "
					 "rerun with -b %s and fewer workloads (-w) to find which "
					 "one",
					 WTERMSIG(ws), strsignal(WTERMSIG(ws)),
					 bench_backend_name(id));
			else
				snprintf(why, sizeof(why), "its worker reported a problem "
					 "(exit status %d): a trace mode did not start, a live "
					 "check was not clean, or figures were lost; the reasons "
					 "are on stderr and in the lines above", WEXITSTATUS(ws));
			skip_backend(out, id, why);
			status = 1;
		}
	}
	bench_output_finish(out);
	if (o.anchors) {
		FILE *f = strcmp(o.anchors, "-") ? fopen(o.anchors, "w") : stdout;

		if (!f) {
			fprintf(stderr, "ioasid-bench: --anchors %s: %s: check the directory "
				"exists and is writable\n", o.anchors, strerror(errno));
			status = 1;
		} else {
			bench_anchors_markdown(f, all, nall);
			if (f != stdout && fclose(f))
				status = 1;
		}
	}
	free(all);
	if (json && json != stdout && fclose(json)) {
		fprintf(stderr, "ioasid-bench: --json %s: write failed: %s\n", o.json,
			strerror(errno));
		status = 1;
	}
	return status;
}
