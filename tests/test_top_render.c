/* test_top_render.c — ioasid-top's pure side on fixed snapshots: number formats (format.c),
 * sorting and filtering (arrange.c), the screen (render.c) and the batch outputs (output.c).
 * Suite `top_render`.
 *
 * The snapshots are written by hand with the numbers a busy host gives (a VMM mapping guest
 * RAM in 2 MiB pieces, a DPDK process that pinned once, a process the source has no accounting
 * for, a trace file's process without a name); the screens they give are spelled out in full,
 * so these tests are the specification of what ioasid-top shows.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ioasid/trace.h"
#include "top/format.h"
#include "top/top.h"

/* ---- fixture ------------------------------------------------------------------------------- */
#define KiB 1024ULL
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)
#define NOW_NS 3725500000000ULL         /* about an hour after boot */
#define WALL_S 1763762587               /* 2025-11-21 22:03:07 UTC */
#define MS 1000000ULL

static struct top_row *add_row(struct top_snapshot *s, uint32_t pid, const char *comm,
			       const char *label)
{
	struct top_row *r;

	s->rows = realloc(s->rows, (s->nr_rows + 1) * sizeof(*s->rows));
	cr_assert(s->rows);
	r = &s->rows[s->nr_rows++];
	memset(r, 0, sizeof(*r));
	r->id.pid = pid;
	snprintf(r->id.comm, sizeof(r->id.comm), "%s", comm);
	snprintf(r->id.label, sizeof(r->id.label), "%s", label);
	return r;
}

static void set_rates(struct top_row *r, double map_s, double unmap_s, double map_bytes_s,
		      double inv_s, double fault_s)
{
	r->rate[TOP_COL_MAP_S] = map_s;
	r->rate[TOP_COL_UNMAP_S] = unmap_s;
	r->rate[TOP_COL_MAP_BYTES_S] = map_bytes_s;
	r->rate[TOP_COL_INV_S] = inv_s;
	r->rate[TOP_COL_FAULT_S] = fault_s;
	r->load = map_s + unmap_s + inv_s + fault_s;
}

static void set_lat(struct top_row *r, uint64_t map_p50, uint64_t map_p99, uint64_t unmap_p50,
		    uint64_t unmap_p99)
{
	r->lat_ns[TOP_COL_MAP_P50] = map_p50;
	r->lat_ns[TOP_COL_MAP_P99] = map_p99;
	r->lat_ns[TOP_COL_UNMAP_P50] = unmap_p50;
	r->lat_ns[TOP_COL_UNMAP_P99] = unmap_p99;
}

static void set_pinned(struct top_row *r, enum top_avail pa, uint64_t pinned, enum top_avail ha,
		       uint64_t headroom)
{
	r->pinned_avail = pa;
	r->pinned_bytes = pinned;
	r->headroom_avail = ha;
	r->headroom_bytes = headroom;
}

static struct ioasid_event *add_last(struct top_row *r, uint16_t type, uint64_t ago_ns)
{
	struct ioasid_event *e = &r->last[r->nr_last++];

	memset(e, 0, sizeof(*e));
	e->type = type;
	e->source = IOASID_SRC_REFERENCE;
	e->version = IOASID_EVENT_VERSION;
	e->ts_ns = NOW_NS - ago_ns;
	e->pid = r->id.pid;
	e->tid = r->id.pid;
	return e;
}

static void fill_header(struct top_snapshot *s, enum top_view view)
{
	struct top_header *h = &s->hdr;

	memset(s, 0, sizeof(*s));
	s->view = view;
	snprintf(h->source, sizeof(h->source), "reference: every process");
	h->now_ns = NOW_NS;
	h->wall_s = WALL_S;
	h->interval_s = 1.0;
	h->processes = 5;
	h->contexts = 6;
	h->devices_bound = 4;
	h->ioases = 6;
	h->domains = 5;
	h->pinned_bytes = 1536 * MiB + 256 * KiB;
	h->pinned_avail = TOP_VALUE;
	h->memlock_bytes = 2 * GiB;
	h->memlock_avail = TOP_VALUE;
	h->map_s = 1534.5;
	h->unmap_s = 1498.5;
	h->map_bytes_s = 6.0 * MiB;
	h->inv_s = 1530;
	h->fault_s = 12.5;
	h->total = (struct top_totals){ .maps = 121337, .map_fails = 4, .map_bytes = 160 * GiB,
					.unmaps = 118402, .unmap_bytes = 158 * GiB, .copies = 2,
					.invs = 119660, .faults = 75, .dmas = 2405311,
					.dma_faults = 3, .stale_hits = 0, .attach_ops = 9,
					.detach_ops = 3 };
	h->events = 2770412;
	h->aggregates = true;
}

/* The VMM: the fixture's busy row, with histograms and last events for the detail view. */
static void fill_qemu(struct top_row *r)
{
	struct ioasid_event *e;

	set_rates(r, 1200, 1180.5, 4.7 * MiB, 1181, 0);
	set_pinned(r, TOP_VALUE, 1 * GiB, TOP_VALUE, 1 * GiB);
	r->attach = 3;
	set_lat(r, 2900, 48000, 4100, 120000);
	r->total = (struct top_totals){ .maps = 91750, .map_fails = 3, .map_bytes = 120 * GiB,
					.unmaps = 90112, .unmap_bytes = 119 * GiB,
					.invs = 90400, .dmas = 1843200, .attach_ops = 3 };
	r->map_lat_hist[11] = 5200;     /* 2.0u */
	r->map_lat_hist[12] = 61000;
	r->map_lat_hist[13] = 22000;
	r->map_lat_hist[14] = 3100;
	r->map_lat_hist[15] = 410;
	r->map_lat_hist[16] = 38;
	r->map_lat_hist[17] = 2;        /* 131u */
	r->unmap_lat_hist[12] = 40000;
	r->unmap_lat_hist[13] = 41000;
	r->unmap_lat_hist[14] = 9000;
	r->unmap_lat_hist[16] = 112;
	r->map_size_hist[0] = 30750;    /* 4 KiB */
	r->map_size_hist[9] = 61000;    /* 2 MiB */
	r->map_size_hist[18] = 0;

	e = add_last(r, IOASID_EV_DEV_ATTACH, 2500 * MS);
	e->ctx = 1, e->dev = 3, e->obj = 1, e->pt = 2, e->iommu = 1, e->domain = 5, e->group = 7;
	e->value = 2;
	snprintf(e->name, sizeof(e->name), "0000:00:03.0");
	e = add_last(r, IOASID_EV_ACCOUNT, 12345678);
	e->ctx = 1, e->value = 262144, e->length = 512, e->iova = 524288, e->aux = 1;
	e = add_last(r, IOASID_EV_IOAS_MAP, 12290000);
	e->ctx = 1, e->obj = 2, e->iova = 0x100000000ULL, e->length = 2 * MiB, e->value = 512;
	e->aux = 3, e->latency_ns = 2900;
	e = add_last(r, IOASID_EV_IOAS_UNMAP, 8 * MS);
	e->ctx = 1, e->obj = 2, e->iova = 0xc0000000ULL, e->length = 2 * MiB, e->value = 2 * MiB;
	e->latency_ns = 4100;
	e = add_last(r, IOASID_EV_IOTLB_INV, 7990000);
	e->iommu = 1, e->domain = 5, e->iova = 0xc0000000ULL, e->length = 2 * MiB;
	e->aux = IOASID_INV_UNMAP, e->value = 512, e->flags = IOASID_EVF_STRICT;
	e = add_last(r, IOASID_EV_DMA, 1 * MS);
	e->ctx = 1, e->dev = 3, e->obj = 1, e->iova = 0x100000000ULL, e->length = 4096;
	e->iommu = 1, e->domain = 5, e->aux = 1;
	snprintf(e->name, sizeof(e->name), "0000:00:03.0");
	e = add_last(r, IOASID_EV_IOAS_UNMAP, 600000);
	e->ctx = 1, e->obj = 2, e->iova = 0, e->length = UINT64_MAX, e->value = 0;
	e->result = -ENOENT, e->flags = IOASID_EVF_REFUSED, e->latency_ns = 850;
	e = add_last(r, IOASID_EV_IOAS_MAP, 500000);
	e->ctx = 1, e->obj = 2, e->length = 1 * GiB, e->result = -ENOMEM;
	e->flags = IOASID_EVF_REFUSED, e->latency_ns = 31400;
}

/* Process view, unsorted: the caller arranges. */
static void snap_process(struct top_snapshot *s)
{
	struct top_row *r;

	fill_header(s, TOP_VIEW_PROCESS);
	r = add_row(s, 1317, "vmm_scenario", "vmm_scenario");
	set_rates(r, 334, 318, 1.3 * MiB, 349, 12.5);
	set_pinned(r, TOP_VALUE, 512 * MiB, TOP_UNLIMITED, 0);
	r->attach = 2, r->pasids = 2;
	set_lat(r, 850, 3100, 1900, 0);
	r->total = (struct top_totals){ .maps = 29587, .map_fails = 1, .map_bytes = 40 * GiB,
					.unmaps = 28290, .unmap_bytes = 39 * GiB, .copies = 2,
					.invs = 29260, .faults = 75, .dmas = 562111,
					.dma_faults = 3, .attach_ops = 6, .detach_ops = 3 };
	r = add_row(s, 4242, "qemu-system-x86", "qemu-system-x86");
	fill_qemu(r);
	r = add_row(s, 2001, "dpdk-testpmd", "dpdk-testpmd");
	set_pinned(r, TOP_VALUE, 256 * KiB, TOP_VALUE, 64 * MiB - 256 * KiB);
	r->attach = 1;
	r->total = (struct top_totals){ .maps = 64, .map_bytes = 256 * KiB, .attach_ops = 1 };
	r = add_row(s, 31337, "nvme-passthru", "nvme-passthru");
	set_rates(r, 0.5, 0.5, 2048, 0, 0);
	set_pinned(r, TOP_UNKNOWN, 0, TOP_UNKNOWN, 0);
	set_lat(r, 9800, 9800, 0, 0);
	r->total = (struct top_totals){ .maps = 4, .map_bytes = 16 * KiB };
	r = add_row(s, 77, "", "pid 77");
	set_pinned(r, TOP_UNKNOWN, 0, TOP_UNKNOWN, 0);
}

static void snap_context(struct top_snapshot *s)
{
	struct top_row *r;

	fill_header(s, TOP_VIEW_CONTEXT);
	r = add_row(s, 4242, "qemu-system-x86", "ctx 1");
	r->id.ctx = 1;
	fill_qemu(r);
	r = add_row(s, 1317, "vmm_scenario", "ctx 2");
	r->id.ctx = 2;
	set_rates(r, 334, 318, 1.3 * MiB, 349, 12.5);
	set_pinned(r, TOP_VALUE, 512 * MiB, TOP_UNLIMITED, 0);
	r->attach = 2, r->pasids = 2;
	set_lat(r, 850, 3100, 1900, 0);
	r = add_row(s, 1317, "vmm_scenario", "ctx 3");
	r->id.ctx = 3;
	set_pinned(r, TOP_VALUE, 0, TOP_UNLIMITED, 0);
	r = add_row(s, 990, "iommufd-smoke", "ctx ffff888104a3c000");
	r->id.ctx = 0xffff888104a3c000ULL;
	set_rates(r, 12, 12, 48 * KiB, 12, 0);
	set_pinned(r, TOP_VALUE, 4096, TOP_VALUE, 8 * MiB - 4096);
	set_lat(r, 1700, 2300, 2100, 2800);
}

static void snap_device(struct top_snapshot *s)
{
	struct top_row *r;

	fill_header(s, TOP_VIEW_DEVICE);
	r = add_row(s, 4242, "qemu-system-x86", "0000:00:03.0");
	r->id.dev = 3, r->id.group = 7;
	snprintf(r->id.name, sizeof(r->id.name), "0000:00:03.0");
	set_rates(r, 0, 0, 0, 590, 0);
	r->attach = 1;
	r->total.dmas = 1843200;
	r = add_row(s, 1317, "vmm_scenario", "0000:00:05.0");
	r->id.dev = 5, r->id.group = 9;
	snprintf(r->id.name, sizeof(r->id.name), "0000:00:05.0");
	set_rates(r, 0, 0, 0, 349, 12.5);
	r->attach = 3, r->pasids = 2;
	r = add_row(s, 1317, "vmm_scenario", "iommufd_mock7");
	r->id.dev = 0x80000007u, r->id.group = 0x80000007u;
	snprintf(r->id.name, sizeof(r->id.name), "iommufd_mock7");
	r->attach = 1;
	r = add_row(s, 0, "", "0000:00:04.0");
	r->id.dev = 4, r->id.group = 7;
	snprintf(r->id.name, sizeof(r->id.name), "0000:00:04.0");
}

