/* test_top_tool.c — ioasid-top end to end (suite top_tool): the operator's view.
 *
 *  - The real TUI in tmux (send-keys, capture-pane) watching the VMM scenario live under the
 *    reference (launch mode, BPF + USDT): the process row with the VMM's pinned guest RAM and
 *    devices; every key (views, sort, filter, detail, pause, help, q); the command's end
 *    shown as [ended]; q leaves with status 0 and the terminal back in cooked mode; SIGTERM
 *    and SIGHUP sent to the running TUI restore the terminal too.
 *  - Batch JSON and text: the final numbers equal what the VMM says it performed (maps,
 *    unmaps, bytes, attaches, detaches); recorded with -w and read back with -r, the same
 *    totals; the OpenMetrics file and the HTTP endpoint carry them too.
 *  - Usage: no terminal without -b, bad flags: exit 2 with a message naming the value.
 * Needs BPF for the live parts (bpf_test.h rules: never skipped under CI=true) and tmux for the
 * TUI (installed by scripts/install-deps.sh; its absence fails under CI=true). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define RUN_TIMEOUT_S 150
#include "run_child.h"
#include "bpf_test.h"

static char top_bin[PATH_MAX], scenario[PATH_MAX];

static void locate(void)
{
	run_locate("../bin/ioasid-top", "../../bin/ioasid-top", top_bin);
	run_locate("clients/vmm_scenario", "../../tests/clients/vmm_scenario", scenario);
}

TestSuite(top_tool, .init = locate, .timeout = 240);

static char *tmp_path(const char *what)
{
	return run_tmp_path("top", what);
}

static char *slurp(const char *path)
{
	char *text = run_slurp(path);

	return text ? text : strdup("");
}

/* What the VMM says it did: "performed: maps=N unmaps=N map_bytes=N unmap_bytes=N
 * attaches=N detaches=N". */
struct performed {
	unsigned long long maps, unmaps, map_bytes, unmap_bytes, attaches, detaches;
};

static struct performed parse_performed(const char *text)
{
	struct performed p;
	const char *l = strstr(text, "performed: ");

	cr_assert_not_null(l, "the VMM printed no 'performed:' line:\n%s", text);
	cr_assert_eq(sscanf(l, "performed: maps=%llu unmaps=%llu map_bytes=%llu unmap_bytes=%llu "
			       "attaches=%llu detaches=%llu", &p.maps, &p.unmaps, &p.map_bytes,
			    &p.unmap_bytes, &p.attaches, &p.detaches), 6, "%s", l);
	return p;
}

/* A number field of a JSON line ("key":N). */
static unsigned long long json_u64(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	cr_assert_not_null(p, "no %s in %.300s", key, line);
	return strtoull(p + strlen(pat), NULL, 10);
}

