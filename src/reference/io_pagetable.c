/* io_pagetable.c — areas, allowed/reserved ranges, the IOVA allocator and domain mirroring of
 * one IOAS. Design note in io_pagetable.h; semantics follow the kernel's io_pagetable.c:
 *  - an area is created whole and removed whole (unmap of part of one is ENOENT);
 *  - automatic IOVA keeps the alignment of the user address (up to the length's power of two),
 *    never returns 0, and stays inside the allowed ranges and out of reserved ranges and areas;
 *  - every area is mapped into every domain of the IOAS; adding a domain maps all areas into it
 *    and pins them if it is the first; removing the last domain unpins everything;
 *  - iova_alignment is 1 with no domain (PAGE_SIZE with huge pages disabled) and the largest
 *    minimum page size of the attached domains otherwise.
 * Unmaps invalidate the IOTLB before returning (strict mode): MAP-2 of shared/DESIGN.md.
 */
#include "reference/ref_private.h"

#include <stdlib.h>
#include <string.h>

void iopt_init_table(struct io_pagetable *iopt)
{
	memset(iopt, 0, sizeof(*iopt));
	pthread_mutex_init(&iopt->lock, NULL);
	/* With no domain an IOAS is a software table over the whole u64 space, byte granular. */
	iopt->iova_alignment = 1;
}

void iopt_free_span_tree(struct itree_root *root)
{
	struct itree_node *node;

	while ((node = itree_first(root))) {
		itree_remove(root, node);
		ioasid_free(container_of(node, struct iopt_span, node));
	}
}

void iopt_destroy_table(struct io_pagetable *iopt)
{
	iopt_free_span_tree(&iopt->allowed_itree);
	iopt_free_span_tree(&iopt->reserved_itree);
	ioasid_free(iopt->domains);
	pthread_mutex_destroy(&iopt->lock);
}

static struct iopt_area *area_of(struct itree_node *node)
{
	return node ? container_of(node, struct iopt_area, node) : NULL;
}

static struct iopt_area *iopt_area_iter_first(struct io_pagetable *iopt, uint64_t start,
					      uint64_t last)
{
	return area_of(itree_iter_first(&iopt->area_itree, start, last));
}

static uint64_t roundup_pow_of_two(uint64_t v)
{
	return v <= 1 ? 1 : 1ULL << (64 - __builtin_clzll(v - 1));
}

/* Try to place `length` bytes at the start of [*start, last] after aligning. */
static bool alloc_fits(uint64_t *start, uint64_t last, uint64_t length, uint64_t align,
		       uint64_t page_offset)
{
	uint64_t aligned;

	if (last - *start < length - 1)
		return false;
	if (check_add_overflow(*start, align - 1, &aligned))
		return false;
	aligned = ALIGN_DOWN(aligned, align) | page_offset;
	if (aligned > last || last - aligned < length - 1)
		return false;
	*start = aligned;
	return true;
}

/* Automatically find unused, unreserved, allowed IOVA for length bytes; never 0. */
static int iopt_alloc_iova(struct io_pagetable *iopt, uint64_t *iova, uint64_t uptr,
			   uint64_t length)
{
	uint64_t page_offset = uptr % PAGE_SIZE_REF, align;
	struct itree_double_span_iter used;
	struct itree_span_iter allowed;

	if (length == 0 || length >= UINT64_MAX / 2)
		return -EOVERFLOW;
	/* Keep the alignment of the user address so that huge IOPTEs stay possible. */
	align = roundup_pow_of_two(length);
	if (uptr)
		align = MIN(align, 1ULL << __builtin_ctzll(uptr));
	if (align < iopt->iova_alignment)
		return -EINVAL;

	for (itree_span_iter_first(&allowed, &iopt->allowed_itree, PAGE_SIZE_REF,
				   UINT64_MAX - PAGE_SIZE_REF);
	     !itree_span_iter_done(&allowed); itree_span_iter_next(&allowed)) {
		uint64_t a_start, a_last;

		if (itree_empty(&iopt->allowed_itree)) {
			a_start = PAGE_SIZE_REF;
			a_last = UINT64_MAX - PAGE_SIZE_REF;
		} else if (allowed.is_hole) {
			continue;
		} else {
			a_start = allowed.start_used;
			a_last = allowed.last_used;
		}
		if (!alloc_fits(&a_start, a_last, length, align, page_offset))
			continue;

		for (itree_double_span_iter_first(&used, &iopt->reserved_itree, &iopt->area_itree,
						  a_start, a_last);
		     !itree_double_span_iter_done(&used); itree_double_span_iter_next(&used)) {
			uint64_t h_start = used.start_hole;

			if (!used.is_hole)
				continue;
			if (!alloc_fits(&h_start, used.last_hole, length, align, page_offset))
				continue;
			*iova = h_start;
			return 0;
		}
	}
	return -ENOSPC;
}