static void snap_ioas(struct top_snapshot *s)
{
	struct top_row *r;

	fill_header(s, TOP_VIEW_IOAS);
	r = add_row(s, 4242, "qemu-system-x86", "ioas 2");
	r->id.ctx = 1, r->id.ioas = 2, r->id.iommu = 1, r->id.domain = 5;
	set_rates(r, 1200, 1180.5, 4.7 * MiB, 1181, 0);
	set_pinned(r, TOP_VALUE, 1 * GiB, TOP_VALUE, 1 * GiB);
	r->attach = 3;
	set_lat(r, 2900, 48000, 4100, 120000);
	r = add_row(s, 1317, "vmm_scenario", "ioas 1");
	r->id.ctx = 2, r->id.ioas = 1, r->id.iommu = 2, r->id.domain = 1;
	set_rates(r, 334, 318, 1.3 * MiB, 349, 12.5);
	set_pinned(r, TOP_VALUE, 512 * MiB, TOP_UNLIMITED, 0);
	r->attach = 2, r->pasids = 2;
	set_lat(r, 850, 3100, 1900, 0);
	r = add_row(s, 0, "", "dom 1001:3");
	r->id.iommu = 1001, r->id.domain = 3;
	set_rates(r, 0, 0, 0, 2, 0);
}
/* Keep the rows of these pids, in this order (a small snapshot out of a big one). */
static void keep_rows(struct top_snapshot *s, const uint32_t *pids, size_t n)
{
	struct top_row *rows = calloc(n, sizeof(*rows));

	cr_assert(rows);
	for (size_t k = 0; k < n; k++) {
		size_t i = 0;

		while (i < s->nr_rows && s->rows[i].id.pid != pids[k])
			i++;
		cr_assert_lt(i, s->nr_rows, "no row of pid %u", pids[k]);
		rows[k] = s->rows[i];
	}
	free(s->rows);
	s->rows = rows;
	s->nr_rows = n;
}
/* ---- end of fixture ------------------------------------------------------------------------ */

/* ---- expected output ------------------------------------------------------------------------
 * Screens are their lines without trailing spaces (long lines split in the source only); the
 * batch outputs are the exact bytes. */
static const char *const exp_process_80x24[] = {
	"ioasid-top - reference: every process - 22:03:07 UTC - every 1s - process view",
	"contexts 6  processes 5  devices bound 4  IOASes 6  domains 5",
	"pinned 1.5G  memlock 2.0G  headroom 512M  DMAs 2.4M  stale hits 0",
	"map/s 1.5k  unmap/s 1.5k  mapped/s 6.0M  inv/s 1.5k  fault/s 12.5",
	"events 2.8M  dropped 0  unaggregated 0  counts from BPF aggregates",
	"",
	"    pid comm            map_s unmap_s map_bytes_s pinned inv_s fault_s map_p99",
	"   4242 qemu-system-x86  1.2k    1.2k        4.7M   1.0G  1.2k       0   48.0u",
	"   1317 vmm_scenario      334     318        1.3M   512M   349    12.5    3.1u",
	"  31337 nvme-passthru     0.5     0.5        2.0K      -     0       0    9.8u",
	"   2001 dpdk-testpmd        0       0           0   256K     0       0       -",
	"     77 pid 77              0       0           0      -     0       0       -",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"q quit  j/k move  s sort:load  f filter  v view  Enter detail  p pause  ? help",
	NULL
};
static const char *const exp_process_200x40[] = {
	"ioasid-top - reference: every process - 22:03:07 UTC - every 1s - process view"
	" [paused] [ended]",
	"contexts 6  processes 5  devices bound 4  IOASes 6  domains 5",
	"pinned 1.5G  memlock 2.0G  headroom 512M  DMAs 2.4M  stale hits 0",
	"map/s 1.5k  unmap/s 1.5k  mapped/s 6.0M  inv/s 1.5k  fault/s 12.5",
	"events 999  dropped 17  unaggregated 0  counts from events (low: events dropped)",
	"",
	"    pid comm            map_s unmap_s map_bytes_s pinned headroom inv_s attach pasids"
	" fault_s map_p50*map_p99 unmap_p50 unmap_p99",
	"   4242 qemu-system-x86  1.2k    1.2k        4.7M   1.0G     1.0G  1.2k      3      0"
	"       0    2.9u   48.0u      4.1u      120u",
	"  31337 nvme-passthru     0.5     0.5        2.0K      -        -     0      0      0"
	"       0    9.8u    9.8u         -         -",
	"   1317 vmm_scenario      334     318        1.3M   512M    unlim   349      2      2"
	"    12.5    850n    3.1u      1.9u         -",
	"   2001 dpdk-testpmd        0       0           0   256K    63.8M     0      1      0"
	"       0       -       -         -         -",
	"     77 pid 77              0       0           0      -        -     0      0      0"
	"       0       -       -         -         -",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"q quit  j/k move  s sort:map_p99  f filter  v view  Enter detail  p resume  ? help",
	NULL
};
static const char *const exp_context_80x24[] = {
	"ioasid-top - reference: every process - 22:03:07 UTC - every 1s - context view",
	"contexts 6  processes 5  devices bound 4  IOASes 6  domains 5",
	"pinned 1.5G  memlock 2.0G  headroom 512M  DMAs 2.4M  stale hits 0",
	"map/s 1.5k  unmap/s 1.5k  mapped/s 6.0M  inv/s 1.5k  fault/s 12.5",
	"events 2.8M  dropped 0  unaggregated 0  counts from BPF aggregates",
	"",
	"    pid comm                 ctx map_s unmap_s map_bytes_s pinned inv_s fault_s",
	"   4242 qemu-system-x86        1  1.2k    1.2k        4.7M   1.0G  1.2k       0",
	"   1317 vmm_scenario           2   334     318        1.3M   512M   349    12.5",
	"    990 iommufd-smoke   ~4a3c000  12.0    12.0       48.0K   4.0K  12.0       0",
	"   1317 vmm_scenario           3     0       0           0      0     0       0",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	"q quit  j/k move  s sort:load  f filter  v view  Enter detail  p pause  ? help",
	NULL
};
static const char *const exp_device_80x12[] = {
	"ioasid-top - reference: every process - 22:03:07 UTC - every 1s - device view",
	"contexts 6  processes 5  devices bound 4  IOASes 6  domains 5",
	"pinned 1.5G  memlock 2.0G  headroom 512M  DMAs 2.4M  stale hits 0",
	"map/s 1.5k  unmap/s 1.5k  mapped/s 6.0M  inv/s 1.5k  fault/s 12.5",
	"events 2.8M  dropped 0  unaggregated 0  counts from BPF aggregates",
	"",
	"dev                  group     pid map_s unmap_s inv_s attach pasids fault_s",
	"0000:00:03.0             7    4242     0       0   590      1      0       0",
	"0000:00:05.0             9    1317     0       0   349      3      2    12.5",
	"0000:00:04.0             7       -     0       0     0      0      0       0",
	"iommufd_mock7   2147483655    1317     0       0     0      1      0       0",
	"q quit  j/k move  s sort:load  f filter  v view  Enter detail  p pause  ? help",
	NULL
};
static const char *const exp_ioas_100x12[] = {
	"ioasid-top - reference: every process - 22:03:07 UTC - every 1s - ioas view",
	"contexts 6  processes 5  devices bound 4  IOASes 6  domains 5",
	"pinned 1.5G  memlock 2.0G  headroom 512M  DMAs 2.4M  stale hits 0",
	"map/s 1.5k  unmap/s 1.5k  mapped/s 6.0M  inv/s 1.5k  fault/s 12.5",
	"events 2.8M  dropped 0  unaggregated 0  counts from BPF aggregates",
	"",
	"    pid      ctx ioas           map_s unmap_s map_bytes_s pinned headroom inv_s"
	" fault_s map_p99",
	"   4242        1 ioas 2          1.2k    1.2k        4.7M   1.0G     1.0G  1.2k"
	"       0   48.0u",
	"   1317        2 ioas 1           334     318        1.3M   512M    unlim   349"
	"    12.5    3.1u",
	"      -        - dom 1001:3         0       0           0      -        -   2.0"
	"       0       -",
	"",
	"q quit  j/k move  s sort:load  f filter  v view  Enter detail  p pause  ? help",
	NULL
};
static const char *const exp_detail_80x24[] = {
	"ioasid-top - reference: every process - 22:03:07 UTC - every 1s - process view",
	"process: pid 4242  comm qemu-system-x86",
	"map_s 1.2k  unmap_s 1.2k  map_bytes_s 4.7M  pinned 1.0G  headroom 1.0G",
	"inv_s 1.2k  attach 3  pasids 0  fault_s 0  map_p50 2.9u  map_p99 48.0u",
	"unmap_p50 4.1u  unmap_p99 120u",
	"maps 91750  map_fails 3  map_bytes 120G  unmaps 90112  unmap_fails 0",
	"unmap_bytes 119G  copies 0  invs 90400  faults 0  dmas 1843200  dma_faults 0",
	"stale_hits 0  attach_ops 3  detach_ops 0",
	"",
	"map latency (3 of 7)       unmap latency (3 of 4)     map size",
	" 2.0u ##             5.2k   4.1u ############# 40.0k   4.0K #######       30.8k",
	" 4.1u ############# 61.0k   8.2u ############# 41.0k   2.0M ############# 61.0k",
	" 8.2u #####         22.0k  16.4u ###            9.0k",
	"",
	"last events (oldest first)",
	"  -2.500s dev_attach  ctx 1 dev 0000:00:03.0 pasid 0 hwpt 2 dom 1:5",
	"  -0.012s account     ctx 1 pinned 1.0G delta +2.0M",
	"  -0.012s ioas_map    lat 2.9u ctx 1 ioas 2 iova 0x100000000 len 2.0M",
	"  -0.008s ioas_unmap  lat 4.1u ctx 1 ioas 2 iova 0xc0000000 len 2.0M",
	"  -0.008s iotlb_inv   dom 1:5 pasid 0 iova 0xc0000000 len 2.0M why unmap",
	"  -0.001s dma         dev 0000:00:03.0 pasid 0 iova 0x100000000 len 4.0K dom 1:5",
	"  -0.001s ioas_unmap  result -ENOENT lat 850n ctx 1 ioas 2 iova 0x0 len all",
	"  -0.001s ioas_map    result -ENOMEM lat 31.4u ctx 1 ioas 2 iova 0x0 len 1.0G",
	"Esc back  j/k row  s sort:load  q quit  p pause  ? help",
	NULL
};
static const char *const exp_detail_gone_80x6[] = {
	"ioasid-top - reference: every process - 22:03:07 UTC - every 1s - process view",
	"process: pid 999",
	"gone: no such row in this snapshot (or the filter hides it)",
	"",
	"",
	"filter:x  Esc back  j/k row  s sort:load  q quit  p pause  ? help",
	NULL
};
static const char *const exp_filter_80x10[] = {
	"ioasid-top - reference: every process - 22:03:07 UTC - every 1s - process view",
	"contexts 6  processes 5  devices bound 4  IOASes 6  domains 5",
	"pinned 1.5G  memlock 2.0G  headroom 512M  DMAs 2.4M  stale hits 0",
	"map/s 1.5k  unmap/s 1.5k  mapped/s 6.0M  inv/s 1.5k  fault/s 12.5",
	"events 2.8M  dropped 0  unaggregated 0  counts from BPF aggregates",
	"",
	"    pid comm            map_s unmap_s map_bytes_s pinned inv_s fault_s map_p99",
	"   4242 qemu-system-x86  1.2k    1.2k        4.7M   1.0G  1.2k       0   48.0u",
	"   1317 vmm_scenario      334     318        1.3M   512M   349    12.5    3.1u",
	"filter: qemu_  Enter apply  Esc cancel",
	NULL
};
static const char *const exp_no_rows_80x10[] = {
	"ioasid-top - reference: every process - 22:03:07 UTC - every 1s - process view",
	"contexts 6  processes 5  devices bound 4  IOASes 6  domains 5",
	"pinned 1.5G  memlock 2.0G  headroom 512M  DMAs 2.4M  stale hits 0",
	"map/s 1.5k  unmap/s 1.5k  mapped/s 6.0M  inv/s 1.5k  fault/s 12.5",
	"events 2.8M  dropped 0  unaggregated 0  counts from BPF aggregates",
	"",
	"    pid comm            map_s unmap_s map_bytes_s pinned inv_s fault_s map_p99",
	"  no processes match filter \"zzz\"",
	"",
	"filter:zzz  q quit  j/k move  s sort:load  f filter  v view  Enter detail",
	NULL
};
static const char *const exp_help_80x24[] = {
	"ioasid-top - reference: every process - 22:03:07 UTC - every 1s - process view",
	"",
	"Keys",
	"  q, Esc         quit (Esc in a detail or the filter prompt: back)",
	"  j/k, Down/Up   move the selection",
	"  PgDn/PgUp      a page down / up",
	"  g/G, Home/End  first / last row",
	"  Enter, Right   detail of the selected row (Esc, Enter, Left: back)",
	"  s              next sort key: load, then each column",
	"  S, r           reverse the sort order",
	"  f, /           filter: label, comm or device text; pid or group; ctx in hex",
	"  v, Tab         next view (Shift-Tab back; 1-4: process context ioas device)",
	"  p              pause / resume the updates",
	"  ?, h, F1       this help",
	"  Ctrl-C, F10    quit",
	"",
	"Columns ('*' marks the sort column)",
	"  map_s       IOAS maps per second (successful)",
	"  unmap_s     IOAS unmaps per second (successful)",
	"  map_bytes_s bytes mapped per second",
	"  pinned      bytes pinned now (accounted pages x 4 KiB)",
	"  headroom    RLIMIT_MEMLOCK left before a map fails with ENOMEM",
	"  inv_s       IOTLB invalidations per second",
	"any key back  q quit",
	NULL
};
static const char *const exp_message_80x12[] = {
	"ioasid-top - 22:03:07 UTC - every 1s - process view [paused] [ended]",
	"contexts 6  processes 5  devices bound 4  IOASes 6  domains 5",
	"pinned 1.5G  memlock 2.0G  headroom 512M  DMAs 2.4M  stale hits 0",
	"map/s 1.5k  unmap/s 1.5k  mapped/s 6.0M  inv/s 1.5k  fault/s 12.5",
	"events 2.8M  dropped 0  unaggregated 0  counts from BPF aggregates",
	"",
	"    pid comm            map_s unmap_s map_bytes_s pinned inv_s fault_s map_p99",
	"   1317 vmm_scenario      334     318        1.3M   512M   349    12.5    3.1u",
	"",
	"",
	"",
	"snapshot written to top.json  filter:vmm  q quit  j/k move  s sort:load  v view",
	NULL
};
static const char *const exp_pinned_asc_80x12[] = {
	"ioasid-top - reference: every process - 22:03:07 UTC - every 1s - process view",
	"contexts 6  processes 5  devices bound 4  IOASes 6  domains 5",
	"pinned 1.5G  memlock 2.0G  headroom 512M  DMAs 2.4M  stale hits 0",
	"map/s 1.5k  unmap/s 1.5k  mapped/s 6.0M  inv/s 1.5k  fault/s 12.5",
	"events 2.8M  dropped 0  unaggregated 0  counts from BPF aggregates",
	"",
	"    pid comm            map_s unmap_s map_bytes_s*pinned inv_s fault_s map_p99",
	"   2001 dpdk-testpmd        0       0           0   256K     0       0       -",
	"   1317 vmm_scenario      334     318        1.3M   512M   349    12.5    3.1u",
	"   4242 qemu-system-x86  1.2k    1.2k        4.7M   1.0G  1.2k       0   48.0u",
	"  31337 nvme-passthru     0.5     0.5        2.0K      -     0       0    9.8u",
	"q quit  j/k move  s sort:pinned asc  f filter  v view  Enter detail  p pause",
	NULL
};
static const char *const exp_process_40x10[] = {
	"ioasid-top - 22:03:07 UTC - process view",
	"contexts 6  processes 5  devices bound 4",
	"pinned 1.5G  memlock 2.0G  headroom 512M",
	"map/s 1.5k  unmap/s 1.5k  mapped/s 6.0M",
	"events 2.8M  dropped 0  unaggregated 0",
	"",
	"    pid comm            map_s unmap_s",
	"   4242 qemu-system-x86  1.2k    1.2k",
	"   1317 vmm_scenario      334     318",
	"q quit  j/k move  s sort:load  f filter",
	NULL
};
static const char *const exp_detail_40x10[] = {
	"ioasid-top - 22:03:07 UTC - process view",
	"process: pid 4242  comm qemu-system-x86",
	"map_s 1.2k  unmap_s 1.2k",
	"map_bytes_s 4.7M  pinned 1.0G",
	"headroom 1.0G  inv_s 1.2k  attach 3",
	"pasids 0  fault_s 0  map_p50 2.9u",
	"map_p99 48.0u  unmap_p50 4.1u",
	"unmap_p99 120u",
	"maps 91750  map_fails 3  map_bytes 120G",
	"Esc back  j/k row  s sort:load  q quit",
	NULL
};

