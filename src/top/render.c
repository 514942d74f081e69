/* render.c — a snapshot and the UI state → the screen, as lines of text (pure: no I/O, no
 * clock, no terminal; tty.c draws the lines, ui.c owns the state).
 *
 * The screen, after htop and bpftop:
 *   0      title: tool, source, time of the snapshot (UTC), interval, view, [paused] [ended]
 *   1..4   the source's totals: objects; pinned vs RLIMIT_MEMLOCK, DMAs and stale IOTLB hits;
 *          rates; events and losses (each fits 80 columns whatever the values)
 *   5      blank
 *   6      column header: the view's identity columns, then the metric columns that fit, under
 *          their top_col_name(); the sort column marked with '*' just before its name
 *   7..    rows, from ui->scroll (moved if needed so that ui->selected shows)
 *   last   status: the message, the filter prompt or the applied filter, then the keys
 * A short screen gives up, in order: rows past the first, the blank line, header lines 4, 3,
 * 2, 1, then the table; the title and the status line go last. Items of a header or status line
 * that do not fit the width are left out whole, never cut in the middle; the title leaves out
 * the source first, so [paused] and [ended] show on any terminal with room for them.
 *
 * Widths are fixed per view, so columns do not move as values change and top_render_columns()
 * can say which metric columns fit without seeing the rows: identity columns pid 7, comm 15,
 * ctx 8 (hex; a wider cookie, i.e. a kernel address, shows "~" and its low 7 digits), ioas 14,
 * dev 15, group 10 (a mock device's group is 0x80000000 | RID); a metric column is as wide as
 * its name, at least 5 (every formatted value fits in 5), with one space before it, which the
 * sort mark takes when the name fills its column ("map_bytes_s*pinned": no name has a '*',
 * and a column more for every mark would cost map_p99 its place at 80 columns). When the
 * width is short, metric columns go in a fixed order per view, least important first:
 *   process, context, ioas  unmap_p50 map_p50 unmap_p99 pasids attach headroom map_p99 fault_s
 *                           inv_s pinned map_bytes_s unmap_s map_s
 *   device                  unmap_p50 map_p50 unmap_p99 map_p99 headroom pinned map_bytes_s
 *                           inv_s unmap_s map_s pasids attach fault_s
 * (80 columns keep map_s unmap_s map_bytes_s pinned inv_s fault_s map_p99 in the process view,
 * and all but map_p99 in the context and ioas views.) Dropping in a fixed order, rather than
 * fitting whatever is narrow enough, means a wider terminal only ever adds columns.
 *
 * Header line 2's headroom is RLIMIT_MEMLOCK minus everything pinned: with the smallest limit
 * against the total, it is a floor under every account's own headroom (the per-row column has
 * the real ones).
 *
 * Detail (TOP_MODE_DETAIL): the row ui->detail_id names (same numeric identity), whatever its
 * place in the list now: its identity, its metrics, every total, the map latency, unmap latency
 * and map size histograms (log2 slots labelled by their lower bound; three panels side by side
 * when 20 columns each fit, else one under the other; when the slots outnumber the lines, the
 * run of consecutive non-empty slots holding the most samples shows and the title says how many
 * of how many), and the row's last events, oldest first, one line each: age, type, the fields
 * that type uses (ioasid/event.h), result when not 0, latency when measured.
 *
 * Every line is exactly `width` columns of printable ASCII: other bytes (a comm may hold any)
 * show as '?', so the terminal's idea of a column is ours.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ioasid/event_format.h"
#include "ioasid/trace.h"
#include "top/format.h"

/* ---- names --------------------------------------------------------------------------------- */
static const char *const col_names[TOP_COL_COUNT] = {
#define TOP_X_NAME(up, name, doc) [TOP_COL_##up] = name,
	TOP_COLUMNS(TOP_X_NAME)
#undef TOP_X_NAME
};

static const char *const col_docs[TOP_COL_COUNT] = {
#define TOP_X_DOC(up, name, doc) [TOP_COL_##up] = doc,
	TOP_COLUMNS(TOP_X_DOC)
#undef TOP_X_DOC
};

static const char *const view_names[TOP_VIEW_COUNT] = {
	[TOP_VIEW_PROCESS] = "process",
	[TOP_VIEW_CONTEXT] = "context",
	[TOP_VIEW_IOAS] = "ioas",
	[TOP_VIEW_DEVICE] = "device",
};

/* What the rows of a view are, for "no rows" lines. */
static const char *const view_rows[TOP_VIEW_COUNT] = {
	[TOP_VIEW_PROCESS] = "processes",
	[TOP_VIEW_CONTEXT] = "contexts",
	[TOP_VIEW_IOAS] = "IOASes or domains",
	[TOP_VIEW_DEVICE] = "devices",
};

const char *top_col_name(enum top_col c)
{
	return (unsigned int)c < TOP_COL_COUNT ? col_names[c] : "?";
}

const char *top_col_doc(enum top_col c)
{
	return (unsigned int)c < TOP_COL_COUNT ? col_docs[c] : "";
}

const char *top_view_name(enum top_view v)
{
	return (unsigned int)v < TOP_VIEW_COUNT ? view_names[v] : "?";
}

int top_view_from_name(const char *name)
{
	for (int v = 0; name && v < TOP_VIEW_COUNT; v++)
		if (!strcasecmp(name, view_names[v]))
			return v;
	return -EINVAL;
}

static const char *sort_name(int sort)
{
	return sort >= 0 && sort < TOP_COL_COUNT ? col_names[sort] : "load";
}

/* ---- columns ------------------------------------------------------------------------------- */
enum id_col { ID_PID, ID_COMM, ID_CTX, ID_IOAS, ID_DEV, ID_GROUP, ID_COUNT };

static const struct {
	const char *name;
	int width;
	bool left;
} id_cols[ID_COUNT] = {
	[ID_PID] = { "pid", 7, false },
	[ID_COMM] = { "comm", 15, true },
	[ID_CTX] = { "ctx", 8, false },
	[ID_IOAS] = { "ioas", 14, true },
	[ID_DEV] = { "dev", 15, true },
	[ID_GROUP] = { "group", 10, false },
};

