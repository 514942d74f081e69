/* uaccess.c — copying to and from the caller's memory without trusting its pointers, and
 * capability checks.
 *
 * The kernel's copy_from_user() turns a bad pointer into EFAULT; a reference implementation
 * must do the same rather than crash the client (the fuzzer relies on it). process_vm_readv()/
 * process_vm_writev() on our own pid give exactly that: a fault becomes EFAULT. A process may
 * always access itself, so no ptrace permission is involved.
 *
 * The pid is cached (getpid() is a system call, ~130 ns here, and every copy needs it): a
 * pthread_atfork() handler clears it in the child, so a fork()ed client copies from itself,
 * never from its parent. A child made by a raw clone(2) that then calls into the reference
 * without exec is not covered; glibc's fork() and posix_spawn() are.
 */
#include "reference/ref_private.h"

#include <linux/capability.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static pid_t self_pid;
static pthread_once_t self_pid_once = PTHREAD_ONCE_INIT;

static void self_pid_forget(void)
{
	__atomic_store_n(&self_pid, 0, __ATOMIC_RELAXED);
}

static void self_pid_watch_forks(void)
{
	pthread_atfork(NULL, NULL, self_pid_forget);
}

pid_t ref_self_pid(void)
{
	pid_t pid = __atomic_load_n(&self_pid, __ATOMIC_RELAXED);

	if (!pid) {
		pthread_once(&self_pid_once, self_pid_watch_forks);
		pid = getpid();
		__atomic_store_n(&self_pid, pid, __ATOMIC_RELAXED);
	}
	return pid;
}

static int copy_self(uint64_t remote, void *local, size_t len, bool write)
{
	struct iovec l = { .iov_base = local, .iov_len = len };
	struct iovec r = { .iov_base = (void *)(uintptr_t)remote, .iov_len = len };
	ssize_t n;

	if (!len)
		return 0;
	n = write ? process_vm_writev(ref_self_pid(), &l, 1, &r, 1, 0)
		  : process_vm_readv(ref_self_pid(), &l, 1, &r, 1, 0);
	return n == (ssize_t)len ? 0 : -EFAULT;
}

int ref_copy_from_user(void *dst, uint64_t uptr, size_t len)
{
	return copy_self(uptr, dst, len, false);
}

int ref_copy_to_user(uint64_t uptr, const void *src, size_t len)
{
	return copy_self(uptr, (void *)src, len, true);
}

int ref_check_zeroed_user(uint64_t uptr, size_t len)
{
	unsigned char chunk[256];

	while (len) {
		size_t n = MIN(len, sizeof(chunk));

		if (copy_self(uptr, chunk, n, false))
			return -EFAULT;
		for (size_t i = 0; i != n; i++)
			if (chunk[i])
				return -E2BIG;
		uptr += n;
		len -= n;
	}
	return 0;
}

bool ref_capable(int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}
