/* arrange.c — the order and the selection of a snapshot's rows (pure: no I/O, no clock).
 *
 * Sort: one key per row, compared heaviest first (or ascending on request). A value the row
 * does not have — pinned or headroom unknown, a latency with no sample in the interval (0), a
 * rate that is not a number — sorts last in either direction: rows with nothing to say never
 * push the ones that have to the bottom of an ascending list. Unlimited headroom is larger
 * than any number. TOP_SORT_LOAD compares operations per second, then pinned bytes (unknown
 * last). Ties fall to the label, then the identity numbers (pid, ctx, ioas, iommu, domain, dev,
 * group), then comm and name, always ascending: the order is total, so equal snapshots always
 * show in the same order and the selection does not jump between equal rows.
 *
 * Filter: a row stays when the text is a case-insensitive substring of its label, comm or
 * device name; or, when the text is a decimal number, it is the row's pid or IOMMU group; or,
 * when it is a hex number (with or without 0x), the row's context cookie. Numbers match only
 * fields the row has (non-zero): filtering "0" does not keep every row of a view without
 * groups. The rows array stays the snapshot's; kept rows move down, in order.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "top/format.h"

void top_snapshot_free(struct top_snapshot *s)
{
	if (!s)
		return;
	free(s->rows);
	s->rows = NULL;
	s->nr_rows = 0;
}

/* ---- sort ---------------------------------------------------------------------------------- */
struct sort_key {
	bool have;              /* false: unknown / no sample: last */
	bool unlimited;         /* above every value */
	bool is_float;
	double d;
	uint64_t u;
};

static struct sort_key key_double(double d)
{
	return (struct sort_key){ .have = d == d, .is_float = true, .d = d };
}

static struct sort_key key_u64(bool have, uint64_t u)
{
	return (struct sort_key){ .have = have, .u = u };
}

static struct sort_key key_bytes(enum top_avail avail, uint64_t bytes)
{
	return (struct sort_key){ .have = avail != TOP_UNKNOWN, .unlimited = avail == TOP_UNLIMITED,
				  .u = bytes };
}

static struct sort_key row_key(const struct top_row *r, int sort)
{
	switch (sort) {
	case TOP_COL_MAP_S:
	case TOP_COL_UNMAP_S:
	case TOP_COL_MAP_BYTES_S:
	case TOP_COL_INV_S:
	case TOP_COL_FAULT_S:
		return key_double(r->rate[sort]);
	case TOP_COL_PINNED:
		return key_bytes(r->pinned_avail, r->pinned_bytes);
	case TOP_COL_HEADROOM:
		return key_bytes(r->headroom_avail, r->headroom_bytes);
	case TOP_COL_ATTACH:
		return key_u64(true, r->attach);
	case TOP_COL_PASIDS:
		return key_u64(true, r->pasids);
	case TOP_COL_MAP_P50:
	case TOP_COL_MAP_P99:
	case TOP_COL_UNMAP_P50:
	case TOP_COL_UNMAP_P99:
		return key_u64(r->lat_ns[sort] != 0, r->lat_ns[sort]);
	default:
		return key_double(r->load);
	}
}

/* <0 when a sorts before b, heaviest first unless ascending; missing values last either way. */
static int key_cmp(struct sort_key a, struct sort_key b, bool ascending)
{
	int c;

	if (a.have != b.have)
		return a.have ? -1 : 1;
	if (!a.have)
		return 0;
	if (a.unlimited != b.unlimited)
		c = a.unlimited ? 1 : -1;
	else if (a.unlimited)
		c = 0;
	else if (a.is_float)
		c = (a.d > b.d) - (a.d < b.d);
	else
		c = (a.u > b.u) - (a.u < b.u);
	return ascending ? c : -c;
}

#define CMP_NUM(x, y) do { if ((x) != (y)) return (x) < (y) ? -1 : 1; } while (0)

