/* decoder.c — bytes to uAPI calls, calls to text, text to bytes (the format: fuzz.h).
 *
 * Owns: the pickers (one per field class: how a selector byte becomes a value, how the value
 * is printed, and how the printed form is assembled back), the decoder state (fds, object IDs
 * and fault cookies the sequence has produced, each recorded from the call's own results, so
 * that "the first live IOAS" means the same thing against any backend), and fz_run().
 *
 * Invariants: decoding never reads past the input (missing bytes are zeros) and never writes
 * past the argument block or the payload scratch; every value a picker produces can be
 * printed, and the printed form assembles to bytes that decode to the same value in the same
 * state. Uses only libc, so the replay tool (no reference linked) shares it.
 */
#include "fuzz.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define U64_MAX UINT64_MAX
#define MSI_START 0xfee00000ULL

/* ---- the input reader --------------------------------------------------------------------- */

static uint8_t rd8(struct fz_state *st)
{
	return st->pos < st->len ? st->in[st->pos++] : 0;
}

static uint64_t rdn(struct fz_state *st, unsigned int width)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < width; i++)
		v |= (uint64_t)rd8(st) << (8 * i);
	return v;
}

/* ---- the text form being built ------------------------------------------------------------ */

static void say(struct fz_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct fz_state *st, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!st->trace || st->line_len >= sizeof(st->line) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(st->line + st->line_len, sizeof(st->line) - st->line_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		st->line_len += (size_t)n;
	if (st->line_len >= sizeof(st->line))
		st->line_len = sizeof(st->line) - 1;
}

/* ---- numeric classes ---------------------------------------------------------------------- */

struct special {
	const char *name;    /* NULL: printed as hex */
	uint64_t value;
	bool last_iova;      /* dynamic: the IOVA the last map chose */
};

struct num_class {
	const struct special *sp;
	unsigned int n;
	uint64_t unit;
};

static const struct special iova_sp[] = {
	{ NULL, 0x100000 }, { NULL, 0 }, { "PAGE", FZ_PAGE }, { NULL, 0x200000 },
	{ NULL, 0x40000000 }, { "MSI", MSI_START }, { "MSI_END", 0xfef00000ULL },
	{ "MOCK_START", 1ULL << 24 }, { "MOCK_LAST", (1ULL << 31) - 1 }, { NULL, 1ULL << 31 },
	{ "TOP39", (1ULL << 39) - FZ_PAGE }, { NULL, 1ULL << 39 },
	{ "TOP48", (1ULL << 48) - FZ_PAGE },
	{ NULL, 1ULL << 48 }, { NULL, 1ULL << 57 }, { NULL, 1ULL << 63 },
	{ "TOP64", U64_MAX - FZ_PAGE + 1 }, { "U64_MAX", U64_MAX }, { "LAST", 0, true },
	{ "GVA", 0x7f0000001000ULL },
};
static const struct special len_sp[] = {
	{ "PAGE", FZ_PAGE }, { NULL, 0 }, { NULL, 1 }, { NULL, FZ_PAGE - 1 }, { NULL, FZ_PAGE + 1 },
	{ NULL, 2 * FZ_PAGE }, { NULL, 16 * FZ_PAGE }, { NULL, 0x200000 },
	{ NULL, 0x200000 + FZ_PAGE }, { NULL, 0x40000000 }, { NULL, 1ULL << 32 },
	{ "U64_MAX", U64_MAX }, { "TOP64", U64_MAX - FZ_PAGE + 1 }, { NULL, 1ULL << 63 },
	{ "MOCK_PAGE", 2048 }, { "ARENA_SIZE", FZ_ARENA_SIZE }, { NULL, FZ_ARENA_SIZE + FZ_PAGE },
	{ "MEMFD_SIZE", FZ_MEMFD_SIZE },
};
static const struct special u32_sp[] = {
	{ NULL, 0 }, { NULL, 1 }, { NULL, 2 }, { NULL, 3 }, { NULL, 4 }, { NULL, 7 }, { NULL, 8 },
	{ NULL, 16 }, { NULL, 24 }, { NULL, 32 }, { NULL, 40 }, { NULL, 0xff }, { NULL, 0x100 },
	{ NULL, 0xffff }, { NULL, 0x10000 }, { NULL, 0x7fffffff }, { NULL, 0x80000000 },
	{ NULL, 0xfffffffe }, { "U32_MAX", UINT32_MAX },
};
static const struct special u64_sp[] = {
	{ NULL, 0 }, { NULL, 1 }, { "PAGE", FZ_PAGE }, { "U32_MAX", UINT32_MAX },
	{ NULL, 1ULL << 32 }, { NULL, 1ULL << 63 }, { "U64_MAX", U64_MAX },
};
static const struct special pasid_sp[] = {
	{ NULL, 1 }, { NULL, 0 }, { NULL, 2 }, { NULL, 5 }, { NULL, 7 }, { NULL, 0xff },
	{ "TEST_RESERVED", 1024 }, { "PASID_MAX", (1u << 20) - 1 }, { "PASID_WIDTH", 1u << 20 },
	{ NULL, (1u << 20) + 1 }, { NULL, 1u << 31 }, { "U32_MAX", UINT32_MAX },
};

#define NC(a, u) { a, sizeof(a) / sizeof(a[0]), u }
static const struct num_class num_classes[FZ_P_KINDS] = {
	[FZ_P_IOVA] = NC(iova_sp, FZ_PAGE),
	[FZ_P_LEN] = NC(len_sp, FZ_PAGE),
	[FZ_P_U32] = NC(u32_sp, 1),
	[FZ_P_U64] = NC(u64_sp, 1),
	[FZ_P_PASID] = NC(pasid_sp, 1),
};

static uint64_t width_mask(unsigned int width)
{
	return width >= 8 ? U64_MAX : (1ULL << (8 * width)) - 1;
}

static uint64_t special_value(const struct fz_state *st, const struct special *s)
{
	return s->last_iova ? st->last_iova : s->value;
}

static void say_special(struct fz_state *st, const struct special *s, uint64_t v)
{
	if (s->name)
		say(st, "%s", s->name);
	else
		say(st, "0x%" PRIx64, v);
}

static uint64_t pick_num(struct fz_state *st, const struct fz_field *f)
{
	const struct num_class *c = &num_classes[f->pick];
	uint8_t s = rd8(st);
	uint64_t v;

	if (s < c->n) {
		v = special_value(st, &c->sp[s]);
		say_special(st, &c->sp[s], v);
	} else if (s == 0xfe) {
		const struct special *sp = &c->sp[rd8(st) % c->n];
		int8_t d = (int8_t)rd8(st);

		v = special_value(st, sp) + (uint64_t)(int64_t)d;
		if (sp->name)
			say(st, "%s%+d", sp->name, d);
		else
			say(st, "0x%" PRIx64 "%+d", special_value(st, sp), d);
	} else if (s == 0xff) {
		v = rdn(st, f->width);
		say(st, "0x%" PRIx64, v);
	} else {
		v = (uint64_t)(s - c->n) * c->unit;
		say(st, "0x%" PRIx64, v);
	}
	return v & width_mask(f->width);
}

/* ---- sizes and flags ------------------------------------------------------------------------ */

static const char *const size_names[] = {
	"sizeof", "min", "min-1", "sizeof+8", "sizeof+8!", "0", "4", "4096",
};
#define NSIZE (sizeof(size_names) / sizeof(size_names[0]))

static uint64_t pick_size(struct fz_state *st, const struct fz_field *f, uint8_t *arg)
{
	uint8_t s = rd8(st);
	uint32_t sz = (uint32_t)f->arg, min = f->arg2;

	switch (s < NSIZE ? s : (s == 0xff ? 0xff : 0)) {
	case 0: say(st, "sizeof"); return sz;
	case 1: say(st, "min"); return min;
	case 2: say(st, "min-1"); return min - 1;
	case 3: say(st, "sizeof+8"); return sz + 8;
	case 4: say(st, "sizeof+8!"); arg[sz] = 1; return sz + 8;
	case 5: say(st, "0"); return 0;
	case 6: say(st, "4"); return 4;
	case 7: say(st, "4096"); return FZ_ARG_MAX;
	default: {
		uint32_t v = (uint32_t)rdn(st, 4);

		say(st, "0x%x", v);
		return v;
	}
	}
}

/* Spread the bits of `bits` over the set bits of `known`, lowest first. */
static uint64_t spread(uint64_t bits, uint64_t known)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < 64 && bits; i++) {
		if (!(known & (1ULL << i)))
			continue;
		if (bits & 1)
			v |= 1ULL << i;
		bits >>= 1;
	}
	return v;
}

