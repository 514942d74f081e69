/* fuzz.h — the uAPI fuzzer's decoder: an input (bytes) is a sequence of uAPI calls.
 *
 * Owns: the input format, the call table's types, the decoder's state (the fds and object IDs
 * the sequence has made so far) and the backend interface that carries the calls out.
 *
 * ---- input format -----------------------------------------------------------------------
 * A sequence of calls, at most FZ_MAX_CALLS. Each call is one opcode byte (index into
 * fz_calls[], modulo its length) followed by its fields, in table order. Every field is one
 * selector byte, sometimes followed by more bytes; an input that ends mid-call reads zeros.
 * Selector 0 always means the ordinary value (sizeof for sizes, the first live object of the
 * wanted kind for IDs, ...), so zeros decode to a plausible call. Field classes (fz_pick):
 *
 *   numbers (IOVA, LEN, U32, U64, PASID)   s < nspecial: specials[s] (the edges: 0, PAGE,
 *       the MSI window, the widths 2^39/2^48/2^57, U64_MAX, ...); 0xfe a b: specials[a] +
 *       (int8)b; 0xff: raw little-endian value; else (s - nspecial) * unit
 *   SIZE (a struct's first u32)            0 sizeof, 1 min, 2 min-1, 3 sizeof+8 zero tail,
 *       4 sizeof+8 non-zero tail, 5 0, 6 4, 7 4096 zero tail, 0xff raw u32
 *   FLAGS(known)                           s < 0x80: bits of s spread over the known bits;
 *       0x80..0xbf: the same | the lowest unknown bit; 0xff raw u32
 *   ID(kind)                               0x00..0x3f the k-th live object of the kind,
 *       0x40..0x7f the k-th live object of any kind, 0x80..0xbf the k-th destroyed one,
 *       0xc0..0xdf the literal s - 0xc0, 0xe0 + kind then k: the k-th live object of another
 *       kind (type confusion on purpose), 0xff raw u32
 *   FD(kind)                               0x00..0x3f the k-th open fd of the kind, 0x40..0x7f
 *       any open fd, 0x80..0xbf a closed one, 0xc0 -1, 0xc1 0 (stdin), 0xc2 the memfd,
 *       0xc3 a never-opened number, 0xd0 + kind then k: the k-th open fd of that kind,
 *       0xff raw s32
 *   UVA (user pointers)                    an address relative to the arena (fz_arena):
 *       specials (the arena, its 2 MiB-aligned half, a read-only page, a PROT_NONE page, NULL,
 *       a kernel address), multiples of PAGE into the arena, 0xff raw offset from the arena.
 *       A field that takes a file to map (IOAS_MAP_FILE's fd: kind NONE) reads 0x00..0x3f
 *       as the memfd.
 *   payloads (RANGES, VTD_INV: s mod 8 elements; VTD_S1: one) built from their elements'
 *       own fields; 0xfe: the PROT_NONE page, 0xff: NULL. DEVNAME: a name from a list
 *       (the default host's devices, "", "bogus", an overlong one); COOKIE: the k-th cookie
 *       read from a fault queue, 0xff raw
 *   OUT / CONST                            consume nothing
 *
 * The same table drives decoding (fz_run), the text form (fz_run's trace: one line per call,
 * "NAME field=value ... => RC ERRNO outputs") and the assembler (fz_asm: that text back to
 * bytes), so seeds are written as text (tests/fuzz/seeds/NAME.txt) and their bytes are
 * reviewable.
 *
 * ---- backends --------------------------------------------------------------------------------
 * The decoder never issues a call itself: struct fz_backend does, with fd numbers. The
 * in-process backend (inproc.c) serves them from the reference, the VFIO layer and a private
 * platform, with the oracles; the replay backend (replay.c) uses open/ioctl/close/pread/pwrite
 * of libc only, so a corpus entry runs unchanged against a real kernel or under ioasid-run.
 * Results are normalised: >= 0 or -errno.
 *
 * Not thread-safe: one decoder state per thread.
 */
#ifndef IOASID_TESTS_FUZZ_FUZZ_H
#define IOASID_TESTS_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FZ_MAX_CALLS   64
#define FZ_MAX_FDS     32
#define FZ_MAX_IDS     128
#define FZ_MAX_COOKIES 16
#define FZ_ARG_MAX     4096        /* the argument block: a struct plus its tail */
#define FZ_PAGE        4096ULL
#define FZ_TEARDOWN    (~0u)