/* The last line of `text` starting with `prefix`. */
static char *last_line(const char *text, const char *prefix)
{
	const char *p = text, *found = NULL;
	size_t n = strlen(prefix);

	while (p && *p) {
		if (!strncmp(p, prefix, n))
			found = p;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	cr_assert_not_null(found, "no line starting %s", prefix);
	return strndup(found, strcspn(found, "\n"));
}

static void assert_totals(const char *header, const struct performed *p, const char *what)
{
	cr_assert_eq(json_u64(header, "maps"), p->maps, "%s: maps", what);
	cr_assert_eq(json_u64(header, "unmaps"), p->unmaps, "%s: unmaps", what);
	cr_assert_eq(json_u64(header, "map_bytes"), p->map_bytes, "%s: map_bytes", what);
	cr_assert_eq(json_u64(header, "unmap_bytes"), p->unmap_bytes, "%s: unmap_bytes", what);
	cr_assert_eq(json_u64(header, "attach_ops"), p->attaches, "%s: attaches", what);
	cr_assert_eq(json_u64(header, "detach_ops"), p->detaches, "%s: detaches", what);
	cr_assert_eq(json_u64(header, "dropped"), 0, "%s: dropped", what);
}

/* ---- usage ---------------------------------------------------------------------------------- */

Test(top_tool, no_terminal_without_batch_and_bad_flags_exit_2)
{
	struct run r;

	run_v(&r, NULL, (const char *[]){ top_bin, "-r", "/nonexistent", NULL });
	assert_status(&r, 2);
	assert_contains(r.err, "needs a terminal", "stderr");
	assert_contains(r.err, "-b", "stderr");
	run_free(&r);
	run_v(&r, NULL, (const char *[]){ top_bin, "-b", "-V", "galaxy", NULL });
	assert_status(&r, 2);
	assert_contains(r.err, "-V 'galaxy': give process, context, ioas or device", "stderr");
	run_free(&r);
	run_v(&r, NULL, (const char *[]){ top_bin, "-b", "-s", "speed", NULL });
	assert_status(&r, 2);
	assert_contains(r.err, "-s 'speed'", "stderr");
	run_free(&r);
	run_v(&r, NULL, (const char *[]){ top_bin, "-b", "0", NULL });
	assert_status(&r, 2);
	assert_contains(r.err, "INTERVAL '0'", "stderr");
	run_free(&r);
	run_v(&r, NULL, (const char *[]){ top_bin, "-b", "1", "0", NULL });
	assert_status(&r, 2);
	assert_contains(r.err, "COUNT '0'", "stderr");
	run_free(&r);
	run_v(&r, NULL, (const char *[]){ top_bin, "-b", "-l", "nowhere:99999", NULL });
	assert_status(&r, 2);
	assert_contains(r.err, "--listen nowhere:99999", "stderr");
	run_free(&r);
	run_v(&r, NULL, (const char *[]){ top_bin, "-b", "-r", "/nonexistent.trace", NULL });
	assert_status(&r, 2);
	assert_contains(r.err, "/nonexistent.trace", "stderr");
	run_free(&r);
}

/* ---- batch: numbers equal the operations ------------------------------------------------------ */

Test(top_tool, batch_json_numbers_equal_operations_live_and_from_the_recording)
{
	char *rec = tmp_path("rec"), *log = tmp_path("log"), *prom = tmp_path("prom");
	char redirect[PATH_MAX + 32], *header, *row, *text, *m;
	struct performed p;
	struct run r;

	bpf_test_require(true);
	snprintf(redirect, sizeof(redirect), "exec \"$0\" \"$@\" > %s", log);
	run_v(&r, NULL, (const char *[]){ top_bin, "-j", "0.2", "--platform", "", "-w", rec,
					 "-o", prom, "--", "sh", "-c", redirect, scenario, "1",
					 "--guest-invalidates", "--churn", "40", NULL });
	assert_status(&r, 0);
	text = slurp(log);
	p = parse_performed(text);
	cr_assert_eq(p.maps, 513 + 40, "512 chunks of guest RAM, the PASID buffer, the churn");
	header = last_line(r.out, "{\"type\":\"header\"");
	assert_contains(header, "\"ended\":true", "the last update");
	assert_totals(header, &p, "live");
	row = last_line(r.out, "{\"type\":\"row\"");
	assert_contains(row, "\"comm\":\"vmm_scenario\"", "the VMM's row");
	cr_assert_eq(json_u64(row, "maps"), p.maps);
	cr_assert_eq(json_u64(row, "attach_ops"), p.attaches);
	/* the OpenMetrics file of the last update */
	m = slurp(prom);
	{
		char want[128];

		snprintf(want, sizeof(want), "comm=\"vmm_scenario\"} %llu\n", p.maps);
		assert_contains(strstr(m, "ioasid_maps_total{") ?: "", want, "OpenMetrics");
		cr_assert(strlen(m) > 6 && !strcmp(m + strlen(m) - 6, "# EOF\n"), "ends in # EOF");
	}
	free(m);
	free(header);
	free(row);
	run_free(&r);

	/* the recording, read back: the same totals */
	run_v(&r, NULL, (const char *[]){ top_bin, "-j", "-r", rec, NULL });
	assert_status(&r, 0);
	header = last_line(r.out, "{\"type\":\"header\"");
	assert_totals(header, &p, "from the recording");
	cr_assert_eq(strstr(r.out, "{\"type\":\"header\"") , strstr(r.out, header),
		     "without INTERVAL, one update covers the whole recording");
	free(header);
	run_free(&r);
	/* and as text, per 0.1 s of recorded time, the last update sums everything */
	run_v(&r, NULL, (const char *[]){ top_bin, "-b", "-r", rec, "0.1", NULL });
	assert_status(&r, 0);
	assert_contains(r.out, "[ended]", "text");
	assert_contains(r.out, "counts from events", "a file is counted from its events");
	run_free(&r);
	free(text);
	unlink(rec);
	unlink(log);
	unlink(prom);
}

Test(top_tool, openmetrics_endpoint_serves_the_running_vmm)
{
	char *hold = tmp_path("hold"), *log = tmp_path("log");
	char redirect[PATH_MAX + 32], port[16], reply[65536];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct run r;
	pid_t pid;
	int p, fd;
	ssize_t n, got = 0;
	double t0;

	bpf_test_require(true);
	p = 20000 + (int)(getpid() % 20000);
	snprintf(port, sizeof(port), "127.0.0.1:%d", p);
	snprintf(redirect, sizeof(redirect), "exec \"$0\" \"$@\" > %s", log);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execl(top_bin, top_bin, "-j", "0.2", "--platform", "", "-l", port, "--", "sh", "-c",
		      redirect, scenario, "1", "--guest-invalidates", "--hold", hold, (char *)NULL);
		_exit(127);
	}
	/* the VMM is set up once it writes its pid into the hold file */
	for (t0 = now_s(); now_s() - t0 < 90; usleep(50000)) {
		struct stat st;

		if (!stat(hold, &st) && st.st_size > 0)
			break;
	}
	usleep(600000);              /* an update after the setup */
	sa.sin_port = htons((uint16_t)p);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect %s: %s", port,
		     strerror(errno));
	cr_assert_gt(write(fd, "GET /metrics HTTP/1.0\r\n\r\n", 25), 0);
	while ((n = read(fd, reply + got, sizeof(reply) - 1 - (size_t)got)) > 0)
		got += n;
	reply[got] = '\0';
	close(fd);
	unlink(hold);
	waitpid(pid, &p, 0);
	cr_assert(WIFEXITED(p) && WEXITSTATUS(p) == 0, "ioasid-top status %d", p);
	assert_contains(reply, "HTTP/1.1 200 OK", "reply");
	assert_contains(reply, "application/openmetrics-text", "reply");
	assert_contains(reply, "ioasid_devices_bound 3\n", "reply");
	assert_contains(reply, "ioasid_maps_total{pid=", "reply");
	assert_contains(reply, "ioasid_pinned_bytes{", "reply");
	assert_contains(reply, "# EOF\n", "reply");
	(void)r;
	unlink(log);
}

