/* selftest.c — IOMMU_TEST_CMD, the kernel's CONFIG_IOMMUFD_TEST mock interface
 * (drivers/iommu/iommufd/selftest.c), so that tools/testing/selftests/iommu runs unmodified
 * against the reference. ABI: selftest_abi.h. Semantics and errnos follow the kernel's handlers:
 *
 *   ADD_RESERVED          iopt_reserve_iova on an IOAS (EINVAL len 0, EOVERFLOW, EADDRINUSE)
 *   MOCK_DOMAIN[_FLAGS]   a "stdev" object (REF_OBJ_SELFTEST) owning a mock device on the
 *                         selftest mock IOMMU, bound and attached to cmd->id (IOAS or HWPT)
 *   MOCK_DOMAIN_REPLACE   ref_device_replace of the stdev's device
 *   MD_CHECK_MAP          every 2 KiB IO page of the range translates to the page behind uptr
 *   MD_CHECK_REFS         every CPU page of the range is pinned exactly `refs` times (EIO)
 *   CREATE_ACCESS         an access object attached to an IOAS, returned as an fd whose last
 *                         close destroys it (an anon fd of anon_fd.c: the shim routes close)
 *   ACCESS_PAGES / DESTROY_ACCESS_PAGES / ACCESS_RW / ACCESS_REPLACE_IOAS   through that fd
 *   SET_TEMP_MEMORY_LIMIT the pin batch limit (≥ sizeof(long) + 4); the reference has no batch
 *                         allocator, so it is validated and remembered only
 *   DIRTY, MD_CHECK_IOTLB, TRIGGER_IOPF, PASID_*   on mock domains and devices
 *   DEV_CHECK_CACHE, TRIGGER_VEVENT (vIOMMU), DMABUF_*: EOPNOTSUPP (not implemented yet)
 *
 * Access fds: the kernel looks an access up by fd (fget + f_op check, EBADFD otherwise) and
 * destroys it at the file's release. Here each access fd is registered in a process-wide list
 * (fd → struct selftest_access); the anon fd's release callback unlinks it and drops the fd's
 * reference; the last reference (a call may be in flight) unpins what is left and destroys the
 * access. Items are what ACCESS_PAGES pinned; the access's unmap callback drops every item in
 * the range being unmapped, as the kernel's selftest does.
 *
 * Locking: st_lock guards the access list and each entry's refs. An entry's own lock guards its
 * items and is held across a pin (the kernel's simple global-lock scheme); the unmap callback
 * takes it too, so it must never be held while waiting for an unmap.
 */
#include "reference/ref_private.h"
#include "reference/device.h"
#include "reference/selftest_abi.h"

#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SELFTEST_RW_MAX (16u * 1024 * 1024)  /* larger ACCESS_PAGES / ACCESS_RW: ENOMEM */

/* The kernel's iommufd_test_memory_limit (bytes per temporary pin batch). */
static uint32_t selftest_memory_limit = 65536;

/* ---- the stdev object ---------------------------------------------------------------------- */

struct selftest_obj {
	struct ref_object obj;          /* REF_OBJ_SELFTEST */
	struct ref_device *idev;
};

void ref_selftest_destroy(struct ref_object *obj)
{
	struct selftest_obj *sobj = container_of(obj, struct selftest_obj, obj);

	if (sobj->idev)
		ref_device_unbind(sobj->idev); /* detaches everything first */
}

static struct selftest_obj *get_stdev(struct ioasid_ctx *ctx, uint32_t id, int *err)
{
	struct ref_object *obj = ref_get_object(ctx, id, REF_OBJ_SELFTEST, err);

	return obj ? container_of(obj, struct selftest_obj, obj) : NULL;
}

/* ---- access objects behind fds --------------------------------------------------------------- */

struct selftest_access_item {
	struct selftest_access_item *next;
	uint64_t iova, length;
	uint32_t id;
};

