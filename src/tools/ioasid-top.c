/* ioasid-top — live monitoring of IOMMU activity: who maps, unmaps, pins, flushes and faults.
 *
 *   ioasid-top [OPTIONS] [INTERVAL [COUNT]]                 every process using the reference
 *   ioasid-top [OPTIONS] [INTERVAL [COUNT]] -p PID | -k | -r FILE
 *   ioasid-top [OPTIONS] [INTERVAL [COUNT]] -- COMMAND [ARG...]
 *
 * Glue only (src/top/top.h has the model): the trace library collects (events + the BPF per-CPU
 * aggregates), the engine updates (ticks, snapshots), arrange sorts and filters, the renderers
 * print. The interactive loop polls the source, the terminal and the metrics socket together;
 * a tick happens every INTERVAL seconds of the source's clock (CLOCK_MONOTONIC live, the
 * recorded timestamps for a file).
 * Exit status: 0; 1 the source failed mid-way; 2 could not start.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "ioasid/trace.h"
#include "tools/source_cli.h"
#include "top/format.h"
#include "top/top.h"
#include "top/ui.h"

enum {
	OPT_SOURCE = SRC_OPT_TOOL, OPT_VIEW, OPT_SORT, OPT_FILTER, OPT_METRICS, OPT_LISTEN,
	OPT_MAX_SERIES, OPT_ASCENDING,
};

#define DEFAULT_MAX_SERIES 64
#define EVENTS_PER_SLICE 65536        /* events handled between looks at the keyboard */

struct options {
	struct source_cli src;
	double interval;                  /* seconds between ticks */
	bool interval_given;
	long count;                       /* ticks to show, 0: until the end */
	bool batch, json;
	enum top_view view;
	int sort;
	bool ascending;
	const char *filter;
	const char *metrics_path;         /* OpenMetrics file, rewritten every tick */
	const char *listen;               /* [ADDR:]PORT of the OpenMetrics endpoint */
	size_t max_series;
};

struct monitor {
	struct options *o;
	struct ioasid_trace *t;
	struct top_engine *engine;
	struct top_snapshot shown;        /* arranged, on screen / printed */
	struct top_ui ui;
	struct top_tty tty;
	bool interactive;
	long ticks;
	int listen_fd;
	char *metrics;                    /* the last OpenMetrics text (endpoint) */
	size_t metrics_len;
	int feed_error;
	/* a trace file: ticks in recorded time */
	uint64_t file_next_tick;
	bool file_started;
	int tick_error;
};

