/* diff_edges.c — the iommufd rules that need no device, step by step, for the differential
 * suite (a real kernel's transcript against the reference's, scripts/testbed/diff-clients.sh).
 *
 *   usage: diff_edges [IOMMUFD]     (default /dev/iommu)
 *
 * Sections:
 *  1. the extensible-struct rules on every iommufd ioctl number 0x80..0x94 and around it:
 *     size 0, size below the minimum, size at the minimum with zeroes, larger with a non-zero
 *     tail, a bad pointer, unknown ioctl numbers and encodings;
 *  2. unknown flags and non-zero reserved fields;
 *  3. object IDs: 0, nonexistent, destroyed, of the wrong type, on every ioctl that takes one;
 *  4. IOAS_MAP / UNMAP / COPY / ALLOW_IOVAS / IOVA_RANGES / OPTION edges (length 0,
 *     unaligned, iova + length overflow, U64_MAX, overlap, partial unmap, unmap all);
 *  5. destroying an object in use.
 * Transcript format: tests/clients/diff_common.h. User addresses are relative to A, a 4 MiB
 * aligned base. Exit 0 when the steps ran, 1 when /dev/iommu could not be opened.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/iommufd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "diff_common.h"

#define SZ_4K 0x1000UL
#define SZ_2M 0x200000UL
#define SZ_4M 0x400000UL
#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED IOMMU_IOAS_MAP_FIXED_IOVA
#define END_OF(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))

static int fd;
static uintptr_t A;

/* ---- 1. the extensible-struct rules ----------------------------------------------------- */

struct op {
	const char *name;
	unsigned long cmd;
	uint32_t size;      /* sizeof in the newest header */
	uint32_t min;       /* offsetofend of the kernel's IOCTL_OP last member */
};

#define OP(c, s, last) { #c, c, sizeof(struct s), END_OF(struct s, last) }
static const struct op ops[] = {
	OP(IOMMU_DESTROY, iommu_destroy, id),
	OP(IOMMU_IOAS_ALLOC, iommu_ioas_alloc, out_ioas_id),
	OP(IOMMU_IOAS_ALLOW_IOVAS, iommu_ioas_allow_iovas, allowed_iovas),
	OP(IOMMU_IOAS_COPY, iommu_ioas_copy, src_iova),
	OP(IOMMU_IOAS_IOVA_RANGES, iommu_ioas_iova_ranges, out_iova_alignment),
	OP(IOMMU_IOAS_MAP, iommu_ioas_map, iova),
	OP(IOMMU_IOAS_UNMAP, iommu_ioas_unmap, length),
	OP(IOMMU_OPTION, iommu_option, val64),
	OP(IOMMU_VFIO_IOAS, iommu_vfio_ioas, __reserved),
	OP(IOMMU_HWPT_ALLOC, iommu_hwpt_alloc, __reserved),
	OP(IOMMU_GET_HW_INFO, iommu_hw_info, __reserved),
	OP(IOMMU_HWPT_SET_DIRTY_TRACKING, iommu_hwpt_set_dirty_tracking, __reserved),
	OP(IOMMU_HWPT_GET_DIRTY_BITMAP, iommu_hwpt_get_dirty_bitmap, data),
	OP(IOMMU_HWPT_INVALIDATE, iommu_hwpt_invalidate, __reserved),
	OP(IOMMU_FAULT_QUEUE_ALLOC, iommu_fault_alloc, out_fault_fd),
	OP(IOMMU_IOAS_MAP_FILE, iommu_ioas_map_file, iova),
};

/* A buffer bigger than any command, filled with zeroes and a size. */
static union {
	uint32_t size;
	uint8_t bytes[256];
} buf;

