/* event_format.c — names, one-line text and JSON of a struct ioasid_event
 * (ioasid/event_format.h).
 *
 * Owns the columns: one table (title, width, alignment) serves the header line and every text
 * line, and the JSON keys are those titles lower-cased, so the three cannot drift apart. Type
 * names come from the X-macro table of ioasid/event.h only; flag names from the IOASID_EVF_*
 * macro names themselves. What each type uses (type_fields[]) mirrors the fields its doc
 * string in that table names: tests/test_event_format.c reads the doc strings and checks the
 * two agree, so a change to one without the other fails the tests rather than the display.
 *
 * Every formatter writes through struct out, which never writes past len and remembers that it
 * ran out of room (-ENOSPC); no state, no allocation, no locking.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ioasid/event_format.h"

/* ---- names ----------------------------------------------------------------------------------- */
static const char *const type_names[] = {
#define X(up, low, num, doc) [num] = #low,
	IOASID_EVENT_TYPES(X)
#undef X
};

static const char *const type_docs[] = {
#define X(up, low, num, doc) [num] = doc,
	IOASID_EVENT_TYPES(X)
#undef X
};

#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

const char *ioasid_event_type_name(unsigned int type)
{
	return type < NTYPES && type_names[type] ? type_names[type] : "?";
}

const char *ioasid_event_type_doc(unsigned int type)
{
	return type < NTYPES ? type_docs[type] : NULL;
}

/* The probe names are lower case; upper case (the enum's spelling) is accepted too. */
int ioasid_event_type_from_name(const char *name)
{
	if (!name)
		return -EINVAL;
	for (unsigned int t = 0; t < NTYPES; t++)
		if (type_names[t] && !strcasecmp(type_names[t], name))
			return (int)t;
	return -ENOENT;
}

static const char *const source_names[] = {
	[IOASID_SRC_NONE] = "none",
	[IOASID_SRC_REFERENCE] = "reference",
	[IOASID_SRC_INPROC] = "inproc",
	[IOASID_SRC_KERNEL_TP] = "kernel_tp",
	[IOASID_SRC_KERNEL_FN] = "kernel_fn",
};

const char *ioasid_event_source_name(unsigned int source)
{
	return source < sizeof(source_names) / sizeof(source_names[0]) && source_names[source] ?
	       source_names[source] : "?";
}

/* Flag names are the macro names without IOASID_EVF_. */
static const struct { uint32_t bit; const char *name; } flag_names[] = {
#define F(n) { IOASID_EVF_##n, #n }
	F(REFUSED), F(BAD_DEV), F(STRICT), F(NESTED), F(PARENT), F(AUTO), F(PASID), F(DIRTY),
	F(EXIT), F(AUTO_IOVA),
#undef F
};

/* errno names: the C library's (Linux numbering) and the kernel-internal ones a kernel fexit
 * result can carry (include/linux/errno.h), which no userspace header defines. */
#define ERRNO_NAMES(X)                                                                            \
	X(EPERM) X(ENOENT) X(ESRCH) X(EINTR) X(EIO) X(ENXIO) X(E2BIG) X(ENOEXEC) X(EBADF)         \
	X(ECHILD) X(EAGAIN) X(ENOMEM) X(EACCES) X(EFAULT) X(ENOTBLK) X(EBUSY) X(EEXIST) X(EXDEV) \
	X(ENODEV) X(ENOTDIR) X(EISDIR) X(EINVAL) X(ENFILE) X(EMFILE) X(ENOTTY) X(ETXTBSY)         \
	X(EFBIG) X(ENOSPC) X(ESPIPE) X(EROFS) X(EMLINK) X(EPIPE) X(EDOM) X(ERANGE) X(EDEADLK)     \
	X(ENAMETOOLONG) X(ENOLCK) X(ENOSYS) X(ENOTEMPTY) X(ELOOP) X(ENOMSG) X(EIDRM) X(ENOSTR)    \
	X(ENODATA) X(ETIME) X(ENOSR) X(ENOLINK) X(EPROTO) X(EBADMSG) X(EOVERFLOW) X(EBADFD)       \
	X(EILSEQ) X(EUSERS) X(ENOTSOCK) X(EMSGSIZE) X(EPROTONOSUPPORT) X(EOPNOTSUPP)             \
	X(EAFNOSUPPORT) X(EADDRINUSE) X(EADDRNOTAVAIL) X(ENETDOWN) X(ENETUNREACH) X(ECONNABORTED) \
	X(ECONNRESET) X(ENOBUFS) X(EISCONN) X(ENOTCONN) X(ETIMEDOUT) X(ECONNREFUSED)              \
	X(EHOSTUNREACH) X(EALREADY) X(EINPROGRESS) X(ESTALE) X(EDQUOT) X(ECANCELED)               \
	X(EOWNERDEAD) X(ENOTRECOVERABLE) X(ERFKILL) X(EHWPOISON) X(EREMOTEIO) X(ENOMEDIUM)        \
	X(EMEDIUMTYPE) X(ENOKEY) X(EKEYEXPIRED) X(EKEYREVOKED) X(EKEYREJECTED)