struct selftest_access {
	struct selftest_access *next;   /* st_accesses */
	int fd;                         /* -1 until the fd exists */
	uint32_t refs;                  /* the open fd + calls in flight; under st_lock */
	struct ref_access *access;
	pthread_mutex_t lock;           /* items, next_id */
	struct selftest_access_item *items;
	uint32_t next_id;
};

static pthread_mutex_t st_lock = PTHREAD_MUTEX_INITIALIZER;
static struct selftest_access *st_accesses;

/* ops->unmap: drop every item that touches [iova, iova + length). */
static void staccess_unmap(void *data, uint64_t iova, uint64_t length)
{
	struct selftest_access *sa = data;
	uint64_t last = iova + length - 1; /* length ULONG_MAX with iova 0: as the kernel */
	struct selftest_access_item **pp, *item;

	pthread_mutex_lock(&sa->lock);
	for (pp = &sa->items; (item = *pp);) {
		if (iova > item->iova + item->length - 1 || last < item->iova) {
			pp = &item->next;
			continue;
		}
		*pp = item->next;
		ref_access_unpin_pages(sa->access, item->iova, item->length);
		ioasid_free(item);
	}
	pthread_mutex_unlock(&sa->lock);
}

static const struct ref_access_ops staccess_ops_pin = {
	.unmap = staccess_unmap,
	.needs_pin_pages = 1,
};
static const struct ref_access_ops staccess_ops = {
	.unmap = staccess_unmap,
};

static void staccess_free(struct selftest_access *sa)
{
	if (sa->access) {
		staccess_unmap(sa, 0, UINT64_MAX);
		ref_access_destroy(sa->access);
	}
	pthread_mutex_destroy(&sa->lock);
	ioasid_free(sa);
}

static void staccess_put(struct selftest_access *sa)
{
	bool last;

	pthread_mutex_lock(&st_lock);
	last = --sa->refs == 0;
	pthread_mutex_unlock(&st_lock);
	if (last)
		staccess_free(sa);
}

static void staccess_unlink_locked(struct selftest_access *sa)
{
	for (struct selftest_access **pp = &st_accesses; *pp; pp = &(*pp)->next) {
		if (*pp == sa) {
			*pp = sa->next;
			return;
		}
	}
}

/* The access fd's release (its last close): the fd no longer names the access. */
static void staccess_release(void *priv)
{
	struct selftest_access *sa = priv;

	pthread_mutex_lock(&st_lock);
	staccess_unlink_locked(sa);
	pthread_mutex_unlock(&st_lock);
	staccess_put(sa);
}

static const struct ref_anon_fd_ops staccess_fops = {
	.name = "[iommufd_test_staccess]",
	.release = staccess_release,
};

/* iommufd_access_get(): fd → access, -EBADFD when fd is not an access fd. */
static struct selftest_access *staccess_get(uint32_t fd, int *err)
{
	struct selftest_access *sa;

	pthread_mutex_lock(&st_lock);
	for (sa = st_accesses; sa; sa = sa->next)
		if (sa->fd >= 0 && (uint32_t)sa->fd == fd && sa->access)
			break;
	if (sa)
		sa->refs++;
	pthread_mutex_unlock(&st_lock);
	if (!sa)
		*err = -EBADFD;
	return sa;
}

