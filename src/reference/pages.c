/* pages.c — pinnable memory behind areas, and pinned-page accounting.
 *
 * A struct ref_pages is the reference's iopt_pages: a page-granular range of user memory
 * (IOAS_MAP) or of a memfd/hugetlbfs file (IOAS_MAP_FILE). Areas slice it; COPY shares it
 * between IOASes, which is why pin state lives here and not in the area.
 *
 * Pinning an area means what pin_user_pages(FOLL_LONGTERM [| FOLL_WRITE]) means to the kernel,
 * as far as userspace can express it: the memory is faulted in for the access the mapping
 * allows (MADV_POPULATE_READ/WRITE, which also breaks COW on writable private memory) and an
 * address that is not mapped, or not writable when the mapping is, fails with EFAULT. Pinned
 * pages are charged once per pages object — the union of the index spans of its pinned areas —
 * to the account chosen when the pages were created, exactly as the kernel's iopt_pages:
 *   NONE (the caller has CAP_IPC_LOCK), USER (per-user locked_vm, RLIMIT_MODE 0) or
 *   MM (per-process locked_vm, RLIMIT_MODE 1), each checked against RLIMIT_MEMLOCK → ENOMEM.
 * Difference from the kernel, by necessity: both accounts are process-wide here; the kernel's
 * per-user account also sees other processes of the user, its per-mm one also mlock()ed memory.
 *
 * Every change of a context's pinned pages raises one ACCOUNT event (value: the context's pinned
 * pages after it, length: the signed delta, aux: the pages' account mode, iova: the
 * RLIMIT_MEMLOCK in pages that applied — UINT64_MAX when unlimited or in mode NONE — and pt: the
 * pages charged to that mode's account after the change, 0 in mode NONE); a charge refused by
 * RLIMIT_MEMLOCK raises one with result -ENOMEM and nothing charged.
 *
 * Locking: pages->lock protects pin_tree/npinned/file_map; refs is atomic; the accounts are
 * atomic counters updated with compare-and-swap so the limit check and the charge are one step.
 */
#include "reference/ref_private.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
#ifndef CAP_IPC_LOCK
#define CAP_IPC_LOCK 14
#endif

static uint64_t account_user_pages;   /* REF_ACCOUNT_USER charges */
static uint64_t account_mm_pages;     /* REF_ACCOUNT_MM charges */
static uint64_t account_pinned_pages; /* every pinned page (VmPin analogue) */

void ref_account_snapshot(uint64_t *user_pages, uint64_t *mm_pages, uint64_t *pinned_pages)
{
	*user_pages = __atomic_load_n(&account_user_pages, __ATOMIC_RELAXED);
	*mm_pages = __atomic_load_n(&account_mm_pages, __ATOMIC_RELAXED);
	*pinned_pages = __atomic_load_n(&account_pinned_pages, __ATOMIC_RELAXED);
}

static uint64_t memlock_limit_pages(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return UINT64_MAX;
	return rl.rlim_cur / PAGE_SIZE_REF;
}

static uint64_t *account_counter(int mode)
{
	return mode == REF_ACCOUNT_MM ? &account_mm_pages : &account_user_pages;
}

