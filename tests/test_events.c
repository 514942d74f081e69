/* test_events.c — the reference's probe sites (include/ioasid/event.h, src/common/probe.h), seen
 * through the in-process subscriber hook. Suite `events`.
 *
 * What is checked: that every event type the reference can produce arrives with exact fields
 * (IDs, IOVAs, lengths, PASIDs, errnos, names, flags), that counts equal the operations performed
 * (one event per state change, refusals included where event.h says so), the order of the events
 * of one operation where a checker depends on it, the subscriber API itself (no subscriber: no
 * delivery; unsubscribe; -ENOSPC when the table is full), and that every USDT site in this very
 * binary (its .note.stapsdt) is a 5-byte nop that does not cross a page boundary.
 *
 * Each test runs in its own process (Criterion) on a private copy of the built-in default host
 * (platform_set_default). Devices used (docs/TOPOLOGY.md; `dev` in events = index + 1):
 *   0 0000:00:02.0 group 3, dmar0, PASID 20     3/4 0000:01:00.0/.1 group 9 (vfio-pci both)
 *   5 0000:02:01.0 group 12 with 6 0000:02:02.0 on e1000e (DMA API)    8 mdev0 group 21 (sw table)
 */
#include "ioasid_test.h"
#include "guest_s1.h"
#include "private_host.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <link.h>
#include <linux/capability.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ioasid/event.h"
#include "platform/platform.h"
#include "reference/device.h"
#include "reference/selftest_abi.h"
#include "vfio/vfio.h"

#define PAGE 4096UL
#define NVME "0000:00:02.0"
#define GPU "0000:01:00.0"
#define AUDIO "0000:01:00.1"
#define BR_A "0000:02:01.0"
#define DEV_NVME 1u            /* platform index + 1 */
#define DEV_GPU 4u
#define DEV_AUDIO 5u
#define DEV_BR_A 6u
#define DEV_MDEV 9u
#define IOMMU_DMAR0 1u
#define IOMMU_SELFTEST 1001u
#define IOMMU_CTX_TEST 0x80000000u
#define PROT_RWC 7u            /* IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE */
#define ALL_PASIDS 0xffffffffu

/* ---- the event log ----------------------------------------------------------------------- */

#define EV_CAP 8192
static struct ioasid_event evs[EV_CAP];
static unsigned int nr_evs, lost_evs;
static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static int ev_handle = -1;

static void on_event(void *arg, const struct ioasid_event *ev)
{
	(void)arg;
	pthread_mutex_lock(&ev_lock);
	if (nr_evs < EV_CAP)
		evs[nr_evs++] = *ev;
	else
		lost_evs++;
	pthread_mutex_unlock(&ev_lock);
}

static void ev_reset(void)
{
	pthread_mutex_lock(&ev_lock);
	nr_evs = lost_evs = 0;
	pthread_mutex_unlock(&ev_lock);
}

static const char *type_name(unsigned int type)
{
#define X_NAME(up, low, num, doc) if (type == num) return #up;
	IOASID_EVENT_TYPES(X_NAME)
#undef X_NAME
	return "?";
}

static unsigned int count(unsigned int type)
{
	unsigned int n = 0;

	cr_assert_eq(lost_evs, 0, "event log overflow");
	for (unsigned int i = 0; i < nr_evs; i++)
		n += evs[i].type == type;
	return n;
}

/* Events of a type whose aux (IOTLB_INV: reason) is `aux`. */
static unsigned int count_aux(unsigned int type, uint32_t aux)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nr_evs; i++)
		n += evs[i].type == type && evs[i].aux == aux;
	return n;
}

/* The n-th (0-based) event of a type; its index in the log through *at. */
static const struct ioasid_event *nth_at(unsigned int type, unsigned int n, unsigned int *at)
{
	for (unsigned int i = 0; i < nr_evs; i++) {
		if (evs[i].type != type || n--)
			continue;
		if (at)
			*at = i;
		return &evs[i];
	}
	cr_assert_fail("no %s event #%u (%u of them)", type_name(type), n, count(type));
	return NULL;
}
#define nth(type, n) nth_at(type, n, NULL)

/* The log, on stderr: what a failed count saw. */
static void dump(void)
{
	for (unsigned int i = 0; i < nr_evs; i++)
		fprintf(stderr, "  #%u %-15s ctx %llu dev %u obj %u pt %u iommu %#x dom %u "
			"pasid %#x iova %#llx len %#llx value %#llx aux %u result %d '%s'\n", i,
			type_name(evs[i].type), (unsigned long long)evs[i].ctx, evs[i].dev,
			evs[i].obj, evs[i].pt, evs[i].iommu, evs[i].domain, evs[i].pasid,
			(unsigned long long)evs[i].iova, (unsigned long long)evs[i].length,
			(unsigned long long)evs[i].value, evs[i].aux, evs[i].result, evs[i].name);
}

/* The single event of a type. */
static const struct ioasid_event *only(unsigned int type)
{
	if (count(type) != 1)
		dump();
	cr_assert_eq(count(type), 1, "%s events: %u, expected 1", type_name(type), count(type));
	return nth(type, 0);
}

/* The single event of a type with that aux. */
static const struct ioasid_event *only_aux(unsigned int type, uint32_t aux)
{
	cr_assert_eq(count_aux(type, aux), 1, "%s events with aux %u: %u, expected 1",
		     type_name(type), aux, count_aux(type, aux));
	for (unsigned int i = 0;; i++)
		if (evs[i].type == type && evs[i].aux == aux)
			return &evs[i];
}

static unsigned int index_of(const struct ioasid_event *ev)
{
	return (unsigned int)(ev - evs);
}

#define expect(ev, field, val)                                                               \
	cr_assert_eq((uint64_t)(ev)->field, (uint64_t)(val), "%s.%s: %#llx, expected %#llx",  \
		     type_name((ev)->type), #field, (unsigned long long)(ev)->field,             \
		     (unsigned long long)(val))
#define expect_ok(ev)                                                                        \
	do {                                                                                 \
		expect(ev, result, 0);                                                       \
		cr_assert_eq((ev)->flags & IOASID_EVF_REFUSED, 0, "%s refused",             \
			     type_name((ev)->type));                                         \
	} while (0)
#define expect_refused(ev, errno_)                                                          \
	do {                                                                                 \
		expect(ev, result, -(errno_));                                               \
		cr_assert((ev)->flags & IOASID_EVF_REFUSED, "%s not flagged refused",       \
			  type_name((ev)->type));                                            \
	} while (0)
#define expect_name(ev, str) cr_assert_str_eq((ev)->name, str, "%s.name", type_name((ev)->type))

/* ---- fixture: a private host, a subscriber ------------------------------------------------ */

static uint64_t cookie;        /* self, in events */

static void ev_setup(void)
{
	setenv("IOASID_QUIET", "1", 1);
	private_host_open();
	ctx_setup();
	cookie = ref_ctx_event_id(self);
	ev_reset();
	ev_handle = ioasid_events_subscribe(on_event, NULL);
	cr_assert_geq(ev_handle, 0);
}

/* Devices a test bound through the public API are unbound before the context closes. */
static struct { struct ioasid_ctx *ctx; uint32_t id; } bound[8];
static unsigned int nr_bound;

static void ev_teardown(void)
{
	while (nr_bound--)
		ioasid_device_unbind(bound[nr_bound].ctx, bound[nr_bound].id);
	if (ev_handle >= 0)
		ioasid_events_unsubscribe(ev_handle);
	ctx_teardown();
	platform_set_default(NULL);
}

TestSuite(events, .init = ev_setup, .fini = ev_teardown);

/* ---- helpers ------------------------------------------------------------------------------ */

static uint32_t bind_ok(struct ioasid_ctx *ctx, const char *name)
{
	uint32_t id = 0;

	assert_rc(0, ioasid_device_bind(ctx, name, &id));
	bound[nr_bound].ctx = ctx;
	bound[nr_bound++].id = id;
	return id;
}

static void unbind_ok(uint32_t id)
{
	for (unsigned int i = 0; i < nr_bound; i++)
		if (bound[i].ctx == self && bound[i].id == id) {
			bound[i] = bound[--nr_bound];
			break;
		}
	assert_rc(0, ioasid_device_unbind(self, id));
}

/* Page-aligned, zeroed, and mapped at a fixed IOVA. */
static uint8_t *map_buffer(uint32_t ioas, uint64_t iova, size_t len)
{
	uint8_t *buf = test_buffer(len);

	memset(buf, 0, len);
	ioas_map_fixed_ok(ioas, buf, len, iova);
	return buf;
}

static int _test_cmd(struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return _ioctl(IOMMU_TEST_CMD, cmd);
}

static uint32_t account_mode(void)
{
	return have_cap(CAP_IPC_LOCK) ? 0 : 1;   /* none (CAP_IPC_LOCK), else per user */
}

/* ---- the subscriber API ------------------------------------------------------------------- */

static unsigned int extra_seen[8];

static void on_event_count(void *arg, const struct ioasid_event *ev)
{
	(void)ev;
	__atomic_add_fetch((unsigned int *)arg, 1, __ATOMIC_RELAXED);
}

