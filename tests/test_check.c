/* test_check.c — the invariant checker (src/check/) on synthetic event streams. Suite `check`.
 *
 * Streams are written event by event as the reference emits them (tests/test_events.c is the
 * ground truth of shapes and order), numbered seq 1.. in one in-process sequence space. For
 * every rule: a minimal stream that breaks exactly it (one report, of that rule, naming the
 * objects, with the breaking event and history) and the legal stream next to it (no report).
 * Then the stream machinery: reordering inside the window (silent, same reports), duplicates,
 * gaps (window overflow and at the end), late events, malformed records, producer drops and
 * damage (INCOMPLETE, verdict 2), observability (NOT_CHECKABLE), late-joined contexts;
 * warnings; and the text / JSON output.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ioasid/check.h"

#define PID 100u
#define A 0xaULL                /* contexts */
#define B 0xbULL
#define IOAS 1u
#define PAGE 0x1000ULL
#define ALL_PASIDS 0xffffffffu

/* ---- the stream under test ----------------------------------------------------------------- */
#define MAX_EVS 9000
static struct ioasid_event st[MAX_EVS];
static unsigned int nst;

#define MAX_REPS 64
static struct ioasid_check_report reps[MAX_REPS];
static unsigned int nreps;
static struct ioasid_check_summary sum;

static void on_report(void *arg, const struct ioasid_check_report *r)
{
	(void)arg;
	if (nreps < MAX_REPS)
		reps[nreps++] = *r;
}

static struct ioasid_event *add(uint16_t type)
{
	struct ioasid_event *e;

	cr_assert_lt(nst, MAX_EVS);
	e = &st[nst++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->source = IOASID_SRC_INPROC;
	e->version = IOASID_EVENT_VERSION;
	e->seq = nst;
	e->ts_ns = 1000000ULL * nst;
	e->pid = PID;
	e->tid = PID;
	return e;
}

static void reset(void)
{
	nst = 0;
	nreps = 0;
	memset(&sum, 0, sizeof(sum));
}

/* Feed st[] in the order given by `order` (NULL: as is), end, summarize. */
static struct ioasid_check *run_opts(const struct ioasid_check_opts *o, const unsigned int *order,
				     bool end)
{
	struct ioasid_check *c;

	nreps = 0;
	cr_assert_eq(ioasid_check_new(o, on_report, NULL, &c), 0);
	for (unsigned int i = 0; i < nst; i++)
		cr_assert_eq(ioasid_check_feed(c, &st[order ? order[i] : i]), 0);
	if (end)
		ioasid_check_end(c);
	cr_assert_eq(ioasid_check_summary(c, &sum), 0);
	return c;
}

static void run(void)
{
	ioasid_check_free(run_opts(NULL, NULL, true));
}

static void dump_reports(void)
{
	for (unsigned int i = 0; i < nreps; i++)
		ioasid_check_report_print(stderr, &reps[i]);
}

/* Exactly one report, a violation of `rule`, whose message contains each of the strings. */
static const struct ioasid_check_report *only_violation(enum ioasid_rule rule, const char *const *has)
{
	if (nreps != 1 || reps[0].kind != IOASID_REPORT_VIOLATION)
		dump_reports();
	cr_assert_eq(nreps, 1, "%u reports, expected 1", nreps);
	cr_assert_eq(reps[0].kind, IOASID_REPORT_VIOLATION);
	cr_assert_eq(reps[0].code, (int)rule, "rule %s, expected %s", reps[0].id,
		     ioasid_check_rule(rule)->id);
	cr_assert_str_eq(reps[0].id, ioasid_check_rule(rule)->id);
	for (unsigned int i = 0; i < IOASID_RULE_COUNT; i++)
		cr_assert_eq(sum.per_rule[i], i == rule ? 1u : 0u, "per_rule[%s] %llu",
			     ioasid_check_rule(i)->id, (unsigned long long)sum.per_rule[i]);
	cr_assert_eq(sum.violations, 1);
	cr_assert(reps[0].has_event);
	for (; has && *has; has++)
		cr_assert(strstr(reps[0].message, *has), "message lacks \"%s\": %s", *has,
			  reps[0].message);
	cr_assert_eq(ioasid_check_verdict(&sum), 1);
	return &reps[0];
}

static void no_reports(void)
{
	if (nreps)
		dump_reports();
	cr_assert_eq(nreps, 0, "%u reports, expected none", nreps);
	cr_assert_eq(sum.violations, 0);
	cr_assert_eq(sum.stream_issues, 0);
	cr_assert_eq(ioasid_check_verdict(&sum), 0);
}

/* The breaking event is the one at index i of st[] (same seq and type). */
static void breaks_at(const struct ioasid_check_report *r, unsigned int i)
{
	cr_assert_eq(r->event.seq, st[i].seq, "event seq %llu, expected %llu",
		     (unsigned long long)r->event.seq, (unsigned long long)st[i].seq);
	cr_assert_eq(r->event.type, st[i].type);
}

/* ---- event builders (fields as the reference fills them) ---------------------------------- */
static void ctx_open(uint64_t ctx) { add(IOASID_EV_CTX_OPEN)->ctx = ctx; }
static void ctx_close(uint64_t ctx) { add(IOASID_EV_CTX_CLOSE)->ctx = ctx; }

static void obj_alloc(uint64_t ctx, uint32_t obj, uint32_t kind)
{
	struct ioasid_event *e = add(IOASID_EV_OBJ_ALLOC);

	e->ctx = ctx, e->obj = obj, e->aux = kind;
}

static struct ioasid_event *obj_destroy(uint64_t ctx, uint32_t obj, uint32_t kind)
{
	struct ioasid_event *e = add(IOASID_EV_OBJ_DESTROY);

	e->ctx = ctx, e->obj = obj, e->aux = kind;
	return e;
}

static const char *dev_name(uint32_t dev)
{
	static char names[16][16];

	snprintf(names[dev % 16], 16, "0000:00:%02x.0", dev);
	return names[dev % 16];
}

static struct ioasid_event *bind(uint64_t ctx, uint32_t dev, uint32_t group, uint32_t pasid_bits,
				 uint32_t group_len)
{
	struct ioasid_event *e = add(IOASID_EV_DEV_BIND);

	e->ctx = ctx, e->dev = dev, e->group = group, e->obj = 100 + dev, e->iommu = 1;
	e->value = pasid_bits, e->length = group_len;
	strcpy(e->name, dev_name(dev));
	return e;
}

static struct ioasid_event *unbind(uint64_t ctx, uint32_t dev, uint32_t group)
{
	struct ioasid_event *e = add(IOASID_EV_DEV_UNBIND);

	e->ctx = ctx, e->dev = dev, e->group = group, e->obj = 100 + dev, e->iommu = 1;
	strcpy(e->name, dev_name(dev));
	return e;
}

static struct ioasid_event *claim(uint64_t ctx, uint32_t group, uint32_t dev, uint32_t kind)
{
	struct ioasid_event *e = add(IOASID_EV_GROUP_CLAIM);

	e->ctx = ctx, e->group = group, e->dev = dev, e->value = 1, e->aux = kind;
	if (dev)
		strcpy(e->name, dev_name(dev));
	return e;
}

static void release(uint64_t ctx, uint32_t group, uint32_t dev)
{
	struct ioasid_event *e = add(IOASID_EV_GROUP_RELEASE);

	e->ctx = ctx, e->group = group, e->dev = dev;
}

static struct ioasid_event *driver(uint16_t type, uint32_t dev, uint32_t group, uint32_t kind)
{
	struct ioasid_event *e = add(type);

	e->dev = dev, e->group = group, e->aux = kind;
	strcpy(e->name, dev_name(dev));
	return e;
}

static void hwpt_alloc(uint64_t ctx, uint32_t obj, uint32_t pt, uint32_t domain, uint32_t flags)
{
	struct ioasid_event *e = add(IOASID_EV_HWPT_ALLOC);

	e->ctx = ctx, e->obj = obj, e->pt = pt, e->iommu = 1, e->domain = domain, e->flags = flags;
	obj_alloc(ctx, obj, flags & IOASID_EVF_NESTED ? IOASID_OBJK_HWPT_NESTED :
							IOASID_OBJK_HWPT_PAGING);
}

static struct ioasid_event *hwpt_destroy(uint64_t ctx, uint32_t obj, uint32_t pt, uint32_t domain)
{
	struct ioasid_event *e = add(IOASID_EV_HWPT_DESTROY);

