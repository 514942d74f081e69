/* tracemode.c — ioasid-bench's --trace: what observing the reference (or the kernel) costs.
 *
 * The worker traces itself while it runs the workloads (IOASID_TRACE_SELF: the probes of the
 * reference linked in, or of the shim serving its /dev/iommu; IOASID_TRACE_KERNEL for the
 * kernel backends):
 *   counters  the BPF programs keep only the per-CPU aggregates; a thread walks them once a
 *             second, as ioasid-top does
 *   events    every event goes through the ring buffer to a consumer thread (ioasid-trace's
 *             cost without the output)
 *   check     the consumer feeds every event to an ioasid-check model (ioasid-check -p's cost)
 * The consumer runs on its own thread, so on a small machine it competes with the workload as
 * a real monitor would. Lost events are counted (the BPF side's DROPPED counter); a check run
 * reports its violations, and a run that lost events is "not clean" rather than clean.
 */
#include "benchkit/workload.h"

#include "ioasid/check.h"
#include "ioasid/trace.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const mode_names[BENCH_TRACE_COUNT] = {
	[BENCH_TRACE_OFF] = "off",
	[BENCH_TRACE_COUNTERS] = "counters",
	[BENCH_TRACE_EVENTS] = "events",
	[BENCH_TRACE_CHECK] = "check",
};

const char *bench_trace_name(enum bench_trace_mode m)
{
	return (unsigned int)m < BENCH_TRACE_COUNT ? mode_names[m] : "?";
}

int bench_trace_from_name(const char *name)
{
	for (int m = 0; m < BENCH_TRACE_COUNT; m++)
		if (!strcmp(name, mode_names[m]))
			return m;
	return -ENOENT;
}

struct bench_tracer {
	enum bench_trace_mode mode;
	struct ioasid_trace *t;
	struct ioasid_check *check;
	pthread_t thread;
	atomic_bool stop;
	int poll_error;                 /* first error of the consumer (-errno) */
	uint64_t base_emitted, base_dropped;
	atomic_uint_least64_t violations;  /* reports of kind VIOLATION so far */
};

static void on_report(void *arg, const struct ioasid_check_report *r)
{
	struct bench_tracer *bt = arg;

	if (r->kind == IOASID_REPORT_VIOLATION && atomic_fetch_add(&bt->violations, 1) < 3)
		ioasid_check_report_print(stderr, r);
}

static int on_event(void *arg, const struct ioasid_event *ev)
{
	struct bench_tracer *bt = arg;

	if (bt->check)
		ioasid_check_feed(bt->check, ev);
	return 0;
}

static int on_agg(void *arg, const struct ioasid_agg_key *key, const struct ioasid_agg_value *v)
{
	(*(uint64_t *)arg)++;
	return 0;
}

static void *consumer(void *arg)
{
	struct bench_tracer *bt = arg;
	struct timespec last, now;

	clock_gettime(CLOCK_MONOTONIC, &last);
	while (!atomic_load(&bt->stop)) {
		if (bt->mode == BENCH_TRACE_COUNTERS) {
			struct timespec tick = { 0, 50 * 1000 * 1000 };
			uint64_t keys = 0;

			nanosleep(&tick, NULL);
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > last.tv_sec) {     /* once a second, like ioasid-top */
				ioasid_trace_aggregates(bt->t, on_agg, &keys);
				last = now;
			}
			continue;
		}
		int rc = ioasid_trace_poll(bt->t, 50, on_event, bt);

		if (rc < 0 && rc != -EINTR) {
			if (!bt->poll_error)
				bt->poll_error = rc;
			break;
		}
		if (rc == 0 && bt->check)
			ioasid_check_flush(bt->check, 100 * 1000 * 1000ULL);
	}
	return NULL;
}