static const char exp_text_process[] =
	"ioasid-top - reference: every process - 22:03:07 UTC - every 1s - process view\n"
	"contexts 6  processes 5  devices bound 4  IOASes 6  domains 5\n"
	"pinned 1.5G  memlock 2.0G  headroom 512M  DMAs 2.4M  stale hits 0\n"
	"map/s 1.5k  unmap/s 1.5k  mapped/s 6.0M  inv/s 1.5k  fault/s 12.5\n"
	"events 2.8M  dropped 0  unaggregated 0  counts from BPF aggregates\n"
	"\n"
	"  pid comm            map_s unmap_s map_bytes_s pinned headroom inv_s attach pasids"
	" fault_s map_p50 map_p99 unmap_p50 unmap_p99\n"
	" 4242 qemu-system-x86  1.2k    1.2k        4.7M   1.0G     1.0G  1.2k      3      0"
	"       0    2.9u   48.0u      4.1u      120u\n"
	" 1317 vmm_scenario      334     318        1.3M   512M    unlim   349      2      2"
	"    12.5    850n    3.1u      1.9u         -\n"
	"31337 nvme-passthru     0.5     0.5        2.0K      -        -     0      0      0"
	"       0    9.8u    9.8u         -         -\n"
	" 2001 dpdk-testpmd        0       0           0   256K    63.8M     0      1      0"
	"       0       -       -         -         -\n"
	"   77 pid 77              0       0           0      -        -     0      0      0"
	"       0       -       -         -         -\n";
static const char exp_text_context[] =
	"ioasid-top - reference: every process - 22:03:07 UTC - every 1s - context view\n"
	"contexts 6  processes 5  devices bound 4  IOASes 6  domains 5\n"
	"pinned 1.5G  memlock 2.0G  headroom 512M  DMAs 2.4M  stale hits 0\n"
	"map/s 1.5k  unmap/s 1.5k  mapped/s 6.0M  inv/s 1.5k  fault/s 12.5\n"
	"events 2.8M  dropped 0  unaggregated 0  counts from BPF aggregates\n"
	"\n"
	" pid comm                         ctx map_s unmap_s map_bytes_s pinned headroom inv_s"
	" attach pasids fault_s map_p50 map_p99 unmap_p50 unmap_p99\n"
	"4242 qemu-system-x86                1  1.2k    1.2k        4.7M   1.0G     1.0G  1.2k"
	"      3      0       0    2.9u   48.0u      4.1u      120u\n"
	"1317 vmm_scenario                   2   334     318        1.3M   512M    unlim   349"
	"      2      2    12.5    850n    3.1u      1.9u         -\n"
	" 990 iommufd-smoke   ffff888104a3c000  12.0    12.0       48.0K   4.0K     8.0M  12.0"
	"      0      0       0    1.7u    2.3u      2.1u      2.8u\n"
	"1317 vmm_scenario                   3     0       0           0      0    unlim     0"
	"      0      0       0       -       -         -         -\n";
static const char exp_json_small[] =
	"{\"type\":\"header\",\"view\":\"process\",\"source\":\"reference: every process\","
	"\"now_ns\":3725500000000,\"wall_s\":1763762587,\"interval_s\":1,\"processes\":5,"
	"\"contexts\":6,\"devices_bound\":4,\"ioases\":6,\"domains\":5,\"pinned\":1610874880,"
	"\"memlock\":2147483648,\"map_s\":1534.5,\"unmap_s\":1498.5,\"map_bytes_s\":6291456,"
	"\"inv_s\":1530,\"fault_s\":12.5,\"maps\":121337,\"map_fails\":4,"
	"\"map_bytes\":171798691840,\"unmaps\":118402,\"unmap_fails\":0,"
	"\"unmap_bytes\":169651208192,\"copies\":2,\"invs\":119660,\"faults\":75,"
	"\"dmas\":2405311,\"dma_faults\":3,\"stale_hits\":0,\"attach_ops\":9,\"detach_ops\":3,"
	"\"events\":2770412,\"dropped\":0,\"unaggregated\":0,\"aggregates\":true,"
	"\"ended\":false}\n"
	"{\"type\":\"row\",\"pid\":1317,\"comm\":\"vmm_scenario\",\"label\":\"vmm_scenario\","
	"\"map_s\":334,\"unmap_s\":318,\"map_bytes_s\":1363148.8,\"pinned\":536870912,"
	"\"headroom\":\"unlimited\",\"inv_s\":349,\"attach\":2,\"pasids\":2,\"fault_s\":12.5,"
	"\"map_p50\":850,\"map_p99\":3100,\"unmap_p50\":1900,\"unmap_p99\":null,\"maps\":29587,"
	"\"map_fails\":1,\"map_bytes\":42949672960,\"unmaps\":28290,\"unmap_fails\":0,"
	"\"unmap_bytes\":41875931136,\"copies\":2,\"invs\":29260,\"faults\":75,\"dmas\":562111,"
	"\"dma_faults\":3,\"stale_hits\":0,\"attach_ops\":6,\"detach_ops\":3}\n"
	"{\"type\":\"row\",\"pid\":77,\"comm\":\"\",\"label\":\"pid 77\",\"map_s\":0,"
	"\"unmap_s\":0,\"map_bytes_s\":0,\"pinned\":null,\"headroom\":null,\"inv_s\":0,"
	"\"attach\":0,\"pasids\":0,\"fault_s\":0,\"map_p50\":null,\"map_p99\":null,"
	"\"unmap_p50\":null,\"unmap_p99\":null,\"maps\":0,\"map_fails\":0,\"map_bytes\":0,"
	"\"unmaps\":0,\"unmap_fails\":0,\"unmap_bytes\":0,\"copies\":0,\"invs\":0,\"faults\":0,"
	"\"dmas\":0,\"dma_faults\":0,\"stale_hits\":0,\"attach_ops\":0,\"detach_ops\":0}\n";
static const char exp_openmetrics_small[] =
	"# TYPE ioasid_processes gauge\n"
	"# HELP ioasid_processes Processes with iommufd activity\n"
	"ioasid_processes 5\n"
	"# TYPE ioasid_contexts gauge\n"
	"# HELP ioasid_contexts iommufd contexts open\n"
	"ioasid_contexts 6\n"
	"# TYPE ioasid_devices_bound gauge\n"
	"# HELP ioasid_devices_bound Devices bound to a context\n"
	"ioasid_devices_bound 4\n"
	"# TYPE ioasid_ioases gauge\n"
	"# HELP ioasid_ioases IOASes\n"
	"ioasid_ioases 6\n"
	"# TYPE ioasid_domains gauge\n"
	"# HELP ioasid_domains IOMMU domains\n"
	"ioasid_domains 5\n"
	"# TYPE ioasid_events_received counter\n"
	"# HELP ioasid_events_received Events received from the source\n"
	"ioasid_events_received_total 2770412\n"
	"# TYPE ioasid_events_dropped counter\n"
	"# HELP ioasid_events_dropped Events the ring buffer lost\n"
	"ioasid_events_dropped_total 0\n"
	"# TYPE ioasid_events_unaggregated counter\n"
	"# HELP ioasid_events_unaggregated Events the aggregate map had no room for\n"
	"ioasid_events_unaggregated_total 0\n"
	"# TYPE ioasid_maps counter\n"
	"# HELP ioasid_maps IOAS maps\n"
	"ioasid_maps_total{pid=\"4242\",comm=\"qemu-system-x86\"} 91750\n"
	"ioasid_maps_total{pid=\"other\",comm=\"other\"} 64\n"
	"# TYPE ioasid_map_failures counter\n"
	"# HELP ioasid_map_failures IOAS maps that failed\n"
	"ioasid_map_failures_total{pid=\"4242\",comm=\"qemu-system-x86\"} 3\n"
	"ioasid_map_failures_total{pid=\"other\",comm=\"other\"} 0\n"
	"# TYPE ioasid_mapped_bytes counter\n"
	"# UNIT ioasid_mapped_bytes bytes\n"
	"# HELP ioasid_mapped_bytes Bytes mapped into IOASes\n"
	"ioasid_mapped_bytes_total{pid=\"4242\",comm=\"qemu-system-x86\"} 128849018880\n"
	"ioasid_mapped_bytes_total{pid=\"other\",comm=\"other\"} 262144\n"
	"# TYPE ioasid_unmaps counter\n"
	"# HELP ioasid_unmaps IOAS unmaps\n"
	"ioasid_unmaps_total{pid=\"4242\",comm=\"qemu-system-x86\"} 90112\n"
	"ioasid_unmaps_total{pid=\"other\",comm=\"other\"} 0\n"
	"# TYPE ioasid_unmap_failures counter\n"
	"# HELP ioasid_unmap_failures IOAS unmaps that failed\n"
	"ioasid_unmap_failures_total{pid=\"4242\",comm=\"qemu-system-x86\"} 0\n"
	"ioasid_unmap_failures_total{pid=\"other\",comm=\"other\"} 0\n"
	"# TYPE ioasid_unmapped_bytes counter\n"
	"# UNIT ioasid_unmapped_bytes bytes\n"
	"# HELP ioasid_unmapped_bytes Bytes unmapped from IOASes\n"
	"ioasid_unmapped_bytes_total{pid=\"4242\",comm=\"qemu-system-x86\"} 127775277056\n"
	"ioasid_unmapped_bytes_total{pid=\"other\",comm=\"other\"} 0\n"
	"# TYPE ioasid_copies counter\n"
	"# HELP ioasid_copies IOAS copies\n"
	"ioasid_copies_total{pid=\"4242\",comm=\"qemu-system-x86\"} 0\n"
	"ioasid_copies_total{pid=\"other\",comm=\"other\"} 0\n"
	"# TYPE ioasid_iotlb_invalidations counter\n"
	"# HELP ioasid_iotlb_invalidations IOTLB invalidations\n"
	"ioasid_iotlb_invalidations_total{pid=\"4242\",comm=\"qemu-system-x86\"} 90400\n"
	"ioasid_iotlb_invalidations_total{pid=\"other\",comm=\"other\"} 0\n"
	"# TYPE ioasid_faults counter\n"
	"# HELP ioasid_faults IO page faults\n"
	"ioasid_faults_total{pid=\"4242\",comm=\"qemu-system-x86\"} 0\n"
	"ioasid_faults_total{pid=\"other\",comm=\"other\"} 0\n"
	"# TYPE ioasid_dma counter\n"
	"# HELP ioasid_dma Device DMA operations through a translation\n"
	"ioasid_dma_total{pid=\"4242\",comm=\"qemu-system-x86\"} 1843200\n"
	"ioasid_dma_total{pid=\"other\",comm=\"other\"} 0\n"
	"# TYPE ioasid_dma_faults counter\n"
	"# HELP ioasid_dma_faults Device DMA operations refused\n"
	"ioasid_dma_faults_total{pid=\"4242\",comm=\"qemu-system-x86\"} 0\n"
	"ioasid_dma_faults_total{pid=\"other\",comm=\"other\"} 0\n"
	"# TYPE ioasid_iotlb_stale_hits counter\n"
	"# HELP ioasid_iotlb_stale_hits IOTLB hits on a translation the page tables no longer"
	" hold\n"
	"ioasid_iotlb_stale_hits_total{pid=\"4242\",comm=\"qemu-system-x86\"} 0\n"
	"ioasid_iotlb_stale_hits_total{pid=\"other\",comm=\"other\"} 0\n"
	"# TYPE ioasid_attach_ops counter\n"
	"# HELP ioasid_attach_ops Attach and replace operations (successful)\n"
	"ioasid_attach_ops_total{pid=\"4242\",comm=\"qemu-system-x86\"} 3\n"
	"ioasid_attach_ops_total{pid=\"other\",comm=\"other\"} 1\n"
	"# TYPE ioasid_detach_ops counter\n"
	"# HELP ioasid_detach_ops Detach operations\n"
	"ioasid_detach_ops_total{pid=\"4242\",comm=\"qemu-system-x86\"} 0\n"
	"ioasid_detach_ops_total{pid=\"other\",comm=\"other\"} 0\n"
	"# TYPE ioasid_pinned_bytes gauge\n"
	"# UNIT ioasid_pinned_bytes bytes\n"
	"# HELP ioasid_pinned_bytes Bytes pinned now (accounted pages x 4 KiB)\n"
	"ioasid_pinned_bytes{pid=\"4242\",comm=\"qemu-system-x86\"} 1073741824\n"
	"ioasid_pinned_bytes{pid=\"other\",comm=\"other\"} 262144\n"
	"# TYPE ioasid_memlock_headroom_bytes gauge\n"
	"# UNIT ioasid_memlock_headroom_bytes bytes\n"
	"# HELP ioasid_memlock_headroom_bytes RLIMIT_MEMLOCK left before a map fails with"
	" ENOMEM\n"
	"ioasid_memlock_headroom_bytes{pid=\"4242\",comm=\"qemu-system-x86\"} 1073741824\n"
	"ioasid_memlock_headroom_bytes{pid=\"other\",comm=\"other\"} 66846720\n"
	"# TYPE ioasid_attachments gauge\n"
	"# HELP ioasid_attachments Attachments now: (device, PASID) pairs on a page table\n"
	"ioasid_attachments{pid=\"4242\",comm=\"qemu-system-x86\"} 3\n"
	"ioasid_attachments{pid=\"other\",comm=\"other\"} 1\n"
	"# TYPE ioasid_pasids gauge\n"
	"# HELP ioasid_pasids PASIDs in use now: non-zero PASIDs attached and global PASIDs\n"
	"ioasid_pasids{pid=\"4242\",comm=\"qemu-system-x86\"} 0\n"
	"ioasid_pasids{pid=\"other\",comm=\"other\"} 0\n"
	"# EOF\n";