static void usage(FILE *out)
{
	fprintf(out,
"Usage: ioasid-top [OPTIONS] [INTERVAL [COUNT]]\n"
"       ioasid-top [OPTIONS] [INTERVAL [COUNT]] -p PID | -k | -r FILE\n"
"       ioasid-top [OPTIONS] [INTERVAL [COUNT]] -- COMMAND [ARG...]\n"
"\n"
"Live monitoring of IOMMU activity: one row per process, context, IOAS (or domain) or device\n"
"with maps/unmaps per second, bytes mapped per second, pinned memory and memlock headroom,\n"
"IOTLB invalidations, attachments, PASIDs, faults, and map/unmap latency percentiles.\n"
"Counts come from the BPF programs' per-CPU aggregates (exact even when events are dropped);\n"
"the event stream gives the state (contexts, devices, attachments, pinned pages) and the\n"
"last events of each row.\n"
"\n"
"Sources (default: every process on this host using the reference through ioasid-run):\n"
"      --source reference|kernel|FILE   the host's reference users, the running kernel, or\n"
"                          a trace file\n"
"  -- COMMAND [ARG...]     run COMMAND under ioasid-run and follow it from its first\n"
"                          instruction\n"
"  -p, --pid PID           a running process that uses the reference\n"
"  -k, --kernel            the running kernel (iommu:* tracepoints; fentry where allowed)\n"
"  -r, --read FILE         a trace file (ticks in recorded time)\n"
"\n"
"Options:\n"
"  INTERVAL                seconds between updates (default 1; same as -d)\n"
"  COUNT                   stop after COUNT updates\n"
"  -d, --delay SECONDS     seconds between updates\n"
"  -b, --batch             no terminal UI: print every update as text (for scripts and logs)\n"
"  -j, --json              JSON Lines: per update one header object, then one object per row;\n"
"                          keys are the column names, values in raw units\n"
"  -V, --view NAME         process (default), context, ioas or device\n"
"  -s, --sort COLUMN       sort by a column (default: load, the busiest row first)\n"
"      --ascending         smallest first\n"
"  -f, --filter TEXT       rows whose name, command, device or group contains TEXT, or whose\n"
"                          pid or context is TEXT\n"
"  -o, --metrics FILE      write OpenMetrics text to FILE every update (atomically replaced;\n"
"                          for node_exporter's textfile collector)\n"
"  -l, --listen [ADDR:]PORT  serve OpenMetrics at http://ADDR:PORT/metrics (default ADDR\n"
"                          127.0.0.1)\n"
"      --max-series N      label sets per metric family (default %d; the rest are summed\n"
"                          into pid=\"other\")\n"
"  -w, --write FILE        also record every event to FILE\n"
"      --platform NAME     shared mock host for a launched COMMAND (default \"default\"; \"\"\n"
"                          for a private one)\n"
"      --binary PATH       the object holding the probes (-p, --source reference)\n"
"      --btf PATH          kernel BTF to use instead of /sys/kernel/btf/vmlinux\n"
"      --ringbuf BYTES     ring buffer size (default 8 MiB)\n"
"      --dry-run           show what would be attached; load nothing\n"
"      --check             pre-flight only: say what this process lacks for the source\n"
"  -v, --verbose           libbpf's log on stderr\n"
"  -h, --help              this help\n"
"\n"
"Columns: map_s unmap_s map_bytes_s pinned headroom inv_s attach pasids fault_s map_p50\n"
"map_p99 unmap_p50 unmap_p99 (latencies over the interval, from log2 histograms: within a\n"
"factor of two).\n"
"Keys: q/Esc quit, j/k or arrows move, s sort (S reverse), f filter, v/Tab view (1-4),\n"
"Enter detail (histograms, last events), p pause, ? help.\n"
"\n"
"Examples:\n"
"  ioasid-top                                   watch every VMM using the reference\n"
"  ioasid-top -V device -- ./vmm --ram 4G       one VMM, per device\n"
"  ioasid-top -b -j 1 10 -p 1234 > top.jsonl    ten one-second updates as JSON Lines\n"
"  ioasid-top -b -r vm.trace                    a recording, summed over its whole length\n"
"  ioasid-top -l 9464 -b -j > /dev/null         an OpenMetrics endpoint for Prometheus\n",
		DEFAULT_MAX_SERIES);
}

static double parse_seconds(struct source_cli *s, const char *what, const char *arg)
{
	char *end;
	double v = strtod(arg, &end);

	if (!*arg || *end || !(v >= 0.01) || v > 86400)
		source_cli_die(s, "%s '%s': give seconds between 0.01 and 86400", what, arg);
	return v;
}

static int parse_sort(const char *name)
{
	if (!strcmp(name, "load"))
		return TOP_SORT_LOAD;
	for (int c = 0; c < TOP_COL_COUNT; c++)
		if (!strcmp(name, top_col_name((enum top_col)c)))
			return c;
	return -2;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- OpenMetrics: file and endpoint ---------------------------------------------------------- */

static int metrics_update(struct monitor *m)
{
	struct top_snapshot procs;
	FILE *f;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!m->o->metrics_path && m->listen_fd < 0)
		return 0;
	rc = top_engine_view(m->engine, TOP_VIEW_PROCESS, &procs);
	if (rc)
		return rc;
	top_arrange_sort(&procs, TOP_SORT_LOAD, false);
	f = open_memstream(&text, &len);
	if (!f) {
		top_snapshot_free(&procs);
		return -errno;
	}
	top_output_openmetrics(f, &procs, m->o->max_series);
	fclose(f);
	top_snapshot_free(&procs);
	if (m->o->metrics_path) {
		char tmp[4096];
		struct stat st;
		FILE *out;
		/* A regular file is replaced whole (a scraper never reads half of it); anything
		 * else (a pipe, /dev/stdout) is written in place. */
		bool in_place = !stat(m->o->metrics_path, &st) && !S_ISREG(st.st_mode);

		snprintf(tmp, sizeof(tmp), "%s%s", m->o->metrics_path, in_place ? "" : ".tmp");
		out = fopen(tmp, "w");
		if (!out || fwrite(text, 1, len, out) != len || fclose(out) ||
		    (!in_place && rename(tmp, m->o->metrics_path))) {
			rc = -errno;
			fprintf(stderr, "ioasid-top: --metrics %s: %s: give a writable path\n",
				m->o->metrics_path, strerror(errno));
			free(text);
			return rc ? rc : -EIO;
		}
	}
	free(m->metrics);
	m->metrics = text;
	m->metrics_len = len;
	return 0;
}

