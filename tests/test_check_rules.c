/* test_check_rules.c — ioasid-check's acceptance, rule by rule, against the real reference.
 * Suite `check_rules`.
 *
 * For every invariant of DESIGN.md there is one workload, written as a user of the reference
 * would write it (the C API, the same calls ioctl clients make), that performs the operation a
 * bug could let through. Each test runs it twice:
 *   - with the matching bug injected (ioasid_inject_set, the same switch as IOASID_INJECT):
 *     the checker, fed only with the events the reference announced (the in-process stream,
 *     the same records BPF delivers), must report exactly that rule and no other;
 *   - without it: no violation at all, and an intact stream (verdict clean).
 * The workload always tears everything down, so the teardown half of each rule (detach,
 * destroy, close) is audited too.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/iommufd.h>

#include "ioasid/check.h"
#include "ioasid/event.h"
#include "ioasid/ioasid.h"
#include "platform/platform.h"
#include "guest_s1.h"
#include "private_host.h"

#define PAGE 4096UL
#define NVME "0000:00:02.0"       /* PASID 20, singleton group 3 */
#define DSA "0000:00:04.0"        /* PASID 20, ENQCMD, singleton group 4 */
#define GPU "0000:01:00.0"        /* group 9, with AUDIO */
#define AUDIO "0000:01:00.1"
#define BR_A "0000:02:01.0"       /* group 12, with a NIC on e1000e (DMA API) */
#define AUDIO_INDEX 4u            /* platform device index */

static int64_t live_at_start;

/* ---- capture: the in-process event stream ---------------------------------------------------- */

static struct {
	pthread_mutex_t lock;
	struct ioasid_event *ev;
	size_t n, cap;
} cap = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void on_event(void *arg, const struct ioasid_event *ev)
{
	pthread_mutex_lock(&cap.lock);
	if (cap.n == cap.cap) {
		cap.cap = cap.cap ? cap.cap * 2 : 1024;
		cap.ev = realloc(cap.ev, cap.cap * sizeof(*cap.ev));
		if (!cap.ev)
			abort();
	}
	cap.ev[cap.n++] = *ev;
	pthread_mutex_unlock(&cap.lock);
}

/* ---- the audit of one run -------------------------------------------------------------------- */

struct audit {
	struct ioasid_check_summary sum;
	char ids[64][24];              /* report ids in order */
	size_t nreports;
	char first[4096];              /* the first violation, as text */
};

static void on_report(void *arg, const struct ioasid_check_report *r)
{
	struct audit *a = arg;

	if (a->nreports < 64)
		snprintf(a->ids[a->nreports], sizeof(a->ids[0]), "%s", r->id);
	a->nreports++;
	if (r->kind == IOASID_REPORT_VIOLATION && !a->first[0]) {
		FILE *f = fmemopen(a->first, sizeof(a->first) - 1, "w");

		if (f) {
			ioasid_check_report_print(f, r);
			fclose(f);
		}
	}
}

static void run_audit(const char *bug, void (*workload)(void), struct audit *a)
{
	struct ioasid_check_opts o = { .sz = sizeof(o) };
	struct ioasid_check *c;
	int h;

	memset(a, 0, sizeof(*a));
	cr_assert_eq(ioasid_inject_set(bug ? bug : ""), 0, "inject '%s': %s", bug ? bug : "",
		     ioasid_last_error());
	cap.n = 0;
	h = ioasid_events_subscribe(on_event, NULL);
	cr_assert_geq(h, 0);
	workload();
	cr_assert_eq(ioasid_events_unsubscribe(h), 0);
	cr_assert_eq(ioasid_inject_set(""), 0);

	cr_assert_eq(ioasid_check_new(&o, on_report, a, &c), 0);
	cr_assert_eq(ioasid_check_feed_batch(c, cap.ev, cap.n), 0);
	ioasid_check_end(c);
	cr_assert_eq(ioasid_check_summary(c, &a->sum), 0);
	ioasid_check_free(c);
	cr_assert_eq(a->sum.stream_issues, 0, "the in-process stream is intact");
	cr_assert_eq(a->sum.events, cap.n, "every event checked: %llu of %zu",
		     (unsigned long long)a->sum.events, cap.n);
}