static void sized(const struct op *op, const char *what, uint32_t size, int tail)
{
	char name[160];
	int rc;

	memset(&buf, 0, sizeof(buf));
	buf.size = size;
	if (tail)
		memset(buf.bytes + op->size, 0xff, size - op->size);
	snprintf(name, sizeof(name), "%s size=%u (%s)", op->name, size, what);
	rc = step(name, fd, op->cmd, &buf);
	if (rc == 0 && op->cmd == IOMMU_IOAS_ALLOC)
		field("id=%u", ((struct iommu_ioas_alloc *)&buf)->out_ioas_id);
	if (rc == 0 && op->cmd == IOMMU_FAULT_QUEUE_ALLOC) {
		struct iommu_fault_alloc *f = (void *)&buf;

		field("id=%u", f->out_fault_id);
		close((int)f->out_fault_fd);
	}
	end();
	/* Objects made by the zeroed calls are destroyed at once: IDs stay predictable. */
	if (rc == 0 && op->cmd == IOMMU_IOAS_ALLOC) {
		struct iommu_destroy d = { sizeof(d), ((struct iommu_ioas_alloc *)&buf)->out_ioas_id };

		step("DESTROY (the IOAS above)", fd, IOMMU_DESTROY, &d);
		end();
	}
	if (rc == 0 && op->cmd == IOMMU_FAULT_QUEUE_ALLOC) {
		struct iommu_destroy d = { sizeof(d), ((struct iommu_fault_alloc *)&buf)->out_fault_id };

		step("DESTROY (the FAULT above)", fd, IOMMU_DESTROY, &d);
		end();
	}
}

static void struct_rules(void)
{
	unsigned int i;

	heading("extensible structs");
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		const struct op *op = &ops[i];

		sized(op, "zero", 0, 0);
		sized(op, "min-1", op->min - 1, 0);
		sized(op, "min, zeroes", op->min, 0);
		if (op->size != op->min)
			sized(op, "sizeof, zeroes", op->size, 0);
		sized(op, "sizeof+8, zero tail", op->size + 8, 0);
		sized(op, "sizeof+8, non-zero tail", op->size + 8, 1);
		step("ioctl arg=NULL", fd, op->cmd, NULL);
		end();
	}
	/* Numbers without a command, the iommufd range's neighbours, other encodings. */
	for (i = 0x95; i <= 0xa1; i++) {
		char name[64];

		if (i == 0xa0)
			continue; /* IOMMU_TEST_CMD: a test kernel and the reference both have it */
		memset(&buf, 0, sizeof(buf));
		buf.size = 64;
		snprintf(name, sizeof(name), "ioctl nr=0x%x size=64", i);
		step(name, fd, _IO(IOMMUFD_TYPE, i), &buf);
		end();
	}
	memset(&buf, 0, sizeof(buf));
	buf.size = sizeof(struct iommu_destroy);
	step("ioctl nr=0x7f (below the iommufd range)", fd, _IO(IOMMUFD_TYPE, 0x7f), &buf);
	end();
	step("ioctl nr=0xbf", fd, _IO(IOMMUFD_TYPE, 0xbf), &buf);
	end();
	step("IOMMU_DESTROY encoded _IOW", fd, _IOW(IOMMUFD_TYPE, 0x80, struct iommu_destroy),
	     &buf);
	end();
	step("IOMMU_DESTROY with type 'x'", fd, _IO('x', 0x80), &buf);
	end();
}

/* ---- helpers ----------------------------------------------------------------------------- */

static uint32_t ioas_alloc(const char *name)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	if (step(name, fd, IOMMU_IOAS_ALLOC, &cmd) == 0)
		field("id=%u", cmd.out_ioas_id);
	end();
	return cmd.out_ioas_id;
}

static uint32_t fault_alloc(const char *name)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd) };

	if (step(name, fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd) == 0) {
		field("id=%u", cmd.out_fault_id);
		close((int)cmd.out_fault_fd);
	}
	end();
	return cmd.out_fault_id;
}

static void destroy(const char *name, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	step(name, fd, IOMMU_DESTROY, &cmd);
	end();
}

