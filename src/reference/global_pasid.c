/* global_pasid.c — global PASIDs: one PASID value for a context on every device, what a kernel
 * driver gets from iommu_alloc_global_pasid() (drivers/iommu/iommu.c) for ENQCMD / shared work
 * queues, where the CPU puts the process's PASID in every work descriptor and each device must
 * know that same value.
 *
 * Owns: the process's global PASID space — the platform's widest IOMMU PASID width — and who
 * owns each allocated value. As the kernel's IDA (iommu_global_pasid_ida): values from 1
 * (IOMMU_FIRST_GLOBAL_PASID; 0 is the RID), lowest free first, bounded by the device's PASID
 * width when one is named (dev->iommu->max_pasids). Lowest-free-first makes reuse immediate and
 * predictable: a value freed by one context is the next value another context gets, which is
 * exactly the case PAS-4 is about (the value must have been flushed from every IOTLB and
 * device-TLB on its detach before it is handed out again).
 *
 * Invariants: a value has at most one owner; free needs the owner (EPERM otherwise) and no
 * attachment of it on the owner's devices (EBUSY: detach first — the detach is what flushes);
 * a context's values are freed at its teardown (GPASID_FREE each). When nothing is allocated
 * the table is freed, so a process that gave everything back holds no allocation.
 *
 * Representation: owners[] indexed by PASID (NULL: free), grown by doubling to cover the
 * highest value handed out, and a hint below which every value is taken.
 *
 * Events: GPASID_ALLOC for every alloc (refusals too: pasid 0), GPASID_FREE for every free
 * (refusals too) and for each value released at teardown.
 *
 * Locking: one process-wide mutex (gpasid_lock), the IDA's own. The attachment check of free
 * takes ctx->devs->lock inside it (device.c never calls in here).
 */
#include "reference/ref_private.h"
#include "reference/device.h"
#include "platform/platform.h"

#include <string.h>

static pthread_mutex_t gpasid_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ioasid_ctx **owners;      /* index: PASID; NULL: free */
static uint32_t nr_owners;              /* length of owners */
static uint32_t nr_allocated;
static uint32_t free_hint = 1;          /* every PASID below this is allocated */

/* The platform's global space: 1 .. (1 << widest IOMMU PASID width) - 1; 0 when none. */
static uint32_t space_bits(void)
{
	const struct plat_topology *t;
	struct platform *p;
	unsigned int bits = 0;

	if (platform_default(&p))
		return 0;
	t = platform_topology(p);
	for (uint32_t i = 0; i < t->nr_iommus; i++)
		bits = MAX(bits, t->iommus[i].pasid_bits);
	return MIN(bits, 31u);
}

static int table_cover(uint32_t pasid)
{
	uint32_t n = nr_owners ? nr_owners : 64;
	struct ioasid_ctx **o;

	if (pasid < nr_owners)
		return 0;
	while (n <= pasid)
		n *= 2;
	o = ioasid_realloc_array(owners, n, sizeof(*o));
	if (!o)
		return -ENOMEM;
	memset(o + nr_owners, 0, (n - nr_owners) * sizeof(*o));
	owners = o;
	nr_owners = n;
	return 0;
}

/* Give pasid back (gpasid_lock held); the table goes with the last value. */
static void pasid_put_locked(uint32_t pasid)
{
	owners[pasid] = NULL;
	if (pasid < free_hint)
		free_hint = pasid;
	if (--nr_allocated == 0) {
		ioasid_free(owners);
		owners = NULL;
		nr_owners = 0;
		free_hint = 1;
	}
}

int ioasid_global_pasid_alloc(struct ioasid_ctx *ctx, uint32_t dev_id, uint32_t *pasid)
{
	struct ref_device *idev = NULL;
	uint32_t limit, bits, found = 0;
	uint32_t event_dev = 0;
	const char *name = NULL;
	int rc = 0;

	bits = space_bits();
	if (dev_id) {
		idev = ref_get_device(ctx, dev_id, &rc);
		if (!idev) {
			ref_set_error("global PASID for device %u: no such device in this context; "
				      "bind it first (ioasid_device_bind)", dev_id);
			goto out;
		}
		bits = MIN(bits, ref_device_pasid_bits(idev));
		event_dev = ref_device_event_dev(idev);
		name = ref_device_name(idev);
	}
	limit = bits ? 1u << bits : 0;    /* first value beyond the space */
	pthread_mutex_lock(&gpasid_lock);
	for (uint32_t v = free_hint; v < limit; v++) {
		if (v >= nr_owners || !owners[v]) {
			found = v;
			break;
		}
	}
	if (!found) {
		ref_set_error("global PASID%s%s: the %s PASID space (%u bits) is exhausted (%u "
			      "allocated process-wide); free some with ioasid_global_pasid_free",
			      name ? " for " : "", name ? name : "", idev ? "device's" : "platform's",
			      bits, nr_allocated);
		rc = -ENOSPC;
	} else {
		rc = table_cover(found);
		if (!rc) {
			owners[found] = ctx;
			nr_allocated++;
			if (found == free_hint)
				free_hint = found + 1;
		}
	}
	pthread_mutex_unlock(&gpasid_lock);
	if (idev)
		ref_device_put(idev);
out:
	IOASID_PROBE_NAMED(gpasid_alloc, name, .ctx = ctx->cookie, .pasid = rc ? 0 : found,
			   .dev = event_dev, .result = rc, .flags = rc ? IOASID_EVF_REFUSED : 0);
	if (!rc)
		*pasid = found;
	return rc;
}

int ioasid_global_pasid_free(struct ioasid_ctx *ctx, uint32_t pasid)
{
	int rc = 0;

	pthread_mutex_lock(&gpasid_lock);
	if (pasid == 0 || pasid >= nr_owners || !owners[pasid]) {
		ref_set_error("global PASID %u: not allocated; nothing to free", pasid);
		rc = -ENOENT;
	} else if (owners[pasid] != ctx) {
		ref_set_error("global PASID %u: owned by another context (ctx %llu); only its "
			      "owner can free it", pasid,
			      (unsigned long long)owners[pasid]->cookie);
		rc = -EPERM;
	} else if (ref_devs_pasid_attached(ctx, pasid)) {
		ref_set_error("global PASID %u: still attached to a device of this context; "
			      "detach it first (ioasid_device_detach), which flushes its IOTLB "
			      "entries", pasid);
		rc = -EBUSY;
	} else {
		pasid_put_locked(pasid);
	}
	pthread_mutex_unlock(&gpasid_lock);
	IOASID_PROBE(gpasid_free, .ctx = ctx->cookie, .pasid = pasid, .result = rc,
		     .flags = rc ? IOASID_EVF_REFUSED : 0);
	return rc;
}

void ref_gpasid_release(struct ioasid_ctx *ctx)
{
	pthread_mutex_lock(&gpasid_lock);
	for (uint32_t v = 1; v < nr_owners; v++) {
		if (owners[v] != ctx)
			continue;
		IOASID_PROBE(gpasid_free, .ctx = ctx->cookie, .pasid = v);
		pasid_put_locked(v);      /* may free the table: then the loop ends */
	}
	pthread_mutex_unlock(&gpasid_lock);
}
