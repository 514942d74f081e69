/* tty.c — ioasid-top's terminal: raw mode, the alternate screen, frames, keys, and giving the
 * terminal back on every way out.
 *
 * Ways out, and what restores the terminal on each:
 *   top_tty_close                    the normal path (idempotent)
 *   exit() without close             an atexit handler
 *   SIGINT SIGTERM SIGHUP SIGQUIT    the handler only sets a flag (and wakes poll through a
 *                                    pipe); the main loop sees top_tty_should_quit() and closes.
 *                                    A signal ignored when we opened (nohup, `&`) stays ignored.
 *   SIGSEGV SIGBUS SIGABRT SIGFPE    the handler restores the terminal, puts the previous
 *   SIGILL SIGSYS                    disposition back, then re-raises a sent signal, or returns
 *                                    from a hardware fault so the instruction faults again —
 *                                    the process dies (or a sanitizer reports) where it crashed
 *   Ctrl-Z (a key: ISIG is off)      top_tty_suspend: restore, SIGSTOP, take the terminal again
 *   SIGTSTP from kill                the same, in the handler
 *   SIGCONT                          take the terminal again (after kill -STOP / -CONT)
 *   SIGWINCH                         a flag: TOP_KEY_RESIZE, and the next frame clears first
 *
 * State the handlers touch is static and set before they are installed: the fds, the saved and
 * the raw termios, the previous dispositions, the wake pipe. Restoring uses only write(),
 * tcsetattr() and sigaction(), which are async-signal-safe. `tty_raw` says whether the terminal
 * is ours right now, so leave/enter are idempotent whoever calls them (main loop, handler,
 * atexit). atexit never touches struct top_tty: it may live on main's stack, gone by then.
 * Signals are process-wide, so one terminal per process (-EBUSY for a second).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "top/ui.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Alternate screen (saves the cursor, clears), cursor hidden, no autowrap: a line that fills
 * the last column never scrolls the screen. */
#define TTY_ENTER "\033[?1049h\033[?25l\033[?7l"
/* Attributes off, autowrap and cursor back, main screen (restores the cursor). */
#define TTY_LEAVE "\033[0m\033[?7h\033[?25h\033[?1049l"
/* Synchronized output (terminals that lack it ignore the private mode): no half frames. */
#define TTY_SYNC_BEGIN "\033[?2026h"
#define TTY_SYNC_END "\033[?2026l"

#define TTY_SIZE_MAX 9999               /* columns or lines believed from $COLUMNS / $LINES */

static void tty_on_quit(int sig, siginfo_t *si, void *uc);
static void tty_on_winch(int sig, siginfo_t *si, void *uc);
static void tty_on_tstp(int sig, siginfo_t *si, void *uc);
static void tty_on_cont(int sig, siginfo_t *si, void *uc);
static void tty_on_fatal(int sig, siginfo_t *si, void *uc);

enum tty_sig_kind { TTY_SIG_QUIT, TTY_SIG_OTHER, TTY_SIG_FATAL };

static const struct {
	int sig;
	enum tty_sig_kind kind;
	void (*handler)(int, siginfo_t *, void *);
} tty_sigs[] = {
	{ SIGINT, TTY_SIG_QUIT, tty_on_quit },
	{ SIGTERM, TTY_SIG_QUIT, tty_on_quit },
	{ SIGHUP, TTY_SIG_QUIT, tty_on_quit },
	{ SIGQUIT, TTY_SIG_QUIT, tty_on_quit },
	{ SIGWINCH, TTY_SIG_OTHER, tty_on_winch },
	{ SIGTSTP, TTY_SIG_OTHER, tty_on_tstp },
	{ SIGCONT, TTY_SIG_OTHER, tty_on_cont },
	{ SIGSEGV, TTY_SIG_FATAL, tty_on_fatal },
	{ SIGBUS, TTY_SIG_FATAL, tty_on_fatal },
	{ SIGABRT, TTY_SIG_FATAL, tty_on_fatal },
	{ SIGFPE, TTY_SIG_FATAL, tty_on_fatal },
	{ SIGILL, TTY_SIG_FATAL, tty_on_fatal },
	{ SIGSYS, TTY_SIG_FATAL, tty_on_fatal },
};

