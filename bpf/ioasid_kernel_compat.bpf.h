/* ioasid_kernel_compat.bpf.h — what differs between kernels, for bpf/ioasid_kernel.bpf.c.
 *
 * Owns every read of a kernel structure the kernel programs make, so that version differences
 * live here and nowhere else:
 *  - the iommufd, VFIO and IOMMU-driver structures are private to their modules and absent from
 *    a vmlinux.h dumped on a kernel built without them (this build host has no IOMMUFD, VFIO,
 *    Intel or AMD IOMMU), so they are declared here as CO-RE "flavours" (name___ioasid, with
 *    only the fields we read); libbpf matches them by name against vmlinux and module BTF at
 *    load time;
 *  - a field that some kernels lack is read only behind bpf_core_field_exists(), so the program
 *    still verifies there (the read is then dead code and its relocation is never executed);
 *  - every pointer that comes from a probe argument is read with bpf_probe_read_kernel()
 *    (BPF_CORE_READ), never dereferenced: raw_tp arguments and bpf_get_func_arg() values are
 *    plain scalars, and NULL or garbage pointers must yield "unreadable", not a fault.
 * Invariant: the helpers here never fail; they return 0 / "" and report unreadability to the
 * caller, which flags the event (IOASID_EVF_BAD_DEV) and counts IOASID_STAT_READ_ERR.
 */
#ifndef IOASID_KERNEL_COMPAT_BPF_H
#define IOASID_KERNEL_COMPAT_BPF_H

#include <bpf/bpf_core_read.h>

/* ---- module-private structures (flavours; only the fields we read) ------------------------ */

/* drivers/iommu/iommufd/iommufd_private.h. `id` has kept its name since v6.2. */
struct iommufd_object___ioasid {
	unsigned int id;
} __attribute__((preserve_access_index));

struct iommufd_group___ioasid {
	struct iommu_group *group;
} __attribute__((preserve_access_index));

struct iommufd_device___ioasid {
	struct iommufd_object___ioasid obj;
	void *ictx;                                  /* struct iommufd_ctx * */
	struct iommufd_group___ioasid *igroup;       /* v6.4+; older kernels: `group` */
	struct device *dev;
} __attribute__((preserve_access_index));

/* Pre-6.4 struct iommufd_device held the iommu_group directly. */
struct iommufd_device___ioasid_old {
	struct iommu_group *group;
} __attribute__((preserve_access_index));

struct io_pagetable___ioasid {
	unsigned long iova_alignment;
} __attribute__((preserve_access_index));

/* struct iommufd_ioas embeds its io_pagetable: iopt_*() get &ioas->iopt, container_of it. */
struct iommufd_ioas___ioasid {
	struct iommufd_object___ioasid obj;
	struct io_pagetable___ioasid iopt;
} __attribute__((preserve_access_index));

struct iommufd_hw_pagetable___ioasid {
	struct iommufd_object___ioasid obj;
} __attribute__((preserve_access_index));

struct iommufd_hwpt_paging___ioasid {
	struct iommufd_hw_pagetable___ioasid common;
} __attribute__((preserve_access_index));

/* drivers/vfio/vfio.h (v6.6+, device cdev). */
struct vfio_device___ioasid {
	struct device *dev;
} __attribute__((preserve_access_index));

struct vfio_device_file___ioasid {
	struct vfio_device___ioasid *device;
	void *iommufd;                               /* struct iommufd_ctx * */
	__u32 devid;
} __attribute__((preserve_access_index));

/* drivers/iommu/amd/amd_iommu_types.h: the domain ID written to the device table; the
 * iommu_domain the core sees is embedded as `domain`. */
struct protection_domain___ioasid {
	struct iommu_domain domain;
	__u16 id;
} __attribute__((preserve_access_index));

/* drivers/iommu/intel/cache.h (v6.10+): one IOMMU's view of a domain. */
struct cache_tag___ioasid {
	__u16 domain_id;
	__u32 pasid;
} __attribute__((preserve_access_index));

