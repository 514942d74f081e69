/* probe.h — how the reference module announces a state change.
 *
 *     IOASID_PROBE(ioas_map, .ctx = ctx->cookie, .obj = ioas->obj.id, .iova = iova, ...);
 *
 * builds a struct ioasid_event (include/ioasid/event.h) on the stack — only when someone
 * listens — and hands it to ioasid_probe_fire_<name>() in probes.c, which holds the USDT site
 * `ioasid:<name>` (one pointer argument: the event) and feeds the in-process subscribers.
 *
 * Cost when nothing listens: one load of the probe's USDT semaphore and of the subscriber flag,
 * and a not-taken branch. The semaphore is incremented by the kernel while a uprobe with a
 * reference counter (libbpf attaches USDT that way) is attached to the site, so tracing a
 * process needs no cooperation from it. Arguments are not evaluated when disabled; a site that
 * needs a measurement (latency) asks IOASID_PROBE_ON(name) first.
 *
 * Only probes.c contains probe instructions: it alone is compiled with -mno-red-zone, which the
 * kernel's optimised 5-byte-nop uprobes need (shared/reference/uprobes.md).
 */
#ifndef IOASID_COMMON_PROBE_H
#define IOASID_COMMON_PROBE_H

#include <stdint.h>
#include <time.h>

#include "ioasid/event.h"

#define IOASID_X_DECL(up, low, num, doc)                                                       \
	extern unsigned short ioasid_##low##_semaphore __attribute__((visibility("hidden"))); \
	void ioasid_probe_fire_##low(struct ioasid_event *ev);                                 \
	enum { ioasid_evtype_##low = num };
IOASID_EVENT_TYPES(IOASID_X_DECL)
#undef IOASID_X_DECL

/* Non-zero while at least one in-process subscriber exists (ioasid_events_subscribe). */
extern volatile int ioasid_probe_subscribers __attribute__((visibility("hidden")));

#define IOASID_PROBE_ON(low)                                                                   \
	__builtin_expect((*(volatile unsigned short *)&ioasid_##low##_semaphore |              \
			  ioasid_probe_subscribers) != 0, 0)

#define IOASID_PROBE(low, ...)                                                                 \
	do {                                                                                   \
		if (IOASID_PROBE_ON(low)) {                                                    \
			struct ioasid_event ev__ = { .type = ioasid_evtype_##low, __VA_ARGS__ }; \
			ioasid_probe_fire_##low(&ev__);                                        \
		}                                                                              \
	} while (0)

/* The same, for a site that knows a device name (copied, truncated to 15 characters). */
#define IOASID_PROBE_NAMED(low, devname, ...)                                                  \
	do {                                                                                   \
		if (IOASID_PROBE_ON(low)) {                                                    \
			struct ioasid_event ev__ = { .type = ioasid_evtype_##low, __VA_ARGS__ }; \
			ioasid_probe_set_name(&ev__, (devname));                               \
			ioasid_probe_fire_##low(&ev__);                                        \
		}                                                                              \
	} while (0)

/* Monotonic nanoseconds, for the latency a site reports. */
static inline uint64_t ioasid_probe_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Start a latency measurement if the probe is on (0 otherwise). */
#define IOASID_PROBE_START(low) (IOASID_PROBE_ON(low) ? ioasid_probe_clock_ns() : 0)
#define IOASID_PROBE_ELAPSED(t0) ((t0) ? ioasid_probe_clock_ns() - (t0) : 0)

/* Copy a device name into ev.name (truncating, always NUL-terminated). */
void ioasid_probe_set_name(struct ioasid_event *ev, const char *name);

#endif
