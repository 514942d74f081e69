/* calls.c — the fuzzer's call table: every uAPI call the decoder can make, with its fields.
 *
 * Owns: fz_calls[] (one entry per call: name, the kind of fd it goes to, the ioctl, and its
 * fields in decoding order) and the exec functions of calls that are not a plain
 * ioctl(fd, cmd, &struct) (open, close, dup, read/write, pread/pwrite, the BAR0 DMA engine,
 * arena pokes, driver bind/unbind, the ioctls that take an integer or a string).
 *
 * Covered: every iommufd ioctl of uapi-shim/linux/iommufd.h (the vIOMMU family too: the
 * reference answers ENOTTY, a kernel may not), an ioctl with a raw number, the selftest's
 * IOMMU_TEST_CMD ops (one entry per op, plus a raw op), the VFIO type1 container ioctls, the
 * VFIO device cdev calls (bind, attach/detach incl. PASID, info, reset, regions, DMA), the
 * VFIO group calls, open of /dev/iommu, /dev/vfio/vfio, /dev/vfio/devices/vfioN, /dev/vfio/N,
 * close and dup of any fd, fault queue read/respond, platform driver bind/unbind.
 *
 * Append new calls at the end: an opcode is an index here, and the corpus depends on it.
 * Field order is the byte order of the input: change it only with the seeds (they are text and
 * assemble again).
 */
#include "fuzz.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "reference/selftest_abi.h"

#define SZOF(T, m) sizeof(((T *)0)->m)
#define OFFEND(T, m) (offsetof(T, m) + SZOF(T, m))

/* a field picked by `p` with argument `a` */
#define F(T, m, p, a) { .name = #m, .off = offsetof(T, m), .width = SZOF(T, m), .pick = p, \
			.arg = a }
/* the same under another name (union members) */
#define FN(n, T, m, p, a) { .name = n, .off = offsetof(T, m), .width = SZOF(T, m), .pick = p, \
			    .arg = a }
/* the struct's size field (first member), with the struct's size and min size */
#define SIZE(T, first, last) { .name = #first, .off = 0, .width = 4, .pick = FZ_P_SIZE, \
			       .arg = sizeof(T), .arg2 = OFFEND(T, last) }
/* output only: recorded after success */
#define OUT(n, T, m, o, k) { .name = n, .off = offsetof(T, m), .width = SZOF(T, m), \
			     .pick = FZ_P_OUT, .out = o, .out_kind = k }
/* input and output */
#define INOUT(n, T, m, p, a, o, k) { .name = n, .off = offsetof(T, m), .width = SZOF(T, m), \
				     .pick = p, .arg = a, .out = o, .out_kind = k }
#define CONST(T, m, v) { .name = #m, .off = offsetof(T, m), .width = SZOF(T, m), \
			 .pick = FZ_P_CONST, .arg = v }

#define NF(a) (sizeof(a) / sizeof((a)[0]))
#define IOCTL(n, tgt, c, T, flds) { .name = n, .target = tgt, .cmd = c, .size = sizeof(T), \
				    .fields = flds, .nfields = NF(flds) }
/* an ioctl whose argument is an integer (or none): fields in a struct fz_int_arg */
#define CALLC(n, tgt, c, flds, fn) { .name = n, .target = tgt, .cmd = c, \
				     .size = sizeof(struct fz_int_arg), .fields = flds, \
				     .nfields = NF(flds), .exec = fn }
#define CALL(n, tgt, T, flds, fn) { .name = n, .target = tgt, .size = sizeof(T), \
				    .fields = flds, .nfields = NF(flds), .exec = fn }

#define MAP_FLAGS (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)
#define HWPT_FLAGS (IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING | \
		    IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID)

/* ---- exec functions ------------------------------------------------------------------------- */

static long exec_destroy(struct fz_state *st, const struct fz_call *call, int fd, void *arg)
{
	struct iommu_destroy *cmd = arg;
	long rc = st->be->ioctl(st->be->data, fd, call->cmd, arg);

	if (!rc)
		fz_mark_destroyed(st, cmd->id, fd);
	return rc;
}

/* ioctls whose argument is an integer, not a pointer */
struct fz_int_arg { uint32_t value; };

static long exec_int_arg(struct fz_state *st, const struct fz_call *call, int fd, void *arg)
{
	const struct fz_int_arg *a = arg;

	return st->be->ioctl(st->be->data, fd, call->cmd, (void *)(uintptr_t)a->value);
}

static long exec_no_arg(struct fz_state *st, const struct fz_call *call, int fd, void *arg)
{
	(void)arg;
	return st->be->ioctl(st->be->data, fd, call->cmd, NULL);
}

/* VFIO_GROUP_GET_DEVICE_FD: the argument is the name string itself */
struct fz_str_arg { uint64_t name; };

static long exec_str_arg(struct fz_state *st, const struct fz_call *call, int fd, void *arg)
{
	const struct fz_str_arg *a = arg;

	return st->be->ioctl(st->be->data, fd, call->cmd, (void *)(uintptr_t)a->name);
}

/* an iommufd-type ioctl with any number: unknown numbers, and known ones with junk */
struct fz_raw_ioctl { uint32_t size, nr, w[6]; };

static long exec_raw_ioctl(struct fz_state *st, const struct fz_call *call, int fd, void *arg)
{
	struct fz_raw_ioctl *a = arg;
	unsigned long cmd = ((unsigned long)IOMMUFD_TYPE << 8) | (a->nr & 0xff);
	uint32_t *block = (uint32_t *)((uint8_t *)arg + 4);

	/* the struct the call sees: size, then the words (nr is not part of it) */
	memmove(block, a->w, sizeof(a->w));
	block[6] = 0;
	return st->be->ioctl(st->be->data, fd, cmd, arg);
}

struct fz_open_arg { uint32_t index; };

static long open_path(struct fz_state *st, const char *path, uint8_t kind)
{
	int fd = st->be->open_node(st->be->data, path);

	if (fd >= 0)
		fz_record_fd(st, fd, kind);
	return fd;
}

static long exec_open_iommufd(struct fz_state *st, const struct fz_call *c, int fd, void *arg)
{
	return open_path(st, "/dev/iommu", FZ_FD_IOMMUFD);
}

static long exec_open_container(struct fz_state *st, const struct fz_call *c, int fd, void *arg)
{
	return open_path(st, "/dev/vfio/vfio", FZ_FD_CONTAINER);
}

static long exec_open_cdev(struct fz_state *st, const struct fz_call *c, int fd, void *arg)
{
	const struct fz_open_arg *a = arg;
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%u", a->index);
	return open_path(st, path, FZ_FD_DEVICE);
}

static long exec_open_group(struct fz_state *st, const struct fz_call *c, int fd, void *arg)
{
	const struct fz_open_arg *a = arg;
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/%u", a->index);
	return open_path(st, path, FZ_FD_GROUP);
}

