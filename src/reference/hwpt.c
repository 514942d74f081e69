/* hwpt.c — hardware page tables: paging HWPTs (a mock IOMMU domain mirroring an IOAS), nested
 * HWPTs (a guest-owned stage-1 table over a nesting-parent paging HWPT), user invalidation of
 * nested IOTLB entries, and dirty tracking. The reference's drivers/iommu/iommufd/hw_pagetable.c.
 *
 * Errno order follows iommufd_hwpt_alloc(): __reserved → EOPNOTSUPP; data_type/data_len
 * disagree → EINVAL; dev_id → ENOENT; pt_id not found → EINVAL; unknown flags → EOPNOTSUPP;
 * DIRTY_TRACKING on an IOMMU without it → EOPNOTSUPP; a nested parent that is automatic, not a
 * NEST_PARENT or of another IOMMU → EINVAL.
 *
 * Data formats: IOMMU_HWPT_DATA_VTD_S1 (the platform's VT-d instances: the mock hardware walks
 * the guest's x86-64 first-stage table) and the selftest type 0xdead (iommu_hwpt_selftest: a
 * mock nested domain with a 4-entry IOTLB that HWPT_INVALIDATE clears, as the kernel's mock).
 * Invalidation: IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 {addr, npages, flags LEAF} (npages U64_MAX
 * with addr 0 = everything) and the selftest type 0xdeadbeef {flags ALL, iotlb_id}.
 *
 * Events: HWPT_ALLOC when a HWPT is published (IOMMU_HWPT_ALLOC, or an automatic domain made by
 * an attach to an IOAS; ref_hwpt_announce) and for every refused IOMMU_HWPT_ALLOC; HWPT_DESTROY
 * when an announced HWPT is destroyed — after its domain left the IOAS (DOMAIN_UNMAPs), before
 * the domain is freed (IOTLB_INV DOMAIN_FREE). A HWPT aborted before publication raises nothing.
 */
#include "reference/ref_private.h"
#include "reference/device.h"
#include "common/inject.h"

#include <string.h>

#define HWPT_DATA_SELFTEST        0xdead
#define HWPT_INVALIDATE_SELFTEST  0xdeadbeef
#define SELFTEST_INVALIDATE_ALL   (1u << 0)
#define SELFTEST_HW_TYPE          0xfeedbeef

/* Allocate a HWPT object (not yet published) of `type` for IOMMU hw, holding the instance. */
static struct ref_hwpt *hwpt_obj_alloc(struct ioasid_ctx *ctx, size_t size, enum ref_obj_type type,
				       struct ref_hw_iommu *hw, uint32_t flags)
{
	struct ref_object *obj = ref_object_alloc(ctx, size, type);
	struct ref_hwpt *hwpt;

	if (!obj)
		return NULL;
	hwpt = container_of(obj, struct ref_hwpt, obj);
	hwpt->ctx = ctx;
	hwpt->iommu = hw;
	ref_hw_iommu_hold(hw);
	hwpt->pasid_compat = flags & IOMMU_HWPT_ALLOC_PASID;
	return hwpt;
}

/* ---- paging --------------------------------------------------------------------------------- */

static void ioas_unlink_hwpt(struct ref_hwpt_paging *hp)
{
	struct ref_hwpt_paging **pp;

	for (pp = &hp->ioas->hwpt_list; *pp; pp = &(*pp)->ioas_next)
		if (*pp == hp) {
			*pp = hp->ioas_next;
			return;
		}
}

static void hwpt_common_destroy(struct ref_hwpt *hwpt)
{
	if (hwpt->fault) {
		ref_object_release(hwpt->ctx, (struct ref_object *)hwpt->fault);
		hwpt->fault = NULL;
	}
	if (hwpt->iommu)
		ref_hw_iommu_put(hwpt->iommu);
}

/* ---- events --------------------------------------------------------------------------------- */

uint32_t ref_hwpt_event_flags(const struct ref_hwpt *hwpt)
{
	uint32_t f = hwpt->pasid_compat ? IOASID_EVF_PASID : 0;

	if (ref_hwpt_is_paging(hwpt)) {
		const struct ref_hwpt_paging *hp =
			container_of(hwpt, struct ref_hwpt_paging, common);

		f |= (hp->auto_domain ? IOASID_EVF_AUTO : 0) |
		     (hp->nest_parent ? IOASID_EVF_PARENT : 0) |
		     (hp->dirty_capable ? IOASID_EVF_DIRTY : 0);
	} else {
		f |= IOASID_EVF_NESTED;
	}
	return f;
}

