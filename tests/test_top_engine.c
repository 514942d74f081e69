/* test_top_engine.c — ioasid-top's collect and update stages (suite top_engine).
 *
 *  - Hand-made streams: counts, rates over the interval, latency percentiles, attribution of
 *    hardware events (no context) to the context / IOAS / devices owning the domain, pinned
 *    bytes and memlock headroom, attachments and PASIDs, rows that live and rows that go, the
 *    last events of a row, hostile input (unknown types, events of unknown objects).
 *  - The reference for real, in-process (no BPF): a known workload; every count equals the
 *    operations made, and the IOASes' pinned bytes add up to the context's.
 *  - BPF (root; never skipped under CI=true): the same workload traced with USDT; the engine
 *    counting from the BPF per-CPU aggregates gives exactly what folding the events gives —
 *    the two share ioasid_agg_add(), and this checks they are fed alike.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ioasid_test.h"
#include "bpf_test.h"
#include "private_host.h"
#include "ioasid/ioasid.h"
#include "ioasid/trace.h"
#include "top/top.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define PID 4242u
#define CTX 0xc0ffeeull
#define NVME_DEV 1u
#define GPU_DEV 4u

static void setup(void)
{
	setenv("IOASID_QUIET", "1", 1);
}

TestSuite(top_engine, .init = setup, .timeout = 120);

static struct top_engine *engine(bool from_bpf)
{
	struct top_engine_opts o = { .sz = sizeof(o), .aggregates_from_bpf = from_bpf,
				     .source = "test" };
	struct top_engine *e = NULL;

	cr_assert_eq(top_engine_new(&o, &e), 0);
	return e;
}

static uint64_t seq, clock_ns = 100 * SEC;

static struct ioasid_event ev(unsigned int type)
{
	struct ioasid_event e = { .type = (__u16)type, .source = IOASID_SRC_INPROC,
				  .version = IOASID_EVENT_VERSION, .pid = PID, .tid = PID,
				  .ctx = CTX };

	e.seq = ++seq;
	e.ts_ns = clock_ns;
	clock_ns += 1000;
	return e;
}

static void feed(struct top_engine *e, struct ioasid_event x)
{
	cr_assert_eq(top_engine_feed(e, &x), 0);
}

static const struct top_row *row_by_label(const struct top_snapshot *s, const char *label)
{
	for (size_t i = 0; i < s->nr_rows; i++)
		if (!strcmp(s->rows[i].id.label, label))
			return &s->rows[i];
	return NULL;
}

static const struct top_row *must_row(const struct top_snapshot *s, const char *label)
{
	const struct top_row *r = row_by_label(s, label);

	cr_assert_not_null(r, "no row '%s' in the %s view (%zu rows)", label,
			   top_view_name(s->view), s->nr_rows);
	return r;
}

/* A context with an IOAS (id 1), NVMe bound (dev_id 10) and attached through an automatic
 * HWPT 2 holding domain 7 of IOMMU 1; memlock accounting per user, limit 1024 pages. */
static void setup_world(struct top_engine *e)
{
	struct ioasid_event x;

	feed(e, ev(IOASID_EV_CTX_OPEN));
	x = ev(IOASID_EV_OBJ_ALLOC);
	x.obj = 1;
	x.aux = IOASID_OBJK_IOAS;
	feed(e, x);
	x = ev(IOASID_EV_DEV_BIND);
	x.dev = NVME_DEV;
	x.obj = 10;
	x.group = 5;
	strcpy(x.name, "0000:00:02.0");
	feed(e, x);
	x = ev(IOASID_EV_HWPT_ALLOC);
	x.obj = 2;
	x.pt = 1;
	x.iommu = 1;
	x.domain = 7;
	x.flags = IOASID_EVF_AUTO;
	feed(e, x);
	x = ev(IOASID_EV_DEV_ATTACH);
	x.dev = NVME_DEV;
	x.obj = 10;
	x.pt = 2;
	x.iommu = 1;
	x.domain = 7;
	x.value = 1;
	strcpy(x.name, "0000:00:02.0");
	feed(e, x);
}