#define VIEW_IDS 3
static const enum id_col view_ids[TOP_VIEW_COUNT][VIEW_IDS] = {
	[TOP_VIEW_PROCESS] = { ID_PID, ID_COMM, ID_COUNT },
	[TOP_VIEW_CONTEXT] = { ID_PID, ID_COMM, ID_CTX },
	[TOP_VIEW_IOAS] = { ID_PID, ID_CTX, ID_IOAS },
	[TOP_VIEW_DEVICE] = { ID_DEV, ID_GROUP, ID_PID },
};

/* Most important first (the design note explains the choice). */
static const enum top_col keep_order[TOP_VIEW_COUNT][TOP_COL_COUNT] = {
#define TOP_KEEP_MAPPING                                                                           \
	{ TOP_COL_MAP_S, TOP_COL_UNMAP_S, TOP_COL_MAP_BYTES_S, TOP_COL_PINNED, TOP_COL_INV_S,     \
	  TOP_COL_FAULT_S, TOP_COL_MAP_P99, TOP_COL_HEADROOM, TOP_COL_ATTACH, TOP_COL_PASIDS,     \
	  TOP_COL_UNMAP_P99, TOP_COL_MAP_P50, TOP_COL_UNMAP_P50 }
	[TOP_VIEW_PROCESS] = TOP_KEEP_MAPPING,
	[TOP_VIEW_CONTEXT] = TOP_KEEP_MAPPING,
	[TOP_VIEW_IOAS] = TOP_KEEP_MAPPING,
#undef TOP_KEEP_MAPPING
	[TOP_VIEW_DEVICE] = { TOP_COL_FAULT_S, TOP_COL_ATTACH, TOP_COL_PASIDS, TOP_COL_MAP_S,
			      TOP_COL_UNMAP_S, TOP_COL_INV_S, TOP_COL_MAP_BYTES_S, TOP_COL_PINNED,
			      TOP_COL_HEADROOM, TOP_COL_MAP_P99, TOP_COL_UNMAP_P99, TOP_COL_MAP_P50,
			      TOP_COL_UNMAP_P50 },
};

static enum top_view valid_view(enum top_view v)
{
	return (unsigned int)v < TOP_VIEW_COUNT ? v : TOP_VIEW_PROCESS;
}

static int col_width(enum top_col c)
{
	int n = (int)strlen(col_names[c]);

	return n > 5 ? n : 5;
}

static int id_total(enum top_view view, const int *id_width)
{
	int total = -1;         /* no separator before the first column */

	for (int i = 0; i < VIEW_IDS; i++)
		if (view_ids[view][i] != ID_COUNT)
			total += 1 + id_width[view_ids[view][i]];
	return total;
}

void top_render_columns(enum top_view view, int width, bool shown[TOP_COL_COUNT])
{
	int id_width[ID_COUNT], total;

	view = valid_view(view);
	for (int i = 0; i < ID_COUNT; i++)
		id_width[i] = id_cols[i].width;
	total = id_total(view, id_width);
	for (int c = 0; c < TOP_COL_COUNT; c++) {
		shown[c] = true;
		total += 1 + col_width(c);
	}
	for (int i = TOP_COL_COUNT - 1; i >= 0 && total > width; i--) {
		enum top_col c = keep_order[view][i];

		shown[c] = false;
		total -= 1 + col_width(c);
	}
}

void top_layout_screen(struct top_layout *lay, enum top_view view, int width)
{
	memset(lay, 0, sizeof(*lay));
	lay->view = valid_view(view);
	for (int i = 0; i < ID_COUNT; i++)
		lay->id_width[i] = id_cols[i].width;
	top_render_columns(lay->view, width, lay->shown);
}

static const char *id_text(const struct top_row_id *id, enum id_col c, bool batch, char *buf,
			   size_t len)
{
	switch (c) {
	case ID_PID:
	case ID_GROUP: {
		uint32_t v = c == ID_PID ? id->pid : id->group;

		if (!v)
			return "-";
		snprintf(buf, len, "%u", v);
		return buf;
	}
	case ID_COMM:
		if (id->comm[0])
			snprintf(buf, len, "%.*s", (int)sizeof(id->comm), id->comm);
		else
			snprintf(buf, len, "%.*s", (int)sizeof(id->label),
				 id->label[0] ? id->label : "-");
		return buf;
	case ID_CTX:
		if (!id->ctx)
			return "-";
		if (batch || id->ctx <= UINT32_MAX)
			snprintf(buf, len, "%llx", (unsigned long long)id->ctx);
		else
			snprintf(buf, len, "~%07llx", (unsigned long long)(id->ctx & 0xfffffff));
		return buf;
	case ID_IOAS:
		if (id->label[0])
			snprintf(buf, len, "%.*s", (int)sizeof(id->label), id->label);
		else if (id->ioas)
			snprintf(buf, len, "ioas %u", id->ioas);
		else
			snprintf(buf, len, "dom %u:%u", id->iommu, id->domain);
		return buf;
	case ID_DEV:
		if (id->name[0])
			snprintf(buf, len, "%.*s", (int)sizeof(id->name), id->name);
		else if (id->label[0])
			snprintf(buf, len, "%.*s", (int)sizeof(id->label), id->label);
		else if (id->dev)
			snprintf(buf, len, "dev %u", id->dev);
		else
			return "-";
		return buf;
	case ID_COUNT:
		break;
	}
	return "";
}

void top_layout_batch(struct top_layout *lay, const struct top_snapshot *s)
{
	char buf[TOP_LABEL_LEN + 8];

	memset(lay, 0, sizeof(*lay));
	lay->view = valid_view(s->view);
	lay->batch = true;
	for (int c = 0; c < TOP_COL_COUNT; c++)
		lay->shown[c] = true;
	for (int i = 0; i < ID_COUNT; i++) {
		lay->id_width[i] = (int)strlen(id_cols[i].name);
		for (size_t r = 0; r < s->nr_rows; r++) {
			int n = (int)strlen(id_text(&s->rows[r].id, i, true, buf, sizeof(buf)));

			if (n > lay->id_width[i])
				lay->id_width[i] = n;
		}
	}
}