static int listen_open(const char *spec)
{
	char host[64] = "127.0.0.1";
	const char *colon = strrchr(spec, ':');
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char *end;
	long port;
	int fd, one = 1;

	if (colon) {
		if ((size_t)(colon - spec) >= sizeof(host))
			return -EINVAL;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
		spec = colon + 1;
	}
	port = strtol(spec, &end, 10);
	if (!*spec || *end || port < 1 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* One HTTP request: GET /metrics gets the last text; anything else 404. Never blocks long. */
static void listen_serve(struct monitor *m)
{
	static const char ctype[] = "application/openmetrics-text; version=1.0.0; charset=utf-8";
	char req[2048], head[256];
	struct pollfd p;
	ssize_t n = 0;
	int fd, hl;

	fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 200) == 1)
		n = read(fd, req, sizeof(req) - 1);
	req[n > 0 ? n : 0] = '\0';
	if (!strncmp(req, "GET /metrics ", 13) || !strncmp(req, "GET /metrics?", 13)) {
		hl = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
			      "Content-Length: %zu\r\nConnection: close\r\n\r\n", ctype,
			      m->metrics_len);
		if (write(fd, head, (size_t)hl) == hl && m->metrics_len)
			(void)!write(fd, m->metrics, m->metrics_len);
	} else {
		static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 30\r\n"
					 "Connection: close\r\n\r\nonly /metrics is served here\r\n";

		(void)!write(fd, nf, sizeof(nf) - 1);
	}
	close(fd);
}

/* ---- snapshot → screen / output -------------------------------------------------------------- */

static int table_lines(int height)
{
	int header, rows;

	top_render_table_geometry(height, &header, &rows);
	return rows > 0 ? rows : 1;
}

static void draw(struct monitor *m)
{
	int w, h, sel = -1, header = -1, rows;
	char *lines;

	top_tty_size(&m->tty, &w, &h);
	if (w < 20 || h < 5)
		return;
	lines = malloc((size_t)h * (size_t)(w + 1));
	if (!lines)
		return;
	top_ui_clamp(&m->ui, m->shown.nr_rows, table_lines(h));
	top_render_screen(&m->shown, &m->ui, w, h, lines, &sel);
	if (m->ui.mode == TOP_MODE_TABLE || m->ui.mode == TOP_MODE_FILTER)
		top_render_table_geometry(h, &header, &rows);
	top_tty_draw(&m->tty, lines, w, h, sel, header);
	free(lines);
}

/* Rebuild the arranged snapshot of the current view from the last tick. */
static int rearrange(struct monitor *m)
{
	struct top_snapshot s;
	int rc = top_engine_view(m->engine, m->ui.view, &s);

	if (rc)
		return rc;
	top_arrange_filter(&s, m->ui.filter);
	top_arrange_sort(&s, m->ui.sort, m->ui.ascending);
	top_snapshot_free(&m->shown);
	m->shown = s;
	return 0;
}

static void print_update(struct monitor *m)
{
	if (m->o->json) {
		top_output_json(stdout, &m->shown);
	} else {
		if (m->ticks > 1)
			putchar('\n');
		top_output_text(stdout, &m->shown);
	}
	fflush(stdout);
}

