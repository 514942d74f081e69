/* io_pagetable.c — areas, allowed/reserved ranges, the IOVA allocator and domain mirroring of
 * one IOAS. Design note in io_pagetable.h; semantics follow the kernel's io_pagetable.c:
 *  - an area is created whole and removed whole (unmap of part of one is ENOENT); only VFIO
 *    TYPE1 (v1) cuts areas first (iopt_cut_iova), so that its unmap can take part of a mapping;
 *  - automatic IOVA keeps the alignment of the user address (up to the length's power of two),
 *    never returns 0, and stays inside the allowed ranges and out of reserved ranges and areas;
 *  - every area is mapped into every domain of the IOAS; adding a domain maps all areas into it
 *    and pins them if it is the first; removing the last domain unpins everything;
 *  - iova_alignment is 1 with no domain (PAGE_SIZE with huge pages disabled) and the largest
 *    minimum page size of the attached domains otherwise.
 * Unmaps invalidate the IOTLB before returning (strict mode): MAP-2 of shared/DESIGN.md.
 * Access objects (access.c) pin ranges too; an unmap over their pins first asks them to unpin
 * (iopt_access_notify_unmap, without iopt->lock) and fails with EBUSY if pins survive that.
 */
#include "reference/ref_private.h"
#include "common/inject.h"

#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Every io_pagetable of the process, for MD_CHECK_REFS (iopt_count_user_pins). Lock order:
 * iopt_registry_lock, then iopt->lock, then pages->lock. */
static pthread_mutex_t iopt_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct io_pagetable *iopt_registry;

