/* test_inject.c — the reference's named bugs (src/common/inject.h, docs/CHECKING.md "Injected
 * bugs"). Suite `inject`.
 *
 * What is checked: the switchboard (names, ioasid_inject_set, unknown names, IOASID_INJECT) and,
 * for every bug, the behaviour change at its decision point: with the bug off the refusal the
 * kernel gives (exact errno) or the flush / uncharge that happens, with it on the success or the
 * observable effect (foreign memory reached, stale DMA data, pinned pages not coming down), the
 * events that show it, and a clean teardown (ioasid_live_allocations() back where it started).
 *
 * Each test runs in its own process (Criterion) on a private copy of the built-in default host.
 * Devices (docs/TOPOLOGY.md; `dev` in events = index + 1):
 *   0 0000:00:02.0 group 3, dmar0, PASID 20     3/4 0000:01:00.0/.1 group 9 (vfio-pci both)
 *   5 0000:02:01.0 group 12 with 6 0000:02:02.0 on e1000e (DMA API)
 */
#include "ioasid_test.h"
#include "guest_s1.h"
#include "private_host.h"

#include <linux/capability.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "ioasid/event.h"
#include "platform/platform.h"
#include "reference/device.h"

#define PAGE 4096UL
#define NVME "0000:00:02.0"
#define GPU "0000:01:00.0"
#define AUDIO "0000:01:00.1"
#define BR_A "0000:02:01.0"
#define DEV_NVME 1u
#define DEV_GPU 4u
#define DEV_AUDIO 5u
#define DEV_BR_A 6u
#define DEV_BR_NIC 7u
#define IDX_AUDIO 4u

/* ---- the event log ----------------------------------------------------------------------- */

#define EV_CAP 4096
static struct ioasid_event evs[EV_CAP];
static unsigned int nr_evs;
static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static int ev_handle = -1;

/* INJECT_TEST_DUMP=1: print every event (what a checker sees around each bug). */
static void dump_event(const struct ioasid_event *ev)
{
	fprintf(stderr, "  %-2u ctx %llu dev %u obj %u pt %u iommu %u dom %u grp %u pasid %#x "
		"iova %#llx len %#llx val %#llx aux %u res %d fl %#x %s\n", ev->type,
		(unsigned long long)ev->ctx, ev->dev, ev->obj, ev->pt, ev->iommu, ev->domain,
		ev->group, ev->pasid, (unsigned long long)ev->iova, (unsigned long long)ev->length,
		(unsigned long long)ev->value, ev->aux, ev->result, ev->flags, ev->name);
}

static void on_event(void *arg, const struct ioasid_event *ev)
{
	(void)arg;
	if (getenv("INJECT_TEST_DUMP"))
		dump_event(ev);
	pthread_mutex_lock(&ev_lock);
	if (nr_evs < EV_CAP)
		evs[nr_evs++] = *ev;
	pthread_mutex_unlock(&ev_lock);
}

static void ev_reset(void)
{
	nr_evs = 0;
}

static unsigned int count(unsigned int type)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nr_evs; i++)
		n += evs[i].type == type;
	return n;
}

static const struct ioasid_event *only(unsigned int type)
{
	cr_assert_eq(count(type), 1, "events of type %u: %u, expected 1", type, count(type));
	for (unsigned int i = 0;; i++)
		if (evs[i].type == type)
			return &evs[i];
}

#define expect(ev, field, val)                                                               \
	cr_assert_eq((uint64_t)(ev)->field, (uint64_t)(val), "type %u .%s: %#llx, expected %#llx", \
		     (ev)->type, #field, (unsigned long long)(ev)->field, (unsigned long long)(val))

/* ---- fixture ------------------------------------------------------------------------------ */

static struct ioasid_ctx *other;

static void inj_setup(void)
{
	setenv("IOASID_QUIET", "1", 1);
	private_host_open();
	ctx_setup();
	assert_rc(0, ioasid_ctx_open(&other));
	ev_handle = ioasid_events_subscribe(on_event, NULL);
	cr_assert_geq(ev_handle, 0);
}

static void inj_teardown(void)
{
	ioasid_events_unsubscribe(ev_handle);
	ioasid_ctx_close(other);
	ctx_teardown();             /* asserts: no allocation left */
	platform_set_default(NULL);
}

TestSuite(inject, .init = inj_setup, .fini = inj_teardown);

static uint32_t bind_ok(struct ioasid_ctx *ctx, const char *name)
{
	uint32_t id = 0;

	assert_rc(0, ioasid_device_bind(ctx, name, &id));
	return id;
}

static uint32_t attach_ok(struct ioasid_ctx *ctx, uint32_t dev, uint32_t pasid, uint32_t pt)
{
	assert_rc(0, ioasid_device_attach(ctx, dev, pasid, &pt));
	return pt;
}

static uint8_t *map_text(uint32_t ioas, uint64_t iova, size_t len, const char *text)
{
	uint8_t *buf = test_buffer(len);

	strcpy((char *)buf, text);
	ioas_map_fixed_ok(ioas, buf, len, iova);
	return buf;
}

static void bug_on(const char *name)
{
	assert_rc(0, ioasid_inject_set(name));
	cr_assert_eq(ioasid_inject_enabled(name), 1);
}

static int ctx_destroy(struct ioasid_ctx *ctx, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioasid_ctx_ioctl(ctx, IOMMU_DESTROY, &cmd);
}

static uint32_t ctx_ioas_alloc(struct ioasid_ctx *ctx)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	assert_rc(0, ioasid_ctx_ioctl(ctx, IOMMU_IOAS_ALLOC, &cmd));
	return cmd.out_ioas_id;
}

