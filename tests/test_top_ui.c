/* test_top_ui.c — ioasid-top's interactive side (src/top/keys.c, ui.c, tty.c). Suite `top_ui`.
 *
 * keys: every sequence decoded to exactly its key with every byte used; each sequence cut at
 * every point is "need more" until complete, and dropped whole (never leaked as keys) when no
 * more bytes come; unknown sequences, mouse reports and Alt-x dropped; several keys in one
 * buffer.
 * ui: the state machine key by key on hand-made snapshots: bounds, scrolling, pages, clamp after
 * the rows shrink, sort cycle, filter editing, views, detail, Esc and q per mode, Ctrl-C.
 * tty: for real on pseudo-terminals: raw mode and the alternate screen on open, the terminal
 * exactly as found after close; frames byte for byte; keys through the pty; resize; and in
 * forked children the terminal given back on SIGTERM (and the other quit signals), on crashes
 * (raised SIGSEGV, abort(), a real fault, a SIGBUS sent), on exit() without close (a
 * re-executed child, so that no Criterion exit handler runs in it), around Ctrl-Z, an external
 * SIGTSTP, and kill -STOP / -CONT (taken again even after the shell reset it). Every
 * wait on the pty or a child has a deadline: a broken build fails, never hangs.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "top/ui.h"

TestSuite(top_ui, .timeout = 60);

#define ESC "\033"
#define DEADLINE_MS 5000

/* ---- keys ---------------------------------------------------------------------------------- */

static int decode(const char *s, size_t len, bool final, size_t *used)
{
	return top_key_decode((const unsigned char *)s, len, final, used);
}

/* Decode all of s (final), collecting the keys that are not TOP_KEY_NONE. */
static size_t decode_all(const char *s, size_t len, int *keys, size_t max)
{
	size_t n = 0, off = 0;

	while (off < len) {
		size_t used;
		int k = decode(s + off, len - off, true, &used);

		cr_assert_gt(k, 0, "decode at %zu of %zu returned %d", off, len, k);
		cr_assert_gt(used, 0);
		cr_assert_leq(used, len - off);
		off += used;
		if (k != TOP_KEY_NONE) {
			cr_assert_lt(n, max);
			keys[n++] = k;
		}
	}
	return n;
}

static const struct seq {
	const char *bytes;
	int key;
} seqs[] = {
	{ ESC "[A", TOP_KEY_UP }, { ESC "[B", TOP_KEY_DOWN }, { ESC "[C", TOP_KEY_RIGHT },
	{ ESC "[D", TOP_KEY_LEFT }, { ESC "OA", TOP_KEY_UP }, { ESC "OB", TOP_KEY_DOWN },
	{ ESC "OC", TOP_KEY_RIGHT }, { ESC "OD", TOP_KEY_LEFT },
	{ ESC "[1;5A", TOP_KEY_UP }, { ESC "[1;2B", TOP_KEY_DOWN },
	{ ESC "[5~", TOP_KEY_PGUP }, { ESC "[6~", TOP_KEY_PGDN }, { ESC "[5;5~", TOP_KEY_PGUP },
	{ ESC "[1~", TOP_KEY_HOME }, { ESC "[7~", TOP_KEY_HOME }, { ESC "[H", TOP_KEY_HOME },
	{ ESC "OH", TOP_KEY_HOME }, { ESC "[4~", TOP_KEY_END }, { ESC "[8~", TOP_KEY_END },
	{ ESC "[F", TOP_KEY_END }, { ESC "OF", TOP_KEY_END }, { ESC "[3~", TOP_KEY_DELETE },
	{ ESC "[Z", TOP_KEY_BTAB }, { ESC "OM", TOP_KEY_ENTER },
	{ ESC "OP", TOP_KEY_F(1) }, { ESC "OQ", TOP_KEY_F(2) }, { ESC "OR", TOP_KEY_F(3) },
	{ ESC "OS", TOP_KEY_F(4) }, { ESC "[11~", TOP_KEY_F(1) }, { ESC "[15~", TOP_KEY_F(5) },
	{ ESC "[17~", TOP_KEY_F(6) }, { ESC "[21~", TOP_KEY_F(10) }, { ESC "[23~", TOP_KEY_F(11) },
	{ ESC "[24~", TOP_KEY_F(12) }, { ESC "[[A", TOP_KEY_F(1) }, { ESC "[[E", TOP_KEY_F(5) },
	/* dropped whole */
	{ ESC "[2~", TOP_KEY_NONE }, { ESC "[99~", TOP_KEY_NONE }, { ESC "[200~", TOP_KEY_NONE },
	{ ESC "[?1;2c", TOP_KEY_NONE }, { ESC "[<0;12;5M", TOP_KEY_NONE },
	{ ESC "[<0;12;5m", TOP_KEY_NONE }, { ESC "[M !!", TOP_KEY_NONE },
	{ ESC "[I", TOP_KEY_NONE }, { ESC "[O", TOP_KEY_NONE }, { ESC "Oz", TOP_KEY_NONE },
	{ ESC "[[z", TOP_KEY_NONE }, { ESC "[1;2$x", TOP_KEY_NONE },
	{ ESC "[12345~", TOP_KEY_NONE },
	/* single bytes */
	{ "\r", TOP_KEY_ENTER }, { "\n", TOP_KEY_ENTER }, { "\x7f", TOP_KEY_BACKSPACE },
	{ "\x08", TOP_KEY_BACKSPACE }, { "\t", TOP_KEY_TAB }, { "\x03", TOP_KEY_CTRL_C },
	{ "\x1c", TOP_KEY_CTRL_C }, { "\x1a", TOP_KEY_CTRL_Z }, { "\x0c", TOP_KEY_REDRAW },
	{ "\x01", TOP_KEY_NONE }, { "\x80", TOP_KEY_NONE }, { "\xc3", TOP_KEY_NONE },
	{ "\xff", TOP_KEY_NONE },
	/* Alt-x */
	{ ESC "x", TOP_KEY_NONE }, { ESC "q", TOP_KEY_NONE },
};

Test(top_ui, keys_every_sequence_exactly)
{
	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		size_t len = strlen(seqs[i].bytes), used = 99;
		int k;

		k = decode(seqs[i].bytes, len, false, &used);
		cr_assert_eq(k, seqs[i].key, "seq %zu: key %#x, expected %#x", i, k, seqs[i].key);
		cr_assert_eq(used, len, "seq %zu: used %zu of %zu", i, used, len);
		k = decode(seqs[i].bytes, len, true, &used);
		cr_assert_eq(k, seqs[i].key, "seq %zu (final)", i);
		cr_assert_eq(used, len);
	}
}

Test(top_ui, keys_printable_are_themselves)
{
	for (int c = 0x20; c < 0x7f; c++) {
		char b[2] = { (char)c, 'j' };
		size_t used;

		cr_assert_eq(decode(b, 2, false, &used), c);
		cr_assert_eq(used, 1);
	}
}

Test(top_ui, keys_split_sequences_need_more_then_complete)
{
	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		size_t len = strlen(seqs[i].bytes);

		if (seqs[i].bytes[0] != '\033' || len < 3)
			continue;
		for (size_t cut = 1; cut < len; cut++) {
			size_t used = 99;
			int k = decode(seqs[i].bytes, cut, false, &used);

			cr_assert_eq(k, 0, "seq %zu cut at %zu: %#x, not need-more", i, cut, k);
			cr_assert_eq(used, 0);
			/* no more bytes coming: a lone ESC is Esc, more is dropped whole */
			k = decode(seqs[i].bytes, cut, true, &used);
			cr_assert_eq(k, cut == 1 ? TOP_KEY_ESC : TOP_KEY_NONE, "%zu/%zu", i, cut);
			cr_assert_eq(used, cut);
		}
	}
}