void iopt_init_table(struct io_pagetable *iopt, uint64_t event_ctx, uint32_t event_ioas)
{
	memset(iopt, 0, sizeof(*iopt));
	iopt->event_ctx = event_ctx;
	iopt->event_ioas = event_ioas;
	pthread_mutex_init(&iopt->lock, NULL);
	pthread_cond_init(&iopt->access_idle, NULL);
	/* With no domain an IOAS is a software table over the whole u64 space, byte granular. */
	iopt->iova_alignment = 1;
	pthread_mutex_lock(&iopt_registry_lock);
	iopt->registry_next = iopt_registry;
	if (iopt_registry)
		iopt_registry->registry_prev = iopt;
	iopt_registry = iopt;
	pthread_mutex_unlock(&iopt_registry_lock);
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
	pthread_mutex_lock(&iopt_registry_lock);
	if (iopt->registry_prev)
		iopt->registry_prev->registry_next = iopt->registry_next;
	else
		iopt_registry = iopt->registry_next;
	if (iopt->registry_next)
		iopt->registry_next->registry_prev = iopt->registry_prev;
	pthread_mutex_unlock(&iopt_registry_lock);
	iopt_free_span_tree(&iopt->allowed_itree);
	iopt_free_span_tree(&iopt->reserved_itree);
	ioasid_free(iopt->domains);
	pthread_cond_destroy(&iopt->access_idle);
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
	if (itree_iter_first(&iopt->area_itree, iova, last) &&
	    /* MAP-1 bug "map-overlap": a fixed IOVA over mapped areas is not refused; the
	     * interval tree takes the overlapping area. */
	    !inject_on(INJECT_MAP_OVERLAP))
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

/* Pin the area and map it into every domain; all or nothing. *charged grows by the pages it
 * newly pinned. */
static int iopt_area_fill_domains(struct io_pagetable *iopt, struct iopt_area *area,
				  uint64_t *charged)
{
	uint32_t i, j;
	int rc;

	if (!iopt->nr_domains)
		return 0;
	rc = ref_pages_pin_area(area, charged);
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

/* Take the area out of every domain and unpin it. `unmap`: for a user's unmap (IOAS_UNMAP,
 * VFIO UNMAP_DMA), where the injected MAP-2 / MAP-3 bugs live; false for the undo of a map. */
static void iopt_area_unfill_domains(struct io_pagetable *iopt, struct iopt_area *area,
				     bool unmap)
{
	for (uint32_t i = 0; i != iopt->nr_domains; i++) {
		if (unmap && inject_on(INJECT_UNMAP_SKIP_FLUSH)) {
			/* MAP-2 bug "unmap-skip-flush": the range leaves the page table (one
			 * DOMAIN_UNMAP) but the IOTLB is not synced: no IOTLB_INV, and cached
			 * translations of the range stay hittable. */
			mock_domain_unmap(iopt->domains[i], iopt_area_iova(area),
					  iopt_area_length(area), NULL);
			continue;
		}
		area_unmap_domain(area, iopt->domains[i]);
	}
	/* MAP-3 bug "unmap-leak-pins": the pins go, their accounting stays charged (no ACCOUNT;
	 * the context's pinned pages and the memlock account never come back down). */
	ref_pages_unpin_area_account(area, !(unmap && inject_on(INJECT_UNMAP_LEAK_PINS)));
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
		   uint64_t *dst_iova, int prot, unsigned int flags, uint64_t *pinned)
{
	uint32_t i, filled = 0;
	uint64_t iova, charged = 0;
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
		rc = iopt_area_fill_domains(iopt, list->elms[filled].area, &charged);
		if (rc)
			goto out_unfill;
	}
	/* Success: each area takes over the list's pages reference. */
	for (i = 0; i != list->nr; i++) {
		list->elms[i].pages = NULL;
		list->elms[i].area = NULL;
	}
	pthread_mutex_unlock(&iopt->lock);
	if (pinned)
		*pinned += charged;
	return 0;

out_unfill:
	while (filled--)
		iopt_area_unfill_domains(iopt, list->elms[filled].area, false);
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
			   uint64_t length, uint64_t start_byte, int prot, unsigned int flags,
			   uint64_t *pinned)
{
	struct iopt_pages_list list = { 0 };
	int rc;

	rc = pages_list_add(&list, pages, start_byte, length);
	if (rc) {
		ref_pages_put(pages);
		return rc;
	}
	rc = iopt_map_pages(iopt, &list, length, iova, prot, flags, pinned);
	iopt_free_pages_list(&list);
	return rc;
}

int iopt_map_user_pages(struct ioasid_ctx *ctx, struct io_pagetable *iopt, uint64_t *iova,
			uint64_t uptr, uint64_t length, int prot, unsigned int flags,
			uint64_t *pinned)
{
	struct ref_pages *pages;
	int rc;

	pages = ref_pages_alloc_user(ctx, uptr, length, prot & MOCK_PROT_WRITE, &rc);
	if (!pages)
		return rc;
	return iopt_map_common(iopt, pages, iova, length, uptr - pages->uptr, prot, flags, pinned);
}

int iopt_map_file_pages(struct ioasid_ctx *ctx, struct io_pagetable *iopt, uint64_t *iova,
			int fd, uint64_t start, uint64_t length, int prot, unsigned int flags,
			uint64_t *pinned)
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
	return iopt_map_common(iopt, pages, iova, length, start - pages->file_start, prot, flags,
			       pinned);
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

static void iopt_access_notify_unmap(struct io_pagetable *iopt, uint64_t iova, uint64_t length);

static int iopt_unmap_iova_range(struct io_pagetable *iopt, uint64_t start, uint64_t last,
				 uint64_t *unmapped)
{
	uint64_t unmapped_bytes = 0, notified_first = 0;
	bool notified = false;
	struct iopt_area *area;
	/* Nothing mapped in the range is success (0 bytes), as the kernel's
	 * iopt_unmap_iova_range(): IOMMU_IOAS_UNMAP turns 0 bytes into ENOENT itself, VFIO's
	 * UNMAP_DMA does not (the testbed's 6.12 kernel: rc 0, size 0). */
	int rc = 0;

again:
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
		/* Accesses hold pins here: block new pins, ask every access to let go (without our
		 * lock: their unmap callback unpins through us), then look again. Pins that survive
		 * one round make the unmap fail. */
		if (area->num_accesses) {
			if (notified && notified_first == area_first) {
				area->prevent_access = false;
				rc = -EBUSY;
				goto out_unlock;
			}
			area->prevent_access = true;
			start = area_first;
			notified = true;
			notified_first = area_first;
			pthread_mutex_unlock(&iopt->lock);
			iopt_access_notify_unmap(iopt, area_first, area_last - area_first + 1);
			goto again;
		}
		iopt_area_unfill_domains(iopt, area, true);
		itree_remove(&iopt->area_itree, &area->node);
		ioasid_free(area);
		ref_pages_put(pages);
		unmapped_bytes += area_last - area_first + 1;
	}
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
	return iopt_unmap_iova_range(iopt, 0, UINT64_MAX, unmapped);
}