static void account(struct top_engine *e, uint64_t now_pages, int64_t delta)
{
	struct ioasid_event x = ev(IOASID_EV_ACCOUNT);

	x.value = now_pages;
	x.length = (uint64_t)delta;
	x.iova = 1024;          /* RLIMIT_MEMLOCK in pages */
	x.pt = now_pages;       /* charged */
	x.aux = 1;              /* per user */
	feed(e, x);
}

static void map(struct top_engine *e, uint32_t ioas, uint64_t iova, uint64_t len, uint64_t lat,
		int result)
{
	struct ioasid_event x = ev(IOASID_EV_IOAS_MAP);

	x.obj = ioas;
	x.iova = iova;
	x.length = len;
	x.latency_ns = lat;
	x.result = result;
	x.flags = result < 0 ? IOASID_EVF_REFUSED : 0;
	feed(e, x);
}

static void hw_inv(struct top_engine *e, uint32_t iommu, uint32_t domain)
{
	struct ioasid_event x = ev(IOASID_EV_IOTLB_INV);

	x.ctx = 0;              /* the hardware does not know the context */
	x.iommu = iommu;
	x.domain = domain;
	x.aux = IOASID_INV_UNMAP;
	feed(e, x);
}

Test(top_engine, counts_rates_and_percentiles_over_the_interval)
{
	struct top_engine *e = engine(false);
	struct top_snapshot s;
	const struct top_row *r;

	setup_world(e);
	cr_assert_eq(top_engine_snapshot(e, TOP_VIEW_PROCESS, 100 * SEC, 0, &s), 0);
	top_snapshot_free(&s);
	/* 100 maps of 2 MiB, 99 of them ~1 us, one 1 ms; one refused */
	for (int i = 0; i < 100; i++)
		map(e, 1, 0x100000ull * (uint64_t)i, 2u << 20, i == 99 ? 1000000 : 1000, 0);
	map(e, 1, 0, 4096, 500, -EEXIST);
	for (int i = 0; i < 3; i++)
		hw_inv(e, 1, 7);
	cr_assert_eq(top_engine_snapshot(e, TOP_VIEW_PROCESS, 102 * SEC, 1700000000, &s), 0);
	cr_assert_eq(s.hdr.interval_s, 2.0);
	cr_assert_eq(s.hdr.wall_s, 1700000000);
	cr_assert_eq(s.hdr.total.maps, 100);
	cr_assert_eq(s.hdr.total.map_fails, 1);
	cr_assert_eq(s.hdr.total.map_bytes, 100ull << 21, "a refused map moves no bytes");
	cr_assert_eq(s.hdr.total.invs, 3);
	cr_assert_eq(s.hdr.map_s, 50.0);
	cr_assert_eq(s.hdr.inv_s, 1.5);
	cr_assert_eq(s.hdr.contexts, 1);
	cr_assert_eq(s.hdr.processes, 1);
	cr_assert_eq(s.hdr.devices_bound, 1);
	cr_assert_eq(s.hdr.ioases, 1);
	cr_assert_eq(s.hdr.domains, 1);
	cr_assert_eq(s.nr_rows, 1);
	r = &s.rows[0];
	cr_assert_eq(r->id.pid, PID);
	cr_assert_eq(r->rate[TOP_COL_MAP_S], 50.0);
	cr_assert_eq(r->rate[TOP_COL_MAP_BYTES_S], (double)(100ull << 21) / 2);
	cr_assert_eq(r->rate[TOP_COL_INV_S], 1.5);
	/* 101 latencies: 100 in slot 9 ([512, 1024) ns: 1000 ns, and the refused 500 ns in slot
	 * 8), one in slot 19 (1 ms). p50 lies in slot 9, p99 too (rank 99.99 of 101). */
	cr_assert(r->lat_ns[TOP_COL_MAP_P50] >= 512 && r->lat_ns[TOP_COL_MAP_P50] < 1024,
		  "p50 %llu", (unsigned long long)r->lat_ns[TOP_COL_MAP_P50]);
	cr_assert(r->lat_ns[TOP_COL_MAP_P99] >= 512 && r->lat_ns[TOP_COL_MAP_P99] < 1024,
		  "p99 %llu", (unsigned long long)r->lat_ns[TOP_COL_MAP_P99]);
	cr_assert_eq(r->lat_ns[TOP_COL_UNMAP_P50], 0, "no unmap: no sample");
	cr_assert_eq(r->map_lat_hist[9], 99);
	cr_assert_eq(r->map_lat_hist[8], 1);
	cr_assert_eq(r->map_lat_hist[19], 1);
	cr_assert_eq(r->map_size_hist[9], 100, "2 MiB maps land in size slot 21 - 12");
	cr_assert_eq(r->attach, 1);
	cr_assert_eq(r->pasids, 0);
	top_snapshot_free(&s);

	/* The next interval is idle: rates 0, totals stay, latency "no sample". */
	cr_assert_eq(top_engine_snapshot(e, TOP_VIEW_PROCESS, 103 * SEC, 0, &s), 0);
	r = &s.rows[0];
	cr_assert_eq(r->rate[TOP_COL_MAP_S], 0.0);
	cr_assert_eq(r->lat_ns[TOP_COL_MAP_P99], 0);
	cr_assert_eq(r->total.maps, 100);
	cr_assert_eq(s.hdr.map_s, 0.0);
	top_snapshot_free(&s);
	top_engine_free(e);
}

