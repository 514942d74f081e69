/* bench.h — the contract of ioasid-bench's engine (src/benchkit/), shared by its parts:
 *
 *   backend*.c   how to reach an IOMMU: the reference in-process (C API), an iommufd fd
 *                (/dev/iommu: the reference when the shim serves it, else the kernel), a VFIO
 *                type1 container (/dev/vfio/vfio: the reference's compat container under the
 *                shim, else the kernel's). One ops table per access path.
 *   hostdev.c    which device/group a backend may use: the kernel's sysfs, or the reference's
 *                platform topology.
 *   workloads.c  what is measured: each workload drives a backend through the ops only.
 *   stats.c      samples → median, spread, percentiles.
 *   output.c     records → the table and JSON Lines.
 *   tracemode.c  --trace off|counters|events|check: tracing attached to the worker itself.
 *
 * Processes: the tool (src/tools/ioasid-bench.c) is a driver that runs each backend in a
 * worker (itself re-executed, under ioasid-run for the reference's uAPI backends) and reads the
 * workers' samples from a pipe. One worker = one round of one backend; rounds interleave the
 * backends, the driver pools each figure's samples over the rounds (runner.c), and a crash
 * loses that backend's round only.
 *
 * Conventions: 0 or -errno; the reason for a refusal goes into a caller's `why` buffer and
 * names the object, the value and what to do.
 */
#ifndef IOASID_BENCHKIT_BENCH_H
#define IOASID_BENCHKIT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_WHY 256

/* ---- backends -------------------------------------------------------------------------------- */

enum bench_backend_id {
	BENCH_BE_REF = 0,       /* "ref":          the reference linked in, C API (ioasid.h) */
	BENCH_BE_REF_UAPI,      /* "ref-uapi":     /dev/iommu served by the shim (ioasid-run) */
	BENCH_BE_REF_TYPE1,     /* "ref-type1":    /dev/vfio/vfio served by the shim */
	BENCH_BE_KERNEL,        /* "kernel":       the running kernel's /dev/iommu */
	BENCH_BE_KERNEL_TYPE1,  /* "kernel-type1": the running kernel's VFIO type1 container */
	BENCH_BE_COUNT
};

/* What a backend can do once open (bench_be_caps); workloads needing a missing one are skipped
 * with a message naming the capability. */
#define BENCH_CAP_MULTI_IOAS   (1u << 0)  /* more than one IOAS (type1: one container = one) */
#define BENCH_CAP_COPY         (1u << 1)  /* IOMMU_IOAS_COPY */
#define BENCH_CAP_HUGE_OPTION  (1u << 2)  /* IOMMU_OPTION_HUGE_PAGES per IOAS (force 4K IOPTEs) */
#define BENCH_CAP_DOMAIN       (1u << 3)  /* bench_be_attach gives a domain: maps reach page
                                           * tables and unmaps invalidate an IOTLB */
#define BENCH_CAP_DMA          (1u << 4)  /* bench_be_dma: translation through the mock IOTLB */
#define BENCH_CAP_IOTLB_STATS  (1u << 5)  /* bench_be_iotlb_stats */
#define BENCH_CAP_LAZY_INVAL   (1u << 6)  /* bench_be_dma_api_*: strict and deferred unmaps */
#define BENCH_CAP_DEVICE       (1u << 7)  /* bench_be_device_*: bind a device and attach it */
#define BENCH_CAP_FIXED_ONLY   (1u << 8)  /* every map needs a fixed IOVA (type1) */

struct bench_be;   /* an open backend: one context / fd / container */

struct bench_be_opts {
	enum bench_backend_id id;
	/* The device to bind (VM-start, and attach when the backend uses devices): a PCI name on
	 * the reference's platform, or the kernel's; NULL: hostdev picks one. */
	const char *device;
	/* type1: the group number (/dev/vfio/N); 0: hostdev picks the device's group. */
	unsigned int group;
};

/* Human name of a backend ("ref", ...), and the id of a name (-ENOENT). */
const char *bench_backend_name(enum bench_backend_id id);
int bench_backend_from_name(const char *name);

/* Can this process use the backend? 0, or -errno with why filled (e.g. "kernel: /dev/iommu
 * does not exist: this kernel has no CONFIG_IOMMUFD (or the module is not loaded)"). Probing
 * opens nothing that stays open. The REF_* uAPI backends are usable only in a process running
 * under the shim (bench_under_shim()); the driver arranges that. */