uint32_t ref_hwpt_event_pt(const struct ref_hwpt *hwpt)
{
	if (ref_hwpt_is_paging(hwpt)) {
		const struct ref_hwpt_paging *hp =
			container_of(hwpt, struct ref_hwpt_paging, common);

		return hp->ioas ? hp->ioas->obj.id : 0;
	}
	return container_of(hwpt, struct ref_hwpt_nested, common)->parent->common.obj.id;
}

struct mock_domain *ref_hwpt_hw_domain(const struct ref_hwpt *hwpt)
{
	if (hwpt->dom)
		return hwpt->dom;
	/* selftest nested HWPTs translate through their parent */
	return container_of(hwpt, struct ref_hwpt_nested, common)->parent->common.dom;
}

void ref_hwpt_announce(struct ref_hwpt *hwpt)
{
	hwpt->announced = true;
	IOASID_PROBE(hwpt_alloc, .ctx = hwpt->ctx->cookie, .obj = hwpt->obj.id,
		     .pt = ref_hwpt_event_pt(hwpt), .iommu = ref_hw_event_id(hwpt->iommu),
		     .domain = hwpt->dom ? mock_domain_id(hwpt->dom) : 0,
		     .flags = ref_hwpt_event_flags(hwpt));
}

/* HWPT_DESTROY of an announced HWPT, while its domain still exists. */
static void hwpt_destroy_event(const struct ref_hwpt *hwpt)
{
	if (!hwpt->announced)
		return;
	IOASID_PROBE(hwpt_destroy, .ctx = hwpt->ctx->cookie, .obj = hwpt->obj.id,
		     .pt = ref_hwpt_event_pt(hwpt), .iommu = ref_hw_event_id(hwpt->iommu),
		     .domain = hwpt->dom ? mock_domain_id(hwpt->dom) : 0,
		     .flags = ref_hwpt_event_flags(hwpt));
}

/* ---- paging teardown ------------------------------------------------------------------------ */

void ref_hwpt_paging_destroy(struct ref_object *obj)
{
	struct ref_hwpt_paging *hp = container_of(obj, struct ref_hwpt_paging, common.obj);
	struct ioasid_ctx *ctx = hp->common.ctx;

	if (hp->linked) {
		ref_devs_lock(ctx);
		ioas_unlink_hwpt(hp);
		ref_devs_unlock(ctx);
		iopt_table_remove_domain(&hp->ioas->iopt, hp->common.dom);
	}
	hwpt_destroy_event(&hp->common);
	if (hp->common.dom)
		mock_domain_free(hp->common.dom);
	if (hp->ioas)
		ref_object_release(ctx, &hp->ioas->obj);
	hwpt_common_destroy(&hp->common);
}

int ref_hwpt_paging_alloc(struct ioasid_ctx *ctx, struct ref_ioas *ioas, struct ref_hw_iommu *hw,
			  bool dirty_ok, uint64_t pgsize_bitmap, uint32_t flags,
			  struct ref_hwpt_paging **out)
{
	const uint32_t valid = IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
			       IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID;
	struct ref_hwpt_paging *hp;
	struct ref_hwpt *hwpt;
	unsigned int mflags = 0;
	int rc;

