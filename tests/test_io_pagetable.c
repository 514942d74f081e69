/* test_io_pagetable.c — domains, pinning, accounting and DMA behind the IOAS (io_pagetable.c,
 * pages.c, test_domain.c). Suite `io_pagetable`. Criterion runs each test in its own process,
 * so tests may drop capabilities and lower rlimits. */
#include "ioasid_test.h"
#include "reference/ref_private.h"

#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

TestSuite(io_pagetable, .init = ctx_setup, .fini = ctx_teardown);

#define PAGE 4096UL

/* Make the process an ordinary user for accounting: no CAP_IPC_LOCK. */
static void drop_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	cr_assert_eq(syscall(SYS_capget, &hdr, data), 0);
	data[0].effective &= ~(1u << CAP_IPC_LOCK);
	cr_assert_eq(syscall(SYS_capset, &hdr, data), 0);
}

static void set_memlock(rlim_t bytes)
{
	struct rlimit rl = { bytes, bytes };

	cr_assert_eq(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
}

static struct ioasid_ctx_stats stats(void)
{
	struct ioasid_ctx_stats st;

	assert_rc(0, ioasid_ctx_get_stats(self, &st));
	return st;
}

Test(io_pagetable, dma_reads_and_writes_mapped_memory)
{
	uint32_t id = ioas_alloc_ok();
	uint8_t *b = test_buffer(64 * PAGE), got[64];
	int dom = ioasid_test_domain_attach(self, id, 0);
	uint64_t fault = 0;

	for (int i = 0; i < 64; i++)
		b[i * PAGE] = (uint8_t)i;
	ioas_map_fixed_ok(id, b, 64 * PAGE, 0x40000000);
	for (int i = 0; i < 64; i++) {
		assert_rc(0, ioasid_test_dma(self, dom, 0x40000000 + i * PAGE, got, 1, 0, &fault));
		cr_assert_eq(got[0], i);
	}
	assert_rc(0, ioasid_test_dma(self, dom, 0x40000000 + 5 * PAGE + 7, "dev", 4, 1, &fault));
	cr_assert_str_eq((char *)b + 5 * PAGE + 7, "dev");
	/* Crossing the end of the mapping faults at the first unmapped IOVA. */
	assert_rc(-EFAULT, ioasid_test_dma(self, dom, 0x40000000 + 64 * PAGE - 2, got, 4, 0,
					   &fault));
	cr_assert_eq(fault, 0x40000000 + 64 * PAGE);
}

Test(io_pagetable, maps_before_and_after_attach_and_two_domains)
{
	uint32_t id = ioas_alloc_ok();
	uint8_t *b = test_buffer(4 * PAGE), got;
	uint64_t fault;

	b[0] = 11;
	b[3 * PAGE] = 33;
	ioas_map_fixed_ok(id, b, PAGE, 0x1000);
	int d1 = ioasid_test_domain_attach(self, id, 0);
	ioas_map_fixed_ok(id, b + 3 * PAGE, PAGE, 0x9000);
	int d2 = ioasid_test_domain_attach(self, id, 0x1000);
	for (int d = d1; d <= d2; d++) {
		assert_rc(0, ioasid_test_dma(self, d, 0x1000, &got, 1, 0, &fault));
		cr_assert_eq(got, 11);
		assert_rc(0, ioasid_test_dma(self, d, 0x9000, &got, 1, 0, &fault));
		cr_assert_eq(got, 33);
	}
	assert_rc(0, ioasid_test_domain_detach(self, d1));
	assert_rc(0, ioasid_test_dma(self, d2, 0x9000, &got, 1, 0, &fault));
	cr_assert_eq(stats().pinned_pages, 2);
	assert_rc(-ENOENT, ioasid_test_domain_detach(self, d1));
}

Test(io_pagetable, dma_after_unmap_faults_and_nothing_is_stale)
{
	uint32_t id = ioas_alloc_ok();
	uint8_t *b = test_buffer(16 * PAGE), got[8];
	int dom = ioasid_test_domain_attach(self, id, 0);
	struct ioasid_iotlb_stats st;
	uint64_t fault = 0;

	ioas_map_fixed_ok(id, b, 16 * PAGE, 0x200000);
	for (int i = 0; i < 16; i++)
		assert_rc(0, ioasid_test_dma(self, dom, 0x200000 + i * PAGE, got, 8, 0, &fault));
	assert_rc(0, ioasid_test_iotlb_stats(self, dom, &st));
	cr_assert_eq(st.misses, 16);
	cr_assert_gt(st.entries, 0);
	ioas_unmap_ok(id, 0x200000, 16 * PAGE, 16 * PAGE);
	for (int i = 0; i < 16; i++) {
		assert_rc(-EFAULT, ioasid_test_dma(self, dom, 0x200000 + i * PAGE, got, 8, 0,
						   &fault));
		cr_assert_eq(fault, 0x200000 + i * PAGE);
	}
	assert_rc(0, ioasid_test_iotlb_stats(self, dom, &st));
	cr_assert_eq(st.stale_hits, 0);
	cr_assert_eq(st.entries, 0);
	cr_assert_gt(st.invalidations, 0);
}

Test(io_pagetable, readonly_mapping_rejects_device_writes)
{
	uint32_t id = ioas_alloc_ok();
	uint8_t *b = test_buffer(PAGE);
	uint64_t iova = 0x1000, fault;
	int dom = ioasid_test_domain_attach(self, id, 0);

	assert_rc(0, _ioas_map(id, b, PAGE, &iova,
			       IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE));
	assert_rc(-EFAULT, ioasid_test_dma(self, dom, 0x1000, "x", 1, 1, &fault));
	assert_rc(0, ioasid_test_dma(self, dom, 0x1000, &(uint8_t){ 0 }, 1, 0, &fault));
}

Test(io_pagetable, pinning_checks_access_rights)
{
	uint32_t id = ioas_alloc_ok();
	uint8_t *ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t iova = 0x1000;

	cr_assert_gt(ioasid_test_domain_attach(self, id, 0), 0);
	/* Writeable mapping of read-only memory: the pin fails, as FOLL_WRITE would. */
	ioas_map_fixed_err(EFAULT, id, ro, PAGE, 0x1000);
	assert_rc(0, _ioas_map(id, ro, PAGE, &iova,
			       IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE));
	/* Unmapped memory. */
	ioas_map_fixed_err(EFAULT, id, (void *)0x10000, PAGE, 0x8000);
	cr_assert_eq(stats().pinned_pages, 1);
}

Test(io_pagetable, attach_checks_alignment_and_aperture)
{
	uint32_t id = ioas_alloc_ok();
	uint8_t *b = test_buffer(4 * PAGE);

	ioas_map_fixed_ok(id, b, PAGE, 0x1800);        /* not 4K aligned */
	assert_rc(-EADDRINUSE, ioasid_test_domain_attach(self, id, 0));
	ioas_unmap_ok(id, 0x1800, PAGE, PAGE);
	ioas_map_fixed_ok(id, b, PAGE, 1ULL << 48);    /* outside the 48-bit aperture */
	assert_rc(-EADDRINUSE, ioasid_test_domain_attach(self, id, 0));
	ioas_unmap_ok(id, 0, UINT64_MAX, PAGE);
	int dom = ioasid_test_domain_attach(self, id, 0);
	cr_assert_gt(dom, 0);
	ioas_map_fixed_err(EINVAL, id, b, PAGE, 1ULL << 48); /* reserved now */
	ioas_map_fixed_err(EINVAL, id, b, PAGE, 0x1800);     /* iova_alignment is 4K */
	ioas_map_fixed_err(EINVAL, id, b, 0x800, 0x2000);    /* length too */
	ioas_map_fixed_err(EINVAL, id, b + 0x800, PAGE, 0x2000); /* page offset too */
	assert_rc(0, ioasid_test_domain_detach(self, dom));
	ioas_map_fixed_ok(id, b, 0x800, 0x2000);             /* back to byte granular */
}

Test(io_pagetable, root_is_not_charged)
{
	uint32_t id = ioas_alloc_ok();
	uint8_t *b = test_buffer(8 * PAGE);
	struct ioasid_ctx_stats st;

	if (!have_cap(CAP_IPC_LOCK))
		cr_skip_test("needs CAP_IPC_LOCK to show the uncharged mode");
	cr_assert_gt(ioasid_test_domain_attach(self, id, 0), 0);
	ioas_map_fixed_ok(id, b, 8 * PAGE, 0x100000);
	st = stats();
	cr_assert_eq(st.pinned_pages, 8);
	cr_assert_eq(st.locked_user, 0);
	cr_assert_eq(st.locked_mm, 0);
}

Test(io_pagetable, user_accounting_and_rlimit)
{
	uint32_t id = ioas_alloc_ok(), id2 = ioas_alloc_ok();
	uint8_t *b = test_buffer(64 * PAGE);
	uint64_t iova;

	drop_ipc_lock();
	set_memlock(32 * PAGE);
	/* No domain: nothing pinned, no limit applies. */
	ioas_map_fixed_ok(id, b, 64 * PAGE, 0x100000);
	cr_assert_eq(stats().locked_user, 0);
	/* Attaching pins 64 pages: over the 32-page limit. */
	assert_rc(-ENOMEM, ioasid_test_domain_attach(self, id, 0));
	cr_assert_eq(stats().locked_user, 0);
	ioas_unmap_ok(id, 0, UINT64_MAX, 64 * PAGE);
	cr_assert_gt(ioasid_test_domain_attach(self, id, 0), 0);
	ioas_map_fixed_ok(id, b, 16 * PAGE, 0x100000);
	cr_assert_eq(stats().locked_user, 16);
	/* COPY shares the pinned pages: charged once, even into another domain. */
	cr_assert_gt(ioasid_test_domain_attach(self, id2, 0), 0);
	iova = 0x500000;
	assert_rc(0, _ioas_copy(id2, &iova, id, 0x100000, 16 * PAGE, MAP_FIXED_RW));
	cr_assert_eq(stats().locked_user, 16);
	/* A second MAP of the same memory is new pages: charged again. */
	ioas_map_fixed_ok(id, b, 16 * PAGE, 0x300000);
	cr_assert_eq(stats().locked_user, 32);
	ioas_map_fixed_err(ENOMEM, id, b, PAGE, 0x400000);
	cr_assert_eq(stats().locked_user, 32);
	/* Released with the last area of each pages object. */
	ioas_unmap_ok(id, 0x100000, 16 * PAGE, 16 * PAGE);
	cr_assert_eq(stats().locked_user, 32);
	ioas_unmap_ok(id2, 0, UINT64_MAX, 16 * PAGE);
	cr_assert_eq(stats().locked_user, 16);
	ioas_unmap_ok(id, 0, UINT64_MAX, 16 * PAGE);
	cr_assert_eq(stats().locked_user, 0);
	cr_assert_eq(stats().pinned_pages, 0);
}

Test(io_pagetable, mm_accounting_mode)
{
	uint8_t *b = test_buffer(8 * PAGE);

	/* Setting the mode needs CAP_SYS_RESOURCE, which this machine's root may lack; the
	 * context's mode is what the ioctl sets (and what /dev/vfio/vfio defaults to). */
	self->account_mode = REF_ACCOUNT_MM;
	drop_ipc_lock();
	uint32_t id = ioas_alloc_ok();
	cr_assert_gt(ioasid_test_domain_attach(self, id, 0), 0);
	ioas_map_fixed_ok(id, b, 8 * PAGE, 0x100000);
	cr_assert_eq(stats().locked_mm, 8);
	cr_assert_eq(stats().locked_user, 0);
}

Test(io_pagetable, detach_of_last_domain_unpins)
{
	uint32_t id = ioas_alloc_ok();
	uint8_t *b = test_buffer(8 * PAGE);

	drop_ipc_lock();
	int dom = ioasid_test_domain_attach(self, id, 0);
	ioas_map_fixed_ok(id, b, 8 * PAGE, 0x100000);
	cr_assert_eq(stats().locked_user, 8);
	assert_rc(0, ioasid_test_domain_detach(self, dom));
	cr_assert_eq(stats().locked_user, 0);
	cr_assert_eq(stats().pinned_pages, 0);
}

Test(io_pagetable, huge_pages_off_keeps_working)
{
	uint32_t id = ioas_alloc_ok();
	uint64_t v = 0;
	uint8_t *b = test_buffer(4UL << 20), got;
	uint64_t fault;

	assert_rc(0, _option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, id, &v));
	int dom = ioasid_test_domain_attach(self, id, 0);
	b[(2UL << 20) + 5] = 77;
	ioas_map_fixed_ok(id, b, 4UL << 20, 4UL << 20);
	assert_rc(0, ioasid_test_dma(self, dom, (6UL << 20) + 5, &got, 1, 0, &fault));
	cr_assert_eq(got, 77);
}