static int test_create_access(struct ref_ucmd *ucmd, uint32_t ioas_id, uint32_t flags)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;
	struct selftest_access *sa;
	uint32_t access_id;
	int fd, rc;

	if (flags & ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;
	sa = ioasid_zalloc(sizeof(*sa));
	if (!sa)
		return -ENOMEM;
	pthread_mutex_init(&sa->lock, NULL);
	sa->fd = -1;
	sa->refs = 1;
	rc = ref_access_create(ucmd->ctx,
			       (flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) ?
				       &staccess_ops_pin : &staccess_ops,
			       sa, &sa->access, &access_id);
	if (rc)
		goto out_free;
	rc = ref_access_attach(sa->access, ioas_id);
	if (rc)
		goto out_free;

	/* Listed before the fd exists (fd -1 matches no lookup), so a release can always find it. */
	pthread_mutex_lock(&st_lock);
	sa->next = st_accesses;
	st_accesses = sa;
	pthread_mutex_unlock(&st_lock);
	fd = ref_anon_fd_create(&staccess_fops, sa);
	if (fd < 0) {
		rc = fd;
		pthread_mutex_lock(&st_lock);
		staccess_unlink_locked(sa);
		pthread_mutex_unlock(&st_lock);
		goto out_free;
	}
	pthread_mutex_lock(&st_lock);
	sa->fd = fd;
	pthread_mutex_unlock(&st_lock);

	cmd->create_access.out_access_fd = (uint32_t)fd;
	rc = ref_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		ioasid_fd_close(fd); /* the release destroys the access */
	return rc;

out_free:
	staccess_free(sa);
	return rc;
}

static int test_access_item_destroy(uint32_t access_fd, uint32_t item_id)
{
	struct selftest_access_item **pp, *item;
	struct selftest_access *sa;
	int rc;

	sa = staccess_get(access_fd, &rc);
	if (!sa)
		return rc;
	rc = -ENOENT;
	pthread_mutex_lock(&sa->lock);
	for (pp = &sa->items; (item = *pp); pp = &item->next) {
		if (item->id == item_id) {
			*pp = item->next;
			ref_access_unpin_pages(sa->access, item->iova, item->length);
			ioasid_free(item);
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&sa->lock);
	staccess_put(sa);
	return rc;
}

/* Is the CPU page behind the user address `uptr` the host page `page`? The same address is;
 * another mapping of the same memory (a file mapped twice) is recognised by its page frame
 * when /proc/self/pagemap shows frames (root). uptr must be mapped: -EFAULT otherwise. */
static int user_page_is(uint64_t uptr, uint64_t page)
{
	uint64_t ent[2], va[2] = { ALIGN_DOWN(uptr, PAGE_SIZE_REF), ALIGN_DOWN(page, PAGE_SIZE_REF) };
	char byte;
	int fd;

	/* get_user_pages_fast(): the page must exist (fault it in) */
	if (ref_copy_from_user(&byte, uptr, 1))
		return -EFAULT;
	if (va[0] == va[1])
		return 1;
	fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	for (int i = 0; i != 2; i++) {
		if (syscall(SYS_pread64, fd, &ent[i], sizeof(ent[i]),
			    (off_t)(va[i] / PAGE_SIZE_REF * sizeof(uint64_t))) != sizeof(ent[i]))
			ent[i] = 0;
	}
	syscall(SYS_close, fd);
	/* bit 63 present, bits 0..54 the frame (0 when hidden from unprivileged readers) */
	ent[0] &= (1ULL << 63) | ((1ULL << 55) - 1);
	ent[1] &= (1ULL << 63) | ((1ULL << 55) - 1);
	return (ent[0] >> 63) && (ent[0] & ((1ULL << 55) - 1)) && ent[0] == ent[1];
}

static int test_access_pages(struct ref_ucmd *ucmd, uint32_t access_fd, uint64_t iova,
			     uint64_t length, uint64_t uptr, uint32_t flags)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;
	struct selftest_access_item *item;
	struct selftest_access *sa;
	uint64_t npages, end;
	void **pages = NULL;
	int rc;

	if (length > SELFTEST_RW_MAX)
		return -ENOMEM;
	if (flags & ~(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	sa = staccess_get(access_fd, &rc);
	if (!sa)
		return rc;
	if (!ref_access_needs_pin_pages(sa->access)) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}
	if (flags & MOCK_FLAGS_ACCESS_SYZ)
		ref_access_syz_conv_iova(sa->access, &iova);

	/* One slot per CPU page of the span (length 0 and overflow are the pin's to refuse). */
	end = iova + length;
	npages = end >= iova ? (ALIGN_UP(end, PAGE_SIZE_REF) - ALIGN_DOWN(iova, PAGE_SIZE_REF)) /
				       PAGE_SIZE_REF : 1;
	pages = ioasid_zalloc(MAX(npages, 1) * sizeof(*pages));
	if (!pages) {
		rc = -ENOMEM;
		goto out_put;
	}

	pthread_mutex_lock(&sa->lock);
	rc = ref_access_pin_pages(sa->access, iova, length, pages,
				  (flags & MOCK_FLAGS_ACCESS_WRITE) ? REF_ACCESS_RW_WRITE : 0);
	if (rc)
		goto out_unlock;
	/* For syzkaller a NULL uptr skips the comparison. */
	if (uptr) {
		uint64_t ubase = uptr - (iova - ALIGN_DOWN(iova, PAGE_SIZE_REF));

		for (uint64_t i = 0; i != npages; i++) {
			rc = user_page_is(ubase + i * PAGE_SIZE_REF, (uint64_t)(uintptr_t)pages[i]);
			if (rc < 0)
				goto out_unpin;
			if (!rc) {
				rc = -EBADE;
				goto out_unpin;
			}
		}
		rc = 0;
	}
	item = ioasid_zalloc(sizeof(*item));
	if (!item) {
		rc = -ENOMEM;
		goto out_unpin;
	}
	item->iova = iova;
	item->length = length;
	item->id = sa->next_id++;
	cmd->access_pages.out_access_pages_id = item->id;
	rc = ref_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		ioasid_free(item);
		goto out_unpin;
	}
	item->next = sa->items;
	sa->items = item;
	goto out_unlock;

out_unpin:
	ref_access_unpin_pages(sa->access, iova, length);
out_unlock:
	pthread_mutex_unlock(&sa->lock);
	ioasid_free(pages);
out_put:
	staccess_put(sa);
	return rc;
}