void top_render_table_line(const struct top_layout *lay, const struct top_row *r, int sort,
			   char *buf, size_t len, size_t width)
{
	char cell[TOP_LABEL_LEN + 8];
	struct top_line l;

	top_line_init(&l, buf, len, width);
	for (int i = 0; i < VIEW_IDS; i++) {
		enum id_col c = view_ids[lay->view][i];
		const char *text;
		int w;

		if (c == ID_COUNT)
			continue;
		text = r ? id_text(&r->id, c, lay->batch, cell, sizeof(cell)) : id_cols[c].name;
		w = lay->id_width[c];
		if (lay->batch)
			top_line_add(&l, "%s%*s", i ? " " : "", id_cols[c].left ? -w : w, text);
		else
			top_line_add(&l, "%s%*.*s", i ? " " : "", id_cols[c].left ? -w : w, w,
				     text);
	}
	for (int c = 0; c < TOP_COL_COUNT; c++) {
		if (!lay->shown[c])
			continue;
		if (r)
			top_fmt_cell(r, c, cell, sizeof(cell));
		else
			snprintf(cell, sizeof(cell), "%s%s", c == sort ? "*" : "", col_names[c]);
		top_line_add(&l, "%*s", 1 + col_width(c), cell);
	}
}

/* ---- the header lines ---------------------------------------------------------------------- */

/* "1", "0.5", "2.5": the interval without a trailing ".0". */
static char *fmt_interval(double s, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%.1f", s > 0 ? s : 0.0);
	n = strlen(buf);
	if (n > 2 && !strcmp(buf + n - 2, ".0"))
		buf[n - 2] = '\0';
	return buf;
}

/* The title: its items are left out least important first (the source, the interval, the
 * view, the time), so [paused] and [ended] show on any terminal that has room for them. */
static void title_line(struct top_line *l, const struct top_snapshot *s, const struct top_ui *ui)
{
	enum { T_TOOL, T_SOURCE, T_CLOCK, T_EVERY, T_VIEW, T_PAUSED, T_ENDED, T_COUNT };
	static const int drop_order[] = { T_SOURCE, T_EVERY, T_VIEW, T_CLOCK, T_ENDED, T_PAUSED,
					  T_TOOL };
	char text[T_COUNT][sizeof(s->hdr.source) + 8], a[TOP_FMT_LEN];
	bool on[T_COUNT];
	long total = -3;        /* no " - " before the first */

	snprintf(text[T_TOOL], sizeof(text[0]), "ioasid-top");
	snprintf(text[T_SOURCE], sizeof(text[0]), "%.*s", (int)sizeof(s->hdr.source),
		 s->hdr.source);
	snprintf(text[T_CLOCK], sizeof(text[0]), "%s UTC",
		 top_fmt_clock(s->hdr.wall_s, a, sizeof(a)));
	snprintf(text[T_EVERY], sizeof(text[0]), "every %ss",
		 fmt_interval(s->hdr.interval_s, a, sizeof(a)));
	snprintf(text[T_VIEW], sizeof(text[0]), "%s view", top_view_name(valid_view(s->view)));
	snprintf(text[T_PAUSED], sizeof(text[0]), "[paused]");
	snprintf(text[T_ENDED], sizeof(text[0]), "[ended]");
	for (int i = 0; i < T_COUNT; i++) {
		on[i] = i == T_PAUSED ? ui && ui->paused : i == T_ENDED ? s->hdr.ended : true;
		on[i] = on[i] && text[i][0];
		total += on[i] ? (long)strlen(text[i]) + (i >= T_PAUSED ? 1 : 3) : 0;
	}
	for (size_t k = 0; k < sizeof(drop_order) / sizeof(drop_order[0]) &&
			   total > (long)l->width; k++) {
		int i = drop_order[k];

		if (on[i]) {
			on[i] = false;
			total -= (long)strlen(text[i]) + (i >= T_PAUSED ? 1 : 3);
		}
	}
	for (int i = 0; i < T_COUNT; i++)
		if (on[i])
			top_line_item(l, i >= T_PAUSED ? " " : " - ", "%s", text[i]);
}

void top_render_summary(const struct top_snapshot *s, const struct top_ui *ui, int n,
			char *buf, size_t len, size_t width)
{
	const struct top_header *h = &s->hdr;
	char a[TOP_FMT_LEN], b[TOP_FMT_LEN], c[TOP_FMT_LEN];
	struct top_line l;

	top_line_init(&l, buf, len, width);
	switch (n) {
	case 0:
		title_line(&l, s, ui);
		break;
	case 1:
		top_line_item(&l, "  ", "contexts %u", h->contexts);
		top_line_item(&l, "  ", "processes %u", h->processes);
		top_line_item(&l, "  ", "devices bound %u", h->devices_bound);
		top_line_item(&l, "  ", "IOASes %u", h->ioases);
		top_line_item(&l, "  ", "domains %u", h->domains);
		break;
	case 2:
		top_line_item(&l, "  ", "pinned %s",
			      top_fmt_avail_bytes(h->pinned_avail, h->pinned_bytes, a, sizeof(a)));
		if (h->memlock_avail == TOP_UNLIMITED) {
			top_line_item(&l, "  ", "memlock unlimited");
		} else {
			top_line_item(&l, "  ", "memlock %s",
				      top_fmt_avail_bytes(h->memlock_avail, h->memlock_bytes, a,
							  sizeof(a)));
			if (h->memlock_avail == TOP_VALUE && h->pinned_avail == TOP_VALUE)
				top_line_item(&l, "  ", "headroom %s",
					      top_fmt_bytes(h->memlock_bytes > h->pinned_bytes ?
							    (double)(h->memlock_bytes -
								     h->pinned_bytes) : 0,
							    a, sizeof(a)));
		}
		top_line_item(&l, "  ", "DMAs %s", top_fmt_count(h->total.dmas, a, sizeof(a)));
		top_line_item(&l, "  ", "stale hits %s",
			      top_fmt_count(h->total.stale_hits, a, sizeof(a)));
		break;
	case 3:
		top_line_item(&l, "  ", "map/s %s", top_fmt_rate(h->map_s, a, sizeof(a)));
		top_line_item(&l, "  ", "unmap/s %s", top_fmt_rate(h->unmap_s, a, sizeof(a)));
		top_line_item(&l, "  ", "mapped/s %s", top_fmt_bytes(h->map_bytes_s, a, sizeof(a)));
		top_line_item(&l, "  ", "inv/s %s", top_fmt_rate(h->inv_s, a, sizeof(a)));
		top_line_item(&l, "  ", "fault/s %s", top_fmt_rate(h->fault_s, a, sizeof(a)));
		break;
	case 4:
		top_line_item(&l, "  ", "events %s", top_fmt_count(h->events, a, sizeof(a)));
		top_line_item(&l, "  ", "dropped %s", top_fmt_count(h->dropped, b, sizeof(b)));
		top_line_item(&l, "  ", "unaggregated %s",
			      top_fmt_count(h->unaggregated, c, sizeof(c)));
		if (h->aggregates)
			top_line_item(&l, "  ", "counts from BPF aggregates");
		else if (h->dropped)
			top_line_item(&l, "  ", "counts from events (low: events dropped)");
		else
			top_line_item(&l, "  ", "counts from events");
		break;
	}
}

