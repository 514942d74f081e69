/* iotlb.c — the set-associative IOTLB of one mock IOMMU instance (private to src/mockhw).
 *
 * Owns: the entry array (sets x ways, ways of a set contiguous) and the instance's LRU clock.
 * Does not own the per-domain counters it updates (they live in the domain; entries point to
 * them, so a domain must drop its entries — iotlb_drop_domain() — before it goes away).
 *
 * Tags: (domid, pasid, vpn = iova >> shift, shift). domid 0 marks an invalid way (hardware
 * domain IDs start at 1). The set index hashes (domid, vpn, shift) but not the PASID, so that
 * an invalidation of a domain range for one or all PASIDs touches only the sets of that range; a
 * small range is invalidated by probing those sets, a big one by scanning the whole array.
 * Lookups probe each leaf size the domain may use (the bits of its size bitmap: any shift, so
 * 2K-granule and nested combined sizes need nothing special), smallest first.
 *
 * An entry also keeps state flags (IOTLB_F_*: which D bits its walk found set, whether stage 1
 * forbade writes) so that the caller can decide, on a hit, whether a write must re-walk to set D;
 * iotlb_replace_locked() refreshes an entry after such a re-walk.
 *
 * Replacement: true LRU per set from a 64-bit clock bumped on every hit and insert; an invalid
 * way is always taken first.
 *
 * Invariants (under the lock): st->entries equals the number of valid ways whose owner is st;
 * no two valid ways carry the same tag (an insert follows a miss under the same lock hold; a
 * replacement that changes the leaf size reuses a way already carrying the new tag).
 *
 * Events: every invalidation (range, domain, teardown drop) raises one IOTLB_INV probe
 * (common/probe.h) after the lock is dropped, naming the instance (event_iommu), the domain,
 * the PASID (IOTLB_PASID_ANY = 0xffffffff: all), the range (length UINT64_MAX: everything), the
 * reason the caller gave and the entries dropped — one event per invalidation counted in the
 * statistics, plus one per teardown drop.
 *
 * Locking: one lock per instance, a test-and-set spinlock that yields after a short spin (the
 * critical sections are a few dozen loads — or one nested walk on a miss; nothing allocates or
 * sleeps under it). */
#include "iotlb.h"

#include "common/alloc.h"
#include "common/compiler.h"
#include "common/probe.h"

#include <errno.h>
#include <sched.h>

struct iotlb_entry {
	uint64_t vpn;
	uint64_t paddr;
	uint64_t lru;
	struct mock_iotlb_stats *owner;
	uint32_t domid;                 /* 0: invalid */
	uint32_t pasid;
	uint8_t shift;
	uint8_t prot;
	uint8_t flags;                  /* IOTLB_F_* */
};

struct iotlb {
	int lock;
	unsigned int sets;
	unsigned int ways;
	uint64_t set_mask;              /* sets - 1 when sets is a power of two, else 0 */
	uint32_t event_iommu;           /* the instance, in events */
	uint64_t clock;
	struct iotlb_entry *e;          /* sets * ways */
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

void iotlb_lock(struct iotlb *tlb)
{
	unsigned int spins = 0;

	while (__atomic_exchange_n(&tlb->lock, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&tlb->lock, __ATOMIC_RELAXED)) {
			if (++spins < 256) {
				cpu_relax();
			} else {
				spins = 0;
				sched_yield();
			}
		}
	}
}

void iotlb_unlock(struct iotlb *tlb)
{
	__atomic_store_n(&tlb->lock, 0, __ATOMIC_RELEASE);
}

int iotlb_create(unsigned int sets, unsigned int ways, uint32_t event_iommu, struct iotlb **out)
{
	struct iotlb *tlb;
	uint64_t n;

	*out = NULL;
	if (!sets)
		sets = IOTLB_DEFAULT_SETS;
	if (!ways)
		ways = IOTLB_DEFAULT_WAYS;
	n = (uint64_t)sets * ways;
	if (n > IOTLB_MAX_ENTRIES)
		return -EINVAL;
	tlb = ioasid_zalloc(sizeof(*tlb));
	if (!tlb)
		return -ENOMEM;
	tlb->e = ioasid_zalloc(n * sizeof(*tlb->e));
	if (!tlb->e) {
		ioasid_free(tlb);
		return -ENOMEM;
	}
	tlb->sets = sets;
	tlb->ways = ways;
	tlb->set_mask = (sets & (sets - 1)) ? 0 : sets - 1;
	tlb->event_iommu = event_iommu;
	*out = tlb;
	return 0;
}