static int iopt_check_iova(struct io_pagetable *iopt, uint64_t iova, uint64_t length)
{
	uint64_t last;

	if (iova & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (itree_iter_first(&iopt->reserved_itree, iova, last))
		return -EINVAL;
	if (itree_iter_first(&iopt->area_itree, iova, last))
		return -EEXIST;
	return 0;
}

static uint64_t iopt_pgsize_mask(const struct io_pagetable *iopt)
{
	return iopt->disable_large_pages ? SZ_4K : ~0ULL;
}

static int area_map_domain(struct iopt_area *area, struct mock_domain *dom)
{
	return mock_domain_map(dom, iopt_area_iova(area), ref_area_host_addr(area),
			       iopt_area_length(area), area->prot, iopt_pgsize_mask(area->iopt));
}

/* Strict invalidation: the IOTLB is clean for the range before the unmap returns. */
static void area_unmap_domain(struct iopt_area *area, struct mock_domain *dom)
{
	struct mock_iotlb_gather gather;

	mock_iotlb_gather_init(&gather);
	mock_domain_unmap(dom, iopt_area_iova(area), iopt_area_length(area), &gather);
	mock_domain_iotlb_sync(dom, &gather);
}

/* Pin the area and map it into every domain; all or nothing. */
static int iopt_area_fill_domains(struct io_pagetable *iopt, struct iopt_area *area)
{
	uint32_t i, j;
	int rc;

	if (!iopt->nr_domains)
		return 0;
	rc = ref_pages_pin_area(area);
	if (rc)
		return rc;
	for (i = 0; i != iopt->nr_domains; i++) {
		rc = area_map_domain(area, iopt->domains[i]);
		if (rc)
			goto err_unmap;
	}
	return 0;

err_unmap:
	for (j = 0; j != i; j++)
		area_unmap_domain(area, iopt->domains[j]);
	ref_pages_unpin_area(area);
	return rc;
}

static void iopt_area_unfill_domains(struct io_pagetable *iopt, struct iopt_area *area)
{
	for (uint32_t i = 0; i != iopt->nr_domains; i++)
		area_unmap_domain(area, iopt->domains[i]);
	ref_pages_unpin_area(area);
}

/* The address used to pick an IOVA alignment for these pages. */
static uint64_t pages_alignment_hint(const struct iopt_pages_elm *elm)
{
	if (elm->pages->type == REF_PAGES_FILE)
		return elm->pages->file_start + elm->start_byte;
	return elm->pages->uptr + elm->start_byte;
}

static int iopt_insert_area(struct io_pagetable *iopt, struct iopt_area *area,
			    struct ref_pages *pages, uint64_t iova, uint64_t start_byte,
			    uint64_t length, int prot)
{
	if ((prot & MOCK_PROT_WRITE) && !pages->writable)
		return -EPERM;
	area->prot = prot;
	if ((start_byte % PAGE_SIZE_REF) & (iopt->iova_alignment - 1))
		return -EINVAL;
	area->node.start = iova;
	if (check_add_overflow(iova, length - 1, &area->node.last))
		return -EOVERFLOW;
	area->start_byte = start_byte;
	area->iopt = iopt;
	itree_insert(&iopt->area_itree, &area->node);
	return 0;
}

static void iopt_abort_area(struct io_pagetable *iopt, struct iopt_area *area)
{
	if (area->iopt)
		itree_remove(&iopt->area_itree, &area->node);
	ioasid_free(area);
}

int iopt_map_pages(struct io_pagetable *iopt, struct iopt_pages_list *list, uint64_t length,
		   uint64_t *dst_iova, int prot, unsigned int flags)
{
	uint32_t i, filled = 0;
	uint64_t iova;
	int rc = 0;

	for (i = 0; i != list->nr; i++) {
		list->elms[i].area = ioasid_zalloc(sizeof(struct iopt_area));
		if (!list->elms[i].area)
			return -ENOMEM;
	}

	pthread_mutex_lock(&iopt->lock);
	if ((length & (iopt->iova_alignment - 1)) || !length) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (flags & IOPT_ALLOC_IOVA)
		rc = iopt_alloc_iova(iopt, dst_iova, pages_alignment_hint(&list->elms[0]), length);
	else
		rc = iopt_check_iova(iopt, *dst_iova, length);
	if (rc)
		goto out_unlock;

	iova = *dst_iova;
	for (i = 0; i != list->nr; i++) {
		struct iopt_pages_elm *elm = &list->elms[i];

		rc = iopt_insert_area(iopt, elm->area, elm->pages, iova, elm->start_byte,
				      elm->length, prot);
		if (rc)
			goto out_unlock;
		elm->area->pages = elm->pages; /* borrowed until success moves the reference */
		iova += elm->length;
	}
	for (filled = 0; filled != list->nr; filled++) {
		rc = iopt_area_fill_domains(iopt, list->elms[filled].area);
		if (rc)
			goto out_unfill;
	}
	/* Success: each area takes over the list's pages reference. */
	for (i = 0; i != list->nr; i++) {
		list->elms[i].pages = NULL;
		list->elms[i].area = NULL;
	}
	pthread_mutex_unlock(&iopt->lock);
	return 0;

out_unfill:
	while (filled--)
		iopt_area_unfill_domains(iopt, list->elms[filled].area);
out_unlock:
	/* Take back every area inserted so far; the pages references stay with the list. */
	for (i = 0; i != list->nr; i++) {
		struct iopt_area *area = list->elms[i].area;

		if (area) {
			iopt_abort_area(iopt, area);
			list->elms[i].area = NULL;
		}
	}
	pthread_mutex_unlock(&iopt->lock);
	return rc;
}

void iopt_free_pages_list(struct iopt_pages_list *list)
{
	for (uint32_t i = 0; i != list->nr; i++) {
		if (list->elms[i].area)
			ioasid_free(list->elms[i].area);
		if (list->elms[i].pages)
			ref_pages_put(list->elms[i].pages);
	}
	ioasid_free(list->elms);
	memset(list, 0, sizeof(*list));
}

static int pages_list_add(struct iopt_pages_list *list, struct ref_pages *pages,
			  uint64_t start_byte, uint64_t length)
{
	if (list->nr == list->max) {
		uint32_t max = list->max ? list->max * 2 : 4;
		void *n = ioasid_realloc_array(list->elms, max, sizeof(*list->elms));

		if (!n)
			return -ENOMEM;
		list->elms = n;
		list->max = max;
	}
	list->elms[list->nr++] = (struct iopt_pages_elm){
		.pages = pages, .start_byte = start_byte, .length = length,
	};
	return 0;
}

/* A single freshly allocated pages object mapped as one area (MAP and MAP_FILE). */
static int iopt_map_common(struct io_pagetable *iopt, struct ref_pages *pages, uint64_t *iova,
			   uint64_t length, uint64_t start_byte, int prot, unsigned int flags)
{
	struct iopt_pages_list list = { 0 };
	int rc;

	rc = pages_list_add(&list, pages, start_byte, length);
	if (rc) {
		ref_pages_put(pages);
		return rc;
	}
	rc = iopt_map_pages(iopt, &list, length, iova, prot, flags);
	iopt_free_pages_list(&list);
	return rc;
}

int iopt_map_user_pages(struct ioasid_ctx *ctx, struct io_pagetable *iopt, uint64_t *iova,
			uint64_t uptr, uint64_t length, int prot, unsigned int flags)
{
	struct ref_pages *pages;
	int rc;

	pages = ref_pages_alloc_user(ctx, uptr, length, prot & MOCK_PROT_WRITE, &rc);
	if (!pages)
		return rc;
	return iopt_map_common(iopt, pages, iova, length, uptr - pages->uptr, prot, flags);
}

int iopt_map_file_pages(struct ioasid_ctx *ctx, struct io_pagetable *iopt, uint64_t *iova,
			int fd, uint64_t start, uint64_t length, int prot, unsigned int flags)
{
	struct ref_pages *pages;
	uint64_t last;
	int rc;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(start, length - 1, &last))
		return -EOVERFLOW;
	pages = ref_pages_alloc_file(ctx, fd, start, length, prot & MOCK_PROT_WRITE, &rc);
	if (!pages)
		return rc;
	return iopt_map_common(iopt, pages, iova, length, start - pages->file_start, prot, flags);
}