static uint64_t pick_flags(struct fz_state *st, const struct fz_field *f)
{
	uint8_t s = rd8(st);
	uint64_t v;

	if (s == 0xff) {
		v = rdn(st, f->width);
	} else if (s < 0x80) {
		v = spread(s, f->arg);
	} else {
		uint64_t unknown = ~f->arg & width_mask(f->width);

		v = spread(s & 0x3f, f->arg) | (unknown & -unknown);
	}
	v &= width_mask(f->width);
	say(st, "0x%" PRIx64, v);
	return v;
}

/* ID selectors 0xc0..0xdf are literals, 0xe0 + kind then k: the k-th live object of that kind */
#define ID_OF_KIND 0xe0

/* ---- object IDs and fds ---------------------------------------------------------------------- */

static const char *const id_kind_names[FZ_ID_KINDS] = {
	[FZ_ID_ANY] = "any", [FZ_ID_IOAS] = "ioas", [FZ_ID_HWPT] = "hwpt", [FZ_ID_DEV] = "dev",
	[FZ_ID_STDEV] = "stdev", [FZ_ID_FAULT] = "fault", [FZ_ID_ACCESS_PAGES] = "apages",
	[FZ_ID_VIOMMU] = "viommu",
};
static const char *const fd_kind_names[FZ_FD_KINDS] = {
	[FZ_FD_NONE] = "none", [FZ_FD_IOMMUFD] = "iommufd", [FZ_FD_CONTAINER] = "container",
	[FZ_FD_DEVICE] = "device", [FZ_FD_GROUP] = "group", [FZ_FD_FAULT] = "faultfd",
	[FZ_FD_ACCESS] = "access", [FZ_FD_ANY] = "fd",
};

/* The k-th (mod the count) ID matching; NULL if none. */
static struct fz_id *nth_id(struct fz_state *st, uint8_t kind, bool live, unsigned int k,
			    unsigned int *index)
{
	unsigned int n = 0, i;

	for (i = 0; i < st->nids; i++)
		if (st->ids[i].live == live && (kind == FZ_ID_ANY || st->ids[i].kind == kind))
			n++;
	if (!n)
		return NULL;
	k %= n;
	*index = k;
	for (i = 0; i < st->nids; i++)
		if (st->ids[i].live == live && (kind == FZ_ID_ANY || st->ids[i].kind == kind) &&
		    k-- == 0)
			return &st->ids[i];
	return NULL;
}