	if (flags & ~valid)
		return -EOPNOTSUPP;
	/* a nesting parent never takes page requests itself (6.12: EOPNOTSUPP) */
	if ((flags & IOMMU_HWPT_FAULT_ID_VALID) && (flags & IOMMU_HWPT_ALLOC_NEST_PARENT))
		return -EOPNOTSUPP;
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && (!dirty_ok || !hw->dirty_tracking)) {
		ref_set_error("HWPT alloc: IOMMU %s has no dirty tracking (IOMMU_HW_CAP_DIRTY_TRACKING "
			      "is clear in IOMMU_GET_HW_INFO); allocate without "
			      "IOMMU_HWPT_ALLOC_DIRTY_TRACKING", mock_iommu_caps(hw->hw)->name);
		return -EOPNOTSUPP;
	}
	if ((flags & IOMMU_HWPT_ALLOC_NEST_PARENT) && !hw->nesting) {
		ref_set_error("HWPT alloc: IOMMU %s cannot nest; allocate without "
			      "IOMMU_HWPT_ALLOC_NEST_PARENT", mock_iommu_caps(hw->hw)->name);
		return -EOPNOTSUPP;
	}
	if ((flags & IOMMU_HWPT_ALLOC_PASID) && !hw->pasid_bits)
		return -EOPNOTSUPP;
	if (flags & IOMMU_HWPT_ALLOC_NEST_PARENT)
		mflags |= MOCK_DOMAIN_NEST_PARENT;
	if (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)
		mflags |= MOCK_DOMAIN_DIRTY;

	hwpt = hwpt_obj_alloc(ctx, sizeof(*hp), REF_OBJ_HWPT_PAGING, hw, flags);
	if (!hwpt)
		return -ENOMEM;
	hp = container_of(hwpt, struct ref_hwpt_paging, common);
	hp->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;
	hp->dirty_capable = flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	ref_object_hold(ctx, &ioas->obj);
	hp->ioas = ioas;
	rc = mock_domain_alloc_paging_flags(hw->hw, pgsize_bitmap, mflags, &hp->common.dom);
	if (rc)
		goto err;
	rc = iopt_table_add_domain(&ioas->iopt, hp->common.dom);
	if (rc)
		goto err;
	ref_devs_lock(ctx);
	hp->ioas_next = ioas->hwpt_list;
	ioas->hwpt_list = hp;
	hp->linked = true;
	ref_devs_unlock(ctx);
	*out = hp;
	return 0;
err:
	ref_object_abort_and_destroy(ctx, &hwpt->obj);
	return rc;
}

/* ---- nested --------------------------------------------------------------------------------- */

void ref_hwpt_nested_destroy(struct ref_object *obj)
{
	struct ref_hwpt_nested *hn = container_of(obj, struct ref_hwpt_nested, common.obj);

	hwpt_destroy_event(&hn->common);
	if (hn->common.dom)
		mock_domain_free(hn->common.dom);
	if (hn->parent)
		ref_object_release(hn->common.ctx, &hn->parent->common.obj);
	hwpt_common_destroy(&hn->common);
}

/* iommu_copy_struct_from_user(): type must match (EINVAL, the callers' check), and min <= len
 * <= size (EINVAL): unlike the ioctl structs, driver data longer than the driver's struct is
 * refused even with a zero tail. A shorter one is zero-extended. */
static int copy_user_data(uint64_t uptr, uint32_t len, void *dst, size_t size, size_t min)
{
	if (len < min || len > size)
		return -EINVAL;
	memset(dst, 0, size);
	return ref_copy_from_user(dst, uptr, len);
}

static int hwpt_nested_alloc(struct ioasid_ctx *ctx, struct ref_hwpt_paging *parent,
			     struct ref_device *idev, const struct iommu_hwpt_alloc *cmd,
			     struct ref_hwpt_nested **out)
{
	struct ref_hw_iommu *hw = ref_device_hw(idev);
	struct ref_hwpt_nested *hn;
	struct ref_hwpt *hwpt;
	int rc;

	if ((cmd->flags & ~(IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID)) || !cmd->data_len)
		return -EOPNOTSUPP;
	/* The parent before the hardware: the kernel's core checks the parent, and only then
	 * does the driver refuse a nested domain it cannot build (the testbed's 6.12 VT-d without
	 * nesting: a plain parent is EINVAL). */
	if (parent->auto_domain || !parent->nest_parent || parent->common.iommu != hw) {
		ref_set_error("nested HWPT: parent HWPT %u is %s; allocate the parent with "
			      "IOMMU_HWPT_ALLOC_NEST_PARENT for this device's IOMMU",
			      parent->common.obj.id,
			      parent->auto_domain ? "an automatic domain" :
			      !parent->nest_parent ? "not a nesting parent" : "on another IOMMU");
		return -EINVAL;
	}
	if (!hw->nesting)
		return -EOPNOTSUPP;
	if (hw->hw_type == SELFTEST_HW_TYPE ? cmd->data_type != HWPT_DATA_SELFTEST :
					      cmd->data_type != IOMMU_HWPT_DATA_VTD_S1)
		return -EOPNOTSUPP;

	hwpt = hwpt_obj_alloc(ctx, sizeof(*hn), REF_OBJ_HWPT_NESTED, hw, cmd->flags);
	if (!hwpt)
		return -ENOMEM;
	hn = container_of(hwpt, struct ref_hwpt_nested, common);
	hn->data_type = cmd->data_type;
	ref_object_hold(ctx, &parent->common.obj);
	hn->parent = parent;

