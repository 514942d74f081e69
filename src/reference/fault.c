/* fault.c — IO page fault queues: IOMMU_FAULT_QUEUE_ALLOC, the fault fd, and page requests
 * raised by the mock hardware (drivers/iommu/iommufd/fault.c in the kernel).
 *
 * A HWPT allocated with IOMMU_HWPT_FAULT_ID_VALID sends translation faults of its domain here
 * instead of failing the DMA: the request (one page, LAST_PAGE) is queued, the fd turns readable,
 * and the device waits (the DMA returns -EAGAIN). User space read()s struct iommu_hwpt_pgfault
 * records (the read length must be a multiple of the record size: EINVAL otherwise; only whole
 * groups are returned; nothing pending → 0), fixes the mapping and write()s
 * struct iommu_hwpt_page_response {cookie, code} (a multiple of its size; an unknown cookie →
 * EINVAL). The device then retries.
 *
 * The fd holds a reference on the fault object and on the context (IOMMU_DESTROY of the fault
 * object gives EBUSY while the fd is open, as in the kernel). Locking: fault->lock.
 *
 * Events: FAULT for every request raised to the queue (result -ENOMEM when it could not be
 * queued), FAULT_RESPONSE for every response that answers one. A request keeps who raised it
 * (the device's event identity) so that its response names the device too. Requests still
 * outstanding when the queue is destroyed are dropped without an event.
 */
#include "reference/ref_private.h"
#include "reference/device.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct fault_req {
	struct fault_req *next;
	struct iommu_hwpt_pgfault rec;
	uint32_t event_dev;               /* who raised it, in events (the device may go first) */
	char name[IOASID_EVENT_NAME_LEN];
};

struct ref_fault {
	struct ref_object obj;            /* first: the HWPT holds it as a ref_object */
	struct ioasid_ctx *ctx;
	pthread_mutex_t lock;
	struct fault_req *pending, **pending_tail;   /* not yet read */
	struct fault_req *responding;                /* read, awaiting a response */
	uint32_t next_cookie;
	int fd;
	bool published;                   /* the fd holds its references */
	uint64_t raised, responded;
};

static void req_free_list(struct fault_req *r)
{
	while (r) {
		struct fault_req *n = r->next;

		ioasid_free(r);
		r = n;
	}
}

void ref_fault_destroy(struct ref_object *obj)
{
	struct ref_fault *f = container_of(obj, struct ref_fault, obj);

	/* Outstanding requests are answered as failures: the device stops waiting. */
	req_free_list(f->pending);
	req_free_list(f->responding);
	pthread_mutex_destroy(&f->lock);
}

struct ref_fault *ref_get_fault(struct ioasid_ctx *ctx, uint32_t id, int *err)
{
	struct ref_object *o = ref_get_object(ctx, id, REF_OBJ_FAULT, err);

	return o ? container_of(o, struct ref_fault, obj) : NULL;
}

int ref_fault_inject(struct ref_fault *f, struct ref_device *idev, struct ref_hwpt *hwpt,
		     uint32_t pasid, uint32_t grpid, uint32_t perm, uint64_t addr,
		     unsigned int reason)
{
	struct fault_req *r = ioasid_zalloc(sizeof(*r));

#define FAULT_EVENT(rc_)                                                                       \
	IOASID_PROBE_NAMED(fault, ref_device_name(idev), .ctx = f->ctx->cookie,               \
			   .obj = f->obj.id, .dev = ref_device_event_dev(idev),               \
			   .pt = hwpt->obj.id, .pasid = pasid, .iova = addr, .aux = reason,   \
			   .value = grpid, .iommu = ref_hw_event_id(hwpt->iommu),             \
			   .domain = mock_domain_id(ref_hwpt_hw_domain(hwpt)),                \
			   .result = (rc_), .flags = (rc_) ? IOASID_EVF_REFUSED : 0)
	if (!r) {
		FAULT_EVENT(-ENOMEM);
		return -ENOMEM;
	}
	r->event_dev = ref_device_event_dev(idev);
	snprintf(r->name, sizeof(r->name), "%s", ref_device_name(idev));
	r->rec.flags = IOMMU_PGFAULT_FLAGS_LAST_PAGE | (pasid ? IOMMU_PGFAULT_FLAGS_PASID_VALID : 0);
	r->rec.dev_id = ref_device_id(idev);
	r->rec.pasid = pasid;
	r->rec.grpid = grpid;
	r->rec.perm = perm;
	r->rec.addr = addr;
	r->rec.length = 4096;
	pthread_mutex_lock(&f->lock);
	r->rec.cookie = ++f->next_cookie;
	*f->pending_tail = r;
	f->pending_tail = &r->next;
	f->raised++;
	pthread_mutex_unlock(&f->lock);
	FAULT_EVENT(0);
#undef FAULT_EVENT
	ref_anon_fd_set_ready(f->fd, true);
	return 0;
}