/* ---- the switchboard ---------------------------------------------------------------------- */

Test(inject, names_one_per_rule_all_off)
{
	static const char *const want =
		"bind-twice,attach-foreign,group-two-owners,destroy-in-use,"
		"claim-ignores-dma-api,probe-claimed-group,group-split-domain,"
		"pasid-width-off-by-one,pasid-double-attach,pasid-rid-incompatible,"
		"pasid-detach-no-flush,map-overlap,unmap-skip-flush,unmap-leak-pins,"
		"nested-inv-dropped";
	char list[512], *save, *name;

	cr_assert_str_eq(ioasid_inject_names(), want);
	strcpy(list, want);
	for (name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save))
		cr_assert_eq(ioasid_inject_enabled(name), 0, "%s off by default", name);
}

Test(inject, set_list_and_clear)
{
	assert_rc(0, ioasid_inject_set(" map-overlap , unmap-skip-flush,"));
	cr_assert_eq(ioasid_inject_enabled("map-overlap"), 1);
	cr_assert_eq(ioasid_inject_enabled("unmap-skip-flush"), 1);
	cr_assert_eq(ioasid_inject_enabled("bind-twice"), 0);
	assert_rc(0, ioasid_inject_set("bind-twice"));   /* a set replaces, it does not add */
	cr_assert_eq(ioasid_inject_enabled("map-overlap"), 0);
	cr_assert_eq(ioasid_inject_enabled("bind-twice"), 1);
	assert_rc(0, ioasid_inject_set(""));
	cr_assert_eq(ioasid_inject_enabled("bind-twice"), 0);
	assert_rc(0, ioasid_inject_set(NULL));
	assert_rc(-EINVAL, ioasid_inject_enabled("no-such-bug"));
	assert_rc(-EINVAL, ioasid_inject_enabled(NULL));
}

Test(inject, unknown_name_changes_nothing_and_says_why)
{
	assert_rc(0, ioasid_inject_set("map-overlap"));
	assert_rc(-EINVAL, ioasid_inject_set("unmap-skip-flush,map-overlapp"));
	cr_assert_eq(ioasid_inject_enabled("map-overlap"), 1, "all or nothing");
	cr_assert_eq(ioasid_inject_enabled("unmap-skip-flush"), 0);
	cr_assert(strstr(ioasid_last_error(), "'map-overlapp'"), "%s", ioasid_last_error());
	cr_assert(strstr(ioasid_last_error(), ioasid_inject_names()), "%s", ioasid_last_error());
}

static void env_setup(void)
{
	setenv("IOASID_QUIET", "1", 1);
	setenv("IOASID_INJECT", "map-overlap,pasid-double-attach", 1);
}

Test(inject_env, read_at_first_context_open, .init = env_setup)
{
	struct ioasid_ctx *ctx;

	assert_rc(0, ioasid_ctx_open(&ctx));
	cr_assert_eq(ioasid_inject_enabled("map-overlap"), 1);
	cr_assert_eq(ioasid_inject_enabled("pasid-double-attach"), 1);
	cr_assert_eq(ioasid_inject_enabled("bind-twice"), 0);
	ioasid_ctx_close(ctx);
	/* read once: a later open does not undo an explicit set */
	assert_rc(0, ioasid_inject_set(""));
	assert_rc(0, ioasid_ctx_open(&ctx));
	cr_assert_eq(ioasid_inject_enabled("map-overlap"), 0);
	ioasid_ctx_close(ctx);
}

static void env_bad_setup(void)
{
	setenv("IOASID_QUIET", "1", 1);
	setenv("IOASID_INJECT", "map-overlap,bogus", 1);
}

Test(inject_env, unknown_name_in_env_switches_nothing_on, .init = env_bad_setup)
{
	struct platform *p;

	(void)platform_default(&p);        /* a platform load reads it too */
	cr_assert_eq(ioasid_inject_enabled("map-overlap"), 0);
	cr_assert(strstr(ioasid_last_error(), "'bogus'"), "%s", ioasid_last_error());
}

static void env_early_set_setup(void)
{
	setenv("IOASID_QUIET", "1", 1);
	setenv("IOASID_INJECT", "map-overlap", 1);
	cr_assert_eq(ioasid_inject_set("bind-twice"), 0);
}

