/* cdev_client.c — an unmodified iommufd-era VFIO program: the device cdev path a VMM takes
 * since Linux 6.6 (QEMU's hw/vfio/iommufd.c in miniature), then DMA by the device.
 *
 * Built with only -Iuapi-shim: <linux/vfio.h>, <linux/iommufd.h>, libc, open/ioctl/pread/pwrite.
 *
 *   usage: cdev_client [CDEV]     CDEV default $IOASID_TEST_CDEV or /dev/vfio/devices/vfio0
 *
 * Steps: open /dev/iommu and the cdev; VFIO_DEVICE_BIND_IOMMUFD; IOMMU_IOAS_ALLOC; IOAS_MAP of
 * 4 MiB at a fixed IOVA; VFIO_DEVICE_ATTACH_IOMMUFD_PT to the IOAS; the device copies through
 * the IOMMU (BAR0 DMA engine, register map in src/vfio/vfio.h) and the bytes are checked;
 * IOAS_UNMAP, then the copy faults; map again, DETACH, and the copy faults (blocked DMA);
 * close. Prints each step; exits 1 on the first failure. Works for physical devices and for
 * software-table (mdev-like) ones, whose dev_id is an access object.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#define CLIENT_PROG "cdev_client"
#include "engine_client.h"

#define MAP_LEN   (4ULL << 20)
#define IOVA_BASE (1ULL << 32)
#define COPY_LEN  6000

static void fail(const char *what)
{
	fprintf(stderr, "%s: FAIL: %s\n", prog, what);
	exit(1);
}

static void ioas_unmap(int iommufd, uint32_t ioas, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = ioas, .iova = iova,
					  .length = len };

	if (ioctl(iommufd, IOMMU_IOAS_UNMAP, &unmap))
		die("IOMMU_IOAS_UNMAP");
	if (unmap.length != len)
		fail("IOMMU_IOAS_UNMAP unmapped a different length");
}

static void expect_fault(int dev, uint64_t src, uint64_t dst, const char *when)
{
	if (device_copy(dev, src, dst, COPY_LEN) != STATUS_FAULT)
		fail(when);
	if (reg_read(dev, REG_FAULT_IOVA, 8) != src)
		fail("FAULT_IOVA is not the first address read");
}

int main(int argc, char **argv)
{
	const char *cdev = argc > 1 ? argv[1] : getenv("IOASID_TEST_CDEV");
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct vfio_device_detach_iommufd_pt detach = { .argsz = sizeof(detach) };
	struct vfio_region_info reg = { .argsz = sizeof(reg), .index = VFIO_PCI_BAR0_REGION_INDEX };
	const uint64_t src = IOVA_BASE + 4096 - 300, dst = IOVA_BASE + (3ULL << 20);
	int iommufd, dev;
	uint8_t *mem;

	if (!cdev || !*cdev)
		cdev = "/dev/vfio/devices/vfio0";

	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (iommufd < 0)
		die("open /dev/iommu");
	dev = open(cdev, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		die(cdev);
	bind.iommufd = iommufd;
	if (ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		die("VFIO_DEVICE_BIND_IOMMUFD");
	printf("%s: %s bound to iommufd %d as dev_id %u\n", prog, cdev, iommufd, bind.out_devid);

	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc))
		die("IOMMU_IOAS_ALLOC");
	mem = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	ioas_map(iommufd, alloc.out_ioas_id, mem, MAP_LEN, IOVA_BASE);
	attach.pt_id = alloc.out_ioas_id;
	if (ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		die("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	printf("%s: IOAS %u with 4 MiB at IOVA 0x%llx; attached (pt_id now %u)\n", prog,
	       alloc.out_ioas_id, (unsigned long long)IOVA_BASE, attach.pt_id);

	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &reg))
		die("VFIO_DEVICE_GET_REGION_INFO");
	if (reg.size < 0x40 || !(reg.flags & VFIO_REGION_INFO_FLAG_WRITE))
		fail("BAR0 is too small or not writable");
	bar0 = reg.offset;
	if (reg_read(dev, REG_ID, 4) != ENGINE_ID)
		fail("BAR0 does not hold the mock DMA engine");

	for (int i = 0; i < COPY_LEN; i++)
		mem[src - IOVA_BASE + i] = (uint8_t)(i * 31 + 1);
	memset(mem + (dst - IOVA_BASE), 0, COPY_LEN);
	if (device_copy(dev, src, dst, COPY_LEN) != STATUS_OK)
		fail("DMA copy through the attached IOAS failed");
	if (memcmp(mem + (src - IOVA_BASE), mem + (dst - IOVA_BASE), COPY_LEN))
		fail("the device wrote the wrong bytes");
	printf("%s: device DMA copied %d bytes IOVA 0x%llx -> 0x%llx: bytes match\n", prog,
	       COPY_LEN, (unsigned long long)src, (unsigned long long)dst);

	ioas_unmap(iommufd, alloc.out_ioas_id, IOVA_BASE, MAP_LEN);
	expect_fault(dev, src, dst, "DMA after IOAS_UNMAP did not fault");
	printf("%s: after IOAS_UNMAP the DMA faults at 0x%llx\n", prog, (unsigned long long)src);

	ioas_map(iommufd, alloc.out_ioas_id, mem, MAP_LEN, IOVA_BASE);
	if (device_copy(dev, src, dst, COPY_LEN) != STATUS_OK)
		fail("DMA after mapping again failed");
	if (ioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach))
		die("VFIO_DEVICE_DETACH_IOMMUFD_PT");
	expect_fault(dev, src, dst, "DMA after DETACH did not fault");
	printf("%s: detached: DMA is blocked\n", prog);

	close(dev);
	close(iommufd);
	munmap(mem, MAP_LEN);
	printf("%s: OK\n", prog);
	return 0;
}