int bench_backend_probe(enum bench_backend_id id, char *why, size_t whylen);

/* Is the LD_PRELOAD shim loaded in this process (so /dev/iommu is the reference's)? */
bool bench_under_shim(void);

int bench_be_open(const struct bench_be_opts *opts, struct bench_be **out, char *why,
		  size_t whylen);
void bench_be_close(struct bench_be *be);      /* releases everything; NULL is fine */
unsigned int bench_be_caps(const struct bench_be *be);
/* Who serves it: "reference" or "kernel". And a one-line description for the report, e.g.
 * "iommufd fd, device 0000:00:02.0 (vfio0) attached" or "type1 container, group 3". */
const char *bench_be_served_by(const struct bench_be *be);
const char *bench_be_describe(const struct bench_be *be);

/* IOAS (type1: the container's single address space; a second alloc is -EOPNOTSUPP). */
int bench_be_ioas_alloc(struct bench_be *be, uint32_t *ioas);
int bench_be_ioas_destroy(struct bench_be *be, uint32_t ioas);
/* IOMMU_OPTION_HUGE_PAGES on the IOAS (false: 4 KiB IOPTEs only); -EOPNOTSUPP without
 * BENCH_CAP_HUGE_OPTION. Must come before anything is mapped or attached. */
int bench_be_set_huge_pages(struct bench_be *be, uint32_t ioas, bool on);

/* Map [va, va+len) at *iova (readable+writeable). fixed: at *iova exactly; else the backend
 * allocates and writes it back (-EOPNOTSUPP with BENCH_CAP_FIXED_ONLY). */
int bench_be_map(struct bench_be *be, uint32_t ioas, uint64_t *iova, void *va, uint64_t len,
		 bool fixed);
/* Unmap [iova, iova+len); *unmapped (may be NULL) gets what was unmapped. */
int bench_be_unmap(struct bench_be *be, uint32_t ioas, uint64_t iova, uint64_t len,
		   uint64_t *unmapped);
/* IOMMU_IOAS_COPY of [src_iova, +len) of src_ioas to dst_iova of dst_ioas (fixed). */
int bench_be_copy(struct bench_be *be, uint32_t dst_ioas, uint64_t dst_iova, uint32_t src_ioas,
		  uint64_t src_iova, uint64_t len);

/* Attach something that owns a domain to the IOAS so maps reach page tables: the reference
 * in-process a mock domain (4K|2M|1G leaves, or 4K only when huge pages are off); an iommufd
 * fd a bound device (cdev) if one is usable, else a selftest mock domain (IOMMU_TEST_CMD)
 * where the server has it, else -ENODEV; type1 the group (already done at open: 0).
 * Returns a handle >= 0 for dma/iotlb/detach. */
int bench_be_attach(struct bench_be *be, uint32_t ioas, char *why, size_t whylen);
int bench_be_detach(struct bench_be *be, int handle);

/* BENCH_CAP_DMA: a device read (dir 0) or write (dir 1) of len bytes at iova through the
 * handle's domain: IOTLB lookup, walk on a miss. 0, or -EFAULT (IO page fault). */
int bench_be_dma(struct bench_be *be, int handle, uint64_t iova, void *buf, size_t len, int dir);
/* BENCH_CAP_IOTLB_STATS: hits, misses, invalidations of the handle's domain. */
struct bench_iotlb_stats {
	uint64_t hits, misses, stale_hits, invalidations, entries;
};
int bench_be_iotlb_stats(struct bench_be *be, int handle, struct bench_iotlb_stats *out);

/* BENCH_CAP_LAZY_INVAL: what a kernel driver's DMA API does with a domain, on the mock IOMMU
 * directly (the iommufd uAPI itself is always strict). A private 4K|2M|1G paging domain is
 * created by _begin. unmap strict: the range's IOTLB entries are invalidated before it
 * returns; deferred: the range joins a flush queue of `fq_size` entries (the kernel's
 * IOVA_FQ_SIZE is 256) and the whole domain is flushed when the queue is full (lazy mode,
 * iommu.strict=0) — bench_be_dma_api_flush drains it. dma_api_* return 0 or -errno. */
