/* source_cli.h — the event-source half of every ioasid tool's command line and main loop.
 *
 * ioasid-trace, ioasid-check (and ioasid-top) read the same sources with the same flags:
 *   -- COMMAND [ARG...] | -p PID | -k | -r FILE, -w FILE, -d SECONDS, --platform, --binary,
 *   --btf, --ringbuf, --dry-run, --check, -v
 * This header holds that shared part: the long options, their help text, parsing into
 * struct ioasid_trace_opts, the pre-flight, and the poll loop (signals, duration, draining a
 * live source, stopping a launched command). Each tool keeps only its own flags and what it
 * does with an event. Header-only (static functions): tools are one .c each.
 */
#ifndef IOASID_TOOLS_SOURCE_CLI_H
#define IOASID_TOOLS_SOURCE_CLI_H

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

#include "ioasid/trace.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_CANNOT_RUN = 2 };

/* Long-only option codes of the shared flags (tools number theirs from SRC_OPT_TOOL). */
enum {
	SRC_OPT_PLATFORM = 256, SRC_OPT_BINARY, SRC_OPT_BTF, SRC_OPT_RINGBUF, SRC_OPT_DRY_RUN,
	SRC_OPT_CHECK, SRC_OPT_TOOL = 300,
};

/* getopt short letters of the shared flags, and the long options (put first in a tool's
 * table, followed by its own). */
#define SRC_SHORT_OPTS "p:kr:w:d:v"
#define SRC_LONG_OPTS                                                                              \
	{ "pid", required_argument, NULL, 'p' }, { "kernel", no_argument, NULL, 'k' },             \
	{ "read", required_argument, NULL, 'r' }, { "write", required_argument, NULL, 'w' },       \
	{ "duration", required_argument, NULL, 'd' },                                              \
	{ "platform", required_argument, NULL, SRC_OPT_PLATFORM },                                 \
	{ "binary", required_argument, NULL, SRC_OPT_BINARY },                                     \
	{ "btf", required_argument, NULL, SRC_OPT_BTF },                                           \
	{ "ringbuf", required_argument, NULL, SRC_OPT_RINGBUF },                                   \
	{ "dry-run", no_argument, NULL, SRC_OPT_DRY_RUN },                                         \
	{ "check", no_argument, NULL, SRC_OPT_CHECK }, { "verbose", no_argument, NULL, 'v' }

#define SRC_HELP_SOURCES                                                                           \
"Sources:\n"                                                                                      \
"  -- COMMAND [ARG...]     run COMMAND under ioasid-run (the reference module behind\n"          \
"                          /dev/iommu) and follow it and its children from its first\n"        \
"                          instruction\n"                                                        \
"  -p, --pid PID           a running process that uses the reference\n"                         \
"  -k, --kernel            the running kernel, system-wide\n"                                    \
"  -r, --read FILE         a trace file (ioasid-trace -w, or -w here)\n"

#define SRC_HELP_OPTIONS                                                                           \
"  -w, --write FILE        also record every event to FILE (zlib-compressed trace file)\n"      \
"  -d, --duration SECONDS  stop after SECONDS (default: until the command exits, the file\n"    \
"                          ends, or Ctrl-C)\n"                                                   \
"      --platform NAME     shared mock host for a launched COMMAND (default \"default\";\n"     \
"                          \"\" for a private one)\n"                                            \
"      --binary PATH       with -p: the object holding the probes (default: found in the\n"     \
"                          process's mappings)\n"                                                \
"      --btf PATH          kernel BTF to use instead of /sys/kernel/btf/vmlinux\n"               \
"      --ringbuf BYTES     ring buffer size (default 8 MiB)\n"                                   \
"      --dry-run           show what would be attached and what would be skipped, and why;\n"  \
"                          load nothing (with -v: every program)\n"                              \
"      --check             pre-flight only: say what this process lacks for the source\n"       \
"  -v, --verbose           libbpf's log on stderr (-vv: debug)\n"

struct source_cli {
	const char *tool;                /* "ioasid-check": message prefix */
	struct ioasid_trace_opts t;
	double duration;                 /* seconds, 0: until done / interrupted */
	bool check_only;
	int nsrc;
};

