/* ioas_client.c — an unmodified iommufd client: IOAS alloc, map (fixed and automatic IOVA),
 * copy between IOASes, IOVA ranges (with the EMSGSIZE probe), unmap, destroy.
 *
 * Uses only <linux/iommufd.h>, libc, open() and ioctl(): it runs the same on a kernel with
 * iommufd (as root) and under ioasid-run. Every step prints one line,
 *   "<step>: rc=<rc>[ errno=<NAME>][ <field>=<value>...]"
 * with values in hex and user addresses relative to A, a 4 MiB-aligned base the client picks,
 * so the output is stable and can be compared with a kernel's line by line (tests/
 * test_preload.c holds the kernel's expected output). Nothing here depends on THP being off:
 * automatic IOVAs are never aligned above 2 MiB.
 *
 * Usage: ioas_client [PATH]   (default /dev/iommu). Exit 0 when every step ran, 1 when the
 * open failed. A step's failure is printed, not fatal: the next steps still run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/iommufd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define SZ_4M 0x400000UL

static int iommufd;
static uintptr_t A; /* 4 MiB-aligned base of the client's buffers */

static const char *errno_name(int err)
{
	switch (err) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EBADF: return "EBADF";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case ENOSPC: return "ENOSPC";
	case E2BIG: return "E2BIG";
	case EMSGSIZE: return "EMSGSIZE";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EOVERFLOW: return "EOVERFLOW";
	case EADDRINUSE: return "EADDRINUSE";
	case ENODEV: return "ENODEV";
	default: return "E?";
	}
}

/* Print "<step>: rc=.. [errno=..]" and leave the line open for fields. */
static int step(const char *name, unsigned long cmd, void *arg)
{
	int rc = ioctl(iommufd, cmd, arg);
	int err = rc ? errno : 0;

	printf("%s: rc=%d", name, rc);
	if (rc)
		printf(" errno=%s", errno_name(err));
	return rc;
}

static void end(void)
{
	putchar('\n');
	fflush(stdout);
}

static uint32_t ioas_alloc(const char *name)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	if (step(name, IOMMU_IOAS_ALLOC, &cmd) == 0)
		printf(" id=%u", cmd.out_ioas_id);
	end();
	return cmd.out_ioas_id;
}

static void ioas_destroy(const char *name, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	step(name, IOMMU_DESTROY, &cmd);
	end();
}

static void iova_ranges(const char *name, uint32_t ioas, uint32_t num)
{
	struct iommu_iova_range ranges[4];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.num_iovas = num,
		.allowed_iovas = num ? (uintptr_t)ranges : 0,
	};
	uint32_t i;
	int rc;

	memset(ranges, 0xa5, sizeof(ranges));
	rc = step(name, IOMMU_IOAS_IOVA_RANGES, &cmd);
	/* EMSGSIZE still reports the count and the alignment: print them in every case. */
	printf(" num_iovas=%u alignment=0x%llx", cmd.num_iovas,
	       (unsigned long long)cmd.out_iova_alignment);
	for (i = 0; rc == 0 && i < cmd.num_iovas && i < num && i < 4; i++)
		printf(" range[%u]=[0x%llx,0x%llx]", i, (unsigned long long)ranges[i].start,
		       (unsigned long long)ranges[i].last);
	end();
}

#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

static void map(const char *name, uint32_t ioas, uint32_t flags, uintptr_t va_off,
		uint64_t length, uint64_t iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas,
		.user_va = A + va_off,
		.length = length,
		.iova = iova,
	};

	if (step(name, IOMMU_IOAS_MAP, &cmd) == 0)
		printf(" iova=0x%llx", (unsigned long long)cmd.iova);
	end();
}

static void copy(const char *name, uint32_t flags, uint32_t dst, uint64_t dst_iova,
		 uint32_t src, uint64_t src_iova, uint64_t length)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dst_ioas_id = dst,
		.src_ioas_id = src,
		.length = length,
		.dst_iova = dst_iova,
		.src_iova = src_iova,
	};

	if (step(name, IOMMU_IOAS_COPY, &cmd) == 0)
		printf(" dst_iova=0x%llx", (unsigned long long)cmd.dst_iova);
	end();
}