/* ---- helpers ------------------------------------------------------------------------------- */
#define GUARD 64                /* bytes after the screen that must stay untouched */

static void ui_default(struct top_ui *ui)
{
	memset(ui, 0, sizeof(*ui));
	ui->sort = TOP_SORT_LOAD;
}

struct screen {
	char *buf;
	int w, h, sel;
};

static const char *line_of(const struct screen *sc, int y)
{
	return sc->buf + (size_t)y * ((size_t)sc->w + 1);
}

/* Render, and check what holds for every screen: h lines of exactly w printable columns, and
 * nothing written past them. */
static struct screen render(const struct top_snapshot *s, const struct top_ui *ui, int w, int h)
{
	size_t size = (size_t)h * ((size_t)w + 1);
	struct screen sc = { .w = w, .h = h };

	sc.buf = malloc(size + GUARD);
	cr_assert(sc.buf);
	memset(sc.buf, 0x5a, size + GUARD);
	top_render_screen(s, ui, w, h, sc.buf, &sc.sel);
	for (size_t i = size; i < size + GUARD; i++)
		cr_assert_eq(sc.buf[i], 0x5a, "%dx%d: byte %zu past the screen written", w, h, i);
	for (int y = 0; y < h; y++) {
		const char *line = line_of(&sc, y);

		cr_assert_eq(strlen(line), (size_t)w, "%dx%d line %d: %zu columns", w, h, y,
			     strlen(line));
		for (int x = 0; x < w; x++)
			cr_assert(line[x] >= 0x20 && line[x] < 0x7f,
				  "%dx%d line %d column %d: 0x%02x", w, h, y, x,
				  (unsigned char)line[x]);
	}
	return sc;
}

/* exp: the screen's lines without their trailing spaces, NULL-terminated. */
static void expect_screen(const struct screen *sc, const char *const *exp)
{
	char want[512];
	int y;

	for (y = 0; exp[y]; y++) {
		cr_assert_lt(y, sc->h, "more lines expected than the screen's %d", sc->h);
		cr_assert_leq(strlen(exp[y]), (size_t)sc->w, "expected line %d is too long", y);
		snprintf(want, sizeof(want), "%-*s", sc->w, exp[y]);
		cr_assert_str_eq(line_of(sc, y), want, "line %d:\n got |%s|\nwant |%s|", y,
				 line_of(sc, y), want);
	}
	cr_assert_eq(y, sc->h, "%d lines expected, the screen has %d", y, sc->h);
}

static struct screen render_expect(const struct top_snapshot *s, const struct top_ui *ui, int w,
				   int h, const char *const *exp)
{
	struct screen sc = render(s, ui, w, h);

	expect_screen(&sc, exp);
	return sc;
}

#define CAPTURE(text, call)                                                                        \
	do {                                                                                       \
		size_t len_;                                                                       \
		FILE *out = open_memstream(&(text), &len_);                                        \
		cr_assert(out);                                                                    \
		call;                                                                              \
		cr_assert_eq(fclose(out), 0);                                                      \
	} while (0)

