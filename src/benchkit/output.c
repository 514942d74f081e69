/* output.c — ioasid-bench's records as a table for a terminal and as JSON Lines.
 *
 * Owns struct bench_output. JSON Lines are written (and flushed) as each record or skip
 * arrives, so a consumer sees them at once and a driver that dies keeps what it wrote. The table
 * is printed by bench_output_finish, from copies kept until then: columns are as wide as their
 * widest value (nothing is cut) and records are grouped by backend, backends in the order their
 * first record came, each group's records in arrival order — workers may run side by side. If a
 * copy cannot be kept (out of memory) the table says how many records it lacks. One thread.
 *
 * The table (column headers are the JSON keys, STYLE.md convention 8):
 *
 *   backend  workload   phase  op_bytes  pattern  threads  ...  ops_s  gb_s  [min–max]    ...
 *   ref: served by reference, attach: mock domain
 *   ref      map-unmap  map          4K  seq            1  ...  1.23M  5.04  [4.98–5.10]  ...
 *
 * then inval, trace, lat.p50, lat.p99, lat.max, overhead, note. A sub-heading line (blank line
 * before it, but for the first) starts each backend's group and comes again when served_by or
 * attach changes within it. Values are medians over the repeats; [min–max] is the spread of
 * gb_s over the repeats, or of ops_s where a figure moves no bytes (gb_s "-"). Text columns
 * are left-aligned, numbers right-aligned; the overhead and note columns show only when a
 * record has one. A value that does not apply (no bytes, no
 * timed operation) is "-". After the records, the skips under "skipped:", one per line,
 * "  backend workload: why", after a blank line. No record: "no measurements" instead of the
 * records. Last, when the run timed its rounds' calibration loop, a footer after a blank line:
 *
 *   calibration (a fixed CPU loop, timed as each round starts): round 1 2.10ms, round 2 2.31ms;
 *   max/min ×1.10
 *
 * (one line), so that the machine's drift over the run is read beside its figures.
 *
 * Numbers for reading: three significant digits ("0.500" "1.23" "12.3" "123", never "1000":
 * 999.5 takes the next unit), rates in decimal units k M G T P E ("1.23M"), latencies in ns
 * (whole below 999.5), µs, ms, s ("812ns" "1.20µs" "45.0ms"), sizes in binary units, whole
 * when exact ("4K" "2M" "1.5M" "16G", else the exact count of a smaller unit: "4097B"). NaN
 * is "-".
 *
 * Strings come from a pipe in fixed-size fields: they are read up to the field's end if no NUL
 * comes first. For the terminal, control characters (C0, DEL, C1) and bytes that are not
 * well-formed UTF-8 print as '?'; other UTF-8 passes, one column per code point. In JSON,
 * '"' and '\' are escaped, \b \f \n \r \t by name, other C0 controls and DEL as \u00XX,
 * well-formed UTF-8 passes as its bytes, and each byte that is not part of one becomes \ufffd,
 * so every line is valid UTF-8 whatever a note holds.
 *
 * JSON Lines: one object per line. A record is
 *   {"config":{"backend","served_by","workload","phase","pattern","inval","trace","attach",
 *    "page_size","leaf_max","op_bytes","repeat_bytes","ops","threads","repeats","rounds"},
 *    "ops_s":S,"gb_s":S,"repeat_ns":S,"lat":{"n","p50","p99","max"},
 *    "overhead","events","dropped","violations","note"}
 * with S = {"median","min","max","p10","p90","n"}: keys are the fields of bench.h's structs,
 * in their order but for a summary's n, last (the pipe framing, magic and size, is not data).
 * A skip is {"skipped":true,"backend","workload","why"}. A round's calibration is
 * {"type":"calibration","round","rounds","ns","max_min"}, one line per round written at finish
 * (max_min, the run's largest ns over its smallest, is known only then). Numbers are written
 * in the C
 * locale whatever the process's: whole numbers below 1e17 in full ("1200000"), others in the
 * fewest significant digits that read back as the same double ("0.1", "1.5e+20"); NaN and
 * infinities, which JSON has not, are null.
 */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "benchkit/bench.h"

#define NUNITS(a) (sizeof(a) / sizeof((a)[0]))
#define CELL_LEN 192    /* a sanitised note (160 bytes at most) and every formatted number */

