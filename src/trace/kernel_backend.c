/* kernel_backend.c — the running kernel as an event source: iommu:* tracepoints (tp_btf, or
 * raw_tp where the kernel has no BTF for tp_btf) and fentry/fexit on iommufd, VFIO, the IOMMU
 * core and the IOMMU drivers' IOTLB callbacks (bpf/ioasid_kernel.bpf.c).
 *
 * Owns the decision, per BPF program, of whether it runs here, and the reason when it does not.
 * Every program in the object is autoload-off; this file switches on exactly those that can
 * work and records every decision in the attach plan:
 *   tracepoints   tp_btf when the running kernel's BTF (vmlinux or a module's) has the
 *                 `btf_trace_<name>` typedef, raw_tp otherwise when the tracepoint exists
 *                 (--btf BTF or tracefs says so), else skipped;
 *   fentry/fexit  only if a feature probe (a two-instruction fentry program, loaded and closed
 *                 at once) shows the kernel accepts them at all, and only for functions present
 *                 in vmlinux or module BTF (/sys/kernel/btf/<module>).
 * Dry run: the same decisions (the probe included), nothing of ours loaded.
 *
 * Invariants:
 *  - one event per kernel action: where an outer callback and the helper it calls are both
 *    traceable (intel_iommu_tlb_sync → cache_tag_flush_range), the helper wins and the callback
 *    is the fallback ("covered_by"); raw_tp is likewise the fallback of its tp_btf twin. Both
 *    are loaded, so a failed attach of the preferred one still leaves the fallback;
 *  - the fentry half of an fentry/fexit pair attaches only with its fexit ("needs");
 *  - one program failing to attach is a skipped plan line, not an error; an object that fails
 *    to load is retried without fentry/fexit, then with raw_tp only; only "nothing attached"
 *    fails the open;
 *  - libbpf's "raise ulimit -l" hint is never shown (diag.c filters it; memory for BPF is
 *    charged to the memory cgroup on this kernel generation).
 * No locking: a backend belongs to one struct ioasid_trace, used by one thread.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "trace/backend.h"
#include "ioasid_kernel.skel.h"

#define SYS_BTF_DIR     "/sys/kernel/btf"
#define SYS_VMLINUX_BTF SYS_BTF_DIR "/vmlinux"

#define DEFAULT_WAKEUP_BYTES (64 * 1024)

/* ---- what the object holds ------------------------------------------------------------------ */

enum kprog_kind { KP_TP_BTF, KP_RAW_TP, KP_FENTRY, KP_FEXIT };

struct kprog_spec {
	const char *prog;            /* program name in bpf/ioasid_kernel.bpf.c */
	enum kprog_kind kind;
	const char *target;          /* function, or tracepoint name */
	const char *tp_system;       /* tracepoints: TRACE_SYSTEM */
	const char *absent_note;     /* tracepoints: why it may not exist */
	const char *covered_by[3];   /* attached earlier and reporting the same: skip this one */
	const char *needs;           /* useless unless that program attached (fentry of a pair) */
	uint64_t produces;           /* event types it emits (1 << type): what a checker can see */
};

#define EVT(t) (1ull << IOASID_EV_##t)

#define TP(sys, name, btfprog, rawprog, note, types)                                              \
	{ btfprog, KP_TP_BTF, name, sys, note, { NULL }, NULL, types },                         \
	{ rawprog, KP_RAW_TP, name, sys, note, { btfprog }, NULL, types }