static int test_access_rw(struct ref_ucmd *ucmd, uint32_t access_fd, uint64_t iova,
			  uint64_t length, uint64_t uptr, uint32_t flags)
{
	struct selftest_access *sa;
	void *tmp;
	int rc;

	if (length > SELFTEST_RW_MAX)
		return -ENOMEM;
	if (flags & ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	sa = staccess_get(access_fd, &rc);
	if (!sa)
		return rc;
	tmp = ioasid_zalloc(MAX(length, 1));
	if (!tmp) {
		rc = -ENOMEM;
		goto out_put;
	}
	if (flags & MOCK_ACCESS_RW_WRITE) {
		rc = ref_copy_from_user(tmp, uptr, length);
		if (rc)
			goto out_free;
	}
	if (flags & MOCK_FLAGS_ACCESS_SYZ)
		ref_access_syz_conv_iova(sa->access, &iova);
	/* The slow path (pin, kmap, copy) and the fast one (copy_to/from_user into the mm of the
	 * mapping) have the same result in one address space: both are one CPU copy here. */
	rc = ref_access_rw(sa->access, iova, tmp, length,
			   (flags & MOCK_ACCESS_RW_WRITE) ? REF_ACCESS_RW_WRITE : 0);
	if (rc)
		goto out_free;
	if (!(flags & MOCK_ACCESS_RW_WRITE))
		rc = ref_copy_to_user(uptr, tmp, length);
out_free:
	ioasid_free(tmp);
out_put:
	staccess_put(sa);
	return rc;
}

static int test_access_replace_ioas(uint32_t access_fd, uint32_t ioas_id)
{
	struct selftest_access *sa;
	int rc;

	sa = staccess_get(access_fd, &rc);
	if (!sa)
		return rc;
	rc = ref_access_replace(sa->access, ioas_id);
	staccess_put(sa);
	return rc;
}

/* ---- IOAS and page checks -------------------------------------------------------------------- */

static int test_add_reserved(struct ioasid_ctx *ctx, uint32_t ioas_id, uint64_t start,
			     uint64_t length)
{
	struct ref_ioas *ioas;
	uint64_t last;
	int rc;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(start, length - 1, &last))
		return -EOVERFLOW;
	ioas = ref_get_ioas(ctx, ioas_id, &rc);
	if (!ioas)
		return rc;
	rc = iopt_reserve_iova(&ioas->iopt, start, last, NULL);
	ref_put_object(ctx, &ioas->obj);
	return rc;
}