static void list_reports(const struct audit *a, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < a->nreports && i < 64 && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "", a->ids[i]);
}

/* The bug run: exactly `rule`, nothing else violated. */
static void expect_only(const struct audit *a, enum ioasid_rule rule)
{
	char list[1024];

	list_reports(a, list, sizeof(list));
	cr_assert_geq(a->sum.per_rule[rule], 1, "%s not reported (reports: %s)",
		      ioasid_check_rule(rule)->id, list);
	for (unsigned int r = 0; r < IOASID_RULE_COUNT; r++)
		if (r != rule)
			cr_assert_eq(a->sum.per_rule[r], 0, "%s also reported (reports: %s)\n%s",
				     ioasid_check_rule(r)->id, list, a->first);
	cr_assert_eq(a->sum.violations, a->sum.per_rule[rule]);
	cr_assert_eq(ioasid_check_verdict(&a->sum), 1);
	cr_assert(strstr(a->first, ioasid_check_rule(rule)->id), "first violation: %s", a->first);
	cr_assert(strstr(a->first, "  event: "), "the breaking event is shown:\n%s", a->first);
}

/* The clean run: no violation, verdict clean. */
static void expect_clean(const struct audit *a)
{
	char list[1024];

	list_reports(a, list, sizeof(list));
	cr_assert_eq(a->sum.violations, 0, "violations without a bug: %s\n%s", list, a->first);
	cr_assert_eq(ioasid_check_verdict(&a->sum), 0, "verdict (reports: %s)", list);
	for (unsigned int r = 0; r < IOASID_RULE_COUNT; r++)
		cr_assert_eq(a->sum.state[r], IOASID_RULE_CHECKED, "%s state %d",
			     ioasid_check_rule(r)->id, a->sum.state[r]);
}

static void check_rule(enum ioasid_rule rule, const char *bug, void (*workload)(void))
{
	struct audit a;

	run_audit(bug, workload, &a);
	expect_only(&a, rule);
	run_audit(NULL, workload, &a);
	expect_clean(&a);
	cr_assert_eq(ioasid_live_allocations(), live_at_start, "leaked %lld allocations",
		     (long long)(ioasid_live_allocations() - live_at_start));
}

/* ---- fixture: a private host ----------------------------------------------------------------- */

static void setup(void)
{
	setenv("IOASID_QUIET", "1", 1);
	private_host_open();
	live_at_start = ioasid_live_allocations();
}

static void teardown(void)
{
	platform_set_default(NULL);
	free(cap.ev);
	cap.ev = NULL;
	cap.n = cap.cap = 0;
}

TestSuite(check_rules, .init = setup, .fini = teardown);

/* ---- workload helpers (results that depend on the bug are not asserted) ---------------------- */

static struct ioasid_ctx *ctx_open(void)
{
	struct ioasid_ctx *c;

	cr_assert_eq(ioasid_ctx_open(&c), 0);
	return c;
}

static uint32_t ioas_alloc(struct ioasid_ctx *c)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	cr_assert_eq(ioasid_ctx_ioctl(c, IOMMU_IOAS_ALLOC, &cmd), 0);
	return cmd.out_ioas_id;
}

static int destroy(struct ioasid_ctx *c, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioasid_ctx_ioctl(c, IOMMU_DESTROY, &cmd);
}

static uint32_t bind(struct ioasid_ctx *c, const char *name)
{
	uint32_t id = 0;

	cr_assert_eq(ioasid_device_bind(c, name, &id), 0, "bind %s: %s", name,
		     ioasid_last_error());
	return id;
}

