/* test_trace_file.c — trace files (src/trace/trace_file.c): record → replay byte-identical, the
 * header, writers that die or hit I/O errors, and a reader that meets damaged files.
 *
 * Round trips use random bytes in every field (nothing in a record is special to the format)
 * at the sizes around a chunk (0, 1, 511, 512, 513) and 100 000, read with next and with
 * next_batch. The fuzz tests damage one valid file in many deterministic ways — bit flips,
 * truncation at every offset through the header and the first chunks, lengths overwritten
 * (with and without a fixed-up CRC), chunks zeroed / duplicated / dropped / swapped, garbage
 * appended — and check each time what the format promises: -EBADMSG, an error naming an
 * offset, the events returned are a prefix of the original, and every event of every chunk
 * that ends before the damage was returned.
 *
 * Files live in /tmp as "ioasid-tf-<pid>-<n>" and are removed by the fixture.
 */
#include <criterion/criterion.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "ioasid/trace_file.h"

#define assert_rc(expected, expr)                                                             \
	do {                                                                                  \
		int rc__ = (expr);                                                            \
		cr_assert_eq(rc__, (expected), "%s: got %d (%s), expected %d (%s); last error: %s", \
			     #expr, rc__, strerror(-rc__), (expected), strerror(-(expected)),   \
			     ioasid_trace_last_error());                                        \
	} while (0)

/* The byte layout the tests poke at (the design note of src/trace/trace_file.c). */
#define FH_SIZE 256
#define CH_SIZE 48
#define CH_COUNT 16
#define CH_RAW_LEN 20
#define CH_PACKED_LEN 24
#define CH_COMP_LEN 28
#define CH_CRC 44

/* ---- helpers --------------------------------------------------------------------------------- */
static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
	rng_state = s ? s : 0x9e3779b97f4a7c15ULL;
}

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint64_t rng_below(uint64_t n)
{
	return n ? rng() % n : 0;
}

static char paths[64][64];
static int npaths;

static const char *tmp_path(void)
{
	cr_assert_lt(npaths, 64);
	snprintf(paths[npaths], sizeof(paths[0]), "/tmp/ioasid-tf-%d-%d", (int)getpid(), npaths);
	return paths[npaths++];
}

static void cleanup(void)
{
	for (int i = 0; i < npaths; i++)
		unlink(paths[i]);
	npaths = 0;
}

TestSuite(trace_file, .fini = cleanup);

static struct ioasid_event *random_events(size_t n, uint64_t seed)
{
	struct ioasid_event *ev = malloc((n ? n : 1) * sizeof(*ev));
	uint64_t *w = (uint64_t *)ev;

	cr_assert(ev);
	rng_seed(seed);
	for (size_t i = 0; i < n * sizeof(*ev) / 8; i++)
		w[i] = rng();
	return ev;
}

/* A realistic stream: map / unmap pairs on one IOAS, stepping IOVAs and timestamps, with an
 * occasional refused map, attach or invalidation; `noise` > 0 randomizes one field in every
 * `noise` events. */
static struct ioasid_event *stream_events(size_t n, uint64_t seed, unsigned int noise)
{
	struct ioasid_event *ev = calloc(n ? n : 1, sizeof(*ev));
	uint64_t ts = 1000000000, iova = 0x100000;

	cr_assert(ev);
	rng_seed(seed);
	for (size_t i = 0; i < n; i++) {
		struct ioasid_event *e = &ev[i];

		e->type = i % 2 ? IOASID_EV_IOAS_UNMAP : IOASID_EV_IOAS_MAP;
		e->source = IOASID_SRC_REFERENCE;
		e->version = IOASID_EVENT_VERSION;
		e->seq = i;
		ts += 200 + rng_below(100);
		e->ts_ns = ts;
		e->pid = 4242;
		e->tid = 4242 + (uint32_t)rng_below(4);
		e->ctx = 0x5555deadbeef0001ULL;
		e->obj = 1;
		e->iova = iova;
		e->length = 0x200000;
		e->value = i % 2 ? 0x200000 : 512;
		e->aux = 3;
		e->latency_ns = 1000 + rng_below(2000);
		if (i % 2)
			iova += 0x200000;
		if (i % 97 == 5) {
			e->type = IOASID_EV_DEV_ATTACH;
			e->dev = 1;
			e->pt = 2;
			e->iommu = 1;
			e->domain = 7;
			snprintf(e->name, sizeof(e->name), "0000:00:1f.6");
		}
		if (i % 113 == 7) {
			e->result = -EBUSY;
			e->flags = IOASID_EVF_REFUSED;
		}
		if (noise && i % noise == 0)
			((uint64_t *)e)[rng_below(16)] = rng();
	}
	return ev;
}

static void write_events_opts(const char *path, const struct ioasid_event *ev, size_t n,
			      unsigned int chunk_events)
{
	struct ioasid_trace_writer_opts o = { .sz = sizeof(o), .chunk_events = chunk_events };
	struct ioasid_trace_writer *w;

	assert_rc(0, ioasid_trace_writer_open_opts(path, NULL, &o, &w));
	for (size_t i = 0; i < n; i++)
		assert_rc(0, ioasid_trace_writer_append(w, &ev[i]));
	cr_assert_eq(ioasid_trace_writer_events(w), n);
	assert_rc(0, ioasid_trace_writer_close(w));
}

static void write_events(const char *path, const struct ioasid_event *ev, size_t n)
{
	write_events_opts(path, ev, n, 0);
}

struct readout {
	int open_rc;                 /* reader_open's */
	int rc;                      /* the last next / next_batch */
	size_t n;                    /* events read */
	enum ioasid_trace_end end;
	char msg[600];
};