/* ---- the screen ---------------------------------------------------------------------------- */
struct screen {
	char *lines;
	int w, h;
};

static char *scr_line(const struct screen *sc, int y)
{
	return sc->lines + (size_t)y * ((size_t)sc->w + 1);
}

/* A whole line, from column 0 (NUL-terminated; scr_finish pads it). */
static struct top_line *scr_begin(const struct screen *sc, int y, struct top_line *l)
{
	top_line_init(l, scr_line(sc, y), (size_t)sc->w + 1, (size_t)sc->w);
	return l;
}

/* Text at (y, x), at most maxw columns, never past the width; no NUL written. */
static void scr_put(const struct screen *sc, int y, int x, int maxw, const char *text)
{
	char *line = scr_line(sc, y);

	for (int i = 0; text[i] && i < maxw && x + i < sc->w; i++)
		line[x + i] = text[i];
}

static void scr_finish(const struct screen *sc)
{
	for (int y = 0; y < sc->h; y++) {
		char *line = scr_line(sc, y);
		size_t n = strnlen(line, (size_t)sc->w);

		memset(line + n, ' ', (size_t)sc->w - n);
		line[sc->w] = '\0';
		for (int x = 0; x < sc->w; x++)
			if ((unsigned char)line[x] < 0x20 || (unsigned char)line[x] > 0x7e)
				line[x] = '?';
	}
}

/* Lines of the table screen for a height: see the design note for what goes first. */
struct geometry {
	int summary;            /* header lines shown, from line 0 */
	int header;             /* the column header's line; -1 none */
	int rows;               /* row lines after it */
};

static struct geometry table_geometry(int height)
{
	struct geometry g = { .header = -1 };
	int left = height - 1, more;    /* the status line */
	bool table = false, blank = false;

	if (left <= 0)
		return g;
	g.summary = 1;
	left--;
	if (left >= 2) {
		table = true;
		left -= 2;
	}
	more = left < TOP_SUMMARY_LINES - 1 ? left : TOP_SUMMARY_LINES - 1;
	g.summary += more;
	left -= more;
	if (table && left > 0) {
		blank = true;
		left--;
	}
	if (table) {
		g.header = g.summary + blank;
		g.rows = 1 + left;
	}
	return g;
}

void top_render_table_geometry(int height, int *header_line, int *rows_visible)
{
	struct geometry g = table_geometry(height);

	if (header_line)
		*header_line = g.header;
	if (rows_visible)
		*rows_visible = g.rows;
}

static void render_status(const struct screen *sc, const struct top_ui *ui)
{
	struct top_line l;
	const char *sep = "  ";

	scr_begin(sc, sc->h - 1, &l);
	if (ui->mode == TOP_MODE_FILTER) {
		size_t n = strnlen(ui->edit, sizeof(ui->edit)), room;

		/* the end of the text, where the cursor is, always shows */
		room = sc->w > 9 ? (size_t)sc->w - 9 : 0;
		if (n <= room || room < 2)
			top_line_add(&l, "filter: %.*s_", (int)n, ui->edit);
		else
			top_line_add(&l, "filter: <%.*s_", (int)room - 1,
				     ui->edit + n - (room - 1));
		top_line_item(&l, sep, "Enter apply");
		top_line_item(&l, sep, "Esc cancel");
		return;
	}
	if (ui->message[0])
		top_line_add(&l, "%.*s", (int)sizeof(ui->message), ui->message);
	if (ui->mode == TOP_MODE_HELP) {
		top_line_item(&l, sep, "any key back");
		top_line_item(&l, sep, "q quit");
		return;
	}
	if (ui->filter[0])
		top_line_item(&l, sep, "filter:%.*s", (int)sizeof(ui->filter), ui->filter);
	if (ui->mode == TOP_MODE_DETAIL) {
		top_line_item(&l, sep, "Esc back");
		top_line_item(&l, sep, "j/k row");
	} else {
		top_line_item(&l, sep, "q quit");
		top_line_item(&l, sep, "j/k move");
	}
	top_line_item(&l, sep, "s sort:%s%s", sort_name(ui->sort), ui->ascending ? " asc" : "");
	if (ui->mode == TOP_MODE_DETAIL) {
		top_line_item(&l, sep, "q quit");
	} else {
		top_line_item(&l, sep, "f filter");
		top_line_item(&l, sep, "v view");
		top_line_item(&l, sep, "Enter detail");
	}
	top_line_item(&l, sep, "p %s", ui->paused ? "resume" : "pause");
	top_line_item(&l, sep, "? help");
}