Test(inject_env, explicit_set_before_first_open_wins, .init = env_early_set_setup)
{
	struct ioasid_ctx *ctx;

	assert_rc(0, ioasid_ctx_open(&ctx));
	cr_assert_eq(ioasid_inject_enabled("bind-twice"), 1);
	cr_assert_eq(ioasid_inject_enabled("map-overlap"), 0);
	ioasid_ctx_close(ctx);
}

/* ---- OWN-1 bind-twice --------------------------------------------------------------------- */

Test(inject, own1_bind_twice)
{
	const struct ioasid_event *ev;
	uint32_t a, b = 0;

	a = bind_ok(self, NVME);
	ev_reset();
	assert_rc(-EPERM, ioasid_device_bind(other, NVME, &b));
	ev = only(IOASID_EV_DEV_BIND);
	expect(ev, result, -EPERM);
	expect(ev, pt, DEV_NVME);          /* its own owner blocks it */

	bug_on("bind-twice");
	ev_reset();
	b = bind_ok(other, NVME);
	ev = only(IOASID_EV_DEV_BIND);
	expect(ev, result, 0);
	expect(ev, ctx, ref_ctx_event_id(other));
	expect(ev, dev, DEV_NVME);
	expect(ev, obj, b);
	cr_assert_eq(count(IOASID_EV_GROUP_CLAIM), 0, "the group keeps its first owner");

	ev_reset();
	assert_rc(0, ioasid_device_unbind(other, b));
	cr_assert_eq(count(IOASID_EV_GROUP_RELEASE), 0);
	assert_rc(0, ioasid_device_unbind(self, a));
	expect(only(IOASID_EV_GROUP_RELEASE), ctx, ref_ctx_event_id(self));
}

/* ---- OWN-2 attach-foreign ----------------------------------------------------------------- */

Test(inject, own2_attach_foreign_ioas_and_hwpt)
{
	uint32_t dev = bind_ok(self, NVME), ioas_b, ioas_b2, pt, hwpt_b, gdev;
	const struct ioasid_event *ev;
	uint8_t *buf = test_buffer(4 * PAGE);
	struct iommu_ioas_map map = {
		.size = sizeof(map), .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf,
		.length = 4 * PAGE, .iova = 0x100000,
	};
	struct iommu_hwpt_alloc ha = { .size = sizeof(ha) };
	char out[8];

	/* ctx `other`: IOAS 1 and 2 (this context has only object 1, the device) */
	ioas_b = ctx_ioas_alloc(other);
	ioas_b2 = ctx_ioas_alloc(other);
	cr_assert_eq(ioas_b2, 2);
	strcpy((char *)buf, "theirs");
	map.ioas_id = ioas_b2;
	assert_rc(0, ioasid_ctx_ioctl(other, IOMMU_IOAS_MAP, &map));

	pt = ioas_b2;
	assert_rc(-ENOENT, ioasid_device_attach(self, dev, 0, &pt));

	bug_on("attach-foreign");
	ev_reset();
	pt = attach_ok(self, dev, 0, ioas_b2);
	ev = only(IOASID_EV_DEV_ATTACH);
	expect(ev, result, 0);
	expect(ev, ctx, ref_ctx_event_id(self));
	expect(ev, value, ioas_b2);
	expect(ev, pt, pt);
	ev = only(IOASID_EV_HWPT_ALLOC);   /* the automatic domain is the IOAS's context's */
	expect(ev, ctx, ref_ctx_event_id(other));
	expect(ev, obj, pt);
	expect(ev, pt, ioas_b2);
	/* the device now reaches the other context's memory */
	assert_rc(0, ioasid_device_dma(self, dev, 0, 0x100000, out, 7, 0, NULL));
	cr_assert_str_eq(out, "theirs");
	ev_reset();
	assert_rc(0, ioasid_device_detach(self, dev, 0));
	expect(only(IOASID_EV_DEV_DETACH), pt, pt);
	expect(only(IOASID_EV_HWPT_DESTROY), ctx, ref_ctx_event_id(other));

	/* a HWPT of the other context (same IOMMU) */
	gdev = bind_ok(other, GPU);
	ha.dev_id = gdev;
	ha.pt_id = ioas_b2;
	assert_rc(0, ioasid_ctx_ioctl(other, IOMMU_HWPT_ALLOC, &ha));
	hwpt_b = ha.out_hwpt_id;
	ev_reset();
	pt = attach_ok(self, dev, 0, hwpt_b);
	cr_assert_eq(pt, hwpt_b);
	expect(only(IOASID_EV_DEV_ATTACH), pt, hwpt_b);
	assert_rc(-EBUSY, ctx_destroy(other, hwpt_b));     /* used by our attachment */
	assert_rc(0, ioasid_device_detach(self, dev, 0));
	assert_rc(0, ctx_destroy(other, hwpt_b));
	assert_rc(0, ioasid_device_unbind(other, gdev));
	assert_rc(0, ctx_destroy(other, ioas_b2));
	assert_rc(0, ctx_destroy(other, ioas_b));
	assert_rc(0, ioasid_device_unbind(self, dev));
}