/* Order matters: a program comes after those that cover it and those it needs. */
static const struct kprog_spec kprogs[] = {
	TP("iommu", "map", "ioasid_tp_map", "ioasid_raw_map", NULL, EVT(DOMAIN_MAP)),
	TP("iommu", "unmap", "ioasid_tp_unmap", "ioasid_raw_unmap", NULL, EVT(DOMAIN_UNMAP)),
	TP("iommu", "attach_device_to_domain", "ioasid_tp_attach_dev", "ioasid_raw_attach_dev",
	   NULL, EVT(DEV_ATTACH)),
	TP("iommu", "detach_device_from_domain", "ioasid_tp_detach_dev", "ioasid_raw_detach_dev",
	   "removed in 6.3 with the detach_dev op", EVT(DEV_DETACH)),
	TP("iommu", "add_device_to_group", "ioasid_tp_group_add", "ioasid_raw_group_add", NULL,
	   EVT(GROUP_ADD_DEV)),
	TP("iommu", "remove_device_from_group", "ioasid_tp_group_del", "ioasid_raw_group_del",
	   NULL, EVT(GROUP_DEL_DEV)),
	TP("iommu", "io_page_fault", "ioasid_tp_io_fault", "ioasid_raw_io_fault", NULL, EVT(FAULT)),
	TP("intel_iommu", "cache_tag_flush_range", "ioasid_tp_ct_flush", "ioasid_raw_ct_flush",
	   "Intel VT-d, 6.10+", EVT(IOTLB_INV)),
	TP("intel_iommu", "cache_tag_flush_all", "ioasid_tp_ct_flush_all",
	   "ioasid_raw_ct_flush_all", "Intel VT-d, 6.10+", EVT(IOTLB_INV)),

	{ "ioasid_fexit_dev_bind", KP_FEXIT, "iommufd_device_bind",
	  .produces = EVT(DEV_BIND) },
	{ "ioasid_fentry_dev_unbind", KP_FENTRY, "iommufd_device_unbind",
	  .produces = EVT(DEV_UNBIND) },
	{ "ioasid_fexit_dev_attach", KP_FEXIT, "iommufd_device_attach",
	  .produces = EVT(DEV_ATTACH) },
	{ "ioasid_fentry_dev_attach", KP_FENTRY, "iommufd_device_attach",
	  .needs = "ioasid_fexit_dev_attach" },
	{ "ioasid_fexit_dev_replace", KP_FEXIT, "iommufd_device_replace",
	  .produces = EVT(DEV_REPLACE) },
	{ "ioasid_fentry_dev_replace", KP_FENTRY, "iommufd_device_replace",
	  .needs = "ioasid_fexit_dev_replace" },
	{ "ioasid_fentry_dev_detach", KP_FENTRY, "iommufd_device_detach",
	  .produces = EVT(DEV_DETACH) },
	{ "ioasid_fexit_dma_claim", KP_FEXIT, "iommu_device_claim_dma_owner",
	  .produces = EVT(GROUP_CLAIM) },
	{ "ioasid_fentry_dma_release", KP_FENTRY, "iommu_device_release_dma_owner",
	  .produces = EVT(GROUP_RELEASE) },
	{ "ioasid_fexit_pasid_attach", KP_FEXIT, "iommu_attach_device_pasid",
	  .produces = EVT(DEV_ATTACH) },
	{ "ioasid_fentry_pasid_detach", KP_FENTRY, "iommu_detach_device_pasid",
	  .produces = EVT(DEV_DETACH) },
	{ "ioasid_fexit_iopt_map", KP_FEXIT, "iopt_map_user_pages",
	  .produces = EVT(IOAS_MAP) },
	{ "ioasid_fentry_iopt_map", KP_FENTRY, "iopt_map_user_pages",
	  .needs = "ioasid_fexit_iopt_map" },
	{ "ioasid_fexit_iopt_unmap", KP_FEXIT, "iopt_unmap_iova",
	  .produces = EVT(IOAS_UNMAP) },
	{ "ioasid_fentry_iopt_unmap", KP_FENTRY, "iopt_unmap_iova",
	  .needs = "ioasid_fexit_iopt_unmap" },
	{ "ioasid_fexit_hwpt_alloc", KP_FEXIT, "iommufd_hwpt_paging_alloc",
	  .produces = EVT(HWPT_ALLOC) },
	{ "ioasid_fexit_vfio_bind", KP_FEXIT, "vfio_df_ioctl_bind_iommufd",
	  .produces = EVT(DEV_BIND) },
	{ "ioasid_fentry_vfio_bind", KP_FENTRY, "vfio_df_ioctl_bind_iommufd",
	  .needs = "ioasid_fexit_vfio_bind" },

	{ "ioasid_fentry_ct_flush_range", KP_FENTRY, "cache_tag_flush_range",
	  .covered_by = { "ioasid_tp_ct_flush", "ioasid_raw_ct_flush" },
	  .produces = EVT(IOTLB_INV) },
	{ "ioasid_fentry_ct_flush_all", KP_FENTRY, "cache_tag_flush_all",
	  .covered_by = { "ioasid_tp_ct_flush_all", "ioasid_raw_ct_flush_all" },
	  .produces = EVT(IOTLB_INV) },
	{ "ioasid_fentry_intel_tlb_sync", KP_FENTRY, "intel_iommu_tlb_sync",
	  .covered_by = { "ioasid_fentry_ct_flush_range", "ioasid_tp_ct_flush",
			  "ioasid_raw_ct_flush" },
	  .produces = EVT(IOTLB_INV) },
	{ "ioasid_fentry_intel_flush_all", KP_FENTRY, "intel_flush_iotlb_all",
	  .covered_by = { "ioasid_fentry_ct_flush_all", "ioasid_tp_ct_flush_all",
			  "ioasid_raw_ct_flush_all" },
	  .produces = EVT(IOTLB_INV) },
	{ "ioasid_fentry_amd_flush_pages", KP_FENTRY, "amd_iommu_domain_flush_pages",
	  .produces = EVT(IOTLB_INV) },
	{ "ioasid_fentry_amd_flush_all", KP_FENTRY, "amd_iommu_flush_iotlb_all",
	  .covered_by = { "ioasid_fentry_amd_flush_pages" },
	  .produces = EVT(IOTLB_INV) },
	{ "ioasid_fentry_smmu_flush_all", KP_FENTRY, "arm_smmu_flush_iotlb_all",
	  .produces = EVT(IOTLB_INV) },
	{ "ioasid_fentry_smmu_inv_range", KP_FENTRY, "arm_smmu_tlb_inv_range_domain",
	  .produces = EVT(IOTLB_INV) },
};

