/* topology.c — the topology file format: parser, canonical writer, content hash, lookups.
 *
 * Owns: plat_topology objects made by parsing (the built-in host is topology_default.c) and
 * the canonical text form. The hash is taken over the canonical form, so two topologies hash
 * equal exactly when they describe the same host: comments, spacing, key order and
 * re-declared built-in drivers make no difference; the order of declarations does (it fixes
 * the indexes every process sharing a host must agree on).
 *
 * Parsing (format in docs/TOPOLOGY.md) is all-or-nothing into one calloc'd topology: line by
 * line (bytes, words, keys, ranges, references to objects declared above), then whole-host
 * checks (every group has a device, there is a device at all). Any error frees the topology and
 * leaves "SOURCE:LINE: message" in err. Hostile input is checked before it is used: the text
 * size, each line's bytes (NUL, control characters) and length, the word count, each name's
 * length and characters, every number for syntax and overflow, and each table's PLAT_MAX_*
 * bound before an object is added. Names in messages are shortened so that a message stays one
 * readable line whatever the input.
 *
 * No global state: every function is reentrant.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/platform.h"
#include "platform/platform_ext.h"

#define PG_4K 0x1000ull
#define PG_2M 0x200000ull
#define PG_1G 0x40000000ull

#define NAME_CHARS_DEVICE "_.:-"   /* BDFs and mdev names */
#define NAME_CHARS_OTHER  "_.-"

/* ---- enum words ------------------------------------------------------------------------ */

static const struct {
	const char *word;
	enum plat_iommu_type type;
} iommu_types[] = {
	{ "vtd", PLAT_IOMMU_INTEL_VTD },
	{ "smmuv3", PLAT_IOMMU_ARM_SMMUV3 },
	{ "amd", PLAT_IOMMU_AMD },
};

static const struct {
	const char *word;
	enum plat_driver_kind kind;
} driver_kinds[] = {
	{ "user", PLAT_DRV_USER },
	{ "dma-api", PLAT_DRV_DMA_API },
	{ "managed", PLAT_DRV_MANAGED },
};

/* Known to every host without a declaration (drivers/vfio/pci, drivers/pci/pci-stub.c). */
static const struct plat_driver builtin_drivers[] = {
	{ "vfio-pci", PLAT_DRV_USER },
	{ "pci-stub", PLAT_DRV_MANAGED },
};

const char *plat_iommu_type_name(enum plat_iommu_type type)
{
	for (size_t i = 0; i < sizeof(iommu_types) / sizeof(iommu_types[0]); i++)
		if (iommu_types[i].type == type)
			return iommu_types[i].word;
	return "?";
}

const char *plat_driver_kind_name(enum plat_driver_kind kind)
{
	for (size_t i = 0; i < sizeof(driver_kinds) / sizeof(driver_kinds[0]); i++)
		if (driver_kinds[i].kind == kind)
			return driver_kinds[i].word;
	return "?";
}

const char *plat_domain_name(enum plat_group_domain d)
{
	switch (d) {
	case PLAT_DOMAIN_DEFAULT: return "default";
	case PLAT_DOMAIN_BLOCKED: return "blocked";
	case PLAT_DOMAIN_USER: return "user";
	}
	return "?";
}

/* ---- canonical text form and hash ------------------------------------------------------ */

typedef void topo_emit_fn(void *arg, const char *line, size_t len);

/* A bounded line builder: appends never overflow; `len` is what fits. */
struct linebuf {
	char s[512];
	size_t len;
};