/* The pids of the rows, in order, are these (0-terminated). */
static void expect_pids(const struct top_snapshot *s, const uint32_t *pids)
{
	size_t n = 0;

	while (pids[n])
		n++;
	cr_assert_eq(s->nr_rows, n, "%zu rows, expected %zu", s->nr_rows, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(s->rows[i].id.pid, pids[i], "row %zu: pid %u, expected %u", i,
			     s->rows[i].id.pid, pids[i]);
}

#define PIDS(...) ((const uint32_t[]){ __VA_ARGS__, 0 })

static void sorted_process(struct top_snapshot *s, int sort, bool ascending)
{
	snap_process(s);
	top_arrange_sort(s, sort, ascending);
}

/* ---- number formats ------------------------------------------------------------------------ */
static char fbuf[TOP_FMT_LEN];

#define RATE(v) top_fmt_rate((v), fbuf, sizeof(fbuf))
#define COUNT(v) top_fmt_count((v), fbuf, sizeof(fbuf))
#define BYTES(v) top_fmt_bytes((v), fbuf, sizeof(fbuf))
#define LAT(v) top_fmt_lat((v), fbuf, sizeof(fbuf))

Test(top_render, fmt_rate_boundaries)
{
	cr_assert_str_eq(RATE(0), "0");
	cr_assert_str_eq(RATE(-3), "0");
	cr_assert_str_eq(RATE(0.0 / 0.0), "0");
	cr_assert_str_eq(RATE(0.04), "0.0");    /* not nothing: a rate too small to show */
	cr_assert_str_eq(RATE(0.5), "0.5");
	cr_assert_str_eq(RATE(12.34), "12.3");
	cr_assert_str_eq(RATE(99.94), "99.9");
	cr_assert_str_eq(RATE(99.95), "100");   /* never "100.0" */
	cr_assert_str_eq(RATE(250), "250");
	cr_assert_str_eq(RATE(999), "999");
	cr_assert_str_eq(RATE(999.4), "999");
	cr_assert_str_eq(RATE(999.5), "1.0k");  /* never "1000" */
	cr_assert_str_eq(RATE(1000), "1.0k");
	cr_assert_str_eq(RATE(12345), "12.3k");
	cr_assert_str_eq(RATE(99949), "99.9k");
	cr_assert_str_eq(RATE(99950), "100k");
	cr_assert_str_eq(RATE(999499), "999k");
	cr_assert_str_eq(RATE(999500), "1.0M");
	cr_assert_str_eq(RATE(4.5e6), "4.5M");
	cr_assert_str_eq(RATE(7.2e9), "7.2G");
	cr_assert_str_eq(RATE(1e18), "1.0E");
	cr_assert_str_eq(RATE(2e20), "200E");   /* the last unit is never left */
}

Test(top_render, fmt_count_boundaries)
{
	cr_assert_str_eq(COUNT(0), "0");
	cr_assert_str_eq(COUNT(7), "7");
	cr_assert_str_eq(COUNT(999), "999");
	cr_assert_str_eq(COUNT(1000), "1.0k");
	cr_assert_str_eq(COUNT(1049), "1.0k");
	cr_assert_str_eq(COUNT(1050), "1.1k");
	cr_assert_str_eq(COUNT(99949), "99.9k");
	cr_assert_str_eq(COUNT(99950), "100k");
	cr_assert_str_eq(COUNT(999499), "999k");
	cr_assert_str_eq(COUNT(999500), "1.0M");
	cr_assert_str_eq(COUNT(2405311), "2.4M");
	cr_assert_str_eq(COUNT(UINT64_MAX), "18.4E");
}

Test(top_render, fmt_bytes_binary_units)
{
	cr_assert_str_eq(BYTES(0), "0");
	cr_assert_str_eq(BYTES(1), "1B");
	cr_assert_str_eq(BYTES(512), "512B");
	cr_assert_str_eq(BYTES(1023), "1023B");
	cr_assert_str_eq(BYTES(1023.5), "1.0K");
	cr_assert_str_eq(BYTES(1024), "1.0K");
	cr_assert_str_eq(BYTES(1536), "1.5K");
	cr_assert_str_eq(BYTES(99.94 * KiB), "99.9K");
	cr_assert_str_eq(BYTES(100 * KiB), "100K");
	cr_assert_str_eq(BYTES(1023 * KiB), "1023K");
	cr_assert_str_eq(BYTES(1023.5 * KiB), "1.0M");
	cr_assert_str_eq(BYTES(MiB), "1.0M");
	cr_assert_str_eq(BYTES(64 * MiB - 256 * KiB), "63.8M");
	cr_assert_str_eq(BYTES(1.2 * GiB), "1.2G");
	cr_assert_str_eq(BYTES(8 * 1024 * GiB), "8.0T");
	cr_assert_str_eq(BYTES((double)UINT64_MAX), "16.0E");
}

Test(top_render, fmt_latency_from_ns)
{
	cr_assert_str_eq(LAT(0), "-");          /* no sample in the interval */
	cr_assert_str_eq(LAT(1), "1n");
	cr_assert_str_eq(LAT(850), "850n");
	cr_assert_str_eq(LAT(999), "999n");
	cr_assert_str_eq(LAT(1000), "1.0u");
	cr_assert_str_eq(LAT(3100), "3.1u");
	cr_assert_str_eq(LAT(99949), "99.9u");
	cr_assert_str_eq(LAT(99950), "100u");
	cr_assert_str_eq(LAT(999499), "999u");
	cr_assert_str_eq(LAT(999500), "1.0m");
	cr_assert_str_eq(LAT(1200000), "1.2m");
	cr_assert_str_eq(LAT(2000000000), "2.0s");
	cr_assert_str_eq(LAT(1234000000000ULL), "1234s");      /* seconds are the last unit */
}

Test(top_render, fmt_unknown_unlimited_clock)
{
	cr_assert_str_eq(top_fmt_avail_bytes(TOP_UNKNOWN, 4096, fbuf, sizeof(fbuf)), "-");
	cr_assert_str_eq(top_fmt_avail_bytes(TOP_UNLIMITED, 0, fbuf, sizeof(fbuf)), "unlim");
	cr_assert_str_eq(top_fmt_avail_bytes(TOP_VALUE, 4096, fbuf, sizeof(fbuf)), "4.0K");
	cr_assert_str_eq(top_fmt_avail_bytes(TOP_VALUE, 0, fbuf, sizeof(fbuf)), "0");
	cr_assert_str_eq(top_fmt_clock(WALL_S, fbuf, sizeof(fbuf)), "22:03:07");
	cr_assert_str_eq(top_fmt_clock(0, fbuf, sizeof(fbuf)), "00:00:00");
	cr_assert_str_eq(top_fmt_clock(86399, fbuf, sizeof(fbuf)), "23:59:59");
	cr_assert_str_eq(top_fmt_clock(-1, fbuf, sizeof(fbuf)), "23:59:59");
}

/* Columns are 5 wide at least because nothing the formatters write is wider. */
Test(top_render, fmt_at_most_5_columns)
{
	static const double mant[] = { 1, 1.5, 9.94, 9.95, 9.96, 99.9, 99.94, 99.95, 99.96,
				       999, 999.4, 999.5, 999.9, 1023, 1023.4, 1023.5, 1023.9 };
	double scale = 1;

	for (int e = 0; e < 19; e++, scale *= 10) {
		for (size_t m = 0; m < sizeof(mant) / sizeof(mant[0]); m++) {
			double v = mant[m] * scale;

			cr_assert_leq(strlen(RATE(v)), 5, "rate %g: %s", v, fbuf);
			cr_assert_leq(strlen(BYTES(v)), 5, "bytes %g: %s", v, fbuf);
			if (v < 1e19)
				cr_assert_leq(strlen(COUNT((uint64_t)v)), 5, "count %g: %s", v,
					      fbuf);
			if (v < 1e12)   /* 16 minutes and more: "1000s" and up */
				cr_assert_leq(strlen(LAT((uint64_t)v)), 5, "ns %g: %s", v, fbuf);
		}
	}
	for (uint64_t b = 1; b; b <<= 1)
		cr_assert_leq(strlen(BYTES((double)b)), 5, "bytes %llu: %s",
			      (unsigned long long)b, fbuf);
}

Test(top_render, fmt_cell_per_column)
{
	static const char *const want[TOP_COL_COUNT] = {
		"334", "318", "1.3M", "512M", "unlim", "349", "2", "2", "12.5", "850n", "3.1u",
		"1.9u", "-",
	};
	struct top_snapshot s;

	snap_process(&s);       /* row 0: vmm_scenario */
	for (int c = 0; c < TOP_COL_COUNT; c++)
		cr_assert_str_eq(top_fmt_cell(&s.rows[0], c, fbuf, sizeof(fbuf)), want[c], "%s",
				 top_col_name(c));
	cr_assert_str_eq(top_fmt_cell(&s.rows[3], TOP_COL_PINNED, fbuf, sizeof(fbuf)), "-");
	top_snapshot_free(&s);
}

Test(top_render, names_of_columns_and_views)
{
	static const char *const names[TOP_COL_COUNT] = {
		"map_s", "unmap_s", "map_bytes_s", "pinned", "headroom", "inv_s", "attach",
		"pasids", "fault_s", "map_p50", "map_p99", "unmap_p50", "unmap_p99",
	};

	for (int c = 0; c < TOP_COL_COUNT; c++) {
		cr_assert_str_eq(top_col_name(c), names[c]);
		cr_assert_gt(strlen(top_col_doc(c)), 10);
	}
	cr_assert_str_eq(top_col_name(TOP_COL_COUNT), "?");
	cr_assert_str_eq(top_col_doc(-1), "");
	cr_assert_str_eq(top_view_name(TOP_VIEW_PROCESS), "process");
	cr_assert_str_eq(top_view_name(TOP_VIEW_CONTEXT), "context");
	cr_assert_str_eq(top_view_name(TOP_VIEW_IOAS), "ioas");
	cr_assert_str_eq(top_view_name(TOP_VIEW_DEVICE), "device");
	cr_assert_str_eq(top_view_name(TOP_VIEW_COUNT), "?");
	for (int v = 0; v < TOP_VIEW_COUNT; v++)
		cr_assert_eq(top_view_from_name(top_view_name(v)), v);
	cr_assert_eq(top_view_from_name("Device"), TOP_VIEW_DEVICE);
	cr_assert_eq(top_view_from_name("devices"), -EINVAL);
	cr_assert_eq(top_view_from_name(""), -EINVAL);
	cr_assert_eq(top_view_from_name(NULL), -EINVAL);
}

/* ---- sort ---------------------------------------------------------------------------------- */
Test(top_render, sort_load_then_pinned)
{
	struct top_snapshot s;

	/* load 3561.5, 1013.5, 1, then two idle rows: pinned 256K before pinned unknown */
	sorted_process(&s, TOP_SORT_LOAD, false);
	expect_pids(&s, PIDS(4242, 1317, 31337, 2001, 77));
	top_snapshot_free(&s);
	/* ascending: the idle rows first, and unknown pinned still after known */
	sorted_process(&s, TOP_SORT_LOAD, true);
	expect_pids(&s, PIDS(2001, 77, 31337, 1317, 4242));
	top_snapshot_free(&s);
}

Test(top_render, sort_rates)
{
	struct top_snapshot s;

	sorted_process(&s, TOP_COL_MAP_S, false);
	expect_pids(&s, PIDS(4242, 1317, 31337, 2001, 77));    /* 0 and 0: by label */
	top_snapshot_free(&s);
	sorted_process(&s, TOP_COL_UNMAP_S, true);
	expect_pids(&s, PIDS(2001, 77, 31337, 1317, 4242));
	top_snapshot_free(&s);
	sorted_process(&s, TOP_COL_MAP_BYTES_S, false);
	expect_pids(&s, PIDS(4242, 1317, 31337, 2001, 77));
	top_snapshot_free(&s);
	sorted_process(&s, TOP_COL_INV_S, false);
	expect_pids(&s, PIDS(4242, 1317, 2001, 31337, 77));
	top_snapshot_free(&s);
	sorted_process(&s, TOP_COL_FAULT_S, false);
	expect_pids(&s, PIDS(1317, 2001, 31337, 77, 4242));
	top_snapshot_free(&s);
}

Test(top_render, sort_pinned_unknown_last)
{
	struct top_snapshot s;

	sorted_process(&s, TOP_COL_PINNED, false);
	expect_pids(&s, PIDS(4242, 1317, 2001, 31337, 77));
	top_snapshot_free(&s);
	sorted_process(&s, TOP_COL_PINNED, true);
	expect_pids(&s, PIDS(2001, 1317, 4242, 31337, 77));
	top_snapshot_free(&s);
}

Test(top_render, sort_headroom_unlimited_largest)
{
	struct top_snapshot s;

	sorted_process(&s, TOP_COL_HEADROOM, false);
	expect_pids(&s, PIDS(1317, 4242, 2001, 31337, 77));
	top_snapshot_free(&s);
	sorted_process(&s, TOP_COL_HEADROOM, true);
	expect_pids(&s, PIDS(2001, 4242, 1317, 31337, 77));
	top_snapshot_free(&s);
}

Test(top_render, sort_counts)
{
	struct top_snapshot s;

	sorted_process(&s, TOP_COL_ATTACH, false);
	expect_pids(&s, PIDS(4242, 1317, 2001, 31337, 77));
	top_snapshot_free(&s);
	/* one row with PASIDs, then the rest by label: dpdk, nvme, pid 77, qemu */
	sorted_process(&s, TOP_COL_PASIDS, false);
	expect_pids(&s, PIDS(1317, 2001, 31337, 77, 4242));
	top_snapshot_free(&s);
}

Test(top_render, sort_latency_no_sample_last)
{
	struct top_snapshot s;

	sorted_process(&s, TOP_COL_MAP_P99, false);
	expect_pids(&s, PIDS(4242, 31337, 1317, 2001, 77));
	top_snapshot_free(&s);
	sorted_process(&s, TOP_COL_MAP_P99, true);
	expect_pids(&s, PIDS(1317, 31337, 4242, 2001, 77));
	top_snapshot_free(&s);
	sorted_process(&s, TOP_COL_MAP_P50, true);
	expect_pids(&s, PIDS(1317, 4242, 31337, 2001, 77));
	top_snapshot_free(&s);
	sorted_process(&s, TOP_COL_UNMAP_P99, false);
	expect_pids(&s, PIDS(4242, 2001, 31337, 77, 1317));
	top_snapshot_free(&s);
	sorted_process(&s, TOP_COL_UNMAP_P50, true);
	expect_pids(&s, PIDS(1317, 4242, 2001, 31337, 77));
	top_snapshot_free(&s);
}

Test(top_render, sort_ties_by_label_then_identity)
{
	struct top_snapshot s;

	fill_header(&s, TOP_VIEW_CONTEXT);
	add_row(&s, 20, "b", "same")->id.ctx = 2;
	add_row(&s, 10, "a", "same")->id.ctx = 9;
	add_row(&s, 10, "a", "same")->id.ctx = 3;
	add_row(&s, 30, "z", "first");
	/* equal loads: label "first" < "same"; then pid; then ctx; ascending or not */
	for (int asc = 0; asc < 2; asc++) {
		top_arrange_sort(&s, TOP_SORT_LOAD, asc);
		expect_pids(&s, PIDS(30, 10, 10, 20));
		cr_assert_eq(s.rows[1].id.ctx, 3);
		cr_assert_eq(s.rows[2].id.ctx, 9);
	}
	top_snapshot_free(&s);
}

/* The order is total: any order of the same rows sorts the same, byte for byte. */
Test(top_render, sort_total_whatever_the_input_order)
{
	for (int sort = TOP_SORT_LOAD; sort < TOP_COL_COUNT; sort++) {
		for (int asc = 0; asc < 2; asc++) {
			struct top_snapshot a, b;

			snap_process(&a);
			snap_process(&b);
			for (size_t i = 0; i < b.nr_rows / 2; i++) {
				struct top_row t = b.rows[i];

				b.rows[i] = b.rows[b.nr_rows - 1 - i];
				b.rows[b.nr_rows - 1 - i] = t;
			}
			top_arrange_sort(&a, sort, asc);
			top_arrange_sort(&b, sort, asc);
			cr_assert_eq(memcmp(a.rows, b.rows, a.nr_rows * sizeof(a.rows[0])), 0,
				     "sort %d ascending %d", sort, asc);
			top_snapshot_free(&a);
			top_snapshot_free(&b);
		}
	}
}

Test(top_render, sort_not_a_number_last)
{
	struct top_snapshot s;

	snap_process(&s);
	s.rows[1].rate[TOP_COL_MAP_S] = 0.0 / 0.0;     /* the qemu row */
	top_arrange_sort(&s, TOP_COL_MAP_S, false);
	expect_pids(&s, PIDS(1317, 31337, 2001, 77, 4242));
	top_arrange_sort(&s, TOP_COL_MAP_S, true);
	expect_pids(&s, PIDS(2001, 77, 31337, 1317, 4242));
	top_snapshot_free(&s);
	/* nothing to sort */
	memset(&s, 0, sizeof(s));
	top_arrange_sort(&s, TOP_SORT_LOAD, false);
	top_arrange_sort(NULL, TOP_SORT_LOAD, false);
	cr_assert_eq(s.nr_rows, 0);
}

/* ---- filter -------------------------------------------------------------------------------- */
static void filtered(struct top_snapshot *s, void (*snap)(struct top_snapshot *),
		     const char *filter)
{
	snap(s);
	top_arrange_sort(s, TOP_SORT_LOAD, false);
	top_arrange_filter(s, filter);
}

Test(top_render, filter_name_case_insensitive)
{
	struct top_snapshot s;

	filtered(&s, snap_process, "QEMU");
	expect_pids(&s, PIDS(4242));
	top_snapshot_free(&s);
	filtered(&s, snap_process, "-");        /* qemu-system-x86, dpdk-testpmd, nvme-passthru */
	expect_pids(&s, PIDS(4242, 31337, 2001));
	top_snapshot_free(&s);
	filtered(&s, snap_process, "pid 7");    /* a label: the nameless process */
	expect_pids(&s, PIDS(77));
	top_snapshot_free(&s);
}

Test(top_render, filter_pid_exact)
{
	struct top_snapshot s;

	filtered(&s, snap_process, "1317");
	expect_pids(&s, PIDS(1317));
	top_snapshot_free(&s);
	filtered(&s, snap_process, "131");      /* no pid 131, and not in any name */
	expect_pids(&s, PIDS(0));
	top_snapshot_free(&s);
	filtered(&s, snap_process, "0");        /* no row has ctx 0 or group 0 to match */
	expect_pids(&s, PIDS(0));
	top_snapshot_free(&s);
}

Test(top_render, filter_ctx_hex)
{
	struct top_snapshot s;

	filtered(&s, snap_context, "0xffff888104a3c000");
	expect_pids(&s, PIDS(990));
	top_snapshot_free(&s);
	filtered(&s, snap_context, "FFFF888104A3C000");
	expect_pids(&s, PIDS(990));
	top_snapshot_free(&s);
	filtered(&s, snap_context, "0x3");
	expect_pids(&s, PIDS(1317));
	cr_assert_eq(s.rows[0].id.ctx, 3);
	top_snapshot_free(&s);
	filtered(&s, snap_context, "0x1ffff888104a3c000");     /* too wide for a cookie */
	expect_pids(&s, PIDS(0));
	top_snapshot_free(&s);
}

Test(top_render, filter_device_name_and_group)
{
	struct top_snapshot s;

	filtered(&s, snap_device, "00:05");
	cr_assert_eq(s.nr_rows, 1);
	cr_assert_str_eq(s.rows[0].id.name, "0000:00:05.0");
	top_snapshot_free(&s);
	filtered(&s, snap_device, "MOCK");
	cr_assert_eq(s.nr_rows, 1);
	cr_assert_str_eq(s.rows[0].id.name, "iommufd_mock7");
	top_snapshot_free(&s);
	filtered(&s, snap_device, "9");         /* group 9 */
	cr_assert_eq(s.nr_rows, 1);
	cr_assert_str_eq(s.rows[0].id.name, "0000:00:05.0");
	top_snapshot_free(&s);
	filtered(&s, snap_device, "7");         /* group 7 twice, and "iommufd_mock7" */
	cr_assert_eq(s.nr_rows, 3);
	cr_assert_str_eq(s.rows[0].id.name, "0000:00:03.0");
	cr_assert_str_eq(s.rows[1].id.name, "0000:00:04.0");
	cr_assert_str_eq(s.rows[2].id.name, "iommufd_mock7");
	top_snapshot_free(&s);
}

Test(top_render, filter_keeps_rows_whole_and_in_order)
{
	struct top_snapshot s, all;

	filtered(&all, snap_process, NULL);     /* NULL keeps all */
	cr_assert_eq(all.nr_rows, 5);
	top_arrange_filter(&all, "");
	cr_assert_eq(all.nr_rows, 5);
	filtered(&s, snap_process, "t");        /* qemu-system-x86 nvme-passthru dpdk-testpmd */
	expect_pids(&s, PIDS(4242, 31337, 2001));
	cr_assert_eq(memcmp(&s.rows[0], &all.rows[0], sizeof(s.rows[0])), 0);
	cr_assert_eq(memcmp(&s.rows[1], &all.rows[2], sizeof(s.rows[0])), 0);
	cr_assert_eq(memcmp(&s.rows[2], &all.rows[3], sizeof(s.rows[0])), 0);
	top_snapshot_free(&s);
	top_snapshot_free(&all);
}

Test(top_render, filter_no_match)
{
	struct top_snapshot s;

	filtered(&s, snap_process, "no-such-thing");
	cr_assert_eq(s.nr_rows, 0);
	top_arrange_filter(&s, "again");        /* on no rows */
	top_arrange_sort(&s, TOP_COL_PINNED, false);
	top_snapshot_free(&s);
	cr_assert_null(s.rows);
	cr_assert_eq(s.nr_rows, 0);
	top_snapshot_free(&s);                  /* twice is fine */
	top_snapshot_free(NULL);
	top_arrange_filter(NULL, "x");
}

/* ---- columns and geometry ------------------------------------------------------------------ */
static void expect_columns(enum top_view view, int width, const enum top_col *cols, size_t n)
{
	bool shown[TOP_COL_COUNT], want[TOP_COL_COUNT] = { false };

	for (size_t i = 0; i < n; i++)
		want[cols[i]] = true;
	top_render_columns(view, width, shown);
	for (int c = 0; c < TOP_COL_COUNT; c++)
		cr_assert_eq(shown[c], want[c], "%s view, %d columns: %s %s", top_view_name(view),
			     width, top_col_name(c), shown[c] ? "shown" : "dropped");
}

#define COLS(...) ((const enum top_col[]){ __VA_ARGS__ }),                                         \
	(sizeof((const enum top_col[]){ __VA_ARGS__ }) / sizeof(enum top_col))

Test(top_render, columns_dropped_least_important_first)
{
	/* pid 7 + comm 15 = 23, and 55 for these seven; 129 for all thirteen */
	expect_columns(TOP_VIEW_PROCESS, 80, COLS(TOP_COL_MAP_S, TOP_COL_UNMAP_S,
		       TOP_COL_MAP_BYTES_S, TOP_COL_PINNED, TOP_COL_INV_S, TOP_COL_FAULT_S,
		       TOP_COL_MAP_P99));
	expect_columns(TOP_VIEW_PROCESS, 78, COLS(TOP_COL_MAP_S, TOP_COL_UNMAP_S,
		       TOP_COL_MAP_BYTES_S, TOP_COL_PINNED, TOP_COL_INV_S, TOP_COL_FAULT_S,
		       TOP_COL_MAP_P99));
	expect_columns(TOP_VIEW_PROCESS, 77, COLS(TOP_COL_MAP_S, TOP_COL_UNMAP_S,
		       TOP_COL_MAP_BYTES_S, TOP_COL_PINNED, TOP_COL_INV_S, TOP_COL_FAULT_S));
	expect_columns(TOP_VIEW_PROCESS, 87, COLS(TOP_COL_MAP_S, TOP_COL_UNMAP_S,
		       TOP_COL_MAP_BYTES_S, TOP_COL_PINNED, TOP_COL_HEADROOM, TOP_COL_INV_S,
		       TOP_COL_FAULT_S, TOP_COL_MAP_P99));
	expect_columns(TOP_VIEW_PROCESS, 128, COLS(TOP_COL_MAP_S, TOP_COL_UNMAP_S,
		       TOP_COL_MAP_BYTES_S, TOP_COL_PINNED, TOP_COL_HEADROOM, TOP_COL_INV_S,
		       TOP_COL_ATTACH, TOP_COL_PASIDS, TOP_COL_FAULT_S, TOP_COL_MAP_P50,
		       TOP_COL_MAP_P99, TOP_COL_UNMAP_P99));
	expect_columns(TOP_VIEW_PROCESS, 129, COLS(TOP_COL_MAP_S, TOP_COL_UNMAP_S,
		       TOP_COL_MAP_BYTES_S, TOP_COL_PINNED, TOP_COL_HEADROOM, TOP_COL_INV_S,
		       TOP_COL_ATTACH, TOP_COL_PASIDS, TOP_COL_FAULT_S, TOP_COL_MAP_P50,
		       TOP_COL_MAP_P99, TOP_COL_UNMAP_P50, TOP_COL_UNMAP_P99));
	expect_columns(TOP_VIEW_PROCESS, 29, COLS(TOP_COL_MAP_S));
	expect_columns(TOP_VIEW_PROCESS, 28, NULL, 0);
	expect_columns(TOP_VIEW_PROCESS, 0, NULL, 0);
	expect_columns(TOP_VIEW_PROCESS, -5, NULL, 0);
	/* pid comm ctx: 32; ioas view pid ctx ioas: 31 */
	expect_columns(TOP_VIEW_CONTEXT, 80, COLS(TOP_COL_MAP_S, TOP_COL_UNMAP_S,
		       TOP_COL_MAP_BYTES_S, TOP_COL_PINNED, TOP_COL_INV_S, TOP_COL_FAULT_S));
	expect_columns(TOP_VIEW_IOAS, 80, COLS(TOP_COL_MAP_S, TOP_COL_UNMAP_S,
		       TOP_COL_MAP_BYTES_S, TOP_COL_PINNED, TOP_COL_INV_S, TOP_COL_FAULT_S));
	/* dev group pid: 34; a device's own columns first */
	expect_columns(TOP_VIEW_DEVICE, 80, COLS(TOP_COL_MAP_S, TOP_COL_UNMAP_S, TOP_COL_INV_S,
		       TOP_COL_ATTACH, TOP_COL_PASIDS, TOP_COL_FAULT_S));
	expect_columns(TOP_VIEW_DEVICE, 50, COLS(TOP_COL_ATTACH, TOP_COL_FAULT_S));
}

/* A wider terminal only ever adds columns. */
Test(top_render, columns_monotonic_in_width)
{
	for (int v = 0; v < TOP_VIEW_COUNT; v++) {
		bool prev[TOP_COL_COUNT], cur[TOP_COL_COUNT];

		top_render_columns(v, 0, prev);
		for (int w = 1; w <= 400; w++) {
			top_render_columns(v, w, cur);
			for (int c = 0; c < TOP_COL_COUNT; c++)
				cr_assert(!prev[c] || cur[c], "%s view: %s gone at %d columns",
					  top_view_name(v), top_col_name(c), w);
			memcpy(prev, cur, sizeof(prev));
		}
		for (int c = 0; c < TOP_COL_COUNT; c++)
			cr_assert(cur[c]);
	}
}

Test(top_render, table_geometry)
{
	static const int want[][3] = {  /* height, header line, row lines */
		{ 24, 6, 16 }, { 10, 6, 2 }, { 9, 6, 1 }, { 8, 5, 1 }, { 5, 2, 1 }, { 4, 1, 1 },
		{ 3, -1, 0 }, { 1, -1, 0 }, { 0, -1, 0 },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int header, rows;

		top_render_table_geometry(want[i][0], &header, &rows);
		cr_assert_eq(header, want[i][1], "height %d: header at %d", want[i][0], header);
		cr_assert_eq(rows, want[i][2], "height %d: %d rows", want[i][0], rows);
	}
}

/* ---- the table screen ---------------------------------------------------------------------- */
Test(top_render, screen_process_80x24)
{
	struct top_snapshot s;
	struct top_ui ui;
	struct screen sc;

	sorted_process(&s, TOP_SORT_LOAD, false);
	ui_default(&ui);
	sc = render_expect(&s, &ui, 80, 24, exp_process_80x24);
	cr_assert_eq(sc.sel, 7);
	free(sc.buf);
	top_snapshot_free(&s);
}

/* Every column; sorted by map_p99 (marked); the third row selected; paused, ended, and counts
 * folded from a lossy event stream. */
Test(top_render, screen_process_200x40)
{
	struct top_snapshot s;
	struct top_ui ui;
	struct screen sc;

	sorted_process(&s, TOP_COL_MAP_P99, false);
	s.hdr.ended = true;
	s.hdr.aggregates = false;
	s.hdr.dropped = 17;
	s.hdr.events = 999;
	ui_default(&ui);
	ui.sort = TOP_COL_MAP_P99;
	ui.selected = 2;
	ui.paused = true;
	sc = render_expect(&s, &ui, 200, 40, exp_process_200x40);
	cr_assert_eq(sc.sel, 9);
	free(sc.buf);
	top_snapshot_free(&s);
}

static void expect_view(void (*snap)(struct top_snapshot *), int w, int h,
			const char *const *exp)
{
	struct top_snapshot s;
	struct top_ui ui;
	struct screen sc;

	snap(&s);
	top_arrange_sort(&s, TOP_SORT_LOAD, false);
	ui_default(&ui);
	ui.view = s.view;
	sc = render_expect(&s, &ui, w, h, exp);
	cr_assert_eq(sc.sel, 7);
	free(sc.buf);
	top_snapshot_free(&s);
}

/* A kernel context's cookie shows as its low 7 hex digits after '~'. */
Test(top_render, screen_context_80x24)
{
	expect_view(snap_context, 80, 24, exp_context_80x24);
}

/* A mock device's group (0x80000000 | RID) fits its column; an unbound device has no pid. */
Test(top_render, screen_device_80x12)
{
	expect_view(snap_device, 80, 12, exp_device_80x12);
}

/* A domain whose IOAS is not known is a row of its own, with no pid or context. */
Test(top_render, screen_ioas_100x12)
{
	expect_view(snap_ioas, 100, 12, exp_ioas_100x12);
}

/* The sort mark takes the space before a name that fills its column; unknown sorts last. */
Test(top_render, screen_sort_mark_ascending)
{
	struct top_snapshot s;
	struct top_ui ui;
	struct screen sc;

	sorted_process(&s, TOP_COL_PINNED, true);
	ui_default(&ui);
	ui.sort = TOP_COL_PINNED;
	ui.ascending = true;
	sc = render_expect(&s, &ui, 80, 12, exp_pinned_asc_80x12);
	free(sc.buf);
	top_snapshot_free(&s);
}

Test(top_render, screen_narrow_40x10)
{
	struct top_snapshot s;
	struct top_ui ui;
	struct screen sc;

	sorted_process(&s, TOP_SORT_LOAD, false);
	ui_default(&ui);
	sc = render_expect(&s, &ui, 40, 10, exp_process_40x10);
	free(sc.buf);
	top_snapshot_free(&s);
}

/* With room for all, the header is the identity names and then exactly top_col_name(). */
Test(top_render, screen_header_is_the_column_names)
{
	static const char *const ids[TOP_VIEW_COUNT][4] = {
		{ "pid", "comm" }, { "pid", "comm", "ctx" }, { "pid", "ctx", "ioas" },
		{ "dev", "group", "pid" },
	};

	for (int v = 0; v < TOP_VIEW_COUNT; v++) {
		struct top_snapshot s = { .view = v };
		struct top_ui ui;
		struct screen sc;
		char line[512] = "", want[32], *tok, *save = NULL;
		int i = 0, nid = ids[v][2] ? 3 : 2;

		ui_default(&ui);
		ui.sort = TOP_COL_UNMAP_P99;
		sc = render(&s, &ui, 300, 10);
		/* the mark may take the space before its name: "unmap_p50*unmap_p99" */
		for (const char *p = line_of(&sc, 6), *end = line + sizeof(line) - 2; *p; p++) {
			char *q = line + strlen(line);

			cr_assert_lt(q, end);
			if (*p == '*')
				*q++ = ' ';
			*q++ = *p;
			*q = '\0';
		}
		for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save), i++) {
			if (i < nid) {
				cr_assert_str_eq(tok, ids[v][i]);
				continue;
			}
			cr_assert_lt(i - nid, TOP_COL_COUNT);
			snprintf(want, sizeof(want), "%s%s",
				 i - nid == TOP_COL_UNMAP_P99 ? "*" : "", top_col_name(i - nid));
			cr_assert_str_eq(tok, want);
		}
		cr_assert_eq(i, nid + TOP_COL_COUNT);
		/* no rows: it says so */
		cr_assert_str_eq(strtok_r(strcpy(line, line_of(&sc, 7)), " ", &save), "no");
		free(sc.buf);
	}
}

