/* keys.c — terminal input bytes → keys (ui.h). Pure: no I/O, no state between calls.
 *
 * What terminals send (xterm, VTE, tmux/screen, the Linux console, rxvt):
 *   printable ASCII         itself
 *   \r \n                   Enter (raw mode keeps \r: ICRNL is off)
 *   0x7f 0x08               Backspace
 *   0x03 0x1c 0x1a 0x0c     Ctrl-C, Ctrl-\, Ctrl-Z, Ctrl-L (ISIG is off: keys, not signals)
 *   ESC [ params final      CSI: arrows A-D, Home H, End F, Shift-Tab Z, `N ~` for
 *                           Home 1/7, Delete 3, End 4/8, PgUp 5, PgDn 6, F-keys 11..24;
 *                           a modifier (ESC [ 1 ; 5 A) does not change the key
 *   ESC O final             SS3 (application cursor keys): A-D, H, F, F1-F4 as P-S, keypad Enter M
 *   ESC [ [ A..E            the Linux console's F1..F5
 *   ESC [ M b x y           an X10 mouse report (we never ask for one; dropped whole)
 *   ESC                     alone: the Esc key — only known once no byte follows, hence `final`
 *   ESC x                   Alt-x: dropped
 * Invariant: every byte is consumed exactly once, as part of one key or one TOP_KEY_NONE; no
 * byte of a sequence ever comes out as a printable key. A sequence cut by a byte that cannot
 * belong to it is dropped up to that byte, which then starts the next key. The one limit of a
 * decoder without memory: a sequence still unfinished after TOP_KEY_SEQ_MAX bytes is dropped
 * as it stands, and its tail, when it comes, decodes as keys (no key press sends one: only
 * replies to queries and pastes we never ask for).
 */
#include <stdbool.h>
#include <stddef.h>

#include "top/ui.h"

#define KEY_ESC 0x1b

/* A byte that is not part of a sequence. */
static int key_of_byte(unsigned char c)
{
	switch (c) {
	case '\r':
	case '\n':
		return TOP_KEY_ENTER;
	case 0x7f:
	case 0x08:
		return TOP_KEY_BACKSPACE;
	case '\t':
		return TOP_KEY_TAB;
	case 0x03:
	case 0x1c:
		return TOP_KEY_CTRL_C;
	case 0x1a:
		return TOP_KEY_CTRL_Z;
	case 0x0c:
		return TOP_KEY_REDRAW;
	}
	if (c >= 0x20 && c < 0x7f)
		return c;
	return TOP_KEY_NONE;            /* other control bytes, and bytes >= 0x80 (UTF-8) */
}

/* `N ~` keys of a CSI sequence, by N. */
static int key_of_tilde(unsigned int n)
{
	switch (n) {
	case 1: case 7: return TOP_KEY_HOME;
	case 3: return TOP_KEY_DELETE;
	case 4: case 8: return TOP_KEY_END;
	case 5: return TOP_KEY_PGUP;
	case 6: return TOP_KEY_PGDN;
	case 11: case 12: case 13: case 14: case 15: return TOP_KEY_F(n - 10);
	case 17: case 18: case 19: case 20: case 21: return TOP_KEY_F(n - 11);
	case 23: case 24: return TOP_KEY_F(n - 12);
	}
	return TOP_KEY_NONE;            /* 2 is Insert: no use here */
}

/* Final bytes that mean the same after CSI and SS3. */
static int key_of_final(unsigned char f)
{
	switch (f) {
	case 'A': return TOP_KEY_UP;
	case 'B': return TOP_KEY_DOWN;
	case 'C': return TOP_KEY_RIGHT;
	case 'D': return TOP_KEY_LEFT;
	case 'H': return TOP_KEY_HOME;
	case 'F': return TOP_KEY_END;
	case 'P': case 'Q': case 'R': case 'S': return TOP_KEY_F(f - 'P' + 1);
	}
	return TOP_KEY_NONE;
}

/* Not enough bytes for the sequence at buf: wait for more, or drop what is there. */
static int key_incomplete(size_t len, bool final, size_t *used)
{
	if (!final) {
		*used = 0;
		return 0;
	}
	*used = len;
	return TOP_KEY_NONE;
}

/* ESC [ or ESC O at buf (len >= 3 is not assumed). */
static int key_sequence(const unsigned char *buf, size_t len, bool final, size_t *used)
{
	bool csi = buf[1] == '[';
	unsigned int n = 0;
	bool private = false, digits_ok = true;
	size_t i;

	if (csi && len > 2 && buf[2] == '[') {          /* Linux console F1..F5 */
		if (len < 4)
			return key_incomplete(len, final, used);
		*used = 4;
		return buf[3] >= 'A' && buf[3] <= 'E' ? TOP_KEY_F(buf[3] - 'A' + 1) : TOP_KEY_NONE;
	}
	/* parameter bytes 0x30-0x3f, intermediate bytes 0x20-0x2f, one final byte 0x40-0x7e */
	for (i = 2; i < len; i++) {
		unsigned char b = buf[i];

		if (b >= 0x40 && b <= 0x7e)
			break;
		if (b < 0x20 || b > 0x3f) {     /* cannot belong to a sequence: cut here */
			*used = i;
			return TOP_KEY_NONE;
		}
		if (b >= '<' && b <= '?' && i == 2)
			private = true;         /* SGR mouse, replies to queries: nothing for us */
		else if (b >= '0' && b <= '9' && digits_ok)
			n = n * 10 + (b - '0');
		else
			digits_ok = false;      /* the first parameter ended (';' or other) */
		if (n > 999)
			private = true;
	}
	if (i >= len) {
		if (len < TOP_KEY_SEQ_MAX)
			return key_incomplete(len, final, used);
		*used = len;            /* too long to wait for: dropped as it stands */
		return TOP_KEY_NONE;
	}

	*used = i + 1;
	if (private)
		return TOP_KEY_NONE;
	if (!csi)
		return buf[i] == 'M' ? TOP_KEY_ENTER : key_of_final(buf[i]);
	switch (buf[i]) {
	case '~':
		return key_of_tilde(n);
	case 'Z':
		return TOP_KEY_BTAB;
	case 'M':
		if (i == 2) {                   /* X10 mouse: three raw bytes follow */
			if (len < i + 4)
				return key_incomplete(len, final, used);
			*used = i + 4;
		}
		return TOP_KEY_NONE;
	}
	return key_of_final(buf[i]);
}

int top_key_decode(const unsigned char *buf, size_t len, bool final, size_t *used)
{
	*used = 0;
	if (!len)
		return 0;
	if (buf[0] != KEY_ESC) {
		*used = 1;
		return key_of_byte(buf[0]);
	}
	if (len == 1) {
		if (!final)
			return 0;
		*used = 1;
		return TOP_KEY_ESC;
	}
	if (buf[1] == '[' || buf[1] == 'O') {
		if (len == 2)
			return key_incomplete(len, final, used);
		return key_sequence(buf, len, final, used);
	}
	if (buf[1] >= 0x20 && buf[1] < 0x7f) {          /* Alt-x */
		*used = 2;
		return TOP_KEY_NONE;
	}
	/* ESC then ESC or a control byte (Esc, Enter typed fast): the Esc key; the next byte is a
	 * key of its own */
	*used = 1;
	return TOP_KEY_ESC;
}
