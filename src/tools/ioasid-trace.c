/* ioasid-trace — watch, record and replay IOMMU events: the reference (USDT) or a kernel.
 *
 *   ioasid-trace [OPTIONS] -- COMMAND [ARG...]   run COMMAND under the shim, trace it from start
 *   ioasid-trace [OPTIONS] -p PID                trace a running process using the reference
 *   ioasid-trace [OPTIONS] -k                    trace the running kernel, system-wide
 *   ioasid-trace [OPTIONS] -r FILE               replay a trace file
 *
 * Owns nothing but its options: sources, recording and formatting are the trace library's
 * (src/trace/). Output: one line per event (columns = JSON field names of -j), then a summary
 * on stderr with the events received, emitted and dropped (drops are always reported).
 * Exit status: 0 done; 1 events were dropped or the source failed mid-way (corrupt file,
 * ring-buffer error); 2 could not run (usage, privileges, no probes). With a launched command
 * that exits non-zero, its status is reported in the summary but does not change ours.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ioasid/event_format.h"
#include "ioasid/trace.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_CANNOT_RUN = 2 };

struct options {
	struct ioasid_trace_opts t;
	bool json, quiet, check_only;
	double duration;                 /* seconds, 0: until done / interrupted */
	uint64_t type_mask;              /* display filter: bit per event type; 0: all */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
"Usage: ioasid-trace [OPTIONS] -- COMMAND [ARG...]\n"
"       ioasid-trace [OPTIONS] -p PID | -k | -r FILE\n"
"\n"
"Trace IOMMU activity as one event stream: map/unmap, attach/detach/replace (RID and PASID),\n"
"bind, HWPT alloc/destroy, every IOTLB invalidation and stale IOTLB hit, group ownership,\n"
"driver binding, IO page faults, pinned-page accounting. Sources: the ioasid reference (USDT\n"
"probes, BPF), a kernel (iommu:* tracepoints; fentry/fexit where the kernel allows), a file.\n"
"\n"
"Sources:\n"
"  -- COMMAND [ARG...]     run COMMAND under ioasid-run and trace it (and its children) from\n"
"                          its first instruction\n"
"  -p, --pid PID           trace a running process that uses the reference\n"
"  -k, --kernel            trace the running kernel, system-wide\n"
"  -r, --read FILE         replay a trace file\n"
"\n"
"Options:\n"
"  -w, --write FILE        also record every event to FILE (zlib-compressed trace file)\n"
"  -j, --json              JSON Lines output (field names = the column headers, lower case)\n"
"  -q, --quiet             no per-event output (summary only; useful with -w)\n"
"  -e, --events LIST       show only these event types, e.g. ioas_map,iotlb_inv (all are\n"
"                          recorded with -w)\n"
"  -d, --duration SECONDS  stop after SECONDS (default: until the command exits, the file\n"
"                          ends, or Ctrl-C)\n"
"      --platform NAME     shared mock host for a launched COMMAND (default \"default\";\n"
"                          \"\" for a private one)\n"
"      --binary PATH       with -p: the object holding the probes (default: found in the\n"
"                          process's mappings)\n"
"      --btf PATH          kernel BTF to use instead of /sys/kernel/btf/vmlinux\n"
"      --ringbuf BYTES     ring buffer size (default 8 MiB)\n"
"      --dry-run           show what would be attached and what would be skipped, and why;\n"
"                          load nothing (with -v: every program)\n"
"      --check             pre-flight only: say what this process lacks for the source\n"
"  -v, --verbose           libbpf's log on stderr (-vv: debug)\n"
"  -h, --help              this help\n"
"\n"
"Examples:\n"
"  ioasid-trace -- ./vmm --guest-ram 4G      trace a VMM on the mock host\n"
"  ioasid-trace -q -w vm.trace -- ./vmm      record only\n"
"  ioasid-trace -r vm.trace -j -e iotlb_inv  replay the invalidations as JSON Lines\n"
"  ioasid-trace -k --dry-run -v              what would attach on this kernel\n"
"\n"
"Exit status: 0 done, 1 events dropped or the source failed mid-way, 2 could not run.\n");
}

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("ioasid-trace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'ioasid-trace --help'.\n", stderr);
	exit(EXIT_CANNOT_RUN);
}

static uint64_t parse_types(const char *list)
{
	char buf[1024], *save = NULL, *tok;
	uint64_t mask = 0;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int type = ioasid_event_type_from_name(tok);

		if (type < 0 || type >= 64)
			die_usage("-e '%s': unknown event type (known: see the EVENT column, e.g. "
				  "ioas_map, dev_attach, iotlb_inv)", tok);
		mask |= 1ull << type;
	}
	return mask;
}