static int id_cmp(const struct top_row_id *a, const struct top_row_id *b)
{
	int c = strncmp(a->label, b->label, sizeof(a->label));

	if (c)
		return c;
	CMP_NUM(a->pid, b->pid);
	CMP_NUM(a->ctx, b->ctx);
	CMP_NUM(a->ioas, b->ioas);
	CMP_NUM(a->iommu, b->iommu);
	CMP_NUM(a->domain, b->domain);
	CMP_NUM(a->dev, b->dev);
	CMP_NUM(a->group, b->group);
	c = strncmp(a->comm, b->comm, sizeof(a->comm));
	if (c)
		return c;
	return strncmp(a->name, b->name, sizeof(a->name));
}

struct sort_how {
	int sort;
	bool ascending;
};

static int row_cmp(const void *pa, const void *pb, void *arg)
{
	const struct top_row *a = pa, *b = pb;
	const struct sort_how *how = arg;
	int c = key_cmp(row_key(a, how->sort), row_key(b, how->sort), how->ascending);

	if (c)
		return c;
	if (how->sort < 0 || how->sort >= TOP_COL_COUNT) {
		c = key_cmp(key_bytes(a->pinned_avail, a->pinned_bytes),
			    key_bytes(b->pinned_avail, b->pinned_bytes), how->ascending);
		if (c)
			return c;
	}
	return id_cmp(&a->id, &b->id);
}

void top_arrange_sort(struct top_snapshot *s, int sort, bool ascending)
{
	struct sort_how how = { .sort = sort, .ascending = ascending };

	if (s && s->nr_rows > 1)
		qsort_r(s->rows, s->nr_rows, sizeof(s->rows[0]), row_cmp, &how);
}

/* ---- filter -------------------------------------------------------------------------------- */

/* Case-insensitive: is `needle` in the first `hay_len` bytes of hay (up to a NUL)? */
static bool contains(const char *hay, size_t hay_len, const char *needle)
{
	size_t n = strlen(needle), h = strnlen(hay, hay_len);

	for (size_t i = 0; i + n <= h; i++) {
		size_t j = 0;

		while (j < n && tolower((unsigned char)hay[i + j]) ==
				tolower((unsigned char)needle[j]))
			j++;
		if (j == n)
			return true;
	}
	return false;
}

/* The filter as a number: 0 or -EINVAL. Only digits, at most what fits. */
static int parse_num(const char *s, int base, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		int d;

		if (isdigit((unsigned char)*s))
			d = *s - '0';
		else if (base == 16 && isxdigit((unsigned char)*s))
			d = tolower((unsigned char)*s) - 'a' + 10;
		else
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -EINVAL;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = v;
	return 0;
}

struct filter {
	const char *text;
	bool is_dec, is_hex;
	uint64_t dec, hex;
};

static bool row_matches(const struct top_row *r, const struct filter *f)
{
	const struct top_row_id *id = &r->id;

	if (contains(id->label, sizeof(id->label), f->text) ||
	    contains(id->comm, sizeof(id->comm), f->text) ||
	    contains(id->name, sizeof(id->name), f->text))
		return true;
	if (f->is_dec && f->dec && (id->pid == f->dec || id->group == f->dec))
		return true;
	return f->is_hex && id->ctx && id->ctx == f->hex;
}

void top_arrange_filter(struct top_snapshot *s, const char *filter)
{
	struct filter f = { .text = filter };
	const char *hex;
	size_t kept = 0;

	if (!s || !filter || !*filter)
		return;
	f.is_dec = parse_num(filter, 10, &f.dec) == 0;
	hex = filter[0] == '0' && (filter[1] == 'x' || filter[1] == 'X') ? filter + 2 : filter;
	f.is_hex = parse_num(hex, 16, &f.hex) == 0;
	for (size_t i = 0; i < s->nr_rows; i++) {
		if (!row_matches(&s->rows[i], &f))
			continue;
		if (kept != i)
			s->rows[kept] = s->rows[i];
		kept++;
	}
	s->nr_rows = kept;
}

bool top_row_id_same(const struct top_row_id *a, const struct top_row_id *b)
{
	return a->pid == b->pid && a->ctx == b->ctx && a->ioas == b->ioas && a->iommu == b->iommu &&
	       a->domain == b->domain && a->dev == b->dev && a->group == b->group;
}