/* Read everything into out (room for cap events; more is a failure). */
static struct readout read_events(const char *path, struct ioasid_event *out, size_t cap,
				  bool batch)
{
	struct readout ro = { 0 };
	struct ioasid_trace_reader *r;

	ro.open_rc = ioasid_trace_reader_open(path, &r);
	if (ro.open_rc) {
		ro.rc = ro.open_rc;
		snprintf(ro.msg, sizeof(ro.msg), "%s", ioasid_trace_last_error());
		return ro;
	}
	for (;;) {
		if (batch) {
			const struct ioasid_event *evs;
			size_t k;

			ro.rc = ioasid_trace_reader_next_batch(r, &evs, &k);
			if (ro.rc != 1) {
				cr_assert_eq(k, 0);
				break;
			}
			cr_assert_gt(k, 0);
			cr_assert_leq(ro.n + k, cap, "more events than were written");
			memcpy(out + ro.n, evs, k * sizeof(*evs));
			ro.n += k;
		} else {
			struct ioasid_event ev;

			ro.rc = ioasid_trace_reader_next(r, &ev);
			if (ro.rc != 1)
				break;
			cr_assert_lt(ro.n, cap, "more events than were written");
			out[ro.n++] = ev;
		}
	}
	cr_assert_eq(ioasid_trace_reader_events(r), ro.n);
	ro.end = ioasid_trace_reader_end(r);
	snprintf(ro.msg, sizeof(ro.msg), "%s", ioasid_trace_reader_error(r));
	if (ro.rc < 0)
		cr_assert_str_eq(ro.msg, ioasid_trace_last_error());
	/* errors are sticky */
	{
		struct ioasid_event ev;

		cr_assert_eq(ioasid_trace_reader_next(r, &ev), ro.rc < 0 ? ro.rc : 0);
		cr_assert_eq(ioasid_trace_reader_events(r), ro.n);
	}
	ioasid_trace_reader_close(r);
	return ro;
}

static unsigned char *slurp(const char *path, size_t *size)
{
	struct stat st;
	unsigned char *buf;
	int fd = open(path, O_RDONLY);

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	cr_assert(buf);
	cr_assert_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*size = (size_t)st.st_size;
	return buf;
}

static void spit(const char *path, const void *buf, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, buf, size), (ssize_t)size);
	close(fd);
}

static uint32_t ld32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void st32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void fix_crc(unsigned char *p, size_t crc_at)
{
	st32(p + crc_at, (uint32_t)crc32(0, p, (uInt)crc_at));
}

/* "offset" followed (after a space or "s ") by a number. */
static bool names_offset(const char *msg)
{
	for (const char *p = strstr(msg, "offset"); p; p = strstr(p + 1, "offset")) {
		const char *q = p + 6;

		while (*q == ' ' || *q == 's')
			q++;
		if (isdigit((unsigned char)*q))
			return true;
	}
	return false;
}

static void assert_same(const struct ioasid_event *a, const struct ioasid_event *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(memcmp(&a[i], &b[i], sizeof(*a)), 0, "event %zu differs", i);
}

/* ---- round trips ------------------------------------------------------------------------------ */
static void round_trip(size_t n, uint64_t seed)
{
	const char *path = tmp_path();
	struct ioasid_event *ev = random_events(n, seed), *back = malloc((n + 1) * sizeof(*back));
	struct readout ro;

	write_events(path, ev, n);
	for (int batch = 0; batch < 2; batch++) {
		memset(back, 0, (n + 1) * sizeof(*back));
		ro = read_events(path, back, n, batch);
		assert_rc(0, ro.rc);
		cr_assert_eq(ro.n, n, "%zu events read, %zu written (%s)", ro.n, n,
			     batch ? "next_batch" : "next");
		cr_assert_eq(ro.end, IOASID_TRACE_END_CLEAN);
		cr_assert_str_empty(ro.msg);
		assert_same(ev, back, n);
	}
	free(back);
	free(ev);
}

Test(trace_file, round_trip_0)      { round_trip(0, 1); }
Test(trace_file, round_trip_1)      { round_trip(1, 2); }
Test(trace_file, round_trip_511)    { round_trip(511, 3); }
Test(trace_file, round_trip_512)    { round_trip(512, 4); }
Test(trace_file, round_trip_513)    { round_trip(513, 5); }
Test(trace_file, round_trip_100000) { round_trip(100000, 6); }

Test(trace_file, round_trip_stream_compresses)
{
	const size_t n = 100000;
	const char *path = tmp_path();
	struct ioasid_event *ev = stream_events(n, 7, 0), *back = malloc(n * sizeof(*back));
	struct readout ro;
	size_t size;

	write_events(path, ev, n);
	free(slurp(path, &size));
	cr_assert_lt(size, n * 16, "%zu bytes for %zu events: the stream should pack to < 16 "
		     "bytes/event", size, n);
	ro = read_events(path, back, n, true);
	assert_rc(0, ro.rc);
	cr_assert_eq(ro.n, n);
	assert_same(ev, back, n);
	free(back);
	free(ev);
}

/* The packing's corners: every 32-bit lane stepping by each length-code boundary, up and
 * down, the type changing or not, many types in one chunk. */
