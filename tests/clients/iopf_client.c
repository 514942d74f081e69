/* iopf_client.c — an unmodified program that serves I/O page faults: a device DMAs to an IOVA
 * that is not mapped yet, the page request reaches the program through a fault queue fd, the
 * program maps the page, answers, and the device's retry succeeds.
 *
 * Built with only -Iuapi-shim: <linux/vfio.h>, <linux/iommufd.h>, libc, open/ioctl/poll/read/
 * write/pread/pwrite.
 *
 *   usage: iopf_client [CDEV]     CDEV default /dev/vfio/devices/vfio0 (a device with PRI)
 *
 * Steps: bind the cdev; IOAS_ALLOC; map only the destination half of a 4 MiB buffer;
 * FAULT_QUEUE_ALLOC; HWPT_ALLOC on the IOAS with IOMMU_HWPT_FAULT_ID_VALID; attach it; the
 * device copies from the unmapped half (BAR0 DMA engine, src/vfio/vfio.h): STATUS 2, a page
 * request pending at the source; poll() the fault fd, read() the request, map the source, write()
 * the response; the fd is quiet again and the copy succeeds. Exits 1 on the first failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#define CLIENT_PROG "iopf_client"
#include "engine_client.h"
#define STATUS_PRQ     2 /* the engine parked the DMA on a page request */

#define HALF      (2ULL << 20)
#define IOVA_BASE (1ULL << 32)
#define COPY_LEN  6000

static void fail(const char *what)
{
	fprintf(stderr, "%s: FAIL: %s\n", prog, what);
	exit(1);
}

static int fault_fd_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, 1, timeout_ms);

	if (n < 0)
		die("poll the fault fd");
	return n == 1 && (p.revents & POLLIN);
}

int main(int argc, char **argv)
{
	const char *cdev = argc > 1 ? argv[1] : "/dev/vfio/devices/vfio0";
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_fault_alloc fault = { .size = sizeof(fault) };
	struct iommu_hwpt_alloc hwpt = { .size = sizeof(hwpt) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct vfio_region_info reg = { .argsz = sizeof(reg), .index = VFIO_PCI_BAR0_REGION_INDEX };
	struct iommu_hwpt_page_response resp = { .code = IOMMUFD_PAGE_RESP_SUCCESS };
	struct iommu_hwpt_pgfault req;
	const uint64_t src = IOVA_BASE, dst = IOVA_BASE + HALF;
	int iommufd, dev, ffd;
	uint8_t *mem;

	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (iommufd < 0)
		die("open /dev/iommu");
	dev = open(cdev, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		die(cdev);
	bind.iommufd = iommufd;
	if (ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		die("VFIO_DEVICE_BIND_IOMMUFD");
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc))
		die("IOMMU_IOAS_ALLOC");
	mem = mmap(NULL, 2 * HALF, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	ioas_map(iommufd, alloc.out_ioas_id, mem + HALF, HALF, dst);

	if (ioctl(iommufd, IOMMU_FAULT_QUEUE_ALLOC, &fault))
		die("IOMMU_FAULT_QUEUE_ALLOC");
	ffd = (int)fault.out_fault_fd;
	hwpt.flags = IOMMU_HWPT_FAULT_ID_VALID;
	hwpt.dev_id = bind.out_devid;
	hwpt.pt_id = alloc.out_ioas_id;
	hwpt.fault_id = fault.out_fault_id;
	if (ioctl(iommufd, IOMMU_HWPT_ALLOC, &hwpt))
		die("IOMMU_HWPT_ALLOC FAULT_ID_VALID");
	attach.pt_id = hwpt.out_hwpt_id;
	if (ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		die("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
	printf("%s: dev_id %u attached to IOPF-capable HWPT %u (fault queue %u, fd %d)\n", prog,
	       bind.out_devid, hwpt.out_hwpt_id, fault.out_fault_id, ffd);

	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &reg))
		die("VFIO_DEVICE_GET_REGION_INFO");
	bar0 = reg.offset;
	for (int i = 0; i < COPY_LEN; i++)
		mem[i] = (uint8_t)(i * 7 + 3);

	/* The source is not mapped: the device waits on a page request. */
	if (device_copy(dev, src, dst, COPY_LEN) != STATUS_PRQ)
		fail("DMA from an unmapped IOVA did not raise a page request");
	if (reg_read(dev, REG_FAULT_IOVA, 8) != src)
		fail("FAULT_IOVA is not the first address read");
	if (!fault_fd_readable(ffd, 5000))
		fail("the fault fd did not turn readable");
	if (read(ffd, &req, sizeof(req)) != (ssize_t)sizeof(req))
		die("read the page request");
	if (req.dev_id != bind.out_devid || (req.addr & ~0xfffULL) != src)
		fail("the page request names another device or address");
	printf("%s: page request dev_id %u addr 0x%llx cookie %u\n", prog, req.dev_id,
	       (unsigned long long)req.addr, req.cookie);

	/* Serve it: map the source, answer, and the device's retry goes through. */
	ioas_map(iommufd, alloc.out_ioas_id, mem, HALF, src);
	resp.cookie = req.cookie;
	if (write(ffd, &resp, sizeof(resp)) != (ssize_t)sizeof(resp))
		die("write the page response");
	if (fault_fd_readable(ffd, 0))
		fail("the fault fd is still readable with nothing pending");
	if (device_copy(dev, src, dst, COPY_LEN) != STATUS_OK)
		fail("the retried DMA failed");
	if (memcmp(mem, mem + HALF, COPY_LEN))
		fail("the device wrote the wrong bytes");
	printf("%s: retried DMA copied %d bytes\n", prog, COPY_LEN);

	close(dev);
	close(ffd);
	close(iommufd);
	munmap(mem, 2 * HALF);
	printf("%s: OK\n", prog);
	return 0;
}
