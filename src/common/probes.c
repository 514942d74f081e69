/* probes.c — the USDT probe sites of the reference module and its in-process event subscribers.
 *
 * One function per event type (generated from IOASID_EVENT_TYPES): it holds the site
 * `ioasid:<name>`, whose single argument is a pointer to the struct ioasid_event the caller
 * built, then delivers the event to in-process subscribers. The BPF program (bpf/ioasid_usdt)
 * copies the record with one bpf_probe_read_user() and fills the header fields itself.
 *
 * Site shape (shared/reference/uprobes.md): each site is a 5-byte nop (0f 1f 44 00 00), which
 * Linux ≥ 6.18 on x86-64 turns into a call to the uprobe trampoline after the first hit
 * (~1.4× cheaper than an int3 hit). The nop is the first instruction of a 16-byte aligned
 * function, so it never crosses a page boundary (that would keep it on the slow path). The
 * trampoline clobbers the red zone of the function containing the site: this file is compiled
 * with -mno-red-zone (Makefile). STAP_SDT_ARG_CONSTRAINT=nr keeps the argument spec to a
 * register, which libbpf 1.1 accepts.
 *
 * Subscribers: a small fixed table (IOASID_MAX_SUBSCRIBERS), registered and removed under a
 * mutex, read lock-free by the sites; a callback runs on the thread that made the change, with
 * reference locks possibly held — it must not call back into the reference.
 */
#define _SDT_HAS_SEMAPHORES 1
#ifndef STAP_SDT_ARG_CONSTRAINT
#define STAP_SDT_ARG_CONSTRAINT nr
#endif
#include <sys/sdt.h>
#undef _SDT_NOP
#define _SDT_NOP .nops 5

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ioasid/ioasid.h"
#include "common/probe.h"

volatile int ioasid_probe_subscribers;

#define IOASID_MAX_SUBSCRIBERS 8
static struct {
	ioasid_event_fn fn;
	void *arg;
} subscribers[IOASID_MAX_SUBSCRIBERS];
static pthread_mutex_t subscribers_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t inproc_seq;

static void deliver_inproc(struct ioasid_event *ev)
{
	ev->source = IOASID_SRC_INPROC;
	ev->version = IOASID_EVENT_VERSION;
	ev->seq = __atomic_add_fetch(&inproc_seq, 1, __ATOMIC_RELAXED);
	ev->ts_ns = ioasid_probe_clock_ns();
	ev->pid = (uint32_t)getpid();
	ev->tid = (uint32_t)syscall(SYS_gettid);
	for (int i = 0; i < IOASID_MAX_SUBSCRIBERS; i++) {
		ioasid_event_fn fn = __atomic_load_n(&subscribers[i].fn, __ATOMIC_ACQUIRE);

		if (fn)
			fn(subscribers[i].arg, ev);
	}
}

#define IOASID_X_SITE(up, low, num, doc)                                                       \
	unsigned short ioasid_##low##_semaphore __attribute__((section(".probes"), used));    \
	__attribute__((noinline, aligned(16))) void ioasid_probe_fire_##low(struct ioasid_event *ev) \
	{                                                                                      \
		STAP_PROBE1(ioasid, low, ev);                                                  \
		if (ioasid_probe_subscribers)                                                  \
			deliver_inproc(ev);                                                    \
	}
IOASID_EVENT_TYPES(IOASID_X_SITE)
#undef IOASID_X_SITE

void ioasid_probe_set_name(struct ioasid_event *ev, const char *name)
{
	if (!name)
		return;
	strncpy(ev->name, name, sizeof(ev->name) - 1);
	ev->name[sizeof(ev->name) - 1] = '\0';
}

int ioasid_events_subscribe(ioasid_event_fn fn, void *arg)
{
	int handle = -ENOSPC;

	if (!fn)
		return -EINVAL;
	pthread_mutex_lock(&subscribers_lock);
	for (int i = 0; i < IOASID_MAX_SUBSCRIBERS; i++) {
		if (subscribers[i].fn)
			continue;
		subscribers[i].arg = arg;
		__atomic_store_n(&subscribers[i].fn, fn, __ATOMIC_RELEASE);
		ioasid_probe_subscribers++;
		handle = i;
		break;
	}
	pthread_mutex_unlock(&subscribers_lock);
	return handle;
}

int ioasid_events_unsubscribe(int handle)
{
	int rc = -ENOENT;

	if (handle < 0 || handle >= IOASID_MAX_SUBSCRIBERS)
		return -EINVAL;
	pthread_mutex_lock(&subscribers_lock);
	if (subscribers[handle].fn) {
		__atomic_store_n(&subscribers[handle].fn, NULL, __ATOMIC_RELEASE);
		ioasid_probe_subscribers--;
		rc = 0;
	}
	pthread_mutex_unlock(&subscribers_lock);
	return rc;
}