Test(top_engine, hardware_events_go_to_the_owner_of_the_domain)
{
	struct top_engine *e = engine(false);
	struct top_snapshot s;
	const struct top_row *r;

	setup_world(e);
	top_engine_tick(e, 100 * SEC, 0);
	hw_inv(e, 1, 7);
	hw_inv(e, 1, 7);
	hw_inv(e, 2, 99);       /* a domain nobody here owns */
	top_engine_tick(e, 101 * SEC, 0);

	cr_assert_eq(top_engine_view(e, TOP_VIEW_CONTEXT, &s), 0);
	r = must_row(&s, "ctx c0ffee");
	cr_assert_eq(r->total.invs, 2);
	r = must_row(&s, "no context");
	cr_assert_eq(r->total.invs, 1);
	top_snapshot_free(&s);

	cr_assert_eq(top_engine_view(e, TOP_VIEW_IOAS, &s), 0);
	r = must_row(&s, "ioas 1");
	cr_assert_eq(r->total.invs, 2);
	cr_assert_eq(r->attach, 1);
	r = must_row(&s, "dom 2:99");
	cr_assert_eq(r->total.invs, 1);
	top_snapshot_free(&s);

	cr_assert_eq(top_engine_view(e, TOP_VIEW_DEVICE, &s), 0);
	cr_assert_eq(s.nr_rows, 1);
	r = must_row(&s, "0000:00:02.0");
	cr_assert_eq(r->total.invs, 2, "the device attached to domain 1:7 sees its flushes");
	cr_assert_eq(r->id.group, 5);
	cr_assert_eq(r->id.pid, PID);
	top_snapshot_free(&s);
	top_engine_free(e);
}

