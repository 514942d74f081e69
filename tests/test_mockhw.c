/* test_mockhw.c — unit tests of the mock IOMMU hardware (src/mockhw).
 *
 * Suites: io_pgtable (the radix tables: leaf choice, all-or-nothing map, unmap semantics,
 * -ENOMEM cleanliness under fail-nth, a randomised comparison with a shadow model, the 2 KiB
 * granule and custom apertures), iotlb (hit, miss, stale and eviction accounting, invalidation
 * scope), mock_iommu (instances, domains, allocation flags, DMA through real buffers, faults and
 * the fault handler), nested (stage-1 tables in guest memory walked through the parent), dirty
 * (dirty tracking) and mock_dev (context entries and PASID tables). */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/compiler.h"
#include "ioasid/ioasid.h"
#include "mockhw/io_pgtable.h"
#include "mockhw/mock_iommu.h"
#include "mockhw/mock_private.h"

#define RW (MOCK_PROT_READ | MOCK_PROT_WRITE)
#define ALL_SIZES (SZ_4K | SZ_2M | SZ_1G)
#define FAKE_PA 0x100000000000ULL   /* output addresses for map-only tests (never accessed) */

/* ---- helpers -------------------------------------------------------------------------------- */

static struct mock_iommu *new_iommu_geom(unsigned int ias, uint64_t sizes, unsigned int sets,
					 unsigned int ways)
{
	struct mock_iommu_caps caps = {
		.name = "iommu-test", .pgsize_bitmap = sizes, .ias_bits = ias, .pasid_bits = 20,
		.iotlb_sets = sets, .iotlb_ways = ways,
	};
	struct mock_iommu *iommu = NULL;

	cr_assert_eq(mock_iommu_create(&caps, &iommu), 0);
	cr_assert_not_null(iommu);
	return iommu;
}

static struct mock_iommu *new_iommu(unsigned int ias, uint64_t sizes)
{
	return new_iommu_geom(ias, sizes, 0, 0);
}

static struct mock_domain *new_domain(struct mock_iommu *iommu, uint64_t sizes)
{
	struct mock_domain *dom = NULL;

	cr_assert_eq(mock_domain_alloc_paging(iommu, sizes, &dom), 0);
	cr_assert_not_null(dom);
	return dom;
}

static uint64_t leaf_size_at(struct mock_domain *dom, uint64_t iova)
{
	uint64_t sz = 0;

	cr_assert_eq(mock_domain_iova_to_phys(dom, iova, NULL, NULL, &sz), 0,
		     "iova %#llx not mapped", (unsigned long long)iova);
	return sz;
}

static bool mapped(struct mock_domain *dom, uint64_t iova)
{
	return mock_domain_iova_to_phys(dom, iova, NULL, NULL, NULL) == 0;
}

static uint64_t phys_at(struct mock_domain *dom, uint64_t iova)
{
	uint64_t pa = 0;

	cr_assert_eq(mock_domain_iova_to_phys(dom, iova, &pa, NULL, NULL), 0,
		     "iova %#llx not mapped", (unsigned long long)iova);
	return pa;
}

static void *xaligned(size_t align, size_t size)
{
	void *p = aligned_alloc(align, size);

	cr_assert_not_null(p);
	memset(p, 0, size);
	return p;
}

static void pt_counts(struct io_pgtable *pt, uint64_t n4k, uint64_t n2m, uint64_t n1g)
{
	uint64_t c[3];

	io_pgtable_count_leaves(pt, c);
	cr_assert_eq(c[0], n4k, "4K leaves: %llu, expected %llu", (unsigned long long)c[0],
		     (unsigned long long)n4k);
	cr_assert_eq(c[1], n2m, "2M leaves: %llu, expected %llu", (unsigned long long)c[1],
		     (unsigned long long)n2m);
	cr_assert_eq(c[2], n1g, "1G leaves: %llu, expected %llu", (unsigned long long)c[2],
		     (unsigned long long)n1g);
}

/* ==== io_pgtable ============================================================================= */

Test(io_pgtable, init_levels_and_validation)
{
	struct io_pgtable pt;
	static const unsigned int ias[] = { 39, 48, 57 };

	for (unsigned int i = 0; i < 3; i++) {
		cr_assert_eq(io_pgtable_init(&pt, ias[i], ALL_SIZES), 0);
		cr_assert_eq(pt.levels, 3 + i);
		cr_assert_eq(pt.aperture_end, (1ULL << ias[i]) - 1);
		cr_assert_eq(pt.table_pages, 1);
		io_pgtable_destroy(&pt);
	}
	cr_assert_eq(io_pgtable_init(&pt, 40, ALL_SIZES), -EINVAL);
	cr_assert_eq(io_pgtable_init(&pt, 48, SZ_2M), -EINVAL);
	cr_assert_eq(io_pgtable_init(&pt, 48, SZ_4K | (1ULL << 39)), -EINVAL);
}

Test(io_pgtable, map_4k_lookup_prot_and_neighbours)
{
	struct io_pgtable pt;
	struct pt_leaf leaf;

	cr_assert_eq(io_pgtable_init(&pt, 48, ALL_SIZES), 0);
	cr_assert_eq(io_pgtable_map(&pt, 0x5000, FAKE_PA + 0x9000, SZ_4K, MOCK_PROT_READ, 0), 0);
	cr_assert_eq(io_pgtable_lookup(&pt, 0x5abc, &leaf), 0);
	cr_assert_eq(leaf.iova, 0x5000);
	cr_assert_eq(leaf.paddr, FAKE_PA + 0x9000);
	cr_assert_eq(leaf.size, SZ_4K);
	cr_assert_eq(leaf.prot, MOCK_PROT_READ);
	cr_assert_eq(io_pgtable_lookup(&pt, 0x4fff, &leaf), -ENOENT);
	cr_assert_eq(io_pgtable_lookup(&pt, 0x6000, &leaf), -ENOENT);
	/* root + one table per lower level */
	cr_assert_eq(pt.table_pages, 4);
	pt_counts(&pt, 1, 0, 0);

	cr_assert_eq(io_pgtable_map(&pt, 0x6000, FAKE_PA, SZ_4K, MOCK_PROT_WRITE | MOCK_PROT_CACHE,
				    0), 0);
	cr_assert_eq(io_pgtable_lookup(&pt, 0x6000, &leaf), 0);
	cr_assert_eq(leaf.prot, MOCK_PROT_WRITE | MOCK_PROT_CACHE);
	cr_assert_eq(leaf.pte & PTE_ADDR_MASK, FAKE_PA);
	cr_assert_eq(leaf.pte & (PTE_P | PTE_L | PTE_R | PTE_W | PTE_C),
		     PTE_P | PTE_L | PTE_W | PTE_C);
	io_pgtable_destroy(&pt);
}

Test(io_pgtable, map_2m_and_1g_leaves)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	uint64_t pa, sz;
	int prot;

	cr_assert_eq(mock_domain_map(dom, 2 * SZ_2M, FAKE_PA + 8 * SZ_2M, SZ_2M, RW, ALL_SIZES), 0);
	cr_assert_eq(mock_domain_iova_to_phys(dom, 2 * SZ_2M + 0x12345, &pa, &prot, &sz), 0);
	cr_assert_eq(sz, SZ_2M);
	cr_assert_eq(pa, FAKE_PA + 8 * SZ_2M + 0x12345);
	cr_assert_eq(prot, RW);

	cr_assert_eq(mock_domain_map(dom, 3 * SZ_1G, FAKE_PA + SZ_1G, SZ_1G, MOCK_PROT_READ,
				     ALL_SIZES), 0);
	cr_assert_eq(mock_domain_iova_to_phys(dom, 3 * SZ_1G + SZ_1G - 1, &pa, &prot, &sz), 0);
	cr_assert_eq(sz, SZ_1G);
	cr_assert_eq(pa, FAKE_PA + 2 * SZ_1G - 1);
	cr_assert_eq(prot, MOCK_PROT_READ);
	cr_assert_not(mapped(dom, 4 * SZ_1G));
	cr_assert_not(mapped(dom, 3 * SZ_1G - 1));
	/* root, one level-2 table (the 1G leaf needs nothing more), one level-1 table for 2M */
	cr_assert_eq(mock_domain_table_pages(dom), 3);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(io_pgtable, leaf_choice_follows_common_alignment)
{
	struct io_pgtable pt;

	cr_assert_eq(io_pgtable_init(&pt, 48, ALL_SIZES), 0);
	/* IOVA 2M aligned, paddr only 4K aligned: 4K leaves only */
	cr_assert_eq(io_pgtable_map(&pt, SZ_2M, FAKE_PA + SZ_4K, SZ_2M, RW, 0), 0);
	pt_counts(&pt, 512, 0, 0);
	/* both 1G aligned but length 2M + 4K: one 2M and one 4K */
	cr_assert_eq(io_pgtable_map(&pt, SZ_1G, FAKE_PA + SZ_1G, SZ_2M + SZ_4K, RW, 0), 0);
	pt_counts(&pt, 513, 1, 0);
	io_pgtable_destroy(&pt);
}