static int account_charge(struct ref_pages *pages, uint64_t npages)
{
	uint64_t *counter, cur, next = 0, limit = UINT64_MAX, now;

	if (!npages)
		return 0;
	if (pages->account_mode != REF_ACCOUNT_NONE) {
		counter = account_counter(pages->account_mode);
		limit = memlock_limit_pages();
		cur = __atomic_load_n(counter, __ATOMIC_RELAXED);
		do {
			if (check_add_overflow(cur, npages, &next) || next > limit) {
				IOASID_PROBE(account, .ctx = pages->ctx->cookie,
					     .value = __atomic_load_n(&pages->ctx->pinned_pages,
								      __ATOMIC_RELAXED),
					     .length = npages, .aux = (uint32_t)pages->account_mode,
					     .iova = limit, .pt = (uint32_t)cur,
					     .result = -ENOMEM, .flags = IOASID_EVF_REFUSED);
				return -ENOMEM;
			}
		} while (!__atomic_compare_exchange_n(counter, &cur, next, false, __ATOMIC_RELAXED,
						      __ATOMIC_RELAXED));
	}
	__atomic_add_fetch(&account_pinned_pages, npages, __ATOMIC_RELAXED);
	now = __atomic_add_fetch(&pages->ctx->pinned_pages, npages, __ATOMIC_RELAXED);
	IOASID_PROBE(account, .ctx = pages->ctx->cookie, .value = now, .length = npages,
		     .aux = (uint32_t)pages->account_mode, .iova = limit, .pt = (uint32_t)next);
	return 0;
}

static void account_uncharge(struct ref_pages *pages, uint64_t npages)
{
	uint64_t now, charged = 0, limit = UINT64_MAX;

	if (!npages)
		return;
	if (pages->account_mode != REF_ACCOUNT_NONE) {
		charged = __atomic_sub_fetch(account_counter(pages->account_mode), npages,
					     __ATOMIC_RELAXED);
		limit = memlock_limit_pages();
	}
	__atomic_sub_fetch(&account_pinned_pages, npages, __ATOMIC_RELAXED);
	now = __atomic_sub_fetch(&pages->ctx->pinned_pages, npages, __ATOMIC_RELAXED);
	IOASID_PROBE(account, .ctx = pages->ctx->cookie, .value = now,
		     .length = (uint64_t)0 - npages, .aux = (uint32_t)pages->account_mode,
		     .iova = limit, .pt = (uint32_t)charged);
}

static struct ref_pages *pages_alloc_common(struct ioasid_ctx *ctx, uint64_t start_byte,
					    uint64_t length, bool writable, int *err)
{
	struct ref_pages *pages;

	/* The kernel bounds length so that the page count below cannot overflow. */
	if (length == 0 || length > SIZE_MAX - PAGE_SIZE_REF) {
		*err = -EINVAL;
		return NULL;
	}
	pages = ioasid_zalloc(sizeof(*pages));
	if (!pages) {
		*err = -ENOMEM;
		return NULL;
	}
	pages->refs = 1;
	pthread_mutex_init(&pages->lock, NULL);
	pages->ctx = ctx;
	pages->npages = (length + start_byte + PAGE_SIZE_REF - 1) / PAGE_SIZE_REF;
	pages->writable = writable;
	pages->file_fd = -1;
	/* As iopt_alloc_pages(): CAP_IPC_LOCK means nothing is charged; otherwise the context's
	 * mode decides between the per-user and the per-process account. */
	if (ref_capable(CAP_IPC_LOCK))
		pages->account_mode = REF_ACCOUNT_NONE;
	else
		pages->account_mode = ctx->account_mode;
	return pages;
}

struct ref_pages *ref_pages_alloc_user(struct ioasid_ctx *ctx, uint64_t uptr, uint64_t length,
				       bool writable, int *err)
{
	uint64_t end, uptr_down = ALIGN_DOWN(uptr, PAGE_SIZE_REF);
	struct ref_pages *pages;

	/* iopt_alloc_pages(): the length bound (EINVAL) before the address overflow (EOVERFLOW);
	 * VFIO MAP_DMA reaches here with an unchecked size. */
	if (length == 0 || length > SIZE_MAX - PAGE_SIZE_REF) {
		*err = -EINVAL;
		return NULL;
	}
	if (check_add_overflow(uptr, length, &end)) {
		*err = -EOVERFLOW;
		return NULL;
	}
	pages = pages_alloc_common(ctx, uptr - uptr_down, length, writable, err);
	if (!pages)
		return NULL;
	pages->type = REF_PAGES_USER;
	pages->uptr = uptr_down;
	return pages;
}