static long exec_close(struct fz_state *st, const struct fz_call *c, int fd, void *arg)
{
	bool ours = fz_fd_kind_of(st, fd) != FZ_FD_NONE;
	int rc;

	/* only fds of this sequence: never one of the harness's own (stdin, libFuzzer's) */
	if (!ours)
		return -EBADF;
	rc = st->be->close(st->be->data, fd);
	fz_mark_closed(st, fd);
	return rc;
}

static long exec_dup(struct fz_state *st, const struct fz_call *c, int fd, void *arg)
{
	uint8_t kind = fz_fd_kind_of(st, fd);
	int nfd;

	if (kind == FZ_FD_NONE)
		return -EBADF;
	nfd = st->be->dup(st->be->data, fd);
	if (nfd >= 0)
		fz_record_fd(st, nfd, kind);
	return nfd;
}

struct fz_rw_arg { uint32_t len; };

static long exec_read(struct fz_state *st, const struct fz_call *c, int fd, void *arg)
{
	const struct fz_rw_arg *a = arg;
	uint8_t *buf = st->be->arena;
	size_t len = a->len > FZ_ARENA_SIZE / 2 ? FZ_ARENA_SIZE / 2 : a->len;
	long rc;

	if (fz_fd_kind_of(st, fd) == FZ_FD_NONE)
		return -EBADF;
	rc = st->be->read(st->be->data, fd, buf, len);
	/* a fault queue gives iommu_hwpt_pgfault records: keep their cookies to respond */
	if (rc > 0 && fz_fd_kind_of(st, fd) == FZ_FD_FAULT)
		for (long off = 0; off + (long)sizeof(struct iommu_hwpt_pgfault) <= rc;
		     off += sizeof(struct iommu_hwpt_pgfault)) {
			struct iommu_hwpt_pgfault pf;

			memcpy(&pf, buf + off, sizeof(pf));
			fz_record_cookie(st, pf.cookie);
		}
	return rc;
}

static long exec_write(struct fz_state *st, const struct fz_call *c, int fd, void *arg)
{
	const struct fz_rw_arg *a = arg;
	size_t len = a->len > FZ_ARENA_SIZE / 2 ? FZ_ARENA_SIZE / 2 : a->len;

	if (fz_fd_kind_of(st, fd) == FZ_FD_NONE)
		return -EBADF;
	return st->be->write(st->be->data, fd, st->be->arena, len);
}

struct fz_respond_arg { uint64_t cookie; uint32_t code, len; };

static long exec_respond(struct fz_state *st, const struct fz_call *c, int fd, void *arg)
{
	const struct fz_respond_arg *a = arg;
	struct iommu_hwpt_page_response resp[4];
	size_t len = a->len > sizeof(resp) ? sizeof(resp) : a->len;

	if (fz_fd_kind_of(st, fd) == FZ_FD_NONE)
		return -EBADF;
	for (unsigned int i = 0; i < 4; i++)
		resp[i] = (struct iommu_hwpt_page_response){ .cookie = (uint32_t)a->cookie + i,
							     .code = a->code };
	return st->be->write(st->be->data, fd, resp, len);
}

struct fz_region_arg { uint32_t region, len; uint64_t offset; };

static uint64_t region_off(const struct fz_region_arg *a)
{
	return ((uint64_t)a->region << 40) | (a->offset & ((1ULL << 40) - 1));
}

static long exec_pread(struct fz_state *st, const struct fz_call *c, int fd, void *arg)
{
	const struct fz_region_arg *a = arg;
	size_t len = a->len > FZ_PAGE ? FZ_PAGE : a->len;

	if (fz_fd_kind_of(st, fd) == FZ_FD_NONE)
		return -EBADF;
	return st->be->pread(st->be->data, fd, st->be->arena, len, region_off(a));
}

static long exec_pwrite(struct fz_state *st, const struct fz_call *c, int fd, void *arg)
{
	const struct fz_region_arg *a = arg;
	size_t len = a->len > FZ_PAGE ? FZ_PAGE : a->len;

	if (fz_fd_kind_of(st, fd) == FZ_FD_NONE)
		return -EBADF;
	return st->be->pwrite(st->be->data, fd, st->be->arena, len, region_off(a));
}

/* The mock device's BAR0 DMA engine (src/vfio/vfio.h): program, ring, read the status.
 * Returns the status register (0 done, 1 fault, 2 page request pending, 3 bad command). */
struct fz_dma_arg { uint64_t src, dst, len; uint32_t pasid, flags; };

static long exec_bar0_dma(struct fz_state *st, const struct fz_call *c, int fd, void *arg)
{
	const struct fz_dma_arg *a = arg;
	const struct { uint32_t off, width; uint64_t v; } regs[] = {
		{ 0x00, 8, a->src }, { 0x08, 8, a->dst }, { 0x10, 8, a->len },
		{ 0x18, 4, a->pasid }, { 0x1c, 4, a->flags }, { 0x20, 4, 1 },
	};
	uint32_t status = 0;
	long rc;

	if (fz_fd_kind_of(st, fd) == FZ_FD_NONE)
		return -EBADF;
	for (unsigned int i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		rc = st->be->pwrite(st->be->data, fd, &regs[i].v, regs[i].width, regs[i].off);
		if (rc < 0)
			return rc;
	}
	rc = st->be->pread(st->be->data, fd, &status, sizeof(status), 0x24);
	return rc < 0 ? rc : (long)status;
}

/* Write 8 bytes into the arena (guest page tables for nested DMA, data to compare). */
struct fz_poke_arg { uint64_t off, value; };

static long exec_poke(struct fz_state *st, const struct fz_call *c, int fd, void *arg)
{
	const struct fz_poke_arg *a = arg;
	uint64_t off = (a->off % (FZ_ARENA_SIZE - FZ_ARG_MAX)) & ~7ULL;

	memcpy(st->be->arena + off, &a->value, sizeof(a->value));
	return 0;
}

/* The default host's drivers (src/platform/topology_default.c), then one it lacks. */
static const char *const driver_names[] = {
	"vfio-pci", "pci-stub", "nvme", "idxd", "ahci", "e1000e", "snd_hda_intel", "mtty", "bogus",
};

struct fz_driver_arg { uint32_t dev, driver; };

static long exec_driver_bind(struct fz_state *st, const struct fz_call *c, int fd, void *arg)
{
	const struct fz_driver_arg *a = arg;

	return st->be->driver_bind(st->be->data, a->dev,
				   driver_names[a->driver % NF(driver_names)]);
}

static long exec_driver_unbind(struct fz_state *st, const struct fz_call *c, int fd, void *arg)
{
	const struct fz_driver_arg *a = arg;

	return st->be->driver_unbind(st->be->data, a->dev);
}

