/* engine_client.h — what the single-device clients (cdev_client, iopf_client, type1_client)
 * share: die() naming the program, and the BAR0 DMA engine (mock_dma_engine.h) driven through
 * the device fd whose BAR0 offset the client stores in `bar0`, dying on a failed access.
 * Define CLIENT_PROG (the program's name) before including it. Header-only and libc-only, so
 * the clients stay unmodified programs. */
#ifndef IOASID_CLIENTS_ENGINE_CLIENT_H
#define IOASID_CLIENTS_ENGINE_CLIENT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/iommufd.h>

/* The mock DMA engine in BAR0 (its "datasheet": src/vfio/vfio.h). */
#include "mock_dma_engine.h"

static const char *prog = CLIENT_PROG;
static uint64_t bar0;                   /* file offset of BAR0 in the device fd */

static void die(const char *what)
{
	fprintf(stderr, "%s: FAIL: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

static inline uint64_t reg_read(int dev, uint64_t off, size_t width)
{
	uint64_t val;

	if (engine_read(dev, bar0, off, width, &val))
		die("pread BAR0");
	return val;
}

static inline uint32_t device_copy(int dev, uint64_t src, uint64_t dst, uint64_t len)
{
	uint32_t status;

	if (engine_copy(dev, bar0, src, dst, len, 0, &status))
		die("BAR0 access");
	return status;
}

/* IOMMU_IOAS_MAP of [va, va+len) at the fixed `iova`, readable and writeable. */
static inline void ioas_map(int iommufd, uint32_t ioas, void *va, uint64_t len, uint64_t iova)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas, .user_va = (uintptr_t)va, .length = len, .iova = iova,
	};

	if (ioctl(iommufd, IOMMU_IOAS_MAP, &map))
		die("IOMMU_IOAS_MAP");
}

#endif