#define NR_KPROGS (sizeof(kprogs) / sizeof(kprogs[0]))

static bool kprog_is_fn(const struct kprog_spec *s)
{
	return s->kind == KP_FENTRY || s->kind == KP_FEXIT;
}

static const char *const kind_names[] = { "tp_btf", "raw_tp", "fentry", "fexit" };

/* Per program: the decision and, once attached, the link. */
struct kprog_state {
	bool want;                   /* loaded (and, unless covered, attached) */
	bool attached;
	char module[64];             /* module whose BTF holds the function ("" = vmlinux) */
	char reason[192];            /* when !want, or why attaching failed / was not tried */
	struct bpf_link *link;
};

struct kernel_backend {
	struct ioasid_kernel *skel;  /* NULL after a dry run */
	struct kprog_state st[NR_KPROGS];
	bool events;                 /* the ring buffer is fed */
};

static int kprog_index(const char *prog)
{
	for (size_t i = 0; i < NR_KPROGS; i++)
		if (!strcmp(kprogs[i].prog, prog))
			return (int)i;
	return -1;
}

/* ---- what this kernel has: its BTF (vmlinux and modules) ------------------------------------ */

struct kernel_btf {
	struct btf *vmlinux;         /* the running kernel's, or the --btf file */
	bool running;                /* vmlinux is the running kernel's (tp_btf/fentry possible) */
	struct btf **mods;
	char (*mod_names)[64];        /* MODULE_NAME_LEN is 56 */
	size_t nr_mods;
};

static void kernel_btf_free(struct kernel_btf *kb)
{
	for (size_t i = 0; i < kb->nr_mods; i++)
		btf__free(kb->mods[i]);
	free(kb->mods);
	free(kb->mod_names);
	btf__free(kb->vmlinux);
	memset(kb, 0, sizeof(*kb));
}