static void render_table(const struct screen *sc, const struct top_snapshot *s,
			 const struct top_ui *ui, int *selected_line)
{
	struct geometry g = table_geometry(sc->h);
	struct top_layout lay;
	struct top_line l;
	size_t n = s->nr_rows, scroll = ui->scroll, visible;

	for (int i = 0; i < g.summary; i++)
		top_render_summary(s, ui, i, scr_line(sc, i), (size_t)sc->w + 1, (size_t)sc->w);
	if (g.header < 0)
		return;
	top_layout_screen(&lay, s->view, sc->w);
	top_render_table_line(&lay, NULL, ui->sort, scr_line(sc, g.header), (size_t)sc->w + 1,
			      (size_t)sc->w);
	if (!n) {
		scr_begin(sc, g.header + 1, &l);
		if (ui->filter[0])
			top_line_add(&l, "  no %s match filter \"%.*s\"",
				     view_rows[valid_view(s->view)], (int)sizeof(ui->filter),
				     ui->filter);
		else
			top_line_add(&l, "  no %s", view_rows[valid_view(s->view)]);
		return;
	}
	/* ui.c keeps these; a stale state still shows the selection and no empty tail */
	visible = (size_t)g.rows;
	if (n <= visible)
		scroll = 0;
	else if (scroll > n - visible)
		scroll = n - visible;
	if (ui->selected < n) {
		if (ui->selected < scroll)
			scroll = ui->selected;
		else if (ui->selected >= scroll + visible)
			scroll = ui->selected - visible + 1;
	}
	for (size_t i = 0; i < visible && scroll + i < n; i++) {
		int y = g.header + 1 + (int)i;

		top_render_table_line(&lay, &s->rows[scroll + i], ui->sort, scr_line(sc, y),
				      (size_t)sc->w + 1, (size_t)sc->w);
		if (scroll + i == ui->selected && selected_line)
			*selected_line = y;
	}
}

/* ---- detail: one event as a line ----------------------------------------------------------- */

/* Fields each type uses (ioasid/event.h), in reading order: `field` or `field=label`.
 *   ctx dev group obj pt iommu pasid aux value   as named; dom is iommu:domain
 *   iova (hex)  len (bytes; "all")  vbytes (value as bytes)  vpages / dpages (value pages,
 *   length signed pages, as bytes)  inv drv objk (aux as a reason / driver / object kind) */
static const char *const ev_fields[IOASID_EV_MAX] = {
	[IOASID_EV_CTX_OPEN] = "ctx",
	[IOASID_EV_CTX_CLOSE] = "ctx value=objects",
	[IOASID_EV_DEV_BIND] = "ctx dev group obj=dev_id iommu",
	[IOASID_EV_DEV_UNBIND] = "ctx dev group obj=dev_id",
	[IOASID_EV_DEV_ATTACH] = "ctx dev pasid pt=hwpt dom",
	[IOASID_EV_DEV_REPLACE] = "ctx dev pasid pt=hwpt dom aux=old_domain",
	[IOASID_EV_DEV_DETACH] = "ctx dev pasid pt=hwpt dom",
	[IOASID_EV_HWPT_ALLOC] = "ctx obj=hwpt pt dom",
	[IOASID_EV_HWPT_DESTROY] = "ctx obj=hwpt pt dom",
	[IOASID_EV_IOAS_MAP] = "ctx obj=ioas iova len vpages=pinned",
	[IOASID_EV_IOAS_UNMAP] = "ctx obj=ioas iova len vbytes=unmapped",
	[IOASID_EV_IOAS_COPY] = "ctx obj=ioas pt=src iova len",
	[IOASID_EV_DOMAIN_MAP] = "dom iova len",
	[IOASID_EV_DOMAIN_UNMAP] = "dom iova len",
	[IOASID_EV_IOTLB_INV] = "dom pasid iova len inv=why value=entries",
	[IOASID_EV_IOTLB_STALE_HIT] = "dom pasid iova dev",
	[IOASID_EV_GROUP_CLAIM] = "ctx group dev drv=driver",
	[IOASID_EV_GROUP_RELEASE] = "ctx group dev",
	[IOASID_EV_DRIVER_BIND] = "dev group drv=driver",
	[IOASID_EV_DRIVER_UNBIND] = "dev group drv=driver",
	[IOASID_EV_FAULT] = "ctx dev pasid iova aux=reason",
	[IOASID_EV_FAULT_RESPONSE] = "ctx dev pasid aux=code",
	[IOASID_EV_OBJ_ALLOC] = "ctx obj objk=kind",
	[IOASID_EV_OBJ_DESTROY] = "ctx obj objk=kind",
	[IOASID_EV_ACCOUNT] = "ctx vpages=pinned dpages=delta",
	[IOASID_EV_GROUP_ADD_DEV] = "group dev",
	[IOASID_EV_GROUP_DEL_DEV] = "group dev",
	[IOASID_EV_DMA] = "dev pasid iova len dom aux=write",
	[IOASID_EV_IOAS_RESERVE] = "ctx obj=ioas iova len value=reserve",
	[IOASID_EV_IOAS_ALLOW] = "ctx obj=ioas iova len",
	[IOASID_EV_GPASID_ALLOC] = "ctx pasid dev",
	[IOASID_EV_GPASID_FREE] = "ctx pasid",
};

static const char *const inv_names[] = {
	[IOASID_INV_UNMAP] = "unmap", [IOASID_INV_FLUSH_ALL] = "flush_all",
	[IOASID_INV_USER] = "user", [IOASID_INV_PASID_ENTRY] = "pasid_entry",
	[IOASID_INV_DIRTY] = "dirty", [IOASID_INV_DOMAIN_FREE] = "domain_free",
};

static const char *const drv_names[] = {
	[IOASID_DRV_NONE] = "none", [IOASID_DRV_USER] = "user",
	[IOASID_DRV_DMA_API] = "dma_api", [IOASID_DRV_OWN_DMA] = "own_dma",
};

static const char *const objk_names[] = {
	[IOASID_OBJK_DEVICE] = "device", [IOASID_OBJK_HWPT_PAGING] = "hwpt_paging",
	[IOASID_OBJK_HWPT_NESTED] = "hwpt_nested", [IOASID_OBJK_IOAS] = "ioas",
	[IOASID_OBJK_ACCESS] = "access", [IOASID_OBJK_FAULT] = "fault",
	[IOASID_OBJK_VIOMMU] = "viommu", [IOASID_OBJK_VDEVICE] = "vdevice",
	[IOASID_OBJK_VEVENTQ] = "veventq", [IOASID_OBJK_HW_QUEUE] = "hw_queue",
	[IOASID_OBJK_SELFTEST] = "selftest",
};