static const struct { int err; const char *name; } errno_names[] = {
#define X(e) { e, #e },
	ERRNO_NAMES(X)
#undef X
	{ 512, "ERESTARTSYS" }, { 513, "ERESTARTNOINTR" }, { 514, "ERESTARTNOHAND" },
	{ 515, "ENOIOCTLCMD" }, { 516, "ERESTART_RESTARTBLOCK" }, { 517, "EPROBE_DEFER" },
	{ 518, "EOPENSTALE" }, { 519, "ENOPARAM" }, { 524, "ENOTSUPP" }, { 525, "ETOOSMALL" },
	{ 529, "EIOCBQUEUED" },
};

const char *ioasid_event_errno_name(int err)
{
	if (err < 0)
		err = err == INT_MIN ? 0 : -err;
	for (size_t i = 0; err && i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].err == err)
			return errno_names[i].name;
	return NULL;
}

/* ---- bounded output ------------------------------------------------------------------------ */
struct out {
	char *buf;
	size_t len, pos;
	bool full;
};

static void out_init(struct out *o, char *buf, size_t len)
{
	o->buf = buf;
	o->len = len;
	o->pos = 0;
	o->full = !buf || !len;
	if (!o->full)
		buf[0] = '\0';
}

static void out_mem(struct out *o, const char *s, size_t n)
{
	if (o->full)
		return;
	if (n >= o->len - o->pos) {
		n = o->len - o->pos - 1;
		o->full = true;
	}
	memcpy(o->buf + o->pos, s, n);
	o->pos += n;
	o->buf[o->pos] = '\0';
}

static void out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3))) out_fmt(struct out *o, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	out_mem(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void out_pad(struct out *o, size_t n)
{
	static const char spaces[] = "                                ";

	while (n) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		out_mem(o, spaces, k);
		n -= k;
	}
}

static int out_done(const struct out *o)
{
	return o->full ? -ENOSPC : (int)o->pos;
}

/* ---- small formatters ------------------------------------------------------------------------ */
static void flags_out(struct out *o, uint32_t flags)
{
	bool sep = false;

	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
		if (!(flags & flag_names[i].bit))
			continue;
		if (sep)
			out_str(o, "|");
		out_str(o, flag_names[i].name);
		flags &= ~flag_names[i].bit;
		sep = true;
	}
	if (flags)
		out_fmt(o, "%s0x%x", sep ? "|" : "", flags);
}

int ioasid_event_format_flags(uint32_t flags, char *buf, size_t len)
{
	struct out o;

	out_init(&o, buf, len);
	flags_out(&o, flags);
	return out_done(&o);
}

static void result_out(struct out *o, int32_t result)
{
	const char *name = result < 0 ? ioasid_event_errno_name(result) : NULL;

	if (name)
		out_fmt(o, "-%s", name);
	else
		out_fmt(o, "%d", result);
}

int ioasid_event_format_result(int32_t result, char *buf, size_t len)
{
	struct out o;

	out_init(&o, buf, len);
	result_out(&o, result);
	return out_done(&o);
}

/* The device name as shown: up to IOASID_EVENT_NAME_LEN bytes, NUL-terminated unless full. */
static size_t name_len(const struct ioasid_event *ev)
{
	return strnlen(ev->name, sizeof(ev->name));
}

/* The name's bytes as JSON keeps them: up to the last non-zero byte, so that even bytes after
 * a NUL survive (the rest is zero padding). */
static size_t name_bytes(const struct ioasid_event *ev)
{
	size_t n = sizeof(ev->name);

	while (n && !ev->name[n - 1])
		n--;
	return n;
}