static void lb_add(struct linebuf *lb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lb_add(struct linebuf *lb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (lb->len >= sizeof(lb->s) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(lb->s + lb->len, sizeof(lb->s) - lb->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		lb->len += (size_t)n < sizeof(lb->s) - lb->len ? (size_t)n
							      : sizeof(lb->s) - 1 - lb->len;
}

static void lb_emit(struct linebuf *lb, topo_emit_fn *emit, void *arg)
{
	lb_add(lb, "\n");
	emit(arg, lb->s, lb->len);
	lb->len = 0;
	lb->s[0] = '\0';
}

static void pgsizes_add(struct linebuf *lb, uint64_t bitmap)
{
	static const struct { uint64_t bit; const char *word; } sizes[] = {
		{ PG_4K, "4k" }, { PG_2M, "2m" }, { PG_1G, "1g" },
	};
	const char *sep = "";

	lb_add(lb, " pgsizes=");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (bitmap & sizes[i].bit) {
			lb_add(lb, "%s%s", sep, sizes[i].word);
			sep = ",";
		}
	}
	bitmap &= ~(PG_4K | PG_2M | PG_1G);
	/* Only a topology built in C can carry other sizes; keep them in the hash. */
	if (bitmap)
		lb_add(lb, "%s0x%llx", sep, (unsigned long long)bitmap);
}

/* Every object in index order: iommus, drivers (built-in ones too), groups, devices. */
static void topo_canonical(const struct plat_topology *t, topo_emit_fn *emit, void *arg)
{
	struct linebuf lb = { .len = 0 };

	for (uint32_t i = 0; i < t->nr_iommus && i < PLAT_MAX_IOMMUS; i++) {
		const struct plat_iommu *m = &t->iommus[i];

		lb_add(&lb, "iommu %.*s type=%s", PLAT_NAME_MAX, m->name,
		       plat_iommu_type_name(m->type));
		pgsizes_add(&lb, m->pgsize_bitmap);
		lb_add(&lb, " ias=%u", m->ias_bits);
		if (m->pasid_bits)
			lb_add(&lb, " pasid=%u", m->pasid_bits);
		if (m->nesting)
			lb_add(&lb, " nesting");
		if (m->dirty_tracking)
			lb_add(&lb, " dirty");
		if (m->iopf)
			lb_add(&lb, " iopf");
		if (m->coherent)
			lb_add(&lb, " coherent");
		if (m->vtd_cap)
			lb_add(&lb, " cap=0x%llx", (unsigned long long)m->vtd_cap);
		if (m->vtd_ecap)
			lb_add(&lb, " ecap=0x%llx", (unsigned long long)m->vtd_ecap);
		for (uint32_t r = 0; r < m->nr_resv && r < PLAT_MAX_RESV; r++)
			lb_add(&lb, " resv=0x%llx-0x%llx%s", (unsigned long long)m->resv[r].start,
			       (unsigned long long)m->resv[r].last, m->resv[r].sw_msi ? ":msi" : "");
		lb_emit(&lb, emit, arg);
	}
	for (uint32_t i = 0; i < t->nr_drivers && i < PLAT_MAX_DRIVERS; i++) {
		lb_add(&lb, "driver %.*s kind=%s", PLAT_NAME_MAX, t->drivers[i].name,
		       plat_driver_kind_name(t->drivers[i].kind));
		lb_emit(&lb, emit, arg);
	}
	for (uint32_t i = 0; i < t->nr_groups && i < PLAT_MAX_GROUPS; i++) {
		const struct plat_group *g = &t->groups[i];

		lb_add(&lb, "group %u iommu=%.*s", g->id, PLAT_NAME_MAX,
		       g->iommu < t->nr_iommus ? t->iommus[g->iommu].name : "?");
		if (!g->isolated_msi)
			lb_add(&lb, " no-msi-isolation");
		lb_emit(&lb, emit, arg);
	}
	for (uint32_t i = 0; i < t->nr_devices && i < PLAT_MAX_DEVICES; i++) {
		const struct plat_device *d = &t->devices[i];

		lb_add(&lb, "device %.*s group=", PLAT_NAME_MAX, d->name);
		if (d->group < t->nr_groups)
			lb_add(&lb, "%u", t->groups[d->group].id);
		else
			lb_add(&lb, "?");
		lb_add(&lb, " vfio=%u", d->vfio_index);
		if (d->driver >= 0 && (uint32_t)d->driver < t->nr_drivers)
			lb_add(&lb, " driver=%.*s", PLAT_NAME_MAX, t->drivers[d->driver].name);
		if (d->pasid_bits)
			lb_add(&lb, " pasid=%u", d->pasid_bits);
		if (d->ats)
			lb_add(&lb, " ats");
		if (d->pri)
			lb_add(&lb, " pri");
		if (d->enqcmd)
			lb_add(&lb, " enqcmd");
		if (d->sw_table)
			lb_add(&lb, " sw-table");
		if (d->is_vf)
			lb_add(&lb, " vf");
		lb_emit(&lb, emit, arg);
	}
}

static void hash_emit(void *arg, const char *line, size_t len)
{
	uint64_t *h = arg;

	for (size_t i = 0; i < len; i++) {
		*h ^= (unsigned char)line[i];
		*h *= 0x100000001b3ull;            /* FNV-1a 64 prime */
	}
}

uint64_t plat_topology_hash(const struct plat_topology *t)
{
	uint64_t h = 0xcbf29ce484222325ull;        /* FNV-1a 64 offset basis */

	topo_canonical(t, hash_emit, &h);
	return h;
}

struct strbuf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void strbuf_emit(void *arg, const char *line, size_t len)
{
	struct strbuf *sb = arg;

	if (sb->failed)
		return;
	if (sb->len + len + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap * 2 : 4096;
		char *s;

		while (cap < sb->len + len + 1)
			cap *= 2;
		s = realloc(sb->s, cap);
		if (!s) {
			sb->failed = true;
			return;
		}
		sb->s = s;
		sb->cap = cap;
	}
	memcpy(sb->s + sb->len, line, len);
	sb->len += len;
	sb->s[sb->len] = '\0';
}

int plat_topology_format(const struct plat_topology *t, char **out)
{
	static const char header[] = "# ioasid topology, canonical form (docs/TOPOLOGY.md)\n";
	struct strbuf sb = { 0 };

	*out = NULL;
	strbuf_emit(&sb, header, sizeof(header) - 1);
	topo_canonical(t, strbuf_emit, &sb);
	if (sb.failed) {
		free(sb.s);
		return -ENOMEM;
	}
	*out = sb.s;
	return (int)sb.len;
}

/* ---- parser ---------------------------------------------------------------------------- */

struct topo_parser {
	struct plat_topology *t;
	const char *source;
	unsigned int line;
	char *err;
	size_t errlen;
	/* where each object was declared, for "first declared at line N"; 0: built in */
	unsigned int iommu_line[PLAT_MAX_IOMMUS];
	unsigned int driver_line[PLAT_MAX_DRIVERS];
	unsigned int group_line[PLAT_MAX_GROUPS];
	unsigned int device_line[PLAT_MAX_DEVICES];
};

static int perr_at(struct topo_parser *ps, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int perr_at(struct topo_parser *ps, unsigned int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ps->err || !ps->errlen)
		return -EINVAL;
	n = snprintf(ps->err, ps->errlen, "%s:%u: ", ps->source, line);
	if (n >= 0 && (size_t)n < ps->errlen) {
		va_start(ap, fmt);
		vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

#define perr(ps, ...) perr_at((ps), (ps)->line, __VA_ARGS__)

/* A user-supplied word, shortened for a message: at most 40 characters and "...". */
struct short_word {
	char s[48];
};

static struct short_word sw(const char *word)
{
	struct short_word out;
	size_t n = strlen(word);

	if (n > 40)
		snprintf(out.s, sizeof(out.s), "%.37s...", word);
	else
		snprintf(out.s, sizeof(out.s), "%s", word);
	return out;
}

/* Unsigned decimal or 0x-hex, the whole word, no sign, no overflow. */
static int parse_u64(const char *s, uint64_t *out)
{
	unsigned int base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned int digit;

		if (*s >= '0' && *s <= '9')
			digit = (unsigned int)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			digit = (unsigned int)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			digit = (unsigned int)(*s - 'A' + 10);
		else
			return -EINVAL;
		if (v > (UINT64_MAX - digit) / base)
			return -ERANGE;
		v = v * base + digit;
	}
	*out = v;
	return 0;
}

/* A number in [min, max], or an error naming the object, the key and the range. */
static int parse_ranged(struct topo_parser *ps, const char *obj, const char *key,
			const char *val, uint64_t min, uint64_t max, uint64_t *out)
{
	int rc = parse_u64(val, out);

	if (rc == -EINVAL)
		return perr(ps, "%s: %s=%s: not a number; write a decimal or 0x-hex number "
			    "from %llu to %llu", obj, key, sw(val).s, (unsigned long long)min,
			    (unsigned long long)max);
	if (rc || *out < min || *out > max)
		return perr(ps, "%s: %s=%s is out of range; use %llu to %llu", obj, key,
			    sw(val).s, (unsigned long long)min, (unsigned long long)max);
	return 0;
}

static bool name_char_ok(char c, const char *extra)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr(extra, c));
}

/* `what` "iommu", "device"...; the usage example says what a whole line looks like. */
static int check_name(struct topo_parser *ps, const char *what, const char *name,
		      const char *extra, const char *usage)
{
	size_t len = strlen(name);

	if (strchr(name, '='))
		return perr(ps, "%s: the name is missing before '%s'; write '%s'", what,
			    sw(name).s, usage);
	if (len >= PLAT_NAME_MAX)
		return perr(ps, "%s name '%s' is %zu characters long; use at most %d", what,
			    sw(name).s, len, PLAT_NAME_MAX - 1);
	for (size_t i = 0; i < len; i++) {
		if (!name_char_ok(name[i], extra)) {
			unsigned char c = (unsigned char)name[i];

			if (c >= 0x21 && c < 0x7f)
				return perr(ps, "%s name '%s': character '%c' is not allowed; use "
					    "letters, digits and '%s'", what, sw(name).s, c,
					    extra);
			return perr(ps, "%s name '%s': byte 0x%02x is not allowed; use ASCII "
				    "letters, digits and '%s'", what, sw(name).s, c, extra);
		}
	}
	return 0;
}

/* ---- per-line options: key=value words and flags ----- */

enum opt_type { OPT_FLAG, OPT_VALUE };

struct opt_spec {
	const char *key;
	enum opt_type type;
	bool required;
	unsigned int max;      /* how often it may appear (0: once) */
	const char *hint;      /* for a missing value: "ias=48" */
};

struct opt_vals {
	const char *v[PLAT_MAX_RESV];
	unsigned int n;
};

static int opts_parse(struct topo_parser *ps, const char *obj, char **words, int nwords,
		      const struct opt_spec *spec, unsigned int nspec, struct opt_vals *vals)
{
	memset(vals, 0, sizeof(*vals) * nspec);
	for (int w = 0; w < nwords; w++) {
		char *word = words[w];
		char *eq = strchr(word, '=');
		size_t klen = eq ? (size_t)(eq - word) : strlen(word);
		unsigned int i;

		for (i = 0; i < nspec; i++)
			if (strlen(spec[i].key) == klen && !strncmp(spec[i].key, word, klen))
				break;
		if (i == nspec) {
			char known[256];
			size_t off = 0;

			known[0] = '\0';
			for (unsigned int k = 0; k < nspec && off < sizeof(known); k++) {
				int n = snprintf(known + off, sizeof(known) - off, "%s%s%s",
						 k ? ", " : "", spec[k].key,
						 spec[k].type == OPT_VALUE ? "=" : "");
				if (n < 0)
					break;
				off += (size_t)n;
			}
			if (eq)
				*eq = '\0';
			return perr(ps, "%s: unknown key '%s'; known keys: %s", obj, sw(word).s,
				    known);
		}
		if (spec[i].type == OPT_FLAG && eq)
			return perr(ps, "%s: '%s' is a flag and takes no value; write just '%s'",
				    obj, sw(word).s, spec[i].key);
		if (spec[i].type == OPT_VALUE && (!eq || !eq[1]))
			return perr(ps, "%s: '%s' needs a value; write e.g. '%s'", obj,
				    sw(word).s, spec[i].hint);
		if (vals[i].n >= (spec[i].max ? spec[i].max : 1)) {
			if (spec[i].max > 1)
				return perr(ps, "%s: more than %u '%s' words; give at most %u",
					    obj, spec[i].max, spec[i].key, spec[i].max);
			return perr(ps, "%s: '%s' is given twice; give it once", obj,
				    spec[i].key);
		}
		vals[i].v[vals[i].n++] = eq ? eq + 1 : word;
	}
	for (unsigned int i = 0; i < nspec; i++)
		if (spec[i].required && !vals[i].n)
			return perr(ps, "%s: '%s' is missing; add e.g. '%s'", obj, spec[i].key,
				    spec[i].hint);
	return 0;
}

/* ---- iommu ----- */

enum { IO_TYPE, IO_PGSIZES, IO_IAS, IO_PASID, IO_NESTING, IO_DIRTY, IO_IOPF, IO_COHERENT,
       IO_RESV, IO_CAP, IO_ECAP, IO_NR };

static const struct opt_spec iommu_opts[IO_NR] = {
	[IO_TYPE] = { "type", OPT_VALUE, true, 0, "type=vtd" },
	[IO_PGSIZES] = { "pgsizes", OPT_VALUE, true, 0, "pgsizes=4k,2m,1g" },
	[IO_IAS] = { "ias", OPT_VALUE, true, 0, "ias=48" },
	[IO_PASID] = { "pasid", OPT_VALUE, false, 0, "pasid=20" },
	[IO_NESTING] = { "nesting", OPT_FLAG, false, 0, "nesting" },
	[IO_DIRTY] = { "dirty", OPT_FLAG, false, 0, "dirty" },
	[IO_IOPF] = { "iopf", OPT_FLAG, false, 0, "iopf" },
	[IO_COHERENT] = { "coherent", OPT_FLAG, false, 0, "coherent" },
	[IO_RESV] = { "resv", OPT_VALUE, false, PLAT_MAX_RESV, "resv=0xfee00000-0xfeefffff:msi" },
	[IO_CAP] = { "cap", OPT_VALUE, false, 0, "cap=0xd2008c22260286" },
	[IO_ECAP] = { "ecap", OPT_VALUE, false, 0, "ecap=0xf00f4a" },
};

static int parse_pgsizes(struct topo_parser *ps, const char *obj, const char *val,
			 uint64_t *out)
{
	const char *p = val;

	*out = 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		uint64_t bit = 0;

		if (n == 2 && (p[0] == '4') && (p[1] == 'k' || p[1] == 'K'))
			bit = PG_4K;
		else if (n == 2 && (p[0] == '2') && (p[1] == 'm' || p[1] == 'M'))
			bit = PG_2M;
		else if (n == 2 && (p[0] == '1') && (p[1] == 'g' || p[1] == 'G'))
			bit = PG_1G;
		if (!bit)
			return perr(ps, "%s: pgsizes=%s: '%.*s' is not a page size; list 4k, 2m "
				    "and/or 1g separated by commas", obj, sw(val).s,
				    (int)(n > 16 ? 16 : n), p);
		*out |= bit;
		p += n;
		if (*p == ',')
			p++;
	}
	if (!(*out & PG_4K))
		return perr(ps, "%s: pgsizes=%s lacks 4k; every IOMMU maps 4 KiB pages: add 4k",
			    obj, sw(val).s);
	return 0;
}