static void put_named(char *buf, size_t len, const char *label, const char *const *names,
		      size_t nnames, uint32_t v)
{
	if (v < nnames && names[v])
		snprintf(buf, len, "%s %s", label, names[v]);
	else
		snprintf(buf, len, "%s %u", label, v);
}

/* One field of an event as "label value" in buf; "" when there is nothing to show. */
static void event_field(const struct ioasid_event *ev, const char *field, size_t flen,
			const char *label, char *buf, size_t len)
{
	char a[TOP_FMT_LEN];

	buf[0] = '\0';
#define IS(f) (flen == strlen(f) && !strncmp(field, f, flen))
#define NAMES(t) t, sizeof(t) / sizeof((t)[0])
	if (IS("ctx")) {
		snprintf(buf, len, "%s %llx", label, (unsigned long long)ev->ctx);
	} else if (IS("dev")) {
		if (ev->name[0])
			snprintf(buf, len, "%s %.*s", label, (int)sizeof(ev->name), ev->name);
		else if (ev->dev)
			snprintf(buf, len, "%s #%u", label, ev->dev);
	} else if (IS("dom")) {
		if (ev->iommu || ev->domain)
			snprintf(buf, len, "%s %u:%u", label, ev->iommu, ev->domain);
		else
			snprintf(buf, len, "%s -", label);
	} else if (IS("pasid") && ev->pasid == UINT32_MAX) {
		snprintf(buf, len, "%s all", label);
	} else if (IS("iova")) {
		snprintf(buf, len, "%s 0x%llx", label, (unsigned long long)ev->iova);
	} else if (IS("len")) {
		snprintf(buf, len, "%s %s", label, ev->length == UINT64_MAX ? "all" :
			 top_fmt_bytes((double)ev->length, a, sizeof(a)));
	} else if (IS("vbytes")) {
		snprintf(buf, len, "%s %s", label, top_fmt_bytes((double)ev->value, a, sizeof(a)));
	} else if (IS("vpages")) {
		snprintf(buf, len, "%s %s", label,
			 top_fmt_bytes((double)ev->value * 4096, a, sizeof(a)));
	} else if (IS("dpages")) {
		int64_t d = (int64_t)ev->length;

		snprintf(buf, len, "%s %s%s", label, d < 0 ? "-" : "+",
			 top_fmt_bytes((d < 0 ? -(double)d : (double)d) * 4096, a, sizeof(a)));
	} else if (IS("inv")) {
		put_named(buf, len, label, NAMES(inv_names), ev->aux);
	} else if (IS("drv")) {
		put_named(buf, len, label, NAMES(drv_names), ev->aux);
	} else if (IS("objk")) {
		put_named(buf, len, label, NAMES(objk_names), ev->aux);
	} else {
		uint64_t v = IS("group") ? ev->group : IS("obj") ? ev->obj : IS("pt") ? ev->pt :
			     IS("iommu") ? ev->iommu : IS("pasid") ? ev->pasid :
			     IS("aux") ? ev->aux : ev->value;

		snprintf(buf, len, "%s %llu", label, (unsigned long long)v);
	}
#undef NAMES
#undef IS
}

/* "  -0.012s ioas_map    lat 2.9u ctx 1 ioas 2 iova 0x100000000 len 2.0M pinned 2.0M": the
 * outcome (result when not 0, latency when measured) first, then the fields of the type; a
 * field that does not fit is left out whole. */
static void event_line(struct top_line *l, const struct ioasid_event *ev, uint64_t now_ns)
{
	const char *f = ev->type < IOASID_EV_MAX ? ev_fields[ev->type] : NULL;
	const char *name = ioasid_event_type_name(ev->type);
	uint64_t age = now_ns > ev->ts_ns ? now_ns - ev->ts_ns : ev->ts_ns - now_ns;
	uint64_t ms = age / 1000000 + (age % 1000000 >= 500000);        /* to the nearest */
	char item[64], a[TOP_FMT_LEN];

	top_line_add(l, "  %s%llu.%03llus ", now_ns >= ev->ts_ns ? "-" : "+",
		     (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000));
	if (strcmp(name, "?"))
		top_line_add(l, "%-11s", name);
	else
		top_line_add(l, "type %-6u", ev->type);
	if (ev->result) {
		ioasid_event_format_result(ev->result, a, sizeof(a));
		top_line_item(l, " ", "result %s", a);
	}
	if (ev->latency_ns)
		top_line_item(l, " ", "lat %s", top_fmt_lat(ev->latency_ns, a, sizeof(a)));
	while (f && *f) {
		size_t flen = strcspn(f, " ="), llen;
		const char *label = f[flen] == '=' ? f + flen + 1 : f;
		const char *next = f + strcspn(f, " ");
		char lab[16];

		llen = (size_t)(next - label);
		snprintf(lab, sizeof(lab), "%.*s", (int)llen, label);
		event_field(ev, f, flen, lab, item, sizeof(item));
		if (item[0])
			top_line_item(l, " ", "%s", item);
		f = *next ? next + 1 : next;
	}
}

/* ---- detail: histograms -------------------------------------------------------------------- */
struct hist {
	const char *title;
	const uint64_t *slots;
	bool size;              /* a size histogram (slot + IOASID_SIZE_HIST_SHIFT), else ns */
};

#define HIST_LABEL 5

static int hist_nonempty(const struct hist *hs)
{
	int n = 0;

	for (int i = 0; i < IOASID_HIST_SLOTS; i++)
		n += hs->slots[i] != 0;
	return n;
}