static int test_md_check_refs(uint64_t uptr, uint64_t length, uint32_t refs)
{
	enum { CHUNK = 1024 };
	uint32_t pins[CHUNK];
	uint64_t end;

	if (length % PAGE_SIZE_REF || uptr % PAGE_SIZE_REF || check_add_overflow(uptr, length, &end))
		return -EINVAL;
	while (uptr < end) {
		uint64_t n = MIN((end - uptr) / PAGE_SIZE_REF, (uint64_t)CHUNK);
		int rc;

		/* get_user_pages_fast(): every page must exist (faulted in if needed) */
		for (uint64_t i = 0; i != n; i++) {
			char byte;

			if (ref_copy_from_user(&byte, uptr + i * PAGE_SIZE_REF, 1))
				return -EFAULT;
		}
		rc = iopt_count_user_pins(uptr, n, pins);
		if (rc)
			return rc;
		for (uint64_t i = 0; i != n; i++)
			if (pins[i] != refs)
				return -EIO;
		uptr += n * PAGE_SIZE_REF;
	}
	return 0;
}

/* A paging HWPT of the selftest mock IOMMU: ENOENT (no such paging HWPT), EINVAL (another
 * IOMMU's). Holds the object; release with ref_hwpt_put. */
static int get_md_pagetable(struct ioasid_ctx *ctx, uint32_t id, struct ref_object **obj,
			    struct mock_domain **dom)
{
	int rc = ref_hwpt_get_domain(ctx, id, obj, dom);

	if (rc)
		return rc;
	if ((*obj)->type != REF_OBJ_HWPT_PAGING) {
		ref_hwpt_put(ctx, *obj);
		return -ENOENT;
	}
	if (container_of(*obj, struct ref_hwpt, obj)->iommu->key != REF_HW_SELFTEST || !*dom) {
		ref_hwpt_put(ctx, *obj);
		return -EINVAL;
	}
	return 0;
}

static int test_md_check_map(struct ioasid_ctx *ctx, uint32_t hwpt_id, uint64_t iova,
			     uint64_t length, uint64_t uptr)
{
	struct ref_object *obj;
	struct mock_domain *dom;
	uint64_t end;
	int rc;

	if (iova % MOCK_PAGE_SIZE || length % MOCK_PAGE_SIZE || uptr % MOCK_PAGE_SIZE ||
	    check_add_overflow(uptr, length, &end))
		return -EINVAL;
	rc = get_md_pagetable(ctx, hwpt_id, &obj, &dom);
	if (rc)
		return rc;
	for (; length; length -= MOCK_PAGE_SIZE, iova += MOCK_PAGE_SIZE, uptr += MOCK_PAGE_SIZE) {
		uint64_t paddr;
		char byte;

		/* the user page first (get_user_pages_fast), then the IO page table */
		if (ref_copy_from_user(&byte, uptr, 1)) {
			rc = -EFAULT;
			break;
		}
		if (mock_domain_iova_to_phys(dom, iova, &paddr, NULL, NULL)) {
			rc = -EINVAL;
			break;
		}
		rc = user_page_is(uptr, paddr);
		if (rc < 0)
			break;
		if (!rc || paddr % PAGE_SIZE_REF != uptr % PAGE_SIZE_REF) {
			rc = -EINVAL;
			break;
		}
		rc = 0;
	}
	ref_hwpt_put(ctx, obj);
	return rc;
}

/* ---- mock devices ------------------------------------------------------------------------------ */