Test(inject, own2_foreign_attachment_keeps_the_other_context_alive)
{
	uint32_t dev = bind_ok(self, NVME), pt;

	ctx_ioas_alloc(other);
	cr_assert_eq(ctx_ioas_alloc(other), 2);
	bug_on("attach-foreign");
	pt = attach_ok(self, dev, 0, 2);
	ioasid_ctx_close(other);             /* its release waits for our detach */
	assert_rc(0, ioasid_device_detach(self, dev, 0));
	assert_rc(0, ioasid_device_unbind(self, dev));
	(void)pt;
	assert_rc(0, ioasid_ctx_open(&other));   /* for the fixture's close */
}

/* ---- OWN-3 group-two-owners --------------------------------------------------------------- */

Test(inject, own3_group_two_owners)
{
	const struct ioasid_event *ev;
	uint32_t a, b = 0;

	a = bind_ok(self, GPU);
	ev_reset();
	assert_rc(-EPERM, ioasid_device_bind(other, AUDIO, &b));
	ev = only(IOASID_EV_DEV_BIND);
	expect(ev, result, -EPERM);
	expect(ev, pt, DEV_GPU);

	bug_on("group-two-owners");
	ev_reset();
	b = bind_ok(other, AUDIO);
	ev = only(IOASID_EV_DEV_BIND);
	expect(ev, result, 0);
	expect(ev, ctx, ref_ctx_event_id(other));
	expect(ev, dev, DEV_AUDIO);
	expect(ev, group, 9);
	cr_assert_eq(count(IOASID_EV_GROUP_CLAIM), 0);

	assert_rc(0, ioasid_device_unbind(other, b));
	assert_rc(0, ioasid_device_unbind(self, a));
}

/* ---- OWN-4 destroy-in-use ----------------------------------------------------------------- */

Test(inject, own4_destroy_in_use)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME), hwpt;
	const struct ioasid_event *ev;
	struct ioasid_ctx_stats st;
	char out[8];

	map_text(ioas, 0x100000, PAGE, "in use");
	hwpt = hwpt_alloc_ok(dev, ioas, 0);
	attach_ok(self, dev, 0, hwpt);
	destroy_err(EBUSY, ioas);
	destroy_err(EBUSY, hwpt);

	bug_on("destroy-in-use");
	ev_reset();
	destroy_ok(hwpt);
	ev = only(IOASID_EV_OBJ_DESTROY);
	expect(ev, obj, hwpt);
	expect(ev, result, 0);
	cr_assert_eq(count(IOASID_EV_HWPT_DESTROY), 0, "still alive: the attachment holds it");
	destroy_ok(ioas);
	destroy_err(ENOENT, ioas);
	assert_rc(0, ioasid_ctx_get_stats(self, &st));
	cr_assert_eq(st.objects, 1, "only the device is left in the table");
	/* the users still work */
	assert_rc(0, ioasid_device_dma(self, dev, 0, 0x100000, out, 7, 0, NULL));
	cr_assert_str_eq(out, "in use");
	ev_reset();
	assert_rc(0, ioasid_device_detach(self, dev, 0));     /* the last user: both freed */
	expect(only(IOASID_EV_HWPT_DESTROY), obj, hwpt);
	assert_rc(0, ioasid_device_unbind(self, dev));
}

/* ---- GRP-1 claim-ignores-dma-api ---------------------------------------------------------- */

Test(inject, grp1_claim_ignores_dma_api)
{
	const struct ioasid_event *ev;
	uint32_t id = 0;

	assert_rc(-EPERM, ioasid_device_bind(self, BR_A, &id));
	ev = only(IOASID_EV_DEV_BIND);
	expect(ev, pt, DEV_BR_NIC);

	bug_on("claim-ignores-dma-api");
	ev_reset();
	id = bind_ok(self, BR_A);
	expect(only(IOASID_EV_DEV_BIND), result, 0);
	ev = only(IOASID_EV_GROUP_CLAIM);
	expect(ev, group, 12);
	expect(ev, dev, DEV_BR_A);
	expect(ev, aux, IOASID_DRV_DMA_API);   /* honest: the NIC's driver uses the DMA API */
	expect(ev, value, 2);                  /* our claim + the DMA-API driver */
	assert_rc(0, ioasid_device_unbind(self, id));
}

/* ---- GRP-2 probe-claimed-group ------------------------------------------------------------ */

Test(inject, grp2_probe_claimed_group)
{
	uint32_t gpu = bind_ok(self, GPU);
	const struct ioasid_event *ev;
	char why[256];

	assert_rc(0, platform_driver_unbind(plat(), IDX_AUDIO, why, sizeof(why)));
	assert_rc(-EBUSY, platform_driver_bind(plat(), IDX_AUDIO, "snd_hda_intel", why,
					       sizeof(why)));
	bug_on("probe-claimed-group");
	ev_reset();
	assert_rc(0, platform_driver_bind(plat(), IDX_AUDIO, "snd_hda_intel", why, sizeof(why)));
	ev = only(IOASID_EV_DRIVER_BIND);
	expect(ev, result, 0);
	expect(ev, dev, DEV_AUDIO);
	expect(ev, group, 9);
	expect(ev, aux, IOASID_DRV_DMA_API);
	assert_rc(0, ioasid_device_unbind(self, gpu));
	assert_rc(0, platform_driver_unbind(plat(), IDX_AUDIO, why, sizeof(why)));
}