static int parse_resv(struct topo_parser *ps, const char *obj, const char *val,
		      unsigned int ias, struct plat_resv_region *out)
{
	char buf[PLAT_TOPO_MAX_LINE + 1];
	char *colon, *dash;
	uint64_t start, last;

	snprintf(buf, sizeof(buf), "%s", val);
	out->sw_msi = false;
	colon = strchr(buf, ':');
	if (colon) {
		*colon = '\0';
		if (strcmp(colon + 1, "msi"))
			return perr(ps, "%s: resv=%s: unknown region kind '%s'; write ':msi' for "
				    "an MSI window or nothing for a plain reserved range", obj,
				    sw(val).s, sw(colon + 1).s);
		out->sw_msi = true;
	}
	dash = strchr(buf, '-');
	if (!dash)
		return perr(ps, "%s: resv=%s: write the range as START-LAST, e.g. "
			    "resv=0xfee00000-0xfeefffff:msi", obj, sw(val).s);
	*dash = '\0';
	if (parse_u64(buf, &start) || parse_u64(dash + 1, &last))
		return perr(ps, "%s: resv=%s: START and LAST must be numbers (0x-hex or "
			    "decimal), e.g. resv=0xfee00000-0xfeefffff:msi", obj, sw(val).s);
	if (start > last)
		return perr(ps, "%s: resv=%s: START is above LAST; LAST is the last byte of "
			    "the range, inclusive", obj, sw(val).s);
	if (start & (PG_4K - 1) || (last & (PG_4K - 1)) != PG_4K - 1)
		return perr(ps, "%s: resv=%s: the range must cover whole 4 KiB pages (START "
			    "a multiple of 0x1000, LAST ending in 0xfff)", obj, sw(val).s);
	if (ias < 64 && last >> ias)
		return perr(ps, "%s: resv=%s ends above the %u-bit IOVA space (last 0x%llx); "
			    "lower it or raise ias=", obj, sw(val).s, ias,
			    (unsigned long long)((1ull << ias) - 1));
	out->start = start;
	out->last = last;
	return 0;
}

