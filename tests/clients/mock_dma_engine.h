/* mock_dma_engine.h — the reference's mock device DMA engine in BAR0, as a client drives it.
 *
 * Its "datasheet" is src/vfio/vfio.h; these are the register offsets and the one sequence the
 * clients use (program a copy, ring the doorbell, read the status). Header-only and libc-only,
 * so the clients stay unmodified programs: they include it beside the uAPI headers. Every
 * access is a pread/pwrite at BAR0's offset in the device fd (VFIO_DEVICE_GET_REGION_INFO).
 * Functions return 0 or -1 with errno set (a short access is EIO); the caller says what failed.
 */
#ifndef IOASID_CLIENTS_MOCK_DMA_ENGINE_H
#define IOASID_CLIENTS_MOCK_DMA_ENGINE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#define REG_SRC_IOVA   0x00
#define REG_DST_IOVA   0x08
#define REG_LEN        0x10
#define REG_PASID      0x18
#define REG_FLAGS      0x1c
#define REG_DOORBELL   0x20
#define REG_STATUS     0x24
#define REG_FAULT_IOVA 0x28
#define REG_ID         0x30
#define ENGINE_ID      0x494f4144u /* "IOAD" */
#define STATUS_OK      0
#define STATUS_FAULT   1

static inline int engine_write(int dev, uint64_t bar0, uint64_t off, uint64_t val, size_t width)
{
	ssize_t n = pwrite(dev, &val, width, (off_t)(bar0 + off));

	if (n == (ssize_t)width)
		return 0;
	if (n >= 0)
		errno = EIO;
	return -1;
}

static inline int engine_read(int dev, uint64_t bar0, uint64_t off, size_t width, uint64_t *out)
{
	ssize_t n;

	*out = 0;
	n = pread(dev, out, width, (off_t)(bar0 + off));
	if (n == (ssize_t)width)
		return 0;
	if (n >= 0)
		errno = EIO;
	return -1;
}

/* A copy of `len` bytes from IOVA `src` to `dst` with FLAGS `flags`; *status gets the STATUS
 * register after the doorbell (STATUS_OK or STATUS_FAULT). */
static inline int engine_copy(int dev, uint64_t bar0, uint64_t src, uint64_t dst, uint64_t len,
			      uint32_t flags, uint32_t *status)
{
	uint64_t st;

	if (engine_write(dev, bar0, REG_SRC_IOVA, src, 8) ||
	    engine_write(dev, bar0, REG_DST_IOVA, dst, 8) ||
	    engine_write(dev, bar0, REG_LEN, len, 8) ||
	    engine_write(dev, bar0, REG_FLAGS, flags, 4) ||
	    engine_write(dev, bar0, REG_DOORBELL, 1, 4) ||
	    engine_read(dev, bar0, REG_STATUS, 4, &st))
		return -1;
	*status = (uint32_t)st;
	return 0;
}

#endif