/* Module BTF is best effort: a module that cannot be read only hides its functions. */
static void kernel_btf_load_modules(struct kernel_btf *kb)
{
	DIR *d = opendir(SYS_BTF_DIR);
	struct dirent *de;
	size_t cap = 0;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[512];
		struct btf *b;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, "vmlinux") ||
		    strlen(de->d_name) >= sizeof(kb->mod_names[0]))
			continue;
		snprintf(path, sizeof(path), SYS_BTF_DIR "/%s", de->d_name);
		b = btf__parse_split(path, kb->vmlinux);
		if (!b)
			continue;
		if (kb->nr_mods == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			void *m = realloc(kb->mods, ncap * sizeof(*kb->mods));
			void *n;

			if (!m) {
				btf__free(b);
				break;
			}
			kb->mods = m;
			n = realloc(kb->mod_names, ncap * sizeof(*kb->mod_names));
			if (!n) {
				btf__free(b);
				break;
			}
			kb->mod_names = n;
			cap = ncap;
		}
		strcpy(kb->mod_names[kb->nr_mods], de->d_name);
		kb->mods[kb->nr_mods++] = b;
	}
	closedir(d);
}

/* The BTF that says what exists: the running kernel's when it exposes it (the attach targets
 * are resolved there), else the --btf file (then only raw_tp can attach). */
static int kernel_btf_open(const char *btf_path, struct kernel_btf *kb)
{
	int err;

	memset(kb, 0, sizeof(*kb));
	if (btf_path) {
		struct btf *custom;

		if (access(btf_path, R_OK))
			return trace_error(errno, "kernel BTF '%s' (--btf): %s: give a readable BTF "
					   "file for this kernel (a vmlinux with .BTF, or one made "
					   "with 'pahole --btf_encode_detached')", btf_path,
					   strerror(errno));
		custom = btf__parse(btf_path, NULL);
		if (!custom) {
			err = errno ? errno : EINVAL;
			return trace_error(err, "kernel BTF '%s' (--btf): %s: not BTF, nor an ELF "
					   "file with a .BTF section; give the BTF of this kernel",
					   btf_path, strerror(err));
		}
		if (access(SYS_VMLINUX_BTF, R_OK)) {
			kb->vmlinux = custom;
			return 0;
		}
		btf__free(custom);
	} else if (access(SYS_VMLINUX_BTF, R_OK)) {
		err = errno;
		return trace_error(err, "kernel BTF %s: %s: this kernel exposes no BTF (built "
				   "without CONFIG_DEBUG_INFO_BTF?); give one with --btf PATH",
				   SYS_VMLINUX_BTF, strerror(err));
	}
	kb->vmlinux = btf__parse(SYS_VMLINUX_BTF, NULL);
	if (!kb->vmlinux) {
		err = errno ? errno : EINVAL;
		return trace_error(err, "kernel BTF %s: %s: cannot be parsed; give one with --btf "
				   "PATH", SYS_VMLINUX_BTF, strerror(err));
	}
	kb->running = true;
	kernel_btf_load_modules(kb);
	return 0;
}

/* Does a type `name` of `kind` exist; module (or "") where it was found. */
static bool kernel_btf_has(const struct kernel_btf *kb, const char *name, int kind,
			   char *module, size_t modsz)
{
	if (module && modsz)
		module[0] = 0;
	if (btf__find_by_name_kind(kb->vmlinux, name, kind) > 0)
		return true;
	for (size_t i = 0; i < kb->nr_mods; i++) {
		if (btf__find_by_name_kind(kb->mods[i], name, kind) > 0) {
			if (module && modsz)
				snprintf(module, modsz, "%s", kb->mod_names[i]);
			return true;
		}
	}
	return false;
}

static bool kernel_btf_has_tracepoint(const struct kernel_btf *kb, const char *name)
{
	char tname[128];

	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	return kernel_btf_has(kb, tname, BTF_KIND_TYPEDEF, NULL, 0);
}

static bool tracefs_has_event(const char *sys, const char *name)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char path[256];

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		snprintf(path, sizeof(path), "%s/events/%s/%s", roots[i], sys, name);
		if (!access(path, F_OK))
			return true;
	}
	return false;
}

/* ---- can this kernel run fentry/fexit at all? ----------------------------------------------- */