static uint64_t pick_id(struct fz_state *st, const struct fz_field *f)
{
	uint8_t s = rd8(st), kind = (uint8_t)f->arg;
	unsigned int k = 0;
	struct fz_id *id;
	uint32_t v;
	bool live = true;

	if (s >= ID_OF_KIND && s < ID_OF_KIND + FZ_ID_KINDS) {
		kind = (uint8_t)(s - ID_OF_KIND);   /* another kind's: the wrong type on purpose */
		s = rd8(st) & 0x3f;
	} else if (s >= 0x40 && s < 0xc0) {
		kind = FZ_ID_ANY;
		live = s < 0x80;
	} else if (s >= 0xc0) {
		v = s == 0xff ? (uint32_t)rdn(st, 4) : (uint32_t)(s - 0xc0);
		say(st, "%u", v);
		return v;
	}
	id = nth_id(st, kind, live, s & 0x3f, &k);
	v = id ? id->id : 0;
	say(st, "%s#%u(%u)", !live ? "dead" : id_kind_names[kind], k, v);
	return v;
}

static struct fz_fd *nth_fd(struct fz_state *st, uint8_t kind, bool open, unsigned int k,
			    unsigned int *index)
{
	unsigned int n = 0, i;

	for (i = 0; i < st->nfds; i++)
		if (st->fds[i].open == open && (kind == FZ_FD_ANY || st->fds[i].kind == kind))
			n++;
	if (!n)
		return NULL;
	k %= n;
	*index = k;
	for (i = 0; i < st->nfds; i++)
		if (st->fds[i].open == open && (kind == FZ_FD_ANY || st->fds[i].kind == kind) &&
		    k-- == 0)
			return &st->fds[i];
	return NULL;
}

#define FD_UNOPENED 1000
#define FD_OF_KIND 0xd0     /* then k: the k-th open fd of another kind */

static int64_t pick_fd(struct fz_state *st, uint8_t kind)
{
	uint8_t s = rd8(st);
	unsigned int k = 0;
	struct fz_fd *fd;
	int32_t v;

	if (s < 0x40 && kind == FZ_FD_NONE) {   /* a file to map: the memfd */
		say(st, "memfd");
		return st->be->memfd;
	}
	if (s < 0xc0) {
		uint8_t want = s < 0x40 ? kind : FZ_FD_ANY;
		bool open = s < 0x80;

		fd = nth_fd(st, want, open, s & 0x3f, &k);
		v = fd ? fd->fd : -1;
		say(st, "%s#%u(%d)", !open ? "closed" : fd_kind_names[want], k, v);
		return v;
	}
	if (s >= FD_OF_KIND && s < FD_OF_KIND + FZ_FD_KINDS) {
		uint8_t want = (uint8_t)(s - FD_OF_KIND);

		fd = nth_fd(st, want, true, rd8(st) & 0x3f, &k);
		v = fd ? fd->fd : -1;
		say(st, "%s#%u(%d)", fd_kind_names[want], k, v);
		return v;
	}
	switch (s) {
	case 0xc0: say(st, "-1"); return -1;
	case 0xc1: say(st, "stdin"); return 0;
	case 0xc2: say(st, "memfd"); return st->be->memfd;
	case 0xc3: say(st, "unopened"); return FD_UNOPENED;
	case 0xff: v = (int32_t)rdn(st, 4); say(st, "%d", v); return v;
	default: say(st, "-1"); return -1;
	}
}

/* ---- user pointers: relative to the arena ---------------------------------------------------- */

struct uva_special {
	const char *name;
	bool absolute;
	uint64_t value;      /* offset from the arena, or the address */
};

static const struct uva_special uva_sp[] = {
	{ "ARENA", false, 0 },
	{ "ARENA_HALF", false, FZ_ARENA_SIZE / 2 },
	{ "ARENA_LAST", false, FZ_ARENA_SIZE - FZ_PAGE },
	{ "RO", false, FZ_ARENA_SIZE },
	{ "GUARD", false, FZ_ARENA_SIZE + FZ_PAGE },
	{ "NULL", true, 0 },
	{ "LOW", true, FZ_PAGE },
	{ "KERNEL", true, 0xffff888000000000ULL },
	{ "TOP64", true, U64_MAX - FZ_PAGE + 1 },
};
#define NUVA (sizeof(uva_sp) / sizeof(uva_sp[0]))

uint64_t fz_uva_base(const struct fz_state *st)
{
	return (uint64_t)(uintptr_t)st->be->arena;
}

static uint64_t pick_uva(struct fz_state *st)
{
	uint8_t s = rd8(st);
	uint64_t off;

	if (s < NUVA) {
		say(st, "%s", uva_sp[s].name);
		return uva_sp[s].absolute ? uva_sp[s].value : fz_uva_base(st) + uva_sp[s].value;
	}
	off = s == 0xff ? rdn(st, 8) : (uint64_t)(s - NUVA) * FZ_PAGE;
	say(st, "ARENA+0x%" PRIx64, off);
	return fz_uva_base(st) + off;
}

/* ---- payloads: arrays built in the scratch area ---------------------------------------------- */

#define EF(n, s, m, p, a) { .name = n, .off = offsetof(s, m), .width = sizeof(((s *)0)->m), \
			    .pick = p, .arg = a }

struct fz_iova_range_ { uint64_t start, last; };
struct fz_vtd_s1_ { uint64_t flags, pgtbl_addr; uint32_t addr_width, reserved; };
struct fz_vtd_inv_ { uint64_t addr, npages; uint32_t flags, reserved; };

static const struct fz_field range_el[] = {
	EF("start", struct fz_iova_range_, start, FZ_P_IOVA, 0),
	EF("last", struct fz_iova_range_, last, FZ_P_IOVA, 0),
};
static const struct fz_field vtd_s1_el[] = {
	EF("flags", struct fz_vtd_s1_, flags, FZ_P_FLAGS, 7),
	EF("pgtbl", struct fz_vtd_s1_, pgtbl_addr, FZ_P_IOVA, 0),
	EF("width", struct fz_vtd_s1_, addr_width, FZ_P_U32, 0),
};
static const struct fz_field vtd_inv_el[] = {
	EF("addr", struct fz_vtd_inv_, addr, FZ_P_IOVA, 0),
	EF("npages", struct fz_vtd_inv_, npages, FZ_P_U64, 0),
	EF("flags", struct fz_vtd_inv_, flags, FZ_P_FLAGS, 1),
	EF("res", struct fz_vtd_inv_, reserved, FZ_P_U32, 0),
};