static int test_mock_domain(struct ref_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct ref_mock_dev_info info = { 0 };
	struct selftest_obj *sobj;
	struct ref_object *obj;
	uint32_t pt_id = cmd->id, dev_flags = 0, idev_id;
	int rc;

	obj = ref_object_alloc(ucmd->ctx, sizeof(*sobj), REF_OBJ_SELFTEST);
	if (!obj)
		return -ENOMEM;
	sobj = container_of(obj, struct selftest_obj, obj);
	if (cmd->op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS)
		dev_flags = cmd->mock_domain_flags.dev_flags;
	if (dev_flags & ~(MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_HUGE_IOVA |
			  MOCK_FLAGS_DEVICE_PASID)) {
		rc = -EINVAL;
		goto out_abort;
	}
	info.no_dirty = !!(dev_flags & MOCK_FLAGS_DEVICE_NO_DIRTY);
	info.huge_iova = !!(dev_flags & MOCK_FLAGS_DEVICE_HUGE_IOVA);
	info.pasid_bits = (dev_flags & MOCK_FLAGS_DEVICE_PASID) ? MOCK_PASID_WIDTH : 0;
	rc = ref_device_bind_selftest(ucmd->ctx, &info, &sobj->idev, &idev_id);
	if (rc)
		goto out_abort;
	rc = ref_device_attach(sobj->idev, REF_NO_PASID, &pt_id);
	if (rc)
		goto out_unbind;
	/* The stdev ID is what user space destroys to undo all of it. */
	cmd->mock_domain.out_stdev_id = obj->id;
	cmd->mock_domain.out_hwpt_id = pt_id;
	cmd->mock_domain.out_idev_id = idev_id;
	rc = ref_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_unbind; /* unbind detaches */
	ref_object_finalize(ucmd->ctx, obj);
	return 0;

out_unbind:
	ref_device_unbind(sobj->idev);
	sobj->idev = NULL;
out_abort:
	ref_object_abort(ucmd->ctx, obj);
	return rc;
}

static int test_mock_domain_replace(struct ref_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	uint32_t pt_id = cmd->mock_domain_replace.pt_id;
	struct selftest_obj *sobj;
	int rc;

	sobj = get_stdev(ucmd->ctx, cmd->id, &rc);
	if (!sobj)
		return rc;
	rc = ref_device_replace(sobj->idev, REF_NO_PASID, &pt_id);
	if (!rc) {
		cmd->mock_domain_replace.pt_id = pt_id;
		rc = ref_ucmd_respond(ucmd, sizeof(*cmd));
	}
	ref_put_object(ucmd->ctx, &sobj->obj);
	return rc;
}

static int test_dirty(struct ref_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	uint64_t iova = cmd->dirty.iova, length = cmd->dirty.length;
	uint64_t page_size = cmd->dirty.page_size, uptr = cmd->dirty.uptr, max, count = 0;
	struct io_pagetable *iopt;
	struct ref_object *obj;
	struct mock_domain *dom;
	uint8_t *bitmap;
	int rc;

	if (!page_size || !length || iova % page_size || length % page_size || !uptr)
		return -EINVAL;
	max = length / page_size;
	if (max > 16ULL * 1024 * 1024 * 8)
		return -EOVERFLOW;
	rc = get_md_pagetable(ucmd->ctx, cmd->id, &obj, &dom);
	if (rc)
		return rc;
	if (!mock_domain_dirty_tracking(dom)) {
		rc = -EINVAL;
		goto out_put;
	}
	bitmap = ioasid_zalloc((max + 7) / 8);
	if (!bitmap) {
		rc = -ENOMEM;
		goto out_put;
	}
	rc = ref_copy_from_user(bitmap, uptr, (max + 7) / 8);
	if (rc)
		goto out_free;
	/* Each set bit marks the IO page at that IOVA dirty, if something is mapped there. PTE
	 * updates are serialised with maps and unmaps by the IOAS's io_pagetable lock. */
	iopt = &container_of(obj, struct ref_hwpt_paging, common.obj)->ioas->iopt;
	pthread_mutex_lock(&iopt->lock);
	for (uint64_t i = 0; i < max; i++) {
		if (!(bitmap[i / 8] & (1u << (i % 8))))
			continue;
		if (mock_domain_set_dirty(dom, iova + i * page_size) == 0)
			count++;
	}
	pthread_mutex_unlock(&iopt->lock);
	cmd->dirty.out_nr_dirty = count;
	rc = ref_ucmd_respond(ucmd, sizeof(*cmd));
out_free:
	ioasid_free(bitmap);
out_put:
	ref_hwpt_put(ucmd->ctx, obj);
	return rc;
}