/* ---- printing -------------------------------------------------------------------------------- */
struct printer {
	const struct options *o;
	uint64_t t0;
	uint64_t per_type[IOASID_EV_MAX + 1];
	uint64_t other_types;
	bool header_done;
};

static int on_event(void *arg, const struct ioasid_event *ev)
{
	struct printer *p = arg;
	char line[1024];

	if (ev->type <= IOASID_EV_MAX)
		p->per_type[ev->type]++;
	else
		p->other_types++;
	if (!p->t0)
		p->t0 = ev->ts_ns;
	if (p->o->quiet)
		return 0;
	if (p->o->type_mask && (ev->type >= 64 || !(p->o->type_mask & (1ull << ev->type))))
		return 0;
	if (p->o->json) {
		if (ioasid_event_format_json(ev, line, sizeof(line)) > 0)
			puts(line);
		return 0;
	}
	if (!p->header_done) {
		if (ioasid_event_format_header(line, sizeof(line)) > 0)
			puts(line);
		p->header_done = true;
	}
	if (ioasid_event_format_text(ev, p->t0, line, sizeof(line)) > 0)
		puts(line);
	return 0;
}

static void print_plan(struct ioasid_trace *t, bool all)
{
	const struct ioasid_trace_plan_item *it;
	size_t n, attached = 0;

	if (ioasid_trace_plan(t, &it, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		attached += it[i].attached;
		if (it[i].attached && !all)
			continue;
		fprintf(stderr, "  %-9s %-28s %s%s%s\n", it[i].attached ? "attach" : "skip",
			it[i].program, it[i].target, it[i].attached ? "" : ": ",
			it[i].attached ? "" : it[i].reason);
	}
	fprintf(stderr, "ioasid-trace: %zu of %zu programs/probes %s, %zu skipped\n", attached, n,
		"attached", n - attached);
}

static void print_summary(struct ioasid_trace *t, const struct printer *p, const struct options *o)
{
	struct ioasid_trace_stats st;
	bool first = true;

	if (ioasid_trace_stats(t, &st))
		return;
	fprintf(stderr, "ioasid-trace: %llu events received, %llu emitted, %llu dropped",
		(unsigned long long)st.received, (unsigned long long)st.emitted,
		(unsigned long long)st.dropped);
	if (st.read_errors)
		fprintf(stderr, ", %llu unreadable probe records", (unsigned long long)st.read_errors);
	if (st.agg_full)
		fprintf(stderr, ", %llu not aggregated (map full)", (unsigned long long)st.agg_full);
	fputc('\n', stderr);
	if (st.dropped)
		fprintf(stderr, "ioasid-trace: WARNING: %llu events were dropped (ring buffer full): "
			"rerun with a larger --ringbuf\n", (unsigned long long)st.dropped);
	for (int i = 1; i <= IOASID_EV_MAX; i++) {
		if (!p->per_type[i])
			continue;
		fprintf(stderr, "%s%s=%llu", first ? "ioasid-trace: by type: " : " ",
			ioasid_event_type_name((unsigned)i), (unsigned long long)p->per_type[i]);
		first = false;
	}
	if (!first)
		fputc('\n', stderr);
	if (o->t.kind == IOASID_TRACE_LAUNCH) {
		int ws;

		if (!ioasid_trace_child_status(t, &ws)) {
			if (WIFEXITED(ws))
				fprintf(stderr, "ioasid-trace: command exited with status %d\n",
					WEXITSTATUS(ws));
			else if (WIFSIGNALED(ws))
				fprintf(stderr, "ioasid-trace: command killed by signal %d\n",
					WTERMSIG(ws));
		}
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	enum { OPT_PLATFORM = 256, OPT_BINARY, OPT_BTF, OPT_RINGBUF, OPT_DRY_RUN, OPT_CHECK };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "kernel", no_argument, NULL, 'k' },
		{ "read", required_argument, NULL, 'r' },
		{ "write", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "events", required_argument, NULL, 'e' },
		{ "duration", required_argument, NULL, 'd' },
		{ "platform", required_argument, NULL, OPT_PLATFORM },
		{ "binary", required_argument, NULL, OPT_BINARY },
		{ "btf", required_argument, NULL, OPT_BTF },
		{ "ringbuf", required_argument, NULL, OPT_RINGBUF },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct options o = { .t = { .sz = sizeof(struct ioasid_trace_opts) } };
	struct printer pr = { .o = &o };
	struct ioasid_trace *t = NULL;
	int c, rc, status = EXIT_OK, nsrc = 0;
	double deadline = 0;
	char *end;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:p:kr:w:jqe:d:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': {
			long v = strtol(optarg, &end, 10);

			if (!*optarg || *end || v <= 0 || v > 0x7fffffff)
				die_usage("-p '%s': not a process id", optarg);
			o.t.kind = IOASID_TRACE_PID;
			o.t.pid = (pid_t)v;
			nsrc++;
			break;
		}
		case 'k':
			o.t.kind = IOASID_TRACE_KERNEL;
			nsrc++;
			break;
		case 'r':
			o.t.kind = IOASID_TRACE_FILE;
			o.t.path = optarg;
			nsrc++;
			break;
		case 'w':
			o.t.record_path = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'e':
			o.type_mask = parse_types(optarg);
			break;
		case 'd':
			o.duration = strtod(optarg, &end);
			if (!*optarg || *end || o.duration <= 0)
				die_usage("-d '%s': give a number of seconds > 0", optarg);
			break;
		case OPT_PLATFORM:
			o.t.platform = optarg;
			break;
		case OPT_BINARY:
			o.t.binary = optarg;
			break;
		case OPT_BTF:
			o.t.btf_path = optarg;
			break;
		case OPT_RINGBUF: {
			unsigned long long v = strtoull(optarg, &end, 0);

			if (!*optarg || *end || v < 4096 || v > (1ull << 30))
				die_usage("--ringbuf '%s': give a size in bytes, 4096 .. 1073741824",
					  optarg);
			o.t.ringbuf_bytes = (size_t)v;
			break;
		}
		case OPT_DRY_RUN:
			o.t.dry_run = true;
			break;
		case OPT_CHECK:
			o.check_only = true;
			break;
		case 'v':
			o.t.verbose++;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case ':':
			die_usage("option '%s' needs a value", argv[optind - 1]);
		default:
			die_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc) {
		o.t.kind = IOASID_TRACE_LAUNCH;
		o.t.argv = &argv[optind];
		nsrc++;
	}
	if (nsrc != 1)
		die_usage(nsrc ? "give one source: -- COMMAND, -p PID, -k or -r FILE"
			       : "no source: give -- COMMAND, -p PID, -k or -r FILE");
	if (o.t.kind == IOASID_TRACE_FILE && o.t.dry_run)
		die_usage("--dry-run applies to live sources, not to -r FILE");

	if (ioasid_trace_preflight(o.t.kind, o.t.btf_path, stderr)) {
		fprintf(stderr, "ioasid-trace: cannot trace this source as things are (see above)\n");
		return EXIT_CANNOT_RUN;
	}
	if (o.check_only) {
		fprintf(stderr, "ioasid-trace: pre-flight: nothing missing\n");
		return EXIT_OK;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = ioasid_trace_open(&o.t, &t);
	if (rc) {
		fprintf(stderr, "ioasid-trace: %s\n", ioasid_trace_last_error());
		return EXIT_CANNOT_RUN;
	}
	if (o.t.dry_run) {
		print_plan(t, true);
		ioasid_trace_close(t);
		return EXIT_OK;
	}
	if (o.t.kind != IOASID_TRACE_FILE)
		print_plan(t, o.t.verbose > 0);
	if (o.duration > 0)
		deadline = now_s() + o.duration;
	while (!stop) {
		rc = ioasid_trace_poll(t, 100, on_event, &pr);
		if (rc == -ENODATA || rc == -ECHILD)
			break;
		if (rc < 0 && rc != -EINTR) {
			fprintf(stderr, "ioasid-trace: %s\n", ioasid_trace_last_error());
			status = EXIT_FAILED;
			break;
		}
		if (deadline && now_s() >= deadline)
			break;
	}
	/* Stopped early (duration, signal) with the command still running: end it, so the close
	 * below (which reaps it) does not wait forever. */
	if (o.t.kind == IOASID_TRACE_LAUNCH && ioasid_trace_child_status(t, NULL) == -EBUSY)
		kill(ioasid_trace_child(t), SIGTERM);
	/* Drain what is left (a live source) before the summary. */
	if (o.t.kind != IOASID_TRACE_FILE && status == EXIT_OK)
		while (ioasid_trace_poll(t, 0, on_event, &pr) > 0)
			;
	fflush(stdout);
	if (o.t.record_path && ioasid_trace_record_finish(t)) {
		fprintf(stderr, "ioasid-trace: %s\n", ioasid_trace_last_error());
		status = EXIT_FAILED;
	}
	print_summary(t, &pr, &o);
	{
		struct ioasid_trace_stats st;

		if (!ioasid_trace_stats(t, &st) && st.dropped && status == EXIT_OK)
			status = EXIT_FAILED;
	}
	ioasid_trace_close(t);
	return status;
}