/* ---- iommufd --------------------------------------------------------------------------------- */

typedef struct iommu_test_cmd TC;

static const struct fz_field f_destroy[] = {
	SIZE(struct iommu_destroy, size, id),
	F(struct iommu_destroy, id, FZ_P_ID, FZ_ID_ANY),
};
static const struct fz_field f_ioas_alloc[] = {
	SIZE(struct iommu_ioas_alloc, size, out_ioas_id),
	F(struct iommu_ioas_alloc, flags, FZ_P_FLAGS, 0),
	OUT("out_ioas_id", struct iommu_ioas_alloc, out_ioas_id, FZ_OUT_ID, FZ_ID_IOAS),
};
static const struct fz_field f_allow_iovas[] = {
	SIZE(struct iommu_ioas_allow_iovas, size, allowed_iovas),
	F(struct iommu_ioas_allow_iovas, ioas_id, FZ_P_ID, FZ_ID_IOAS),
	F(struct iommu_ioas_allow_iovas, num_iovas, FZ_P_U32, 0),
	F(struct iommu_ioas_allow_iovas, __reserved, FZ_P_U32, 0),
	F(struct iommu_ioas_allow_iovas, allowed_iovas, FZ_P_RANGES, 0),
};
static const struct fz_field f_copy[] = {
	SIZE(struct iommu_ioas_copy, size, src_iova),
	F(struct iommu_ioas_copy, flags, FZ_P_FLAGS, MAP_FLAGS),
	F(struct iommu_ioas_copy, dst_ioas_id, FZ_P_ID, FZ_ID_IOAS),
	F(struct iommu_ioas_copy, src_ioas_id, FZ_P_ID, FZ_ID_IOAS),
	F(struct iommu_ioas_copy, length, FZ_P_LEN, 0),
	INOUT("dst_iova", struct iommu_ioas_copy, dst_iova, FZ_P_IOVA, 0, FZ_OUT_IOVA, 0),
	F(struct iommu_ioas_copy, src_iova, FZ_P_IOVA, 0),
};
static const struct fz_field f_iova_ranges[] = {
	SIZE(struct iommu_ioas_iova_ranges, size, out_iova_alignment),
	F(struct iommu_ioas_iova_ranges, ioas_id, FZ_P_ID, FZ_ID_IOAS),
	INOUT("num_iovas", struct iommu_ioas_iova_ranges, num_iovas, FZ_P_U32, 0, FZ_OUT_SHOW, 0),
	F(struct iommu_ioas_iova_ranges, __reserved, FZ_P_U32, 0),
	F(struct iommu_ioas_iova_ranges, allowed_iovas, FZ_P_UVA, 0),
};
static const struct fz_field f_map[] = {
	SIZE(struct iommu_ioas_map, size, iova),
	F(struct iommu_ioas_map, flags, FZ_P_FLAGS, MAP_FLAGS),
	F(struct iommu_ioas_map, ioas_id, FZ_P_ID, FZ_ID_IOAS),
	F(struct iommu_ioas_map, __reserved, FZ_P_U32, 0),
	F(struct iommu_ioas_map, user_va, FZ_P_UVA, 0),
	F(struct iommu_ioas_map, length, FZ_P_LEN, 0),
	INOUT("iova", struct iommu_ioas_map, iova, FZ_P_IOVA, 0, FZ_OUT_IOVA, 0),
};
static const struct fz_field f_map_file[] = {
	SIZE(struct iommu_ioas_map_file, size, iova),
	F(struct iommu_ioas_map_file, flags, FZ_P_FLAGS, MAP_FLAGS),
	F(struct iommu_ioas_map_file, ioas_id, FZ_P_ID, FZ_ID_IOAS),
	F(struct iommu_ioas_map_file, fd, FZ_P_FD, FZ_FD_NONE),
	F(struct iommu_ioas_map_file, start, FZ_P_U64, 0),
	F(struct iommu_ioas_map_file, length, FZ_P_LEN, 0),
	INOUT("iova", struct iommu_ioas_map_file, iova, FZ_P_IOVA, 0, FZ_OUT_IOVA, 0),
};
static const struct fz_field f_unmap[] = {
	SIZE(struct iommu_ioas_unmap, size, length),
	F(struct iommu_ioas_unmap, ioas_id, FZ_P_ID, FZ_ID_IOAS),
	F(struct iommu_ioas_unmap, iova, FZ_P_IOVA, 0),
	INOUT("length", struct iommu_ioas_unmap, length, FZ_P_LEN, 0, FZ_OUT_SHOW, 0),
};
static const struct fz_field f_option[] = {
	SIZE(struct iommu_option, size, val64),
	F(struct iommu_option, option_id, FZ_P_U32, 0),
	F(struct iommu_option, op, FZ_P_U32, 0),
	F(struct iommu_option, __reserved, FZ_P_U32, 0),
	F(struct iommu_option, object_id, FZ_P_ID, FZ_ID_IOAS),
	INOUT("val64", struct iommu_option, val64, FZ_P_U64, 0, FZ_OUT_SHOW, 0),
};
static const struct fz_field f_vfio_ioas[] = {
	SIZE(struct iommu_vfio_ioas, size, __reserved),
	INOUT("ioas_id", struct iommu_vfio_ioas, ioas_id, FZ_P_ID, FZ_ID_IOAS, FZ_OUT_SHOW, 0),
	F(struct iommu_vfio_ioas, op, FZ_P_U32, 0),
	F(struct iommu_vfio_ioas, __reserved, FZ_P_U32, 0),
};
static const struct fz_field f_hwpt_alloc[] = {
	SIZE(struct iommu_hwpt_alloc, size, __reserved),
	F(struct iommu_hwpt_alloc, flags, FZ_P_FLAGS, HWPT_FLAGS),
	F(struct iommu_hwpt_alloc, dev_id, FZ_P_ID, FZ_ID_DEV),
	F(struct iommu_hwpt_alloc, pt_id, FZ_P_ID, FZ_ID_IOAS),
	OUT("out_hwpt_id", struct iommu_hwpt_alloc, out_hwpt_id, FZ_OUT_ID, FZ_ID_HWPT),
	F(struct iommu_hwpt_alloc, __reserved, FZ_P_U32, 0),
	F(struct iommu_hwpt_alloc, data_type, FZ_P_U32, 0),
	F(struct iommu_hwpt_alloc, data_len, FZ_P_U32, 0),
	F(struct iommu_hwpt_alloc, data_uptr, FZ_P_VTD_S1, 0),
	F(struct iommu_hwpt_alloc, fault_id, FZ_P_ID, FZ_ID_FAULT),
	F(struct iommu_hwpt_alloc, __reserved2, FZ_P_U32, 0),
};
static const struct fz_field f_hw_info[] = {
	SIZE(struct iommu_hw_info, size, __reserved),
	F(struct iommu_hw_info, flags, FZ_P_FLAGS, IOMMU_HW_INFO_FLAG_INPUT_TYPE),
	F(struct iommu_hw_info, dev_id, FZ_P_ID, FZ_ID_DEV),
	INOUT("data_len", struct iommu_hw_info, data_len, FZ_P_U32, 0, FZ_OUT_SHOW, 0),
	F(struct iommu_hw_info, data_uptr, FZ_P_UVA, 0),
	F(struct iommu_hw_info, in_data_type, FZ_P_U32, 0),
	OUT("out_capabilities", struct iommu_hw_info, out_capabilities, FZ_OUT_SHOW, 0),
};
static const struct fz_field f_set_dirty[] = {
	SIZE(struct iommu_hwpt_set_dirty_tracking, size, __reserved),
	F(struct iommu_hwpt_set_dirty_tracking, flags, FZ_P_FLAGS,
	  IOMMU_HWPT_DIRTY_TRACKING_ENABLE),
	F(struct iommu_hwpt_set_dirty_tracking, hwpt_id, FZ_P_ID, FZ_ID_HWPT),
	F(struct iommu_hwpt_set_dirty_tracking, __reserved, FZ_P_U32, 0),
};
static const struct fz_field f_get_dirty[] = {
	SIZE(struct iommu_hwpt_get_dirty_bitmap, size, data),
	F(struct iommu_hwpt_get_dirty_bitmap, hwpt_id, FZ_P_ID, FZ_ID_HWPT),
	F(struct iommu_hwpt_get_dirty_bitmap, flags, FZ_P_FLAGS,
	  IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR),
	F(struct iommu_hwpt_get_dirty_bitmap, __reserved, FZ_P_U32, 0),
	F(struct iommu_hwpt_get_dirty_bitmap, iova, FZ_P_IOVA, 0),
	F(struct iommu_hwpt_get_dirty_bitmap, length, FZ_P_LEN, 0),
	F(struct iommu_hwpt_get_dirty_bitmap, page_size, FZ_P_LEN, 0),
	F(struct iommu_hwpt_get_dirty_bitmap, data, FZ_P_UVA, 0),
};
static const struct fz_field f_invalidate[] = {
	SIZE(struct iommu_hwpt_invalidate, size, __reserved),
	F(struct iommu_hwpt_invalidate, hwpt_id, FZ_P_ID, FZ_ID_HWPT),
	F(struct iommu_hwpt_invalidate, data_uptr, FZ_P_VTD_INV, 0),
	F(struct iommu_hwpt_invalidate, data_type, FZ_P_U32, 0),
	F(struct iommu_hwpt_invalidate, entry_len, FZ_P_U32, 0),
	INOUT("entry_num", struct iommu_hwpt_invalidate, entry_num, FZ_P_U32, 0, FZ_OUT_SHOW, 0),
	F(struct iommu_hwpt_invalidate, __reserved, FZ_P_U32, 0),
};
static const struct fz_field f_fault_alloc[] = {
	SIZE(struct iommu_fault_alloc, size, out_fault_fd),
	F(struct iommu_fault_alloc, flags, FZ_P_FLAGS, 0),
	OUT("out_fault_id", struct iommu_fault_alloc, out_fault_id, FZ_OUT_ID, FZ_ID_FAULT),
	OUT("out_fault_fd", struct iommu_fault_alloc, out_fault_fd, FZ_OUT_FD, FZ_FD_FAULT),
};
static const struct fz_field f_viommu_alloc[] = {
	SIZE(struct iommu_viommu_alloc, size, out_viommu_id),
	F(struct iommu_viommu_alloc, flags, FZ_P_FLAGS, 0),
	F(struct iommu_viommu_alloc, type, FZ_P_U32, 0),
	F(struct iommu_viommu_alloc, dev_id, FZ_P_ID, FZ_ID_DEV),
	F(struct iommu_viommu_alloc, hwpt_id, FZ_P_ID, FZ_ID_HWPT),
	OUT("out_viommu_id", struct iommu_viommu_alloc, out_viommu_id, FZ_OUT_ID, FZ_ID_VIOMMU),
	F(struct iommu_viommu_alloc, data_len, FZ_P_U32, 0),
	F(struct iommu_viommu_alloc, data_uptr, FZ_P_UVA, 0),
};
static const struct fz_field f_vdevice_alloc[] = {
	SIZE(struct iommu_vdevice_alloc, size, virt_id),
	F(struct iommu_vdevice_alloc, viommu_id, FZ_P_ID, FZ_ID_VIOMMU),
	F(struct iommu_vdevice_alloc, dev_id, FZ_P_ID, FZ_ID_DEV),
	OUT("out_vdevice_id", struct iommu_vdevice_alloc, out_vdevice_id, FZ_OUT_ID, FZ_ID_ANY),
	F(struct iommu_vdevice_alloc, virt_id, FZ_P_U64, 0),
};
static const struct fz_field f_change_process[] = {
	SIZE(struct iommu_ioas_change_process, size, __reserved),
	F(struct iommu_ioas_change_process, __reserved, FZ_P_U32, 0),
};
static const struct fz_field f_veventq_alloc[] = {
	SIZE(struct iommu_veventq_alloc, size, out_veventq_fd),
	F(struct iommu_veventq_alloc, flags, FZ_P_FLAGS, 0),
	F(struct iommu_veventq_alloc, viommu_id, FZ_P_ID, FZ_ID_VIOMMU),
	F(struct iommu_veventq_alloc, type, FZ_P_U32, 0),
	F(struct iommu_veventq_alloc, veventq_depth, FZ_P_U32, 0),
	OUT("out_veventq_id", struct iommu_veventq_alloc, out_veventq_id, FZ_OUT_ID, FZ_ID_ANY),
	OUT("out_veventq_fd", struct iommu_veventq_alloc, out_veventq_fd, FZ_OUT_FD, FZ_FD_FAULT),
};
static const struct fz_field f_hw_queue_alloc[] = {
	SIZE(struct iommu_hw_queue_alloc, size, length),
	F(struct iommu_hw_queue_alloc, flags, FZ_P_FLAGS, 0),
	F(struct iommu_hw_queue_alloc, viommu_id, FZ_P_ID, FZ_ID_VIOMMU),
	F(struct iommu_hw_queue_alloc, type, FZ_P_U32, 0),
	F(struct iommu_hw_queue_alloc, index, FZ_P_U32, 0),
	OUT("out_hw_queue_id", struct iommu_hw_queue_alloc, out_hw_queue_id, FZ_OUT_ID, FZ_ID_ANY),
	F(struct iommu_hw_queue_alloc, nesting_parent_iova, FZ_P_IOVA, 0),
	F(struct iommu_hw_queue_alloc, length, FZ_P_LEN, 0),
};
static const struct fz_field f_raw_ioctl[] = {
	F(struct fz_raw_ioctl, size, FZ_P_U32, 0),
	F(struct fz_raw_ioctl, nr, FZ_P_U32, 0),
	FN("w0", struct fz_raw_ioctl, w[0], FZ_P_U32, 0),
	FN("w1", struct fz_raw_ioctl, w[1], FZ_P_U32, 0),
	FN("w2", struct fz_raw_ioctl, w[2], FZ_P_U32, 0),
	FN("w3", struct fz_raw_ioctl, w[3], FZ_P_U32, 0),
};