static void ranges(const char *name, uint32_t ioas, uint32_t num, uint32_t reserved)
{
	struct iommu_iova_range r[4];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas,
		.num_iovas = num,
		.__reserved = reserved,
		.allowed_iovas = num ? (uintptr_t)r : 0,
	};
	uint32_t i;
	int rc;

	memset(r, 0xa5, sizeof(r));
	rc = step(name, fd, IOMMU_IOAS_IOVA_RANGES, &cmd);
	field("num_iovas=%u alignment=0x%llx", cmd.num_iovas,
	      (unsigned long long)cmd.out_iova_alignment);
	for (i = 0; rc == 0 && i < cmd.num_iovas && i < num && i < 4; i++)
		field("range[%u]=[0x%llx,0x%llx]", i, (unsigned long long)r[i].start,
		      (unsigned long long)r[i].last);
	end();
}

static int map(const char *name, uint32_t ioas, uint32_t flags, uint64_t va_off,
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
	int rc = step(name, fd, IOMMU_IOAS_MAP, &cmd);

	if (rc == 0)
		field("iova=0x%llx", (unsigned long long)cmd.iova);
	end();
	return rc;
}

static void unmap(const char *name, uint32_t ioas, uint64_t iova, uint64_t length)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova, .length = length,
	};

	step(name, fd, IOMMU_IOAS_UNMAP, &cmd);
	field("length=0x%llx", (unsigned long long)cmd.length);
	end();
}

static void copy(const char *name, uint32_t flags, uint32_t dst, uint64_t dst_iova,
		 uint32_t src, uint64_t src_iova, uint64_t length)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd), .flags = flags, .dst_ioas_id = dst, .src_ioas_id = src,
		.length = length, .dst_iova = dst_iova, .src_iova = src_iova,
	};

	if (step(name, fd, IOMMU_IOAS_COPY, &cmd) == 0)
		field("dst_iova=0x%llx", (unsigned long long)cmd.dst_iova);
	end();
}

static void allow(const char *name, uint32_t ioas, const struct iommu_iova_range *r,
		  uint32_t num, uint32_t reserved)
{
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .num_iovas = num, .__reserved = reserved,
		.allowed_iovas = (uintptr_t)r,
	};

	step(name, fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
	end();
}

static void option(const char *name, uint32_t id, uint16_t op, uint32_t object,
		   uint64_t val, uint16_t reserved)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd), .option_id = id, .op = op, .__reserved = reserved,
		.object_id = object, .val64 = val,
	};

	if (step(name, fd, IOMMU_OPTION, &cmd) == 0)
		field("val64=0x%llx", (unsigned long long)cmd.val64);
	end();
}

static void vfio_ioas(const char *name, uint32_t ioas, uint16_t op, uint16_t reserved)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .op = op, .__reserved = reserved,
	};

	if (step(name, fd, IOMMU_VFIO_IOAS, &cmd) == 0)
		field("ioas_id=%u", cmd.ioas_id);
	end();
}

/* ---- 2./3. flags, reserved fields and IDs on the commands that take them ---------------- */

static void hwpt_alloc(const char *name, uint32_t flags, uint32_t dev, uint32_t pt,
		       uint32_t reserved, uint32_t type, uint32_t len)
{
	uint8_t data[64] = { 0 };
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev, .pt_id = pt,
		.__reserved = reserved, .data_type = type, .data_len = len,
		.data_uptr = len ? (uintptr_t)data : 0,
	};

	if (step(name, fd, IOMMU_HWPT_ALLOC, &cmd) == 0)
		field("id=%u", cmd.out_hwpt_id);
	end();
}

static void hw_info(const char *name, uint32_t flags, uint32_t dev, uint8_t reserved)
{
	uint8_t data[64];
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev, .data_len = sizeof(data),
		.data_uptr = (uintptr_t)data,
	};

	cmd.__reserved[0] = reserved;
	step(name, fd, IOMMU_GET_HW_INFO, &cmd);
	end();
}

static void set_dirty(const char *name, uint32_t flags, uint32_t hwpt, uint32_t reserved)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd), .flags = flags, .hwpt_id = hwpt, .__reserved = reserved,
	};

	step(name, fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
	end();
}

static void get_dirty(const char *name, uint32_t flags, uint32_t hwpt, uint32_t reserved)
{
	uint64_t bitmap[8] = { 0 };
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt, .flags = flags, .__reserved = reserved,
		.iova = 0x100000, .length = 0x40000, .page_size = SZ_4K,
		.data = (uintptr_t)bitmap,
	};

	step(name, fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
	end();
}