struct bench_output {
	FILE *table, *jsonl;
	struct bench_record *recs;
	size_t nrecs, cap_recs;
	struct bench_skip *skips;
	size_t nskips, cap_skips;
	struct bench_calibration *cals;
	size_t ncals, cap_cals;
	uint64_t lost;          /* records or skips the table could not keep */
};

/* ---- UTF-8 --------------------------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s (at most n bytes there), its code point in *cp;
 * 0 if the bytes there are not one (stray continuation, overlong, surrogate, > U+10FFFF, cut). */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c, min;
	size_t len;

	if (!n)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Columns of well-formed UTF-8 text: one per code point. */
static size_t text_cols(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* The field src[0..srclen) (up to a NUL) as the terminal may show it, into dst. */
static char *term_text(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = strnlen(src, srclen), o = 0;

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_seq(s + i, n - i, &cp);

		if (!len || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = '?';
			i += len ? len : 1;
			continue;
		}
		if (o + len >= dstlen)
			break;
		memcpy(dst + o, s + i, len);
		o += len;
		i += len;
	}
	dst[o] = '\0';
	return dst;
}

#define TERM_FIELD(buf, field) term_text((buf), sizeof(buf), (field), sizeof(field))

/* ---- numbers for reading ------------------------------------------------------------------- */

/* v in units[0], shown in the largest unit that keeps it at 1 or more, with three significant
 * digits. The digits come from one rounding (printf's %.2e), and the point is placed in them:
 * the unit and the digits can never disagree ("999.5" rounds to 1.00e+03, so it is "1.00k",
 * never "1000"). Past the last unit's 999 the whole number shows ("1234s"). */
static void fmt_scaled(double v, const char *const *units, size_t nunits, char *buf, size_t len)
{
	char e[32], num[48];
	size_t o = 0;
	int exp, point, u = 0;

	if (isnan(v)) {
		snprintf(buf, len, "-");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, "%sinf", v < 0 ? "-" : "");
		return;
	}
	if (v == 0) {
		snprintf(buf, len, "0%s", units[0]);
		return;
	}
	snprintf(e, sizeof(e), "%.2e", fabs(v));       /* "d.dde±XX" */
	exp = atoi(e + 5);
	if (exp >= 3)
		u = exp / 3 < (int)nunits ? exp / 3 : (int)nunits - 1;
	point = exp - 3 * u + 1;        /* digits before the point */
	if (point < -5) {       /* below 1e-6: "1.23e-07" rather than a row of zeros */
		snprintf(buf, len, "%s%s%s", v < 0 ? "-" : "", e, units[0]);
		return;
	}
	if (point > 3) {
		snprintf(buf, len, "%s%.0f%s", v < 0 ? "-" : "", fabs(v) / pow(1000, u),
			 units[u]);
		return;
	}
	if (v < 0)
		num[o++] = '-';
	if (point <= 0) {
		num[o++] = '0';
		num[o++] = '.';
		for (int z = point; z < 0; z++)
			num[o++] = '0';
	}
	for (int d = 0; d < 3; d++) {
		if (d == point && point > 0)
			num[o++] = '.';
		num[o++] = e[d ? d + 1 : 0];
	}
	num[o] = '\0';
	snprintf(buf, len, "%s%s", num, units[u]);
}

/* Per second (operations, GB): decimal units. */
static void fmt_rate(double v, char *buf, size_t len)
{
	static const char *const units[] = { "", "k", "M", "G", "T", "P", "E" };

	fmt_scaled(v, units, NUNITS(units), buf, len);
}

/* Whole ns below 999.5, then µs, ms, s. */
static void fmt_ns(double ns, char *buf, size_t len)
{
	static const char *const units[] = { "ns", "µs", "ms", "s" };

	if (fabs(ns) < 999.5)
		snprintf(buf, len, "%.0fns", ns);
	else
		fmt_scaled(ns, units, NUNITS(units), buf, len);
}

void bench_fmt_bytes(uint64_t b, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	unsigned int u = 0;
	uint64_t unit;

	if (!b) {
		snprintf(buf, len, "-");
		return;
	}
	while (u < 6 && b >> (10 * (u + 1)))
		u++;
	unit = 1ull << (10 * u);
	if (b % unit == 0) {
		snprintf(buf, len, "%llu%c", (unsigned long long)(b / unit), units[u]);
		return;
	}
	if ((b % unit) * 10 % unit == 0) {
		snprintf(buf, len, "%.1f%c", (double)b / (double)unit, units[u]);
		return;
	}
	for (unsigned int d = u; d-- > 0;) {
		uint64_t du = 1ull << (10 * d);

		if (b % du == 0 && b / du < 100000) {
			snprintf(buf, len, "%llu%c", (unsigned long long)(b / du), units[d]);
			return;
		}
	}
	snprintf(buf, len, "%.1f%c", (double)b / (double)unit, units[u]);
}