/* ---- IOMMU_TEST_CMD: one entry per op -------------------------------------------------------- */

#define TSIZE { .name = "size", .off = 0, .width = 4, .pick = FZ_P_SIZE, .arg = sizeof(TC), \
		.arg2 = IOMMU_TEST_CMD_MIN_SIZE }
#define TOP(v) CONST(TC, op, v)

static const struct fz_field f_t_add_reserved[] = {
	TSIZE, TOP(IOMMU_TEST_OP_ADD_RESERVED), F(TC, id, FZ_P_ID, FZ_ID_IOAS),
	FN("start", TC, add_reserved.start, FZ_P_IOVA, 0),
	FN("length", TC, add_reserved.length, FZ_P_LEN, 0),
};
static const struct fz_field f_t_mock_domain[] = {
	TSIZE, TOP(IOMMU_TEST_OP_MOCK_DOMAIN), F(TC, id, FZ_P_ID, FZ_ID_IOAS),
	OUT("out_stdev_id", TC, mock_domain.out_stdev_id, FZ_OUT_ID, FZ_ID_STDEV),
	OUT("out_hwpt_id", TC, mock_domain.out_hwpt_id, FZ_OUT_ID, FZ_ID_HWPT),
	OUT("out_idev_id", TC, mock_domain.out_idev_id, FZ_OUT_ID, FZ_ID_DEV),
};
static const struct fz_field f_t_mock_domain_flags[] = {
	TSIZE, TOP(IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS), F(TC, id, FZ_P_ID, FZ_ID_IOAS),
	OUT("out_stdev_id", TC, mock_domain_flags.out_stdev_id, FZ_OUT_ID, FZ_ID_STDEV),
	OUT("out_hwpt_id", TC, mock_domain_flags.out_hwpt_id, FZ_OUT_ID, FZ_ID_HWPT),
	OUT("out_idev_id", TC, mock_domain_flags.out_idev_id, FZ_OUT_ID, FZ_ID_DEV),
	FN("dev_flags", TC, mock_domain_flags.dev_flags, FZ_P_FLAGS, 7),
};
static const struct fz_field f_t_mock_domain_replace[] = {
	TSIZE, TOP(IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE), F(TC, id, FZ_P_ID, FZ_ID_STDEV),
	INOUT("pt_id", TC, mock_domain_replace.pt_id, FZ_P_ID, FZ_ID_HWPT, FZ_OUT_ID, FZ_ID_HWPT),
};
static const struct fz_field f_t_check_map[] = {
	TSIZE, TOP(IOMMU_TEST_OP_MD_CHECK_MAP), F(TC, id, FZ_P_ID, FZ_ID_HWPT),
	FN("iova", TC, check_map.iova, FZ_P_IOVA, 0),
	FN("length", TC, check_map.length, FZ_P_LEN, 0),
	FN("uptr", TC, check_map.uptr, FZ_P_UVA, 0),
};
static const struct fz_field f_t_check_refs[] = {
	TSIZE, TOP(IOMMU_TEST_OP_MD_CHECK_REFS),
	FN("length", TC, check_refs.length, FZ_P_LEN, 0),
	FN("uptr", TC, check_refs.uptr, FZ_P_UVA, 0),
	FN("refs", TC, check_refs.refs, FZ_P_U32, 0),
};
static const struct fz_field f_t_check_iotlb[] = {
	TSIZE, TOP(IOMMU_TEST_OP_MD_CHECK_IOTLB), F(TC, id, FZ_P_ID, FZ_ID_HWPT),
	FN("iotlb_id", TC, check_iotlb.id, FZ_P_U32, 0),
	FN("iotlb", TC, check_iotlb.iotlb, FZ_P_U32, 0),
};
static const struct fz_field f_t_create_access[] = {
	TSIZE, TOP(IOMMU_TEST_OP_CREATE_ACCESS), F(TC, id, FZ_P_ID, FZ_ID_IOAS),
	OUT("out_access_fd", TC, create_access.out_access_fd, FZ_OUT_FD, FZ_FD_ACCESS),
	FN("flags", TC, create_access.flags, FZ_P_FLAGS, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES),
};
static const struct fz_field f_t_access_replace_ioas[] = {
	TSIZE, TOP(IOMMU_TEST_OP_ACCESS_REPLACE_IOAS), F(TC, id, FZ_P_FD, FZ_FD_ACCESS),
	FN("ioas_id", TC, access_replace_ioas.ioas_id, FZ_P_ID, FZ_ID_IOAS),
};
static const struct fz_field f_t_access_pages[] = {
	TSIZE, TOP(IOMMU_TEST_OP_ACCESS_PAGES), F(TC, id, FZ_P_FD, FZ_FD_ACCESS),
	FN("flags", TC, access_pages.flags, FZ_P_FLAGS,
	   MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ),
	OUT("out_access_pages_id", TC, access_pages.out_access_pages_id, FZ_OUT_ID,
	    FZ_ID_ACCESS_PAGES),
	FN("iova", TC, access_pages.iova, FZ_P_IOVA, 0),
	FN("length", TC, access_pages.length, FZ_P_LEN, 0),
	FN("uptr", TC, access_pages.uptr, FZ_P_UVA, 0),
};
static const struct fz_field f_t_access_rw[] = {
	TSIZE, TOP(IOMMU_TEST_OP_ACCESS_RW), F(TC, id, FZ_P_FD, FZ_FD_ACCESS),
	FN("iova", TC, access_rw.iova, FZ_P_IOVA, 0),
	FN("length", TC, access_rw.length, FZ_P_LEN, 0),
	FN("uptr", TC, access_rw.uptr, FZ_P_UVA, 0),
	FN("flags", TC, access_rw.flags, FZ_P_FLAGS,
	   MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH),
};
static const struct fz_field f_t_destroy_access_pages[] = {
	TSIZE, TOP(IOMMU_TEST_OP_DESTROY_ACCESS_PAGES), F(TC, id, FZ_P_FD, FZ_FD_ACCESS),
	FN("access_pages_id", TC, destroy_access_pages.access_pages_id, FZ_P_ID,
	   FZ_ID_ACCESS_PAGES),
};
static const struct fz_field f_t_memory_limit[] = {
	TSIZE, TOP(IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT),
	FN("limit", TC, memory_limit.limit, FZ_P_U32, 0),
};
static const struct fz_field f_t_dirty[] = {
	TSIZE, TOP(IOMMU_TEST_OP_DIRTY), F(TC, id, FZ_P_ID, FZ_ID_HWPT),
	FN("flags", TC, dirty.flags, FZ_P_FLAGS, 0),
	FN("iova", TC, dirty.iova, FZ_P_IOVA, 0),
	FN("length", TC, dirty.length, FZ_P_LEN, 0),
	FN("page_size", TC, dirty.page_size, FZ_P_LEN, 0),
	FN("uptr", TC, dirty.uptr, FZ_P_UVA, 0),
	OUT("out_nr_dirty", TC, dirty.out_nr_dirty, FZ_OUT_SHOW, 0),
};
static const struct fz_field f_t_trigger_iopf[] = {
	TSIZE, TOP(IOMMU_TEST_OP_TRIGGER_IOPF),
	FN("dev_id", TC, trigger_iopf.dev_id, FZ_P_ID, FZ_ID_DEV),
	FN("pasid", TC, trigger_iopf.pasid, FZ_P_PASID, 0),
	FN("grpid", TC, trigger_iopf.grpid, FZ_P_U32, 0),
	FN("perm", TC, trigger_iopf.perm, FZ_P_FLAGS, 0xf),
	FN("addr", TC, trigger_iopf.addr, FZ_P_IOVA, 0),
};
static const struct fz_field f_t_pasid_attach[] = {
	TSIZE, TOP(IOMMU_TEST_OP_PASID_ATTACH), F(TC, id, FZ_P_ID, FZ_ID_STDEV),
	FN("pasid", TC, pasid_attach.pasid, FZ_P_PASID, 0),
	FN("pt_id", TC, pasid_attach.pt_id, FZ_P_ID, FZ_ID_HWPT),
};
static const struct fz_field f_t_pasid_replace[] = {
	TSIZE, TOP(IOMMU_TEST_OP_PASID_REPLACE), F(TC, id, FZ_P_ID, FZ_ID_STDEV),
	FN("pasid", TC, pasid_replace.pasid, FZ_P_PASID, 0),
	FN("pt_id", TC, pasid_replace.pt_id, FZ_P_ID, FZ_ID_HWPT),
};
static const struct fz_field f_t_pasid_detach[] = {
	TSIZE, TOP(IOMMU_TEST_OP_PASID_DETACH), F(TC, id, FZ_P_ID, FZ_ID_STDEV),
	FN("pasid", TC, pasid_detach.pasid, FZ_P_PASID, 0),
};
static const struct fz_field f_t_pasid_check[] = {
	TSIZE, TOP(IOMMU_TEST_OP_PASID_CHECK_HWPT), F(TC, id, FZ_P_ID, FZ_ID_STDEV),
	FN("pasid", TC, pasid_check.pasid, FZ_P_PASID, 0),
	FN("hwpt_id", TC, pasid_check.hwpt_id, FZ_P_ID, FZ_ID_HWPT),
};
static const struct fz_field f_t_raw[] = {
	TSIZE, F(TC, op, FZ_P_U32, 0), F(TC, id, FZ_P_ID, FZ_ID_ANY),
	FN("a", TC, add_reserved.start, FZ_P_U64, 0),
	FN("b", TC, add_reserved.length, FZ_P_U64, 0),
};

