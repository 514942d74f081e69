/* mock_dev.c — what a mock IOMMU holds per requester ID: the context entry (the RID's domain,
 * PASID 0) and, for a PASID-capable device, a PASID table (PASID -> domain). API in
 * mock_iommu.h.
 *
 * Owns: struct mock_dev and its PASID table. The table has two levels like VT-d's scalable-mode
 * PASID directory: PASID[19:6] indexes a directory of pointers to 64-entry tables, PASID[5:0] an
 * entry of one. The directory is allocated at the first PASID entry set, a table at the first
 * entry set in its range; both stay until the device is destroyed, so a DMA walking them never
 * touches freed memory. The PASID width is the smaller of the device's and the instance's.
 *
 * Invariants: every non-NULL entry holds one use of its domain (mock_domain_use), so freeing a
 * domain that is still installed is deferred (mock_private.h); nentries counts the non-NULL
 * entries. RIDs are unique per instance (-EEXIST).
 *
 * Changing an entry flushes the IOTLB for (old domain, PASID) — the driver's PASID-cache and
 * IOTLB flush on teardown — and for (new domain, PASID), so that entries another user of the same
 * tag left behind are not hit by this device: two IOTLB_INV events, reason PASID_ENTRY.
 * A device's DMA is made on behalf of its event identity (mock_dev_set_event_ident), so that a
 * stale IOTLB hit names the device.
 *
 * Locking: set_domain/destroy of one device are serialised by the device's lock. DMA reads the
 * entries lock-free (acquire loads of pointers published with release stores), so it may run
 * concurrently with changes of other PASIDs; a DMA racing with the change of its own entry uses
 * either domain. The caller must not free a domain while a DMA may still be using it (clear the
 * entry first, as with hardware). The instance's id_lock guards its device list. */
#include "mock_private.h"

#include "common/alloc.h"
#include "common/compiler.h"
#include "common/inject.h"
#include "common/probe.h"

#include <errno.h>
#include <string.h>

#define PASID_TABLE_BITS    6u
#define PASID_TABLE_ENTRIES (1u << PASID_TABLE_BITS)
#define MOCK_RID_MAX        0xFFFFu

struct pasid_table {
	struct mock_domain *entry[PASID_TABLE_ENTRIES];
};

struct mock_dev {
	struct mock_iommu *iommu;
	struct mock_dev *next;            /* instance list, under iommu->id_lock */
	uint32_t rid;
	unsigned int pasid_bits;          /* effective width; 0: RID only */
	pthread_mutex_t lock;
	struct mock_domain *context;      /* the RID's entry (PASID 0) */
	struct pasid_table **dir;         /* dir_entries pointers, allocated on first use */
	uint32_t dir_entries;
	uint64_t nentries;
	struct mock_dev_ident ident;      /* who its DMA is, in events */
};

static inline bool pasid_valid(const struct mock_dev *dev, uint32_t pasid)
{
	return pasid == MOCK_PASID_RID || (dev->pasid_bits && !(pasid >> dev->pasid_bits));
}

int mock_dev_create(struct mock_iommu *iommu, uint32_t rid, unsigned int pasid_bits,
		    struct mock_dev **out)
{
	struct mock_dev *dev, *d;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!iommu || rid > MOCK_RID_MAX || pasid_bits > 20)
		return -EINVAL;
	dev = ioasid_zalloc(sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->iommu = iommu;
	dev->rid = rid;
	dev->pasid_bits = MIN(pasid_bits, iommu->caps.pasid_bits);
	dev->dir_entries = dev->pasid_bits > PASID_TABLE_BITS
				   ? 1u << (dev->pasid_bits - PASID_TABLE_BITS) : 1u;
	pthread_mutex_init(&dev->lock, NULL);

	pthread_mutex_lock(&iommu->id_lock);
	for (d = iommu->devs; d; d = d->next) {
		if (d->rid == rid) {
			pthread_mutex_unlock(&iommu->id_lock);
			pthread_mutex_destroy(&dev->lock);
			ioasid_free(dev);
			return -EEXIST;
		}
	}
	dev->next = iommu->devs;
	iommu->devs = dev;
	iommu->debug.devices++;
	pthread_mutex_unlock(&iommu->id_lock);
	*out = dev;
	return 0;
}

/* The slot of pasid (valid), allocating the directory and table when alloc; NULL when absent
 * (or -ENOMEM through *err). Under dev->lock when alloc. */
static struct mock_domain **entry_slot(struct mock_dev *dev, uint32_t pasid, bool alloc, int *err)
{
	struct pasid_table **dir, *t;
	uint32_t di = pasid >> PASID_TABLE_BITS;