static int parse_iommu(struct topo_parser *ps, char **words, int nwords)
{
	static const char usage[] = "iommu NAME type=vtd pgsizes=4k,2m,1g ias=48";
	struct plat_topology *t = ps->t;
	struct opt_vals vals[IO_NR];
	struct plat_iommu m = { 0 };
	char obj[PLAT_NAME_MAX + 16];
	uint64_t v;
	unsigned int i;
	int rc;

	if (nwords < 2)
		return perr(ps, "iommu: the name is missing; write '%s'", usage);
	rc = check_name(ps, "iommu", words[1], NAME_CHARS_OTHER, usage);
	if (rc)
		return rc;
	snprintf(obj, sizeof(obj), "iommu %s", words[1]);
	for (i = 0; i < t->nr_iommus; i++)
		if (!strcmp(t->iommus[i].name, words[1]))
			return perr(ps, "%s: declared twice (first at line %u); give each IOMMU "
				    "its own name", obj, ps->iommu_line[i]);
	if (t->nr_iommus >= PLAT_MAX_IOMMUS)
		return perr(ps, "%s: more than %d IOMMUs (PLAT_MAX_IOMMUS); declare fewer", obj,
			    PLAT_MAX_IOMMUS);
	rc = opts_parse(ps, obj, words + 2, nwords - 2, iommu_opts, IO_NR, vals);
	if (rc)
		return rc;

	snprintf(m.name, sizeof(m.name), "%s", words[1]);
	for (i = 0; i < sizeof(iommu_types) / sizeof(iommu_types[0]); i++)
		if (!strcmp(vals[IO_TYPE].v[0], iommu_types[i].word))
			m.type = iommu_types[i].type;
	if (!m.type)
		return perr(ps, "%s: type=%s is not an IOMMU type; use vtd, smmuv3 or amd", obj,
			    sw(vals[IO_TYPE].v[0]).s);
	rc = parse_pgsizes(ps, obj, vals[IO_PGSIZES].v[0], &m.pgsize_bitmap);
	if (rc)
		return rc;
	rc = parse_u64(vals[IO_IAS].v[0], &v);
	if (rc || (v != 39 && v != 48 && v != 57))
		return perr(ps, "%s: ias=%s: the IOVA width must be 39, 48 or 57 (bits)", obj,
			    sw(vals[IO_IAS].v[0]).s);
	m.ias_bits = (unsigned int)v;
	if (vals[IO_PASID].n) {
		rc = parse_ranged(ps, obj, "pasid", vals[IO_PASID].v[0], 0, PLAT_TOPO_MAX_PASID,
				  &v);
		if (rc)
			return rc;
		m.pasid_bits = (unsigned int)v;
	}
	m.nesting = vals[IO_NESTING].n;
	m.dirty_tracking = vals[IO_DIRTY].n;
	m.iopf = vals[IO_IOPF].n;
	m.coherent = vals[IO_COHERENT].n;
	for (i = 0; i < vals[IO_RESV].n; i++) {
		rc = parse_resv(ps, obj, vals[IO_RESV].v[i], m.ias_bits, &m.resv[i]);
		if (rc)
			return rc;
	}
	m.nr_resv = vals[IO_RESV].n;
	/* VT-d register values for IOMMU_GET_HW_INFO (a real unit's, e.g. QEMU's): they describe
	 * the unit, the features above still decide what the mock does. */
	for (i = IO_CAP; i <= IO_ECAP; i++) {
		const char *key = i == IO_CAP ? "cap" : "ecap";

		if (!vals[i].n)
			continue;
		if (m.type != PLAT_IOMMU_INTEL_VTD)
			return perr(ps, "%s: %s= is a VT-d register; only a type=vtd IOMMU has it",
				    obj, key);
		if (parse_u64(vals[i].v[0], &v) || !v)
			return perr(ps, "%s: %s=%s: give the register as a non-zero number, e.g. "
				    "%s", obj, key, sw(vals[i].v[0]).s, iommu_opts[i].hint);
		if (i == IO_CAP)
			m.vtd_cap = v;
		else
			m.vtd_ecap = v;
	}

	ps->iommu_line[t->nr_iommus] = ps->line;
	t->iommus[t->nr_iommus++] = m;
	return 0;
}

