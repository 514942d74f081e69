/* inject.h — named bugs of the reference, for ioasid-check's acceptance tests.
 *
 * Each bug is real code at the reference's real decision point, guarded by one
 *
 *     if (inject_on(INJECT_MAP_OVERLAP))     // MAP-1 bug "map-overlap": ...
 *
 * so `grep -rn INJECT_MAP_OVERLAP src` (or the bug's name) finds it. The table below is the
 * catalogue: enum constant, the name users pass (IOASID_INJECT, ioasid_inject_set), the DESIGN.md
 * rule the bug breaks, and what it does. docs/CHECKING.md "Injected bugs" describes each one.
 *
 * Cost when off (always, unless a test switches one on): one relaxed atomic load and a
 * not-taken branch.
 */
#ifndef IOASID_COMMON_INJECT_H
#define IOASID_COMMON_INJECT_H

#include <stdbool.h>
#include <stdint.h>

#define IOASID_INJECT_BUGS(X)                                                                      \
	X(BIND_TWICE,             "bind-twice",              "OWN-1",                            \
	  "a device bound to one context can be bound by a second one")                         \
	X(ATTACH_FOREIGN,         "attach-foreign",          "OWN-2",                            \
	  "an attach resolves an unknown pt_id in another context of the process")              \
	X(GROUP_TWO_OWNERS,       "group-two-owners",        "OWN-3",                            \
	  "a device of a group owned by one context can be bound by another")                   \
	X(DESTROY_IN_USE,         "destroy-in-use",          "OWN-4",                            \
	  "IOMMU_DESTROY of a used IOAS/HWPT unpublishes it instead of EBUSY")                  \
	X(CLAIM_IGNORES_DMA_API,  "claim-ignores-dma-api",   "GRP-1",                            \
	  "a group's first claim ignores a sibling on a DMA-API driver")                        \
	X(PROBE_CLAIMED_GROUP,    "probe-claimed-group",     "GRP-2",                            \
	  "a DMA-API driver binds to a device of a claimed group")                              \
	X(GROUP_SPLIT_DOMAIN,     "group-split-domain",      "GRP-3",                            \
	  "a second device of a group gets its own RID domain")                                 \
	X(PASID_WIDTH_OFF_BY_ONE, "pasid-width-off-by-one",  "PAS-1",                            \
	  "a PASID attach accepts pasid == 1 << width")                                         \
	X(PASID_DOUBLE_ATTACH,    "pasid-double-attach",     "PAS-2",                            \
	  "attach of an attached (device, PASID != 0) replaces instead of EBUSY/EINVAL")        \
	X(PASID_RID_INCOMPATIBLE, "pasid-rid-incompatible",  "PAS-3",                            \
	  "a PASID attach skips the PASID-compatible RID domain check")                         \
	X(PASID_DETACH_NO_FLUSH,  "pasid-detach-no-flush",   "PAS-4",                            \
	  "a PASID detach skips the IOTLB flush of that PASID")                                 \
	X(MAP_OVERLAP,            "map-overlap",             "MAP-1",                            \
	  "a FIXED_IOVA map skips the overlap check")                                           \
	X(UNMAP_SKIP_FLUSH,       "unmap-skip-flush",        "MAP-2",                            \
	  "an unmap skips the IOTLB flush")                                                     \
	X(UNMAP_LEAK_PINS,        "unmap-leak-pins",         "MAP-3",                            \
	  "an unmap does not uncharge the pinned-page accounting")                              \
	X(NESTED_INV_DROPPED,     "nested-inv-dropped",      "MAP-4",                            \
	  "IOMMU_HWPT_INVALIDATE of a nested HWPT invalidates nothing")

enum inject_bug {
#define INJECT_X_ENUM(up, name, rule, doc) INJECT_##up,
	IOASID_INJECT_BUGS(INJECT_X_ENUM)
#undef INJECT_X_ENUM
	INJECT_NR
};

_Static_assert(INJECT_NR <= 32, "the bug mask is 32 bits");

/* Bit i set: bug i is on. Written by ioasid_inject_set(), read with one relaxed load. */
extern uint32_t inject_mask __attribute__((visibility("hidden")));

static inline bool inject_on(enum inject_bug bug)
{
	return __builtin_expect((__atomic_load_n(&inject_mask, __ATOMIC_RELAXED) >> bug) & 1, 0);
}

/* Apply IOASID_INJECT once per process (first context open or platform load; idempotent,
 * thread-safe). An explicit ioasid_inject_set() done earlier wins. */
void inject_init_from_env(void);

#endif
