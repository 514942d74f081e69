/* output.c — a snapshot as batch text, JSON Lines and OpenMetrics (ioasid-top -b / -j /
 * the metrics endpoint). Renderers only print: every number comes from the snapshot.
 *
 * Text: the header lines of the screen (render.c), a blank line, then the table with every
 * column, identity columns as wide as their widest value (nothing cut), values scaled as on the
 * screen. Bytes outside printable ASCII (a comm may hold any) show as '?'.
 *
 * JSON Lines, raw units (per second, bytes, ns), keys = column names (STYLE.md convention 8):
 *   {"type":"header","view","source","now_ns","wall_s","interval_s","processes","contexts",
 *    "devices_bound","ioases","domains","pinned","memlock","map_s","unmap_s","map_bytes_s",
 *    "inv_s","fault_s", the struct top_totals fields ("maps" .. "detach_ops"), "events",
 *    "dropped","unaggregated","aggregates","ended"}
 *   {"type":"row", identity, "label", every column under top_col_name(), the totals}
 * Identity keys per view: process pid comm; context pid comm ctx; ioas pid comm ctx ioas iommu
 * domain; device dev name group pid comm. ctx is a hex string ("0x1a"). Rates are numbers with
 * at most 3 decimals; pinned, memlock and headroom bytes are integers, null when unknown,
 * "unlimited" when there is no limit; a latency is integer ns, null when the interval had no
 * sample. Strings hold the bytes up to the first NUL, each byte outside printable ASCII as
 * \u00XX (as ioasid_event_format_json writes names).
 *
 * OpenMetrics (text format 1.0.0; Prometheus reads it): source-wide gauges and counters without
 * labels, then per-process families labelled {pid, comm}. Counters are families without the
 * "_total" their samples carry; byte families have a UNIT. Label sets are bounded: the first
 * max_series rows (the caller sorts, heaviest first) have their own, the rest are added up into
 * {pid="other",comm="other"} (counters, pinned bytes, attachments and PASIDs are summed;
 * headroom is the smallest of theirs, since the first account to run out is what matters). A
 * gauge a row does not know (pinned unknown, headroom unknown or unlimited) has no sample for
 * it. Label values escape backslash, double quote and newline, and bytes that are not UTF-8
 * become U+FFFD, so the exposition is valid UTF-8 whatever a comm holds.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "top/format.h"

#define LINE_MAX_TEXT 1024

/* ---- text ---------------------------------------------------------------------------------- */
static void put_printable(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?', out);
	fputc('\n', out);
}

void top_output_text(FILE *out, const struct top_snapshot *s)
{
	char buf[LINE_MAX_TEXT];
	struct top_layout lay;

	for (int n = 0; n < TOP_SUMMARY_LINES; n++) {
		top_render_summary(s, NULL, n, buf, sizeof(buf), sizeof(buf) - 1);
		put_printable(out, buf);
	}
	fputc('\n', out);
	top_layout_batch(&lay, s);
	top_render_table_line(&lay, NULL, TOP_SORT_LOAD, buf, sizeof(buf), sizeof(buf) - 1);
	put_printable(out, buf);
	for (size_t i = 0; i < s->nr_rows; i++) {
		top_render_table_line(&lay, &s->rows[i], TOP_SORT_LOAD, buf, sizeof(buf),
				      sizeof(buf) - 1);
		put_printable(out, buf);
	}
}

/* ---- JSON ---------------------------------------------------------------------------------- */
struct json {
	FILE *out;
	bool first;
};

static void j_key(struct json *j, const char *key)
{
	fprintf(j->out, "%s\"%s\":", j->first ? "" : ",", key);
	j->first = false;
}

static void j_str(struct json *j, const char *key, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	j_key(j, key);
	fputc('"', j->out);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(j->out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(j->out, "\\u%04x", c);
		else
			fputc(c, j->out);
	}
	fputc('"', j->out);
}

static void j_u64(struct json *j, const char *key, uint64_t v)
{
	j_key(j, key);
	fprintf(j->out, "%llu", (unsigned long long)v);
}

static void j_i64(struct json *j, const char *key, int64_t v)
{
	j_key(j, key);
	fprintf(j->out, "%lld", (long long)v);
}

static void j_bool(struct json *j, const char *key, bool v)
{
	j_key(j, key);
	fputs(v ? "true" : "false", j->out);
}

