/* trace_file.c — record / replay of struct ioasid_event streams (ioasid/trace_file.h).
 *
 * Owns the on-disk format. Everything is little-endian; offsets are in bytes.
 *
 *   file    = header chunk* trailer?
 *   header  (256)  0 magic "ioasidTR" | 8 format_version | 12 header_size (256)
 *                 16 event_version | 20 event_size (128) | 24 source_kind | 28 clock_id
 *                 32 start_realtime_ns (s64) | 40 start_monotonic_ns (u64) | 48 chunk_events
 *                 52 reserved (0) | 56 source[128] | 184 host[64] | 248 reserved (0)
 *                 252 CRC-32 of bytes 0..251
 *   chunk   = chunk header (48) + compressed bytes
 *           0 magic "ITCK" | 4 chunk number (0, 1, ...) | 8 first event number (u64: events in
 *           all chunks before) | 16 event count (1..4096) | 20 raw length (count * 128)
 *           24 packed length | 28 compressed length | 32 CRC-32 of the compressed bytes
 *           36 CRC-32 of the raw records | 40 codec (1) | 44 CRC-32 of bytes 0..43
 *   trailer = a chunk header with magic "ITEN", chunk number = number of chunks, first event
 *             number = number of events, every other field 0; the file ends right after it.
 *
 * Codec 1: the records are delta-packed, then raw-deflated (no zlib wrapper: the CRCs above do
 * its job). A record is 32 little-endian u32 lanes. Lane 0 (type, source, version) is taken
 * as the difference from lane 0 of the previous record; lanes 1..31 as the differences from
 * the previous record of the same type (slot type & 63; zeros for the first of a slot in the
 * chunk). Each difference is zigzagged (small negative → small positive) and kept in 0, 1, 2
 * or 4 bytes (length codes 0..3). A packed record is
 *     tag (u8: bits 0-1 lane 0's code, bit 2 REPEAT, bits 3-7 zero) | lane 0's bytes |
 *     codes (u64: lane k's code in bits 2k..2k+1, k = 1..31; absent when REPEAT: the codes of
 *     the previous record of the slot) | the bytes of lanes 1..31, in order.
 * Trace records repeat themselves (same pid, ctx, IOAS; timestamps and IOVAs that step), so a
 * record packs to ~20 bytes and deflate, the cost of writing, sees a sixth of the raw bytes:
 * ~9 bytes per event on disk for a jittery map/unmap stream. Packing is strictly sequential,
 * so any prefix of a chunk's inflated bytes decodes to a prefix of its records: that is how a
 * truncated last chunk still yields its events.
 *
 * Invariants: a chunk is self-contained (no state crosses chunks); the writer writes a chunk
 * with one write(2) and cuts the file back to the last chunk boundary if that fails, so a
 * writer that dies leaves a file that reads cleanly up to its last complete chunk. The reader
 * trusts no length before it is checked against the limits the format fixes (4096 records,
 * 137 packed bytes per record, the deflate bound), so nothing is allocated from file contents
 * beyond ~1 MiB, and it checks every CRC before using what it covers — except the compressed
 * bytes of a chunk cut short by the end of the file, which are inflated as far as they go
 * (inflate of a truncated stream yields a correct prefix) and reported as a truncation.
 * No locking: one thread per reader / writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "ioasid/trace_file.h"
#include "trace/backend.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "trace files store records as they are in memory: little-endian hosts only"
#endif

_Static_assert(sizeof(struct ioasid_event) == 128, "the packing codec works on 32 u32 lanes");

/* ---- layout ---------------------------------------------------------------------------------- */
#define FH_SIZE            256u
#define FH_MAGIC           "ioasidTR"
#define FH_MAGIC_LEN       8u
#define FH_FORMAT          8u
#define FH_HEADER_SIZE     12u
#define FH_EVENT_VERSION   16u
#define FH_EVENT_SIZE      20u
#define FH_SOURCE_KIND     24u
#define FH_CLOCK_ID        28u
#define FH_START_REALTIME  32u
#define FH_START_MONOTONIC 40u
#define FH_CHUNK_EVENTS    48u
#define FH_RESERVED1       52u
#define FH_SOURCE          56u
#define FH_HOST            184u
#define FH_RESERVED2       248u
#define FH_CRC             252u

#define CH_SIZE            48u
#define CH_MAGIC_CHUNK     "ITCK"
#define CH_MAGIC_END       "ITEN"
#define CH_NUMBER          4u
#define CH_FIRST_EVENT     8u
#define CH_COUNT           16u
#define CH_RAW_LEN         20u
#define CH_PACKED_LEN      24u
#define CH_COMP_LEN        28u
#define CH_COMP_CRC        32u
#define CH_RAW_CRC         36u
#define CH_CODEC           40u
#define CH_CRC             44u

#define CODEC_DELTA_DEFLATE 1u
#define EV_SIZE            ((uint32_t)sizeof(struct ioasid_event))
#define EV_LANES           (sizeof(struct ioasid_event) / sizeof(uint32_t))
#define PACK_MIN(n)        ((size_t)(n) * 1)               /* a tag: nothing changed */
#define PACK_MAX(n)        ((size_t)(n) * (1 + 8 + EV_SIZE))  /* tag, codes, every lane 4 */
#define PACK_SLACK         8u     /* branch-free packing stores/loads one word past the end */
#define HIST_SLOTS         64u

_Static_assert(FH_SOURCE + 128 == FH_HOST && FH_HOST + 64 == FH_RESERVED2, "header layout");
_Static_assert(sizeof(((struct ioasid_trace_file_header *)0)->source) == 128, "source[128]");
_Static_assert(sizeof(((struct ioasid_trace_file_header *)0)->host) == 64, "host[64]");

static inline uint32_t ld32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t ld64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void st32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void st64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }

static uint32_t crc(const void *p, size_t n)
{
	uint32_t c = (uint32_t)crc32(0L, Z_NULL, 0);

	/* zlib's length is a uInt: chunks are far below 4 GiB, but stay honest. */
	while (n) {
		uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;

		c = (uint32_t)crc32(c, p, k);
		p = (const unsigned char *)p + k;
		n -= k;
	}
	return c;
}

/* Largest compressed length a chunk of `packed` bytes may have: zlib's compressBound, which
 * is above what raw deflate can produce at any level. */
static size_t comp_bound(size_t packed)
{
	return (size_t)compressBound((uLong)packed);
}