/* ---- state shared with the signal handlers ------------------------------------------------- */
static struct top_tty *tty_owner;               /* the open tty (main loop only) */
static bool tty_installed;                      /* our handlers are in place */
static bool tty_atexit_registered;
static struct sigaction tty_old[ARRAY_SIZE(tty_sigs)];
static pid_t tty_pid;                           /* the process that opened: a forked child
						 * (before exec) leaves the terminal alone */
static int tty_in = -1, tty_out = -1;
static int tty_wake[2] = { -1, -1 };            /* signals write [1]; the main loop polls [0] */
static struct termios tty_saved, tty_rawmode;
static volatile sig_atomic_t tty_raw;           /* raw mode and alternate screen are on */
static volatile sig_atomic_t tty_quit;          /* the quit signal received, 0 none */
static volatile sig_atomic_t tty_resized;
static volatile sig_atomic_t tty_resumed;
static volatile sig_atomic_t tty_gone;          /* dying or released: never take it again */

/* Our own stack for the fatal handlers when there is none (a stack overflow is a SIGSEGV). */
static char tty_altstack_mem[64 * 1024];
static bool tty_altstack_ours;

/* write() all of buf; EINTR retried, a full non-blocking fd waited for. Async-signal-safe. */
static int tty_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd p = { .fd = fd, .events = POLLOUT };

				(void)poll(&p, 1, 100);
				continue;
			}
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Give the terminal back. Async-signal-safe, idempotent. */
static void tty_leave(void)
{
	int saved_errno = errno;

	if (tty_raw && getpid() == tty_pid) {
		tty_raw = 0;
		(void)tty_write_all(tty_out, TTY_LEAVE, sizeof(TTY_LEAVE) - 1);
		(void)tcsetattr(tty_in, TCSANOW, &tty_saved);
	}
	errno = saved_errno;
}

/* Take the terminal (again; `force`: even when it should be ours already). Async-signal-safe,
 * idempotent. 0 or -errno. */
static int tty_enter(bool force)
{
	int saved_errno = errno, rc = 0;

	if ((!tty_raw || force) && !tty_gone && getpid() == tty_pid) {
		if (tcsetattr(tty_in, TCSANOW, &tty_rawmode) < 0) {
			rc = -errno;
		} else {
			tty_raw = 1;
			rc = tty_write_all(tty_out, TTY_ENTER, sizeof(TTY_ENTER) - 1);
		}
	}
	errno = saved_errno;
	return rc;
}

/* Empty the wake pipe (its bytes only wake poll: the flags say what happened). */
static void tty_drain_wake(void)
{
	char drain[64];

	while (read(tty_wake[0], drain, sizeof(drain)) > 0)
		;
}

static void tty_wake_up(void)
{
	int saved_errno = errno;
	ssize_t n = write(tty_wake[1], "", 1);   /* full pipe: a wake-up is pending already */

	(void)n;
	errno = saved_errno;
}

static void tty_on_quit(int sig, siginfo_t *si, void *uc)
{
	tty_quit = sig;
	tty_wake_up();
}

static void tty_on_winch(int sig, siginfo_t *si, void *uc)
{
	tty_resized = 1;
	tty_wake_up();
}

static void tty_on_tstp(int sig, siginfo_t *si, void *uc)
{
	tty_leave();
	raise(SIGSTOP);                 /* continues here on SIGCONT */
	(void)tty_enter(false);
	tty_resumed = 1;
	tty_wake_up();
}

static void tty_on_cont(int sig, siginfo_t *si, void *uc)
{
	/* Taken again even when we think it is ours: after kill -STOP (not catchable) the shell
	 * may have reset the terminal. Entering twice only clears the alternate screen. */
	(void)tty_enter(true);
	tty_resumed = 1;
	tty_wake_up();
}