static void invalidate(const char *name, uint32_t hwpt, uint32_t type, uint32_t num,
		       uint32_t reserved)
{
	struct iommu_hwpt_vtd_s1_invalidate inv[2] = { { .addr = 0, .npages = 1 } };
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt, .data_uptr = (uintptr_t)inv,
		.data_type = type, .entry_len = sizeof(inv[0]), .entry_num = num,
		.__reserved = reserved,
	};

	step(name, fd, IOMMU_HWPT_INVALIDATE, &cmd);
	field("entry_num=%u", cmd.entry_num);
	end();
}

static void fault_flags(const char *name, uint32_t flags)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd), .flags = flags };

	if (step(name, fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd) == 0)
		close((int)cmd.out_fault_fd);
	end();
}

static void flag_rules(uint32_t ioas)
{
	heading("unknown flags, reserved fields");
	{
		struct iommu_ioas_alloc cmd = { .size = sizeof(cmd), .flags = 1 };

		step("IOAS_ALLOC flags=0x1", fd, IOMMU_IOAS_ALLOC, &cmd);
		end();
	}
	map("MAP flags=0x8 (unknown)", ioas, RW | 0x8, 0, SZ_4K, 0);
	map("MAP flags=0x80000000 (unknown)", ioas, RW | 0x80000000u, 0, SZ_4K, 0);
	{
		struct iommu_ioas_map cmd = {
			.size = sizeof(cmd), .flags = RW, .ioas_id = ioas, .__reserved = 1,
			.user_va = A, .length = SZ_4K,
		};

		step("MAP __reserved=1", fd, IOMMU_IOAS_MAP, &cmd);
		end();
	}
	copy("COPY flags=0x8 (unknown)", RW | 0x8, ioas, 0, ioas, 0, SZ_4K);
	ranges("IOVA_RANGES __reserved=1", ioas, 0, 1);
	allow("ALLOW_IOVAS __reserved=1", ioas, NULL, 0, 1);
	option("OPTION __reserved=1", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas, 0, 1);
	vfio_ioas("VFIO_IOAS __reserved=1", ioas, IOMMU_VFIO_IOAS_GET, 1);
	vfio_ioas("VFIO_IOAS op=3 (unknown)", ioas, 3, 0);
	hwpt_alloc("HWPT_ALLOC flags=0x80000000 dev_id=0", 0x80000000u, 0, ioas, 0, 0, 0);
	hwpt_alloc("HWPT_ALLOC __reserved=1 dev_id=0", 0, 0, ioas, 1, 0, 0);
	hwpt_alloc("HWPT_ALLOC data_type=NONE data_len=8 dev_id=0", 0, 0, ioas, 0, 0, 8);
	hwpt_alloc("HWPT_ALLOC data_type=0x77 dev_id=0", 0, 0, ioas, 0, 0x77, 0);
	hw_info("GET_HW_INFO flags=0x80000000 dev_id=0", 0x80000000u, 0, 0);
	hw_info("GET_HW_INFO __reserved[0]=1 dev_id=0", 0, 0, 1);
	set_dirty("SET_DIRTY_TRACKING flags=0x2 hwpt_id=0", 0x2, 0, 0);
	set_dirty("SET_DIRTY_TRACKING __reserved=1 hwpt_id=0", 0, 0, 1);
	get_dirty("GET_DIRTY_BITMAP flags=0x2 hwpt_id=0", 0x2, 0, 0);
	get_dirty("GET_DIRTY_BITMAP __reserved=1 hwpt_id=0", 0, 0, 1);
	invalidate("HWPT_INVALIDATE __reserved=1 hwpt_id=0", 0, 0, 1, 1);
	invalidate("HWPT_INVALIDATE data_type=0x77 entry_num=0 hwpt_id=0", 0, 0x77, 0, 0);
	fault_flags("FAULT_QUEUE_ALLOC flags=0x1", 0x1);
	option("OPTION option_id=7 (unknown)", 7, IOMMU_OPTION_OP_GET, 0, 0, 0);
	option("OPTION HUGE_PAGES op=2 (unknown)", IOMMU_OPTION_HUGE_PAGES, 2, ioas, 0, 0);
	option("OPTION RLIMIT_MODE op=2 (unknown)", IOMMU_OPTION_RLIMIT_MODE, 2, 0, 0, 0);
}