	if (cmd->data_type == HWPT_DATA_SELFTEST) {
		/* iommu_hwpt_selftest: iotlb (6.8), pagetable_type (≈6.19; nested ignores it) */
		struct { uint32_t iotlb, pagetable_type; } st;

		rc = copy_user_data(cmd->data_uptr, cmd->data_len, &st, sizeof(st),
				    sizeof(st.iotlb));
		if (rc)
			goto err;
		for (int i = 0; i < REF_SELFTEST_IOTLB_NUM; i++)
			hn->st_iotlb[i] = st.iotlb;
	} else {
		struct iommu_hwpt_vtd_s1 vtd;
		struct mock_s1_config cfg = { .format = MOCK_S1_VTD };

		rc = copy_user_data(cmd->data_uptr, cmd->data_len, &vtd, sizeof(vtd),
				    offsetof(struct iommu_hwpt_vtd_s1, __reserved) + 4);
		if (rc)
			goto err;
		if (vtd.flags & ~(uint64_t)(IOMMU_VTD_S1_SRE | IOMMU_VTD_S1_EAFE | IOMMU_VTD_S1_WPE)) {
			rc = -EOPNOTSUPP;
			goto err;
		}
		if (vtd.__reserved || (vtd.addr_width != 48 && vtd.addr_width != 57) ||
		    (vtd.pgtbl_addr & 0xfff) ||
		    vtd.addr_width > mock_iommu_caps(hw->hw)->ias_bits) {
			ref_set_error("nested HWPT: VT-d stage-1 data (pgtbl_addr 0x%llx, addr_width "
				      "%u) is invalid: the table must be 4 KiB aligned and the width "
				      "48 or 57 within the IOMMU's %u bits",
				      (unsigned long long)vtd.pgtbl_addr, vtd.addr_width,
				      mock_iommu_caps(hw->hw)->ias_bits);
			rc = -EINVAL;
			goto err;
		}
		cfg.pgtbl_addr = vtd.pgtbl_addr;
		cfg.addr_width = vtd.addr_width;
		cfg.write_protect = vtd.flags & IOMMU_VTD_S1_WPE;
		rc = mock_domain_alloc_nested(parent->common.dom, &cfg, &hn->common.dom);
		if (rc)
			goto err;
	}
	*out = hn;
	return 0;
err:
	ref_object_abort_and_destroy(ctx, &hwpt->obj);
	return rc;
}

/* ---- IOMMU_HWPT_ALLOC ------------------------------------------------------------------------- */

static int hwpt_iopf_handler(void *arg, const struct mock_fault *f)
{
	struct ref_hwpt *hwpt = arg;
	struct ref_device *idev = ref_device_dma_current();

	int rc;

	if (!hwpt->fault || !idev)
		return -EFAULT;
	rc = ref_fault_report(hwpt->fault, idev, hwpt, f);
	ref_device_dma_iopf_result(rc);
	return rc;
}

