/* machine.c — the `machine` workload: the host itself, measured in every worker as it starts,
 * so that a run which moved can be told from a backend which moved.
 *
 * Why. The calibration loop (runner.c) is a chain of integer steps: it sees the CPU's clock and
 * nothing else. What a map or unmap call spends its time on is different: system calls, the
 * reference's cross-process copies of each ioctl struct (process_vm_readv/writev), page faults
 * on memory it pins, and cache and TLB misses walking its tables. On a VM those move with the
 * host (another tenant on the sibling hyperthread, memory the hypervisor backs with small
 * pages, a host reclaiming freed memory) while the integer loop does not. On the machines this
 * project is developed on, two runs minutes apart differed by 30 % on every unmap of one
 * backend with the calibration within 4 %. These probes time the same kinds of work, with
 * no IOMMU code involved:
 *
 *   syscall   getppid(2) through syscall(2): a kernel entry and exit; and the same on two
 *             threads at once (threads 2): about twice the rate when the host runs two of
 *             this VM's vCPUs at the same moment, about the same rate when it does not
 *             (what decides whether the `threads` workload scales);
 *   copy      process_vm_readv(2) of 64 bytes from this process: what the reference under the
 *             shim does for every ioctl struct it reads or writes back;
 *   fault     a fresh 4 MiB anonymous mapping without huge pages, written once per 4 KiB page:
 *             a page fault and a zeroed page each, then unmapped;
 *   chase     dependent loads along a random cycle through every cache line of a 64 MiB
 *             buffer of 4 KiB pages: a cache miss and mostly a TLB miss each (on a VM, a
 *             two-level walk).
 *
 * Each is a figure like any other (ops/s, median over the repeats of every round, [min-max]),
 * so it is pooled, tabled, written to JSON Lines and compared the same way; `--compare` gives
 * each backend's probes a line of their own, apart from the figures. Probes are timed per
 * repeat only (timing each step would cost as much as the step), after one untimed repeat.
 * They run untraced only: a traced pass measures the tracer's cost on the backend, not the
 * host. About 0.3 s per worker at 4 repeats.
 */
#include "benchkit/workload.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define SYSCALL_OPS 20000u
#define COPY_OPS    5000u
#define COPY_BYTES  64u
#define FAULT_BYTES (4u << 20)
#define CHASE_BYTES (64u << 20)
#define CHASE_OPS   100000u
#define PAGE        4096u

/* One probe's state: prepare (once per worker), one timed repeat of `ops` steps, release. */
struct probe {
	const char *phase;
	unsigned int threads;
	uint64_t ops, op_bytes;         /* ops: calls per repeat, every thread's together */
	int (*prepare)(struct probe *pr);
	int (*repeat)(struct probe *pr);
	void (*release)(struct probe *pr);
	void *mem;
	volatile uint64_t sink;         /* results the compiler must not drop */
};

static int syscall_repeat(struct probe *pr)
{
	uint64_t acc = 0;

	for (uint64_t i = 0; i < pr->ops; i++)
		acc += (uint64_t)syscall(SYS_getppid);
	pr->sink = acc;
	return 0;
}

static void *syscall_thread(void *arg)
{
	struct probe *pr = arg;
	uint64_t acc = 0;

	for (uint64_t i = 0; i < pr->ops / 2; i++)
		acc += (uint64_t)syscall(SYS_getppid);
	return (void *)(uintptr_t)acc;
}

/* Half the calls on a second thread, half on this one; the repeat ends when both are done. */
static int syscall_pair_repeat(struct probe *pr)
{
	pthread_t t;
	int rc = pthread_create(&t, NULL, syscall_thread, pr);

	if (rc)
		return -rc;
	syscall_thread(pr);
	pthread_join(t, NULL);
	return 0;
}

static int copy_repeat(struct probe *pr)
{
	static char src[COPY_BYTES] = "ioasid-bench machine probe", dst[COPY_BYTES];
	struct iovec local = { dst, sizeof(dst) }, remote = { src, sizeof(src) };
	pid_t self = getpid();

	for (uint64_t i = 0; i < pr->ops; i++)
		if (process_vm_readv(self, &local, 1, &remote, 1, 0) != (ssize_t)sizeof(dst))
			return errno ? -errno : -EIO;
	pr->sink = (uint64_t)dst[0];
	return 0;
}

