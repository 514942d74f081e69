/* iommufd_map_loop.c — a known amount of iommufd work on one device, for counting tracers.
 *
 * Built with only -Iuapi-shim: <linux/iommufd.h>, <linux/vfio.h>, libc, open/ioctl. It runs the
 * same on a kernel with iommufd (the testbed guest, as root) and under ioasid-run.
 *
 *   usage: iommufd_map_loop CDEV N [PAGES]
 *
 * Steps: open /dev/iommu and CDEV; VFIO_DEVICE_BIND_IOMMUFD; IOMMU_IOAS_ALLOC;
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT to the IOAS (the kernel gives the device a paging domain); then
 * N times: IOMMU_IOAS_MAP of PAGES (default 1) 4 KiB pages at a fixed IOVA and IOMMU_IOAS_UNMAP
 * of the same range; VFIO_DEVICE_DETACH_IOMMUFD_PT; close both fds.
 * On success the last line says exactly what was done, for the caller to compare with what a
 * tracer counted:
 *   "iommufd_map_loop: done binds=1 attaches=1 detaches=1 maps=N unmaps=N bytes=B"
 * Exit status: 0 done, 1 a call failed (the line names it and the errno), 2 usage.
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

#define IOVA_BASE 0x100000000ULL
#define PAGE_4K   4096ULL

static const char *prog = "iommufd_map_loop";

static void die(const char *what, long iter)
{
	if (iter >= 0)
		fprintf(stderr, "%s: FAIL: %s (iteration %ld): %s\n", prog, what, iter,
			strerror(errno));
	else
		fprintf(stderr, "%s: FAIL: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

static long parse_count(const char *s, const char *what, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > max) {
		fprintf(stderr, "%s: %s '%s' is not a number from 1 to %ld\n", prog, what, s, max);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct vfio_device_detach_iommufd_pt detach = { .argsz = sizeof(detach) };
	long n, pages, i;
	uint64_t len;
	int iommufd, dev;
	void *buf;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s CDEV N [PAGES]\n", prog);
		return 2;
	}
	n = parse_count(argv[2], "N", 100000000L);
	pages = argc > 3 ? parse_count(argv[3], "PAGES", 262144) : 1;
	len = (uint64_t)pages * PAGE_4K;

	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (iommufd < 0)
		die("open /dev/iommu", -1);
	dev = open(argv[1], O_RDWR | O_CLOEXEC);
	if (dev < 0)
		die(argv[1], -1);
	bind.iommufd = iommufd;
	if (ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		die("VFIO_DEVICE_BIND_IOMMUFD", -1);
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc))
		die("IOMMU_IOAS_ALLOC", -1);
	attach.pt_id = alloc.out_ioas_id;
	if (ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		die("VFIO_DEVICE_ATTACH_IOMMUFD_PT", -1);
	printf("%s: %s dev_id %u attached to IOAS %u (pt_id %u)\n", prog, argv[1],
	       bind.out_devid, alloc.out_ioas_id, attach.pt_id);

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		   -1, 0);
	if (buf == MAP_FAILED)
		die("mmap", -1);
	for (i = 0; i < n; i++) {
		struct iommu_ioas_map map = {
			.size = sizeof(map),
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
			.ioas_id = alloc.out_ioas_id, .user_va = (uintptr_t)buf, .length = len,
			.iova = IOVA_BASE,
		};
		struct iommu_ioas_unmap unmap = {
			.size = sizeof(unmap), .ioas_id = alloc.out_ioas_id, .iova = IOVA_BASE,
			.length = len,
		};

		if (ioctl(iommufd, IOMMU_IOAS_MAP, &map))
			die("IOMMU_IOAS_MAP", i);
		if (ioctl(iommufd, IOMMU_IOAS_UNMAP, &unmap))
			die("IOMMU_IOAS_UNMAP", i);
		if (unmap.length != len) {
			fprintf(stderr, "%s: FAIL: IOMMU_IOAS_UNMAP (iteration %ld) unmapped 0x%llx "
				"bytes, not 0x%llx\n", prog, i, (unsigned long long)unmap.length,
				(unsigned long long)len);
			return 1;
		}
	}
	if (ioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach))
		die("VFIO_DEVICE_DETACH_IOMMUFD_PT", -1);
	close(dev);
	close(iommufd);
	munmap(buf, len);
	printf("%s: done binds=1 attaches=1 detaches=1 maps=%ld unmaps=%ld bytes=%llu\n", prog, n,
	       n, (unsigned long long)(len * (uint64_t)n));
	return 0;
}
