/* access.c — access objects: software users of an IOAS (emulated devices, mdev-style drivers),
 * the kernel's iommufd_access (drivers/iommu/iommufd/device.c). An access has no IOMMU
 * translation of its own: it pins IOVA ranges to reach the memory behind them
 * (ref_access_pin_pages) or copies through them (ref_access_rw). API: src/reference/device.h.
 *
 * Lifetime: an access is an object of type REF_OBJ_ACCESS with one extra user held by its
 * driver from create to ref_access_destroy (IOMMU_DESTROY of its ID gives EBUSY meanwhile), and
 * it holds its context (ioasid_ctx_get) until destroyed. While attached it holds its IOAS as a
 * user (IOMMU_DESTROY of the IOAS gives EBUSY) and a hook in the IOAS's io_pagetable through
 * which unmaps ask it to unpin (ops->unmap; an unmap fails with EBUSY if it does not).
 *
 * Changing the IOAS (attach / replace / detach) follows the kernel's iommufd_access_change_ioas:
 * `ioas` goes NULL first (new pins fail with ENOENT) while `ioas_unpin` still names the old IOAS
 * so that the owner's unpins, prompted by ops->unmap(0, ULONG_MAX), land there; the old hook is
 * removed only after that; a second change racing with the first finds ioas != ioas_unpin and
 * gives EBUSY. Two hook slots let the new IOAS be joined before the old one is left.
 *
 * Locking: ioas_lock guards ioas/ioas_unpin/cur_hook and is held across pins, unpins and copies
 * (so an IOAS change waits for them). It is dropped around ops->unmap and around leaving the old
 * io_pagetable, because an unmap notification in flight calls ops->unmap, whose unpins take it.
 * Order: ioas_lock, then iopt->lock, then pages->lock; ctx->lock nests inside all of them.
 */
#include "reference/ref_private.h"
#include "reference/device.h"
#include "reference/selftest_abi.h"

#include <string.h>

struct access_hook {
	struct iopt_access_hook hook;
	struct ref_access *access;
};

struct ref_access {
	struct ref_object obj;          /* REF_OBJ_ACCESS */
	struct ioasid_ctx *ctx;
	const struct ref_access_ops *ops;
	void *data;
	pthread_mutex_t ioas_lock;
	struct ref_ioas *ioas;          /* pins and copies go here; NULL while detached/changing */
	struct ref_ioas *ioas_unpin;    /* unpins go here */
	struct access_hook hooks[2];
	struct access_hook *cur_hook;   /* the one linked into ioas_unpin's io_pagetable */
};

static void access_notify_unmap(struct iopt_access_hook *hook, uint64_t iova, uint64_t length)
{
	struct ref_access *access = container_of(hook, struct access_hook, hook)->access;

	if (access->ops->unmap) /* a user that never pins has nothing to give back */
		access->ops->unmap(access->data, iova, length);
}

int ref_access_create(struct ioasid_ctx *ctx, const struct ref_access_ops *ops, void *data,
		      struct ref_access **out, uint32_t *out_id)
{
	struct ref_access *access;
	struct ref_object *obj;

	obj = ref_object_alloc(ctx, sizeof(*access), REF_OBJ_ACCESS);
	if (!obj)
		return -ENOMEM;
	access = container_of(obj, struct ref_access, obj);
	access->ctx = ctx;
	access->ops = ops;
	access->data = data;
	pthread_mutex_init(&access->ioas_lock, NULL);
	for (int i = 0; i != 2; i++) {
		access->hooks[i].access = access;
		/* A pinning user needs whole CPU pages behind every IOVA it may pin. */
		access->hooks[i].hook.iova_alignment = ops->needs_pin_pages ? PAGE_SIZE_REF : 1;
		access->hooks[i].hook.notify_unmap = access_notify_unmap;
	}
	/* The driver is a user until ref_access_destroy(); the access keeps the context alive. */
	ref_object_hold(ctx, obj);
	ioasid_ctx_get(ctx);
	ref_object_finalize(ctx, obj);
	*out = access;
	*out_id = obj->id;
	return 0;
}

/* Move the access to new_ioas (NULL: detach). ioas_lock held; dropped and retaken inside. */
static int access_change_ioas(struct ref_access *access, struct ref_ioas *new_ioas)
{
	struct ref_ioas *cur = access->ioas;
	struct access_hook *old_hook = access->cur_hook, *new_hook = NULL;
	int rc;

	/* Another change is between its two halves (it left ioas NULL): bail, as the kernel does. */
	if (cur != access->ioas_unpin)
		return -EBUSY;
	if (cur == new_ioas)
		return 0;

	access->ioas = NULL; /* no new pins from here on; unpins still reach ioas_unpin */
	if (new_ioas) {
		new_hook = old_hook == &access->hooks[0] ? &access->hooks[1] : &access->hooks[0];
		rc = iopt_add_access(&new_ioas->iopt, &new_hook->hook);
		if (rc) {
			access->ioas = cur;
			return rc;
		}
		ref_object_hold(access->ctx, &new_ioas->obj);
	}
	if (cur) {
		pthread_mutex_unlock(&access->ioas_lock);
		if (access->ops->unmap)
			access->ops->unmap(access->data, 0, UINT64_MAX);
		iopt_remove_access(&cur->iopt, &old_hook->hook); /* waits for notifications */
		pthread_mutex_lock(&access->ioas_lock);
		ref_object_release(access->ctx, &cur->obj);
	}
	access->ioas = new_ioas;
	access->ioas_unpin = new_ioas;
	access->cur_hook = new_hook;
	return 0;
}