static volatile sig_atomic_t source_cli_stop;

static void source_cli_on_signal(int sig)
{
	(void)sig;
	source_cli_stop = 1;
}

static inline void source_cli_init(struct source_cli *s, const char *tool)
{
	memset(s, 0, sizeof(*s));
	s->tool = tool;
	s->t.sz = sizeof(s->t);
}

static void source_cli_die(const struct source_cli *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
static void source_cli_die(const struct source_cli *s, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", s->tool);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", s->tool);
	exit(EXIT_CANNOT_RUN);
}

/* One getopt result (opterr = 0, optstring starting "+:"): true if it was a shared flag
 * (consumed), false if the tool handles it. Exits with a usage message on a bad value, a
 * missing value or an unknown option, so a tool's switch only lists its own flags. */
static inline bool source_cli_option(struct source_cli *s, int c, char *arg, char **argv)
{
	char *end;

	switch (c) {
	case ':':
		source_cli_die(s, "option '%s' needs a value", argv[optind - 1]);
	case '?':
		source_cli_die(s, "unknown option '%s'", argv[optind - 1]);
	case 'p': {
		long v = strtol(arg, &end, 10);

		if (!*arg || *end || v <= 0 || v > 0x7fffffff)
			source_cli_die(s, "-p '%s': not a process id", arg);
		s->t.kind = IOASID_TRACE_PID;
		s->t.pid = (pid_t)v;
		s->nsrc++;
		return true;
	}
	case 'k':
		s->t.kind = IOASID_TRACE_KERNEL;
		s->nsrc++;
		return true;
	case 'r':
		s->t.kind = IOASID_TRACE_FILE;
		s->t.path = arg;
		s->nsrc++;
		return true;
	case 'w':
		s->t.record_path = arg;
		return true;
	case 'd':
		s->duration = strtod(arg, &end);
		if (!*arg || *end || s->duration <= 0)
			source_cli_die(s, "-d '%s': give a number of seconds > 0", arg);
		return true;
	case SRC_OPT_PLATFORM:
		s->t.platform = arg;
		return true;
	case SRC_OPT_BINARY:
		s->t.binary = arg;
		return true;
	case SRC_OPT_BTF:
		s->t.btf_path = arg;
		return true;
	case SRC_OPT_RINGBUF: {
		unsigned long long v = strtoull(arg, &end, 0);

		if (!*arg || *end || v < 4096 || v > (1ull << 30))
			source_cli_die(s, "--ringbuf '%s': give a size in bytes, 4096 .. 1073741824",
				       arg);
		s->t.ringbuf_bytes = (size_t)v;
		return true;
	}
	case SRC_OPT_DRY_RUN:
		s->t.dry_run = true;
		return true;
	case SRC_OPT_CHECK:
		s->check_only = true;
		return true;
	case 'v':
		s->t.verbose++;
		return true;
	default:
		return false;
	}
}

/* After getopt: the command (argv[optind..]) if any, then exactly one source. */
static inline void source_cli_finish(struct source_cli *s, int argc, char **argv, int optind_)
{
	if (optind_ < argc) {
		s->t.kind = IOASID_TRACE_LAUNCH;
		s->t.argv = &argv[optind_];
		s->nsrc++;
	}
	if (s->nsrc != 1)
		source_cli_die(s, s->nsrc ? "give one source: -- COMMAND, -p PID, -k or -r FILE"
					  : "no source: give -- COMMAND, -p PID, -k or -r FILE");
	if (s->t.kind == IOASID_TRACE_FILE && s->t.dry_run)
		source_cli_die(s, "--dry-run applies to live sources, not to -r FILE");
}

/* The attach plan on stderr: every item with `all`, else only what was skipped. */
static inline void source_cli_print_plan(const struct source_cli *s, struct ioasid_trace *t,
					 bool all)
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
	fprintf(stderr, "%s: %zu of %zu programs/probes attached, %zu skipped\n", s->tool,
		attached, n, n - attached);
}

/* Pre-flight, open, and the plan. Returns an exit status to leave with (--check, --dry-run,
 * failures), or -1 with *out open and ready to poll. */