Test(trace_file, round_trip_codec_boundaries)
{
	static const uint32_t steps[] = { 0, 1, 0x3f, 0x40, 0x7f, 0x80, 0xff, 0x100, 0x7fff,
					  0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000,
					  0xffffffff };
	const size_t nsteps = sizeof(steps) / sizeof(steps[0]), n = 32 * nsteps * 2 * 3;
	const char *path = tmp_path();
	struct ioasid_event *ev = calloc(n, sizeof(*ev)), *back = malloc(n * sizeof(*back));
	uint32_t lanes[32] = { 0 };
	size_t i = 0;
	struct readout ro;

	for (unsigned int lane = 0; lane < 32; lane++)
		for (size_t s = 0; s < nsteps; s++)
			for (int sign = 0; sign < 2; sign++)
				for (int type = 0; type < 3; type++) {
					lanes[lane] += sign ? -steps[s] : steps[s];
					if (lane && type)   /* lane 0 holds the type */
						lanes[0] = (lanes[0] & ~0xffffu) | (uint32_t)(type * 65 + lane);
					memcpy(&ev[i++], lanes, sizeof(lanes));
				}
	cr_assert_eq(i, n);
	for (unsigned int chunk = 1; chunk <= 4096; chunk *= 8) {
		write_events_opts(path, ev, n, chunk);
		ro = read_events(path, back, n, chunk % 2);
		assert_rc(0, ro.rc);
		cr_assert_eq(ro.n, n);
		assert_same(ev, back, n);
	}
	free(back);
	free(ev);
}

/* Every chunk size, every level, append vs append_batch: same records back. */
Test(trace_file, chunk_sizes_levels_and_batches)
{
	static const unsigned int chunks[] = { 1, 2, 7, 512, 4096 };
	const size_t n = 5000;
	struct ioasid_event *ev = stream_events(n, 8, 3), *back = malloc(n * sizeof(*back));
	const char *p1 = tmp_path(), *p2 = tmp_path();

	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		for (int level = 1; level <= 9; level += 4) {
			struct ioasid_trace_writer_opts o = { .sz = sizeof(o), .chunk_events = chunks[c],
							      .level = level };
			struct ioasid_trace_writer *w;
			unsigned char *a, *b;
			size_t sa, sb;
			struct readout ro;

			/* one at a time */
			assert_rc(0, ioasid_trace_writer_open_opts(p1, NULL, &o, &w));
			for (size_t i = 0; i < n; i++)
				assert_rc(0, ioasid_trace_writer_append(w, &ev[i]));
			assert_rc(0, ioasid_trace_writer_close(w));
			/* in uneven batches */
			assert_rc(0, ioasid_trace_writer_open_opts(p2, NULL, &o, &w));
			for (size_t i = 0, k; i < n; i += k) {
				k = 1 + (i * 7) % 1000;
				if (k > n - i)
					k = n - i;
				assert_rc(0, ioasid_trace_writer_append_batch(w, &ev[i], k));
			}
			assert_rc(0, ioasid_trace_writer_close(w));

			ro = read_events(p1, back, n, c % 2);
			assert_rc(0, ro.rc);
			cr_assert_eq(ro.n, n);
			assert_same(ev, back, n);
			/* the same records in the same chunks: the same bytes, bar the start times */
			a = slurp(p1, &sa);
			b = slurp(p2, &sb);
			cr_assert_eq(sa, sb);
			cr_assert_eq(memcmp(a + FH_SIZE, b + FH_SIZE, sa - FH_SIZE), 0,
				     "chunk %u level %d: append and append_batch differ", chunks[c],
				     level);
			free(a);
			free(b);
		}
	}
	free(back);
	free(ev);
}

Test(trace_file, next_and_next_batch_mix)
{
	const size_t n = 1500;
	const char *path = tmp_path();
	struct ioasid_event *ev = random_events(n, 9), *back = malloc(n * sizeof(*back));
	struct ioasid_trace_reader *r;
	const struct ioasid_event *evs;
	size_t got = 0, k;
	int rc, step = 0;

	write_events(path, ev, n);
	assert_rc(0, ioasid_trace_reader_open(path, &r));
	for (;;) {
		if (step++ % 3 == 0) {
			rc = ioasid_trace_reader_next(r, &back[got]);
			if (rc != 1)
				break;
			got++;
		} else {
			rc = ioasid_trace_reader_next_batch(r, &evs, &k);
			if (rc != 1)
				break;
			memcpy(&back[got], evs, k * sizeof(*evs));
			got += k;
		}
		cr_assert_eq(ioasid_trace_reader_events(r), got);
	}
	assert_rc(0, rc);
	cr_assert_eq(got, n);
	assert_same(ev, back, n);
	/* the clean end repeats */
	assert_rc(0, ioasid_trace_reader_next_batch(r, &evs, &k));
	cr_assert_eq(k, 0);
	cr_assert_null(evs);
	ioasid_trace_reader_close(r);
	free(back);
	free(ev);
}

/* ---- the header ------------------------------------------------------------------------------- */
Test(trace_file, header_round_trip)
{
	const char *path = tmp_path();
	struct ioasid_trace_file_header h = { 0 };
	const struct ioasid_trace_file_header *got;
	struct ioasid_trace_reader *r;
	struct ioasid_trace_writer *w;
	struct ioasid_event ev = { .type = IOASID_EV_CTX_OPEN };

	h.format_version = 77;      /* the writer's to fill, whatever the caller says */
	h.event_version = 99;
	h.event_size = 1;
	h.source_kind = IOASID_TRACE_LAUNCH;
	h.clock_id = CLOCK_MONOTONIC;
	h.start_realtime_ns = -5;
	h.start_monotonic_ns = 0xfedcba9876543210ULL;
	snprintf(h.source, sizeof(h.source), "launch: ./vmm --foo \"bar\"");
	memset(h.host, 'h', sizeof(h.host));   /* not terminated: cut to 63 bytes */
	assert_rc(0, ioasid_trace_writer_open(path, &h, &w));
	assert_rc(0, ioasid_trace_writer_append(w, &ev));
	assert_rc(0, ioasid_trace_writer_close(w));

	assert_rc(0, ioasid_trace_reader_open(path, &r));
	got = ioasid_trace_reader_header(r);
	cr_assert_eq(got->format_version, IOASID_TRACE_FILE_VERSION);
	cr_assert_eq(got->event_version, IOASID_EVENT_VERSION);
	cr_assert_eq(got->event_size, sizeof(struct ioasid_event));
	cr_assert_eq(got->source_kind, IOASID_TRACE_LAUNCH);
	cr_assert_eq(got->clock_id, CLOCK_MONOTONIC);
	cr_assert_eq(got->start_realtime_ns, -5);
	cr_assert_eq(got->start_monotonic_ns, 0xfedcba9876543210ULL);
	cr_assert_str_eq(got->source, "launch: ./vmm --foo \"bar\"");
	cr_assert_eq(strlen(got->host), sizeof(h.host) - 1);
	ioasid_trace_reader_close(r);
}