int iopt_get_pages(struct io_pagetable *iopt, uint64_t iova, uint64_t length,
		   struct iopt_pages_list *list)
{
	uint64_t last, cur = iova;
	struct iopt_area *area;
	int rc = 0;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;

	pthread_mutex_lock(&iopt->lock);
	/* Walk areas that tile [iova, last] with no gap. */
	area = iopt_area_iter_first(iopt, iova, iova);
	while (true) {
		uint64_t piece_last;

		if (!area || !area->pages || iopt_area_iova(area) > cur) {
			rc = -ENOENT;
			break;
		}
		piece_last = MIN(last, iopt_area_last_iova(area));
		rc = pages_list_add(list, area->pages,
				    area->start_byte + (cur - iopt_area_iova(area)),
				    piece_last - cur + 1);
		if (rc)
			break;
		ref_pages_get(area->pages);
		if (piece_last == last)
			break;
		cur = piece_last + 1;
		area = iopt_area_iter_first(iopt, cur, cur);
	}
	pthread_mutex_unlock(&iopt->lock);
	if (rc)
		iopt_free_pages_list(list);
	return rc;
}

static int iopt_unmap_iova_range(struct io_pagetable *iopt, uint64_t start, uint64_t last,
				 uint64_t *unmapped)
{
	uint64_t unmapped_bytes = 0;
	struct iopt_area *area;
	int rc = -ENOENT;

	pthread_mutex_lock(&iopt->lock);
	while ((area = iopt_area_iter_first(iopt, start, last))) {
		uint64_t area_first = iopt_area_iova(area), area_last = iopt_area_last_iova(area);
		struct ref_pages *pages = area->pages;

		if (!pages) {
			rc = -EBUSY;
			goto out_unlock;
		}
		/* Only whole areas: areas below this one stay unmapped, as in the kernel. */
		if (area_first < start || area_last > last) {
			rc = -ENOENT;
			goto out_unlock;
		}
		iopt_area_unfill_domains(iopt, area);
		itree_remove(&iopt->area_itree, &area->node);
		ioasid_free(area);
		ref_pages_put(pages);
		unmapped_bytes += area_last - area_first + 1;
	}
	if (unmapped_bytes)
		rc = 0;
out_unlock:
	pthread_mutex_unlock(&iopt->lock);
	if (unmapped)
		*unmapped = unmapped_bytes;
	return rc;
}