static void unmap(const char *name, uint32_t ioas, uint64_t iova, uint64_t length)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.iova = iova,
		.length = length,
	};

	step(name, IOMMU_IOAS_UNMAP, &cmd);
	/* On failure the kernel does not write the struct back: length is still the input. */
	printf(" length=0x%llx", (unsigned long long)cmd.length);
	end();
}

/* The extensible-struct rules on IOAS_ALLOC: short, long with a non-zero tail, long zero tail. */
static void alloc_sizes(void)
{
	struct {
		struct iommu_ioas_alloc cmd;
		uint32_t tail;
	} big;
	struct iommu_ioas_alloc cmd;

	cmd = (struct iommu_ioas_alloc){ .size = sizeof(cmd), .flags = 1 };
	step("IOAS_ALLOC flags=0x1", IOMMU_IOAS_ALLOC, &cmd);
	end();

	cmd = (struct iommu_ioas_alloc){ .size = 8 };
	step("IOAS_ALLOC size=8", IOMMU_IOAS_ALLOC, &cmd);
	end();

	memset(&big, 0, sizeof(big));
	big.cmd.size = sizeof(big);
	big.tail = 1;
	step("IOAS_ALLOC size=16 tail=1", IOMMU_IOAS_ALLOC, &big);
	end();

	big.tail = 0;
	if (step("IOAS_ALLOC size=16 tail=0", IOMMU_IOAS_ALLOC, &big) == 0)
		printf(" id=%u", big.cmd.out_ioas_id);
	end();
	ioas_destroy("DESTROY id=3", big.cmd.out_ioas_id);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/iommu";
	uint32_t ioas1, ioas2;
	void *region;
	int rc;

	iommufd = open(path, O_RDWR | O_CLOEXEC);
	if (iommufd < 0) {
		printf("open %s: rc=-1 errno=%s\n", path, errno_name(errno));
		return 1;
	}
	printf("open %s: rc=0\n", path);

	/* 16 MiB reserved, buffers in the 4 MiB after a 4 MiB boundary A: A + 2 MiB has exactly
	 * 2 MiB alignment, A + 0x1000 exactly 4 KiB, and so on. */
	region = mmap(NULL, 4 * SZ_4M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		printf("mmap: rc=-1 errno=%s\n", errno_name(errno));
		return 1;
	}
	A = ((uintptr_t)region + SZ_4M - 1) & ~(SZ_4M - 1);
	memset((void *)A, 0x5a, SZ_4M);

	ioas1 = ioas_alloc("IOAS_ALLOC");
	ioas2 = ioas_alloc("IOAS_ALLOC");
	alloc_sizes();

	/* No device attached: one allowed range [0, U64_MAX], alignment 1. */
	iova_ranges("IOVA_RANGES ioas=1 num_iovas=0", ioas1, 0);
	iova_ranges("IOVA_RANGES ioas=1 num_iovas=4", ioas1, 4);
	iova_ranges("IOVA_RANGES ioas=99 num_iovas=4", 99, 4);

	/* Fixed IOVA. */
	map("MAP fixed va=A+0x1000 length=0x4000 iova=0x100000", ioas1,
	    IOMMU_IOAS_MAP_FIXED_IOVA | RW, 0x1000, 0x4000, 0x100000);
	map("MAP fixed overlapping va=A+0x1000 length=0x4000 iova=0x102000", ioas1,
	    IOMMU_IOAS_MAP_FIXED_IOVA | RW, 0x1000, 0x4000, 0x102000);
	map("MAP fixed va=A+0x1000 length=0x1000 iova=0x0", ioas1,
	    IOMMU_IOAS_MAP_FIXED_IOVA | RW, 0x1000, 0x1000, 0);
	map("MAP fixed iova=0xfffffffffffff000 length=0x2000", ioas1,
	    IOMMU_IOAS_MAP_FIXED_IOVA | RW, 0x1000, 0x2000, 0xfffffffffffff000ULL);
	map("MAP no READABLE/WRITEABLE", ioas1, IOMMU_IOAS_MAP_FIXED_IOVA, 0x1000, 0x1000,
	    0x800000);
	map("MAP unknown flag 0x8", ioas1, RW | 0x8, 0x1000, 0x1000, 0);
	map("MAP length=0", ioas1, RW, 0x1000, 0, 0);
	map("MAP ioas=99", 99, RW, 0x1000, 0x1000, 0);

	/* Automatic IOVA: alignment min(roundup_pow_of_two(length), lowest set bit of user_va),
	 * first fit from PAGE_SIZE, the user_va's page offset kept. */
	map("MAP auto va=A+0x1000 length=0x2000", ioas1, RW, 0x1000, 0x2000, 0);
	map("MAP auto va=A+0x200000 length=0x200000", ioas1, RW, 0x200000, 0x200000, 0);
	map("MAP auto va=A+0x3000 length=0x3000", ioas1, RW, 0x3000, 0x3000, 0);
	map("MAP auto va=A+0x10000 length=0x10000", ioas1, RW, 0x10000, 0x10000, 0);
	map("MAP auto va=A+0x1800 length=0x800", ioas1, RW, 0x1800, 0x800, 0);

	/* Copy: any range covered by contiguous areas, not only whole ones. */
	copy("COPY 1:0x100000+0x4000 -> 2 fixed 0x40000000", IOMMU_IOAS_MAP_FIXED_IOVA | RW,
	     ioas2, 0x40000000, ioas1, 0x100000, 0x4000);
	copy("COPY 1:0x200000+0x200000 -> 2 auto", RW, ioas2, 0, ioas1, 0x200000, 0x200000);
	copy("COPY 1:0x201000+0x1000 -> 2 auto", RW, ioas2, 0, ioas1, 0x201000, 0x1000);
	copy("COPY 1:0x1000+0x5000 (two adjacent areas) -> 2 auto", RW, ioas2, 0, ioas1, 0x1000,
	     0x5000);
	copy("COPY 1:0x5000+0x2000 (gap) -> 2 auto", RW, ioas2, 0, ioas1, 0x5000, 0x2000);
	copy("COPY 1:0x500000+0x1000 (unmapped) -> 2 auto", RW, ioas2, 0, ioas1, 0x500000, 0x1000);
	copy("COPY no READABLE/WRITEABLE", 0, ioas2, 0, ioas1, 0x100000, 0x4000);
	copy("COPY 1:0x100000+0x4000 -> 2 fixed 0x40002000 (overlap)",
	     IOMMU_IOAS_MAP_FIXED_IOVA | RW, ioas2, 0x40002000, ioas1, 0x100000, 0x4000);
	iova_ranges("IOVA_RANGES ioas=2 num_iovas=0", ioas2, 0);

	/* Unmap: whole areas only; the length returned is the bytes unmapped. */
	unmap("UNMAP ioas=1 iova=0x100000 length=0x2000 (part of an area)", ioas1, 0x100000,
	      0x2000);
	unmap("UNMAP ioas=1 iova=0x7000000 length=0x1000 (nothing)", ioas1, 0x7000000, 0x1000);
	unmap("UNMAP ioas=1 iova=0x1000 length=U64_MAX (overflow)", ioas1, 0x1000, UINT64_MAX);
	unmap("UNMAP ioas=1 iova=0x100000 length=0x4000", ioas1, 0x100000, 0x4000);
	unmap("UNMAP ioas=1 iova=0x1000 length=0x6000 (three areas)", ioas1, 0x1000, 0x6000);
	/* The kernel walks areas in IOVA order and stops at the first one that sticks out: the
	 * whole area before it is already gone when ENOENT comes back. */
	unmap("UNMAP ioas=1 iova=0x10000 length=0x1f1000 (one whole, one partial)", ioas1,
	      0x10000, 0x1f1000);
	unmap("UNMAP ioas=1 iova=0x10000 length=0x10000", ioas1, 0x10000, 0x10000);
	unmap("UNMAP all ioas=1", ioas1, 0, UINT64_MAX);
	unmap("UNMAP all ioas=1 (empty)", ioas1, 0, UINT64_MAX);
	unmap("UNMAP all ioas=2", ioas2, 0, UINT64_MAX);

	ioas_destroy("DESTROY id=1", ioas1);
	ioas_destroy("DESTROY id=1 again", ioas1);
	ioas_destroy("DESTROY id=2", ioas2);
	{
		struct iommu_destroy cmd = { .size = sizeof(cmd), .id = 1 };

		step("ioctl nr=0xbf (unknown)", _IO(IOMMUFD_TYPE, 0xbf), &cmd);
		end();
	}
	rc = close(iommufd);
	printf("close: rc=%d\n", rc);
	return 0;
}