Test(events, subscribe_table_full_and_unsubscribe)
{
	int handles[8], extra;

	assert_rc(-EINVAL, ioasid_events_subscribe(NULL, NULL));
	assert_rc(-EINVAL, ioasid_events_unsubscribe(-1));
	assert_rc(-EINVAL, ioasid_events_unsubscribe(8));
	/* the fixture holds one of the 8 slots */
	for (int i = 0; i < 7; i++) {
		handles[i] = ioasid_events_subscribe(on_event_count, &extra_seen[i]);
		cr_assert_geq(handles[i], 0);
		cr_assert_neq(handles[i], ev_handle);
	}
	assert_rc(-ENOSPC, ioasid_events_subscribe(on_event_count, &extra_seen[7]));

	ioas_alloc_ok();
	for (int i = 0; i < 7; i++)
		cr_assert_eq(extra_seen[i], 1, "subscriber %d saw %u events", i, extra_seen[i]);
	cr_assert_eq(count(IOASID_EV_OBJ_ALLOC), 1);

	assert_rc(0, ioasid_events_unsubscribe(handles[3]));
	assert_rc(-ENOENT, ioasid_events_unsubscribe(handles[3]));
	ioas_alloc_ok();
	cr_assert_eq(extra_seen[3], 1, "an unsubscribed callback is not called");
	cr_assert_eq(extra_seen[4], 2);
	extra = ioasid_events_subscribe(on_event_count, &extra_seen[7]);
	cr_assert_eq(extra, handles[3], "the freed slot is reused");
	assert_rc(-ENOSPC, ioasid_events_subscribe(on_event_count, &extra_seen[7]));
	for (int i = 0; i < 7; i++)
		assert_rc(0, ioasid_events_unsubscribe(i == 3 ? extra : handles[i]));
}

Test(events, nothing_delivered_without_a_subscriber)
{
	uint32_t ioas;
	uint8_t tmp[64];
	int dom;

	assert_rc(0, ioasid_events_unsubscribe(ev_handle));
	ev_handle = -1;
	ioas = ioas_alloc_ok();
	dom = ioasid_test_domain_attach(self, ioas, 0);
	cr_assert_gt(dom, 0);
	map_buffer(ioas, 0x100000, 4 * PAGE);
	assert_rc(0, ioasid_test_dma(self, dom, 0x100000, tmp, sizeof(tmp), 0, NULL));
	ioas_unmap_ok(ioas, 0x100000, 4 * PAGE, 4 * PAGE);
	assert_rc(0, ioasid_test_domain_detach(self, dom));
	destroy_ok(ioas);
	cr_assert_eq(nr_evs, 0, "%u events delivered with no subscriber", nr_evs);

	/* subscribing again delivers again, with the header the hook fills */
	ev_handle = ioasid_events_subscribe(on_event, NULL);
	cr_assert_geq(ev_handle, 0);
	ioas = ioas_alloc_ok();
	destroy_ok(ioas);
	cr_assert_eq(nr_evs, 2);
	for (unsigned int i = 0; i < 2; i++) {
		expect(&evs[i], source, IOASID_SRC_INPROC);
		expect(&evs[i], version, IOASID_EVENT_VERSION);
		expect(&evs[i], pid, getpid());
		expect(&evs[i], tid, syscall(SYS_gettid));
		expect(&evs[i], ctx, cookie);
		cr_assert_gt(evs[i].ts_ns, 0);
		expect(&evs[i], reserved, 0);
	}
	cr_assert_gt(evs[1].seq, evs[0].seq);
	cr_assert_geq(evs[1].ts_ns, evs[0].ts_ns);
}

/* ---- contexts and objects ------------------------------------------------------------------ */

Test(events, context_open_close_and_objects)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	struct ioasid_ctx *other;
	const struct ioasid_event *ev, *close_ev;
	uint32_t ioas;

	assert_rc(0, ioasid_ctx_open(&other));
	ev = only(IOASID_EV_CTX_OPEN);
	expect(ev, ctx, ref_ctx_event_id(other));
	cr_assert_neq(ev->ctx, cookie, "contexts have distinct identities");
	assert_rc(0, ioasid_ctx_ioctl(other, IOMMU_IOAS_ALLOC, &a));
	ev = only(IOASID_EV_OBJ_ALLOC);
	expect(ev, ctx, ref_ctx_event_id(other));
	expect(ev, obj, a.out_ioas_id);
	expect(ev, aux, IOASID_OBJK_IOAS);
	ioasid_ctx_close(other);
	/* its IOAS goes with it, then the context */
	ev = only(IOASID_EV_OBJ_DESTROY);
	expect(ev, obj, a.out_ioas_id);
	expect(ev, aux, IOASID_OBJK_IOAS);
	expect_ok(ev);
	close_ev = only(IOASID_EV_CTX_CLOSE);
	expect(close_ev, ctx, ev->ctx);
	expect(close_ev, value, 0);
	cr_assert_lt(index_of(ev), index_of(close_ev));

	/* IOMMU_DESTROY: done, refused while used (EBUSY), nothing for an unknown ID */
	ev_reset();
	ioas = ioas_alloc_ok();
	cr_assert_gt(ioasid_test_domain_attach(self, ioas, 0), 0);
	destroy_err(EBUSY, ioas);
	ev = only(IOASID_EV_OBJ_DESTROY);
	expect(ev, obj, ioas);
	expect(ev, aux, IOASID_OBJK_IOAS);
	expect_refused(ev, EBUSY);
	destroy_err(ENOENT, 4242);
	cr_assert_eq(count(IOASID_EV_OBJ_DESTROY), 1);
}

/* ---- IOAS map / unmap / copy ---------------------------------------------------------------- */

Test(events, ioas_maps_and_unmaps_one_event_per_call)
{
	static const uint64_t sizes[] = { PAGE, 3 * PAGE, 16 * PAGE, 2 * PAGE, 5 * PAGE };
	uint32_t ioas = ioas_alloc_ok();
	uint8_t *buf = test_buffer(64 * PAGE);
	uint64_t iova, total = 0, auto_iova, auto_len = 8 * PAGE;
	const struct ioasid_event *ev;

	ev_reset();
	for (unsigned int i = 0; i < 5; i++) {
		ioas_map_fixed_ok(ioas, buf, sizes[i], 0x1000000 * (i + 1));
		total += sizes[i];
	}
	auto_iova = ioas_map_auto_ok(ioas, buf, auto_len);
	total += auto_len;
	ioas_map_fixed_err(EEXIST, ioas, buf, PAGE, 0x1000000);         /* overlaps map #0 */
	iova = 0x9000000;
	assert_rc(-EOPNOTSUPP, _ioas_map(ioas, buf, PAGE, &iova, MAP_FIXED_RW | (1u << 12)));
	ioas_map_fixed_err(ENOENT, 4242, buf, PAGE, 0x9000000);          /* no such IOAS */

	cr_assert_eq(count(IOASID_EV_IOAS_MAP), 9, "one IOAS_MAP per call, refusals included");
	for (unsigned int i = 0; i < 5; i++) {
		ev = nth(IOASID_EV_IOAS_MAP, i);
		expect(ev, ctx, cookie);
		expect(ev, obj, ioas);
		expect(ev, iova, 0x1000000 * (i + 1));
		expect(ev, length, sizes[i]);
		expect(ev, aux, PROT_RWC);
		expect(ev, value, 0);          /* no domain: nothing pinned */
		expect_ok(ev);
		cr_assert_gt(ev->latency_ns, 0);
	}
	ev = nth(IOASID_EV_IOAS_MAP, 5);
	expect(ev, iova, auto_iova);
	expect(ev, length, auto_len);
	cr_assert(ev->flags & IOASID_EVF_AUTO_IOVA, "an allocated IOVA is flagged AUTO_IOVA");
	cr_assert_eq(nth(IOASID_EV_IOAS_MAP, 0)->flags & IOASID_EVF_AUTO_IOVA, 0,
		     "a FIXED_IOVA map is not flagged AUTO_IOVA");
	expect_refused(nth(IOASID_EV_IOAS_MAP, 6), EEXIST);
	expect(nth(IOASID_EV_IOAS_MAP, 6), iova, 0x1000000);
	expect_refused(nth(IOASID_EV_IOAS_MAP, 7), EOPNOTSUPP);
	expect_refused(nth(IOASID_EV_IOAS_MAP, 8), ENOENT);
	expect(nth(IOASID_EV_IOAS_MAP, 8), obj, 4242);
	cr_assert_eq(count(IOASID_EV_DOMAIN_MAP), 0);
	cr_assert_eq(count(IOASID_EV_ACCOUNT), 0);

	ioas_unmap_ok(ioas, 0x3000000, 16 * PAGE, 16 * PAGE);
	ioas_unmap_err(ENOENT, ioas, 0x3000000, 16 * PAGE);
	ioas_unmap_ok(ioas, 0, UINT64_MAX, total - 16 * PAGE);
	cr_assert_eq(count(IOASID_EV_IOAS_UNMAP), 3);
	ev = nth(IOASID_EV_IOAS_UNMAP, 0);
	expect(ev, obj, ioas);
	expect(ev, iova, 0x3000000);
	expect(ev, length, 16 * PAGE);
	expect(ev, value, 16 * PAGE);
	expect_ok(ev);
	cr_assert_gt(ev->latency_ns, 0);
	ev = nth(IOASID_EV_IOAS_UNMAP, 1);
	expect_refused(ev, ENOENT);
	expect(ev, value, 0);
	ev = nth(IOASID_EV_IOAS_UNMAP, 2);
	expect(ev, iova, 0);
	expect(ev, length, UINT64_MAX);
	expect(ev, value, total - 16 * PAGE);
	expect_ok(ev);
}