/* A panel: title, then up to nlines - 1 slot lines, at (y, x), pw columns wide. */
static void render_hist(const struct screen *sc, const struct hist *hs, int y, int x, int pw,
			int nlines)
{
	int idx[IOASID_HIST_SLOTS], n = 0, k = nlines - 1, first = 0, bar = pw - 2 * HIST_LABEL - 2;
	uint64_t max = 0, best = 0;
	char buf[160], a[TOP_FMT_LEN], c[TOP_FMT_LEN];

	if (nlines <= 0)
		return;
	for (int i = 0; i < IOASID_HIST_SLOTS; i++)
		if (hs->slots[i])
			idx[n++] = i;
	if (k > n)
		k = n;
	/* the run of k non-empty slots holding the most samples */
	for (int i = 0; i + k <= n && k > 0; i++) {
		uint64_t sum = 0;

		for (int j = i; j < i + k; j++)
			sum += hs->slots[idx[j]];
		if (sum > best) {
			best = sum;
			first = i;
		}
	}
	if (!n)
		snprintf(buf, sizeof(buf), "%s: no samples", hs->title);
	else if (k < n)
		snprintf(buf, sizeof(buf), "%s (%d of %d)", hs->title, k, n);
	else
		snprintf(buf, sizeof(buf), "%s", hs->title);
	scr_put(sc, y, x, pw, buf);
	for (int j = first; j < first + k; j++)
		if (hs->slots[idx[j]] > max)
			max = hs->slots[idx[j]];
	for (int j = 0; j < k; j++) {
		int slot = idx[first + j], len = 0;
		uint64_t v = hs->slots[slot];
		char bars[128];

		if (hs->size)
			top_fmt_bytes((double)(1ull << (slot + IOASID_SIZE_HIST_SHIFT)), a,
				      sizeof(a));
		else
			top_fmt_lat(1ull << slot, a, sizeof(a));
		if (bar > 0) {
			double d = (double)v * bar / (double)max;

			len = (int)d;
			if (len < d)
				len++;
			if (len > (int)sizeof(bars) - 1)
				len = (int)sizeof(bars) - 1;
		}
		memset(bars, '#', (size_t)len);
		bars[len] = '\0';
		if (bar > 0)
			snprintf(buf, sizeof(buf), "%*s %-*s %*s", HIST_LABEL, a,
				 bar < (int)sizeof(bars) ? bar : (int)sizeof(bars) - 1, bars,
				 HIST_LABEL, top_fmt_count(v, c, sizeof(c)));
		else
			snprintf(buf, sizeof(buf), "%*s %s", HIST_LABEL, a,
				 top_fmt_count(v, c, sizeof(c)));
		scr_put(sc, y + 1 + j, x, pw, buf);
	}
}

/* ---- detail -------------------------------------------------------------------------------- */

/* Items flowed over lines from y, at most maxl of them; `used` says how many. */
struct flow {
	const struct screen *sc;
	int y, maxl, used;
	struct top_line l;
};

static void flow_item(struct flow *f, const char *item)
{
	if (f->used && top_line_item(&f->l, "  ", "%s", item))
		return;
	if (f->used >= f->maxl)
		return;
	scr_begin(f->sc, f->y + f->used, &f->l);
	f->used++;
	top_line_add(&f->l, "%s", item);
}

static int metric_items(const struct top_row *r, char items[][48])
{
	char a[TOP_FMT_LEN];
	int n = 0;

	for (int c = 0; c < TOP_COL_COUNT; c++)
		snprintf(items[n++], 48, "%s %s", col_names[c], top_fmt_cell(r, c, a, sizeof(a)));
	return n;
}