/* ---- VFIO type1 (the container, and the compat ioctls on an iommufd) ------------------------- */

typedef struct vfio_iommu_type1_info T1I;
typedef struct vfio_iommu_type1_dma_map T1M;
typedef struct vfio_iommu_type1_dma_unmap T1U;

static const struct fz_field f_int_ext[] = { FN("ext", struct fz_int_arg, value, FZ_P_U32, 0) };
static const struct fz_field f_none[] = { };
static const struct fz_field f_t1_info[] = {
	SIZE(T1I, argsz, iova_pgsizes), F(T1I, flags, FZ_P_FLAGS, 0),
	OUT("iova_pgsizes", T1I, iova_pgsizes, FZ_OUT_SHOW, 0),
};
static const struct fz_field f_t1_map[] = {
	SIZE(T1M, argsz, size), F(T1M, flags, FZ_P_FLAGS, 3), F(T1M, vaddr, FZ_P_UVA, 0),
	F(T1M, iova, FZ_P_IOVA, 0), F(T1M, size, FZ_P_LEN, 0),
};
static const struct fz_field f_t1_unmap[] = {
	SIZE(T1U, argsz, size), F(T1U, flags, FZ_P_FLAGS, VFIO_DMA_UNMAP_FLAG_ALL),
	F(T1U, iova, FZ_P_IOVA, 0), INOUT("size", T1U, size, FZ_P_LEN, 0, FZ_OUT_SHOW, 0),
};