/* ---- GRP-3 group-split-domain ------------------------------------------------------------- */

Test(inject, grp3_group_split_domain)
{
	uint32_t gpu = bind_ok(self, GPU), audio = bind_ok(self, AUDIO);
	uint32_t ioas1 = ioas_alloc_ok(), ioas2 = ioas_alloc_ok(), h1, h2, pt;
	const struct ioasid_event *ev;
	uint32_t d1;
	char out[8];

	map_text(ioas1, 0x100000, PAGE, "ioas-1");
	map_text(ioas2, 0x100000, PAGE, "ioas-2");
	ev_reset();
	h1 = attach_ok(self, gpu, 0, ioas1);
	d1 = only(IOASID_EV_DEV_ATTACH)->domain;
	pt = ioas2;
	assert_rc(-EINVAL, ioasid_device_attach(self, audio, 0, &pt));

	bug_on("group-split-domain");
	ev_reset();
	h2 = attach_ok(self, audio, 0, ioas2);
	cr_assert_neq(h2, h1);
	ev = only(IOASID_EV_DEV_ATTACH);
	expect(ev, result, 0);
	expect(ev, dev, DEV_AUDIO);
	expect(ev, group, 9);
	expect(ev, pt, h2);
	cr_assert_neq(ev->domain, d1, "a domain of its own");
	assert_rc(0, ioasid_device_dma(self, audio, 0, 0x100000, out, 7, 0, NULL));
	cr_assert_str_eq(out, "ioas-2");
	assert_rc(0, ioasid_device_dma(self, gpu, 0, 0x100000, out, 7, 0, NULL));
	cr_assert_str_eq(out, "ioas-1");

	assert_rc(0, ioasid_device_detach(self, audio, 0));
	/* back on the group's translation */
	assert_rc(0, ioasid_device_dma(self, audio, 0, 0x100000, out, 7, 0, NULL));
	cr_assert_str_eq(out, "ioas-1");
	assert_rc(0, ioasid_device_detach(self, gpu, 0));
	assert_rc(0, ioasid_device_unbind(self, audio));
	assert_rc(0, ioasid_device_unbind(self, gpu));
}

/* ---- PAS-1 pasid-width-off-by-one --------------------------------------------------------- */

Test(inject, pas1_pasid_width_off_by_one)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME), hwpt, pt;
	const uint32_t edge = 1u << 20;       /* the device's width is 20 bits */
	const struct ioasid_event *ev;

	hwpt = hwpt_alloc_ok(dev, ioas, IOMMU_HWPT_ALLOC_PASID);
	pt = hwpt;
	assert_rc(-EINVAL, ioasid_device_attach(self, dev, edge, &pt));
	bug_on("pasid-width-off-by-one");
	pt = hwpt;
	assert_rc(-EINVAL, ioasid_device_attach(self, dev, edge + 1, &pt));
	ev_reset();
	attach_ok(self, dev, edge, hwpt);
	ev = only(IOASID_EV_DEV_ATTACH);
	expect(ev, result, 0);
	expect(ev, pasid, edge);
	expect(ev, value, hwpt);
	expect(ev, pt, hwpt);
	assert_rc(0, ioasid_device_detach(self, dev, edge));
	assert_rc(0, ioasid_device_unbind(self, dev));
}

/* ---- PAS-2 pasid-double-attach ------------------------------------------------------------ */

Test(inject, pas2_pasid_double_attach)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME), h1, h2, pt;
	const struct ioasid_event *ev;
	uint32_t d2;

	map_text(ioas, 0x100000, PAGE, "pasid");
	h1 = hwpt_alloc_ok(dev, ioas, IOMMU_HWPT_ALLOC_PASID);
	h2 = hwpt_alloc_ok(dev, ioas, IOMMU_HWPT_ALLOC_PASID);
	attach_ok(self, dev, 5, h1);
	pt = h1;
	assert_rc(-EBUSY, ioasid_device_attach(self, dev, 5, &pt));
	pt = h2;
	assert_rc(-EINVAL, ioasid_device_attach(self, dev, 5, &pt));

	bug_on("pasid-double-attach");
	ev_reset();
	attach_ok(self, dev, 5, h2);
	ev = only(IOASID_EV_DEV_ATTACH);
	cr_assert_eq(count(IOASID_EV_DEV_REPLACE), 0, "announced as an attach");
	expect(ev, result, 0);
	expect(ev, pasid, 5);
	expect(ev, pt, h2);
	d2 = ev->domain;
	ev_reset();
	assert_rc(0, ioasid_device_dma(self, dev, 5, 0x100000, (char[8]){ 0 }, 5, 0, NULL));
	expect(only(IOASID_EV_DMA), domain, d2);
	destroy_ok(h1);                       /* the old HWPT was let go */
	assert_rc(0, ioasid_device_detach(self, dev, 5));
	assert_rc(-ENOENT, ioasid_device_detach(self, dev, 5));   /* one attachment, not two */
	destroy_ok(h2);
	assert_rc(0, ioasid_device_unbind(self, dev));
}

