/* ioasid/event_format.h — an event as the operator reads it: names, one aligned text line, and
 * one JSON object (JSON Lines).
 *
 * Text: one line per event under the line ioasid_event_format_header() gives,
 *
 *   TIME_S PID TID EVENT CTX DEV NAME OBJ PT IOMMU DOMAIN GROUP PASID IOVA LENGTH VALUE AUX
 *   RESULT LAT_US FLAGS
 *
 * TIME_S is seconds since t0 (microsecond precision), LAT_US the probe-site latency in
 * microseconds (nanosecond precision). A field the event's type does not use (see the table
 * in ioasid/event.h) and that is 0 shows as "-"; a used field shows its value even when 0
 * (pasid 0 is the RID, result 0 success). PASID 0xffffffff and LENGTH UINT64_MAX (IOTLB_INV:
 * everything) show as "all"; RESULT as -ERRNO; FLAGS as names (REFUSED|STRICT). A value too
 * wide for its column widens that line rather than being cut.
 *
 * JSON: every field of the record, so nothing is lost; the keys are the column titles in lower
 * case, except the two columns whose unit the text converts: "time_ns" (absolute ts_ns) and
 * "latency_ns". Also "seq", "source", "version", "flag_names" (as the FLAGS column), "errno"
 * (only when result < 0) and "reserved". ctx and iova are hex strings ("0x1000"); event and
 * source are names, or the number as a string when this build does not know them; name is a
 * JSON string of the name's bytes up to its last non-zero one (even past a NUL), every byte
 * outside printable ASCII escaped as \u00XX.
 *
 * Formatters return the length written (not counting the NUL; no newline) or -ENOSPC when buf
 * is too small (buf then holds a truncated, NUL-terminated prefix). They keep no state.
 */
#ifndef IOASID_EVENT_FORMAT_H
#define IOASID_EVENT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "ioasid/event.h"
#include "ioasid/trace.h"   /* ioasid_event_type_name, _type_from_name, _source_name */

#ifdef __cplusplus
extern "C" {
#endif

#ifndef IOASID_API
#define IOASID_API __attribute__((visibility("default")))
#endif

/* A buffer this big always holds one text or JSON line. */
#define IOASID_EVENT_LINE_MAX 1024

/* The doc string of a type from the table in ioasid/event.h ("IOAS map; ctx obj=IOAS ..."),
 * or NULL for a type this build does not know. */
IOASID_API const char *ioasid_event_type_doc(unsigned int type);

IOASID_API int ioasid_event_format_header(char *buf, size_t len);
IOASID_API int ioasid_event_format_text(const struct ioasid_event *ev, uint64_t t0_ns, char *buf,
					size_t len);
IOASID_API int ioasid_event_format_json(const struct ioasid_event *ev, char *buf, size_t len);

/* "REFUSED|STRICT"; unknown bits as one hex number at the end ("NESTED|0x200"); "" for 0. */
IOASID_API int ioasid_event_format_flags(uint32_t flags, char *buf, size_t len);

/* "EBUSY" for EBUSY or -EBUSY (kernel-internal ones too: ERESTARTSYS, ENOTSUPP, ...); NULL for
 * 0 or a number this build has no name for. */
IOASID_API const char *ioasid_event_errno_name(int err);

/* A result as the RESULT column shows it: "0", "-EBUSY", "-4095" for an unnamed errno, or the
 * positive number. */
IOASID_API int ioasid_event_format_result(int32_t result, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