/* ---- VFIO devices and groups ----------------------------------------------------------------- */

typedef struct vfio_device_bind_iommufd DB;
typedef struct vfio_device_attach_iommufd_pt DA;
typedef struct vfio_device_detach_iommufd_pt DD;
typedef struct vfio_device_info DI;
typedef struct vfio_region_info RI;
typedef struct vfio_irq_info II;
typedef struct vfio_group_status GS;

static const struct fz_field f_bind[] = {
	SIZE(DB, argsz, out_devid), F(DB, flags, FZ_P_FLAGS, VFIO_DEVICE_BIND_FLAG_TOKEN),
	F(DB, iommufd, FZ_P_FD, FZ_FD_IOMMUFD),
	OUT("out_devid", DB, out_devid, FZ_OUT_ID, FZ_ID_DEV),
	F(DB, token_uuid_ptr, FZ_P_UVA, 0),
};
static const struct fz_field f_attach[] = {
	SIZE(DA, argsz, pt_id), F(DA, flags, FZ_P_FLAGS, VFIO_DEVICE_ATTACH_PASID),
	INOUT("pt_id", DA, pt_id, FZ_P_ID, FZ_ID_IOAS, FZ_OUT_ID, FZ_ID_HWPT),
	F(DA, pasid, FZ_P_PASID, 0),
};
static const struct fz_field f_detach[] = {
	SIZE(DD, argsz, flags), F(DD, flags, FZ_P_FLAGS, VFIO_DEVICE_DETACH_PASID),
	F(DD, pasid, FZ_P_PASID, 0),
};
static const struct fz_field f_dev_info[] = {
	SIZE(DI, argsz, num_irqs), OUT("num_regions", DI, num_regions, FZ_OUT_SHOW, 0),
};
static const struct fz_field f_region_info[] = {
	SIZE(RI, argsz, offset), F(RI, index, FZ_P_U32, 0), OUT("size", RI, size, FZ_OUT_SHOW, 0),
};
static const struct fz_field f_irq_info[] = {
	SIZE(II, argsz, count), F(II, index, FZ_P_U32, 0), OUT("count", II, count, FZ_OUT_SHOW, 0),
};
static const struct fz_field f_group_status[] = {
	SIZE(GS, argsz, flags), OUT("flags", GS, flags, FZ_OUT_SHOW, 0),
};
static const struct fz_field f_set_container[] = {
	FN("container", struct fz_int_arg, value, FZ_P_FD, FZ_FD_CONTAINER),
};
static const struct fz_field f_get_device_fd[] = {
	FN("name", struct fz_str_arg, name, FZ_P_DEVNAME, 0),
};