Test(top_ui, keys_lone_escape)
{
	size_t used = 99;

	cr_assert_eq(decode(ESC, 1, false, &used), 0);
	cr_assert_eq(used, 0);
	cr_assert_eq(decode(ESC, 1, true, &used), TOP_KEY_ESC);
	cr_assert_eq(used, 1);
	cr_assert_eq(decode("", 0, true, &used), 0);
	cr_assert_eq(used, 0);
	/* ESC ESC: the first is the Esc key */
	cr_assert_eq(decode(ESC ESC, 2, false, &used), TOP_KEY_ESC);
	cr_assert_eq(used, 1);
	/* Esc then Enter typed fast */
	cr_assert_eq(decode(ESC "\r", 2, false, &used), TOP_KEY_ESC);
	cr_assert_eq(used, 1);
	cr_assert_eq(decode(ESC "\x03", 2, false, &used), TOP_KEY_ESC);
	cr_assert_eq(used, 1);
}

Test(top_ui, keys_unknown_and_broken_never_leak)
{
	int keys[16];
	size_t n, used;
	static const char s1[] = ESC "[99;42;7~" ESC "[<35;1;1M" ESC "[?62;c" "q";

	n = decode_all(s1, sizeof(s1) - 1, keys, 16);
	cr_assert_eq(n, 1);
	cr_assert_eq(keys[0], 'q');

	/* a sequence cut by a byte that cannot belong to it: dropped up to there */
	cr_assert_eq(decode(ESC "[12\x03", 5, false, &used), TOP_KEY_NONE);
	cr_assert_eq(used, 4);
	cr_assert_eq(decode(ESC "[1" ESC "[A", 6, false, &used), TOP_KEY_NONE);
	cr_assert_eq(used, 3);

	/* too long to wait for: dropped as it stands, never "need more" forever */
	char lng[TOP_KEY_SEQ_MAX + 8];

	memset(lng, '1', sizeof(lng));
	lng[0] = '\033';
	lng[1] = '[';
	cr_assert_eq(decode(lng, TOP_KEY_SEQ_MAX - 1, false, &used), 0);
	cr_assert_eq(decode(lng, TOP_KEY_SEQ_MAX, false, &used), TOP_KEY_NONE);
	cr_assert_eq(used, TOP_KEY_SEQ_MAX);
	/* complete within the buffer, however long: consumed through its final byte */
	lng[sizeof(lng) - 1] = '~';
	cr_assert_eq(decode(lng, sizeof(lng), false, &used), TOP_KEY_NONE);
	cr_assert_eq(used, sizeof(lng));
}

Test(top_ui, keys_several_in_one_buffer)
{
	static const char s[] = "jk" ESC "[A" ESC "OBq\r" ESC "[6~" ESC "x/" "\x7f" ESC "[[B" "G";
	static const int want[] = { 'j', 'k', TOP_KEY_UP, TOP_KEY_DOWN, 'q', TOP_KEY_ENTER,
				    TOP_KEY_PGDN, '/', TOP_KEY_BACKSPACE, TOP_KEY_F(2), 'G' };
	int keys[32];
	size_t n = decode_all(s, sizeof(s) - 1, keys, 32);

	cr_assert_eq(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(keys[i], want[i], "key %zu: %#x, expected %#x", i, keys[i], want[i]);

	/* a sequence complete and the next one cut: the first comes out, the rest waits */
	size_t used;

	cr_assert_eq(decode(ESC "[A" ESC "[", 5, false, &used), TOP_KEY_UP);
	cr_assert_eq(used, 3);
	cr_assert_eq(decode(ESC "[", 2, false, &used), 0);
}

/* ---- ui ------------------------------------------------------------------------------------ */

static struct top_snapshot *snap_new(size_t n)
{
	struct top_snapshot *s = calloc(1, sizeof(*s));

	cr_assert_not_null(s);
	s->nr_rows = n;
	s->rows = n ? calloc(n, sizeof(*s->rows)) : NULL;
	for (size_t i = 0; i < n; i++) {
		s->rows[i].id.pid = 1000 + (uint32_t)i;
		s->rows[i].id.ctx = 0xc000 + i;
		snprintf(s->rows[i].id.label, sizeof(s->rows[i].id.label), "row%zu", i);
	}
	return s;
}

static void snap_free(struct top_snapshot *s)
{
	free(s->rows);
	free(s);
}

static void keys(struct top_ui *ui, const struct top_snapshot *s, int visible, const char *str)
{
	for (; *str; str++)
		top_ui_key(ui, (unsigned char)*str, s, visible);
}

static void assert_sel(const struct top_ui *ui, size_t sel, size_t scroll)
{
	cr_assert_eq(ui->selected, sel, "selected %zu, expected %zu", ui->selected, sel);
	cr_assert_eq(ui->scroll, scroll, "scroll %zu, expected %zu", ui->scroll, scroll);
}

Test(top_ui, ui_init)
{
	struct top_ui ui;

	memset(&ui, 0x5a, sizeof(ui));
	top_ui_init(&ui);
	cr_assert_eq(ui.view, TOP_VIEW_PROCESS);
	cr_assert_eq(ui.sort, TOP_SORT_LOAD);
	cr_assert_eq(ui.mode, TOP_MODE_TABLE);
	cr_assert(!ui.ascending && !ui.paused && !ui.quit);
	assert_sel(&ui, 0, 0);
	cr_assert_str_empty(ui.filter);
	cr_assert_str_empty(ui.edit);
	cr_assert_str_empty(ui.message);
}

Test(top_ui, ui_move_bounds_and_scroll)
{
	struct top_snapshot *s = snap_new(5);
	struct top_ui ui;

	top_ui_init(&ui);
	keys(&ui, s, 3, "k");
	assert_sel(&ui, 0, 0);                  /* not above the first */
	keys(&ui, s, 3, "jj");
	assert_sel(&ui, 2, 0);
	keys(&ui, s, 3, "j");
	assert_sel(&ui, 3, 1);                  /* scrolls to keep it visible */
	top_ui_key(&ui, TOP_KEY_DOWN, s, 3);
	assert_sel(&ui, 4, 2);
	top_ui_key(&ui, TOP_KEY_DOWN, s, 3);
	keys(&ui, s, 3, "jjj");
	assert_sel(&ui, 4, 2);                  /* not below the last */
	keys(&ui, s, 3, "kk");
	assert_sel(&ui, 2, 2);
	top_ui_key(&ui, TOP_KEY_UP, s, 3);
	assert_sel(&ui, 1, 1);                  /* scrolls up */
	keys(&ui, s, 3, "G");
	assert_sel(&ui, 4, 2);
	keys(&ui, s, 3, "g");
	assert_sel(&ui, 0, 0);
	top_ui_key(&ui, TOP_KEY_END, s, 3);
	assert_sel(&ui, 4, 2);
	top_ui_key(&ui, TOP_KEY_HOME, s, 3);
	assert_sel(&ui, 0, 0);
	cr_assert(!ui.quit);
	snap_free(s);
}

Test(top_ui, ui_pages)
{
	struct top_snapshot *s = snap_new(23);
	struct top_ui ui;

	top_ui_init(&ui);
	top_ui_key(&ui, TOP_KEY_PGDN, s, 5);
	assert_sel(&ui, 5, 5);
	keys(&ui, s, 5, "jj");
	assert_sel(&ui, 7, 5);
	top_ui_key(&ui, TOP_KEY_PGDN, s, 5);
	assert_sel(&ui, 12, 10);
	top_ui_key(&ui, TOP_KEY_PGDN, s, 5);
	top_ui_key(&ui, TOP_KEY_PGDN, s, 5);
	assert_sel(&ui, 22, 18);                /* the last row, the screen full of rows */
	top_ui_key(&ui, TOP_KEY_PGDN, s, 5);
	assert_sel(&ui, 22, 18);
	top_ui_key(&ui, TOP_KEY_PGUP, s, 5);
	assert_sel(&ui, 17, 13);
	top_ui_key(&ui, TOP_KEY_PGUP, s, 5);
	top_ui_key(&ui, TOP_KEY_PGUP, s, 5);
	top_ui_key(&ui, TOP_KEY_PGUP, s, 5);
	assert_sel(&ui, 2, 0);
	top_ui_key(&ui, TOP_KEY_PGUP, s, 5);
	assert_sel(&ui, 0, 0);
	/* a page of more lines than rows */
	top_ui_key(&ui, TOP_KEY_PGDN, s, 50);
	assert_sel(&ui, 22, 0);
	snap_free(s);
}

Test(top_ui, ui_no_rows_and_no_snapshot)
{
	struct top_snapshot *s = snap_new(0);
	struct top_ui ui;
	static const int moves[] = { 'j', 'k', 'g', 'G', TOP_KEY_DOWN, TOP_KEY_UP, TOP_KEY_PGDN,
				     TOP_KEY_PGUP, TOP_KEY_HOME, TOP_KEY_END, TOP_KEY_ENTER,
				     TOP_KEY_RIGHT };

	top_ui_init(&ui);
	for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
		top_ui_key(&ui, moves[i], s, 10);
		assert_sel(&ui, 0, 0);
		top_ui_key(&ui, moves[i], NULL, 10);
		assert_sel(&ui, 0, 0);
		cr_assert_eq(ui.mode, TOP_MODE_TABLE);  /* no row: no detail */
	}
	/* zero or negative visible lines count as one */
	struct top_snapshot *t = snap_new(4);

	keys(&ui, t, 0, "jj");
	assert_sel(&ui, 2, 2);
	keys(&ui, t, -3, "k");
	assert_sel(&ui, 1, 1);
	snap_free(t);
	snap_free(s);
}

