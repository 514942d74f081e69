/* ioasid/trace_file.h — trace files: record a stream of struct ioasid_event, replay it later.
 *
 *     struct ioasid_trace_file_header h;
 *     struct ioasid_trace_writer *w;
 *     ioasid_trace_file_header_init(&h, IOASID_TRACE_PID, "pid 1234 (qemu)");
 *     rc = ioasid_trace_writer_open("trace.bin", &h, &w);      // -errno
 *     ... ioasid_trace_writer_append(w, &ev) ...                // -errno (sticky: first error)
 *     rc = ioasid_trace_writer_close(w);                        // flush + end trailer + close
 *
 *     struct ioasid_trace_reader *r;
 *     rc = ioasid_trace_reader_open("trace.bin", &r);           // -ENOENT, -EBADMSG, ...
 *     while ((rc = ioasid_trace_reader_next(r, &ev)) == 1)
 *             ...;
 *     if (rc < 0) fprintf(stderr, "%s\n", ioasid_trace_reader_error(r));
 *     ioasid_trace_reader_close(r);
 *
 * A file is a header (format version, event version and size, the recorded source, the clock
 * of ts_ns and its wall-clock anchor, the host) followed by chunks of up to 4096 records, each
 * compressed on its own and protected by CRCs, and an end trailer the writer adds on close.
 * Records come back byte-identical to what was appended, in order.
 *
 * Damage is reported, never guessed around: the reader stops at the first damaged byte with
 * -EBADMSG and a message naming the file, the chunk, the exact offset, the value found and
 * what it means, after delivering every event before it (a truncated last chunk gives up every
 * complete record that can still be inflated). A file whose writer died between chunks reads
 * to its last complete chunk and then ends with -EBADMSG and IOASID_TRACE_END_NO_TRAILER, so a
 * replay can tell "complete" from "cut short" without losing anything.
 *
 * Readers and writers are not thread-safe: one thread uses each at a time. The format is
 * little-endian; the byte layout is described in src/trace/trace_file.c.
 */
#ifndef IOASID_TRACE_FILE_H
#define IOASID_TRACE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "ioasid/event.h"
#include "ioasid/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef IOASID_API
#define IOASID_API __attribute__((visibility("default")))
#endif

#define IOASID_TRACE_FILE_VERSION 1
#define IOASID_TRACE_CHUNK_EVENTS 512         /* writer's default records per chunk */
#define IOASID_TRACE_CHUNK_MAX_EVENTS 4096    /* hard limit, writer and reader */

/* What a file says about itself. */
struct ioasid_trace_file_header {
	uint32_t format_version;      /* IOASID_TRACE_FILE_VERSION (writer fills it) */
	uint32_t event_version;       /* IOASID_EVENT_VERSION of the records (writer fills it) */
	uint32_t event_size;          /* sizeof(struct ioasid_event) (writer fills it) */
	uint32_t source_kind;         /* enum ioasid_trace_kind of the recorded source (0: unknown) */
	uint32_t clock_id;            /* clock of the events' ts_ns: CLOCK_MONOTONIC */
	int64_t  start_realtime_ns;   /* wall clock when recording started */
	uint64_t start_monotonic_ns;  /* clock_id's time at the same moment */
	char source[128];             /* "pid 1234 (qemu)", "launch: ./vmm --foo", "kernel 6.18.0" */
	char host[64];                /* uname nodename */
};

/* Fill a header for a recording starting now: clock_id CLOCK_MONOTONIC, both start times
 * read back to back, host from uname(2), source copied (truncated to fit; NULL: ""). */
IOASID_API void ioasid_trace_file_header_init(struct ioasid_trace_file_header *hdr,
					      enum ioasid_trace_kind kind, const char *source);

/* ---- writing ------------------------------------------------------------------------------- */
struct ioasid_trace_writer;

struct ioasid_trace_writer_opts {
	size_t sz;                    /* sizeof(struct ioasid_trace_writer_opts) */
	unsigned int chunk_events;    /* records per chunk, 1..IOASID_TRACE_CHUNK_MAX_EVENTS (0: 512) */
	int level;                    /* zlib level 1..9 (0: 1, the fastest) */
};

/* Create (or truncate) path and write the header. hdr may be NULL (a header_init with kind 0);
 * format_version, event_version and event_size are filled in here whatever hdr says.
 * -EINVAL (bad hdr/opts: message in ioasid_trace_last_error()), -errno of open/write. */