/* The selected row is always on screen; the screen line is reported for highlighting. */
Test(top_render, screen_selection_scrolls)
{
	static const struct {
		int height;
		size_t selected, scroll;
		int line;               /* -1: none */
		uint32_t first_pid;     /* the first row shown */
	} cases[] = {
		{ 9, 4, 0, 7, 77 },     /* one row line: it is the selected one */
		{ 9, 2, 4, 7, 31337 },  /* sorted by load: 4242 1317 31337 2001 77 */
		{ 10, 0, 3, 7, 4242 },  /* scrolled past the selection: back to it */
		{ 10, 4, 4, 8, 2001 },  /* scrolled past the end: no empty line under the rows */
		{ 24, 3, 0, 10, 4242 },
		{ 10, 7, 9, -1, 2001 }, /* stale: nothing selected, still no empty tail */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct top_snapshot s;
		struct top_ui ui;
		struct screen sc;
		char want[16];
		int header, rows;

		sorted_process(&s, TOP_SORT_LOAD, false);
		ui_default(&ui);
		ui.selected = cases[i].selected;
		ui.scroll = cases[i].scroll;
		sc = render(&s, &ui, 80, cases[i].height);
		top_render_table_geometry(cases[i].height, &header, &rows);
		cr_assert_eq(sc.sel, cases[i].line, "case %zu: line %d", i, sc.sel);
		snprintf(want, sizeof(want), "%7u ", cases[i].first_pid);
		cr_assert_eq(strncmp(line_of(&sc, header + 1), want, strlen(want)), 0,
			     "case %zu: %s", i, line_of(&sc, header + 1));
		free(sc.buf);
		top_snapshot_free(&s);
	}
}

