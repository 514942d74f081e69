/* test_vfio.c — the VFIO layer (src/vfio) over the platform and the reference: device cdevs,
 * group files, containers, BAR0's DMA engine; and, end to end, the unmodified clients
 * tests/clients/type1_client and cdev_client under ioasid-run. Suites `vfio` and `vfio_clients`.
 *
 * Each test runs on a private copy of the built-in default host (platform_set_default), so
 * ownership and exclusivity start clean. The host (docs/TOPOLOGY.md):
 *   group 3  0000:00:02.0 vfio0 (vfio-pci, 20-bit PASID)     group 9  0000:01:00.0 vfio3, .1 vfio4
 *   group 12 0000:02:01.0 vfio5 (vfio-pci) + 0000:02:02.0 vfio6 (e1000e, DMA API)
 *   group 7  0000:00:17.0 vfio2 (ahci)                      group 21 mdev0 vfio8 (software table)
 *
 * The file table of the environment (what the shim does with real fds) is a small array here:
 * fd numbers from FD_BASE name contexts, containers and device files. Errnos are the kernel's:
 * drivers/vfio/{device_cdev,group,iommufd}.c, vfio_main.c, vfio_pci_core.c. */
#include "ioasid_test.h"
#include "private_host.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "platform/platform.h"
#include "reference/device.h"
#include "vfio/vfio.h"

#define PAGE 4096UL
#define FD_BASE 100
#define FD_MAX 32
#define IOVA_BASE (1ULL << 30)
#define BUF_SIZE (4UL << 20)

/* ---- the environment: a file table ------------------------------------------------------- */

static struct test_file {
	enum vfio_fd_kind kind;
	struct ioasid_ctx *ctx;           /* IOMMUFD / CONTAINER */
	struct vfio_device_file *df;      /* device files from GET_DEVICE_FD */
	bool used;
} fds[FD_MAX];

static int files_get(void *data, int fd, struct vfio_fd_ref *ref)
{
	memset(ref, 0, sizeof(*ref));
	if (fd >= FD_BASE && fd < FD_BASE + FD_MAX && fds[fd - FD_BASE].used) {
		ref->kind = fds[fd - FD_BASE].kind;
		ref->ctx = fds[fd - FD_BASE].ctx;
		return 0;
	}
	if (fd >= 0 && fd <= 2)
		return 0; /* stdio: open, but neither an iommufd nor a container */
	return -EBADF;
}

static void files_put(void *data, struct vfio_fd_ref *ref) { }

static int fd_alloc(void)
{
	for (int i = 0; i != FD_MAX; i++)
		if (!fds[i].used) {
			fds[i].used = true;
			return FD_BASE + i;
		}
	return -EMFILE;
}

static int files_install_device(void *data, struct vfio_device_file *df)
{
	int fd = fd_alloc();

	if (fd < 0) {
		vfio_device_close(df);
		return fd;
	}
	fds[fd - FD_BASE].kind = VFIO_FD_OTHER;
	fds[fd - FD_BASE].df = df;
	return fd;
}

static const struct vfio_files files = {
	.get = files_get, .put = files_put, .install_device = files_install_device,
};

static struct test_file *file_of(int fd)
{
	cr_assert(fd >= FD_BASE && fd < FD_BASE + FD_MAX && fds[fd - FD_BASE].used, "fd %d", fd);
	return &fds[fd - FD_BASE];
}

static int ctx_fd(struct ioasid_ctx *ctx, enum vfio_fd_kind kind)
{
	int fd = fd_alloc();

	cr_assert_geq(fd, 0);
	file_of(fd)->kind = kind;
	file_of(fd)->ctx = ctx;
	return fd;
}

static int iommufd_open(void)
{
	struct ioasid_ctx *ctx;

	assert_rc(0, ioasid_ctx_open(&ctx));
	return ctx_fd(ctx, VFIO_FD_IOMMUFD);
}

static int container_open(void)
{
	struct ioasid_ctx *ctx;

	assert_rc(0, vfio_container_open(&ctx));
	return ctx_fd(ctx, VFIO_FD_CONTAINER);
}

static struct ioasid_ctx *ctx_of(int fd)
{
	return file_of(fd)->ctx;
}

static struct vfio_device_file *df_of(int fd)
{
	cr_assert_not_null(file_of(fd)->df);
	return file_of(fd)->df;
}

static void fd_close(int fd)
{
	struct test_file *f = file_of(fd);

	if (f->df)
		vfio_device_close(f->df);
	else if (f->ctx)
		ioasid_ctx_close(f->ctx);
	memset(f, 0, sizeof(*f));
}

/* ---- fixture: a private host, `self` is iommufd SELF_FD ----------------------------------- */

static int self_fd;
static uint8_t *buf;

static void vfio_setup(void)
{
	private_host_open();
	ctx_setup();
	memset(fds, 0, sizeof(fds));
	self_fd = ctx_fd(self, VFIO_FD_IOMMUFD);
	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(buf, MAP_FAILED);
	memset(buf, 0, BUF_SIZE);
}

static void vfio_teardown(void)
{
	file_of(self_fd)->ctx = NULL; /* ctx_teardown closes it */
	for (int i = 0; i != FD_MAX; i++)
		if (fds[i].used && FD_BASE + i != self_fd)
			fd_close(FD_BASE + i);
	memset(fds, 0, sizeof(fds));
	ctx_teardown();
	platform_set_default(NULL);
	munmap(buf, BUF_SIZE);
}

TestSuite(vfio, .init = vfio_setup, .fini = vfio_teardown);

/* ---- device files: helpers --------------------------------------------------------------- */

static struct vfio_device_file *cdev_open_ok(uint32_t vfio_index)
{
	struct vfio_device_file *df = NULL;

	assert_rc(0, vfio_cdev_open(vfio_index, &df));
	return df;
}

static int _bind(struct vfio_device_file *df, int iommufd, uint32_t argsz, uint32_t *devid)
{
	struct vfio_device_bind_iommufd cmd = { .argsz = argsz, .iommufd = iommufd };
	int rc = (int)vfio_device_ioctl(df, VFIO_DEVICE_BIND_IOMMUFD, &cmd, &files);

	if (!rc && devid)
		*devid = cmd.out_devid;
	return rc;
}
static uint32_t bind_ok(struct vfio_device_file *df, int iommufd)
{
	uint32_t devid = 0;

	assert_rc(0, _bind(df, iommufd, sizeof(struct vfio_device_bind_iommufd), &devid));
	cr_assert_neq(devid, 0);
	cr_assert_eq(vfio_device_file_devid(df), devid);
	return devid;
}
#define bind_err(e, df, fd) assert_rc(-(e), _bind(df, fd, sizeof(struct vfio_device_bind_iommufd), NULL))

static int _attach(struct vfio_device_file *df, uint32_t *pt_id, uint32_t flags, uint32_t pasid,
		   uint32_t argsz)
{
	struct vfio_device_attach_iommufd_pt cmd = { .argsz = argsz, .flags = flags,
						     .pt_id = *pt_id, .pasid = pasid };
	int rc = (int)vfio_device_ioctl(df, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &cmd, &files);

	if (!rc)
		*pt_id = cmd.pt_id;
	return rc;
}
static uint32_t attach_ok(struct vfio_device_file *df, uint32_t pt_id)
{
	assert_rc(0, _attach(df, &pt_id, 0, 0, sizeof(struct vfio_device_attach_iommufd_pt)));
	return pt_id;
}
static uint32_t attach_pasid_ok(struct vfio_device_file *df, uint32_t pt_id, uint32_t pasid)
{
	assert_rc(0, _attach(df, &pt_id, VFIO_DEVICE_ATTACH_PASID, pasid,
			     sizeof(struct vfio_device_attach_iommufd_pt)));
	return pt_id;
}