/* A translation fault from the mock hardware becomes a one-page request (grpid: a 9-bit PRG
 * index, as in PCIe PRI). */
int ref_fault_report(struct ref_fault *f, struct ref_device *idev, struct ref_hwpt *hwpt,
		     const struct mock_fault *mf)
{
	return ref_fault_inject(f, idev, hwpt, mf->pasid, f->next_cookie & 0x1ff,
				mf->dir == MOCK_DMA_WRITE ? IOMMU_PGFAULT_PERM_WRITE :
							    IOMMU_PGFAULT_PERM_READ,
				mf->iova & ~0xfffULL, mf->reason);
}

static long fault_read(void *priv, void *buf, size_t len)
{
	struct ref_fault *f = priv;
	const size_t sz = sizeof(struct iommu_hwpt_pgfault);
	size_t done = 0;
	int rc = 0;

	if (len % sz)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	while (f->pending && done + sz <= len) {
		struct fault_req *r = f->pending;

		rc = ref_copy_to_user((uint64_t)(uintptr_t)buf + done, &r->rec, sz);
		if (rc)
			break;
		f->pending = r->next;
		if (!f->pending)
			f->pending_tail = &f->pending;
		r->next = f->responding;
		f->responding = r;
		done += sz;
	}
	if (!f->pending)
		ref_anon_fd_set_ready(f->fd, false);
	pthread_mutex_unlock(&f->lock);
	return done ? (long)done : rc;
}

static long fault_write(void *priv, const void *buf, size_t len)
{
	struct ref_fault *f = priv;
	const size_t sz = sizeof(struct iommu_hwpt_page_response);
	size_t done = 0;
	int rc = 0;

	if (len % sz)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	while (done < len) {
		struct iommu_hwpt_page_response resp;
		struct fault_req **pp;

		rc = ref_copy_from_user(&resp, (uint64_t)(uintptr_t)buf + done, sz);
		if (rc)
			break;
		for (pp = &f->responding; *pp; pp = &(*pp)->next)
			if ((*pp)->rec.cookie == resp.cookie)
				break;
		if (!*pp) {
			rc = -EINVAL;
			break;
		}
		{
			struct fault_req *r = *pp;

			IOASID_PROBE_NAMED(fault_response, r->name, .ctx = f->ctx->cookie,
					   .obj = f->obj.id, .dev = r->event_dev,
					   .pasid = r->rec.pasid, .aux = resp.code,
					   .value = r->rec.grpid);
			*pp = r->next;
			ioasid_free(r);
		}
		f->responded++;
		done += sz;
	}
	pthread_mutex_unlock(&f->lock);
	return done ? (long)done : rc;
}

static void fault_release(void *priv)
{
	struct ref_fault *f = priv;
	struct ioasid_ctx *ctx = f->ctx;

	if (!f->published)
		return;
	ref_object_release(ctx, &f->obj);
	ioasid_ctx_put(ctx);
}

static const struct ref_anon_fd_ops fault_fd_ops = {
	.name = "iommufd-pgfault",
	.read = fault_read,
	.write = fault_write,
	.release = fault_release,
};

int ref_fault_alloc(struct ref_ucmd *ucmd)
{
	struct iommu_fault_alloc *cmd = ucmd->cmd;
	struct ioasid_ctx *ctx = ucmd->ctx;
	struct ref_object *obj;
	struct ref_fault *f;
	int rc, fd;

	if (cmd->flags)
		return -EOPNOTSUPP;
	obj = ref_object_alloc(ctx, sizeof(*f), REF_OBJ_FAULT);
	if (!obj)
		return -ENOMEM;
	f = container_of(obj, struct ref_fault, obj);
	f->ctx = ctx;
	pthread_mutex_init(&f->lock, NULL);
	f->pending_tail = &f->pending;
	f->fd = -1;
	fd = ref_anon_fd_create(&fault_fd_ops, f);
	if (fd < 0) {
		rc = fd;
		goto err;
	}
	f->fd = fd;
	cmd->out_fault_id = obj->id;
	cmd->out_fault_fd = (uint32_t)fd;
	rc = ref_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		ioasid_fd_release(fd);   /* not published: its release must not drop references */
		close(fd);
		goto err;
	}
	/* The fd's references: the object (DESTROY gives EBUSY while it is open) and the context. */
	ref_object_hold(ctx, obj);
	ioasid_ctx_get(ctx);
	f->published = true;
	ref_object_finalize(ctx, obj);
	return 0;
err:
	ref_object_abort_and_destroy(ctx, obj);
	return rc;
}