/* End an interval: aggregates in, a tick, outputs. */
static int tick(struct monitor *m, uint64_t now_ns)
{
	struct ioasid_trace_stats st;
	int rc;

	if (m->o->src.t.kind != IOASID_TRACE_FILE) {
		rc = ioasid_trace_aggregates(m->t, (ioasid_trace_agg_fn)top_engine_aggregate,
					     m->engine);
		if (rc && rc != -EOPNOTSUPP)
			return rc;
		if (!ioasid_trace_stats(m->t, &st))
			top_engine_note_stats(m->engine, st.received, st.dropped, st.agg_full);
	}
	rc = top_engine_tick(m->engine, now_ns, (int64_t)time(NULL));
	if (rc)
		return rc;
	m->ticks++;
	if (!m->interactive || !m->ui.paused) {
		rc = rearrange(m);
		if (rc)
			return rc;
	}
	rc = metrics_update(m);
	if (rc)
		return rc;
	if (!m->interactive)
		print_update(m);
	else
		draw(m);
	return 0;
}

/* ---- the loops ----------------------------------------------------------------------------- */

static int on_event(void *arg, const struct ioasid_event *ev)
{
	struct monitor *m = arg;
	int rc;

	/* A trace file ticks on its own clock: every interval of recorded time. */
	if (m->o->src.t.kind == IOASID_TRACE_FILE) {
		uint64_t step = (uint64_t)(m->o->interval * 1e9);

		if (!m->file_started) {
			m->file_started = true;
			top_engine_tick(m->engine, ev->ts_ns, 0);
			m->file_next_tick = ev->ts_ns + step;
		}
		while (m->o->interval_given && ev->ts_ns >= m->file_next_tick) {
			if ((rc = tick(m, m->file_next_tick))) {
				m->tick_error = rc;
				return rc;
			}
			m->file_next_tick += step;
			if (m->o->count && m->ticks >= m->o->count)
				return 1;
		}
	}
	rc = top_engine_feed(m->engine, ev);
	if (rc && !m->feed_error)
		m->feed_error = rc;
	return 0;
}

static bool handle_keys(struct monitor *m)
{
	enum top_view view = m->ui.view;
	int sort = m->ui.sort, w, h, key;
	bool asc = m->ui.ascending, paused = m->ui.paused, redraw = false;
	char filter[sizeof(m->ui.filter)];

	memcpy(filter, m->ui.filter, sizeof(filter));
	top_tty_size(&m->tty, &w, &h);
	while ((key = top_tty_read_key(&m->tty, 0)) > 0) {
		if (key == TOP_KEY_RESIZE || key == TOP_KEY_REDRAW) {
			m->tty.clear_next = true;
			redraw = true;
			continue;
		}
		top_ui_key(&m->ui, key, &m->shown, table_lines(h));
		redraw = true;
	}
	if (m->ui.quit || top_tty_should_quit())
		return false;
	if (view != m->ui.view || sort != m->ui.sort || asc != m->ui.ascending ||
	    strcmp(filter, m->ui.filter) || (paused && !m->ui.paused))
		rearrange(m);
	if (redraw)
		draw(m);
	return true;
}

static int run_live(struct monitor *m)
{
	uint64_t step = (uint64_t)(m->o->interval * 1e9), next = mono_ns() + step;
	int status = EXIT_OK, rc, src_fd = ioasid_trace_fd(m->t);
	bool ended = false;

	if (m->interactive)
		draw(m);
	while (!source_cli_stop && !top_tty_should_quit()) {
		struct pollfd pfd[2 + TOP_TTY_NFDS];
		int n = 0, timeout;
		uint64_t now = mono_ns();

		if (now >= next) {
			if ((rc = tick(m, now))) {
				fprintf(stderr, "ioasid-top: %s\n", strerror(-rc));
				status = EXIT_FAILED;
				break;
			}
			next = now - (now - next) % step + step;
			if (m->o->count && m->ticks >= m->o->count)
				break;
			if (ended && !m->interactive)
				break;
		}
		timeout = (int)((next - now) / 1000000) + 1;
		if (!ended && src_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = src_fd, .events = POLLIN };
		if (m->listen_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
		if (m->interactive) {
			top_tty_pollfds(&m->tty, &pfd[n]);
			n += TOP_TTY_NFDS;
			if (top_tty_pending(&m->tty))
				timeout = 0;
		}
		if (!ended)
			timeout = timeout > 100 ? 100 : timeout;  /* a launched command's exit */
		if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR) {
			status = EXIT_FAILED;
			break;
		}
		if (!ended) {
			int got = 0;

			do {
				rc = ioasid_trace_poll(m->t, 0, on_event, m);
				got += rc > 0 ? rc : 0;
			} while (rc > 0 && got < EVENTS_PER_SLICE);
			if (rc == -ECHILD) {
				/* Everything the command did is in: a last tick, then batch ends
				 * and the UI stays until q. */
				ended = true;
				top_engine_note_ended(m->engine);
				next = mono_ns();
			} else if (rc < 0 && rc != -EINTR) {
				fprintf(stderr, "ioasid-top: %s\n", ioasid_trace_last_error());
				status = EXIT_FAILED;
				break;
			}
		}
		if (m->listen_fd >= 0)
			for (int i = 0; i < n; i++)
				if (pfd[i].fd == m->listen_fd && (pfd[i].revents & POLLIN))
					listen_serve(m);
		if (m->interactive && !handle_keys(m))
			break;
	}
	return status;
}

