/* format.h — private to src/top/: how ioasid-top writes numbers, and the pieces of the screen
 * that the batch text output (output.c) shares with the screen (render.c).
 *
 * Scaled numbers (screen and batch text; JSON and OpenMetrics carry raw units) keep at most 5
 * characters, one rule for every unit: below 99.95 one decimal ("0.5", "12.3k"), below 999.5
 * none ("250", "999k"), else the next unit ("1.0k"). Exact 0 is "0". Then:
 *   rates      decimal units  k M G T P E          "0" "0.5" "999" "1.0k" "12.3k" "4.5M"
 *   counts     integers below 1000, then as rates   "0" "7" "999" "1.0k"
 *   bytes      binary units   B K M G T P E; whole  "0" "512B" "1023B" "1.0K" "1023K" "1.2G"
 *              bytes below 1 KiB, and a unit keeps up to 1023 before the next
 *   latency    from ns: n (whole), u m s            "850n" "3.1u" "1.2m" "2.0s" "1234s";
 *              0 is "-" (no sample in the interval)
 *   unknown    "-"; unlimited headroom "unlim"
 * Every formatter writes a NUL-terminated string into the caller's buffer (TOP_FMT_LEN always
 * suffices) and returns it; none keeps state.
 */
#ifndef IOASID_TOP_FORMAT_H
#define IOASID_TOP_FORMAT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "top/top.h"

#define TOP_FMT_LEN 24

char *top_fmt_rate(double v, char *buf, size_t len);
char *top_fmt_count(uint64_t v, char *buf, size_t len);
char *top_fmt_bytes(double bytes, char *buf, size_t len);
char *top_fmt_lat(uint64_t ns, char *buf, size_t len);
char *top_fmt_avail_bytes(enum top_avail avail, uint64_t bytes, char *buf, size_t len);
/* "14:03:07": the time of day of wall_s (UTC). */
char *top_fmt_clock(int64_t wall_s, char *buf, size_t len);
/* A metric column's value as the screen shows it. */
char *top_fmt_cell(const struct top_row *r, enum top_col c, char *buf, size_t len);

/* ---- line building -------------------------------------------------------------------------
 * A line of at most `width` columns in buf[len] (width < len). top_line_add appends text,
 * cutting it at the width; top_line_item appends a whole item, with `sep` before it unless it
 * is the first, only if it fits entirely: header and status lines drop what does not fit rather
 * than show half of it. */
struct top_line {
	char *buf;
	size_t len;
	size_t width;
	size_t n;               /* columns written */
	bool dropped;           /* an item did not fit */
};

void top_line_init(struct top_line *l, char *buf, size_t len, size_t width);
void top_line_add(struct top_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool top_line_item(struct top_line *l, const char *sep, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- shared with output.c (render.c) --------------------------------------------------------- */

/* Summary line `n` (0: title, 1..4 the totals) of the header; ui NULL for batch output (no
 * paused mark). Items that do not fit `width` are left out. */
void top_render_summary(const struct top_snapshot *s, const struct top_ui *ui, int n,
			char *buf, size_t len, size_t width);
#define TOP_SUMMARY_LINES 5

/* The table: a layout says which columns show and how wide the identity columns are. The
 * screen uses fixed widths (top_render_columns decides with them) and cuts identity text at
 * its width; batch text sizes the identity columns to the rows and never cuts. */
struct top_layout {
	enum top_view view;
	bool batch;
	bool shown[TOP_COL_COUNT];
	int id_width[8];
};

void top_layout_screen(struct top_layout *lay, enum top_view view, int width);
void top_layout_batch(struct top_layout *lay, const struct top_snapshot *s);
/* The column header (r NULL; `sort` is marked with '*' before its name) or a row's line. */
void top_render_table_line(const struct top_layout *lay, const struct top_row *r, int sort,
			   char *buf, size_t len, size_t width);

/* Where top_render_screen puts the table for a screen `height` lines high: the column header
 * line (-1: none) and how many row lines follow it (the page size top_ui_key wants). */
void top_render_table_geometry(int height, int *header_line, int *rows_visible);

/* Rows are the same row when every numeric identity field matches (names may change: comm
 * after an exec, a label once a name is learnt). */
bool top_row_id_same(const struct top_row_id *a, const struct top_row_id *b);

#endif
