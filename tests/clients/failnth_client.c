/* failnth_client.c — the kernel's fault-injection interface as a program uses it: the files of
 * Documentation/fault-injection/fault-injection.rst, with only libc and <linux/iommufd.h>.
 *
 *   usage: failnth_client
 *
 * On a kernel with CONFIG_FAULT_INJECTION (and debugfs) and under ioasid-run (the shim serves
 * the same files from the reference's fail-nth: uapi-shim/preload/failnth.c) it prints the same
 * lines, one per step, "step: result":
 *   - /sys/kernel/debug: failslab/ and fail_page_alloc/ exist and ignore-gfp-wait takes "N"
 *     (set first, as the kernel's selftest does: allocations that may sleep can fail too);
 *   - /proc/self/task/TID/fail-nth: initial value, end of file on a second read(), a number
 *     written and read back, kstrtouint's parsing (+N, 0x.., a trailing newline, garbage,
 *     overflow);
 *   - armed at 1, IOMMU_IOAS_ALLOC fails with ENOMEM and the file reads 0 (the failure fired);
 *   - a sweep: armed at 1, 2, ... until IOMMU_IOAS_ALLOC succeeds with the counter unspent;
 *     every failure before it is ENOMEM or ENOENT (how many there are is the implementation's:
 *     the kernel counts slab and page allocations, the reference allocations and lookups);
 * Exit 0 when every step ran, 1 when a step could not run (named on stderr).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/iommufd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int nth_fd, iommufd;

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case ERANGE: return "ERANGE";
	case ENOMEM: return "ENOMEM";
	case ENOENT: return "ENOENT";
	default: return strerror(e);
	}
}

static void die(const char *what)
{
	fprintf(stderr, "failnth_client: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void arm(unsigned int n)
{
	char text[16];
	int len = snprintf(text, sizeof(text), "%u", n);

	if (pwrite(nth_fd, text, (size_t)len, 0) != len)
		die("write fail-nth");
}

static unsigned int left(void)
{
	char text[16] = "";

	if (pread(nth_fd, text, sizeof(text) - 1, 0) < 2)
		die("read fail-nth");
	return (unsigned int)strtoul(text, NULL, 10);
}

static void write_text(const char *step, const char *text)
{
	ssize_t rc = pwrite(nth_fd, text, strlen(text), 0);

	if (rc < 0)
		printf("%s: rc=-1 errno=%s\n", step, errname(errno));
	else
		printf("%s: rc=%zd reads %u\n", step, rc, left());
}

static int ioas_alloc(uint32_t *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &cmd))
		return errno;
	*id = cmd.out_ioas_id;
	return 0;
}

int main(void)
{
	char path[64], text[16];
	unsigned int n, failures = 0, odd = 0;
	uint32_t id = 0;
	struct dirent *de;
	int found = 0, dfd, fd, e;
	ssize_t got;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", gettid());
	nth_fd = open(path, O_RDWR);
	if (nth_fd < 0)
		die(path);
	iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0)
		die("/dev/iommu");

	dir = opendir("/sys/kernel/debug");
	if (!dir)
		die("opendir /sys/kernel/debug");
	while ((de = readdir(dir)))
		found |= (strcmp(de->d_name, "failslab") == 0) |
			 (strcmp(de->d_name, "fail_page_alloc") == 0) << 1;
	dfd = dirfd(dir);
	/* As the kernel's selftest does: let allocations that may sleep fail too. */
	fd = openat(dfd, "failslab/ignore-gfp-wait", O_WRONLY);
	printf("debugfs: failslab %s, fail_page_alloc %s, ignore-gfp-wait %s\n",
	       found & 1 ? "present" : "absent", found & 2 ? "present" : "absent",
	       fd >= 0 && write(fd, "N", 1) == 1 ? "takes N" : "refused");
	if (fd >= 0)
		close(fd);
	fd = openat(dfd, "fail_page_alloc/ignore-gfp-wait", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "N", 1) != 1)
			die("fail_page_alloc/ignore-gfp-wait");
		close(fd);
	}
	closedir(dir);

	got = read(nth_fd, text, sizeof(text));
	printf("initial: %.*s", (int)(got > 0 ? got : 0), text);
	printf("second read: %zd bytes\n", read(nth_fd, text, sizeof(text)));
	write_text("write 7", "7");
	write_text("write +3", "+3\n");
	write_text("write 0x10", "0x10");
	write_text("write 3 with two newlines", "3\n\n");
	write_text("write abc", "abc");
	write_text("write -1", "-1");
	write_text("write 4294967296", "4294967296");
	write_text("write 0", "0");

	arm(1);
	e = ioas_alloc(&id);
	printf("armed at 1, IOAS_ALLOC: %s, left %u\n", errname(e), left());

	for (n = 1; n < 400; n++) {
		arm(n);
		e = ioas_alloc(&id);
		if (!e && left())
			break;
		if (e) {
			failures++;
			odd += e != ENOMEM && e != ENOENT;
		}
		if (!e) /* the last point fired after success: the object exists, keep going */
			failures++;
	}
	arm(0);
	printf("sweep: success with the counter unspent after %s failures, %u other errnos, "
	       "%s\n", failures ? "some" : "no", odd,
	       n < 400 ? "then success" : "never succeeded");
	if (ioas_alloc(&id) == 0)
		printf("next IOAS_ALLOC unarmed: rc=0\n");

	close(iommufd);
	close(nth_fd);
	return 0;
}