/* At most 3 decimals, no trailing zeros: 12.5, 3, 0.333; null for what is not a number. */
static void j_num(struct json *j, const char *key, double v)
{
	char buf[64];
	size_t n;

	j_key(j, key);
	if (!isfinite(v)) {
		fputs("null", j->out);
		return;
	}
	snprintf(buf, sizeof(buf), "%.3f", v);
	n = strlen(buf);
	while (n && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n && buf[n - 1] == '.')
		buf[--n] = '\0';
	fputs(strcmp(buf, "-0") ? buf : "0", j->out);
}

static void j_avail(struct json *j, const char *key, enum top_avail avail, uint64_t v)
{
	if (avail == TOP_VALUE) {
		j_u64(j, key, v);
		return;
	}
	j_key(j, key);
	fputs(avail == TOP_UNLIMITED ? "\"unlimited\"" : "null", j->out);
}

static void j_totals(struct json *j, const struct top_totals *t)
{
#define TOT(f, bytes) j_u64(j, #f, t->f);
	TOP_TOTALS(TOT)
#undef TOT
}

static void j_header(FILE *out, const struct top_snapshot *s)
{
	const struct top_header *h = &s->hdr;
	struct json j = { .out = out, .first = true };

	fputc('{', out);
	j_str(&j, "type", "header", SIZE_MAX);
	j_str(&j, "view", top_view_name(s->view), SIZE_MAX);
	j_str(&j, "source", h->source, sizeof(h->source));
	j_u64(&j, "now_ns", h->now_ns);
	j_i64(&j, "wall_s", h->wall_s);
	j_num(&j, "interval_s", h->interval_s);
	j_u64(&j, "processes", h->processes);
	j_u64(&j, "contexts", h->contexts);
	j_u64(&j, "devices_bound", h->devices_bound);
	j_u64(&j, "ioases", h->ioases);
	j_u64(&j, "domains", h->domains);
	j_avail(&j, "pinned", h->pinned_avail, h->pinned_bytes);
	j_avail(&j, "memlock", h->memlock_avail, h->memlock_bytes);
	j_num(&j, "map_s", h->map_s);
	j_num(&j, "unmap_s", h->unmap_s);
	j_num(&j, "map_bytes_s", h->map_bytes_s);
	j_num(&j, "inv_s", h->inv_s);
	j_num(&j, "fault_s", h->fault_s);
	j_totals(&j, &h->total);
	j_u64(&j, "events", h->events);
	j_u64(&j, "dropped", h->dropped);
	j_u64(&j, "unaggregated", h->unaggregated);
	j_bool(&j, "aggregates", h->aggregates);
	j_bool(&j, "ended", h->ended);
	fputs("}\n", out);
}

static void j_row(FILE *out, enum top_view view, const struct top_row *r)
{
	const struct top_row_id *id = &r->id;
	struct json j = { .out = out, .first = true };
	char ctx[24];

	snprintf(ctx, sizeof(ctx), "0x%llx", (unsigned long long)id->ctx);
	fputc('{', out);
	j_str(&j, "type", "row", SIZE_MAX);
	if (view == TOP_VIEW_DEVICE) {
		j_u64(&j, "dev", id->dev);
		j_str(&j, "name", id->name, sizeof(id->name));
		j_u64(&j, "group", id->group);
	}
	j_u64(&j, "pid", id->pid);
	j_str(&j, "comm", id->comm, sizeof(id->comm));
	if (view == TOP_VIEW_CONTEXT || view == TOP_VIEW_IOAS)
		j_str(&j, "ctx", ctx, sizeof(ctx));
	if (view == TOP_VIEW_IOAS) {
		j_u64(&j, "ioas", id->ioas);
		j_u64(&j, "iommu", id->iommu);
		j_u64(&j, "domain", id->domain);
	}
	j_str(&j, "label", id->label, sizeof(id->label));
	for (int c = 0; c < TOP_COL_COUNT; c++) {
		const char *key = top_col_name(c);

		switch (c) {
		case TOP_COL_PINNED:
			j_avail(&j, key, r->pinned_avail, r->pinned_bytes);
			break;
		case TOP_COL_HEADROOM:
			j_avail(&j, key, r->headroom_avail, r->headroom_bytes);
			break;
		case TOP_COL_ATTACH:
			j_u64(&j, key, r->attach);
			break;
		case TOP_COL_PASIDS:
			j_u64(&j, key, r->pasids);
			break;
		case TOP_COL_MAP_P50:
		case TOP_COL_MAP_P99:
		case TOP_COL_UNMAP_P50:
		case TOP_COL_UNMAP_P99:
			j_avail(&j, key, r->lat_ns[c] ? TOP_VALUE : TOP_UNKNOWN, r->lat_ns[c]);
			break;
		default:
			j_num(&j, key, r->rate[c]);
			break;
		}
	}
	j_totals(&j, &r->total);
	fputs("}\n", out);
}

