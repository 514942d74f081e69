/* test_main.c — the reference's core: ioctl dispatch, extensible-struct rules, object table.
 * Suite `main` (src/reference/main.c). Expected values are the kernel's (iommufd main.c and
 * the selftest iommufd.cmd_length / cmd_fail cases). */
#include "ioasid_test.h"
#include "reference/ref_private.h"

#include <linux/vfio.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(main, .init = ctx_setup, .fini = ctx_teardown);

Test(main, unknown_commands_are_enotty)
{
	uint32_t buf[32] = { sizeof(buf) };

	/* Below the iommufd range (VFIO compat numbers not yet served) and past its end. */
	assert_rc(-ENOTTY, _ioctl(_IO(IOMMUFD_TYPE, 0x10), buf));
	assert_rc(-ENOTTY, _ioctl(_IO(IOMMUFD_TYPE, 0xff), buf));
	/* Right number, wrong encoding: size/direction bits or another type. */
	assert_rc(-ENOTTY, _ioctl(_IOWR(IOMMUFD_TYPE, 0x81, uint32_t), buf));
	assert_rc(-ENOTTY, _ioctl(_IO('V', 0x81), buf));
	/* TCGETS, what isatty() sends. */
	assert_rc(-ENOTTY, _ioctl(0x5401, buf));
}

Test(main, bad_pointer_is_efault_not_a_crash)
{
	assert_rc(-EFAULT, _ioctl(IOMMU_IOAS_ALLOC, NULL));
	assert_rc(-EFAULT, _ioctl(IOMMU_IOAS_ALLOC, (void *)16));
}

Test(main, reply_is_min_of_user_size_and_struct)
{
	/* A size between min and full is zero-extended; the reply copies only `size` bytes. */
	struct { struct iommu_ioas_iova_ranges cmd; uint32_t canary; } r;
	struct iommu_iova_range range;

	uint32_t id = ioas_alloc_ok();
	memset(&r, 0xab, sizeof(r));
	r.cmd.size = sizeof(r.cmd);
	r.cmd.ioas_id = id;
	r.cmd.num_iovas = 1;
	r.cmd.__reserved = 0;
	r.cmd.allowed_iovas = (uintptr_t)&range;
	assert_rc(0, _ioctl(IOMMU_IOAS_IOVA_RANGES, &r));
	cr_assert_eq(r.canary, 0xabababab, "reply wrote past user size");
	cr_assert_eq(r.cmd.num_iovas, 1);
	cr_assert_eq(r.cmd.out_iova_alignment, 1);
	cr_assert_eq(range.start, 0);
	cr_assert_eq(range.last, UINT64_MAX);
}