/* ---- what each type uses ----------------------------------------------------------------------- */
enum {
	U_CTX = 1u << 0, U_DEV = 1u << 1, U_NAME = 1u << 2, U_OBJ = 1u << 3, U_PT = 1u << 4,
	U_IOMMU = 1u << 5, U_DOMAIN = 1u << 6, U_GROUP = 1u << 7, U_PASID = 1u << 8,
	U_IOVA = 1u << 9, U_LENGTH = 1u << 10, U_VALUE = 1u << 11, U_AUX = 1u << 12,
	U_RESULT = 1u << 13, U_LATENCY = 1u << 14, U_FLAGS = 1u << 15,
	U_ALL = (1u << 16) - 1,
	/* how to show them */
	U_VALUE_ADDR = 1u << 16,     /* value is an address: hex */
	U_LENGTH_SIGNED = 1u << 17,  /* length is a signed count (two's complement) */
	U_LENGTH_DEC = 1u << 18,     /* length is a count: decimal */
};

#define U_ATTACH (U_CTX | U_DEV | U_NAME | U_GROUP | U_OBJ | U_PT | U_PASID | U_IOMMU | U_DOMAIN | \
		  U_VALUE | U_RESULT)

static const uint32_t type_fields[] = {
	[IOASID_EV_CTX_OPEN] = U_CTX,
	[IOASID_EV_CTX_CLOSE] = U_CTX | U_VALUE,
	[IOASID_EV_DEV_BIND] = U_CTX | U_DEV | U_NAME | U_GROUP | U_OBJ | U_PT | U_IOMMU | U_VALUE |
			       U_LENGTH | U_LENGTH_DEC | U_RESULT | U_AUX,
	[IOASID_EV_DEV_UNBIND] = U_CTX | U_DEV | U_NAME | U_GROUP | U_OBJ | U_IOMMU | U_AUX,
	[IOASID_EV_DEV_ATTACH] = U_ATTACH,
	[IOASID_EV_DEV_REPLACE] = U_ATTACH | U_AUX,
	[IOASID_EV_DEV_DETACH] = U_CTX | U_DEV | U_NAME | U_GROUP | U_OBJ | U_PT | U_PASID |
				 U_IOMMU | U_DOMAIN,
	[IOASID_EV_HWPT_ALLOC] = U_CTX | U_OBJ | U_PT | U_IOMMU | U_DOMAIN | U_FLAGS | U_RESULT,
	[IOASID_EV_HWPT_DESTROY] = U_CTX | U_OBJ | U_PT | U_IOMMU | U_DOMAIN | U_FLAGS,
	[IOASID_EV_IOAS_MAP] = U_CTX | U_OBJ | U_IOVA | U_LENGTH | U_VALUE | U_AUX | U_RESULT |
			       U_LATENCY,
	[IOASID_EV_IOAS_UNMAP] = U_CTX | U_OBJ | U_IOVA | U_LENGTH | U_VALUE | U_RESULT | U_LATENCY,
	[IOASID_EV_IOAS_COPY] = U_CTX | U_OBJ | U_PT | U_IOVA | U_LENGTH | U_VALUE | U_VALUE_ADDR |
				U_AUX | U_RESULT | U_LATENCY,
	[IOASID_EV_DOMAIN_MAP] = U_IOMMU | U_DOMAIN | U_IOVA | U_LENGTH | U_VALUE | U_VALUE_ADDR |
				 U_AUX | U_RESULT,
	[IOASID_EV_DOMAIN_UNMAP] = U_IOMMU | U_DOMAIN | U_IOVA | U_LENGTH | U_VALUE,
	[IOASID_EV_IOTLB_INV] = U_IOMMU | U_DOMAIN | U_PASID | U_IOVA | U_LENGTH | U_AUX | U_VALUE |
				U_FLAGS,
	[IOASID_EV_IOTLB_STALE_HIT] = U_IOMMU | U_DOMAIN | U_PASID | U_IOVA | U_VALUE |
				      U_VALUE_ADDR | U_AUX | U_DEV | U_NAME,
	[IOASID_EV_GROUP_CLAIM] = U_CTX | U_GROUP | U_DEV | U_NAME | U_VALUE | U_AUX,
	[IOASID_EV_GROUP_RELEASE] = U_CTX | U_GROUP | U_DEV | U_NAME,
	[IOASID_EV_DRIVER_BIND] = U_DEV | U_NAME | U_GROUP | U_AUX | U_RESULT,
	[IOASID_EV_DRIVER_UNBIND] = U_DEV | U_NAME | U_GROUP | U_AUX | U_RESULT,
	[IOASID_EV_FAULT] = U_DEV | U_NAME | U_CTX | U_OBJ | U_PT | U_PASID | U_IOVA | U_AUX |
			    U_VALUE | U_IOMMU | U_DOMAIN | U_RESULT,
	[IOASID_EV_FAULT_RESPONSE] = U_CTX | U_OBJ | U_DEV | U_NAME | U_PASID | U_AUX | U_VALUE,
	[IOASID_EV_OBJ_ALLOC] = U_CTX | U_OBJ | U_AUX,
	[IOASID_EV_OBJ_DESTROY] = U_CTX | U_OBJ | U_AUX | U_RESULT,
	[IOASID_EV_ACCOUNT] = U_CTX | U_VALUE | U_LENGTH | U_LENGTH_SIGNED | U_IOVA | U_PT | U_AUX |
			      U_RESULT,
	[IOASID_EV_GROUP_ADD_DEV] = U_GROUP | U_NAME,
	[IOASID_EV_GROUP_DEL_DEV] = U_GROUP | U_NAME,
	[IOASID_EV_DMA] = U_CTX | U_OBJ | U_DEV | U_NAME | U_PASID | U_IOVA | U_LENGTH | U_IOMMU |
			  U_DOMAIN | U_AUX | U_RESULT,
	[IOASID_EV_IOAS_RESERVE] = U_CTX | U_OBJ | U_IOVA | U_LENGTH | U_VALUE | U_RESULT,
	[IOASID_EV_IOAS_ALLOW] = U_CTX | U_OBJ | U_IOVA | U_LENGTH | U_AUX | U_VALUE | U_RESULT,
	[IOASID_EV_GPASID_ALLOC] = U_CTX | U_PASID | U_DEV | U_NAME | U_RESULT,
	[IOASID_EV_GPASID_FREE] = U_CTX | U_PASID | U_RESULT,
};