struct payload_kind {
	const struct fz_field *el;
	unsigned int nel;
	size_t el_size;
	unsigned int max;    /* elements; 1: a single struct */
};

static const struct payload_kind payloads[FZ_P_KINDS] = {
	[FZ_P_RANGES] = { range_el, 2, sizeof(struct fz_iova_range_), 7 },
	[FZ_P_VTD_S1] = { vtd_s1_el, 3, sizeof(struct fz_vtd_s1_), 1 },
	[FZ_P_VTD_INV] = { vtd_inv_el, 4, sizeof(struct fz_vtd_inv_), 7 },
};

static uint64_t pick_value(struct fz_state *st, const struct fz_field *f, uint8_t *arg);

static void store(uint8_t *p, unsigned int width, uint64_t v)
{
	switch (width) {
	case 1: *p = (uint8_t)v; break;
	case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
	default: memcpy(p, &v, 8); break;
	}
}

static uint64_t load(const uint8_t *p, unsigned int width)
{
	uint64_t v = 0;

	switch (width) {
	case 1: v = *p; break;
	case 2: { uint16_t x; memcpy(&x, p, 2); v = x; break; }
	case 4: { uint32_t x; memcpy(&x, p, 4); v = x; break; }
	default: memcpy(&v, p, 8); break;
	}
	return v;
}

static uint64_t pick_payload(struct fz_state *st, const struct fz_field *f)
{
	const struct payload_kind *pk = &payloads[f->pick];
	uint8_t s = rd8(st);
	unsigned int n;
	uint8_t *base;

	if (s == 0xff) {
		say(st, "NULL");
		return 0;
	}
	if (s == 0xfe) {
		say(st, "GUARD");
		return fz_uva_base(st) + FZ_ARENA_SIZE + FZ_PAGE;
	}
	n = pk->max == 1 ? 1 : s % (pk->max + 1);
	if (st->payload_used + n * pk->el_size > FZ_ARG_MAX)
		n = 0;
	base = st->payload + st->payload_used;
	memset(base, 0, n * pk->el_size);
	st->payload_used += n * pk->el_size;
	say(st, "[");
	for (unsigned int i = 0; i < n; i++) {
		say(st, "%s", i ? "," : "");
		for (unsigned int j = 0; j < pk->nel; j++) {
			say(st, "%s", j ? "/" : "");
			pick_value(st, &pk->el[j], base + i * pk->el_size);
		}
	}
	say(st, "]");
	return (uint64_t)(uintptr_t)base;
}

static const char *const dev_names[] = {
	"0000:00:02.0", "0000:00:04.0", "0000:00:17.0", "0000:01:00.0", "0000:01:00.1",
	"0000:02:01.0", "0000:02:02.0", "0000:80:00.0", "mdev0", "", "bogus",
	"0000:00:02.0-with-a-name-longer-than-any-buffer-there-is",
};
#define NDEVNAMES (sizeof(dev_names) / sizeof(dev_names[0]))

static uint64_t pick_devname(struct fz_state *st)
{
	uint8_t s = rd8(st);
	const char *name;
	size_t len;

	if (s == 0xff) {
		say(st, "NULL");
		return 0;
	}
	if (s == 0xfe) {
		say(st, "GUARD");
		return fz_uva_base(st) + FZ_ARENA_SIZE + FZ_PAGE;
	}
	name = dev_names[s % NDEVNAMES];
	len = strlen(name) + 1;
	if (st->payload_used + len > FZ_ARG_MAX)
		return 0;
	memcpy(st->payload + st->payload_used, name, len);
	st->payload_used += len;
	say(st, "\"%s\"", name);
	return (uint64_t)(uintptr_t)(st->payload + st->payload_used - len);
}

static uint64_t pick_cookie(struct fz_state *st)
{
	uint8_t s = rd8(st);
	uint64_t v;

	if (s == 0xff) {
		v = rdn(st, 8);
		say(st, "0x%" PRIx64, v);
		return v;
	}
	if (!st->ncookies) {
		say(st, "cookie#0(0)");
		return 0;
	}
	v = st->cookies[s % st->ncookies];
	say(st, "cookie#%u(%" PRIu64 ")", s % st->ncookies, v);
	return v;
}

/* Pick one field's value, store it into the argument block, return it. */
static uint64_t pick_value(struct fz_state *st, const struct fz_field *f, uint8_t *arg)
{
	uint64_t v;

	switch (f->pick) {
	case FZ_P_SIZE: v = pick_size(st, f, arg); break;
	case FZ_P_FLAGS: v = pick_flags(st, f); break;
	case FZ_P_ID: v = pick_id(st, f); break;
	case FZ_P_FD: v = (uint64_t)pick_fd(st, (uint8_t)f->arg); break;
	case FZ_P_UVA: v = pick_uva(st); break;
	case FZ_P_RANGES:
	case FZ_P_VTD_S1:
	case FZ_P_VTD_INV: v = pick_payload(st, f); break;
	case FZ_P_DEVNAME: v = pick_devname(st); break;
	case FZ_P_COOKIE: v = pick_cookie(st); break;
	default: v = pick_num(st, f); break;
	}
	store(arg + f->off, f->width, v);
	return v;
}