int ref_hwpt_alloc(struct ref_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	struct ioasid_ctx *ctx = ucmd->ctx;
	struct ref_hwpt *hwpt = NULL;
	struct ref_device *idev;
	struct ref_object *pt;
	int rc;

	if (cmd->__reserved) {
		rc = -EOPNOTSUPP;
		goto out;
	}
	if ((cmd->data_type == IOMMU_HWPT_DATA_NONE && cmd->data_len) ||
	    (cmd->data_type != IOMMU_HWPT_DATA_NONE && !cmd->data_len)) {
		rc = -EINVAL;
		goto out;
	}
	idev = ref_get_device(ctx, cmd->dev_id, &rc);
	if (!idev)
		goto out;
	pt = ref_get_object(ctx, cmd->pt_id, REF_OBJ_ANY, &rc);
	if (!pt) {
		rc = -EINVAL;
		goto out_put_idev;
	}
	rc = ref_devs_lock(ctx);
	if (rc)
		goto out_put_pt;
	if (pt->type == REF_OBJ_IOAS) {
		struct ref_hwpt_paging *hp;

		if (cmd->data_type != IOMMU_HWPT_DATA_NONE) {
			rc = -EOPNOTSUPP;   /* no driver takes user data for a paging domain */
			goto out_unlock;
		}
		rc = ref_hwpt_paging_alloc(ctx, container_of(pt, struct ref_ioas, obj),
					   ref_device_hw(idev), ref_device_dirty_capable(idev),
					   ref_device_pgsize_bitmap(idev), cmd->flags, &hp);
		if (rc)
			goto out_unlock;
		hwpt = &hp->common;
	} else if (pt->type == REF_OBJ_HWPT_PAGING) {
		struct ref_hwpt_nested *hn;

		rc = hwpt_nested_alloc(ctx, container_of(pt, struct ref_hwpt_paging, common.obj),
				       idev, cmd, &hn);
		if (rc)
			goto out_unlock;
		hwpt = &hn->common;
	} else {
		rc = -EINVAL;
		goto out_unlock;
	}

	if (cmd->flags & IOMMU_HWPT_FAULT_ID_VALID) {
		struct ref_fault *fault = ref_get_fault(ctx, cmd->fault_id, &rc);

		if (!fault)
			goto out_hwpt;
		hwpt->fault = fault;   /* keeps the lookup's reference as the HWPT's */
		if (hwpt->dom)
			mock_domain_set_fault_handler(hwpt->dom, hwpt_iopf_handler, hwpt);
	}
	cmd->out_hwpt_id = hwpt->obj.id;
	rc = ref_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_hwpt;
	ref_hwpt_announce(hwpt);
	ref_object_finalize(ctx, &hwpt->obj);
	goto out_unlock;

out_hwpt:
	ref_object_abort_and_destroy(ctx, &hwpt->obj);
out_unlock:
	ref_devs_unlock(ctx);
out_put_pt:
	ref_put_object(ctx, pt);
out_put_idev:
	ref_device_put(idev);
out:
	if (rc)
		IOASID_PROBE(hwpt_alloc, .ctx = ctx->cookie, .pt = cmd->pt_id,
			     .result = rc, .flags = IOASID_EVF_REFUSED);
	return rc;
}

/* ---- lookups for the selftest ABI ------------------------------------------------------------ */

int ref_hwpt_get_domain(struct ioasid_ctx *ctx, uint32_t hwpt_id, struct ref_object **obj,
			struct mock_domain **dom)
{
	int rc;
	struct ref_object *o = ref_get_object(ctx, hwpt_id, REF_OBJ_ANY, &rc);

	if (!o)
		return rc;
	if (o->type != REF_OBJ_HWPT_PAGING && o->type != REF_OBJ_HWPT_NESTED) {
		ref_put_object(ctx, o);
		return -ENOENT;
	}
	*obj = o;
	*dom = container_of(o, struct ref_hwpt, obj)->dom;
	return 0;
}

void ref_hwpt_put(struct ioasid_ctx *ctx, struct ref_object *obj)
{
	ref_put_object(ctx, obj);
}

/* MD_CHECK_IOTLB's lookup (iommufd_test_md_check_iotlb): a nested HWPT that is not the selftest's
 * mock nested domain (a VT-d stage 1) is EINVAL, as is an index beyond the four entries. */
int ref_hwpt_selftest_iotlb(struct ioasid_ctx *ctx, uint32_t hwpt_id, uint32_t idx,
			    uint32_t *value)
{
	struct ref_hwpt_nested *hn;
	struct ref_object *o;
	int rc = 0;

	o = ref_get_object(ctx, hwpt_id, REF_OBJ_HWPT_NESTED, &rc);
	if (!o)
		return rc;
	hn = container_of(o, struct ref_hwpt_nested, common.obj);
	if (hn->data_type != HWPT_DATA_SELFTEST || idx >= REF_SELFTEST_IOTLB_NUM)
		rc = -EINVAL;
	else
		*value = hn->st_iotlb[idx];
	ref_put_object(ctx, o);
	return rc;
}

/* ---- IOMMU_HWPT_INVALIDATE -------------------------------------------------------------------- */