/* ---- codec 1: delta packing ------------------------------------------------------------------ */
#define TAG_CODE0    0x03u   /* lane 0's length code */
#define TAG_REPEAT   0x04u   /* lanes 1..31 have the codes of the previous record of this type */
#define CODES_NONE   (~0ULL) /* no record of this type yet (real codes never set bits 0-1) */

struct pack_state {
	uint32_t prev0;                          /* lane 0 of the previous record */
	uint32_t base[HIST_SLOTS][EV_LANES];     /* the previous record of each type slot */
	uint64_t codes[HIST_SLOTS];              /* its lane codes (lanes 1..31) */
};

static void pack_state_reset(struct pack_state *ps)
{
	ps->prev0 = 0;
	memset(ps->base, 0, sizeof(ps->base));
	memset(ps->codes, 0xff, sizeof(ps->codes));
}

/* Length code of a zigzagged difference: 0, 1, 2 or 4 bytes (codes 0..3). */
static inline unsigned int lane_code(uint32_t z)
{
	return (z != 0) + (z > 0xff) + (z > 0xffff);
}

static inline unsigned int code_len(unsigned int code)
{
	return code + (code == 3);
}

static inline uint32_t zigzag(uint32_t d)
{
	return (d << 1) ^ (uint32_t)-(d >> 31);
}

static inline uint32_t unzigzag(uint32_t z)
{
	return (z >> 1) ^ (uint32_t)-(z & 1);
}

/* Payload bytes of lanes whose codes are `codes` (2 bits per lane). */
static size_t codes_bytes(uint64_t codes)
{
	uint64_t lo = codes & 0x5555555555555555ULL, hi = (codes >> 1) & 0x5555555555555555ULL;

	return (size_t)__builtin_popcountll(lo & ~hi) + 2 * (size_t)__builtin_popcountll(hi & ~lo) +
	       4 * (size_t)__builtin_popcountll(lo & hi);
}

/* Pack n records into out (room for PACK_MAX(n) + PACK_SLACK). Returns the packed length.
 * The differences and codes are computed first, apart from the output position, so that the
 * only serial chain is the position itself. */
static size_t pack_records(const struct ioasid_event *ev, size_t n, unsigned char *out,
			   struct pack_state *ps)
{
	unsigned char *o = out;

	pack_state_reset(ps);
	for (size_t i = 0; i < n; i++) {
		uint32_t l[EV_LANES], z[EV_LANES], *base;
		unsigned int code[EV_LANES], slot;
		uint64_t codes = 0;

		memcpy(l, &ev[i], sizeof(l));
		slot = l[0] & (HIST_SLOTS - 1);
		base = ps->base[slot];
		z[0] = zigzag(l[0] - ps->prev0);
		for (unsigned int k = 1; k < EV_LANES; k++)
			z[k] = zigzag(l[k] - base[k]);
		for (unsigned int k = 0; k < EV_LANES; k++)
			code[k] = lane_code(z[k]);
		for (unsigned int k = 1; k < EV_LANES; k++)
			codes |= (uint64_t)code[k] << (2 * k);
		ps->prev0 = l[0];
		memcpy(base, l, sizeof(l));

		*o = (unsigned char)code[0];
		if (codes == ps->codes[slot]) {
			*o++ |= TAG_REPEAT;
			st32(o, z[0]);
			o += code_len(code[0]);
		} else {
			o++;
			st32(o, z[0]);
			o += code_len(code[0]);
			st64(o, codes);
			o += 8;
			ps->codes[slot] = codes;
		}
		for (unsigned int k = 1; k < EV_LANES; k++) {
			st32(o, z[k]);       /* stored whole, kept as far as its code says */
			o += code_len(code[k]);
		}
	}
	return (size_t)(o - out);
}

/* Unpack up to max records from p[0..len) (p readable up to len + PACK_SLACK). Stops at the
 * first record not wholly inside len, or not well formed. Returns the records decoded;
 * *used: bytes consumed. */
static size_t unpack_records(const unsigned char *p, size_t len, struct ioasid_event *out,
			     size_t max, size_t *used, struct pack_state *ps)
{
	static const uint32_t code_mask[4] = { 0, 0xff, 0xffff, 0xffffffff };
	size_t pos = 0, i;

	pack_state_reset(ps);
	for (i = 0; i < max; i++) {
		const unsigned char *q = p + pos;
		size_t left = len - pos, need;
		unsigned int tag, slot;
		uint32_t l[EV_LANES], *base;
		uint64_t codes;

		if (left < 1)
			break;
		tag = q[0];
		if (tag & ~(TAG_CODE0 | TAG_REPEAT))
			break;
		need = 1 + code_len(tag & TAG_CODE0);
		if (left < need)
			break;
		l[0] = ps->prev0 + unzigzag(ld32(q + 1) & code_mask[tag & TAG_CODE0]);
		slot = l[0] & (HIST_SLOTS - 1);
		if (tag & TAG_REPEAT) {
			codes = ps->codes[slot];
			if (codes == CODES_NONE)
				break;
		} else {
			if (left < need + 8)
				break;
			codes = ld64(q + need);
			if (codes & 3)
				break;
			need += 8;
			ps->codes[slot] = codes;
		}
		if (left - need < codes_bytes(codes))
			break;
		q += need;
		base = ps->base[slot];
		for (unsigned int k = 1; k < EV_LANES; k++) {
			unsigned int code = (unsigned int)(codes >> (2 * k)) & 3;

			l[k] = base[k] + unzigzag(ld32(q) & code_mask[code]);
			q += code_len(code);
		}
		ps->prev0 = l[0];
		memcpy(base, l, sizeof(l));
		memcpy(&out[i], l, sizeof(l));
		pos = (size_t)(q - p);
	}
	*used = pos;
	return i;
}

/* ---- the file header ----------------------------------------------------------------------- */

static bool clock_ok(uint32_t id)
{
	switch (id) {
	case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_RAW:
	case CLOCK_REALTIME_COARSE: case CLOCK_MONOTONIC_COARSE: case CLOCK_BOOTTIME:
	case CLOCK_TAI:
		return true;
	}
	return false;
}

/* Check the header's fields (the writer's input and what the reader found: one set of rules).
 * Returns 0, or -EBADMSG with "FIELD (offset N) is VALUE: why" in why. */
