/* vfio_bar.c — BAR0 of every VFIO device: a small DMA engine that copies through the IOMMU, so
 * that unmodified programs can make a device DMA with nothing but pread()/pwrite() on its fd.
 * The register map is documented in vfio.h.
 *
 * Invariants
 *  - A doorbell runs synchronously inside the pwrite() that rings it: when pwrite returns,
 *    STATUS, FAULT_IOVA and DMA_COUNT are final.
 *  - The engine reads the whole source before writing the destination (a bounce buffer), so an
 *    overlapping copy behaves like memmove, and a fault on the read side writes nothing.
 *  - The DMA goes where the device's traffic goes on real hardware: a physical device through
 *    its RID (or PASID) translation (ref_device_dma: IOTLB, page walk, permissions; blocked when
 *    nothing is attached), a software-table device through the IOAS its access is attached to
 *    (ref_access_rw).
 *
 * Events: a physical device's DMA raises its DMA event in the reference (ref_device_dma); a
 * software-table device's (ref_access_rw, no IOMMU: iommu and domain 0) raises it here, one per
 * direction of a doorbell, as the physical one does.
 *
 * Locking: every function runs under dev->lock.
 */
#define IOASID_VFIO_INTERNAL
#include "vfio/vfio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/probe.h"
#include "reference/device.h"

static uint64_t reg_get(const struct vfio_device *dev, unsigned int off, unsigned int width)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i != width; i++)
		v |= (uint64_t)dev->regs[off + i] << (8 * i);
	return v;
}

static void reg_set(struct vfio_device *dev, unsigned int off, unsigned int width, uint64_t v)
{
	for (unsigned int i = 0; i != width; i++)
		dev->regs[off + i] = (uint8_t)(v >> (8 * i));
}

void vfio_bar_reset(struct vfio_device *dev)
{
	memset(dev->regs, 0, sizeof(dev->regs));
	reg_set(dev, VFIO_DMA_REG_ID, 4, VFIO_DMA_ID_VALUE);
	reg_set(dev, VFIO_DMA_REG_VERSION, 4, 1);
}

/* The program writes the registers below STATUS; the rest are read-only. */
static bool reg_writable(unsigned int off)
{
	return off < VFIO_DMA_REG_STATUS;
}

/* One direction of the copy. 0, or the STATUS value with *fault_iova set. */
static uint32_t engine_xfer(struct vfio_device *dev, bool use_pasid, uint32_t pasid,
			    uint64_t iova, void *buf, size_t len, bool to_memory,
			    uint64_t *fault_iova)
{
	int rc;

	if (dev->sw_table) {
		rc = ref_access_rw(dev->access, iova, buf, len, to_memory ? REF_ACCESS_RW_WRITE : 0);
		IOASID_PROBE_NAMED(dma, dev->name, .ctx = ref_ctx_event_id(dev->ctx),
				   .obj = dev->dev_id, .dev = dev->plat_index + 1, .iova = iova,
				   .length = len, .aux = to_memory ? 1 : 0, .result = rc,
				   .flags = rc ? IOASID_EVF_REFUSED : 0);
		if (rc) {
			*fault_iova = iova;
			return VFIO_DMA_STATUS_FAULT;
		}
		return VFIO_DMA_STATUS_OK;
	}
	*fault_iova = iova;
	rc = ref_device_dma(dev->idev, use_pasid ? pasid : REF_NO_PASID, iova, buf, len,
			    to_memory ? 1 : 0, fault_iova);
	if (rc == -EAGAIN)
		return VFIO_DMA_STATUS_PRQ;
	return rc ? VFIO_DMA_STATUS_FAULT : VFIO_DMA_STATUS_OK;
}

static void engine_run(struct vfio_device *dev)
{
	uint64_t src = reg_get(dev, VFIO_DMA_REG_SRC_IOVA, 8);
	uint64_t dst = reg_get(dev, VFIO_DMA_REG_DST_IOVA, 8);
	uint64_t len = reg_get(dev, VFIO_DMA_REG_LEN, 8);
	uint32_t pasid = (uint32_t)reg_get(dev, VFIO_DMA_REG_PASID, 4);
	bool use_pasid = reg_get(dev, VFIO_DMA_REG_FLAGS, 4) & VFIO_DMA_FLAG_PASID_VALID;
	uint32_t status = VFIO_DMA_STATUS_BAD_CMD;
	uint64_t fault_iova = 0;
	void *buf = NULL;

	if (!len || len > VFIO_DMA_MAX_LEN)
		goto out;
	/* A device without the PASID capability cannot tag its requests. */
	if (use_pasid && (dev->sw_table || !dev->pasid_bits))
		goto out;
	if (!dev->idev && !dev->access) {
		status = VFIO_DMA_STATUS_FAULT; /* not bound: nothing translates for it */
		fault_iova = src;
		goto out;
	}
	buf = malloc(len);
	if (!buf) {
		status = VFIO_DMA_STATUS_FAULT;
		fault_iova = src;
		goto out;
	}
	status = engine_xfer(dev, use_pasid, pasid, src, buf, len, false, &fault_iova);
	if (status == VFIO_DMA_STATUS_OK)
		status = engine_xfer(dev, use_pasid, pasid, dst, buf, len, true, &fault_iova);
	if (status == VFIO_DMA_STATUS_OK) {
		fault_iova = 0;
		reg_set(dev, VFIO_DMA_REG_DMA_COUNT, 8, reg_get(dev, VFIO_DMA_REG_DMA_COUNT, 8) + 1);
	}
out:
	free(buf);
	reg_set(dev, VFIO_DMA_REG_STATUS, 4, status);
	reg_set(dev, VFIO_DMA_REG_FAULT_IOVA, 8, fault_iova);
}

void vfio_bar_read(struct vfio_device *dev, uint64_t off, void *buf, size_t len)
{
	uint8_t *out = buf;

	for (size_t i = 0; i != len; i++)
		out[i] = off + i < VFIO_DMA_REGS_SIZE ? dev->regs[off + i] : 0;
}

void vfio_bar_write(struct vfio_device *dev, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *in = buf;
	bool doorbell = false;

	for (size_t i = 0; i != len; i++) {
		uint64_t o = off + i;

		if (o >= VFIO_DMA_REGS_SIZE || !reg_writable((unsigned int)o))
			continue;
		dev->regs[o] = in[i];
		if (o >= VFIO_DMA_REG_DOORBELL && o < VFIO_DMA_REG_DOORBELL + 4)
			doorbell = true;
	}
	if (!doorbell)
		return;
	/* The doorbell is a command, not state: it reads back 0. */
	if (reg_get(dev, VFIO_DMA_REG_DOORBELL, 4) == 1)
		engine_run(dev);
	reg_set(dev, VFIO_DMA_REG_DOORBELL, 4, 0);
}