static int _detach(struct vfio_device_file *df, uint32_t flags, uint32_t pasid, uint32_t argsz)
{
	struct vfio_device_detach_iommufd_pt cmd = { .argsz = argsz, .flags = flags,
						     .pasid = pasid };

	return (int)vfio_device_ioctl(df, VFIO_DEVICE_DETACH_IOMMUFD_PT, &cmd, &files);
}
#define detach_ok(df) assert_rc(0, _detach(df, 0, 0, sizeof(struct vfio_device_detach_iommufd_pt)))

/* IOAS helpers on any context. */
static uint32_t ioas_alloc_on(struct ioasid_ctx *ctx)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	assert_rc(0, ioasid_ctx_ioctl(ctx, IOMMU_IOAS_ALLOC, &cmd));
	return cmd.out_ioas_id;
}

static void ioas_map_on(struct ioasid_ctx *ctx, uint32_t ioas, void *va, uint64_t len,
			uint64_t iova)
{
	struct iommu_ioas_map cmd = { .size = sizeof(cmd), .flags = MAP_FIXED_RW, .ioas_id = ioas,
				      .user_va = (uintptr_t)va, .length = len, .iova = iova };

	assert_rc(0, ioasid_ctx_ioctl(ctx, IOMMU_IOAS_MAP, &cmd));
}

static void ioas_unmap_on(struct ioasid_ctx *ctx, uint32_t ioas, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap cmd = { .size = sizeof(cmd), .ioas_id = ioas, .iova = iova,
					.length = len };

	assert_rc(0, ioasid_ctx_ioctl(ctx, IOMMU_IOAS_UNMAP, &cmd));
}

/* ---- BAR0 helpers ------------------------------------------------------------------------ */

static void bar_write(struct vfio_device_file *df, uint64_t off, uint64_t v, size_t width)
{
	cr_assert_eq(vfio_device_pwrite(df, &v, width, off), (ssize_t)width);
}

static uint64_t bar_read(struct vfio_device_file *df, uint64_t off, size_t width)
{
	uint64_t v = 0;

	cr_assert_eq(vfio_device_pread(df, &v, width, off), (ssize_t)width);
	return v;
}

/* Program and ring the engine; STATUS. */
static uint32_t dma_copy(struct vfio_device_file *df, uint64_t src, uint64_t dst, uint64_t len,
			 bool use_pasid, uint32_t pasid)
{
	bar_write(df, VFIO_DMA_REG_SRC_IOVA, src, 8);
	bar_write(df, VFIO_DMA_REG_DST_IOVA, dst, 8);
	bar_write(df, VFIO_DMA_REG_LEN, len, 8);
	bar_write(df, VFIO_DMA_REG_PASID, pasid, 4);
	bar_write(df, VFIO_DMA_REG_FLAGS, use_pasid ? VFIO_DMA_FLAG_PASID_VALID : 0, 4);
	bar_write(df, VFIO_DMA_REG_DOORBELL, 1, 4);
	cr_assert_eq(bar_read(df, VFIO_DMA_REG_DOORBELL, 4), 0);
	return (uint32_t)bar_read(df, VFIO_DMA_REG_STATUS, 4);
}

static void fill_pattern(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i != len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* A copy through the IOMMU: src half of buf to dst half, both mapped at IOVA_BASE. */
static void check_dma_works(struct vfio_device_file *df, bool use_pasid, uint32_t pasid)
{
	const uint64_t len = 3 * PAGE + 100, src_off = PAGE - 50, dst_off = BUF_SIZE / 2 + 17;

	fill_pattern(buf + src_off, len, 0x21);
	memset(buf + dst_off, 0, len);
	cr_assert_eq(dma_copy(df, IOVA_BASE + src_off, IOVA_BASE + dst_off, len, use_pasid,
			      pasid), VFIO_DMA_STATUS_OK);
	cr_assert_eq(memcmp(buf + src_off, buf + dst_off, len), 0, "the device copied wrong bytes");
	cr_assert_eq(bar_read(df, VFIO_DMA_REG_FAULT_IOVA, 8), 0);
}

static void check_dma_faults(struct vfio_device_file *df, uint64_t src, bool use_pasid,
			     uint32_t pasid)
{
	cr_assert_eq(dma_copy(df, src, IOVA_BASE + BUF_SIZE / 2, PAGE, use_pasid, pasid),
		     VFIO_DMA_STATUS_FAULT);
	cr_assert_eq(bar_read(df, VFIO_DMA_REG_FAULT_IOVA, 8), src);
}

/* ---- cdev: bind ---------------------------------------------------------------------------- */

Test(vfio, cdev_open_checks)
{
	struct vfio_device_file *df = NULL;

	assert_rc(-ENOENT, vfio_cdev_open(99, &df));
	/* 0000:00:17.0 is on ahci: no VFIO device, no node */
	assert_rc(-ENOENT, vfio_cdev_open(2, &df));
	cr_assert(strstr(vfio_last_error(), "ahci"), "%s", vfio_last_error());
	/* so is a NIC on a DMA-API driver */
	assert_rc(-ENOENT, vfio_cdev_open(6, &df));
	cr_assert(strstr(vfio_last_error(), "e1000e"), "%s", vfio_last_error());
}

Test(vfio, cdev_nothing_before_bind)
{
	struct vfio_device_file *df = cdev_open_ok(0);
	struct vfio_device_info info = { .argsz = sizeof(info) };
	uint32_t pt = ioas_alloc_ok();
	uint8_t b[8];

	assert_rc(-EINVAL, vfio_device_ioctl(df, VFIO_DEVICE_GET_INFO, &info, &files));
	assert_rc(-EINVAL, _attach(df, &pt, 0, 0, sizeof(struct vfio_device_attach_iommufd_pt)));
	assert_rc(-EINVAL, _detach(df, 0, 0, sizeof(struct vfio_device_detach_iommufd_pt)));
	assert_rc(-EINVAL, vfio_device_ioctl(df, 0x3b99, NULL, &files));
	assert_rc(-EINVAL, vfio_device_pread(df, b, 8, 0));
	assert_rc(-EINVAL, vfio_device_pwrite(df, b, 8, 0));
	assert_rc(-EINVAL, vfio_device_read(df, b, 8));
	cr_assert_eq(vfio_device_file_devid(df), 0);
	vfio_device_close(df);
}

Test(vfio, cdev_bind_argument_checks)
{
	struct vfio_device_file *df = cdev_open_ok(0);
	uint8_t big[40] = { 0 };
	struct vfio_device_bind_iommufd *cmd = (void *)big;

	/* argsz below the original 16-byte struct */
	assert_rc(-EINVAL, _bind(df, self_fd, 15, NULL));
	/* a longer struct must be zero beyond what the kernel knows */
	cmd->argsz = sizeof(big);
	cmd->iommufd = self_fd;
	big[30] = 1;
	assert_rc(-E2BIG, vfio_device_ioctl(df, VFIO_DEVICE_BIND_IOMMUFD, big, &files));
	/* unknown flags, negative fd */
	{
		struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .flags = 2,
						      .iommufd = self_fd };

		assert_rc(-EINVAL, vfio_device_ioctl(df, VFIO_DEVICE_BIND_IOMMUFD, &b, &files));
	}
	bind_err(EINVAL, df, -1);
	/* an fd that is not open, one that is not an iommufd */
	bind_err(EBADF, df, 77);
	bind_err(EBADFD, df, 1);
	assert_rc(-EFAULT, vfio_device_ioctl(df, VFIO_DEVICE_BIND_IOMMUFD, (void *)8, &files));
	/* none of that left the device bound or blocked its group */
	cr_assert_eq(vfio_device_file_devid(df), 0);
	vfio_device_close(df);
	{
		struct vfio_group_file *gf;

		assert_rc(0, vfio_group_open(3, &gf));
		vfio_group_close(gf);
	}
}

