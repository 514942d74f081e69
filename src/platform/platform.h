/* platform.h — the mock host: which IOMMU instances exist, which devices sit behind them, how
 * they form groups, which driver each device is bound to, and who owns each group's DMA.
 *
 * Two halves:
 *  - the TOPOLOGY (struct plat_topology): immutable once loaded. Built in (the default host) or
 *    parsed from a topology file (docs/TOPOLOGY.md). A parse is all-or-nothing: any error gives
 *    -EINVAL with "FILE:LINE: message" and nothing is half-loaded.
 *  - the HOST STATE (struct platform): what changes at run time, exactly what the kernel keeps in
 *    struct iommu_group (owner, owner_cnt, domain kind, pasid_array non-empty) and struct
 *    device (bound driver), plus VFIO's file-level exclusivity (group fd vs cdev). It lives in
 *    a shared-memory segment (/dev/shm/ioasid-platform.<name>) when the host is shared, so that
 *    several processes (two VMMs, `ioasid-platform bind`) see one host as on a real machine; or
 *    in private memory when it is not (unit tests). A process-shared robust mutex guards it.
 *    Entries held by processes that died are reclaimed on the next lock (owner pid + start
 *    time no longer alive), as the kernel releases a dead process's files.
 *
 * Ownership rules (kernel: drivers/iommu/iommu.c, see shared/reference/iommufd-uapi.md §6):
 *  - owner_cnt counts either kernel DMA-API driver users (owner == none) or claims by ONE user
 *    owner (an iommufd context, or a legacy VFIO container).
 *  - platform_device_claim_dma_owner(): owner_cnt > 0 and the owner differs (including "kernel
 *    DMA-API driver") → -EPERM. First claim: needs the group on its default domain and no PASID
 *    attached (-EBUSY), then moves the group to the BLOCKED domain. Same owner → owner_cnt++.
 *  - platform_device_release_dma_owner(): the last release puts the group back on DEFAULT.
 *  - binding a DMA-API kernel driver = iommu_device_use_default_domain(): -EBUSY when owner_cnt
 *    > 0 and (a user owner is set, or the group is not on its default domain, or a PASID is
 *    attached); else owner_cnt++. Unbinding it = owner_cnt--.
 *  - drivers that manage their own DMA (driver_managed_dma: vfio-pci, pci-stub) take no part in
 *    owner_cnt at bind time; a device bound to such a driver can then be claimed by a user.
 *  - GRP-1: a claim is refused while ANY device of the group has a DMA-API driver bound; the
 *    message names that device and its driver, and says how to fix it.
 *
 * Every function that can refuse fills `why` (may be NULL) with one line that names the object,
 * the value and what to do, e.g.
 *   "group 12: device 0000:02:01.0 is bound to kernel driver e1000e, which uses the DMA API;
 *    unbind it (ioasid-platform unbind 0000:02:01.0) or bind it to vfio-pci"
 *
 * Indexes: devices, groups and IOMMUs are referred to by their index in the topology arrays
 * (0-based, stable for the life of the platform). Group *IDs* (the N of /dev/vfio/N) and VFIO
 * device indexes (the N of /dev/vfio/devices/vfioN) are separate, user-visible numbers.
 */
#ifndef IOASID_PLATFORM_PLATFORM_H
#define IOASID_PLATFORM_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLAT_NAME_MAX     32
#define PLAT_MAX_IOMMUS   16
#define PLAT_MAX_GROUPS   64
#define PLAT_MAX_DEVICES  128
#define PLAT_MAX_DRIVERS  32
#define PLAT_MAX_RESV     4      /* reserved IOVA regions per IOMMU (e.g. the x86 MSI window) */

/* IOMMU hardware families as IOMMU_GET_HW_INFO reports them (enum iommu_hw_info_type). */
enum plat_iommu_type {
	PLAT_IOMMU_INTEL_VTD = 1,    /* IOMMU_HW_INFO_TYPE_INTEL_VTD */
	PLAT_IOMMU_ARM_SMMUV3 = 2,   /* IOMMU_HW_INFO_TYPE_ARM_SMMUV3 */
	PLAT_IOMMU_AMD = 4,          /* IOMMU_HW_INFO_TYPE_AMD */
};

struct plat_resv_region {
	uint64_t start, last;        /* inclusive */
	bool sw_msi;                 /* an MSI window: reserved in every IOAS a device attaches to */
};