Test(top_engine, device_view_counts_the_ioas_of_each_attached_device)
{
	struct top_engine *e = engine(false);
	struct top_snapshot s;
	struct ioasid_event x;

	setup_world(e);
	x = ev(IOASID_EV_DEV_BIND);
	x.dev = GPU_DEV;
	x.obj = 11;
	strcpy(x.name, "0000:00:04.0");
	feed(e, x);
	top_engine_tick(e, 100 * SEC, 0);
	map(e, 1, 0, 4096, 100, 0);     /* GPU not attached yet: NVMe only */
	top_engine_tick(e, 101 * SEC, 0);
	x = ev(IOASID_EV_DEV_ATTACH);
	x.dev = GPU_DEV;
	x.obj = 11;
	x.pt = 2;
	x.iommu = 1;
	x.domain = 7;
	feed(e, x);
	map(e, 1, 4096, 4096, 100, 0);  /* both */
	top_engine_tick(e, 102 * SEC, 0);
	cr_assert_eq(top_engine_view(e, TOP_VIEW_DEVICE, &s), 0);
	cr_assert_eq(must_row(&s, "0000:00:02.0")->total.maps, 2);
	cr_assert_eq(must_row(&s, "0000:00:04.0")->total.maps, 1,
		     "a device counts the maps made while it is attached");
	cr_assert_eq(must_row(&s, "0000:00:04.0")->total.attach_ops, 1);
	cr_assert_eq(s.hdr.total.maps, 2, "the header counts each map once");
	top_snapshot_free(&s);
	top_engine_free(e);
}

Test(top_engine, pinned_bytes_and_headroom)
{
	struct top_engine *e = engine(false);
	struct top_snapshot s;
	const struct top_row *r;

	setup_world(e);
	/* a map into the attached IOAS pins 512 pages: ACCOUNT, then the IOAS_MAP */
	account(e, 512, 512);
	map(e, 1, 0, 512 * 4096ull, 100, 0);
	top_engine_tick(e, 100 * SEC, 0);
	cr_assert_eq(top_engine_view(e, TOP_VIEW_CONTEXT, &s), 0);
	r = must_row(&s, "ctx c0ffee");
	cr_assert_eq(r->pinned_avail, TOP_VALUE);
	cr_assert_eq(r->pinned_bytes, 512 * 4096ull);
	cr_assert_eq(r->headroom_avail, TOP_VALUE);
	cr_assert_eq(r->headroom_bytes, 512 * 4096ull, "limit 1024 pages, 512 charged");
	cr_assert_eq(s.hdr.pinned_bytes, 512 * 4096ull);
	cr_assert_eq(s.hdr.memlock_avail, TOP_VALUE);
	cr_assert_eq(s.hdr.memlock_bytes, 1024 * 4096ull);
	top_snapshot_free(&s);
	cr_assert_eq(top_engine_view(e, TOP_VIEW_IOAS, &s), 0);
	r = must_row(&s, "ioas 1");
	cr_assert_eq(r->pinned_bytes, 512 * 4096ull, "the ACCOUNT is placed on the IOAS mapped");
	top_snapshot_free(&s);

	/* unmap half: DOMAIN_UNMAP, IOTLB_INV, ACCOUNT, IOAS_UNMAP */
	{
		struct ioasid_event x;

		hw_inv(e, 1, 7);
		account(e, 256, -256);
		x = ev(IOASID_EV_IOAS_UNMAP);
		x.obj = 1;
		x.length = 256 * 4096ull;
		x.value = 256 * 4096ull;
		feed(e, x);
	}
	top_engine_tick(e, 101 * SEC, 0);
	cr_assert_eq(top_engine_view(e, TOP_VIEW_IOAS, &s), 0);
	r = must_row(&s, "ioas 1");
	cr_assert_eq(r->pinned_bytes, 256 * 4096ull);
	cr_assert_eq(r->total.unmap_bytes, 256 * 4096ull);
	cr_assert_eq(r->total.unmaps, 1);
	top_snapshot_free(&s);
	cr_assert_eq(top_engine_view(e, TOP_VIEW_DEVICE, &s), 0);
	r = must_row(&s, "0000:00:02.0");
	cr_assert_eq(r->pinned_bytes, 256 * 4096ull, "a device shows what its IOAS pins");
	cr_assert_eq(r->headroom_bytes, 768 * 4096ull);
	top_snapshot_free(&s);
	top_engine_free(e);
}

