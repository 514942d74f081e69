/* test_global_pasid.c — global PASIDs (src/reference/global_pasid.c): what a kernel driver gets
 * from iommu_alloc_global_pasid() for ENQCMD / shared work queues. Suite `global_pasid`.
 *
 * Checked: values from 1, lowest free first (so a freed value is the next one handed out, to
 * any context), bounded by the device's PASID width, exhaustion (ENOSPC), unknown device
 * (ENOENT), free of a value not allocated (ENOENT), of another context's (EPERM), of one still
 * attached (EBUSY), release at context close, and the GPASID_ALLOC / GPASID_FREE events.
 *
 * Each test runs in its own process on a private copy of the built-in default host:
 * 0000:00:02.0 (20-bit PASIDs, dmar0), 0000:80:00.0 (behind dmar1: no PASID).
 */
#include "ioasid_test.h"
#include "private_host.h"

#include <pthread.h>
#include <stdlib.h>

#include "ioasid/event.h"
#include "platform/platform.h"
#include "reference/device.h"

#define NVME "0000:00:02.0"
#define NOPASID "0000:80:00.0"

static struct ioasid_event evs[64];
static unsigned int nr_evs;
static int ev_handle = -1;

static void on_event(void *arg, const struct ioasid_event *ev)
{
	(void)arg;
	if ((ev->type == IOASID_EV_GPASID_ALLOC || ev->type == IOASID_EV_GPASID_FREE) &&
	    nr_evs < 64)
		evs[nr_evs++] = *ev;
}

static void gp_setup(void)
{
	setenv("IOASID_QUIET", "1", 1);
	private_host_open();
	ctx_setup();
}

static void gp_teardown(void)
{
	if (ev_handle >= 0)
		ioasid_events_unsubscribe(ev_handle);
	ctx_teardown();
	platform_set_default(NULL);
}

TestSuite(global_pasid, .init = gp_setup, .fini = gp_teardown);

static void subscribe(void)
{
	nr_evs = 0;
	ev_handle = ioasid_events_subscribe(on_event, NULL);
	cr_assert_geq(ev_handle, 0);
}

static uint32_t alloc_ok(struct ioasid_ctx *ctx, uint32_t dev)
{
	uint32_t pasid = 0;

	assert_rc(0, ioasid_global_pasid_alloc(ctx, dev, &pasid));
	return pasid;
}

Test(global_pasid, from_1_lowest_free_first)
{
	cr_assert_eq(alloc_ok(self, 0), 1);
	cr_assert_eq(alloc_ok(self, 0), 2);
	cr_assert_eq(alloc_ok(self, 0), 3);
	assert_rc(0, ioasid_global_pasid_free(self, 2));
	cr_assert_eq(alloc_ok(self, 0), 2);
	cr_assert_eq(alloc_ok(self, 0), 4);
	for (uint32_t v = 1; v <= 4; v++)
		assert_rc(0, ioasid_global_pasid_free(self, v));
}

Test(global_pasid, reuse_across_contexts_and_ownership)
{
	struct ioasid_ctx *other;
	uint32_t p;

	assert_rc(0, ioasid_ctx_open(&other));
	p = alloc_ok(self, 0);
	cr_assert_eq(alloc_ok(other, 0), p + 1, "never handed out twice while owned");
	assert_rc(-EPERM, ioasid_global_pasid_free(other, p));
	cr_assert(strstr(ioasid_last_error(), "another context"), "%s", ioasid_last_error());
	assert_rc(0, ioasid_global_pasid_free(self, p));
	assert_rc(-ENOENT, ioasid_global_pasid_free(self, p));
	assert_rc(-ENOENT, ioasid_global_pasid_free(self, 0));
	assert_rc(-ENOENT, ioasid_global_pasid_free(self, 999999));
	cr_assert_eq(alloc_ok(other, 0), p, "the freed value is the next one");
	ioasid_ctx_close(other);              /* frees both of its values */
	cr_assert_eq(alloc_ok(self, 0), p);
	cr_assert_eq(alloc_ok(self, 0), p + 1);
	assert_rc(0, ioasid_global_pasid_free(self, p));
	assert_rc(0, ioasid_global_pasid_free(self, p + 1));
}