Test(vfio, cdev_bind_16_and_24_byte_structs)
{
	struct vfio_device_file *a = cdev_open_ok(0), *b = cdev_open_ok(1);
	uint32_t da = 0, db = 0;

	assert_rc(0, _bind(a, self_fd, 16, &da)); /* v6.6 layout */
	assert_rc(0, _bind(b, self_fd, 24, &db)); /* v6.17 layout, no token */
	cr_assert_neq(da, 0);
	cr_assert_neq(db, 0);
	cr_assert_neq(da, db);
	vfio_device_close(a);
	vfio_device_close(b);
}

Test(vfio, cdev_bind_token)
{
	struct vfio_device_file *df = cdev_open_ok(0);
	uint8_t uuid[16] = { 1, 2, 3 };
	struct vfio_device_bind_iommufd cmd = { .argsz = sizeof(cmd),
						.flags = VFIO_DEVICE_BIND_FLAG_TOKEN,
						.iommufd = self_fd, .token_uuid_ptr = 8 };

	assert_rc(-EFAULT, vfio_device_ioctl(df, VFIO_DEVICE_BIND_IOMMUFD, &cmd, &files));
	cmd.token_uuid_ptr = (uintptr_t)uuid;
	assert_rc(0, vfio_device_ioctl(df, VFIO_DEVICE_BIND_IOMMUFD, &cmd, &files));
	vfio_device_close(df);
}

Test(vfio, second_bind_is_einval)
{
	struct vfio_device_file *df = cdev_open_ok(0), *df2 = cdev_open_ok(0);
	int other = iommufd_open();

	bind_ok(df, self_fd);
	/* the same file again, even to the same context */
	bind_err(EINVAL, df, self_fd);
	bind_err(EINVAL, df, other);
	/* a second file of the same device: the cdev path opens a device once */
	bind_err(EINVAL, df2, self_fd);
	vfio_device_close(df2);
	vfio_device_close(df);
	/* once the first is closed the device binds again */
	df = cdev_open_ok(0);
	bind_ok(df, other);
	vfio_device_close(df);
}

Test(vfio, bind_creates_a_device_object)
{
	struct vfio_device_file *df = cdev_open_ok(0);
	uint32_t devid = bind_ok(df, self_fd);

	/* the dev_id names a device of the context: destroying it is refused while bound */
	destroy_err(EBUSY, devid);
	vfio_device_close(df);
	destroy_err(ENOENT, devid);
}

Test(vfio, cdev_bind_keeps_context_alive)
{
	struct vfio_device_file *df = cdev_open_ok(0);
	int fd = iommufd_open();
	struct ioasid_ctx *ctx = ctx_of(fd);
	uint32_t ioas = ioas_alloc_on(ctx);

	bind_ok(df, fd);
	ioas_map_on(ctx, ioas, buf, BUF_SIZE, IOVA_BASE);
	attach_ok(df, ioas);
	/* the program closes its iommufd first: the device still works */
	file_of(fd)->ctx = NULL;
	fd_close(fd);
	ioasid_ctx_close(ctx);
	check_dma_works(df, false, 0);
	vfio_device_close(df);
}

/* ---- cdev: attach / replace / detach ------------------------------------------------------- */

Test(vfio, attach_detach_replace)
{
	struct vfio_device_file *df = cdev_open_ok(0);
	uint32_t ioas1 = ioas_alloc_ok(), ioas2 = ioas_alloc_ok(), pt, hwpt1, hwpt2;
	uint8_t *other = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	bind_ok(df, self_fd);
	ioas_map_fixed_ok(ioas1, buf, BUF_SIZE, IOVA_BASE);
	ioas_map_fixed_ok(ioas2, other, BUF_SIZE, IOVA_BASE);

	/* argument checks: 12 bytes minimum, flags */
	pt = ioas1;
	assert_rc(-EINVAL, _attach(df, &pt, 0, 0, 11));
	assert_rc(-EINVAL, _attach(df, &pt, 2, 0, 16));
	assert_rc(-EFAULT, vfio_device_ioctl(df, VFIO_DEVICE_ATTACH_IOMMUFD_PT, (void *)8,
					     &files));
	pt = 999;
	assert_rc(-ENOENT, _attach(df, &pt, 0, 0, 16));

	/* the 12-byte (pre-PASID) struct: pt_id comes back as the automatic HWPT */
	pt = ioas1;
	assert_rc(0, _attach(df, &pt, 0, 0, 12));
	hwpt1 = pt;
	cr_assert_neq(hwpt1, ioas1);
	check_dma_works(df, false, 0);

	/* a second attach replaces: the device now sees ioas2's memory */
	hwpt2 = attach_ok(df, ioas2);
	cr_assert_neq(hwpt2, hwpt1);
	fill_pattern(other + 64, 128, 9);
	cr_assert_eq(dma_copy(df, IOVA_BASE + 64, IOVA_BASE + 8192, 128, false, 0), 0);
	cr_assert_eq(memcmp(other + 64, other + 8192, 128), 0);
	/* ioas1's automatic domain went with the replace: ioas1 can be destroyed */
	destroy_ok(ioas1);

	/* detach: 8 bytes minimum, flags; then DMA is blocked */
	assert_rc(-EINVAL, _detach(df, 0, 0, 7));
	assert_rc(-EINVAL, _detach(df, 4, 0, 12));
	assert_rc(0, _detach(df, 0, 0, 8));
	check_dma_faults(df, IOVA_BASE, false, 0);
	/* detaching again is a no-op */
	detach_ok(df);
	/* and the IOAS is free again */
	destroy_ok(ioas2);
	vfio_device_close(df);
	munmap(other, BUF_SIZE);
}

Test(vfio, attach_to_a_hwpt)
{
	struct vfio_device_file *df = cdev_open_ok(0);
	uint32_t devid = bind_ok(df, self_fd), ioas = ioas_alloc_ok();
	struct iommu_hwpt_alloc alloc = { .size = sizeof(alloc), .dev_id = devid, .pt_id = ioas };

	ioas_map_fixed_ok(ioas, buf, BUF_SIZE, IOVA_BASE);
	assert_rc(0, _ioctl(IOMMU_HWPT_ALLOC, &alloc));
	cr_assert_eq(attach_ok(df, alloc.out_hwpt_id), alloc.out_hwpt_id);
	check_dma_works(df, false, 0);
	/* in use: the HWPT cannot go */
	destroy_err(EBUSY, alloc.out_hwpt_id);
	detach_ok(df);
	destroy_ok(alloc.out_hwpt_id);
	vfio_device_close(df);
}