static void id_rules(const char *what, uint32_t id)
{
	char name[128];

	heading("object ID %u (%s)", id, what);
#define NAMED(s) (snprintf(name, sizeof(name), "%s id=%u", s, id), name)
	destroy(NAMED("DESTROY"), id);
	ranges(NAMED("IOVA_RANGES"), id, 0, 0);
	allow(NAMED("ALLOW_IOVAS num=0"), id, NULL, 0, 0);
	map(NAMED("MAP"), id, RW, 0, SZ_4K, 0);
	unmap(NAMED("UNMAP all"), id, 0, UINT64_MAX);
	unmap(NAMED("UNMAP 0x1000+0x1000"), id, SZ_4K, SZ_4K);
	copy(NAMED("COPY src"), RW, 1, 0, id, 0, SZ_4K);
	option(NAMED("OPTION HUGE_PAGES GET"), IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, id,
	       0, 0);
	vfio_ioas(NAMED("VFIO_IOAS SET"), id, IOMMU_VFIO_IOAS_SET, 0);
	hwpt_alloc(NAMED("HWPT_ALLOC dev_id"), 0, id, 1, 0, 0, 0);
	hw_info(NAMED("GET_HW_INFO dev_id"), 0, id, 0);
	set_dirty(NAMED("SET_DIRTY_TRACKING hwpt_id"), 0, id, 0);
	get_dirty(NAMED("GET_DIRTY_BITMAP hwpt_id"), 0, id, 0);
	invalidate(NAMED("HWPT_INVALIDATE entry_num=0 hwpt_id"), id, 0, 0, 0);
	invalidate(NAMED("HWPT_INVALIDATE entry_num=1 hwpt_id"), id, 0, 1, 0);
#undef NAMED
}

/* ---- 4. the IOAS commands' edges ----------------------------------------------------------- */