static inline int source_cli_open(struct source_cli *s, struct ioasid_trace **out)
{
	int rc;

	if (ioasid_trace_preflight(s->t.kind, s->t.btf_path, stderr)) {
		fprintf(stderr, "%s: cannot read this source as things are (see above)\n", s->tool);
		return EXIT_CANNOT_RUN;
	}
	if (s->check_only) {
		fprintf(stderr, "%s: pre-flight: nothing missing\n", s->tool);
		return EXIT_OK;
	}
	signal(SIGINT, source_cli_on_signal);
	signal(SIGTERM, source_cli_on_signal);
	rc = ioasid_trace_open(&s->t, out);
	if (rc) {
		fprintf(stderr, "%s: %s\n", s->tool, ioasid_trace_last_error());
		return EXIT_CANNOT_RUN;
	}
	if (s->t.dry_run) {
		source_cli_print_plan(s, *out, true);
		ioasid_trace_close(*out);
		return EXIT_OK;
	}
	if (s->t.kind != IOASID_TRACE_FILE)
		source_cli_print_plan(s, *out, s->t.verbose > 0);
	return -1;
}

static inline double source_cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What went wrong mid-way, for the tool to act on (a checker marks its audit incomplete). */
struct source_cli_end {
	int error;                /* 0, or the poll's -errno */
	char message[512];        /* ioasid_trace_last_error() at that point */
};

/* Poll until the source ends (file end, command exit), the duration passes or a signal;
 * `idle` (may be NULL) runs after every poll that delivered nothing. A launched command still
 * running at the end is sent SIGTERM; a live source is drained. Then the recording (-w) is
 * finished. Returns EXIT_OK or EXIT_FAILED (the reason on stderr and in *end). */
static inline int source_cli_run(struct source_cli *s, struct ioasid_trace *t,
				 ioasid_trace_event_fn fn, void *arg, void (*idle)(void *arg),
				 struct source_cli_end *end)
{
	double deadline = s->duration > 0 ? source_cli_now() + s->duration : 0;
	int status = EXIT_OK, rc;

	memset(end, 0, sizeof(*end));
	while (!source_cli_stop) {
		rc = ioasid_trace_poll(t, 100, fn, arg);
		if (rc == -ENODATA || rc == -ECHILD)
			break;
		if (rc < 0 && rc != -EINTR) {
			end->error = rc;
			snprintf(end->message, sizeof(end->message), "%s", ioasid_trace_last_error());
			fprintf(stderr, "%s: %s\n", s->tool, end->message);
			status = EXIT_FAILED;
			break;
		}
		if (rc == 0 && idle)
			idle(arg);
		if (deadline && source_cli_now() >= deadline)
			break;
	}
	/* Stopped early (duration, signal) with the command still running: end it, so the close
	 * (which reaps it) does not wait forever. */
	if (s->t.kind == IOASID_TRACE_LAUNCH && ioasid_trace_child_status(t, NULL) == -EBUSY)
		kill(ioasid_trace_child(t), SIGTERM);
	if (s->t.kind != IOASID_TRACE_FILE && status == EXIT_OK)
		while (ioasid_trace_poll(t, 0, fn, arg) > 0)
			;
	fflush(stdout);
	if (s->t.record_path && ioasid_trace_record_finish(t)) {
		fprintf(stderr, "%s: %s\n", s->tool, ioasid_trace_last_error());
		status = EXIT_FAILED;
	}
	return status;
}

/* "command exited with status N" / "killed by signal N" for a launched command. */
static inline void source_cli_print_child(const struct source_cli *s, struct ioasid_trace *t)
{
	int ws;

	if (s->t.kind != IOASID_TRACE_LAUNCH || ioasid_trace_child_status(t, &ws))
		return;
	if (WIFEXITED(ws))
		fprintf(stderr, "%s: command exited with status %d\n", s->tool, WEXITSTATUS(ws));
	else if (WIFSIGNALED(ws))
		fprintf(stderr, "%s: command killed by signal %d\n", s->tool, WTERMSIG(ws));
}

#endif