	e->ctx = ctx, e->obj = obj, e->pt = pt, e->iommu = 1, e->domain = domain;
	return e;
}

static struct ioasid_event *attach(uint16_t type, uint64_t ctx, uint32_t dev, uint32_t group,
				   uint32_t hwpt, uint32_t pasid, uint32_t domain)
{
	struct ioasid_event *e = add(type);

	e->ctx = ctx, e->dev = dev, e->group = group, e->obj = 100 + dev, e->pt = hwpt;
	e->pasid = pasid, e->iommu = 1, e->domain = domain, e->value = hwpt;
	strcpy(e->name, dev_name(dev));
	return e;
}

static struct ioasid_event *detach(uint64_t ctx, uint32_t dev, uint32_t group, uint32_t hwpt,
				   uint32_t pasid, uint32_t domain)
{
	struct ioasid_event *e = add(IOASID_EV_DEV_DETACH);

	e->ctx = ctx, e->dev = dev, e->group = group, e->obj = 100 + dev, e->pt = hwpt;
	e->pasid = pasid, e->iommu = 1, e->domain = domain;
	strcpy(e->name, dev_name(dev));
	return e;
}

static struct ioasid_event *account(uint64_t ctx, uint64_t now, int64_t delta)
{
	struct ioasid_event *e = add(IOASID_EV_ACCOUNT);

	e->ctx = ctx, e->value = now, e->length = (uint64_t)delta, e->aux = 1;
	e->iova = UINT64_MAX, e->pt = now;
	return e;
}

static void domain_map(uint32_t domain, uint64_t iova, uint64_t len)
{
	struct ioasid_event *e = add(IOASID_EV_DOMAIN_MAP);

	e->iommu = 1, e->domain = domain, e->iova = iova, e->length = len, e->aux = 7;
	e->value = 0x40000000;
}

static void domain_unmap(uint32_t domain, uint64_t iova, uint64_t len)
{
	struct ioasid_event *e = add(IOASID_EV_DOMAIN_UNMAP);

	e->iommu = 1, e->domain = domain, e->iova = iova, e->length = len, e->value = len;
}

static struct ioasid_event *inv(uint32_t domain, uint32_t pasid, uint64_t iova, uint64_t len,
				uint32_t reason, uint32_t flags)
{
	struct ioasid_event *e = add(IOASID_EV_IOTLB_INV);

	e->iommu = 1, e->domain = domain, e->pasid = pasid, e->iova = iova, e->length = len;
	e->aux = reason, e->flags = flags;
	return e;
}

static struct ioasid_event *ioas_map(uint64_t ctx, uint32_t ioas, uint64_t iova, uint64_t len)
{
	struct ioasid_event *e = add(IOASID_EV_IOAS_MAP);

	e->ctx = ctx, e->obj = ioas, e->iova = iova, e->length = len, e->aux = 7;
	e->value = len / PAGE;
	return e;
}

static struct ioasid_event *ioas_unmap(uint64_t ctx, uint32_t ioas, uint64_t iova, uint64_t len,
				       uint64_t value)
{
	struct ioasid_event *e = add(IOASID_EV_IOAS_UNMAP);

	e->ctx = ctx, e->obj = ioas, e->iova = iova, e->length = len, e->value = value;
	return e;
}

/* The reference's order: pin, map into each domain, then the IOAS_MAP. */
static uint64_t pinned;
static void map_op(uint64_t ctx, uint32_t domain, uint64_t iova, uint64_t len)
{
	pinned += len / PAGE;
	account(ctx, pinned, (int64_t)(len / PAGE));
	domain_map(domain, iova, len);
	ioas_map(ctx, IOAS, iova, len);
}

/* Unmap from each domain, invalidate (strict), unpin, then the IOAS_UNMAP. */
static void unmap_op(uint64_t ctx, uint32_t domain, uint64_t iova, uint64_t len)
{
	domain_unmap(domain, iova, len);
	inv(domain, ALL_PASIDS, iova, len, IOASID_INV_UNMAP, IOASID_EVF_STRICT);
	pinned -= len / PAGE;
	account(ctx, pinned, -(int64_t)(len / PAGE));
	ioas_unmap(ctx, IOAS, iova, len, len);
}

static struct ioasid_event *dma(uint64_t ctx, uint32_t dev, uint32_t domain, uint32_t pasid,
				uint64_t iova, uint64_t len)
{
	struct ioasid_event *e = add(IOASID_EV_DMA);

	e->ctx = ctx, e->dev = dev, e->obj = 100 + dev, e->iommu = 1, e->domain = domain;
	e->pasid = pasid, e->iova = iova, e->length = len;
	strcpy(e->name, dev_name(dev));
	return e;
}

static struct ioasid_event *gpasid(uint16_t type, uint64_t ctx, uint32_t pasid)
{
	struct ioasid_event *e = add(type);