int bench_be_dma_api_begin(struct bench_be *be, unsigned int fq_size);
int bench_be_dma_api_map(struct bench_be *be, uint64_t iova, void *va, uint64_t len);
int bench_be_dma_api_unmap(struct bench_be *be, uint64_t iova, uint64_t len, bool deferred);
int bench_be_dma_api_dma(struct bench_be *be, uint64_t iova, void *buf, size_t len);
int bench_be_dma_api_flush(struct bench_be *be);
/* IOTLB invalidations issued so far (range + domain-wide), and stale translations served. */
int bench_be_dma_api_stats(struct bench_be *be, uint64_t *invalidations, uint64_t *stale_hits);
void bench_be_dma_api_end(struct bench_be *be);

/* BENCH_CAP_DEVICE: VM start. open a device the way a VMM does (ref: ioasid_device_bind by
 * name; iommufd: /dev/vfio/devices/vfioN + VFIO_DEVICE_BIND_IOMMUFD; type1: the group was
 * set at open, GET_DEVICE_FD), attach it to the IOAS, detach, unbind. The device is
 * opts.device or hostdev's pick. Returns handles >= 0. */
int bench_be_device_bind(struct bench_be *be, char *why, size_t whylen);
int bench_be_device_attach(struct bench_be *be, int dev, uint32_t ioas, char *why,
			   size_t whylen);
int bench_be_device_detach(struct bench_be *be, int dev);
void bench_be_device_unbind(struct bench_be *be, int dev);

/* ---- hostdev: which device a backend may take ----------------------------------------------- */

struct bench_hostdev {
	char name[64];          /* PCI name, e.g. "0000:00:02.0" */
	unsigned int group;     /* IOMMU group number (/dev/vfio/N) */
	int cdev;               /* N of /dev/vfio/devices/vfioN, -1 if none */
};
/* Kernel: a device bound to vfio-pci whose group is viable (every device in it bound to
 * vfio-pci or to no driver), from /sys (sysfs_root: NULL = "/sys", for tests). Reference: a
 * device of the platform topology (IOASID_TOPOLOGY, else the built-in default host) driven by
 * a user-ownership driver, in a group whose devices all are. `want` (NULL: first usable)
 * selects by name. 0, or -ENODEV with why ("no device is bound to vfio-pci: bind one with
 * 'echo 0000:01:00.0 > /sys/bus/pci/drivers/vfio-pci/bind'"). */
int bench_hostdev_kernel(const char *sysfs_root, const char *want, struct bench_hostdev *out,
			 char *why, size_t whylen);
int bench_hostdev_reference(const char *want, struct bench_hostdev *out, char *why,
			    size_t whylen);

/* ---- results --------------------------------------------------------------------------------- */

/* Summary of samples. */
struct bench_summary {
	uint64_t n;
	double median, min, max, p10, p90;
};
/* Latency percentiles over every timed operation of a phase, in ns. */
struct bench_latency {
	uint64_t n;
	double p50, p99, max;
};

/* Samples of one phase: per-repeat durations and per-operation latencies. */
struct bench_samples {
	double *repeat_ns;      /* one per repeat: the phase's total time */
	uint64_t nrepeat, cap_repeat;
	double *op_ns;          /* every timed operation (capped: a reservoir keeps a uniform
	                         * sample of at most BENCH_OP_SAMPLES) */
	uint64_t nop, cap_op, seen_op;
	uint64_t rng;
	uint64_t alloc_op;      /* slots allocated in op_ns: cap_op after bench_samples_init,
	                         * what merged values need after bench_samples_merge */
};
#define BENCH_OP_SAMPLES (1u << 20)

int bench_samples_init(struct bench_samples *s, uint64_t repeats);
void bench_samples_free(struct bench_samples *s);
void bench_samples_add_repeat(struct bench_samples *s, double ns);
void bench_samples_add_op(struct bench_samples *s, double ns);
/* Samples that start empty, nothing allocated: they grow as values come (by merging, say;
 * bench_samples_add_op then allocates, so timed code uses bench_samples_init). */
void bench_samples_init_empty(struct bench_samples *s);
/* Pool src into dst: every repeat appended; the operations merged so that dst stays a
 * reservoir of at most dst->cap_op with the true maximum in slot 0 and seen_op the sum (exact
 * while every value fits, else a uniform sample of both, in proportion to what each saw).
 * src is not changed. 0, or -ENOMEM (dst is then as it was). */
int bench_samples_merge(struct bench_samples *dst, const struct bench_samples *src);
/* Summaries; sorts in place. n = 0 when empty. */
void bench_summarize(double *v, uint64_t n, struct bench_summary *out);
void bench_samples_summary(struct bench_samples *s, struct bench_summary *repeats,
			   struct bench_latency *lat);