static int run_file(struct monitor *m)
{
	int rc;

	do {
		rc = ioasid_trace_poll(m->t, -1, on_event, m);
	} while (rc > 0 && !source_cli_stop);
	if (m->tick_error) {
		fprintf(stderr, "ioasid-top: %s\n", strerror(-m->tick_error));
		return EXIT_FAILED;
	}
	if (rc == 1 || (m->o->count && m->ticks >= m->o->count))
		return EXIT_OK;     /* COUNT updates shown */
	top_engine_note_ended(m->engine);
	if (rc != -ENODATA && rc != 0) {
		fprintf(stderr, "ioasid-top: %s (what came before is shown)\n",
			ioasid_trace_last_error());
	}
	/* The rest of the recording (all of it without INTERVAL) is the last update. */
	if (m->file_started) {
		struct ioasid_trace_stats st;

		if (!ioasid_trace_stats(m->t, &st))
			top_engine_note_stats(m->engine, st.received, st.dropped, st.agg_full);
		if ((rc = tick(m, top_engine_last_ts(m->engine)))) {
			fprintf(stderr, "ioasid-top: %s\n", strerror(-rc));
			return EXIT_FAILED;
		}
	} else if (!m->interactive) {
		fprintf(stderr, "ioasid-top: %s holds no events\n", m->o->src.t.path);
	}
	if (m->interactive) {
		draw(m);
		while (!top_tty_should_quit() && !source_cli_stop) {
			struct pollfd pfd[TOP_TTY_NFDS];

			top_tty_pollfds(&m->tty, pfd);
			if (!top_tty_pending(&m->tty) && poll(pfd, TOP_TTY_NFDS, -1) < 0 &&
			    errno != EINTR)
				break;
			if (!handle_keys(m))
				break;
		}
	}
	return rc == -EBADMSG ? EXIT_FAILED : EXIT_OK;
}

/* ---- command line ---------------------------------------------------------------------------- */