Test(top_ui, ui_clamp_after_shrink)
{
	struct top_snapshot *s = snap_new(20);
	struct top_ui ui;

	top_ui_init(&ui);
	for (int i = 0; i < 15; i++)
		top_ui_key(&ui, 'j', s, 5);
	assert_sel(&ui, 15, 11);
	top_ui_clamp(&ui, 20, 5);
	assert_sel(&ui, 15, 11);                /* nothing to do */
	top_ui_clamp(&ui, 10, 5);
	assert_sel(&ui, 9, 5);                  /* last row, screen still full */
	top_ui_clamp(&ui, 10, 2);
	assert_sel(&ui, 9, 8);                  /* fewer lines: still visible */
	top_ui_clamp(&ui, 10, 8);
	assert_sel(&ui, 9, 2);                  /* more lines: no empty lines under the last row */
	top_ui_clamp(&ui, 3, 5);
	assert_sel(&ui, 2, 0);
	top_ui_clamp(&ui, 0, 5);
	assert_sel(&ui, 0, 0);
	top_ui_clamp(&ui, 7, 5);
	assert_sel(&ui, 0, 0);
	/* a resize is a clamp too */
	keys(&ui, s, 5, "G");
	assert_sel(&ui, 19, 15);
	top_ui_key(&ui, TOP_KEY_RESIZE, s, 2);
	assert_sel(&ui, 19, 18);
	snap_free(s);
}

Test(top_ui, ui_sort_cycle_and_reverse)
{
	struct top_snapshot *s = snap_new(10);
	struct top_ui ui;

	top_ui_init(&ui);
	keys(&ui, s, 5, "jjj");
	keys(&ui, s, 5, "s");
	cr_assert_eq(ui.sort, 0);
	assert_sel(&ui, 0, 0);                  /* a different order: back to the top */
	for (int c = 1; c < TOP_COL_COUNT; c++) {
		keys(&ui, s, 5, "s");
		cr_assert_eq(ui.sort, c);
	}
	cr_assert_eq(ui.sort, TOP_COL_UNMAP_P99);
	keys(&ui, s, 5, "s");
	cr_assert_eq(ui.sort, TOP_SORT_LOAD);
	cr_assert(!ui.ascending);
	keys(&ui, s, 5, "jjS");
	cr_assert(ui.ascending);
	assert_sel(&ui, 0, 0);
	keys(&ui, s, 5, "r");
	cr_assert(!ui.ascending);
	keys(&ui, s, 5, "r");
	cr_assert(ui.ascending);
	cr_assert_eq(ui.sort, TOP_SORT_LOAD);
	snap_free(s);
}

Test(top_ui, ui_filter_editing)
{
	struct top_snapshot *s = snap_new(10);
	struct top_ui ui;

	top_ui_init(&ui);
	keys(&ui, s, 5, "jjjf");
	cr_assert_eq(ui.mode, TOP_MODE_FILTER);
	cr_assert_str_empty(ui.edit);
	top_ui_key(&ui, TOP_KEY_BACKSPACE, s, 5);       /* on empty: nothing */
	cr_assert_str_empty(ui.edit);
	keys(&ui, s, 5, "vmq 1jks?");                   /* letters, digits, q are typed */
	cr_assert_str_eq(ui.edit, "vmq 1jks?");
	cr_assert_eq(ui.mode, TOP_MODE_FILTER);
	cr_assert(!ui.quit);
	cr_assert_eq(ui.view, TOP_VIEW_PROCESS);
	cr_assert_eq(ui.sort, TOP_SORT_LOAD);
	assert_sel(&ui, 3, 0);
	top_ui_key(&ui, TOP_KEY_BACKSPACE, s, 5);
	top_ui_key(&ui, TOP_KEY_BACKSPACE, s, 5);
	cr_assert_str_eq(ui.edit, "vmq 1jk");
	/* keys that are not text do nothing */
	top_ui_key(&ui, TOP_KEY_UP, s, 5);
	top_ui_key(&ui, TOP_KEY_TAB, s, 5);
	top_ui_key(&ui, TOP_KEY_NONE, s, 5);
	cr_assert_str_eq(ui.edit, "vmq 1jk");
	cr_assert_eq(ui.mode, TOP_MODE_FILTER);
	cr_assert_str_empty(ui.filter);                 /* not applied yet */
	top_ui_key(&ui, TOP_KEY_ENTER, s, 5);
	cr_assert_eq(ui.mode, TOP_MODE_TABLE);
	cr_assert_str_eq(ui.filter, "vmq 1jk");
	assert_sel(&ui, 0, 0);

	/* f again: the edit starts from the filter; Esc cancels */
	keys(&ui, s, 5, "jj/");
	cr_assert_eq(ui.mode, TOP_MODE_FILTER);
	cr_assert_str_eq(ui.edit, "vmq 1jk");
	keys(&ui, s, 5, "zzz");
	top_ui_key(&ui, TOP_KEY_ESC, s, 5);
	cr_assert_eq(ui.mode, TOP_MODE_TABLE);
	cr_assert(!ui.quit);
	cr_assert_str_eq(ui.filter, "vmq 1jk");
	assert_sel(&ui, 2, 0);                          /* cancel keeps the selection */

	/* clear it: backspace everything, Enter */
	keys(&ui, s, 5, "f");
	for (int i = 0; i < 20; i++)
		top_ui_key(&ui, TOP_KEY_BACKSPACE, s, 5);
	top_ui_key(&ui, TOP_KEY_ENTER, s, 5);
	cr_assert_str_empty(ui.filter);

	/* bounded: the edit holds sizeof - 1 characters */
	keys(&ui, s, 5, "f");
	for (int i = 0; i < 200; i++)
		top_ui_key(&ui, 'a' + i % 26, s, 5);
	cr_assert_eq(strlen(ui.edit), sizeof(ui.edit) - 1);
	cr_assert_eq(ui.edit[sizeof(ui.edit) - 2], 'a' + (int)(sizeof(ui.edit) - 2) % 26);
	top_ui_key(&ui, TOP_KEY_ENTER, s, 5);
	cr_assert_eq(strlen(ui.filter), sizeof(ui.filter) - 1);
	snap_free(s);
}