Test(events, map_into_a_domain_pins_maps_and_unmap_invalidates)
{
	uint32_t ioas = ioas_alloc_ok();
	const uint32_t iommu = IOMMU_CTX_TEST | (uint32_t)(cookie & 0x7fffffff);
	const uint64_t iova = 0x100000, len = 16 * PAGE;
	struct ioasid_iotlb_stats st;
	const struct ioasid_event *acc, *dmap, *map, *dunmap, *inv, *unmap, *ev;
	uint64_t fault = 0;
	uint8_t *buf, tmp[2 * PAGE];
	int dom;

	dom = ioasid_test_domain_attach(self, ioas, PAGE);   /* 4 KiB leaves only */
	cr_assert_gt(dom, 0);
	ev_reset();
	buf = map_buffer(ioas, iova, len);
	acc = only(IOASID_EV_ACCOUNT);
	dmap = only(IOASID_EV_DOMAIN_MAP);
	map = only(IOASID_EV_IOAS_MAP);
	cr_assert(index_of(acc) < index_of(dmap) && index_of(dmap) < index_of(map),
		  "pin, map into the domain, then the IOAS_MAP");
	expect(acc, ctx, cookie);
	expect(acc, value, 16);
	expect(acc, length, 16);
	expect(acc, aux, account_mode());
	if (account_mode() == 0) {      /* mode none: no limit applies, nothing charged */
		expect(acc, iova, UINT64_MAX);
		expect(acc, pt, 0);
	} else {
		expect(acc, pt, 16);
	}
	expect_ok(acc);
	expect(dmap, ctx, 0);
	expect(dmap, iommu, iommu);
	expect(dmap, domain, 1);
	expect(dmap, iova, iova);
	expect(dmap, length, len);
	expect(dmap, value, (uintptr_t)buf);
	expect(dmap, aux, PROT_RWC);
	expect_ok(dmap);
	expect(map, value, 16);

	/* two translations cached */
	ev_reset();
	assert_rc(0, ioasid_test_dma(self, dom, iova, tmp, sizeof(tmp), 0, NULL));
	ev = only(IOASID_EV_DMA);
	expect(ev, ctx, cookie);
	expect(ev, dev, 0);
	expect(ev, iommu, iommu);
	expect(ev, domain, 1);
	expect(ev, iova, iova);
	expect(ev, length, sizeof(tmp));
	expect(ev, aux, 0);
	expect_ok(ev);
	assert_rc(0, ioasid_test_iotlb_stats(self, dom, &st));
	cr_assert_eq(st.entries, 2);

	ev_reset();
	ioas_unmap_ok(ioas, iova, len, len);
	dunmap = only(IOASID_EV_DOMAIN_UNMAP);
	inv = only(IOASID_EV_IOTLB_INV);
	acc = only(IOASID_EV_ACCOUNT);
	unmap = only(IOASID_EV_IOAS_UNMAP);
	cr_assert(index_of(dunmap) < index_of(inv) && index_of(inv) < index_of(acc) &&
		  index_of(acc) < index_of(unmap), "unmap, invalidate, unpin, then IOAS_UNMAP");
	expect(dunmap, iommu, iommu);
	expect(dunmap, domain, 1);
	expect(dunmap, iova, iova);
	expect(dunmap, length, len);
	expect(dunmap, value, len);
	expect(inv, iommu, iommu);
	expect(inv, domain, 1);
	expect(inv, pasid, ALL_PASIDS);
	expect(inv, iova, iova);
	expect(inv, length, len);
	expect(inv, aux, IOASID_INV_UNMAP);
	expect(inv, value, 2);
	cr_assert(inv->flags & IOASID_EVF_STRICT);
	expect(acc, value, 0);
	expect(acc, length, (uint64_t)-16);
	expect(acc, pt, 0);
	if (account_mode() == 0)
		expect(acc, iova, UINT64_MAX);
	expect(unmap, value, len);

	/* MAP-2: DMA to the unmapped range faults, and no stale translation answers it */
	ev_reset();
	assert_rc(-EFAULT, ioasid_test_dma(self, dom, iova, tmp, 8, 0, &fault));
	ev = only(IOASID_EV_DMA);
	expect_refused(ev, EFAULT);
	cr_assert_eq(count(IOASID_EV_IOTLB_STALE_HIT), 0);

	/* the domain's teardown drops what it cached */
	ioas_map_fixed_ok(ioas, buf, len, iova);
	assert_rc(0, ioasid_test_dma(self, dom, iova, tmp, 8, 0, NULL));
	ev_reset();
	assert_rc(0, ioasid_test_domain_detach(self, dom));
	expect(only(IOASID_EV_DOMAIN_UNMAP), length, len);
	cr_assert_eq(count(IOASID_EV_IOTLB_INV), 2, "the unmap's, then the teardown's");
	inv = nth(IOASID_EV_IOTLB_INV, 0);
	expect(inv, aux, IOASID_INV_UNMAP);
	expect(inv, value, 1);
	inv = nth(IOASID_EV_IOTLB_INV, 1);
	expect(inv, aux, IOASID_INV_DOMAIN_FREE);
	expect(inv, domain, 1);
	expect(inv, value, 0);
}

Test(events, domain_events_once_per_call_per_domain)
{
	const unsigned int rounds = 20;
	uint32_t ioas = ioas_alloc_ok(), ioas2 = ioas_alloc_ok();
	uint8_t *buf = test_buffer(8 * PAGE);
	const struct ioasid_event *ev;
	int d1, d2;

	/* areas that exist when a domain arrives: one DOMAIN_MAP each, pinned once */
	for (unsigned int i = 0; i < 3; i++)
		ioas_map_fixed_ok(ioas2, buf, 2 * PAGE, 0x200000 * (i + 1));
	ev_reset();
	cr_assert_gt(ioasid_test_domain_attach(self, ioas2, 0), 0);
	cr_assert_eq(count(IOASID_EV_DOMAIN_MAP), 3);
	cr_assert_eq(count(IOASID_EV_ACCOUNT), 3);
	cr_assert_eq(count(IOASID_EV_IOAS_MAP), 0);
	expect(nth(IOASID_EV_ACCOUNT, 0), value, 2);
	expect(nth(IOASID_EV_ACCOUNT, 2), value, 6);

	d1 = ioasid_test_domain_attach(self, ioas, 0);
	d2 = ioasid_test_domain_attach(self, ioas, 0);
	cr_assert(d1 > 0 && d2 > 0);
	ev_reset();
	for (unsigned int i = 0; i < rounds; i++) {
		uint64_t len = (i % 8 + 1) * PAGE;

		ioas_map_fixed_ok(ioas, buf, len, 0x400000);
		ioas_unmap_ok(ioas, 0x400000, len, len);
	}
	cr_assert_eq(count(IOASID_EV_IOAS_MAP), rounds);
	cr_assert_eq(count(IOASID_EV_IOAS_UNMAP), rounds);
	cr_assert_eq(count(IOASID_EV_DOMAIN_MAP), 2 * rounds, "one per map call and domain");
	cr_assert_eq(count(IOASID_EV_DOMAIN_UNMAP), 2 * rounds);
	cr_assert_eq(count(IOASID_EV_IOTLB_INV), 2 * rounds);
	cr_assert_eq(count_aux(IOASID_EV_IOTLB_INV, IOASID_INV_UNMAP), 2 * rounds);
	cr_assert_eq(count(IOASID_EV_ACCOUNT), 2 * rounds, "pinned once for both domains");
	for (unsigned int i = 0; i < rounds; i++) {
		ev = nth(IOASID_EV_DOMAIN_MAP, 2 * i);
		expect(ev, length, (i % 8 + 1) * PAGE);
		cr_assert_neq(ev->domain, nth(IOASID_EV_DOMAIN_MAP, 2 * i + 1)->domain);
		expect(nth(IOASID_EV_IOAS_MAP, i), value, i % 8 + 1);
	}
}

Test(events, map_file_and_copy)
{
	uint32_t src = ioas_alloc_ok(), dst = ioas_alloc_ok();
	int fd = memfd_create("events", 0);
	struct iommu_ioas_map_file mf = {
		.size = sizeof(mf), .flags = MAP_FIXED_RW, .ioas_id = src, .fd = fd,
		.start = 2 * PAGE, .length = 4 * PAGE, .iova = 0x300000,
	};
	const struct ioasid_event *ev;
	uint64_t iova = 0x700000;

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 16 * PAGE), 0);
	ev_reset();
	assert_rc(0, _ioctl(IOMMU_IOAS_MAP_FILE, &mf));
	ev = only(IOASID_EV_IOAS_MAP);
	expect(ev, obj, src);
	expect(ev, iova, 0x300000);
	expect(ev, length, 4 * PAGE);
	expect(ev, aux, PROT_RWC);
	expect_ok(ev);

	assert_rc(0, _ioas_copy(dst, &iova, src, 0x301000, 2 * PAGE, MAP_FIXED_RW));
	assert_rc(-ENOENT, _ioas_copy(dst, &iova, src, 0x900000, PAGE, MAP_FIXED_RW));
	/* the destination does not exist: refused, not announced as done (found by the fuzzer) */
	assert_rc(-ENOENT, _ioas_copy(4242, &iova, src, 0x301000, PAGE, MAP_FIXED_RW));
	cr_assert_eq(count(IOASID_EV_IOAS_COPY), 3);
	ev = nth(IOASID_EV_IOAS_COPY, 0);
	expect(ev, ctx, cookie);
	expect(ev, obj, dst);
	expect(ev, pt, src);
	expect(ev, iova, 0x700000);
	expect(ev, length, 2 * PAGE);
	expect(ev, value, 0x301000);
	expect(ev, aux, PROT_RWC);
	expect_ok(ev);
	cr_assert_gt(ev->latency_ns, 0);
	ev = nth(IOASID_EV_IOAS_COPY, 1);
	expect_refused(ev, ENOENT);
	expect(ev, value, 0x900000);
	ev = nth(IOASID_EV_IOAS_COPY, 2);
	expect_refused(ev, ENOENT);
	expect(ev, obj, 4242);
	cr_assert_eq(count(IOASID_EV_IOAS_MAP), 1, "a copy is not a map");
	close(fd);
}

