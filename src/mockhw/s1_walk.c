/* s1_walk.c — stage 1 of nested translation: the x86-64 first-stage paging format (MOCK_S1_VTD)
 * as the mock IOMMU walks it out of guest memory (private to src/mockhw).
 *
 * Owns: the format (entry bits, levels, leaf sizes) and the nested walk
 *   IOVA -> stage-1 leaf -> guest physical address (GPA) -> the parent's stage-2 leaf -> host
 *   address.
 * Does not own the tables (the guest does: they live in guest memory, reached through the
 * parent) nor the IOTLB (mock_iommu.c caches what this returns).
 *
 * Format: 4 levels (addr_width 48: PML4, PDPT, PD, PT) or 5 (57: PML5 on top) of 512 8-byte
 * entries in 4 KiB tables; level L indexes IOVA bits [12 + 9L, 20 + 9L].
 *   bit 0 P, bit 1 R/W, bit 2 U/S, bit 5 A, bit 6 D (leaves), bit 7 PS (in a PDPTE: 1G leaf, in a
 *   PDE: 2M leaf; reserved in PML4E/PML5E), bits 12..51 address (a PS leaf's address is aligned
 *   to its size; the low bits there hold PAT and are ignored), bit 63 XD (ignored: the mock issues
 *   no instruction fetches).
 * Requests are user-level (PR=0, as a device's DMA without privileged mode): every entry on the
 * path needs U/S=1, and a write needs R/W=1 in every entry. write_protect (WPE) only changes
 * supervisor requests, which the mock never issues; it is recorded for fidelity. An entry with a
 * reserved bit set (PS in a PML4E/PML5E) is reported as not present: the mock has no separate
 * reserved-field reason.
 *
 * Stage 2 for table accesses: each stage-1 entry address is a GPA translated by the parent's page
 * table (a walk that sets the parent's A bit; table reads are not cached in the IOTLB). Reading
 * needs stage-2 READ; updating A/D needs stage-2 WRITE and, like any write, sets the parent's D
 * when it tracks dirtiness. A stage-2 failure on a table access is MOCK_FAULT_S1_WALK. The final
 * GPA missing in stage 2 is MOCK_FAULT_NOT_PRESENT; a stage-2 permission failure shows in the
 * combined prot and the caller reports MOCK_FAULT_PERMISSION.
 *
 * A/D: a hardware walk that ends in a translation sets A in every entry it used and, for a write
 * both stages allow, D in the leaf — atomic ORs on guest memory, as hardware does. A walk that
 * faults in stage 1 (not present, U/S) changes nothing in stage 1.
 *
 * Result: the largest block contiguous in both stages (the smaller of the two leaves; both are
 * aligned powers of two, so the block around the IOVA lies in one leaf of each), prot = stage-2
 * prot with WRITE removed when stage 1 forbids writes, flags IOTLB_F_S1_RO in that case, and
 * IOTLB_F_S1_DIRTY / IOTLB_F_S2_DIRTY when the leaves carry D.
 *
 * Locking: none of its own. A hardware walk runs under the IOTLB lock (mock_iommu.c), so an
 * invalidation cannot slip between walk and fill; the software walk that checks cached entries
 * runs without locks. Guest entries are read with atomic loads: the guest may edit them
 * concurrently, as a real guest does. */
#include "mock_private.h"

#include "common/compiler.h"

#include <errno.h>

#define S1_P        (1ULL << 0)
#define S1_RW       (1ULL << 1)
#define S1_US       (1ULL << 2)
#define S1_A        (1ULL << 5)
#define S1_D        (1ULL << 6)
#define S1_PS       (1ULL << 7)
#define S1_ADDR     0x000FFFFFFFFFF000ULL   /* bits 12..51 */
#define S1_MAX_LEVELS 5u

int s1_config_check(const struct mock_s1_config *cfg, unsigned int *levels)
{
	if (cfg->format != MOCK_S1_VTD)
		return -EINVAL;
	if (cfg->addr_width == 48)
		*levels = 4;
	else if (cfg->addr_width == 57)
		*levels = 5;
	else
		return -EINVAL;
	if (cfg->pgtbl_addr & ~S1_ADDR)
		return -EINVAL;   /* not 4K aligned, or beyond the 52-bit GPA field */
	return 0;
}

/* The host address of the 8-byte guest entry at gpa, or NULL when stage 2 does not let it be
 * read; *writable says whether stage 2 lets it be written. */