/* ---- iopt_cut_iova (VFIO TYPE1 v1's partial unmaps): the kernel's iopt_area_split rules ---- */

/* The io_pagetable of an IOAS; the lookup's reference is dropped at once (the context holds the
 * IOAS for the rest of the test). */
static struct io_pagetable *iopt_of(uint32_t id)
{
	int rc = 0;
	struct ref_ioas *ioas = ref_get_ioas(self, id, &rc);

	cr_assert_not_null(ioas, "IOAS %u: %d", id, rc);
	ref_put_object(self, &ioas->obj);
	return &ioas->iopt;
}

static int cut(uint32_t id, uint64_t iova)
{
	return iopt_cut_iova(iopt_of(id), &iova, 1);
}

static void huge_pages_off(uint32_t id)
{
	uint64_t v = 0;

	assert_rc(0, _option(IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, id, &v));
}

/* A cut only moves area boundaries: IOMMU_IOAS_UNMAP (whole areas only) shows where they are. */
Test(io_pagetable, cut_makes_areas_unmappable_alone)
{
	uint32_t id = ioas_alloc_ok();
	uint8_t *b = test_buffer(16 * PAGE);
	const uint64_t X = 0x400000;

	ioas_map_fixed_ok(id, b, 16 * PAGE, X);
	/* at an area's first or last byte, or where nothing is mapped: nothing to do */
	assert_rc(0, cut(id, X));
	assert_rc(0, cut(id, X + 16 * PAGE - 1));
	assert_rc(0, cut(id, X + 32 * PAGE));
	ioas_unmap_err(ENOENT, id, X, 4 * PAGE);
	/* both edges of the middle: three areas */
	{
		const uint64_t iovas[] = { X + 8 * PAGE - 1, X + 4 * PAGE - 1 };

		assert_rc(0, iopt_cut_iova(iopt_of(id), iovas, 2));
	}
	ioas_unmap_err(ENOENT, id, X + 2 * PAGE, 4 * PAGE);
	ioas_unmap_ok(id, X + 4 * PAGE, 4 * PAGE, 4 * PAGE);
	ioas_unmap_ok(id, X, 4 * PAGE, 4 * PAGE);
	ioas_unmap_ok(id, X + 8 * PAGE, 8 * PAGE, 8 * PAGE);
	/* no domain and large pages on: alignment 1, a cut may fall inside a page */
	ioas_map_fixed_ok(id, b, 16 * PAGE, X);
	assert_rc(0, cut(id, X + 100));
	ioas_unmap_ok(id, X, 101, 101);
	ioas_unmap_ok(id, X + 101, 16 * PAGE - 101, 16 * PAGE - 101);
}