int iopt_unmap_iova(struct io_pagetable *iopt, uint64_t iova, uint64_t length, uint64_t *unmapped)
{
	uint64_t last;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	return iopt_unmap_iova_range(iopt, iova, last, unmapped);
}

int iopt_unmap_all(struct io_pagetable *iopt, uint64_t *unmapped)
{
	int rc = iopt_unmap_iova_range(iopt, 0, UINT64_MAX, unmapped);

	/* Unmapping everything from an empty IOAS succeeds. */
	return rc == -ENOENT ? 0 : rc;
}

/* The caller owns *allowed before and after: on success it holds the old ranges. */
int iopt_set_allow_iova(struct io_pagetable *iopt, struct itree_root *allowed)
{
	struct itree_root old;
	struct itree_node *n;

	pthread_mutex_lock(&iopt->lock);
	old = iopt->allowed_itree;
	iopt->allowed_itree = *allowed;
	for (n = itree_first(&iopt->allowed_itree); n; n = itree_next(n)) {
		if (itree_iter_first(&iopt->reserved_itree, n->start, n->last)) {
			iopt->allowed_itree = old;
			pthread_mutex_unlock(&iopt->lock);
			return -EADDRINUSE;
		}
	}
	*allowed = old;
	pthread_mutex_unlock(&iopt->lock);
	return 0;
}