static int header_check(const struct ioasid_trace_file_header *h, uint32_t chunk_events,
			char *why, size_t len)
{
	if (h->format_version != IOASID_TRACE_FILE_VERSION) {
		snprintf(why, len, "format_version (offset %u) is %u: this build reads version %u%s",
			 FH_FORMAT, h->format_version, IOASID_TRACE_FILE_VERSION,
			 h->format_version > IOASID_TRACE_FILE_VERSION ?
			 ": the file was written by a newer ioasid, read it with that" : "");
		return -EBADMSG;
	}
	if (h->event_version == 0 || h->event_version > IOASID_EVENT_VERSION) {
		snprintf(why, len, "event_version (offset %u) is %u: this build knows event "
			 "versions 1..%u%s", FH_EVENT_VERSION, h->event_version, IOASID_EVENT_VERSION,
			 h->event_version ? ": the records are newer than this ioasid, upgrade it" : "");
		return -EBADMSG;
	}
	if (h->event_size != EV_SIZE) {
		snprintf(why, len, "event_size (offset %u) is %u: records are %u bytes "
			 "(sizeof(struct ioasid_event))", FH_EVENT_SIZE, h->event_size, EV_SIZE);
		return -EBADMSG;
	}
	if (h->source_kind > 255) {
		snprintf(why, len, "source_kind (offset %u) is %u: not a source kind (0..255)",
			 FH_SOURCE_KIND, h->source_kind);
		return -EBADMSG;
	}
	if (!clock_ok(h->clock_id)) {
		snprintf(why, len, "clock_id (offset %u) is %u: not a wall or monotonic clock "
			 "(CLOCK_MONOTONIC is %d)", FH_CLOCK_ID, h->clock_id, CLOCK_MONOTONIC);
		return -EBADMSG;
	}
	if (chunk_events == 0 || chunk_events > IOASID_TRACE_CHUNK_MAX_EVENTS) {
		snprintf(why, len, "chunk_events (offset %u) is %u: must be 1..%u", FH_CHUNK_EVENTS,
			 chunk_events, IOASID_TRACE_CHUNK_MAX_EVENTS);
		return -EBADMSG;
	}
	return 0;
}

static void copy_field(char *dst, size_t dlen, const char *src, size_t slen)
{
	size_t n = src ? strnlen(src, slen) : 0;

	if (n >= dlen)
		n = dlen - 1;
	memset(dst, 0, dlen);
	if (n)
		memcpy(dst, src, n);
}

static void header_encode(unsigned char *b, const struct ioasid_trace_file_header *h,
			  uint32_t chunk_events)
{
	memset(b, 0, FH_SIZE);
	memcpy(b, FH_MAGIC, FH_MAGIC_LEN);
	st32(b + FH_FORMAT, h->format_version);
	st32(b + FH_HEADER_SIZE, FH_SIZE);
	st32(b + FH_EVENT_VERSION, h->event_version);
	st32(b + FH_EVENT_SIZE, h->event_size);
	st32(b + FH_SOURCE_KIND, h->source_kind);
	st32(b + FH_CLOCK_ID, h->clock_id);
	st64(b + FH_START_REALTIME, (uint64_t)h->start_realtime_ns);
	st64(b + FH_START_MONOTONIC, h->start_monotonic_ns);
	st32(b + FH_CHUNK_EVENTS, chunk_events);
	copy_field((char *)b + FH_SOURCE, sizeof(h->source), h->source, sizeof(h->source));
	copy_field((char *)b + FH_HOST, sizeof(h->host), h->host, sizeof(h->host));
	st32(b + FH_CRC, crc(b, FH_CRC));
}