Test(top_engine, accounting_off_is_unlimited_and_unknown_stays_unknown)
{
	struct top_engine *e = engine(false);
	struct top_snapshot s;
	struct ioasid_event x;

	setup_world(e);
	top_engine_tick(e, 100 * SEC, 0);
	cr_assert_eq(top_engine_view(e, TOP_VIEW_PROCESS, &s), 0);
	cr_assert_eq(s.rows[0].pinned_avail, TOP_UNKNOWN, "no ACCOUNT seen");
	cr_assert_eq(s.rows[0].headroom_avail, TOP_UNKNOWN);
	cr_assert_eq(s.hdr.memlock_avail, TOP_UNKNOWN);
	top_snapshot_free(&s);
	x = ev(IOASID_EV_ACCOUNT);      /* mode none (CAP_IPC_LOCK): nothing charged */
	x.value = 8;
	x.length = 8;
	x.iova = UINT64_MAX;
	feed(e, x);
	top_engine_tick(e, 101 * SEC, 0);
	cr_assert_eq(top_engine_view(e, TOP_VIEW_PROCESS, &s), 0);
	cr_assert_eq(s.rows[0].pinned_bytes, 8 * 4096ull);
	cr_assert_eq(s.rows[0].headroom_avail, TOP_UNLIMITED);
	cr_assert_eq(s.hdr.memlock_avail, TOP_UNLIMITED);
	top_snapshot_free(&s);
	top_engine_free(e);
}

Test(top_engine, pasids_and_attachments)
{
	struct top_engine *e = engine(false);
	struct top_snapshot s;
	struct ioasid_event x;

	setup_world(e);
	x = ev(IOASID_EV_DEV_ATTACH);   /* PASID 1 of the NVMe on the same HWPT */
	x.dev = NVME_DEV;
	x.obj = 10;
	x.pt = 2;
	x.pasid = 1;
	x.iommu = 1;
	x.domain = 7;
	feed(e, x);
	x = ev(IOASID_EV_GPASID_ALLOC);
	x.pasid = 77;
	feed(e, x);
	top_engine_tick(e, 100 * SEC, 0);
	cr_assert_eq(top_engine_view(e, TOP_VIEW_CONTEXT, &s), 0);
	cr_assert_eq(s.rows[0].attach, 2);
	cr_assert_eq(s.rows[0].pasids, 2, "PASID 1 attached + one global PASID");
	top_snapshot_free(&s);
	x = ev(IOASID_EV_DEV_DETACH);
	x.dev = NVME_DEV;
	x.obj = 10;
	x.pt = 2;
	x.pasid = 1;
	feed(e, x);
	x = ev(IOASID_EV_GPASID_FREE);
	x.pasid = 77;
	feed(e, x);
	top_engine_tick(e, 101 * SEC, 0);
	cr_assert_eq(top_engine_view(e, TOP_VIEW_DEVICE, &s), 0);
	cr_assert_eq(s.rows[0].attach, 1);
	cr_assert_eq(s.rows[0].pasids, 0);
	cr_assert_eq(s.rows[0].total.detach_ops, 1);
	top_snapshot_free(&s);
	top_engine_free(e);
}

Test(top_engine, closed_rows_stay_one_interval_then_go)
{
	struct top_engine *e = engine(false);
	struct top_snapshot s;
	struct ioasid_event x;

	setup_world(e);
	top_engine_tick(e, 100 * SEC, 0);
	map(e, 1, 0, 4096, 100, 0);
	x = ev(IOASID_EV_DEV_UNBIND);
	x.dev = NVME_DEV;
	feed(e, x);
	feed(e, ev(IOASID_EV_CTX_CLOSE));
	top_engine_tick(e, 101 * SEC, 0);
	cr_assert_eq(top_engine_view(e, TOP_VIEW_PROCESS, &s), 0);
	cr_assert_eq(s.nr_rows, 1, "active in the interval: shown");
	cr_assert_eq(s.rows[0].total.maps, 1);
	cr_assert_eq(s.hdr.contexts, 0);
	cr_assert_eq(s.hdr.devices_bound, 0);
	cr_assert_eq(s.hdr.ioases, 0);
	top_snapshot_free(&s);
	top_engine_tick(e, 102 * SEC, 0);
	for (int v = 0; v < TOP_VIEW_COUNT; v++) {
		cr_assert_eq(top_engine_view(e, (enum top_view)v, &s), 0);
		cr_assert_eq(s.nr_rows, 0, "%s view: idle and gone", top_view_name(v));
		cr_assert_eq(s.hdr.total.maps, 1, "the header keeps every count");
		top_snapshot_free(&s);
	}
	top_engine_free(e);
}