struct ref_pages *ref_pages_alloc_file(struct ioasid_ctx *ctx, int fd, uint64_t start,
				       uint64_t length, bool writable, int *err)
{
	uint64_t start_down = ALIGN_DOWN(start, PAGE_SIZE_REF);
	struct ref_pages *pages;
	int dupfd;

	/* fget(): the reference keeps its own handle on the file, as the kernel keeps a ref. */
	dupfd = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0);
	if (dupfd < 0) {
		*err = -EBADF;
		return NULL;
	}
	pages = pages_alloc_common(ctx, start - start_down, length, writable, err);
	if (!pages) {
		syscall(SYS_close, dupfd);
		return NULL;
	}
	pages->type = REF_PAGES_FILE;
	pages->file_fd = dupfd;
	pages->file_start = start_down;
	return pages;
}

void ref_pages_get(struct ref_pages *pages)
{
	__atomic_add_fetch(&pages->refs, 1, __ATOMIC_RELAXED);
}

void ref_pages_put(struct ref_pages *pages)
{
	if (!pages || __atomic_sub_fetch(&pages->refs, 1, __ATOMIC_ACQ_REL))
		return;
	/* Every area unpinned itself before dropping its reference. */
	if (pages->file_map)
		munmap(pages->file_map, pages->file_map_len);
	if (pages->file_fd >= 0)
		syscall(SYS_close, pages->file_fd);
	pthread_mutex_destroy(&pages->lock);
	ioasid_free(pages);
}

/* memfd_pin_folios() only takes shmem and hugetlbfs files; map the whole pinned extent once. */
static int pages_map_file(struct ref_pages *pages)
{
	uint64_t map_off, end, len, align = PAGE_SIZE_REF;
	struct statfs sfs;
	struct stat st;
	void *p;

	if (pages->file_map)
		return 0;
	if (fstatfs(pages->file_fd, &sfs) || fstat(pages->file_fd, &st))
		return -EBADF;
	if (sfs.f_type == HUGETLBFS_MAGIC)
		align = (uint64_t)sfs.f_bsize;
	else if (sfs.f_type != TMPFS_MAGIC)
		return -EINVAL;
	if (check_mul_overflow(pages->npages, PAGE_SIZE_REF, &len) ||
	    check_add_overflow(pages->file_start, len, &end) || end > (uint64_t)st.st_size)
		return -EINVAL;
	map_off = ALIGN_DOWN(pages->file_start, align);
	len = ALIGN_UP(end, align) - map_off;
	p = mmap(NULL, len, PROT_READ | (pages->writable ? PROT_WRITE : 0), MAP_SHARED,
		 pages->file_fd, (off_t)map_off);
	if (p == MAP_FAILED)
		return errno == EACCES ? -EPERM : -EFAULT;
	pages->file_map = p;
	pages->file_map_len = len;
	pages->file_map_delta = pages->file_start - map_off;
	return 0;
}

static uint64_t pages_host_base(const struct ref_pages *pages)
{
	if (pages->type == REF_PAGES_FILE)
		return (uint64_t)(uintptr_t)pages->file_map + pages->file_map_delta;
	return pages->uptr;
}

uint64_t ref_area_host_addr(const struct iopt_area *area)
{
	return pages_host_base(area->pages) + area->start_byte;
}

/* MADV_POPULATE_* arrived in Linux 5.14; probe once (a zero-length call validates the advice). */
static bool populate_supported(void)
{
	static int supported = -1;

	if (supported < 0)
		supported = madvise((void *)(uintptr_t)PAGE_SIZE_REF, 0, MADV_POPULATE_READ) == 0;
	return supported;
}

/* PROCMAP_QUERY (Linux 6.11, <linux/fs.h>): the VMA covering an address, filtered by its
 * permissions, in one ioctl on /proc/self/maps. Declared here for older installed headers. */
