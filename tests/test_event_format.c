/* test_event_format.c — names, text lines and JSON of events (src/trace/event_format.c).
 *
 * Names: every type of the X-macro table round-trips through its name; sources; errno names.
 * Text: the header's titles, one golden line, the "-" rule checked against the "fields used"
 * part of each type's doc string in ioasid/event.h (so the table of what each type uses and
 * the documentation cannot drift apart), alignment, special values. JSON: parsed back by a
 * small strict parser and turned into a record again, byte-identical, for every type and for
 * random records (the JSON is lossless); keys are the column titles. Every formatter at every
 * too-small buffer size: -ENOSPC and a NUL-terminated prefix.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ioasid/event_format.h"

static const char *const titles[] = {
	"TIME_S", "PID", "TID", "EVENT", "CTX", "DEV", "NAME", "OBJ", "PT", "IOMMU", "DOMAIN",
	"GROUP", "PASID", "IOVA", "LENGTH", "VALUE", "AUX", "RESULT", "LAT_US", "FLAGS",
};
#define NCOLS (sizeof(titles) / sizeof(titles[0]))

enum { T_TIME, T_PID, T_TID, T_EVENT, T_CTX, T_DEV, T_NAME, T_OBJ, T_PT, T_IOMMU, T_DOMAIN,
       T_GROUP, T_PASID, T_IOVA, T_LENGTH, T_VALUE, T_AUX, T_RESULT, T_LAT, T_FLAGS };

static uint64_t rng_state = 0x1234567;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Split a text line into its whitespace-separated cells. */
static size_t split(const char *line, char cells[][128], size_t max)
{
	size_t n = 0;

	while (*line && n < max) {
		size_t k = 0;

		while (*line == ' ')
			line++;
		if (!*line)
			break;
		while (*line && *line != ' ' && k < 127)
			cells[n][k++] = *line++;
		cells[n++][k] = '\0';
	}
	return n;
}

static void text(const struct ioasid_event *ev, uint64_t t0, char cells[][128])
{
	char line[IOASID_EVENT_LINE_MAX];
	int n = ioasid_event_format_text(ev, t0, line, sizeof(line));

	cr_assert_gt(n, 0);
	cr_assert_eq((size_t)n, strlen(line));
	cr_assert_eq(split(line, cells, 32), NCOLS, "not %zu cells: \"%s\"", NCOLS, line);
}