Test(top_engine, last_events_of_a_row_oldest_first)
{
	struct top_engine *e = engine(false);
	struct top_snapshot s;
	const struct top_row *r;

	setup_world(e);
	for (int i = 0; i < 20; i++)
		map(e, 1, 4096ull * (uint64_t)i, 4096, 100, 0);
	top_engine_tick(e, 100 * SEC, 0);
	cr_assert_eq(top_engine_view(e, TOP_VIEW_IOAS, &s), 0);
	r = must_row(&s, "ioas 1");
	cr_assert_eq(r->nr_last, 8);
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(r->last[i].type, IOASID_EV_IOAS_MAP);
		cr_assert_eq(r->last[i].iova, 4096ull * (uint64_t)(12 + i));
	}
	top_snapshot_free(&s);
	top_engine_free(e);
}

Test(top_engine, hostile_events_are_counted_not_trusted)
{
	struct top_engine *e = engine(false);
	struct top_snapshot s;
	struct ioasid_event x;

	/* unknown type, attach of an unknown device to an unknown HWPT, detach of nothing, an
	 * unbind never bound, a destroy of nothing, a CTX_CLOSE never opened, GPASID_FREE below 0 */
	x = ev(999);
	feed(e, x);
	x = ev(IOASID_EV_DEV_ATTACH);
	x.dev = 77;
	x.pt = 1234;
	feed(e, x);
	x = ev(IOASID_EV_DEV_DETACH);
	x.dev = 78;
	x.pasid = 5;
	feed(e, x);
	x = ev(IOASID_EV_DEV_UNBIND);
	x.dev = 79;
	feed(e, x);
	x = ev(IOASID_EV_OBJ_DESTROY);
	x.obj = 5;
	x.aux = IOASID_OBJK_IOAS;
	feed(e, x);
	feed(e, ev(IOASID_EV_CTX_CLOSE));
	x = ev(IOASID_EV_GPASID_FREE);
	feed(e, x);
	top_engine_tick(e, 100 * SEC, 0);
	for (int v = 0; v < TOP_VIEW_COUNT; v++) {
		cr_assert_eq(top_engine_view(e, (enum top_view)v, &s), 0);
		for (size_t i = 0; i < s.nr_rows; i++)
			cr_assert_eq(s.rows[i].pasids, 0);
		cr_assert_eq(s.hdr.events, 7);
		top_snapshot_free(&s);
	}
	cr_assert_eq(top_engine_view(e, TOP_VIEW_COUNT, &s), -EINVAL);
	top_engine_free(e);
}

/* ---- the reference for real ------------------------------------------------------------------ */

#define NVME "0000:00:02.0"
#define WL_MAPS 24
#define WL_UNMAPS 5

static void on_inproc(void *arg, const struct ioasid_event *ev)
{
	top_engine_feed(arg, ev);
}

/* Maps, a device attached (auto domain: pins), unmaps, a COPY into a second IOAS attached
 * nowhere, detach. */