void top_output_json(FILE *out, const struct top_snapshot *s)
{
	j_header(out, s);
	for (size_t i = 0; i < s->nr_rows; i++)
		j_row(out, s->view, &s->rows[i]);
}

/* ---- OpenMetrics --------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if there is none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;              /* overlong */
	else if (s[0] == 0xed)
		hi = 0x9f;              /* surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90;              /* overlong */
	else if (s[0] == 0xf4)
		hi = 0x8f;              /* above U+10FFFF */
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static void om_label_value(FILE *out, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, max);

	for (size_t i = 0; i < n;) {
		size_t len = utf8_len(p + i, n - i);

		if (p[i] == '\\')
			fputs("\\\\", out);
		else if (p[i] == '"')
			fputs("\\\"", out);
		else if (p[i] == '\n')
			fputs("\\n", out);
		else if (len)
			fwrite(p + i, 1, len, out);
		else
			fputs("\xef\xbf\xbd", out);     /* U+FFFD */
		i += len ? len : 1;
	}
}

enum om_type { OM_GAUGE, OM_COUNTER };

static void om_family(FILE *out, const char *name, enum om_type type, const char *unit,
		      const char *help)
{
	fprintf(out, "# TYPE ioasid_%s %s\n", name, type == OM_COUNTER ? "counter" : "gauge");
	if (unit)
		fprintf(out, "# UNIT ioasid_%s %s\n", name, unit);
	fprintf(out, "# HELP ioasid_%s %s\n", name, help);
}

static void om_plain(FILE *out, const char *name, enum om_type type, const char *help,
		     uint64_t v)
{
	om_family(out, name, type, NULL, help);
	fprintf(out, "ioasid_%s%s %llu\n", name, type == OM_COUNTER ? "_total" : "",
		(unsigned long long)v);
}

/* One labelled series: a row, or the sum of the rows past max_series. */
struct om_series {
	const struct top_row *row;      /* NULL: "other" */
	struct top_totals total;
	bool pinned_known, headroom_known;
	uint64_t pinned, headroom, attach, pasids;
};

static void om_series_of(struct om_series *o, const struct top_row *r)
{
	memset(o, 0, sizeof(*o));
	o->row = r;
	o->total = r->total;
	o->pinned_known = r->pinned_avail == TOP_VALUE;
	o->pinned = r->pinned_bytes;
	o->headroom_known = r->headroom_avail == TOP_VALUE;
	o->headroom = r->headroom_bytes;
	o->attach = r->attach;
	o->pasids = r->pasids;
}

static void om_add(struct om_series *o, const struct top_row *r)
{
	uint64_t *sum = (uint64_t *)&o->total;
	const uint64_t *add = (const uint64_t *)&r->total;

	_Static_assert(sizeof(struct top_totals) % sizeof(uint64_t) == 0,
		       "struct top_totals is uint64_t fields only");
	for (size_t i = 0; i < sizeof(struct top_totals) / sizeof(uint64_t); i++)
		sum[i] += add[i];
	if (r->pinned_avail == TOP_VALUE) {
		o->pinned += r->pinned_bytes;
		o->pinned_known = true;
	}
	if (r->headroom_avail == TOP_VALUE &&
	    (!o->headroom_known || r->headroom_bytes < o->headroom)) {
		o->headroom = r->headroom_bytes;
		o->headroom_known = true;
	}
	o->attach += r->attach;
	o->pasids += r->pasids;
}

enum om_value { OMV_PINNED = -1, OMV_HEADROOM = -2, OMV_ATTACH = -3, OMV_PASIDS = -4 };