static void parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "delay", required_argument, NULL, 'd' },
		SRC_LONG_OPTS,
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "batch", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "view", required_argument, NULL, 'V' },
		{ "sort", required_argument, NULL, 's' },
		{ "ascending", no_argument, NULL, OPT_ASCENDING },
		{ "filter", required_argument, NULL, 'f' },
		{ "metrics", required_argument, NULL, 'o' },
		{ "listen", required_argument, NULL, 'l' },
		{ "max-series", required_argument, NULL, OPT_MAX_SERIES },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct source_cli *s = &o->src;
	int c, v;
	char *end;

	/* Options, INTERVAL and COUNT in any order; the command after "--". */
	for (int pos = 0;;) {
		while ((c = getopt_long(argc, argv, "+:" SRC_SHORT_OPTS "bjV:s:f:o:l:h", longopts,
					NULL)) != -1) {
			if (c == 'd') {          /* -d is the delay here, as in top and bcc's tools */
				o->interval = parse_seconds(s, "-d", optarg);
				o->interval_given = true;
				continue;
			}
			if (source_cli_option(s, c, optarg, argv))
				continue;
			switch (c) {
			case OPT_SOURCE:
				if (!strcmp(optarg, "reference")) {
					s->t.kind = IOASID_TRACE_HOST;
				} else if (!strcmp(optarg, "kernel")) {
					s->t.kind = IOASID_TRACE_KERNEL;
				} else {
					s->t.kind = IOASID_TRACE_FILE;
					s->t.path = optarg;
				}
				s->nsrc++;
				break;
			case 'b':
				o->batch = true;
				break;
			case 'j':
				o->json = o->batch = true;
				break;
			case 'V':
				v = top_view_from_name(optarg);
				if (v < 0)
					source_cli_die(s, "-V '%s': give process, context, ioas or device",
						       optarg);
				o->view = (enum top_view)v;
				break;
			case 's':
				o->sort = parse_sort(optarg);
				if (o->sort == -2)
					source_cli_die(s, "-s '%s': give load or a column: map_s unmap_s "
						       "map_bytes_s pinned headroom inv_s attach pasids fault_s "
						       "map_p50 map_p99 unmap_p50 unmap_p99", optarg);
				break;
			case OPT_ASCENDING:
				o->ascending = true;
				break;
			case 'f':
				if (strlen(optarg) >= sizeof(((struct top_ui *)0)->filter))
					source_cli_die(s, "-f '%s': at most %zu characters", optarg,
						       sizeof(((struct top_ui *)0)->filter) - 1);
				o->filter = optarg;
				break;
			case 'o':
				o->metrics_path = optarg;
				break;
			case 'l':
				o->listen = optarg;
				break;
			case OPT_MAX_SERIES:
				o->max_series = strtoul(optarg, &end, 10);
				if (!*optarg || *end || o->max_series < 1 || o->max_series > 100000)
					source_cli_die(s, "--max-series '%s': give 1 .. 100000", optarg);
				break;
			case 'h':
				usage(stdout);
				exit(EXIT_OK);
			}
		}
		if (optind >= argc || !strcmp(argv[optind - 1], "--"))
			break;
		if (!strcmp(argv[optind], "--")) {
			optind++;
			break;
		}
		if (pos == 0) {
			o->interval = parse_seconds(s, "INTERVAL", argv[optind]);
			o->interval_given = true;
		} else if (pos == 1) {
			long n = strtol(argv[optind], &end, 10);

			if (!*argv[optind] || *end || n < 1)
				source_cli_die(s, "COUNT '%s': give a number of updates >= 1",
					       argv[optind]);
			o->count = n;
		} else {
			source_cli_die(s, "'%s': put the command after '--'", argv[optind]);
		}
		optind++;
		pos++;
	}
	if (optind < argc) {
		s->t.kind = IOASID_TRACE_LAUNCH;
		s->t.argv = &argv[optind];
		s->nsrc++;
	}
	if (s->nsrc > 1)
		source_cli_die(s, "give one source: --source, -- COMMAND, -p PID, -k or -r FILE");
	if (!s->nsrc)
		s->t.kind = IOASID_TRACE_HOST;
	if (s->t.kind == IOASID_TRACE_FILE && s->t.dry_run)
		source_cli_die(s, "--dry-run applies to live sources, not to a trace file");
	if (s->duration > 0)
		source_cli_die(s, "ioasid-top has no --duration: give INTERVAL COUNT");
	if (s->t.kind == IOASID_TRACE_FILE && (o->listen || o->metrics_path) && !o->batch)
		source_cli_die(s, "--metrics/--listen with a trace file: add -b");
}

static void source_text(const struct options *o, char *buf, size_t len)
{
	const struct ioasid_trace_opts *t = &o->src.t;
	struct utsname u;

	switch (t->kind) {
	case IOASID_TRACE_HOST:
		snprintf(buf, len, "reference: every process");
		break;
	case IOASID_TRACE_PID:
		snprintf(buf, len, "pid %d", (int)t->pid);
		break;
	case IOASID_TRACE_LAUNCH:
		snprintf(buf, len, "command %s", t->argv[0]);
		break;
	case IOASID_TRACE_KERNEL:
		snprintf(buf, len, "kernel %s", uname(&u) ? "?" : u.release);
		break;
	case IOASID_TRACE_FILE: {
		const char *slash = strrchr(t->path, '/');

		snprintf(buf, len, "file %s", slash ? slash + 1 : t->path);
		break;
	}
	default:
		snprintf(buf, len, "?");
	}
}

