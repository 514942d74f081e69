/* ioasid-check — audit IOMMU ownership, group viability, PASID and mapping/IOTLB invariants.
 *
 *   ioasid-check [OPTIONS] -- COMMAND [ARG...]   run COMMAND under the shim, audit from start
 *   ioasid-check [OPTIONS] -p PID                audit a running process using the reference
 *   ioasid-check [OPTIONS] -k                    audit the running kernel, system-wide
 *   ioasid-check [OPTIONS] -r FILE               audit a trace file
 *   ioasid-check --rules                         the rule catalogue
 *
 * The tool is glue: events come from the trace library (src/trace/) exactly as ioasid-trace
 * gets them, the shadow model and the rules are the checker library's (src/check/,
 * ioasid/check.h), which sees nothing but the events. Reports go to stdout as they are found
 * (text, or JSON Lines with -j), then the summary: events checked, violations per rule, the
 * rules this source cannot check, warnings, lost events and the verdict.
 * Exit status: 0 clean; 1 violations; 2 could not run, or the audit is not complete (events
 * lost, stream damaged: a damaged audit is never called clean).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ioasid/check.h"
#include "ioasid/trace.h"
#include "tools/source_cli.h"

enum { OPT_NO_WARNINGS = SRC_OPT_TOOL, OPT_HISTORY, OPT_WINDOW, OPT_MEMLOCK, OPT_RULES };

/* Events held for reordering are released after this long without their predecessor. */
#define LIVE_REORDER_AGE_NS (200ull * 1000 * 1000)

struct options {
	struct source_cli src;
	struct ioasid_check_opts c;
	bool json, quiet;
	const char *output;              /* -o: reports and summary there, not on stdout */
	FILE *out;
};

struct run {
	const struct options *o;
	struct ioasid_check *check;
	int feed_error;
};

static void usage(FILE *out)
{
	fprintf(out,
"Usage: ioasid-check [OPTIONS] -- COMMAND [ARG...]\n"
"       ioasid-check [OPTIONS] -p PID | -k | -r FILE\n"
"       ioasid-check --rules\n"
"\n"
"Audit IOMMU state changes against the invariants of the IOASID/iommufd model: device\n"
"ownership (OWN-1..4), group viability (GRP-1..3), PASIDs (PAS-1..4), mappings, pinned pages\n"
"and the IOTLB (MAP-1..4). A shadow model is built from the event stream alone (the same\n"
"events ioasid-trace shows); each violation names the rule, the objects, the event that\n"
"broke it and the events that led there. Rules this source cannot see are reported as not\n"
"checkable, never passed.\n"
"\n"
SRC_HELP_SOURCES
"\n"
"Options:\n"
"  -j, --json              JSON Lines: one object per report, then one summary object\n"
"  -q, --quiet             summary only\n"
"  -o, --output FILE       reports and summary to FILE instead of stdout (a launched\n"
"                          command keeps stdout)\n"
"      --no-warnings       no warnings (memlock headroom, group viability, map count)\n"
"      --history N         related earlier events shown with each report (default 8, max 32)\n"
"      --window N          events held to restore producer order (default 4096)\n"
"      --memlock BYTES     RLIMIT_MEMLOCK to assume when the events do not carry it\n"
"      --rules             list the rules: ID, statement, evidence; then exit\n"
SRC_HELP_OPTIONS
"  -h, --help              this help\n"
"\n"
"Examples:\n"
"  ioasid-check -- ./vmm --guest-ram 4G           audit a VMM on the mock host\n"
"  ioasid-check -w vm.trace -- ./vmm              audit and record\n"
"  ioasid-check -r vm.trace -j                    audit the recording, JSON Lines\n"
"  IOASID_INJECT=unmap-skip-flush ioasid-check -- ./vmm   see a missed IOTLB flush caught\n"
"\n"
"Exit status: 0 clean, 1 violations, 2 could not run or the audit is incomplete (events\n"
"lost or the stream damaged).\n");
}

static void print_rules(void)
{
	for (unsigned int r = 0; r < IOASID_RULE_COUNT; r++) {
		const struct ioasid_rule_info *ri = ioasid_check_rule(r);

		printf("%s  %s\n       evidence: %s\n", ri->id, ri->statement, ri->evidence);
	}
}

static unsigned long parse_count(const struct source_cli *s, const char *flag, const char *arg,
				 unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 0);

	if (!*arg || *end || v < min || v > max)
		source_cli_die(s, "%s '%s': give a number %lu .. %lu", flag, arg, min, max);
	return v;
}

static void on_report(void *arg, const struct ioasid_check_report *r)
{
	const struct options *o = arg;

	if (o->quiet)
		return;
	if (o->json)
		ioasid_check_report_json(o->out, r);
	else
		ioasid_check_report_print(o->out, r);
	fflush(o->out);
}