static void workload(struct ioasid_ctx *ctx, bool teardown)
{
	size_t len = 2u << 20;
	char *buf = test_buffer(len * WL_MAPS);
	uint32_t ioas, ioas2, dev_id = 0, pt;
	uint64_t iova = 0x100000000ull, dst = 0;

	self = ctx;
	ioas = ioas_alloc_ok();
	ioas2 = ioas_alloc_ok();
	for (int i = 0; i < WL_MAPS; i++)
		ioas_map_fixed_ok(ioas, buf + (size_t)i * len, len, iova + (uint64_t)i * len);
	cr_assert_eq(ioasid_device_bind(ctx, NVME, &dev_id), 0);
	pt = ioas;
	cr_assert_eq(ioasid_device_attach(ctx, dev_id, 0, &pt), 0);
	for (int i = 0; i < WL_UNMAPS; i++)
		ioas_unmap_ok(ioas, iova + (uint64_t)i * len, len, len);
	assert_rc(0, _ioas_copy(ioas2, &dst, ioas, iova + WL_UNMAPS * len, len,
				IOMMU_IOAS_MAP_READABLE));
	if (!teardown)
		return;
	cr_assert_eq(ioasid_device_detach(ctx, dev_id, 0), 0);
	cr_assert_eq(ioasid_device_unbind(ctx, dev_id), 0);
	destroy_ok(ioas2);
	destroy_ok(ioas);
	munmap(buf, len * WL_MAPS);
}

Test(top_engine, reference_workload_counts_equal_operations)
{
	struct top_engine *e = engine(false);
	struct ioasid_ctx *ctx;
	struct top_snapshot s;
	const struct top_row *r;
	uint64_t ioas_pinned = 0;
	int h;

	private_host_open();
	h = ioasid_events_subscribe(on_inproc, e);
	cr_assert_geq(h, 0);
	top_engine_tick(e, 1, 0);
	cr_assert_eq(ioasid_ctx_open(&ctx), 0);
	workload(ctx, false);
	top_engine_tick(e, 2 * SEC, 0);

	cr_assert_eq(top_engine_view(e, TOP_VIEW_PROCESS, &s), 0);
	cr_assert_eq(s.nr_rows, 1);
	r = &s.rows[0];
	cr_assert_eq(r->id.pid, (uint32_t)getpid());
	cr_assert_eq(r->total.maps, WL_MAPS);
	cr_assert_eq(r->total.map_bytes, (uint64_t)WL_MAPS << 21);
	cr_assert_eq(r->total.unmaps, WL_UNMAPS);
	cr_assert_eq(r->total.unmap_bytes, (uint64_t)WL_UNMAPS << 21);
	cr_assert_eq(r->total.copies, 1);
	cr_assert_eq(r->total.attach_ops, 1);
	cr_assert_geq(r->total.invs, WL_UNMAPS, "each unmap of the attached IOAS flushes");
	cr_assert_eq(r->attach, 1);
	cr_assert_eq(r->pinned_avail, TOP_VALUE);
	cr_assert_eq(s.hdr.devices_bound, 1);
	cr_assert_eq(s.hdr.ioases, 2);
	top_snapshot_free(&s);

	/* The IOASes' pinned bytes add up to the context's. */
	cr_assert_eq(top_engine_view(e, TOP_VIEW_IOAS, &s), 0);
	for (size_t i = 0; i < s.nr_rows; i++)
		ioas_pinned += s.rows[i].pinned_bytes;
	top_snapshot_free(&s);
	cr_assert_eq(top_engine_view(e, TOP_VIEW_CONTEXT, &s), 0);
	cr_assert_eq(s.nr_rows, 1);
	cr_assert_eq(ioas_pinned, s.rows[0].pinned_bytes, "IOASes %llu, context %llu",
		     (unsigned long long)ioas_pinned, (unsigned long long)s.rows[0].pinned_bytes);
	cr_assert_eq(s.rows[0].pinned_bytes, (uint64_t)(WL_MAPS - WL_UNMAPS) << 21,
		     "the attached IOAS's remaining maps are pinned (the copy shares its pages)");
	top_snapshot_free(&s);
	ioasid_ctx_close(ctx);
	cr_assert_eq(ioasid_events_unsubscribe(h), 0);
	top_engine_free(e);
}