/* The user memory every pointer points into: FZ_ARENA_SIZE bytes, 2 MiB-aligned, then a
 * read-only page, then a PROT_NONE page. The same layout in every backend. */
#define FZ_ARENA_SIZE  (4ULL << 20)
#define FZ_MEMFD_SIZE  (1ULL << 20)

enum fz_fd_kind {
	FZ_FD_NONE = 0,
	FZ_FD_IOMMUFD,       /* /dev/iommu */
	FZ_FD_CONTAINER,     /* /dev/vfio/vfio */
	FZ_FD_DEVICE,        /* /dev/vfio/devices/vfioN or from VFIO_GROUP_GET_DEVICE_FD */
	FZ_FD_GROUP,         /* /dev/vfio/N */
	FZ_FD_FAULT,         /* IOMMU_FAULT_QUEUE_ALLOC's fd */
	FZ_FD_ACCESS,        /* IOMMU_TEST_OP_CREATE_ACCESS's fd (its number is also an ID) */
	FZ_FD_ANY,           /* for pickers: any kind */
	FZ_FD_KINDS
};

enum fz_id_kind {
	FZ_ID_ANY = 0,
	FZ_ID_IOAS,
	FZ_ID_HWPT,
	FZ_ID_DEV,           /* a device object (bind, mock domain's idev) */
	FZ_ID_STDEV,         /* a selftest mock device */
	FZ_ID_FAULT,
	FZ_ID_ACCESS_PAGES,  /* IOMMU_TEST_OP_ACCESS_PAGES's item */
	FZ_ID_VIOMMU,
	FZ_ID_KINDS
};

enum fz_pick {
	FZ_P_CONST,          /* arg: the value */
	FZ_P_SIZE,           /* the struct's size: arg = sizeof, arg2 = min size */
	FZ_P_FLAGS,          /* arg: known bits */
	FZ_P_ID,             /* arg: enum fz_id_kind */
	FZ_P_FD,             /* arg: enum fz_fd_kind */
	FZ_P_IOVA,
	FZ_P_LEN,
	FZ_P_U32,
	FZ_P_U64,
	FZ_P_PASID,
	FZ_P_UVA,
	FZ_P_RANGES,         /* pointer to an iommu_iova_range[] built here */
	FZ_P_VTD_S1,         /* pointer to an iommu_hwpt_vtd_s1 built here */
	FZ_P_VTD_INV,        /* pointer to an iommu_hwpt_vtd_s1_invalidate[] built here */
	FZ_P_DEVNAME,        /* pointer to a device name string */
	FZ_P_COOKIE,         /* a fault cookie read from a fault fd */
	FZ_P_OUT,            /* output only: zero in, recorded after success (arg: fz_out) */
	FZ_P_KINDS
};

/* What an output (or in/out) field holds after a successful call. */
enum fz_out {
	FZ_OUT_NONE = 0,
	FZ_OUT_ID,           /* arg2: enum fz_id_kind */
	FZ_OUT_FD,           /* arg2: enum fz_fd_kind */
	FZ_OUT_IOVA,         /* the last IOVA a map chose */
	FZ_OUT_SHOW,         /* only printed with the result */
};

/* One field: where it goes in the argument block, how wide, how it is picked. */
struct fz_field {
	const char *name;
	uint16_t off;
	uint8_t width;       /* 1, 2, 4 or 8 */
	uint8_t pick;        /* enum fz_pick */
	uint64_t arg;
	uint32_t arg2;
	uint8_t out;         /* enum fz_out: also record after success (in/out fields) */
	uint32_t out_kind;
};

struct fz_state;
struct fz_backend;
struct fz_call;

/* Runs a decoded call: returns >= 0 or -errno. The default runs be->ioctl(fd, cmd, arg). */
typedef long (*fz_exec_fn)(struct fz_state *st, const struct fz_call *call, int fd, void *arg);

struct fz_call {
	const char *name;
	uint8_t target;      /* enum fz_fd_kind of the fd the call goes to; NONE: no fd */
	unsigned long cmd;   /* the ioctl; 0 for calls that are not ioctls */
	uint32_t size;       /* the argument block's used size */
	const struct fz_field *fields;
	unsigned int nfields;
	fz_exec_fn exec;     /* NULL: the ioctl */
	uint8_t ret;         /* enum fz_out for the return value (GET_DEVICE_FD: an fd) */
	uint32_t ret_kind;
};