/* A type this build does not know shows everything. */
static uint32_t fields_of(unsigned int type)
{
	return type < sizeof(type_fields) / sizeof(type_fields[0]) && type_fields[type] ?
	       type_fields[type] : U_ALL;
}

/* ---- the columns ------------------------------------------------------------------------------- */
enum col {
	C_TIME, C_PID, C_TID, C_EVENT, C_CTX, C_DEV, C_NAME, C_OBJ, C_PT, C_IOMMU, C_DOMAIN,
	C_GROUP, C_PASID, C_IOVA, C_LENGTH, C_VALUE, C_AUX, C_RESULT, C_LATENCY, C_FLAGS, C_COUNT
};

static const struct column {
	const char *title;
	unsigned char width;
	bool left;
} columns[C_COUNT] = {
	[C_TIME] = { "TIME_S", 12 },     [C_PID] = { "PID", 7 },        [C_TID] = { "TID", 7 },
	[C_EVENT] = { "EVENT", 15, true }, [C_CTX] = { "CTX", 18 },    [C_DEV] = { "DEV", 4 },
	[C_NAME] = { "NAME", 15, true }, [C_OBJ] = { "OBJ", 5 },        [C_PT] = { "PT", 5 },
	[C_IOMMU] = { "IOMMU", 5 },      [C_DOMAIN] = { "DOMAIN", 6 },  [C_GROUP] = { "GROUP", 5 },
	[C_PASID] = { "PASID", 7 },      [C_IOVA] = { "IOVA", 18 },     [C_LENGTH] = { "LENGTH", 14 },
	[C_VALUE] = { "VALUE", 14 },     [C_AUX] = { "AUX", 6 },        [C_RESULT] = { "RESULT", 11 },
	[C_LATENCY] = { "LAT_US", 10 },  [C_FLAGS] = { "FLAGS", 0, true },
};

/* One cell, padded to its column (the last column is not padded). */
static void cell(struct out *o, enum col c, const char *text)
{
	size_t n = strlen(text), w = columns[c].width;

	if (c)
		out_str(o, " ");
	if (!columns[c].left && n < w)
		out_pad(o, w - n);
	out_str(o, text);
	if (columns[c].left && n < w && c != C_FLAGS)
		out_pad(o, w - n);
}

int ioasid_event_format_header(char *buf, size_t len)
{
	struct out o;

	out_init(&o, buf, len);
	for (int c = 0; c < C_COUNT; c++)
		cell(&o, (enum col)c, columns[c].title);
	return out_done(&o);
}