Test(events, vfio_type1_map_and_unmap)
{
	uint32_t ioas = ioas_alloc_ok();
	uint8_t *buf = test_buffer(8 * PAGE);
	struct iommu_vfio_ioas set = { .size = sizeof(set), .ioas_id = ioas,
				       .op = IOMMU_VFIO_IOAS_SET };
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buf, .iova = 0x10000000, .size = 8 * PAGE,
	};
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap), .iova = 0x10000000,
						    .size = 2 * PAGE };
	const struct ioasid_event *ev;

	assert_rc(0, _ioctl(IOMMU_VFIO_IOAS, &set));
	assert_rc(0, _ioctl(VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU));
	ev_reset();
	assert_rc(0, _ioctl(VFIO_IOMMU_MAP_DMA, &map));
	map.flags |= 1u << 7;
	assert_rc(-EINVAL, _ioctl(VFIO_IOMMU_MAP_DMA, &map));
	cr_assert_eq(count(IOASID_EV_IOAS_MAP), 2);
	ev = nth(IOASID_EV_IOAS_MAP, 0);
	expect(ev, ctx, cookie);
	expect(ev, obj, ioas);
	expect(ev, iova, 0x10000000);
	expect(ev, length, 8 * PAGE);
	expect(ev, aux, PROT_RWC);
	expect_ok(ev);
	expect_refused(nth(IOASID_EV_IOAS_MAP, 1), EINVAL);

	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.iova = 0x20000000;
	map.size = 2 * PAGE;
	assert_rc(0, _ioctl(VFIO_IOMMU_MAP_DMA, &map));
	assert_rc(-ENOENT, _ioctl(VFIO_IOMMU_UNMAP_DMA, &unmap));  /* part of a v2 mapping */
	unmap.iova = 0x20000000;
	unmap.size = 2 * PAGE;                 /* written back: what the failed unmap removed */
	assert_rc(0, _ioctl(VFIO_IOMMU_UNMAP_DMA, &unmap));
	unmap = (struct vfio_iommu_type1_dma_unmap){ .argsz = sizeof(unmap),
						     .flags = VFIO_DMA_UNMAP_FLAG_ALL };
	assert_rc(0, _ioctl(VFIO_IOMMU_UNMAP_DMA, &unmap));
	cr_assert_eq(count(IOASID_EV_IOAS_UNMAP), 3);
	ev = nth(IOASID_EV_IOAS_UNMAP, 0);
	expect_refused(ev, ENOENT);
	expect(ev, iova, 0x10000000);
	ev = nth(IOASID_EV_IOAS_UNMAP, 1);
	expect(ev, obj, ioas);
	expect(ev, iova, 0x20000000);
	expect(ev, length, 2 * PAGE);
	expect(ev, value, 2 * PAGE);
	expect_ok(ev);
	ev = nth(IOASID_EV_IOAS_UNMAP, 2);
	expect(ev, iova, 0);
	expect(ev, length, UINT64_MAX);
	expect(ev, value, 8 * PAGE);
	expect_ok(ev);
}

static void drop_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	cr_assert_eq(syscall(SYS_capget, &hdr, data), 0);
	data[0].effective &= ~(1u << CAP_IPC_LOCK);
	cr_assert_eq(syscall(SYS_capset, &hdr, data), 0);
}