int bench_tracer_start(enum bench_trace_mode m, bool kernel, struct bench_tracer **out,
		       char *why, size_t whylen)
{
	struct ioasid_trace_opts o = { .sz = sizeof(o) };
	struct ioasid_trace_stats st;
	struct bench_tracer *bt;
	int rc;

	*out = NULL;
	if (m <= BENCH_TRACE_OFF || m >= BENCH_TRACE_COUNT) {
		snprintf(why, whylen, "trace mode %d: use counters, events or check", (int)m);
		return -EINVAL;
	}
	bt = calloc(1, sizeof(*bt));
	if (!bt)
		return -ENOMEM;
	bt->mode = m;
	o.kind = kernel ? IOASID_TRACE_KERNEL : IOASID_TRACE_SELF;
	o.produce = m == BENCH_TRACE_COUNTERS ? IOASID_TRACE_AGGREGATES : IOASID_TRACE_EVENTS;
	rc = ioasid_trace_open(&o, &bt->t);
	if (rc) {
		snprintf(why, whylen, "--trace %s: %s", mode_names[m], ioasid_trace_last_error());
		free(bt);
		return rc;
	}
	if (m == BENCH_TRACE_CHECK) {
		struct ioasid_check_opts co = { .sz = sizeof(co) };
		uint64_t types = 0;

		if (!ioasid_trace_observable(bt->t, &types))
			co.observable = types;
		rc = ioasid_check_new(&co, on_report, bt, &bt->check);
		if (rc) {
			snprintf(why, whylen, "--trace check: the checker could not start: %s",
				 strerror(-rc));
			ioasid_trace_close(bt->t);
			free(bt);
			return rc;
		}
	}
	if (!ioasid_trace_stats(bt->t, &st)) {
		bt->base_emitted = st.emitted;
		bt->base_dropped = st.dropped;
	}
	rc = -pthread_create(&bt->thread, NULL, consumer, bt);
	if (rc) {
		snprintf(why, whylen, "--trace %s: consumer thread: %s", mode_names[m],
			 strerror(-rc));
		ioasid_check_free(bt->check);
		ioasid_trace_close(bt->t);
		free(bt);
		return rc;
	}
	*out = bt;
	return 0;
}

void bench_tracer_take(struct bench_tracer *bt, uint64_t *events, uint64_t *dropped,
		       int64_t *violations)
{
	struct ioasid_trace_stats st;

	*events = *dropped = 0;
	*violations = -1;
	if (!bt || ioasid_trace_stats(bt->t, &st))
		return;
	*events = st.emitted - bt->base_emitted;
	*dropped = st.dropped - bt->base_dropped;
	bt->base_emitted = st.emitted;
	bt->base_dropped = st.dropped;
	/* the checker belongs to the consumer thread: only its report count is read here (the
	 * consumer may still hold events: violations seen so far) */
	if (bt->check)
		*violations = (int64_t)atomic_load(&bt->violations);
}

int bench_tracer_stop(struct bench_tracer *bt, char *why, size_t whylen)
{
	struct ioasid_trace_stats st;
	int verdict = 0;

	if (!bt)
		return 0;
	atomic_store(&bt->stop, true);
	pthread_join(bt->thread, NULL);
	if (bt->mode != BENCH_TRACE_COUNTERS)
		while (ioasid_trace_poll(bt->t, 0, on_event, bt) > 0)
			;
	why[0] = '\0';
	if (bt->check) {
		struct ioasid_check_summary s;

		if (!ioasid_trace_stats(bt->t, &st) && st.dropped)
			ioasid_check_note_dropped(bt->check, st.dropped);
		ioasid_check_end(bt->check);
		ioasid_check_summary(bt->check, &s);
		verdict = ioasid_check_verdict(&s);
		snprintf(why, whylen, "live check: %llu events, %llu violations, %llu lost: %s",
			 (unsigned long long)s.events, (unsigned long long)s.violations,
			 (unsigned long long)s.lost, verdict == 0 ? "clean" : verdict == 1 ?
			 "VIOLATIONS (reports above)" : "not clean (events lost or nothing seen)");
		ioasid_check_free(bt->check);
	} else if (bt->poll_error) {
		snprintf(why, whylen, "the event consumer stopped: %s", strerror(-bt->poll_error));
		verdict = 2;
	}
	ioasid_trace_close(bt->t);
	free(bt);
	return verdict;
}
