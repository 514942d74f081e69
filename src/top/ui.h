/* ui.h — ioasid-top's interactive side: keys, the UI state machine and the terminal.
 *
 *  keys.c  terminal input bytes → keys (pure). Printable ASCII is its own key code; everything
 *          else is an enum top_key above 0xff. Escape sequences (CSI `ESC [`, SS3 `ESC O`, the
 *          Linux console's `ESC [ [`) are consumed whole: a sequence that means nothing here
 *          is dropped, never leaked as keys.
 *  ui.c    a key → struct top_ui (pure: no I/O). Keeps selection and scroll consistent with
 *          the rows shown: 0 <= selected < nr_rows, selected within the visible lines.
 *  tty.c   the terminal: raw mode, the alternate screen, one write per frame, input through
 *          keys.c, and putting the terminal back on every way out (close, exit, quit signals,
 *          crashes, suspend). One terminal per process: signals are process-wide.
 *
 * The main loop: top_tty_open (-ENOTTY: tell the user to use -b), then poll the source fds and
 * top_tty_pollfds(); when those are readable call top_tty_read_key(t, 0) until it returns 0
 * (several keys may arrive in one read), feeding each key to top_ui_key; stop when ui.quit or
 * top_tty_should_quit(); top_tty_close.
 */
#ifndef IOASID_TOP_UI_H
#define IOASID_TOP_UI_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "top/top.h"

/* ---- keys (keys.c) ------------------------------------------------------------------------- */

/* Key codes: 0x20..0x7e are the printable characters themselves. */
enum top_key {
	TOP_KEY_NONE = 0x100,   /* input consumed that means no key (unknown sequence, Alt-x) */
	TOP_KEY_UP,
	TOP_KEY_DOWN,
	TOP_KEY_LEFT,
	TOP_KEY_RIGHT,
	TOP_KEY_PGUP,
	TOP_KEY_PGDN,
	TOP_KEY_HOME,
	TOP_KEY_END,
	TOP_KEY_DELETE,
	TOP_KEY_ENTER,          /* \r, \n, keypad Enter (ESC O M) */
	TOP_KEY_ESC,            /* a lone ESC */
	TOP_KEY_BACKSPACE,      /* 0x7f or 0x08 */
	TOP_KEY_TAB,
	TOP_KEY_BTAB,           /* Shift-Tab (ESC [ Z) */
	TOP_KEY_CTRL_C,         /* 0x03, and Ctrl-\ (0x1c): signals in cooked mode, keys in raw */
	TOP_KEY_CTRL_Z,         /* 0x1a: the tty layer suspends on it */
	TOP_KEY_REDRAW,         /* Ctrl-L (0x0c); also from the tty after a resume: repaint all */
	TOP_KEY_RESIZE,         /* from the tty only, after SIGWINCH */
	TOP_KEY_F1,             /* F1..F12: TOP_KEY_F(n) */
	TOP_KEY_F12 = TOP_KEY_F1 + 11,
};
#define TOP_KEY_F(n) (TOP_KEY_F1 + (n) - 1)

/* The longest escape sequence waited for: a longer one is dropped as it stands, so a decoder
 * buffer larger than this always makes progress. */
#define TOP_KEY_SEQ_MAX 32

/* How long a lone ESC waits for the rest of a sequence before it counts as the Esc key. */
#define TOP_KEY_ESC_WAIT_MS 25

/* Decode the first key of buf[0..len). Returns a key (>0) with *used bytes consumed
 * (TOP_KEY_NONE: *used bytes that mean nothing), or 0 with *used = 0 when buf is empty or holds
 * the beginning of a sequence: call again with more bytes, or with `final` (no more bytes are
 * coming: what is there is decoded as it stands — a lone ESC is the Esc key). Pure. */
int top_key_decode(const unsigned char *buf, size_t len, bool final, size_t *used);

/* ---- UI state (ui.c) ----------------------------------------------------------------------- */

/* Apply one key. `rows_shown` is the arranged snapshot on screen (NULL: none yet);
 * `table_rows_visible` the table lines on screen (page size). */
void top_ui_key(struct top_ui *ui, int key, const struct top_snapshot *rows_shown,
		int table_rows_visible);

/* After each new snapshot or resize: keep selected < nr_rows and selected on screen. */
void top_ui_clamp(struct top_ui *ui, size_t nr_rows, int table_rows_visible);

/* ---- the terminal (tty.c) ------------------------------------------------------------------ */

#define TOP_TTY_NFDS 2

struct top_tty {
	int in_fd, out_fd;
	bool open;                      /* raw mode, alternate screen and handlers are ours */
	bool clear_next;                /* the next frame clears the screen first (first frame,
	                                 * resize, resume, Ctrl-L) */
	unsigned char in[2 * TOP_KEY_SEQ_MAX];  /* input read, not yet decoded */
	size_t nin;
	char *frame;                    /* the output frame, built then written at once */
	size_t frame_cap;
};

/* Take the terminal: raw mode (no echo, no line editing, ISIG off: Ctrl-C and Ctrl-Z are keys),
 * the alternate screen, cursor hidden; signal handlers that put it back. 0; -ENOTTY when in_fd
 * or out_fd is not a terminal (nothing changed); -EBUSY if another top_tty is open; -errno. */
int top_tty_open(struct top_tty *t, int in_fd, int out_fd);

/* Give the terminal back as found: termios, main screen, cursor, signal dispositions.
 * Idempotent; also done at exit() for a tty still open. */
void top_tty_close(struct top_tty *t);

/* The terminal's size: TIOCGWINSZ on out_fd, else $COLUMNS x $LINES, else 80 x 24. 0. */
int top_tty_size(const struct top_tty *t, int *width, int *height);

/* Draw `height` lines of `width` columns (lines[height][width + 1], as top_render_screen writes
 * them) in one write(): each line at its position, `selected_line` and `header_line` (-1: none)
 * in reverse video, the rest of each line cleared. Control bytes in lines are shown as '?'.
 * The whole screen is cleared only when clear_next is set. 0 or -errno. */
int top_tty_draw(struct top_tty *t, const char *lines, int width, int height, int selected_line,
		 int header_line);

/* The next key: waits up to timeout_ms (<0: no limit). Returns a key; TOP_KEY_RESIZE after
 * SIGWINCH; TOP_KEY_REDRAW after a resume; 0 on timeout or when a quit signal is pending
 * (top_tty_should_quit()); -errno (-EIO: the terminal went away). Ctrl-Z suspends here
 * (top_tty_suspend) and returns TOP_KEY_REDRAW once resumed. */
int top_tty_read_key(struct top_tty *t, int timeout_ms);

/* Input already read and not yet decoded: call top_tty_read_key(t, 0) before polling again. */
bool top_tty_pending(const struct top_tty *t);

/* What the main loop polls (POLLIN): the terminal's input and a pipe signals write to. */
void top_tty_pollfds(const struct top_tty *t, struct pollfd pfd[TOP_TTY_NFDS]);

/* Ctrl-Z: give the terminal back, stop (SIGSTOP), and on SIGCONT take it again; the next frame
 * repaints everything. 0. */
int top_tty_suspend(struct top_tty *t);

/* SIGINT, SIGTERM, SIGHUP or SIGQUIT arrived since top_tty_open (which signal: the other). */
bool top_tty_should_quit(void);
int top_tty_quit_signal(void);

#endif