/* ---- BPF aggregates == folded events --------------------------------------------------------- */

struct both {
	struct top_engine *from_bpf, *folded;
};

static int on_bpf_event(void *arg, const struct ioasid_event *ev)
{
	struct both *b = arg;

	cr_assert_eq(top_engine_feed(b->from_bpf, ev), 0);
	cr_assert_eq(top_engine_feed(b->folded, ev), 0);
	return 0;
}

static void assert_same_totals(const struct top_totals *a, const struct top_totals *b,
			       const char *what)
{
	cr_assert_eq(memcmp(a, b, sizeof(*a)), 0,
		     "%s: maps %llu/%llu unmaps %llu/%llu invs %llu/%llu dmas %llu/%llu", what,
		     (unsigned long long)a->maps, (unsigned long long)b->maps,
		     (unsigned long long)a->unmaps, (unsigned long long)b->unmaps,
		     (unsigned long long)a->invs, (unsigned long long)b->invs,
		     (unsigned long long)a->dmas, (unsigned long long)b->dmas);
}

Test(top_engine, bpf_aggregates_count_exactly_like_folded_events)
{
	struct ioasid_trace_opts o = { .sz = sizeof(o), .kind = IOASID_TRACE_SELF };
	struct both b = { engine(true), engine(false) };
	struct ioasid_trace *t = NULL;
	struct ioasid_ctx *ctx;
	int idle = 0;

	bpf_test_require(true);
	private_host_open();
	cr_assert_eq(ioasid_trace_open(&o, &t), 0, "%s", ioasid_trace_last_error());
	top_engine_tick(b.from_bpf, 1, 0);
	top_engine_tick(b.folded, 1, 0);
	cr_assert_eq(ioasid_ctx_open(&ctx), 0);
	workload(ctx, true);
	ioasid_ctx_close(ctx);
	while (idle < 3) {
		int rc = ioasid_trace_poll(t, 20, on_bpf_event, &b);

		cr_assert_geq(rc, 0, "%s", ioasid_trace_last_error());
		idle = rc ? 0 : idle + 1;
	}
	cr_assert_eq(ioasid_trace_aggregates(t, (ioasid_trace_agg_fn)top_engine_aggregate,
					     b.from_bpf), 0);
	top_engine_tick(b.from_bpf, 2 * SEC, 0);
	top_engine_tick(b.folded, 2 * SEC, 0);
	for (int v = 0; v < TOP_VIEW_COUNT; v++) {
		struct top_snapshot x, y;

		cr_assert_eq(top_engine_view(b.from_bpf, (enum top_view)v, &x), 0);
		cr_assert_eq(top_engine_view(b.folded, (enum top_view)v, &y), 0);
		assert_same_totals(&x.hdr.total, &y.hdr.total, "header");
		cr_assert_eq(x.nr_rows, y.nr_rows, "%s view: rows", top_view_name(v));
		for (size_t i = 0; i < x.nr_rows; i++) {
			const struct top_row *ry = row_by_label(&y, x.rows[i].id.label);

			cr_assert_not_null(ry, "%s", x.rows[i].id.label);
			assert_same_totals(&x.rows[i].total, &ry->total, x.rows[i].id.label);
			cr_assert_eq(memcmp(x.rows[i].map_lat_hist, ry->map_lat_hist,
					    sizeof(ry->map_lat_hist)), 0);
		}
		if (v == TOP_VIEW_PROCESS) {
			cr_assert_eq(x.hdr.total.maps, WL_MAPS);
			cr_assert_eq(x.hdr.total.unmaps, WL_UNMAPS);
		}
		top_snapshot_free(&x);
		top_snapshot_free(&y);
	}
	ioasid_trace_close(t);
	top_engine_free(b.from_bpf);
	top_engine_free(b.folded);
}