/* Decode and check a header image. Returns 0 or -EBADMSG with the reason in why. */
static int header_decode(const unsigned char *b, struct ioasid_trace_file_header *h,
			 char *why, size_t len)
{
	uint32_t stored = ld32(b + FH_CRC), computed = crc(b, FH_CRC), v;

	if (stored != computed) {
		snprintf(why, len, "header CRC (offset %u) is 0x%08x but bytes 0..%u give 0x%08x: "
			 "the header is corrupt", FH_CRC, stored, FH_CRC - 1, computed);
		return -EBADMSG;
	}
	memset(h, 0, sizeof(*h));
	h->format_version = ld32(b + FH_FORMAT);
	h->event_version = ld32(b + FH_EVENT_VERSION);
	h->event_size = ld32(b + FH_EVENT_SIZE);
	h->source_kind = ld32(b + FH_SOURCE_KIND);
	h->clock_id = ld32(b + FH_CLOCK_ID);
	h->start_realtime_ns = (int64_t)ld64(b + FH_START_REALTIME);
	h->start_monotonic_ns = ld64(b + FH_START_MONOTONIC);
	if (header_check(h, ld32(b + FH_CHUNK_EVENTS), why, len))
		return -EBADMSG;
	if ((v = ld32(b + FH_HEADER_SIZE)) != FH_SIZE) {
		snprintf(why, len, "header_size (offset %u) is %u: version %u headers are %u bytes",
			 FH_HEADER_SIZE, v, IOASID_TRACE_FILE_VERSION, FH_SIZE);
		return -EBADMSG;
	}
	if ((v = ld32(b + FH_RESERVED1)) || (v = ld32(b + FH_RESERVED2))) {
		snprintf(why, len, "reserved (offset %u) is %u: must be 0",
			 ld32(b + FH_RESERVED1) ? FH_RESERVED1 : FH_RESERVED2, v);
		return -EBADMSG;
	}
	if (!memchr(b + FH_SOURCE, 0, sizeof(h->source)) || !memchr(b + FH_HOST, 0, sizeof(h->host))) {
		bool src = !memchr(b + FH_SOURCE, 0, sizeof(h->source));

		snprintf(why, len, "%s (offset %u) has no terminating NUL within its %zu bytes",
			 src ? "source" : "host", src ? FH_SOURCE : FH_HOST,
			 src ? sizeof(h->source) : sizeof(h->host));
		return -EBADMSG;
	}
	memcpy(h->source, b + FH_SOURCE, sizeof(h->source));
	memcpy(h->host, b + FH_HOST, sizeof(h->host));
	return 0;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void ioasid_trace_file_header_init(struct ioasid_trace_file_header *hdr,
				   enum ioasid_trace_kind kind, const char *source)
{
	struct utsname u;

	memset(hdr, 0, sizeof(*hdr));
	hdr->format_version = IOASID_TRACE_FILE_VERSION;
	hdr->event_version = IOASID_EVENT_VERSION;
	hdr->event_size = EV_SIZE;
	hdr->source_kind = (uint32_t)kind;
	hdr->clock_id = CLOCK_MONOTONIC;
	hdr->start_realtime_ns = (int64_t)clock_ns(CLOCK_REALTIME);
	hdr->start_monotonic_ns = clock_ns(CLOCK_MONOTONIC);
	copy_field(hdr->source, sizeof(hdr->source), source, sizeof(hdr->source));
	if (uname(&u) == 0)
		copy_field(hdr->host, sizeof(hdr->host), u.nodename, sizeof(u.nodename));
}

/* ---- writer --------------------------------------------------------------------------------- */
struct ioasid_trace_writer {
	int fd;
	int err;                      /* first error (negative errno), sticky */
	char *path;
	uint32_t chunk_events;        /* records per chunk */
	uint32_t n;                   /* records in the current chunk */
	uint32_t chunk_no;            /* number of the current chunk */
	uint64_t events;              /* records in written chunks */
	uint64_t off;                 /* file offset of the next chunk */
	struct ioasid_event *raw;     /* the current chunk, chunk_events records */
	unsigned char *packed;        /* PACK_MAX(chunk_events) + PACK_SLACK */
	unsigned char *out;           /* chunk header + compressed bytes */
	size_t out_cap;
	z_stream z;
	bool z_ready;
	struct pack_state ps;
};

/* Write all of buf at the current position. 0 or -errno. */
static int write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t k = write(fd, p, len);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

/* Record the writer's first error; cut the file back to the last complete chunk so that it
 * reads like a file whose writer stopped there. */
static int writer_fail(struct ioasid_trace_writer *w, int err, const char *what)
{
	if (!w->err) {
		w->err = err;
		trace_error(-err, "%s: %s at offset %llu failed: %s%s", w->path, what,
			    (unsigned long long)w->off, strerror(-err),
			    err == -ENOSPC || err == -EDQUOT ?
			    ": free space or record to another filesystem; the file keeps every "
			    "chunk written before" : "; the file keeps every chunk written before");
		if (ftruncate(w->fd, (off_t)w->off) == 0)
			lseek(w->fd, (off_t)w->off, SEEK_SET);
	}
	return w->err;
}

static void chunk_header_encode(unsigned char *b, const char *magic, uint32_t number,
				uint64_t first, uint32_t count, uint32_t packed, uint32_t comp,
				uint32_t comp_crc, uint32_t raw_crc, uint32_t codec)
{
	memcpy(b, magic, 4);
	st32(b + CH_NUMBER, number);
	st64(b + CH_FIRST_EVENT, first);
	st32(b + CH_COUNT, count);
	st32(b + CH_RAW_LEN, count * EV_SIZE);
	st32(b + CH_PACKED_LEN, packed);
	st32(b + CH_COMP_LEN, comp);
	st32(b + CH_COMP_CRC, comp_crc);
	st32(b + CH_RAW_CRC, raw_crc);
	st32(b + CH_CODEC, codec);
	st32(b + CH_CRC, crc(b, CH_CRC));
}

static int writer_flush_chunk(struct ioasid_trace_writer *w)
{
	size_t packed, comp;
	int rc;

	if (w->err)
		return w->err;
	if (!w->n)
		return 0;
	packed = pack_records(w->raw, w->n, w->packed, &w->ps);
	if (deflateReset(&w->z) != Z_OK)
		return writer_fail(w, -EIO, "compressing a chunk (deflateReset)");
	w->z.next_in = w->packed;
	w->z.avail_in = (uInt)packed;
	w->z.next_out = w->out + CH_SIZE;
	w->z.avail_out = (uInt)(w->out_cap - CH_SIZE);
	rc = deflate(&w->z, Z_FINISH);
	comp = w->out_cap - CH_SIZE - w->z.avail_out;
	if (rc != Z_STREAM_END || comp > comp_bound(packed))
		return writer_fail(w, -EOVERFLOW, "compressing a chunk (deflate)");
	chunk_header_encode(w->out, CH_MAGIC_CHUNK, w->chunk_no, w->events, w->n, (uint32_t)packed,
			    (uint32_t)comp, crc(w->out + CH_SIZE, comp),
			    crc(w->raw, (size_t)w->n * EV_SIZE), CODEC_DELTA_DEFLATE);
	rc = write_all(w->fd, w->out, CH_SIZE + comp);
	if (rc)
		return writer_fail(w, rc, "writing a chunk");
	w->off += CH_SIZE + comp;
	w->events += w->n;
	w->chunk_no++;
	w->n = 0;
	return 0;
}

#define OPT(o, field, def) \
	((o) && (o)->sz >= offsetof(__typeof__(*(o)), field) + sizeof((o)->field) ? (o)->field : (def))

int ioasid_trace_writer_open_opts(const char *path, const struct ioasid_trace_file_header *hdr,
				  const struct ioasid_trace_writer_opts *opts,
				  struct ioasid_trace_writer **out)
{
	unsigned char image[FH_SIZE];
	struct ioasid_trace_file_header h;
	struct ioasid_trace_writer *w;
	char why[256];
	int level, rc;

	if (!out)
		return trace_error(EINVAL, "trace writer: out is NULL");
	*out = NULL;
	if (!path || !*path)
		return trace_error(EINVAL, "trace writer: no file name given");
	if (opts && opts->sz < sizeof(opts->sz))
		return trace_error(EINVAL, "%s: writer options sz is %zu: set it to "
				   "sizeof(struct ioasid_trace_writer_opts) (%zu)", path, opts->sz,
				   sizeof(*opts));
	if (opts && opts->sz > sizeof(*opts)) {
		for (size_t i = sizeof(*opts); i < opts->sz; i++)
			if (((const unsigned char *)opts)[i])
				return trace_error(EINVAL, "%s: writer options set a field at byte %zu "
						   "that this build does not know: upgrade ioasid",
						   path, i);
	}
	level = OPT(opts, level, 0);
	if (!level)
		level = 1;
	if (level < 1 || level > 9)
		return trace_error(EINVAL, "%s: compression level %d: use 1 (fastest) .. 9", path,
				   level);

	if (hdr)
		h = *hdr;
	else
		ioasid_trace_file_header_init(&h, 0, NULL);
	h.format_version = IOASID_TRACE_FILE_VERSION;
	h.event_version = IOASID_EVENT_VERSION;
	h.event_size = EV_SIZE;

	w = calloc(1, sizeof(*w));
	if (!w)
		return trace_error(ENOMEM, "%s: out of memory for the trace writer", path);
	w->fd = -1;
	w->chunk_events = OPT(opts, chunk_events, 0) ? OPT(opts, chunk_events, 0)
						       : IOASID_TRACE_CHUNK_EVENTS;
	if (header_check(&h, w->chunk_events, why, sizeof(why))) {
		rc = trace_error(EINVAL, "%s: cannot record with this header: %s", path, why);
		goto err_free;
	}
	w->path = strdup(path);
	w->raw = malloc((size_t)w->chunk_events * EV_SIZE);
	w->packed = malloc(PACK_MAX(w->chunk_events) + PACK_SLACK);
	if (!w->path || !w->raw || !w->packed) {
		rc = trace_error(ENOMEM, "%s: out of memory for the trace writer", path);
		goto err_free;
	}
	/* Raw deflate (-15): the chunk CRCs replace zlib's adler32. */
	if (deflateInit2(&w->z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		rc = trace_error(ENOMEM, "%s: zlib deflateInit2 failed", path);
		goto err_free;
	}
	w->z_ready = true;
	w->out_cap = CH_SIZE + deflateBound(&w->z, (uLong)PACK_MAX(w->chunk_events));
	w->out = malloc(w->out_cap);
	if (!w->out) {
		rc = trace_error(ENOMEM, "%s: out of memory for the trace writer", path);
		goto err_free;
	}

	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		rc = -errno;
		trace_error(-rc, "%s: cannot create the trace file: %s%s", path, strerror(-rc),
			    rc == -ENOENT ? ": the directory does not exist" :
			    rc == -EACCES || rc == -EROFS ? ": choose a writable place" : "");
		goto err_free;
	}
	header_encode(image, &h, w->chunk_events);
	rc = write_all(w->fd, image, FH_SIZE);
	if (rc) {
		trace_error(-rc, "%s: writing the file header (offset 0, %u bytes) failed: %s", path,
			    FH_SIZE, strerror(-rc));
		goto err_close;
	}
	w->off = FH_SIZE;
	*out = w;
	return 0;

err_close:
	close(w->fd);
err_free:
	if (w->z_ready)
		deflateEnd(&w->z);
	free(w->out);
	free(w->packed);
	free(w->raw);
	free(w->path);
	free(w);
	return rc;
}

int ioasid_trace_writer_open(const char *path, const struct ioasid_trace_file_header *hdr,
			     struct ioasid_trace_writer **out)
{
	return ioasid_trace_writer_open_opts(path, hdr, NULL, out);
}

int ioasid_trace_writer_append(struct ioasid_trace_writer *w, const struct ioasid_event *ev)
{
	if (w->err)
		return w->err;
	memcpy(&w->raw[w->n++], ev, sizeof(*ev));
	return w->n == w->chunk_events ? writer_flush_chunk(w) : 0;
}

int ioasid_trace_writer_append_batch(struct ioasid_trace_writer *w, const struct ioasid_event *evs,
				     size_t n)
{
	while (n) {
		size_t k = w->chunk_events - w->n;
		int rc;

		if (w->err)
			return w->err;
		if (k > n)
			k = n;
		memcpy(&w->raw[w->n], evs, k * sizeof(*evs));
		w->n += (uint32_t)k;
		evs += k;
		n -= k;
		if (w->n == w->chunk_events && (rc = writer_flush_chunk(w)))
			return rc;
	}
	return w->err;
}

int ioasid_trace_writer_flush(struct ioasid_trace_writer *w)
{
	return writer_flush_chunk(w);
}

uint64_t ioasid_trace_writer_events(const struct ioasid_trace_writer *w)
{
	return w->events + w->n;
}

uint64_t ioasid_trace_writer_bytes(const struct ioasid_trace_writer *w)
{
	return w->off;
}

int ioasid_trace_writer_close(struct ioasid_trace_writer *w)
{
	unsigned char trailer[CH_SIZE];
	int rc;

	if (!w)
		return 0;
	writer_flush_chunk(w);
	if (!w->err) {
		memset(trailer, 0, sizeof(trailer));
		chunk_header_encode(trailer, CH_MAGIC_END, w->chunk_no, w->events, 0, 0, 0, 0, 0, 0);
		rc = write_all(w->fd, trailer, sizeof(trailer));
		if (rc)
			writer_fail(w, rc, "writing the end trailer");
		else
			w->off += sizeof(trailer);
	}
	if (close(w->fd) && !w->err) {
		w->err = -errno;
		trace_error(errno, "%s: closing the trace file failed: %s: the last chunks may not "
			    "have reached the disk", w->path, strerror(errno));
	}
	rc = w->err;
	deflateEnd(&w->z);
	free(w->out);
	free(w->packed);
	free(w->raw);
	free(w->path);
	free(w);
	return rc;
}

/* ---- reader --------------------------------------------------------------------------------- */
#define IN_MIN_CAP (256u * 1024)

struct ioasid_trace_reader {
	int fd;
	char *path;
	struct ioasid_trace_file_header hdr;

	/* input buffer: in[in_start..in_end) are the file's bytes from offset in_off */
	unsigned char *in;
	size_t in_cap, in_start, in_end;
	uint64_t in_off;
	bool in_eof;

	z_stream z;
	bool z_ready;
	unsigned char *packed;        /* PACK_MAX(max) + PACK_SLACK */
	struct ioasid_event *evs;     /* the decoded chunk */
	size_t cap_events;            /* records evs/packed have room for */
	size_t n, idx;                /* records in evs; next to deliver */

	uint32_t chunk_events;        /* the header's limit of records per chunk */
	uint32_t chunk_no;            /* number of the next chunk */
	uint64_t events_before;       /* records in the chunks before the next one */
	uint64_t delivered;
	int err;                      /* sticky error (negative errno) */
	int pending;                  /* error to return once evs[idx..n) are delivered */
	enum ioasid_trace_end end;
	char msg[512];
	struct pack_state ps;
};

static size_t in_avail(const struct ioasid_trace_reader *r)
{
	return r->in_end - r->in_start;
}

static void in_consume(struct ioasid_trace_reader *r, size_t n)
{
	r->in_start += n;
	r->in_off += n;
}

/* Make `need` bytes available (fewer only at the end of the file). need is bounded by the
 * caller: at most a chunk header plus comp_bound(PACK_MAX(IOASID_TRACE_CHUNK_MAX_EVENTS)),
 * about 520 KiB. 0 or -errno of read(2). */
static int in_fill(struct ioasid_trace_reader *r, size_t need)
{
	while (in_avail(r) < need && !r->in_eof) {
		ssize_t k;

		if (r->in_cap - r->in_start < need) {
			memmove(r->in, r->in + r->in_start, in_avail(r));
			r->in_end -= r->in_start;
			r->in_start = 0;
			if (r->in_cap < need) {
				size_t cap = r->in_cap * 2 > need ? r->in_cap * 2 : need;
				unsigned char *p = realloc(r->in, cap);

				if (!p)
					return -ENOMEM;
				r->in = p;
				r->in_cap = cap;
			}
		}
		k = read(r->fd, r->in + r->in_end, r->in_cap - r->in_end);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			r->in_eof = true;
		r->in_end += (size_t)k;
	}
	return 0;
}

/* Set the reader's sticky error: "<path>: <message>". Returns -err. */
static int __attribute__((format(printf, 4, 5)))
reader_fail(struct ioasid_trace_reader *r, int err, enum ioasid_trace_end end, const char *fmt, ...)
{
	size_t k = (size_t)snprintf(r->msg, sizeof(r->msg), "%s: ", r->path);
	va_list ap;

	if (k < sizeof(r->msg)) {
		va_start(ap, fmt);
		vsnprintf(r->msg + k, sizeof(r->msg) - k, fmt, ap);
		va_end(ap);
	}
	r->err = -err;
	r->end = end;
	trace_error(err, "%s", r->msg);
	return -err;
}

static int reader_io_fail(struct ioasid_trace_reader *r, int rc)
{
	return reader_fail(r, -rc, IOASID_TRACE_END_IO_ERROR, "read at offset %llu failed: %s",
			   (unsigned long long)(r->in_off + in_avail(r)), strerror(-rc));
}

/* "chunk N at offset X: <what>; E events before it were read" */
#define chunk_fail(r, off, fmt, ...)                                                            \
	reader_fail(r, EBADMSG, IOASID_TRACE_END_DAMAGED,                                        \
		    "chunk %u at offset %llu: " fmt "; %llu events before it were read",          \
		    (r)->chunk_no, (unsigned long long)(off), __VA_ARGS__,                         \
		    (unsigned long long)(r)->events_before)

static int reader_grow(struct ioasid_trace_reader *r, size_t count)
{
	void *evs, *packed;

	if (count <= r->cap_events)
		return 0;
	count = count < IOASID_TRACE_CHUNK_EVENTS ? IOASID_TRACE_CHUNK_EVENTS : count;
	evs = realloc(r->evs, count * EV_SIZE);
	if (evs)
		r->evs = evs;
	packed = realloc(r->packed, PACK_MAX(count) + PACK_SLACK);
	if (packed)
		r->packed = packed;
	if (!evs || !packed)
		return -ENOMEM;
	r->cap_events = count;
	return 0;
}

/* Inflate exactly `comp` bytes into `packed` bytes. Returns the bytes produced; *zrc: zlib's
 * verdict (Z_STREAM_END when the stream ended exactly there). */
static size_t inflate_chunk(struct ioasid_trace_reader *r, const unsigned char *src, size_t comp,
			    size_t packed, int *zrc)
{
	inflateReset(&r->z);
	r->z.next_in = (unsigned char *)src;
	r->z.avail_in = (uInt)comp;
	r->z.next_out = r->packed;
	r->z.avail_out = (uInt)packed;
	*zrc = inflate(&r->z, Z_FINISH);
	return packed - r->z.avail_out;
}

static int reader_trailer(struct ioasid_trace_reader *r, const unsigned char *h, uint64_t off)
{
	static const struct { uint32_t at; const char *name; } zero_fields[] = {
		{ CH_COUNT, "event count" }, { CH_RAW_LEN, "raw length" },
		{ CH_PACKED_LEN, "packed length" }, { CH_COMP_LEN, "compressed length" },
		{ CH_COMP_CRC, "compressed CRC" }, { CH_RAW_CRC, "raw CRC" }, { CH_CODEC, "codec" },
	};
	uint32_t chunks = ld32(h + CH_NUMBER);
	uint64_t events = ld64(h + CH_FIRST_EVENT);
	int rc;

	if (chunks != r->chunk_no || events != r->events_before)
		return reader_fail(r, EBADMSG, IOASID_TRACE_END_DAMAGED,
				   "end trailer at offset %llu: it counts %u chunks and %llu events "
				   "(offsets %llu, %llu) but the file holds %u chunks and %llu events "
				   "before it: a chunk is missing or duplicated; all %llu events were read",
				   (unsigned long long)off, chunks, (unsigned long long)events,
				   (unsigned long long)(off + CH_NUMBER),
				   (unsigned long long)(off + CH_FIRST_EVENT), r->chunk_no,
				   (unsigned long long)r->events_before,
				   (unsigned long long)r->events_before);
	for (size_t i = 0; i < sizeof(zero_fields) / sizeof(zero_fields[0]); i++) {
		uint32_t v = ld32(h + zero_fields[i].at);

		if (v)
			return reader_fail(r, EBADMSG, IOASID_TRACE_END_DAMAGED,
					   "end trailer at offset %llu: %s (offset %llu) is %u, must "
					   "be 0: the trailer is corrupt; all %llu events were read",
					   (unsigned long long)off, zero_fields[i].name,
					   (unsigned long long)(off + zero_fields[i].at), v,
					   (unsigned long long)r->events_before);
	}
	in_consume(r, CH_SIZE);
	rc = in_fill(r, 1);
	if (rc)
		return reader_io_fail(r, rc);
	if (in_avail(r)) {
		struct stat st;
		unsigned long long size = fstat(r->fd, &st) == 0 ? (unsigned long long)st.st_size
								    : r->in_off + in_avail(r);

		return reader_fail(r, EBADMSG, IOASID_TRACE_END_DAMAGED,
				   "%llu bytes follow the end trailer at offset %llu (file size %llu): "
				   "something was appended at offset %llu to a complete trace; all "
				   "%llu events were read", size - r->in_off, (unsigned long long)off,
				   size, (unsigned long long)r->in_off,
				   (unsigned long long)r->events_before);
	}
	r->end = IOASID_TRACE_END_CLEAN;
	r->err = 0;
	return 0;
}

/* Load the next chunk into evs. 1: records ready (possibly with a pending error after them);
 * 0: clean end; negative errno: error (sticky). */
static int reader_load(struct ioasid_trace_reader *r)
{
	uint64_t off = r->in_off;
	const unsigned char *h;
	uint32_t stored, computed, count, raw_len, packed, comp, codec, v;
	size_t avail, produced, used, got;
	int rc, zrc;

	rc = in_fill(r, CH_SIZE);
	if (rc)
		return reader_io_fail(r, rc);
	avail = in_avail(r);
	if (avail == 0) {
		if (r->chunk_no)
			return reader_fail(r, EBADMSG, IOASID_TRACE_END_NO_TRAILER,
					   "ends at offset %llu after chunk %u without the end trailer: "
					   "the writer did not close the file (crashed, killed or still "
					   "writing); all %llu events up to there were read",
					   (unsigned long long)off, r->chunk_no - 1,
					   (unsigned long long)r->events_before);
		return reader_fail(r, EBADMSG, IOASID_TRACE_END_NO_TRAILER,
				   "ends at offset %llu right after the file header, without chunks or "
				   "end trailer: the writer did not close the file (crashed, killed or "
				   "still writing); it holds no events", (unsigned long long)off);
	}
	if (avail < CH_SIZE)
		return chunk_fail(r, off, "the chunk header is cut short (%zu of %u bytes before "
				  "the end of the file, size %llu): the file is truncated", avail,
				  CH_SIZE, (unsigned long long)(off + avail));
	h = r->in + r->in_start;
	if (memcmp(h, CH_MAGIC_CHUNK, 4) && memcmp(h, CH_MAGIC_END, 4))
		return chunk_fail(r, off, "magic is %02x %02x %02x %02x, expected \"%s\" (chunk) or "
				  "\"%s\" (end trailer): the file is corrupt here", h[0], h[1], h[2],
				  h[3], CH_MAGIC_CHUNK, CH_MAGIC_END);
	stored = ld32(h + CH_CRC);
	computed = crc(h, CH_CRC);
	if (stored != computed)
		return chunk_fail(r, off, "header CRC (offset %llu) is 0x%08x but its bytes give "
				  "0x%08x: the chunk header is corrupt",
				  (unsigned long long)(off + CH_CRC), stored, computed);
	if (!memcmp(h, CH_MAGIC_END, 4))
		return reader_trailer(r, h, off);

	if ((v = ld32(h + CH_NUMBER)) != r->chunk_no)
		return chunk_fail(r, off, "chunk number (offset %llu) is %u, expected %u: a chunk "
				  "is duplicated, missing or out of order",
				  (unsigned long long)(off + CH_NUMBER), v, r->chunk_no);
	if (ld64(h + CH_FIRST_EVENT) != r->events_before)
		return chunk_fail(r, off, "first event number (offset %llu) is %llu, expected %llu: "
				  "a chunk is duplicated, missing or out of order",
				  (unsigned long long)(off + CH_FIRST_EVENT),
				  (unsigned long long)ld64(h + CH_FIRST_EVENT),
				  (unsigned long long)r->events_before);
	codec = ld32(h + CH_CODEC);
	if (codec != CODEC_DELTA_DEFLATE)
		return chunk_fail(r, off, "codec (offset %llu) is %u: this build knows codec %u "
				  "(delta + deflate); a newer ioasid wrote it",
				  (unsigned long long)(off + CH_CODEC), codec, CODEC_DELTA_DEFLATE);
	count = ld32(h + CH_COUNT);
	if (count == 0 || count > r->chunk_events)
		return chunk_fail(r, off, "event count (offset %llu) is %u: must be 1..%u (the "
				  "file header's chunk_events)", (unsigned long long)(off + CH_COUNT),
				  count, r->chunk_events);
	raw_len = ld32(h + CH_RAW_LEN);
	if (raw_len != count * EV_SIZE)
		return chunk_fail(r, off, "raw length (offset %llu) is %u, expected event count %u "
				  "x event size %u = %u", (unsigned long long)(off + CH_RAW_LEN),
				  raw_len, count, EV_SIZE, count * EV_SIZE);
	packed = ld32(h + CH_PACKED_LEN);
	if (packed < PACK_MIN(count) || packed > PACK_MAX(count))
		return chunk_fail(r, off, "packed length (offset %llu) is %u: %u events pack into "
				  "%zu..%zu bytes", (unsigned long long)(off + CH_PACKED_LEN), packed,
				  count, PACK_MIN(count), PACK_MAX(count));
	comp = ld32(h + CH_COMP_LEN);
	if (comp == 0 || comp > comp_bound(packed))
		return chunk_fail(r, off, "compressed length (offset %llu) is %u: %u packed bytes "
				  "deflate into 1..%zu bytes", (unsigned long long)(off + CH_COMP_LEN),
				  comp, packed, comp_bound(packed));
	if (reader_grow(r, count))
		return reader_fail(r, ENOMEM, IOASID_TRACE_END_IO_ERROR,
				   "chunk %u at offset %llu: out of memory for %u events", r->chunk_no,
				   (unsigned long long)off, count);

	rc = in_fill(r, CH_SIZE + (size_t)comp);
	if (rc)
		return reader_io_fail(r, rc);
	avail = in_avail(r);
	h = r->in + r->in_start;
	if (avail < CH_SIZE + (size_t)comp) {
		/* Cut short: inflate what is there; each complete record is a correct prefix. */
		produced = inflate_chunk(r, h + CH_SIZE, avail - CH_SIZE, packed, &zrc);
		got = unpack_records(r->packed, produced, r->evs, count, &used, &r->ps);
		/* All there after all (the length is what was cut): the raw CRC can vouch. */
		if (got == count && crc(r->evs, raw_len) != ld32(h + CH_RAW_CRC))
			got = 0;
		r->n = got;
		r->idx = 0;
		rc = chunk_fail(r, off, "compressed length %u runs past the end of the file (size "
				"%llu): the file is truncated (%zu of the chunk's %u events recovered "
				"from the %zu bytes that are there)", comp,
				(unsigned long long)(off + avail), got, count, avail - CH_SIZE);
		if (!got)
			return rc;
		r->pending = rc;
		r->err = 0;
		r->end = IOASID_TRACE_END_NONE;
		return 1;
	}
	stored = ld32(h + CH_COMP_CRC);
	computed = crc(h + CH_SIZE, comp);
	if (stored != computed)
		return chunk_fail(r, off, "CRC of the compressed bytes (offset %llu..%llu) is 0x%08x, "
				  "the chunk header says 0x%08x: the chunk data is corrupt",
				  (unsigned long long)(off + CH_SIZE),
				  (unsigned long long)(off + CH_SIZE + comp - 1), computed, stored);
	produced = inflate_chunk(r, h + CH_SIZE, comp, packed, &zrc);
	if (zrc != Z_STREAM_END || produced != packed || r->z.avail_in)
		return chunk_fail(r, off, "the compressed bytes (offset %llu..%llu) inflate to %zu "
				  "bytes, not the %u the header says (zlib: %s): the chunk is corrupt",
				  (unsigned long long)(off + CH_SIZE),
				  (unsigned long long)(off + CH_SIZE + comp - 1), produced, packed,
				  r->z.msg ? r->z.msg : zrc == Z_STREAM_END ? "ended early" : "incomplete");
	got = unpack_records(r->packed, packed, r->evs, count, &used, &r->ps);
	if (got != count || used != packed)
		return chunk_fail(r, off, "the packed records decode to %zu events in %zu bytes, not "
				  "%u events in %u bytes: the chunk is corrupt", got, used, count,
				  packed);
	stored = ld32(h + CH_RAW_CRC);
	computed = crc(r->evs, raw_len);
	if (stored != computed)
		return chunk_fail(r, off, "CRC of the decoded events is 0x%08x, the chunk header "
				  "(offset %llu) says 0x%08x: the chunk is corrupt", computed,
				  (unsigned long long)(off + CH_RAW_CRC), stored);
	in_consume(r, CH_SIZE + (size_t)comp);
	r->chunk_no++;
	r->events_before += count;
	r->n = count;
	r->idx = 0;
	return 1;
}

/* Make at least one record available. 1, 0 (clean end) or the (sticky) error. */
static int reader_ready(struct ioasid_trace_reader *r)
{
	if (r->idx < r->n)
		return 1;
	if (r->pending) {
		r->err = r->pending;
		r->pending = 0;
		r->end = IOASID_TRACE_END_DAMAGED;
		trace_error(-r->err, "%s", r->msg);
	}
	if (r->err || r->end == IOASID_TRACE_END_CLEAN)
		return r->err;
	r->n = r->idx = 0;
	return reader_load(r);
}

int ioasid_trace_reader_next(struct ioasid_trace_reader *r, struct ioasid_event *ev)
{
	int rc = reader_ready(r);

	if (rc <= 0)
		return rc;
	memcpy(ev, &r->evs[r->idx++], sizeof(*ev));
	r->delivered++;
	return 1;
}

int ioasid_trace_reader_next_batch(struct ioasid_trace_reader *r, const struct ioasid_event **evs,
				   size_t *n)
{
	int rc = reader_ready(r);

	if (rc <= 0) {
		*evs = NULL;
		*n = 0;
		return rc;
	}
	*evs = &r->evs[r->idx];
	*n = r->n - r->idx;
	r->delivered += *n;
	r->idx = r->n;
	return 1;
}

int ioasid_trace_reader_open(const char *path, struct ioasid_trace_reader **out)
{
	struct ioasid_trace_reader *r;
	char why[256];
	size_t avail;
	int rc;

	if (!out)
		return trace_error(EINVAL, "trace reader: out is NULL");
	*out = NULL;
	if (!path || !*path)
		return trace_error(EINVAL, "trace reader: no file name given");
	r = calloc(1, sizeof(*r));
	if (!r)
		return trace_error(ENOMEM, "%s: out of memory for the trace reader", path);
	r->fd = -1;
	r->path = strdup(path);
	r->in_cap = IN_MIN_CAP;
	r->in = malloc(r->in_cap);
	if (!r->path || !r->in || reader_grow(r, IOASID_TRACE_CHUNK_EVENTS)) {
		rc = trace_error(ENOMEM, "%s: out of memory for the trace reader", path);
		goto err_free;
	}
	if (inflateInit2(&r->z, -15) != Z_OK) {
		rc = trace_error(ENOMEM, "%s: zlib inflateInit2 failed", path);
		goto err_free;
	}
	r->z_ready = true;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		rc = -errno;
		trace_error(-rc, "%s: cannot open the trace file: %s%s", path, strerror(-rc),
			    rc == -ENOENT ? ": check the path" : "");
		goto err_free;
	}
	rc = in_fill(r, FH_SIZE);
	if (rc) {
		trace_error(-rc, "%s: read at offset 0 failed: %s", path, strerror(-rc));
		goto err_free;
	}
	avail = in_avail(r);
	if (memcmp(r->in, FH_MAGIC, avail < FH_MAGIC_LEN ? avail : FH_MAGIC_LEN) || !avail) {
		rc = trace_error(EBADMSG, "%s: not an ioasid trace file (offset 0: %s): replay a file "
				 "recorded by ioasid-trace", path,
				 avail ? "no \"" FH_MAGIC "\" magic" : "the file is empty");
		goto err_free;
	}
	if (avail < FH_SIZE) {
		rc = trace_error(EBADMSG, "%s: the file header is cut short at offset %zu (size %zu, "
				 "the header is %u bytes): the file is truncated", path, avail, avail,
				 FH_SIZE);
		goto err_free;
	}
	if (header_decode(r->in, &r->hdr, why, sizeof(why))) {
		rc = trace_error(EBADMSG, "%s: bad file header: %s", path, why);
		goto err_free;
	}
	r->chunk_events = ld32(r->in + FH_CHUNK_EVENTS);   /* checked by header_decode */
	in_consume(r, FH_SIZE);
	*out = r;
	return 0;

err_free:
	ioasid_trace_reader_close(r);
	return rc;
}

const struct ioasid_trace_file_header *ioasid_trace_reader_header(const struct ioasid_trace_reader *r)
{
	return &r->hdr;
}

const char *ioasid_trace_reader_error(const struct ioasid_trace_reader *r)
{
	return r->err ? r->msg : "";
}

uint64_t ioasid_trace_reader_events(const struct ioasid_trace_reader *r)
{
	return r->delivered;
}

enum ioasid_trace_end ioasid_trace_reader_end(const struct ioasid_trace_reader *r)
{
	return r->end;
}

void ioasid_trace_reader_close(struct ioasid_trace_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->z_ready)
		inflateEnd(&r->z);
	free(r->evs);
	free(r->packed);
	free(r->in);
	free(r->path);
	free(r);
}