static int access_change_ioas_id(struct ref_access *access, uint32_t ioas_id)
{
	struct ref_ioas *ioas;
	int rc;

	ioas = ref_get_ioas(access->ctx, ioas_id, &rc);
	if (!ioas)
		return rc;
	rc = access_change_ioas(access, ioas);
	ref_put_object(access->ctx, &ioas->obj);
	return rc;
}

/* REF_OBJ_ACCESS destroy: runs once the driver's ref_access_destroy() removed the object. */
void ref_access_destroy_obj(struct ref_object *obj)
{
	struct ref_access *access = container_of(obj, struct ref_access, obj);

	pthread_mutex_lock(&access->ioas_lock);
	if (access->ioas)
		access_change_ioas(access, NULL);
	pthread_mutex_unlock(&access->ioas_lock);
	pthread_mutex_destroy(&access->ioas_lock);
}

void ref_access_destroy(struct ref_access *access)
{
	struct ioasid_ctx *ctx = access->ctx;

	ref_object_destroy_user(ctx, &access->obj); /* frees access */
	ioasid_ctx_put(ctx);
}

int ref_access_attach(struct ref_access *access, uint32_t ioas_id)
{
	int rc;

	pthread_mutex_lock(&access->ioas_lock);
	if (access->ioas) /* a driver bug; the kernel WARNs */
		rc = -EINVAL;
	else
		rc = access_change_ioas_id(access, ioas_id);
	pthread_mutex_unlock(&access->ioas_lock);
	return rc;
}

int ref_access_replace(struct ref_access *access, uint32_t ioas_id)
{
	int rc;

	pthread_mutex_lock(&access->ioas_lock);
	if (!access->ioas)
		rc = -ENOENT;
	else
		rc = access_change_ioas_id(access, ioas_id);
	pthread_mutex_unlock(&access->ioas_lock);
	return rc;
}

void ref_access_detach(struct ref_access *access)
{
	pthread_mutex_lock(&access->ioas_lock);
	if (access->ioas)
		access_change_ioas(access, NULL);
	pthread_mutex_unlock(&access->ioas_lock);
}

int ref_access_pin_pages(struct ref_access *access, uint64_t iova, uint64_t length,
			 void **out_pages, unsigned int flags)
{
	uint64_t last;
	int rc;

	/* Pinning is for users that can be told to unpin, with page-aligned IOVA. */
	if (!access->ops->needs_pin_pages || !access->ops->unmap)
		return -EINVAL;
	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	pthread_mutex_lock(&access->ioas_lock);
	if (!access->ioas)
		rc = -ENOENT;
	else
		rc = iopt_access_pin(&access->ioas->iopt, iova, length, out_pages,
				     (flags & REF_ACCESS_RW_WRITE) ? IOPT_ACCESS_WRITE : 0);
	pthread_mutex_unlock(&access->ioas_lock);
	return rc;
}

void ref_access_unpin_pages(struct ref_access *access, uint64_t iova, uint64_t length)
{
	pthread_mutex_lock(&access->ioas_lock);
	/* Unpins are valid between the two halves of an IOAS change: they go to ioas_unpin. */
	if (access->ioas_unpin)
		iopt_access_unpin(&access->ioas_unpin->iopt, iova, length);
	pthread_mutex_unlock(&access->ioas_lock);
}

int ref_access_rw(struct ref_access *access, uint64_t iova, void *data, size_t len,
		  unsigned int flags)
{
	uint64_t last;
	int rc;

	if (!len)
		return -EINVAL;
	if (check_add_overflow(iova, (uint64_t)len - 1, &last))
		return -EOVERFLOW;
	pthread_mutex_lock(&access->ioas_lock);
	if (!access->ioas)
		rc = -ENOENT;
	else
		rc = iopt_access_rw(&access->ioas->iopt, iova, data, len,
				    (flags & REF_ACCESS_RW_WRITE) ? IOPT_ACCESS_WRITE : 0);
	pthread_mutex_unlock(&access->ioas_lock);
	return rc;
}

void ref_access_syz_conv_iova(struct ref_access *access, uint64_t *iova)
{
	uint32_t nth = (uint32_t)*iova, offset = (uint32_t)(*iova >> 32);
	struct io_pagetable *iopt;
	struct itree_node *n;

	pthread_mutex_lock(&access->ioas_lock);
	if (!access->ioas) {
		*iova = 0;
		goto out_unlock;
	}
	iopt = &access->ioas->iopt;
	pthread_mutex_lock(&iopt->lock);
	for (n = itree_first(&iopt->area_itree); n && nth; n = itree_next(n))
		nth--;
	*iova = n ? n->start + offset : 0;
	pthread_mutex_unlock(&iopt->lock);
out_unlock:
	pthread_mutex_unlock(&access->ioas_lock);
}

bool ref_access_needs_pin_pages(const struct ref_access *access)
{
	return access->ops->needs_pin_pages;
}