/* ---- PAS-3 pasid-rid-incompatible --------------------------------------------------------- */

Test(inject, pas3_pasid_rid_incompatible)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME), hrid, hpasid, pt;
	const struct ioasid_event *ev;

	hrid = hwpt_alloc_ok(dev, ioas, 0);
	hpasid = hwpt_alloc_ok(dev, ioas, IOMMU_HWPT_ALLOC_PASID);
	attach_ok(self, dev, 0, hrid);
	pt = hpasid;
	assert_rc(-EINVAL, ioasid_device_attach(self, dev, 7, &pt));

	bug_on("pasid-rid-incompatible");
	ev_reset();
	attach_ok(self, dev, 7, hpasid);
	ev = only(IOASID_EV_DEV_ATTACH);
	expect(ev, result, 0);
	expect(ev, pasid, 7);
	expect(ev, pt, hpasid);
	/* still refused: the PASID's own HWPT must be PASID-compatible */
	pt = hrid;
	assert_rc(-EINVAL, ioasid_device_attach(self, dev, 8, &pt));
	assert_rc(0, ioasid_device_detach(self, dev, 7));
	assert_rc(0, ioasid_device_detach(self, dev, 0));
	assert_rc(0, ioasid_device_unbind(self, dev));
}

/* ---- PAS-4 pasid-detach-no-flush ---------------------------------------------------------- */

/* ctx binds `name`, gets a global PASID, attaches it to a PASID-compatible HWPT, DMA, detach,
 * free. Returns the PASID; *flushes = IOTLB_INV (PASID_ENTRY) of it at the detach that dropped
 * the cached entry. The device, IOAS and HWPT stay (*dev, *hwpt, *ioas) so that the domain —
 * and whatever it still caches — outlives the PASID's reuse. */
static uint32_t gpasid_round(struct ioasid_ctx *ctx, const char *name, unsigned int *flushes,
			     uint32_t *dev, uint32_t *ioas, uint32_t *hwpt)
{
	uint32_t pasid = 0;
	uint8_t *buf = test_buffer(PAGE);
	struct iommu_ioas_map map = {
		.size = sizeof(map), .flags = MAP_FIXED_RW, .user_va = (uintptr_t)buf,
		.length = PAGE, .iova = 0x100000,
	};
	struct iommu_hwpt_alloc ha = { .size = sizeof(ha), .flags = IOMMU_HWPT_ALLOC_PASID };
	char out[4];

	*dev = bind_ok(ctx, name);
	*ioas = ctx_ioas_alloc(ctx);
	map.ioas_id = *ioas;
	assert_rc(0, ioasid_ctx_ioctl(ctx, IOMMU_IOAS_MAP, &map));
	ha.dev_id = *dev;
	ha.pt_id = *ioas;
	assert_rc(0, ioasid_ctx_ioctl(ctx, IOMMU_HWPT_ALLOC, &ha));
	*hwpt = ha.out_hwpt_id;
	assert_rc(0, ioasid_global_pasid_alloc(ctx, *dev, &pasid));
	attach_ok(ctx, *dev, pasid, *hwpt);
	assert_rc(0, ioasid_device_dma(ctx, *dev, pasid, 0x100000, out, sizeof(out), 0, NULL));
	ev_reset();
	assert_rc(0, ioasid_device_detach(ctx, *dev, pasid));
	*flushes = 0;
	for (unsigned int i = 0; i < nr_evs; i++)
		*flushes += evs[i].type == IOASID_EV_IOTLB_INV && evs[i].pasid == pasid &&
			    evs[i].aux == IOASID_INV_PASID_ENTRY && evs[i].value == 1;
	assert_rc(0, ioasid_global_pasid_free(ctx, pasid));
	return pasid;
}

static void gpasid_round_end(struct ioasid_ctx *ctx, uint32_t dev, uint32_t ioas, uint32_t hwpt)
{
	assert_rc(0, ioasid_device_unbind(ctx, dev));
	assert_rc(0, ctx_destroy(ctx, hwpt));
	assert_rc(0, ctx_destroy(ctx, ioas));
}

Test(inject, pas4_pasid_detach_no_flush)
{
	uint32_t p1, p2, dev, ioas, hwpt, dev_b, ioas_b, hwpt_b;
	unsigned int flushes;

	p1 = gpasid_round(self, NVME, &flushes, &dev, &ioas, &hwpt);
	cr_assert_eq(flushes, 1, "the detach flushes the PASID's cached translation");
	gpasid_round_end(self, dev, ioas, hwpt);

	bug_on("pasid-detach-no-flush");
	p2 = gpasid_round(self, NVME, &flushes, &dev, &ioas, &hwpt);
	cr_assert_eq(p2, p1);
	cr_assert_eq(flushes, 0, "no flush: the entry outlives the detach");
	/* the next owner, another context (its own device, 0000:00:04.0), gets the same value
	 * while the first context's domain still caches translations tagged with it */
	p2 = gpasid_round(other, "0000:00:04.0", &flushes, &dev_b, &ioas_b, &hwpt_b);
	cr_assert_eq(p2, p1);
	gpasid_round_end(other, dev_b, ioas_b, hwpt_b);
	gpasid_round_end(self, dev, ioas, hwpt);
}