/* The exact configuration of a measurement: carried in every record. */
struct bench_config {
	char backend[16];       /* bench_backend_name */
	char served_by[12];     /* "reference" / "kernel" */
	char workload[24];      /* "map-unmap", "regions", ... (workloads.c) */
	char phase[16];         /* "map", "unmap", "copy", "dma", ... */
	char pattern[12];       /* "seq", "random", "frag", "-" */
	char inval[12];         /* "strict", "deferred", "-" */
	char trace[12];         /* "off", "counters", "events", "check" */
	char attach[64];        /* what owns the domain: "mock domain", "device 0000:00:02.0",
	                         * "selftest mock domain", "none" */
	uint64_t page_size;     /* the page size the workload is about (backing pages) */
	uint64_t leaf_max;      /* the largest IOPTE the domain could use: 4096 where 4 KiB leaves
	                         * were forced (IOMMU_OPTION_HUGE_PAGES=0), 0 when not controlled
	                         * (the mock's leaves then follow VA/IOVA alignment) */
	uint64_t op_bytes;      /* bytes per operation */
	uint64_t repeat_bytes;  /* bytes per repeat (op_bytes × ops) */
	uint64_t ops;           /* operations per repeat */
	uint32_t threads;
	uint32_t repeats;       /* samples behind the figure: every repeat of every round */
	uint32_t rounds;        /* rounds that measured it (the 16 GiB region: the first only) */
};

/* One result line. */
struct bench_record {
	uint32_t magic, size;   /* BENCH_RECORD_MAGIC, sizeof(struct bench_record): the pipe */
	struct bench_config cfg;
	struct bench_summary ops_s;     /* operations per second over repeats */
	struct bench_summary gb_s;      /* 1e9 bytes per second over repeats (0 if no bytes) */
	struct bench_summary repeat_ns; /* duration of a repeat */
	struct bench_latency lat;       /* per operation */
	double overhead;        /* trace != off: median time / the untraced median of the same
	                         * workload in the same run (0: not applicable) */
	uint64_t events, dropped;       /* trace: events seen, lost */
	int64_t violations;     /* trace check: invariant violations (-1: not checked) */
	char note[160];         /* what a reader must know ("IOTLB hit rate 99.8 %", ...) */
};
#define BENCH_RECORD_MAGIC 0x49424e31u   /* "IBN1" */

/* A skipped measurement or backend: printed and written as {"skipped":...}. */
struct bench_skip {
	uint32_t magic, size;   /* BENCH_SKIP_MAGIC */
	char backend[16];
	char workload[24];
	char why[BENCH_WHY];
};
#define BENCH_SKIP_MAGIC 0x49424e53u     /* "IBNS" */

/* Fill ops_s, gb_s, repeat_ns and lat from samples and cfg (ops, repeat_bytes). */
void bench_record_fill(struct bench_record *r, struct bench_samples *s);

/* Output. The table is aligned for a terminal; one line per record, skips after. JSON Lines:
 * one object per record, keys as in struct bench_config / bench_record (summaries as
 * {"median":..,"min":..,"max":..,"p10":..,"p90":..,"n":..}); a skip is
 * {"skipped":true,...}. JSON lines are written as records arrive; the table at finish. */
struct bench_output;
struct bench_output *bench_output_new(FILE *table, FILE *jsonl);  /* either may be NULL */
void bench_output_record(struct bench_output *o, const struct bench_record *r);
void bench_output_skip(struct bench_output *o, const struct bench_skip *s);
void bench_output_finish(struct bench_output *o);   /* prints the table; frees */
void bench_record_json(FILE *f, const struct bench_record *r);
/* A byte count as the table and the options write it: "4K", "16G", "1.5M"; "-" for 0. */
void bench_fmt_bytes(uint64_t b, char *buf, size_t len);
void bench_skip_json(FILE *f, const struct bench_skip *s);

/* A round's calibration: how long a fixed CPU-bound loop took as the round began (median of
 * a few tries). The table's footer and JSON Lines ({"type":"calibration",...}, one per round,
 * written at finish with the run's max/min ratio) show them, so that a machine's drift
 * between rounds and between runs is visible beside the figures. */
struct bench_calibration {
	uint32_t round;         /* 1-based */
	double ns;
};
void bench_output_calibration(struct bench_output *o, const struct bench_calibration *c);
void bench_calibration_json(FILE *f, const struct bench_calibration *c, uint32_t rounds,
			    double max_min);

#endif