Test(vfio, pasid_attach)
{
	struct vfio_device_file *df = cdev_open_ok(0); /* 20-bit PASID */
	uint32_t devid = bind_ok(df, self_fd), ioas = ioas_alloc_ok(), pt;
	struct iommu_hwpt_alloc alloc = { .size = sizeof(alloc), .flags = IOMMU_HWPT_ALLOC_PASID,
					  .dev_id = devid, .pt_id = ioas };

	ioas_map_fixed_ok(ioas, buf, BUF_SIZE, IOVA_BASE);
	assert_rc(0, _ioctl(IOMMU_HWPT_ALLOC, &alloc));
	attach_ok(df, alloc.out_hwpt_id); /* the RID on a PASID-compatible HWPT */

	/* the PASID flag needs the 16-byte struct */
	pt = alloc.out_hwpt_id;
	assert_rc(-EINVAL, _attach(df, &pt, VFIO_DEVICE_ATTACH_PASID, 5, 12));
	/* an IOAS cannot be attached to a PASID (no PASID-compatible automatic domain) */
	pt = ioas;
	assert_rc(-EINVAL, _attach(df, &pt, VFIO_DEVICE_ATTACH_PASID, 5, 16));
	cr_assert_eq(attach_pasid_ok(df, alloc.out_hwpt_id, 5), alloc.out_hwpt_id);
	check_dma_works(df, true, 5);
	/* attach of an attached PASID is a replace */
	attach_pasid_ok(df, alloc.out_hwpt_id, 5);
	/* an unattached PASID faults */
	check_dma_faults(df, IOVA_BASE, true, 6);
	/* detach: the flag needs 12 bytes */
	assert_rc(-EINVAL, _detach(df, VFIO_DEVICE_DETACH_PASID, 5, 8));
	assert_rc(0, _detach(df, VFIO_DEVICE_DETACH_PASID, 5, 12));
	check_dma_faults(df, IOVA_BASE, true, 5);
	/* the RID still works */
	check_dma_works(df, false, 0);
	/* PASID 5 again, then close with it attached: unbind detaches everything */
	attach_pasid_ok(df, alloc.out_hwpt_id, 5);
	vfio_device_close(df);
	destroy_ok(alloc.out_hwpt_id);
}

Test(vfio, pasid_on_a_device_without_pasid)
{
	struct vfio_device_file *df = cdev_open_ok(3); /* 0000:01:00.0: no PASID capability */
	uint32_t ioas = ioas_alloc_ok(), pt = ioas;

	bind_ok(df, self_fd);
	ioas_map_fixed_ok(ioas, buf, BUF_SIZE, IOVA_BASE);
	assert_rc(-EINVAL, _attach(df, &pt, VFIO_DEVICE_ATTACH_PASID, 1, 16));
	attach_ok(df, ioas);
	/* the engine cannot tag a DMA with a PASID the device does not have */
	cr_assert_eq(dma_copy(df, IOVA_BASE, IOVA_BASE + PAGE, 64, true, 1),
		     VFIO_DMA_STATUS_BAD_CMD);
	check_dma_works(df, false, 0);
	vfio_device_close(df);
}

static struct vfio_group_file *group_open_ok(uint32_t id);
static uint32_t group_status_ok(struct vfio_group_file *gf);
static int _set_container(struct vfio_group_file *gf, int fd);
static int _get_device_fd(struct vfio_group_file *gf, const char *name);
#define set_container_ok(gf, fd) assert_rc(0, _set_container(gf, fd))

/* ---- ownership and exclusivity ------------------------------------------------------------- */

Test(vfio, cdev_and_group_are_exclusive)
{
	struct vfio_device_file *df = cdev_open_ok(0), *df2;
	struct vfio_group_file *gf, *gf2;

	/* an open cdev that is not bound blocks nothing */
	assert_rc(0, vfio_group_open(3, &gf));
	/* the group fd is open once at a time */
	assert_rc(-EBUSY, vfio_group_open(3, &gf2));
	/* no cdev bind while the group is open */
	bind_err(EBUSY, df, self_fd);
	cr_assert(strstr(vfio_last_error(), "/dev/vfio/3"), "%s", vfio_last_error());
	vfio_group_close(gf);
	bind_ok(df, self_fd);
	/* no group open while a device of it is bound through its cdev */
	assert_rc(-EBUSY, vfio_group_open(3, &gf2));
	cr_assert(strstr(vfio_last_error(), "0000:00:02.0"), "%s", vfio_last_error());
	/* other groups are not affected */
	assert_rc(0, vfio_group_open(9, &gf2));
	vfio_group_close(gf2);
	vfio_device_close(df);
	/* closing the cdev ends it */
	assert_rc(0, vfio_group_open(3, &gf));
	df2 = cdev_open_ok(0);
	bind_err(EBUSY, df2, self_fd);
	vfio_device_close(df2);
	vfio_group_close(gf);
}

Test(vfio, second_context_in_claimed_group_is_eperm)
{
	struct vfio_device_file *gpu = cdev_open_ok(3), *audio = cdev_open_ok(4);
	int other = iommufd_open();

	/* group 9: 0000:01:00.0 and 0000:01:00.1. The first bind claims the group for `self`. */
	bind_ok(gpu, self_fd);
	bind_err(EPERM, audio, other);
	cr_assert(strstr(vfio_last_error(), "0000:01:00.1"), "%s", vfio_last_error());
	cr_assert(strstr(vfio_last_error(), "owned"), "%s", vfio_last_error());
	/* the same context may bind the sibling */
	bind_ok(audio, self_fd);
	vfio_device_close(audio);
	vfio_device_close(gpu);
	/* released: now the other context can take the group */
	audio = cdev_open_ok(4);
	bind_ok(audio, other);
	vfio_device_close(audio);
}