/* The same, as "name=value" in the text form; outputs and constants take no input. */
static uint64_t pick_field(struct fz_state *st, const struct fz_field *f, uint8_t *arg)
{
	if (f->pick == FZ_P_OUT || f->pick == FZ_P_CONST) {
		uint64_t v = f->pick == FZ_P_CONST ? f->arg : 0;

		store(arg + f->off, f->width, v);
		return v;
	}
	say(st, " %s=", f->name);
	return pick_value(st, f, arg);
}

/* ---- recording results ----------------------------------------------------------------------- */

/* IDs are keyed by value alone: the same number in two contexts is one entry (the fuzzer
 * mixes contexts on purpose; "the k-th IOAS" stays stable whichever fd reported it). */
static void add_id(struct fz_state *st, uint32_t id, uint8_t kind, int ctx_fd)
{
	if (!id)
		return;
	for (unsigned int i = 0; i < st->nids; i++)
		if (st->ids[i].id == id && st->ids[i].live)
			return;
	if (st->nids < FZ_MAX_IDS)
		st->ids[st->nids++] = (struct fz_id){ .id = id, .kind = kind, .live = true,
						      .ctx_fd = ctx_fd };
}

static void add_fd(struct fz_state *st, int fd, uint8_t kind)
{
	for (unsigned int i = 0; i < st->nfds; i++)
		if (st->fds[i].fd == fd && st->fds[i].open)
			st->fds[i].open = false;   /* the number was reused behind our back */
	if (st->nfds < FZ_MAX_FDS) {
		st->fds[st->nfds++] = (struct fz_fd){ .fd = fd, .kind = kind, .open = true };
	} else {
		/* the table is full: the fd is still closed at the end */
		for (unsigned int i = 0; i < st->nfds; i++)
			if (!st->fds[i].open) {
				st->fds[i] = (struct fz_fd){ .fd = fd, .kind = kind, .open = true };
				return;
			}
		st->be->close(st->be->data, fd);
	}
}

void fz_record_fd(struct fz_state *st, int fd, uint8_t kind)
{
	add_fd(st, fd, kind);
}

void fz_mark_closed(struct fz_state *st, int fd)
{
	for (unsigned int i = 0; i < st->nfds; i++)
		if (st->fds[i].fd == fd && st->fds[i].open) {
			st->fds[i].open = false;
			return;
		}
}

void fz_mark_destroyed(struct fz_state *st, uint32_t id, int ctx_fd)
{
	for (unsigned int i = 0; i < st->nids; i++)
		if (st->ids[i].id == id && st->ids[i].live)
			st->ids[i].live = false;
}

void fz_record_cookie(struct fz_state *st, uint64_t cookie)
{
	if (st->ncookies < FZ_MAX_COOKIES)
		st->cookies[st->ncookies++] = cookie;
	else
		st->cookies[cookie % FZ_MAX_COOKIES] = cookie;
}

uint8_t fz_fd_kind_of(const struct fz_state *st, int fd)
{
	for (unsigned int i = 0; i < st->nfds; i++)
		if (st->fds[i].fd == fd && st->fds[i].open)
			return st->fds[i].kind;
	return FZ_FD_NONE;
}

static void record_out(struct fz_state *st, uint8_t out, uint32_t kind, uint64_t v, int fd)
{
	switch (out) {
	case FZ_OUT_ID: add_id(st, (uint32_t)v, (uint8_t)kind, fd); break;
	case FZ_OUT_FD: add_fd(st, (int)(int32_t)v, (uint8_t)kind); break;
	case FZ_OUT_IOVA: st->last_iova = v; break;
	default: break;
	}
}

/* ---- errno names (the transcript compares them, not numbers) --------------------------------- */

const char *fz_errname(int err)
{
	static __thread char buf[16];

	switch (err) {
	case 0: return "0";
#define E(x) case x: return #x
	E(EPERM); E(ENOENT); E(ESRCH); E(EINTR); E(EIO); E(ENXIO); E(E2BIG); E(EBADF);
	E(EAGAIN); E(ENOMEM); E(EACCES); E(EFAULT); E(EBUSY); E(EEXIST); E(ENODEV);
	E(ENOTDIR); E(EISDIR); E(EINVAL); E(ENFILE); E(EMFILE); E(ENOTTY); E(EFBIG);
	E(ENOSPC); E(ESPIPE); E(EROFS); E(ERANGE); E(EOVERFLOW); E(EBADFD); E(EMSGSIZE);
	E(EOPNOTSUPP); E(EADDRINUSE); E(EDOM); E(ENOSYS); E(ETIMEDOUT); E(ENODATA);
#undef E
	default:
		snprintf(buf, sizeof(buf), "%d", err);
		return buf;
	}
}

/* ---- the run --------------------------------------------------------------------------------- */

static void trace_result(struct fz_state *st, const struct fz_call *call, long rc,
			 const uint8_t *arg)
{
	if (!st->trace)
		return;
	if (st->compact) {
		fprintf(st->trace, "%s: %ld %s\n", call->name, rc < 0 ? -1 : rc,
			fz_errname(rc < 0 ? (int)-rc : 0));
		return;
	}
	say(st, " => %ld %s", rc < 0 ? -1 : rc, fz_errname(rc < 0 ? (int)-rc : 0));
	if (rc >= 0)
		for (unsigned int i = 0; i < call->nfields; i++) {
			const struct fz_field *f = &call->fields[i];

			if (!f->out)
				continue;
			if (f->width == 8)
				say(st, " %s=0x%" PRIx64, f->name, load(arg + f->off, f->width));
			else
				say(st, " %s=%" PRIu64, f->name, load(arg + f->off, f->width));
		}
	fprintf(st->trace, "%s\n", st->line);
}