/* IOAS_ALLOW for the allowed ranges now set: one event per range (one for an empty set). */
static void allow_events_locked(const struct io_pagetable *iopt)
{
	uint32_t nr = 0, i = 0;
	struct itree_node *n;

	for (n = itree_first(&iopt->allowed_itree); n; n = itree_next(n))
		nr++;
	if (!nr)
		IOASID_PROBE(ioas_allow, .ctx = iopt->event_ctx, .obj = iopt->event_ioas);
	for (n = itree_first(&iopt->allowed_itree); n; n = itree_next(n), i++)
		IOASID_PROBE(ioas_allow, .ctx = iopt->event_ctx, .obj = iopt->event_ioas,
			     .iova = n->start, .length = n->last - n->start + 1, .aux = i,
			     .value = nr);
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
			IOASID_PROBE(ioas_allow, .ctx = iopt->event_ctx, .obj = iopt->event_ioas,
				     .result = -EADDRINUSE, .flags = IOASID_EVF_REFUSED);
			pthread_mutex_unlock(&iopt->lock);
			return -EADDRINUSE;
		}
	}
	*allowed = old;
	if (IOASID_PROBE_ON(ioas_allow))
		allow_events_locked(iopt);
	pthread_mutex_unlock(&iopt->lock);
	return 0;
}

/* The length of [start, last] in events: UINT64_MAX for the whole space. */
static inline uint64_t span_length(uint64_t start, uint64_t last)
{
	return (start == 0 && last == UINT64_MAX) ? UINT64_MAX : last - start + 1;
}

/* IOAS_RESERVE of [start, last]: value 1 reserved, 0 given back. */
#define RESERVE_EVENT(iopt_, start_, last_, added_, rc_)                                       \
	IOASID_PROBE(ioas_reserve, .ctx = (iopt_)->event_ctx, .obj = (iopt_)->event_ioas,     \
		     .iova = (start_), .length = span_length(start_, last_), .value = (added_), \
		     .result = (rc_), .flags = (rc_) ? IOASID_EVF_REFUSED : 0)