/* Domains that may hold huge IOPTEs for the area forbid cutting it (EINVAL); with large pages
 * off the IOAS's alignment (PAGE_SIZE) applies to the cut, in IOVA and in the memory. */
Test(io_pagetable, cut_needs_small_pages_and_alignment)
{
	uint32_t huge = ioas_alloc_ok(), small = ioas_alloc_ok();
	uint8_t *b = test_buffer(16 * PAGE);
	const uint64_t X = 0x400000;

	cr_assert_gt(ioasid_test_domain_attach(self, huge, 0), 0);
	ioas_map_fixed_ok(huge, b, 16 * PAGE, X);
	assert_rc(-EINVAL, cut(huge, X + 4 * PAGE - 1));

	huge_pages_off(small);
	cr_assert_gt(ioasid_test_domain_attach(self, small, 0), 0);
	ioas_map_fixed_ok(small, b, 16 * PAGE, X);
	assert_rc(-EINVAL, cut(small, X + 4 * PAGE - 2));
	assert_rc(-EINVAL, cut(small, X + 4 * PAGE));
	assert_rc(0, cut(small, X + 4 * PAGE - 1));
	ioas_unmap_ok(small, X, 4 * PAGE, 4 * PAGE);
}

/* Pins of accesses are not tracked per part: an area they pin cannot be cut (EINVAL) until they
 * let go. */
