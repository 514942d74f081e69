/* backend_ioas.c — the IOAS ops of the two iommufd backends, written once.
 *
 * `ref` issues iommufd commands through the reference's C API (ioasid_ctx_ioctl), `ref-uapi`
 * and `kernel` through ioctl() on an fd; the command structs are the same. Each backend sets
 * be->issue at open and points its ops table here: these build the struct, issue it and read
 * back what the command returns. 0 or -errno, as every backend op.
 */
#include "benchkit/backend_private.h"

#include <linux/iommufd.h>

#define MAP_RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

int bench_ioas_alloc_op(struct bench_be *be, uint32_t *ioas)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc = be->issue(be, IOMMU_IOAS_ALLOC, &cmd);

	if (!rc)
		*ioas = cmd.out_ioas_id;
	return rc;
}

int bench_ioas_destroy_op(struct bench_be *be, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return be->issue(be, IOMMU_DESTROY, &cmd);
}

static int huge_option(struct bench_be *be, uint32_t ioas, uint16_t op, uint64_t *val)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd), .option_id = IOMMU_OPTION_HUGE_PAGES, .op = op,
		.object_id = ioas, .val64 = *val,
	};
	int rc = be->issue(be, IOMMU_OPTION, &cmd);

	if (!rc)
		*val = cmd.val64;
	return rc;
}

int bench_ioas_huge_pages_op(struct bench_be *be, uint32_t ioas, bool on)
{
	uint64_t val = on;

	return huge_option(be, ioas, IOMMU_OPTION_OP_SET, &val);
}

int bench_ioas_huge_get(struct bench_be *be, uint32_t ioas, uint64_t *val)
{
	*val = 0;
	return huge_option(be, ioas, IOMMU_OPTION_OP_GET, val);
}

int bench_ioas_map_op(struct bench_be *be, uint32_t ioas, uint64_t *iova, void *va, uint64_t len,
		      bool fixed)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = MAP_RW | (fixed ? IOMMU_IOAS_MAP_FIXED_IOVA : 0),
		.ioas_id = ioas, .user_va = (uintptr_t)va, .length = len,
		.iova = fixed ? *iova : 0,
	};
	int rc = be->issue(be, IOMMU_IOAS_MAP, &cmd);

	if (!rc)
		*iova = cmd.iova;
	return rc;
}

int bench_ioas_unmap_op(struct bench_be *be, uint32_t ioas, uint64_t iova, uint64_t len,
			uint64_t *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova, .length = len,
	};
	int rc = be->issue(be, IOMMU_IOAS_UNMAP, &cmd);

	if (unmapped)
		*unmapped = rc ? 0 : cmd.length;
	return rc;
}

int bench_ioas_copy_op(struct bench_be *be, uint32_t dst_ioas, uint64_t dst_iova,
		       uint32_t src_ioas, uint64_t src_iova, uint64_t len)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd), .flags = MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA,
		.dst_ioas_id = dst_ioas, .src_ioas_id = src_ioas, .length = len,
		.dst_iova = dst_iova, .src_iova = src_iova,
	};

	return be->issue(be, IOMMU_IOAS_COPY, &cmd);
}