Test(top_ui, ui_views_cycle_and_reset)
{
	struct top_snapshot *s = snap_new(10);
	struct top_ui ui;
	static const enum top_view cycle[] = { TOP_VIEW_CONTEXT, TOP_VIEW_IOAS, TOP_VIEW_DEVICE,
					       TOP_VIEW_PROCESS };

	top_ui_init(&ui);
	for (size_t i = 0; i < 4; i++) {
		keys(&ui, s, 3, "jjjj");
		assert_sel(&ui, 4, 2);
		top_ui_key(&ui, i % 2 ? TOP_KEY_TAB : 'v', s, 3);
		cr_assert_eq(ui.view, cycle[i]);
		assert_sel(&ui, 0, 0);
	}
	top_ui_key(&ui, TOP_KEY_BTAB, s, 3);
	cr_assert_eq(ui.view, TOP_VIEW_DEVICE);
	top_ui_key(&ui, TOP_KEY_BTAB, s, 3);
	cr_assert_eq(ui.view, TOP_VIEW_IOAS);

	/* 1..4 directly */
	keys(&ui, s, 3, "jj1");
	cr_assert_eq(ui.view, TOP_VIEW_PROCESS);
	assert_sel(&ui, 0, 0);
	keys(&ui, s, 3, "4");
	cr_assert_eq(ui.view, TOP_VIEW_DEVICE);
	keys(&ui, s, 3, "3");
	cr_assert_eq(ui.view, TOP_VIEW_IOAS);
	keys(&ui, s, 3, "jj2");
	cr_assert_eq(ui.view, TOP_VIEW_CONTEXT);
	assert_sel(&ui, 0, 0);
	keys(&ui, s, 3, "jj2");                         /* the same view: nothing moves */
	assert_sel(&ui, 2, 0);
	keys(&ui, s, 3, "5");
	cr_assert_eq(ui.view, TOP_VIEW_CONTEXT);

	/* a view change leaves DETAIL */
	top_ui_key(&ui, TOP_KEY_ENTER, s, 3);
	cr_assert_eq(ui.mode, TOP_MODE_DETAIL);
	keys(&ui, s, 3, "v");
	cr_assert_eq(ui.mode, TOP_MODE_TABLE);
	cr_assert_eq(ui.view, TOP_VIEW_IOAS);
	assert_sel(&ui, 0, 0);
	snap_free(s);
}

Test(top_ui, ui_detail)
{
	struct top_snapshot *s = snap_new(6);
	struct top_ui ui;

	top_ui_init(&ui);
	keys(&ui, s, 4, "jjj");
	top_ui_key(&ui, TOP_KEY_ENTER, s, 4);
	cr_assert_eq(ui.mode, TOP_MODE_DETAIL);
	cr_assert_eq(memcmp(&ui.detail_id, &s->rows[3].id, sizeof(ui.detail_id)), 0);
	cr_assert_str_eq(ui.detail_id.label, "row3");
	/* moving in DETAIL moves the detail */
	keys(&ui, s, 4, "j");
	cr_assert_eq(ui.mode, TOP_MODE_DETAIL);
	cr_assert_eq(ui.detail_id.pid, 1004);
	top_ui_key(&ui, TOP_KEY_UP, s, 4);
	top_ui_key(&ui, TOP_KEY_UP, s, 4);
	cr_assert_eq(ui.detail_id.pid, 1002);
	top_ui_key(&ui, TOP_KEY_END, s, 4);
	cr_assert_eq(ui.detail_id.pid, 1005);
	cr_assert_eq(memcmp(&ui.detail_id, &s->rows[5].id, sizeof(ui.detail_id)), 0);
	/* back: Esc, Enter, Left, Backspace */
	static const int back[] = { TOP_KEY_ESC, TOP_KEY_ENTER, TOP_KEY_LEFT, TOP_KEY_BACKSPACE };

	for (size_t i = 0; i < 4; i++) {
		top_ui_key(&ui, TOP_KEY_RIGHT, s, 4);
		cr_assert_eq(ui.mode, TOP_MODE_DETAIL);
		top_ui_key(&ui, back[i], s, 4);
		cr_assert_eq(ui.mode, TOP_MODE_TABLE);
		cr_assert(!ui.quit);
	}
	/* sort and pause work in DETAIL too; help from DETAIL returns to the table */
	top_ui_key(&ui, TOP_KEY_ENTER, s, 4);
	keys(&ui, s, 4, "p");
	cr_assert(ui.paused);
	cr_assert_eq(ui.mode, TOP_MODE_DETAIL);
	keys(&ui, s, 4, "?");
	cr_assert_eq(ui.mode, TOP_MODE_HELP);
	top_ui_key(&ui, TOP_KEY_ESC, s, 4);
	cr_assert_eq(ui.mode, TOP_MODE_TABLE);
	snap_free(s);
}