static int invalidate_vtd(struct ref_hwpt_nested *hn, const struct iommu_hwpt_invalidate *cmd,
			  uint32_t *done)
{
	for (uint32_t i = 0; i < cmd->entry_num; i++) {
		struct iommu_hwpt_vtd_s1_invalidate inv;
		int rc = copy_user_data(cmd->data_uptr + (uint64_t)i * cmd->entry_len,
					cmd->entry_len, &inv, sizeof(inv),
					offsetof(struct iommu_hwpt_vtd_s1_invalidate, __reserved) + 4);

		if (rc)
			return rc;
		if ((inv.flags & ~IOMMU_VTD_INV_FLAGS_LEAF) || inv.__reserved)
			return -EOPNOTSUPP;
		if ((inv.addr & 0xfff) || (inv.npages == UINT64_MAX && inv.addr))
			return -EINVAL;
		if (inject_on(INJECT_NESTED_INV_DROPPED)) {
			/* MAP-4 bug "nested-inv-dropped": the request is validated and counted as
			 * done, but nothing is invalidated (no IOTLB_INV): the guest's stage-1
			 * edit stays shadowed by the cached translation. */
			(*done)++;
			continue;
		}
		if (inv.npages == UINT64_MAX || inv.npages >= (1ULL << 52))
			mock_domain_iotlb_invalidate(hn->common.dom, MOCK_PASID_ANY, 0, UINT64_MAX);
		else if (inv.npages)
			mock_domain_iotlb_invalidate(hn->common.dom, MOCK_PASID_ANY, inv.addr,
						     inv.npages << 12);
		(*done)++;
	}
	return 0;
}

static int invalidate_selftest(struct ref_hwpt_nested *hn,
			       const struct iommu_hwpt_invalidate *cmd, uint32_t *done)
{
	for (uint32_t i = 0; i < cmd->entry_num; i++) {
		struct { uint32_t flags, iotlb_id; } inv;
		int rc = copy_user_data(cmd->data_uptr + (uint64_t)i * cmd->entry_len,
					cmd->entry_len, &inv, sizeof(inv), sizeof(inv));

		if (rc)
			return rc;
		if (inv.flags & ~SELFTEST_INVALIDATE_ALL)
			return -EOPNOTSUPP;
		if (inv.iotlb_id >= REF_SELFTEST_IOTLB_NUM)
			return -EINVAL;
		if (inv.flags & SELFTEST_INVALIDATE_ALL)
			memset(hn->st_iotlb, 0, sizeof(hn->st_iotlb));
		else
			hn->st_iotlb[inv.iotlb_id] = 0;
		(*done)++;
	}
	return 0;
}

/* Bounds on one call, checked before the ID lookup as the kernel does (Debian 6.12.117's
 * iommufd_hwpt_invalidate: so that one call cannot hold a CPU; entry_len also bounds the
 * trailing-zero scan of each entry). */
#define REF_HWPT_INVALIDATE_ENTRY_LEN_MAX 4096u             /* PAGE_SIZE */
#define REF_HWPT_INVALIDATE_ENTRY_NUM_MAX (1u << 19)

int ref_hwpt_invalidate(struct ref_ucmd *ucmd)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	struct ref_hwpt_nested *hn;
	struct ref_object *pt;
	uint32_t done = 0;
	int rc;

	if (cmd->__reserved) {
		rc = -EOPNOTSUPP;
		goto out;
	}
	if (cmd->entry_num && (!cmd->data_uptr || !cmd->entry_len ||
			       cmd->entry_len > REF_HWPT_INVALIDATE_ENTRY_LEN_MAX ||
			       cmd->entry_num > REF_HWPT_INVALIDATE_ENTRY_NUM_MAX)) {
		rc = -EINVAL;
		goto out;
	}
	pt = ref_get_object(ucmd->ctx, cmd->hwpt_id, REF_OBJ_ANY, &rc);
	if (!pt)
		goto out;
	if (pt->type != REF_OBJ_HWPT_NESTED) {
		rc = -EINVAL;
		goto out_put;
	}
	hn = container_of(pt, struct ref_hwpt_nested, common.obj);
	if (hn->data_type == HWPT_DATA_SELFTEST)
		rc = cmd->data_type == HWPT_INVALIDATE_SELFTEST ?
			     invalidate_selftest(hn, cmd, &done) : -EINVAL;
	else
		rc = cmd->data_type == IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 ?
			     invalidate_vtd(hn, cmd, &done) : -EINVAL;
out_put:
	ref_put_object(ucmd->ctx, pt);
out:
	cmd->entry_num = done;
	if (ref_ucmd_respond(ucmd, sizeof(*cmd)))
		return -EFAULT;
	return rc;
}

/* ---- dirty tracking ----------------------------------------------------------------------------- */

static struct ref_hwpt_paging *get_hwpt_paging(struct ioasid_ctx *ctx, uint32_t id, int *err)
{
	struct ref_object *o = ref_get_object(ctx, id, REF_OBJ_HWPT_PAGING, err);

	return o ? container_of(o, struct ref_hwpt_paging, common.obj) : NULL;
}