void iotlb_destroy(struct iotlb *tlb)
{
	if (!tlb)
		return;
	ioasid_free(tlb->e);
	ioasid_free(tlb);
}

unsigned int iotlb_sets(const struct iotlb *tlb)
{
	return tlb->sets;
}

unsigned int iotlb_ways(const struct iotlb *tlb)
{
	return tlb->ways;
}

static inline struct iotlb_entry *set_of(struct iotlb *tlb, uint32_t domid, uint64_t vpn,
					 unsigned int shift)
{
	uint64_t h = vpn + (uint64_t)domid * 0x9E3779B1u + (uint64_t)shift * 0x85EBCA6Bu;
	uint64_t s = tlb->set_mask ? (h & tlb->set_mask) : (h % tlb->sets);

	return &tlb->e[s * tlb->ways];
}

struct iotlb_entry *iotlb_lookup_locked(struct iotlb *tlb, struct mock_iotlb_stats *st,
					uint32_t domid, uint32_t pasid, uint64_t iova,
					uint64_t sizes, struct iotlb_xlate *out)
{
	for (uint64_t s = sizes; s; s &= s - 1) {
		unsigned int shift = (unsigned int)__builtin_ctzll(s);
		uint64_t vpn = iova >> shift;
		struct iotlb_entry *w = set_of(tlb, domid, vpn, shift);

		for (unsigned int i = 0; i < tlb->ways; i++, w++) {
			if (w->vpn != vpn || w->domid != domid || w->pasid != pasid ||
			    w->shift != shift)
				continue;
			w->lru = ++tlb->clock;
			out->iova = vpn << shift;
			out->paddr = w->paddr;
			out->shift = shift;
			out->prot = w->prot;
			out->flags = w->flags;
			st->hits++;
			return w;
		}
	}
	st->misses++;
	return NULL;
}

static inline void fill_way(struct iotlb *tlb, struct iotlb_entry *w, struct mock_iotlb_stats *st,
			    uint32_t domid, uint32_t pasid, const struct iotlb_xlate *x)
{
	w->vpn = x->iova >> x->shift;
	w->paddr = x->paddr;
	w->lru = ++tlb->clock;
	w->owner = st;
	w->domid = domid;
	w->pasid = pasid;
	w->shift = (uint8_t)x->shift;
	w->prot = (uint8_t)x->prot;
	w->flags = (uint8_t)x->flags;
}

void iotlb_insert_locked(struct iotlb *tlb, struct mock_iotlb_stats *st, uint32_t domid,
			 uint32_t pasid, const struct iotlb_xlate *x)
{
	uint64_t vpn = x->iova >> x->shift;
	struct iotlb_entry *set = set_of(tlb, domid, vpn, x->shift), *victim = set;

	for (unsigned int i = 0; i < tlb->ways; i++) {
		if (!set[i].domid) {
			victim = &set[i];
			break;
		}
		if (set[i].lru < victim->lru)
			victim = &set[i];
	}
	if (victim->domid)
		victim->owner->entries--;
	fill_way(tlb, victim, st, domid, pasid, x);
	st->entries++;
}

void iotlb_replace_locked(struct iotlb *tlb, struct iotlb_entry *w, struct mock_iotlb_stats *st,
			  uint32_t domid, uint32_t pasid, const struct iotlb_xlate *x)
{
	/* Same leaf size: same set, rewrite in place. Otherwise the tag moves to another set,
	 * where a stale way may already carry it (tags stay unique: reuse that way). */
	if (x && x->shift == w->shift) {
		fill_way(tlb, w, st, domid, pasid, x);
		return;
	}
	w->owner->entries--;
	w->domid = 0;
	w->owner = NULL;
	if (!x)
		return;
	w = set_of(tlb, domid, x->iova >> x->shift, x->shift);
	for (unsigned int i = 0; i < tlb->ways; i++, w++) {
		if (w->domid == domid && w->pasid == pasid && w->shift == x->shift &&
		    w->vpn == x->iova >> x->shift) {
			fill_way(tlb, w, st, domid, pasid, x);
			return;
		}
	}
	iotlb_insert_locked(tlb, st, domid, pasid, x);
}

static inline void drop(struct iotlb_entry *w, uint64_t *dropped)
{
	w->owner->entries--;
	w->domid = 0;
	w->owner = NULL;
	(*dropped)++;
}