Test(global_pasid, device_bounds_and_unknown_device)
{
	uint32_t nvme = 0, nopasid = 0, p = 0;

	assert_rc(0, ioasid_device_bind(self, NVME, &nvme));
	assert_rc(0, ioasid_device_bind(self, NOPASID, &nopasid));
	assert_rc(-ENOENT, ioasid_global_pasid_alloc(self, 99, &p));
	assert_rc(-ENOSPC, ioasid_global_pasid_alloc(self, nopasid, &p));
	cr_assert(strstr(ioasid_last_error(), NOPASID), "%s", ioasid_last_error());
	cr_assert_eq(alloc_ok(self, nvme), 1);
	assert_rc(0, ioasid_global_pasid_free(self, 1));
	assert_rc(0, ioasid_device_unbind(self, nopasid));
	assert_rc(0, ioasid_device_unbind(self, nvme));
}

Test(global_pasid, exhaustion_is_enospc)
{
	const uint32_t space = (1u << 20) - 1;    /* dmar0's 20 bits: 1 .. 2^20 - 1 */
	uint32_t p = 0;

	for (uint32_t i = 1; i <= space; i++)
		cr_assert_eq(alloc_ok(self, 0), i);
	assert_rc(-ENOSPC, ioasid_global_pasid_alloc(self, 0, &p));
	assert_rc(0, ioasid_global_pasid_free(self, 777));
	cr_assert_eq(alloc_ok(self, 0), 777);
	/* the close gives them all back (and the table with them: no allocation left) */
}

Test(global_pasid, free_while_attached_is_ebusy)
{
	uint32_t dev = 0, ioas = ioas_alloc_ok(), hwpt, pt, p;

	assert_rc(0, ioasid_device_bind(self, NVME, &dev));
	hwpt = hwpt_alloc_ok(dev, ioas, IOMMU_HWPT_ALLOC_PASID);
	p = alloc_ok(self, dev);
	pt = hwpt;
	assert_rc(0, ioasid_device_attach(self, dev, p, &pt));
	assert_rc(-EBUSY, ioasid_global_pasid_free(self, p));
	assert_rc(0, ioasid_device_detach(self, dev, p));
	assert_rc(0, ioasid_global_pasid_free(self, p));
	assert_rc(0, ioasid_device_unbind(self, dev));
}

Test(global_pasid, events)
{
	struct ioasid_ctx *other;
	uint32_t dev = 0, p = 0;
	uint64_t me = ref_ctx_event_id(self), them;

	assert_rc(0, ioasid_device_bind(self, NVME, &dev));
	assert_rc(0, ioasid_ctx_open(&other));
	them = ref_ctx_event_id(other);
	subscribe();
	p = alloc_ok(self, dev);
	assert_rc(-ENOENT, ioasid_global_pasid_alloc(self, 42, &p));
	assert_rc(-EPERM, ioasid_global_pasid_free(other, 1));
	assert_rc(0, ioasid_global_pasid_free(self, 1));
	cr_assert_eq(alloc_ok(other, 0), 1);
	ioasid_ctx_close(other);
	cr_assert_eq(nr_evs, 6);
	cr_assert_eq(evs[0].type, IOASID_EV_GPASID_ALLOC);
	cr_assert_eq(evs[0].ctx, me);
	cr_assert_eq(evs[0].pasid, 1);
	cr_assert_eq(evs[0].dev, 1);
	cr_assert_str_eq(evs[0].name, NVME);
	cr_assert_eq(evs[0].result, 0);
	cr_assert_eq(evs[1].type, IOASID_EV_GPASID_ALLOC);
	cr_assert_eq(evs[1].result, -ENOENT);
	cr_assert_eq(evs[1].pasid, 0);
	cr_assert(evs[1].flags & IOASID_EVF_REFUSED);
	cr_assert_eq(evs[2].type, IOASID_EV_GPASID_FREE);
	cr_assert_eq(evs[2].ctx, them);
	cr_assert_eq(evs[2].pasid, 1);
	cr_assert_eq(evs[2].result, -EPERM);
	cr_assert_eq(evs[3].type, IOASID_EV_GPASID_FREE);
	cr_assert_eq(evs[3].ctx, me);
	cr_assert_eq(evs[3].result, 0);
	cr_assert_eq(evs[4].type, IOASID_EV_GPASID_ALLOC);
	cr_assert_eq(evs[4].ctx, them);
	cr_assert_eq(evs[4].pasid, 1);
	cr_assert_eq(evs[4].dev, 0);
	cr_assert_eq(evs[5].type, IOASID_EV_GPASID_FREE);   /* at the other context's close */
	cr_assert_eq(evs[5].ctx, them);
	cr_assert_eq(evs[5].pasid, 1);
	cr_assert_eq(evs[5].result, 0);
	assert_rc(0, ioasid_device_unbind(self, dev));
}