static int on_event(void *arg, const struct ioasid_event *ev)
{
	struct run *run = arg;
	int rc = ioasid_check_feed(run->check, ev);

	if (rc && !run->feed_error)
		run->feed_error = rc;
	return 0;
}

static void on_idle(void *arg)
{
	struct run *run = arg;

	ioasid_check_flush(run->check, LIVE_REORDER_AGE_NS);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		SRC_LONG_OPTS,
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "output", required_argument, NULL, 'o' },
		{ "no-warnings", no_argument, NULL, OPT_NO_WARNINGS },
		{ "history", required_argument, NULL, OPT_HISTORY },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "memlock", required_argument, NULL, OPT_MEMLOCK },
		{ "rules", no_argument, NULL, OPT_RULES },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct options o;
	struct run run = { .o = &o };
	struct ioasid_trace *t = NULL;
	struct ioasid_trace_stats st = { 0 };
	struct ioasid_check_summary sum;
	struct source_cli_end end;
	int c, rc, status;

	memset(&o, 0, sizeof(o));
	source_cli_init(&o.src, "ioasid-check");
	o.c.sz = sizeof(o.c);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:" SRC_SHORT_OPTS "jqo:h", longopts, NULL)) != -1) {
		if (source_cli_option(&o.src, c, optarg, argv))
			continue;
		switch (c) {
		case 'j':
			o.json = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'o':
			o.output = optarg;
			break;
		case OPT_NO_WARNINGS:
			o.c.no_warnings = true;
			break;
		case OPT_HISTORY:
			o.c.history = (unsigned int)parse_count(&o.src, "--history", optarg, 1,
								 IOASID_CHECK_MAX_HISTORY);
			break;
		case OPT_WINDOW:
			o.c.reorder_window = (unsigned int)parse_count(&o.src, "--window", optarg,
								       1, 1u << 20);
			break;
		case OPT_MEMLOCK:
			o.c.memlock_limit_pages = parse_count(&o.src, "--memlock", optarg, 4096,
							      ~0ul) / 4096;
			break;
		case OPT_RULES:
			print_rules();
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		}
	}
	source_cli_finish(&o.src, argc, argv, optind);
	o.out = stdout;
	if (o.output && !(o.out = fopen(o.output, "w"))) {
		fprintf(stderr, "ioasid-check: -o %s: %s: give a writable path\n", o.output,
			strerror(errno));
		return EXIT_CANNOT_RUN;
	}
	status = source_cli_open(&o.src, &t);
	if (status >= 0)
		return status;

	rc = ioasid_trace_observable(t, &o.c.observable);
	if (!rc)
		rc = ioasid_check_new(&o.c, on_report, &o, &run.check);
	if (rc) {
		fprintf(stderr, "ioasid-check: cannot start the checker: %s\n", strerror(-rc));
		ioasid_trace_close(t);
		return EXIT_CANNOT_RUN;
	}

	status = source_cli_run(&o.src, t, on_event, &run, on_idle, &end);

	/* What the source knows it lost goes into the audit: a damaged audit is never clean. */
	if (end.error)
		ioasid_check_note_damage(run.check, end.message);
	if (ioasid_trace_stats(t, &st))
		memset(&st, 0, sizeof(st));
	if (st.dropped + st.read_errors)
		ioasid_check_note_dropped(run.check, st.dropped + st.read_errors);
	if (run.feed_error)
		fprintf(stderr, "ioasid-check: the checker ran out of memory: %s (the audit is "
			"incomplete)\n", strerror(-run.feed_error));
	ioasid_check_end(run.check);
	ioasid_check_summary(run.check, &sum);
	fflush(stdout);
	if (o.json)
		ioasid_check_summary_json(o.out, &sum);
	else
		ioasid_check_summary_print(o.out, &sum);
	if (o.out != stdout && fclose(o.out)) {
		fprintf(stderr, "ioasid-check: -o %s: %s\n", o.output, strerror(errno));
		status = EXIT_CANNOT_RUN;
	}
	source_cli_print_child(&o.src, t);
	if (st.dropped)
		fprintf(stderr, "ioasid-check: %llu events were dropped by the ring buffer: rerun "
			"with a larger --ringbuf\n", (unsigned long long)st.dropped);
	ioasid_check_free(run.check);
	ioasid_trace_close(t);
	rc = ioasid_check_verdict(&sum);
	/* A source that failed mid-way, or a report that could not be written, is not clean. */
	if (status != EXIT_OK && rc == 0)
		rc = EXIT_CANNOT_RUN;
	return rc;
}