/* The selftest's TEST_LENGTH: min-1 → EINVAL; +1 non-zero → E2BIG; +1 zero → as exact. */
#define TEST_LENGTH(_struct, CMD, _last)                                                 \
	do {                                                                                \
		size_t min_size = offsetof(struct _struct, _last) +                         \
				  sizeof(((struct _struct *)0)->_last);                     \
		struct {                                                                    \
			struct _struct cmd;                                                 \
			uint8_t extra;                                                      \
		} __attribute__((packed)) cmd;                                              \
		int rc_exact, rc_zero_tail;                                                 \
		memset(&cmd, 0, sizeof(cmd));                                               \
		cmd.cmd.size = min_size - 1;                                                \
		cmd.extra = UINT8_MAX;                                                      \
		cr_assert_eq(_ioctl(CMD, &cmd), -EINVAL, #CMD " below min_size");     \
		cmd.cmd.size = sizeof(struct _struct) + 1;                                  \
		cr_assert_eq(_ioctl(CMD, &cmd), -E2BIG, #CMD " non-zero tail");       \
		cmd.cmd.size = sizeof(struct _struct);                                      \
		rc_exact = _ioctl(CMD, &cmd);                                            \
		cmd.cmd.size = sizeof(struct _struct) + 1;                                  \
		cmd.extra = 0;                                                              \
		rc_zero_tail = _ioctl(CMD, &cmd);                                        \
		cr_assert_eq(rc_zero_tail, rc_exact, #CMD " zero tail: %d vs exact %d",  \
			     rc_zero_tail, rc_exact);                                       \
	} while (0)

Test(main, cmd_length_every_ioctl)
{
	TEST_LENGTH(iommu_destroy, IOMMU_DESTROY, id);
	TEST_LENGTH(iommu_ioas_alloc, IOMMU_IOAS_ALLOC, out_ioas_id);
	TEST_LENGTH(iommu_ioas_allow_iovas, IOMMU_IOAS_ALLOW_IOVAS, allowed_iovas);
	TEST_LENGTH(iommu_ioas_copy, IOMMU_IOAS_COPY, src_iova);
	TEST_LENGTH(iommu_ioas_iova_ranges, IOMMU_IOAS_IOVA_RANGES, out_iova_alignment);
	TEST_LENGTH(iommu_ioas_map, IOMMU_IOAS_MAP, iova);
	TEST_LENGTH(iommu_ioas_unmap, IOMMU_IOAS_UNMAP, length);
	TEST_LENGTH(iommu_option, IOMMU_OPTION, val64);
	TEST_LENGTH(iommu_ioas_map_file, IOMMU_IOAS_MAP_FILE, iova);
}

Test(main, cmd_length_exact_values)
{
	/* The min sizes the kernel's IOCTL_OP table gives, written out. */
	struct { unsigned long cmd; uint32_t min; } t[] = {
		{ IOMMU_DESTROY, 8 }, { IOMMU_IOAS_ALLOC, 12 }, { IOMMU_IOAS_ALLOW_IOVAS, 24 },
		{ IOMMU_IOAS_COPY, 40 }, { IOMMU_IOAS_IOVA_RANGES, 32 }, { IOMMU_IOAS_MAP, 40 },
		{ IOMMU_IOAS_UNMAP, 24 }, { IOMMU_OPTION, 24 }, { IOMMU_IOAS_MAP_FILE, 40 },
	};
	uint8_t buf[128];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(buf, 0, sizeof(buf));
		*(uint32_t *)buf = t[i].min - 1;
		cr_assert_eq(_ioctl(t[i].cmd, buf), -EINVAL, "cmd %#lx size %u", t[i].cmd,
			     t[i].min - 1);
	}
}

Test(main, min_size_is_enough)
{
	uint8_t buf[64] = { 0 };

	*(uint32_t *)buf = 8;                   /* DESTROY id 0 */
	assert_rc(-ENOENT, _ioctl(IOMMU_DESTROY, buf));
	*(uint32_t *)buf = 12;                  /* IOAS_ALLOC */
	assert_rc(0, _ioctl(IOMMU_IOAS_ALLOC, buf));
	cr_assert_eq(*(uint32_t *)(buf + 8), 1);
	memset(buf, 0, sizeof(buf));
	*(uint32_t *)buf = 24;                  /* UNMAP ioas 1, iova 0, length 0 */
	*(uint32_t *)(buf + 4) = 1;
	assert_rc(-EINVAL, _ioctl(IOMMU_IOAS_UNMAP, buf));
}

Test(main, huge_size_with_zero_tail_is_accepted)
{
	static uint8_t page[8192];
	struct iommu_ioas_alloc *cmd = (void *)page;

	memset(page, 0, sizeof(page));
	cmd->size = sizeof(page);
	assert_rc(0, _ioctl(IOMMU_IOAS_ALLOC, cmd));
	cr_assert_eq(cmd->out_ioas_id, 1);
	page[sizeof(page) - 1] = 1;
	assert_rc(-E2BIG, _ioctl(IOMMU_IOAS_ALLOC, cmd));
}

Test(main, ids_start_at_one_and_reuse_lowest_free)
{
	cr_assert_eq(ioas_alloc_ok(), 1);
	cr_assert_eq(ioas_alloc_ok(), 2);
	cr_assert_eq(ioas_alloc_ok(), 3);
	destroy_ok(2);
	cr_assert_eq(ioas_alloc_ok(), 2);
	cr_assert_eq(ioas_alloc_ok(), 4);
	destroy_ok(1);
	destroy_ok(3);
	cr_assert_eq(ioas_alloc_ok(), 1);
	cr_assert_eq(ioas_alloc_ok(), 3);
}

Test(main, destroy_errors)
{
	destroy_err(ENOENT, 0);
	destroy_err(ENOENT, 1);
	destroy_err(ENOENT, UINT32_MAX);
	uint32_t id = ioas_alloc_ok();
	destroy_ok(id);
	destroy_err(ENOENT, id);
}

Test(main, destroy_busy_while_domain_attached)
{
	uint32_t id = ioas_alloc_ok();
	int dom = ioasid_test_domain_attach(self, id, 0);

	cr_assert_gt(dom, 0);
	destroy_err(EBUSY, id);
	assert_rc(0, ioasid_test_domain_detach(self, dom));
	destroy_ok(id);
}

Test(main, many_objects_and_stats)
{
	struct ioasid_ctx_stats st;

	for (int i = 1; i <= 1000; i++)
		cr_assert_eq(ioas_alloc_ok(), (uint32_t)i);
	assert_rc(0, ioasid_ctx_get_stats(self, &st));
	cr_assert_eq(st.objects, 1000);
	for (int i = 1; i <= 1000; i += 2)
		destroy_ok(i);
	assert_rc(0, ioasid_ctx_get_stats(self, &st));
	cr_assert_eq(st.objects, 500);
	/* the rest are freed by close (fini checks for leaks) */
}

Test(main, contexts_are_independent)
{
	struct ioasid_ctx *other;
	struct iommu_destroy d = { .size = sizeof(d), .id = 1 };

	cr_assert_eq(ioas_alloc_ok(), 1);
	assert_rc(0, ioasid_ctx_open(&other));
	assert_rc(-ENOENT, ioasid_ctx_ioctl(other, IOMMU_DESTROY, &d));
	ioasid_ctx_close(other);
	destroy_ok(1);
}

Test(main, close_with_everything_in_use)
{
	uint32_t a = ioas_alloc_ok(), b = ioas_alloc_ok();
	void *buf = test_buffer(1 << 20);

	ioas_map_fixed_ok(a, buf, 1 << 20, 1 << 20);
	cr_assert_gt(ioasid_test_domain_attach(self, a, 0), 0);
	cr_assert_gt(ioasid_test_domain_attach(self, b, 0), 0);
	/* fini closes the context with two domains, two IOASes and a pinned area */
	(void)b;
}

/* ---- what a handler may answer (ref_ioctl_check_ret) ----------------------------------------- */

Test(main, handler_answers_pass_when_they_are_0_errno_or_a_value)
{
	cr_assert_eq(ref_ioctl_check_ret(IOMMU_IOAS_MAP, 0), 0);
	cr_assert_eq(ref_ioctl_check_ret(IOMMU_IOAS_MAP, -ENOENT), -ENOENT);
	cr_assert_eq(ref_ioctl_check_ret(IOMMU_TEST_CMD, -EINVAL), -EINVAL);
	/* the two commands that answer a value */
	cr_assert_eq(ref_ioctl_check_ret(VFIO_CHECK_EXTENSION, 1), 1);
	cr_assert_eq(ref_ioctl_check_ret(VFIO_GET_API_VERSION, VFIO_API_VERSION), VFIO_API_VERSION);
	assert_rc(1, ioasid_ctx_ioctl(self, VFIO_CHECK_EXTENSION, (void *)VFIO_TYPE1v2_IOMMU));
}

#if REF_STRICT_RETURNS
/* Sanitizer (and -DIOASID_DEBUG) builds stop at the bug: tests and the fuzzer see it there. */
Test(main, positive_answer_of_a_status_handler_aborts, .signal = SIGABRT)
{
	ref_ioctl_check_ret(IOMMU_TEST_CMD, 32764);
}
#else
/* Other builds never let it out as a result: EIO, and the reason in ioasid_last_error(). */
Test(main, positive_answer_of_a_status_handler_is_eio)
{
	cr_assert_eq(ref_ioctl_check_ret(IOMMU_TEST_CMD, 32764), -EIO);
	cr_assert_eq(ref_ioctl_check_ret(IOMMU_IOAS_UNMAP, 4096), -EIO);
	cr_assert(strstr(ioasid_last_error(), "answered 4096"), "%s", ioasid_last_error());
}
#endif

/* The whole struct is read in one copy when it can be; a caller whose (older, shorter) struct
 * ends right before an unreadable page must still get what the kernel gives: it reads
 * `size` bytes only. */
Test(main, a_short_struct_before_an_unreadable_page_reads_as_in_the_kernel)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t min = offsetof(struct iommu_hwpt_alloc, __reserved) + sizeof(uint32_t);
	uint8_t *map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	struct iommu_hwpt_alloc *edge, mid;
	uint32_t ioas = ioas_alloc_ok();

	cr_assert_neq(map, MAP_FAILED);
	cr_assert_eq(mprotect(map + pg, pg, PROT_NONE), 0);
	edge = (void *)(map + pg - min);
	memset(edge, 0, min);
	edge->size = (uint32_t)min;
	edge->dev_id = 12345;                   /* no such device */
	edge->pt_id = ioas;
	memset(&mid, 0, sizeof(mid));
	memcpy(&mid, edge, min);
	assert_rc(-ENOENT, _ioctl(IOMMU_HWPT_ALLOC, &mid));
	assert_rc(-ENOENT, _ioctl(IOMMU_HWPT_ALLOC, edge));
	/* below the minimum, at the edge too: EINVAL, as the kernel */
	edge = (void *)(map + pg - 8);
	edge->size = 8;
	edge->flags = 0;
	assert_rc(-EINVAL, _ioctl(IOMMU_HWPT_ALLOC, edge));
	/* a size reaching into the unreadable page: EFAULT */
	edge = (void *)(map + pg - min);
	edge->size = (uint32_t)min + 8;
	assert_rc(-EFAULT, _ioctl(IOMMU_HWPT_ALLOC, edge));
	munmap(map, 2 * pg);
}

/* The reference caches its pid for the copies; a fork()ed child must copy from and to its own
 * memory, never its parent's (same addresses, same contents right after the fork). */
Test(main, a_forked_child_copies_from_its_own_memory)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	uint32_t first = ioas_alloc_ok();       /* the pid is cached by now */
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(_ioctl(IOMMU_IOAS_ALLOC, &cmd) == 0 && cmd.out_ioas_id == first + 1 ? 0 : 1);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the child did not get its reply in its own struct (status 0x%x)", status);
	cr_assert_eq(cmd.out_ioas_id, 0, "the child's reply landed in the parent's struct");
}