Test(top_render, screen_no_rows_match)
{
	struct top_snapshot s;
	struct top_ui ui;
	struct screen sc;

	sorted_process(&s, TOP_SORT_LOAD, false);
	top_arrange_filter(&s, "zzz");
	ui_default(&ui);
	snprintf(ui.filter, sizeof(ui.filter), "zzz");
	sc = render_expect(&s, &ui, 80, 10, exp_no_rows_80x10);
	cr_assert_eq(sc.sel, -1);
	free(sc.buf);
	top_snapshot_free(&s);
}

/* The message first, then the applied filter, then the keys that fit. The title keeps [paused]
 * and [ended] by leaving the source out. */
Test(top_render, screen_message_paused_ended)
{
	struct top_snapshot s;
	struct top_ui ui;
	struct screen sc;

	snap_process(&s);
	top_arrange_filter(&s, "vmm");
	s.hdr.ended = true;
	ui_default(&ui);
	ui.paused = true;
	snprintf(ui.filter, sizeof(ui.filter), "vmm");
	snprintf(ui.message, sizeof(ui.message), "snapshot written to top.json");
	sc = render_expect(&s, &ui, 80, 12, exp_message_80x12);
	free(sc.buf);
	top_snapshot_free(&s);
}

Test(top_render, screen_filter_prompt)
{
	struct top_snapshot s;
	struct top_ui ui;
	struct screen sc;

	sorted_process(&s, TOP_SORT_LOAD, false);
	ui_default(&ui);
	ui.mode = TOP_MODE_FILTER;
	snprintf(ui.edit, sizeof(ui.edit), "qemu");
	sc = render_expect(&s, &ui, 80, 10, exp_filter_80x10);
	free(sc.buf);
	/* longer than the line: its end, where the cursor is, shows */
	snprintf(ui.edit, sizeof(ui.edit), "%s",
		 "a-very-long-filter-text-that-goes-on-and-on-0123456789");
	sc = render(&s, &ui, 40, 10);
	cr_assert_str_eq(line_of(&sc, 9), "filter: <that-goes-on-and-on-0123456789_");
	free(sc.buf);
	top_snapshot_free(&s);
}

Test(top_render, screen_help_80x24)
{
	struct top_snapshot s;
	struct top_ui ui;
	struct screen sc;

	sorted_process(&s, TOP_SORT_LOAD, false);
	ui_default(&ui);
	ui.mode = TOP_MODE_HELP;
	sc = render_expect(&s, &ui, 80, 24, exp_help_80x24);
	cr_assert_eq(sc.sel, -1);
	free(sc.buf);
	top_snapshot_free(&s);
}

/* ---- detail -------------------------------------------------------------------------------- */
static struct screen render_detail_of(struct top_snapshot *s, uint32_t pid, int w, int h)
{
	struct top_ui ui;
	size_t i = 0;

	while (i < s->nr_rows && s->rows[i].id.pid != pid)
		i++;
	cr_assert_lt(i, s->nr_rows);
	ui_default(&ui);
	ui.mode = TOP_MODE_DETAIL;
	ui.detail_id = s->rows[i].id;
	return render(s, &ui, w, h);
}

/* Identity, metrics, every total; the three histograms side by side (the map latency's run of
 * three fullest slots of seven); the last events, oldest first, outcome first. */
Test(top_render, detail_80x24)
{
	struct top_snapshot s;
	struct screen sc;

	sorted_process(&s, TOP_SORT_LOAD, false);
	sc = render_detail_of(&s, 4242, 80, 24);
	expect_screen(&sc, exp_detail_80x24);
	cr_assert_eq(sc.sel, -1);
	free(sc.buf);
	top_snapshot_free(&s);
}

Test(top_render, detail_narrow_40x10)
{
	struct top_snapshot s;
	struct screen sc;

	sorted_process(&s, TOP_SORT_LOAD, false);
	sc = render_detail_of(&s, 4242, 40, 10);
	expect_screen(&sc, exp_detail_40x10);
	free(sc.buf);
	top_snapshot_free(&s);
}

/* The detail follows the row, not its place: another order, a changed label, same screen. */
Test(top_render, detail_follows_the_row)
{
	struct top_snapshot s;
	struct top_ui ui;
	struct screen sc;

	sorted_process(&s, TOP_COL_PINNED, true);
	cr_assert_neq(s.rows[0].id.pid, 4242);
	ui_default(&ui);
	ui.mode = TOP_MODE_DETAIL;
	ui.detail_id = s.rows[2].id;
	cr_assert_eq(ui.detail_id.pid, 4242);
	snprintf(ui.detail_id.label, sizeof(ui.detail_id.label), "renamed");
	snprintf(ui.detail_id.comm, sizeof(ui.detail_id.comm), "renamed");
	sc = render(&s, &ui, 80, 24);
	expect_screen(&sc, exp_detail_80x24);
	free(sc.buf);
	top_snapshot_free(&s);
}

Test(top_render, detail_gone)
{
	struct top_snapshot s;
	struct top_ui ui;
	struct screen sc;

	sorted_process(&s, TOP_SORT_LOAD, false);
	ui_default(&ui);
	ui.mode = TOP_MODE_DETAIL;
	ui.detail_id.pid = 999;
	snprintf(ui.detail_id.label, sizeof(ui.detail_id.label), "old-proc");
	snprintf(ui.filter, sizeof(ui.filter), "x");
	sc = render_expect(&s, &ui, 80, 6, exp_detail_gone_80x6);
	free(sc.buf);
	top_snapshot_free(&s);
}

/* Every event type (and ones this build does not know) makes one line: age, name, fields. */
Test(top_render, detail_every_event_type)
{
	for (unsigned int type = 0; type <= IOASID_EV_MAX; type++) {
		struct top_snapshot s;
		struct top_ui ui;
		struct screen sc;
		struct ioasid_event *e;
		char want[48];
		int y;

		fill_header(&s, TOP_VIEW_PROCESS);
		add_row(&s, 1, "p", "p");
		e = add_last(&s.rows[0], (uint16_t)type, 1 * MS);
		e->ctx = 0xc, e->dev = 2, e->obj = 3, e->pt = 4, e->iommu = 5, e->domain = 6;
		e->group = 7, e->pasid = 8, e->aux = 99, e->iova = 0x1000, e->length = 4096;
		e->value = 10, e->result = -EBUSY, e->latency_ns = 1500;
		snprintf(e->name, sizeof(e->name), "dev\x01name");
		ui_default(&ui);
		ui.mode = TOP_MODE_DETAIL;
		ui.detail_id = s.rows[0].id;
		sc = render(&s, &ui, 120, 24);
		for (y = 0; y < sc.h && strncmp(line_of(&sc, y), "  -0.001s ", 10); y++)
			;
		cr_assert_lt(y, sc.h, "type %u: no event line", type);
		if (type > 0 && type < IOASID_EV_MAX)
			snprintf(want, sizeof(want), "  -0.001s %-11s result -EBUSY lat 1.5u",
				 ioasid_event_type_name(type));
		else
			snprintf(want, sizeof(want), "  -0.001s type %-6u result -EBUSY lat 1.5u",
				 type);
		cr_assert_eq(strncmp(line_of(&sc, y), want, strlen(want)), 0, "type %u: %s", type,
			     line_of(&sc, y));
		free(sc.buf);
		top_snapshot_free(&s);
	}
}

/* ---- any size ------------------------------------------------------------------------------ */

/* Every mode, every view, sizes down to nothing: exact line lengths, nothing written past the
 * screen (render() checks both). */
Test(top_render, tiny_and_huge_screens)
{
	static const enum top_mode modes[] = { TOP_MODE_TABLE, TOP_MODE_FILTER, TOP_MODE_DETAIL,
					       TOP_MODE_HELP };
	void (*snaps[])(struct top_snapshot *) = { snap_process, snap_context, snap_ioas,
						   snap_device };

	for (size_t v = 0; v < sizeof(snaps) / sizeof(snaps[0]); v++) {
		for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
			struct top_snapshot s;
			struct top_ui ui;

			snaps[v](&s);
			top_arrange_sort(&s, TOP_SORT_LOAD, false);
			ui_default(&ui);
			ui.mode = modes[m];
			ui.detail_id = s.rows[0].id;
			ui.selected = 1;
			ui.paused = true;
			snprintf(ui.filter, sizeof(ui.filter), "a-filter");
			snprintf(ui.edit, sizeof(ui.edit), "typing-a-filter");
			snprintf(ui.message, sizeof(ui.message), "a message for the status line");
			for (int w = 0; w <= 45; w++) {
				for (int h = 1; h <= 12; h++) {
					struct screen sc = render(&s, &ui, w, h);

					cr_assert(sc.sel == -1 || (sc.sel >= 0 && sc.sel < h));
					free(sc.buf);
				}
			}
			free(render(&s, &ui, 300, 60).buf);
			free(render(&s, &ui, 1000, 3).buf);
			top_snapshot_free(&s);
		}
	}
}

/* A comm may hold any bytes: the screen shows '?' for what is not printable ASCII. */
Test(top_render, screen_shows_other_bytes_as_question_marks)
{
	struct top_snapshot s;
	struct top_ui ui;
	struct screen sc;

	fill_header(&s, TOP_VIEW_PROCESS);
	add_row(&s, 5, "bad\x1b[2Jname\xff", "bad");
	ui_default(&ui);
	sc = render(&s, &ui, 80, 10);
	cr_assert_eq(strncmp(line_of(&sc, 7), "      5 bad?[2Jname?  ", 22), 0, "%s",
		     line_of(&sc, 7));
	free(sc.buf);
	top_snapshot_free(&s);
}

/* ---- batch text ---------------------------------------------------------------------------- */
Test(top_render, text_process)
{
	struct top_snapshot s;
	char *text;

	sorted_process(&s, TOP_SORT_LOAD, false);
	CAPTURE(text, top_output_text(out, &s));
	cr_assert_str_eq(text, exp_text_process, "got:\n%s", text);
	free(text);
	top_snapshot_free(&s);
}

/* Nothing is cut: a kernel context's full cookie, the columns as wide as it needs. */
Test(top_render, text_context_full_identity)
{
	struct top_snapshot s;
	char *text;

	snap_context(&s);
	top_arrange_sort(&s, TOP_SORT_LOAD, false);
	CAPTURE(text, top_output_text(out, &s));
	cr_assert_str_eq(text, exp_text_context, "got:\n%s", text);
	free(text);
	top_snapshot_free(&s);
}

/* ---- JSON Lines ---------------------------------------------------------------------------- */

/* A JSON value at *p (objects, arrays, strings, numbers, literals), *p moved past it; false if
 * it is not one. Objects' keys are collected when keys != NULL (the top level), so that
 * duplicates can be caught. */
static bool json_value(const char **p, char keys[][32], int *nkeys);

static bool json_string(const char **p, char *out, size_t len)
{
	size_t n = 0;

	if (**p != '"')
		return false;
	for ((*p)++; **p != '"'; (*p)++) {
		if ((unsigned char)**p < 0x20 || !**p)
			return false;
		if (**p == '\\') {
			(*p)++;
			if (**p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", (*p)[i]) || !(*p)[i])
						return false;
				*p += 4;
			} else if (!**p || !strchr("\"\\/bfnrt", **p)) {
				return false;
			}
		}
		if (out && n + 1 < len)
			out[n++] = **p;
	}
	(*p)++;
	if (out)
		out[n] = '\0';
	return true;
}

static bool json_value(const char **p, char keys[][32], int *nkeys)
{
	if (**p == '"')
		return json_string(p, NULL, 0);
	if (**p == '{' || **p == '[') {
		char close = **p == '{' ? '}' : ']';

		(*p)++;
		if (**p == close) {
			(*p)++;
			return true;
		}
		for (;;) {
			if (close == '}') {
				char key[32];

				if (!json_string(p, key, sizeof(key)) || *(*p)++ != ':')
					return false;
				if (keys) {
					for (int i = 0; i < *nkeys; i++)
						cr_assert_str_neq(keys[i], key, "key %s twice",
								  key);
					cr_assert_lt(*nkeys, 64);
					snprintf(keys[(*nkeys)++], 32, "%s", key);
				}
			}
			if (!json_value(p, NULL, NULL))
				return false;
			if (**p == close) {
				(*p)++;
				return true;
			}
			if (*(*p)++ != ',')
				return false;
		}
	}
	if (!strncmp(*p, "true", 4) || !strncmp(*p, "null", 4)) {
		*p += 4;
		return true;
	}
	if (!strncmp(*p, "false", 5)) {
		*p += 5;
		return true;
	}
	{
		char *end;

		if (**p != '-' && (**p < '0' || **p > '9'))
			return false;
		strtod(*p, &end);
		if (end == *p)
			return false;
		*p = end;
		return true;
	}
}