struct plat_iommu {
	char name[PLAT_NAME_MAX];    /* "dmar0" */
	enum plat_iommu_type type;
	uint64_t pgsize_bitmap;      /* leaf sizes: subset of 4K|2M|1G, 4K required */
	unsigned int ias_bits;       /* IOVA width: 39, 48 or 57 */
	unsigned int pasid_bits;     /* 0: no PASID support; else max PASID = 2^bits - 1 */
	bool nesting;                /* stage-1 over stage-2 (IOMMU_HWPT_ALLOC_NEST_PARENT) */
	bool dirty_tracking;         /* IOMMU_HWPT_ALLOC_DIRTY_TRACKING */
	bool coherent;               /* IOMMU_CAP_CACHE_COHERENCY (bind needs it: else EINVAL) */
	bool iopf;                   /* can report page requests (PRI) */
	uint64_t vtd_cap, vtd_ecap;  /* VT-d only: CAP/ECAP that IOMMU_GET_HW_INFO reports; 0:
				      * derived from the features above */
	uint32_t nr_resv;
	struct plat_resv_region resv[PLAT_MAX_RESV];
};

enum plat_driver_kind {
	PLAT_DRV_USER = 1,           /* vfio-pci: driver_managed_dma, exposes /dev/vfio nodes */
	PLAT_DRV_DMA_API = 2,        /* a kernel driver doing DMA through the default domain */
	PLAT_DRV_MANAGED = 3,        /* a kernel driver managing its own DMA (driver_managed_dma) */
};

struct plat_driver {
	char name[PLAT_NAME_MAX];    /* "vfio-pci", "e1000e", "snd_hda_intel", "pci-stub" */
	enum plat_driver_kind kind;
};

struct plat_group {
	uint32_t id;                 /* N of /dev/vfio/N; unique, >= 0 */
	uint32_t iommu;              /* index into iommus */
	bool isolated_msi;           /* false: bind gives EPERM (no MSI isolation) */
};

struct plat_device {
	char name[PLAT_NAME_MAX];    /* PCI BDF "0000:00:03.0", or an mdev UUID */
	uint32_t vfio_index;         /* N of /dev/vfio/devices/vfioN; unique */
	uint32_t group;              /* index into groups; the IOMMU is the group's */
	unsigned int pasid_bits;     /* device's PASID width (0: none); effective = min with IOMMU */
	bool ats, pri, enqcmd;
	bool sw_table;               /* mdev-like: no IOMMU translation of its own; uses access pins */
	bool is_vf;
	int driver;                  /* driver bound at boot: index into drivers, -1 for none */
};

struct plat_topology {
	char source[128];            /* "built-in default" or the file path */
	uint32_t nr_iommus, nr_groups, nr_devices, nr_drivers;
	struct plat_iommu iommus[PLAT_MAX_IOMMUS];
	struct plat_group groups[PLAT_MAX_GROUPS];
	struct plat_device devices[PLAT_MAX_DEVICES];
	struct plat_driver drivers[PLAT_MAX_DRIVERS];
	uint64_t hash;               /* of the content: processes sharing a host must agree */
};

/* ---- topology (topology.c) -------------------------------------------------------------- */
/* The built-in default host (docs/TOPOLOGY.md describes it). Never NULL, never freed. */
const struct plat_topology *plat_topology_default(void);
/* Parse a topology file's text. `source` names it in messages. 0 and *out (free with
 * plat_topology_free), or -EINVAL / -ENOMEM with "source:LINE: message" in err. */
int plat_topology_parse(const char *text, size_t len, const char *source,
			struct plat_topology **out, char *err, size_t errlen);
int plat_topology_load_file(const char *path, struct plat_topology **out, char *err,
			    size_t errlen);
void plat_topology_free(struct plat_topology *topo);
/* Lookups: index or -ENODEV. */
int plat_topology_find_device(const struct plat_topology *t, const char *name);
int plat_topology_find_vfio(const struct plat_topology *t, uint32_t vfio_index);
int plat_topology_find_group_id(const struct plat_topology *t, uint32_t group_id);
int plat_topology_find_driver(const struct plat_topology *t, const char *name);
/* Effective PASID width of a device: min(device, IOMMU); 0 if either lacks PASID. */
unsigned int plat_device_pasid_bits(const struct plat_topology *t, uint32_t dev);

/* ---- host state (state.c) --------------------------------------------------------------- */
struct platform;

/* Who owns a group's DMA: an iommufd context or a VFIO container of some process.
 * The platform fills pid/start time itself; `cookie` is unique within the process. */
struct plat_owner {
	int32_t pid;
	uint64_t pid_start;          /* /proc/PID/stat starttime: guards against pid reuse */
	uint64_t cookie;
};

enum plat_group_domain {
	PLAT_DOMAIN_DEFAULT = 0,     /* the kernel's default (DMA API) domain */
	PLAT_DOMAIN_BLOCKED = 1,     /* claimed, nothing attached: all DMA blocked */
	PLAT_DOMAIN_USER = 2,        /* a user's domain is attached */
};

/* Open the host. shared_name NULL: private to this process. Otherwise the segment
 * /dev/shm/ioasid-platform.<shared_name> is created from `topo` if absent, or joined if it
 * exists and its topology hash matches (-EEXIST with a message naming both sources if not).
 * The platform keeps its own copy of the topology. */