Test(io_pagetable, cut_refused_while_an_access_pins)
{
	uint32_t id = ioas_alloc_ok();
	uint8_t *b = test_buffer(16 * PAGE);
	const uint64_t X = 0x400000;
	void *pages[1];

	huge_pages_off(id);
	ioas_map_fixed_ok(id, b, 16 * PAGE, X);
	assert_rc(0, iopt_access_pin(iopt_of(id), X + 10 * PAGE, PAGE, pages, 0));
	assert_rc(-EINVAL, cut(id, X + 4 * PAGE - 1));
	iopt_access_unpin(iopt_of(id), X + 10 * PAGE, PAGE);
	assert_rc(0, cut(id, X + 4 * PAGE - 1));
}

/* Pinned pages stay charged once: a cut charges nothing, the unmap of a part unpins exactly its
 * pages, and pages that IOAS_COPY shares with another IOAS stay pinned while that one maps them
 * (MD_CHECK_REFS's count, iopt_count_user_pins, per page). */
Test(io_pagetable, cut_keeps_pinned_pages_exact)
{
	uint32_t a = ioas_alloc_ok(), c = ioas_alloc_ok();
	uint8_t *b = test_buffer(16 * PAGE);
	const uint64_t X = 0x400000, Y = 0x800000;
	uint64_t iova = Y;
	uint32_t pins[16];

	huge_pages_off(a);
	huge_pages_off(c);
	cr_assert_gt(ioasid_test_domain_attach(self, a, 0), 0);
	cr_assert_gt(ioasid_test_domain_attach(self, c, 0), 0);
	ioas_map_fixed_ok(a, b, 16 * PAGE, X);
	assert_rc(0, _ioas_copy(c, &iova, a, X + 8 * PAGE, 8 * PAGE, MAP_FIXED_RW));
	cr_assert_eq(stats().pinned_pages, 16);

	{
		const uint64_t iovas[] = { X + 12 * PAGE - 1, X + 4 * PAGE - 1 };

		assert_rc(0, iopt_cut_iova(iopt_of(a), iovas, 2));
	}
	cr_assert_eq(stats().pinned_pages, 16, "a cut charges or uncharges nothing");
	ioas_unmap_ok(a, X + 4 * PAGE, 8 * PAGE, 8 * PAGE);
	/* pages 4-7 were only a's; 8-11 are still c's */
	cr_assert_eq(stats().pinned_pages, 12);
	assert_rc(0, iopt_count_user_pins((uintptr_t)b, 16, pins));
	for (int i = 0; i < 16; i++)
		cr_assert_eq(pins[i], i >= 4 && i < 8 ? 0 : 1, "page %d: %u pins", i, pins[i]);
	ioas_unmap_ok(c, Y, 8 * PAGE, 8 * PAGE);
	cr_assert_eq(stats().pinned_pages, 8);
	ioas_unmap_ok(a, X, 16 * PAGE, 8 * PAGE);
	cr_assert_eq(stats().pinned_pages, 0);
}