static int iopt_reserve_iova_locked(struct io_pagetable *iopt, uint64_t start, uint64_t last,
				    const void *owner)
{
	struct iopt_span *reserved;
	int rc = 0;

	if (itree_iter_first(&iopt->area_itree, start, last) ||
	    itree_iter_first(&iopt->allowed_itree, start, last)) {
		rc = -EADDRINUSE;
		goto out;
	}
	reserved = ioasid_zalloc(sizeof(*reserved));
	if (!reserved) {
		rc = -ENOMEM;
		goto out;
	}
	reserved->node.start = start;
	reserved->node.last = last;
	reserved->owner = owner;
	itree_insert(&iopt->reserved_itree, &reserved->node);
out:
	RESERVE_EVENT(iopt, start, last, rc ? 0 : 1, rc);
	return rc;
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
			RESERVE_EVENT(iopt, n->start, n->last, 0, 0);
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
	for (struct iopt_access_hook *h = iopt->accesses; h; h = h->next)
		align = MAX(align, h->iova_alignment);
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

/* ---- cutting areas (VFIO TYPE1 v1) --------------------------------------------------------------
 * TYPE1 v1's UNMAP_DMA may take part of a mapping. As the kernel, vfio_compat.c first cuts the
 * areas at the edges of the range, then unmaps whole areas as always. A cut changes neither the
 * domains nor the pins: both parts keep the same pages at the bytes they had, and the union of
 * their pinned spans, which is what is charged, stays what it was. The unmap that follows takes
 * the middle part out of every domain, invalidates the IOTLB for it and unpins (and uncharges)
 * exactly the pages no other area holds. A cut is refused where the parts could not be exact:
 * the area is not set up or an unmap waits for it (EBUSY); the cut is not aligned to
 * iova_alignment in IOVA or in the memory (EINVAL); accesses hold pins in it (EINVAL: pins are
 * not tracked per part); domains hold it while large pages are allowed (EINVAL: a huge IOPTE
 * may span the cut; TYPE1 v1 disables them, see iopt_disable_large_pages()).
 */

/* Cut area so that one part ends at iova: the area keeps [start, iova], a new one takes the rest
 * (the kernel's iopt_area_split). Under iopt->lock. */
static int iopt_area_split(struct io_pagetable *iopt, struct iopt_area *area, uint64_t iova)
{
	const uint64_t start = iopt_area_iova(area), last = iopt_area_last_iova(area);
	const uint64_t new_start = iova + 1, align = iopt->iova_alignment;
	const uint64_t rhs_byte = area->start_byte + (new_start - start);
	struct iopt_area *rhs;
	int rc;

	if (iova == start || iova == last)
		return 0;
	if (!area->pages || area->prevent_access)
		return -EBUSY;
	if ((new_start & (align - 1)) || (rhs_byte & (align - 1)))
		return -EINVAL;
	rhs = ioasid_zalloc(sizeof(*rhs));
	if (!rhs)
		return -ENOMEM;
	if (area->num_accesses || (area->pinned && !iopt->disable_large_pages)) {
		ioasid_free(rhs);
		return -EINVAL;
	}
	itree_remove(&iopt->area_itree, &area->node);
	area->node.last = iova;
	itree_insert(&iopt->area_itree, &area->node);
	rc = iopt_insert_area(iopt, rhs, area->pages, new_start, rhs_byte, last - iova,
			      area->prot);
	if (rc) {                     /* cannot happen: the area passed these checks */
		itree_remove(&iopt->area_itree, &area->node);
		area->node.last = last;
		itree_insert(&iopt->area_itree, &area->node);
		ioasid_free(rhs);
		return rc;
	}
	ref_pages_get(area->pages);
	rhs->pages = area->pages;
	ref_pages_split_pin(area, rhs);
	return 0;
}

int iopt_cut_iova(struct io_pagetable *iopt, const uint64_t *iovas, size_t num_iovas)
{
	int rc = 0;

	pthread_mutex_lock(&iopt->lock);
	for (size_t i = 0; i != num_iovas && !rc; i++) {
		struct iopt_area *area = iopt_area_iter_first(iopt, iovas[i], iovas[i]);

		if (area)
			rc = iopt_area_split(iopt, area, iovas[i]);
	}
	pthread_mutex_unlock(&iopt->lock);
	return rc;
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
			rc = ref_pages_pin_area(area, NULL);
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

/* ---- access objects --------------------------------------------------------------------------
 * A pin is kept per area and per exact span of CPU page indexes of the area's pages, with a user
 * count (the kernel keeps the same exact-span count in iopt_pages->access_itree). The pages are
 * pinned through a shadow area that never enters an area tree: it only carries the span into
 * pages.c, so the pin is charged once with the domains' pins (pages->pin_tree) and outlives the
 * last domain, as an access pin does in the kernel. */
struct iopt_access_pin {
	struct iopt_area shadow;
	struct iopt_access_pin *next;       /* area->access_pins, under iopt->lock */
	uint64_t first_index, last_index;   /* CPU pages of area->pages */
	uint32_t users;
};

/* Offset of iova's byte from index 0 of the area's pages. */
static uint64_t area_byte(const struct iopt_area *area, uint64_t iova)
{
	return area->start_byte + (iova - iopt_area_iova(area));
}

/* The fully set-up area holding iova, or NULL (a gap). */
static struct iopt_area *area_at(struct io_pagetable *iopt, uint64_t iova)
{
	struct iopt_area *area = iopt_area_iter_first(iopt, iova, iova);

	return area && area->pages ? area : NULL;
}

static bool area_prot_allows(const struct iopt_area *area, unsigned int flags)
{
	return area->prot & ((flags & IOPT_ACCESS_WRITE) ? MOCK_PROT_WRITE : MOCK_PROT_READ);
}

static void iopt_access_notify_unmap(struct io_pagetable *iopt, uint64_t iova, uint64_t length)
{
	struct iopt_access_hook *hook, *next;

	pthread_mutex_lock(&iopt->lock);
	for (hook = iopt->accesses; hook; hook = next) {
		/* notifying keeps the hook linked (iopt_remove_access waits) while unlocked */
		hook->notifying++;
		pthread_mutex_unlock(&iopt->lock);
		hook->notify_unmap(hook, iova, length);
		pthread_mutex_lock(&iopt->lock);
		next = hook->next;
		if (--hook->notifying == 0)
			pthread_cond_broadcast(&iopt->access_idle);
	}
	pthread_mutex_unlock(&iopt->lock);
}

int iopt_add_access(struct io_pagetable *iopt, struct iopt_access_hook *hook)
{
	int rc;

	pthread_mutex_lock(&iopt->lock);
	hook->notifying = 0;
	hook->next = iopt->accesses;
	iopt->accesses = hook;
	rc = iopt_calculate_iova_alignment(iopt);
	if (rc)
		iopt->accesses = hook->next;
	pthread_mutex_unlock(&iopt->lock);
	return rc;
}

void iopt_remove_access(struct io_pagetable *iopt, struct iopt_access_hook *hook)
{
	struct iopt_access_hook **pp;

	pthread_mutex_lock(&iopt->lock);
	while (hook->notifying)
		pthread_cond_wait(&iopt->access_idle, &iopt->lock);
	for (pp = &iopt->accesses; *pp; pp = &(*pp)->next) {
		if (*pp == hook) {
			*pp = hook->next;
			break;
		}
	}
	iopt_calculate_iova_alignment(iopt); /* cannot grow: never fails */
	pthread_mutex_unlock(&iopt->lock);
}

static struct iopt_access_pin *area_access_add(struct iopt_area *area, uint64_t first,
					       uint64_t last, int *err)
{
	struct iopt_access_pin *pin;
	int rc;

	for (pin = area->access_pins; pin; pin = pin->next) {
		if (pin->first_index == first && pin->last_index == last) {
			pin->users++;
			area->num_accesses++;
			return pin;
		}
	}
	pin = ioasid_zalloc(sizeof(*pin));
	if (!pin) {
		*err = -ENOMEM;
		return NULL;
	}
	pin->shadow.pages = area->pages;
	pin->shadow.iopt = area->iopt;
	pin->shadow.prot = area->prot;
	pin->shadow.start_byte = first * PAGE_SIZE_REF;
	pin->shadow.node.start = 0;
	pin->shadow.node.last = (last - first + 1) * PAGE_SIZE_REF - 1;
	rc = ref_pages_pin_area(&pin->shadow, NULL);
	if (rc) {
		ioasid_free(pin);
		*err = rc;
		return NULL;
	}
	pin->first_index = first;
	pin->last_index = last;
	pin->users = 1;
	pin->next = area->access_pins;
	area->access_pins = pin;
	area->num_accesses++;
	return pin;
}

static void area_access_remove(struct iopt_area *area, uint64_t first, uint64_t last)
{
	struct iopt_access_pin **pp, *pin;

	for (pp = &area->access_pins; (pin = *pp); pp = &pin->next)
		if (pin->first_index == first && pin->last_index == last)
			break;
	if (!pin)
		return; /* not a pin of this span: a caller bug, ignored as the kernel WARNs */
	area->num_accesses--;
	if (--pin->users)
		return;
	*pp = pin->next;
	ref_pages_unpin_area(&pin->shadow);
	ioasid_free(pin);
}

/* Undo the pins of [iova, last] area by area (all of it was pinned by one call). */
static void access_unpin_locked(struct io_pagetable *iopt, uint64_t iova, uint64_t last)
{
	uint64_t cur = iova;

	while (true) {
		struct iopt_area *area = area_at(iopt, cur);
		uint64_t piece_last;

		if (!area)
			return;
		piece_last = MIN(last, iopt_area_last_iova(area));
		area_access_remove(area, area_byte(area, cur) / PAGE_SIZE_REF,
				   area_byte(area, piece_last) / PAGE_SIZE_REF);
		if (piece_last == last)
			return;
		cur = piece_last + 1;
	}
}

int iopt_access_pin(struct io_pagetable *iopt, uint64_t iova, uint64_t length, void **out_pages,
		    unsigned int flags)
{
	uint64_t last, cur = iova, npages_done = 0;
	int rc = 0;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;

	pthread_mutex_lock(&iopt->lock);
	while (true) {
		struct iopt_area *area = area_at(iopt, cur);
		struct iopt_access_pin *pin;
		uint64_t piece_last, first_idx, last_idx, host;

		if (!area) {
			rc = -ENOENT;
			break;
		}
		piece_last = MIN(last, iopt_area_last_iova(area));
		/* CPU pages are handed out whole: the span starts on a page of the backing memory and
		 * may continue into the next area only from the last byte of a page. */
		if (area->prevent_access || area_byte(area, cur) % PAGE_SIZE_REF ||
		    (piece_last != last && area_byte(area, piece_last) % PAGE_SIZE_REF !=
						   PAGE_SIZE_REF - 1)) {
			rc = -EINVAL;
			break;
		}
		if (!area_prot_allows(area, flags) ||
		    ((flags & IOPT_ACCESS_WRITE) && !area->pages->writable)) {
			rc = -EPERM;
			break;
		}
		first_idx = area_byte(area, cur) / PAGE_SIZE_REF;
		last_idx = area_byte(area, piece_last) / PAGE_SIZE_REF;
		pin = area_access_add(area, first_idx, last_idx, &rc);
		if (!pin)
			break;
		host = ref_area_host_addr(&pin->shadow);
		for (uint64_t i = 0; out_pages && i <= last_idx - first_idx; i++)
			out_pages[npages_done + i] = (void *)(uintptr_t)(host + i * PAGE_SIZE_REF);
		npages_done += last_idx - first_idx + 1;
		if (piece_last == last)
			break;
		cur = piece_last + 1;
	}
	if (rc && cur != iova)
		access_unpin_locked(iopt, iova, cur - 1);
	pthread_mutex_unlock(&iopt->lock);
	return rc;
}

void iopt_access_unpin(struct io_pagetable *iopt, uint64_t iova, uint64_t length)
{
	uint64_t last;

	if (!length || check_add_overflow(iova, length - 1, &last))
		return;
	pthread_mutex_lock(&iopt->lock);
	access_unpin_locked(iopt, iova, last);
	pthread_mutex_unlock(&iopt->lock);
}

/* The CPU copy to or from a pages object, like the kernel's copy_to/from_user fast path: user
 * memory through the checked copies (a vanished mapping is EFAULT), file memory by pread/pwrite
 * of the pages' own file handle. */
static int pages_rw(struct ref_pages *pages, uint64_t start_byte, void *data, size_t length,
		    unsigned int flags)
{
	bool write = flags & IOPT_ACCESS_WRITE;

	if (write && !pages->writable)
		return -EPERM;
	if (pages->type == REF_PAGES_USER) {
		uint64_t addr = pages->uptr + start_byte;

		return write ? ref_copy_to_user(addr, data, length)
			     : ref_copy_from_user(data, addr, length);
	}
	for (size_t done = 0; done < length;) {
		off_t off = (off_t)(pages->file_start + start_byte + done);
		ssize_t n = write ? syscall(SYS_pwrite64, pages->file_fd, (char *)data + done,
					    length - done, off)
				  : syscall(SYS_pread64, pages->file_fd, (char *)data + done,
					    length - done, off);

		if (n <= 0)
			return -EFAULT;
		done += (size_t)n;
	}
	return 0;
}

int iopt_access_rw(struct io_pagetable *iopt, uint64_t iova, void *data, size_t length,
		   unsigned int flags)
{
	uint64_t last, cur = iova;
	int rc = 0;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, (uint64_t)length - 1, &last))
		return -EOVERFLOW;

	pthread_mutex_lock(&iopt->lock);
	while (true) {
		struct iopt_area *area = area_at(iopt, cur);
		uint64_t piece_last, bytes;

		if (!area) {
			rc = -ENOENT;
			break;
		}
		piece_last = MIN(last, iopt_area_last_iova(area));
		bytes = piece_last - cur + 1;
		if (area->prevent_access) {
			rc = -EINVAL;
			break;
		}
		if (!area_prot_allows(area, flags)) {
			rc = -EPERM;
			break;
		}
		rc = pages_rw(area->pages, area_byte(area, cur), data, bytes, flags);
		if (rc)
			break;
		data = (char *)data + bytes;
		if (piece_last == last)
			break;
		cur = piece_last + 1;
	}
	pthread_mutex_unlock(&iopt->lock);
	return rc;
}