/* ---- MAP-1 map-overlap -------------------------------------------------------------------- */

Test(inject, map1_map_overlap)
{
	uint32_t ioas = ioas_alloc_ok();
	uint8_t *buf = test_buffer(8 * PAGE);
	const struct ioasid_event *ev;
	uint64_t unmapped = 0;

	ioas_map_fixed_ok(ioas, buf, 4 * PAGE, 0x100000);
	ioas_map_fixed_err(EEXIST, ioas, buf + 4 * PAGE, 4 * PAGE, 0x102000);
	bug_on("map-overlap");
	ev_reset();
	ioas_map_fixed_ok(ioas, buf + 4 * PAGE, 4 * PAGE, 0x102000);
	ev = only(IOASID_EV_IOAS_MAP);
	expect(ev, result, 0);
	expect(ev, iova, 0x102000);
	expect(ev, length, 4 * PAGE);
	/* automatic IOVAs still avoid both */
	cr_assert(ioas_map_auto_ok(ioas, buf, PAGE) > 0x105fffULL ||
		  ioas_map_auto_ok(ioas, buf, PAGE) < 0x100000ULL);
	assert_rc(0, _ioas_unmap(ioas, 0, UINT64_MAX, &unmapped));
	cr_assert_eq(unmapped, 10 * PAGE);
}

/* ---- MAP-2 unmap-skip-flush --------------------------------------------------------------- */

Test(inject, map2_unmap_skip_flush)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME);
	const struct ioasid_event *ev;
	uint64_t fault = 0;
	uint8_t *buf;
	char out[8];

	buf = map_text(ioas, 0x100000, PAGE, "stale!");
	attach_ok(self, dev, 0, ioas);
	assert_rc(0, ioasid_device_dma(self, dev, 0, 0x100000, out, 7, 0, NULL));
	ioas_unmap_ok(ioas, 0x100000, PAGE, PAGE);
	assert_rc(-EFAULT, ioasid_device_dma(self, dev, 0, 0x100000, out, 7, 0, &fault));

	ioas_map_fixed_ok(ioas, buf, PAGE, 0x100000);
	assert_rc(0, ioasid_device_dma(self, dev, 0, 0x100000, out, 7, 0, NULL));
	bug_on("unmap-skip-flush");
	ev_reset();
	ioas_unmap_ok(ioas, 0x100000, PAGE, PAGE);
	cr_assert_eq(count(IOASID_EV_DOMAIN_UNMAP), 1);
	cr_assert_eq(count(IOASID_EV_IOTLB_INV), 0);
	ev_reset();
	memset(out, 0, sizeof(out));
	assert_rc(0, ioasid_device_dma(self, dev, 0, 0x100000, out, 7, 0, NULL));
	cr_assert_str_eq(out, "stale!");
	ev = only(IOASID_EV_IOTLB_STALE_HIT);
	expect(ev, iova, 0x100000);
	expect(ev, dev, DEV_NVME);
	expect(ev, value, (uintptr_t)buf);
	assert_rc(0, ioasid_device_detach(self, dev, 0));
	assert_rc(0, ioasid_device_unbind(self, dev));
}

/* ---- MAP-3 unmap-leak-pins ---------------------------------------------------------------- */

static void drop_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	cr_assert_eq(syscall(SYS_capget, &hdr, data), 0);
	data[0].effective &= ~(1u << CAP_IPC_LOCK);
	cr_assert_eq(syscall(SYS_capset, &hdr, data), 0);
}