static void run_one(struct fz_state *st, const struct fz_call *call, uint8_t *arg)
{
	int64_t fd = -1;
	long rc;

	memset(arg, 0, FZ_ARG_MAX);
	st->payload_used = 0;
	st->line_len = 0;
	say(st, "%s", call->name);
	if (call->target != FZ_FD_NONE) {
		say(st, " fd=");
		fd = pick_fd(st, call->target);
	}
	for (unsigned int i = 0; i < call->nfields; i++)
		pick_field(st, &call->fields[i], arg);
	if (st->before_call)
		st->before_call(st, st->ncalls);
	if (call->exec)
		rc = call->exec(st, call, (int)fd, arg);
	else
		rc = st->be->ioctl(st->be->data, (int)fd, call->cmd, arg);
	if (st->after_call)
		st->after_call(st, call, rc);
	if (rc >= 0) {
		for (unsigned int i = 0; i < call->nfields; i++) {
			const struct fz_field *f = &call->fields[i];

			if (f->out)
				record_out(st, f->out, f->out_kind, load(arg + f->off, f->width),
					   (int)fd);
		}
		if (call->ret)
			record_out(st, call->ret, call->ret_kind, (uint64_t)rc, (int)fd);
	}
	trace_result(st, call, rc, arg);
}

unsigned int fz_run(struct fz_state *st, const struct fz_backend *be, const uint8_t *in,
		    size_t len, FILE *trace)
{
	/* The argument block is the arena's last FZ_ARG_MAX bytes: a size beyond it reads the
	 * read-only zero page and then the PROT_NONE page, EFAULT the same way in every run. */
	static __thread uint8_t scratch[FZ_ARG_MAX];
	uint8_t *arg = be->arena + FZ_ARENA_SIZE - FZ_ARG_MAX;
	void (*before_call)(struct fz_state *, unsigned int) = st->before_call;
	void (*after_call)(struct fz_state *, const struct fz_call *, long) = st->after_call;

	bool compact = st->compact;

	memset(st, 0, sizeof(*st));
	st->compact = compact;
	st->before_call = before_call;
	st->after_call = after_call;
	st->in = in;
	st->len = len;
	st->be = be;
	st->trace = trace;
	st->payload = scratch;
	st->last_iova = 0x100000;
	while (st->pos < st->len && st->ncalls < FZ_MAX_CALLS) {
		const struct fz_call *call = &fz_calls[rd8(st) % fz_ncalls];

		run_one(st, call, arg);
		st->ncalls++;
	}
	if (st->before_call)
		st->before_call(st, FZ_TEARDOWN);
	for (unsigned int i = 0; i < st->nfds; i++)
		if (st->fds[i].open) {
			st->fds[i].open = false;
			be->close(be->data, st->fds[i].fd);
		}
	return st->ncalls;
}

uint8_t *fz_arena_map(void)
{
	size_t total = FZ_ARENA_SIZE + 2 * FZ_PAGE, align = 2ULL << 20;
	uint8_t *raw, *arena;

	/* 2 MiB-aligned so that maps of it can use 2 MiB leaves */
	raw = mmap(NULL, total + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	arena = (uint8_t *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
	if (mprotect(arena + FZ_ARENA_SIZE, FZ_PAGE, PROT_READ) ||
	    mprotect(arena + FZ_ARENA_SIZE + FZ_PAGE, FZ_PAGE, PROT_NONE))
		return NULL;
	return arena;
}

void fz_arena_reset(uint8_t *arena)
{
	/* zero pages again (the next touch faults in a fresh zero page): guest page tables and
	 * DMA results of one input never reach the next */
	madvise(arena, FZ_ARENA_SIZE, MADV_DONTNEED);
}

/* ---- the assembler --------------------------------------------------------------------------- */

struct asm_buf {
	uint8_t *b;
	size_t n, cap;
	bool oom;
};

static void emit(struct asm_buf *a, uint8_t v)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		uint8_t *nb = realloc(a->b, cap);

		if (!nb) {
			a->oom = true;
			return;
		}
		a->b = nb;
		a->cap = cap;
	}
	a->b[a->n++] = v;
}

static void emitn(struct asm_buf *a, uint64_t v, unsigned int width)
{
	for (unsigned int i = 0; i < width; i++)
		emit(a, (uint8_t)(v >> (8 * i)));
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	if (*s == '-')
		*out = (uint64_t)strtoll(s, &end, 0);
	else
		*out = strtoull(s, &end, 0);
	return !errno && *end == 0;
}

/* "name#3(17)" → "name", 3; false if not that shape. */
static bool parse_slot(const char *s, char *name, size_t namelen, unsigned int *k)
{
	const char *hash = strchr(s, '#');
	size_t n;

	if (!hash)
		return false;
	n = (size_t)(hash - s);
	if (n >= namelen)
		return false;
	memcpy(name, s, n);
	name[n] = 0;
	*k = (unsigned int)strtoul(hash + 1, NULL, 10);
	return *k < 0x40;
}