Test(vfio, bind_refused_for_dma_api_sibling)
{
	struct vfio_device_file *df = cdev_open_ok(5); /* 0000:02:01.0, group 12 */

	bind_err(EPERM, df, self_fd);
	cr_assert(strstr(vfio_last_error(), "0000:02:01.0"), "%s", vfio_last_error());
	cr_assert(strstr(vfio_last_error(), "0000:02:02.0"), "names the sibling: %s",
		  vfio_last_error());
	cr_assert(strstr(vfio_last_error(), "e1000e"), "names its driver: %s", vfio_last_error());
	vfio_device_close(df);
	/* the failed bind left no cdev claim: the group opens. With an iommufd nothing is claimed
	 * at SET_CONTAINER (the kernel even reports VIABLE then); GET_DEVICE_FD is refused. */
	{
		struct vfio_group_file *gf = group_open_ok(12);

		cr_assert_eq(group_status_ok(gf), 0);
		set_container_ok(gf, self_fd);
		cr_assert_eq(group_status_ok(gf),
			     VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
		assert_rc(-EPERM, _get_device_fd(gf, "0000:02:01.0"));
		cr_assert(strstr(vfio_last_error(), "0000:02:02.0") &&
			  strstr(vfio_last_error(), "e1000e"), "%s", vfio_last_error());
		/* the NIC itself is no VFIO device */
		assert_rc(-ENODEV, _get_device_fd(gf, "0000:02:02.0"));
		vfio_group_close(gf);
	}
}

Test(vfio, bind_refused_then_allowed_after_unbinding_the_driver)
{
	struct vfio_device_file *df = cdev_open_ok(5);
	struct platform *p;
	char why[256];

	assert_rc(0, platform_default(&p));
	assert_rc(0, platform_driver_unbind(p, 6, why, sizeof(why))); /* e1000e off 02:02.0 */
	bind_ok(df, self_fd);
	/* and the kernel driver cannot come back while the group is owned */
	assert_rc(-EBUSY, platform_driver_bind(p, 6, "e1000e", why, sizeof(why)));
	vfio_device_close(df);
}

/* ---- groups ------------------------------------------------------------------------------ */

static int _group_status(struct vfio_group_file *gf, uint32_t argsz, uint32_t *flags)
{
	struct vfio_group_status st = { .argsz = argsz };
	int rc = (int)vfio_group_ioctl(gf, VFIO_GROUP_GET_STATUS, &st, &files);

	if (!rc)
		*flags = st.flags;
	return rc;
}
static uint32_t group_status_ok(struct vfio_group_file *gf)
{
	uint32_t flags = 0;

	assert_rc(0, _group_status(gf, sizeof(struct vfio_group_status), &flags));
	return flags;
}

static int _set_container(struct vfio_group_file *gf, int fd)
{
	int32_t v = fd;

	return (int)vfio_group_ioctl(gf, VFIO_GROUP_SET_CONTAINER, &v, &files);
}
#define set_container_err(e, gf, fd) assert_rc(-(e), _set_container(gf, fd))
#define unset_container(gf) ((int)vfio_group_ioctl(gf, VFIO_GROUP_UNSET_CONTAINER, NULL, &files))

static int _get_device_fd(struct vfio_group_file *gf, const char *name)
{
	return (int)vfio_group_ioctl(gf, VFIO_GROUP_GET_DEVICE_FD, (void *)name, &files);
}
static int get_device_fd_ok(struct vfio_group_file *gf, const char *name)
{
	int fd = _get_device_fd(gf, name);

	cr_assert_geq(fd, FD_BASE, "GET_DEVICE_FD %s: %d (%s)", name, fd, strerror(-fd));
	return fd;
}

static struct vfio_group_file *group_open_ok(uint32_t id)
{
	struct vfio_group_file *gf = NULL;

	assert_rc(0, vfio_group_open(id, &gf));
	return gf;
}

Test(vfio, group_open_checks)
{
	struct vfio_group_file *gf;

	assert_rc(-ENOENT, vfio_group_open(0, &gf)); /* IDs are not indexes */
	assert_rc(-ENOENT, vfio_group_open(7, &gf)); /* only ahci in group 7 */
	cr_assert(strstr(vfio_last_error(), "0000:00:17.0"), "%s", vfio_last_error());
}

Test(vfio, group_status_viable)
{
	struct vfio_group_file *g3 = group_open_ok(3), *g12 = group_open_ok(12);
	uint32_t flags;

	cr_assert_eq(group_status_ok(g3), VFIO_GROUP_FLAGS_VIABLE);
	/* a DMA-API driver in the group: not viable */
	cr_assert_eq(group_status_ok(g12), 0);
	assert_rc(-EINVAL, _group_status(g3, 7, &flags));
	assert_rc(-EFAULT, vfio_group_ioctl(g3, VFIO_GROUP_GET_STATUS, (void *)8, &files));
	set_container_ok(g3, self_fd);
	cr_assert_eq(group_status_ok(g3), VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
	assert_rc(0, unset_container(g3));
	cr_assert_eq(group_status_ok(g3), VFIO_GROUP_FLAGS_VIABLE);
	assert_rc(-ENOTTY, vfio_group_ioctl(g3, VFIO_DEVICE_GET_INFO, NULL, &files));
	vfio_group_close(g3);
	vfio_group_close(g12);
}

Test(vfio, group_status_owned_elsewhere)
{
	struct vfio_group_file *gf;
	uint32_t devid;
	int c = container_open();

	/* A context owns 0000:01:00.0 without VFIO (the in-kernel path): group 9 opens, but it
	 * is not viable, and a container cannot claim it. */
	assert_rc(0, ioasid_device_bind(self, "0000:01:00.0", &devid));
	gf = group_open_ok(9);
	cr_assert_eq(group_status_ok(gf), 0);
	set_container_err(EPERM, gf, c);
	cr_assert(strstr(vfio_last_error(), "owned"), "%s", vfio_last_error());
	/* an iommufd claims nothing at SET_CONTAINER: GET_DEVICE_FD is where it fails */
	{
		int other = iommufd_open();

		set_container_ok(gf, other);
		assert_rc(-EPERM, _get_device_fd(gf, "0000:01:00.1"));
		cr_assert(strstr(vfio_last_error(), "0000:01:00.1"), "%s", vfio_last_error());
		assert_rc(0, unset_container(gf));
	}
	/* the owner itself may use the group */
	set_container_ok(gf, self_fd);
	fd_close(get_device_fd_ok(gf, "0000:01:00.1"));
	assert_rc(0, unset_container(gf));
	assert_rc(0, ioasid_device_unbind(self, devid));
	cr_assert_eq(group_status_ok(gf), VFIO_GROUP_FLAGS_VIABLE);
	vfio_group_close(gf);
}

Test(vfio, set_container_checks)
{
	struct vfio_group_file *gf = group_open_ok(3);
	int c = container_open();

	set_container_err(EBADF, gf, 77);
	set_container_err(EBADFD, gf, 1);
	assert_rc(-EFAULT, vfio_group_ioctl(gf, VFIO_GROUP_SET_CONTAINER, (void *)8, &files));
	assert_rc(-EINVAL, unset_container(gf));
	set_container_ok(gf, self_fd);
	/* one container at a time */
	set_container_err(EINVAL, gf, self_fd);
	set_container_err(EINVAL, gf, c);
	assert_rc(0, unset_container(gf));
	set_container_ok(gf, c);
	assert_rc(0, unset_container(gf));
	vfio_group_close(gf);
}

Test(vfio, set_container_iommufd_then_get_device_fd)
{
	struct vfio_group_file *gf = group_open_ok(3);
	uint32_t compat = 0, devid;
	struct vfio_device_file *df;
	int fd;

	/* no container: GET_DEVICE_FD is refused */
	assert_rc(-EINVAL, _get_device_fd(gf, "0000:00:02.0"));
	set_container_ok(gf, self_fd);
	/* the iommufd got a compat IOAS */
	assert_rc(0, ref_vfio_compat_ioas_get_id(self, &compat));
	{
		struct iommu_vfio_ioas cmd = { .size = sizeof(cmd), .op = IOMMU_VFIO_IOAS_GET };

		assert_rc(0, _ioctl(IOMMU_VFIO_IOAS, &cmd));
		cr_assert_eq(cmd.ioas_id, compat);
	}
	/* names: unknown, a device of another group, bad options */
	assert_rc(-ENODEV, _get_device_fd(gf, "0000:00:04.0"));
	cr_assert(strstr(vfio_last_error(), "0000:00:02.0"), "lists the group: %s",
		  vfio_last_error());
	assert_rc(-ENODEV, _get_device_fd(gf, "0000:00:02"));
	assert_rc(-ENODEV, _get_device_fd(gf, "0000:00:02.0x"));
	assert_rc(-EINVAL, _get_device_fd(gf, "0000:00:02.0 foo=1"));
	assert_rc(-EINVAL, _get_device_fd(gf, "0000:00:02.0 vf_token=nope"));
	assert_rc(-EFAULT, _get_device_fd(gf, (const char *)8));

	fd = get_device_fd_ok(gf, "0000:00:02.0");
	df = df_of(fd);
	devid = vfio_device_file_devid(df);
	cr_assert_neq(devid, 0);
	/* bound to the iommufd, attached to the compat IOAS */
	destroy_err(EBUSY, devid);
	destroy_err(EBUSY, compat);
	/* a group device file takes no cdev ioctls */
	assert_rc(-EINVAL, _bind(df, self_fd, 24, NULL));
	{
		uint32_t pt = compat;

		assert_rc(-ENOTTY, _attach(df, &pt, 0, 0, 16));
	}
	/* the type1 ioctls on the iommufd reach the device */
	{
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)buf, .iova = IOVA_BASE, .size = BUF_SIZE };

		assert_rc(0, _ioctl(VFIO_SET_IOMMU, (void *)VFIO_TYPE1v2_IOMMU));
		assert_rc(0, _ioctl(VFIO_IOMMU_MAP_DMA, &map));
	}
	check_dma_works(df, false, 0);
	/* a second fd for the same device shares the open */
	{
		int fd2 = get_device_fd_ok(gf, "0000:00:02.0 vf_token=01234567-89ab-cdef-0123-456789abcdef");

		cr_assert_eq(vfio_device_file_devid(df_of(fd2)), devid);
		fd_close(fd2);
		check_dma_works(df, false, 0);
	}
	/* with an iommufd, UNSET does not wait for the device files */
	assert_rc(0, unset_container(gf));
	fd_close(fd);
	destroy_ok(compat);
	vfio_group_close(gf);
}