static const struct om_fam {
	const char *name;
	enum om_type type;
	const char *unit;
	long field;             /* offsetof(struct top_totals, ...), or an enum om_value */
	const char *help;
} om_fams[] = {
#define OM_TOT(name, f, unit, help) { name, OM_COUNTER, unit, offsetof(struct top_totals, f), help }
	OM_TOT("maps", maps, NULL, "IOAS maps"),
	OM_TOT("map_failures", map_fails, NULL, "IOAS maps that failed"),
	OM_TOT("mapped_bytes", map_bytes, "bytes", "Bytes mapped into IOASes"),
	OM_TOT("unmaps", unmaps, NULL, "IOAS unmaps"),
	OM_TOT("unmap_failures", unmap_fails, NULL, "IOAS unmaps that failed"),
	OM_TOT("unmapped_bytes", unmap_bytes, "bytes", "Bytes unmapped from IOASes"),
	OM_TOT("copies", copies, NULL, "IOAS copies"),
	OM_TOT("iotlb_invalidations", invs, NULL, "IOTLB invalidations"),
	OM_TOT("faults", faults, NULL, "IO page faults"),
	OM_TOT("dma", dmas, NULL, "Device DMA operations through a translation"),
	OM_TOT("dma_faults", dma_faults, NULL, "Device DMA operations refused"),
	OM_TOT("iotlb_stale_hits", stale_hits, NULL,
	       "IOTLB hits on a translation the page tables no longer hold"),
	OM_TOT("attach_ops", attach_ops, NULL, "Attach and replace operations (successful)"),
	OM_TOT("detach_ops", detach_ops, NULL, "Detach operations"),
#undef OM_TOT
	{ "pinned_bytes", OM_GAUGE, "bytes", OMV_PINNED,
	  "Bytes pinned now (accounted pages x 4 KiB)" },
	{ "memlock_headroom_bytes", OM_GAUGE, "bytes", OMV_HEADROOM,
	  "RLIMIT_MEMLOCK left before a map fails with ENOMEM" },
	{ "attachments", OM_GAUGE, NULL, OMV_ATTACH,
	  "Attachments now: (device, PASID) pairs on a page table" },
	{ "pasids", OM_GAUGE, NULL, OMV_PASIDS,
	  "PASIDs in use now: non-zero PASIDs attached and global PASIDs" },
};

static void om_sample(FILE *out, const struct om_fam *f, const struct om_series *o)
{
	uint64_t v;

	switch (f->field) {
	case OMV_PINNED:
		if (!o->pinned_known)
			return;
		v = o->pinned;
		break;
	case OMV_HEADROOM:
		if (!o->headroom_known)
			return;
		v = o->headroom;
		break;
	case OMV_ATTACH:
		v = o->attach;
		break;
	case OMV_PASIDS:
		v = o->pasids;
		break;
	default:
		v = *(const uint64_t *)((const char *)&o->total + f->field);
		break;
	}
	fprintf(out, "ioasid_%s%s{pid=\"", f->name, f->type == OM_COUNTER ? "_total" : "");
	if (o->row) {
		fprintf(out, "%u\",comm=\"", o->row->id.pid);
		om_label_value(out, o->row->id.comm, sizeof(o->row->id.comm));
	} else {
		fputs("other\",comm=\"other", out);
	}
	fprintf(out, "\"} %llu\n", (unsigned long long)v);
}

void top_output_openmetrics(FILE *out, const struct top_snapshot *s, size_t max_series)
{
	const struct top_header *h = &s->hdr;
	size_t own = s->nr_rows < max_series ? s->nr_rows : max_series;
	struct om_series other = { 0 };

	om_plain(out, "processes", OM_GAUGE, "Processes with iommufd activity", h->processes);
	om_plain(out, "contexts", OM_GAUGE, "iommufd contexts open", h->contexts);
	om_plain(out, "devices_bound", OM_GAUGE, "Devices bound to a context", h->devices_bound);
	om_plain(out, "ioases", OM_GAUGE, "IOASes", h->ioases);
	om_plain(out, "domains", OM_GAUGE, "IOMMU domains", h->domains);
	om_plain(out, "events_received", OM_COUNTER, "Events received from the source",
		 h->events);
	om_plain(out, "events_dropped", OM_COUNTER, "Events the ring buffer lost", h->dropped);
	om_plain(out, "events_unaggregated", OM_COUNTER,
		 "Events the aggregate map had no room for", h->unaggregated);
	for (size_t i = own; i < s->nr_rows; i++)
		om_add(&other, &s->rows[i]);
	for (size_t f = 0; f < sizeof(om_fams) / sizeof(om_fams[0]); f++) {
		om_family(out, om_fams[f].name, om_fams[f].type, om_fams[f].unit, om_fams[f].help);
		for (size_t i = 0; i < own; i++) {
			struct om_series o;

			om_series_of(&o, &s->rows[i]);
			om_sample(out, &om_fams[f], &o);
		}
		if (own < s->nr_rows)
			om_sample(out, &om_fams[f], &other);
	}
	fputs("# EOF\n", out);
}