Test(events, account_refused_over_rlimit)
{
	uint32_t ioas = ioas_alloc_ok();
	uint8_t *buf = test_buffer(16 * PAGE);
	struct rlimit rl = { 8 * PAGE, 8 * PAGE };
	const struct ioasid_event *ev;

	drop_ipc_lock();
	cr_assert_eq(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	cr_assert_gt(ioasid_test_domain_attach(self, ioas, 0), 0);
	ioas_map_fixed_ok(ioas, buf, 4 * PAGE, 0x100000);
	ev = only(IOASID_EV_ACCOUNT);
	expect(ev, aux, 1);             /* per-user account: RLIMIT_MODE 0 */
	expect(ev, value, 4);
	expect(ev, iova, 8);            /* RLIMIT_MEMLOCK in pages */
	expect(ev, pt, 4);              /* charged to the user account after the change */
	ev_reset();
	ioas_map_fixed_err(ENOMEM, ioas, buf, 16 * PAGE, 0x200000);
	ev = only(IOASID_EV_ACCOUNT);
	expect_refused(ev, ENOMEM);
	expect(ev, length, 16);
	expect(ev, value, 4);           /* nothing charged */
	expect(ev, iova, 8);
	expect(ev, pt, 4);
	ev = only(IOASID_EV_IOAS_MAP);
	expect_refused(ev, ENOMEM);
	expect(ev, value, 0);
}

Test(events, allowed_and_reserved_ranges)
{
	uint32_t ioas = ioas_alloc_ok();
	struct iommu_iova_range ranges[2] = { { 0x100000, 0x1fffff }, { 0x400000, 0x7fffff } };
	struct iommu_ioas_allow_iovas allow = { .size = sizeof(allow), .ioas_id = ioas,
						.num_iovas = 2,
						.allowed_iovas = (uintptr_t)ranges };
	struct iommu_test_cmd rsv = { .op = IOMMU_TEST_OP_ADD_RESERVED, .id = ioas,
				      .add_reserved = { .start = 0x10000000, .length = PAGE } };
	const struct ioasid_event *ev;

	ev_reset();
	assert_rc(0, _ioctl(IOMMU_IOAS_ALLOW_IOVAS, &allow));
	cr_assert_eq(count(IOASID_EV_IOAS_ALLOW), 2);
	for (unsigned int i = 0; i < 2; i++) {
		ev = nth(IOASID_EV_IOAS_ALLOW, i);
		expect(ev, ctx, cookie);
		expect(ev, obj, ioas);
		expect(ev, iova, ranges[i].start);
		expect(ev, length, ranges[i].last - ranges[i].start + 1);
		expect(ev, aux, i);
		expect(ev, value, 2);
		expect_ok(ev);
	}
	assert_rc(0, _test_cmd(&rsv));
	ev = only(IOASID_EV_IOAS_RESERVE);
	expect(ev, obj, ioas);
	expect(ev, iova, 0x10000000);
	expect(ev, length, PAGE);
	expect(ev, value, 1);
	expect_ok(ev);
	/* a reserved range cannot be allowed, an allowed one cannot be reserved */
	ev_reset();
	ranges[1] = (struct iommu_iova_range){ 0x10000000, 0x10ffffff };
	assert_rc(-EADDRINUSE, _ioctl(IOMMU_IOAS_ALLOW_IOVAS, &allow));
	expect_refused(only(IOASID_EV_IOAS_ALLOW), EADDRINUSE);
	rsv.add_reserved.start = 0x100000;
	assert_rc(-EADDRINUSE, _test_cmd(&rsv));
	ev = only(IOASID_EV_IOAS_RESERVE);
	expect_refused(ev, EADDRINUSE);
	expect(ev, value, 0);
	/* the empty set */
	ev_reset();
	allow.num_iovas = 0;
	assert_rc(0, _ioctl(IOMMU_IOAS_ALLOW_IOVAS, &allow));
	ev = only(IOASID_EV_IOAS_ALLOW);
	expect(ev, value, 0);
	expect(ev, length, 0);
}

/* ---- devices, groups, drivers --------------------------------------------------------------- */

Test(events, bind_claims_group_and_unbind_releases_it)
{
	const struct ioasid_event *ev, *claim, *bind;
	uint32_t gpu, audio, nvme;

	gpu = bind_ok(self, GPU);
	claim = only(IOASID_EV_GROUP_CLAIM);
	bind = only(IOASID_EV_DEV_BIND);
	cr_assert_lt(index_of(claim), index_of(bind));
	expect(claim, ctx, cookie);
	expect(claim, group, 9);
	expect(claim, dev, DEV_GPU);
	expect_name(claim, GPU);
	expect(claim, value, 1);
	expect(claim, aux, IOASID_DRV_USER);
	expect(bind, ctx, cookie);
	expect(bind, dev, DEV_GPU);
	expect_name(bind, GPU);
	expect(bind, group, 9);
	expect(bind, iommu, IOMMU_DMAR0);
	expect(bind, obj, gpu);
	expect(bind, value, 0);          /* no PASID */
	expect(bind, length, 2);         /* GPU + audio */
	expect(bind, aux, 0);
	expect_ok(bind);
	ev = only(IOASID_EV_OBJ_ALLOC);
	expect(ev, obj, gpu);
	expect(ev, aux, IOASID_OBJK_DEVICE);

	/* the sibling joins the claimed group: no second claim */
	audio = bind_ok(self, AUDIO);
	cr_assert_eq(count(IOASID_EV_GROUP_CLAIM), 1);
	expect(nth(IOASID_EV_DEV_BIND, 1), dev, DEV_AUDIO);

	ev_reset();
	unbind_ok(gpu);
	ev = only(IOASID_EV_DEV_UNBIND);
	expect(ev, ctx, cookie);
	expect(ev, dev, DEV_GPU);
	expect_name(ev, GPU);
	expect(ev, group, 9);
	expect(ev, obj, gpu);
	expect(ev, iommu, IOMMU_DMAR0);
	cr_assert_eq(count(IOASID_EV_GROUP_RELEASE), 0, "the group is still claimed");
	ev = only(IOASID_EV_OBJ_DESTROY);
	expect(ev, obj, gpu);
	expect(ev, aux, IOASID_OBJK_DEVICE);

	ev_reset();
	unbind_ok(audio);
	ev = only(IOASID_EV_GROUP_RELEASE);
	expect(ev, ctx, cookie);
	expect(ev, group, 9);
	expect(ev, dev, DEV_AUDIO);
	expect_name(ev, AUDIO);
	cr_assert(index_of(only(IOASID_EV_DEV_UNBIND)) < index_of(ev) &&
		  index_of(ev) < index_of(only(IOASID_EV_OBJ_DESTROY)),
		  "unbind, release the group, destroy the object");

	ev_reset();
	nvme = bind_ok(self, NVME);
	ev = only(IOASID_EV_DEV_BIND);
	expect(ev, value, 20);
	expect(ev, length, 1);
	expect(ev, group, 3);
	expect(only(IOASID_EV_GROUP_CLAIM), group, 3);
	unbind_ok(nvme);
	expect(only(IOASID_EV_GROUP_RELEASE), group, 3);
}

Test(events, bind_refusals)
{
	struct ioasid_ctx *other;
	const struct ioasid_event *ev;
	uint32_t id;

	assert_rc(-EPERM, ioasid_device_bind(self, BR_A, &id));   /* GRP-1: e1000e sibling */
	ev = only(IOASID_EV_DEV_BIND);
	expect_refused(ev, EPERM);
	expect(ev, dev, DEV_BR_A);
	expect_name(ev, BR_A);
	expect(ev, group, 12);
	expect(ev, iommu, IOMMU_DMAR0);
	expect(ev, obj, 0);
	expect(ev, pt, DEV_BR_A + 1);   /* the blocker: 0000:02:02.0 on e1000e */
	cr_assert_eq(count(IOASID_EV_GROUP_CLAIM), 0);
	cr_assert_eq(count(IOASID_EV_OBJ_ALLOC), 0);

	assert_rc(-ENODEV, ioasid_device_bind(self, "0000:ff:1f.7", &id));
	ev = nth(IOASID_EV_DEV_BIND, 1);
	expect_refused(ev, ENODEV);
	expect(ev, dev, 0);
	expect(ev, pt, 0);
	expect_name(ev, "0000:ff:1f.7");

	assert_rc(-EINVAL, ioasid_device_bind(self, "mdev0", &id));  /* software table */
	expect_refused(nth(IOASID_EV_DEV_BIND, 2), EINVAL);
	expect(nth(IOASID_EV_DEV_BIND, 2), dev, DEV_MDEV);

	bind_ok(self, GPU);
	assert_rc(-EBUSY, ioasid_device_bind(self, GPU, &id));
	expect_refused(nth(IOASID_EV_DEV_BIND, 4), EBUSY);
	expect(nth(IOASID_EV_DEV_BIND, 4), dev, DEV_GPU);
	expect(nth(IOASID_EV_DEV_BIND, 4), pt, 0);      /* not a group conflict */
	expect(nth(IOASID_EV_DEV_BIND, 3), pt, 0);      /* a success */

	assert_rc(0, ioasid_ctx_open(&other));
	assert_rc(-EPERM, ioasid_device_bind(other, AUDIO, &id));    /* OWN-3 */
	ev = nth(IOASID_EV_DEV_BIND, 5);
	expect_refused(ev, EPERM);
	expect(ev, ctx, ref_ctx_event_id(other));
	expect(ev, dev, DEV_AUDIO);
	expect(ev, pt, DEV_GPU);        /* the sibling whose owner blocks the claim */
	cr_assert_eq(count(IOASID_EV_DEV_BIND), 6, "one DEV_BIND per bind call");
	cr_assert_eq(count(IOASID_EV_GROUP_CLAIM), 1);
	ioasid_ctx_close(other);
}

Test(events, driver_bind_and_unbind)
{
	struct platform *p = plat();
	const struct ioasid_event *ev;

	bind_ok(self, GPU);                                  /* claims group 9 */
	ev_reset();
	assert_rc(0, platform_driver_unbind(p, DEV_AUDIO - 1, NULL, 0));
	assert_rc(-EBUSY, platform_driver_bind(p, DEV_AUDIO - 1, "snd_hda_intel", NULL, 0));
	assert_rc(-ENOENT, platform_driver_bind(p, DEV_AUDIO - 1, "no-such-driver", NULL, 0));
	assert_rc(0, platform_driver_bind(p, DEV_AUDIO - 1, "pci-stub", NULL, 0));
	assert_rc(0, platform_driver_unbind(p, DEV_AUDIO - 1, NULL, 0));
	assert_rc(-ENODEV, platform_driver_unbind(p, DEV_AUDIO - 1, NULL, 0));
	assert_rc(0, platform_driver_unbind(p, 2, NULL, 0));   /* ahci off 0000:00:17.0 */

	cr_assert_eq(count(IOASID_EV_DRIVER_BIND), 3);
	cr_assert_eq(count(IOASID_EV_DRIVER_UNBIND), 4);
	ev = nth(IOASID_EV_DRIVER_UNBIND, 0);
	expect(ev, dev, DEV_AUDIO);
	expect_name(ev, AUDIO);
	expect(ev, group, 9);
	expect(ev, aux, IOASID_DRV_USER);
	expect(ev, ctx, 0);
	expect_ok(ev);
	ev = nth(IOASID_EV_DRIVER_BIND, 0);          /* GRP-2: refused on a claimed group */
	expect(ev, dev, DEV_AUDIO);
	expect(ev, group, 9);
	expect(ev, aux, IOASID_DRV_DMA_API);
	expect_refused(ev, EBUSY);
	ev = nth(IOASID_EV_DRIVER_BIND, 1);
	expect_refused(ev, ENOENT);
	expect(ev, aux, IOASID_DRV_NONE);
	ev = nth(IOASID_EV_DRIVER_BIND, 2);
	expect(ev, aux, IOASID_DRV_OWN_DMA);
	expect_ok(ev);
	expect(nth(IOASID_EV_DRIVER_UNBIND, 1), aux, IOASID_DRV_OWN_DMA);
	expect_refused(nth(IOASID_EV_DRIVER_UNBIND, 2), ENODEV);
	ev = nth(IOASID_EV_DRIVER_UNBIND, 3);
	expect(ev, dev, 3);
	expect(ev, group, 7);
	expect(ev, aux, IOASID_DRV_DMA_API);
	expect_ok(ev);
}

Test(events, attach_replace_detach_rid_and_pasid)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME), pt, h1, h2, h3;
	const struct ioasid_event *ev, *attach, *halloc;
	uint32_t d1, d2, d3;
	bool msi = false;

	map_buffer(ioas, 0x100000, 4 * PAGE);
	ev_reset();
	pt = ioas;
	assert_rc(0, ioasid_device_attach(self, dev, 0, &pt));
	h1 = pt;
	halloc = only(IOASID_EV_HWPT_ALLOC);
	attach = only(IOASID_EV_DEV_ATTACH);
	cr_assert_lt(index_of(halloc), index_of(attach));
	expect(halloc, ctx, cookie);
	expect(halloc, obj, h1);
	expect(halloc, pt, ioas);
	expect(halloc, iommu, IOMMU_DMAR0);
	expect(halloc, flags, IOASID_EVF_AUTO);
	expect_ok(halloc);
	d1 = halloc->domain;
	cr_assert_neq(d1, 0);
	expect(attach, ctx, cookie);
	expect(attach, dev, DEV_NVME);
	expect_name(attach, NVME);
	expect(attach, group, 3);
	expect(attach, obj, dev);
	expect(attach, pt, h1);
	expect(attach, value, ioas);
	expect(attach, pasid, 0);
	expect(attach, iommu, IOMMU_DMAR0);
	expect(attach, domain, d1);
	expect_ok(attach);
	ev = only(IOASID_EV_DOMAIN_MAP);
	expect(ev, domain, d1);
	expect(ev, iommu, IOMMU_DMAR0);
	ev = only_aux(IOASID_EV_IOTLB_INV, IOASID_INV_PASID_ENTRY);
	expect(ev, domain, d1);
	expect(ev, pasid, 0);
	for (unsigned int i = 0; i < count(IOASID_EV_IOAS_RESERVE); i++) {
		ev = nth(IOASID_EV_IOAS_RESERVE, i);
		expect(ev, obj, ioas);
		expect(ev, value, 1);
		msi |= ev->iova == 0xfee00000ULL && ev->length == 0x100000;
	}
	cr_assert(msi, "the MSI window is reserved in the IOAS while the device is attached");

	h2 = hwpt_alloc_ok(dev, ioas, IOMMU_HWPT_ALLOC_PASID);
	h3 = hwpt_alloc_ok(dev, ioas, IOMMU_HWPT_ALLOC_PASID);
	ev_reset();
	pt = h2;
	assert_rc(0, ioasid_device_replace(self, dev, 0, &pt));
	ev = only(IOASID_EV_DEV_REPLACE);
	expect(ev, pt, h2);
	expect(ev, value, h2);
	expect(ev, aux, d1);
	expect_ok(ev);
	d2 = ev->domain;
	cr_assert(d2 != 0 && d2 != d1);
	/* the automatic domain died with its last device, after the replace */
	halloc = only(IOASID_EV_HWPT_DESTROY);
	expect(halloc, obj, h1);
	expect(halloc, domain, d1);
	expect(halloc, flags, IOASID_EVF_AUTO);
	cr_assert_lt(index_of(ev), index_of(halloc));
	cr_assert_eq(count_aux(IOASID_EV_IOTLB_INV, IOASID_INV_PASID_ENTRY), 2,
		     "the old and the new entry");
	expect(only_aux(IOASID_EV_IOTLB_INV, IOASID_INV_DOMAIN_FREE), domain, d1);

	ev_reset();
	pt = h3;
	assert_rc(0, ioasid_device_attach(self, dev, 7, &pt));
	pt = ioas;
	assert_rc(-EINVAL, ioasid_device_attach(self, dev, 8, &pt));    /* no IOAS for PASIDs */
	pt = h3;
	assert_rc(-EINVAL, ioasid_device_attach(self, dev, 1u << 20, &pt));
	pt = h2;
	assert_rc(-EBUSY, ioasid_device_attach(self, dev, 0, &pt));
	cr_assert_eq(count(IOASID_EV_DEV_ATTACH), 4);
	ev = nth(IOASID_EV_DEV_ATTACH, 0);
	expect(ev, pasid, 7);
	expect(ev, pt, h3);
	expect_ok(ev);
	d3 = ev->domain;
	ev = nth(IOASID_EV_DEV_ATTACH, 1);
	expect_refused(ev, EINVAL);
	expect(ev, pasid, 8);
	expect(ev, pt, 0);
	expect(ev, domain, 0);
	expect(ev, value, ioas);
	expect_refused(nth(IOASID_EV_DEV_ATTACH, 2), EINVAL);
	expect(nth(IOASID_EV_DEV_ATTACH, 2), pasid, 1u << 20);
	expect_refused(nth(IOASID_EV_DEV_ATTACH, 3), EBUSY);

	ev_reset();
	pt = h3;
	assert_rc(0, ioasid_device_replace(self, dev, 7, &pt));          /* a no-op */
	ev = only(IOASID_EV_DEV_REPLACE);
	expect(ev, domain, d3);
	expect(ev, aux, d3);
	assert_rc(0, ioasid_device_detach(self, dev, 7));
	assert_rc(0, ioasid_device_detach(self, dev, 0));
	assert_rc(-ENOENT, ioasid_device_detach(self, dev, 0));         /* nothing attached */
	cr_assert_eq(count(IOASID_EV_DEV_DETACH), 2);
	ev = nth(IOASID_EV_DEV_DETACH, 0);
	expect(ev, ctx, cookie);
	expect(ev, dev, DEV_NVME);
	expect(ev, group, 3);
	expect(ev, obj, dev);
	expect(ev, pasid, 7);
	expect(ev, pt, h3);
	expect(ev, iommu, IOMMU_DMAR0);
	expect(ev, domain, d3);
	ev = nth(IOASID_EV_DEV_DETACH, 1);
	expect(ev, pasid, 0);
	expect(ev, pt, h2);
	expect(ev, domain, d2);

	ev_reset();
	destroy_ok(h2);
	ev = only(IOASID_EV_HWPT_DESTROY);
	expect(ev, obj, h2);
	expect(ev, pt, ioas);
	expect(ev, domain, d2);
	expect(ev, flags, IOASID_EVF_PASID);
	cr_assert_lt(index_of(ev), index_of(only(IOASID_EV_OBJ_DESTROY)));
}