Test(vfio, get_device_fd_without_a_free_fd)
{
	struct vfio_group_file *gf = group_open_ok(3);
	int used[FD_MAX], n = 0, fd;

	set_container_ok(gf, self_fd);
	while ((fd = fd_alloc()) >= 0)
		used[n++] = fd;
	/* the device was opened, then the fd could not be made: everything is undone */
	assert_rc(-EMFILE, _get_device_fd(gf, "0000:00:02.0"));
	for (int i = 0; i != n; i++)
		memset(file_of(used[i]), 0, sizeof(struct test_file));
	fd = get_device_fd_ok(gf, "0000:00:02.0");
	fd_close(fd);
	vfio_group_close(gf);
}

Test(vfio, group_stays_open_while_device_files_are)
{
	struct vfio_group_file *gf = group_open_ok(3), *gf2;
	int fd;

	set_container_ok(gf, self_fd);
	fd = get_device_fd_ok(gf, "0000:00:02.0");
	vfio_group_close(gf);
	/* the device fd holds the group: still open, still exclusive */
	assert_rc(-EBUSY, vfio_group_open(3, &gf2));
	check_dma_faults(df_of(fd), IOVA_BASE, false, 0); /* attached, nothing mapped */
	fd_close(fd);
	gf2 = group_open_ok(3);
	cr_assert_eq(group_status_ok(gf2), VFIO_GROUP_FLAGS_VIABLE);
	vfio_group_close(gf2);
}

Test(vfio, container_claims_the_group)
{
	struct vfio_group_file *g12 = group_open_ok(12), *g9 = group_open_ok(9);
	int c = container_open(), c2 = container_open();
	struct vfio_device_file *audio;

	/* group 12 has e1000e on 0000:02:02.0: the container cannot claim it */
	set_container_err(EPERM, g12, c);
	cr_assert(strstr(vfio_last_error(), "group 12"), "%s", vfio_last_error());
	cr_assert(strstr(vfio_last_error(), "0000:02:02.0"), "%s", vfio_last_error());
	cr_assert(strstr(vfio_last_error(), "e1000e"), "%s", vfio_last_error());
	cr_assert_eq(group_status_ok(g12), 0);
	/* group 9 is claimed at SET_CONTAINER, before any device is opened */
	set_container_ok(g9, c);
	cr_assert_eq(group_status_ok(g9), VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
	/* ... so a device of it cannot be bound to another context: EPERM */
	{
		uint32_t devid;

		assert_rc(-EPERM, ioasid_device_bind(ctx_of(c2), "0000:01:00.1", &devid));
		/* the container's own context shares the claim */
		assert_rc(0, ioasid_device_bind(ctx_of(c), "0000:01:00.1", &devid));
		assert_rc(0, ioasid_device_unbind(ctx_of(c), devid));
	}
	/* closing the group fd detaches the container and ends the claim */
	vfio_group_close(g9);
	audio = cdev_open_ok(4);
	bind_ok(audio, c2);
	vfio_device_close(audio);
	vfio_group_close(g12);
}

Test(vfio, container_type1_end_to_end)
{
	struct vfio_group_file *gf = group_open_ok(3);
	int c = container_open(), fd;
	struct ioasid_ctx *cctx = ctx_of(c);
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE };
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };

	assert_rc(VFIO_API_VERSION, ioasid_ctx_ioctl(cctx, VFIO_GET_API_VERSION, NULL));
	assert_rc(1, ioasid_ctx_ioctl(cctx, VFIO_CHECK_EXTENSION, (void *)VFIO_TYPE1v2_IOMMU));
	/* no group yet */
	assert_rc(-ENODEV, ioasid_ctx_ioctl(cctx, VFIO_SET_IOMMU, (void *)VFIO_TYPE1v2_IOMMU));
	set_container_ok(gf, c);
	assert_rc(0, ioasid_ctx_ioctl(cctx, VFIO_SET_IOMMU, (void *)VFIO_TYPE1v2_IOMMU));
	/* 2 MiB chunks */
	for (uint64_t off = 0; off < BUF_SIZE; off += 2UL << 20) {
		map.vaddr = (uintptr_t)buf + off;
		map.iova = IOVA_BASE + off;
		map.size = 2UL << 20;
		assert_rc(0, ioasid_ctx_ioctl(cctx, VFIO_IOMMU_MAP_DMA, &map));
	}
	fd = get_device_fd_ok(gf, "0000:00:02.0");
	check_dma_works(df_of(fd), false, 0);
	/* the container has a user: UNSET is refused */
	assert_rc(-EBUSY, unset_container(gf));
	/* unmap everything: DMA faults (MAP-2) */
	unmap.flags = VFIO_DMA_UNMAP_FLAG_ALL;
	assert_rc(0, ioasid_ctx_ioctl(cctx, VFIO_IOMMU_UNMAP_DMA, &unmap));
	cr_assert_eq(unmap.size, BUF_SIZE);
	check_dma_faults(df_of(fd), IOVA_BASE + 100, false, 0);
	fd_close(fd);
	assert_rc(0, unset_container(gf));
	vfio_group_close(gf);
}

Test(vfio, container_outlives_its_fd)
{
	struct vfio_group_file *gf = group_open_ok(3);
	int c = container_open(), fd;
	struct ioasid_ctx *cctx = ctx_of(c);
	uint32_t compat;

	set_container_ok(gf, c);
	fd = get_device_fd_ok(gf, "0000:00:02.0");
	assert_rc(0, ref_vfio_compat_ioas_get_id(cctx, &compat));
	ioas_map_on(cctx, compat, buf, BUF_SIZE, IOVA_BASE);
	fd_close(c); /* the group still holds the container */
	check_dma_works(df_of(fd), false, 0);
	fd_close(fd);
	vfio_group_close(gf);
}

/* ---- the software-table (mdev-like) device ------------------------------------------------ */

Test(vfio, sw_table_device)
{
	struct vfio_device_file *df = cdev_open_ok(8); /* mdev0 */
	uint32_t devid = bind_ok(df, self_fd), ioas = ioas_alloc_ok(), pt = ioas;

	/* its dev_id is an access object: not a device for HWPT allocation */
	{
		struct iommu_hwpt_alloc alloc = { .size = sizeof(alloc), .dev_id = devid,
						  .pt_id = ioas };

		assert_rc(-ENOENT, _ioctl(IOMMU_HWPT_ALLOC, &alloc));
	}
	/* no PASID ops on an emulated device */
	assert_rc(-EOPNOTSUPP, _attach(df, &pt, VFIO_DEVICE_ATTACH_PASID, 1, 16));
	assert_rc(-EOPNOTSUPP, _detach(df, VFIO_DEVICE_DETACH_PASID, 1, 12));
	ioas_map_fixed_ok(ioas, buf, BUF_SIZE, IOVA_BASE);
	check_dma_faults(df, IOVA_BASE, false, 0); /* not attached */
	attach_ok(df, ioas);
	check_dma_works(df, false, 0);
	/* replace with a second IOAS, then unmap: the copy fails */
	{
		uint32_t ioas2 = ioas_alloc_ok();

		attach_ok(df, ioas2);
		check_dma_faults(df, IOVA_BASE, false, 0);
		detach_ok(df);
		destroy_ok(ioas2);
	}
	vfio_device_close(df);
	ioas_unmap_ok(ioas, IOVA_BASE, BUF_SIZE, BUF_SIZE);
}

Test(vfio, sw_table_device_keeps_context_alive)
{
	struct vfio_device_file *df = cdev_open_ok(8);
	int fd = iommufd_open();
	struct ioasid_ctx *ctx = ctx_of(fd);
	uint32_t ioas = ioas_alloc_on(ctx);

	bind_ok(df, fd);
	ioas_map_on(ctx, ioas, buf, BUF_SIZE, IOVA_BASE);
	attach_ok(df, ioas);
	file_of(fd)->ctx = NULL;
	fd_close(fd);
	ioasid_ctx_close(ctx); /* the access holds the context */
	check_dma_works(df, false, 0);
	vfio_device_close(df);
}