static bool has_key(char keys[][32], int nkeys, const char *key)
{
	for (int i = 0; i < nkeys; i++)
		if (!strcmp(keys[i], key))
			return true;
	return false;
}

/* Every line one object with unique keys; rows carry every column name and every total. */
static void expect_json_lines(const char *text, size_t rows)
{
	static const char *const totals[] = { "maps", "map_fails", "map_bytes", "unmaps",
					      "unmap_fails", "unmap_bytes", "copies", "invs",
					      "faults", "dmas", "dma_faults", "stale_hits",
					      "attach_ops", "detach_ops" };
	size_t lines = 0;

	for (const char *p = text; *p; lines++) {
		char keys[64][32];
		int nkeys = 0;

		cr_assert_eq(*p, '{', "line %zu", lines);
		cr_assert(json_value(&p, keys, &nkeys), "line %zu is not JSON: %s", lines, p);
		cr_assert_eq(*p, '\n', "line %zu: after the object: %.20s", lines, p);
		p++;
		for (size_t t = 0; t < sizeof(totals) / sizeof(totals[0]); t++)
			cr_assert(has_key(keys, nkeys, totals[t]), "line %zu lacks %s", lines,
				  totals[t]);
		if (!lines) {
			cr_assert(has_key(keys, nkeys, "source"));
			cr_assert(has_key(keys, nkeys, "memlock"));
			continue;
		}
		for (int c = 0; c < TOP_COL_COUNT; c++)
			cr_assert(has_key(keys, nkeys, top_col_name(c)), "line %zu lacks %s",
				  lines, top_col_name(c));
		cr_assert(has_key(keys, nkeys, "label"));
	}
	cr_assert_eq(lines, 1 + rows);
}

Test(top_render, json_exact)
{
	struct top_snapshot s;
	char *text;

	snap_process(&s);
	keep_rows(&s, PIDS(1317, 77), 2);       /* unlimited headroom, no name, no samples */
	CAPTURE(text, top_output_json(out, &s));
	cr_assert_str_eq(text, exp_json_small, "got:\n%s", text);
	expect_json_lines(text, 2);
	free(text);
	top_snapshot_free(&s);
}

Test(top_render, json_every_view_well_formed)
{
	void (*snaps[])(struct top_snapshot *) = { snap_process, snap_context, snap_ioas,
						   snap_device };

	for (size_t v = 0; v < sizeof(snaps) / sizeof(snaps[0]); v++) {
		struct top_snapshot s;
		char *text;

		snaps[v](&s);
		CAPTURE(text, top_output_json(out, &s));
		expect_json_lines(text, s.nr_rows);
		free(text);
		top_snapshot_free(&s);
	}
}

/* Identity keys are the view's, in one order; ctx a hex string. */
Test(top_render, json_identity_per_view)
{
	static const struct {
		void (*snap)(struct top_snapshot *);
		size_t row;
		const char *starts;
	} cases[] = {
		{ snap_context, 3, "{\"type\":\"row\",\"pid\":990,\"comm\":\"iommufd-smoke\","
				   "\"ctx\":\"0xffff888104a3c000\","
				   "\"label\":\"ctx ffff888104a3c000\",\"map_s\":12," },
		{ snap_ioas, 2, "{\"type\":\"row\",\"pid\":0,\"comm\":\"\",\"ctx\":\"0x0\","
				"\"ioas\":0,\"iommu\":1001,\"domain\":3,"
				"\"label\":\"dom 1001:3\",\"map_s\":0," },
		{ snap_device, 2, "{\"type\":\"row\",\"dev\":2147483655,\"name\":\"iommufd_mock7\","
				  "\"group\":2147483655,\"pid\":1317,\"comm\":\"vmm_scenario\","
				  "\"label\":\"iommufd_mock7\",\"map_s\":0," },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct top_snapshot s;
		char *text;
		const char *line;

		cases[i].snap(&s);
		CAPTURE(text, top_output_json(out, &s));
		line = text;
		for (size_t r = 0; r <= cases[i].row; r++)
			line = strchr(line, '\n') + 1;
		cr_assert_eq(strncmp(line, cases[i].starts, strlen(cases[i].starts)), 0,
			     "case %zu: %.200s", i, line);
		free(text);
		top_snapshot_free(&s);
	}
}

Test(top_render, json_escapes_every_byte)
{
	struct top_snapshot s;
	char *text;

	fill_header(&s, TOP_VIEW_PROCESS);
	snprintf(s.hdr.source, sizeof(s.hdr.source), "file \"a\\b\".trace");
	memcpy(add_row(&s, 1, "", "x")->id.comm, "a\"b\\c\n\x01\xff\xc3\xa9zzzzzz", 16);
	s.rows[0].rate[TOP_COL_MAP_S] = 1.0 / 3;
	s.rows[0].rate[TOP_COL_UNMAP_S] = 0.0 / 0.0;
	CAPTURE(text, top_output_json(out, &s));
	cr_assert(strstr(text, "\"source\":\"file \\\"a\\\\b\\\".trace\","), "%s", text);
	/* 16 bytes, no NUL: all of them, and no more */
	cr_assert(strstr(text, "\"comm\":\"a\\\"b\\\\c\\u000a\\u0001\\u00ff"
			       "\\u00c3\\u00a9zzzzzz\","),
		  "%s", text);
	cr_assert(strstr(text, "\"map_s\":0.333,\"unmap_s\":null,"), "%s", text);
	expect_json_lines(text, 1);
	free(text);
	top_snapshot_free(&s);
}

/* ---- OpenMetrics --------------------------------------------------------------------------- */
Test(top_render, openmetrics_exact)
{
	struct top_snapshot s;
	char *text;

	snap_process(&s);
	keep_rows(&s, PIDS(4242, 2001), 2);
	CAPTURE(text, top_output_openmetrics(out, &s, 1));
	cr_assert_str_eq(text, exp_openmetrics_small, "got:\n%s", text);
	free(text);
	top_snapshot_free(&s);
}

/* Samples of `metric` (name and labels up to the value) in text. */
static int count_samples(const char *text, const char *metric)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, metric)); p++)
		if (p == text || p[-1] == '\n')
			n++;
	return n;
}

/* The value of the sample that starts with `series` ("name{labels}"), -1 if none. */
static long long sample(const char *text, const char *series)
{
	char want[256];
	const char *p;

	snprintf(want, sizeof(want), "\n%s ", series);
	p = strstr(text, want);
	return p ? strtoll(p + strlen(want), NULL, 10) : -1;
}

/* Sum of every sample of a family's metric, whatever the labels. */
static long long total_of(const char *text, const char *metric)
{
	char want[128];
	long long sum = 0;
	size_t n;

	n = (size_t)snprintf(want, sizeof(want), "\n%s{", metric);
	for (const char *p = text; (p = strstr(p, want)); p++)
		sum += strtoll(strstr(p + n, "} ") + 2, NULL, 10);
	return sum;
}

Test(top_render, openmetrics_cardinality_bounded)
{
	static const char *const counters[] = {
		"ioasid_maps_total", "ioasid_map_failures_total", "ioasid_mapped_bytes_total",
		"ioasid_unmaps_total", "ioasid_unmap_failures_total", "ioasid_unmapped_bytes_total",
		"ioasid_copies_total", "ioasid_iotlb_invalidations_total", "ioasid_faults_total",
		"ioasid_dma_total", "ioasid_dma_faults_total", "ioasid_iotlb_stale_hits_total",
		"ioasid_attach_ops_total", "ioasid_detach_ops_total", "ioasid_attachments",
		"ioasid_pasids",
	};
	struct top_snapshot s;
	char *two, *none, *all;

	sorted_process(&s, TOP_SORT_LOAD, false);       /* 4242 1317 31337 2001 77 */
	CAPTURE(two, top_output_openmetrics(out, &s, 2));
	CAPTURE(none, top_output_openmetrics(out, &s, 0));
	CAPTURE(all, top_output_openmetrics(out, &s, 5));
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		char m[64];

		snprintf(m, sizeof(m), "%s{", counters[i]);
		cr_assert_eq(count_samples(two, m), 3, "%s", counters[i]);
		cr_assert_eq(count_samples(none, m), 1, "%s", counters[i]);
		cr_assert_eq(count_samples(all, m), 5, "%s", counters[i]);
		/* what is summed into "other" is all there */
		cr_assert_eq(total_of(two, counters[i]), total_of(all, counters[i]), "%s",
			     counters[i]);
		cr_assert_eq(total_of(none, counters[i]), total_of(all, counters[i]), "%s",
			     counters[i]);
	}
	cr_assert_eq(sample(two, "ioasid_maps_total{pid=\"4242\",comm=\"qemu-system-x86\"}"),
		     91750);
	cr_assert_eq(sample(two, "ioasid_maps_total{pid=\"1317\",comm=\"vmm_scenario\"}"), 29587);
	cr_assert_eq(sample(two, "ioasid_maps_total{pid=\"other\",comm=\"other\"}"), 64 + 4);
	cr_assert_eq(sample(two, "ioasid_mapped_bytes_total{pid=\"other\",comm=\"other\"}"),
		     256 * KiB + 16 * KiB);
	cr_assert_eq(sample(none, "ioasid_maps_total{pid=\"other\",comm=\"other\"}"),
		     91750 + 29587 + 64 + 4);
	/* gauges: pinned summed over the rows that know it; headroom the tightest known */
	cr_assert_eq(sample(two, "ioasid_pinned_bytes{pid=\"other\",comm=\"other\"}"), 256 * KiB);
	cr_assert_eq(sample(two, "ioasid_memlock_headroom_bytes{pid=\"other\",comm=\"other\"}"),
		     64 * MiB - 256 * KiB);
	cr_assert_eq(sample(none, "ioasid_memlock_headroom_bytes{pid=\"other\",comm=\"other\"}"),
		     64 * MiB - 256 * KiB);
	cr_assert_eq(sample(two, "ioasid_attachments{pid=\"other\",comm=\"other\"}"), 1);
	cr_assert_eq(sample(none, "ioasid_pasids{pid=\"other\",comm=\"other\"}"), 2);
	/* unknown and unlimited have no sample */
	cr_assert_eq(count_samples(two, "ioasid_memlock_headroom_bytes{"), 2);
	cr_assert_eq(sample(two, "ioasid_memlock_headroom_bytes{pid=\"1317\","
			    "comm=\"vmm_scenario\"}"), -1);
	cr_assert_eq(count_samples(all, "ioasid_pinned_bytes{"), 3);
	cr_assert_null(strstr(all, "\"other\""));
	cr_assert_eq(count_samples(two, "# EOF\n"), 1);
	cr_assert_str_eq(two + strlen(two) - 6, "# EOF\n");
	free(two);
	free(none);
	free(all);
	top_snapshot_free(&s);
}

/* Every sample follows its family's TYPE line; counters' samples end in _total. */
Test(top_render, openmetrics_families)
{
	struct top_snapshot s;
	char *text, *line, *save = NULL, family[96] = "", type[16] = "";

	sorted_process(&s, TOP_SORT_LOAD, false);
	CAPTURE(text, top_output_openmetrics(out, &s, 3));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[96];
		size_t n;

		if (!strcmp(line, "# EOF"))
			break;
		if (sscanf(line, "# TYPE %95s %15s", family, type) == 2) {
			cr_assert_eq(strncmp(family, "ioasid_", 7), 0);
			continue;
		}
		if (line[0] == '#') {
			cr_assert(!strncmp(line + 2, "HELP ", 5) || !strncmp(line + 2, "UNIT ", 5));
			cr_assert_eq(strncmp(line + 7, family, strlen(family)), 0, "%s", line);
			if (!strncmp(line + 2, "UNIT ", 5))
				cr_assert(strstr(family, "_bytes"), "%s", line);
			continue;
		}
		n = strcspn(line, "{ ");
		snprintf(name, sizeof(name), "%.*s", (int)n, line);
		if (!strcmp(type, "counter"))
			snprintf(family + strlen(family), sizeof(family) - strlen(family),
				 "_total");
		cr_assert_str_eq(name, family, "sample %s under family %s", line, family);
		if (!strcmp(type, "counter"))
			family[strlen(family) - 6] = '\0';
	}
	cr_assert_not_null(line);
	free(text);
	top_snapshot_free(&s);
}

Test(top_render, openmetrics_label_escaping)
{
	struct top_snapshot s;
	char *text;

	fill_header(&s, TOP_VIEW_PROCESS);
	memcpy(add_row(&s, 1, "", "x")->id.comm, "a\\b\"c\nd\xff\xc3\xa9\xe2\x82", 13);
	memcpy(add_row(&s, 2, "", "y")->id.comm, "0123456789abcdef", 16);      /* no NUL */
	CAPTURE(text, top_output_openmetrics(out, &s, 5));
	/* \ " and newline escaped; valid UTF-8 kept; other bytes U+FFFD */
	cr_assert_eq(sample(text, "ioasid_maps_total{pid=\"1\",comm=\"a\\\\b\\\"c\\nd\xef\xbf\xbd"
			    "\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\"}"), 0, "%s", text);
	cr_assert_eq(sample(text, "ioasid_maps_total{pid=\"2\",comm=\"0123456789abcdef\"}"), 0);
	free(text);
	top_snapshot_free(&s);
}