/* 0 when a minimal fentry program loads, else why not (reason filled). */
static int fentry_probe(const struct kernel_btf *kb, char *reason, size_t sz)
{
	static const char *const candidates[] = { "bpf_fentry_test1", "do_sys_openat2",
						  "vfs_read", "schedule" };
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int id = -1, fd, err;

	if (!kb->running) {
		snprintf(reason, sz, "the running kernel exposes no BTF (%s), which fentry/fexit "
			 "need", SYS_VMLINUX_BTF);
		return -ENOENT;
	}
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]) && id <= 0; i++)
		id = btf__find_by_name_kind(kb->vmlinux, candidates[i], BTF_KIND_FUNC);
	if (id <= 0)
		return 0;   /* nothing to probe with: let the load itself decide */
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_TRACE_FENTRY,
		    .attach_btf_id = id);
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "ioasid_probe", "GPL", insns,
			   sizeof(insns) / sizeof(insns[0]), &o);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	err = errno;
	if (err == EPERM || err == EACCES)
		snprintf(reason, sz, "this kernel refuses fentry/fexit programs (%s at load: "
			 "lockdown or a BPF LSM policy)", err == EPERM ? "EPERM" : "EACCES");
	else
		snprintf(reason, sz, "this kernel cannot load fentry/fexit programs (%s at load: "
			 "no BPF trampoline on this kernel or architecture?)", strerror(err));
	return -err;
}

/* ---- decisions ------------------------------------------------------------------------------ */

static void decide(struct kernel_backend *b, const struct kernel_btf *kb, int fn_err,
		   const char *fn_reason)
{
	for (size_t i = 0; i < NR_KPROGS; i++) {
		const struct kprog_spec *s = &kprogs[i];
		struct kprog_state *st = &b->st[i];

		st->want = false;
		switch (s->kind) {
		case KP_TP_BTF:
		case KP_RAW_TP: {
			/* kb->vmlinux is the running kernel's BTF, or the --btf file */
			bool in_btf = kernel_btf_has_tracepoint(kb, s->target);
			bool tp_btf = kb->running && in_btf;
			bool tp_any = in_btf || tracefs_has_event(s->tp_system, s->target);

			if (!tp_any)
				snprintf(st->reason, sizeof(st->reason), "tracepoint %s:%s not in "
					 "this kernel%s%s%s", s->tp_system, s->target,
					 s->absent_note ? " (" : "",
					 s->absent_note ? s->absent_note : "",
					 s->absent_note ? ")" : "");
			else if (s->kind == KP_TP_BTF && !tp_btf)
				snprintf(st->reason, sizeof(st->reason), "the running kernel exposes "
					 "no BTF (%s) for tp_btf: the raw_tp fallback is used",
					 SYS_VMLINUX_BTF);
			else
				st->want = true;
			break;
		}
		case KP_FENTRY:
		case KP_FEXIT: {
			bool found = kernel_btf_has(kb, s->target, BTF_KIND_FUNC, st->module,
						    sizeof(st->module));

			if (fn_err)
				snprintf(st->reason, sizeof(st->reason), "%s%s%s%s", fn_reason,
					 found ? "" : "; ", found ? "" : s->target,
					 found ? "" : " is not in its BTF either");
			else if (!found)
				snprintf(st->reason, sizeof(st->reason), "function %s not in this "
					 "kernel's BTF (not built, inlined, or module not loaded)",
					 s->target);
			else
				st->want = true;
			break;
		}
		}
	}
}

/* Programs that lose their job to a program wanted earlier (covered_by), or whose partner is
 * not wanted (needs); `attached_only`: judge by what actually attached. Returns the reason, or
 * NULL when the program should run. */