Test(inject, map3_unmap_leak_pins)
{
	uint32_t ioas, dev;
	struct ioasid_ctx_stats st;
	const struct ioasid_event *ev;
	struct rlimit rl;
	uint8_t *buf = test_buffer(16 * PAGE);

	drop_ipc_lock();                    /* the per-user account, RLIMIT_MODE 0 */
	ioas = ioas_alloc_ok();
	dev = bind_ok(self, NVME);
	attach_ok(self, dev, 0, ioas);
	ioas_map_fixed_ok(ioas, buf, 16 * PAGE, 0x100000);
	ioas_unmap_ok(ioas, 0x100000, 16 * PAGE, 16 * PAGE);
	assert_rc(0, ioasid_ctx_get_stats(self, &st));
	cr_assert_eq(st.pinned_pages, 0);
	cr_assert_eq(st.locked_user, 0);

	ioas_map_fixed_ok(ioas, buf, 16 * PAGE, 0x100000);
	bug_on("unmap-leak-pins");
	ev_reset();
	ioas_unmap_ok(ioas, 0x100000, 16 * PAGE, 16 * PAGE);
	cr_assert_eq(count(IOASID_EV_ACCOUNT), 0, "no uncharge");
	expect(only(IOASID_EV_IOAS_UNMAP), value, 16 * PAGE);
	assert_rc(0, ioasid_ctx_get_stats(self, &st));
	cr_assert_eq(st.pinned_pages, 16, "the pins went, the accounting stayed");
	cr_assert_eq(st.locked_user, 16);
	/* the next charge shows the stale account */
	ev_reset();
	ioas_map_fixed_ok(ioas, buf, PAGE, 0x100000);
	ev = only(IOASID_EV_ACCOUNT);
	expect(ev, value, 17);
	expect(ev, pt, 17);
	cr_assert_eq(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
	expect(ev, iova, rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur / PAGE);
	/* nothing fixes it later: the detach unpins what is mapped now (1 page), the close
	 * raises no ACCOUNT */
	ev_reset();
	assert_rc(0, ioasid_device_detach(self, dev, 0));
	ev = only(IOASID_EV_ACCOUNT);
	expect(ev, value, 16);
	expect(ev, pt, 16);
	assert_rc(0, ioasid_device_unbind(self, dev));
	destroy_ok(ioas);
	ev_reset();
	ioasid_ctx_close(self);
	cr_assert_eq(count(IOASID_EV_ACCOUNT), 0);
	cr_assert_eq(count(IOASID_EV_CTX_CLOSE), 1);
	assert_rc(0, ioasid_ctx_open(&self));
}

/* ---- MAP-4 nested-inv-dropped ------------------------------------------------------------- */


/* Guest edit + invalidation + DMA; returns what the DMA read. */
static void nested_round(uint8_t *ram, uint32_t dev, uint32_t nested, uint64_t gva,
			 uint64_t data_gpa, char *out)
{
	struct iommu_hwpt_vtd_s1_invalidate inv = { .addr = 0, .npages = UINT64_MAX };
	struct iommu_hwpt_invalidate icmd = {
		.size = sizeof(icmd), .hwpt_id = nested, .data_uptr = (uintptr_t)&inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, .entry_len = sizeof(inv),
		.entry_num = 1,
	};

	*gpte(ram, GUEST_GPA + 0x3000, (gva >> 12) & 511) = data_gpa | PTE_P | PTE_RW | PTE_US;
	ev_reset();
	assert_rc(0, _ioctl(IOMMU_HWPT_INVALIDATE, &icmd));
	cr_assert_eq(icmd.entry_num, 1, "the request is reported done");
	assert_rc(0, ioasid_device_dma(self, dev, 0, gva, out, 7, 0, NULL));
}

Test(inject, map4_nested_inv_dropped)
{
	uint32_t ioas = ioas_alloc_ok(), dev = bind_ok(self, NVME), parent, nested;
	uint8_t *ram = test_buffer(GUEST_SIZE);
	const uint64_t root = GUEST_GPA, gva = 0x7f0000001000ULL;
	const uint64_t data_a = GUEST_GPA + 0x10000, data_b = GUEST_GPA + 0x11000;
	struct iommu_hwpt_vtd_s1 s1 = { .pgtbl_addr = root, .addr_width = 48 };
	const struct ioasid_event *ev;
	char out[8];

	ioas_map_fixed_ok(ioas, ram, GUEST_SIZE, GUEST_GPA);
	memcpy(ram + (data_a - GUEST_GPA), "page-A", 7);
	memcpy(ram + (data_b - GUEST_GPA), "page-B", 7);
	guest_map(ram, root, gva, data_a);
	parent = hwpt_alloc_ok(dev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
	assert_rc(0, _hwpt_alloc(dev, parent, 0, IOMMU_HWPT_DATA_VTD_S1, &s1, sizeof(s1), 0,
				 &nested));
	attach_ok(self, dev, 0, nested);
	assert_rc(0, ioasid_device_dma(self, dev, 0, gva, out, 7, 0, NULL));
	cr_assert_str_eq(out, "page-A");

	nested_round(ram, dev, nested, gva, data_b, out);     /* off: the edit is seen */
	cr_assert_str_eq(out, "page-B");
	cr_assert_eq(count(IOASID_EV_IOTLB_INV), 1);
	cr_assert_eq(count(IOASID_EV_IOTLB_STALE_HIT), 0);

	bug_on("nested-inv-dropped");
	nested_round(ram, dev, nested, gva, data_a, out);
	cr_assert_str_eq(out, "page-B", "the invalidation was dropped: the old translation");
	cr_assert_eq(count(IOASID_EV_IOTLB_INV), 0);
	ev = only(IOASID_EV_IOTLB_STALE_HIT);
	expect(ev, iova, gva);
	expect(ev, dev, DEV_NVME);
	expect(ev, value, (uintptr_t)(ram + (data_b - GUEST_GPA)));

	assert_rc(0, ioasid_device_detach(self, dev, 0));
	destroy_ok(nested);
	destroy_ok(parent);
	assert_rc(0, ioasid_device_unbind(self, dev));
}