Test(top_ui, ui_escape_and_quit_per_mode)
{
	struct top_snapshot *s = snap_new(3);
	struct top_ui ui;

	/* TABLE: Esc quits, q quits */
	top_ui_init(&ui);
	top_ui_key(&ui, TOP_KEY_ESC, s, 3);
	cr_assert(ui.quit);
	top_ui_init(&ui);
	keys(&ui, s, 3, "q");
	cr_assert(ui.quit);

	/* DETAIL: Esc goes back, q quits */
	top_ui_init(&ui);
	top_ui_key(&ui, TOP_KEY_ENTER, s, 3);
	top_ui_key(&ui, TOP_KEY_ESC, s, 3);
	cr_assert_eq(ui.mode, TOP_MODE_TABLE);
	cr_assert(!ui.quit);
	top_ui_key(&ui, TOP_KEY_ENTER, s, 3);
	keys(&ui, s, 3, "q");
	cr_assert(ui.quit);

	/* HELP: ?, h, F1 enter; Esc and any other key go back; q quits */
	static const int help[] = { '?', 'h', TOP_KEY_F1 };

	for (size_t i = 0; i < 3; i++) {
		top_ui_init(&ui);
		top_ui_key(&ui, help[i], s, 3);
		cr_assert_eq(ui.mode, TOP_MODE_HELP);
		top_ui_key(&ui, i == 2 ? 'x' : TOP_KEY_ESC, s, 3);
		cr_assert_eq(ui.mode, TOP_MODE_TABLE);
		cr_assert(!ui.quit);
	}
	top_ui_init(&ui);
	keys(&ui, s, 3, "?q");
	cr_assert(ui.quit);

	/* FILTER: Esc cancels, q is typed */
	top_ui_init(&ui);
	keys(&ui, s, 3, "fq");
	cr_assert(!ui.quit);
	cr_assert_str_eq(ui.edit, "q");
	top_ui_key(&ui, TOP_KEY_ESC, s, 3);
	cr_assert(!ui.quit);
	cr_assert_eq(ui.mode, TOP_MODE_TABLE);
	cr_assert_str_empty(ui.filter);

	/* Ctrl-C and F10 quit in every mode */
	static const int to_mode[] = { TOP_KEY_NONE, TOP_KEY_ENTER, 'f', '?' };
	static const enum top_mode modes[] = { TOP_MODE_TABLE, TOP_MODE_DETAIL, TOP_MODE_FILTER,
					       TOP_MODE_HELP };

	for (int q = 0; q < 2; q++) {
		for (size_t m = 0; m < 4; m++) {
			top_ui_init(&ui);
			top_ui_key(&ui, to_mode[m], s, 3);
			cr_assert_eq(ui.mode, modes[m]);
			cr_assert(!ui.quit);
			top_ui_key(&ui, q ? TOP_KEY_F(10) : TOP_KEY_CTRL_C, s, 3);
			cr_assert(ui.quit, "mode %d", (int)modes[m]);
		}
	}
	snap_free(s);
}

Test(top_ui, ui_pause_and_other_keys)
{
	struct top_snapshot *s = snap_new(3);
	struct top_ui ui, before;

	top_ui_init(&ui);
	keys(&ui, s, 3, "p");
	cr_assert(ui.paused);
	keys(&ui, s, 3, "p");
	cr_assert(!ui.paused);
	/* keys that mean nothing change nothing */
	keys(&ui, s, 3, "j");
	before = ui;
	keys(&ui, s, 3, "xyzZ0!");
	top_ui_key(&ui, TOP_KEY_NONE, s, 3);
	top_ui_key(&ui, TOP_KEY_REDRAW, s, 3);
	top_ui_key(&ui, TOP_KEY_DELETE, s, 3);
	top_ui_key(&ui, TOP_KEY_F(5), s, 3);
	cr_assert_eq(ui.view, before.view);
	cr_assert_eq(ui.mode, before.mode);
	cr_assert_eq(ui.sort, before.sort);
	cr_assert_eq(ui.ascending, before.ascending);
	cr_assert_eq(ui.paused, before.paused);
	cr_assert_eq(ui.quit, before.quit);
	assert_sel(&ui, before.selected, before.scroll);
	cr_assert_str_eq(ui.filter, before.filter);
	cr_assert_str_eq(ui.edit, before.edit);
	snap_free(s);
}

/* ---- tty: pseudo-terminals ----------------------------------------------------------------- */

struct pty {
	int master, slave;
	struct termios orig;
	char out[1 << 16];              /* what the slave side wrote, as read from the master */
	size_t len, mark;               /* bytes read; where the next search starts */
};

static void pty_open(struct pty *p, int cols, int rows)
{
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
	const char *name;

	memset(p, 0, sizeof(*p));
	p->master = posix_openpt(O_RDWR | O_NOCTTY);
	cr_assert_geq(p->master, 0, "posix_openpt: %s", strerror(errno));
	cr_assert_eq(grantpt(p->master), 0);
	cr_assert_eq(unlockpt(p->master), 0);
	name = ptsname(p->master);
	cr_assert_not_null(name);
	p->slave = open(name, O_RDWR | O_NOCTTY);
	cr_assert_geq(p->slave, 0, "open %s: %s", name, strerror(errno));
	cr_assert_eq(ioctl(p->slave, TIOCSWINSZ, &ws), 0);
	memset(&p->orig, 0, sizeof(p->orig));
	cr_assert_eq(tcgetattr(p->slave, &p->orig), 0);
	cr_assert(p->orig.c_lflag & ECHO);      /* a fresh pty is cooked: the change is visible */
}

static void pty_close(struct pty *p)
{
	if (p->slave >= 0)
		close(p->slave);
	if (p->master >= 0)
		close(p->master);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read the master for up to timeout_ms. Bytes read. */
static size_t pty_read(struct pty *p, int timeout_ms)
{
	struct pollfd pfd = { .fd = p->master, .events = POLLIN };
	size_t got = 0;
	long end = now_ms() + timeout_ms;

	for (;;) {
		long left = end - now_ms();
		ssize_t n;

		if (left < 0 || poll(&pfd, 1, (int)left) <= 0)
			return got;
		n = read(p->master, p->out + p->len, sizeof(p->out) - 1 - p->len);
		if (n <= 0)
			return got;
		p->len += (size_t)n;
		p->out[p->len] = '\0';
		got += (size_t)n;
	}
}

/* Read the master until `needle` shows up after the mark (then the mark moves past it). */
static bool pty_expect(struct pty *p, const char *needle)
{
	struct pollfd pfd = { .fd = p->master, .events = POLLIN };
	long end = now_ms() + DEADLINE_MS;
	size_t nl = strlen(needle);

	for (;;) {
		char *at = memmem(p->out + p->mark, p->len - p->mark, needle, nl);
		long left = end - now_ms();
		ssize_t n;

		if (at) {
			p->mark = (size_t)(at - p->out) + nl;
			return true;
		}
		if (left < 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		n = read(p->master, p->out + p->len, sizeof(p->out) - 1 - p->len);
		if (n <= 0)
			return false;
		p->len += (size_t)n;
		p->out[p->len] = '\0';
	}
}

static void pty_type(struct pty *p, const char *s)
{
	cr_assert_eq(write(p->master, s, strlen(s)), (ssize_t)strlen(s));
}

static void assert_termios_eq(const struct termios *a, const struct termios *b)
{
	cr_assert_eq(a->c_iflag, b->c_iflag, "c_iflag %#x, expected %#x", a->c_iflag, b->c_iflag);
	cr_assert_eq(a->c_oflag, b->c_oflag, "c_oflag %#x, expected %#x", a->c_oflag, b->c_oflag);
	cr_assert_eq(a->c_cflag, b->c_cflag, "c_cflag %#x, expected %#x", a->c_cflag, b->c_cflag);
	cr_assert_eq(a->c_lflag, b->c_lflag, "c_lflag %#x, expected %#x", a->c_lflag, b->c_lflag);
	cr_assert_eq(memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc)), 0);
	cr_assert_eq(cfgetispeed(a), cfgetispeed(b));
	cr_assert_eq(cfgetospeed(a), cfgetospeed(b));
}

static void assert_restored(struct pty *p)
{
	struct termios now;

	memset(&now, 0, sizeof(now));
	cr_assert_eq(tcgetattr(p->slave, &now), 0);
	assert_termios_eq(&now, &p->orig);
	cr_assert(pty_expect(p, "\033[?25h"), "no show-cursor after %zu bytes: %s", p->len,
		  p->out);
	cr_assert(pty_expect(p, "\033[?1049l"), "no leave-alternate-screen");
}

