/* hw.c — the mock IOMMU hardware of this process: one instance per IOMMU of the platform
 * topology, plus the kernel selftest's mock IOMMU, shared by every context as a host's IOMMUs
 * are. An instance is created when the first device behind it is bound and freed when the last
 * one goes (so a process that closes everything holds no hardware state, and leak checks see
 * nothing left).
 *
 * The selftest instance mirrors drivers/iommu/iommufd/selftest.c's mock IOMMU: a 2 KiB IO page
 * (PAGE_SIZE / 2), aperture [1 << 24, (1 << 31) - 1], 20-bit PASID, nesting and dirty tracking.
 *
 * In events an instance is its platform index + 1, the selftest one MOCK_IOMMU_EVENT_SELFTEST
 * (1001 = REF_HW_SELFTEST + 1): mock_iommu_caps.event_id.
 */
#include "reference/ref_private.h"
#include "platform/platform.h"

#include <string.h>

#define HW_MAX (PLAT_MAX_IOMMUS + 1)
_Static_assert(REF_HW_SELFTEST + 1 == MOCK_IOMMU_EVENT_SELFTEST, "selftest IOMMU event id");

static pthread_mutex_t hw_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ref_hw_iommu *hw_table[HW_MAX];

static int hw_slot(int key)
{
	if (key == REF_HW_SELFTEST)
		return PLAT_MAX_IOMMUS;
	if (key < 0 || key >= PLAT_MAX_IOMMUS)
		return -1;
	return key;
}

static int hw_describe(int key, struct ref_hw_iommu *hw, struct mock_iommu_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	if (key == REF_HW_SELFTEST) {
		caps->name = "iommufd_selftest";
		caps->pgsize_bitmap = SZ_2K_MOCK | (SZ_2K_MOCK << 9);
		caps->ias_bits = 48;
		caps->pasid_bits = 20;
		caps->nesting = true;
		caps->dirty_tracking = true;
		caps->aperture_start = 1ULL << 24;
		caps->aperture_last = (1ULL << 31) - 1;
		caps->event_id = MOCK_IOMMU_EVENT_SELFTEST;
		hw->hw_type = 0xfeedbeef;    /* IOMMU_HW_INFO_TYPE_SELFTEST */
		hw->pasid_bits = 20;
		hw->nesting = hw->dirty_tracking = hw->iopf = true;
		return 0;
	} else {
		struct platform *p;
		const struct plat_iommu *pi;
		int rc = platform_default(&p);

		if (rc)
			return rc;
		if ((uint32_t)key >= platform_topology(p)->nr_iommus)
			return -ENODEV;
		pi = &platform_topology(p)->iommus[key];
		caps->name = pi->name;
		caps->pgsize_bitmap = pi->pgsize_bitmap;
		caps->ias_bits = pi->ias_bits;
		caps->pasid_bits = pi->pasid_bits;
		caps->nesting = pi->nesting;
		caps->dirty_tracking = pi->dirty_tracking;
		caps->event_id = (uint32_t)key + 1;
		hw->hw_type = pi->type;
		hw->pasid_bits = pi->pasid_bits;
		hw->nesting = pi->nesting;
		hw->dirty_tracking = pi->dirty_tracking;
		hw->iopf = pi->iopf;
		hw->vtd_cap = pi->vtd_cap;
		hw->vtd_ecap = pi->vtd_ecap;
		hw->nr_resv = MIN(pi->nr_resv, ARRAY_SIZE(hw->resv));
		for (uint32_t i = 0; i < hw->nr_resv; i++) {
			hw->resv[i].start = pi->resv[i].start;
			hw->resv[i].last = pi->resv[i].last;
		}
		return 0;
	}
}

int ref_hw_iommu_get(int key, struct ref_hw_iommu **out)
{
	struct mock_iommu_caps caps;
	struct ref_hw_iommu *hw;
	int slot = hw_slot(key), rc;

	if (slot < 0)
		return -ENODEV;
	pthread_mutex_lock(&hw_lock);
	hw = hw_table[slot];
	if (hw) {
		hw->refs++;
		pthread_mutex_unlock(&hw_lock);
		*out = hw;
		return 0;
	}
	hw = ioasid_zalloc(sizeof(*hw));
	if (!hw) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	hw->key = key;
	rc = hw_describe(key, hw, &caps);
	if (!rc)
		rc = mock_iommu_create(&caps, &hw->hw);
	if (rc) {
		ioasid_free(hw);
		goto out_unlock;
	}
	hw->refs = 1;
	hw_table[slot] = hw;
	*out = hw;
out_unlock:
	pthread_mutex_unlock(&hw_lock);
	return rc;
}

void ref_hw_iommu_put(struct ref_hw_iommu *hw)
{
	pthread_mutex_lock(&hw_lock);
	if (--hw->refs == 0) {
		hw_table[hw_slot(hw->key)] = NULL;
		mock_iommu_destroy(hw->hw);
		ioasid_free(hw);
	}
	pthread_mutex_unlock(&hw_lock);
}

void ref_hw_iommu_hold(struct ref_hw_iommu *hw)
{
	pthread_mutex_lock(&hw_lock);
	hw->refs++;
	pthread_mutex_unlock(&hw_lock);
}
