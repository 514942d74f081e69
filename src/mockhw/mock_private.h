/* mock_private.h — private to src/mockhw: the instance and domain structures shared by
 * mock_iommu.c (instances, domains, translation), s1_walk.c (the stage-1 format of nested
 * domains) and mock_dev.c (context entries and PASID tables), plus debug counters for tests.
 *
 * Domain lifetime: a domain has `users` — its nested children and the device entries (context or
 * PASID) that point at it. mock_domain_free() of a domain with users does not free it: the domain
 * is marked free_pending (it keeps translating for those users), the refusal is counted in
 * mock_iommu_debug.busy_domain_frees, and the domain goes when its last user does. That is the
 * assert-free guard for the caller error "free a nest parent with live children / a domain still
 * installed in a device".
 *
 * Locking: iommu->id_lock guards the ID space, every domain's users/children/free_pending, the
 * device list and the debug counters. Lock order: id_lock, then the IOTLB lock (never the other
 * way round: nothing takes id_lock on a translation path). */
#ifndef IOASID_MOCKHW_MOCK_PRIVATE_H
#define IOASID_MOCKHW_MOCK_PRIVATE_H

#include <pthread.h>

#include "io_pgtable.h"
#include "iotlb.h"
#include "mock_iommu.h"

#define MOCK_DOMAIN_ID_MAX 65535u

/* Counters of caller errors the mock absorbed, and live objects (read with
 * mock_iommu_debug_stats). */
struct mock_iommu_debug {
	uint64_t domains;            /* live domains, pending frees included */
	uint64_t pending_frees;      /* domains freed by the caller but still in use */
	uint64_t devices;            /* live mock_devs */
	uint64_t busy_domain_frees;  /* mock_domain_free of a domain with users: deferred */
	uint64_t busy_dev_destroys;  /* mock_dev_destroy with entries still set: cleared for it */
};
void mock_iommu_debug_stats(struct mock_iommu *iommu, struct mock_iommu_debug *out);

struct mock_dev;

struct mock_iommu {
	struct mock_iommu_caps caps;
	char name[32];
	struct iotlb *tlb;
	unsigned int gshift;              /* granule of the instance: 12 or 11 */
	pthread_mutex_t id_lock;
	uint32_t id_hint;
	uint32_t ndomains;
	struct mock_dev *devs;            /* linked through mock_dev.next */
	struct mock_iommu_debug debug;
	uint64_t id_map[(MOCK_DOMAIN_ID_MAX + 1) / 64];   /* bit n: ID n in use; ID 0 reserved */
};

/* The stage-1 state of a nested domain (s1_walk.c). */
struct mock_s1 {
	uint64_t root;                    /* GPA of the root table */
	unsigned int levels;              /* 4 or 5 */
	unsigned int addr_width;          /* 48 or 57 */
	bool write_protect;
};

struct mock_domain {
	struct io_pgtable pt;             /* paging domains only (a nested domain's is empty) */
	struct mock_iommu *iommu;
	struct iotlb *tlb;
	uint32_t id;
	unsigned int flags;               /* MOCK_DOMAIN_NEST_PARENT | MOCK_DOMAIN_DIRTY */
	uint64_t pgsize_bitmap;           /* leaf sizes of the domain's own table */
	uint64_t tlb_sizes;               /* sizes of its IOTLB entries (nested: combined) */
	uint64_t ap_start, ap_end;        /* input aperture */
	uint64_t granule;                 /* smallest translation block: a DMA step */
	struct mock_domain *parent;       /* nested: the stage-2 domain; NULL for paging */
	struct mock_s1 s1;                /* nested only */
	mock_fault_handler_t fault_fn;    /* published after fault_arg (release) */
	void *fault_arg;
	/* under iommu->id_lock */
	struct mock_domain *children;     /* nest parent: its nested domains */
	struct mock_domain *sibling;
	unsigned int users;               /* children + device entries */
	bool free_pending;
	struct mock_iotlb_stats stats;    /* updated under the IOTLB lock */
};

/* mock_iommu.c: take / drop a use of dom (a device entry). mock_domain_use fails with -EINVAL
 * when dom is being freed; mock_domain_unuse frees it if it was the last use of a pending free. */
int mock_domain_use(struct mock_domain *dom);
void mock_domain_unuse(struct mock_domain *dom);

/* Who is doing a DMA, as events name it (mock_dev_set_event_ident). */
struct mock_dev_ident {
	uint32_t event_dev;               /* the `dev` field */
	char name[16];                    /* NUL-terminated */
};
/* mock_iommu.c: mock_domain_dma on behalf of a device (NULL: anonymous), so that the events the
 * translation raises (IOTLB_STALE_HIT) name it. */
int mock_domain_dma_as(struct mock_domain *dom, const struct mock_dev_ident *who, uint32_t pasid,
		       uint64_t iova, void *buf, size_t len, enum mock_dma_dir dir,
		       struct mock_fault *fault);
/* mock_iommu.c: mock_domain_iotlb_invalidate with the reason its event gives (enum
 * ioasid_inv_reason). */
void mock_domain_iotlb_invalidate_why(struct mock_domain *dom, uint32_t pasid, uint64_t iova,
				      uint64_t len, unsigned int reason);

/* s1_walk.c: check a stage-1 configuration, -EINVAL or 0 with *levels. */
int s1_config_check(const struct mock_s1_config *cfg, unsigned int *levels);
/* s1_walk.c: translate iova through a nested domain's stage 1 and its parent's stage 2. hw: a
 * hardware walk (sets A/D in the guest's entries, A/D in stage 2); otherwise no side effects.
 * 0 and *x (the combined block, see s1_walk.c), or -EFAULT with *reason. */
int s1_nested_walk(struct mock_domain *dom, uint64_t iova, bool write, bool hw,
		   struct iotlb_xlate *x, enum mock_fault_reason *reason);

#endif