static void assert_raw(struct pty *p)
{
	struct termios now;

	cr_assert_eq(tcgetattr(p->slave, &now), 0);
	cr_assert_eq(now.c_lflag & (ECHO | ICANON | ISIG | IEXTEN), 0u);
	cr_assert_eq(now.c_iflag & (ICRNL | IXON), 0u);
	cr_assert_eq(now.c_cc[VMIN], 1);
	cr_assert_eq(now.c_cc[VTIME], 0);
	cr_assert_eq(now.c_oflag, p->orig.c_oflag);     /* output processing untouched */
}

static void assert_entered(struct pty *p)
{
	cr_assert(pty_expect(p, "\033[?1049h"), "no enter-alternate-screen: %s", p->out);
	cr_assert(pty_expect(p, "\033[?25l"), "no hide-cursor");
}

Test(top_ui, tty_open_close_restores_exactly)
{
	struct pty p;
	struct top_tty t;
	struct termios now;

	pty_open(&p, 80, 24);
	cr_assert_eq(top_tty_open(&t, p.slave, p.slave), 0);
	cr_assert(t.open);
	assert_raw(&p);
	assert_entered(&p);
	cr_assert(!top_tty_should_quit());
	top_tty_close(&t);
	cr_assert(!t.open);
	assert_restored(&p);
	/* idempotent: nothing more is written */
	top_tty_close(&t);
	cr_assert_eq(pty_read(&p, 50), 0);
	cr_assert_eq(tcgetattr(p.slave, &now), 0);
	assert_termios_eq(&now, &p.orig);

	/* and it opens again */
	cr_assert_eq(top_tty_open(&t, p.slave, p.slave), 0);
	assert_raw(&p);
	assert_entered(&p);
	top_tty_close(&t);
	assert_restored(&p);
	pty_close(&p);
}

static void on_test_signal(int sig)
{
	(void)sig;
}

Test(top_ui, tty_signal_dispositions_restored)
{
	struct pty p;
	struct top_tty t;
	struct sigaction sa = { .sa_handler = on_test_signal }, ign = { .sa_handler = SIG_IGN };
	struct sigaction now, segv_before;

	sigaction(SIGSEGV, NULL, &segv_before);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &ign, NULL);
	pty_open(&p, 80, 24);
	cr_assert_eq(top_tty_open(&t, p.slave, p.slave), 0);
	sigaction(SIGTERM, NULL, &now);
	cr_assert_neq((void *)now.sa_handler, (void *)on_test_signal);
	sigaction(SIGHUP, NULL, &now);
	cr_assert_eq((void *)now.sa_handler, (void *)SIG_IGN);  /* ignored stays ignored */
	sigaction(SIGWINCH, NULL, &now);
	cr_assert_neq((void *)now.sa_handler, (void *)SIG_DFL);

	/* a quit signal only sets the flag */
	raise(SIGTERM);
	cr_assert(top_tty_should_quit());
	cr_assert_eq(top_tty_quit_signal(), SIGTERM);
	long t0 = now_ms();

	cr_assert_eq(top_tty_read_key(&t, 2000), 0);      /* at once: quit pending */
	cr_assert_lt(now_ms() - t0, 1000);
	top_tty_close(&t);
	assert_restored(&p);

	sigaction(SIGTERM, NULL, &now);
	cr_assert_eq((void *)now.sa_handler, (void *)on_test_signal);
	sigaction(SIGHUP, NULL, &now);
	cr_assert_eq((void *)now.sa_handler, (void *)SIG_IGN);
	sigaction(SIGWINCH, NULL, &now);
	cr_assert_eq((void *)now.sa_handler, (void *)SIG_DFL);
	sigaction(SIGSEGV, NULL, &now);
	cr_assert_eq((void *)now.sa_handler, (void *)segv_before.sa_handler);

	/* a new open forgets the old quit */
	cr_assert_eq(top_tty_open(&t, p.slave, p.slave), 0);
	cr_assert(!top_tty_should_quit());
	top_tty_close(&t);
	pty_close(&p);
}

Test(top_ui, tty_not_a_tty)
{
	struct pty p;
	struct top_tty t;
	struct sigaction now, int_before, winch_before;
	struct termios after;
	int fds[2];

	sigaction(SIGINT, NULL, &int_before);
	sigaction(SIGWINCH, NULL, &winch_before);
	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(top_tty_open(&t, fds[0], fds[1]), -ENOTTY);
	cr_assert(!t.open);
	top_tty_close(&t);                      /* harmless */

	pty_open(&p, 80, 24);
	cr_assert_eq(top_tty_open(&t, p.slave, fds[1]), -ENOTTY);
	cr_assert_eq(top_tty_open(&t, fds[0], p.slave), -ENOTTY);
	int null = open("/dev/null", O_RDWR);

	cr_assert_eq(top_tty_open(&t, null, null), -ENOTTY);
	close(null);
	/* nothing changed */
	cr_assert_eq(tcgetattr(p.slave, &after), 0);
	assert_termios_eq(&after, &p.orig);
	cr_assert_eq(pty_read(&p, 50), 0);
	sigaction(SIGINT, NULL, &now);
	cr_assert_eq((void *)now.sa_handler, (void *)int_before.sa_handler);
	sigaction(SIGWINCH, NULL, &now);
	cr_assert_eq((void *)now.sa_handler, (void *)winch_before.sa_handler);
	close(fds[0]);
	close(fds[1]);
	pty_close(&p);
}

Test(top_ui, tty_one_at_a_time)
{
	struct pty p, q;
	struct top_tty t, u;

	pty_open(&p, 80, 24);
	pty_open(&q, 80, 24);
	cr_assert_eq(top_tty_open(&t, p.slave, p.slave), 0);
	cr_assert_eq(top_tty_open(&u, q.slave, q.slave), -EBUSY);
	cr_assert_eq(top_tty_open(&t, q.slave, q.slave), -EBUSY);
	cr_assert(t.open);                      /* the open one untouched */
	cr_assert_eq(t.in_fd, p.slave);
	top_tty_close(&t);
	cr_assert_eq(top_tty_open(&u, q.slave, q.slave), 0);
	top_tty_close(&u);
	assert_restored(&q);
	pty_close(&p);
	pty_close(&q);
}

Test(top_ui, tty_size)
{
	struct pty p;
	struct top_tty t;
	struct winsize ws = { .ws_row = 31, .ws_col = 101 }, none = { 0 };
	int w = 0, h = 0, fds[2];

	pty_open(&p, 132, 43);
	cr_assert_eq(top_tty_open(&t, p.slave, p.slave), 0);
	cr_assert_eq(top_tty_size(&t, &w, &h), 0);
	cr_assert_eq(w, 132);
	cr_assert_eq(h, 43);
	cr_assert_eq(ioctl(p.master, TIOCSWINSZ, &ws), 0);
	top_tty_size(&t, &w, &h);
	cr_assert_eq(w, 101);
	cr_assert_eq(h, 31);
	/* a terminal that reports 0 x 0 (a serial line): the environment, then 80 x 24 */
	cr_assert_eq(ioctl(p.master, TIOCSWINSZ, &none), 0);
	setenv("COLUMNS", "120", 1);
	setenv("LINES", "40", 1);
	top_tty_size(&t, &w, &h);
	cr_assert_eq(w, 120);
	cr_assert_eq(h, 40);
	top_tty_close(&t);

	cr_assert_eq(pipe(fds), 0);
	struct top_tty notty = { .in_fd = fds[0], .out_fd = fds[1] };

	top_tty_size(&notty, &w, &h);
	cr_assert_eq(w, 120);
	cr_assert_eq(h, 40);
	setenv("COLUMNS", "abc", 1);
	setenv("LINES", "-3", 1);
	top_tty_size(&notty, &w, &h);
	cr_assert_eq(w, 80);
	cr_assert_eq(h, 24);
	unsetenv("COLUMNS");
	unsetenv("LINES");
	top_tty_size(&notty, &w, &h);
	cr_assert_eq(w, 80);
	cr_assert_eq(h, 24);
	close(fds[0]);
	close(fds[1]);
	pty_close(&p);
}