/* ---- driver ----- */

enum { DR_KIND, DR_NR };

static const struct opt_spec driver_opts[DR_NR] = {
	[DR_KIND] = { "kind", OPT_VALUE, true, 0, "kind=dma-api" },
};

static int parse_driver(struct topo_parser *ps, char **words, int nwords)
{
	static const char usage[] = "driver NAME kind=dma-api";
	struct plat_topology *t = ps->t;
	struct opt_vals vals[DR_NR];
	enum plat_driver_kind kind = 0;
	char obj[PLAT_NAME_MAX + 16];
	int rc, i;

	if (nwords < 2)
		return perr(ps, "driver: the name is missing; write '%s'", usage);
	rc = check_name(ps, "driver", words[1], NAME_CHARS_OTHER, usage);
	if (rc)
		return rc;
	snprintf(obj, sizeof(obj), "driver %s", words[1]);
	rc = opts_parse(ps, obj, words + 2, nwords - 2, driver_opts, DR_NR, vals);
	if (rc)
		return rc;
	for (size_t k = 0; k < sizeof(driver_kinds) / sizeof(driver_kinds[0]); k++)
		if (!strcmp(vals[DR_KIND].v[0], driver_kinds[k].word))
			kind = driver_kinds[k].kind;
	if (!kind)
		return perr(ps, "%s: kind=%s is not a driver kind; use user (exposes VFIO nodes), "
			    "dma-api (a kernel driver using the DMA API) or managed (manages its "
			    "own DMA)", obj, sw(vals[DR_KIND].v[0]).s);

	i = plat_topology_find_driver(t, words[1]);
	if (i >= 0) {
		if (ps->driver_line[i])
			return perr(ps, "%s: declared twice (first at line %u); declare each "
				    "driver once", obj, ps->driver_line[i]);
		if (t->drivers[i].kind != kind)
			return perr(ps, "%s: built in as kind=%s; kind=%s would change it: drop "
				    "this line or give the driver another name", obj,
				    plat_driver_kind_name(t->drivers[i].kind),
				    plat_driver_kind_name(kind));
		ps->driver_line[i] = ps->line;     /* re-declaring a built-in one: a no-op */
		return 0;
	}
	if (t->nr_drivers >= PLAT_MAX_DRIVERS)
		return perr(ps, "%s: more than %d drivers (PLAT_MAX_DRIVERS, of which %zu built "
			    "in); declare fewer", obj, PLAT_MAX_DRIVERS,
			    sizeof(builtin_drivers) / sizeof(builtin_drivers[0]));
	ps->driver_line[t->nr_drivers] = ps->line;
	snprintf(t->drivers[t->nr_drivers].name, PLAT_NAME_MAX, "%s", words[1]);
	t->drivers[t->nr_drivers++].kind = kind;
	return 0;
}