Test(events, hwpt_alloc_flags_and_refusals)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME), id, parent;
	const struct ioasid_event *ev;

	ev_reset();
	id = hwpt_alloc_ok(dev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
	ev = only(IOASID_EV_HWPT_ALLOC);
	expect(ev, obj, id);
	expect(ev, pt, ioas);
	expect(ev, flags, IOASID_EVF_DIRTY);
	parent = hwpt_alloc_ok(dev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
	expect(nth(IOASID_EV_HWPT_ALLOC, 1), flags, IOASID_EVF_PARENT);
	ev = nth(IOASID_EV_OBJ_ALLOC, 1);
	expect(ev, obj, parent);
	expect(ev, aux, IOASID_OBJK_HWPT_PAGING);

	ev_reset();
	assert_rc(-EOPNOTSUPP, _hwpt_alloc(dev, ioas, 1u << 30, 0, NULL, 0, 0, &id));
	assert_rc(-ENOENT, _hwpt_alloc(4242, ioas, 0, 0, NULL, 0, 0, &id));
	assert_rc(-EINVAL, _hwpt_alloc(dev, 4242, 0, 0, NULL, 0, 0, &id));
	cr_assert_eq(count(IOASID_EV_HWPT_ALLOC), 3);
	ev = nth(IOASID_EV_HWPT_ALLOC, 0);
	expect_refused(ev, EOPNOTSUPP);
	expect(ev, obj, 0);
	expect(ev, pt, ioas);
	expect_refused(nth(IOASID_EV_HWPT_ALLOC, 1), ENOENT);
	expect_refused(nth(IOASID_EV_HWPT_ALLOC, 2), EINVAL);
	expect(nth(IOASID_EV_HWPT_ALLOC, 2), pt, 4242);
	cr_assert_eq(count(IOASID_EV_OBJ_ALLOC), 0);
	cr_assert_eq(count(IOASID_EV_HWPT_DESTROY), 0, "a HWPT never published is not destroyed");

	/* OWN-4: the IOAS is used by the HWPTs */
	destroy_err(EBUSY, ioas);
	expect_refused(only(IOASID_EV_OBJ_DESTROY), EBUSY);
}

/* ---------------------------------------------------------------------------------------------- */


Test(events, nested_stage1_edit_without_invalidation_is_a_stale_hit)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME), parent, nested, pt;
	uint8_t *ram = map_buffer(ioas, GUEST_GPA, GUEST_SIZE);
	const uint64_t root = GUEST_GPA, gva = 0x7f0000001000ULL;
	const uint64_t data_a = GUEST_GPA + 0x10000, data_b = GUEST_GPA + 0x11000;
	struct iommu_hwpt_vtd_s1 s1 = { .pgtbl_addr = root, .addr_width = 48 };
	struct iommu_hwpt_vtd_s1_invalidate inv = { .addr = 0, .npages = UINT64_MAX };
	struct iommu_hwpt_invalidate icmd = {
		.size = sizeof(icmd), .data_uptr = (uintptr_t)&inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, .entry_len = sizeof(inv),
		.entry_num = 1,
	};
	const struct ioasid_event *ev;
	uint32_t dparent, dnested;
	char out[8];

	memcpy(ram + (data_a - GUEST_GPA), "page-A", 7);
	memcpy(ram + (data_b - GUEST_GPA), "page-B", 7);
	guest_map(ram, root, gva, data_a);
	ev_reset();
	parent = hwpt_alloc_ok(dev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
	assert_rc(0, _hwpt_alloc(dev, parent, 0, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1), 0,
				 &nested));
	cr_assert_eq(count(IOASID_EV_HWPT_ALLOC), 2);
	dparent = nth(IOASID_EV_HWPT_ALLOC, 0)->domain;
	ev = nth(IOASID_EV_HWPT_ALLOC, 1);
	expect(ev, obj, nested);
	expect(ev, pt, parent);
	expect(ev, flags, IOASID_EVF_NESTED);
	expect(ev, iommu, IOMMU_DMAR0);
	dnested = ev->domain;
	cr_assert(dnested != 0 && dnested != dparent);
	pt = nested;
	assert_rc(0, ioasid_device_attach(self, dev, 0, &pt));
	expect(only(IOASID_EV_DEV_ATTACH), domain, dnested);

	ev_reset();
	assert_rc(0, ioasid_device_dma(self, dev, 0, gva, out, 7, 0, NULL));
	cr_assert_str_eq(out, "page-A");
	ev = only(IOASID_EV_DMA);
	expect(ev, ctx, cookie);
	expect(ev, obj, dev);
	expect(ev, dev, DEV_NVME);
	expect_name(ev, NVME);
	expect(ev, pasid, 0);
	expect(ev, iova, gva);
	expect(ev, length, 7);
	expect(ev, iommu, IOMMU_DMAR0);
	expect(ev, domain, dnested);
	expect(ev, aux, 0);
	expect_ok(ev);
	cr_assert_eq(count(IOASID_EV_IOTLB_STALE_HIT), 0);

	/* MAP-4: the guest repoints its PTE without invalidating; the hardware still uses A */
	*gpte(ram, root + 0x3000, (gva >> 12) & 511) = data_b | PTE_P | PTE_RW | PTE_US;
	assert_rc(0, ioasid_device_dma(self, dev, 0, gva, out, 7, 0, NULL));
	cr_assert_str_eq(out, "page-A");
	ev = only(IOASID_EV_IOTLB_STALE_HIT);
	expect(ev, ctx, 0);
	expect(ev, iommu, IOMMU_DMAR0);
	expect(ev, domain, dnested);
	expect(ev, pasid, 0);
	expect(ev, iova, gva);
	expect(ev, value, (uintptr_t)(ram + (data_a - GUEST_GPA)));
	expect(ev, dev, DEV_NVME);
	expect_name(ev, NVME);
	expect(ev, aux, 0);
	cr_assert_lt(index_of(ev), index_of(nth(IOASID_EV_DMA, 1)));

	/* the guest's invalidation: one IOTLB_INV of the nested domain, then no stale hit */
	ev_reset();
	icmd.hwpt_id = nested;
	assert_rc(0, _ioctl(IOMMU_HWPT_INVALIDATE, &icmd));
	ev = only(IOASID_EV_IOTLB_INV);
	expect(ev, aux, IOASID_INV_USER);
	expect(ev, iommu, IOMMU_DMAR0);
	expect(ev, domain, dnested);
	expect(ev, pasid, ALL_PASIDS);
	expect(ev, iova, 0);
	expect(ev, length, UINT64_MAX);
	expect(ev, value, 1);
	cr_assert_eq((ev->flags & IOASID_EVF_STRICT), 0);
	assert_rc(0, ioasid_device_dma(self, dev, 0, gva, out, 7, 0, NULL));
	cr_assert_str_eq(out, "page-B");
	cr_assert_eq(count(IOASID_EV_IOTLB_STALE_HIT), 0);

	/* an unmap in the parent flushes the nested child too: its entries embed stage 2 */
	ev_reset();
	ioas_unmap_ok(ioas, GUEST_GPA, GUEST_SIZE, GUEST_SIZE);
	cr_assert_eq(count_aux(IOASID_EV_IOTLB_INV, IOASID_INV_UNMAP), 2);
	ev = nth(IOASID_EV_IOTLB_INV, 0);
	expect(ev, domain, dparent);
	expect(ev, iova, GUEST_GPA);
	expect(ev, length, GUEST_SIZE);
	ev = nth(IOASID_EV_IOTLB_INV, 1);
	expect(ev, domain, dnested);
	expect(ev, pasid, ALL_PASIDS);
	expect(ev, length, UINT64_MAX);
	expect(ev, value, 1);
	ev_reset();
	assert_rc(-EFAULT, ioasid_device_dma(self, dev, 0, gva, out, 7, 0, NULL));
	expect_refused(only(IOASID_EV_DMA), EFAULT);
	cr_assert_eq(count(IOASID_EV_IOTLB_STALE_HIT), 0, "nothing stale survives the unmap");
	assert_rc(0, ioasid_device_detach(self, dev, 0));
}