/* ---- names ------------------------------------------------------------------------------------- */
Test(event_format, type_names_round_trip)
{
	unsigned int count = 0;

#define X(up, low, num, doc)                                                                  \
	cr_assert_str_eq(ioasid_event_type_name(num), #low);                                  \
	cr_assert_eq(ioasid_event_type_from_name(#low), num);                                 \
	cr_assert_eq(ioasid_event_type_from_name(#up), num, "upper case " #up);               \
	cr_assert_str_eq(ioasid_event_type_doc(num), doc);                                    \
	count++;
	IOASID_EVENT_TYPES(X)
#undef X
	cr_assert_eq(count, IOASID_EV_MAX - 1);
	cr_assert_str_eq(ioasid_event_type_name(0), "?");
	cr_assert_str_eq(ioasid_event_type_name(IOASID_EV_MAX), "?");
	cr_assert_str_eq(ioasid_event_type_name(UINT_MAX), "?");
	cr_assert_null(ioasid_event_type_doc(IOASID_EV_MAX + 100));
	cr_assert_eq(ioasid_event_type_from_name("ioas_mapx"), -ENOENT);
	cr_assert_eq(ioasid_event_type_from_name(""), -ENOENT);
	cr_assert_eq(ioasid_event_type_from_name("?"), -ENOENT);
	cr_assert_eq(ioasid_event_type_from_name(NULL), -EINVAL);
}

Test(event_format, source_names)
{
	cr_assert_str_eq(ioasid_event_source_name(IOASID_SRC_NONE), "none");
	cr_assert_str_eq(ioasid_event_source_name(IOASID_SRC_REFERENCE), "reference");
	cr_assert_str_eq(ioasid_event_source_name(IOASID_SRC_INPROC), "inproc");
	cr_assert_str_eq(ioasid_event_source_name(IOASID_SRC_KERNEL_TP), "kernel_tp");
	cr_assert_str_eq(ioasid_event_source_name(IOASID_SRC_KERNEL_FN), "kernel_fn");
	cr_assert_str_eq(ioasid_event_source_name(5), "?");
	cr_assert_str_eq(ioasid_event_source_name(UINT_MAX), "?");
}

Test(event_format, errno_names_and_results)
{
	char buf[32];

	cr_assert_str_eq(ioasid_event_errno_name(EBUSY), "EBUSY");
	cr_assert_str_eq(ioasid_event_errno_name(-EBUSY), "EBUSY");
	cr_assert_str_eq(ioasid_event_errno_name(-EPERM), "EPERM");
	cr_assert_str_eq(ioasid_event_errno_name(-EOPNOTSUPP), "EOPNOTSUPP");
	cr_assert_str_eq(ioasid_event_errno_name(-EAGAIN), "EAGAIN");
	cr_assert_str_eq(ioasid_event_errno_name(-524), "ENOTSUPP");
	cr_assert_str_eq(ioasid_event_errno_name(-512), "ERESTARTSYS");
	cr_assert_null(ioasid_event_errno_name(0));
	cr_assert_null(ioasid_event_errno_name(-4095));
	cr_assert_null(ioasid_event_errno_name(INT_MIN));

	cr_assert_eq(ioasid_event_format_result(0, buf, sizeof(buf)), 1);
	cr_assert_str_eq(buf, "0");
	cr_assert_eq(ioasid_event_format_result(-EBUSY, buf, sizeof(buf)), 6);
	cr_assert_str_eq(buf, "-EBUSY");
	ioasid_event_format_result(-4095, buf, sizeof(buf));
	cr_assert_str_eq(buf, "-4095");
	ioasid_event_format_result(7, buf, sizeof(buf));
	cr_assert_str_eq(buf, "7");
	ioasid_event_format_result(INT_MIN, buf, sizeof(buf));
	cr_assert_str_eq(buf, "-2147483648");
}

Test(event_format, flags)
{
	char buf[256];

	cr_assert_eq(ioasid_event_format_flags(0, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "");
	ioasid_event_format_flags(IOASID_EVF_REFUSED | IOASID_EVF_STRICT, buf, sizeof(buf));
	cr_assert_str_eq(buf, "REFUSED|STRICT");
	ioasid_event_format_flags(IOASID_EVF_NESTED | 0x800 | 0x80000000u, buf, sizeof(buf));
	cr_assert_str_eq(buf, "NESTED|0x80000800");
	ioasid_event_format_flags(IOASID_EVF_AUTO_IOVA, buf, sizeof(buf));
	cr_assert_str_eq(buf, "AUTO_IOVA");
	ioasid_event_format_flags(0x400, buf, sizeof(buf));
	cr_assert_str_eq(buf, "0x400");
	ioasid_event_format_flags(0x1ff, buf, sizeof(buf));
	cr_assert_str_eq(buf, "REFUSED|BAD_DEV|STRICT|NESTED|PARENT|AUTO|PASID|DIRTY|EXIT");
}

/* ---- text -------------------------------------------------------------------------------------- */
Test(event_format, header_titles)
{
	char line[IOASID_EVENT_LINE_MAX], cells[32][128];
	int n = ioasid_event_format_header(line, sizeof(line));

	cr_assert_eq((size_t)n, strlen(line));
	cr_assert_eq(split(line, cells, 32), NCOLS);
	for (size_t i = 0; i < NCOLS; i++)
		cr_assert_str_eq(cells[i], titles[i]);
}

static struct ioasid_event map_event(void)
{
	struct ioasid_event ev = {
		.type = IOASID_EV_IOAS_MAP, .source = IOASID_SRC_REFERENCE,
		.version = IOASID_EVENT_VERSION, .seq = 41, .ts_ns = 5001234567ULL, .pid = 4242,
		.tid = 4243, .ctx = 0x1, .obj = 2, .iova = 0x100000, .length = 0x200000,
		.value = 512, .aux = 3, .result = -EBUSY, .flags = IOASID_EVF_REFUSED,
		.latency_ns = 1500,
	};

	return ev;
}

/* The format, pinned. Change it on purpose or not at all. */
Test(event_format, golden_line)
{
	struct ioasid_event ev = map_event();
	char line[IOASID_EVENT_LINE_MAX], head[IOASID_EVENT_LINE_MAX];

	ioasid_event_format_header(head, sizeof(head));
	ioasid_event_format_text(&ev, 4000000000ULL, line, sizeof(line));
	cr_assert_str_eq(head,
		"      TIME_S     PID     TID EVENT                          CTX  DEV NAME              "
		"OBJ    PT IOMMU DOMAIN GROUP   PASID               IOVA         LENGTH          VALUE    "
		"AUX      RESULT     LAT_US FLAGS");
	cr_assert_str_eq(line,
		"    1.001234    4242    4243 ioas_map                       0x1    - -                 "
		"  2     -     -      -     -       -           0x100000       0x200000            512      "
		"3      -EBUSY      1.500 REFUSED");
}

Test(event_format, columns_line_up)
{
	char head[IOASID_EVENT_LINE_MAX], line[IOASID_EVENT_LINE_MAX];
	struct ioasid_event ev = map_event();
	size_t hflags;

	ioasid_event_format_header(head, sizeof(head));
	hflags = strlen(head) - strlen("FLAGS");
	for (unsigned int t = 1; t < IOASID_EV_MAX; t++) {
		ev.type = (uint16_t)t;
		snprintf(ev.name, sizeof(ev.name), t % 2 ? "0000:00:1f.6" : "");
		ioasid_event_format_text(&ev, 0, line, sizeof(line));
		cr_assert_eq(strlen(line) - strlen("REFUSED"), hflags,
			     "%s: FLAGS column at %zu, header at %zu:\n%s\n%s",
			     ioasid_event_type_name(t), strlen(line) - strlen("REFUSED"), hflags, head,
			     line);
	}
}

Test(event_format, text_values)
{
	struct ioasid_event ev = map_event();
	char cells[32][128];

	text(&ev, 4000000000ULL, cells);
	cr_assert_str_eq(cells[T_TIME], "1.001234");
	cr_assert_str_eq(cells[T_EVENT], "ioas_map");
	cr_assert_str_eq(cells[T_RESULT], "-EBUSY");
	cr_assert_str_eq(cells[T_LAT], "1.500");
	/* before t0; t0 = 0: absolute */
	text(&ev, 6000000000ULL, cells);
	cr_assert_str_eq(cells[T_TIME], "-0.998765");
	text(&ev, 0, cells);
	cr_assert_str_eq(cells[T_TIME], "5.001234");

	/* IOTLB_INV of everything */
	memset(&ev, 0, sizeof(ev));
	ev.type = IOASID_EV_IOTLB_INV;
	ev.pasid = UINT32_MAX;
	ev.length = UINT64_MAX;
	ev.aux = IOASID_INV_FLUSH_ALL;
	text(&ev, 0, cells);
	cr_assert_str_eq(cells[T_PASID], "all");
	cr_assert_str_eq(cells[T_LENGTH], "all");
	cr_assert_str_eq(cells[T_IOVA], "0x0");
	cr_assert_str_eq(cells[T_CTX], "-");

	/* ACCOUNT: length is a signed page delta */
	memset(&ev, 0, sizeof(ev));
	ev.type = IOASID_EV_ACCOUNT;
	ev.length = (uint64_t)-5;
	ev.value = 100;
	text(&ev, 0, cells);
	cr_assert_str_eq(cells[T_LENGTH], "-5");
	cr_assert_str_eq(cells[T_VALUE], "100");

	/* an address in VALUE is hex */
	memset(&ev, 0, sizeof(ev));
	ev.type = IOASID_EV_DOMAIN_MAP;
	ev.value = 0x240000000ULL;
	text(&ev, 0, cells);
	cr_assert_str_eq(cells[T_VALUE], "0x240000000");

	/* a type this build does not know: every field shown, unused or not */
	memset(&ev, 0, sizeof(ev));
	ev.type = 999;
	text(&ev, 0, cells);
	cr_assert_str_eq(cells[T_EVENT], "type_999");
	cr_assert_str_eq(cells[T_GROUP], "0");
	cr_assert_str_eq(cells[T_LAT], "0.000");

	/* a field the type does not use is shown anyway when it is not 0 */
	memset(&ev, 0, sizeof(ev));
	ev.type = IOASID_EV_CTX_OPEN;
	ev.group = 9;
	text(&ev, 0, cells);
	cr_assert_str_eq(cells[T_GROUP], "9");
	cr_assert_str_eq(cells[T_DEV], "-");

	/* names: anything unprintable escaped, never a space inside a cell */
	memset(&ev, 0, sizeof(ev));
	ev.type = IOASID_EV_DEV_BIND;
	memcpy(ev.name, "a b\\\x01\xff", 6);
	text(&ev, 0, cells);
	cr_assert_str_eq(cells[T_NAME], "a\\x20b\\x5c\\x01\\xff");
	memset(ev.name, 'z', sizeof(ev.name));      /* no NUL: all 16 bytes */
	text(&ev, 0, cells);
	cr_assert_eq(strlen(cells[T_NAME]), 16);
}

/* What a zero record of each type shows matches the fields its doc string names (the whole
 * string: some name fields in their description), with "as DEV_ATTACH" meaning DEV_ATTACH's
 * too. NAME and FLAGS are not checked: "" and 0 show "-" whatever the type. */
Test(event_format, unused_fields_follow_the_doc_strings)
{
	static const struct { const char *field; int col; } fields[] = {
		{ "ctx", T_CTX }, { "dev", T_DEV }, { "obj", T_OBJ }, { "pt", T_PT },
		{ "iommu", T_IOMMU }, { "domain", T_DOMAIN }, { "group", T_GROUP },
		{ "pasid", T_PASID }, { "iova", T_IOVA }, { "length", T_LENGTH },
		{ "value", T_VALUE }, { "aux", T_AUX }, { "result", T_RESULT },
		{ "latency_ns", T_LAT },
	};
	/* Words of the doc strings that are field names but do not mean the field. */
	static const struct { unsigned int type; const char *field; } not_fields[] = {
		{ IOASID_EV_FAULT, "group" },              /* "value=group id": a PRI group */
		{ IOASID_EV_FAULT_RESPONSE, "group" },     /* same */
		{ IOASID_EV_IOAS_RESERVE, "domain" },      /* "an attached domain's aperture" */
	};

	for (unsigned int t = 1; t < IOASID_EV_MAX; t++) {
		struct ioasid_event ev = { .type = (uint16_t)t };
		char used[2048] = " ", cells[32][128];
		const char *doc = ioasid_event_type_doc(t);

		for (int pass = 0; pass < 2; pass++) {
			for (const char *p = doc; *p;) {
				char word[64];
				size_t k = 0;

				while (*p && !((*p >= 'a' && *p <= 'z') || *p == '_'))
					p++;
				while (((*p >= 'a' && *p <= 'z') || *p == '_') && k < 63)
					word[k++] = *p++;
				word[k] = '\0';
				if (k && strlen(used) + k + 2 < sizeof(used)) {
					strcat(used, word);
					strcat(used, " ");
				}
			}
			if (!strstr(doc, "as DEV_ATTACH"))
				break;
			doc = ioasid_event_type_doc(IOASID_EV_DEV_ATTACH);
		}
		text(&ev, 0, cells);
		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
			char word[64];
			bool documented, shown = strcmp(cells[fields[f].col], "-") != 0;

			snprintf(word, sizeof(word), " %s ", fields[f].field);
			documented = strstr(used, word) != NULL;
			for (size_t x = 0; x < sizeof(not_fields) / sizeof(not_fields[0]); x++)
				if (not_fields[x].type == t && !strcmp(not_fields[x].field, fields[f].field))
					documented = false;
			cr_assert_eq(shown, documented, "%s: %s is %s but the doc string %s it (%s)",
				     ioasid_event_type_name(t), fields[f].field,
				     shown ? "shown" : "\"-\"", documented ? "names" : "does not name",
				     ioasid_event_type_doc(t));
		}
	}
}

/* ---- JSON ------------------------------------------------------------------------------------- */
struct kv {
	char key[32];
	char val[128];     /* string values unescaped (bytes), numbers as text */
	size_t len;        /* bytes in val */
	bool is_str;
};

/* A strict parser for the flat objects the formatter writes: {"k":v,...} where v is a string
 * (escapes \" \\ \u00XX only) or an integer. Returns the number of pairs, or -1. */
static int parse_json(const char *s, struct kv *kv, int max)
{
	int n = 0;

	if (*s++ != '{')
		return -1;
	for (;;) {
		size_t k = 0;

		if (n == max || *s++ != '"')
			return -1;
		while (*s && *s != '"' && k < sizeof(kv[n].key) - 1)
			kv[n].key[k++] = *s++;
		kv[n].key[k] = '\0';
		if (*s++ != '"' || *s++ != ':')
			return -1;
		kv[n].len = 0;
		kv[n].is_str = *s == '"';
		if (kv[n].is_str) {
			s++;
			while (*s != '"') {
				unsigned int ch;

				if (!*s || (unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
					return -1;
				if (*s == '\\') {
					s++;
					if (*s == '"' || *s == '\\') {
						ch = (unsigned char)*s++;
					} else if (*s == 'u' && sscanf(s + 1, "%4x", &ch) == 1 &&
						   !strncmp(s + 1, "00", 2)) {
						s += 5;
					} else {
						return -1;
					}
				} else {
					ch = (unsigned char)*s++;
				}
				if (kv[n].len >= sizeof(kv[n].val) - 1)
					return -1;
				kv[n].val[kv[n].len++] = (char)ch;
			}
			s++;
		} else {
			if (*s == '-')
				kv[n].val[kv[n].len++] = *s++;
			if (*s < '0' || *s > '9')
				return -1;
			while (*s >= '0' && *s <= '9' && kv[n].len < sizeof(kv[n].val) - 1)
				kv[n].val[kv[n].len++] = *s++;
		}
		kv[n].val[kv[n].len] = '\0';
		n++;
		if (*s == '}')
			return s[1] ? -1 : n;
		if (*s++ != ',')
			return -1;
	}
}

static const struct kv *get(const struct kv *kv, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return &kv[i];
	cr_assert_fail("no \"%s\" in the JSON", key);
	return NULL;
}

static uint64_t num(const struct kv *kv, int n, const char *key)
{
	const struct kv *v = get(kv, n, key);

	cr_assert(!v->is_str, "\"%s\" is a string", key);
	return v->val[0] == '-' ? (uint64_t)strtoll(v->val, NULL, 10) : strtoull(v->val, NULL, 10);
}

static uint64_t hex(const struct kv *kv, int n, const char *key)
{
	const struct kv *v = get(kv, n, key);

	cr_assert(v->is_str && !strncmp(v->val, "0x", 2), "\"%s\" is not a hex string", key);
	return strtoull(v->val, NULL, 16);
}

/* The record the JSON describes. */
static struct ioasid_event from_json(const char *json)
{
	struct kv kv[40];
	struct ioasid_event ev;
	const struct kv *v;
	int n = parse_json(json, kv, 40);

	cr_assert_gt(n, 0, "not the JSON expected: %s", json);
	memset(&ev, 0, sizeof(ev));
	ev.ts_ns = num(kv, n, "time_ns");
	ev.seq = num(kv, n, "seq");
	v = get(kv, n, "source");
	ev.source = 0xff;
	for (unsigned int s = 0; s < 256; s++)
		if (!strcmp(ioasid_event_source_name(s), v->val))
			ev.source = (uint8_t)s;
	if (strcmp(ioasid_event_source_name(ev.source), v->val))
		ev.source = (uint8_t)strtoul(v->val, NULL, 10);
	ev.version = (uint8_t)num(kv, n, "version");
	ev.pid = (uint32_t)num(kv, n, "pid");
	ev.tid = (uint32_t)num(kv, n, "tid");
	v = get(kv, n, "event");
	ev.type = ioasid_event_type_from_name(v->val) > 0 ? (uint16_t)ioasid_event_type_from_name(v->val)
							     : (uint16_t)strtoul(v->val, NULL, 10);
	ev.ctx = hex(kv, n, "ctx");
	ev.dev = (uint32_t)num(kv, n, "dev");
	v = get(kv, n, "name");
	cr_assert(v->is_str && v->len <= sizeof(ev.name));
	memcpy(ev.name, v->val, v->len);
	ev.obj = (uint32_t)num(kv, n, "obj");
	ev.pt = (uint32_t)num(kv, n, "pt");
	ev.iommu = (uint32_t)num(kv, n, "iommu");
	ev.domain = (uint32_t)num(kv, n, "domain");
	ev.group = (uint32_t)num(kv, n, "group");
	ev.pasid = (uint32_t)num(kv, n, "pasid");
	ev.iova = hex(kv, n, "iova");
	ev.length = num(kv, n, "length");
	ev.value = num(kv, n, "value");
	ev.aux = (uint32_t)num(kv, n, "aux");
	ev.result = (int32_t)num(kv, n, "result");
	ev.latency_ns = num(kv, n, "latency_ns");
	ev.flags = (uint32_t)num(kv, n, "flags");
	ev.reserved = (uint32_t)num(kv, n, "reserved");
	if (ev.result < 0) {
		const char *name = ioasid_event_errno_name(ev.result);
		char want[16];

		snprintf(want, sizeof(want), "%d", -ev.result);
		cr_assert_str_eq(get(kv, n, "errno")->val, name ? name : want);
	}
	{
		char flags[256];

		ioasid_event_format_flags(ev.flags, flags, sizeof(flags));
		cr_assert_str_eq(get(kv, n, "flag_names")->val, flags);
	}
	return ev;
}

Test(event_format, json_values)
{
	struct ioasid_event ev = map_event();
	char json[IOASID_EVENT_LINE_MAX];

	memcpy(ev.name, "a\"b\\c\x01\xff", 7);
	cr_assert_gt(ioasid_event_format_json(&ev, json, sizeof(json)), 0);
	cr_assert(strstr(json, "{\"time_ns\":5001234567,\"seq\":41,\"source\":\"reference\","
			 "\"version\":1,\"pid\":4242,\"tid\":4243,\"event\":\"ioas_map\","
			 "\"ctx\":\"0x1\",\"dev\":0,"), "%s", json);
	cr_assert(strstr(json, "\"name\":\"a\\\"b\\\\c\\u0001\\u00ff\""), "%s", json);
	cr_assert(strstr(json, "\"iova\":\"0x100000\",\"length\":2097152,\"value\":512,\"aux\":3,"
			 "\"result\":-16,\"errno\":\"EBUSY\",\"latency_ns\":1500,\"flags\":1,"
			 "\"flag_names\":\"REFUSED\",\"reserved\":0}"), "%s", json);
	ev.result = 0;
	ioasid_event_format_json(&ev, json, sizeof(json));
	cr_assert_null(strstr(json, "errno"), "%s", json);
	ev.result = -4095;
	ioasid_event_format_json(&ev, json, sizeof(json));
	cr_assert(strstr(json, "\"result\":-4095,\"errno\":\"4095\""), "%s", json);
	ev.type = 999;
	ev.source = 77;
	ioasid_event_format_json(&ev, json, sizeof(json));
	cr_assert(strstr(json, "\"event\":\"999\""), "%s", json);
	cr_assert(strstr(json, "\"source\":\"77\""), "%s", json);
}

/* Keys are the column titles lower-cased, but for the two whose unit the text converts. */
Test(event_format, json_keys_are_the_titles)
{
	struct ioasid_event ev = map_event();
	char json[IOASID_EVENT_LINE_MAX];
	struct kv kv[40];
	int n;

	ioasid_event_format_json(&ev, json, sizeof(json));
	n = parse_json(json, kv, 40);
	cr_assert_gt(n, 0, "%s", json);
	for (size_t c = 0; c < NCOLS; c++) {
		char key[32];
		size_t i;

		if (c == T_TIME || c == T_LAT)
			continue;
		for (i = 0; titles[c][i]; i++)
			key[i] = (char)(titles[c][i] >= 'A' && titles[c][i] <= 'Z' ?
					titles[c][i] - 'A' + 'a' : titles[c][i]);
		key[i] = '\0';
		get(kv, n, key);
	}
	get(kv, n, "time_ns");
	get(kv, n, "latency_ns");
}

Test(event_format, json_is_lossless)
{
	char json[IOASID_EVENT_LINE_MAX], line[IOASID_EVENT_LINE_MAX];

	for (int i = 0; i < 20000; i++) {
		struct ioasid_event ev, back;
		uint64_t *w = (uint64_t *)&ev;

		for (size_t k = 0; k < sizeof(ev) / 8; k++)
			w[k] = rng();
		switch (i % 4) {
		case 0:        /* a known type and source, a terminated name */
			ev.type = (uint16_t)(1 + i % (IOASID_EV_MAX - 1));
			ev.source = (uint8_t)(i % 5);
			ev.name[i % 16] = '\0';
			memset(ev.name + i % 16, 0, sizeof(ev.name) - i % 16);
			break;
		case 1:        /* small values, a failed result */
			ev.result = -(int32_t)(1 + rng() % 600);
			ev.reserved = 0;
			break;
		case 2:        /* bytes after a NUL in the name */
			ev.name[3] = '\0';
			break;
		}
		cr_assert_gt(ioasid_event_format_json(&ev, json, sizeof(json)), 0);
		back = from_json(json);
		cr_assert_eq(memcmp(&ev, &back, sizeof(ev)), 0, "record %d does not survive: %s", i,
			     json);
		cr_assert_gt(ioasid_event_format_text(&ev, rng(), line, sizeof(line)), 0);
	}
}

/* ---- buffers ---------------------------------------------------------------------------------- */
static void check_sizes(const char *what, int (*fmt)(const struct ioasid_event *, char *, size_t),
			const struct ioasid_event *ev)
{
	char full[IOASID_EVENT_LINE_MAX], buf[IOASID_EVENT_LINE_MAX];
	int n = fmt(ev, full, sizeof(full));

	cr_assert_gt(n, 0);
	cr_assert_eq(fmt(ev, NULL, 0), -ENOSPC);
	for (int len = 1; len <= n; len++) {
		memset(buf, 'X', sizeof(buf));
		cr_assert_eq(fmt(ev, buf, (size_t)len), -ENOSPC, "%s: len %d of %d", what, len, n);
		cr_assert_eq(strlen(buf), (size_t)len - 1, "%s: len %d: not a terminated prefix", what,
			     len);
		cr_assert_eq(strncmp(buf, full, (size_t)len - 1), 0);
		cr_assert_eq(buf[len], 'X', "%s: len %d: wrote past the end", what, len);
	}
	cr_assert_eq(fmt(ev, buf, (size_t)n + 1), n);
	cr_assert_str_eq(buf, full);
}

static int text_at_0(const struct ioasid_event *ev, char *buf, size_t len)
{
	return ioasid_event_format_text(ev, 0, buf, len);
}

static int header(const struct ioasid_event *ev, char *buf, size_t len)
{
	return ioasid_event_format_header(buf, len);
}

static int flags(const struct ioasid_event *ev, char *buf, size_t len)
{
	return ioasid_event_format_flags(ev->flags, buf, len);
}

static int result(const struct ioasid_event *ev, char *buf, size_t len)
{
	return ioasid_event_format_result(ev->result, buf, len);
}

Test(event_format, small_buffers_give_enospc)
{
	struct ioasid_event ev = map_event();

	ev.flags |= IOASID_EVF_STRICT | 0x4000;
	memcpy(ev.name, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16);
	check_sizes("text", text_at_0, &ev);
	check_sizes("json", ioasid_event_format_json, &ev);
	check_sizes("header", header, &ev);
	check_sizes("flags", flags, &ev);
	check_sizes("result", result, &ev);
}

/* The worst record still fits IOASID_EVENT_LINE_MAX. */
Test(event_format, line_max_is_enough)
{
	struct ioasid_event ev;
	char buf[IOASID_EVENT_LINE_MAX];

	memset(&ev, 0xff, sizeof(ev));
	ev.result = INT_MIN;
	memset(ev.name, 0x01, sizeof(ev.name));
	cr_assert_gt(ioasid_event_format_json(&ev, buf, sizeof(buf)), 0);
	cr_assert_gt(ioasid_event_format_text(&ev, 0, buf, sizeof(buf)), 0);
	ev.ts_ns = 0;
	cr_assert_gt(ioasid_event_format_text(&ev, UINT64_MAX, buf, sizeof(buf)), 0);
}