static uint32_t hwpt_alloc(struct ioasid_ctx *c, uint32_t dev, uint32_t pt, uint32_t flags,
			   uint32_t type, const void *data, uint32_t len)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev, .pt_id = pt,
		.data_type = type, .data_len = len, .data_uptr = (uintptr_t)data,
	};

	cr_assert_eq(ioasid_ctx_ioctl(c, IOMMU_HWPT_ALLOC, &cmd), 0);
	return cmd.out_hwpt_id;
}

static void attach(struct ioasid_ctx *c, uint32_t dev, uint32_t pasid, uint32_t pt)
{
	cr_assert_eq(ioasid_device_attach(c, dev, pasid, &pt), 0, "attach dev %u pasid %u: %s",
		     dev, pasid, ioasid_last_error());
}

static int map_fixed(struct ioasid_ctx *c, uint32_t ioas, void *buf, uint64_t len, uint64_t iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .user_va = (uintptr_t)buf, .length = len,
		.iova = iova,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
	};

	return ioasid_ctx_ioctl(c, IOMMU_IOAS_MAP, &cmd);
}

static void unmap_all(struct ioasid_ctx *c, uint32_t ioas)
{
	struct iommu_ioas_unmap cmd = { .size = sizeof(cmd), .ioas_id = ioas, .iova = 0,
					.length = UINT64_MAX };

	cr_assert_eq(ioasid_ctx_ioctl(c, IOMMU_IOAS_UNMAP, &cmd), 0);
}

static uint8_t *buffer(size_t len)
{
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(p, MAP_FAILED);
	memset(p, 0x5a, len);
	return p;
}

/* ---- OWN-1: a device bound to two contexts --------------------------------------------------- */

static void wl_bind_twice(void)
{
	struct ioasid_ctx *a = ctx_open(), *b = ctx_open();
	uint32_t da = bind(a, NVME), db = 0;

	if (ioasid_device_bind(b, NVME, &db) == 0)
		cr_assert_eq(ioasid_device_unbind(b, db), 0);
	cr_assert_eq(ioasid_device_unbind(a, da), 0);
	ioasid_ctx_close(b);
	ioasid_ctx_close(a);
}

Test(check_rules, own_1_bind_twice) { check_rule(IOASID_RULE_OWN_1, "bind-twice", wl_bind_twice); }

/* ---- OWN-2: an attach to another context's object -------------------------------------------- */