/* ---- files, memory, platform ----------------------------------------------------------------- */

static const struct fz_field f_open_index[] = {
	FN("index", struct fz_open_arg, index, FZ_P_U32, 0),
};
static const struct fz_field f_rw[] = { F(struct fz_rw_arg, len, FZ_P_U32, 0) };
static const struct fz_field f_respond[] = {
	F(struct fz_respond_arg, cookie, FZ_P_COOKIE, 0),
	F(struct fz_respond_arg, code, FZ_P_U32, 0),
	F(struct fz_respond_arg, len, FZ_P_U32, 0),
};
static const struct fz_field f_region_rw[] = {
	F(struct fz_region_arg, region, FZ_P_U32, 0),
	F(struct fz_region_arg, offset, FZ_P_U64, 0),
	F(struct fz_region_arg, len, FZ_P_U32, 0),
};
static const struct fz_field f_dma[] = {
	F(struct fz_dma_arg, src, FZ_P_IOVA, 0), F(struct fz_dma_arg, dst, FZ_P_IOVA, 0),
	F(struct fz_dma_arg, len, FZ_P_LEN, 0), F(struct fz_dma_arg, pasid, FZ_P_PASID, 0),
	F(struct fz_dma_arg, flags, FZ_P_FLAGS, 1),
};
static const struct fz_field f_poke[] = {
	F(struct fz_poke_arg, off, FZ_P_U64, 0), F(struct fz_poke_arg, value, FZ_P_U64, 0),
};
static const struct fz_field f_driver[] = {
	F(struct fz_driver_arg, dev, FZ_P_U32, 0), F(struct fz_driver_arg, driver, FZ_P_U32, 0),
};
static const struct fz_field f_driver_unbind[] = { F(struct fz_driver_arg, dev, FZ_P_U32, 0) };

/* ---- the table ------------------------------------------------------------------------------- */

#define IO FZ_FD_IOMMUFD
#define TEST(n, flds) IOCTL(n, IO, IOMMU_TEST_CMD, TC, flds)