static int iopt_reserve_iova_locked(struct io_pagetable *iopt, uint64_t start, uint64_t last,
				    const void *owner)
{
	struct iopt_span *reserved;

	if (itree_iter_first(&iopt->area_itree, start, last) ||
	    itree_iter_first(&iopt->allowed_itree, start, last))
		return -EADDRINUSE;
	reserved = ioasid_zalloc(sizeof(*reserved));
	if (!reserved)
		return -ENOMEM;
	reserved->node.start = start;
	reserved->node.last = last;
	reserved->owner = owner;
	itree_insert(&iopt->reserved_itree, &reserved->node);
	return 0;
}

int iopt_reserve_iova(struct io_pagetable *iopt, uint64_t start, uint64_t last, const void *owner)
{
	int rc;

	pthread_mutex_lock(&iopt->lock);
	rc = iopt_reserve_iova_locked(iopt, start, last, owner);
	pthread_mutex_unlock(&iopt->lock);
	return rc;
}

static void iopt_remove_reserved_locked(struct io_pagetable *iopt, const void *owner)
{
	struct itree_node *n = itree_first(&iopt->reserved_itree), *next;

	for (; n; n = next) {
		struct iopt_span *span = container_of(n, struct iopt_span, node);

		next = itree_next(n);
		if (span->owner == owner) {
			itree_remove(&iopt->reserved_itree, n);
			ioasid_free(span);
		}
	}
}

void iopt_remove_reserved_iova(struct io_pagetable *iopt, const void *owner)
{
	pthread_mutex_lock(&iopt->lock);
	iopt_remove_reserved_locked(iopt, owner);
	pthread_mutex_unlock(&iopt->lock);
}

/* All areas conform to a larger alignment (EADDRINUSE otherwise). */
static int iopt_check_iova_alignment(struct io_pagetable *iopt, uint64_t new_alignment)
{
	uint64_t mask = new_alignment - 1;

	for (struct itree_node *n = itree_first(&iopt->area_itree); n; n = itree_next(n)) {
		struct iopt_area *area = area_of(n);

		if ((iopt_area_iova(area) & mask) || (iopt_area_length(area) & mask) ||
		    ((area->start_byte % PAGE_SIZE_REF) & mask))
			return -EADDRINUSE;
	}
	return 0;
}

static uint64_t domain_min_pgsize(struct mock_domain *dom)
{
	uint64_t bitmap = mock_domain_pgsize_bitmap(dom);

	return bitmap & -bitmap;
}

static int iopt_calculate_iova_alignment(struct io_pagetable *iopt)
{
	uint64_t align = iopt->disable_large_pages ? PAGE_SIZE_REF : 1;
	int rc;

	for (uint32_t i = 0; i != iopt->nr_domains; i++)
		align = MAX(align, domain_min_pgsize(iopt->domains[i]));
	if (align > iopt->iova_alignment) {
		rc = iopt_check_iova_alignment(iopt, align);
		if (rc)
			return rc;
	}
	iopt->iova_alignment = align;
	return 0;
}