struct ref_procmap_query {
	uint64_t size, query_flags, query_addr;
	uint64_t vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
#define REF_PROCMAP_QUERY _IOWR('f', 17, struct ref_procmap_query)
#define REF_PROCMAP_VMA_READABLE 0x01
#define REF_PROCMAP_VMA_WRITABLE 0x02

/* An fd on this process's maps: /proc/self resolves at open, so reopen after fork. */
static int procmap_fd(void)
{
	static int fd = -1;
	static pid_t owner;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pid_t pid = ref_self_pid();
	int ret;

	pthread_mutex_lock(&lock);
	if (fd >= 0 && owner != pid) {
		syscall(SYS_close, fd);
		fd = -1;
	}
	if (fd < 0) {
		fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
		owner = pid;
	}
	ret = fd;
	pthread_mutex_unlock(&lock);
	return ret;
}

/* Every VMA over [addr, addr+len) grants the access: 0, -EFAULT, or -ENOTTY (no PROCMAP_QUERY). */
static int user_range_access_ok(uint64_t addr, uint64_t len, bool writable)
{
	static int unsupported;
	uint64_t end = addr + len;
	int fd;

	if (__atomic_load_n(&unsupported, __ATOMIC_RELAXED) || (fd = procmap_fd()) < 0)
		return -ENOTTY;
	while (addr < end) {
		struct ref_procmap_query q = {
			.size = sizeof(q),
			.query_flags = REF_PROCMAP_VMA_READABLE |
				       (writable ? REF_PROCMAP_VMA_WRITABLE : 0),
			.query_addr = addr,
		};

		if (syscall(SYS_ioctl, fd, REF_PROCMAP_QUERY, &q)) {
			if (errno == ENOTTY || errno == EINVAL) {
				__atomic_store_n(&unsupported, 1, __ATOMIC_RELAXED);
				return -ENOTTY;
			}
			return -EFAULT; /* no VMA there, or not with these permissions */
		}
		if (q.vma_end <= addr)
			return -EFAULT;
		addr = q.vma_end;
	}
	return 0;
}

/* Resident-page check in chunks: -EFAULT for unmapped memory, else how many pages are absent. */
static int64_t user_range_absent_pages(uint64_t addr, uint64_t len)
{
	unsigned char vec[4096];
	int64_t absent = 0;

	for (uint64_t off = 0; off < len; off += sizeof(vec) * PAGE_SIZE_REF) {
		uint64_t chunk = MIN(len - off, sizeof(vec) * PAGE_SIZE_REF);

		if (mincore((void *)(uintptr_t)(addr + off), chunk, vec))
			return -EFAULT;
		for (uint64_t i = 0; i < chunk / PAGE_SIZE_REF; i++)
			absent += !(vec[i] & 1);
	}
	return absent;
}

/* Pin = what pin_user_pages(FOLL_LONGTERM [| FOLL_WRITE]) guarantees that userspace can:
 * the range is mapped (EFAULT otherwise), every VMA grants read and, for a writeable mapping,
 * write (EFAULT otherwise, as FOLL_WRITE on a read-only VMA), and every page is resident.
 * Fast path: mincore + one PROCMAP_QUERY per VMA, faulting in only when pages are absent.
 * COW is not broken ahead of time: a device write through the mock is a CPU write in this
 * process, which breaks COW itself. */
static int pages_populate(struct ref_pages *pages, uint64_t first, uint64_t last)
{
	uint64_t addr = pages_host_base(pages) + first * PAGE_SIZE_REF;
	size_t len = (size_t)(last - first + 1) * PAGE_SIZE_REF;
	int advice = pages->writable ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;
	int64_t absent;
	int rc;

	absent = user_range_absent_pages(addr, len);
	if (absent < 0)
		return -EFAULT;
	rc = user_range_access_ok(addr, len, pages->writable);
	if (rc == -EFAULT)
		return rc;
	if (rc == 0 && absent == 0)
		return 0;
	if (populate_supported())
		return madvise((void *)(uintptr_t)addr, len, advice) ? -EFAULT : 0;
	return 0; /* pre-5.14 kernel: existence was checked above; that is the best we can do */
}

/* Pages of [first, last] not yet covered by any pinned span. */
static uint64_t pages_uncovered(const struct ref_pages *pages, uint64_t first, uint64_t last)
{
	struct itree_span_iter span;
	uint64_t n = 0;

	for (itree_span_iter_first(&span, &pages->pin_tree, first, last);
	     !itree_span_iter_done(&span); itree_span_iter_next(&span))
		if (span.is_hole)
			n += span.last_hole - span.start_hole + 1;
	return n;
}

/* The page indexes of the pages object that the area covers: its span in pin_tree. */
static void area_pin_span(struct iopt_area *area)
{
	area->pin_node.start = area->start_byte / PAGE_SIZE_REF;
	area->pin_node.last = (area->start_byte + iopt_area_length(area) - 1) / PAGE_SIZE_REF;
}

int ref_pages_pin_area(struct iopt_area *area, uint64_t *charged)
{
	struct ref_pages *pages = area->pages;
	uint64_t first, last, fresh;
	int rc;

	if (area->pinned)
		return 0;
	if (ioasid_should_fail())
		return -ENOMEM;
	first = area->start_byte / PAGE_SIZE_REF;
	last = (area->start_byte + iopt_area_length(area) - 1) / PAGE_SIZE_REF;

	pthread_mutex_lock(&pages->lock);
	if (pages->type == REF_PAGES_FILE) {
		rc = pages_map_file(pages);
		if (rc)
			goto out_unlock;
	}
	fresh = pages_uncovered(pages, first, last);
	if (fresh) {
		rc = pages_populate(pages, first, last);
		if (rc)
			goto out_unmap_file;
	}
	rc = account_charge(pages, fresh);
	if (rc)
		goto out_unmap_file;
	area_pin_span(area);
	itree_insert(&pages->pin_tree, &area->pin_node);
	pages->npinned += fresh;
	area->pinned = true;
	if (charged)
		*charged += fresh;
	pthread_mutex_unlock(&pages->lock);
	return 0;

out_unmap_file:
	if (pages->file_map && itree_empty(&pages->pin_tree)) {
		munmap(pages->file_map, pages->file_map_len);
		pages->file_map = NULL;
	}
out_unlock:
	pthread_mutex_unlock(&pages->lock);
	return rc;
}

void ref_pages_split_pin(struct iopt_area *lhs, struct iopt_area *rhs)
{
	struct ref_pages *pages = lhs->pages;

	if (!lhs->pinned)
		return;
	/* Nothing is charged or uncharged: the two spans cover what the one did. */
	pthread_mutex_lock(&pages->lock);
	itree_remove(&pages->pin_tree, &lhs->pin_node);
	area_pin_span(lhs);
	itree_insert(&pages->pin_tree, &lhs->pin_node);
	area_pin_span(rhs);
	itree_insert(&pages->pin_tree, &rhs->pin_node);
	rhs->pinned = true;
	pthread_mutex_unlock(&pages->lock);
}

void ref_pages_unpin_area(struct iopt_area *area)
{
	ref_pages_unpin_area_account(area, true);
}

void ref_pages_unpin_area_account(struct iopt_area *area, bool uncharge)
{
	struct ref_pages *pages = area->pages;
	uint64_t freed;

	if (!area->pinned)
		return;
	pthread_mutex_lock(&pages->lock);
	itree_remove(&pages->pin_tree, &area->pin_node);
	freed = pages_uncovered(pages, area->pin_node.start, area->pin_node.last);
	pages->npinned -= freed;
	if (uncharge)
		account_uncharge(pages, freed);
	if (pages->file_map && itree_empty(&pages->pin_tree)) {
		munmap(pages->file_map, pages->file_map_len);
		pages->file_map = NULL;
	}
	area->pinned = false;
	pthread_mutex_unlock(&pages->lock);
}