static int asm_num(struct asm_buf *a, const struct fz_field *f, const char *v)
{
	const struct num_class *c = &num_classes[f->pick];
	uint64_t x;
	char name[32];
	const char *sign;

	for (unsigned int i = 0; i < c->n; i++)
		if (c->sp[i].name && !strcmp(v, c->sp[i].name)) {
			emit(a, (uint8_t)i);
			return 0;
		}
	/* NAME+d / NAME-d (a named special plus a small delta) */
	sign = strpbrk(v, "+-");
	if (sign && sign != v && (size_t)(sign - v) < sizeof(name)) {
		memcpy(name, v, (size_t)(sign - v));
		name[sign - v] = 0;
		for (unsigned int i = 0; i < c->n; i++)
			if (c->sp[i].name && !strcmp(name, c->sp[i].name)) {
				long d = strtol(sign, NULL, 0);

				if (d < -128 || d > 127)
					return -EINVAL;
				emit(a, 0xfe);
				emit(a, (uint8_t)i);
				emit(a, (uint8_t)(int8_t)d);
				return 0;
			}
	}
	if (!parse_u64(v, &x))
		return -EINVAL;
	x &= width_mask(f->width);
	for (unsigned int i = 0; i < c->n; i++)
		if (!c->sp[i].last_iova && (c->sp[i].value & width_mask(f->width)) == x) {
			emit(a, (uint8_t)i);
			return 0;
		}
	if (x % c->unit == 0 && x / c->unit < 0xfe - c->n) {
		emit(a, (uint8_t)(c->n + x / c->unit));
		return 0;
	}
	emit(a, 0xff);
	emitn(a, x, f->width);
	return 0;
}

static int asm_field(struct asm_buf *a, const struct fz_field *f, const char *v);