/* ---- group ----- */

enum { GR_IOMMU, GR_NO_MSI_ISOLATION, GR_NR };

static const struct opt_spec group_opts[GR_NR] = {
	[GR_IOMMU] = { "iommu", OPT_VALUE, true, 0, "iommu=dmar0" },
	[GR_NO_MSI_ISOLATION] = { "no-msi-isolation", OPT_FLAG, false, 0, "no-msi-isolation" },
};

static int find_iommu(const struct plat_topology *t, const char *name)
{
	for (uint32_t i = 0; i < t->nr_iommus; i++)
		if (!strcmp(t->iommus[i].name, name))
			return (int)i;
	return -ENODEV;
}

static int parse_group(struct topo_parser *ps, char **words, int nwords)
{
	struct plat_topology *t = ps->t;
	struct opt_vals vals[GR_NR];
	char obj[64];
	uint64_t id;
	int rc, i;

	if (nwords < 2 || strchr(words[1], '='))
		return perr(ps, "group: the group ID is missing; write 'group ID iommu=NAME', "
			    "e.g. 'group 12 iommu=dmar0'");
	rc = parse_ranged(ps, "group", "ID", words[1], 0, PLAT_TOPO_MAX_ID, &id);
	if (rc)
		return rc;
	snprintf(obj, sizeof(obj), "group %llu", (unsigned long long)id);
	i = plat_topology_find_group_id(t, (uint32_t)id);
	if (i >= 0)
		return perr(ps, "%s: declared twice (first at line %u); give each group its own "
			    "ID", obj, ps->group_line[i]);
	if (t->nr_groups >= PLAT_MAX_GROUPS)
		return perr(ps, "%s: more than %d groups (PLAT_MAX_GROUPS); declare fewer", obj,
			    PLAT_MAX_GROUPS);
	rc = opts_parse(ps, obj, words + 2, nwords - 2, group_opts, GR_NR, vals);
	if (rc)
		return rc;
	i = find_iommu(t, vals[GR_IOMMU].v[0]);
	if (i < 0)
		return perr(ps, "%s: iommu %s is not declared; add 'iommu %s type=vtd "
			    "pgsizes=4k ias=48' before it", obj, sw(vals[GR_IOMMU].v[0]).s,
			    sw(vals[GR_IOMMU].v[0]).s);

	ps->group_line[t->nr_groups] = ps->line;
	t->groups[t->nr_groups].id = (uint32_t)id;
	t->groups[t->nr_groups].iommu = (uint32_t)i;
	t->groups[t->nr_groups].isolated_msi = !vals[GR_NO_MSI_ISOLATION].n;
	t->nr_groups++;
	return 0;
}

/* ---- device ----- */

enum { DV_GROUP, DV_VFIO, DV_DRIVER, DV_PASID, DV_ATS, DV_PRI, DV_ENQCMD, DV_SW_TABLE, DV_VF,
       DV_NR };

static const struct opt_spec device_opts[DV_NR] = {
	[DV_GROUP] = { "group", OPT_VALUE, true, 0, "group=12" },
	[DV_VFIO] = { "vfio", OPT_VALUE, true, 0, "vfio=0" },
	[DV_DRIVER] = { "driver", OPT_VALUE, false, 0, "driver=vfio-pci" },
	[DV_PASID] = { "pasid", OPT_VALUE, false, 0, "pasid=20" },
	[DV_ATS] = { "ats", OPT_FLAG, false, 0, "ats" },
	[DV_PRI] = { "pri", OPT_FLAG, false, 0, "pri" },
	[DV_ENQCMD] = { "enqcmd", OPT_FLAG, false, 0, "enqcmd" },
	[DV_SW_TABLE] = { "sw-table", OPT_FLAG, false, 0, "sw-table" },
	[DV_VF] = { "vf", OPT_FLAG, false, 0, "vf" },
};