/* ---- the table ----------------------------------------------------------------------------- */

enum col {
	COL_BACKEND, COL_WORKLOAD, COL_PHASE, COL_OP_BYTES, COL_PATTERN, COL_THREADS, COL_INVAL,
	COL_TRACE, COL_OPS_S, COL_GB_S, COL_SPREAD, COL_P50, COL_P99, COL_MAX, COL_OVERHEAD,
	COL_NOTE, NCOL
};

static const struct {
	const char *head;
	bool right;             /* numbers: right-aligned */
	bool optional;          /* shown only when a record has a value */
} cols[NCOL] = {
	[COL_BACKEND]  = { "backend" },
	[COL_WORKLOAD] = { "workload" },
	[COL_PHASE]    = { "phase" },
	[COL_OP_BYTES] = { "op_bytes", true },
	[COL_PATTERN]  = { "pattern" },
	[COL_THREADS]  = { "threads", true },
	[COL_INVAL]    = { "inval" },
	[COL_TRACE]    = { "trace" },
	[COL_OPS_S]    = { "ops_s", true },
	[COL_GB_S]     = { "gb_s", true },
	[COL_SPREAD]   = { "[min–max]" },
	[COL_P50]      = { "lat.p50", true },
	[COL_P99]      = { "lat.p99", true },
	[COL_MAX]      = { "lat.max", true },
	[COL_OVERHEAD] = { "overhead", true, true },
	[COL_NOTE]     = { "note", false, true },
};

struct cells {
	char c[NCOL][CELL_LEN];
};

static void record_cells(const struct bench_record *r, struct cells *out)
{
	const struct bench_config *cfg = &r->cfg;
	char lo[32], hi[32];   /* fmt_rate writes at most "-999E" and a few digits */
	const struct bench_summary *spread;

	TERM_FIELD(out->c[COL_BACKEND], cfg->backend);
	TERM_FIELD(out->c[COL_WORKLOAD], cfg->workload);
	TERM_FIELD(out->c[COL_PHASE], cfg->phase);
	bench_fmt_bytes(cfg->op_bytes, out->c[COL_OP_BYTES], CELL_LEN);
	TERM_FIELD(out->c[COL_PATTERN], cfg->pattern);
	snprintf(out->c[COL_THREADS], CELL_LEN, "%u", cfg->threads);
	TERM_FIELD(out->c[COL_INVAL], cfg->inval);
	TERM_FIELD(out->c[COL_TRACE], cfg->trace);
	if (r->ops_s.n)
		fmt_rate(r->ops_s.median, out->c[COL_OPS_S], CELL_LEN);
	else
		snprintf(out->c[COL_OPS_S], CELL_LEN, "-");
	if (r->gb_s.n)
		fmt_rate(r->gb_s.median, out->c[COL_GB_S], CELL_LEN);
	else
		snprintf(out->c[COL_GB_S], CELL_LEN, "-");
	/* the spread of GB/s; where no bytes move, of the rate of calls */
	spread = r->gb_s.n ? &r->gb_s : r->ops_s.n ? &r->ops_s : NULL;
	if (spread) {
		fmt_rate(spread->min, lo, sizeof(lo));
		fmt_rate(spread->max, hi, sizeof(hi));
		snprintf(out->c[COL_SPREAD], CELL_LEN, "[%s–%s]", lo, hi);
	} else {
		out->c[COL_SPREAD][0] = '\0';
	}
	if (r->lat.n) {
		fmt_ns(r->lat.p50, out->c[COL_P50], CELL_LEN);
		fmt_ns(r->lat.p99, out->c[COL_P99], CELL_LEN);
		fmt_ns(r->lat.max, out->c[COL_MAX], CELL_LEN);
	} else {
		snprintf(out->c[COL_P50], CELL_LEN, "-");
		snprintf(out->c[COL_P99], CELL_LEN, "-");
		snprintf(out->c[COL_MAX], CELL_LEN, "-");
	}
	if (r->overhead == 0)
		out->c[COL_OVERHEAD][0] = '\0';
	else if (isfinite(r->overhead))
		snprintf(out->c[COL_OVERHEAD], CELL_LEN, "×%.2f", r->overhead);
	else
		snprintf(out->c[COL_OVERHEAD], CELL_LEN, "-");
	TERM_FIELD(out->c[COL_NOTE], r->note);
}