static int asm_payload(struct asm_buf *a, const struct fz_field *f, const char *v)
{
	const struct payload_kind *pk = &payloads[f->pick];
	char buf[1024], *el, *save = NULL;
	unsigned int n = 0;
	size_t count_at;
	int rc;

	if (!strcmp(v, "NULL")) {
		emit(a, 0xff);
		return 0;
	}
	if (!strcmp(v, "GUARD")) {
		emit(a, 0xfe);
		return 0;
	}
	if (v[0] != '[' || v[strlen(v) - 1] != ']' || strlen(v) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%.*s", (int)strlen(v) - 2, v + 1);
	count_at = a->n;
	emit(a, 0);
	for (el = strtok_r(buf, ",", &save); el; el = strtok_r(NULL, ",", &save)) {
		char *sub, *save2 = NULL;
		unsigned int j = 0;

		for (sub = strtok_r(el, "/", &save2); sub; sub = strtok_r(NULL, "/", &save2)) {
			if (j >= pk->nel)
				return -EINVAL;
			rc = asm_field(a, &pk->el[j++], sub);
			if (rc)
				return rc;
		}
		if (j != pk->nel)
			return -EINVAL;
		n++;
	}
	if (n > pk->max || (pk->max == 1 && n != 1))
		return -EINVAL;
	if (!a->oom)
		a->b[count_at] = (uint8_t)n;
	return 0;
}

static int asm_field(struct asm_buf *a, const struct fz_field *f, const char *v)
{
	char name[32];
	unsigned int k;
	uint64_t x;

	switch (f->pick) {
	case FZ_P_SIZE:
		for (unsigned int i = 0; i < NSIZE; i++)
			if (!strcmp(v, size_names[i])) {
				emit(a, (uint8_t)i);
				return 0;
			}
		if (!parse_u64(v, &x))
			return -EINVAL;
		emit(a, 0xff);
		emitn(a, x, 4);
		return 0;
	case FZ_P_FLAGS:
		if (!parse_u64(v, &x))
			return -EINVAL;
		for (unsigned int s = 0; s < 0xc0; s++) {
			uint64_t unknown = ~f->arg & width_mask(f->width);
			uint64_t d = s < 0x80 ? spread(s, f->arg)
					      : spread(s & 0x3f, f->arg) | (unknown & -unknown);

			if ((d & width_mask(f->width)) == x) {
				emit(a, (uint8_t)s);
				return 0;
			}
		}
		emit(a, 0xff);
		emitn(a, x, f->width);
		return 0;
	case FZ_P_ID:
		if (parse_slot(v, name, sizeof(name), &k)) {
			if (!strcmp(name, "dead")) {
				emit(a, (uint8_t)(0x80 | k));
				return 0;
			}
			if (!strcmp(name, id_kind_names[f->arg])) {
				emit(a, (uint8_t)k);
				return 0;
			}
			if (!strcmp(name, "any")) {
				emit(a, (uint8_t)(0x40 | k));
				return 0;
			}
			for (unsigned int i = 0; i < FZ_ID_KINDS; i++)
				if (!strcmp(name, id_kind_names[i])) {
					emit(a, (uint8_t)(ID_OF_KIND + i));
					emit(a, (uint8_t)k);
					return 0;
				}
			return -EINVAL;
		}
		if (!parse_u64(v, &x))
			return -EINVAL;
		if (x < ID_OF_KIND - 0xc0) {
			emit(a, (uint8_t)(0xc0 + x));
		} else {
			emit(a, 0xff);
			emitn(a, x, 4);
		}
		return 0;
	case FZ_P_FD:
		if (parse_slot(v, name, sizeof(name), &k)) {
			if (!strcmp(name, "closed")) {
				emit(a, (uint8_t)(0x80 | k));
				return 0;
			}
			if (!strcmp(name, "fd")) {
				emit(a, (uint8_t)(0x40 | k));
				return 0;
			}
			if (!strcmp(name, fd_kind_names[f->arg])) {
				emit(a, (uint8_t)k);
				return 0;
			}
			for (unsigned int i = 0; i < FZ_FD_KINDS; i++)
				if (!strcmp(name, fd_kind_names[i])) {
					emit(a, (uint8_t)(FD_OF_KIND + i));
					emit(a, (uint8_t)k);
					return 0;
				}
			return -EINVAL;
		}
		if (!strcmp(v, "-1")) { emit(a, 0xc0); return 0; }
		if (!strcmp(v, "stdin")) { emit(a, 0xc1); return 0; }
		if (!strcmp(v, "memfd")) { emit(a, 0xc2); return 0; }
		if (!strcmp(v, "unopened")) { emit(a, 0xc3); return 0; }
		if (!parse_u64(v, &x))
			return -EINVAL;
		emit(a, 0xff);
		emitn(a, x, 4);
		return 0;
	case FZ_P_UVA:
		for (unsigned int i = 0; i < NUVA; i++)
			if (!strcmp(v, uva_sp[i].name)) {
				emit(a, (uint8_t)i);
				return 0;
			}
		if (strncmp(v, "ARENA+", 6) || !parse_u64(v + 6, &x))
			return -EINVAL;
		if (x % FZ_PAGE == 0 && x / FZ_PAGE < 0xff - NUVA) {
			emit(a, (uint8_t)(NUVA + x / FZ_PAGE));
		} else {
			emit(a, 0xff);
			emitn(a, x, 8);
		}
		return 0;
	case FZ_P_RANGES:
	case FZ_P_VTD_S1:
	case FZ_P_VTD_INV:
		return asm_payload(a, f, v);
	case FZ_P_DEVNAME:
		if (!strcmp(v, "NULL")) { emit(a, 0xff); return 0; }
		if (!strcmp(v, "GUARD")) { emit(a, 0xfe); return 0; }
		for (unsigned int i = 0; i < NDEVNAMES; i++) {
			size_t n = strlen(dev_names[i]);

			if (strlen(v) == n + 2 && v[0] == '"' && !strncmp(v + 1, dev_names[i], n)) {
				emit(a, (uint8_t)i);
				return 0;
			}
		}
		return -EINVAL;
	case FZ_P_COOKIE:
		if (parse_slot(v, name, sizeof(name), &k) && !strcmp(name, "cookie")) {
			emit(a, (uint8_t)k);
			return 0;
		}
		if (!parse_u64(v, &x))
			return -EINVAL;
		emit(a, 0xff);
		emitn(a, x, 8);
		return 0;
	default:
		return asm_num(a, f, v);
	}
}

/* Strip a trailing "(resolved)" that the text form adds to slot references. */
static void strip_resolved(char *v)
{
	size_t n = strlen(v);

	if (n && v[n - 1] == ')') {
		char *open = strrchr(v, '(');

		if (open && open > v && open[-1] != '[')
			*open = 0;
	}
}

static int asm_line(struct asm_buf *a, char *line, char *err, size_t errlen)
{
	char *save = NULL, *tok, *arrow = strstr(line, "=>");
	const struct fz_call *call = NULL;
	unsigned int next = 0;
	bool fd_done;

	if (arrow)
		*arrow = 0;
	tok = strtok_r(line, " \t", &save);
	if (!tok)
		return 0;
	for (unsigned int i = 0; i < fz_ncalls; i++)
		if (!strcmp(fz_calls[i].name, tok)) {
			call = &fz_calls[i];
			emit(a, (uint8_t)i);
			break;
		}
	if (!call) {
		snprintf(err, errlen, "unknown call \"%s\": the names are those of fz_calls[] in "
			 "tests/fuzz/calls.c", tok);
		return -EINVAL;
	}
	fd_done = call->target == FZ_FD_NONE;
	/* fields in table order; each one given (a missing one is an error: seeds say it all) */
	while ((tok = strtok_r(NULL, " \t", &save))) {
		char *eq = strchr(tok, '=');
		const struct fz_field *f = NULL;
		struct fz_field fdf = { .name = "fd", .pick = FZ_P_FD, .arg = call->target,
					.width = 4 };

		if (!eq) {
			snprintf(err, errlen, "%s: \"%s\" is not field=value", call->name, tok);
			return -EINVAL;
		}
		*eq = 0;
		strip_resolved(eq + 1);
		if (!fd_done) {
			if (strcmp(tok, "fd")) {
				snprintf(err, errlen, "%s: the first field is fd=, got %s=",
					 call->name, tok);
				return -EINVAL;
			}
			fd_done = true;
			f = &fdf;
		} else {
			while (next < call->nfields && (call->fields[next].pick == FZ_P_OUT ||
							call->fields[next].pick == FZ_P_CONST))
				next++;
			if (next >= call->nfields || strcmp(call->fields[next].name, tok)) {
				snprintf(err, errlen, "%s: field %s= is not the next one (expected "
					 "%s=)", call->name, tok, next < call->nfields ?
					 call->fields[next].name : "nothing more");
				return -EINVAL;
			}
			f = &call->fields[next++];
		}
		if (asm_field(a, f, eq + 1)) {
			snprintf(err, errlen, "%s: %s=%s is not a value of its class", call->name,
				 tok, eq + 1);
			return -EINVAL;
		}
	}
	while (next < call->nfields && (call->fields[next].pick == FZ_P_OUT ||
					call->fields[next].pick == FZ_P_CONST))
		next++;
	if (!fd_done || next != call->nfields) {
		snprintf(err, errlen, "%s: missing %s=", call->name,
			 !fd_done ? "fd" : call->fields[next].name);
		return -EINVAL;
	}
	return 0;
}

int fz_asm(const char *text, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	struct asm_buf a = { 0 };
	char *copy = strdup(text), *line, *next;
	unsigned int lineno = 0;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	err[0] = 0;
	for (line = copy; line; line = next) {
		char *hash, msg[256];

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		hash = strchr(line, '#');
		lineno++;
		/* a comment starts with '#' at the line start or after a blank */
		while (hash && hash != line && !isspace((unsigned char)hash[-1]))
			hash = strchr(hash + 1, '#');
		if (hash)
			*hash = 0;
		rc = asm_line(&a, line, msg, sizeof(msg));
		if (rc) {
			snprintf(err, errlen, "line %u: %s", lineno, msg);
			break;
		}
	}
	free(copy);
	if (!rc && a.oom)
		rc = -ENOMEM;
	if (rc) {
		free(a.b);
		return rc;
	}
	*out = a.b;
	*outlen = a.n;
	return 0;
}