/* ---- the TUI in tmux --------------------------------------------------------------------------- */

static char session[64];

static void tmux(const char *const *args)
{
	const char *argv[32] = { "/usr/bin/tmux", "-L", session };
	struct run r;
	int n = 3;

	for (; *args; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	run_v(&r, NULL, argv);
	cr_assert_eq(r.status, 0, "tmux %s: %s", argv[3], r.err);
	run_free(&r);
}

static char *capture(void)
{
	const char *argv[] = { "/usr/bin/tmux", "-L", session, "capture-pane", "-p", "-t", "top",
			       NULL };
	struct run r;
	char *text;

	run_v(&r, NULL, argv);
	text = strdup(r.out ? r.out : "");
	run_free(&r);
	return text;
}

/* Wait until the screen contains `needle` (and return it), or fail showing the screen. */
static char *wait_screen(const char *needle, double seconds)
{
	char *s = NULL;

	for (double t0 = now_s(); now_s() - t0 < seconds; usleep(100000)) {
		free(s);
		s = capture();
		if (strstr(s, needle))
			return s;
	}
	cr_assert_fail("the screen never showed '%s'; it shows:\n%s", needle, s);
	return NULL;
}

static void keys(const char *k)
{
	tmux((const char *[]){ "send-keys", "-t", "top", k, NULL });
}

static void tmux_require(void)
{
	if (access("/usr/bin/tmux", X_OK)) {
		if (bpf_test_in_ci())
			cr_assert_fail("tmux is missing under CI=true: scripts/install-deps.sh "
				       "installs it");
		fprintf(stderr, "\n*** SKIPPED: tmux is not installed (apt-get install tmux) "
			"***\n\n");
		cr_skip_test("tmux missing");
	}
	snprintf(session, sizeof(session), "ioasid-top-test-%d", (int)getpid());
}

/* Start `command` in a 132x40 tmux pane; when it ends, its status and the terminal's mode are
 * written to `done`. */
static void tmux_start(const char *command, const char *done)
{
	char shell[8192];

	snprintf(shell, sizeof(shell), "%s; echo status=$? > %s.tmp; stty -a >> %s.tmp; "
		 "mv %s.tmp %s; sleep 60", command, done, done, done, done);
	tmux((const char *[]){ "new-session", "-d", "-s", "top", "-x", "132", "-y", "40", shell,
			       NULL });
}

static char *wait_done(const char *done)
{
	for (double t0 = now_s(); now_s() - t0 < 30; usleep(100000)) {
		char *s = slurp(done);

		if (strstr(s, "status="))
			return s;
		free(s);
	}
	cr_assert_fail("ioasid-top did not exit; screen:\n%s", capture());
	return NULL;
}

static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = strstr(text, word); p; p = strstr(p + 1, word))
		if ((p == text || p[-1] == ' ' || p[-1] == '\n') &&
		    (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

static void assert_cooked(const char *stty)
{
	/* the terminal as ioasid-top found it: canonical input, echo, signals */
	cr_assert(has_word(stty, "icanon") && !has_word(stty, "-icanon"), "not cooked:\n%s", stty);
	cr_assert(has_word(stty, "echo") && !has_word(stty, "-echo"), "no echo:\n%s", stty);
	cr_assert(has_word(stty, "isig") && !has_word(stty, "-isig"), "no isig:\n%s", stty);
}

Test(top_tool, tui_in_tmux_keys_views_and_the_terminal_restored)
{
	char *hold = tmp_path("hold"), *log = tmp_path("log"), *done = tmp_path("done");
	char cmd[16384], *s, *d;

	bpf_test_require(true);
	tmux_require();
	unlink(done);
	snprintf(cmd, sizeof(cmd), "%s -d 0.3 --platform '' -- sh -c 'exec \"$0\" \"$@\" > %s' "
		 "%s 1 --guest-invalidates --churn 20 --hold %s", top_bin, log, scenario, hold);
	tmux_start(cmd, done);

	/* the VMM holds with everything attached: its row, its devices, its pinned guest RAM */
	for (double t0 = now_s(); now_s() - t0 < 90; usleep(100000)) {
		struct stat st;

		if (!stat(hold, &st) && st.st_size > 0)
			break;
	}
	s = wait_screen("pinned 1.0G", 10);   /* 1 GiB of guest RAM and a 2 MiB buffer */
	assert_contains(s, "process view", "title");
	assert_contains(s, "vmm_scenario", "the VMM's row");
	assert_contains(s, "devices bound 3", "NVMe, DSA, GPU");
	assert_contains(s, "map_s", "column header");
	assert_contains(s, "q quit", "key line");
	free(s);

	keys("v");
	free(wait_screen("context view", 5));
	keys("v");
	s = wait_screen("ioas view", 5);
	assert_contains(s, "ioas ", "an IOAS row");
	free(s);
	keys("Tab");
	s = wait_screen("device view", 5);
	assert_contains(s, "0000:00:02.0", "the NVMe");
	assert_contains(s, "0000:00:04.0", "the GPU");
	free(s);

	/* filter the device view to the GPU, then clear it */
	keys("f");
	free(wait_screen("filter:", 5));
	tmux((const char *[]){ "send-keys", "-t", "top", "-l", "00:04", NULL });
	keys("Enter");
	s = wait_screen("filter:00:04", 5);
	cr_assert_null(strstr(s, "0000:00:02.0"), "the NVMe is filtered out:\n%s", s);
	assert_contains(s, "0000:00:04.0", "the GPU stays");
	free(s);
	keys("f");
	keys("BSpace");
	keys("BSpace");
	keys("BSpace");
	keys("BSpace");
	keys("BSpace");
	keys("Enter");
	free(wait_screen("0000:00:02.0", 5));

	/* sort: load, then the first column; reversed */
	keys("s");
	free(wait_screen("sort:map_s", 5));
	keys("S");
	keys("1");
	free(wait_screen("process view", 5));

	/* detail of the VMM: histograms and its last events */
	keys("Enter");
	s = wait_screen("map latency", 5);
	assert_contains(s, "last events", "detail");
	assert_contains(s, "ioas_", "an IOAS event among the last");
	free(s);
	keys("Escape");
	free(wait_screen("Enter detail", 5));   /* (ESC and a key right after it is Alt-key) */

	/* pause freezes the screen; again resumes */
	keys("p");
	free(wait_screen("[paused]", 5));
	keys("p");
	for (double t0 = now_s(); now_s() - t0 < 5; usleep(100000)) {
		s = capture();
		if (!strstr(s, "[paused]"))
			break;
		free(s);
		s = NULL;
	}
	cr_assert_not_null(s, "still paused");
	free(s);
	keys("?");
	free(wait_screen("Keys", 5));
	keys("Escape");
	free(wait_screen("Enter detail", 5));
	keys("j");
	keys("k");
	keys("Down");
	keys("Up");

	/* the VMM tears down and exits: [ended], its totals stay */
	unlink(hold);
	s = wait_screen("[ended]", 60);
	assert_contains(s, "devices bound 0", "everything closed");
	free(s);
	keys("q");
	d = wait_done(done);
	assert_contains(d, "status=0", "exit status");
	assert_cooked(d);
	free(d);
	d = slurp(log);
	parse_performed(d);
	free(d);
	tmux((const char *[]){ "kill-server", NULL });
	unlink(log);
	unlink(done);
}

static void signal_restores(const char *sig)
{
	char *done = tmp_path("done");
	char cmd[16384], *d;
	struct run r;

	tmux_require();
	unlink(done);
	/* the reference users of the whole host: nothing needs to run */
	snprintf(cmd, sizeof(cmd), "%s -d 0.3", top_bin);
	tmux_start(cmd, done);
	free(wait_screen("reference: every process", 20));
	run_v(&r, NULL, (const char *[]){ "/usr/bin/pkill", sig, "-f", "^[^ ]*ioasid-top -d 0.3$", NULL });
	cr_assert_eq(r.status, 0, "pkill found no ioasid-top");
	run_free(&r);
	d = wait_done(done);
	assert_cooked(d);
	free(d);
	/* and the screen is the shell's again: the alternate screen was left */
	d = capture();
	cr_assert_null(strstr(d, "q quit"), "the TUI is still on screen:\n%s", d);
	free(d);
	tmux((const char *[]){ "kill-server", NULL });
	unlink(done);
}

Test(top_tool, sigterm_restores_the_terminal)
{
	bpf_test_require(true);
	signal_restores("-TERM");
}

Test(top_tool, sighup_restores_the_terminal)
{
	bpf_test_require(true);
	signal_restores("-HUP");
}