	if (pasid == MOCK_PASID_RID)
		return &dev->context;
	dir = __atomic_load_n(&dev->dir, __ATOMIC_ACQUIRE);
	if (!dir) {
		if (!alloc)
			return NULL;
		dir = ioasid_zalloc((size_t)dev->dir_entries * sizeof(*dir));
		if (!dir) {
			*err = -ENOMEM;
			return NULL;
		}
		__atomic_store_n(&dev->dir, dir, __ATOMIC_RELEASE);
	}
	t = __atomic_load_n(&dir[di], __ATOMIC_ACQUIRE);
	if (!t) {
		if (!alloc)
			return NULL;
		t = ioasid_zalloc(sizeof(*t));
		if (!t) {
			*err = -ENOMEM;
			return NULL;
		}
		__atomic_store_n(&dir[di], t, __ATOMIC_RELEASE);
	}
	return &t->entry[pasid & (PASID_TABLE_ENTRIES - 1)];
}

void mock_dev_set_event_ident(struct mock_dev *dev, uint32_t event_dev, const char *name)
{
	dev->ident.event_dev = event_dev;
	strncpy(dev->ident.name, name ? name : "", sizeof(dev->ident.name) - 1);
	dev->ident.name[sizeof(dev->ident.name) - 1] = '\0';
}

struct mock_domain *mock_dev_domain(const struct mock_dev *dev, uint32_t pasid)
{
	struct mock_domain **slot;

	if (!pasid_valid(dev, pasid))
		return NULL;
	slot = entry_slot((struct mock_dev *)dev, pasid, false, NULL);
	return slot ? __atomic_load_n(slot, __ATOMIC_ACQUIRE) : NULL;
}

int mock_dev_set_domain(struct mock_dev *dev, uint32_t pasid, struct mock_domain *dom)
{
	struct mock_domain **slot, *old;
	int ret = 0;

	if (!dev || !pasid_valid(dev, pasid) || (dom && dom->iommu != dev->iommu))
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	slot = entry_slot(dev, pasid, dom != NULL, &ret);
	old = slot ? *slot : NULL;
	if (ret || old == dom) {
		pthread_mutex_unlock(&dev->lock);
		return ret;
	}
	if (dom) {
		ret = mock_domain_use(dom);
		if (ret) {
			pthread_mutex_unlock(&dev->lock);
			return ret;
		}
	}
	__atomic_store_n(slot, dom, __ATOMIC_RELEASE);
	dev->nentries += (dom != NULL) - (old != NULL);
	pthread_mutex_unlock(&dev->lock);

	if (old && !(pasid != MOCK_PASID_RID && !dom && inject_on(INJECT_PASID_DETACH_NO_FLUSH)))
		/* (PAS-4 bug "pasid-detach-no-flush": clearing a PASID entry skips the flush of
		 * that PASID's IOTLB entries: they outlive the detach and the PASID's reuse.) */
		mock_domain_iotlb_invalidate_why(old, pasid, 0, UINT64_MAX, IOASID_INV_PASID_ENTRY);
	if (dom)
		mock_domain_iotlb_invalidate_why(dom, pasid, 0, UINT64_MAX, IOASID_INV_PASID_ENTRY);
	if (old)
		mock_domain_unuse(old);
	return 0;
}

int mock_dev_dma(struct mock_dev *dev, uint32_t pasid, uint64_t iova, void *buf, size_t len,
		 enum mock_dma_dir dir, struct mock_fault *fault)
{
	struct mock_domain *dom = mock_dev_domain(dev, pasid);

	if (unlikely(!dom)) {
		if (fault)
			*fault = (struct mock_fault){ .iova = iova, .pasid = pasid, .dir = dir,
						      .reason = MOCK_FAULT_BLOCKED };
		return -EFAULT;
	}
	return mock_domain_dma_as(dom, &dev->ident, pasid, iova, buf, len, dir, fault);
}

void mock_dev_destroy(struct mock_dev *dev)
{
	struct mock_iommu *iommu;
	struct mock_dev **pp;

	if (!dev)
		return;
	iommu = dev->iommu;
	if (dev->nentries) {
		/* Caller error: entries must be cleared first. Clear them (with their flushes and
		 * domain uses) rather than leave domains pinned, and count it. */
		pthread_mutex_lock(&iommu->id_lock);
		iommu->debug.busy_dev_destroys++;
		pthread_mutex_unlock(&iommu->id_lock);
		mock_dev_set_domain(dev, MOCK_PASID_RID, NULL);
		for (uint32_t di = 0; dev->dir && di < dev->dir_entries && dev->nentries; di++)
			for (uint32_t i = 0; dev->dir[di] && i < PASID_TABLE_ENTRIES; i++)
				if (dev->dir[di]->entry[i])
					mock_dev_set_domain(dev, di * PASID_TABLE_ENTRIES + i,
							    NULL);
	}
	pthread_mutex_lock(&iommu->id_lock);
	for (pp = &iommu->devs; *pp != dev; pp = &(*pp)->next)
		;
	*pp = dev->next;
	iommu->debug.devices--;
	pthread_mutex_unlock(&iommu->id_lock);
	if (dev->dir) {
		for (uint32_t di = 0; di < dev->dir_entries; di++)
			ioasid_free(dev->dir[di]);
		ioasid_free(dev->dir);
	}
	pthread_mutex_destroy(&dev->lock);
	ioasid_free(dev);
}