Test(vfio, sw_table_device_through_its_group)
{
	struct vfio_group_file *gf = group_open_ok(21);
	int c = container_open(), fd;
	struct ioasid_ctx *cctx = ctx_of(c);
	uint32_t compat;

	/* an emulated group claims no DMA ownership */
	set_container_ok(gf, c);
	fd = get_device_fd_ok(gf, "mdev0");
	assert_rc(0, ref_vfio_compat_ioas_get_id(cctx, &compat));
	ioas_map_on(cctx, compat, buf, BUF_SIZE, IOVA_BASE);
	check_dma_works(df_of(fd), false, 0);
	ioas_unmap_on(cctx, compat, IOVA_BASE, BUF_SIZE);
	check_dma_faults(df_of(fd), IOVA_BASE, false, 0);
	fd_close(fd);
	vfio_group_close(gf);
}

/* ---- device info, regions, BAR0 ------------------------------------------------------------ */

Test(vfio, device_info_and_regions)
{
	struct vfio_device_file *df = cdev_open_ok(0);
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info reg = { .argsz = sizeof(reg) };
	struct vfio_irq_info irq = { .argsz = sizeof(irq) };
	uint8_t cfg[4], b[16];

	bind_ok(df, self_fd);
	assert_rc(0, vfio_device_ioctl(df, VFIO_DEVICE_GET_INFO, &info, &files));
	cr_assert(info.flags & VFIO_DEVICE_FLAGS_PCI);
	cr_assert_eq(info.num_regions, VFIO_PCI_NUM_REGIONS);
	cr_assert_eq(info.num_irqs, VFIO_PCI_NUM_IRQS);
	info.argsz = 15;
	assert_rc(-EINVAL, vfio_device_ioctl(df, VFIO_DEVICE_GET_INFO, &info, &files));

	reg.index = VFIO_PCI_BAR0_REGION_INDEX;
	assert_rc(0, vfio_device_ioctl(df, VFIO_DEVICE_GET_REGION_INFO, &reg, &files));
	cr_assert_eq(reg.size, VFIO_BAR0_SIZE);
	cr_assert_eq(reg.offset, 0);
	cr_assert_eq(reg.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
	reg.index = VFIO_PCI_BAR2_REGION_INDEX;
	assert_rc(0, vfio_device_ioctl(df, VFIO_DEVICE_GET_REGION_INFO, &reg, &files));
	cr_assert_eq(reg.size, 0);
	cr_assert_eq(reg.offset, 2ULL << 40);
	reg.index = VFIO_PCI_CONFIG_REGION_INDEX;
	assert_rc(0, vfio_device_ioctl(df, VFIO_DEVICE_GET_REGION_INFO, &reg, &files));
	cr_assert_eq(reg.size, VFIO_CONFIG_SIZE);
	reg.index = VFIO_PCI_VGA_REGION_INDEX;
	assert_rc(-EINVAL, vfio_device_ioctl(df, VFIO_DEVICE_GET_REGION_INFO, &reg, &files));
	reg.index = 9;
	assert_rc(-EINVAL, vfio_device_ioctl(df, VFIO_DEVICE_GET_REGION_INFO, &reg, &files));
	reg.argsz = 31;
	reg.index = 0;
	assert_rc(-EINVAL, vfio_device_ioctl(df, VFIO_DEVICE_GET_REGION_INFO, &reg, &files));

	irq.index = VFIO_PCI_MSIX_IRQ_INDEX;
	assert_rc(0, vfio_device_ioctl(df, VFIO_DEVICE_GET_IRQ_INFO, &irq, &files));
	irq.index = VFIO_PCI_NUM_IRQS;
	assert_rc(-EINVAL, vfio_device_ioctl(df, VFIO_DEVICE_GET_IRQ_INFO, &irq, &files));
	assert_rc(-ENOTTY, vfio_device_ioctl(df, _IO(VFIO_TYPE, VFIO_BASE + 60), NULL, &files));

	/* config space: vendor/device */
	cr_assert_eq(vfio_device_pread(df, cfg, 4, 7ULL << 40), 4);
	cr_assert_eq(cfg[0] | cfg[1] << 8, 0x1b36);
	/* past the end of a region, a region without size, a region that does not exist */
	assert_rc(-EINVAL, vfio_device_pread(df, b, 4, VFIO_BAR0_SIZE));
	cr_assert_eq(vfio_device_pread(df, b, 16, VFIO_BAR0_SIZE - 8), 8);
	assert_rc(-EINVAL, vfio_device_pread(df, b, 4, 1ULL << 40));
	assert_rc(-EINVAL, vfio_device_pread(df, b, 4, 8ULL << 40));
	assert_rc(-EINVAL, vfio_device_pread(df, b, 4, 40ULL << 40));
	assert_rc(-EFAULT, vfio_device_pread(df, (void *)8, 4, 0));
	vfio_device_close(df);
}

Test(vfio, bar0_registers)
{
	struct vfio_device_file *df = cdev_open_ok(0);
	uint8_t all[VFIO_DMA_REGS_SIZE];

	bind_ok(df, self_fd);
	cr_assert_eq(bar_read(df, VFIO_DMA_REG_ID, 4), VFIO_DMA_ID_VALUE);
	cr_assert_eq(bar_read(df, VFIO_DMA_REG_VERSION, 4), 1);
	/* read/write registers keep what is written, any width */
	bar_write(df, VFIO_DMA_REG_SRC_IOVA, 0x1122334455667788ULL, 8);
	cr_assert_eq(bar_read(df, VFIO_DMA_REG_SRC_IOVA, 4), 0x55667788);
	cr_assert_eq(bar_read(df, VFIO_DMA_REG_SRC_IOVA + 4, 4), 0x11223344);
	bar_write(df, VFIO_DMA_REG_SRC_IOVA + 2, 0xab, 1);
	cr_assert_eq(bar_read(df, VFIO_DMA_REG_SRC_IOVA, 8), 0x1122334455ab7788ULL);
	/* read-only ones do not change */
	bar_write(df, VFIO_DMA_REG_ID, 0, 4);
	bar_write(df, VFIO_DMA_REG_STATUS, 7, 4);
	cr_assert_eq(bar_read(df, VFIO_DMA_REG_ID, 4), VFIO_DMA_ID_VALUE);
	cr_assert_eq(bar_read(df, VFIO_DMA_REG_STATUS, 4), 0);
	/* beyond the registers: zeroes, writes ignored */
	bar_write(df, 0x800, 0xffff, 4);
	cr_assert_eq(bar_read(df, 0x800, 4), 0);
	/* bad commands */
	cr_assert_eq(dma_copy(df, IOVA_BASE, IOVA_BASE, 0, false, 0), VFIO_DMA_STATUS_BAD_CMD);
	cr_assert_eq(dma_copy(df, IOVA_BASE, IOVA_BASE, VFIO_DMA_MAX_LEN + 1, false, 0),
		     VFIO_DMA_STATUS_BAD_CMD);
	/* not attached: blocked */
	check_dma_faults(df, IOVA_BASE, false, 0);
	/* the whole register file reads at once; read() follows the file position */
	cr_assert_eq(vfio_device_pread(df, all, sizeof(all), 0), (ssize_t)sizeof(all));
	cr_assert_eq(all[VFIO_DMA_REG_STATUS], VFIO_DMA_STATUS_FAULT);
	{
		uint64_t v = 0;

		cr_assert_eq(vfio_device_read(df, &v, 8), 8);
		cr_assert_eq(v, IOVA_BASE, "read() at 0: SRC_IOVA");
		cr_assert_eq(vfio_device_read(df, &v, 8), 8);
		cr_assert_eq(v, IOVA_BASE + BUF_SIZE / 2, "then DST_IOVA");
		v = 0x1000;
		cr_assert_eq(vfio_device_write(df, &v, 8), 8); /* LEN, at position 16 */
		cr_assert_eq(bar_read(df, VFIO_DMA_REG_LEN, 8), 0x1000);
	}
	/* RESET clears the engine */
	assert_rc(0, vfio_device_ioctl(df, VFIO_DEVICE_RESET, NULL, &files));
	cr_assert_eq(bar_read(df, VFIO_DMA_REG_STATUS, 4), 0);
	cr_assert_eq(bar_read(df, VFIO_DMA_REG_SRC_IOVA, 8), 0);
	vfio_device_close(df);
}

Test(vfio, dma_engine_copy_and_fault_after_unmap)
{
	struct vfio_device_file *df = cdev_open_ok(0);
	uint32_t ioas = ioas_alloc_ok();

	bind_ok(df, self_fd);
	ioas_map_fixed_ok(ioas, buf, BUF_SIZE, IOVA_BASE);
	attach_ok(df, ioas);
	check_dma_works(df, false, 0);
	cr_assert_eq(bar_read(df, VFIO_DMA_REG_DMA_COUNT, 8), 1);
	/* beyond the mapping */
	check_dma_faults(df, IOVA_BASE + BUF_SIZE, false, 0);
	/* the destination side faults too, and the failed copy wrote nothing */
	memset(buf, 0x77, PAGE);
	cr_assert_eq(dma_copy(df, IOVA_BASE, IOVA_BASE + BUF_SIZE - 10, 64, false, 0),
		     VFIO_DMA_STATUS_FAULT);
	cr_assert_eq(bar_read(df, VFIO_DMA_REG_FAULT_IOVA, 8), IOVA_BASE + BUF_SIZE);
	/* unmap: strict invalidation, the next DMA faults (MAP-2) */
	ioas_unmap_ok(ioas, IOVA_BASE, BUF_SIZE, BUF_SIZE);
	check_dma_faults(df, IOVA_BASE + 2 * PAGE, false, 0);
	cr_assert_eq(bar_read(df, VFIO_DMA_REG_DMA_COUNT, 8), 1);
	vfio_device_close(df);
}

Test(vfio, close_releases_everything)
{
	struct vfio_group_file *gf = group_open_ok(9);
	struct vfio_device_file *df;
	struct platform *p;
	struct plat_state_snapshot *snap = calloc(1, sizeof(*snap));
	int c = container_open(), fd1, fd2;

	set_container_ok(gf, c);
	fd1 = get_device_fd_ok(gf, "0000:01:00.0");
	fd2 = get_device_fd_ok(gf, "0000:01:00.1");
	assert_rc(0, platform_default(&p));
	assert_rc(0, platform_snapshot(p, snap));
	cr_assert_neq(snap->groups[3].owner_cnt, 0); /* group index 3 is ID 9 */
	fd_close(fd1);
	fd_close(fd2);
	fd_close(c);
	vfio_group_close(gf);
	assert_rc(0, platform_snapshot(p, snap));
	cr_assert_eq(snap->groups[3].owner_cnt, 0);
	cr_assert_eq(snap->groups[3].group_fd_pid, 0);
	cr_assert_eq(snap->groups[3].domain, PLAT_DOMAIN_DEFAULT);
	/* and the cdev path */
	df = cdev_open_ok(3);
	bind_ok(df, self_fd);
	vfio_device_close(df);
	assert_rc(0, platform_snapshot(p, snap));
	cr_assert_eq(snap->groups[3].owner_cnt, 0);
	cr_assert_eq(snap->groups[3].cdev_bound, 0);
	free(snap);
}

/* ---- unmodified clients under ioasid-run ------------------------------------------------------ */

static char run_bin[PATH_MAX], clients_dir[PATH_MAX];

static void locate_build(void)
{
	static const char *const ups[] = { "..", "../.." };
	char self_path[PATH_MAX - 64], try_[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	char *slash;

	cr_assert_gt(n, 0);
	self_path[n] = '\0';
	slash = strrchr(self_path, '/');
	cr_assert_not_null(slash);
	*slash = '\0'; /* build/tests or build/asan/tests */
	run_bin[0] = '\0';
	for (size_t i = 0; i < 2 && !run_bin[0]; i++) {
		snprintf(try_, sizeof(try_), "%s/%s/bin/ioasid-run", self_path, ups[i]);
		if (access(try_, X_OK) == 0)
			cr_assert_not_null(realpath(try_, run_bin));
	}
	cr_assert(run_bin[0], "ioasid-run not found near %s: run 'make'", self_path);
	snprintf(try_, sizeof(try_), "%s/clients/type1_client", self_path);
	if (access(try_, X_OK) == 0)
		snprintf(clients_dir, sizeof(clients_dir), "%s/clients", self_path);
	else
		snprintf(clients_dir, sizeof(clients_dir), "%s/../../tests/clients", self_path);
}

/* Run ioasid-run --private-platform CLIENT ARGS; exit status, output in `out`. */
static int run_client(const char *client, const char *const *args, char *out, size_t outlen)
{
	char path[PATH_MAX + 32];
	const char *argv[16];
	int n = 0, status, tmp;
	pid_t pid;
	ssize_t got;

	snprintf(path, sizeof(path), "%s/%s", clients_dir, client);
	cr_assert_eq(access(path, X_OK), 0, "%s not built: run 'make'", path);
	argv[n++] = run_bin;
	argv[n++] = "--private-platform";
	argv[n++] = path;
	for (; args && *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;

	tmp = memfd_create("client-output", 0);
	cr_assert_geq(tmp, 0);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		dup2(nul, 0);
		dup2(tmp, 1);
		dup2(tmp, 2);
		unsetenv("LD_PRELOAD");
		unsetenv("IOASID_PLATFORM");
		unsetenv("IOASID_TOPOLOGY");
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	got = pread(tmp, out, outlen - 1, 0);
	out[got > 0 ? got : 0] = '\0';
	close(tmp);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TestSuite(vfio_clients, .init = locate_build, .timeout = 120);

static void check_client(const char *client, const char *const *args)
{
	static char out[1 << 16];
	int status = run_client(client, args, out, sizeof(out));

	cr_assert_eq(status, 0, "%s exited %d:\n%s", client, status, out);
	cr_assert(strstr(out, "OK"), "%s did not report OK:\n%s", client, out);
}

Test(vfio_clients, type1_client)
{
	const char *const args[] = { "3", "0000:00:02.0", NULL };

	check_client("type1_client", args);
}

Test(vfio_clients, cdev_client)
{
	const char *const args[] = { "/dev/vfio/devices/vfio0", NULL };

	check_client("cdev_client", args);
}

/* The acceptance scenario: a VMM starting with three passthrough devices, 4 GiB of guest RAM
 * in 2 MiB chunks, a vIOMMU-managed device on a nested HWPT and a PASID (tests/clients/
 * vmm_scenario.c). Pinning 4 GiB takes a few seconds here. */
Test(vfio_clients, vmm_scenario)
{
	const char *const args[] = { "4", NULL };

	check_client("vmm_scenario", args);
}

Test(vfio_clients, cdev_client_mdev)
{
	const char *const args[] = { "/dev/vfio/devices/vfio8", NULL };

	check_client("cdev_client", args);
}

/* A page request reported through the shim: the fault fd's readiness is an eventfd the
 * reference writes itself. With libc's write() the shim routed that write back into the
 * reference, which waited for its own lock: the first DMA that raised a request hung. */
Test(vfio_clients, iopf_client)
{
	const char *const args[] = { "/dev/vfio/devices/vfio0", NULL };

	check_client("iopf_client", args);
}