IOASID_API int ioasid_trace_writer_open(const char *path, const struct ioasid_trace_file_header *hdr,
					struct ioasid_trace_writer **out);
IOASID_API int ioasid_trace_writer_open_opts(const char *path,
					     const struct ioasid_trace_file_header *hdr,
					     const struct ioasid_trace_writer_opts *opts,
					     struct ioasid_trace_writer **out);

/* Append records (copied). A full chunk is compressed and written here. Errors are sticky:
 * after the first I/O error every call returns it, and the file is cut back to its last
 * complete chunk where possible (it then reads like a file whose writer crashed). */
IOASID_API int ioasid_trace_writer_append(struct ioasid_trace_writer *w, const struct ioasid_event *ev);
IOASID_API int ioasid_trace_writer_append_batch(struct ioasid_trace_writer *w,
						const struct ioasid_event *evs, size_t n);

/* End the current chunk (if it holds anything) and write it out: a reader sees every event
 * appended so far. Not an fsync. */
IOASID_API int ioasid_trace_writer_flush(struct ioasid_trace_writer *w);

/* Flush, write the end trailer, close. Returns the first error seen over the writer's life
 * (0: the file is complete). Frees w in every case. */
IOASID_API int ioasid_trace_writer_close(struct ioasid_trace_writer *w);

IOASID_API uint64_t ioasid_trace_writer_events(const struct ioasid_trace_writer *w);  /* appended */
IOASID_API uint64_t ioasid_trace_writer_bytes(const struct ioasid_trace_writer *w);   /* on disk */

/* ---- reading ------------------------------------------------------------------------------- */
struct ioasid_trace_reader;

/* How the stream ended (ioasid_trace_reader_end). */
enum ioasid_trace_end {
	IOASID_TRACE_END_NONE = 0,        /* not at the end yet */
	IOASID_TRACE_END_CLEAN = 1,       /* end trailer read and consistent: next returned 0 */
	IOASID_TRACE_END_NO_TRAILER = 2,  /* ended at a chunk boundary without the trailer (writer
	                                   * crashed, was killed or is still writing): -EBADMSG,
	                                   * every event in the file was delivered */
	IOASID_TRACE_END_DAMAGED = 3,     /* corrupt or truncated: -EBADMSG at the damaged spot */
	IOASID_TRACE_END_IO_ERROR = 4,    /* read(2) failed: -errno */
};

/* Open and check the header. -ENOENT (no such file), -EBADMSG (not a trace file, or a bad
 * header: the message says which field, its value and offset), -errno of open/read.
 * The message is in ioasid_trace_last_error(). */
IOASID_API int ioasid_trace_reader_open(const char *path, struct ioasid_trace_reader **out);

IOASID_API const struct ioasid_trace_file_header *
ioasid_trace_reader_header(const struct ioasid_trace_reader *r);

/* 1: *ev is the next event; 0: clean end (trailer read); -EBADMSG: corrupt or truncated here,
 * or ended without trailer (see ioasid_trace_reader_end); -errno: read error. An error is
 * sticky: every later call returns it again. */
IOASID_API int ioasid_trace_reader_next(struct ioasid_trace_reader *r, struct ioasid_event *ev);

/* Zero-copy: *evs points at the next *n (> 0) events inside the decoded chunk, valid until the
 * next call on r. Same returns as next (1: *n > 0; otherwise *n = 0). next and next_batch can
 * be mixed: a batch starts after the events next has already delivered. */
IOASID_API int ioasid_trace_reader_next_batch(struct ioasid_trace_reader *r,
					      const struct ioasid_event **evs, size_t *n);

/* The last error: "trace.bin: chunk 17 at offset 123456: ...: the file is truncated; 8704
 * events before it were read". "" if none. Also copied to ioasid_trace_last_error(). */
IOASID_API const char *ioasid_trace_reader_error(const struct ioasid_trace_reader *r);
IOASID_API uint64_t ioasid_trace_reader_events(const struct ioasid_trace_reader *r); /* delivered */
IOASID_API enum ioasid_trace_end ioasid_trace_reader_end(const struct ioasid_trace_reader *r);
IOASID_API void ioasid_trace_reader_close(struct ioasid_trace_reader *r);

#ifdef __cplusplus
}
#endif
#endif