int main(int argc, char **argv)
{
	struct options o = { .interval = 1.0, .max_series = DEFAULT_MAX_SERIES,
			     .sort = TOP_SORT_LOAD };
	struct monitor m = { .o = &o, .listen_fd = -1 };
	struct top_engine_opts eo = { .sz = sizeof(eo) };
	char source[96];
	int status, rc;

	source_cli_init(&o.src, "ioasid-top");
	opterr = 0;
	parse(argc, argv, &o);

	top_ui_init(&m.ui);
	m.ui.view = o.view;
	m.ui.sort = o.sort;
	m.ui.ascending = o.ascending;
	if (o.filter)
		snprintf(m.ui.filter, sizeof(m.ui.filter), "%s", o.filter);
	m.interactive = !o.batch;
	if (m.interactive && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		fprintf(stderr, "ioasid-top: the interactive view needs a terminal on stdin and "
			"stdout: use -b (text) or -j (JSON Lines) for batch mode\n");
		return EXIT_CANNOT_RUN;
	}
	if (o.listen) {
		m.listen_fd = listen_open(o.listen);
		if (m.listen_fd < 0) {
			fprintf(stderr, "ioasid-top: --listen %s: %s: give [ADDR:]PORT with an IPv4 "
				"address and a free port\n", o.listen, strerror(-m.listen_fd));
			return EXIT_CANNOT_RUN;
		}
	}

	o.src.t.produce = IOASID_TRACE_EVENTS | IOASID_TRACE_AGGREGATES;
	status = source_cli_open(&o.src, &m.t);
	if (status >= 0)
		return status;
	source_text(&o, source, sizeof(source));
	eo.aggregates_from_bpf = o.src.t.kind != IOASID_TRACE_FILE;
	eo.read_comm = o.src.t.kind != IOASID_TRACE_FILE;
	eo.source = source;
	if (ioasid_trace_observable(m.t, &eo.observable))
		eo.observable = 0;
	rc = top_engine_new(&eo, &m.engine);
	if (rc) {
		fprintf(stderr, "ioasid-top: cannot start: %s\n", strerror(-rc));
		ioasid_trace_close(m.t);
		return EXIT_CANNOT_RUN;
	}
	/* The first tick opens the first interval. */
	if (o.src.t.kind != IOASID_TRACE_FILE) {
		top_engine_tick(m.engine, mono_ns(), (int64_t)time(NULL));
		rearrange(&m);
	}
	if (m.interactive && (rc = top_tty_open(&m.tty, STDIN_FILENO, STDOUT_FILENO))) {
		fprintf(stderr, "ioasid-top: cannot take the terminal: %s\n", strerror(-rc));
		status = EXIT_CANNOT_RUN;
		goto out;
	}
	status = o.src.t.kind == IOASID_TRACE_FILE ? run_file(&m) : run_live(&m);
	if (m.interactive)
		top_tty_close(&m.tty);
	if (o.src.t.kind == IOASID_TRACE_LAUNCH && ioasid_trace_child_status(m.t, NULL) == -EBUSY)
		kill(ioasid_trace_child(m.t), SIGTERM);
	if (o.src.t.record_path && ioasid_trace_record_finish(m.t)) {
		fprintf(stderr, "ioasid-top: %s\n", ioasid_trace_last_error());
		status = EXIT_FAILED;
	}
	if (m.feed_error)
		fprintf(stderr, "ioasid-top: out of memory: some events were not counted\n");
	if (m.shown.hdr.dropped)
		fprintf(stderr, "ioasid-top: %llu events were dropped by the ring buffer (counts stay "
			"exact; state and last events may lag): rerun with a larger --ringbuf\n",
			(unsigned long long)m.shown.hdr.dropped);
out:
	top_snapshot_free(&m.shown);
	top_engine_free(m.engine);
	ioasid_trace_close(m.t);
	if (m.listen_fd >= 0)
		close(m.listen_fd);
	free(m.metrics);
	return status;
}