int platform_open(const struct plat_topology *topo, const char *shared_name,
		  struct platform **out, char *err, size_t errlen);
void platform_close(struct platform *p);
/* Remove a shared segment (ioasid-platform reset). -ENOENT if none. */
int platform_unlink_shared(const char *shared_name);

/* The process's platform, opened on first use from the environment:
 *   IOASID_TOPOLOGY=FILE   topology file (default: built in)
 *   IOASID_PLATFORM=NAME   shared host name (unset or empty: private)
 * Returns 0 and *out, or -errno with the reason printed once to stderr. */
int platform_default(struct platform **out);
/* Replace the process's platform (tests, tools). Takes ownership of p; the old one is closed.
 * Only valid while no context is open. */
void platform_set_default(struct platform *p);

const struct plat_topology *platform_topology(const struct platform *p);

/* Ownership (see the rules above). `dev`/`group` are indexes. */
int platform_device_claim_dma_owner(struct platform *p, uint32_t dev, uint64_t cookie,
				    char *why, size_t whylen);
/* The same; on a refusal *blocker = the device (index + 1) whose DMA-API driver or owner's
 * claim blocks it, 0 for another cause (DEV_BIND's pt). */
int platform_device_claim_dma_owner_blocker(struct platform *p, uint32_t dev, uint64_t cookie,
					    uint32_t *blocker, char *why, size_t whylen);
void platform_device_release_dma_owner(struct platform *p, uint32_t dev);
/* Legacy VFIO group path (iommu_group_claim_dma_owner): -EPERM if owner_cnt != 0. */
int platform_group_claim_dma_owner(struct platform *p, uint32_t group, uint64_t cookie,
				   char *why, size_t whylen);
void platform_group_release_dma_owner(struct platform *p, uint32_t group);
/* Is the group viable for a user (VFIO_GROUP_FLAGS_VIABLE): no device with a DMA-API driver.
 * On false, why names the first such device and its driver. */
bool platform_group_viable(struct platform *p, uint32_t group, char *why, size_t whylen);

/* What the group's RID translation is (set by the reference on attach/detach). */
void platform_group_set_domain(struct platform *p, uint32_t group, enum plat_group_domain d,
			       uint32_t hw_domain_id);
/* PASIDs attached in the group (the kernel's pasid_array): +1 / -1. */
void platform_group_pasid_get(struct platform *p, uint32_t group);
void platform_group_pasid_put(struct platform *p, uint32_t group);

/* Drivers, as sysfs bind/unbind. bind: -ENOENT unknown driver, -EBUSY device already has a
 * driver or (DMA-API driver) the group is claimed; unbind: -ENODEV no driver, -EBUSY a user
 * driver whose device is open by a user (the message names the pid). */
int platform_driver_bind(struct platform *p, uint32_t dev, const char *driver, char *why,
			 size_t whylen);
int platform_driver_unbind(struct platform *p, uint32_t dev, char *why, size_t whylen);
/* The driver bound now: index into drivers or -1. */
int platform_device_driver(struct platform *p, uint32_t dev);

/* VFIO file-level exclusivity (drivers/vfio/group.c + device_cdev.c):
 *  - a group fd (/dev/vfio/N) can be open once at a time (-EBUSY), and not while a device of
 *    the group is bound through its cdev (-EBUSY);
 *  - a cdev bind is refused while the group fd is open (-EBUSY);
 *  - both need every device that has a driver to be on a user driver (vfio-pci) for the device
 *    being opened: -ENODEV if the device itself is not on a PLAT_DRV_USER driver. */
int platform_vfio_group_open(struct platform *p, uint32_t group, char *why, size_t whylen);
void platform_vfio_group_close(struct platform *p, uint32_t group);
int platform_vfio_cdev_bind(struct platform *p, uint32_t dev, char *why, size_t whylen);
void platform_vfio_cdev_unbind(struct platform *p, uint32_t dev);

/* A consistent copy of the mutable state, for tools (ioasid-platform, ioasid-top). */
struct plat_state_snapshot {
	struct {
		struct plat_owner owner;      /* pid 0: none */
		uint32_t owner_cnt;
		enum plat_group_domain domain;
		uint32_t hw_domain_id;
		uint32_t pasid_cnt;
		int32_t group_fd_pid;         /* 0: group fd not open */
		uint32_t cdev_bound;          /* devices bound through their cdev */
	} groups[PLAT_MAX_GROUPS];
	struct {
		int driver;                   /* -1: none */
		int32_t user_pid;             /* process that has it open through VFIO, 0 none */
	} devices[PLAT_MAX_DEVICES];
};
int platform_snapshot(struct platform *p, struct plat_state_snapshot *out);

#endif