static int test_md_check_iotlb(struct ioasid_ctx *ctx, struct iommu_test_cmd *cmd)
{
	uint32_t value = 0;
	int rc;

	rc = ref_hwpt_selftest_iotlb(ctx, cmd->id, cmd->check_iotlb.id, &value);
	if (rc)
		return rc;
	return value == cmd->check_iotlb.iotlb ? 0 : -EINVAL;
}

static int test_trigger_iopf(struct ioasid_ctx *ctx, struct iommu_test_cmd *cmd)
{
	uint32_t pasid = cmd->trigger_iopf.pasid;
	struct ref_device *idev;
	int rc;

	idev = ref_get_device(ctx, cmd->trigger_iopf.dev_id, &rc);
	if (!idev)
		return rc;
	/* struct ref_device embeds its ref_object first, as every object does */
	if (ref_device_hw(idev)->key != REF_HW_SELFTEST) {
		rc = -EINVAL;
		goto out_put;
	}
	/* The mock driver has a user-managed PASID table: a request for a PASID with nothing
	 * attached there goes to a nested domain on the RID (iommu_report_device_fault). The
	 * report's own outcome is not the caller's: delivered or dropped, the op succeeds. */
	rc = ref_device_trigger_iopf(idev, pasid, cmd->trigger_iopf.grpid,
				     cmd->trigger_iopf.perm, cmd->trigger_iopf.addr);
	if (rc == -EINVAL && pasid != REF_NO_PASID && !ref_device_attached_hwpt(idev, pasid)) {
		uint32_t rid_hwpt = ref_device_attached_hwpt(idev, REF_NO_PASID);
		struct ref_object *hwpt = rid_hwpt ? ref_get_object(ctx, rid_hwpt,
								    REF_OBJ_HWPT_NESTED, &rc) : NULL;

		if (hwpt) {
			ref_device_trigger_iopf(idev, REF_NO_PASID, cmd->trigger_iopf.grpid,
						cmd->trigger_iopf.perm, cmd->trigger_iopf.addr);
			ref_put_object(ctx, hwpt);
		}
	}
	rc = 0;
out_put:
	ref_device_put(idev);
	return rc;
}

static int test_pasid_op(struct ioasid_ctx *ctx, struct iommu_test_cmd *cmd)
{
	struct selftest_obj *sobj;
	uint32_t pt_id;
	int rc = 0;   /* lookups set it only when they fail: CHECK_HWPT relies on the 0 */

	sobj = get_stdev(ctx, cmd->id, &rc);
	if (!sobj)
		return rc;
	switch (cmd->op) {
	case IOMMU_TEST_OP_PASID_ATTACH:
		pt_id = cmd->pasid_attach.pt_id;
		rc = ref_device_attach(sobj->idev, cmd->pasid_attach.pasid, &pt_id);
		break;
	case IOMMU_TEST_OP_PASID_REPLACE:
		pt_id = cmd->pasid_replace.pt_id;
		rc = ref_device_replace(sobj->idev, cmd->pasid_replace.pasid, &pt_id);
		break;
	case IOMMU_TEST_OP_PASID_DETACH:
		ref_device_detach(sobj->idev, cmd->pasid_detach.pasid);
		rc = 0;
		break;
	default: { /* IOMMU_TEST_OP_PASID_CHECK_HWPT: what is attached there, 0 for nothing */
		uint32_t attached = ref_device_attached_hwpt(sobj->idev, cmd->pasid_check.pasid);

		if (cmd->pasid_check.hwpt_id) {
			struct ref_object *hwpt = ref_get_object(ctx, cmd->pasid_check.hwpt_id,
								 REF_OBJ_ANY, &rc);

			if (!hwpt)
				break;
			if (hwpt->type != REF_OBJ_HWPT_PAGING && hwpt->type != REF_OBJ_HWPT_NESTED)
				rc = -EINVAL;
			ref_put_object(ctx, hwpt);
			if (rc)
				break;
		}
		rc = attached == cmd->pasid_check.hwpt_id ? 0 : -EINVAL;
		break;
	}
	}
	ref_put_object(ctx, &sobj->obj);
	return rc;
}