extern const struct fz_call fz_calls[];
extern const unsigned int fz_ncalls;

/* The environment the calls run in. Every function returns >= 0 or -errno. */
struct fz_backend {
	const char *name;
	int (*open_node)(void *be, const char *path);
	long (*ioctl)(void *be, int fd, unsigned long cmd, void *arg);
	int (*close)(void *be, int fd);
	int (*dup)(void *be, int fd);
	long (*read)(void *be, int fd, void *buf, size_t len);
	long (*write)(void *be, int fd, const void *buf, size_t len);
	long (*pread)(void *be, int fd, void *buf, size_t len, uint64_t off);
	long (*pwrite)(void *be, int fd, const void *buf, size_t len, uint64_t off);
	/* Platform driver bind/unbind (sysfs on a real host): -EOPNOTSUPP where unavailable. */
	int (*driver_bind)(void *be, uint32_t dev, const char *driver);
	int (*driver_unbind)(void *be, uint32_t dev);
	int memfd;           /* a memfd of FZ_MEMFD_SIZE bytes for IOAS_MAP_FILE */
	uint8_t *arena;      /* FZ_ARENA_SIZE + 2 pages, see above */
	void *data;          /* the backend's own state, passed as `be` */
};

struct fz_fd {
	int fd;
	uint8_t kind;        /* enum fz_fd_kind */
	bool open;
};

struct fz_id {
	uint32_t id;
	uint8_t kind;        /* enum fz_id_kind */
	bool live;
	int ctx_fd;          /* the fd of the context it lives in */
};

struct fz_state {
	const uint8_t *in;
	size_t len, pos;
	const struct fz_backend *be;
	struct fz_fd fds[FZ_MAX_FDS];
	unsigned int nfds;
	struct fz_id ids[FZ_MAX_IDS];
	unsigned int nids;
	uint64_t cookies[FZ_MAX_COOKIES];
	unsigned int ncookies;
	uint64_t last_iova;
	unsigned int ncalls;
	/* the call being decoded: its text form (when tracing) and payload scratch */
	FILE *trace;         /* non-NULL: print each call and its result */
	bool compact;        /* trace "NAME: RC ERRNO" only (kept across fz_run) */
	char line[1024];
	size_t line_len;
	uint8_t *payload;    /* scratch for RANGES/VTD_S1/VTD_INV/DEVNAME, FZ_ARG_MAX bytes */
	size_t payload_used;
	/* hooks (may be NULL): before each call runs (index FZ_TEARDOWN: before the fds still
	 * open are closed at the end), and after it with its result */
	void (*before_call)(struct fz_state *st, unsigned int index);
	void (*after_call)(struct fz_state *st, const struct fz_call *call, long rc);
};

/* Decode and run `in` on backend `be`. Every fd still open at the end is closed. Returns the
 * number of calls run. `trace` (may be NULL) receives one line per call:
 *   "NAME field=value ... => RC ERRNO [out=value ...]"  */
unsigned int fz_run(struct fz_state *st, const struct fz_backend *be, const uint8_t *in,
		    size_t len, FILE *trace);

/* Assemble the text form (one call per line; '#' comments; the part from "=>" on ignored)
 * into bytes. 0 and *out, *outlen (free it), or -EINVAL with "LINE: message" in err. */
int fz_asm(const char *text, uint8_t **out, size_t *outlen, char *err, size_t errlen);

/* "EINVAL" for 22; "0" for 0; a number for what it does not know. */
const char *fz_errname(int err);

/* The user memory layout (above), the same in every backend; NULL if mmap fails. Reset
 * zeroes it between inputs. */
uint8_t *fz_arena_map(void);
void fz_arena_reset(uint8_t *arena);

/* Helpers for the call table's own exec functions (calls.c). */
uint64_t fz_uva_base(const struct fz_state *st);
void fz_record_fd(struct fz_state *st, int fd, uint8_t kind);
void fz_mark_closed(struct fz_state *st, int fd);
void fz_mark_destroyed(struct fz_state *st, uint32_t id, int ctx_fd);
void fz_record_cookie(struct fz_state *st, uint64_t cookie);
uint8_t fz_fd_kind_of(const struct fz_state *st, int fd);

#endif
