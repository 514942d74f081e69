/* rules.c — the rule catalogue: stable ids and statements (IOASID_RULES in ioasid/check.h),
 * the evidence each rule accepts, and the event types it cannot be checked without.
 *
 * `needs` decides observability: a source that cannot produce one of them (opts.observable)
 * makes the rule NOT_CHECKABLE, and such a rule is never evaluated. "(H)" in the evidence marks
 * absence-based evidence ("X happened and Y was never seen"): it is applied only to contexts
 * whose CTX_OPEN was seen and to objects created in the stream.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "check/check_private.h"

#define T(x) (1ULL << IOASID_EV_##x)

static const char *const evidence[IOASID_RULE_COUNT] = {
	[IOASID_RULE_OWN_1] =
		"DEV_BIND ok (aux 0: an ownership bind) of a device while it is bound (aux 0) to "
		"a different context. Emulated devices (aux 1, access objects) claim no ownership "
		"and are not counted.",
	[IOASID_RULE_OWN_2] =
		"(a)(H) DEV_ATTACH / DEV_REPLACE ok of a device not bound in that context; (b) an "
		"attach whose (iommu, domain) belongs to a live HWPT of another context, or (H) "
		"whose pt is not a live HWPT of the attaching context (automatic HWPTs are "
		"announced by HWPT_ALLOC with AUTO before the attach); (c) DEV_UNBIND while the "
		"device still has attachments in that context (a driver detaches first); (d)(H) an "
		"attach whose requested IOAS/HWPT ID (value) is no live IOAS or HWPT of the "
		"attaching context (an ID resolved in another context).",
	[IOASID_RULE_OWN_3] =
		"DEV_BIND ok (aux 0) of a device of group G by context B while another device of G "
		"is bound (aux 0) to context A != B; or GROUP_CLAIM ok by B while G is claimed by "
		"A != B. The other half of the statement (no device of a claimed group on a DMA-API "
		"driver) is reported as GRP-1 at claim time and as GRP-2 for a later driver bind.",
	[IOASID_RULE_OWN_4] =
		"OBJ_DESTROY ok / HWPT_DESTROY of an object the shadow still sees in use: an IOAS "
		"with a live paging HWPT on it; a HWPT with a (device, PASID) attachment or a live "
		"nested HWPT whose parent it is. A context's close destroys in dependency order and "
		"never reports.",
	[IOASID_RULE_GRP_1] =
		"GROUP_CLAIM ok with aux (driver kind) DMA_API, or while the shadow knows (from "
		"DRIVER_BIND / DRIVER_UNBIND) that a device of the group is on a DMA-API driver.",
	[IOASID_RULE_GRP_2] =
		"DRIVER_BIND ok of a DMA-API driver to a device of a claimed group (GROUP_CLAIM "
		"without GROUP_RELEASE, or a device of the group bound for ownership).",
	[IOASID_RULE_GRP_3] =
		"DEV_ATTACH ok at PASID 0 of a device to domain X while another device of its "
		"group is attached at PASID 0 to a different domain Y ((iommu, domain), else "
		"(context, HWPT)). DEV_REPLACE moves the whole group and never reports.",
	[IOASID_RULE_PAS_1] =
		"DEV_ATTACH / DEV_REPLACE ok at PASID P != 0 of a device whose PASID width W is "
		"known from its DEV_BIND and W == 0 or P >= 2^W. A PASID-API attach of PASID 0 "
		"looks exactly like a RID attach in the events: not checkable.",
	[IOASID_RULE_PAS_2] =
		"DEV_ATTACH (not REPLACE) ok of a (device, PASID) the shadow already has attached.",
	[IOASID_RULE_PAS_3] =
		"As the kernel's iommufd_hwpt_pasid_compat(): (a) DEV_ATTACH / DEV_REPLACE ok at "
		"PASID != 0 to a known HWPT not allocated PASID-compatible (no PASID flag in its "
		"HWPT_ALLOC; automatic HWPTs never are); (b) at PASID != 0 while the group's RID is "
		"attached to a known HWPT that is not PASID-compatible; (c) at PASID 0 to a known "
		"HWPT that is not PASID-compatible while the group has PASIDs attached. Groups of "
		"several devices are not refused: PASID entries go only to the PASID-capable "
		"members (the kernel's __iommu_set_group_pasid).",
	[IOASID_RULE_PAS_4] =
		"GPASID_ALLOC ok of a PASID owned (allocated, not freed) by a context, or while a "
		"domain still holds unflushed state for it (a global PASID detached from the "
		"domain, no IOTLB_INV of that PASID or of all PASIDs since); GPASID_FREE ok of a "
		"PASID the context does not own.",
	[IOASID_RULE_MAP_1] =
		"IOAS_MAP / IOAS_COPY ok of a range that overlaps an area of the IOAS, leaves the "
		"union of its allowed ranges (IOAS_ALLOW; an empty set allows everything), or "
		"overlaps a reserved range (IOAS_RESERVE).",
	[IOASID_RULE_MAP_2] =
		"(a) IOAS_UNMAP ok of bytes while a domain that got a DOMAIN_UNMAP from the same "
		"thread for it holds an unflushed range overlapping it (DOMAIN_UNMAP adds, IOTLB_INV "
		"removes; a domain seen flushing unmaps without STRICT is lazy and exempt); (b) "
		"IOTLB_STALE_HIT on a domain not known to be nested; (c)(H) DMA ok through a paging "
		"domain created in the stream at an IOVA its page table does not hold.",
	[IOASID_RULE_MAP_3] =
		"(a)(H) IOAS_UNMAP ok / OBJ_DESTROY of an IOAS after which the context has no area "
		"and no access object but its last ACCOUNT still counts pinned pages; (b) CTX_CLOSE "
		"of a context whose last ACCOUNT counts pinned pages; (c) ACCOUNT ok whose charged "
		"pages (pt) exceed the RLIMIT_MEMLOCK (iova) that applied, in a mode that charges.",
	[IOASID_RULE_MAP_4] =
		"IOTLB_STALE_HIT on a nested domain (HWPT_ALLOC with NESTED): a DMA used a stage-1 "
		"translation the guest's tables no longer hold (the guest did not invalidate, or "
		"its IOMMU_HWPT_INVALIDATE was not carried out).",
};

static const uint64_t needs[IOASID_RULE_COUNT] = {
	[IOASID_RULE_OWN_1] = T(DEV_BIND) | T(DEV_UNBIND),
	[IOASID_RULE_OWN_2] = T(DEV_BIND) | T(DEV_UNBIND) | T(DEV_ATTACH) | T(DEV_DETACH) |
			      T(HWPT_ALLOC) | T(HWPT_DESTROY),
	[IOASID_RULE_OWN_3] = T(DEV_BIND) | T(DEV_UNBIND) | T(GROUP_CLAIM) | T(GROUP_RELEASE),
	[IOASID_RULE_OWN_4] = T(OBJ_ALLOC) | T(OBJ_DESTROY) | T(HWPT_ALLOC) | T(HWPT_DESTROY) |
			      T(DEV_ATTACH) | T(DEV_DETACH) | T(DEV_REPLACE),
	[IOASID_RULE_GRP_1] = T(GROUP_CLAIM),
	[IOASID_RULE_GRP_2] = T(GROUP_CLAIM) | T(GROUP_RELEASE) | T(DRIVER_BIND),
	[IOASID_RULE_GRP_3] = T(DEV_BIND) | T(DEV_ATTACH) | T(DEV_REPLACE) | T(DEV_DETACH),
	[IOASID_RULE_PAS_1] = T(DEV_BIND) | T(DEV_ATTACH),
	[IOASID_RULE_PAS_2] = T(DEV_ATTACH) | T(DEV_DETACH) | T(DEV_REPLACE),
	[IOASID_RULE_PAS_3] = T(DEV_BIND) | T(DEV_ATTACH) | T(DEV_REPLACE) | T(DEV_DETACH) |
			      T(HWPT_ALLOC),
	[IOASID_RULE_PAS_4] = T(GPASID_ALLOC) | T(GPASID_FREE) | T(DEV_ATTACH) | T(DEV_DETACH) |
			      T(IOTLB_INV),
	[IOASID_RULE_MAP_1] = T(IOAS_MAP) | T(IOAS_UNMAP) | T(IOAS_COPY) | T(IOAS_RESERVE) |
			      T(IOAS_ALLOW) | T(OBJ_DESTROY),
	[IOASID_RULE_MAP_2] = T(DOMAIN_UNMAP) | T(IOTLB_INV) | T(IOAS_UNMAP) | T(IOTLB_STALE_HIT),
	[IOASID_RULE_MAP_3] = T(ACCOUNT) | T(IOAS_MAP) | T(IOAS_UNMAP) | T(OBJ_DESTROY) |
			      T(CTX_CLOSE),
	[IOASID_RULE_MAP_4] = T(HWPT_ALLOC) | T(IOTLB_STALE_HIT),
};

const struct ioasid_rule_info ck_rules[IOASID_RULE_COUNT] = {
#define X(sym, id_, statement_)                                                                \
	[IOASID_RULE_##sym] = { .rule = IOASID_RULE_##sym, .id = id_, .statement = statement_,  \
				.evidence = NULL, .needs = 0 },
	IOASID_RULES(X)
#undef X
};

static struct ioasid_rule_info catalogue[IOASID_RULE_COUNT];
static int catalogue_ready;

static void catalogue_init(void)
{
	if (__atomic_load_n(&catalogue_ready, __ATOMIC_ACQUIRE))
		return;
	for (unsigned int i = 0; i < IOASID_RULE_COUNT; i++) {
		catalogue[i] = ck_rules[i];
		catalogue[i].evidence = evidence[i];
		catalogue[i].needs = needs[i];
	}
	__atomic_store_n(&catalogue_ready, 1, __ATOMIC_RELEASE);
}

const struct ioasid_rule_info *ioasid_check_rule(unsigned int rule)
{
	if (rule >= IOASID_RULE_COUNT)
		return NULL;
	catalogue_init();
	return &catalogue[rule];
}

int ioasid_check_rule_from_id(const char *id)
{
	if (!id)
		return -ENOENT;
	for (unsigned int i = 0; i < IOASID_RULE_COUNT; i++) {
		const char *want = ck_rules[i].id;
		size_t k;

		for (k = 0; want[k] && id[k]; k++) {
			char a = (char)toupper((unsigned char)id[k]);

			if (a == '_')
				a = '-';
			if (a != want[k])
				break;
		}
		if (!want[k] && !id[k])
			return (int)i;
	}
	return -ENOENT;
}