static const char *redundant(const struct kernel_backend *b, size_t i, bool attached_only,
			     char *buf, size_t sz)
{
	const struct kprog_spec *s = &kprogs[i];

	for (size_t c = 0; c < sizeof(s->covered_by) / sizeof(s->covered_by[0]); c++) {
		int j = s->covered_by[c] ? kprog_index(s->covered_by[c]) : -1;

		if (j < 0)
			continue;
		if (attached_only ? b->st[j].attached : b->st[j].want) {
			if (s->kind == KP_RAW_TP)
				snprintf(buf, sz, "its tp_btf twin %s is attached (raw_tp is the "
					 "fallback)", kprogs[j].prog);
			else
				snprintf(buf, sz, "%s is attached and reports the same "
					 "invalidations", kprogs[j].prog);
			return buf;
		}
	}
	if (s->needs) {
		int j = kprog_index(s->needs);

		if (j >= 0 && !(attached_only ? b->st[j].attached : b->st[j].want)) {
			snprintf(buf, sz, "its exit half %s is not attached, and this half only "
				 "feeds it", s->needs);
			return buf;
		}
	}
	return NULL;
}

static void target_name(size_t i, const struct kprog_state *st, char *buf, size_t sz)
{
	const struct kprog_spec *s = &kprogs[i];

	if (kprog_is_fn(s))
		snprintf(buf, sz, "%s %s%s%s%s", kind_names[s->kind], s->target,
			 st->module[0] ? " (module " : "", st->module,
			 st->module[0] ? ")" : "");
	else
		snprintf(buf, sz, "%s %s:%s", kind_names[s->kind], s->tp_system, s->target);
}

/* One plan line per program. `unloaded`: why wanted programs did not run when the object
 * never loaded (NULL otherwise). */
static int record_plan(const struct kernel_backend *b, struct trace_plan *plan, bool dry_run,
		       const char *unloaded)
{
	for (size_t i = 0; i < NR_KPROGS; i++) {
		const struct kprog_state *st = &b->st[i];
		char target[128], buf[192];
		const char *why = st->reason;
		bool on = dry_run ? st->want : st->attached;
		int err;

		if (dry_run && st->want && (why = redundant(b, i, false, buf, sizeof(buf))))
			on = false;
		if (!on && !why[0])
			why = unloaded ? unloaded : "not attached";
		target_name(i, st, target, sizeof(target));
		err = on ? trace_plan_add(plan, kprogs[i].prog, target, true, NULL)
			 : trace_plan_add(plan, kprogs[i].prog, target, false, "%s", why);
		if (err)
			return trace_error(-err, "kernel backend: no memory for the attach plan");
	}
	return 0;
}

/* ---- open, load, attach --------------------------------------------------------------------- */

static size_t ringbuf_size(size_t want)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), sz = page;

	while (sz < want && sz < ((size_t)1 << 30))
		sz <<= 1;
	return sz;
}

static int skel_open(struct kernel_backend *b, const struct ioasid_trace_opts *opts,
		     bool fn_ok, bool tp_btf_ok)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = opts->btf_path);
	unsigned int produce = opts->produce ? opts->produce
					     : IOASID_TRACE_EVENTS | IOASID_TRACE_AGGREGATES;
	size_t rb = opts->ringbuf_bytes ? ringbuf_size(opts->ringbuf_bytes) : 0;
	size_t wakeup = opts->wakeup_bytes ? opts->wakeup_bytes : DEFAULT_WAKEUP_BYTES;
	int err;

	b->skel = ioasid_kernel__open_opts(&oo);
	if (!b->skel)
		return trace_bpf_failure(errno ? errno : EINVAL,
					 "open BPF object ioasid_kernel (bpf/ioasid_kernel.bpf.c)");
	b->events = produce & IOASID_TRACE_EVENTS;
	b->skel->rodata->emit_events = b->events;
	b->skel->rodata->emit_aggregates = produce & IOASID_TRACE_AGGREGATES;
	b->skel->rodata->filter_tgids = false;
	if (!b->events)
		rb = ringbuf_size(1);   /* unused: the smallest the kernel takes */
	if (rb) {
		err = bpf_map__set_max_entries(b->skel->maps.events, rb);
		if (err)
			return trace_error(-err, "ring buffer size %zu bytes: %s: give a power of "
					   "two of at least one page", rb, strerror(-err));
	}
	if (!rb)
		rb = bpf_map__max_entries(b->skel->maps.events);
	/* Never wait for more than half the ring: the rest would be dropped before a wake-up. */
	b->skel->rodata->wakeup_bytes = wakeup < rb / 2 ? wakeup : rb / 2;

	for (size_t i = 0; i < NR_KPROGS; i++) {
		const struct kprog_spec *s = &kprogs[i];
		struct bpf_program *p = bpf_object__find_program_by_name(b->skel->obj, s->prog);
		bool on = b->st[i].want;

		if (!p)
			return trace_error(ENOENT, "BPF object ioasid_kernel has no program %s: "
					   "the build is inconsistent; rebuild (make clean all)",
					   s->prog);
		if (kprog_is_fn(s) && !fn_ok)
			on = false;
		if (s->kind == KP_TP_BTF && !tp_btf_ok)
			on = false;
		err = bpf_program__set_autoload(p, on);
		if (err)
			return trace_error(-err, "program %s: cannot set autoload: %s", s->prog,
					   strerror(-err));
	}
	return 0;
}