/* "-" when the type does not use the field and it is 0; the value otherwise. */
static bool shown(uint32_t used, uint32_t bit, uint64_t v)
{
	return (used & bit) || v;
}

static void u64_cell(struct out *o, enum col c, uint32_t used, uint32_t bit, uint64_t v, bool hex)
{
	char t[32];

	if (!shown(used, bit, v))
		snprintf(t, sizeof(t), "-");
	else if (hex)
		snprintf(t, sizeof(t), "0x%llx", (unsigned long long)v);
	else
		snprintf(t, sizeof(t), "%llu", (unsigned long long)v);
	cell(o, c, t);
}

int ioasid_event_format_text(const struct ioasid_event *ev, uint64_t t0_ns, char *buf, size_t len)
{
	uint32_t used = fields_of(ev->type);
	char t[4 * IOASID_EVENT_NAME_LEN + 64];
	struct out o, sub;
	uint64_t rel;
	bool neg;

	out_init(&o, buf, len);

	/* TIME_S: seconds since t0, truncated to microseconds, exact (no floating point) */
	neg = ev->ts_ns < t0_ns;
	rel = neg ? t0_ns - ev->ts_ns : ev->ts_ns - t0_ns;
	snprintf(t, sizeof(t), "%s%llu.%06llu", neg ? "-" : "", (unsigned long long)(rel / 1000000000),
		 (unsigned long long)(rel % 1000000000 / 1000));
	cell(&o, C_TIME, t);
	snprintf(t, sizeof(t), "%u", ev->pid);
	cell(&o, C_PID, t);
	snprintf(t, sizeof(t), "%u", ev->tid);
	cell(&o, C_TID, t);
	if (ev->type < NTYPES && type_names[ev->type])
		cell(&o, C_EVENT, type_names[ev->type]);
	else {
		snprintf(t, sizeof(t), "type_%u", ev->type);
		cell(&o, C_EVENT, t);
	}
	u64_cell(&o, C_CTX, used, U_CTX, ev->ctx, true);
	u64_cell(&o, C_DEV, used, U_DEV, ev->dev, false);

	/* NAME: printable ASCII as is, anything else as \xNN */
	if (name_len(ev)) {
		size_t k = 0;

		for (size_t i = 0; i < name_len(ev); i++) {
			unsigned char ch = (unsigned char)ev->name[i];

			if (ch > 0x20 && ch < 0x7f && ch != '\\')
				t[k++] = (char)ch;
			else
				k += (size_t)snprintf(t + k, sizeof(t) - k, "\\x%02x", ch);
		}
		t[k] = '\0';
		cell(&o, C_NAME, t);
	} else {
		cell(&o, C_NAME, "-");
	}
	u64_cell(&o, C_OBJ, used, U_OBJ, ev->obj, false);
	u64_cell(&o, C_PT, used, U_PT, ev->pt, false);
	u64_cell(&o, C_IOMMU, used, U_IOMMU, ev->iommu, false);
	u64_cell(&o, C_DOMAIN, used, U_DOMAIN, ev->domain, false);
	u64_cell(&o, C_GROUP, used, U_GROUP, ev->group, false);
	if (ev->pasid == UINT32_MAX)
		cell(&o, C_PASID, "all");
	else
		u64_cell(&o, C_PASID, used, U_PASID, ev->pasid, false);
	u64_cell(&o, C_IOVA, used, U_IOVA, ev->iova, true);
	if (ev->length == UINT64_MAX && !(used & (U_LENGTH_SIGNED | U_LENGTH_DEC))) {
		cell(&o, C_LENGTH, "all");
	} else if ((used & U_LENGTH_SIGNED) && ev->length) {
		snprintf(t, sizeof(t), "%lld", (long long)ev->length);
		cell(&o, C_LENGTH, t);
	} else {
		u64_cell(&o, C_LENGTH, used, U_LENGTH, ev->length, !(used & U_LENGTH_DEC));
	}
	u64_cell(&o, C_VALUE, used, U_VALUE, ev->value, used & U_VALUE_ADDR);
	u64_cell(&o, C_AUX, used, U_AUX, ev->aux, false);
	if (shown(used, U_RESULT, (uint32_t)ev->result)) {
		out_init(&sub, t, sizeof(t));
		result_out(&sub, ev->result);
		cell(&o, C_RESULT, t);
	} else {
		cell(&o, C_RESULT, "-");
	}
	if (shown(used, U_LATENCY, ev->latency_ns)) {
		snprintf(t, sizeof(t), "%llu.%03llu", (unsigned long long)(ev->latency_ns / 1000),
			 (unsigned long long)(ev->latency_ns % 1000));
		cell(&o, C_LATENCY, t);
	} else {
		cell(&o, C_LATENCY, "-");
	}
	if (ev->flags) {
		out_init(&sub, t, sizeof(t));
		flags_out(&sub, ev->flags);
		cell(&o, C_FLAGS, t);
	} else {
		cell(&o, C_FLAGS, "-");
	}
	return out_done(&o);
}