int iopt_count_user_pins(uint64_t uptr, uint64_t npages, uint32_t *pins)
{
	uint64_t end = uptr + npages * PAGE_SIZE_REF;
	struct ref_pages **seen = NULL;
	uint32_t nr_seen = 0, max_seen = 0;
	int rc = 0;

	memset(pins, 0, npages * sizeof(*pins));
	/* Collect each pages object overlapping the range once (COPY shares them between areas),
	 * holding a reference so that it can be inspected after the io_pagetable locks drop. */
	pthread_mutex_lock(&iopt_registry_lock);
	for (struct io_pagetable *iopt = iopt_registry; iopt && !rc; iopt = iopt->registry_next) {
		pthread_mutex_lock(&iopt->lock);
		for (struct itree_node *n = itree_first(&iopt->area_itree); n; n = itree_next(n)) {
			struct ref_pages *pages = area_of(n)->pages;
			uint32_t i;

			if (!pages || pages->type != REF_PAGES_USER || pages->uptr >= end ||
			    pages->uptr + pages->npages * PAGE_SIZE_REF <= uptr)
				continue;
			for (i = 0; i != nr_seen && seen[i] != pages; i++)
				;
			if (i != nr_seen)
				continue;
			if (nr_seen == max_seen) {
				uint32_t max = max_seen ? max_seen * 2 : 8;
				void *p = ioasid_realloc_array(seen, max, sizeof(*seen));

				if (!p) {
					rc = -ENOMEM;
					break;
				}
				seen = p;
				max_seen = max;
			}
			ref_pages_get(pages);
			seen[nr_seen++] = pages;
		}
		pthread_mutex_unlock(&iopt->lock);
	}
	pthread_mutex_unlock(&iopt_registry_lock);

	for (uint32_t i = 0; i != nr_seen; i++) {
		struct ref_pages *pages = seen[i];
		uint64_t first = MAX(uptr, pages->uptr);
		uint64_t stop = MIN(end, pages->uptr + pages->npages * PAGE_SIZE_REF);

		pthread_mutex_lock(&pages->lock);
		for (uint64_t va = first; !rc && va < stop; va += PAGE_SIZE_REF) {
			uint64_t index = (va - pages->uptr) / PAGE_SIZE_REF;

			if (itree_iter_first(&pages->pin_tree, index, index))
				pins[(va - uptr) / PAGE_SIZE_REF]++;
		}
		pthread_mutex_unlock(&pages->lock);
		ref_pages_put(pages);
	}
	ioasid_free(seen);
	return rc;
}
