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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ioasid/event_format.h"
#include "ioasid/trace.h"
#include "tools/source_cli.h"

struct options {
	struct source_cli src;
	bool json, quiet;
	uint64_t type_mask;              /* display filter: bit per event type; 0: all */
};

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
SRC_HELP_SOURCES
"\n"
"Options:\n"
"  -j, --json              JSON Lines output (field names = the column headers, lower case)\n"
"  -q, --quiet             no per-event output (summary only; useful with -w)\n"
"  -e, --events LIST       show only these event types, e.g. ioas_map,iotlb_inv (all are\n"
"                          recorded with -w)\n"
SRC_HELP_OPTIONS
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

static uint64_t parse_types(const struct source_cli *src, const char *list)
{
	char buf[1024], *save = NULL, *tok;
	uint64_t mask = 0;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int type = ioasid_event_type_from_name(tok);

		if (type < 0 || type >= 64)
			source_cli_die(src, "-e '%s': unknown event type (known: see the EVENT "
				       "column, e.g. ioas_map, dev_attach, iotlb_inv)", tok);
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
	source_cli_print_child(&o->src, t);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		SRC_LONG_OPTS,
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "events", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct options o;
	struct printer pr = { .o = &o };
	struct ioasid_trace *t = NULL;
	struct source_cli_end end;
	struct ioasid_trace_stats st;
	int c, status;

	memset(&o, 0, sizeof(o));
	source_cli_init(&o.src, "ioasid-trace");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:" SRC_SHORT_OPTS "jqe:h", longopts, NULL)) != -1) {
		if (source_cli_option(&o.src, c, optarg, argv))
			continue;
		switch (c) {
		case 'j':
			o.json = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'e':
			o.type_mask = parse_types(&o.src, optarg);
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		}
	}
	source_cli_finish(&o.src, argc, argv, optind);
	status = source_cli_open(&o.src, &t);
	if (status >= 0)
		return status;
	status = source_cli_run(&o.src, t, on_event, &pr, NULL, &end);
	print_summary(t, &pr, &o);
	if (!ioasid_trace_stats(t, &st) && st.dropped && status == EXIT_OK)
		status = EXIT_FAILED;
	ioasid_trace_close(t);
	return status;
}