Test(io_pgtable, leaf_mix_head_huge_tail)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	/* [4K][2M][1G][2M][4K] starting at 1G - 2M - 4K, paddr with the same 1G offset */
	uint64_t iova = 4 * SZ_1G - SZ_2M - SZ_4K, pa = FAKE_PA + 8 * SZ_1G - SZ_2M - SZ_4K;
	uint64_t len = SZ_4K + SZ_2M + SZ_1G + SZ_2M + SZ_4K;

	cr_assert_eq(mock_domain_map(dom, iova, pa, len, RW, 0), 0);
	cr_assert_eq(leaf_size_at(dom, iova), SZ_4K);
	cr_assert_eq(leaf_size_at(dom, iova + SZ_4K), SZ_2M);
	cr_assert_eq(leaf_size_at(dom, 4 * SZ_1G), SZ_1G);
	cr_assert_eq(leaf_size_at(dom, 5 * SZ_1G), SZ_2M);
	cr_assert_eq(leaf_size_at(dom, 5 * SZ_1G + SZ_2M), SZ_4K);
	cr_assert_not(mapped(dom, iova + len));
	cr_assert_not(mapped(dom, iova - 1));
	for (uint64_t off = 0; off < len; off += SZ_2M / 2)
		cr_assert_eq(phys_at(dom, iova + off), pa + off);
	cr_assert_eq(phys_at(dom, iova + len - 1), pa + len - 1);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(io_pgtable, pgsize_mask_and_domain_bitmap_restrict_leaves)
{
	struct io_pgtable pt;
	struct mock_iommu *iommu;
	struct mock_domain *dom;

	cr_assert_eq(io_pgtable_init(&pt, 48, ALL_SIZES), 0);
	cr_assert_eq(io_pgtable_map(&pt, 0, FAKE_PA, 2 * SZ_2M, RW, SZ_4K), 0);
	pt_counts(&pt, 1024, 0, 0);
	cr_assert_eq(io_pgtable_map(&pt, SZ_1G, FAKE_PA, SZ_1G, RW, SZ_4K | SZ_2M), 0);
	pt_counts(&pt, 1024, 512, 0);
	/* a mask without 4K: alignment to its smallest size is required */
	cr_assert_eq(io_pgtable_map(&pt, 4 * SZ_1G, FAKE_PA, SZ_4K, RW, SZ_2M), -EINVAL);
	cr_assert_eq(io_pgtable_map(&pt, 4 * SZ_1G + SZ_4K, FAKE_PA, SZ_2M, RW, SZ_2M), -EINVAL);
	cr_assert_eq(io_pgtable_map(&pt, 4 * SZ_1G, FAKE_PA, 2 * SZ_2M, RW, SZ_2M), 0);
	pt_counts(&pt, 1024, 514, 0);
	/* a bit above every size allows the largest (1G): a 4K map is then misaligned */
	cr_assert_eq(io_pgtable_map(&pt, 8 * SZ_1G, FAKE_PA, SZ_4K, RW, 1ULL << 39), -EINVAL);
	cr_assert_eq(io_pgtable_map(&pt, 8 * SZ_1G, FAKE_PA, SZ_1G, RW, 1ULL << 39), 0);
	pt_counts(&pt, 1024, 514, 1);
	/* a mask with nothing the table supports (below the granule) */
	cr_assert_eq(io_pgtable_map(&pt, 16 * SZ_1G, FAKE_PA, SZ_4K, RW, SZ_2K_MOCK), -EINVAL);
	io_pgtable_destroy(&pt);

	/* the domain's own bitmap bounds the mask */
	iommu = new_iommu(48, ALL_SIZES);
	dom = new_domain(iommu, SZ_4K | SZ_2M);
	cr_assert_eq(mock_domain_pgsize_bitmap(dom), SZ_4K | SZ_2M);
	cr_assert_eq(mock_domain_map(dom, SZ_1G, FAKE_PA, SZ_1G, RW, ALL_SIZES), 0);
	cr_assert_eq(leaf_size_at(dom, SZ_1G), SZ_2M);
	mock_domain_free(dom);
	dom = new_domain(iommu, SZ_4K);
	cr_assert_eq(mock_domain_map(dom, SZ_1G, FAKE_PA, SZ_2M, RW, ALL_SIZES), 0);
	cr_assert_eq(leaf_size_at(dom, SZ_1G), SZ_4K);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(io_pgtable, map_rejects_misalignment_and_aperture)
{
	struct mock_iommu *iommu = new_iommu(39, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	uint64_t top = 1ULL << 39;

	cr_assert_eq(mock_domain_aperture_start(dom), 0);
	cr_assert_eq(mock_domain_aperture_end(dom), top - 1);
	cr_assert_eq(mock_domain_map(dom, 0x1001, FAKE_PA, SZ_4K, RW, 0), -EINVAL);
	cr_assert_eq(mock_domain_map(dom, 0x1000, FAKE_PA + 8, SZ_4K, RW, 0), -EINVAL);
	cr_assert_eq(mock_domain_map(dom, 0x1000, FAKE_PA, 100, RW, 0), -EINVAL);
	cr_assert_eq(mock_domain_map(dom, 0x1000, FAKE_PA, 0, RW, 0), -EINVAL);
	cr_assert_eq(mock_domain_map(dom, top, FAKE_PA, SZ_4K, RW, 0), -EINVAL);
	cr_assert_eq(mock_domain_map(dom, top - SZ_4K, FAKE_PA, 2 * SZ_4K, RW, 0), -EINVAL);
	cr_assert_eq(mock_domain_map(dom, UINT64_MAX - SZ_4K + 1, FAKE_PA, 2 * SZ_4K, RW, 0),
		     -EINVAL);
	cr_assert_eq(mock_domain_map(dom, 0, UINT64_MAX - SZ_4K + 1, 2 * SZ_4K, RW, 0), -EINVAL);
	cr_assert_eq(mock_domain_map(dom, 0, PTE_ADDR_LIMIT - SZ_4K, 2 * SZ_4K, RW, 0), -EINVAL);
	cr_assert_eq(mock_domain_table_pages(dom), 1, "a rejected map must not allocate");
	/* the last page of the aperture is fine */
	cr_assert_eq(mock_domain_map(dom, top - SZ_4K, FAKE_PA, SZ_4K, RW, 0), 0);
	cr_assert_eq(phys_at(dom, top - 1), FAKE_PA + SZ_4K - 1);
	cr_assert_not(mapped(dom, top));
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(io_pgtable, map_57bit_top_1g)
{
	struct mock_iommu *iommu = new_iommu(57, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	uint64_t iova = (1ULL << 57) - SZ_1G;

	cr_assert_eq(mock_domain_map(dom, iova, FAKE_PA, SZ_1G, RW, 0), 0);
	cr_assert_eq(leaf_size_at(dom, (1ULL << 57) - 1), SZ_1G);
	cr_assert_eq(mock_domain_table_pages(dom), 3);   /* levels 4, 3, 2 */
	cr_assert_eq(mock_domain_unmap(dom, iova, SZ_1G, NULL), SZ_1G);
	cr_assert_not(mapped(dom, iova));
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(io_pgtable, eexist_exact_and_nested)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);

	cr_assert_eq(mock_domain_map(dom, 0x10000, FAKE_PA, SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_domain_map(dom, 0x10000, FAKE_PA + SZ_4K, SZ_4K, RW, 0), -EEXIST);
	cr_assert_eq(phys_at(dom, 0x10000), FAKE_PA);
	/* a 2M leaf over a 2M range holding a 4K leaf */
	cr_assert_eq(mock_domain_map(dom, 0, FAKE_PA, SZ_2M, RW, 0), -EEXIST);
	/* a 4K leaf inside an existing 2M leaf */
	cr_assert_eq(mock_domain_map(dom, SZ_2M, FAKE_PA, SZ_2M, RW, 0), 0);
	cr_assert_eq(mock_domain_map(dom, SZ_2M + 0x3000, FAKE_PA, SZ_4K, RW, 0), -EEXIST);
	/* a 4K leaf inside an existing 1G leaf */
	cr_assert_eq(mock_domain_map(dom, SZ_1G, FAKE_PA, SZ_1G, RW, 0), 0);
	cr_assert_eq(mock_domain_map(dom, SZ_1G + 5 * SZ_2M, FAKE_PA, SZ_4K, RW, 0), -EEXIST);
	cr_assert_eq(mock_domain_map(dom, SZ_1G + 5 * SZ_2M, FAKE_PA, SZ_2M, RW, 0), -EEXIST);
	cr_assert_eq(leaf_size_at(dom, SZ_1G), SZ_1G);
	cr_assert_eq(leaf_size_at(dom, SZ_2M), SZ_2M);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(io_pgtable, eexist_partial_overlap_is_all_or_nothing)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	uint64_t pages;

	/* existing: [0x10000, 0x20000) */
	cr_assert_eq(mock_domain_map(dom, 0x10000, FAKE_PA, 0x10000, RW, 0), 0);
	/* new range overlapping the first page only: its head would be written first */
	cr_assert_eq(mock_domain_map(dom, 0, FAKE_PA + SZ_1G, 0x11000, RW, 0), -EEXIST);
	for (uint64_t a = 0; a < 0x10000; a += SZ_4K)
		cr_assert_not(mapped(dom, a), "%#llx left mapped", (unsigned long long)a);
	for (uint64_t a = 0x10000; a < 0x20000; a += SZ_4K)
		cr_assert_eq(phys_at(dom, a), FAKE_PA + a - 0x10000);

	/* a conflict several tables (and several leaf sizes) into the range: everything written
	 * before it, 2M leaves included, must be removed again */
	cr_assert_eq(mock_domain_map(dom, 64 * SZ_2M + 0x5000, FAKE_PA, SZ_4K, RW, 0), 0);
	pages = mock_domain_table_pages(dom);
	cr_assert_eq(mock_domain_map(dom, 60 * SZ_2M - SZ_4K, FAKE_PA + 60 * SZ_2M - SZ_4K,
				     5 * SZ_2M + SZ_4K, RW, 0), -EEXIST);
	for (uint64_t a = 60 * SZ_2M - SZ_4K; a < 65 * SZ_2M; a += SZ_4K)
		cr_assert_eq(mapped(dom, a), a == 64 * SZ_2M + 0x5000, "%#llx",
			     (unsigned long long)a);
	cr_assert_geq(mock_domain_table_pages(dom), pages);
	/* and the range still maps once the conflict is gone */
	cr_assert_eq(mock_domain_unmap(dom, 64 * SZ_2M + 0x5000, SZ_4K, NULL), SZ_4K);
	cr_assert_eq(mock_domain_map(dom, 60 * SZ_2M - SZ_4K, FAKE_PA + 60 * SZ_2M - SZ_4K,
				     5 * SZ_2M + SZ_4K, RW, 0), 0);
	cr_assert_eq(leaf_size_at(dom, 60 * SZ_2M), SZ_2M);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(io_pgtable, huge_leaf_replaces_empty_tables_and_reuses_them)
{
	struct io_pgtable pt;
	int64_t live;

	cr_assert_eq(io_pgtable_init(&pt, 48, ALL_SIZES), 0);
	cr_assert_eq(io_pgtable_map(&pt, SZ_1G + SZ_2M, FAKE_PA, SZ_4K, RW, 0), 0);
	cr_assert_eq(pt.table_pages, 4);
	cr_assert_eq(io_pgtable_unmap(&pt, SZ_1G + SZ_2M, SZ_4K, NULL), SZ_4K);
	cr_assert_eq(pt.table_pages, 4, "unmap keeps tables");
	/* the empty level-1 and level-0 tables give way to a 1G leaf */
	cr_assert_eq(io_pgtable_map(&pt, SZ_1G, FAKE_PA, SZ_1G, RW, 0), 0);
	pt_counts(&pt, 0, 0, 1);
	cr_assert_eq(pt.table_pages, 2);
	cr_assert_eq(pt.spare_pages, 2);
	/* new tables come from the spare list: no allocation */
	live = ioasid_alloc_live();
	cr_assert_eq(io_pgtable_map(&pt, 5 * SZ_1G, FAKE_PA, SZ_4K, RW, 0), 0);
	cr_assert_eq(ioasid_alloc_live(), live);
	cr_assert_eq(pt.table_pages, 4);
	cr_assert_eq(pt.spare_pages, 0);
	io_pgtable_destroy(&pt);
}

Test(io_pgtable, unmap_skips_holes_and_counts_bytes)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	struct mock_iotlb_gather g;

	mock_iotlb_gather_init(&g);
	cr_assert_eq(mock_domain_unmap(dom, 0, SZ_1G, &g), 0, "nothing mapped");
	cr_assert_gt(g.start, g.end, "gather stays empty");

	cr_assert_eq(mock_domain_map(dom, 0x3000, FAKE_PA, SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_domain_map(dom, 0x9000, FAKE_PA, 2 * SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_domain_map(dom, 4 * SZ_2M, FAKE_PA, SZ_2M, RW, 0), 0);
	cr_assert_eq(mock_domain_map(dom, 3 * SZ_1G, FAKE_PA, SZ_1G, RW, 0), 0);
	cr_assert_eq(mock_domain_map(dom, 7 * SZ_1G, FAKE_PA, SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_domain_unmap(dom, 0x1000, 7 * SZ_1G - 0x1000, &g),
		     3 * SZ_4K + SZ_2M + SZ_1G);
	cr_assert_eq(g.start, 0x3000);
	cr_assert_eq(g.end, 4 * SZ_1G - 1);
	cr_assert_eq(g.pgsize, SZ_1G);
	cr_assert_not(mapped(dom, 0x9000));
	cr_assert_not(mapped(dom, 3 * SZ_1G));
	cr_assert(mapped(dom, 7 * SZ_1G), "the page after the range survives");
	/* misaligned, empty and wrapping requests unmap nothing */
	cr_assert_eq(mock_domain_unmap(dom, 7 * SZ_1G + 1, SZ_4K, NULL), 0);
	cr_assert_eq(mock_domain_unmap(dom, 7 * SZ_1G, 0, NULL), 0);
	cr_assert_eq(mock_domain_unmap(dom, 7 * SZ_1G, UINT64_MAX - SZ_4K + 1, NULL), 0);
	cr_assert(mapped(dom, 7 * SZ_1G));
	/* a range running past the aperture is clamped */
	cr_assert_eq(mock_domain_unmap(dom, 7 * SZ_1G, 1ULL << 50, NULL), SZ_4K);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(io_pgtable, unmap_partial_4k_run_across_tables)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	const uint64_t base = SZ_1G - 3 * SZ_2M + 0x7000;   /* 4K run over 7 level-0 tables */

	cr_assert_eq(mock_domain_map(dom, base, FAKE_PA, 6 * SZ_2M, RW, SZ_4K), 0);
	cr_assert_eq(mock_domain_unmap(dom, base + SZ_4K, 6 * SZ_2M - 2 * SZ_4K, NULL),
		     6 * SZ_2M - 2 * SZ_4K);
	cr_assert(mapped(dom, base));
	cr_assert(mapped(dom, base + 6 * SZ_2M - SZ_4K));
	for (uint64_t a = base + SZ_4K; a < base + 6 * SZ_2M - SZ_4K; a += SZ_4K)
		cr_assert_not(mapped(dom, a));
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(io_pgtable, unmap_inside_huge_leaf_removes_whole_leaf)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	struct mock_iotlb_gather g;

	cr_assert_eq(mock_domain_map(dom, SZ_2M, FAKE_PA, SZ_2M, RW, 0), 0);
	mock_iotlb_gather_init(&g);
	cr_assert_eq(mock_domain_unmap(dom, SZ_2M + 0x3000, SZ_4K, &g), SZ_2M);
	cr_assert_not(mapped(dom, SZ_2M));
	cr_assert_not(mapped(dom, 2 * SZ_2M - 1));
	cr_assert_eq(g.start, SZ_2M);
	cr_assert_eq(g.end, 2 * SZ_2M - 1);
	cr_assert_eq(g.pgsize, SZ_2M);

	cr_assert_eq(mock_domain_map(dom, 2 * SZ_1G, FAKE_PA, SZ_1G, RW, 0), 0);
	cr_assert_eq(mock_domain_map(dom, 3 * SZ_1G, FAKE_PA, SZ_4K, RW, 0), 0);
	mock_iotlb_gather_init(&g);
	/* a range from the middle of the 1G leaf to past its end */
	cr_assert_eq(mock_domain_unmap(dom, 2 * SZ_1G + 7 * SZ_2M, SZ_1G - 7 * SZ_2M + SZ_4K, &g),
		     SZ_1G + SZ_4K);
	cr_assert_eq(g.start, 2 * SZ_1G);
	cr_assert_eq(g.end, 3 * SZ_1G + SZ_4K - 1);
	cr_assert_eq(g.pgsize, SZ_1G);
	cr_assert_not(mapped(dom, 2 * SZ_1G));
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

/* fail-nth over every allocation of a multi-table map: each failure leaves nothing mapped, and
 * everything is returned once the domain is freed. */
Test(io_pgtable, enomem_fail_nth_leaves_nothing_mapped)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	const uint64_t iova = SZ_1G - 2 * SZ_2M, len = 4 * SZ_2M + SZ_4K;
	int64_t live0 = ioasid_alloc_live();
	unsigned int n, failures = 0;

	for (n = 1;; n++) {
		struct mock_domain *dom = NULL;
		int ret;

		cr_assert_lt(n, 100, "map never succeeded");
		cr_assert_eq(mock_domain_alloc_paging(iommu, 0, &dom), 0);
		/* something unrelated that must survive */
		cr_assert_eq(mock_domain_map(dom, 0x7000, FAKE_PA, SZ_4K, RW, 0), 0);
		ioasid_fail_nth_set(n);
		ret = mock_domain_map(dom, iova, FAKE_PA, len, RW, SZ_4K);
		if (ret) {
			cr_assert_eq(ret, -ENOMEM);
			cr_assert_eq(ioasid_fail_nth_get(), 0, "the injected failure fired");
			failures++;
			for (uint64_t a = iova; a < iova + len; a += SZ_4K)
				cr_assert_not(mapped(dom, a), "n=%u: %#llx half-mapped", n,
					      (unsigned long long)a);
		} else {
			ioasid_fail_nth_set(0);
			for (uint64_t a = iova; a < iova + len; a += SZ_4K)
				cr_assert_eq(phys_at(dom, a), FAKE_PA + a - iova);
		}
		cr_assert(mapped(dom, 0x7000));
		mock_domain_free(dom);
		cr_assert_eq(ioasid_alloc_live(), live0, "n=%u: leaked allocations", n);
		if (!ret)
			break;
	}
	/* new tables: 2 level-0 below 1G (the level-2 and first level-1 table exist already for
	 * 0x7000), then a level-1 and 3 level-0 tables above */
	cr_assert_eq(failures, 6, "%u failure points", failures);
	mock_iommu_destroy(iommu);
}

Test(io_pgtable, enomem_fail_nth_domain_and_instance_alloc)
{
	struct mock_iommu_caps caps = { .name = "x", .pgsize_bitmap = ALL_SIZES, .ias_bits = 48 };
	int64_t live0 = ioasid_alloc_live();
	unsigned int failures = 0;

	for (unsigned int n = 1;; n++) {
		struct mock_iommu *iommu = NULL;
		struct mock_domain *dom = NULL;
		int ret;

		cr_assert_lt(n, 50);
		ioasid_fail_nth_set(n);
		ret = mock_iommu_create(&caps, &iommu);
		if (!ret) {
			ret = mock_domain_alloc_paging(iommu, 0, &dom);
			if (!ret)
				cr_assert_not_null(dom);
			else
				cr_assert_null(dom);
		} else {
			cr_assert_null(iommu);
		}
		ioasid_fail_nth_set(0);
		mock_domain_free(dom);
		mock_iommu_destroy(iommu);
		cr_assert_eq(ioasid_alloc_live(), live0, "n=%u: leak", n);
		if (!ret)
			break;
		cr_assert_eq(ret, -ENOMEM);
		failures++;
	}
	cr_assert_eq(failures, 5, "iommu, IOTLB, its array, domain and root: %u", failures);
}

struct dirty_log {
	uint64_t seen[4];
	unsigned int n;
};

static void dirty_cb(void *arg, uint64_t iova, uint64_t size)
{
	struct dirty_log *dl = arg;

	if (dl->n + 2 > 4)
		return;
	dl->seen[dl->n++] = iova;
	dl->seen[dl->n++] = size;
}

Test(io_pgtable, accessed_and_dirty_bits)
{
	struct io_pgtable pt;
	struct pt_leaf leaf;
	struct dirty_log dl = { .n = 0 };

	cr_assert_eq(io_pgtable_init(&pt, 48, ALL_SIZES), 0);
	cr_assert_eq(io_pgtable_map(&pt, 0, FAKE_PA, SZ_2M + SZ_4K, RW, 0), 0);
	cr_assert_eq(io_pgtable_lookup(&pt, 0, &leaf), 0);
	cr_assert_eq(leaf.pte & (PTE_A | PTE_D), 0);
	cr_assert_eq(io_pgtable_walk_hw(&pt, 0x1000, true, &leaf), 0);
	cr_assert_eq(leaf.pte & (PTE_A | PTE_D), PTE_A, "no dirty bit without tracking");
	pt.dirty_tracking = true;
	cr_assert_eq(io_pgtable_walk_hw(&pt, 0x1000, false, &leaf), 0);
	cr_assert_eq(leaf.pte & PTE_D, 0, "a read does not dirty");
	cr_assert_eq(io_pgtable_walk_hw(&pt, SZ_2M, true, &leaf), 0);
	cr_assert_eq(leaf.pte & (PTE_A | PTE_D), PTE_A | PTE_D);
	cr_assert_eq(io_pgtable_lookup(&pt, SZ_2M, &leaf), 0);
	cr_assert_eq(leaf.pte & PTE_D, PTE_D, "the bit is in the table");

	cr_assert_eq(io_pgtable_read_dirty(&pt, 0, 4 * SZ_2M, true, dirty_cb, &dl), 1);
	cr_assert_eq(dl.n, 2);
	cr_assert_eq(dl.seen[0], SZ_2M);
	cr_assert_eq(dl.seen[1], SZ_4K);
	cr_assert_eq(io_pgtable_read_dirty(&pt, 0, 4 * SZ_2M, false, NULL, NULL), 0, "cleared");
	io_pgtable_destroy(&pt);
}

/* Random maps and unmaps against a per-page shadow model that chooses leaves by the documented
 * rule on its own. */
#define SH_PAGES 2048u
struct shadow {
	uint64_t pa[SH_PAGES];
	uint64_t leaf[SH_PAGES];   /* leaf start IOVA, or UINT64_MAX */
	uint64_t size[SH_PAGES];
};

Test(io_pgtable, random_ops_match_shadow_model)
{
	static struct shadow sh;
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, SZ_4K | SZ_2M);
	const uint64_t base = SZ_1G - 4 * SZ_2M;   /* 8 MiB across a 1G boundary */
	unsigned int seed = 12345;

	for (unsigned int i = 0; i < SH_PAGES; i++)
		sh.leaf[i] = UINT64_MAX;
	for (unsigned int op = 0; op < 400; op++) {
		unsigned int first = rand_r(&seed) % SH_PAGES;
		unsigned int npg = 1 + rand_r(&seed) % 700;
		uint64_t iova = base + (uint64_t)first * SZ_4K;

		if (first + npg > SH_PAGES)
			npg = SH_PAGES - first;
		if (rand_r(&seed) % 3) {
			/* map; half of the time with a paddr congruent modulo 2M */
			uint64_t pa = FAKE_PA + (uint64_t)(rand_r(&seed) % 64) * SZ_2M +
				      ((rand_r(&seed) & 1) ? (iova & (SZ_2M - 1))
							   : (uint64_t)(rand_r(&seed) % 512) * SZ_4K);
			bool busy = false;
			int ret;

			for (unsigned int p = first; p < first + npg; p++)
				busy |= sh.leaf[p] != UINT64_MAX;
			ret = mock_domain_map(dom, iova, pa, (uint64_t)npg * SZ_4K, RW, 0);
			cr_assert_eq(ret, busy ? -EEXIST : 0, "op %u", op);
			if (busy)
				continue;
			for (uint64_t cur = iova, a = pa, rem = (uint64_t)npg * SZ_4K; rem;) {
				uint64_t sz = (!((cur | a) & (SZ_2M - 1)) && rem >= SZ_2M) ? SZ_2M
											: SZ_4K;
				for (uint64_t o = 0; o < sz; o += SZ_4K) {
					unsigned int p = (unsigned int)((cur + o - base) / SZ_4K);

					sh.pa[p] = a + o;
					sh.leaf[p] = cur;
					sh.size[p] = sz;
				}
				cur += sz;
				a += sz;
				rem -= sz;
			}
		} else {
			uint64_t expect = 0, got;

			for (unsigned int p = first; p < first + npg; p++) {
				uint64_t lf = sh.leaf[p], sz = sh.size[p];

				if (lf == UINT64_MAX)
					continue;
				expect += sz;
				for (uint64_t o = 0; o < sz; o += SZ_4K)
					sh.leaf[(lf + o - base) / SZ_4K] = UINT64_MAX;
			}
			got = mock_domain_unmap(dom, iova, (uint64_t)npg * SZ_4K, NULL);
			cr_assert_eq(got, expect, "op %u: unmapped %#llx expected %#llx", op,
				     (unsigned long long)got, (unsigned long long)expect);
		}
		for (unsigned int p = 0; p < SH_PAGES; p++) {
			uint64_t pa, sz;
			int r = mock_domain_iova_to_phys(dom, base + (uint64_t)p * SZ_4K, &pa, NULL,
							 &sz);

			if (sh.leaf[p] == UINT64_MAX) {
				cr_assert_eq(r, -ENOENT, "op %u page %u", op, p);
			} else {
				cr_assert_eq(r, 0, "op %u page %u", op, p);
				cr_assert_eq(pa, sh.pa[p], "op %u page %u", op, p);
				cr_assert_eq(sz, sh.size[p], "op %u page %u", op, p);
			}
		}
	}
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

/* ==== iotlb ================================================================================== */

static void stats_of(struct mock_domain *dom, struct mock_iotlb_stats *st)
{
	memset(st, 0xa5, sizeof(*st));
	mock_domain_iotlb_stats(dom, st);
}

static int xlate(struct mock_domain *dom, uint32_t pasid, uint64_t iova, enum mock_dma_dir dir,
		 uint64_t *pa, bool *stale)
{
	struct mock_fault f;
	uint64_t p = 0;

	return mock_domain_translate(dom, pasid, iova, dir, pa ? pa : &p, stale, &f);
}

Test(iotlb, hit_and_miss_counts)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	struct mock_iotlb_stats st;
	uint64_t pa;
	bool stale = true;

	stats_of(dom, &st);
	cr_assert_eq(st.hits + st.misses + st.entries + st.stale_hits + st.invalidations, 0);
	cr_assert_eq(mock_domain_map(dom, 0x4000, FAKE_PA, 2 * SZ_4K, RW, 0), 0);
	cr_assert_eq(xlate(dom, 0, 0x4010, MOCK_DMA_READ, &pa, &stale), 0);
	cr_assert_eq(pa, FAKE_PA + 0x10);
	cr_assert_not(stale);
	cr_assert_eq(xlate(dom, 0, 0x4ff8, MOCK_DMA_WRITE, &pa, &stale), 0);
	cr_assert_eq(pa, FAKE_PA + 0xff8);
	cr_assert_not(stale);
	cr_assert_eq(xlate(dom, 0, 0x5000, MOCK_DMA_READ, &pa, NULL), 0);
	stats_of(dom, &st);
	cr_assert_eq(st.misses, 2);
	cr_assert_eq(st.hits, 1);
	cr_assert_eq(st.entries, 2);
	cr_assert_eq(st.stale_hits, 0);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(iotlb, one_entry_per_huge_leaf)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	struct mock_iotlb_stats st;
	uint64_t pa;

	cr_assert_eq(mock_domain_map(dom, SZ_1G, FAKE_PA, SZ_1G + SZ_2M, RW, 0), 0);
	for (uint64_t off = 0; off < SZ_1G; off += SZ_1G / 16) {
		cr_assert_eq(xlate(dom, 0, SZ_1G + off, MOCK_DMA_READ, &pa, NULL), 0);
		cr_assert_eq(pa, FAKE_PA + off);
	}
	cr_assert_eq(xlate(dom, 0, 2 * SZ_1G + 0x1234, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(xlate(dom, 0, 2 * SZ_1G + SZ_2M - 1, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(pa, FAKE_PA + SZ_1G + SZ_2M - 1);
	stats_of(dom, &st);
	cr_assert_eq(st.misses, 2);
	cr_assert_eq(st.hits, 16);
	cr_assert_eq(st.entries, 2);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(iotlb, stale_hit_after_unmap_without_sync)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	struct mock_iotlb_gather g;
	struct mock_iotlb_stats st;
	struct mock_fault f;
	char *mem = xaligned(SZ_4K, SZ_4K), buf[16] = { 0 };
	bool stale = false;
	uint64_t pa;

	strcpy(mem + 0x100, "old data");
	cr_assert_eq(mock_domain_map(dom, 0x40000, (uintptr_t)mem, SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_domain_dma(dom, 0, 0x40100, buf, 9, MOCK_DMA_READ, &f), 0);
	mock_iotlb_gather_init(&g);
	cr_assert_eq(mock_domain_unmap(dom, 0x40000, SZ_4K, &g), SZ_4K);
	/* no sync: the device still reaches the old page */
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(mock_domain_dma(dom, 0, 0x40100, buf, 9, MOCK_DMA_READ, &f), 0);
	cr_assert_str_eq(buf, "old data");
	cr_assert_eq(xlate(dom, 0, 0x40200, MOCK_DMA_WRITE, &pa, &stale), 0);
	cr_assert(stale);
	cr_assert_eq(pa, (uintptr_t)mem + 0x200);
	stats_of(dom, &st);
	cr_assert_eq(st.stale_hits, 2);
	cr_assert_eq(st.hits, 2);
	cr_assert_eq(st.misses, 1);
	cr_assert_eq(st.invalidations, 0);
	/* the software walk knows better */
	cr_assert_not(mapped(dom, 0x40000));
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
	free(mem);
}

Test(iotlb, stale_translation_after_remap_without_sync)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	struct mock_iotlb_stats st;
	bool stale = false;
	uint64_t pa;

	cr_assert_eq(mock_domain_map(dom, 0x8000, FAKE_PA, SZ_4K, RW, 0), 0);
	cr_assert_eq(xlate(dom, 3, 0x8000, MOCK_DMA_READ, &pa, &stale), 0);
	cr_assert_eq(mock_domain_unmap(dom, 0x8000, SZ_4K, NULL), SZ_4K);
	cr_assert_eq(mock_domain_map(dom, 0x8000, FAKE_PA + SZ_1G, SZ_4K, MOCK_PROT_READ, 0), 0);
	cr_assert_eq(xlate(dom, 3, 0x8000, MOCK_DMA_WRITE, &pa, &stale), 0,
		     "the cached entry still allows writes");
	cr_assert(stale);
	cr_assert_eq(pa, FAKE_PA);
	/* an identical remap is not stale */
	cr_assert_eq(mock_domain_unmap(dom, 0x8000, SZ_4K, NULL), SZ_4K);
	cr_assert_eq(mock_domain_map(dom, 0x8000, FAKE_PA, SZ_4K, RW, 0), 0);
	cr_assert_eq(xlate(dom, 3, 0x8000, MOCK_DMA_WRITE, &pa, &stale), 0);
	cr_assert_not(stale);
	stats_of(dom, &st);
	cr_assert_eq(st.stale_hits, 1);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(iotlb, no_stale_hit_after_sync)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	struct mock_iotlb_gather g;
	struct mock_iotlb_stats st;
	struct mock_fault f;
	uint64_t pa;

	cr_assert_eq(mock_domain_map(dom, 0, FAKE_PA, 4 * SZ_4K, RW, 0), 0);
	for (uint64_t a = 0; a < 4 * SZ_4K; a += SZ_4K)
		cr_assert_eq(xlate(dom, 0, a, MOCK_DMA_READ, &pa, NULL), 0);
	mock_iotlb_gather_init(&g);
	cr_assert_eq(mock_domain_unmap(dom, SZ_4K, SZ_4K, &g), SZ_4K);
	mock_domain_iotlb_sync(dom, &g);
	cr_assert_gt(g.start, g.end, "sync resets the gather");
	memset(&f, 0, sizeof(f));
	cr_assert_eq(mock_domain_translate(dom, 0, SZ_4K + 8, MOCK_DMA_READ, &pa, NULL, &f),
		     -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_NOT_PRESENT);
	cr_assert_eq(xlate(dom, 0, 0, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(xlate(dom, 0, 2 * SZ_4K, MOCK_DMA_READ, &pa, NULL), 0);
	stats_of(dom, &st);
	cr_assert_eq(st.stale_hits, 0);
	cr_assert_eq(st.invalidations, 1);
	cr_assert_eq(st.entries_dropped, 1);
	cr_assert_eq(st.entries, 3);
	cr_assert_eq(st.hits, 2, "the neighbours stayed cached");
	cr_assert_eq(st.misses, 5);
	/* an empty gather invalidates nothing */
	mock_domain_iotlb_sync(dom, &g);
	stats_of(dom, &st);
	cr_assert_eq(st.invalidations, 1);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(iotlb, sync_of_huge_leaf_and_big_range)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	struct mock_iotlb_gather g;
	struct mock_iotlb_stats st;
	bool stale;
	uint64_t pa;

	/* 200 4K entries (more than the 64 sets: the invalidation scans) and one 2M entry */
	cr_assert_eq(mock_domain_map(dom, 0, FAKE_PA, 200 * SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_domain_map(dom, SZ_1G, FAKE_PA, SZ_2M, RW, 0), 0);
	for (uint64_t a = 0; a < 200 * SZ_4K; a += SZ_4K)
		cr_assert_eq(xlate(dom, 0, a, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(xlate(dom, 0, SZ_1G + 0x5000, MOCK_DMA_READ, &pa, NULL), 0);
	stats_of(dom, &st);
	cr_assert_eq(st.entries, 201);
	mock_iotlb_gather_init(&g);
	cr_assert_eq(mock_domain_unmap(dom, 0, 200 * SZ_4K, &g), 200 * SZ_4K);
	mock_domain_iotlb_sync(dom, &g);
	stats_of(dom, &st);
	cr_assert_eq(st.entries, 1);
	cr_assert_eq(st.entries_dropped, 200);
	/* unmapping 4K inside the 2M leaf gathers the whole leaf; the sync drops it */
	mock_iotlb_gather_init(&g);
	cr_assert_eq(mock_domain_unmap(dom, SZ_1G + 0x1ff000, SZ_4K, &g), SZ_2M);
	mock_domain_iotlb_sync(dom, &g);
	stats_of(dom, &st);
	cr_assert_eq(st.entries, 0);
	cr_assert_eq(xlate(dom, 0, SZ_1G + 0x5000, MOCK_DMA_READ, &pa, &stale), -EFAULT);
	stats_of(dom, &st);
	cr_assert_eq(st.stale_hits, 0);
	cr_assert_eq(st.invalidations, 2);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(iotlb, invalidation_covers_all_pasids_and_pasids_are_tags)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	struct mock_iotlb_gather g;
	struct mock_iotlb_stats st;
	uint64_t pa;

	cr_assert_eq(mock_domain_map(dom, 0x10000, FAKE_PA, SZ_4K, RW, 0), 0);
	cr_assert_eq(xlate(dom, 0, 0x10000, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(xlate(dom, 7, 0x10000, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(xlate(dom, 99, 0x10000, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(xlate(dom, 7, 0x10000, MOCK_DMA_READ, &pa, NULL), 0);
	stats_of(dom, &st);
	cr_assert_eq(st.misses, 3, "each PASID has its own entry");
	cr_assert_eq(st.hits, 1);
	cr_assert_eq(st.entries, 3);
	mock_iotlb_gather_init(&g);
	cr_assert_eq(mock_domain_unmap(dom, 0x10000, SZ_4K, &g), SZ_4K);
	mock_domain_iotlb_sync(dom, &g);
	stats_of(dom, &st);
	cr_assert_eq(st.entries, 0);
	cr_assert_eq(st.entries_dropped, 3);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(iotlb, flush_all_and_domain_isolation)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *a = new_domain(iommu, 0), *b = new_domain(iommu, 0);
	struct mock_iotlb_stats sa, sb;
	uint64_t pa;

	cr_assert_neq(mock_domain_id(a), mock_domain_id(b));
	cr_assert_eq(mock_domain_map(a, 0, FAKE_PA, 8 * SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_domain_map(b, 0, FAKE_PA + SZ_1G, 8 * SZ_4K, RW, 0), 0);
	for (uint64_t i = 0; i < 8; i++) {
		cr_assert_eq(xlate(a, 0, i * SZ_4K, MOCK_DMA_READ, &pa, NULL), 0);
		cr_assert_eq(pa, FAKE_PA + i * SZ_4K);
		cr_assert_eq(xlate(b, 0, i * SZ_4K, MOCK_DMA_READ, &pa, NULL), 0);
		cr_assert_eq(pa, FAKE_PA + SZ_1G + i * SZ_4K, "domain b must not hit a's entry");
	}
	stats_of(a, &sa);
	stats_of(b, &sb);
	cr_assert_eq(sa.misses, 8);
	cr_assert_eq(sb.misses, 8);
	mock_domain_flush_all(a);
	stats_of(a, &sa);
	stats_of(b, &sb);
	cr_assert_eq(sa.entries, 0);
	cr_assert_eq(sa.entries_dropped, 8);
	cr_assert_eq(sa.invalidations, 1);
	cr_assert_eq(sb.entries, 8);
	cr_assert_eq(xlate(a, 0, 0, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(xlate(b, 0, 0, MOCK_DMA_READ, &pa, NULL), 0);
	stats_of(a, &sa);
	stats_of(b, &sb);
	cr_assert_eq(sa.misses, 9);
	cr_assert_eq(sb.hits, 1);
	/* freeing a domain drops its entries; b's survive */
	mock_domain_free(a);
	stats_of(b, &sb);
	cr_assert_eq(sb.entries, 8);
	mock_domain_free(b);
	mock_iommu_destroy(iommu);
}

Test(iotlb, capacity_eviction_is_lru)
{
	/* one set of four ways: fully associative, eviction order observable */
	struct mock_iommu *iommu = new_iommu_geom(48, ALL_SIZES, 1, 4);
	struct mock_domain *dom = new_domain(iommu, 0);
	struct mock_iotlb_stats st;
	uint64_t pa;

	cr_assert_eq(mock_iommu_caps(iommu)->iotlb_sets, 1);
	cr_assert_eq(mock_iommu_caps(iommu)->iotlb_ways, 4);
	cr_assert_eq(mock_domain_map(dom, 0, FAKE_PA, 8 * SZ_4K, RW, 0), 0);
	for (uint64_t i = 0; i < 4; i++)            /* A B C D */
		cr_assert_eq(xlate(dom, 0, i * SZ_4K, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(xlate(dom, 0, 0, MOCK_DMA_READ, &pa, NULL), 0);          /* A hit */
	cr_assert_eq(xlate(dom, 0, 4 * SZ_4K, MOCK_DMA_READ, &pa, NULL), 0);  /* E evicts B */
	stats_of(dom, &st);
	cr_assert_eq(st.entries, 4);
	cr_assert_eq(st.hits, 1);
	cr_assert_eq(st.misses, 5);
	cr_assert_eq(xlate(dom, 0, 0, MOCK_DMA_READ, &pa, NULL), 0);          /* A: hit */
	stats_of(dom, &st);
	cr_assert_eq(st.hits, 2, "A was used recently and must survive");
	cr_assert_eq(xlate(dom, 0, SZ_4K, MOCK_DMA_READ, &pa, NULL), 0);      /* B: miss */
	stats_of(dom, &st);
	cr_assert_eq(st.misses, 6, "B was least recently used and must be gone");
	cr_assert_eq(st.entries, 4);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(iotlb, default_geometry_capacity)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	struct mock_iotlb_stats st;
	uint64_t pa;

	cr_assert_eq(mock_iommu_caps(iommu)->iotlb_sets, 64);
	cr_assert_eq(mock_iommu_caps(iommu)->iotlb_ways, 8);
	cr_assert_eq(mock_domain_map(dom, 0, FAKE_PA, 1024 * SZ_4K, RW, SZ_4K), 0);
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t i = 0; i < 1024; i++)
			cr_assert_eq(xlate(dom, 0, i * SZ_4K, MOCK_DMA_READ, &pa, NULL), 0);
	stats_of(dom, &st);
	cr_assert_eq(st.entries, 512, "full, and no more than sets x ways");
	/* a sequential sweep twice the capacity never hits under LRU */
	cr_assert_eq(st.hits, 0);
	cr_assert_eq(st.misses, 2048);
	/* a working set within capacity hits after the first pass */
	mock_domain_flush_all(dom);
	for (int pass = 0; pass < 3; pass++)
		for (uint64_t i = 0; i < 256; i++)
			cr_assert_eq(xlate(dom, 0, i * SZ_4K, MOCK_DMA_READ, &pa, NULL), 0);
	stats_of(dom, &st);
	cr_assert_eq(st.hits, 512);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(iotlb, eviction_by_another_domain_keeps_counts)
{
	struct mock_iommu *iommu = new_iommu_geom(48, ALL_SIZES, 1, 2);
	struct mock_domain *a = new_domain(iommu, 0), *b = new_domain(iommu, 0);
	struct mock_iotlb_stats sa, sb;
	uint64_t pa;

	cr_assert_eq(mock_domain_map(a, 0, FAKE_PA, 2 * SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_domain_map(b, 0, FAKE_PA, SZ_4K, RW, 0), 0);
	cr_assert_eq(xlate(a, 0, 0, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(xlate(a, 0, SZ_4K, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(xlate(b, 0, 0, MOCK_DMA_READ, &pa, NULL), 0);
	stats_of(a, &sa);
	stats_of(b, &sb);
	cr_assert_eq(sa.entries, 1);
	cr_assert_eq(sb.entries, 1);
	mock_domain_free(a);   /* must not touch b's way */
	stats_of(b, &sb);
	cr_assert_eq(sb.entries, 1);
	cr_assert_eq(xlate(b, 0, 0, MOCK_DMA_READ, &pa, NULL), 0);
	stats_of(b, &sb);
	cr_assert_eq(sb.hits, 1);
	mock_domain_free(b);
	mock_iommu_destroy(iommu);
}

struct xlate_thread {
	struct mock_domain *dom;
	uint64_t base;
	unsigned int n;
	int errors;
};

static void *xlate_worker(void *arg)
{
	struct xlate_thread *t = arg;

	for (unsigned int i = 0; i < t->n; i++) {
		uint64_t iova = t->base + (uint64_t)(i % 700) * SZ_4K, pa = 0;

		if (xlate(t->dom, 0, iova, i & 1 ? MOCK_DMA_WRITE : MOCK_DMA_READ, &pa, NULL) ||
		    pa != FAKE_PA + iova)
			t->errors++;
	}
	return NULL;
}

Test(iotlb, concurrent_translations_are_consistent)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	struct xlate_thread t[4];
	pthread_t th[4];
	struct mock_iotlb_stats st;

	cr_assert_eq(mock_domain_map(dom, 0, FAKE_PA, 2048 * SZ_4K, RW, SZ_4K), 0);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct xlate_thread){ .dom = dom, .base = (uint64_t)(i % 2) * 700 * SZ_4K,
					      .n = 50000 };
		cr_assert_eq(pthread_create(&th[i], NULL, xlate_worker, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(t[i].errors, 0);
	}
	stats_of(dom, &st);
	cr_assert_eq(st.hits + st.misses, 200000);
	cr_assert_eq(st.stale_hits, 0);
	cr_assert_leq(st.entries, 512);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

/* ==== mock_iommu ============================================================================= */

Test(mock_iommu, create_validates_caps)
{
	struct mock_iommu_caps caps = { .name = "iommu7", .pgsize_bitmap = ALL_SIZES,
					.ias_bits = 48, .pasid_bits = 20, .nesting = true };
	struct mock_iommu *iommu = (void *)1;
	char name[8];

	caps.ias_bits = 40;
	cr_assert_eq(mock_iommu_create(&caps, &iommu), -EINVAL);
	cr_assert_null(iommu);
	caps.ias_bits = 48;
	caps.pgsize_bitmap = SZ_2M | SZ_1G;
	cr_assert_eq(mock_iommu_create(&caps, &iommu), -EINVAL);
	caps.pgsize_bitmap = SZ_4K | (1ULL << 39);
	cr_assert_eq(mock_iommu_create(&caps, &iommu), -EINVAL);
	caps.pgsize_bitmap = ALL_SIZES;
	caps.pasid_bits = 21;
	cr_assert_eq(mock_iommu_create(&caps, &iommu), -EINVAL);
	caps.pasid_bits = 20;
	caps.iotlb_sets = 1u << 20;
	caps.iotlb_ways = 2;
	cr_assert_eq(mock_iommu_create(&caps, &iommu), -EINVAL);
	caps.iotlb_sets = 16;
	caps.iotlb_ways = 0;
	cr_assert_eq(mock_iommu_create(NULL, &iommu), -EINVAL);

	strcpy(name, "iommu7");
	caps.name = name;
	cr_assert_eq(mock_iommu_create(&caps, &iommu), 0);
	name[0] = 'X';   /* the instance keeps its own copy */
	cr_assert_str_eq(mock_iommu_caps(iommu)->name, "iommu7");
	cr_assert_eq(mock_iommu_caps(iommu)->iotlb_sets, 16);
	cr_assert_eq(mock_iommu_caps(iommu)->iotlb_ways, 8);
	cr_assert(mock_iommu_caps(iommu)->nesting);
	cr_assert_eq(mock_iommu_caps(iommu)->pasid_bits, 20);
	mock_iommu_destroy(iommu);
}

Test(mock_iommu, domain_bitmap_and_ids)
{
	struct mock_iommu *iommu = new_iommu(39, SZ_4K | SZ_2M);
	struct mock_domain *d[3], *bad = (void *)1;
	uint32_t freed;

	cr_assert_eq(mock_domain_alloc_paging(iommu, SZ_2M | SZ_1G, &bad), -EINVAL);
	cr_assert_null(bad);
	d[0] = new_domain(iommu, 0);
	d[1] = new_domain(iommu, SZ_4K | SZ_1G);
	d[2] = new_domain(iommu, ALL_SIZES);
	cr_assert_eq(mock_domain_pgsize_bitmap(d[0]), SZ_4K | SZ_2M);
	cr_assert_eq(mock_domain_pgsize_bitmap(d[1]), SZ_4K);
	cr_assert_eq(mock_domain_pgsize_bitmap(d[2]), SZ_4K | SZ_2M);
	cr_assert_eq(mock_domain_aperture_end(d[0]), (1ULL << 39) - 1);
	cr_assert_eq(mock_domain_table_pages(d[0]), 1);
	for (int i = 0; i < 3; i++) {
		cr_assert_geq(mock_domain_id(d[i]), 1);
		for (int j = 0; j < i; j++)
			cr_assert_neq(mock_domain_id(d[i]), mock_domain_id(d[j]));
	}
	freed = mock_domain_id(d[1]);
	mock_domain_free(d[1]);
	/* IDs are not reused before the space wraps: the next one is new */
	d[1] = new_domain(iommu, 0);
	cr_assert_neq(mock_domain_id(d[1]), freed);
	for (int i = 0; i < 3; i++)
		mock_domain_free(d[i]);
	mock_domain_free(NULL);
	mock_iommu_destroy(iommu);
}

Test(mock_iommu, dma_write_then_read_real_buffer)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	unsigned char *mem = xaligned(SZ_4K, 4 * SZ_4K), src[4 * 4096], dst[4 * 4096];
	struct mock_fault f;

	for (unsigned int i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(i * 7 + 3);
	cr_assert_eq(mock_domain_map(dom, 0x100000, (uintptr_t)mem, 4 * SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_domain_dma(dom, 0, 0x100000, src, sizeof(src), MOCK_DMA_WRITE, &f), 0);
	cr_assert_eq(memcmp(mem, src, sizeof(src)), 0, "the device wrote the memory");
	mem[100] ^= 0xff;
	cr_assert_eq(mock_domain_dma(dom, 0, 0x100000, dst, sizeof(dst), MOCK_DMA_READ, &f), 0);
	cr_assert_eq(dst[100], (unsigned char)(src[100] ^ 0xff), "the device read the memory");
	cr_assert_eq(memcmp(dst + 101, src + 101, sizeof(src) - 101), 0);
	cr_assert_eq(mock_domain_dma(dom, 0, 0x100000, dst, 0, MOCK_DMA_READ, &f), 0);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
	free(mem);
}

Test(mock_iommu, dma_crosses_scattered_pages)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	unsigned char *mem = xaligned(SZ_4K, 3 * SZ_4K), buf[3 * 4096];
	static const unsigned int order[3] = { 2, 0, 1 };   /* IOVA page i -> memory page order[i] */
	struct mock_fault f;

	for (unsigned int i = 0; i < 3; i++)
		cr_assert_eq(mock_domain_map(dom, 0x200000 + i * SZ_4K,
					     (uintptr_t)mem + order[i] * SZ_4K, SZ_4K, RW, 0), 0);
	memset(buf, 0, sizeof(buf));
	for (unsigned int i = 0; i < 3 * 4096 - 200; i++)
		buf[i] = (unsigned char)(i / 4096 + 1);
	/* from 100 bytes into page 0 to 100 bytes before the end of page 2 */
	cr_assert_eq(mock_domain_dma(dom, 0, 0x200000 + 100, buf, 3 * 4096 - 200, MOCK_DMA_WRITE,
				     &f), 0);
	for (unsigned int i = 0; i < 3; i++) {
		unsigned char *page = mem + order[i] * SZ_4K;

		for (unsigned int o = 0; o < 4096; o++) {
			uint64_t off = i * 4096 + o;
			unsigned char want = (off < 100 || off >= 3 * 4096 - 100)
						     ? 0 : (unsigned char)((off - 100) / 4096 + 1);

			cr_assert_eq(page[o], want, "page %u offset %u", i, o);
		}
	}
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
	free(mem);
}

Test(mock_iommu, dma_crosses_leaf_sizes)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	unsigned char *mem = xaligned(SZ_2M, 3 * SZ_2M), *buf = malloc(SZ_2M + 2 * SZ_4K);
	uint64_t iova = 5 * SZ_2M - SZ_4K;    /* [4K leaf][2M leaf][4K leaf] */
	uint64_t pa = (uintptr_t)mem + SZ_2M - SZ_4K;
	struct mock_fault f;
	struct mock_iotlb_stats st;

	cr_assert_not_null(buf);
	cr_assert_eq(mock_domain_map(dom, iova, pa, SZ_2M + 2 * SZ_4K, RW, 0), 0);
	cr_assert_eq(leaf_size_at(dom, iova), SZ_4K);
	cr_assert_eq(leaf_size_at(dom, iova + SZ_4K), SZ_2M);
	cr_assert_eq(leaf_size_at(dom, iova + SZ_4K + SZ_2M), SZ_4K);
	for (size_t i = 0; i < SZ_2M + 2 * SZ_4K; i++)
		buf[i] = (unsigned char)(i % 251);
	cr_assert_eq(mock_domain_dma(dom, 0, iova + 8, buf, SZ_2M + 2 * SZ_4K - 16, MOCK_DMA_WRITE,
				     &f), 0);
	cr_assert_eq(memcmp(mem + SZ_2M - SZ_4K + 8, buf, SZ_2M + 2 * SZ_4K - 16), 0);
	stats_of(dom, &st);
	cr_assert_eq(st.misses, 3, "one walk per leaf");
	cr_assert_eq(st.hits, 514 - 3, "every other 4K page hits");
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
	free(mem);
	free(buf);
}

Test(mock_iommu, permission_faults)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	unsigned char *mem = xaligned(SZ_4K, 2 * SZ_4K), buf[64];
	struct mock_fault f;

	memset(mem, 0x5a, 2 * SZ_4K);
	cr_assert_eq(mock_domain_map(dom, 0x1000, (uintptr_t)mem, SZ_4K, MOCK_PROT_READ, 0), 0);
	cr_assert_eq(mock_domain_map(dom, 0x2000, (uintptr_t)mem + SZ_4K, SZ_4K, MOCK_PROT_WRITE,
				     0), 0);
	memset(buf, 0x11, sizeof(buf));
	memset(&f, 0, sizeof(f));
	cr_assert_eq(mock_domain_dma(dom, 4, 0x1010, buf, sizeof(buf), MOCK_DMA_WRITE, &f),
		     -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_PERMISSION);
	cr_assert_eq(f.iova, 0x1010);
	cr_assert_eq(f.pasid, 4);
	cr_assert_eq(f.dir, MOCK_DMA_WRITE);
	cr_assert_eq(mem[0x10], 0x5a, "a faulting write changes nothing");
	cr_assert_eq(mock_domain_dma(dom, 4, 0x1010, buf, sizeof(buf), MOCK_DMA_READ, &f), 0);
	cr_assert_eq(buf[0], 0x5a);
	/* write-only page: reads fault, writes land */
	memset(&f, 0, sizeof(f));
	cr_assert_eq(mock_domain_dma(dom, 0, 0x2000, buf, 8, MOCK_DMA_READ, &f), -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_PERMISSION);
	cr_assert_eq(f.dir, MOCK_DMA_READ);
	memset(buf, 0x33, 8);
	cr_assert_eq(mock_domain_dma(dom, 0, 0x2000, buf, 8, MOCK_DMA_WRITE, &f), 0);
	cr_assert_eq(mem[SZ_4K], 0x33);
	cr_assert_eq(mem[SZ_4K + 8], 0x5a);
	/* prot 0: present but no access */
	cr_assert_eq(mock_domain_map(dom, 0x3000, (uintptr_t)mem, SZ_4K, 0, 0), 0);
	cr_assert_eq(mock_domain_dma(dom, 0, 0x3000, buf, 8, MOCK_DMA_READ, &f), -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_PERMISSION);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
	free(mem);
}

Test(mock_iommu, not_present_and_out_of_range_faults)
{
	struct mock_iommu *iommu = new_iommu(39, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	struct mock_fault f;
	unsigned char buf[16];
	uint64_t pa = 77;

	memset(&f, 0, sizeof(f));
	cr_assert_eq(mock_domain_dma(dom, 0, 0x9000, buf, sizeof(buf), MOCK_DMA_READ, &f), -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_NOT_PRESENT);
	cr_assert_eq(f.iova, 0x9000);
	memset(&f, 0, sizeof(f));
	cr_assert_eq(mock_domain_translate(dom, 0, 1ULL << 39, MOCK_DMA_READ, &pa, NULL, &f),
		     -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_OUT_OF_RANGE);
	cr_assert_eq(f.iova, 1ULL << 39);
	cr_assert_eq(pa, 77, "no translation on a fault");
	memset(&f, 0, sizeof(f));
	cr_assert_eq(mock_domain_dma(dom, 0, UINT64_MAX - 3, buf, sizeof(buf), MOCK_DMA_READ, &f),
		     -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_OUT_OF_RANGE);
	cr_assert_eq(f.iova, UINT64_MAX - 3);
	/* a fault caches nothing */
	struct mock_iotlb_stats st;
	stats_of(dom, &st);
	cr_assert_eq(st.entries, 0);
	cr_assert_eq(mock_domain_translate(dom, 0, 0x9000, MOCK_DMA_READ, &pa, NULL, NULL),
		     -EFAULT, "fault may be NULL");
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(mock_iommu, fault_reports_first_faulting_iova)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	unsigned char *mem = xaligned(SZ_4K, 4 * SZ_4K), buf[3 * 4096];
	struct mock_fault f;

	/* pages 0 and 1 mapped RW, page 2 unmapped, page 3 read-only */
	cr_assert_eq(mock_domain_map(dom, 0x10000, (uintptr_t)mem, 2 * SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_domain_map(dom, 0x13000, (uintptr_t)mem + 3 * SZ_4K, SZ_4K,
				     MOCK_PROT_READ, 0), 0);
	memset(buf, 0xee, sizeof(buf));
	memset(&f, 0, sizeof(f));
	cr_assert_eq(mock_domain_dma(dom, 0, 0x10800, buf, sizeof(buf), MOCK_DMA_WRITE, &f),
		     -EFAULT);
	cr_assert_eq(f.iova, 0x12000, "the first byte of the first faulting page");
	cr_assert_eq(f.reason, MOCK_FAULT_NOT_PRESENT);
	/* the bytes before the faulting page were transferred */
	for (unsigned int o = 0; o < 2 * 4096; o++)
		cr_assert_eq(mem[o], o < 0x800 ? 0 : 0xee, "offset %u", o);
	/* the permission fault past the hole is not the first one */
	cr_assert_eq(mock_domain_map(dom, 0x12000, (uintptr_t)mem + 2 * SZ_4K, SZ_4K, RW, 0), 0);
	memset(&f, 0, sizeof(f));
	cr_assert_eq(mock_domain_dma(dom, 0, 0x10800, buf, sizeof(buf), MOCK_DMA_WRITE, &f),
		     -EFAULT);
	cr_assert_eq(f.iova, 0x13000);
	cr_assert_eq(f.reason, MOCK_FAULT_PERMISSION);
	cr_assert_eq(mem[2 * SZ_4K + 5], 0xee);
	cr_assert_eq(mem[3 * SZ_4K], 0);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
	free(mem);
}

Test(mock_iommu, gather_accumulates_across_unmaps)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	struct mock_iotlb_gather g;
	struct mock_iotlb_stats st;
	uint64_t pa;

	mock_iotlb_gather_init(&g);
	cr_assert_gt(g.start, g.end);
	cr_assert_eq(g.pgsize, 0);
	cr_assert_eq(mock_domain_map(dom, 0x5000, FAKE_PA, SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_domain_map(dom, 8 * SZ_2M, FAKE_PA, SZ_2M, RW, 0), 0);
	cr_assert_eq(mock_domain_map(dom, 0x1000, FAKE_PA, SZ_4K, RW, 0), 0);
	for (uint64_t a = 0; a < 3; a++) {
		static const uint64_t iovas[3] = { 0x5000, 8 * SZ_2M + 0x1000, 0x1000 };

		cr_assert_eq(xlate(dom, 0, iovas[a], MOCK_DMA_READ, &pa, NULL), 0);
	}
	cr_assert_eq(mock_domain_unmap(dom, 0x5000, SZ_4K, &g), SZ_4K);
	cr_assert_eq(mock_domain_unmap(dom, 8 * SZ_2M, SZ_2M, &g), SZ_2M);
	cr_assert_eq(mock_domain_unmap(dom, 0x1000, SZ_4K, &g), SZ_4K);
	cr_assert_eq(g.start, 0x1000);
	cr_assert_eq(g.end, 9 * SZ_2M - 1);
	cr_assert_eq(g.pgsize, SZ_2M);
	mock_domain_iotlb_sync(dom, &g);
	stats_of(dom, &st);
	cr_assert_eq(st.invalidations, 1);
	cr_assert_eq(st.entries_dropped, 3);
	cr_assert_eq(st.entries, 0);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(mock_iommu, dma_after_free_and_realloc_does_not_hit_old_entries)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *a = new_domain(iommu, 0), *b;
	struct mock_iotlb_stats st;
	uint64_t pa;

	cr_assert_eq(mock_domain_map(a, 0, FAKE_PA, SZ_4K, RW, 0), 0);
	cr_assert_eq(xlate(a, 0, 0, MOCK_DMA_READ, &pa, NULL), 0);
	mock_domain_free(a);
	b = new_domain(iommu, 0);
	cr_assert_eq(xlate(b, 0, 0, MOCK_DMA_READ, &pa, NULL), -EFAULT);
	stats_of(b, &st);
	cr_assert_eq(st.hits, 0);
	mock_domain_free(b);
	mock_iommu_destroy(iommu);
}

/* ==== 2 KiB granule and custom apertures ===================================================== */

#define SZ_2K  SZ_2K_MOCK
#define SZ_1M  (SZ_2K << 9)
#define SZ_512M (SZ_2K << 18)
#define SIZES_2K (SZ_2K | SZ_1M | SZ_512M)
#define SELFTEST_AP_START (1ULL << 24)
#define SELFTEST_AP_LAST  ((1ULL << 31) - 1)

static struct mock_iommu *new_iommu_caps(const struct mock_iommu_caps *caps)
{
	struct mock_iommu *iommu = NULL;

	cr_assert_eq(mock_iommu_create(caps, &iommu), 0);
	return iommu;
}

/* The kernel selftest's mock IOMMU: 2K granule, aperture [16M, 2G). */
static struct mock_iommu *new_selftest_iommu(void)
{
	struct mock_iommu_caps caps = {
		.name = "mock", .pgsize_bitmap = SZ_2K | SZ_1M, .ias_bits = 48, .pasid_bits = 20,
		.nesting = true, .dirty_tracking = true,
		.aperture_start = SELFTEST_AP_START, .aperture_last = SELFTEST_AP_LAST,
	};

	return new_iommu_caps(&caps);
}

Test(io_pgtable, granule_2k_levels_and_pte_address_field)
{
	struct io_pgtable pt;
	struct pt_leaf leaf;
	static const unsigned int ias[] = { 39, 48, 57 }, levels[] = { 4, 5, 6 };

	for (unsigned int i = 0; i < 3; i++) {
		cr_assert_eq(io_pgtable_init(&pt, ias[i], SIZES_2K), 0);
		cr_assert_eq(pt.levels, levels[i]);
		cr_assert_eq(pt.gshift, 11);
		io_pgtable_destroy(&pt);
	}
	/* sizes must be granule << {0, 9, 18}: 2K with 2M is not a 2K-granule table */
	cr_assert_eq(io_pgtable_init(&pt, 48, SZ_2K | SZ_2M), -EINVAL);
	cr_assert_eq(io_pgtable_init(&pt, 48, SZ_2K | SZ_4K), -EINVAL);
	cr_assert_eq(io_pgtable_init(&pt, 48, 0x400), -EINVAL);

	cr_assert_eq(io_pgtable_init(&pt, 48, SIZES_2K), 0);
	/* an output address that is 2K but not 4K aligned survives the entry format */
	cr_assert_eq(io_pgtable_map(&pt, 0x800, FAKE_PA + 0x1800, SZ_2K, RW, 0), 0);
	cr_assert_eq(io_pgtable_lookup(&pt, 0xfff, &leaf), 0);
	cr_assert_eq(leaf.iova, 0x800);
	cr_assert_eq(leaf.size, SZ_2K);
	cr_assert_eq(leaf.paddr, FAKE_PA + 0x1800);
	cr_assert_eq(leaf.pte & PTE_ADDR_MASK, FAKE_PA + 0x1800);
	cr_assert_eq(leaf.pte & ~PTE_ADDR_MASK, PTE_P | PTE_L | PTE_R | PTE_W);
	cr_assert_eq(io_pgtable_lookup(&pt, 0x7ff, &leaf), -ENOENT);
	cr_assert_eq(io_pgtable_lookup(&pt, 0x1000, &leaf), -ENOENT);
	/* 1M and 512M leaves at levels 1 and 2 */
	cr_assert_eq(io_pgtable_map(&pt, SZ_512M, FAKE_PA + SZ_512M, SZ_512M + SZ_1M + SZ_2K, RW,
				    0), 0);
	pt_counts(&pt, 2, 1, 1);
	cr_assert_eq(io_pgtable_lookup(&pt, 2 * SZ_512M + 5, &leaf), 0);
	cr_assert_eq(leaf.size, SZ_1M);
	cr_assert_eq(io_pgtable_unmap(&pt, SZ_512M + 0x800, SZ_2K, NULL), SZ_512M,
		     "the straddled 512M leaf goes whole");
	/* unmap must be 2K aligned */
	cr_assert_eq(io_pgtable_unmap(&pt, 0x400, SZ_2K, NULL), 0);
	cr_assert_eq(io_pgtable_unmap(&pt, 0x800, SZ_2K, NULL), SZ_2K);
	io_pgtable_destroy(&pt);
}

Test(io_pgtable, granule_2k_map_translate_dma_unmap)
{
	struct mock_iommu *iommu = new_selftest_iommu();
	struct mock_domain *dom = new_domain(iommu, 0);
	unsigned char *mem = xaligned(SZ_4K, 4 * SZ_4K), buf[3 * 2048], back[3 * 2048];
	const uint64_t iova = SELFTEST_AP_START + 0x800;       /* 2K, not 4K aligned */
	const uint64_t host = (uintptr_t)mem + 0x800;           /* likewise */
	struct mock_iotlb_gather g;
	struct mock_iotlb_stats st;
	struct mock_fault f;
	uint64_t pa;

	cr_assert_eq(mock_domain_pgsize_bitmap(dom), SZ_2K | SZ_1M);
	cr_assert_eq(mock_domain_map(dom, iova, host, 3 * SZ_2K, RW, 0), 0);
	for (unsigned int i = 0; i < 3; i++) {
		cr_assert_eq(leaf_size_at(dom, iova + i * SZ_2K), SZ_2K);
		cr_assert_eq(phys_at(dom, iova + i * SZ_2K + 7), host + i * SZ_2K + 7);
	}
	cr_assert_not(mapped(dom, iova - 1));
	cr_assert_not(mapped(dom, iova + 3 * SZ_2K));
	cr_assert_eq(xlate(dom, 0, iova + 0x900, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(pa, host + 0x900);

	/* a DMA crossing the three 2K leaves, unaligned at both ends */
	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 13 + 1);
	cr_assert_eq(mock_domain_dma(dom, 0, iova + 10, buf, sizeof(buf) - 20, MOCK_DMA_WRITE, &f),
		     0);
	cr_assert_eq(memcmp(mem + 0x800 + 10, buf, sizeof(buf) - 20), 0);
	cr_assert_eq(mem[0x800 + 9], 0);
	memset(back, 0, sizeof(back));
	cr_assert_eq(mock_domain_dma(dom, 0, iova + 10, back, sizeof(back) - 20, MOCK_DMA_READ, &f),
		     0);
	cr_assert_eq(memcmp(back, buf, sizeof(buf) - 20), 0);
	stats_of(dom, &st);
	cr_assert_eq(st.misses, 3, "one IOTLB entry per 2K leaf");

	/* unmap one 2K leaf, sync: that one faults, the others stay */
	mock_iotlb_gather_init(&g);
	cr_assert_eq(mock_domain_unmap(dom, iova + SZ_2K, SZ_2K, &g), SZ_2K);
	cr_assert_eq(g.start, iova + SZ_2K);
	cr_assert_eq(g.end, iova + 2 * SZ_2K - 1);
	cr_assert_eq(g.pgsize, SZ_2K);
	mock_domain_iotlb_sync(dom, &g);
	memset(&f, 0, sizeof(f));
	cr_assert_eq(mock_domain_dma(dom, 0, iova, back, sizeof(back), MOCK_DMA_READ, &f), -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_NOT_PRESENT);
	cr_assert_eq(f.iova, iova + SZ_2K);
	cr_assert(mapped(dom, iova + 2 * SZ_2K));
	stats_of(dom, &st);
	cr_assert_eq(st.entries, 2);

	/* huge leaves: 1M where IOVA and address agree modulo 1M; a 4K-only mask means 2K leaves */
	cr_assert_eq(mock_domain_map(dom, SELFTEST_AP_START + 4 * SZ_1M, FAKE_PA, 2 * SZ_1M, RW, 0),
		     0);
	cr_assert_eq(leaf_size_at(dom, SELFTEST_AP_START + 5 * SZ_1M), SZ_1M);
	cr_assert_eq(mock_domain_map(dom, SELFTEST_AP_START + 8 * SZ_1M, FAKE_PA, SZ_1M, RW, SZ_4K),
		     0);
	cr_assert_eq(leaf_size_at(dom, SELFTEST_AP_START + 8 * SZ_1M), SZ_2K);
	/* 1K alignment is not enough */
	cr_assert_eq(mock_domain_map(dom, iova + 0x400 + 16 * SZ_1M, FAKE_PA, SZ_2K, RW, 0),
		     -EINVAL);
	cr_assert_eq(mock_domain_map(dom, 20 * SZ_1M + SELFTEST_AP_START, FAKE_PA + 0x400, SZ_2K,
				     RW, 0), -EINVAL);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
	free(mem);
}

Test(io_pgtable, custom_aperture)
{
	struct mock_iommu *iommu = new_selftest_iommu();
	struct mock_domain *dom = new_domain(iommu, 0);
	struct mock_fault f;
	uint64_t pa = 0;

	cr_assert_eq(mock_domain_aperture_start(dom), SELFTEST_AP_START);
	cr_assert_eq(mock_domain_aperture_end(dom), SELFTEST_AP_LAST);
	cr_assert_eq(mock_domain_map(dom, SELFTEST_AP_START - SZ_2K, FAKE_PA, SZ_2K, RW, 0),
		     -EINVAL);
	cr_assert_eq(mock_domain_map(dom, SELFTEST_AP_START - SZ_2K, FAKE_PA, 2 * SZ_2K, RW, 0),
		     -EINVAL, "straddling the start");
	cr_assert_eq(mock_domain_map(dom, SELFTEST_AP_LAST + 1 - SZ_2K, FAKE_PA, 2 * SZ_2K, RW, 0),
		     -EINVAL, "straddling the end");
	cr_assert_eq(mock_domain_map(dom, 0, FAKE_PA, SZ_2K, RW, 0), -EINVAL);
	cr_assert_eq(mock_domain_table_pages(dom), 1, "a rejected map must not allocate");
	cr_assert_eq(mock_domain_map(dom, SELFTEST_AP_START, FAKE_PA, SZ_2K, RW, 0), 0);
	cr_assert_eq(mock_domain_map(dom, SELFTEST_AP_LAST + 1 - SZ_2K, FAKE_PA, SZ_2K, RW, 0), 0);
	cr_assert_eq(phys_at(dom, SELFTEST_AP_LAST), FAKE_PA + SZ_2K - 1);
	/* translation outside the aperture is out of range, on both sides */
	memset(&f, 0, sizeof(f));
	cr_assert_eq(mock_domain_translate(dom, 0, SELFTEST_AP_START - 1, MOCK_DMA_READ, &pa, NULL,
					   &f), -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_OUT_OF_RANGE);
	cr_assert_eq(mock_domain_translate(dom, 0, SELFTEST_AP_LAST + 1, MOCK_DMA_READ, &pa, NULL,
					   &f), -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_OUT_OF_RANGE);
	cr_assert_not(mapped(dom, SELFTEST_AP_START - 1));
	/* unmap of a range covering more than the aperture is clamped to it */
	cr_assert_eq(mock_domain_unmap(dom, 0, 1ULL << 40, NULL), 2 * SZ_2K);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(mock_iommu, create_validates_granule_and_aperture)
{
	struct mock_iommu_caps caps = { .name = "x", .pgsize_bitmap = SZ_2K | SZ_1M,
					.ias_bits = 48 };
	struct mock_iommu *iommu = (void *)1;
	struct mock_domain *dom = (void *)1;

	caps.pgsize_bitmap = SZ_2K | SZ_2M;
	cr_assert_eq(mock_iommu_create(&caps, &iommu), -EINVAL);
	cr_assert_null(iommu);
	caps.pgsize_bitmap = SZ_2K | SZ_4K;
	cr_assert_eq(mock_iommu_create(&caps, &iommu), -EINVAL);
	caps.pgsize_bitmap = SZ_2K | SZ_1M;
	caps.aperture_start = 1ULL << 24;
	caps.aperture_last = (1ULL << 24) - 1;   /* start > last */
	cr_assert_eq(mock_iommu_create(&caps, &iommu), -EINVAL);
	caps.aperture_last = 1ULL << 48;         /* past the IOVA width */
	cr_assert_eq(mock_iommu_create(&caps, &iommu), -EINVAL);
	caps.aperture_start = 0x400;             /* below the granule */
	caps.aperture_last = (1ULL << 31) - 1;
	cr_assert_eq(mock_iommu_create(&caps, &iommu), -EINVAL);
	caps.aperture_start = 1ULL << 24;
	caps.aperture_last = (1ULL << 31) - 0x401;
	cr_assert_eq(mock_iommu_create(&caps, &iommu), -EINVAL);
	caps.aperture_last = (1ULL << 31) - 1;
	cr_assert_eq(mock_iommu_create(&caps, &iommu), 0);
	cr_assert_eq(mock_iommu_caps(iommu)->aperture_start, 1ULL << 24);
	/* the domain must keep the granule */
	cr_assert_eq(mock_domain_alloc_paging(iommu, SZ_4K, &dom), -EINVAL);
	cr_assert_null(dom);
	cr_assert_eq(mock_domain_alloc_paging(iommu, SZ_1M, &dom), -EINVAL);
	cr_assert_eq(mock_domain_alloc_paging(iommu, SZ_2K | SZ_2M, &dom), 0);
	cr_assert_eq(mock_domain_pgsize_bitmap(dom), SZ_2K);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
	/* an aperture that is the whole space, explicitly */
	caps.pgsize_bitmap = ALL_SIZES;
	caps.aperture_start = 0;
	caps.aperture_last = (1ULL << 48) - 1;
	cr_assert_eq(mock_iommu_create(&caps, &iommu), 0);
	cr_assert_eq(mock_domain_alloc_paging(iommu, 0, &dom), 0);
	cr_assert_eq(mock_domain_aperture_start(dom), 0);
	cr_assert_eq(mock_domain_aperture_end(dom), (1ULL << 48) - 1);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

/* ==== allocation flags ======================================================================= */

Test(mock_iommu, alloc_flags_need_capabilities)
{
	struct mock_iommu_caps caps = { .name = "plain", .pgsize_bitmap = ALL_SIZES,
					.ias_bits = 48 };
	struct mock_iommu *plain = new_iommu_caps(&caps), *full;
	struct mock_domain *dom = (void *)1, *parent, *dirty, *nested = (void *)1;
	struct mock_s1_config cfg = { .format = MOCK_S1_VTD, .pgtbl_addr = 0x1000,
				      .addr_width = 48 };

	cr_assert_eq(mock_domain_alloc_paging_flags(plain, 0, MOCK_DOMAIN_NEST_PARENT, &dom),
		     -EOPNOTSUPP);
	cr_assert_null(dom);
	cr_assert_eq(mock_domain_alloc_paging_flags(plain, 0, MOCK_DOMAIN_DIRTY, &dom),
		     -EOPNOTSUPP);
	cr_assert_eq(mock_domain_alloc_paging_flags(plain, 0, 1u << 7, &dom), -EOPNOTSUPP);
	cr_assert_eq(mock_domain_alloc_paging_flags(plain, 0, 0, &dom), 0);
	cr_assert_eq(mock_domain_set_dirty_tracking(dom, true), -EOPNOTSUPP);
	cr_assert_not(mock_domain_dirty_tracking(dom));
	cr_assert_eq(mock_domain_alloc_nested(dom, &cfg, &nested), -EINVAL,
		     "not a NEST_PARENT domain");
	cr_assert_null(nested);
	cr_assert_not(mock_domain_is_nested(dom));
	cr_assert_null(mock_domain_parent(dom));
	mock_domain_free(dom);

	caps.nesting = true;
	caps.dirty_tracking = true;
	full = new_iommu_caps(&caps);
	cr_assert_eq(mock_domain_alloc_paging_flags(full, 0, MOCK_DOMAIN_NEST_PARENT, &parent), 0);
	cr_assert_eq(mock_domain_alloc_paging_flags(full, 0, MOCK_DOMAIN_DIRTY, &dirty), 0);
	cr_assert_eq(mock_domain_set_dirty_tracking(parent, true), -EOPNOTSUPP);
	cr_assert_eq(mock_domain_set_dirty_tracking(dirty, true), 0);
	cr_assert(mock_domain_dirty_tracking(dirty));
	/* bad stage-1 configurations */
	cfg.format = 0;
	cr_assert_eq(mock_domain_alloc_nested(parent, &cfg, &nested), -EINVAL);
	cfg.format = MOCK_S1_VTD;
	cfg.addr_width = 39;
	cr_assert_eq(mock_domain_alloc_nested(parent, &cfg, &nested), -EINVAL);
	cfg.addr_width = 48;
	cfg.pgtbl_addr = 0x1800;
	cr_assert_eq(mock_domain_alloc_nested(parent, &cfg, &nested), -EINVAL);
	cfg.pgtbl_addr = 1ULL << 52;
	cr_assert_eq(mock_domain_alloc_nested(parent, &cfg, &nested), -EINVAL);
	cr_assert_eq(mock_domain_alloc_nested(parent, NULL, &nested), -EINVAL);
	cr_assert_eq(mock_domain_alloc_nested(dirty, &cfg, &nested), -EINVAL);
	cfg.pgtbl_addr = 0x1000;
	cr_assert_eq(mock_domain_alloc_nested(parent, &cfg, &nested), 0);
	cr_assert(mock_domain_is_nested(nested));
	cr_assert_eq(mock_domain_parent(nested), parent);
	cr_assert_neq(mock_domain_id(nested), mock_domain_id(parent));
	cr_assert_eq(mock_domain_set_dirty_tracking(nested, true), -EOPNOTSUPP);
	cr_assert_eq(mock_domain_map(nested, 0, FAKE_PA, SZ_4K, RW, 0), -EINVAL);
	cr_assert_eq(mock_domain_unmap(nested, 0, SZ_4K, NULL), 0);
	cr_assert_eq(mock_domain_table_pages(nested), 0);
	cr_assert_eq(mock_domain_aperture_end(nested), (1ULL << 48) - 1);
	/* a nested domain cannot be a parent */
	struct mock_domain *nn = (void *)1;
	cr_assert_eq(mock_domain_alloc_nested(nested, &cfg, &nn), -EINVAL);
	cr_assert_null(nn);
	mock_domain_free(nested);
	mock_domain_free(parent);
	mock_domain_free(dirty);
	mock_iommu_destroy(plain);
	mock_iommu_destroy(full);
}

/* ==== fault handler ========================================================================== */

struct fault_log {
	int ret;                   /* what the handler answers */
	unsigned int calls;
	struct mock_fault last;
};

static int fault_cb(void *arg, const struct mock_fault *f)
{
	struct fault_log *log = arg;

	log->calls++;
	log->last = *f;
	return log->ret;
}

Test(mock_iommu, fault_handler_queues_page_requests)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	unsigned char *mem = xaligned(SZ_4K, SZ_4K), buf[64];
	struct fault_log log = { .ret = 0 };
	struct mock_fault f;
	uint64_t pa = 5;

	cr_assert_eq(mock_domain_map(dom, 0x1000, (uintptr_t)mem, SZ_4K, MOCK_PROT_READ, 0), 0);
	mock_domain_set_fault_handler(dom, fault_cb, &log);
	/* handler queues the request: the device waits (-EAGAIN) */
	memset(&f, 0, sizeof(f));
	cr_assert_eq(mock_domain_translate(dom, 9, 0x5000, MOCK_DMA_READ, &pa, NULL, &f), -EAGAIN);
	cr_assert_eq(pa, 5);
	cr_assert_eq(log.calls, 1);
	cr_assert_eq(log.last.reason, MOCK_FAULT_NOT_PRESENT);
	cr_assert_eq(log.last.iova, 0x5000);
	cr_assert_eq(log.last.pasid, 9);
	cr_assert_eq(f.reason, MOCK_FAULT_NOT_PRESENT, "*fault is filled too");
	cr_assert_eq(mock_domain_dma(dom, 0, 0x1000, buf, 8, MOCK_DMA_WRITE, &f), -EAGAIN);
	cr_assert_eq(log.last.reason, MOCK_FAULT_PERMISSION);
	cr_assert_eq(log.last.dir, MOCK_DMA_WRITE);
	cr_assert_eq(mock_domain_translate(dom, 0, 1ULL << 50, MOCK_DMA_READ, &pa, NULL, NULL),
		     -EAGAIN);
	cr_assert_eq(log.last.reason, MOCK_FAULT_OUT_OF_RANGE);
	cr_assert_eq(log.calls, 3);
	/* successful translations do not call it */
	cr_assert_eq(mock_domain_dma(dom, 0, 0x1000, buf, 8, MOCK_DMA_READ, &f), 0);
	cr_assert_eq(log.calls, 3);
	/* handler refuses: plain fault */
	log.ret = -ENOSPC;
	cr_assert_eq(mock_domain_translate(dom, 0, 0x5000, MOCK_DMA_READ, &pa, NULL, &f), -EFAULT);
	cr_assert_eq(log.calls, 4);
	/* no handler */
	mock_domain_set_fault_handler(dom, NULL, NULL);
	cr_assert_eq(mock_domain_translate(dom, 0, 0x5000, MOCK_DMA_READ, &pa, NULL, &f), -EFAULT);
	cr_assert_eq(log.calls, 4);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
	free(mem);
}

/* ==== nested ================================================================================= */

/* The x86-64 first-stage format, written here from the architecture's facts. */
#define S1_P    (1ULL << 0)
#define S1_RW   (1ULL << 1)
#define S1_US   (1ULL << 2)
#define S1_A    (1ULL << 5)
#define S1_D    (1ULL << 6)
#define S1_PS   (1ULL << 7)
#define S1_XD   (1ULL << 63)
#define S1_ADDR 0x000FFFFFFFFFF000ULL
#define S1_TABLE (S1_P | S1_RW | S1_US)
#define S1_LEAF  (S1_P | S1_RW | S1_US)

#define GUEST_GPA  0x200000ULL     /* guest RAM: GPA [2M, 2M + size), 2M aligned */
#define GUEST_SIZE (4 * SZ_2M)

/* A guest: RAM backed by a host buffer and mapped RW in a NEST_PARENT domain, a bump allocator
 * of 4K pages in it, and a stage-1 table built there. */
struct guest {
	struct mock_iommu *iommu;
	struct mock_domain *s2;
	struct mock_domain *s1;
	unsigned char *ram;
	uint64_t next;
	uint64_t root;
	unsigned int levels;
};

static uint64_t *g_host(struct guest *g, uint64_t gpa)
{
	cr_assert(gpa >= GUEST_GPA && gpa < GUEST_GPA + GUEST_SIZE, "gpa %#llx",
		  (unsigned long long)gpa);
	return (uint64_t *)(void *)(g->ram + (gpa - GUEST_GPA));
}

static uint64_t g_page(struct guest *g)
{
	uint64_t gpa = GUEST_GPA + g->next;

	g->next += SZ_4K;
	cr_assert_leq(g->next, GUEST_SIZE);
	return gpa;
}

static void guest_setup_caps(struct guest *g, unsigned int addr_width, uint64_t s2_sizes,
			     unsigned int s2_flags)
{
	struct mock_iommu_caps caps = {
		.name = "viommu", .pgsize_bitmap = s2_sizes, .ias_bits = 57, .pasid_bits = 20,
		.nesting = true, .dirty_tracking = true,
	};
	struct mock_s1_config cfg = { .format = MOCK_S1_VTD, .addr_width = addr_width };

	memset(g, 0, sizeof(*g));
	g->iommu = new_iommu_caps(&caps);
	cr_assert_eq(mock_domain_alloc_paging_flags(g->iommu, 0,
						    MOCK_DOMAIN_NEST_PARENT | s2_flags, &g->s2), 0);
	g->ram = xaligned(SZ_2M, GUEST_SIZE);
	cr_assert_eq(mock_domain_map(g->s2, GUEST_GPA, (uintptr_t)g->ram, GUEST_SIZE, RW, 0), 0);
	g->levels = addr_width == 57 ? 5 : 4;
	g->root = g_page(g);
	cfg.pgtbl_addr = g->root;
	cr_assert_eq(mock_domain_alloc_nested(g->s2, &cfg, &g->s1), 0);
}

static void guest_setup(struct guest *g, unsigned int addr_width)
{
	guest_setup_caps(g, addr_width, ALL_SIZES, 0);
}

static void guest_teardown(struct guest *g)
{
	mock_domain_free(g->s1);
	mock_domain_free(g->s2);
	mock_iommu_destroy(g->iommu);
	free(g->ram);
}

/* The entry for gva at `level`, creating missing tables above it (P|RW|US). */
static uint64_t *g_entry(struct guest *g, uint64_t gva, unsigned int level)
{
	uint64_t table = g->root;

	for (unsigned int l = g->levels - 1;; l--) {
		uint64_t *e = g_host(g, table + ((gva >> (12 + 9 * l)) & 511) * 8);

		if (l == level)
			return e;
		if (!(*e & S1_P))
			*e = g_page(g) | S1_TABLE;
		table = *e & S1_ADDR;
	}
}

/* Map gva -> gpa with a 4K, 2M or 1G stage-1 leaf carrying `bits`; returns the leaf entry. */
static uint64_t *g_map(struct guest *g, uint64_t gva, uint64_t gpa, uint64_t size, uint64_t bits)
{
	unsigned int level = size == SZ_4K ? 0 : size == SZ_2M ? 1 : 2;
	uint64_t *e = g_entry(g, gva, level);

	*e = gpa | bits | (level ? S1_PS : 0);
	return e;
}

static void *g_ptr(struct guest *g, uint64_t gpa)
{
	return g->ram + (gpa - GUEST_GPA);
}

#define GVA 0x7f1234567000ULL

Test(nested, four_level_walk_translates_to_host_memory)
{
	struct guest g;
	uint64_t data, pa, sz;
	unsigned char buf[32];
	struct mock_fault f;
	int prot;

	guest_setup(&g, 48);
	data = g_page(&g);
	g_map(&g, GVA, data, SZ_4K, S1_LEAF);
	cr_assert_eq(xlate(g.s1, 0, GVA + 0x123, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(pa, (uintptr_t)g_ptr(&g, data) + 0x123);
	cr_assert_eq(mock_domain_iova_to_phys(g.s1, GVA + 0x10, &pa, &prot, &sz), 0);
	cr_assert_eq(pa, (uintptr_t)g_ptr(&g, data) + 0x10);
	cr_assert_eq(prot & RW, RW);
	cr_assert_eq(sz, SZ_4K);
	/* DMA through both stages lands in the guest page */
	memcpy(buf, "through two stages", 19);
	cr_assert_eq(mock_domain_dma(g.s1, 0, GVA + 0x800, buf, 19, MOCK_DMA_WRITE, &f), 0);
	cr_assert_str_eq((char *)g_ptr(&g, data) + 0x800, "through two stages");
	/* the parent's own translation of the same GPA is unaffected */
	cr_assert_eq(xlate(g.s2, 0, data, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(pa, (uintptr_t)g_ptr(&g, data));
	guest_teardown(&g);
}

Test(nested, huge_stage1_leaves_combine_with_stage2)
{
	struct guest g;
	struct mock_iotlb_stats st;
	uint64_t pa, sz;

	/* stage 2 with 4K leaves only: a 2M stage-1 leaf is cached as 4K blocks */
	guest_setup_caps(&g, 48, SZ_4K, 0);
	g_map(&g, 0x40000000, GUEST_GPA + SZ_2M, SZ_2M, S1_LEAF);
	cr_assert_eq(xlate(g.s1, 0, 0x40000000 + 0x12345, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(pa, (uintptr_t)g_ptr(&g, GUEST_GPA + SZ_2M) + 0x12345);
	cr_assert_eq(xlate(g.s1, 0, 0x40000000 + 0x12fff, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(xlate(g.s1, 0, 0x40000000 + 0x13000, MOCK_DMA_READ, &pa, NULL), 0);
	stats_of(g.s1, &st);
	cr_assert_eq(st.misses, 2);
	cr_assert_eq(st.hits, 1);
	cr_assert_eq(mock_domain_iova_to_phys(g.s1, 0x40000000, NULL, NULL, &sz), 0);
	cr_assert_eq(sz, SZ_4K);
	guest_teardown(&g);

	/* stage 2 with 1G leaves (never dereferenced: FAKE_PA) under a 1G stage-1 leaf */
	guest_setup(&g, 48);
	cr_assert_eq(mock_domain_map(g.s2, 4 * SZ_1G, FAKE_PA, SZ_1G, RW, 0), 0);
	g_map(&g, 7 * SZ_1G, 4 * SZ_1G, SZ_1G, S1_LEAF);
	cr_assert_eq(xlate(g.s1, 0, 7 * SZ_1G + 0x3456789, MOCK_DMA_WRITE, &pa, NULL), 0);
	cr_assert_eq(pa, FAKE_PA + 0x3456789);
	cr_assert_eq(mock_domain_iova_to_phys(g.s1, 7 * SZ_1G, NULL, NULL, &sz), 0);
	cr_assert_eq(sz, SZ_1G);
	cr_assert_eq(xlate(g.s1, 0, 8 * SZ_1G - 1, MOCK_DMA_READ, &pa, NULL), 0);
	stats_of(g.s1, &st);
	cr_assert_eq(st.misses, 1, "one combined 1G entry");
	cr_assert_eq(st.hits, 1);
	guest_teardown(&g);
}

Test(nested, guest_edit_is_stale_until_invalidation)
{
	struct guest g;
	struct mock_iotlb_stats st;
	uint64_t old_data, new_data, pa, *leaf;
	bool stale = false;

	guest_setup(&g, 48);
	old_data = g_page(&g);
	new_data = g_page(&g);
	leaf = g_map(&g, GVA, old_data, SZ_4K, S1_LEAF);
	cr_assert_eq(xlate(g.s1, 5, GVA, MOCK_DMA_READ, &pa, &stale), 0);
	cr_assert_not(stale);
	/* the guest retargets its leaf without invalidating */
	*leaf = new_data | S1_LEAF;
	for (int i = 1; i <= 2; i++) {
		cr_assert_eq(xlate(g.s1, 5, GVA + 8, MOCK_DMA_READ, &pa, &stale), 0);
		cr_assert_eq(pa, (uintptr_t)g_ptr(&g, old_data) + 8, "the IOTLB still answers");
		cr_assert(stale);
		stats_of(g.s1, &st);
		cr_assert_eq(st.stale_hits, (uint64_t)i);
	}
	/* the software walk already sees the new leaf */
	cr_assert_eq(mock_domain_iova_to_phys(g.s1, GVA, &pa, NULL, NULL), 0);
	cr_assert_eq(pa, (uintptr_t)g_ptr(&g, new_data));
	/* an invalidation for another PASID or another range changes nothing */
	mock_domain_iotlb_invalidate(g.s1, 6, GVA, SZ_4K);
	mock_domain_iotlb_invalidate(g.s1, 5, GVA + SZ_4K, SZ_4K);
	cr_assert_eq(xlate(g.s1, 5, GVA, MOCK_DMA_READ, &pa, &stale), 0);
	cr_assert_eq(pa, (uintptr_t)g_ptr(&g, old_data));
	cr_assert(stale);
	/* the guest's invalidation */
	mock_domain_iotlb_invalidate(g.s1, 5, GVA, SZ_4K);
	cr_assert_eq(xlate(g.s1, 5, GVA, MOCK_DMA_READ, &pa, &stale), 0);
	cr_assert_eq(pa, (uintptr_t)g_ptr(&g, new_data));
	cr_assert_not(stale);
	stats_of(g.s1, &st);
	cr_assert_eq(st.stale_hits, 3);
	cr_assert_eq(st.invalidations, 3);
	cr_assert_eq(st.entries_dropped, 1);
	/* PASID_ANY and the whole-domain form */
	cr_assert_eq(xlate(g.s1, 7, GVA, MOCK_DMA_READ, &pa, NULL), 0);
	stats_of(g.s1, &st);
	cr_assert_eq(st.entries, 2);
	mock_domain_iotlb_invalidate(g.s1, MOCK_PASID_ANY, GVA, SZ_4K);
	stats_of(g.s1, &st);
	cr_assert_eq(st.entries, 0);
	cr_assert_eq(xlate(g.s1, 7, GVA, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(xlate(g.s1, 8, GVA, MOCK_DMA_READ, &pa, NULL), 0);
	mock_domain_iotlb_invalidate(g.s1, 7, 0, UINT64_MAX);
	stats_of(g.s1, &st);
	cr_assert_eq(st.entries, 1, "only PASID 7 dropped");
	mock_domain_iotlb_invalidate(g.s1, MOCK_PASID_ANY, 0, UINT64_MAX);
	stats_of(g.s1, &st);
	cr_assert_eq(st.entries, 0);
	guest_teardown(&g);
}

static enum mock_fault_reason nested_fault(struct guest *g, uint64_t iova, enum mock_dma_dir dir)
{
	struct mock_fault f;
	uint64_t pa = 0;

	memset(&f, 0, sizeof(f));
	cr_assert_eq(mock_domain_translate(g->s1, 3, iova, dir, &pa, NULL, &f), -EFAULT,
		     "iova %#llx translated", (unsigned long long)iova);
	cr_assert_eq(f.iova, iova);
	cr_assert_eq(f.pasid, 3);
	cr_assert_eq(f.dir, dir);
	return f.reason;
}

Test(nested, stage1_not_present_and_permission_faults)
{
	struct guest g;
	uint64_t data = 0, pa, *e;
	const uint64_t base = 0x10000000;   /* one PT for all the cases */

	guest_setup(&g, 48);
	data = g_page(&g);
	/* nothing at all: the PML4E is not present */
	cr_assert_eq(nested_fault(&g, GVA, MOCK_DMA_READ), MOCK_FAULT_S1_NOT_PRESENT);
	/* tables down to the PT, but no leaf */
	g_map(&g, base, data, SZ_4K, S1_LEAF);
	cr_assert_eq(nested_fault(&g, base + SZ_4K, MOCK_DMA_READ), MOCK_FAULT_S1_NOT_PRESENT);
	/* read-only leaf: reads pass, writes are stage-1 permission faults */
	g_map(&g, base + 2 * SZ_4K, data, SZ_4K, S1_P | S1_US);
	cr_assert_eq(xlate(g.s1, 3, base + 2 * SZ_4K, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(nested_fault(&g, base + 2 * SZ_4K, MOCK_DMA_WRITE), MOCK_FAULT_S1_PERMISSION,
		     "a cached read-only translation");
	/* supervisor-only leaf: a (user) DMA may not touch it at all */
	g_map(&g, base + 3 * SZ_4K, data, SZ_4K, S1_P | S1_RW);
	cr_assert_eq(nested_fault(&g, base + 3 * SZ_4K, MOCK_DMA_READ), MOCK_FAULT_S1_PERMISSION);
	/* XD is irrelevant to DMA */
	g_map(&g, base + 4 * SZ_4K, data, SZ_4K, S1_LEAF | S1_XD);
	cr_assert_eq(xlate(g.s1, 3, base + 4 * SZ_4K, MOCK_DMA_WRITE, &pa, NULL), 0);
	/* R/W clear in an upper level (the PDE) forbids writes below it */
	g_map(&g, base + SZ_2M, data, SZ_4K, S1_LEAF);
	e = g_entry(&g, base + SZ_2M, 1);
	*e &= ~S1_RW;
	cr_assert_eq(nested_fault(&g, base + SZ_2M, MOCK_DMA_WRITE), MOCK_FAULT_S1_PERMISSION);
	cr_assert_eq(xlate(g.s1, 3, base + SZ_2M + 8, MOCK_DMA_READ, &pa, NULL), 0);
	/* the output GPA is not mapped in stage 2: a stage-2 not-present fault */
	g_map(&g, base + 5 * SZ_4K, 64 * SZ_1G, SZ_4K, S1_LEAF);
	cr_assert_eq(nested_fault(&g, base + 5 * SZ_4K, MOCK_DMA_READ), MOCK_FAULT_NOT_PRESENT);
	/* stage 2 maps the output read-only: writes are stage-2 permission faults */
	cr_assert_eq(mock_domain_map(g.s2, 64 * SZ_1G, (uintptr_t)g_ptr(&g, data), SZ_4K,
				     MOCK_PROT_READ, 0), 0);
	mock_domain_iotlb_invalidate(g.s1, MOCK_PASID_ANY, 0, UINT64_MAX);
	cr_assert_eq(xlate(g.s1, 3, base + 5 * SZ_4K, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(nested_fault(&g, base + 5 * SZ_4K, MOCK_DMA_WRITE), MOCK_FAULT_PERMISSION);
	/* PS in a PML4E is reserved */
	e = g_entry(&g, 1ULL << 40, 3);
	*e = (GUEST_GPA + SZ_1G) | S1_LEAF | S1_PS;
	cr_assert_eq(nested_fault(&g, 1ULL << 40, MOCK_DMA_READ), MOCK_FAULT_S1_NOT_PRESENT);
	/* beyond the 48-bit input width */
	cr_assert_eq(nested_fault(&g, 1ULL << 48, MOCK_DMA_READ), MOCK_FAULT_OUT_OF_RANGE);
	guest_teardown(&g);
}

Test(nested, stage1_table_outside_parent_is_a_walk_fault)
{
	struct guest g;
	uint64_t data, *pde;

	guest_setup(&g, 48);
	data = g_page(&g);
	g_map(&g, GVA, data, SZ_4K, S1_LEAF);
	/* point the PDE at a GPA that the parent does not map */
	pde = g_entry(&g, GVA, 1);
	*pde = (32 * SZ_1G) | S1_TABLE;
	cr_assert_eq(nested_fault(&g, GVA, MOCK_DMA_READ), MOCK_FAULT_S1_WALK);
	/* or a GPA the parent maps without read permission */
	cr_assert_eq(mock_domain_map(g.s2, 32 * SZ_1G, (uintptr_t)g_ptr(&g, g_page(&g)), SZ_4K,
				     MOCK_PROT_WRITE, 0), 0);
	cr_assert_eq(nested_fault(&g, GVA, MOCK_DMA_READ), MOCK_FAULT_S1_WALK);
	/* and a root that is not in guest RAM at all */
	struct mock_s1_config cfg = { .format = MOCK_S1_VTD, .pgtbl_addr = 16 * SZ_1G,
				      .addr_width = 48 };
	struct mock_domain *lost;
	struct mock_fault f;
	uint64_t pa;

	cr_assert_eq(mock_domain_alloc_nested(g.s2, &cfg, &lost), 0);
	cr_assert_eq(mock_domain_translate(lost, 0, GVA, MOCK_DMA_READ, &pa, NULL, &f), -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_S1_WALK);
	mock_domain_free(lost);
	guest_teardown(&g);
}

Test(nested, walk_sets_accessed_and_dirty_in_guest_entries)
{
	struct guest g;
	uint64_t data, pa, *leaf, *path[4];
	struct mock_iotlb_stats st;

	guest_setup(&g, 48);
	data = g_page(&g);
	leaf = g_map(&g, GVA, data, SZ_4K, S1_LEAF);
	for (unsigned int l = 0; l < 4; l++) {
		path[l] = g_entry(&g, GVA, l);
		cr_assert_eq(*path[l] & (S1_A | S1_D), 0);
	}
	cr_assert_eq(path[0], leaf);
	cr_assert_eq(xlate(g.s1, 0, GVA, MOCK_DMA_READ, &pa, NULL), 0);
	for (unsigned int l = 0; l < 4; l++)
		cr_assert_eq(*path[l] & (S1_A | S1_D), S1_A, "level %u after a read", l);
	/* a write through the (clean) cached entry walks again to set D in the leaf only */
	cr_assert_eq(xlate(g.s1, 0, GVA, MOCK_DMA_WRITE, &pa, NULL), 0);
	cr_assert_eq(*leaf & S1_D, S1_D);
	for (unsigned int l = 1; l < 4; l++)
		cr_assert_eq(*path[l] & S1_D, 0, "no D above the leaf");
	stats_of(g.s1, &st);
	cr_assert_eq(st.hits, 1);
	cr_assert_eq(st.misses, 1);
	cr_assert_eq(st.entries, 1);
	/* now the entry is dirty: a write hit needs no walk (D cleared by the guest stays clear) */
	*leaf &= ~S1_D;
	cr_assert_eq(xlate(g.s1, 0, GVA, MOCK_DMA_WRITE, &pa, NULL), 0);
	cr_assert_eq(*leaf & S1_D, 0);
	/* a write refused by stage 1 sets no D */
	uint64_t *ro = g_map(&g, GVA + SZ_4K, data, SZ_4K, S1_P | S1_US);
	cr_assert_eq(nested_fault(&g, GVA + SZ_4K, MOCK_DMA_WRITE), MOCK_FAULT_S1_PERMISSION);
	cr_assert_eq(*ro & (S1_A | S1_D), S1_A);
	/* a not-present walk changes nothing */
	uint64_t *pde = g_entry(&g, GVA + 4 * SZ_2M, 1);
	cr_assert_eq(nested_fault(&g, GVA + 4 * SZ_2M, MOCK_DMA_READ), MOCK_FAULT_S1_NOT_PRESENT);
	cr_assert_eq(*pde, 0);
	/* a 2M leaf gets its D too */
	uint64_t *big = g_map(&g, 0x80000000, GUEST_GPA + SZ_2M, SZ_2M, S1_LEAF);
	cr_assert_eq(xlate(g.s1, 0, 0x80000000 + 0x1234, MOCK_DMA_WRITE, &pa, NULL), 0);
	cr_assert_eq(*big & (S1_A | S1_D | S1_PS), S1_A | S1_D | S1_PS);
	guest_teardown(&g);
}

Test(nested, accessed_update_needs_stage2_write)
{
	struct guest g;
	uint64_t data, pt_gpa, pa;
	struct mock_iotlb_gather gth;

	guest_setup(&g, 48);
	data = GUEST_GPA + 2 * SZ_2M;   /* outside the 2M made read-only below */
	g_map(&g, GVA, data, SZ_4K, S1_LEAF);
	/* remap the page holding the PT read-only in stage 2 */
	pt_gpa = *g_entry(&g, GVA, 1) & S1_ADDR;
	mock_iotlb_gather_init(&gth);
	cr_assert_eq(mock_domain_unmap(g.s2, pt_gpa, SZ_4K, &gth), SZ_2M,
		     "the 2M stage-2 leaf holding it goes");
	mock_domain_iotlb_sync(g.s2, &gth);
	cr_assert_eq(mock_domain_map(g.s2, pt_gpa & ~(SZ_2M - 1),
				     (uintptr_t)g_ptr(&g, pt_gpa & ~(SZ_2M - 1)), SZ_2M,
				     MOCK_PROT_READ, SZ_4K), 0);
	cr_assert_eq(nested_fault(&g, GVA, MOCK_DMA_READ), MOCK_FAULT_S1_WALK);
	/* with A already set by the guest (the tables share that read-only 2M) no update is
	 * needed; a write would need D, which cannot be written */
	for (unsigned int l = 0; l < 4; l++)
		*g_entry(&g, GVA, l) |= S1_A;
	cr_assert_eq(xlate(g.s1, 0, GVA, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(nested_fault(&g, GVA, MOCK_DMA_WRITE), MOCK_FAULT_S1_WALK);
	guest_teardown(&g);
}

Test(nested, parent_unmap_invalidates_children)
{
	struct guest g;
	struct mock_domain *other;
	struct mock_iotlb_gather gth;
	struct mock_iotlb_stats st;
	struct mock_s1_config cfg = { .format = MOCK_S1_VTD, .addr_width = 48 };
	uint64_t data, pa;

	guest_setup(&g, 48);
	cfg.pgtbl_addr = g.root;
	cr_assert_eq(mock_domain_alloc_nested(g.s2, &cfg, &other), 0);   /* a second child */
	data = GUEST_GPA + 3 * SZ_2M;
	g_map(&g, GVA, data, SZ_4K, S1_LEAF);
	cr_assert_eq(xlate(g.s1, 1, GVA, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(xlate(other, 2, GVA, MOCK_DMA_READ, &pa, NULL), 0);
	stats_of(g.s1, &st);
	cr_assert_eq(st.entries, 1);
	/* unmapping without a sync leaves the children's combined entries (stale) */
	mock_iotlb_gather_init(&gth);
	cr_assert_eq(mock_domain_unmap(g.s2, data, SZ_2M, &gth), SZ_2M);
	cr_assert_eq(xlate(g.s1, 1, GVA, MOCK_DMA_READ, &pa, NULL), 0);
	stats_of(g.s1, &st);
	cr_assert_eq(st.stale_hits, 1);
	/* the parent's sync drops them in every child */
	mock_domain_iotlb_sync(g.s2, &gth);
	stats_of(g.s1, &st);
	cr_assert_eq(st.entries, 0);
	cr_assert_eq(st.invalidations, 1);
	stats_of(other, &st);
	cr_assert_eq(st.entries, 0);
	cr_assert_eq(nested_fault(&g, GVA, MOCK_DMA_READ), MOCK_FAULT_NOT_PRESENT);
	/* flush_all of the parent too */
	cr_assert_eq(mock_domain_map(g.s2, data, (uintptr_t)g_ptr(&g, data), SZ_2M, RW, 0), 0);
	cr_assert_eq(xlate(other, 2, GVA, MOCK_DMA_READ, &pa, NULL), 0);
	mock_domain_flush_all(g.s2);
	stats_of(other, &st);
	cr_assert_eq(st.entries, 0);
	mock_domain_free(other);
	guest_teardown(&g);
}

Test(nested, five_level_walk)
{
	struct guest g;
	const uint64_t gva = (1ULL << 56) | (0x1a5ULL << 48) | 0x3000;   /* needs the PML5 */
	uint64_t data, pa, *pml5e;

	guest_setup(&g, 57);
	data = g_page(&g);
	g_map(&g, gva, data, SZ_4K, S1_LEAF);
	cr_assert_eq(mock_domain_aperture_end(g.s1), (1ULL << 57) - 1);
	cr_assert_eq(xlate(g.s1, 0, gva + 0x42, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(pa, (uintptr_t)g_ptr(&g, data) + 0x42);
	pml5e = g_entry(&g, gva, 4);
	cr_assert_eq(*pml5e & (S1_P | S1_A), S1_P | S1_A);
	/* the same low 48 bits with another PML5 index are not mapped */
	cr_assert_eq(nested_fault(&g, gva & ((1ULL << 48) - 1), MOCK_DMA_READ),
		     MOCK_FAULT_S1_NOT_PRESENT);
	cr_assert_eq(nested_fault(&g, 1ULL << 57, MOCK_DMA_READ), MOCK_FAULT_OUT_OF_RANGE);
	guest_teardown(&g);
}

Test(nested, stage2_with_2k_granule)
{
	struct guest g;
	struct mock_iotlb_stats st;
	unsigned char buf[4096], *half;
	struct mock_fault f;
	uint64_t data, sz;

	guest_setup_caps(&g, 48, SZ_2K | SZ_1M, 0);
	/* one guest 4K page whose two 2K halves are swapped in host memory */
	data = g_page(&g);
	half = g_ptr(&g, g_page(&g));
	cr_assert_eq(mock_domain_map(g.s2, 64 * SZ_1G, (uintptr_t)half + SZ_2K, SZ_2K, RW, 0), 0);
	cr_assert_eq(mock_domain_map(g.s2, 64 * SZ_1G + SZ_2K, (uintptr_t)half, SZ_2K, RW, 0), 0);
	g_map(&g, GVA, 64 * SZ_1G, SZ_4K, S1_LEAF);
	g_map(&g, GVA + SZ_4K, data, SZ_4K, S1_LEAF);
	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i / SZ_2K + 1);
	cr_assert_eq(mock_domain_dma(g.s1, 0, GVA, buf, sizeof(buf), MOCK_DMA_WRITE, &f), 0);
	cr_assert_eq(half[0], 2);
	cr_assert_eq(half[SZ_2K], 1);
	cr_assert_eq(mock_domain_iova_to_phys(g.s1, GVA + SZ_2K, NULL, NULL, &sz), 0);
	cr_assert_eq(sz, SZ_2K, "the combined block is the smaller leaf");
	stats_of(g.s1, &st);
	cr_assert_eq(st.misses, 2, "one entry per 2K block");
	/* guest RAM is mapped with 1M stage-2 leaves: a 4K block there */
	cr_assert_eq(mock_domain_iova_to_phys(g.s1, GVA + SZ_4K, NULL, NULL, &sz), 0);
	cr_assert_eq(sz, SZ_4K);
	guest_teardown(&g);
}

struct nested_thread {
	struct guest *g;
	uint32_t pasid;
	int errors;
};

static void *nested_worker(void *arg)
{
	struct nested_thread *t = arg;

	for (unsigned int i = 0; i < 20000; i++) {
		uint64_t off = (uint64_t)(i % 300) * SZ_4K, pa = 0;

		enum mock_dma_dir dir = (i / 300) & 1 ? MOCK_DMA_WRITE : MOCK_DMA_READ;

		if (xlate(t->g->s1, t->pasid, GVA + off, dir, &pa, NULL) ||
		    pa != (uintptr_t)g_ptr(t->g, GUEST_GPA + SZ_2M + off))
			t->errors++;
	}
	return NULL;
}

Test(nested, concurrent_translations_are_consistent)
{
	struct guest g;
	struct nested_thread t[3];
	pthread_t th[3];
	struct mock_iotlb_stats st;

	guest_setup(&g, 48);
	for (uint64_t i = 0; i < 300; i++)
		g_map(&g, GVA + i * SZ_4K, GUEST_GPA + SZ_2M + i * SZ_4K, SZ_4K, S1_LEAF);
	for (int i = 0; i < 3; i++) {
		t[i] = (struct nested_thread){ .g = &g, .pasid = (uint32_t)i % 2 };
		cr_assert_eq(pthread_create(&th[i], NULL, nested_worker, &t[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(t[i].errors, 0);
	}
	stats_of(g.s1, &st);
	cr_assert_eq(st.hits + st.misses, 60000);
	cr_assert_eq(st.stale_hits, 0);
	for (uint64_t i = 0; i < 300; i++)
		cr_assert_eq(*g_entry(&g, GVA + i * SZ_4K, 0) & (S1_A | S1_D), S1_A | S1_D);
	guest_teardown(&g);
}

Test(nested, freeing_a_parent_with_children_is_deferred)
{
	struct guest g;
	struct mock_iommu_debug dbg;
	struct mock_domain *late = (void *)1;
	struct mock_s1_config cfg = { .format = MOCK_S1_VTD, .addr_width = 48 };
	uint64_t data, pa;

	guest_setup(&g, 48);
	data = g_page(&g);
	g_map(&g, GVA, data, SZ_4K, S1_LEAF);
	mock_domain_free(g.s2);   /* caller error: a child is alive */
	mock_iommu_debug_stats(g.iommu, &dbg);
	cr_assert_eq(dbg.busy_domain_frees, 1);
	cr_assert_eq(dbg.pending_frees, 1);
	cr_assert_eq(dbg.domains, 2);
	/* the child keeps translating through it; no new child may join */
	cr_assert_eq(xlate(g.s1, 0, GVA, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(pa, (uintptr_t)g_ptr(&g, data));
	cfg.pgtbl_addr = g.root;
	cr_assert_eq(mock_domain_alloc_nested(g.s2, &cfg, &late), -EINVAL);
	cr_assert_null(late);
	/* the last child takes the parent with it */
	mock_domain_free(g.s1);
	mock_iommu_debug_stats(g.iommu, &dbg);
	cr_assert_eq(dbg.domains, 0);
	cr_assert_eq(dbg.pending_frees, 0);
	mock_iommu_destroy(g.iommu);
	free(g.ram);
}

Test(nested, enomem_fail_nth_nested_alloc)
{
	struct guest g;
	int64_t live0;
	unsigned int n;

	guest_setup(&g, 48);
	live0 = ioasid_alloc_live();
	for (n = 1;; n++) {
		struct mock_s1_config cfg = { .format = MOCK_S1_VTD, .pgtbl_addr = g.root,
					      .addr_width = 48 };
		struct mock_domain *d = NULL;
		int ret;

		cr_assert_lt(n, 10);
		ioasid_fail_nth_set(n);
		ret = mock_domain_alloc_nested(g.s2, &cfg, &d);
		ioasid_fail_nth_set(0);
		if (!ret) {
			mock_domain_free(d);
			break;
		}
		cr_assert_eq(ret, -ENOMEM);
		cr_assert_null(d);
		cr_assert_eq(ioasid_alloc_live(), live0);
	}
	cr_assert_eq(n, 2, "one allocation");
	cr_assert_eq(ioasid_alloc_live(), live0);
	guest_teardown(&g);
}

/* ==== dirty tracking ========================================================================= */

static struct mock_domain *new_dirty_domain(struct mock_iommu **iommu)
{
	struct mock_iommu_caps caps = { .name = "d", .pgsize_bitmap = ALL_SIZES, .ias_bits = 48,
					.dirty_tracking = true };
	struct mock_domain *dom = NULL;

	*iommu = new_iommu_caps(&caps);
	cr_assert_eq(mock_domain_alloc_paging_flags(*iommu, 0, MOCK_DOMAIN_DIRTY, &dom), 0);
	return dom;
}

struct dirty_seen {
	uint64_t iova[8], len[8];
	unsigned int n;
};

static void dirty_seen_cb(void *arg, uint64_t iova, uint64_t len)
{
	struct dirty_seen *s = arg;

	cr_assert_lt(s->n, 8);
	s->iova[s->n] = iova;
	s->len[s->n++] = len;
}

static unsigned int read_dirty(struct mock_domain *dom, uint64_t iova, uint64_t len,
			       bool no_clear, struct dirty_seen *s)
{
	memset(s, 0, sizeof(*s));
	cr_assert_eq(mock_domain_read_and_clear_dirty(dom, iova, len, no_clear, dirty_seen_cb, s),
		     0);
	return s->n;
}

Test(dirty, tracking_on_off_with_dma_writes)
{
	struct mock_iommu *iommu;
	struct mock_domain *dom = new_dirty_domain(&iommu);
	unsigned char *mem = xaligned(SZ_4K, 4 * SZ_4K), buf[16] = "dirty";
	struct dirty_seen s;
	struct mock_fault f;

	cr_assert_eq(mock_domain_map(dom, 0x10000, (uintptr_t)mem, 4 * SZ_4K, RW, 0), 0);
	cr_assert_not(mock_domain_dirty_tracking(dom));
	cr_assert_eq(mock_domain_read_and_clear_dirty(dom, 0, SZ_1G, false, dirty_seen_cb, &s),
		     -EINVAL, "tracking is off");
	/* off: writes leave no D */
	cr_assert_eq(mock_domain_dma(dom, 0, 0x10000, buf, 5, MOCK_DMA_WRITE, &f), 0);
	cr_assert_eq(mock_domain_set_dirty_tracking(dom, true), 0);
	cr_assert(mock_domain_dirty_tracking(dom));
	cr_assert_eq(read_dirty(dom, 0, SZ_1G, false, &s), 0);
	/* on: a write to page 2 (a miss) dirties it; reads dirty nothing */
	cr_assert_eq(mock_domain_dma(dom, 0, 0x12010, buf, 5, MOCK_DMA_WRITE, &f), 0);
	cr_assert_eq(mock_domain_dma(dom, 0, 0x13000, buf, 5, MOCK_DMA_READ, &f), 0);
	cr_assert_eq(read_dirty(dom, 0, SZ_1G, true, &s), 1);
	cr_assert_eq(s.iova[0], 0x12000);
	cr_assert_eq(s.len[0], SZ_4K);
	cr_assert_eq(read_dirty(dom, 0, SZ_1G, true, &s), 1, "no_clear keeps it");
	cr_assert_eq(read_dirty(dom, 0x12000, SZ_4K, false, &s), 1);
	cr_assert_eq(read_dirty(dom, 0, SZ_1G, false, &s), 0, "cleared");
	/* the next write to it (its IOTLB entry was dropped with the clear) marks it again */
	cr_assert_eq(mock_domain_dma(dom, 0, 0x12000, buf, 1, MOCK_DMA_WRITE, &f), 0);
	cr_assert_eq(read_dirty(dom, 0, SZ_1G, false, &s), 1);
	/* off again: nothing marked */
	cr_assert_eq(mock_domain_set_dirty_tracking(dom, false), 0);
	cr_assert_eq(mock_domain_dma(dom, 0, 0x11000, buf, 1, MOCK_DMA_WRITE, &f), 0);
	cr_assert_eq(mock_domain_set_dirty_tracking(dom, true), 0);
	cr_assert_eq(read_dirty(dom, 0, SZ_1G, false, &s), 0);
	cr_assert_eq(mock_domain_read_and_clear_dirty(dom, 0, 0, false, NULL, NULL), -EINVAL);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
	free(mem);
}

Test(dirty, write_through_clean_cached_entry_marks_dirty)
{
	struct mock_iommu *iommu;
	struct mock_domain *dom = new_dirty_domain(&iommu);
	struct mock_iotlb_stats st;
	struct dirty_seen s;
	uint64_t pa;

	cr_assert_eq(mock_domain_map(dom, SZ_2M, FAKE_PA, SZ_2M, RW, 0), 0);
	/* cached by a read, and by a write while tracking was off: both without D */
	cr_assert_eq(xlate(dom, 0, SZ_2M, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(xlate(dom, 0, SZ_2M + SZ_4K, MOCK_DMA_WRITE, &pa, NULL), 0);
	cr_assert_eq(mock_domain_set_dirty_tracking(dom, true), 0);
	cr_assert_eq(read_dirty(dom, 0, SZ_1G, false, &s), 0);
	cr_assert_eq(xlate(dom, 0, SZ_2M + 0x5000, MOCK_DMA_WRITE, &pa, NULL), 0);
	cr_assert_eq(pa, FAKE_PA + 0x5000);
	stats_of(dom, &st);
	cr_assert_eq(st.misses, 1);
	cr_assert_eq(st.hits, 2, "the re-walk is still a hit");
	cr_assert_eq(st.entries, 1);
	cr_assert_eq(st.stale_hits, 0);
	/* reported clipped to the range asked for */
	cr_assert_eq(read_dirty(dom, SZ_2M + 0x3000, 0x2000, true, &s), 1);
	cr_assert_eq(s.iova[0], SZ_2M + 0x3000);
	cr_assert_eq(s.len[0], 0x2000);
	cr_assert_eq(read_dirty(dom, 0, SZ_1G, false, &s), 1);
	cr_assert_eq(s.iova[0], SZ_2M);
	cr_assert_eq(s.len[0], SZ_2M);
	stats_of(dom, &st);
	cr_assert_eq(st.entries, 0, "the clear dropped the dirty entry");
	cr_assert_eq(xlate(dom, 0, SZ_2M, MOCK_DMA_WRITE, &pa, NULL), 0);
	cr_assert_eq(read_dirty(dom, 0, SZ_1G, false, &s), 1);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(dirty, set_dirty_marks_a_leaf)
{
	struct mock_iommu *iommu;
	struct mock_domain *dom = new_dirty_domain(&iommu);
	struct dirty_seen s;

	cr_assert_eq(mock_domain_map(dom, 0x40000, FAKE_PA, 2 * SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_domain_set_dirty(dom, 0x41234), 0, "tracking off is fine");
	cr_assert_eq(mock_domain_set_dirty(dom, 0x50000), -ENOENT);
	cr_assert_eq(mock_domain_set_dirty_tracking(dom, true), 0);
	cr_assert_eq(read_dirty(dom, 0, SZ_1G, false, &s), 1);
	cr_assert_eq(s.iova[0], 0x41000);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

Test(dirty, nested_writes_dirty_the_parent)
{
	struct guest g;
	struct dirty_seen s;
	uint64_t data, pa, *leaf;

	guest_setup_caps(&g, 48, ALL_SIZES, MOCK_DOMAIN_DIRTY);
	data = GUEST_GPA + 2 * SZ_2M;
	leaf = g_map(&g, GVA, data, SZ_4K, S1_LEAF);
	*leaf |= S1_A | S1_D;   /* no stage-1 update needed: only the data write dirties */
	for (unsigned int l = 1; l < 4; l++)
		*g_entry(&g, GVA, l) |= S1_A;
	cr_assert_eq(xlate(g.s1, 0, GVA, MOCK_DMA_WRITE, &pa, NULL), 0);   /* cached clean */
	cr_assert_eq(mock_domain_set_dirty_tracking(g.s2, true), 0);
	cr_assert_eq(read_dirty(g.s2, 0, 1ULL << 40, false, &s), 0);
	cr_assert_eq(xlate(g.s1, 0, GVA, MOCK_DMA_WRITE, &pa, NULL), 0);   /* hit: re-walk */
	cr_assert_eq(read_dirty(g.s2, 0, 1ULL << 40, false, &s), 1);
	cr_assert_eq(s.iova[0], data, "the 2M stage-2 leaf of the data");
	/* the clear drops the child's entries too, so the next write marks it again */
	cr_assert_eq(xlate(g.s1, 0, GVA, MOCK_DMA_WRITE, &pa, NULL), 0);
	cr_assert_eq(read_dirty(g.s2, 0, 1ULL << 40, false, &s), 1);
	/* stage-1 A/D updates are writes to guest memory: they dirty the table's page */
	uint64_t *l2 = g_map(&g, GVA + SZ_4K, data, SZ_4K, S1_LEAF);
	cr_assert_eq(xlate(g.s1, 0, GVA + SZ_4K, MOCK_DMA_READ, &pa, NULL), 0);
	cr_assert_eq(*l2 & S1_A, S1_A);
	cr_assert_eq(read_dirty(g.s2, 0, 1ULL << 40, false, &s), 1);
	cr_assert_eq(s.iova[0], GUEST_GPA, "the 2M leaf holding the page tables");
	guest_teardown(&g);
}

/* ==== mock_dev =============================================================================== */

static struct mock_dev *new_dev(struct mock_iommu *iommu, uint32_t rid, unsigned int pasid_bits)
{
	struct mock_dev *dev = NULL;

	cr_assert_eq(mock_dev_create(iommu, rid, pasid_bits, &dev), 0);
	cr_assert_not_null(dev);
	return dev;
}

Test(mock_dev, no_entry_blocks_dma)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_dev *dev = new_dev(iommu, 0x0100, 8);
	struct mock_domain *dom = new_domain(iommu, 0);
	unsigned char *mem = xaligned(SZ_4K, SZ_4K), buf[8];
	struct fault_log log = { .ret = 0 };
	struct mock_fault f;

	memset(&f, 0, sizeof(f));
	cr_assert_eq(mock_dev_dma(dev, 0, 0x1000, buf, 8, MOCK_DMA_READ, &f), -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_BLOCKED);
	cr_assert_eq(f.iova, 0x1000);
	cr_assert_null(mock_dev_domain(dev, 0));
	cr_assert_null(mock_dev_domain(dev, 3));
	/* a PASID entry does not open the RID */
	cr_assert_eq(mock_domain_map(dom, 0x1000, (uintptr_t)mem, SZ_4K, RW, 0), 0);
	mock_domain_set_fault_handler(dom, fault_cb, &log);
	cr_assert_eq(mock_dev_set_domain(dev, 3, dom), 0);
	cr_assert_eq(mock_dev_domain(dev, 3), dom);
	cr_assert_eq(mock_dev_dma(dev, 0, 0x1000, buf, 8, MOCK_DMA_READ, &f), -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_BLOCKED);
	cr_assert_eq(mock_dev_dma(dev, 4, 0x1000, buf, 8, MOCK_DMA_READ, &f), -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_BLOCKED);
	cr_assert_eq(f.pasid, 4);
	cr_assert_eq(log.calls, 0, "blocked DMA reaches no domain's handler");
	cr_assert_eq(mock_dev_dma(dev, 3, 0x1000, buf, 8, MOCK_DMA_READ, &f), 0);
	/* the domain's own faults go to its handler */
	cr_assert_eq(mock_dev_dma(dev, 3, 0x9000, buf, 8, MOCK_DMA_READ, &f), -EAGAIN);
	cr_assert_eq(log.calls, 1);
	cr_assert_eq(log.last.pasid, 3);
	cr_assert_eq(mock_dev_set_domain(dev, 3, NULL), 0);
	cr_assert_eq(mock_dev_dma(dev, 3, 0x1000, buf, 8, MOCK_DMA_READ, &f), -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_BLOCKED);
	mock_dev_destroy(dev);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
	free(mem);
}

Test(mock_dev, per_pasid_domains_are_isolated)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_dev *dev = new_dev(iommu, 0x0200, 20);
	struct mock_domain *a = new_domain(iommu, 0), *b = new_domain(iommu, 0);
	unsigned char *ma = xaligned(SZ_4K, SZ_4K), *mb = xaligned(SZ_4K, SZ_4K), buf[4];
	struct mock_iotlb_stats sa, sb;
	struct mock_fault f;
	const uint32_t far = (1u << 20) - 1;   /* last PASID: last directory entry */

	memcpy(ma, "AAA", 4);
	memcpy(mb, "BBB", 4);
	cr_assert_eq(mock_domain_map(a, 0x5000, (uintptr_t)ma, SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_domain_map(b, 0x5000, (uintptr_t)mb, SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_dev_set_domain(dev, MOCK_PASID_RID, a), 0);
	cr_assert_eq(mock_dev_set_domain(dev, 77, b), 0);
	cr_assert_eq(mock_dev_set_domain(dev, far, b), 0);
	cr_assert_eq(mock_dev_domain(dev, 0), a);
	cr_assert_eq(mock_dev_domain(dev, 77), b);
	cr_assert_eq(mock_dev_domain(dev, far), b);
	cr_assert_null(mock_dev_domain(dev, 78));
	cr_assert_eq(mock_dev_dma(dev, 0, 0x5000, buf, 4, MOCK_DMA_READ, &f), 0);
	cr_assert_str_eq((char *)buf, "AAA");
	cr_assert_eq(mock_dev_dma(dev, 77, 0x5000, buf, 4, MOCK_DMA_READ, &f), 0);
	cr_assert_str_eq((char *)buf, "BBB");
	cr_assert_eq(mock_dev_dma(dev, far, 0x5000, buf, 4, MOCK_DMA_READ, &f), 0);
	cr_assert_eq(mock_dev_dma(dev, 78, 0x5000, buf, 4, MOCK_DMA_READ, &f), -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_BLOCKED);
	/* each entry tagged with its own PASID */
	stats_of(a, &sa);
	stats_of(b, &sb);
	cr_assert_eq(sa.entries, 1);
	cr_assert_eq(sb.entries, 2, "PASIDs 77 and far are separate tags");
	for (uint32_t p = 0; p <= far; p += far)
		cr_assert_eq(mock_dev_set_domain(dev, p, NULL), 0);
	cr_assert_eq(mock_dev_set_domain(dev, 77, NULL), 0);
	mock_dev_destroy(dev);
	mock_domain_free(a);
	mock_domain_free(b);
	mock_iommu_destroy(iommu);
	free(ma);
	free(mb);
}

Test(mock_dev, nested_domain_on_a_pasid)
{
	struct guest g;
	struct mock_dev *dev;
	unsigned char buf[8];
	struct mock_fault f;
	uint64_t data;

	guest_setup(&g, 48);
	data = g_page(&g);
	g_map(&g, GVA, data, SZ_4K, S1_LEAF);
	memcpy(g_ptr(&g, data), "guest!", 7);
	dev = new_dev(g.iommu, 0x0300, 20);
	cr_assert_eq(mock_dev_set_domain(dev, 12, g.s1), 0);
	cr_assert_eq(mock_dev_set_domain(dev, MOCK_PASID_RID, g.s2), 0);
	cr_assert_eq(mock_dev_dma(dev, 12, GVA, buf, 7, MOCK_DMA_READ, &f), 0);
	cr_assert_str_eq((char *)buf, "guest!");
	/* the RID goes through the parent alone: GVA means nothing there */
	cr_assert_eq(mock_dev_dma(dev, 0, GVA, buf, 7, MOCK_DMA_READ, &f), -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_NOT_PRESENT);
	cr_assert_eq(mock_dev_dma(dev, 0, data, buf, 7, MOCK_DMA_READ, &f), 0);
	cr_assert_str_eq((char *)buf, "guest!");
	cr_assert_eq(mock_dev_set_domain(dev, 12, NULL), 0);
	cr_assert_eq(mock_dev_set_domain(dev, 0, NULL), 0);
	mock_dev_destroy(dev);
	guest_teardown(&g);
}

Test(mock_dev, pasid_width_and_validation)
{
	struct mock_iommu_caps caps = { .name = "p8", .pgsize_bitmap = ALL_SIZES, .ias_bits = 48,
					.pasid_bits = 8 };
	struct mock_iommu *iommu = new_iommu_caps(&caps), *other = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0), *foreign = new_domain(other, 0);
	struct mock_dev *dev = new_dev(iommu, 0x10, 20), *nopasid = new_dev(iommu, 0x11, 0);
	struct mock_dev *bad = (void *)1;
	unsigned char buf[4];
	struct mock_fault f;

	/* the device's 20 bits are cut to the instance's 8 */
	cr_assert_eq(mock_dev_set_domain(dev, 255, dom), 0);
	cr_assert_eq(mock_dev_set_domain(dev, 256, dom), -EINVAL);
	cr_assert_eq(mock_dev_set_domain(dev, MOCK_PASID_ANY, dom), -EINVAL);
	cr_assert_null(mock_dev_domain(dev, 256));
	cr_assert_eq(mock_dev_dma(dev, 256, 0, buf, 4, MOCK_DMA_READ, &f), -EFAULT);
	cr_assert_eq(f.reason, MOCK_FAULT_BLOCKED);
	cr_assert_eq(mock_dev_set_domain(nopasid, 1, dom), -EINVAL);
	cr_assert_eq(mock_dev_set_domain(nopasid, 0, dom), 0);
	cr_assert_eq(mock_dev_set_domain(dev, 0, foreign), -EINVAL, "another instance's domain");
	cr_assert_eq(mock_dev_create(iommu, 0x10, 0, &bad), -EEXIST, "RID taken");
	cr_assert_null(bad);
	cr_assert_eq(mock_dev_create(iommu, 0x10000, 0, &bad), -EINVAL);
	cr_assert_eq(mock_dev_create(iommu, 0x12, 21, &bad), -EINVAL);
	cr_assert_eq(mock_dev_set_domain(dev, 255, NULL), 0);
	cr_assert_eq(mock_dev_set_domain(nopasid, 0, NULL), 0);
	mock_dev_destroy(dev);
	mock_dev_destroy(nopasid);
	/* the RID is free again */
	dev = new_dev(iommu, 0x10, 0);
	mock_dev_destroy(dev);
	mock_domain_free(dom);
	mock_domain_free(foreign);
	mock_iommu_destroy(iommu);
	mock_iommu_destroy(other);
}

Test(mock_dev, entry_change_flushes_the_iotlb)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_dev *dev = new_dev(iommu, 0x20, 8), *peer = new_dev(iommu, 0x21, 8);
	struct mock_domain *a = new_domain(iommu, 0), *b = new_domain(iommu, 0);
	unsigned char *mem = xaligned(SZ_4K, SZ_4K), buf[4];
	struct mock_iotlb_stats st;
	struct mock_fault f;

	cr_assert_eq(mock_domain_map(a, 0, (uintptr_t)mem, SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_domain_map(b, 0, (uintptr_t)mem, SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_dev_set_domain(dev, 3, a), 0);
	cr_assert_eq(mock_dev_set_domain(peer, 4, a), 0);
	cr_assert_eq(mock_dev_dma(dev, 3, 0, buf, 4, MOCK_DMA_READ, &f), 0);
	cr_assert_eq(mock_dev_dma(peer, 4, 0, buf, 4, MOCK_DMA_READ, &f), 0);
	stats_of(a, &st);
	cr_assert_eq(st.entries, 2);
	cr_assert_eq(st.invalidations, 2, "each set flushed its (a, PASID), empty then");
	/* setting the same domain again is no change: no flush */
	cr_assert_eq(mock_dev_set_domain(dev, 3, a), 0);
	stats_of(a, &st);
	cr_assert_eq(st.invalidations, 2);
	/* replacing (a, 3) by b flushes a's PASID-3 entries only */
	cr_assert_eq(mock_dev_set_domain(dev, 3, b), 0);
	stats_of(a, &st);
	cr_assert_eq(st.entries, 1, "the peer's PASID-4 entry stays");
	cr_assert_eq(st.entries_dropped, 1);
	cr_assert_eq(mock_dev_dma(dev, 3, 0, buf, 4, MOCK_DMA_READ, &f), 0);
	stats_of(b, &st);
	cr_assert_eq(st.misses, 1);
	cr_assert_eq(st.entries, 1);
	/* clearing flushes too */
	cr_assert_eq(mock_dev_set_domain(dev, 3, NULL), 0);
	stats_of(b, &st);
	cr_assert_eq(st.entries, 0);
	cr_assert_eq(mock_dev_set_domain(peer, 4, NULL), 0);
	stats_of(a, &st);
	cr_assert_eq(st.entries, 0);
	mock_dev_destroy(dev);
	mock_dev_destroy(peer);
	mock_domain_free(a);
	mock_domain_free(b);
	mock_iommu_destroy(iommu);
	free(mem);
}

Test(mock_dev, caller_errors_are_absorbed_and_counted)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_dev *dev = new_dev(iommu, 0x30, 8);
	struct mock_domain *dom = new_domain(iommu, 0);
	unsigned char *mem = xaligned(SZ_4K, SZ_4K), buf[4];
	struct mock_iommu_debug dbg;
	struct mock_fault f;

	cr_assert_eq(mock_domain_map(dom, 0, (uintptr_t)mem, SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_dev_set_domain(dev, 0, dom), 0);
	cr_assert_eq(mock_dev_set_domain(dev, 9, dom), 0);
	mock_domain_free(dom);   /* still installed: deferred */
	mock_iommu_debug_stats(iommu, &dbg);
	cr_assert_eq(dbg.busy_domain_frees, 1);
	cr_assert_eq(dbg.domains, 1);
	cr_assert_eq(mock_dev_dma(dev, 9, 0, buf, 4, MOCK_DMA_READ, &f), 0, "still usable");
	cr_assert_eq(mock_dev_set_domain(dev, 10, dom), -EINVAL, "no new user while freeing");
	mock_dev_destroy(dev);   /* entries still set: cleared for the caller */
	mock_iommu_debug_stats(iommu, &dbg);
	cr_assert_eq(dbg.busy_dev_destroys, 1);
	cr_assert_eq(dbg.devices, 0);
	cr_assert_eq(dbg.domains, 0, "the last entry took the domain with it");
	cr_assert_eq(dbg.pending_frees, 0);
	mock_iommu_destroy(iommu);
	free(mem);
}

Test(mock_dev, enomem_fail_nth_create_and_pasid_tables)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_domain *dom = new_domain(iommu, 0);
	int64_t live0 = ioasid_alloc_live();
	unsigned int failures = 0;

	for (unsigned int n = 1;; n++) {
		struct mock_dev *dev = NULL;
		int ret;

		cr_assert_lt(n, 10);
		ioasid_fail_nth_set(n);
		ret = mock_dev_create(iommu, 0x40, 20, &dev);
		if (!ret)
			ret = mock_dev_set_domain(dev, 1000, dom);
		ioasid_fail_nth_set(0);
		if (dev && !ret) {
			cr_assert_eq(mock_dev_domain(dev, 1000), dom);
			cr_assert_eq(mock_dev_set_domain(dev, 1000, NULL), 0);
		}
		mock_dev_destroy(dev);
		cr_assert_eq(ioasid_alloc_live(), live0, "n=%u: leak", n);
		if (!ret)
			break;
		cr_assert_eq(ret, -ENOMEM);
		failures++;
	}
	cr_assert_eq(failures, 3, "device, PASID directory, PASID table: %u", failures);
	mock_domain_free(dom);
	mock_iommu_destroy(iommu);
}

struct dev_dma_thread {
	struct mock_dev *dev;
	uint32_t pasid;
	int errors;
};

static void *dev_dma_worker(void *arg)
{
	struct dev_dma_thread *t = arg;
	unsigned char buf[8];
	struct mock_fault f;

	for (unsigned int i = 0; i < 20000; i++)
		if (mock_dev_dma(t->dev, t->pasid, (uint64_t)(i % 64) * SZ_4K, buf, 8,
				 i & 1 ? MOCK_DMA_WRITE : MOCK_DMA_READ, &f))
			t->errors++;
	return NULL;
}

Test(mock_dev, concurrent_dma_on_pasids_while_others_change)
{
	struct mock_iommu *iommu = new_iommu(48, ALL_SIZES);
	struct mock_dev *dev = new_dev(iommu, 0x50, 20);
	struct mock_domain *dom = new_domain(iommu, 0), *spare = new_domain(iommu, 0);
	unsigned char *mem = xaligned(SZ_4K, 64 * SZ_4K);
	struct dev_dma_thread t[2] = { { dev, 1, 0 }, { dev, 2, 0 } };
	pthread_t th[2];

	cr_assert_eq(mock_domain_map(dom, 0, (uintptr_t)mem, 64 * SZ_4K, RW, 0), 0);
	cr_assert_eq(mock_dev_set_domain(dev, 1, dom), 0);
	cr_assert_eq(mock_dev_set_domain(dev, 2, dom), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, dev_dma_worker, &t[i]), 0);
	/* churn other PASIDs (new tables and directory entries) meanwhile */
	for (uint32_t p = 100; p < 4000; p += 37) {
		cr_assert_eq(mock_dev_set_domain(dev, p, spare), 0);
		cr_assert_eq(mock_dev_set_domain(dev, p, NULL), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(t[i].errors, 0);
	}
	cr_assert_eq(mock_dev_set_domain(dev, 1, NULL), 0);
	cr_assert_eq(mock_dev_set_domain(dev, 2, NULL), 0);
	mock_dev_destroy(dev);
	mock_domain_free(dom);
	mock_domain_free(spare);
	mock_iommu_destroy(iommu);
	free(mem);
}