Test(events, dirty_read_and_clear_invalidates)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME), h, pt;
	struct iommu_hwpt_set_dirty_tracking on = { .size = sizeof(on),
		.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE };
	uint64_t bitmap = 0;
	struct iommu_hwpt_get_dirty_bitmap get = { .size = sizeof(get), .iova = 0x400000,
		.length = 16 * PAGE, .page_size = PAGE, .data = (uintptr_t)&bitmap };
	const struct ioasid_event *ev;

	map_buffer(ioas, 0x400000, 16 * PAGE);
	h = hwpt_alloc_ok(dev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
	pt = h;
	assert_rc(0, ioasid_device_attach(self, dev, 0, &pt));
	on.hwpt_id = get.hwpt_id = h;
	assert_rc(0, _ioctl(IOMMU_HWPT_SET_DIRTY_TRACKING, &on));
	assert_rc(0, ioasid_device_dma(self, dev, 0, 0x400000 + 3 * PAGE, "x", 1, 1, NULL));
	expect(only(IOASID_EV_DMA), aux, 1);
	ev_reset();
	assert_rc(0, _ioctl(IOMMU_HWPT_GET_DIRTY_BITMAP, &get));
	cr_assert_eq(bitmap, 1ULL << 3);
	ev = only(IOASID_EV_IOTLB_INV);
	expect(ev, aux, IOASID_INV_DIRTY);
	expect(ev, iommu, IOMMU_DMAR0);
	expect(ev, iova, 0x400000 + 3 * PAGE);
	expect(ev, length, PAGE);
	expect(ev, value, 1);
	assert_rc(0, ioasid_device_detach(self, dev, 0));
}

/* ---- IO page faults ------------------------------------------------------------------------- */

Test(events, page_request_and_response)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME), h, pt;
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	struct iommu_hwpt_pgfault rec;
	struct iommu_hwpt_page_response resp = { .code = 0 };
	const struct ioasid_event *ev, *fault;
	uint32_t domain;
	char out[4];

	ev_reset();
	assert_rc(0, _ioctl(IOMMU_FAULT_QUEUE_ALLOC, &fa));
	ev = only(IOASID_EV_OBJ_ALLOC);
	expect(ev, obj, fa.out_fault_id);
	expect(ev, aux, IOASID_OBJK_FAULT);
	assert_rc(0, _hwpt_alloc(dev, ioas, IOMMU_HWPT_FAULT_ID_VALID, 0, NULL, 0, fa.out_fault_id,
				 &h));
	pt = h;
	assert_rc(0, ioasid_device_attach(self, dev, 0, &pt));
	domain = only(IOASID_EV_DEV_ATTACH)->domain;
	ev_reset();
	assert_rc(-EAGAIN, ioasid_device_dma(self, dev, 0, 0x800123, out, 4, 0, NULL));
	cr_assert_eq(ioasid_fd_read((int)fa.out_fault_fd, &rec, sizeof(rec)), sizeof(rec));
	fault = only(IOASID_EV_FAULT);
	expect(fault, ctx, cookie);
	expect(fault, obj, fa.out_fault_id);
	expect(fault, pt, h);
	expect(fault, dev, DEV_NVME);
	expect_name(fault, NVME);
	expect(fault, pasid, 0);
	expect(fault, iova, 0x800000);
	expect(fault, aux, 1);                 /* not present */
	expect(fault, value, rec.grpid);
	expect(fault, iommu, IOMMU_DMAR0);
	expect(fault, domain, domain);
	expect_ok(fault);
	ev = only(IOASID_EV_DMA);
	expect_refused(ev, EAGAIN);
	cr_assert_lt(index_of(fault), index_of(ev));

	resp.cookie = rec.cookie + 100;
	cr_assert_eq(ioasid_fd_write((int)fa.out_fault_fd, &resp, sizeof(resp)), -EINVAL);
	cr_assert_eq(count(IOASID_EV_FAULT_RESPONSE), 0);
	resp.cookie = rec.cookie;
	resp.code = IOMMUFD_PAGE_RESP_INVALID;
	cr_assert_eq(ioasid_fd_write((int)fa.out_fault_fd, &resp, sizeof(resp)), sizeof(resp));
	ev = only(IOASID_EV_FAULT_RESPONSE);
	expect(ev, ctx, cookie);
	expect(ev, obj, fa.out_fault_id);
	expect(ev, dev, DEV_NVME);
	expect_name(ev, NVME);
	expect(ev, pasid, 0);
	expect(ev, aux, IOMMUFD_PAGE_RESP_INVALID);
	expect(ev, value, rec.grpid);

	assert_rc(0, ioasid_device_detach(self, dev, 0));
	destroy_ok(h);
	assert_rc(0, ioasid_fd_close((int)fa.out_fault_fd));
}

Test(events, selftest_device_and_triggered_page_request)
{
	uint32_t ioas = ioas_alloc_ok(), stdev, auto_hwpt, idev, h;
	struct iommu_test_cmd md = { .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = ioas };
	struct iommu_test_cmd rep = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE };
	struct iommu_test_cmd trig = { .op = IOMMU_TEST_OP_TRIGGER_IOPF };
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	const struct ioasid_event *ev, *bind;
	uint32_t sdev;

	ev_reset();
	assert_rc(0, _test_cmd(&md));
	stdev = md.mock_domain.out_stdev_id;
	auto_hwpt = md.mock_domain.out_hwpt_id;
	idev = md.mock_domain.out_idev_id;
	bind = only(IOASID_EV_DEV_BIND);
	expect(bind, ctx, cookie);
	expect(bind, obj, idev);
	expect(bind, iommu, IOMMU_SELFTEST);
	cr_assert(bind->dev & 0x80000000u, "selftest devices: dev %#x", bind->dev);
	expect(bind, group, bind->dev);
	cr_assert_eq(strncmp(bind->name, "iommufd_mock", 12), 0, "name %s", bind->name);
	expect(bind, length, 1);
	expect_ok(bind);
	sdev = bind->dev;              /* the log is reset below */
	cr_assert_eq(count(IOASID_EV_GROUP_CLAIM), 0, "not a platform device");
	ev = only(IOASID_EV_HWPT_ALLOC);
	expect(ev, obj, auto_hwpt);
	expect(ev, iommu, IOMMU_SELFTEST);
	expect(ev, flags, IOASID_EVF_AUTO);
	ev = only(IOASID_EV_DEV_ATTACH);
	expect(ev, dev, sdev);
	expect(ev, pt, auto_hwpt);
	expect(ev, iommu, IOMMU_SELFTEST);
	ev = nth(IOASID_EV_OBJ_ALLOC, count(IOASID_EV_OBJ_ALLOC) - 1);
	expect(ev, obj, stdev);
	expect(ev, aux, IOASID_OBJK_SELFTEST);

	assert_rc(0, _ioctl(IOMMU_FAULT_QUEUE_ALLOC, &fa));
	assert_rc(0, _hwpt_alloc(idev, ioas, IOMMU_HWPT_FAULT_ID_VALID, 0, NULL, 0,
				 fa.out_fault_id, &h));
	rep.id = stdev;
	rep.mock_domain_replace.pt_id = h;
	ev_reset();
	assert_rc(0, _test_cmd(&rep));
	ev = only(IOASID_EV_DEV_REPLACE);
	expect(ev, pt, h);
	expect(only(IOASID_EV_HWPT_DESTROY), obj, auto_hwpt);

	trig.trigger_iopf = (typeof(trig.trigger_iopf)){ .dev_id = idev, .pasid = 0, .grpid = 5,
							 .perm = IOMMU_PGFAULT_PERM_READ,
							 .addr = 0x1234000 };
	ev_reset();
	assert_rc(0, _test_cmd(&trig));
	ev = only(IOASID_EV_FAULT);
	expect(ev, obj, fa.out_fault_id);
	expect(ev, pt, h);
	expect(ev, dev, sdev);
	expect(ev, iova, 0x1234000);
	expect(ev, value, 5);
	expect(ev, aux, 0);             /* injected */
	expect(ev, iommu, IOMMU_SELFTEST);
	expect_ok(ev);

	ev_reset();
	destroy_ok(stdev);
	expect(only(IOASID_EV_DEV_DETACH), pt, h);
	ev = only(IOASID_EV_DEV_UNBIND);
	expect(ev, obj, idev);
	expect(ev, dev, sdev);
	cr_assert_eq(count(IOASID_EV_OBJ_DESTROY), 2);
	expect(nth(IOASID_EV_OBJ_DESTROY, 0), aux, IOASID_OBJK_DEVICE);
	expect(nth(IOASID_EV_OBJ_DESTROY, 1), aux, IOASID_OBJK_SELFTEST);
	destroy_ok(h);
	assert_rc(0, ioasid_fd_close((int)fa.out_fault_fd));
}

/* ---- VFIO: an emulated device and a container's group claim ---------------------------------- */

#define FD_SELF 100
#define FD_CONTAINER 101
static struct ioasid_ctx *container;

static int files_get(void *data, int fd, struct vfio_fd_ref *ref)
{
	memset(ref, 0, sizeof(*ref));
	if (fd == FD_SELF) {
		ref->kind = VFIO_FD_IOMMUFD;
		ref->ctx = self;
		return 0;
	}
	if (fd == FD_CONTAINER && container) {
		ref->kind = VFIO_FD_CONTAINER;
		ref->ctx = container;
		return 0;
	}
	return -EBADF;
}

static void files_put(void *data, struct vfio_fd_ref *ref) { }

static int files_install_device(void *data, struct vfio_device_file *df)
{
	vfio_device_close(df);
	return -EMFILE;
}

static const struct vfio_files files = {
	.get = files_get, .put = files_put, .install_device = files_install_device,
};

static void bar_write(struct vfio_device_file *df, uint64_t off, uint64_t v, size_t width)
{
	cr_assert_eq(vfio_device_pwrite(df, &v, width, off), (ssize_t)width);
}