static int parse_device(struct topo_parser *ps, char **words, int nwords)
{
	static const char usage[] = "device NAME group=ID vfio=N [driver=NAME]";
	struct plat_topology *t = ps->t;
	struct opt_vals vals[DV_NR];
	struct plat_device d = { .driver = -1 };
	char obj[PLAT_NAME_MAX + 16];
	uint64_t v;
	int rc, i;

	if (nwords < 2)
		return perr(ps, "device: the name is missing; write '%s'", usage);
	rc = check_name(ps, "device", words[1], NAME_CHARS_DEVICE, usage);
	if (rc)
		return rc;
	snprintf(obj, sizeof(obj), "device %s", words[1]);
	i = plat_topology_find_device(t, words[1]);
	if (i >= 0)
		return perr(ps, "%s: declared twice (first at line %u); give each device its own "
			    "name", obj, ps->device_line[i]);
	if (t->nr_devices >= PLAT_MAX_DEVICES)
		return perr(ps, "%s: more than %d devices (PLAT_MAX_DEVICES); declare fewer", obj,
			    PLAT_MAX_DEVICES);
	rc = opts_parse(ps, obj, words + 2, nwords - 2, device_opts, DV_NR, vals);
	if (rc)
		return rc;
	snprintf(d.name, sizeof(d.name), "%s", words[1]);

	rc = parse_ranged(ps, obj, "group", vals[DV_GROUP].v[0], 0, PLAT_TOPO_MAX_ID, &v);
	if (rc)
		return rc;
	i = plat_topology_find_group_id(t, (uint32_t)v);
	if (i < 0)
		return perr(ps, "%s: group %llu is not declared; add 'group %llu iommu=...' before "
			    "it", obj, (unsigned long long)v, (unsigned long long)v);
	d.group = (uint32_t)i;

	rc = parse_ranged(ps, obj, "vfio", vals[DV_VFIO].v[0], 0, PLAT_TOPO_MAX_ID, &v);
	if (rc)
		return rc;
	i = plat_topology_find_vfio(t, (uint32_t)v);
	if (i >= 0)
		return perr(ps, "%s: vfio=%llu is already used by device %s (line %u); give each "
			    "device its own VFIO index", obj, (unsigned long long)v,
			    t->devices[i].name, ps->device_line[i]);
	d.vfio_index = (uint32_t)v;

	if (vals[DV_DRIVER].n) {
		const char *drv = vals[DV_DRIVER].v[0];

		d.driver = plat_topology_find_driver(t, drv);
		if (d.driver < 0)
			return perr(ps, "%s: driver %s is not declared; add 'driver %s "
				    "kind=dma-api' (or kind=user, kind=managed) before it", obj,
				    sw(drv).s, sw(drv).s);
	}
	if (vals[DV_PASID].n) {
		rc = parse_ranged(ps, obj, "pasid", vals[DV_PASID].v[0], 0, PLAT_TOPO_MAX_PASID,
				  &v);
		if (rc)
			return rc;
		d.pasid_bits = (unsigned int)v;
	}
	d.ats = vals[DV_ATS].n;
	d.pri = vals[DV_PRI].n;
	d.enqcmd = vals[DV_ENQCMD].n;
	d.sw_table = vals[DV_SW_TABLE].n;
	d.is_vf = vals[DV_VF].n;
	/* PCIe: a Page Request Interface sits on ATS; ENQCMD submits with a PASID. */
	if (d.pri && !d.ats)
		return perr(ps, "%s: pri needs ats (page requests come from the ATS agent); add "
			    "'ats' or drop 'pri'", obj);
	if (d.enqcmd && !d.pasid_bits)
		return perr(ps, "%s: enqcmd needs PASID support; add e.g. 'pasid=20' or drop "
			    "'enqcmd'", obj);

	ps->device_line[t->nr_devices] = ps->line;
	t->devices[t->nr_devices++] = d;
	return 0;
}

/* ---- lines and text ----- */

/* Split a line (comment already cut) into words, in place. */
static int split_words(struct topo_parser *ps, char *line, char **words, int *nwords)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (n == PLAT_TOPO_MAX_WORDS)
			return perr(ps, "more than %d words on one line; split the object's "
				    "options or remove some", PLAT_TOPO_MAX_WORDS);
		words[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
	*nwords = n;
	return 0;
}

static int parse_line(struct topo_parser *ps, const char *text, size_t len)
{
	char buf[PLAT_TOPO_MAX_LINE + 1];
	char *words[PLAT_TOPO_MAX_WORDS];
	char *hash;
	int nwords = 0, rc;

	/* Bytes first, so that a binary file is called one, not a syntax error. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\0')
			return perr(ps, "NUL byte at column %zu; a topology file is plain text "
				    "(is this a binary file?)", i + 1);
		if (c == '\r' && i == len - 1) {
			len--;                      /* a CRLF line end */
			break;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return perr(ps, "control character 0x%02x at column %zu; a topology file "
				    "is plain text: remove it", c, i + 1);
	}
	if (len > PLAT_TOPO_MAX_LINE)
		return perr(ps, "the line is %zu bytes long; at most %d are allowed: split it "
			    "or shorten it", len, PLAT_TOPO_MAX_LINE);
	memcpy(buf, text, len);
	buf[len] = '\0';
	hash = strchr(buf, '#');
	if (hash)
		*hash = '\0';
	rc = split_words(ps, buf, words, &nwords);
	if (rc || !nwords)
		return rc;

	if (!strcmp(words[0], "iommu"))
		return parse_iommu(ps, words, nwords);
	if (!strcmp(words[0], "driver"))
		return parse_driver(ps, words, nwords);
	if (!strcmp(words[0], "group"))
		return parse_group(ps, words, nwords);
	if (!strcmp(words[0], "device"))
		return parse_device(ps, words, nwords);
	return perr(ps, "unknown object '%s'; a line declares an iommu, driver, group or "
		    "device (see docs/TOPOLOGY.md)", sw(words[0]).s);
}

/* Whole-host checks, after the last line. */
static int check_host(struct topo_parser *ps)
{
	const struct plat_topology *t = ps->t;

	if (!t->nr_devices)
		return perr(ps, "no devices declared; a host needs at least one 'device NAME "
			    "group=ID vfio=N' line (see docs/TOPOLOGY.md)");
	for (uint32_t g = 0; g < t->nr_groups; g++) {
		bool used = false;

		for (uint32_t d = 0; d < t->nr_devices && !used; d++)
			used = t->devices[d].group == g;
		if (!used)
			return perr_at(ps, ps->group_line[g], "group %u has no devices; add a "
				       "'device NAME group=%u vfio=N' line or remove the group",
				       t->groups[g].id, t->groups[g].id);
	}
	return 0;
}