/* AMD: amd_iommu_domain_flush_pages(dom, 0, CMD_INV_IOMMU_ALL_PAGES_ADDRESS) flushes all. */
#define IOASID_AMD_INV_ALL_PAGES 0x7fffffffffffffffULL

/* include/uapi/linux/iommufd.h enum iommufd_hwpt_alloc_flags. */
#define IOASID_HWPT_ALLOC_NEST_PARENT      (1u << 0)
#define IOASID_HWPT_ALLOC_DIRTY_TRACKING   (1u << 1)
#define IOASID_HWPT_ALLOC_PASID            (1u << 3)

#define IOASID_MAX_ERRNO 4095
#define IOASID_IS_ERR_VALUE(x) ((unsigned long)(x) >= (unsigned long)-IOASID_MAX_ERRNO)

/* ---- struct device -------------------------------------------------------------------------- */

/* dev_name(dev) into name[IOASID_EVENT_NAME_LEN] (init_name until device_add(), then
 * kobj.name). Returns 0, or -1 when dev is NULL or any read fails (name is then ""). */
static __always_inline int ioasid_read_dev_name(const struct device *dev, char *name)
{
	const char *s = NULL;

	name[0] = 0;
	if (!dev)
		return -1;
	if (bpf_core_read(&s, sizeof(s), &dev->init_name))
		return -1;
	if (!s && bpf_core_read(&s, sizeof(s), &dev->kobj.name))
		return -1;
	if (!s)
		return 0;   /* a device without a name yet: readable, just unnamed */
	if (bpf_probe_read_kernel_str(name, IOASID_EVENT_NAME_LEN, s) < 0) {
		name[0] = 0;
		return -1;
	}
	return 0;
}

/* The IOMMU group ID of dev (0 when it has none or it is unreadable). */
static __always_inline __u32 ioasid_dev_group_id(const struct device *dev)
{
	struct iommu_group *g = NULL;
	int id = 0;

	if (!dev || bpf_core_read(&g, sizeof(g), &dev->iommu_group) || !g)
		return 0;
	if (bpf_core_read(&id, sizeof(id), &g->id))
		return 0;
	return id;
}

/* The group's DMA owner and owner count (v5.19+: owner/owner_cnt). */
static __always_inline void ioasid_dev_group_owner(const struct device *dev, __u64 *owner,
						   __u64 *owner_cnt)
{
	struct iommu_group *g = NULL;
	void *o = NULL;
	unsigned int cnt = 0;

	*owner = 0;
	*owner_cnt = 0;
	if (!dev || bpf_core_read(&g, sizeof(g), &dev->iommu_group) || !g)
		return;
	if (bpf_core_field_exists(g->owner) && !bpf_core_read(&o, sizeof(o), &g->owner))
		*owner = (__u64)o;
	if (bpf_core_field_exists(g->owner_cnt) &&
	    !bpf_core_read(&cnt, sizeof(cnt), &g->owner_cnt))
		*owner_cnt = cnt;
}

/* ---- iommufd objects ------------------------------------------------------------------------ */

static __always_inline __u32 ioasid_idev_id(const struct iommufd_device___ioasid *idev)
{
	return idev ? BPF_CORE_READ(idev, obj.id) : 0;
}

static __always_inline __u64 ioasid_idev_ictx(const struct iommufd_device___ioasid *idev)
{
	return idev ? (__u64)BPF_CORE_READ(idev, ictx) : 0;
}

static __always_inline struct device *ioasid_idev_dev(const struct iommufd_device___ioasid *idev)
{
	return idev ? BPF_CORE_READ(idev, dev) : NULL;
}

/* The IOMMU group ID of an iommufd device: through igroup (v6.4+) or the group it held. */
static __always_inline __u32 ioasid_idev_group_id(const struct iommufd_device___ioasid *idev)
{
	struct iommu_group *g = NULL;
	int id = 0;

	if (!idev)
		return 0;
	if (bpf_core_field_exists(idev->igroup)) {
		g = BPF_CORE_READ(idev, igroup, group);
	} else {
		const struct iommufd_device___ioasid_old *old = (const void *)idev;

		if (bpf_core_field_exists(old->group))
			g = BPF_CORE_READ(old, group);
	}
	if (!g || bpf_core_read(&id, sizeof(id), &g->id))
		return 0;
	return id;
}