static int fault_repeat(struct probe *pr)
{
	uint8_t *m = mmap(NULL, FAULT_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	if (m == MAP_FAILED)
		return -errno;
	madvise(m, FAULT_BYTES, MADV_NOHUGEPAGE);
	for (uint64_t off = 0; off < FAULT_BYTES; off += PAGE)
		m[off] = 1;
	munmap(m, FAULT_BYTES);
	return 0;
}

/* The chase: word 0 of each cache line holds the offset of the next line, in one cycle that
 * visits every line of the buffer in a random order (Sattolo's shuffle; a fixed seed: the same
 * cycle in every worker). 64 MiB is larger than the last-level caches of the machines this
 * runs on, and 16384 pages of 4 KiB are more than their TLBs hold. */
static int chase_prepare(struct probe *pr)
{
	uint64_t lines = CHASE_BYTES / 64, seed = 0x9e3779b97f4a7c15ull;
	uint32_t *order;
	uint8_t *m = mmap(NULL, CHASE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	if (m == MAP_FAILED)
		return -errno;
	madvise(m, CHASE_BYTES, MADV_NOHUGEPAGE);
	order = malloc(lines * sizeof(*order));
	if (!order) {
		munmap(m, CHASE_BYTES);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < lines; i++)
		order[i] = (uint32_t)i;
	for (uint64_t i = lines - 1; i > 0; i--) {
		uint64_t j;
		uint32_t t;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		j = seed % i;                   /* Sattolo: j < i, so one cycle through all */
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (uint64_t i = 0; i < lines; i++)
		*(uint64_t *)(m + (uint64_t)order[i] * 64) = (uint64_t)order[(i + 1) % lines] * 64;
	pr->sink = (uint64_t)order[0] * 64;
	free(order);
	pr->mem = m;
	return 0;
}

static int chase_repeat(struct probe *pr)
{
	const uint8_t *m = pr->mem;
	uint64_t at = pr->sink;

	for (uint64_t i = 0; i < pr->ops; i++)
		at = *(const uint64_t *)(m + at);
	pr->sink = at;                  /* the next repeat goes on from here */
	return 0;
}

static void chase_release(struct probe *pr)
{
	if (pr->mem)
		munmap(pr->mem, CHASE_BYTES);
	pr->mem = NULL;
}

static int run_probe(struct bench_run *r, struct probe *pr)
{
	struct bench_meas m;
	struct bench_config *c = &m.rec.cfg;
	int rc;

	if (pr->prepare && (rc = pr->prepare(pr)))
		return rc;
	if ((rc = pr->repeat(pr)))      /* warm-up: caches, TLB, the allocator */
		goto out;
	if ((rc = bench_meas_init(&m, r, "machine", pr->phase, NULL)))
		goto out;
	for (unsigned int rep = 0; rep < r->p->repeats && !rc; rep++) {
		uint64_t t0 = bench_now_ns();

		rc = pr->repeat(pr);
		bench_samples_add_repeat(&m.s, (double)(bench_now_ns() - t0));
	}
	if (rc) {
		bench_meas_drop(&m);
		goto out;
	}
	c->threads = pr->threads ? pr->threads : 1;
	c->page_size = PAGE;
	c->op_bytes = pr->op_bytes;
	c->ops = pr->ops;
	c->repeat_bytes = pr->ops * pr->op_bytes;
	snprintf(m.rec.note, sizeof(m.rec.note), "the host, not the backend: timed per repeat "
		 "only");
	bench_meas_emit(&m, r);
out:
	if (pr->release)
		pr->release(pr);
	return rc;
}

static int run_machine(struct bench_run *r)
{
	struct probe probes[] = {
		{ .phase = "syscall", .ops = SYSCALL_OPS, .repeat = syscall_repeat },
		{ .phase = "syscall", .threads = 2, .ops = 2 * SYSCALL_OPS,
		  .repeat = syscall_pair_repeat },
		{ .phase = "copy", .ops = COPY_OPS, .op_bytes = COPY_BYTES,
		  .repeat = copy_repeat },
		{ .phase = "fault", .ops = FAULT_BYTES / PAGE, .op_bytes = PAGE,
		  .repeat = fault_repeat },
		{ .phase = "chase", .ops = CHASE_OPS, .op_bytes = 64, .prepare = chase_prepare,
		  .repeat = chase_repeat, .release = chase_release },
	};

	if (strcmp(r->trace, bench_trace_name(BENCH_TRACE_OFF)))
		return 0;               /* the host is measured untraced only */
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		int rc = run_probe(r, &probes[i]);

		if (rc) {
			char why[BENCH_WHY];

			if (rc == -ENOSYS && probes[i].repeat == copy_repeat)
				snprintf(why, sizeof(why), "the copy probe: this kernel has no "
					 "process_vm_readv (CONFIG_CROSS_MEMORY_ATTACH is off); the "
					 "other probes ran");
			else
				snprintf(why, sizeof(why), "the %s probe failed: %s (the host's "
					 "figures are missing; the backend's are not affected)",
					 probes[i].phase, strerror(-rc));
			r->sink.skip(r->sink.arg, bench_backend_name(r->id), "machine", why);
		}
	}
	return 0;
}

const struct bench_workload bench_wl_machine = {
	"machine", "the host itself as each worker starts: syscall (1 and 2 threads), 64 B "
	"process_vm_readv, 4 KiB fault, memory chase (no IOMMU code)", 0, run_machine };