static void tty_on_fatal(int sig, siginfo_t *si, void *uc)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	const struct sigaction *old = &dfl;

	tty_gone = 1;
	tty_leave();
	for (size_t i = 0; i < ARRAY_SIZE(tty_sigs); i++)
		if (tty_sigs[i].sig == sig && tty_old[i].sa_handler != SIG_IGN)
			old = &tty_old[i];
	(void)sigaction(sig, old, NULL);
	/* A hardware fault (si_code > 0) happens again on return, now to the old disposition,
	 * with its real address; a sent signal (kill, raise, abort) and a seccomp SIGSYS (the
	 * system call is not made again) are sent again. SA_NODEFER: not blocked here. */
	if (si && si->si_code > 0 && sig != SIGSYS && sig != SIGABRT)
		return;
	raise(sig);
}

/* Block the signals that change the terminal, around code that changes it too. */
static void tty_block(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(tty_sigs); i++)
		if (tty_sigs[i].kind != TTY_SIG_FATAL)
			sigaddset(&set, tty_sigs[i].sig);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

static void tty_unblock(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* Put back the dispositions of tty_sigs[0..n). */
static void tty_uninstall(size_t n)
{
	for (size_t i = 0; i < n; i++)
		(void)sigaction(tty_sigs[i].sig, &tty_old[i], NULL);
}

static int tty_install(void)
{
	size_t i;
	int err;

	for (i = 0; i < ARRAY_SIZE(tty_sigs); i++) {
		struct sigaction sa = { .sa_sigaction = tty_sigs[i].handler };

		if (sigaction(tty_sigs[i].sig, NULL, &tty_old[i]) < 0)
			goto undo;
		if (tty_sigs[i].kind == TTY_SIG_QUIT && tty_old[i].sa_handler == SIG_IGN)
			continue;
		sigemptyset(&sa.sa_mask);
		if (tty_sigs[i].kind == TTY_SIG_FATAL) {
			sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
		} else {
			sa.sa_flags = SA_SIGINFO | SA_RESTART;
			/* suspend and resume do not interleave with each other */
			sigaddset(&sa.sa_mask, SIGTSTP);
			sigaddset(&sa.sa_mask, SIGCONT);
		}
		if (sigaction(tty_sigs[i].sig, &sa, NULL) < 0)
			goto undo;
	}
	return 0;

undo:
	err = -errno;
	tty_uninstall(i);
	return err;
}

static void tty_altstack_setup(void)
{
	stack_t cur, ss = { .ss_sp = tty_altstack_mem, .ss_size = sizeof(tty_altstack_mem) };

	if (sigaltstack(NULL, &cur) == 0 && (cur.ss_flags & SS_DISABLE) &&
	    sigaltstack(&ss, NULL) == 0)
		tty_altstack_ours = true;
}

static void tty_altstack_teardown(void)
{
	stack_t off = { .ss_flags = SS_DISABLE };

	if (tty_altstack_ours && sigaltstack(&off, NULL) == 0)
		tty_altstack_ours = false;
}

/* Everything the process-wide side holds: the terminal, handlers, pipe. Idempotent. */
static void tty_release(void)
{
	sigset_t old;

	if (!tty_installed)
		return;
	tty_block(&old);
	tty_leave();
	tty_gone = 1;
	tty_uninstall(ARRAY_SIZE(tty_sigs));
	tty_installed = false;
	tty_altstack_teardown();
	close(tty_wake[0]);
	close(tty_wake[1]);
	tty_wake[0] = tty_wake[1] = -1;
	tty_owner = NULL;
	tty_unblock(&old);      /* a quit signal pending now gets its old disposition */
}

static void tty_atexit(void)
{
	tty_release();
}

int top_tty_open(struct top_tty *t, int in_fd, int out_fd)
{
	int err;

	if (tty_owner)
		return -EBUSY;          /* before touching t: it may be the open one */
	memset(t, 0, sizeof(*t));
	t->in_fd = in_fd;
	t->out_fd = out_fd;
	if (!isatty(in_fd) || !isatty(out_fd))
		return errno == EBADF ? -EBADF : -ENOTTY;
	if (tcgetattr(in_fd, &tty_saved) < 0)
		return -errno;

	tty_rawmode = tty_saved;
	tty_rawmode.c_iflag &= ~(tcflag_t)(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
	tty_rawmode.c_cflag |= CS8;
	tty_rawmode.c_lflag &= ~(tcflag_t)(ECHO | ICANON | IEXTEN | ISIG);
	tty_rawmode.c_cc[VMIN] = 1;
	tty_rawmode.c_cc[VTIME] = 0;
	/* OPOST stays: a message printed to the terminal by anyone still starts its lines at
	 * column 0; frames position every line themselves. */

	if (pipe2(tty_wake, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	tty_pid = getpid();
	tty_in = in_fd;
	tty_out = out_fd;
	tty_raw = 0;
	tty_gone = 0;
	tty_quit = 0;
	tty_resized = 0;
	tty_resumed = 0;

	tty_altstack_setup();
	err = tty_install();
	if (err)
		goto close_pipe;
	tty_installed = true;
	tty_owner = t;
	if (!tty_atexit_registered && atexit(tty_atexit) == 0)
		tty_atexit_registered = true;

	err = tty_enter(false);
	if (err) {
		tty_release();
		return err;
	}
	t->open = true;
	t->clear_next = true;
	return 0;

close_pipe:
	tty_altstack_teardown();
	close(tty_wake[0]);
	close(tty_wake[1]);
	tty_wake[0] = tty_wake[1] = -1;
	return err;
}

void top_tty_close(struct top_tty *t)
{
	if (!t->open)
		return;
	if (tty_owner == t)
		tty_release();
	free(t->frame);
	t->frame = NULL;
	t->frame_cap = 0;
	t->nin = 0;
	t->open = false;
}

/* A positive number from the environment, or 0. */
static int tty_env_size(const char *name)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > TTY_SIZE_MAX)
		return 0;
	return (int)v;
}

int top_tty_size(const struct top_tty *t, int *width, int *height)
{
	struct winsize ws;
	int w, h;

	if (ioctl(t->out_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
		*width = ws.ws_col;
		*height = ws.ws_row;
		return 0;
	}
	w = tty_env_size("COLUMNS");
	h = tty_env_size("LINES");
	*width = w ? w : 80;
	*height = h ? h : 24;
	return 0;
}

static void frame_put(struct top_tty *t, size_t *n, const char *s, size_t len)
{
	memcpy(t->frame + *n, s, len);
	*n += len;
}

#define FRAME_PUT(t, n, lit) frame_put(t, n, lit, sizeof(lit) - 1)

int top_tty_draw(struct top_tty *t, const char *lines, int width, int height, int selected_line,
		 int header_line)
{
	size_t n = 0, need, w;
	int err;

	if (!lines || width <= 0 || height <= 0 || width > TTY_SIZE_MAX || height > TTY_SIZE_MAX)
		return -EINVAL;
	w = (size_t)width;
	/* per line: position (<= 11), reverse on/off (8), clear to end of line (3) */
	need = 64 + (size_t)height * (w + 32);
	if (need > t->frame_cap) {
		char *p = realloc(t->frame, need);

		if (!p)
			return -ENOMEM;
		t->frame = p;
		t->frame_cap = need;
	}

	FRAME_PUT(t, &n, TTY_SYNC_BEGIN);
	if (t->clear_next)
		FRAME_PUT(t, &n, "\033[0m\033[2J");
	for (int y = 0; y < height; y++) {
		const char *line = lines + (size_t)y * (w + 1);
		bool reverse = y == selected_line || y == header_line;
		size_t len = strnlen(line, w);
		char pos[16];

		frame_put(t, &n, pos, (size_t)snprintf(pos, sizeof(pos), "\033[%d;1H", y + 1));
		if (reverse) {
			FRAME_PUT(t, &n, "\033[7m");
		} else {
			/* trailing blanks are cleared, not written (fewer bytes) */
			while (len && line[len - 1] == ' ')
				len--;
		}
		for (size_t x = 0; x < len; x++) {
			unsigned char c = (unsigned char)line[x];

			/* a process name may hold anything: never pass escapes to the terminal */
			t->frame[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		}
		if (reverse) {
			/* a reverse line is written to its full width: cleared cells would not be
			 * reversed */
			for (; len < w; len++)
				t->frame[n++] = ' ';
			FRAME_PUT(t, &n, "\033[0m");
		} else if (len < w) {
			/* not after the last column: there it would erase that column */
			FRAME_PUT(t, &n, "\033[K");
		}
	}
	FRAME_PUT(t, &n, TTY_SYNC_END);

	err = tty_write_all(t->out_fd, t->frame, n);
	if (err)
		return err;
	t->clear_next = false;
	return 0;
}

static uint64_t tty_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait up to timeout_ms (<0: no limit) for input or a signal's wake-up. 1 input, 0 timeout or
 * woken, -errno. */
static int tty_wait(const struct top_tty *t, int timeout_ms)
{
	struct pollfd pfd[TOP_TTY_NFDS];
	int rc;

	top_tty_pollfds(t, pfd);
	rc = poll(pfd, TOP_TTY_NFDS, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	if (pfd[1].revents)
		tty_drain_wake();
	return pfd[0].revents ? 1 : 0;
}

/* Read what the terminal has (after tty_wait said so). 0, or -errno. */
static int tty_fill(struct top_tty *t)
{
	ssize_t n;

	if (t->nin >= sizeof(t->in))
		return 0;
	n = read(t->in_fd, t->in + t->nin, sizeof(t->in) - t->nin);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return -EIO;            /* end of input: the terminal is gone */
	t->nin += (size_t)n;
	return 0;
}

/* Decode one key from the buffer. 0: need more bytes. */
static int tty_decode(struct top_tty *t, bool final)
{
	size_t used;
	int key = top_key_decode(t->in, t->nin, final, &used);

	if (key) {
		memmove(t->in, t->in + used, t->nin - used);
		t->nin -= used;
	}
	return key;
}

int top_tty_read_key(struct top_tty *t, int timeout_ms)
{
	uint64_t deadline = tty_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	bool waited = false;

	tty_drain_wake();       /* before the flags are read: a later signal wakes poll again */
	for (;;) {
		int key = 0, rc, wait_ms = -1;

		if (tty_resized) {
			tty_resized = 0;
			t->clear_next = true;
			return TOP_KEY_RESIZE;
		}
		if (tty_resumed) {
			tty_resumed = 0;
			t->clear_next = true;
			return TOP_KEY_REDRAW;
		}
		if (tty_quit)
			return 0;

		if (t->nin) {
			key = tty_decode(t, false);
			if (!key) {
				/* the start of a sequence: the rest comes at once, or never */
				rc = tty_wait(t, TOP_KEY_ESC_WAIT_MS);
				if (rc < 0)
					return rc;
				if (rc > 0) {
					rc = tty_fill(t);
					if (rc < 0)
						return rc;
					continue;
				}
				key = tty_decode(t, true);
			}
		}
		if (key == TOP_KEY_CTRL_Z) {
			top_tty_suspend(t);
			return TOP_KEY_REDRAW;
		}
		if (key == TOP_KEY_REDRAW)
			t->clear_next = true;
		if (key == TOP_KEY_NONE)
			continue;               /* dropped input: decode on */
		if (key)
			return key;

		if (timeout_ms >= 0) {
			uint64_t now = tty_now_ms();

			wait_ms = deadline > now ? (int)(deadline - now) : 0;
			if (!wait_ms && waited)
				return 0;
		}
		rc = tty_wait(t, wait_ms);
		waited = true;
		if (rc < 0)
			return rc;
		if (rc > 0) {
			rc = tty_fill(t);
			if (rc < 0)
				return rc;
		}
	}
}

bool top_tty_pending(const struct top_tty *t)
{
	return t->nin > 0;
}

void top_tty_pollfds(const struct top_tty *t, struct pollfd pfd[TOP_TTY_NFDS])
{
	pfd[0] = (struct pollfd){ .fd = t->in_fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = tty_wake[0], .events = POLLIN };
}

int top_tty_suspend(struct top_tty *t)
{
	sigset_t old;

	tty_block(&old);
	tty_leave();
	raise(SIGSTOP);                 /* continues here on SIGCONT (not blockable either way) */
	(void)tty_enter(false);
	tty_unblock(&old);
	tty_resumed = 0;                /* the SIGCONT that woke us: this resume is handled here */
	t->clear_next = true;
	return 0;
}

bool top_tty_should_quit(void)
{
	return tty_quit != 0;
}

int top_tty_quit_signal(void)
{
	return tty_quit;
}