static inline uint64_t *s2_entry(struct io_pgtable *s2, uint64_t gpa, bool hw, bool *writable)
{
	struct pt_leaf leaf;
	int r = hw ? io_pgtable_walk_hw(s2, gpa, false, &leaf) : io_pgtable_lookup(s2, gpa, &leaf);

	if (r || !(leaf.prot & MOCK_PROT_READ))
		return NULL;
	*writable = leaf.prot & MOCK_PROT_WRITE;
	return (uint64_t *)(uintptr_t)(leaf.paddr + (gpa - leaf.iova));
}

/* Set A in every entry of the path and D in the leaf when dirty: 0, or -EFAULT when stage 2
 * forbids writing an entry that needs a bit. Returns the leaf's value after the update. */
static int s1_set_ad(struct io_pgtable *s2, unsigned int n, uint64_t *const *host,
		     const uint64_t *gpa, const bool *s2_writable, bool dirty, uint64_t *leaf)
{
	for (unsigned int i = 0; i < n; i++) {
		const uint64_t need = S1_A | ((dirty && i == n - 1) ? S1_D : 0);
		uint64_t v = __atomic_load_n(host[i], __ATOMIC_RELAXED);

		if ((v & need) != need) {
			struct pt_leaf ignored;

			if (!s2_writable[i])
				return -EFAULT;
			/* A guest-memory write like any other: dirty in stage 2 when tracked. */
			io_pgtable_walk_hw(s2, gpa[i], true, &ignored);
			v = __atomic_or_fetch(host[i], need, __ATOMIC_RELAXED);
		}
		if (i == n - 1)
			*leaf = v;
	}
	return 0;
}

int s1_nested_walk(struct mock_domain *dom, uint64_t iova, bool write, bool hw,
		   struct iotlb_xlate *x, enum mock_fault_reason *reason)
{
	struct io_pgtable *s2 = &dom->parent->pt;
	uint64_t *host[S1_MAX_LEVELS], gpa_of[S1_MAX_LEVELS];
	bool s2_writable[S1_MAX_LEVELS];
	uint64_t table = dom->s1.root, v = 0, allow = S1_US | S1_RW, s1_size, gpa, block;
	unsigned int l = dom->s1.levels - 1, n = 0;
	struct pt_leaf fl;
	bool s1_write;
	int r;

	for (;; l--) {
		uint64_t egpa = table + ((iova >> (12 + 9 * l)) & (PT_ENTRIES - 1)) * 8;
		uint64_t *e = s2_entry(s2, egpa, hw, &s2_writable[n]);

		if (!e) {
			*reason = MOCK_FAULT_S1_WALK;
			return -EFAULT;
		}
		v = __atomic_load_n(e, __ATOMIC_ACQUIRE);
		host[n] = e;
		gpa_of[n] = egpa;
		n++;
		if (!(v & S1_P) || ((v & S1_PS) && l > 2)) {
			*reason = MOCK_FAULT_S1_NOT_PRESENT;
			return -EFAULT;
		}
		allow &= v;
		if (l == 0 || (v & S1_PS))
			break;
		table = v & S1_ADDR;
	}
	if (!(allow & S1_US)) {
		*reason = MOCK_FAULT_S1_PERMISSION;
		return -EFAULT;
	}
	s1_write = allow & S1_RW;
	s1_size = 1ULL << (12 + 9 * l);
	gpa = ((v & S1_ADDR) & ~(s1_size - 1)) | (iova & (s1_size - 1));

	r = hw ? io_pgtable_walk_hw(s2, gpa, write && s1_write, &fl)
	       : io_pgtable_lookup(s2, gpa, &fl);
	if (r) {
		*reason = MOCK_FAULT_NOT_PRESENT;
		return -EFAULT;
	}
	block = MIN(s1_size, fl.size);
	x->iova = iova & ~(block - 1);
	x->paddr = fl.paddr + ((gpa & ~(block - 1)) - fl.iova);
	x->shift = (unsigned int)__builtin_ctzll(block);
	x->prot = fl.prot & (s1_write ? ~0 : ~MOCK_PROT_WRITE);
	x->flags = (s1_write ? 0 : IOTLB_F_S1_RO) | ((fl.pte & PTE_D) ? IOTLB_F_S2_DIRTY : 0);
	if (hw && s1_set_ad(s2, n, host, gpa_of, s2_writable,
			    write && (x->prot & MOCK_PROT_WRITE), &v)) {
		*reason = MOCK_FAULT_S1_WALK;
		return -EFAULT;
	}
	if (v & S1_D)
		x->flags |= IOTLB_F_S1_DIRTY;
	return 0;
}