	e->ctx = ctx, e->pasid = pasid;
	return e;
}

/* The world most tests start from: context A with IOAS 1; device 1 (PASID width 20, a
 * singleton group 3) bound and its RID attached to HWPT 3 (PASID-compatible, domain 1). */
#define DEV 1u
#define GRP 3u
static void world(void)
{
	reset();
	pinned = 0;
	ctx_open(A);
	obj_alloc(A, IOAS, IOASID_OBJK_IOAS);
	claim(A, GRP, DEV, IOASID_DRV_USER);
	bind(A, DEV, GRP, 20, 1);
	obj_alloc(A, 100 + DEV, IOASID_OBJK_DEVICE);
	hwpt_alloc(A, 3, IOAS, 1, IOASID_EVF_PASID);
	attach(IOASID_EV_DEV_ATTACH, A, DEV, GRP, 3, 0, 1);
}

/* ...and its clean end, as the reference emits it. */
static void world_end(void)
{
	detach(A, DEV, GRP, 3, 0, 1);
	hwpt_destroy(A, 3, IOAS, 1);
	obj_destroy(A, 3, IOASID_OBJK_HWPT_PAGING);
	unbind(A, DEV, GRP);
	release(A, GRP, DEV);
	obj_destroy(A, 100 + DEV, IOASID_OBJK_DEVICE);
	obj_destroy(A, IOAS, IOASID_OBJK_IOAS);
	ctx_close(A);
}

TestSuite(check, .init = reset);

/* ---- a clean life ------------------------------------------------------------------------- */
Test(check, clean_lifecycle_is_clean)
{
	world();
	map_op(A, 1, 0x100000, 16 * PAGE);
	map_op(A, 1, 0x200000, 4 * PAGE);
	dma(A, DEV, 1, 0, 0x100000 + 3 * PAGE, 64);
	unmap_op(A, 1, 0x100000, 16 * PAGE);
	unmap_op(A, 1, 0x200000, 4 * PAGE);
	world_end();
	run();
	no_reports();
	cr_assert_eq(sum.events, nst);
	for (unsigned int i = 0; i < IOASID_RULE_COUNT; i++)
		cr_assert_eq(sum.state[i], IOASID_RULE_CHECKED);
	cr_assert_eq(sum.contexts, 0);
	cr_assert_eq(sum.devices_bound, 0);
	cr_assert_eq(sum.ioas_areas, 0);
	cr_assert_eq(sum.hwpts, 0);
}

Test(check, shadow_counts_mid_stream)
{
	world();
	map_op(A, 1, 0x100000, 16 * PAGE);
	run();
	no_reports();
	cr_assert_eq(sum.contexts, 1);
	cr_assert_eq(sum.devices_bound, 1);
	cr_assert_eq(sum.groups_claimed, 1);
	cr_assert_eq(sum.hwpts, 1);
	cr_assert_eq(sum.domains, 1);
	cr_assert_eq(sum.ioas_areas, 1);
	cr_assert_eq(sum.pinned_pages, 16);
}

/* ---- OWN-1 -------------------------------------------------------------------------------- */
Test(check, own1_bound_twice)
{
	static const char *const has[] = { "dev 1 \"0000:00:01.0\"", "ctx 0xb", "ctx 0xa", NULL };
	const struct ioasid_check_report *r;

	ctx_open(A);
	ctx_open(B);
	bind(A, DEV, GRP, 20, 1);
	bind(B, DEV, GRP, 20, 1);
	run();
	r = only_violation(IOASID_RULE_OWN_1, has);
	breaks_at(r, 3);
	cr_assert_geq(r->nhistory, 1);
	cr_assert_eq(r->history[r->nhistory - 1].type, IOASID_EV_DEV_BIND);
	cr_assert_eq(r->history[r->nhistory - 1].ctx, A);
}

Test(check, own1_legal_handover)
{
	ctx_open(A);
	ctx_open(B);
	bind(A, DEV, GRP, 20, 1);
	unbind(A, DEV, GRP);
	bind(B, DEV, GRP, 20, 1);
	bind(B, 8, 21, 0, 1)->aux = 1;          /* emulated: no ownership */
	bind(A, 8, 21, 0, 1)->aux = 1;
	run();
	no_reports();
}

/* ---- OWN-2 -------------------------------------------------------------------------------- */
Test(check, own2_attach_while_not_bound)
{
	static const char *const has[] = { "dev 1", "never bound it", "ctx 0xa", NULL };

	ctx_open(A);
	obj_alloc(A, IOAS, IOASID_OBJK_IOAS);
	hwpt_alloc(A, 3, IOAS, 1, 0);
	attach(IOASID_EV_DEV_ATTACH, A, DEV, GRP, 3, 0, 1);
	run();
	breaks_at(only_violation(IOASID_RULE_OWN_2, has), 4);
}

Test(check, own2_attach_to_another_contexts_domain)
{
	static const char *const has[] = { "domain 7", "HWPT 5", "ctx 0xb", NULL };

	world();
	ctx_open(B);
	obj_alloc(B, 2, IOASID_OBJK_IOAS);
	hwpt_alloc(B, 5, 2, 7, 0);
	attach(IOASID_EV_DEV_REPLACE, A, DEV, GRP, 5, 0, 7)->aux = 1;
	run();
	only_violation(IOASID_RULE_OWN_2, has);
}

Test(check, own2_attach_to_unknown_hwpt)
{
	static const char *const has[] = { "HWPT 9", "not a live HWPT", NULL };

	world();
	attach(IOASID_EV_DEV_ATTACH, A, DEV, GRP, 9, 5, 0)->value = IOAS;
	run();
	only_violation(IOASID_RULE_OWN_2, has);
}

/* An ID resolved in another context: the HWPT is this context's (made over the foreign IOAS),
 * but the IOAS the attach asked for is no object of it. */
Test(check, own2_attach_asks_for_an_id_of_another_context)
{
	static const char *const has[] = { "ID 77", "no live IOAS or HWPT", NULL };

	world();
	hwpt_alloc(A, 8, 77, 2, IOASID_EVF_AUTO | IOASID_EVF_PASID);
	attach(IOASID_EV_DEV_ATTACH, A, DEV, GRP, 8, 7, 2)->value = 77;
	run();
	only_violation(IOASID_RULE_OWN_2, has);
}

Test(check, own2_unbind_while_attached)
{
	static const char *const has[] = { "dev 1", "still attached at PASID 0 to HWPT 3", NULL };

	world();
	unbind(A, DEV, GRP);
	run();
	breaks_at(only_violation(IOASID_RULE_OWN_2, has), nst - 1);
}

Test(check, own2_late_joined_context_no_false_positive)
{
	/* no CTX_OPEN, no DEV_BIND, no HWPT_ALLOC: the context was there before the trace */
	attach(IOASID_EV_DEV_ATTACH, A, DEV, GRP, 3, 0, 1);
	map_op(A, 1, 0x100000, 4 * PAGE);
	dma(A, DEV, 1, 0, 0x100000, 64);
	unmap_op(A, 1, 0x100000, 4 * PAGE);
	detach(A, DEV, GRP, 3, 0, 1);
	unbind(A, DEV, GRP);
	gpasid(IOASID_EV_GPASID_FREE, A, 33);
	run();
	no_reports();
}

/* ---- OWN-3 -------------------------------------------------------------------------------- */
Test(check, own3_group_split_between_owners)
{
	static const char *const has[] = { "dev 5", "group 9", "dev 4", "ctx 0xa", "ctx 0xb", NULL };

	ctx_open(A);
	ctx_open(B);
	bind(A, 4, 9, 0, 2);
	bind(B, 5, 9, 0, 2);
	run();
	only_violation(IOASID_RULE_OWN_3, has);
}

Test(check, own3_claim_while_claimed)
{
	static const char *const has[] = { "group 9", "ctx 0xb", "ctx 0xa", "GROUP_RELEASE", NULL };

	ctx_open(A);
	ctx_open(B);
	claim(A, 9, 4, IOASID_DRV_USER);
	claim(B, 9, 0, IOASID_DRV_USER);
	run();
	only_violation(IOASID_RULE_OWN_3, has);
}

Test(check, own3_legal_same_owner_and_release)
{
	ctx_open(A);
	ctx_open(B);
	claim(A, 9, 4, IOASID_DRV_USER);
	bind(A, 4, 9, 0, 2);
	bind(A, 5, 9, 0, 2);
	unbind(A, 4, 9);
	unbind(A, 5, 9);
	release(A, 9, 5);
	claim(B, 9, 4, IOASID_DRV_USER);
	bind(B, 4, 9, 0, 2);
	run();
	no_reports();
}

/* ---- OWN-4 -------------------------------------------------------------------------------- */
Test(check, own4_hwpt_destroyed_while_attached)
{
	static const char *const has[] = { "HWPT 3", "1 device attachment", "domain 1", NULL };

	world();
	hwpt_destroy(A, 3, IOAS, 1);
	run();
	breaks_at(only_violation(IOASID_RULE_OWN_4, has), nst - 1);
}

Test(check, own4_ioas_destroyed_under_a_hwpt)
{
	static const char *const has[] = { "IOAS 1", "1 paging HWPT", "HWPT 3", NULL };

	world();
	detach(A, DEV, GRP, 3, 0, 1);
	obj_destroy(A, IOAS, IOASID_OBJK_IOAS);
	run();
	only_violation(IOASID_RULE_OWN_4, has);
}

Test(check, own4_parent_destroyed_under_nested)
{
	static const char *const has[] = { "HWPT 3", "1 nested HWPT", NULL };

	world();
	detach(A, DEV, GRP, 3, 0, 1);
	hwpt_alloc(A, 4, 3, 2, IOASID_EVF_NESTED);
	hwpt_destroy(A, 3, IOAS, 1);
	run();
	only_violation(IOASID_RULE_OWN_4, has);
}

Test(check, own4_refused_destroy_and_clean_close)
{
	world();
	obj_destroy(A, IOAS, IOASID_OBJK_IOAS)->result = -16;   /* EBUSY: refused, fine */
	st[nst - 1].flags = IOASID_EVF_REFUSED;
	world_end();
	run();
	no_reports();
}

/* ---- GRP-1 -------------------------------------------------------------------------------- */
Test(check, grp1_claim_with_dma_api_sibling)
{
	static const char *const has[] = { "group 12", "dev 6", "DMA-API", NULL };

	ctx_open(A);
	driver(IOASID_EV_DRIVER_BIND, 6, 12, IOASID_DRV_DMA_API);
	claim(A, 12, 5, IOASID_DRV_USER);
	run();
	only_violation(IOASID_RULE_GRP_1, has);
}

Test(check, grp1_claim_aux_dma_api)
{
	static const char *const has[] = { "group 12", NULL };

	ctx_open(A);
	claim(A, 12, 5, IOASID_DRV_DMA_API);
	run();
	only_violation(IOASID_RULE_GRP_1, has);
}

Test(check, grp1_legal_after_driver_unbind)
{
	ctx_open(A);
	driver(IOASID_EV_DRIVER_BIND, 6, 12, IOASID_DRV_DMA_API);
	driver(IOASID_EV_DRIVER_UNBIND, 6, 12, IOASID_DRV_DMA_API);
	driver(IOASID_EV_DRIVER_BIND, 6, 12, IOASID_DRV_OWN_DMA);
	claim(A, 12, 5, IOASID_DRV_USER);
	run();
	no_reports();
}

/* ---- GRP-2 -------------------------------------------------------------------------------- */
Test(check, grp2_dma_driver_into_claimed_group)
{
	static const char *const has[] = { "dev 5", "group 9", "claimed", NULL };

	ctx_open(A);
	claim(A, 9, 4, IOASID_DRV_USER);
	bind(A, 4, 9, 0, 2);
	driver(IOASID_EV_DRIVER_UNBIND, 5, 9, IOASID_DRV_USER);
	driver(IOASID_EV_DRIVER_BIND, 5, 9, IOASID_DRV_DMA_API);
	run();
	breaks_at(only_violation(IOASID_RULE_GRP_2, has), nst - 1);
}

Test(check, grp2_legal_refused_or_released)
{
	struct ioasid_event *e;

	ctx_open(A);
	claim(A, 9, 4, IOASID_DRV_USER);
	bind(A, 4, 9, 0, 2);
	e = driver(IOASID_EV_DRIVER_BIND, 5, 9, IOASID_DRV_DMA_API);
	e->result = -16, e->flags = IOASID_EVF_REFUSED;
	unbind(A, 4, 9);
	release(A, 9, 4);
	driver(IOASID_EV_DRIVER_BIND, 5, 9, IOASID_DRV_DMA_API);
	run();
	no_reports();
}

/* ---- GRP-3 -------------------------------------------------------------------------------- */
static void two_device_group(void)
{
	reset();
	ctx_open(A);
	obj_alloc(A, IOAS, IOASID_OBJK_IOAS);
	claim(A, 9, 4, IOASID_DRV_USER);
	bind(A, 4, 9, 0, 2);
	bind(A, 5, 9, 0, 2);
	hwpt_alloc(A, 3, IOAS, 1, 0);
	hwpt_alloc(A, 5, IOAS, 2, 0);
	attach(IOASID_EV_DEV_ATTACH, A, 4, 9, 3, 0, 1);
}

Test(check, grp3_group_split_across_domains)
{
	static const char *const has[] = { "dev 5", "group 9", "domain 2", "dev 4", "domain 1",
					   NULL };

	two_device_group();
	attach(IOASID_EV_DEV_ATTACH, A, 5, 9, 5, 0, 2);
	run();
	only_violation(IOASID_RULE_GRP_3, has);
}

Test(check, grp3_replace_moves_the_group)
{
	two_device_group();
	attach(IOASID_EV_DEV_ATTACH, A, 5, 9, 3, 0, 1);
	attach(IOASID_EV_DEV_REPLACE, A, 4, 9, 5, 0, 2)->aux = 1;
	/* both devices are on HWPT 5 now: detaching them names HWPT 5, and HWPT 3 can go */
	hwpt_destroy(A, 3, IOAS, 1);
	obj_destroy(A, 3, IOASID_OBJK_HWPT_PAGING);
	detach(A, 5, 9, 5, 0, 2);
	detach(A, 4, 9, 5, 0, 2);
	hwpt_destroy(A, 5, IOAS, 2);
	run();
	no_reports();
}

/* ---- PAS-1 -------------------------------------------------------------------------------- */
Test(check, pas1_pasid_beyond_width)
{
	static const char *const has[] = { "PASID 1048576", "20-bit", NULL };

	world();
	attach(IOASID_EV_DEV_ATTACH, A, DEV, GRP, 3, 1u << 20, 1);
	run();
	only_violation(IOASID_RULE_PAS_1, has);
}

Test(check, pas1_device_without_pasid)
{
	static const char *const has[] = { "dev 4", "not PASID-capable", NULL };

	ctx_open(A);
	obj_alloc(A, IOAS, IOASID_OBJK_IOAS);
	bind(A, 4, 9, 0, 1);
	hwpt_alloc(A, 3, IOAS, 1, IOASID_EVF_PASID);
	attach(IOASID_EV_DEV_ATTACH, A, 4, 9, 3, 5, 1);
	run();
	only_violation(IOASID_RULE_PAS_1, has);
}

Test(check, pas1_legal_pasid_inside_width)
{
	world();
	attach(IOASID_EV_DEV_ATTACH, A, DEV, GRP, 3, (1u << 20) - 1, 1);
	detach(A, DEV, GRP, 3, (1u << 20) - 1, 1);
	run();
	no_reports();
}

/* ---- PAS-2 -------------------------------------------------------------------------------- */
Test(check, pas2_attached_twice)
{
	static const char *const has[] = { "dev 1", "PASID 0", "already attached", "replace", NULL };

	world();
	attach(IOASID_EV_DEV_ATTACH, A, DEV, GRP, 3, 0, 1);
	run();
	only_violation(IOASID_RULE_PAS_2, has);
}

Test(check, pas2_legal_replace_and_reattach)
{
	world();
	hwpt_alloc(A, 4, IOAS, 2, IOASID_EVF_PASID);
	attach(IOASID_EV_DEV_REPLACE, A, DEV, GRP, 4, 0, 2)->aux = 1;
	detach(A, DEV, GRP, 4, 0, 2);
	attach(IOASID_EV_DEV_ATTACH, A, DEV, GRP, 3, 0, 1);
	run();
	no_reports();
}

/* ---- PAS-3 -------------------------------------------------------------------------------- */
Test(check, pas3_pasid_to_non_pasid_hwpt)
{
	static const char *const has[] = { "PASID 7", "HWPT 4", "IOMMU_HWPT_ALLOC_PASID", NULL };

	world();
	hwpt_alloc(A, 4, IOAS, 2, 0);
	attach(IOASID_EV_DEV_ATTACH, A, DEV, GRP, 4, 7, 2);
	run();
	only_violation(IOASID_RULE_PAS_3, has);
}

Test(check, pas3_pasid_while_rid_not_compatible)
{
	static const char *const has[] = { "PASID 7", "RID", "HWPT 4", NULL };

	world();
	hwpt_alloc(A, 4, IOAS, 2, IOASID_EVF_AUTO);
	attach(IOASID_EV_DEV_REPLACE, A, DEV, GRP, 4, 0, 2)->aux = 1;
	attach(IOASID_EV_DEV_ATTACH, A, DEV, GRP, 3, 7, 1);
	run();
	only_violation(IOASID_RULE_PAS_3, has);
}

Test(check, pas3_rid_to_non_pasid_hwpt_while_pasids_attached)
{
	static const char *const has[] = { "RID", "HWPT 4", "PASID 7", NULL };

	world();
	attach(IOASID_EV_DEV_ATTACH, A, DEV, GRP, 3, 7, 1);
	hwpt_alloc(A, 4, IOAS, 2, 0);
	attach(IOASID_EV_DEV_REPLACE, A, DEV, GRP, 4, 0, 2)->aux = 1;
	run();
	only_violation(IOASID_RULE_PAS_3, has);
}

Test(check, pas3_legal_compatible_and_multi_device_group)
{
	world();
	hwpt_alloc(A, 4, IOAS, 2, IOASID_EVF_PASID);
	attach(IOASID_EV_DEV_ATTACH, A, DEV, GRP, 4, 7, 2);
	/* a group of two where one member has no PASID: legal (entries only on the capable one) */
	claim(A, 9, 4, IOASID_DRV_USER);
	bind(A, 4, 9, 20, 2);
	bind(A, 5, 9, 0, 2);
	attach(IOASID_EV_DEV_ATTACH, A, 4, 9, 3, 0, 1);
	attach(IOASID_EV_DEV_ATTACH, A, 4, 9, 4, 9, 2);
	run();
	no_reports();
}

/* ---- PAS-4 -------------------------------------------------------------------------------- */
Test(check, pas4_allocated_twice)
{
	static const char *const has[] = { "global PASID 33", "ctx 0xb", "ctx 0xa", NULL };

	ctx_open(A);
	ctx_open(B);
	gpasid(IOASID_EV_GPASID_ALLOC, A, 33);
	gpasid(IOASID_EV_GPASID_ALLOC, B, 33);
	run();
	only_violation(IOASID_RULE_PAS_4, has);
}

static void gpasid_used_and_freed(void)
{
	world();
	ctx_open(B);
	gpasid(IOASID_EV_GPASID_ALLOC, A, 33);
	attach(IOASID_EV_DEV_ATTACH, A, DEV, GRP, 3, 33, 1);
	detach(A, DEV, GRP, 3, 33, 1);
}

Test(check, pas4_reused_before_flush)
{
	static const char *const has[] = { "global PASID 33", "domain 1", "IOTLB_INV", NULL };

	gpasid_used_and_freed();
	gpasid(IOASID_EV_GPASID_FREE, A, 33);
	gpasid(IOASID_EV_GPASID_ALLOC, B, 33);
	run();
	breaks_at(only_violation(IOASID_RULE_PAS_4, has), nst - 1);
}

Test(check, pas4_freed_by_non_owner)
{
	static const char *const has[] = { "freed by ctx 0xb", "owned by ctx 0xa", NULL };

	ctx_open(A);
	ctx_open(B);
	gpasid(IOASID_EV_GPASID_ALLOC, A, 33);
	gpasid(IOASID_EV_GPASID_FREE, B, 33);
	run();
	only_violation(IOASID_RULE_PAS_4, has);
}

Test(check, pas4_legal_flush_then_reuse)
{
	gpasid_used_and_freed();
	inv(1, 33, 0, UINT64_MAX, IOASID_INV_PASID_ENTRY, 0);
	gpasid(IOASID_EV_GPASID_FREE, A, 33);
	gpasid(IOASID_EV_GPASID_ALLOC, B, 33);
	gpasid(IOASID_EV_GPASID_FREE, B, 33);
	gpasid(IOASID_EV_GPASID_ALLOC, A, 33);
	run();
	no_reports();
}

Test(check, pas4_legal_flush_inside_the_detach)
{
	/* the reference flushes the PASID entry before it announces the detach */
	world();
	ctx_open(B);
	gpasid(IOASID_EV_GPASID_ALLOC, A, 33);
	attach(IOASID_EV_DEV_ATTACH, A, DEV, GRP, 3, 33, 1);
	inv(1, 33, 0, UINT64_MAX, IOASID_INV_PASID_ENTRY, 0);
	detach(A, DEV, GRP, 3, 33, 1);
	gpasid(IOASID_EV_GPASID_FREE, A, 33);
	gpasid(IOASID_EV_GPASID_ALLOC, B, 33);
	run();
	no_reports();
}

/* ---- MAP-1 -------------------------------------------------------------------------------- */
Test(check, map1_overlapping_areas)
{
	static const char *const has[] = { "[0x101000, 0x101fff]", "IOAS 1", "[0x100000, 0x103fff]",
					   NULL };

	world();
	map_op(A, 1, 0x100000, 4 * PAGE);
	ioas_map(A, IOAS, 0x101000, PAGE);
	run();
	breaks_at(only_violation(IOASID_RULE_MAP_1, has), nst - 1);
}

Test(check, map1_outside_allowed)
{
	static const char *const has[] = { "[0x300000, 0x300fff]", "allowed", NULL };
	struct ioasid_event *e;

	world();
	for (uint32_t i = 0; i < 2; i++) {
		e = add(IOASID_EV_IOAS_ALLOW);
		e->ctx = A, e->obj = IOAS, e->iova = 0x100000 + i * 0x100000, e->length = 0x100000;
		e->aux = i, e->value = 2;
	}
	ioas_map(A, IOAS, 0x1ff000, 2 * PAGE);          /* across the two ranges: fine */
	ioas_map(A, IOAS, 0x400000, PAGE);              /* FIXED_IOVA outside: the kernel allows */
	ioas_map(A, IOAS, 0x300000, PAGE)->flags = IOASID_EVF_AUTO_IOVA;   /* the allocator's */
	run();
	only_violation(IOASID_RULE_MAP_1, has);
}

/* A failed unmap removed the whole areas before the one it could not take (the kernel's
 * iopt_unmap_iova_range): IOVA [0x200000, 0x3fffff] is free again although the unmap said
 * ENOENT and the range started at 0 (found by the fuzzer). */
Test(check, map1_legal_partial_unmap_then_remap)
{
	struct ioasid_event *e;

	world();
	ioas_map(A, IOAS, 0x200000, 0x200000);
	ioas_map(A, IOAS, 0x400000, 0x200000);
	e = ioas_unmap(A, IOAS, 0, 0x401000, 0x200000);
	e->result = -ENOENT, e->flags = IOASID_EVF_REFUSED;
	ioas_map(A, IOAS, 0x200000, 0x200000);
	ioas_map(A, IOAS, 0x400000, PAGE);               /* the second area is still there */
	run();
	only_violation(IOASID_RULE_MAP_1, NULL);
}

Test(check, map1_into_reserved)
{
	static const char *const has[] = { "reserved", "[0xfee00000, 0xfeefffff]", NULL };
	struct ioasid_event *e;

	world();
	e = add(IOASID_EV_IOAS_RESERVE);
	e->ctx = A, e->obj = IOAS, e->iova = 0xfee00000, e->length = 0x100000, e->value = 1;
	ioas_map(A, IOAS, 0xfee80000, PAGE);
	run();
	only_violation(IOASID_RULE_MAP_1, has);
}

Test(check, map1_legal_unmap_remap_allow_reserve_release)
{
	struct ioasid_event *e;

	world();
	map_op(A, 1, 0x100000, 4 * PAGE);
	unmap_op(A, 1, 0x100000, 4 * PAGE);
	map_op(A, 1, 0x100000, 4 * PAGE);
	domain_unmap(1, 0x100000, 4 * PAGE);
	inv(1, ALL_PASIDS, 0x100000, 4 * PAGE, IOASID_INV_UNMAP, IOASID_EVF_STRICT);
	account(A, 0, -4);
	ioas_unmap(A, IOAS, 0, UINT64_MAX, 4 * PAGE);    /* unmap-all */
	ioas_map(A, IOAS, 0x100000, PAGE);
	e = add(IOASID_EV_IOAS_RESERVE);
	e->ctx = A, e->obj = IOAS, e->iova = 0xfee00000, e->length = 0x100000, e->value = 1;
	e = add(IOASID_EV_IOAS_RESERVE);
	e->ctx = A, e->obj = IOAS, e->iova = 0xfee00000, e->length = 0x100000, e->value = 0;
	ioas_map(A, IOAS, 0xfee80000, PAGE);
	e = add(IOASID_EV_IOAS_ALLOW);
	e->ctx = A, e->obj = IOAS, e->value = 0;        /* the empty set: everything allowed */
	ioas_map(A, IOAS, 0x900000, PAGE);
	run();
	no_reports();
}

/* ---- MAP-2 -------------------------------------------------------------------------------- */
Test(check, map2_unmap_returns_before_flush)
{
	static const char *const has[] = { "IOAS_UNMAP", "[0x100000, 0x103fff]", "domain 1",
					   "unflushed", NULL };

	world();
	map_op(A, 1, 0x100000, 4 * PAGE);
	domain_unmap(1, 0x100000, 4 * PAGE);                /* no IOTLB_INV */
	pinned -= 4;
	account(A, pinned, -4);
	ioas_unmap(A, IOAS, 0x100000, 4 * PAGE, 4 * PAGE);
	run();
	breaks_at(only_violation(IOASID_RULE_MAP_2, has), nst - 1);
}

Test(check, map2_stale_hit_on_paging_domain)
{
	static const char *const has[] = { "stale IOTLB hit", "domain 1", "0x100000", NULL };
	struct ioasid_event *e;

	world();
	map_op(A, 1, 0x100000, 4 * PAGE);
	unmap_op(A, 1, 0x100000, 4 * PAGE);
	e = add(IOASID_EV_IOTLB_STALE_HIT);
	e->iommu = 1, e->domain = 1, e->iova = 0x100000, e->dev = DEV;
	strcpy(e->name, dev_name(DEV));
	dma(A, DEV, 1, 0, 0x100000, 64);                  /* served by it: not reported again */
	run();
	only_violation(IOASID_RULE_MAP_2, has);
}

/* One missed flush is one report: the stale hits that follow it are the same bug. */
Test(check, map2_one_missed_flush_one_report)
{
	static const char *const has[] = { "IOAS_UNMAP", "unflushed", NULL };

	world();
	map_op(A, 1, 0x100000, 4 * PAGE);
	domain_unmap(1, 0x100000, 4 * PAGE);                /* no IOTLB_INV */
	pinned -= 4;
	account(A, pinned, -4);
	ioas_unmap(A, IOAS, 0x100000, 4 * PAGE, 4 * PAGE);
	for (int i = 0; i < 4; i++) {
		struct ioasid_event *e = add(IOASID_EV_IOTLB_STALE_HIT);

		e->iommu = 1, e->domain = 1, e->iova = 0x100000 + (uint64_t)i * PAGE, e->dev = DEV;
		strcpy(e->name, dev_name(DEV));
		dma(A, DEV, 1, 0, 0x100000 + (uint64_t)i * PAGE, 64);
	}
	run();
	only_violation(IOASID_RULE_MAP_2, has);
}

Test(check, map2_dma_to_unmapped_iova)
{
	static const char *const has[] = { "DMA by dev 1", "[0x200000, 0x20003f]", "does not map",
					   NULL };

	world();
	map_op(A, 1, 0x100000, 4 * PAGE);
	dma(A, DEV, 1, 0, 0x100000, 64);
	dma(A, DEV, 1, 0, 0x200000, 64);
	run();
	only_violation(IOASID_RULE_MAP_2, has);
}

Test(check, map2_legal_lazy_domain_and_refused_dma)
{
	world();
	map_op(A, 1, 0x100000, 4 * PAGE);
	domain_unmap(1, 0x100000, 4 * PAGE);
	inv(1, ALL_PASIDS, 0x100000, 4 * PAGE, IOASID_INV_UNMAP, 0);  /* lazy: flush queue */
	pinned -= 4;
	account(A, pinned, -4);
	ioas_unmap(A, IOAS, 0x100000, 4 * PAGE, 4 * PAGE);
	dma(A, DEV, 1, 0, 0x100000, 64)->result = -14;
	st[nst - 1].flags = IOASID_EVF_REFUSED;
	run();
	no_reports();
}

/* ---- MAP-3 -------------------------------------------------------------------------------- */
Test(check, map3_pages_left_pinned_after_last_unmap)
{
	static const char *const has[] = { "ctx 0xa", "4 pinned page", "last area", NULL };

	world();
	map_op(A, 1, 0x100000, 4 * PAGE);
	domain_unmap(1, 0x100000, 4 * PAGE);
	inv(1, ALL_PASIDS, 0x100000, 4 * PAGE, IOASID_INV_UNMAP, IOASID_EVF_STRICT);
	ioas_unmap(A, IOAS, 0x100000, 4 * PAGE, 4 * PAGE);   /* no ACCOUNT back to 0 */
	run();
	breaks_at(only_violation(IOASID_RULE_MAP_3, has), nst - 1);
}

Test(check, map3_close_with_pages_pinned)
{
	static const char *const has[] = { "ctx 0xa", "closed", "16 pinned", NULL };

	ctx_open(A);
	account(A, 16, 16);
	ctx_close(A);
	run();
	only_violation(IOASID_RULE_MAP_3, has);
}

Test(check, map3_charged_over_rlimit)
{
	static const char *const has[] = { "ctx 0xa", "300 page", "RLIMIT_MEMLOCK of 256", NULL };
	struct ioasid_event *e;

	ctx_open(A);
	e = account(A, 300, 300);
	e->iova = 256, e->pt = 300;
	run();
	only_violation(IOASID_RULE_MAP_3, has);
}

Test(check, map3_legal_refused_over_limit_and_mode_none)
{
	struct ioasid_event *e;

	ctx_open(A);
	e = account(A, 0, 300);
	e->iova = 256, e->pt = 0, e->result = -12, e->flags = IOASID_EVF_REFUSED;
	e = account(A, 300, 300);
	e->iova = 256, e->pt = 0, e->aux = 0;           /* mode none (CAP_IPC_LOCK) */
	e = account(A, 0, -300);
	e->aux = 0;
	ctx_close(A);
	run();
	no_reports();
}

/* ---- MAP-4 -------------------------------------------------------------------------------- */
Test(check, map4_stale_hit_on_nested_domain)
{
	static const char *const has[] = { "nested", "domain 2", "HWPT 4", "no IOTLB_INV reason USER",
					   NULL };
	struct ioasid_event *e;

	world();
	hwpt_alloc(A, 4, 3, 2, IOASID_EVF_NESTED);
	attach(IOASID_EV_DEV_REPLACE, A, DEV, GRP, 4, 0, 2)->aux = 1;
	e = add(IOASID_EV_IOTLB_STALE_HIT);
	e->iommu = 1, e->domain = 2, e->iova = 0x7f0000001000ULL, e->dev = DEV;
	strcpy(e->name, dev_name(DEV));
	dma(A, DEV, 2, 0, 0x7f0000001000ULL, 7);
	run();
	only_violation(IOASID_RULE_MAP_4, has);
}

Test(check, map4_says_when_user_invalidation_was_seen)
{
	static const char *const has[] = { "the guest has invalidated this domain before", NULL };
	struct ioasid_event *e;

	world();
	hwpt_alloc(A, 4, 3, 2, IOASID_EVF_NESTED);
	inv(2, ALL_PASIDS, 0, UINT64_MAX, IOASID_INV_USER, 0);
	e = add(IOASID_EV_IOTLB_STALE_HIT);
	e->iommu = 1, e->domain = 2, e->iova = 0x1000;
	run();
	only_violation(IOASID_RULE_MAP_4, has);
}

Test(check, map4_legal_nested_dma)
{
	world();
	hwpt_alloc(A, 4, 3, 2, IOASID_EVF_NESTED);
	attach(IOASID_EV_DEV_REPLACE, A, DEV, GRP, 4, 0, 2)->aux = 1;
	dma(A, DEV, 2, 0, 0x7f0000001000ULL, 7);          /* a GVA: not checked against maps */
	inv(2, ALL_PASIDS, 0, UINT64_MAX, IOASID_INV_USER, 0);
	dma(A, DEV, 2, 0, 0x7f0000001000ULL, 7);
	run();
	no_reports();
}

/* ---- observability ------------------------------------------------------------------------ */
Test(check, not_checkable_rules_are_never_reported)
{
	struct ioasid_check_opts o = { .sz = sizeof(o) };

	o.observable = IOASID_CHECK_ALL_TYPES & ~(1ULL << IOASID_EV_DEV_DETACH);
	world();
	unbind(A, DEV, GRP);                    /* OWN-2 (c): needs DEV_DETACH */
	ioasid_check_free(run_opts(&o, NULL, true));
	cr_assert_eq(nreps, 0);
	cr_assert_eq(sum.state[IOASID_RULE_OWN_2], IOASID_RULE_NOT_CHECKABLE);
	cr_assert_eq(sum.state[IOASID_RULE_GRP_3], IOASID_RULE_NOT_CHECKABLE);
	cr_assert_eq(sum.state[IOASID_RULE_OWN_1], IOASID_RULE_CHECKED);
	cr_assert_eq(ioasid_check_verdict(&sum), 0, "not checkable is not unclean");
}

/* ---- the stream --------------------------------------------------------------------------- */
static void violating_stream(void)
{
	world();
	map_op(A, 1, 0x100000, 4 * PAGE);
	ioas_map(A, IOAS, 0x101000, PAGE);              /* MAP-1 */
	map_op(A, 1, 0x200000, 4 * PAGE);
	attach(IOASID_EV_DEV_ATTACH, A, DEV, GRP, 3, 0, 1);   /* PAS-2 */
	unmap_op(A, 1, 0x200000, 4 * PAGE);
}

Test(check, reorder_inside_window_is_silent_and_equal)
{
	struct ioasid_check_report first[MAX_REPS];
	unsigned int order[MAX_EVS], n1;

	violating_stream();
	run();
	n1 = nreps;
	memcpy(first, reps, sizeof(first));
	cr_assert_eq(n1, 2);
	/* swap neighbours pairwise, and move the first event 5 places later */
	for (unsigned int i = 0; i < nst; i++)
		order[i] = i;
	for (unsigned int i = 1; i + 1 < nst; i += 2) {
		unsigned int t = order[i];

		order[i] = order[i + 1];
		order[i + 1] = t;
	}
	{
		unsigned int t = order[0];

		memmove(order, order + 1, 5 * sizeof(order[0]));
		order[5] = t;
	}
	ioasid_check_free(run_opts(NULL, order, true));
	cr_assert_eq(nreps, n1);
	for (unsigned int i = 0; i < n1; i++) {
		cr_assert_str_eq(reps[i].id, first[i].id);
		cr_assert_str_eq(reps[i].message, first[i].message);
		cr_assert_eq(reps[i].event.seq, first[i].event.seq);
	}
	cr_assert_eq(sum.stream_issues, 0);
	cr_assert_eq(sum.lost, 0);
	cr_assert_eq(ioasid_check_verdict(&sum), 1);
}

Test(check, duplicate_is_ignored_and_counted)
{
	struct ioasid_check *c;

	world();
	map_op(A, 1, 0x100000, 4 * PAGE);
	c = run_opts(NULL, NULL, false);
	cr_assert_eq(ioasid_check_feed(c, &st[nst - 1]), 0);   /* IOAS_MAP again: not an overlap */
	cr_assert_eq(ioasid_check_feed(c, &st[2]), 0);
	ioasid_check_end(c);
	ioasid_check_summary(c, &sum);
	ioasid_check_free(c);
	cr_assert_eq(sum.duplicates, 2);
	cr_assert_eq(sum.violations, 0);
	cr_assert_eq(sum.per_stream[IOASID_STREAM_DUPLICATE], 2);
	cr_assert_eq(sum.events, nst);
	cr_assert_geq(nreps, 1);
	cr_assert_eq(reps[0].kind, IOASID_REPORT_STREAM);
	cr_assert_str_eq(reps[0].id, "duplicate");
	cr_assert_eq(ioasid_check_verdict(&sum), 2);
	for (unsigned int i = 0; i < IOASID_RULE_COUNT; i++)
		cr_assert_eq(sum.state[i], IOASID_RULE_CHECKED);
}

Test(check, gap_at_end)
{
	unsigned int order[MAX_EVS], n = 0;

	world();
	map_op(A, 1, 0x100000, 4 * PAGE);
	for (unsigned int i = 0; i < nst; i++)
		if (i != 4 && i != 5)
			order[n++] = i;
	nst = n;                                 /* seq 5 and 6 never arrive */
	ioasid_check_free(run_opts(NULL, order, true));
	cr_assert_eq(nreps, 1);
	cr_assert_eq(reps[0].kind, IOASID_REPORT_STREAM);
	cr_assert_str_eq(reps[0].id, "gap");
	cr_assert_eq(reps[0].lost, 2);
	cr_assert(strstr(reps[0].message, "seq 5..6"), "%s", reps[0].message);
	cr_assert_eq(sum.lost, 2);
	cr_assert_eq(sum.per_stream[IOASID_STREAM_GAP], 1);
	for (unsigned int i = 0; i < IOASID_RULE_COUNT; i++)
		cr_assert_eq(sum.state[i], IOASID_RULE_INCOMPLETE);
	cr_assert_eq(ioasid_check_verdict(&sum), 2);
}

Test(check, gap_on_window_overflow_then_late_event)
{
	struct ioasid_check_opts o = { .sz = sizeof(o), .reorder_window = 4 };
	unsigned int order[MAX_EVS], n = 0;
	struct ioasid_check *c;

	world();
	map_op(A, 1, 0x100000, 4 * PAGE);
	map_op(A, 1, 0x200000, 4 * PAGE);
	for (unsigned int i = 0; i < nst; i++)
		if (i != 2)
			order[n++] = i;
	nst = n;
	c = run_opts(&o, order, false);
	/* declared before the end: the window overflowed */
	cr_assert_eq(nreps, 1);
	cr_assert_str_eq(reps[0].id, "gap");
	cr_assert_eq(reps[0].lost, 1);
	cr_assert(strstr(reps[0].message, "seq 3..3"), "%s", reps[0].message);
	/* seq 3 arrives after all: out of order, skipped */
	cr_assert_eq(ioasid_check_feed(c, &st[2]), 0);
	ioasid_check_end(c);
	ioasid_check_summary(c, &sum);
	ioasid_check_free(c);
	cr_assert_eq(nreps, 2);
	cr_assert_eq(reps[1].kind, IOASID_REPORT_STREAM);
	cr_assert_str_eq(reps[1].id, "out-of-order");
	cr_assert_eq(reps[1].event.seq, 3);
	cr_assert_eq(sum.per_stream[IOASID_STREAM_OUT_OF_ORDER], 1);
	cr_assert_eq(sum.lost, 1);
	cr_assert_eq(sum.duplicates, 0);
	cr_assert_eq(sum.events, nst);
	cr_assert_eq(ioasid_check_verdict(&sum), 2);
}

Test(check, malformed_is_skipped)
{
	struct ioasid_check *c;
	struct ioasid_event bad;

	world();
	c = run_opts(NULL, NULL, false);
	bad = st[0];
	bad.seq = nst + 1;
	bad.version = 9;
	cr_assert_eq(ioasid_check_feed(c, &bad), 0);
	bad.version = IOASID_EVENT_VERSION;
	bad.seq = nst + 2;
	bad.type = 200;
	cr_assert_eq(ioasid_check_feed(c, &bad), 0);
	bad.type = IOASID_EV_DMA;
	bad.source = 77;
	cr_assert_eq(ioasid_check_feed(c, &bad), 0);
	ioasid_check_end(c);
	ioasid_check_summary(c, &sum);
	ioasid_check_free(c);
	cr_assert_eq(sum.per_stream[IOASID_STREAM_MALFORMED], 3);
	cr_assert_eq(sum.events, nst);
	cr_assert_eq(sum.lost, 0, "their places in the sequence are not gaps");
	cr_assert_eq(nreps, 3);
	{
		bool seen = false;

		for (unsigned int i = 0; i < nreps; i++) {
			cr_assert_str_eq(reps[i].id, "malformed");
			seen |= strstr(reps[i].message, "version 9") != NULL;
		}
		cr_assert(seen);
	}
	cr_assert_eq(sum.state[IOASID_RULE_OWN_1], IOASID_RULE_INCOMPLETE);
	cr_assert_eq(ioasid_check_verdict(&sum), 2);
}

Test(check, dropped_and_damage_make_it_incomplete)
{
	struct ioasid_check *c;

	world();
	world_end();
	c = run_opts(NULL, NULL, false);
	ioasid_check_note_dropped(c, 17);
	ioasid_check_end(c);
	ioasid_check_summary(c, &sum);
	cr_assert_eq(sum.lost, 17);
	cr_assert_eq(nreps, 1);
	cr_assert_str_eq(reps[0].id, "gap");
	cr_assert(strstr(reps[0].message, "producer dropped 17 events (ring buffer full)"), "%s",
		  reps[0].message);
	cr_assert_eq(sum.state[IOASID_RULE_MAP_2], IOASID_RULE_INCOMPLETE);
	cr_assert_eq(ioasid_check_verdict(&sum), 2);
	ioasid_check_free(c);

	c = run_opts(NULL, NULL, false);
	ioasid_check_note_damage(c, "chunk 3: bad checksum");
	ioasid_check_end(c);
	ioasid_check_summary(c, &sum);
	ioasid_check_free(c);
	cr_assert_eq(nreps, 1);
	cr_assert_str_eq(reps[0].id, "damaged");
	cr_assert(strstr(reps[0].message, "chunk 3: bad checksum"));
	cr_assert_eq(sum.per_stream[IOASID_STREAM_DAMAGED], 1);
	cr_assert_eq(sum.state[IOASID_RULE_OWN_1], IOASID_RULE_INCOMPLETE);
	cr_assert_eq(ioasid_check_verdict(&sum), 2);
}

Test(check, truncated_stream_with_damage_is_never_clean)
{
	world();
	map_op(A, 1, 0x100000, 4 * PAGE);
	unmap_op(A, 1, 0x100000, 4 * PAGE);
	world_end();
	for (unsigned int cut = 1; cut <= nst; cut++) {
		struct ioasid_check *c;

		cr_assert_eq(ioasid_check_new(NULL, on_report, NULL, &c), 0);
		nreps = 0;
		ioasid_check_feed_batch(c, st, cut);
		ioasid_check_note_damage(c, "truncated");
		ioasid_check_end(c);
		ioasid_check_summary(c, &sum);
		ioasid_check_free(c);
		cr_assert_neq(ioasid_check_verdict(&sum), 0, "prefix of %u events", cut);
	}
}

Test(check, unsequenced_and_per_pid_spaces)
{
	world();
	for (unsigned int i = 0; i < nst; i++)
		st[i].seq = 0;                  /* unsequenced: processed at once, no gaps */
	attach(IOASID_EV_DEV_ATTACH, A, DEV, GRP, 3, 0, 1)->seq = 0;
	run();
	cr_assert_eq(sum.per_rule[IOASID_RULE_PAS_2], 1);
	cr_assert_eq(sum.stream_issues, 0);
	/* a second process numbers its own events: no gap, no duplicate */
	world();
	for (unsigned int i = 0, n = nst; i < n; i++) {
		struct ioasid_event *e = add(st[i].type);

		*e = st[i];
		e->pid = PID + 1;
	}
	run();
	no_reports();
}

Test(check, flush_releases_old_events)
{
	struct ioasid_check *c;
	unsigned int order[MAX_EVS], n = 0;

	world();
	map_op(A, 1, 0x100000, 4 * PAGE);
	for (unsigned int i = 0; i < nst; i++)
		if (i != 3)
			order[n++] = i;
	nst = n;
	c = run_opts(NULL, order, false);
	cr_assert_eq(nreps, 0, "held for reordering");
	ioasid_check_flush(c, 2000000);         /* events older than 2 ms behind the newest */
	cr_assert_eq(nreps, 1);
	cr_assert_str_eq(reps[0].id, "gap");
	ioasid_check_free(c);
}

/* ---- warnings ----------------------------------------------------------------------------- */
Test(check, warn_memlock_headroom_once)
{
	struct ioasid_check_opts o = { .sz = sizeof(o), .memlock_limit_pages = 100 };

	world();
	ioas_map(A, IOAS, 0x100000, 50 * PAGE);
	ioas_map(A, IOAS, 0x200000, 41 * PAGE);         /* 91 > 90% of 100 */
	ioas_map(A, IOAS, 0x300000, 5 * PAGE);
	ioasid_check_free(run_opts(&o, NULL, true));
	cr_assert_eq(nreps, 1);
	cr_assert_eq(reps[0].kind, IOASID_REPORT_WARNING);
	cr_assert_str_eq(reps[0].id, "memlock-headroom");
	cr_assert(strstr(reps[0].message, "pid 100"), "%s", reps[0].message);
	cr_assert(strstr(reps[0].message, "91 page"), "%s", reps[0].message);
	cr_assert(strstr(reps[0].message, "100 page"), "%s", reps[0].message);
	cr_assert(strstr(reps[0].message, "ulimit -l"), "%s", reps[0].message);
	cr_assert_eq(sum.per_warning[IOASID_WARN_MEMLOCK], 1);
	cr_assert_eq(sum.warnings, 1);
	cr_assert_eq(ioasid_check_verdict(&sum), 0, "a warning is not a violation");
}

Test(check, warn_memlock_from_account_limit)
{
	struct ioasid_event *e;

	world();
	ioas_map(A, IOAS, 0x100000, 95 * PAGE);
	e = account(A, 95, 95);
	e->iova = 100;
	run();
	cr_assert_eq(sum.per_warning[IOASID_WARN_MEMLOCK], 1);
}

Test(check, warn_group_viability)
{
	struct ioasid_event *e;

	ctx_open(A);
	driver(IOASID_EV_DRIVER_BIND, 6, 12, IOASID_DRV_DMA_API);
	e = bind(A, 5, 12, 0, 2);
	e->result = -1, e->flags = IOASID_EVF_REFUSED, e->obj = 0, e->pt = 6;
	e = bind(A, 5, 12, 0, 2);                       /* again: once per group */
	e->result = -1, e->flags = IOASID_EVF_REFUSED, e->obj = 0, e->pt = 6;
	driver(IOASID_EV_DRIVER_BIND, 4, 9, IOASID_DRV_USER);
	driver(IOASID_EV_DRIVER_BIND, 5, 9, IOASID_DRV_DMA_API);
	run();
	cr_assert_eq(nreps, 2);
	cr_assert_eq(sum.per_warning[IOASID_WARN_VIABILITY], 2);
	cr_assert_str_eq(reps[0].id, "group-viability");
	cr_assert(strstr(reps[0].message, "dev 6 \"0000:00:06.0\""), "%s", reps[0].message);
	cr_assert(strstr(reps[0].message, "DMA-API"), "%s", reps[0].message);
	cr_assert(strstr(reps[0].message, "vfio-pci"), "%s", reps[0].message);
	cr_assert(strstr(reps[1].message, "group 9"), "%s", reps[1].message);
	cr_assert(strstr(reps[1].message, "dev 4"), "%s", reps[1].message);
	cr_assert_eq(sum.violations, 0);
}

Test(check, warn_map_count_thresholds)
{
	world();
	for (uint64_t i = 0; i < 8200; i++)
		ioas_map(A, IOAS, 0x100000 + i * PAGE, PAGE);
	run();
	cr_assert_eq(sum.per_warning[IOASID_WARN_MAP_COUNT], 2);
	cr_assert_str_eq(reps[0].id, "map-count");
	cr_assert(strstr(reps[0].message, "IOAS 1"), "%s", reps[0].message);
	cr_assert(strstr(reps[0].message, "4096"), "%s", reps[0].message);
	cr_assert(strstr(reps[1].message, "8192"), "%s", reps[1].message);
	cr_assert(strstr(reps[0].message, "65535"), "%s", reps[0].message);
	cr_assert_eq(sum.violations, 0);
}

Test(check, no_warnings_option)
{
	struct ioasid_check_opts o = { .sz = sizeof(o), .memlock_limit_pages = 10,
				       .no_warnings = true };

	world();
	ioas_map(A, IOAS, 0x100000, 50 * PAGE);
	ioasid_check_free(run_opts(&o, NULL, true));
	cr_assert_eq(nreps, 0);
	cr_assert_eq(sum.warnings, 0);
}

/* ---- catalogue and output ----------------------------------------------------------------- */
Test(check, catalogue)
{
	for (unsigned int i = 0; i < IOASID_RULE_COUNT; i++) {
		const struct ioasid_rule_info *ri = ioasid_check_rule(i);

		cr_assert_not_null(ri);
		cr_assert_eq(ri->rule, i);
		cr_assert_not_null(ri->evidence);
		cr_assert_neq(ri->needs, 0);
		cr_assert_eq(ri->needs & 1, 0);
		cr_assert_eq(ioasid_check_rule_from_id(ri->id), (int)i);
	}
	cr_assert_null(ioasid_check_rule(IOASID_RULE_COUNT));
	cr_assert_eq(ioasid_check_rule_from_id("map_2"), IOASID_RULE_MAP_2);
	cr_assert_eq(ioasid_check_rule_from_id("own-1"), IOASID_RULE_OWN_1);
	cr_assert_eq(ioasid_check_rule_from_id("MAP-9"), -ENOENT);
	cr_assert_eq(ioasid_check_rule_from_id("MAP-"), -ENOENT);
	cr_assert(strstr(ioasid_check_rule(IOASID_RULE_OWN_3)->evidence, "GRP-1"));
	cr_assert(strstr(ioasid_check_rule(IOASID_RULE_PAS_1)->evidence, "not checkable"));
}

Test(check, options_validated)
{
	struct ioasid_check_opts o = { .sz = sizeof(o), .history = 33 };
	struct ioasid_check *c;

	cr_assert_eq(ioasid_check_new(&o, NULL, NULL, &c), -EINVAL);
	o.history = 0;
	cr_assert_eq(ioasid_check_new(&o, NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(ioasid_check_new(&o, NULL, NULL, &c), 0);
	ioasid_check_free(c);
}

Test(check, history_is_related_and_bounded)
{
	struct ioasid_check_opts o = { .sz = sizeof(o), .history = 3 };
	const struct ioasid_check_report *r;

	world();
	for (int i = 0; i < 5; i++)
		add(IOASID_EV_GROUP_ADD_DEV)->group = 77;      /* unrelated */
	unbind(A, DEV, GRP);
	ioasid_check_free(run_opts(&o, NULL, true));
	r = &reps[0];
	cr_assert_eq(r->nhistory, 3);
	cr_assert_eq(r->history[2].type, IOASID_EV_DEV_ATTACH, "oldest first, newest last");
	for (size_t i = 0; i < r->nhistory; i++)
		cr_assert_neq(r->history[i].type, IOASID_EV_GROUP_ADD_DEV);
}

static char *capture(void (*fn)(FILE *, const void *), const void *arg)
{
	static char buf[65536];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	cr_assert_not_null(f);
	fn(f, arg);
	fclose(f);
	return buf;
}

static void print_report(FILE *f, const void *r) { ioasid_check_report_print(f, r); }
static void json_report(FILE *f, const void *r) { ioasid_check_report_json(f, r); }
static void print_summary(FILE *f, const void *s) { ioasid_check_summary_print(f, s); }
static void json_summary(FILE *f, const void *s) { ioasid_check_summary_json(f, s); }

Test(check, report_text_and_json)
{
	const char *out;

	world();
	unbind(A, DEV, GRP);
	run();
	out = capture(print_report, &reps[0]);
	cr_assert_eq(strncmp(out, "VIOLATION OWN-2: ", 17), 0, "%s", out);
	cr_assert(strstr(out, "\n  rule: a device is attached only while bound"), "%s", out);
	cr_assert(strstr(out, "\n  event: "), "%s", out);
	cr_assert(strstr(out, "dev_unbind"), "%s", out);
	cr_assert(strstr(out, "\n  before: "), "%s", out);
	out = capture(json_report, &reps[0]);
	cr_assert_eq(strncmp(out, "{\"kind\":\"violation\",\"id\":\"OWN-2\",\"rule\":\"", 41), 0,
		     "%s", out);
	cr_assert(strstr(out, "\"message\":\""), "%s", out);
	cr_assert(strstr(out, "\"event\":{\"time_ns\":"), "%s", out);
	cr_assert(strstr(out, "\"history\":[{"), "%s", out);
	cr_assert(strstr(out, "\\\"0000:00:01.0\\\""), "quotes escaped: %s", out);
	cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line, newline-terminated");
}

Test(check, summary_text_and_json)
{
	const char *out;

	world();
	unbind(A, DEV, GRP);
	run();
	out = capture(print_summary, &sum);
	cr_assert(strstr(out, "events checked  9\n"), "%s", out);
	cr_assert(strstr(out, "violations      1\n"), "%s", out);
	cr_assert(strstr(out, "  OWN-1  checked   0\n"), "%s", out);
	cr_assert(strstr(out, "  OWN-2  violated  1\n"), "%s", out);
	cr_assert(strstr(out, "verdict: violations\n"), "%s", out);
	out = capture(json_summary, &sum);
	cr_assert_eq(strncmp(out, "{\"kind\":\"summary\",", 18), 0, "%s", out);
	cr_assert(strstr(out, "\"rules\":{\"OWN-1\":{\"state\":\"checked\",\"violations\":0}"),
		  "%s", out);
	cr_assert(strstr(out, "\"OWN-2\":{\"state\":\"checked\",\"violations\":1}"), "%s", out);
	cr_assert(strstr(out, "\"verdict\":1"), "%s", out);

	/* not checkable and incomplete lines */
	sum.state[IOASID_RULE_MAP_4] = IOASID_RULE_NOT_CHECKABLE;
	sum.state[IOASID_RULE_MAP_1] = IOASID_RULE_INCOMPLETE;
	sum.lost = 3;
	out = capture(print_summary, &sum);
	cr_assert(strstr(out, "  MAP-4  not checkable on this source\n"), "%s", out);
	cr_assert(strstr(out, "  MAP-1  checked   0, incomplete (3 events lost)\n"), "%s", out);
	sum.violations = 0;
	out = capture(print_summary, &sum);
	cr_assert(strstr(out, "verdict: not clean ("), "%s", out);
}