int iopt_disable_large_pages(struct io_pagetable *iopt)
{
	int rc = 0;

	pthread_mutex_lock(&iopt->lock);
	if (iopt->disable_large_pages)
		goto out_unlock;
	/* Domains may already hold huge IOPTEs for existing areas. */
	if (iopt->nr_domains && !itree_empty(&iopt->area_itree)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	iopt->disable_large_pages = true;
	rc = iopt_calculate_iova_alignment(iopt);
	if (rc)
		iopt->disable_large_pages = false;
out_unlock:
	pthread_mutex_unlock(&iopt->lock);
	return rc;
}

void iopt_enable_large_pages(struct io_pagetable *iopt)
{
	pthread_mutex_lock(&iopt->lock);
	iopt->disable_large_pages = false;
	iopt_calculate_iova_alignment(iopt); /* shrinking never fails */
	pthread_mutex_unlock(&iopt->lock);
}

int iopt_table_add_domain(struct io_pagetable *iopt, struct mock_domain *dom)
{
	uint64_t ap_start = mock_domain_aperture_start(dom), ap_end = mock_domain_aperture_end(dom);
	uint64_t new_alignment;
	struct itree_node *n, *end = NULL;
	bool first;
	int rc;

	pthread_mutex_lock(&iopt->lock);
	first = iopt->nr_domains == 0;
	for (uint32_t i = 0; i != iopt->nr_domains; i++) {
		if (iopt->domains[i] == dom) {
			rc = -EEXIST;
			goto out_unlock;
		}
	}
	/* A domain must accept PAGE_SIZE: we cannot promise more contiguity than that. */
	new_alignment = MAX(domain_min_pgsize(dom), iopt->iova_alignment);
	if (new_alignment > PAGE_SIZE_REF) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (new_alignment != iopt->iova_alignment) {
		rc = iopt_check_iova_alignment(iopt, new_alignment);
		if (rc)
			goto out_unlock;
	}
	/* Nothing may live outside the domain's aperture. */
	if (ap_start != 0) {
		rc = iopt_reserve_iova_locked(iopt, 0, ap_start - 1, dom);
		if (rc)
			goto out_reserved;
	}
	if (ap_end != UINT64_MAX) {
		rc = iopt_reserve_iova_locked(iopt, ap_end + 1, UINT64_MAX, dom);
		if (rc)
			goto out_reserved;
	}
	if (iopt->nr_domains == iopt->max_domains) {
		uint32_t max = iopt->max_domains ? iopt->max_domains * 2 : 2;
		void *p = ioasid_realloc_array(iopt->domains, max, sizeof(*iopt->domains));

		if (!p) {
			rc = -ENOMEM;
			goto out_reserved;
		}
		iopt->domains = p;
		iopt->max_domains = max;
	}
	/* Fill: pin on the first domain, then map every area. */
	for (n = itree_first(&iopt->area_itree); n; n = itree_next(n)) {
		struct iopt_area *area = area_of(n);

		if (first) {
			rc = ref_pages_pin_area(area);
			if (rc) {
				end = n;
				goto out_unfill;
			}
		}
		rc = area_map_domain(area, dom);
		if (rc) {
			if (first)
				ref_pages_unpin_area(area);
			end = n;
			goto out_unfill;
		}
	}
	iopt->iova_alignment = new_alignment;
	iopt->domains[iopt->nr_domains++] = dom;
	pthread_mutex_unlock(&iopt->lock);
	return 0;

out_unfill:
	for (n = itree_first(&iopt->area_itree); n != end; n = itree_next(n)) {
		area_unmap_domain(area_of(n), dom);
		if (first)
			ref_pages_unpin_area(area_of(n));
	}
out_reserved:
	iopt_remove_reserved_locked(iopt, dom);
out_unlock:
	pthread_mutex_unlock(&iopt->lock);
	return rc;
}

void iopt_table_remove_domain(struct io_pagetable *iopt, struct mock_domain *dom)
{
	uint32_t i;

	pthread_mutex_lock(&iopt->lock);
	for (i = 0; i != iopt->nr_domains; i++)
		if (iopt->domains[i] == dom)
			break;
	if (i == iopt->nr_domains)
		goto out_unlock;
	iopt->domains[i] = iopt->domains[--iopt->nr_domains];

	for (struct itree_node *n = itree_first(&iopt->area_itree); n; n = itree_next(n)) {
		struct iopt_area *area = area_of(n);

		area_unmap_domain(area, dom);
		if (!iopt->nr_domains)
			ref_pages_unpin_area(area);
	}
	iopt_remove_reserved_locked(iopt, dom);
	iopt_calculate_iova_alignment(iopt); /* cannot grow: never fails */
out_unlock:
	pthread_mutex_unlock(&iopt->lock);
}
