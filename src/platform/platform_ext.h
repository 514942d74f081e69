/* platform_ext.h — additions to the platform contract (platform.h) for tools and tests.
 *
 * platform.h stays the contract the reference and VFIO layers code against; what is here only
 * serves ioasid-platform, the unit tests and the docs: the canonical text form of a topology,
 * its hash, joining a shared host without knowing its topology, and the limits of the file
 * format. Nothing here changes a platform.h behaviour.
 */
#ifndef IOASID_PLATFORM_PLATFORM_EXT_H
#define IOASID_PLATFORM_PLATFORM_EXT_H

#include "platform/platform.h"

/* Limits of the topology file format (docs/TOPOLOGY.md). */
#define PLAT_TOPO_MAX_BYTES   (1u << 20)   /* a larger file is refused (-EFBIG / -EINVAL) */
#define PLAT_TOPO_MAX_LINE    1024         /* bytes per line, without the line end */
#define PLAT_TOPO_MAX_WORDS   32           /* words per line */
#define PLAT_TOPO_MAX_PASID   20           /* PCIe PASID width limit */
#define PLAT_TOPO_MAX_ID      0x7fffffffu  /* group IDs and VFIO indexes */

/* Shared hosts: /dev/shm/ioasid-platform.<name>, name of 1..PLAT_SHARED_NAME_MAX characters
 * from [A-Za-z0-9_.-], not starting with '.'. */
#define PLAT_SHARED_DIR       "/dev/shm"
#define PLAT_SHARED_PREFIX    "ioasid-platform."
#define PLAT_SHARED_NAME_MAX  64

/* The canonical text form of `t`: a topology file that parses back to the same content and
 * hash (comments, spacing and key order normalised). A malloc'd NUL-terminated string in *out;
 * its length, or -ENOMEM. */
int plat_topology_format(const struct plat_topology *t, char **out);
/* FNV-1a 64 over the canonical text form, without the source name. */
uint64_t plat_topology_hash(const struct plat_topology *t);
/* The file-format words for enum values ("vtd", "dma-api"); "?" for an unknown value. */
const char *plat_iommu_type_name(enum plat_iommu_type type);
const char *plat_driver_kind_name(enum plat_driver_kind kind);
const char *plat_domain_name(enum plat_group_domain d);

/* Join an existing shared host whatever topology it was made from: -ENOENT if there is none
 * (err says so), -EINVAL for a bad name or a segment made by another version of ioasid. */
int platform_join_shared(const char *shared_name, struct platform **out, char *err,
			 size_t errlen);
/* The segment path of a shared host in buf: 0, or -EINVAL for a bad name (message in buf). */
int platform_shared_path(const char *shared_name, char *buf, size_t len);
/* The shared name, or NULL for a private host. */
const char *platform_shared_name(const struct platform *p);

/* Test hook: take the host lock and return without releasing it, so that a forked child can
 * die holding it (robust-mutex recovery). Never used outside tests. */
int platform_debug_hold_lock(struct platform *p);

#endif