static void map_edges(uint32_t ioas, uint32_t ioas2)
{
	heading("IOAS_MAP edges");
	map("MAP length=0", ioas, RW, 0, 0, 0);
	map("MAP fixed length=0", ioas, FIXED | RW, 0, 0, 0x100000);
	map("MAP no READABLE/WRITEABLE", ioas, FIXED, 0, SZ_4K, 0x100000);
	map("MAP fixed iova=U64_MAX", ioas, FIXED | RW, 0, SZ_4K, UINT64_MAX);
	map("MAP length=U64_MAX", ioas, RW, 0, UINT64_MAX, 0);
	map("MAP fixed iova=U64_MAX-0xfff length=0x2000 (overflow)", ioas, FIXED | RW, 0,
	    0x2000, UINT64_MAX - 0xfff);
	map("MAP fixed iova=U64_MAX-0x1fff length=0x2000 (ends at U64_MAX-1)", ioas,
	    FIXED | RW, 0, 0x2000, UINT64_MAX - 0x1fff);
	map("MAP fixed iova=U64_MAX-0xffff length=0x10000 (ends at U64_MAX)", ioas,
	    FIXED | RW, 0, 0x10000, UINT64_MAX - 0xffff);
	unmap("UNMAP iova=U64_MAX-0xffff length=0x10000", ioas, UINT64_MAX - 0xffff, 0x10000);
	map("MAP user_va=0 (unmapped memory)", ioas, FIXED | RW, -(uint64_t)A, SZ_4K, 0x100000);
	map("MAP fixed va=A iova=0x100000 length=0x10000", ioas, FIXED | RW, 0, 0x10000, 0x100000);
	map("MAP fixed overlap at start", ioas, FIXED | RW, 0, 0x2000, 0xff000);
	map("MAP fixed overlap inside", ioas, FIXED | RW, 0, 0x1000, 0x104000);
	map("MAP fixed overlap at end", ioas, FIXED | RW, 0, 0x2000, 0x10f000);
	map("MAP fixed adjacent below", ioas, FIXED | RW, 0, 0x1000, 0xff000);
	map("MAP fixed adjacent above", ioas, FIXED | RW, 0, 0x1000, 0x110000);
	/* No domain yet: the IOVA alignment is 1, unaligned maps are fine (in whole pages). */
	map("MAP fixed va=A+0x800 length=0x800 iova=0x200800", ioas, FIXED | RW, 0x800, 0x800,
	    0x200800);
	map("MAP fixed va=A+0x800 length=0x1000 iova=0x300000 (offsets differ)", ioas, FIXED | RW,
	    0x800, 0x1000, 0x300000);
	map("MAP fixed va=A length=0x1001 iova=0x400000", ioas, FIXED | RW, 0, 0x1001, 0x400000);
	map("MAP auto va=A+0x1000 length=0x1000", ioas, RW, 0x1000, 0x1000, 0);
	map("MAP auto va=A+0x200000 length=0x200000", ioas, RW, SZ_2M, SZ_2M, 0);
	map("MAP auto va=A+0x123 length=0x10", ioas, RW, 0x123, 0x10, 0);
	map("MAP auto readonly va=A length=0x3000", ioas, IOMMU_IOAS_MAP_READABLE, 0, 0x3000, 0);
	ranges("IOVA_RANGES with maps", ioas, 4, 0);

	heading("IOAS_UNMAP edges");
	unmap("UNMAP length=0", ioas, 0x100000, 0);
	unmap("UNMAP iova=0 length=0", ioas, 0, 0);
	unmap("UNMAP partial (first half of an area)", ioas, 0x100000, 0x8000);
	unmap("UNMAP partial (tail of an area)", ioas, 0x108000, 0x8000);
	unmap("UNMAP straddling the start of an area", ioas, 0xff000, 0x2000);
	unmap("UNMAP a hole", ioas, 0x5000000, 0x1000);
	unmap("UNMAP iova=U64_MAX length=1", ioas, UINT64_MAX, 1);
	unmap("UNMAP iova=0x1000 length=U64_MAX", ioas, 0x1000, UINT64_MAX);
	unmap("UNMAP iova=U64_MAX-0xfff length=0x2000", ioas, UINT64_MAX - 0xfff, 0x2000);
	unmap("UNMAP unaligned iova=0x200800 length=0x800", ioas, 0x200800, 0x800);
	unmap("UNMAP exact area and its neighbours", ioas, 0xff000, 0x12000);
	unmap("UNMAP covering several areas and holes", ioas, 0, 0x500000);

	heading("IOAS_COPY edges");
	map("MAP fixed va=A iova=0x1000000 length=0x10000", ioas, FIXED | RW, 0, 0x10000,
	    0x1000000);
	copy("COPY length=0", RW, ioas2, 0, ioas, 0x1000000, 0);
	copy("COPY no READABLE/WRITEABLE", 0, ioas2, 0, ioas, 0x1000000, 0x1000);
	copy("COPY length=U64_MAX", RW, ioas2, 0, ioas, 0x1000000, UINT64_MAX);
	copy("COPY src_iova=U64_MAX", RW, ioas2, 0, ioas, UINT64_MAX, 0x1000);
	copy("COPY fixed dst_iova=U64_MAX", FIXED | RW, ioas2, UINT64_MAX, ioas, 0x1000000,
	     0x1000);
	copy("COPY fixed dst_iova=U64_MAX-0xfff (overflow)", FIXED | RW, ioas2,
	     UINT64_MAX - 0xfff, ioas, 0x1000000, 0x2000);
	copy("COPY src range past the area", RW, ioas2, 0, ioas, 0x1008000, 0x10000);
	copy("COPY unaligned src_iova=0x1000800 length=0x800", RW, ioas2, 0, ioas, 0x1000800,
	     0x800);
	copy("COPY part of an area, fixed", FIXED | RW, ioas2, 0x2000000, ioas, 0x1004000, 0x4000);
	copy("COPY onto itself (overlap)", FIXED | RW, ioas, 0x1000000, ioas, 0x1000000, 0x1000);
	copy("COPY within one IOAS, auto", RW, ioas, 0, ioas, 0x1000000, 0x2000);
	copy("COPY dst_ioas_id=99", RW, 99, 0, ioas, 0x1000000, 0x1000);
	ranges("IOVA_RANGES ioas2", ioas2, 4, 0);
	unmap("UNMAP all ioas2", ioas2, 0, UINT64_MAX);

	heading("IOAS_ALLOW_IOVAS edges");
	{
		struct iommu_iova_range r[3];

		allow("ALLOW_IOVAS num=1 ranges=NULL", ioas2, NULL, 1, 0);
		r[0] = (struct iommu_iova_range){ 0x10000, 0xfffff };
		r[1] = (struct iommu_iova_range){ 0x80000, 0x1fffff };
		allow("ALLOW_IOVAS overlapping ranges", ioas2, r, 2, 0);
		r[0] = (struct iommu_iova_range){ 0x20000, 0x10000 };
		allow("ALLOW_IOVAS start>last", ioas2, r, 1, 0);
		r[0] = (struct iommu_iova_range){ 0x10800, 0x1ffff };
		allow("ALLOW_IOVAS unaligned start", ioas2, r, 1, 0);
		r[0] = (struct iommu_iova_range){ 0x10000, 0x1f7ff };
		allow("ALLOW_IOVAS unaligned last", ioas2, r, 1, 0);
		r[0] = (struct iommu_iova_range){ 0x100000, 0x1fffff };
		r[1] = (struct iommu_iova_range){ 0x200000, 0x2fffff };
		r[2] = (struct iommu_iova_range){ 0x1000000, 0x10fffff };
		allow("ALLOW_IOVAS three ranges (two adjacent)", ioas2, r, 3, 0);
		ranges("IOVA_RANGES after ALLOW_IOVAS", ioas2, 4, 0);
		ranges("IOVA_RANGES num_iovas=1 (too small)", ioas2, 1, 0);
		map("MAP auto length=0x1000 (inside allowed)", ioas2, RW, 0, 0x1000, 0);
		map("MAP auto length=0x300000 (too big for any range)", ioas2, RW, 0, 0x300000, 0);
		map("MAP fixed outside allowed", ioas2, FIXED | RW, 0, 0x1000, 0x500000);
		map("MAP fixed straddling allowed ranges", ioas2, FIXED | RW, 0, 0x2000, 0x2ff000);
		map("MAP fixed inside the third range", ioas2, FIXED | RW, 0, 0x1000, 0x1000000);
		r[0] = (struct iommu_iova_range){ 0x100000, 0x1fffff };
		allow("ALLOW_IOVAS excluding an existing map", ioas2, r, 1, 0);
		ranges("IOVA_RANGES after that", ioas2, 4, 0);
		allow("ALLOW_IOVAS num=0 (allow everything)", ioas2, NULL, 0, 0);
		ranges("IOVA_RANGES after num=0", ioas2, 4, 0);
		unmap("UNMAP all ioas2", ioas2, 0, UINT64_MAX);
	}

	heading("IOAS_IOVA_RANGES edges");
	ranges("IOVA_RANGES num_iovas=0", ioas, 0, 0);
	{
		struct iommu_ioas_iova_ranges cmd = {
			.size = sizeof(cmd), .ioas_id = ioas, .num_iovas = 1, .allowed_iovas = 8,
		};

		step("IOVA_RANGES num_iovas=1 allowed_iovas=0x8 (bad pointer)", fd,
		     IOMMU_IOAS_IOVA_RANGES, &cmd);
		end();
		cmd = (struct iommu_ioas_iova_ranges){
			.size = END_OF(struct iommu_ioas_iova_ranges, out_iova_alignment),
			.ioas_id = ioas,
		};
		step("IOVA_RANGES size=min num_iovas=0", fd, IOMMU_IOAS_IOVA_RANGES, &cmd);
		field("num_iovas=%u", cmd.num_iovas);
		end();
	}

	heading("IOMMU_OPTION edges");
	option("OPTION RLIMIT_MODE GET", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, 0, 0);
	option("OPTION RLIMIT_MODE GET object_id=ioas", IOMMU_OPTION_RLIMIT_MODE,
	       IOMMU_OPTION_OP_GET, ioas, 0, 0);
	option("OPTION RLIMIT_MODE SET val64=2", IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET,
	       0, 2, 0);
	option("OPTION HUGE_PAGES GET", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas, 0, 0);
	option("OPTION HUGE_PAGES GET object_id=0", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET,
	       0, 0, 0);
	option("OPTION HUGE_PAGES SET val64=2", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
	       ioas, 2, 0);
	option("OPTION HUGE_PAGES SET val64=0", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
	       ioas, 0, 0);
	option("OPTION HUGE_PAGES GET (after SET 0)", IOMMU_OPTION_HUGE_PAGES,
	       IOMMU_OPTION_OP_GET, ioas, 0, 0);
	option("OPTION HUGE_PAGES SET val64=1", IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
	       ioas, 1, 0);

	heading("IOMMU_VFIO_IOAS edges");
	vfio_ioas("VFIO_IOAS GET (none set)", 0, IOMMU_VFIO_IOAS_GET, 0);
	vfio_ioas("VFIO_IOAS SET ioas2", ioas2, IOMMU_VFIO_IOAS_SET, 0);
	vfio_ioas("VFIO_IOAS GET", 0, IOMMU_VFIO_IOAS_GET, 0);
	vfio_ioas("VFIO_IOAS CLEAR", 0, IOMMU_VFIO_IOAS_CLEAR, 0);
	vfio_ioas("VFIO_IOAS GET (after CLEAR)", 0, IOMMU_VFIO_IOAS_GET, 0);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/iommu";
	uint32_t ioas, ioas2, gone, fault;
	void *region;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("open %s: rc=-1 errno=%s\n", path, errno_name(errno));
		return 1;
	}
	printf("open %s: rc=0\n", path);
	region = mmap(NULL, 4 * SZ_4M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		printf("mmap: rc=-1 errno=%s\n", errno_name(errno));
		return 1;
	}
	A = ((uintptr_t)region + SZ_4M - 1) & ~(SZ_4M - 1);
	memset((void *)A, 0x5a, 2 * SZ_4M);

	struct_rules();

	heading("objects");
	ioas = ioas_alloc("IOAS_ALLOC");
	ioas2 = ioas_alloc("IOAS_ALLOC");
	gone = ioas_alloc("IOAS_ALLOC (to be destroyed)");
	destroy("DESTROY it", gone);
	fault = fault_alloc("FAULT_QUEUE_ALLOC");
	ranges("IOVA_RANGES fresh IOAS", ioas, 4, 0);

	flag_rules(ioas);
	id_rules("zero", 0);
	id_rules("never allocated", 99);
	id_rules("destroyed IOAS", gone);
	id_rules("a FAULT object", fault);

	map_edges(ioas, ioas2);

	heading("destroy in use");
	vfio_ioas("VFIO_IOAS SET ioas2", ioas2, IOMMU_VFIO_IOAS_SET, 0);
	destroy("DESTROY the compat IOAS", ioas2);
	vfio_ioas("VFIO_IOAS GET (after destroying it)", 0, IOMMU_VFIO_IOAS_GET, 0);
	map("MAP fixed va=A iova=0x100000 length=0x10000 (before destroying its IOAS)", ioas,
	    FIXED | RW, 0, 0x10000, 0x100000);
	destroy("DESTROY an IOAS with mappings", ioas);
	destroy("DESTROY it again", ioas);
	destroy("DESTROY the FAULT object", fault);
	ioas = ioas_alloc("IOAS_ALLOC (IDs are not reused while lower ones are free?)");
	destroy("DESTROY it", ioas);
	printf("close: rc=%d\n", close(fd));
	return 0;
}