static void lines_set(char *lines, int width, int y, const char *text)
{
	char *l = lines + (size_t)y * (size_t)(width + 1);

	memset(l, ' ', (size_t)width);
	memcpy(l, text, strlen(text));
	l[width] = '\0';
}

Test(top_ui, tty_draw_frames)
{
	struct pty p;
	struct top_tty t;
	char lines[3 * 11];

	pty_open(&p, 10, 3);
	cr_assert_eq(top_tty_open(&t, p.slave, p.slave), 0);
	assert_entered(&p);
	cr_assert(pty_expect(&p, "\033[?7l"));
	pty_read(&p, 20);
	cr_assert_eq(p.mark, p.len, "unexpected output after entering: %s", p.out + p.mark);

	lines_set(lines, 10, 0, "NAME  MAP");
	lines_set(lines, 10, 1, "vmm       ");
	lines_set(lines, 10, 2, "0123456789");
	size_t start = p.len;

	cr_assert_eq(top_tty_draw(&t, lines, 10, 3, 1, 0), 0);
	static const char first[] =
		"\033[?2026h\033[0m\033[2J"
		"\033[1;1H\033[7mNAME  MAP \033[0m"
		"\033[2;1H\033[7mvmm       \033[0m"
		"\033[3;1H0123456789"
		"\033[?2026l";

	cr_assert(pty_expect(&p, "\033[?2026l"));
	cr_assert_eq(p.len - start, sizeof(first) - 1, "frame: %s", p.out + start);
	cr_assert_eq(memcmp(p.out + start, first, sizeof(first) - 1), 0, "frame: %s",
		     p.out + start);

	/* no clear on the next frame; plain lines are trimmed and cleared to the end */
	start = p.len;

	lines_set(lines, 10, 1, "a\033[31mb\x9b");      /* escapes in a name never pass */
	cr_assert_eq(top_tty_draw(&t, lines, 10, 3, -1, -1), 0);
	static const char second[] =
		"\033[?2026h"
		"\033[1;1HNAME  MAP\033[K"
		"\033[2;1Ha?[31mb?\033[K"
		"\033[3;1H0123456789"
		"\033[?2026l";

	cr_assert(pty_expect(&p, "\033[?2026l"));
	cr_assert_eq(p.len - start, sizeof(second) - 1, "frame: %s", p.out + start);
	cr_assert_eq(memcmp(p.out + start, second, sizeof(second) - 1), 0, "frame: %s",
		     p.out + start);

	/* a resize clears the next frame, once */
	raise(SIGWINCH);
	cr_assert_eq(top_tty_read_key(&t, 1000), TOP_KEY_RESIZE);
	cr_assert(t.clear_next);
	start = p.len;
	cr_assert_eq(top_tty_draw(&t, lines, 10, 3, -1, -1), 0);
	cr_assert(pty_expect(&p, "\033[?2026l"));
	cr_assert_not_null(memmem(p.out + start, p.len - start, "\033[2J", 4));
	start = p.len;
	cr_assert_eq(top_tty_draw(&t, lines, 10, 3, -1, -1), 0);
	cr_assert(pty_expect(&p, "\033[?2026l"));
	cr_assert_null(memmem(p.out + start, p.len - start, "\033[2J", 4));

	/* Ctrl-L repaints all */
	pty_type(&p, "\x0c");
	cr_assert_eq(top_tty_read_key(&t, 1000), TOP_KEY_REDRAW);
	cr_assert(t.clear_next);

	cr_assert_eq(top_tty_draw(&t, lines, 0, 3, -1, -1), -EINVAL);
	cr_assert_eq(top_tty_draw(&t, lines, 10, 0, -1, -1), -EINVAL);
	cr_assert_eq(top_tty_draw(&t, NULL, 10, 3, -1, -1), -EINVAL);
	top_tty_close(&t);
	assert_restored(&p);
	pty_close(&p);
}

Test(top_ui, tty_keys_through_the_terminal)
{
	struct pty p;
	struct top_tty t;
	struct pollfd pfd[TOP_TTY_NFDS];
	long t0;

	pty_open(&p, 80, 24);
	cr_assert_eq(top_tty_open(&t, p.slave, p.slave), 0);

	/* nothing typed: a timeout */
	t0 = now_ms();
	cr_assert_eq(top_tty_read_key(&t, 60), 0);
	cr_assert_geq(now_ms() - t0, 55);
	cr_assert_eq(top_tty_read_key(&t, 0), 0);

	/* the main loop's poll sees typing */
	pty_type(&p, "j");
	top_tty_pollfds(&t, pfd);
	cr_assert_eq(pfd[0].fd, p.slave);
	cr_assert_eq(poll(pfd, TOP_TTY_NFDS, DEADLINE_MS), 1);
	cr_assert(pfd[0].revents & POLLIN);
	cr_assert_eq(top_tty_read_key(&t, 0), 'j');
	cr_assert(!top_tty_pending(&t));

	/* several keys in one read: all come out without waiting */
	pty_type(&p, "k" ESC "[A" ESC "OB" ESC "[6~\r\x7fq\x03" ESC "[99~x");
	cr_assert_eq(top_tty_read_key(&t, 1000), 'k');
	cr_assert(top_tty_pending(&t));
	static const int want[] = { TOP_KEY_UP, TOP_KEY_DOWN, TOP_KEY_PGDN, TOP_KEY_ENTER,
				    TOP_KEY_BACKSPACE, 'q', TOP_KEY_CTRL_C, 'x' };

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_eq(top_tty_read_key(&t, 1000), want[i], "key %zu", i);
	cr_assert(!top_tty_pending(&t));
	cr_assert_eq(top_tty_read_key(&t, 0), 0);
	cr_assert(!top_tty_should_quit());      /* Ctrl-C was a key, not a signal */

	/* a lone ESC: the Esc key once nothing follows */
	pty_type(&p, ESC);
	t0 = now_ms();
	cr_assert_eq(top_tty_read_key(&t, 1000), TOP_KEY_ESC);
	cr_assert_geq(now_ms() - t0, TOP_KEY_ESC_WAIT_MS - 5);
	cr_assert_lt(now_ms() - t0, 900);

	/* a resize wakes the poll of the main loop */
	raise(SIGWINCH);
	top_tty_pollfds(&t, pfd);
	cr_assert_eq(poll(pfd, TOP_TTY_NFDS, DEADLINE_MS), 1);
	cr_assert(pfd[1].revents & POLLIN);
	cr_assert_eq(top_tty_read_key(&t, 1000), TOP_KEY_RESIZE);
	cr_assert_eq(top_tty_read_key(&t, 0), 0);

	/* the terminal goes away */
	close(p.master);
	p.master = -1;
	int k = top_tty_read_key(&t, 1000);

	cr_assert_lt(k, 0, "read_key after hangup: %d", k);
	top_tty_close(&t);
	pty_close(&p);
}