const struct fz_call fz_calls[] = {
	/* files */
	CALL("OPEN_IOMMUFD", FZ_FD_NONE, struct fz_open_arg, f_none, exec_open_iommufd),
	CALL("OPEN_CONTAINER", FZ_FD_NONE, struct fz_open_arg, f_none, exec_open_container),
	CALL("OPEN_CDEV", FZ_FD_NONE, struct fz_open_arg, f_open_index, exec_open_cdev),
	CALL("OPEN_GROUP", FZ_FD_NONE, struct fz_open_arg, f_open_index, exec_open_group),
	CALL("CLOSE", FZ_FD_ANY, struct fz_open_arg, f_none, exec_close),
	CALL("DUP", FZ_FD_ANY, struct fz_open_arg, f_none, exec_dup),
	/* iommufd */
	{ .name = "DESTROY", .target = IO, .cmd = IOMMU_DESTROY,
	  .size = sizeof(struct iommu_destroy), .fields = f_destroy, .nfields = NF(f_destroy),
	  .exec = exec_destroy },
	IOCTL("IOAS_ALLOC", IO, IOMMU_IOAS_ALLOC, struct iommu_ioas_alloc, f_ioas_alloc),
	IOCTL("IOAS_ALLOW_IOVAS", IO, IOMMU_IOAS_ALLOW_IOVAS, struct iommu_ioas_allow_iovas,
	      f_allow_iovas),
	IOCTL("IOAS_COPY", IO, IOMMU_IOAS_COPY, struct iommu_ioas_copy, f_copy),
	IOCTL("IOAS_IOVA_RANGES", IO, IOMMU_IOAS_IOVA_RANGES, struct iommu_ioas_iova_ranges,
	      f_iova_ranges),
	IOCTL("IOAS_MAP", IO, IOMMU_IOAS_MAP, struct iommu_ioas_map, f_map),
	IOCTL("IOAS_MAP_FILE", IO, IOMMU_IOAS_MAP_FILE, struct iommu_ioas_map_file, f_map_file),
	IOCTL("IOAS_UNMAP", IO, IOMMU_IOAS_UNMAP, struct iommu_ioas_unmap, f_unmap),
	IOCTL("OPTION", IO, IOMMU_OPTION, struct iommu_option, f_option),
	IOCTL("VFIO_IOAS", IO, IOMMU_VFIO_IOAS, struct iommu_vfio_ioas, f_vfio_ioas),
	IOCTL("HWPT_ALLOC", IO, IOMMU_HWPT_ALLOC, struct iommu_hwpt_alloc, f_hwpt_alloc),
	IOCTL("GET_HW_INFO", IO, IOMMU_GET_HW_INFO, struct iommu_hw_info, f_hw_info),
	IOCTL("HWPT_SET_DIRTY_TRACKING", IO, IOMMU_HWPT_SET_DIRTY_TRACKING,
	      struct iommu_hwpt_set_dirty_tracking, f_set_dirty),
	IOCTL("HWPT_GET_DIRTY_BITMAP", IO, IOMMU_HWPT_GET_DIRTY_BITMAP,
	      struct iommu_hwpt_get_dirty_bitmap, f_get_dirty),
	IOCTL("HWPT_INVALIDATE", IO, IOMMU_HWPT_INVALIDATE, struct iommu_hwpt_invalidate,
	      f_invalidate),
	IOCTL("FAULT_QUEUE_ALLOC", IO, IOMMU_FAULT_QUEUE_ALLOC, struct iommu_fault_alloc,
	      f_fault_alloc),
	IOCTL("VIOMMU_ALLOC", IO, IOMMU_VIOMMU_ALLOC, struct iommu_viommu_alloc, f_viommu_alloc),
	IOCTL("VDEVICE_ALLOC", IO, IOMMU_VDEVICE_ALLOC, struct iommu_vdevice_alloc,
	      f_vdevice_alloc),
	IOCTL("IOAS_CHANGE_PROCESS", IO, IOMMU_IOAS_CHANGE_PROCESS,
	      struct iommu_ioas_change_process, f_change_process),
	IOCTL("VEVENTQ_ALLOC", IO, IOMMU_VEVENTQ_ALLOC, struct iommu_veventq_alloc,
	      f_veventq_alloc),
	IOCTL("HW_QUEUE_ALLOC", IO, IOMMU_HW_QUEUE_ALLOC, struct iommu_hw_queue_alloc,
	      f_hw_queue_alloc),
	CALL("RAW_IOCTL", FZ_FD_ANY, struct fz_raw_ioctl, f_raw_ioctl, exec_raw_ioctl),
	/* the selftest ABI */
	TEST("TEST_ADD_RESERVED", f_t_add_reserved),
	TEST("TEST_MOCK_DOMAIN", f_t_mock_domain),
	TEST("TEST_MOCK_DOMAIN_FLAGS", f_t_mock_domain_flags),
	TEST("TEST_MOCK_DOMAIN_REPLACE", f_t_mock_domain_replace),
	TEST("TEST_MD_CHECK_MAP", f_t_check_map),
	TEST("TEST_MD_CHECK_REFS", f_t_check_refs),
	TEST("TEST_MD_CHECK_IOTLB", f_t_check_iotlb),
	TEST("TEST_CREATE_ACCESS", f_t_create_access),
	TEST("TEST_ACCESS_REPLACE_IOAS", f_t_access_replace_ioas),
	TEST("TEST_ACCESS_PAGES", f_t_access_pages),
	TEST("TEST_ACCESS_RW", f_t_access_rw),
	TEST("TEST_DESTROY_ACCESS_PAGES", f_t_destroy_access_pages),
	TEST("TEST_SET_TEMP_MEMORY_LIMIT", f_t_memory_limit),
	TEST("TEST_DIRTY", f_t_dirty),
	TEST("TEST_TRIGGER_IOPF", f_t_trigger_iopf),
	TEST("TEST_PASID_ATTACH", f_t_pasid_attach),
	TEST("TEST_PASID_REPLACE", f_t_pasid_replace),
	TEST("TEST_PASID_DETACH", f_t_pasid_detach),
	TEST("TEST_PASID_CHECK_HWPT", f_t_pasid_check),
	TEST("TEST_RAW", f_t_raw),
	/* VFIO type1 */
	CALLC("VFIO_GET_API_VERSION", FZ_FD_CONTAINER, VFIO_GET_API_VERSION, f_none, exec_no_arg),
	CALLC("VFIO_CHECK_EXTENSION", FZ_FD_CONTAINER, VFIO_CHECK_EXTENSION, f_int_ext,
	      exec_int_arg),
	CALLC("VFIO_SET_IOMMU", FZ_FD_CONTAINER, VFIO_SET_IOMMU, f_int_ext, exec_int_arg),
	IOCTL("VFIO_IOMMU_GET_INFO", FZ_FD_CONTAINER, VFIO_IOMMU_GET_INFO, T1I, f_t1_info),
	IOCTL("VFIO_IOMMU_MAP_DMA", FZ_FD_CONTAINER, VFIO_IOMMU_MAP_DMA, T1M, f_t1_map),
	IOCTL("VFIO_IOMMU_UNMAP_DMA", FZ_FD_CONTAINER, VFIO_IOMMU_UNMAP_DMA, T1U, f_t1_unmap),
	/* VFIO devices */
	IOCTL("VFIO_DEVICE_BIND_IOMMUFD", FZ_FD_DEVICE, VFIO_DEVICE_BIND_IOMMUFD, DB, f_bind),
	IOCTL("VFIO_DEVICE_ATTACH_IOMMUFD_PT", FZ_FD_DEVICE, VFIO_DEVICE_ATTACH_IOMMUFD_PT, DA,
	      f_attach),
	IOCTL("VFIO_DEVICE_DETACH_IOMMUFD_PT", FZ_FD_DEVICE, VFIO_DEVICE_DETACH_IOMMUFD_PT, DD,
	      f_detach),
	IOCTL("VFIO_DEVICE_GET_INFO", FZ_FD_DEVICE, VFIO_DEVICE_GET_INFO, DI, f_dev_info),
	IOCTL("VFIO_DEVICE_GET_REGION_INFO", FZ_FD_DEVICE, VFIO_DEVICE_GET_REGION_INFO, RI,
	      f_region_info),
	IOCTL("VFIO_DEVICE_GET_IRQ_INFO", FZ_FD_DEVICE, VFIO_DEVICE_GET_IRQ_INFO, II, f_irq_info),
	{ .name = "VFIO_DEVICE_RESET", .target = FZ_FD_DEVICE, .cmd = VFIO_DEVICE_RESET,
	  .size = 4, .fields = f_none, .nfields = 0, .exec = exec_no_arg },
	CALL("BAR0_DMA", FZ_FD_DEVICE, struct fz_dma_arg, f_dma, exec_bar0_dma),
	CALL("PREAD", FZ_FD_DEVICE, struct fz_region_arg, f_region_rw, exec_pread),
	CALL("PWRITE", FZ_FD_DEVICE, struct fz_region_arg, f_region_rw, exec_pwrite),
	/* VFIO groups */
	IOCTL("VFIO_GROUP_GET_STATUS", FZ_FD_GROUP, VFIO_GROUP_GET_STATUS, GS, f_group_status),
	IOCTL("VFIO_GROUP_SET_CONTAINER", FZ_FD_GROUP, VFIO_GROUP_SET_CONTAINER,
	      struct fz_int_arg, f_set_container),
	{ .name = "VFIO_GROUP_UNSET_CONTAINER", .target = FZ_FD_GROUP,
	  .cmd = VFIO_GROUP_UNSET_CONTAINER, .size = 4, .fields = f_none, .nfields = 0,
	  .exec = exec_no_arg },
	{ .name = "VFIO_GROUP_GET_DEVICE_FD", .target = FZ_FD_GROUP,
	  .cmd = VFIO_GROUP_GET_DEVICE_FD, .size = sizeof(struct fz_str_arg),
	  .fields = f_get_device_fd, .nfields = NF(f_get_device_fd), .exec = exec_str_arg,
	  .ret = FZ_OUT_FD, .ret_kind = FZ_FD_DEVICE },
	/* fault queues and other files */
	CALL("READ", FZ_FD_ANY, struct fz_rw_arg, f_rw, exec_read),
	CALL("WRITE", FZ_FD_ANY, struct fz_rw_arg, f_rw, exec_write),
	CALL("FAULT_RESPOND", FZ_FD_FAULT, struct fz_respond_arg, f_respond, exec_respond),
	/* memory and the platform */
	CALL("POKE", FZ_FD_NONE, struct fz_poke_arg, f_poke, exec_poke),
	CALL("DRIVER_BIND", FZ_FD_NONE, struct fz_driver_arg, f_driver, exec_driver_bind),
	CALL("DRIVER_UNBIND", FZ_FD_NONE, struct fz_driver_arg, f_driver_unbind,
	     exec_driver_unbind),
};

const unsigned int fz_ncalls = NF(fz_calls);