struct layout {
	size_t width[NCOL];
	bool shown[NCOL];
};

static void layout_measure(struct layout *lay, const struct bench_output *o)
{
	struct cells cells;

	for (int c = 0; c < NCOL; c++) {
		lay->width[c] = text_cols(cols[c].head);
		lay->shown[c] = !cols[c].optional;
	}
	for (size_t i = 0; i < o->nrecs; i++) {
		record_cells(&o->recs[i], &cells);
		for (int c = 0; c < NCOL; c++) {
			size_t w = text_cols(cells.c[c]);

			if (w > lay->width[c])
				lay->width[c] = w;
			if (cells.c[c][0])
				lay->shown[c] = true;
		}
	}
}

/* One line of the table: cells padded to their column, two spaces apart, no trailing space
 * (padding is held back until something follows it). */
static void table_line(FILE *f, const struct layout *lay, const char *const text[NCOL])
{
	size_t pending = 0;
	bool first = true;

	for (int c = 0; c < NCOL; c++) {
		size_t w, pad;

		if (!lay->shown[c])
			continue;
		w = text_cols(text[c]);
		pad = lay->width[c] > w ? lay->width[c] - w : 0;
		if (!first)
			pending += 2;
		first = false;
		if (cols[c].right)
			pending += pad;
		if (text[c][0]) {
			fprintf(f, "%*s%s", (int)pending, "", text[c]);
			pending = 0;
		}
		if (!cols[c].right)
			pending += pad;
	}
	fputc('\n', f);
}

#define FIELD_EQ(a, b) (!strncmp((a), (b), sizeof(a)))

static bool same_heading(const struct bench_record *a, const struct bench_record *b)
{
	return FIELD_EQ(a->cfg.backend, b->cfg.backend) &&
	       FIELD_EQ(a->cfg.served_by, b->cfg.served_by) &&
	       FIELD_EQ(a->cfg.attach, b->cfg.attach);
}

static void print_heading(FILE *f, const struct bench_record *r, bool first)
{
	char be[sizeof(r->cfg.backend) + 1], by[sizeof(r->cfg.served_by) + 1];
	char at[sizeof(r->cfg.attach) + 1];

	fprintf(f, "%s%s: served by %s, attach: %s\n", first ? "" : "\n",
		TERM_FIELD(be, r->cfg.backend), TERM_FIELD(by, r->cfg.served_by),
		TERM_FIELD(at, r->cfg.attach));
}

static void print_records(const struct bench_output *o)
{
	const struct bench_record *prev = NULL;
	const char *text[NCOL];
	struct layout lay;
	struct cells cells;

	layout_measure(&lay, o);
	for (int c = 0; c < NCOL; c++)
		text[c] = cols[c].head;
	table_line(o->table, &lay, text);
	for (int c = 0; c < NCOL; c++)
		text[c] = cells.c[c];

	for (size_t i = 0; i < o->nrecs; i++) {
		const struct bench_record *lead = &o->recs[i];
		bool printed = false;

		/* A backend's group is printed where its first record came. */
		for (size_t j = 0; j < i && !printed; j++)
			printed = FIELD_EQ(o->recs[j].cfg.backend, lead->cfg.backend);
		if (printed)
			continue;
		for (size_t k = i; k < o->nrecs; k++) {
			const struct bench_record *r = &o->recs[k];

			if (!FIELD_EQ(r->cfg.backend, lead->cfg.backend))
				continue;
			if (!prev || !same_heading(prev, r))
				print_heading(o->table, r, !prev);
			record_cells(r, &cells);
			table_line(o->table, &lay, text);
			prev = r;
		}
	}
}

/* The run's largest calibration over its smallest (1 with one round; 0 with none). */
static double calibration_max_min(const struct bench_output *o)
{
	double lo = 0, hi = 0;

	for (size_t i = 0; i < o->ncals; i++) {
		double v = o->cals[i].ns;

		if (!i || v < lo)
			lo = v;
		if (!i || v > hi)
			hi = v;
	}
	return lo > 0 ? hi / lo : 0;
}