static uint64_t bar_read(struct vfio_device_file *df, uint64_t off, size_t width)
{
	uint64_t v = 0;

	cr_assert_eq(vfio_device_pread(df, &v, width, off), (ssize_t)width);
	return v;
}

Test(events, vfio_emulated_device_and_container_group_claim)
{
	uint32_t ioas = ioas_alloc_ok();
	uint8_t *buf = map_buffer(ioas, 0x100000, 4 * PAGE);
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = FD_SELF };
	struct vfio_device_attach_iommufd_pt att = { .argsz = sizeof(att), .pt_id = ioas };
	struct vfio_device_file *df = NULL;
	struct vfio_group_file *gf = NULL;
	const struct ioasid_event *ev;
	int32_t cfd = FD_CONTAINER;

	/* mdev0: a software-table device, bound as an access object */
	assert_rc(0, vfio_cdev_open(8, &df));
	ev_reset();
	assert_rc(0, (int)vfio_device_ioctl(df, VFIO_DEVICE_BIND_IOMMUFD, &bind, &files));
	ev = only(IOASID_EV_DEV_BIND);
	expect(ev, ctx, cookie);
	expect(ev, dev, DEV_MDEV);
	expect_name(ev, "mdev0");
	expect(ev, group, 21);
	expect(ev, obj, bind.out_devid);
	expect(ev, aux, 1);
	expect(ev, iommu, 0);
	expect_ok(ev);
	expect(only(IOASID_EV_OBJ_ALLOC), aux, IOASID_OBJK_ACCESS);
	assert_rc(0, (int)vfio_device_ioctl(df, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &att, &files));

	memcpy(buf, "emulated", 9);
	ev_reset();
	bar_write(df, VFIO_DMA_REG_SRC_IOVA, 0x100000, 8);
	bar_write(df, VFIO_DMA_REG_DST_IOVA, 0x102000, 8);
	bar_write(df, VFIO_DMA_REG_LEN, 9, 8);
	bar_write(df, VFIO_DMA_REG_DOORBELL, 1, 4);
	cr_assert_eq(bar_read(df, VFIO_DMA_REG_STATUS, 4), VFIO_DMA_STATUS_OK);
	cr_assert_str_eq((char *)buf + 2 * PAGE, "emulated");
	cr_assert_eq(count(IOASID_EV_DMA), 2, "one per direction");
	ev = nth(IOASID_EV_DMA, 0);
	expect(ev, dev, DEV_MDEV);
	expect_name(ev, "mdev0");
	expect(ev, obj, bind.out_devid);
	expect(ev, iova, 0x100000);
	expect(ev, length, 9);
	expect(ev, aux, 0);
	expect_ok(ev);
	ev = nth(IOASID_EV_DMA, 1);
	expect(ev, iova, 0x102000);
	expect(ev, aux, 1);

	ev_reset();
	vfio_device_close(df);
	ev = only(IOASID_EV_DEV_UNBIND);
	expect(ev, dev, DEV_MDEV);
	expect(ev, aux, 1);
	expect(ev, obj, bind.out_devid);
	expect(only(IOASID_EV_OBJ_DESTROY), aux, IOASID_OBJK_ACCESS);

	/* a container claims the whole group at SET_CONTAINER */
	assert_rc(0, vfio_container_open(&container));
	assert_rc(0, vfio_group_open(9, &gf));
	ev_reset();
	assert_rc(0, (int)vfio_group_ioctl(gf, VFIO_GROUP_SET_CONTAINER, &cfd, &files));
	ev = only(IOASID_EV_GROUP_CLAIM);
	expect(ev, ctx, ref_ctx_event_id(container));
	expect(ev, group, 9);
	expect(ev, dev, 0);
	expect(ev, value, 1);
	ev_reset();
	vfio_group_close(gf);
	ev = only(IOASID_EV_GROUP_RELEASE);
	expect(ev, ctx, ref_ctx_event_id(container));
	expect(ev, group, 9);
	expect(ev, dev, 0);
	ioasid_ctx_close(container);
	container = NULL;
}

/* ---------------------------------------------------------------------------------------------- */

static uintptr_t exe_bias;

static int find_exe_bias(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	exe_bias = info->dlpi_addr;   /* the first object is the executable */
	return 1;
}

Test(events, global_pasid_alloc_and_free)
{
	struct ioasid_ctx *other;
	const struct ioasid_event *ev;
	uint32_t dev, pasid = 0, p2 = 0;

	dev = bind_ok(self, NVME);
	ev_reset();
	assert_rc(0, ioasid_global_pasid_alloc(self, dev, &pasid));
	cr_assert_eq(pasid, 1);
	ev = only(IOASID_EV_GPASID_ALLOC);
	expect_ok(ev);
	expect(ev, ctx, cookie);
	expect(ev, pasid, 1);
	expect(ev, dev, DEV_NVME);
	expect_name(ev, NVME);
	assert_rc(0, ioasid_global_pasid_alloc(self, 0, &p2));
	ev = nth(IOASID_EV_GPASID_ALLOC, 1);
	expect(ev, pasid, 2);
	expect(ev, dev, 0);
	expect_name(ev, "");
	assert_rc(-ENOENT, ioasid_global_pasid_alloc(self, 77, &p2));
	ev = nth(IOASID_EV_GPASID_ALLOC, 2);
	expect_refused(ev, ENOENT);
	expect(ev, pasid, 0);

	ev_reset();
	assert_rc(0, ioasid_ctx_open(&other));
	assert_rc(-EPERM, ioasid_global_pasid_free(other, pasid));
	ev = only(IOASID_EV_GPASID_FREE);
	expect_refused(ev, EPERM);
	expect(ev, ctx, ref_ctx_event_id(other));
	expect(ev, pasid, 1);
	assert_rc(0, ioasid_global_pasid_free(self, pasid));
	ev = nth(IOASID_EV_GPASID_FREE, 1);
	expect_ok(ev);
	expect(ev, ctx, cookie);
	expect(ev, pasid, 1);
	/* the other context gets the value back first; its close frees it */
	assert_rc(0, ioasid_global_pasid_alloc(other, 0, &pasid));
	cr_assert_eq(pasid, 1);
	ev_reset();
	ioasid_ctx_close(other);
	ev = only(IOASID_EV_GPASID_FREE);
	expect_ok(ev);
	expect(ev, pasid, 1);
	cr_assert_lt(index_of(ev), index_of(only(IOASID_EV_CTX_CLOSE)));
	assert_rc(0, ioasid_global_pasid_free(self, p2));
}

Test(events, usdt_sites_are_page_safe_5_byte_nops)
{
	static const char *const names[] = {
#define X_LOW(up, low, num, doc) #low,
		IOASID_EVENT_TYPES(X_LOW)
#undef X_LOW
	};
	static const uint8_t nop5[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
	unsigned int seen[sizeof(names) / sizeof(names[0])] = { 0 };
	uint64_t base_addr = 0, probes_start = 0, probes_end = 0;
	Elf_Scn *scn = NULL, *notes = NULL;
	GElf_Shdr shdr;
	size_t shstrndx, off = 0, noff, doff;
	GElf_Nhdr nhdr;
	Elf_Data *data;
	Elf *elf;
	int fd;

	cr_assert_neq(elf_version(EV_CURRENT), EV_NONE);
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert_not_null(elf);
	cr_assert_eq(elf_getshdrstrndx(elf, &shstrndx), 0);
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;

		cr_assert_not_null(gelf_getshdr(scn, &shdr));
		name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (!name)
			continue;
		if (!strcmp(name, ".note.stapsdt"))
			notes = scn;
		else if (!strcmp(name, ".stapsdt.base"))
			base_addr = shdr.sh_addr;
		else if (!strcmp(name, ".probes")) {
			probes_start = shdr.sh_addr;
			probes_end = shdr.sh_addr + shdr.sh_size;
		}
	}
	cr_assert_not_null(notes, "no .note.stapsdt: the library was built without probes");
	cr_assert_neq(base_addr, 0);
	dl_iterate_phdr(find_exe_bias, NULL);

	data = elf_getdata(notes, NULL);
	cr_assert_not_null(data);
	while ((off = gelf_getnote(data, off, &nhdr, &noff, &doff)) > 0) {
		const char *desc = (const char *)data->d_buf + doff, *provider, *probe;
		uint64_t pc, base, sem;
		const uint8_t *site;
		unsigned int i;

		if (nhdr.n_type != 3 || strcmp((const char *)data->d_buf + noff, "stapsdt"))
			continue;
		memcpy(&pc, desc, 8);
		memcpy(&base, desc + 8, 8);
		memcpy(&sem, desc + 16, 8);
		provider = desc + 24;
		probe = provider + strlen(provider) + 1;
		if (strcmp(provider, "ioasid"))
			continue;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(names[i], probe))
				break;
		cr_assert_lt(i, sizeof(names) / sizeof(names[0]), "unknown probe ioasid:%s", probe);
		seen[i]++;
		pc += base_addr - base;                 /* prelink adjustment (none normally) */
		cr_assert_leq(pc % 4096, 4096 - 5, "ioasid:%s at %#llx crosses a page boundary",
			      probe, (unsigned long long)pc);
		site = (const uint8_t *)(exe_bias + pc);
		cr_assert_eq(memcmp(site, nop5, 5), 0,
			     "ioasid:%s is not a 5-byte nop: %02x %02x %02x %02x %02x", probe,
			     site[0], site[1], site[2], site[3], site[4]);
		cr_assert(sem >= probes_start && sem + 2 <= probes_end,
			  "ioasid:%s semaphore %#llx outside .probes", probe,
			  (unsigned long long)sem);
		cr_assert_eq(sem % 2, 0);
	}
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_assert_eq(seen[i], 1, "ioasid:%s has %u sites, expected 1", names[i], seen[i]);
	elf_end(elf);
	close(fd);
}
