/* format.c — numbers as ioasid-top shows them (the scheme is in format.h), and the line builder
 * the header, status and batch lines are made with.
 *
 * One rule for every unit keeps columns 5 characters wide and their values comparable at a
 * glance: the number of digits grows with the value until the unit changes. Decisions are made
 * on the value printf will round (99.95 prints "100", so it takes the whole-number form), so a
 * boundary never shows as "100.0" or "1000k".
 */
#include <stdio.h>
#include <string.h>

#include "top/format.h"

static const char *const dec_units[] = { "", "k", "M", "G", "T", "P", "E" };
static const char *const bin_units[] = { "K", "M", "G", "T", "P", "E" };
static const char *const time_units[] = { "u", "m", "s" };

#define NUNITS(a) (sizeof(a) / sizeof((a)[0]))

/* x >= 0, in units[0]; each unit is `step` of the one before; the last one is never left. */
static char *fmt_scaled(double x, double step, double whole_below, const char *const *units,
			size_t nunits, char *buf, size_t len)
{
	size_t u = 0;

	for (;;) {
		if (x < 99.95) {
			snprintf(buf, len, "%.1f%s", x, units[u]);
			return buf;
		}
		if (x < whole_below || u + 1 == nunits) {
			snprintf(buf, len, "%.0f%s", x, units[u]);
			return buf;
		}
		x /= step;
		u++;
	}
}

char *top_fmt_rate(double v, char *buf, size_t len)
{
	if (!(v > 0)) {         /* 0, and a NaN never shows as a number */
		snprintf(buf, len, "0");
		return buf;
	}
	return fmt_scaled(v, 1000, 999.5, dec_units, NUNITS(dec_units), buf, len);
}

char *top_fmt_count(uint64_t v, char *buf, size_t len)
{
	if (v < 1000) {
		snprintf(buf, len, "%llu", (unsigned long long)v);
		return buf;
	}
	return fmt_scaled((double)v / 1000, 1000, 999.5, dec_units + 1, NUNITS(dec_units) - 1,
			  buf, len);
}

char *top_fmt_bytes(double bytes, char *buf, size_t len)
{
	if (!(bytes > 0))
		snprintf(buf, len, "0");
	else if (bytes < 1023.5)
		snprintf(buf, len, "%.0fB", bytes);
	else
		fmt_scaled(bytes / 1024, 1024, 1023.5, bin_units, NUNITS(bin_units), buf, len);
	return buf;
}

char *top_fmt_lat(uint64_t ns, char *buf, size_t len)
{
	if (!ns)
		snprintf(buf, len, "-");
	else if (ns < 1000)
		snprintf(buf, len, "%llun", (unsigned long long)ns);
	else
		fmt_scaled((double)ns / 1000, 1000, 999.5, time_units, NUNITS(time_units), buf,
			   len);
	return buf;
}

char *top_fmt_avail_bytes(enum top_avail avail, uint64_t bytes, char *buf, size_t len)
{
	if (avail == TOP_VALUE)
		return top_fmt_bytes((double)bytes, buf, len);
	snprintf(buf, len, "%s", avail == TOP_UNLIMITED ? "unlim" : "-");
	return buf;
}

char *top_fmt_clock(int64_t wall_s, char *buf, size_t len)
{
	int64_t day = ((wall_s % 86400) + 86400) % 86400;

	snprintf(buf, len, "%02d:%02d:%02d", (int)(day / 3600), (int)(day / 60 % 60),
		 (int)(day % 60));
	return buf;
}

char *top_fmt_cell(const struct top_row *r, enum top_col c, char *buf, size_t len)
{
	switch (c) {
	case TOP_COL_MAP_S:
	case TOP_COL_UNMAP_S:
	case TOP_COL_INV_S:
	case TOP_COL_FAULT_S:
		return top_fmt_rate(r->rate[c], buf, len);
	case TOP_COL_MAP_BYTES_S:
		return top_fmt_bytes(r->rate[c], buf, len);
	case TOP_COL_PINNED:
		return top_fmt_avail_bytes(r->pinned_avail, r->pinned_bytes, buf, len);
	case TOP_COL_HEADROOM:
		return top_fmt_avail_bytes(r->headroom_avail, r->headroom_bytes, buf, len);
	case TOP_COL_ATTACH:
		return top_fmt_count(r->attach, buf, len);
	case TOP_COL_PASIDS:
		return top_fmt_count(r->pasids, buf, len);
	case TOP_COL_MAP_P50:
	case TOP_COL_MAP_P99:
	case TOP_COL_UNMAP_P50:
	case TOP_COL_UNMAP_P99:
		return top_fmt_lat(r->lat_ns[c], buf, len);
	case TOP_COL_COUNT:
		break;
	}
	snprintf(buf, len, "?");
	return buf;
}

/* ---- line building ------------------------------------------------------------------------- */
void top_line_init(struct top_line *l, char *buf, size_t len, size_t width)
{
	l->buf = buf;
	l->len = len;
	l->width = width < len ? width : len - 1;
	l->n = 0;
	l->dropped = false;
	buf[0] = '\0';
}

static void line_vadd(struct top_line *l, const char *fmt, va_list ap)
{
	size_t room = l->width - l->n;
	int n;

	if (!room)
		return;
	n = vsnprintf(l->buf + l->n, room + 1, fmt, ap);
	if (n > 0)
		l->n += (size_t)n < room ? (size_t)n : room;
}

void top_line_add(struct top_line *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line_vadd(l, fmt, ap);
	va_end(ap);
}

bool top_line_item(struct top_line *l, const char *sep, const char *fmt, ...)
{
	char item[512];
	size_t need;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	need = (size_t)n + (l->n ? strlen(sep) : 0);
	if ((size_t)n >= sizeof(item) || l->n + need > l->width) {
		l->dropped = true;
		return false;
	}
	top_line_add(l, "%s%s", l->n ? sep : "", item);
	return true;
}
