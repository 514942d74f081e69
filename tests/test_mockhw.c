/* test_mockhw.c — unit tests of the mock IOMMU hardware (src/mockhw).
 *
 * Suites: io_pgtable (the radix tables: leaf choice, all-or-nothing map, unmap semantics,
 * -ENOMEM cleanliness under fail-nth, a randomised comparison with a shadow model), iotlb (hit,
 * miss, stale and eviction accounting, invalidation scope) and mock_iommu (instances, domains,
 * DMA through real buffers, faults). */
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
	/* a mask with nothing the table supports */
	cr_assert_eq(io_pgtable_map(&pt, 8 * SZ_1G, FAKE_PA, SZ_4K, RW, 1ULL << 39), -EINVAL);
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