static void wl_attach_foreign(void)
{
	struct ioasid_ctx *a = ctx_open(), *b = ctx_open();
	uint32_t other[3], dev, pt;

	for (int i = 0; i < 3; i++)
		other[i] = ioas_alloc(b);          /* B's IOAS 3: an ID context A never had */
	dev = bind(a, NVME);
	pt = other[2];
	if (ioasid_device_attach(a, dev, 0, &pt) == 0)
		cr_assert_eq(ioasid_device_detach(a, dev, 0), 0);
	cr_assert_eq(ioasid_device_unbind(a, dev), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(destroy(b, other[i]), 0);
	ioasid_ctx_close(b);
	ioasid_ctx_close(a);
}

Test(check_rules, own_2_attach_foreign)
{
	check_rule(IOASID_RULE_OWN_2, "attach-foreign", wl_attach_foreign);
}

/* ---- OWN-3: two owners in one group ---------------------------------------------------------- */

static void wl_group_two_owners(void)
{
	struct ioasid_ctx *a = ctx_open(), *b = ctx_open();
	uint32_t da = bind(a, GPU), db = 0;

	if (ioasid_device_bind(b, AUDIO, &db) == 0)
		cr_assert_eq(ioasid_device_unbind(b, db), 0);
	cr_assert_eq(ioasid_device_unbind(a, da), 0);
	ioasid_ctx_close(b);
	ioasid_ctx_close(a);
}

Test(check_rules, own_3_group_two_owners)
{
	check_rule(IOASID_RULE_OWN_3, "group-two-owners", wl_group_two_owners);
}

/* ---- OWN-4: destroying an IOAS a device's domain still uses ---------------------------------- */

static void wl_destroy_in_use(void)
{
	struct ioasid_ctx *a = ctx_open();
	uint32_t ioas = ioas_alloc(a), dev = bind(a, NVME);
	int rc;

	attach(a, dev, 0, ioas);
	rc = destroy(a, ioas);                       /* EBUSY: the automatic HWPT uses it */
	cr_assert_eq(ioasid_device_detach(a, dev, 0), 0);
	cr_assert_eq(ioasid_device_unbind(a, dev), 0);
	if (rc)
		cr_assert_eq(destroy(a, ioas), 0);
	ioasid_ctx_close(a);
}

Test(check_rules, own_4_destroy_in_use)
{
	check_rule(IOASID_RULE_OWN_4, "destroy-in-use", wl_destroy_in_use);
}

/* ---- GRP-1: claiming a group whose other device is on a DMA-API driver ---------------------- */

static void wl_claim_dma_api_group(void)
{
	struct ioasid_ctx *a = ctx_open();
	uint32_t dev = 0;

	if (ioasid_device_bind(a, BR_A, &dev) == 0)       /* EPERM: its sibling runs e1000e */
		cr_assert_eq(ioasid_device_unbind(a, dev), 0);
	ioasid_ctx_close(a);
}

Test(check_rules, grp_1_claim_ignores_dma_api)
{
	struct audit a;

	check_rule(IOASID_RULE_GRP_1, "claim-ignores-dma-api", wl_claim_dma_api_group);
	/* the clean run explains the refusal: group viability, naming the blocking device */
	run_audit(NULL, wl_claim_dma_api_group, &a);
	cr_assert_eq(a.sum.per_warning[IOASID_WARN_VIABILITY], 1);
}

/* ---- GRP-2: a DMA-API driver probing a device of a claimed group ----------------------------- */

static void wl_probe_claimed_group(void)
{
	struct platform *p;
	struct ioasid_ctx *a = ctx_open();
	uint32_t dev = bind(a, GPU);                      /* claims group 9 */
	int rc;

	cr_assert_eq(platform_default(&p), 0);
	cr_assert_eq(platform_driver_unbind(p, AUDIO_INDEX, NULL, 0), 0);
	rc = platform_driver_bind(p, AUDIO_INDEX, "snd_hda_intel", NULL, 0);   /* EBUSY */
	cr_assert_eq(ioasid_device_unbind(a, dev), 0);
	if (rc == 0)
		cr_assert_eq(platform_driver_unbind(p, AUDIO_INDEX, NULL, 0), 0);
	cr_assert_eq(platform_driver_bind(p, AUDIO_INDEX, "vfio-pci", NULL, 0), 0);
	ioasid_ctx_close(a);
}

Test(check_rules, grp_2_probe_claimed_group)
{
	check_rule(IOASID_RULE_GRP_2, "probe-claimed-group", wl_probe_claimed_group);
}

/* ---- GRP-3: two devices of one group in different domains ------------------------------------ */

static void wl_group_split_domain(void)
{
	struct ioasid_ctx *a = ctx_open();
	uint32_t ioas1 = ioas_alloc(a), ioas2 = ioas_alloc(a);
	uint32_t gpu = bind(a, GPU), audio = bind(a, AUDIO), pt = ioas2;
	int rc;

	attach(a, gpu, 0, ioas1);
	rc = ioasid_device_attach(a, audio, 0, &pt);     /* the group shares one domain */
	if (rc == 0)
		cr_assert_eq(ioasid_device_detach(a, audio, 0), 0);
	cr_assert_eq(ioasid_device_detach(a, gpu, 0), 0);
	cr_assert_eq(ioasid_device_unbind(a, audio), 0);
	cr_assert_eq(ioasid_device_unbind(a, gpu), 0);
	cr_assert_eq(destroy(a, ioas2), 0);
	cr_assert_eq(destroy(a, ioas1), 0);
	ioasid_ctx_close(a);
}

Test(check_rules, grp_3_group_split_domain)
{
	check_rule(IOASID_RULE_GRP_3, "group-split-domain", wl_group_split_domain);
}

/* ---- PAS-1..3: PASID attach rules on the NVMe (PASID width 20, singleton group) ------------- */

struct pasid_setup {
	struct ioasid_ctx *a;
	uint32_t ioas, dev, rid_hwpt, pasid_hwpt;
};

static void pasid_setup(struct pasid_setup *s, const char *name, uint32_t rid_flags)
{
	s->a = ctx_open();
	s->ioas = ioas_alloc(s->a);
	s->dev = bind(s->a, name);
	s->rid_hwpt = hwpt_alloc(s->a, s->dev, s->ioas, rid_flags, 0, NULL, 0);
	s->pasid_hwpt = hwpt_alloc(s->a, s->dev, s->ioas, IOMMU_HWPT_ALLOC_PASID, 0, NULL, 0);
	attach(s->a, s->dev, 0, s->rid_hwpt);
}

static void pasid_teardown(struct pasid_setup *s)
{
	cr_assert_eq(ioasid_device_detach(s->a, s->dev, 0), 0);
	cr_assert_eq(destroy(s->a, s->pasid_hwpt), 0);
	cr_assert_eq(destroy(s->a, s->rid_hwpt), 0);
	cr_assert_eq(ioasid_device_unbind(s->a, s->dev), 0);
	cr_assert_eq(destroy(s->a, s->ioas), 0);
	ioasid_ctx_close(s->a);
}

static void wl_pasid_width(void)
{
	struct pasid_setup s;
	uint32_t pt;

	pasid_setup(&s, NVME, IOMMU_HWPT_ALLOC_PASID);
	pt = s.pasid_hwpt;
	if (ioasid_device_attach(s.a, s.dev, 1u << 20, &pt) == 0)   /* EINVAL: width 20 */
		cr_assert_eq(ioasid_device_detach(s.a, s.dev, 1u << 20), 0);
	pt = s.pasid_hwpt;
	attach(s.a, s.dev, (1u << 20) - 1, pt);                     /* the last valid one */
	cr_assert_eq(ioasid_device_detach(s.a, s.dev, (1u << 20) - 1), 0);
	pasid_teardown(&s);
}

Test(check_rules, pas_1_pasid_width_off_by_one)
{
	check_rule(IOASID_RULE_PAS_1, "pasid-width-off-by-one", wl_pasid_width);
}

static void wl_pasid_double_attach(void)
{
	struct pasid_setup s;
	uint32_t pt, second;

	pasid_setup(&s, NVME, IOMMU_HWPT_ALLOC_PASID);
	second = hwpt_alloc(s.a, s.dev, s.ioas, IOMMU_HWPT_ALLOC_PASID, 0, NULL, 0);
	attach(s.a, s.dev, 5, s.pasid_hwpt);
	pt = second;
	(void)ioasid_device_attach(s.a, s.dev, 5, &pt);            /* EBUSY: needs replace */
	cr_assert_eq(ioasid_device_detach(s.a, s.dev, 5), 0);
	cr_assert_eq(destroy(s.a, second), 0);
	pasid_teardown(&s);
}

Test(check_rules, pas_2_pasid_double_attach)
{
	check_rule(IOASID_RULE_PAS_2, "pasid-double-attach", wl_pasid_double_attach);
}

static void wl_pasid_rid_incompatible(void)
{
	struct pasid_setup s;
	uint32_t pt;

	pasid_setup(&s, NVME, 0);                  /* the RID's HWPT is not PASID-compatible */
	pt = s.pasid_hwpt;
	if (ioasid_device_attach(s.a, s.dev, 5, &pt) == 0)
		cr_assert_eq(ioasid_device_detach(s.a, s.dev, 5), 0);
	pasid_teardown(&s);
}

Test(check_rules, pas_3_pasid_rid_incompatible)
{
	check_rule(IOASID_RULE_PAS_3, "pasid-rid-incompatible", wl_pasid_rid_incompatible);
}

/* ---- PAS-4: a global PASID reused by another context ----------------------------------------- */

static void wl_global_pasid_reuse(void)
{
	struct pasid_setup s;
	struct ioasid_ctx *b;
	uint32_t gp = 0, gp2 = 0;

	pasid_setup(&s, DSA, IOMMU_HWPT_ALLOC_PASID);
	cr_assert_eq(ioasid_global_pasid_alloc(s.a, s.dev, &gp), 0);
	attach(s.a, s.dev, gp, s.pasid_hwpt);
	cr_assert_eq(ioasid_device_detach(s.a, s.dev, gp), 0);   /* flushes gp's entries */
	cr_assert_eq(ioasid_global_pasid_free(s.a, gp), 0);
	b = ctx_open();
	cr_assert_eq(ioasid_global_pasid_alloc(b, 0, &gp2), 0);
	cr_assert_eq(gp2, gp, "the lowest free global PASID is handed out again");
	cr_assert_eq(ioasid_global_pasid_free(b, gp2), 0);
	ioasid_ctx_close(b);
	pasid_teardown(&s);
}

Test(check_rules, pas_4_pasid_detach_no_flush)
{
	check_rule(IOASID_RULE_PAS_4, "pasid-detach-no-flush", wl_global_pasid_reuse);
}

/* ---- MAP-1: an overlapping fixed-IOVA map ---------------------------------------------------- */

static void wl_map_overlap(void)
{
	struct ioasid_ctx *a = ctx_open();
	uint32_t ioas = ioas_alloc(a);
	uint8_t *buf = buffer(4 * PAGE);

	cr_assert_eq(map_fixed(a, ioas, buf, 2 * PAGE, 0x100000), 0);
	(void)map_fixed(a, ioas, buf + 2 * PAGE, 2 * PAGE, 0x101000);   /* EEXIST */
	unmap_all(a, ioas);
	cr_assert_eq(destroy(a, ioas), 0);
	ioasid_ctx_close(a);
	munmap(buf, 4 * PAGE);
}

Test(check_rules, map_1_map_overlap) { check_rule(IOASID_RULE_MAP_1, "map-overlap", wl_map_overlap); }

/* ---- MAP-2 / MAP-3: unmap behind a device's domain ------------------------------------------- */

static void wl_unmap_behind_dma(void)
{
	struct ioasid_ctx *a = ctx_open();
	uint32_t ioas = ioas_alloc(a), dev = bind(a, NVME);
	uint8_t *buf = buffer(4 * PAGE);
	char out[8];

	attach(a, dev, 0, ioas);
	cr_assert_eq(map_fixed(a, ioas, buf, 4 * PAGE, 0x200000), 0);
	cr_assert_eq(ioasid_device_dma(a, dev, 0, 0x200000, out, sizeof(out), 0, NULL), 0);
	unmap_all(a, ioas);
	/* strict mode: the unmapped IOVA faults (a missed flush lets it through, stale) */
	(void)ioasid_device_dma(a, dev, 0, 0x200000, out, sizeof(out), 0, NULL);
	cr_assert_eq(ioasid_device_detach(a, dev, 0), 0);
	cr_assert_eq(ioasid_device_unbind(a, dev), 0);
	cr_assert_eq(destroy(a, ioas), 0);
	ioasid_ctx_close(a);
	munmap(buf, 4 * PAGE);
}

Test(check_rules, map_2_unmap_skip_flush)
{
	check_rule(IOASID_RULE_MAP_2, "unmap-skip-flush", wl_unmap_behind_dma);
}

Test(check_rules, map_3_unmap_leak_pins)
{
	check_rule(IOASID_RULE_MAP_3, "unmap-leak-pins", wl_unmap_behind_dma);
}

/* ---- MAP-4: the guest's stage-1 invalidation not carried out --------------------------------- */


static void wl_nested_invalidate(void)
{
	struct ioasid_ctx *a = ctx_open();
	uint32_t ioas = ioas_alloc(a), dev = bind(a, NVME), parent, nested;
	uint8_t *ram = buffer(GUEST_SIZE);
	const uint64_t root = GUEST_GPA, gva = 0x7f0000001000ULL;
	const uint64_t data_a = GUEST_GPA + 0x10000, data_b = GUEST_GPA + 0x11000;
	struct iommu_hwpt_vtd_s1 s1 = { .pgtbl_addr = root, .addr_width = 48 };
	struct iommu_hwpt_vtd_s1_invalidate inv = { .addr = 0, .npages = UINT64_MAX };
	struct iommu_hwpt_invalidate icmd = {
		.size = sizeof(icmd), .data_uptr = (uintptr_t)&inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, .entry_len = sizeof(inv),
		.entry_num = 1,
	};
	char out[8];

	memset(ram, 0, GUEST_SIZE);
	memcpy(ram + (data_a - GUEST_GPA), "page-A", 7);
	memcpy(ram + (data_b - GUEST_GPA), "page-B", 7);
	guest_map(ram, root, gva, data_a);
	cr_assert_eq(map_fixed(a, ioas, ram, GUEST_SIZE, GUEST_GPA), 0);
	parent = hwpt_alloc(a, dev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, 0, NULL, 0);
	nested = hwpt_alloc(a, dev, parent, 0, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1));
	attach(a, dev, 0, nested);
	cr_assert_eq(ioasid_device_dma(a, dev, 0, gva, out, 7, 0, NULL), 0);
	cr_assert_str_eq(out, "page-A");
	/* the guest repoints its PTE and invalidates, as it must, before the next DMA */
	*gpte(ram, root + 0x3000, (gva >> 12) & 511) = data_b | PTE_P | PTE_RW | PTE_US;
	icmd.hwpt_id = nested;
	cr_assert_eq(ioasid_ctx_ioctl(a, IOMMU_HWPT_INVALIDATE, &icmd), 0);
	cr_assert_eq(ioasid_device_dma(a, dev, 0, gva, out, 7, 0, NULL), 0);
	cr_assert_eq(ioasid_device_detach(a, dev, 0), 0);
	cr_assert_eq(destroy(a, nested), 0);
	cr_assert_eq(destroy(a, parent), 0);
	unmap_all(a, ioas);
	cr_assert_eq(ioasid_device_unbind(a, dev), 0);
	cr_assert_eq(destroy(a, ioas), 0);
	ioasid_ctx_close(a);
	munmap(ram, GUEST_SIZE);
}