static void print_calibration(const struct bench_output *o)
{
	char ns[32];

	fputs("\ncalibration (a fixed CPU loop, timed as each round starts):", o->table);
	for (size_t i = 0; i < o->ncals; i++) {
		fmt_ns(o->cals[i].ns, ns, sizeof(ns));
		fprintf(o->table, "%s round %u %s", i ? "," : "", o->cals[i].round, ns);
	}
	fprintf(o->table, "; max/min ×%.2f\n", calibration_max_min(o));
}

static void print_skips(const struct bench_output *o)
{
	fputs("\nskipped:\n", o->table);
	for (size_t i = 0; i < o->nskips; i++) {
		const struct bench_skip *s = &o->skips[i];
		char be[sizeof(s->backend) + 1], wl[sizeof(s->workload) + 1];
		char why[sizeof(s->why) + 1];

		TERM_FIELD(be, s->backend);
		TERM_FIELD(wl, s->workload);
		TERM_FIELD(why, s->why);
		fprintf(o->table, "  %s%s%s: %s\n", be, wl[0] ? " " : "", wl, why);
	}
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static locale_t json_locale;

static void json_locale_make(void)
{
	json_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* The C locale for this thread while JSON is written (the previous one back with
 * json_locale_end); if it cannot be had, the process's. */
static locale_t json_locale_begin(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, json_locale_make);
	return json_locale ? uselocale(json_locale) : (locale_t)0;
}

static void json_locale_end(locale_t old)
{
	if (old)
		uselocale(old);
}

/* The field s[0..max) up to a NUL, as a JSON string. */
static void json_str(FILE *f, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, max);

	fputc('"', f);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_seq(p + i, n - i, &cp);

		if (!len) {
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		switch (cp) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (cp < 0x20 || cp == 0x7f)
				fprintf(f, "\\u%04x", (unsigned int)cp);
			else
				fwrite(p + i, 1, len, f);
		}
		i += len;
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	char buf[40];

	if (!isfinite(v)) {
		fputs("null", f);
		return;
	}
	if (v == floor(v) && fabs(v) < 1e17) {  /* whole: all its digits, not "1.2e+06" */
		fprintf(f, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, f);
}

static void json_u64(FILE *f, uint64_t v)
{
	fprintf(f, "%llu", (unsigned long long)v);
}

static void json_summary(FILE *f, const struct bench_summary *s)
{
	fputs("{\"median\":", f);
	json_num(f, s->median);
	fputs(",\"min\":", f);
	json_num(f, s->min);
	fputs(",\"max\":", f);
	json_num(f, s->max);
	fputs(",\"p10\":", f);
	json_num(f, s->p10);
	fputs(",\"p90\":", f);
	json_num(f, s->p90);
	fputs(",\"n\":", f);
	json_u64(f, s->n);
	fputc('}', f);
}

#define JSON_FIELD_STR(f, sep, obj, field)                                                 \
	do {                                                                               \
		fputs(sep "\"" #field "\":", f);                                           \
		json_str(f, (obj)->field, sizeof((obj)->field));                           \
	} while (0)
#define JSON_FIELD_U64(f, obj, field)                                                      \
	do {                                                                               \
		fputs(",\"" #field "\":", f);                                              \
		json_u64(f, (obj)->field);                                                 \
	} while (0)

void bench_record_json(FILE *f, const struct bench_record *r)
{
	const struct bench_config *cfg = &r->cfg;
	locale_t old = json_locale_begin();

	fputs("{\"config\":{", f);
	JSON_FIELD_STR(f, "", cfg, backend);
	JSON_FIELD_STR(f, ",", cfg, served_by);
	JSON_FIELD_STR(f, ",", cfg, workload);
	JSON_FIELD_STR(f, ",", cfg, phase);
	JSON_FIELD_STR(f, ",", cfg, pattern);
	JSON_FIELD_STR(f, ",", cfg, inval);
	JSON_FIELD_STR(f, ",", cfg, trace);
	JSON_FIELD_STR(f, ",", cfg, attach);
	JSON_FIELD_U64(f, cfg, page_size);
	JSON_FIELD_U64(f, cfg, leaf_max);
	JSON_FIELD_U64(f, cfg, op_bytes);
	JSON_FIELD_U64(f, cfg, repeat_bytes);
	JSON_FIELD_U64(f, cfg, ops);
	JSON_FIELD_U64(f, cfg, threads);
	JSON_FIELD_U64(f, cfg, repeats);
	JSON_FIELD_U64(f, cfg, rounds);
	fputs("},\"ops_s\":", f);
	json_summary(f, &r->ops_s);
	fputs(",\"gb_s\":", f);
	json_summary(f, &r->gb_s);
	fputs(",\"repeat_ns\":", f);
	json_summary(f, &r->repeat_ns);
	fputs(",\"lat\":{\"n\":", f);
	json_u64(f, r->lat.n);
	fputs(",\"p50\":", f);
	json_num(f, r->lat.p50);
	fputs(",\"p99\":", f);
	json_num(f, r->lat.p99);
	fputs(",\"max\":", f);
	json_num(f, r->lat.max);
	fputs("},\"overhead\":", f);
	json_num(f, r->overhead);
	JSON_FIELD_U64(f, r, events);
	JSON_FIELD_U64(f, r, dropped);
	fprintf(f, ",\"violations\":%lld", (long long)r->violations);
	JSON_FIELD_STR(f, ",", r, note);
	fputs("}\n", f);
	json_locale_end(old);
}

void bench_calibration_json(FILE *f, const struct bench_calibration *c, uint32_t rounds,
			    double max_min)
{
	locale_t old = json_locale_begin();

	fprintf(f, "{\"type\":\"calibration\",\"round\":%u,\"rounds\":%u,\"ns\":", c->round,
		rounds);
	json_num(f, c->ns);
	fputs(",\"max_min\":", f);
	json_num(f, max_min);
	fputs("}\n", f);
	json_locale_end(old);
}

void bench_skip_json(FILE *f, const struct bench_skip *s)
{
	fputs("{\"skipped\":true", f);
	JSON_FIELD_STR(f, ",", s, backend);
	JSON_FIELD_STR(f, ",", s, workload);
	JSON_FIELD_STR(f, ",", s, why);
	fputs("}\n", f);
}

/* ---- the output object --------------------------------------------------------------------- */

struct bench_output *bench_output_new(FILE *table, FILE *jsonl)
{
	struct bench_output *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->table = table;
	o->jsonl = jsonl;
	return o;
}

/* Room for one more element of `size` bytes in *v (n used, *cap allocated); false if none. */
static bool grow(void **v, size_t n, size_t *cap, size_t size)
{
	size_t ncap;
	void *nv;

	if (n < *cap)
		return true;
	ncap = *cap ? *cap * 2 : 16;
	nv = realloc(*v, ncap * size);
	if (!nv)
		return false;
	*v = nv;
	*cap = ncap;
	return true;
}

void bench_output_record(struct bench_output *o, const struct bench_record *r)
{
	if (!o)
		return;
	if (o->jsonl) {
		bench_record_json(o->jsonl, r);
		fflush(o->jsonl);
	}
	if (!o->table)
		return;
	if (!grow((void **)&o->recs, o->nrecs, &o->cap_recs, sizeof(*o->recs))) {
		o->lost++;
		return;
	}
	o->recs[o->nrecs++] = *r;
}

void bench_output_skip(struct bench_output *o, const struct bench_skip *s)
{
	if (!o)
		return;
	if (o->jsonl) {
		bench_skip_json(o->jsonl, s);
		fflush(o->jsonl);
	}
	if (!o->table)
		return;
	if (!grow((void **)&o->skips, o->nskips, &o->cap_skips, sizeof(*o->skips))) {
		o->lost++;
		return;
	}
	o->skips[o->nskips++] = *s;
}

void bench_output_calibration(struct bench_output *o, const struct bench_calibration *c)
{
	if (!o)
		return;
	if (!grow((void **)&o->cals, o->ncals, &o->cap_cals, sizeof(*o->cals))) {
		o->lost++;
		return;
	}
	o->cals[o->ncals++] = *c;
}

void bench_output_finish(struct bench_output *o)
{
	if (!o)
		return;
	if (o->table) {
		if (o->nrecs)
			print_records(o);
		else
			fputs("no measurements\n", o->table);
		if (o->nskips)
			print_skips(o);
		if (o->ncals)
			print_calibration(o);
		if (o->lost)
			fprintf(o->table, "%llu results are not in this table (out of memory)%s\n",
				(unsigned long long)o->lost,
				o->jsonl ? ": they are in the JSON Lines output" : "");
		fflush(o->table);
	}
	if (o->jsonl) {
		double max_min = calibration_max_min(o);

		for (size_t i = 0; i < o->ncals; i++)
			bench_calibration_json(o->jsonl, &o->cals[i], (uint32_t)o->ncals, max_min);
		fflush(o->jsonl);
	}
	free(o->recs);
	free(o->skips);
	free(o->cals);
	free(o);
}