static const char *top_fmt_u64(uint64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

static int total_items(const struct top_totals *t, char items[][48])
{
	char a[TOP_FMT_LEN], u[TOP_FMT_LEN];
	int n = 0;

#define TOT(f, bytes)                                                                          \
	snprintf(items[n++], 48, #f " %s", bytes ? top_fmt_bytes((double)t->f, a, sizeof(a))      \
						 : top_fmt_u64(t->f, u, sizeof(u)));
	TOP_TOTALS(TOT)
#undef TOT
	return n;
}

/* "context: pid 1317  comm vmm_scenario  ctx 2": every identity field the view uses (whole, as
 * far as they fit; the label is made of them). */
static void id_line(struct top_line *l, enum top_view view, const struct top_row_id *id)
{
	char item[8][TOP_NAME_LEN + 16];
	int n = 0;

#define ID_ITEM(...) snprintf(item[n++], sizeof(item[0]), __VA_ARGS__)
	if (view == TOP_VIEW_DEVICE) {
		ID_ITEM("dev %u", id->dev);
		if (id->name[0])
			ID_ITEM("name %.*s", (int)sizeof(id->name), id->name);
		ID_ITEM("group %u", id->group);
	}
	ID_ITEM("pid %u", id->pid);
	if (id->comm[0])
		ID_ITEM("comm %.*s", (int)sizeof(id->comm), id->comm);
	if (view == TOP_VIEW_CONTEXT || view == TOP_VIEW_IOAS)
		ID_ITEM("ctx %llx", (unsigned long long)id->ctx);
	if (view == TOP_VIEW_IOAS) {
		ID_ITEM("ioas %u", id->ioas);
		if (id->iommu || id->domain)
			ID_ITEM("dom %u:%u", id->iommu, id->domain);
	}
#undef ID_ITEM
	top_line_item(l, "", "%s:", top_view_name(view));
	for (int i = 0; i < n; i++)
		top_line_item(l, i ? "  " : " ", "%s", item[i]);
}

#define LAST_MAX ((uint32_t)(sizeof(((struct top_row *)0)->last) / sizeof(struct ioasid_event)))

static void render_detail(const struct screen *sc, const struct top_snapshot *s,
			  const struct top_ui *ui)
{
	const struct top_row *r = NULL;
	enum top_view view = valid_view(s->view);
	int y = 1, end = sc->h - 1, left, nm, nt, hist_lines, ev_lines, want_ev;
	uint32_t nlast;
	char items[TOP_COL_COUNT + 16][48];
	struct top_line l;
	struct flow f;

	top_render_summary(s, ui, 0, scr_line(sc, 0), (size_t)sc->w + 1, (size_t)sc->w);
	for (size_t i = 0; i < s->nr_rows; i++)
		if (top_row_id_same(&s->rows[i].id, &ui->detail_id)) {
			r = &s->rows[i];
			break;
		}
	if (y >= end)
		return;
	if (!r) {
		scr_begin(sc, y++, &l);
		id_line(&l, view, &ui->detail_id);
		if (y < end) {
			scr_begin(sc, y++, &l);
			top_line_add(&l, "gone: no such row in this snapshot%s",
				     ui->filter[0] ? " (or the filter hides it)" : "");
		}
		return;
	}
	nlast = r->nr_last < LAST_MAX ? r->nr_last : LAST_MAX;
	scr_begin(sc, y++, &l);
	id_line(&l, view, &r->id);

	/* lines: metrics, totals, then the events and the histograms share the rest */
	nm = metric_items(r, items);
	f = (struct flow){ .sc = sc, .y = y, .maxl = end - y };
	for (int i = 0; i < nm; i++)
		flow_item(&f, items[i]);
	y += f.used;
	nt = total_items(&r->total, items);
	f = (struct flow){ .sc = sc, .y = y, .maxl = end - y };
	for (int i = 0; i < nt; i++)
		flow_item(&f, items[i]);
	y += f.used;

	left = end - y;
	want_ev = nlast ? 2 + (int)nlast : 0;
	/* the histograms get a blank, their titles and 3 slots first, then the events */
	hist_lines = left >= 5 ? 5 : left >= 3 ? left : 0;
	ev_lines = left - hist_lines < want_ev ? left - hist_lines : want_ev;
	if (ev_lines < 3)       /* a blank and a header alone say nothing */
		ev_lines = 0;
	hist_lines = left - ev_lines;

	if (hist_lines >= 3) {  /* a blank, the titles and at least one slot */
		const struct hist hs[3] = {
			{ "map latency", r->map_lat_hist, false },
			{ "unmap latency", r->unmap_lat_hist, false },
			{ "map size", r->map_size_hist, true },
		};
		int body = hist_lines - 1, most = 0;

		y++;    /* blank */
		for (int i = 0; i < 3; i++) {
			int n = hist_nonempty(&hs[i]);

			most = n > most ? n : most;
		}
		if (sc->w >= 3 * 20 + 4) {
			int pw = (sc->w - 4) / 3, lines = 1 + most < body ? 1 + most : body;

			for (int i = 0; i < 3; i++)
				render_hist(sc, &hs[i], y, i * (pw + 2), pw, lines);
			y += lines;
		} else {
			int each = body / 3 ? body / 3 : 1, stop = y + body;

			for (int i = 0; i < 3 && y < stop; i++) {
				int n = hist_nonempty(&hs[i]), lines = 1 + n < each ? 1 + n : each;

				render_hist(sc, &hs[i], y, 0, sc->w, lines);
				y += lines;
			}
		}
	}
	if (ev_lines) {
		uint32_t show = (uint32_t)ev_lines - 2;

		y++;    /* blank */
		scr_begin(sc, y++, &l);
		if (show < nlast)
			top_line_add(&l, "last events (%u of %u, oldest first)", show, nlast);
		else
			top_line_add(&l, "last events (oldest first)");
		for (uint32_t i = nlast - show; i < nlast; i++) {
			scr_begin(sc, y++, &l);
			event_line(&l, &r->last[i], s->hdr.now_ns);
		}
	}
}

/* ---- help ---------------------------------------------------------------------------------- */
static const char *const help_keys[][2] = {
	{ "q, Esc", "quit (Esc in a detail or the filter prompt: back)" },
	{ "j/k, Down/Up", "move the selection" },
	{ "PgDn/PgUp", "a page down / up" },
	{ "g/G, Home/End", "first / last row" },
	{ "Enter, Right", "detail of the selected row (Esc, Enter, Left: back)" },
	{ "s", "next sort key: load, then each column" },
	{ "S, r", "reverse the sort order" },
	{ "f, /", "filter: label, comm or device text; pid or group; ctx in hex" },
	{ "v, Tab", "next view (Shift-Tab back; 1-4: process context ioas device)" },
	{ "p", "pause / resume the updates" },
	{ "?, h, F1", "this help" },
	{ "Ctrl-C, F10", "quit" },
};

static void render_help(const struct screen *sc, const struct top_snapshot *s,
			const struct top_ui *ui)
{
	int y = 0, end = sc->h - 1;
	struct top_line l;

	top_render_summary(s, ui, 0, scr_line(sc, y++), (size_t)sc->w + 1, (size_t)sc->w);
	if (y < end)
		y++;
	if (y < end)
		top_line_add(scr_begin(sc, y++, &l), "Keys");
	for (size_t i = 0; i < sizeof(help_keys) / sizeof(help_keys[0]) && y < end; i++)
		top_line_add(scr_begin(sc, y++, &l), "  %-14s %s", help_keys[i][0],
			     help_keys[i][1]);
	if (y < end)
		y++;
	if (y < end)
		top_line_add(scr_begin(sc, y++, &l), "Columns ('*' marks the sort column)");
	for (int c = 0; c < TOP_COL_COUNT && y < end; c++)
		top_line_add(scr_begin(sc, y++, &l), "  %-11s %s", col_names[c], col_docs[c]);
}

void top_render_screen(const struct top_snapshot *s, const struct top_ui *ui, int width,
		       int height, char *lines, int *selected_line)
{
	struct screen sc = { .lines = lines, .w = width, .h = height };

	if (selected_line)
		*selected_line = -1;
	if (width < 0 || height <= 0)
		return;
	for (int y = 0; y < height; y++) {
		memset(scr_line(&sc, y), ' ', (size_t)width);
		scr_line(&sc, y)[width] = '\0';
	}
	if (width > 0) {
		switch (ui->mode) {
		case TOP_MODE_DETAIL:
			render_detail(&sc, s, ui);
			break;
		case TOP_MODE_HELP:
			render_help(&sc, s, ui);
			break;
		default:
			render_table(&sc, s, ui, selected_line);
			break;
		}
		render_status(&sc, ui);
	}
	scr_finish(&sc);
}