/* The IOAS ID of an io_pagetable (struct iommufd_ioas embeds it as `iopt`). */
static __always_inline __u32 ioasid_iopt_ioas_id(__u64 iopt)
{
	const struct iommufd_ioas___ioasid *ioas;

	if (!iopt)
		return 0;
	ioas = (const void *)(iopt - bpf_core_field_offset(struct iommufd_ioas___ioasid, iopt));
	return BPF_CORE_READ(ioas, obj.id);
}

static __always_inline __u32 ioasid_hwpt_paging_id(__u64 hwpt_paging)
{
	const struct iommufd_hwpt_paging___ioasid *hp = (const void *)hwpt_paging;

	return hp ? BPF_CORE_READ(hp, common.obj.id) : 0;
}

static __always_inline __u32 ioasid_ioas_id(__u64 ioas)
{
	const struct iommufd_ioas___ioasid *p = (const void *)ioas;

	return p ? BPF_CORE_READ(p, obj.id) : 0;
}

/* A u32 behind a kernel pointer (out-parameters such as u32 *id); 0 if unreadable. */
static __always_inline __u32 ioasid_read_u32(__u64 ptr)
{
	__u32 v = 0;

	if (ptr)
		bpf_probe_read_kernel(&v, sizeof(v), (const void *)ptr);
	return v;
}

static __always_inline __u64 ioasid_read_ulong(__u64 ptr)
{
	unsigned long v = 0;

	if (ptr)
		bpf_probe_read_kernel(&v, sizeof(v), (const void *)ptr);
	return v;
}

/* ---- VFIO ----------------------------------------------------------------------------------- */

static __always_inline struct device *ioasid_vfio_df_dev(const struct vfio_device_file___ioasid *df)
{
	return df ? BPF_CORE_READ(df, device, dev) : NULL;
}

static __always_inline __u64 ioasid_vfio_df_ictx(const struct vfio_device_file___ioasid *df)
{
	if (!df || !bpf_core_field_exists(df->iommufd))
		return 0;
	return (__u64)BPF_CORE_READ(df, iommufd);
}

static __always_inline __u32 ioasid_vfio_df_devid(const struct vfio_device_file___ioasid *df)
{
	if (!df || !bpf_core_field_exists(df->devid))
		return 0;
	return BPF_CORE_READ(df, devid);
}

/* ---- IOMMU drivers -------------------------------------------------------------------------- */

static __always_inline __u32 ioasid_amd_domain_id(__u64 pdom)
{
	const struct protection_domain___ioasid *d = (const void *)pdom;

	return d ? BPF_CORE_READ(d, id) : 0;
}

/* to_pdomain(): the protection_domain around a struct iommu_domain. */
static __always_inline __u32 ioasid_amd_iommu_domain_id(__u64 domain)
{
	if (!domain)
		return 0;
	return ioasid_amd_domain_id(domain -
				    bpf_core_field_offset(struct protection_domain___ioasid, domain));
}

static __always_inline void ioasid_cache_tag(__u64 tag, __u32 *domain_id, __u32 *pasid)
{
	const struct cache_tag___ioasid *t = (const void *)tag;

	*domain_id = 0;
	*pasid = 0;
	if (!t)
		return;
	*domain_id = BPF_CORE_READ(t, domain_id);
	if (bpf_core_field_exists(t->pasid))
		*pasid = BPF_CORE_READ(t, pasid);
}

static __always_inline void ioasid_gather_range(__u64 gather, __u64 *iova, __u64 *length)
{
	const struct iommu_iotlb_gather *g = (const void *)gather;
	unsigned long start = 0, end = 0;

	*iova = 0;
	*length = 0;
	if (!g)
		return;
	start = BPF_CORE_READ(g, start);
	end = BPF_CORE_READ(g, end);
	if (end >= start) {   /* an empty gather is start = ULONG_MAX, end = 0 */
		*iova = start;
		*length = end - start + 1;
	}
}

#endif