static inline bool pasid_match(const struct iotlb_entry *w, uint32_t pasid)
{
	return pasid == IOTLB_PASID_ANY || w->pasid == pasid;
}

static uint64_t scan_drop(struct iotlb *tlb, uint32_t domid, uint32_t pasid, uint64_t first,
			  uint64_t last)
{
	uint64_t n = (uint64_t)tlb->sets * tlb->ways, dropped = 0;

	for (uint64_t i = 0; i < n; i++) {
		struct iotlb_entry *w = &tlb->e[i];
		uint64_t start, end;

		if (w->domid != domid || !pasid_match(w, pasid))
			continue;
		start = w->vpn << w->shift;
		end = start + ((1ULL << w->shift) - 1);
		if (start <= last && end >= first)
			drop(w, &dropped);
	}
	return dropped;
}

/* The IOTLB_INV event of one invalidation of [first, last] (all of it: length UINT64_MAX). */
static void inval_event(const struct iotlb *tlb, uint32_t domid, uint32_t pasid, uint64_t first,
			uint64_t last, unsigned int reason, uint64_t dropped)
{
	IOASID_PROBE(iotlb_inv, .iommu = tlb->event_iommu, .domain = domid, .pasid = pasid,
		     .iova = first,
		     .length = (first == 0 && last == UINT64_MAX) ? UINT64_MAX : last - first + 1,
		     .aux = reason, .value = dropped,
		     .flags = reason == IOASID_INV_UNMAP ? IOASID_EVF_STRICT : 0);
}

void iotlb_inval_range(struct iotlb *tlb, struct mock_iotlb_stats *st, uint32_t domid,
		       uint32_t pasid, uint64_t sizes, uint64_t first, uint64_t last,
		       unsigned int reason)
{
	uint64_t dropped = 0, probes = 0;

	if (first > last)
		return;
	iotlb_lock(tlb);
	st->invalidations++;
	if (!st->entries)
		goto out;
	for (uint64_t s = sizes; s; s &= s - 1) {
		unsigned int shift = (unsigned int)__builtin_ctzll(s);

		probes += ((last >> shift) - (first >> shift)) + 1;
		if (probes > tlb->sets)
			break;
	}
	if (probes > tlb->sets) {
		dropped = scan_drop(tlb, domid, pasid, first, last);
		goto out;
	}
	for (uint64_t s = sizes; s; s &= s - 1) {
		unsigned int shift = (unsigned int)__builtin_ctzll(s);

		for (uint64_t vpn = first >> shift; vpn <= last >> shift; vpn++) {
			struct iotlb_entry *w = set_of(tlb, domid, vpn, shift);

			for (unsigned int i = 0; i < tlb->ways; i++, w++)
				if (w->domid == domid && w->vpn == vpn && w->shift == shift &&
				    pasid_match(w, pasid))
					drop(w, &dropped);
		}
	}
out:
	st->entries_dropped += dropped;
	iotlb_unlock(tlb);
	inval_event(tlb, domid, pasid, first, last, reason, dropped);
}

void iotlb_inval_domain(struct iotlb *tlb, struct mock_iotlb_stats *st, uint32_t domid,
			uint32_t pasid, unsigned int reason)
{
	uint64_t dropped = 0;

	iotlb_lock(tlb);
	st->invalidations++;
	if (st->entries)
		dropped = scan_drop(tlb, domid, pasid, 0, UINT64_MAX);
	st->entries_dropped += dropped;
	iotlb_unlock(tlb);
	inval_event(tlb, domid, pasid, 0, UINT64_MAX, reason, dropped);
}

void iotlb_drop_domain(struct iotlb *tlb, struct mock_iotlb_stats *st, uint32_t domid)
{
	uint64_t dropped = 0;

	iotlb_lock(tlb);
	if (st->entries)
		dropped = scan_drop(tlb, domid, IOTLB_PASID_ANY, 0, UINT64_MAX);
	iotlb_unlock(tlb);
	inval_event(tlb, domid, IOTLB_PASID_ANY, 0, UINT64_MAX, IOASID_INV_DOMAIN_FREE, dropped);
}

void iotlb_count_stale(struct iotlb *tlb, struct mock_iotlb_stats *st)
{
	iotlb_lock(tlb);
	st->stale_hits++;
	iotlb_unlock(tlb);
}

void iotlb_read_stats(struct iotlb *tlb, const struct mock_iotlb_stats *st,
		      struct mock_iotlb_stats *out)
{
	iotlb_lock(tlb);
	*out = *st;
	iotlb_unlock(tlb);
}