static void discard_dirty(void *arg, uint64_t iova, uint64_t len) { }

int ref_hwpt_set_dirty_tracking(struct ref_ucmd *ucmd)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;
	struct ref_hwpt_paging *hp;
	bool enable = cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
	int rc;

	if (cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE)
		return -EOPNOTSUPP;
	hp = get_hwpt_paging(ucmd->ctx, cmd->hwpt_id, &rc);
	if (!hp)
		return rc;
	if (!hp->dirty_capable) {
		rc = -EOPNOTSUPP;
		goto out;
	}
	pthread_mutex_lock(&hp->ioas->iopt.lock);
	/* Enabling starts from a clean slate: stale dirty bits are cleared (the kernel's
	 * iopt_clear_dirty_data with no bitmap; our mock needs tracking on to read them). */
	if (enable && !mock_domain_dirty_tracking(hp->common.dom)) {
		rc = mock_domain_set_dirty_tracking(hp->common.dom, true);
		if (!rc)
			rc = mock_domain_read_and_clear_dirty(hp->common.dom, 0, UINT64_MAX, false,
							      discard_dirty, NULL);
	} else {
		rc = mock_domain_set_dirty_tracking(hp->common.dom, enable);
	}
	pthread_mutex_unlock(&hp->ioas->iopt.lock);
out:
	ref_put_object(ucmd->ctx, &hp->common.obj);
	return rc;
}

struct dirty_bitmap {
	uint64_t iova, page_size, nbits;
	uint8_t *bits;
};

static void set_dirty_bits(void *arg, uint64_t iova, uint64_t len)
{
	struct dirty_bitmap *b = arg;
	uint64_t first, last;

	if (iova + len <= b->iova)
		return;
	if (iova < b->iova) {
		len -= b->iova - iova;
		iova = b->iova;
	}
	first = (iova - b->iova) / b->page_size;
	last = (iova + len - 1 - b->iova) / b->page_size;
	for (uint64_t i = first; i <= last && i < b->nbits; i++)
		b->bits[i / 8] |= (uint8_t)(1u << (i % 8));
}

int ref_hwpt_get_dirty_bitmap(struct ref_ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;
	struct dirty_bitmap b = { 0 };
	struct ref_hwpt_paging *hp;
	uint64_t last, align, nbytes;
	int rc;

	if ((cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) || cmd->__reserved)
		return -EOPNOTSUPP;
	hp = get_hwpt_paging(ucmd->ctx, cmd->hwpt_id, &rc);
	if (!hp)
		return rc;
	if (!hp->dirty_capable) {
		rc = -EOPNOTSUPP;
		goto out;
	}
	if (check_add_overflow(cmd->iova, cmd->length - 1, &last) || !cmd->length) {
		rc = -EOVERFLOW;
		goto out;
	}
	align = hp->ioas->iopt.iova_alignment ? hp->ioas->iopt.iova_alignment : 1;
	if ((cmd->iova & (align - 1)) || ((last + 1) & (align - 1)) || !cmd->page_size ||
	    (cmd->page_size & (cmd->page_size - 1)) || (cmd->iova & (cmd->page_size - 1)) ||
	    ((last + 1) & (cmd->page_size - 1))) {
		rc = -EINVAL;
		goto out;
	}
	b.iova = cmd->iova;
	b.page_size = cmd->page_size;
	b.nbits = cmd->length / cmd->page_size;
	nbytes = (b.nbits + 7) / 8;
	if (nbytes > (256ULL << 20)) {
		rc = -ENOMEM;
		goto out;
	}
	b.bits = ioasid_zalloc(nbytes);
	if (!b.bits) {
		rc = -ENOMEM;
		goto out;
	}
	/* The kernel sets bits in the user's bitmap and leaves the others as they were. */
	rc = ref_copy_from_user(b.bits, cmd->data, nbytes);
	if (!rc) {
		pthread_mutex_lock(&hp->ioas->iopt.lock);
		rc = mock_domain_read_and_clear_dirty(
			hp->common.dom, cmd->iova, cmd->length,
			cmd->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, set_dirty_bits, &b);
		pthread_mutex_unlock(&hp->ioas->iopt.lock);
	}
	if (!rc)
		rc = ref_copy_to_user(cmd->data, b.bits, nbytes);
	ioasid_free(b.bits);
out:
	ref_put_object(ucmd->ctx, &hp->common.obj);
	return rc;
}