/* ---- tty: children ------------------------------------------------------------------------- */

enum child_act { ACT_LOOP, ACT_RAISE_SEGV, ACT_ABORT, ACT_FAULT };

/* A child that takes the pty and runs a main loop: keys until a quit signal, then close and
 * exit with 100 + the signal (+ 50 when it saw a resume); 'c' raise(SIGSEGV), 'a' abort(),
 * 'f' a real fault. */
static pid_t child_start(struct pty *p)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		struct top_tty t;
		bool resumed = false;

		setrlimit(RLIMIT_CORE, &no_core);
		/* the quit signals at their defaults, as in an interactive shell: under nohup, or
		 * started with `&` by a shell without job control, some arrive ignored, and an
		 * ignored quit signal stays ignored (tty_signal_dispositions_restored) */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		/* a sanitizer's handlers would turn the death into an exit status */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGABRT, SIG_DFL);
		signal(SIGFPE, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		close(p->master);
		if (top_tty_open(&t, p->slave, p->slave))
			_exit(90);
		while (!top_tty_should_quit()) {
			int k = top_tty_read_key(&t, 1000);

			if (k < 0)
				_exit(91);
			if (k == TOP_KEY_REDRAW)
				resumed = true;
			if (k == 'c')
				raise(SIGSEGV);
			if (k == 'a')
				abort();
			if (k == 'f') {
				volatile uintptr_t addr = 16;

				*(volatile int *)addr = 1;
			}
		}
		top_tty_close(&t);
		_exit(100 + top_tty_quit_signal() + (resumed ? 50 : 0));
	}
	return pid;
}

/* waitpid with a deadline; the child is killed on timeout. */
static int child_wait(pid_t pid, int flags)
{
	long end = now_ms() + DEADLINE_MS;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, flags | WNOHANG);

		if (r == pid)
			return status;
		cr_assert_eq(r, 0, "waitpid: %s", strerror(errno));
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			cr_assert_fail("child %d did not %s in time", pid,
				       flags & WUNTRACED ? "stop" : "end");
		}
		usleep(2000);
	}
}

Test(top_ui, tty_child_quit_signals_restore)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct pty p;
		pid_t pid;
		int status;

		pty_open(&p, 80, 24);
		pid = child_start(&p);
		assert_entered(&p);
		assert_raw(&p);
		cr_assert_eq(kill(pid, sigs[i]), 0);
		status = child_wait(pid, 0);
		cr_assert(WIFEXITED(status), "signal %d: child status %#x", sigs[i], status);
		cr_assert_eq(WEXITSTATUS(status), 100 + sigs[i]);
		assert_restored(&p);
		pty_close(&p);
	}
}

static void crash_case(const char *key, int sig)
{
	struct pty p;
	pid_t pid;
	int status;

	pty_open(&p, 80, 24);
	pid = child_start(&p);
	assert_entered(&p);
	pty_type(&p, key);
	status = child_wait(pid, 0);
	cr_assert(WIFSIGNALED(status), "key %s: child status %#x", key, status);
	cr_assert_eq(WTERMSIG(status), sig, "key %s: signal %d", key, WTERMSIG(status));
	assert_restored(&p);
	pty_close(&p);
}

Test(top_ui, tty_child_crash_restores)
{
	crash_case("c", SIGSEGV);
	crash_case("a", SIGABRT);
	crash_case("f", SIGSEGV);
	/* a fatal signal sent from outside */
	struct pty p;
	pid_t pid;
	int status;

	pty_open(&p, 80, 24);
	pid = child_start(&p);
	assert_entered(&p);
	kill(pid, SIGBUS);
	status = child_wait(pid, 0);
	cr_assert(WIFSIGNALED(status));
	cr_assert_eq(WTERMSIG(status), SIGBUS);
	assert_restored(&p);
	pty_close(&p);
}

static void suspend_case(bool by_key)
{
	struct pty p;
	pid_t pid;
	int status;

	pty_open(&p, 80, 24);
	pid = child_start(&p);
	assert_entered(&p);
	if (by_key)
		pty_type(&p, "\x1a");
	else
		kill(pid, SIGTSTP);
	status = child_wait(pid, WUNTRACED);
	cr_assert(WIFSTOPPED(status), "child status %#x", status);
	assert_restored(&p);                    /* the shell gets a sane terminal */
	cr_assert_eq(kill(pid, SIGCONT), 0);
	assert_entered(&p);                     /* taken again on resume */
	assert_raw(&p);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	status = child_wait(pid, 0);
	cr_assert(WIFEXITED(status), "child status %#x", status);
	cr_assert_eq(WEXITSTATUS(status), 100 + SIGTERM + 50);  /* it saw the resume */
	assert_restored(&p);
	pty_close(&p);
}

Test(top_ui, tty_child_suspend_by_ctrl_z)
{
	suspend_case(true);
}

Test(top_ui, tty_child_suspend_by_sigtstp)
{
	suspend_case(false);
}

/* kill -STOP cannot be caught: the terminal stays raw while stopped, and the shell may reset it
 * meanwhile; on SIGCONT the tty takes it again. */
Test(top_ui, tty_child_stop_cont_retakes)
{
	struct pty p;
	pid_t pid;
	int status;

	pty_open(&p, 80, 24);
	pid = child_start(&p);
	assert_entered(&p);
	cr_assert_eq(kill(pid, SIGSTOP), 0);
	status = child_wait(pid, WUNTRACED);
	cr_assert(WIFSTOPPED(status), "child status %#x", status);
	cr_assert_eq(tcsetattr(p.slave, TCSANOW, &p.orig), 0);  /* what a shell does */
	cr_assert_eq(kill(pid, SIGCONT), 0);
	assert_entered(&p);
	assert_raw(&p);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	status = child_wait(pid, 0);
	cr_assert(WIFEXITED(status), "child status %#x", status);
	cr_assert_eq(WEXITSTATUS(status), 100 + SIGTERM + 50);
	assert_restored(&p);
	pty_close(&p);
}

/* exit() without close: the atexit handler restores. The child re-executes this binary (the
 * constructor below takes over before Criterion's main), so that none of Criterion's exit
 * handlers run in it. */
#define EXIT_CHILD_ENV "IOASID_TOP_UI_TEST_EXIT_FD"

__attribute__((constructor)) static void exit_child(void)
{
	const char *fd = getenv(EXIT_CHILD_ENV);
	struct top_tty t;

	if (!fd)
		return;
	if (top_tty_open(&t, atoi(fd), atoi(fd)))
		_exit(90);
	exit(7);
}

Test(top_ui, tty_child_exit_without_close_restores)
{
	struct pty p;
	pid_t pid;
	int status;

	pty_open(&p, 80, 24);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char fd[16];

		snprintf(fd, sizeof(fd), "%d", p.slave);
		setenv(EXIT_CHILD_ENV, fd, 1);
		execl("/proc/self/exe", "test_top_ui", (char *)NULL);
		_exit(92);
	}
	status = child_wait(pid, 0);
	cr_assert(WIFEXITED(status), "child status %#x", status);
	cr_assert_eq(WEXITSTATUS(status), 7);
	cr_assert(pty_expect(&p, "\033[?1049h"));
	assert_restored(&p);
	pty_close(&p);
}