/* ---- JSON ------------------------------------------------------------------------------------ */

/* A JSON string of n bytes: printable ASCII as is (with \" and \\), everything else \u00XX, so
 * the output is plain ASCII whatever the bytes and each byte maps back to one code point. */
static void json_bytes(struct out *o, const char *s, size_t n)
{
	char t[8];

	out_str(o, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			t[0] = '\\';
			t[1] = (char)ch;
			out_mem(o, t, 2);
		} else if (ch >= 0x20 && ch < 0x7f) {
			out_mem(o, (const char *)&ch, 1);
		} else {
			snprintf(t, sizeof(t), "\\u%04x", ch);
			out_mem(o, t, 6);
		}
	}
	out_str(o, "\"");
}

/* A known name, or the number as a string (lossless for what this build does not know). */
static void json_name(struct out *o, const char *key, const char *name, unsigned int num)
{
	out_fmt(o, ",\"%s\":", key);
	if (name && strcmp(name, "?"))
		json_bytes(o, name, strlen(name));
	else
		out_fmt(o, "\"%u\"", num);
}

static void json_key(struct out *o, enum col c)
{
	char key[16];
	size_t i;

	for (i = 0; columns[c].title[i] && i < sizeof(key) - 1; i++) {
		char ch = columns[c].title[i];

		key[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
	}
	key[i] = '\0';
	out_fmt(o, ",\"%s\":", key);
}

static void json_u64(struct out *o, enum col c, uint64_t v)
{
	json_key(o, c);
	out_fmt(o, "%llu", (unsigned long long)v);
}

static void json_hex(struct out *o, enum col c, uint64_t v)
{
	json_key(o, c);
	out_fmt(o, "\"0x%llx\"", (unsigned long long)v);
}

int ioasid_event_format_json(const struct ioasid_event *ev, char *buf, size_t len)
{
	const char *errname;
	struct out o;

	out_init(&o, buf, len);
	out_fmt(&o, "{\"time_ns\":%llu,\"seq\":%llu", (unsigned long long)ev->ts_ns,
		(unsigned long long)ev->seq);
	json_name(&o, "source", ioasid_event_source_name(ev->source), ev->source);
	out_fmt(&o, ",\"version\":%u", ev->version);
	json_u64(&o, C_PID, ev->pid);
	json_u64(&o, C_TID, ev->tid);
	json_name(&o, "event", ioasid_event_type_name(ev->type), ev->type);
	json_hex(&o, C_CTX, ev->ctx);
	json_u64(&o, C_DEV, ev->dev);
	json_key(&o, C_NAME);
	json_bytes(&o, ev->name, name_bytes(ev));
	json_u64(&o, C_OBJ, ev->obj);
	json_u64(&o, C_PT, ev->pt);
	json_u64(&o, C_IOMMU, ev->iommu);
	json_u64(&o, C_DOMAIN, ev->domain);
	json_u64(&o, C_GROUP, ev->group);
	json_u64(&o, C_PASID, ev->pasid);
	json_hex(&o, C_IOVA, ev->iova);
	json_u64(&o, C_LENGTH, ev->length);
	json_u64(&o, C_VALUE, ev->value);
	json_u64(&o, C_AUX, ev->aux);
	json_key(&o, C_RESULT);
	out_fmt(&o, "%d", ev->result);
	if (ev->result < 0) {
		errname = ioasid_event_errno_name(ev->result);
		if (errname)
			out_fmt(&o, ",\"errno\":\"%s\"", errname);
		else
			out_fmt(&o, ",\"errno\":\"%lld\"", -(long long)ev->result);
	}
	out_fmt(&o, ",\"latency_ns\":%llu", (unsigned long long)ev->latency_ns);
	json_u64(&o, C_FLAGS, ev->flags);
	out_str(&o, ",\"flag_names\":\"");
	flags_out(&o, ev->flags);
	out_fmt(&o, "\",\"reserved\":%u}", ev->reserved);
	return out_done(&o);
}