Test(trace_file, header_init_and_null_header)
{
	const char *path = tmp_path();
	struct ioasid_trace_file_header h;
	const struct ioasid_trace_file_header *got;
	struct ioasid_trace_reader *r;
	struct ioasid_trace_writer *w;
	struct timespec ts;
	char host[256];

	ioasid_trace_file_header_init(&h, IOASID_TRACE_KERNEL, "kernel 6.18.0");
	clock_gettime(CLOCK_MONOTONIC, &ts);
	cr_assert_eq(h.clock_id, CLOCK_MONOTONIC);
	cr_assert_eq(h.source_kind, IOASID_TRACE_KERNEL);
	cr_assert_str_eq(h.source, "kernel 6.18.0");
	cr_assert_gt(h.start_realtime_ns, 1500000000LL * 1000000000LL);
	cr_assert_leq(h.start_monotonic_ns, (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec);
	gethostname(host, sizeof(host));
	cr_assert_eq(strncmp(h.host, host, sizeof(h.host) - 1), 0);

	/* NULL: a header for "now", kind 0 */
	assert_rc(0, ioasid_trace_writer_open(path, NULL, &w));
	assert_rc(0, ioasid_trace_writer_close(w));
	assert_rc(0, ioasid_trace_reader_open(path, &r));
	got = ioasid_trace_reader_header(r);
	cr_assert_eq(got->source_kind, 0);
	cr_assert_eq(got->clock_id, CLOCK_MONOTONIC);
	cr_assert_gt(got->start_monotonic_ns, 0);
	ioasid_trace_reader_close(r);
}

/* A header with one field changed and its CRC fixed: refused, naming the field and value. */
static void header_field_refused(size_t at, uint32_t value, const char *field, const char *offset)
{
	const char *path = tmp_path();
	struct ioasid_event ev = { 0 };
	unsigned char *buf;
	size_t size;
	struct readout ro;
	char want[64];

	write_events(path, &ev, 1);
	buf = slurp(path, &size);
	st32(buf + at, value);
	fix_crc(buf, 252);
	spit(path, buf, size);
	ro = read_events(path, &ev, 1, false);
	assert_rc(-EBADMSG, ro.open_rc);
	cr_assert(strstr(ro.msg, field), "message lacks \"%s\": %s", field, ro.msg);
	snprintf(want, sizeof(want), "is %u", value);
	cr_assert(strstr(ro.msg, want), "message lacks \"%s\": %s", want, ro.msg);
	cr_assert(strstr(ro.msg, offset), "message lacks \"%s\": %s", offset, ro.msg);
	cr_assert(strstr(ro.msg, path), "message lacks the file name: %s", ro.msg);
	free(buf);
}

Test(trace_file, header_fields_refused)
{
	header_field_refused(8, 2, "format_version", "offset 8");
	header_field_refused(8, 0, "format_version", "offset 8");
	header_field_refused(12, 512, "header_size", "offset 12");
	header_field_refused(16, IOASID_EVENT_VERSION + 1, "event_version", "offset 16");
	header_field_refused(16, 0, "event_version", "offset 16");
	header_field_refused(20, 64, "event_size", "offset 20");
	header_field_refused(20, 0xffffffff, "event_size", "offset 20");
	header_field_refused(24, 100000, "source_kind", "offset 24");
	header_field_refused(28, 99, "clock_id", "offset 28");
	header_field_refused(48, 0, "chunk_events", "offset 48");
	header_field_refused(48, IOASID_TRACE_CHUNK_MAX_EVENTS + 1, "chunk_events", "offset 48");
	header_field_refused(52, 1, "reserved", "offset 52");
	header_field_refused(248, 1, "reserved", "offset 248");
}

Test(trace_file, header_strings_must_be_terminated)
{
	const char *path = tmp_path();
	struct ioasid_event ev = { 0 };
	unsigned char *buf;
	size_t size;
	struct readout ro;

	write_events(path, &ev, 1);
	buf = slurp(path, &size);
	memset(buf + 56, 'x', 128);
	fix_crc(buf, 252);
	spit(path, buf, size);
	ro = read_events(path, &ev, 1, false);
	assert_rc(-EBADMSG, ro.open_rc);
	cr_assert(strstr(ro.msg, "source (offset 56)"), "%s", ro.msg);
	free(buf);
}

Test(trace_file, header_crc_checked)
{
	const char *path = tmp_path();
	struct ioasid_event ev = { 0 };
	unsigned char *buf;
	size_t size;
	struct readout ro;

	write_events(path, &ev, 1);
	buf = slurp(path, &size);
	buf[100] ^= 0x10;              /* inside source: no field check would notice */
	spit(path, buf, size);
	ro = read_events(path, &ev, 1, false);
	assert_rc(-EBADMSG, ro.open_rc);
	cr_assert(strstr(ro.msg, "header CRC (offset 252)"), "%s", ro.msg);
	free(buf);
}

/* ---- files that are not trace files ----------------------------------------------------------- */
Test(trace_file, missing_file)
{
	struct ioasid_trace_reader *r = (void *)1;

	assert_rc(-ENOENT, ioasid_trace_reader_open("/tmp/ioasid-tf-no-such-file", &r));
	cr_assert_null(r);
	cr_assert(strstr(ioasid_trace_last_error(), "/tmp/ioasid-tf-no-such-file"), "%s",
		  ioasid_trace_last_error());
}

Test(trace_file, not_a_trace_file)
{
	const char *path = tmp_path();
	char text[4096];
	struct ioasid_trace_reader *r;

	memset(text, 'a', sizeof(text));
	spit(path, text, sizeof(text));
	assert_rc(-EBADMSG, ioasid_trace_reader_open(path, &r));
	cr_assert(strstr(ioasid_trace_last_error(), "not an ioasid trace file"), "%s",
		  ioasid_trace_last_error());
	cr_assert(names_offset(ioasid_trace_last_error()), "%s", ioasid_trace_last_error());

	spit(path, "", 0);
	assert_rc(-EBADMSG, ioasid_trace_reader_open(path, &r));
	cr_assert(strstr(ioasid_trace_last_error(), "empty"), "%s", ioasid_trace_last_error());

	spit(path, "ioasidTR", 8);     /* the magic and nothing else */
	assert_rc(-EBADMSG, ioasid_trace_reader_open(path, &r));
	cr_assert(strstr(ioasid_trace_last_error(), "truncated"), "%s", ioasid_trace_last_error());

	assert_rc(-EISDIR, ioasid_trace_reader_open("/tmp", &r));
	assert_rc(-EINVAL, ioasid_trace_reader_open("", &r));
}

/* ---- writers that stop early -------------------------------------------------------------------- */

/* Copy the file as it is now: what a crash at this point would leave. */
static void snapshot(const char *from, const char *to)
{
	size_t size;
	unsigned char *buf = slurp(from, &size);

	spit(to, buf, size);
	free(buf);
}

Test(trace_file, writer_crash_reads_to_last_chunk)
{
	const size_t n = 2000;
	const char *path = tmp_path(), *crash = tmp_path();
	struct ioasid_event *ev = random_events(n, 10), *back = malloc(n * sizeof(*back));
	struct ioasid_trace_writer *w;
	struct readout ro;

	assert_rc(0, ioasid_trace_writer_open(path, NULL, &w));
	/* header only */
	snapshot(path, crash);
	ro = read_events(crash, back, n, false);
	assert_rc(0, ro.open_rc);
	assert_rc(-EBADMSG, ro.rc);
	cr_assert_eq(ro.n, 0);
	cr_assert_eq(ro.end, IOASID_TRACE_END_NO_TRAILER);
	cr_assert(strstr(ro.msg, "without chunks or end trailer"), "%s", ro.msg);
	cr_assert(names_offset(ro.msg), "%s", ro.msg);

	/* 1024 events in two full chunks, 300 more in the writer's buffer */
	for (size_t i = 0; i < 1324; i++)
		assert_rc(0, ioasid_trace_writer_append(w, &ev[i]));
	snapshot(path, crash);
	ro = read_events(crash, back, n, true);
	assert_rc(-EBADMSG, ro.rc);
	cr_assert_eq(ro.n, 1024);
	assert_same(ev, back, ro.n);
	cr_assert_eq(ro.end, IOASID_TRACE_END_NO_TRAILER);
	cr_assert(strstr(ro.msg, "without the end trailer"), "%s", ro.msg);
	cr_assert(strstr(ro.msg, "all 1024 events"), "%s", ro.msg);

	/* flush: the 300 are readable while the writer is still open */
	assert_rc(0, ioasid_trace_writer_flush(w));
	assert_rc(0, ioasid_trace_writer_flush(w));      /* nothing pending: no empty chunk */
	snapshot(path, crash);
	ro = read_events(crash, back, n, false);
	assert_rc(-EBADMSG, ro.rc);
	cr_assert_eq(ro.n, 1324);
	assert_same(ev, back, ro.n);
	cr_assert_eq(ro.end, IOASID_TRACE_END_NO_TRAILER);

	for (size_t i = 1324; i < n; i++)
		assert_rc(0, ioasid_trace_writer_append(w, &ev[i]));
	cr_assert_eq(ioasid_trace_writer_events(w), n);
	assert_rc(0, ioasid_trace_writer_close(w));
	ro = read_events(path, back, n, false);
	assert_rc(0, ro.rc);
	cr_assert_eq(ro.n, n);
	cr_assert_eq(ro.end, IOASID_TRACE_END_CLEAN);
	assert_same(ev, back, n);
	free(back);
	free(ev);
}

Test(trace_file, truncated_last_chunk_gives_its_complete_events)
{
	const size_t n = 1000;       /* chunks of 512 and 488 */
	const char *path = tmp_path();
	struct ioasid_event *ev = stream_events(n, 11, 5), *back = malloc(n * sizeof(*back));
	unsigned char *buf;
	size_t size, chunk1;
	struct readout ro;

	write_events(path, ev, n);
	buf = slurp(path, &size);
	chunk1 = FH_SIZE + CH_SIZE + ld32(buf + FH_SIZE + CH_COMP_LEN);
	/* cut 20 bytes before the end of the second chunk (and its trailer) */
	spit(path, buf, size - CH_SIZE - 20);
	ro = read_events(path, back, n, true);
	assert_rc(-EBADMSG, ro.rc);
	cr_assert_eq(ro.end, IOASID_TRACE_END_DAMAGED);
	cr_assert_gt(ro.n, 512, "nothing recovered from the cut chunk: %s", ro.msg);
	cr_assert_lt(ro.n, n);
	assert_same(ev, back, ro.n);
	cr_assert(strstr(ro.msg, "chunk 1 at offset"), "%s", ro.msg);
	cr_assert(strstr(ro.msg, "runs past the end of the file"), "%s", ro.msg);
	cr_assert(strstr(ro.msg, "the file is truncated"), "%s", ro.msg);
	cr_assert(strstr(ro.msg, "512 events before it were read"), "%s", ro.msg);
	{
		char want[64];

		snprintf(want, sizeof(want), "at offset %zu", chunk1);
		cr_assert(strstr(ro.msg, want), "no \"%s\" in %s", want, ro.msg);
	}
	free(buf);
	free(back);
	free(ev);
}

Test(trace_file, writer_refuses_bad_arguments)
{
	const char *path = tmp_path();
	struct ioasid_trace_writer_opts o = { .sz = sizeof(o) };
	struct ioasid_trace_file_header h;
	struct ioasid_trace_writer *w = (void *)1;

	o.chunk_events = IOASID_TRACE_CHUNK_MAX_EVENTS + 1;
	assert_rc(-EINVAL, ioasid_trace_writer_open_opts(path, NULL, &o, &w));
	cr_assert_null(w);
	cr_assert(strstr(ioasid_trace_last_error(), "chunk_events"), "%s", ioasid_trace_last_error());
	o.chunk_events = 0;
	o.level = 10;
	assert_rc(-EINVAL, ioasid_trace_writer_open_opts(path, NULL, &o, &w));
	o.level = 0;
	o.sz = 2;
	assert_rc(-EINVAL, ioasid_trace_writer_open_opts(path, NULL, &o, &w));

	ioasid_trace_file_header_init(&h, IOASID_TRACE_PID, "pid 1");
	h.clock_id = 99;
	assert_rc(-EINVAL, ioasid_trace_writer_open(path, &h, &w));
	cr_assert(strstr(ioasid_trace_last_error(), "clock_id"), "%s", ioasid_trace_last_error());

	assert_rc(-ENOENT, ioasid_trace_writer_open("/tmp/ioasid-tf-no-such-dir/x", NULL, &w));
	assert_rc(-EINVAL, ioasid_trace_writer_open("", NULL, &w));
}

Test(trace_file, writer_no_space_at_open)
{
	struct ioasid_trace_writer *w;

	if (access("/dev/full", W_OK))
		cr_skip_test("no writable /dev/full");
	assert_rc(-ENOSPC, ioasid_trace_writer_open("/dev/full", NULL, &w));
	cr_assert(strstr(ioasid_trace_last_error(), "/dev/full"), "%s", ioasid_trace_last_error());
}

/* The file-size limit stands in for a full disk: the writer's error is sticky, close returns
 * it, and the file is cut back to its last complete chunk. */
Test(trace_file, writer_error_is_sticky_and_file_stays_readable)
{
	const size_t n = 4000;
	const char *path = tmp_path();
	struct ioasid_event *ev = random_events(n, 12), *back = malloc(n * sizeof(*back));
	struct rlimit lim = { 300000, 300000 };
	struct ioasid_trace_writer *w;
	struct readout ro;
	size_t i;
	int rc = 0;

	signal(SIGXFSZ, SIG_IGN);
	assert_rc(0, ioasid_trace_writer_open(path, NULL, &w));
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (i = 0; i < n && !rc; i++)
		rc = ioasid_trace_writer_append(w, &ev[i]);
	assert_rc(-EFBIG, rc);
	assert_rc(-EFBIG, ioasid_trace_writer_append(w, &ev[0]));
	assert_rc(-EFBIG, ioasid_trace_writer_flush(w));
	cr_assert(strstr(ioasid_trace_last_error(), "writing a chunk at offset"), "%s",
		  ioasid_trace_last_error());
	assert_rc(-EFBIG, ioasid_trace_writer_close(w));

	ro = read_events(path, back, n, true);
	assert_rc(-EBADMSG, ro.rc);
	cr_assert_eq(ro.end, IOASID_TRACE_END_NO_TRAILER, "%s", ro.msg);
	cr_assert_eq(ro.n % 512, 0);
	cr_assert_gt(ro.n, 0);
	assert_same(ev, back, ro.n);
	free(back);
	free(ev);
}

/* ---- damaged files ------------------------------------------------------------------------------ */
struct chunk_map {
	size_t nchunks;
	size_t start[256], end[256];     /* byte range [start, end) */
	size_t before[256];              /* events in the chunks before */
	size_t trailer;                  /* offset of the trailer */
	size_t events;
};

static void map_chunks(const unsigned char *buf, size_t size, struct chunk_map *m)
{
	size_t off = FH_SIZE;

	memset(m, 0, sizeof(*m));
	while (off + CH_SIZE <= size && !memcmp(buf + off, "ITCK", 4)) {
		cr_assert_lt(m->nchunks, 256);
		m->start[m->nchunks] = off;
		m->before[m->nchunks] = m->events;
		m->events += ld32(buf + off + CH_COUNT);
		off += CH_SIZE + ld32(buf + off + CH_COMP_LEN);
		m->end[m->nchunks++] = off;
	}
	cr_assert_eq(memcmp(buf + off, "ITEN", 4), 0);
	cr_assert_eq(off + CH_SIZE, size);
	m->trailer = off;
}

/* Events that must survive damage starting at byte x: those of every chunk ending at or
 * before x. */
static size_t safe_events(const struct chunk_map *m, size_t x)
{
	size_t n = 0;

	for (size_t c = 0; c < m->nchunks && m->end[c] <= x; c++)
		n = c + 1 < m->nchunks ? m->before[c + 1] : m->events;
	return n;
}

struct fuzz {
	const char *path;
	const struct ioasid_event *ev;
	size_t n;
	struct ioasid_event *back;
	unsigned long cases;
};

/* Read a damaged image; damage starts at byte x. */
static void check_damaged(struct fuzz *f, const struct chunk_map *m, const unsigned char *img,
			  size_t size, size_t x, const char *what)
{
	struct readout ro;

	spit(f->path, img, size);
	ro = read_events(f->path, f->back, f->n, f->cases % 2);
	f->cases++;
	cr_assert_eq(ro.rc, -EBADMSG, "%s at %zu: rc %d, %zu events (%s)", what, x, ro.rc, ro.n,
		     ro.msg);
	cr_assert(names_offset(ro.msg), "%s at %zu: no offset in \"%s\"", what, x, ro.msg);
	cr_assert_leq(ro.n, f->n);
	for (size_t i = 0; i < ro.n; i++)
		cr_assert_eq(memcmp(&f->back[i], &f->ev[i], sizeof(f->ev[i])), 0,
			     "%s at %zu: event %zu is not the original's (%s)", what, x, i, ro.msg);
	cr_assert_geq(ro.n, safe_events(m, x), "%s at %zu: %zu events returned, the %zu before "
		      "the damage must be (%s)", what, x, ro.n, safe_events(m, x), ro.msg);
}

/* every_byte_chunks: truncate at every offset through that many chunks (0: through the header
 * and the first 512 bytes of chunk 0); then at about `samples` offsets spread over the rest. */
static void fuzz_file(const struct ioasid_event *ev, size_t n, unsigned int chunk_events,
		      unsigned int flips, size_t every_byte_chunks, size_t samples, uint64_t seed)
{
	struct fuzz f = { .path = tmp_path(), .ev = ev, .n = n };
	const char *orig = tmp_path();
	struct chunk_map m;
	unsigned char *buf, *img;
	size_t size, upto;

	f.back = malloc(n * sizeof(*f.back));
	write_events_opts(orig, ev, n, chunk_events);
	buf = slurp(orig, &size);
	map_chunks(buf, size, &m);
	cr_assert_gt(m.nchunks, 4);
	img = malloc(2 * size + 4096);
	rng_seed(seed);

	/* bit flips anywhere (the trailer too) */
	for (unsigned int i = 0; i < flips; i++) {
		size_t x = rng_below(size);

		memcpy(img, buf, size);
		img[x] ^= (unsigned char)(1u << rng_below(8));
		check_damaged(&f, &m, img, size, x, "bit flip");
	}
	/* truncation at every offset through the first chunks, then a sample */
	upto = every_byte_chunks ? m.end[every_byte_chunks - 1] : m.start[0] + CH_SIZE + 512;
	for (size_t x = 0; x < size; x += x < upto ? 1 : 1 + rng_below(2 * (size - upto) / samples))
		check_damaged(&f, &m, buf, x, x, "truncation");
	check_damaged(&f, &m, buf, size - 1, size - 1, "truncation");
	/* lengths overwritten: CRC left stale, then fixed up */
	for (size_t c = 0; c < m.nchunks; c++) {
		static const size_t fields[] = { CH_COUNT, CH_RAW_LEN, CH_PACKED_LEN, CH_COMP_LEN };
		static const uint32_t values[] = { 0, 1, 0x7fffffff, 0xffffffff, 4097, 1u << 20 };

		for (size_t fi = 0; fi < 4; fi++) {
			for (size_t vi = 0; vi < 6; vi++) {
				for (int fix = 0; fix < 2; fix++) {
					memcpy(img, buf, size);
					if (ld32(img + m.start[c] + fields[fi]) == values[vi])
						continue;
					st32(img + m.start[c] + fields[fi], values[vi]);
					if (fix)
						fix_crc(img + m.start[c], CH_CRC);
					check_damaged(&f, &m, img, size, m.start[c], "length overwritten");
				}
			}
		}
	}
	for (size_t c = 0; c < m.nchunks; c++) {
		size_t len = m.end[c] - m.start[c];

		/* zeroed */
		memcpy(img, buf, size);
		memset(img + m.start[c], 0, len);
		check_damaged(&f, &m, img, size, m.start[c], "chunk zeroed");
		/* duplicated */
		memcpy(img, buf, m.end[c]);
		memcpy(img + m.end[c], buf + m.start[c], len);
		memcpy(img + m.end[c] + len, buf + m.end[c], size - m.end[c]);
		check_damaged(&f, &m, img, size + len, m.end[c], "chunk duplicated");
		/* dropped */
		memcpy(img, buf, m.start[c]);
		memcpy(img + m.start[c], buf + m.end[c], size - m.end[c]);
		check_damaged(&f, &m, img, size - len, m.start[c], "chunk dropped");
		/* swapped with the next */
		if (c + 1 < m.nchunks) {
			size_t len2 = m.end[c + 1] - m.start[c + 1];

			memcpy(img, buf, size);
			memcpy(img + m.start[c], buf + m.start[c + 1], len2);
			memcpy(img + m.start[c] + len2, buf + m.start[c], len);
			check_damaged(&f, &m, img, size, m.start[c], "chunks swapped");
		}
	}
	/* garbage appended: random bytes, zeros, a copy of a chunk, a second trailer */
	for (int kind = 0; kind < 4; kind++) {
		size_t extra = kind == 2 ? m.end[0] - m.start[0] : kind == 3 ? CH_SIZE : 1 + rng_below(4000);

		memcpy(img, buf, size);
		for (size_t i = 0; i < extra; i++)
			img[size + i] = kind == 0 ? (unsigned char)rng() : 0;
		if (kind == 2)
			memcpy(img + size, buf + m.start[0], extra);
		if (kind == 3)
			memcpy(img + size, buf + m.trailer, CH_SIZE);
		check_damaged(&f, &m, img, size + extra, size, "garbage appended");
	}
	/* the trailer's counts */
	memcpy(img, buf, size);
	st32(img + m.trailer + 4, (uint32_t)m.nchunks + 1);
	fix_crc(img + m.trailer, CH_CRC);
	check_damaged(&f, &m, img, size, m.trailer, "trailer count");
	memcpy(img, buf, size);
	st32(img + m.trailer + CH_COUNT, 1);
	fix_crc(img + m.trailer, CH_CRC);
	check_damaged(&f, &m, img, size, m.trailer, "trailer field");

	cr_log_info("fuzz: %lu damaged files of %zu bytes, %zu chunks", f.cases, size, m.nchunks);
	free(img);
	free(buf);
	free(f.back);
}

/* Small chunks of a compressible stream: many chunks, truncation at every byte of the first
 * three. */
Test(trace_file, fuzz_small_chunks, .timeout = 600)
{
	const size_t n = 1200;
	struct ioasid_event *ev = stream_events(n, 13, 4);

	fuzz_file(ev, n, 48, 3000, 3, 1000, 14);
	free(ev);
}

/* Default chunks of random records: every packed word present, chunks of ~66 KiB. */
Test(trace_file, fuzz_random_records, .timeout = 600)
{
	const size_t n = 512 * 6 + 100;
	struct ioasid_event *ev = random_events(n, 15);

	fuzz_file(ev, n, 0, 400, 0, 300, 16);
	free(ev);
}

/* A chunk whose compressed length was rewritten (CRC fixed) to run past the end: a truncation
 * message, with the file's real size. */
Test(trace_file, huge_compressed_length_names_the_file_size)
{
	const size_t n = 600;
	const char *path = tmp_path();
	struct ioasid_event *ev = stream_events(n, 17, 0), *back = malloc(n * sizeof(*back));
	unsigned char *buf;
	size_t size, off;
	uint32_t comp;
	struct readout ro;
	char want[128];

	write_events(path, ev, n);
	buf = slurp(path, &size);
	off = FH_SIZE + CH_SIZE + ld32(buf + FH_SIZE + CH_COMP_LEN);      /* chunk 1 */
	comp = ld32(buf + off + CH_PACKED_LEN);   /* within the bound, past the end */
	cr_assert_gt(off + CH_SIZE + comp, size);
	st32(buf + off + CH_COMP_LEN, comp);
	fix_crc(buf + off, CH_CRC);
	spit(path, buf, size);
	ro = read_events(path, back, n, false);
	assert_rc(-EBADMSG, ro.rc);
	cr_assert_geq(ro.n, 512);
	assert_same(ev, back, ro.n);
	snprintf(want, sizeof(want), "chunk 1 at offset %zu: compressed length %u runs past the "
		 "end of the file (size %zu)", off, comp, size);
	cr_assert(strstr(ro.msg, want), "no \"%s\" in %s", want, ro.msg);

	/* and beyond any bound: refused before anything is read or allocated for it */
	st32(buf + off + CH_COMP_LEN, 0x7fffffff);
	fix_crc(buf + off, CH_CRC);
	spit(path, buf, size);
	ro = read_events(path, back, n, false);
	assert_rc(-EBADMSG, ro.rc);
	cr_assert_eq(ro.n, 512);
	snprintf(want, sizeof(want), "compressed length (offset %zu) is 2147483647", off + CH_COMP_LEN);
	cr_assert(strstr(ro.msg, want), "no \"%s\" in %s", want, ro.msg);
	free(buf);
	free(back);
	free(ev);
}

Test(trace_file, chunk_fields_refused_with_offsets)
{
	static const struct { size_t at; uint32_t value; const char *want; } cases[] = {
		{ CH_COUNT, 0, "event count (offset %zu) is 0: must be 1..512" },
		{ CH_COUNT, 513, "event count (offset %zu) is 513: must be 1..512" },
		{ CH_COUNT, 5000, "event count (offset %zu) is 5000" },
		{ CH_RAW_LEN, 100, "raw length (offset %zu) is 100, expected event count" },
		{ CH_PACKED_LEN, 1, "packed length (offset %zu) is 1" },
		{ 40, 2, "codec (offset %zu) is 2" },
		{ 4, 3, "chunk number (offset %zu) is 3, expected 0" },
	};
	const char *path = tmp_path();
	struct ioasid_event *ev = random_events(10, 18), back[10];
	unsigned char *buf;
	size_t size;

	write_events(path, ev, 10);
	buf = slurp(path, &size);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char *img = malloc(size);
		struct readout ro;
		char want[128];

		memcpy(img, buf, size);
		st32(img + FH_SIZE + cases[i].at, cases[i].value);
		fix_crc(img + FH_SIZE, CH_CRC);
		spit(path, img, size);
		ro = read_events(path, back, 10, false);
		assert_rc(-EBADMSG, ro.rc);
		cr_assert_eq(ro.n, 0);
		snprintf(want, sizeof(want), cases[i].want, (size_t)FH_SIZE + cases[i].at);
		cr_assert(strstr(ro.msg, want), "no \"%s\" in %s", want, ro.msg);
		cr_assert(strstr(ro.msg, "chunk 0 at offset 256"), "%s", ro.msg);
		free(img);
	}
	free(buf);
	free(ev);
}