/* ---- dispatch ------------------------------------------------------------------------------------ */

int ref_selftest_ioctl(struct ioasid_ctx *ctx, void *arg)
{
	struct iommu_test_cmd buf, *cmd = &buf;
	struct ref_ucmd ucmd;
	int rc;

	rc = ref_ucmd_init(&ucmd, ctx, arg, &buf, sizeof(buf), IOMMU_TEST_CMD_MIN_SIZE);
	if (rc)
		return rc;
	switch (cmd->op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return test_add_reserved(ctx, cmd->id, cmd->add_reserved.start,
					 cmd->add_reserved.length);
	case IOMMU_TEST_OP_MOCK_DOMAIN:
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return test_mock_domain(&ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return test_mock_domain_replace(&ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return test_md_check_map(ctx, cmd->id, cmd->check_map.iova, cmd->check_map.length,
					 cmd->check_map.uptr);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return test_md_check_refs(cmd->check_refs.uptr, cmd->check_refs.length,
					  cmd->check_refs.refs);
	case IOMMU_TEST_OP_MD_CHECK_IOTLB:
		return test_md_check_iotlb(ctx, cmd);
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return test_create_access(&ucmd, cmd->id, cmd->create_access.flags);
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return test_access_replace_ioas(cmd->id, cmd->access_replace_ioas.ioas_id);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return test_access_pages(&ucmd, cmd->id, cmd->access_pages.iova,
					 cmd->access_pages.length, cmd->access_pages.uptr,
					 cmd->access_pages.flags);
	case IOMMU_TEST_OP_ACCESS_RW:
		return test_access_rw(&ucmd, cmd->id, cmd->access_rw.iova, cmd->access_rw.length,
				      cmd->access_rw.uptr, cmd->access_rw.flags);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return test_access_item_destroy(cmd->id, cmd->destroy_access_pages.access_pages_id);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		/* the kernel's batch needs room for one element */
		if (cmd->memory_limit.limit < sizeof(unsigned long) + sizeof(uint32_t))
			return -EINVAL;
		__atomic_store_n(&selftest_memory_limit, cmd->memory_limit.limit, __ATOMIC_RELAXED);
		return 0;
	case IOMMU_TEST_OP_DIRTY:
		return test_dirty(&ucmd, cmd);
	case IOMMU_TEST_OP_TRIGGER_IOPF:
		return test_trigger_iopf(ctx, cmd);
	case IOMMU_TEST_OP_PASID_ATTACH:
	case IOMMU_TEST_OP_PASID_REPLACE:
	case IOMMU_TEST_OP_PASID_DETACH:
	case IOMMU_TEST_OP_PASID_CHECK_HWPT:
		return test_pasid_op(ctx, cmd);
	default: /* DEV_CHECK_CACHE, TRIGGER_VEVENT, DMABUF_*: not implemented; unknown ops */
		return -EOPNOTSUPP;
	}
}

/* Context teardown: nothing is kept per context. Access fds hold their context (the access
 * does), so none of this context's can be left; stdev objects go with the object table. */
void ref_selftest_release(struct ioasid_ctx *ctx)
{
	(void)ctx;
}