Test(check_rules, map_4_nested_inv_dropped)
{
	check_rule(IOASID_RULE_MAP_4, "nested-inv-dropped", wl_nested_invalidate);
}

/* ---- every bug has its rule ------------------------------------------------------------------ */

Test(check_rules, every_rule_has_an_injectable_bug)
{
	static const char *const bugs[IOASID_RULE_COUNT] = {
		"bind-twice", "attach-foreign", "group-two-owners", "destroy-in-use",
		"claim-ignores-dma-api", "probe-claimed-group", "group-split-domain",
		"pasid-width-off-by-one", "pasid-double-attach", "pasid-rid-incompatible",
		"pasid-detach-no-flush", "map-overlap", "unmap-skip-flush", "unmap-leak-pins",
		"nested-inv-dropped",
	};
	const char *names = ioasid_inject_names();

	for (unsigned int r = 0; r < IOASID_RULE_COUNT; r++) {
		cr_assert(strstr(names, bugs[r]), "%s: bug '%s' missing from '%s'",
			  ioasid_check_rule(r)->id, bugs[r], names);
		cr_assert_eq(ioasid_inject_set(bugs[r]), 0);
		cr_assert_eq(ioasid_inject_enabled(bugs[r]), 1);
	}
	cr_assert_eq(ioasid_inject_set(""), 0);
	for (unsigned int r = 0; r < IOASID_RULE_COUNT; r++)
		cr_assert_eq(ioasid_inject_enabled(bugs[r]), 0, "%s off by default", bugs[r]);
}