int plat_topology_parse(const char *text, size_t len, const char *source,
			struct plat_topology **out, char *err, size_t errlen)
{
	struct topo_parser *ps;
	size_t pos = 0, srclen;
	int rc = 0;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!source)
		source = "topology";
	if (!text && len)
		return -EINVAL;
	if (len > PLAT_TOPO_MAX_BYTES) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %zu bytes; a topology is at most %u bytes: is "
				 "this the right file?", source, len, PLAT_TOPO_MAX_BYTES);
		return -EINVAL;
	}
	ps = calloc(1, sizeof(*ps));
	if (ps)
		ps->t = calloc(1, sizeof(*ps->t));
	if (!ps || !ps->t) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory loading the topology", source);
		free(ps);
		return -ENOMEM;
	}
	ps->source = source;
	ps->err = err;
	ps->errlen = errlen;
	ps->line = 1;

	/* The source is only a label: keep its tail if it is long, as that names the file. */
	srclen = strlen(source);
	if (srclen >= sizeof(ps->t->source))
		snprintf(ps->t->source, sizeof(ps->t->source), "...%s",
			 source + srclen - (sizeof(ps->t->source) - 4));
	else
		snprintf(ps->t->source, sizeof(ps->t->source), "%s", source);
	for (size_t i = 0; i < sizeof(builtin_drivers) / sizeof(builtin_drivers[0]); i++)
		ps->t->drivers[ps->t->nr_drivers++] = builtin_drivers[i];

	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		pos = 3;                                    /* a UTF-8 byte order mark */
	/* Whole-host errors are reported on the last line (ps->line stays there). */
	for (unsigned int lineno = 1; pos < len; lineno++) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;

		ps->line = lineno;
		rc = parse_line(ps, text + pos, end - pos);
		if (rc)
			goto out_free;
		pos = end + 1;
	}
	rc = check_host(ps);
	if (rc)
		goto out_free;
	ps->t->hash = plat_topology_hash(ps->t);
	*out = ps->t;
	free(ps);
	return 0;
out_free:
	free(ps->t);
	free(ps);
	return rc;
}

int plat_topology_load_file(const char *path, struct plat_topology **out, char *err,
			    size_t errlen)
{
	size_t cap = 4096, len = 0;
	struct stat st;
	char *buf = NULL;
	int fd, rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s; check the path (IOASID_TOPOLOGY, "
				 "--topology)", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		if (err && errlen)
			snprintf(err, errlen, "%s: is a directory; give a topology file, e.g. "
				 "examples/topologies/default.topo", path);
		goto out_close;
	}
	/* Read at most one byte more than allowed, whatever the file claims to be: a pipe or
	 * /dev/zero cannot make this allocate without bound. */
	for (;;) {
		ssize_t n;

		if (len == cap || !buf) {
			char *nbuf;

			if (buf)
				cap *= 2;
			if (cap > PLAT_TOPO_MAX_BYTES + 1)
				cap = PLAT_TOPO_MAX_BYTES + 1;
			nbuf = realloc(buf, cap);
			if (!nbuf) {
				rc = -ENOMEM;
				if (err && errlen)
					snprintf(err, errlen, "%s: out of memory reading it", path);
				goto out_free;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			if (err && errlen)
				snprintf(err, errlen, "%s: read failed: %s", path, strerror(-rc));
			goto out_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > PLAT_TOPO_MAX_BYTES) {
			rc = -EFBIG;
			if (err && errlen)
				snprintf(err, errlen, "%s: larger than %u bytes; a topology file is "
					 "small text: is this the right file?", path,
					 PLAT_TOPO_MAX_BYTES);
			goto out_free;
		}
	}
	rc = plat_topology_parse(buf, len, path, out, err, errlen);
out_free:
	free(buf);
out_close:
	close(fd);
	return rc;
}

void plat_topology_free(struct plat_topology *topo)
{
	if (topo && topo != plat_topology_default())
		free(topo);
}

/* ---- lookups --------------------------------------------------------------------------- */

int plat_topology_find_device(const struct plat_topology *t, const char *name)
{
	if (!t || !name)
		return -ENODEV;
	for (uint32_t i = 0; i < t->nr_devices; i++)
		if (!strncmp(t->devices[i].name, name, PLAT_NAME_MAX))
			return (int)i;
	return -ENODEV;
}

int plat_topology_find_vfio(const struct plat_topology *t, uint32_t vfio_index)
{
	if (!t)
		return -ENODEV;
	for (uint32_t i = 0; i < t->nr_devices; i++)
		if (t->devices[i].vfio_index == vfio_index)
			return (int)i;
	return -ENODEV;
}

int plat_topology_find_group_id(const struct plat_topology *t, uint32_t group_id)
{
	if (!t)
		return -ENODEV;
	for (uint32_t i = 0; i < t->nr_groups; i++)
		if (t->groups[i].id == group_id)
			return (int)i;
	return -ENODEV;
}

int plat_topology_find_driver(const struct plat_topology *t, const char *name)
{
	if (!t || !name)
		return -ENODEV;
	for (uint32_t i = 0; i < t->nr_drivers; i++)
		if (!strncmp(t->drivers[i].name, name, PLAT_NAME_MAX))
			return (int)i;
	return -ENODEV;
}

unsigned int plat_device_pasid_bits(const struct plat_topology *t, uint32_t dev)
{
	const struct plat_device *d;
	unsigned int iommu_bits;

	if (!t || dev >= t->nr_devices)
		return 0;
	d = &t->devices[dev];
	if (d->group >= t->nr_groups || t->groups[d->group].iommu >= t->nr_iommus)
		return 0;
	iommu_bits = t->iommus[t->groups[d->group].iommu].pasid_bits;
	return d->pasid_bits < iommu_bits ? d->pasid_bits : iommu_bits;
}