/* Load, degrading step by step: everything decided; without fentry/fexit; raw_tp only. A
 * verifier rejection names no program in its errno, so a whole class is dropped at a time. */
static int load(struct kernel_backend *b, const struct ioasid_trace_opts *opts)
{
	bool any_fn = false, any_tp_btf = false;
	int err = -EINVAL;

	for (size_t i = 0; i < NR_KPROGS; i++) {
		any_fn |= b->st[i].want && kprog_is_fn(&kprogs[i]);
		any_tp_btf |= b->st[i].want && kprogs[i].kind == KP_TP_BTF;
	}
	for (int level = 0; level < 3; level++) {
		bool fn_ok = level == 0, tp_btf_ok = level <= 1;

		if ((level == 1 && !any_fn) || (level == 2 && !any_tp_btf))
			continue;
		for (size_t i = 0; level > 0 && i < NR_KPROGS; i++) {
			struct kprog_state *st = &b->st[i];
			const struct kprog_spec *s = &kprogs[i];
			bool dropped = kprog_is_fn(s) ? !fn_ok : (s->kind == KP_TP_BTF && !tp_btf_ok);

			if (!st->want || !dropped)
				continue;
			st->want = false;
			snprintf(st->reason, sizeof(st->reason), "the BPF object did not load with "
				 "the %s programs in it (%s; -v shows the verifier's log), so it was "
				 "loaded without them", kind_names[s->kind], strerror(-err));
		}
		err = skel_open(b, opts, fn_ok, tp_btf_ok);
		if (err)
			goto err_destroy;   /* not a program's fault: degrading cannot help */
		err = ioasid_kernel__load(b->skel);
		if (!err)
			return 0;
		ioasid_kernel__destroy(b->skel);
		b->skel = NULL;
		if (err == -ENOMEM)
			break;      /* the maps, not the programs (memory cgroup limit) */
	}
	return trace_bpf_failure(err, "load BPF object ioasid_kernel (bpf/ioasid_kernel.bpf.c)");

err_destroy:
	ioasid_kernel__destroy(b->skel);
	b->skel = NULL;
	return err;
}

static size_t attach(struct kernel_backend *b)
{
	size_t n = 0;

	for (size_t i = 0; i < NR_KPROGS; i++) {
		struct kprog_state *st = &b->st[i];
		struct bpf_program *p;
		char target[128];
		const char *why;

		if (!st->want)
			continue;
		why = redundant(b, i, true, st->reason, sizeof(st->reason));
		if (why)
			continue;
		p = bpf_object__find_program_by_name(b->skel->obj, kprogs[i].prog);
		st->link = p ? bpf_program__attach(p) : NULL;
		if (!st->link) {
			int err = p ? errno : ENOENT;

			target_name(i, st, target, sizeof(target));
			trace_bpf_failure(err, target);
			snprintf(st->reason, sizeof(st->reason), "%s", ioasid_trace_last_error());
			continue;
		}
		st->attached = true;
		n++;
	}
	return n;
}

static void detach_all(struct kernel_backend *b)
{
	for (size_t i = 0; i < NR_KPROGS; i++) {
		bpf_link__destroy(b->st[i].link);
		b->st[i].link = NULL;
		b->st[i].attached = false;
	}
}

int kernel_backend_open(const struct ioasid_trace_opts *opts, struct trace_plan *plan,
			struct kernel_backend **out)
{
	struct kernel_btf kb;
	struct kernel_backend *b;
	char fn_reason[160] = "";
	size_t wanted = 0, attached;
	int err, fn_err;

	if (!opts || opts->sz < sizeof(*opts) || !plan || !out)
		return trace_error(EINVAL, "kernel backend: options missing or from an older "
				   "build (sz %zu, expected %zu): set .sz = sizeof(struct "
				   "ioasid_trace_opts)", opts ? opts->sz : 0, sizeof(*opts));
	*out = NULL;
	trace_libbpf_log_setup(opts);
	err = kernel_btf_open(opts->btf_path, &kb);
	if (err)
		return err;
	b = calloc(1, sizeof(*b));
	if (!b) {
		kernel_btf_free(&kb);
		return trace_error(ENOMEM, "kernel backend: out of memory");
	}
	fn_err = fentry_probe(&kb, fn_reason, sizeof(fn_reason));
	decide(b, &kb, fn_err, fn_reason);
	kernel_btf_free(&kb);
	for (size_t i = 0; i < NR_KPROGS; i++)
		wanted += b->st[i].want;

	if (opts->dry_run) {
		err = record_plan(b, plan, true, NULL);
		if (err)
			goto err_free;
		if (!wanted) {
			err = trace_error(ENOENT, "kernel: nothing to trace: no iommu tracepoint and "
					  "no traceable iommufd/IOMMU function on this kernel (the "
					  "plan says why for each)");
			goto err_free;
		}
		*out = b;
		return 0;
	}
	if (!wanted) {
		err = trace_error(ENOENT, "kernel: nothing to trace: no iommu tracepoint and no "
				  "traceable iommufd/IOMMU function on this kernel (run with "
				  "--dry-run -v to see why for each)");
		record_plan(b, plan, false, NULL);
		goto err_free;
	}
	err = load(b, opts);
	if (err) {
		char msg[192];

		snprintf(msg, sizeof(msg), "the BPF object did not load: %s", strerror(-err));
		record_plan(b, plan, false, msg);
		goto err_free;
	}
	attached = attach(b);
	err = record_plan(b, plan, false, NULL);
	if (err)
		goto err_detach;
	if (!attached) {
		err = trace_error(ENOENT, "kernel: none of the %zu programs that should work here "
				  "could attach (the attach plan gives each reason; run with -v "
				  "for libbpf's log)", wanted);
		goto err_detach;
	}
	*out = b;
	return 0;

err_detach:
	detach_all(b);
err_free:
	ioasid_kernel__destroy(b->skel);
	free(b);
	return err;
}

int kernel_backend_maps(struct kernel_backend *b, struct trace_maps *out)
{
	if (!b || !out)
		return trace_error(EINVAL, "kernel backend: no backend");
	out->events_fd = out->stats_fd = out->aggregates_fd = out->tgids_fd = -1;
	if (!b->skel)
		return trace_error(ENODATA, "kernel backend was opened as a dry run: nothing is "
				   "loaded, so there are no maps to read");
	out->events_fd = b->events ? bpf_map__fd(b->skel->maps.events) : -1;
	out->stats_fd = bpf_map__fd(b->skel->maps.stats);
	out->aggregates_fd = bpf_map__fd(b->skel->maps.aggregates);
	out->tgids_fd = bpf_map__fd(b->skel->maps.tgids);
	return 0;
}

uint64_t kernel_backend_observable(const struct kernel_backend *b)
{
	uint64_t mask = 0;

	for (size_t i = 0; b && i < NR_KPROGS; i++)
		if (b->skel ? b->st[i].attached : b->st[i].want)
			mask |= kprogs[i].produces;
	return mask;
}

void kernel_backend_close(struct kernel_backend *b)
{
	if (!b)
		return;
	detach_all(b);
	ioasid_kernel__destroy(b->skel);
	free(b);
}
