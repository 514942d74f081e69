/* test_bpf_kernel.c — the kernel-side BPF programs (bpf/ioasid_kernel.bpf.c) and their loader
 * (src/trace/kernel_backend.c). Suite `bpf_kernel`.
 *
 * The handlers never fire on a machine without an IOMMU, so they are driven directly: the
 * skeleton is loaded with its raw_tp programs on and each is run with BPF_PROG_TEST_RUN and
 * made-up tracepoint arguments (a u64 per argument). The handler body is the one the tp_btf
 * programs share, so this covers both. Device pointers that are NULL, garbage, or point into
 * user memory must give an event flagged IOASID_EVF_BAD_DEV with an empty name.
 * The loader is tested on this kernel as it is: whatever tracepoints exist attach, fentry/fexit
 * programs are skipped with a reason when the kernel refuses them, and the open succeeds. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf_test.h"
#include "ioasid/event.h"
#include "ioasid/aggregate.h"
#include "ioasid/trace.h"
#include "trace/backend.h"
#include "ioasid_kernel.skel.h"

TestSuite(bpf_kernel, .timeout = 120);

#define MAX_EVENTS 64

/* ---- helpers: the skeleton with its raw_tp handlers ------------------------------------------ */

/* Load the object with only the raw_tp programs of the iommu:* tracepoints on (their bodies need
 * nothing but struct device; the intel_iommu ones need VT-d types this kernel may lack). */
static struct ioasid_kernel *skel_load(bool emit_events, bool emit_aggregates, size_t ringbuf)
{
	struct ioasid_kernel *s = ioasid_kernel__open();
	struct bpf_program *p;
	int err;

	cr_assert_not_null(s, "ioasid_kernel__open: %s", strerror(errno));
	s->rodata->emit_events = emit_events;
	s->rodata->emit_aggregates = emit_aggregates;
	bpf_object__for_each_program(p, s->obj) {
		const char *sec = bpf_program__section_name(p);
		bool on = strstr(sec, "raw_tp/") && !strstr(sec, "cache_tag");

		cr_assert_eq(bpf_program__set_autoload(p, on), 0, "set_autoload %s", sec);
	}
	if (ringbuf)
		cr_assert_eq(bpf_map__set_max_entries(s->maps.events, ringbuf), 0);
	err = ioasid_kernel__load(s);
	cr_assert_eq(err, 0, "the raw_tp handlers must verify on this kernel: load: %s",
		     strerror(-err));
	return s;
}

/* BPF_PROG_TEST_RUN with the tracepoint's arguments; returns the program's return value. */
static int run_raw(struct bpf_program *p, const uint64_t *args, size_t nargs)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = args, .ctx_size_in = nargs * sizeof(*args));
	int err = bpf_prog_test_run_opts(bpf_program__fd(p), &o);

	cr_assert_eq(err, 0, "BPF_PROG_TEST_RUN %s: %s", bpf_program__name(p), strerror(-err));
	return (int)o.retval;
}
#define run_raw_ok(p, ...)                                                                     \
	do {                                                                                   \
		const uint64_t args__[] = { __VA_ARGS__ };                                     \
		cr_assert_eq(run_raw(p, args__, sizeof(args__) / sizeof(args__[0])), 0);       \
	} while (0)

struct collected {
	struct ioasid_event ev[MAX_EVENTS];
	size_t n;            /* kept (first MAX_EVENTS) */
	uint64_t received;   /* all */
	uint64_t bad_size;
};

static int collect(void *ctx, void *data, size_t size)
{
	struct collected *c = ctx;

	c->received++;
	if (size != sizeof(struct ioasid_event)) {
		c->bad_size++;
		return 0;
	}
	if (c->n < MAX_EVENTS)
		memcpy(&c->ev[c->n++], data, sizeof(struct ioasid_event));
	return 0;
}

static void drain(struct ioasid_kernel *s, struct collected *c)
{
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(s->maps.events), collect, c, NULL);
	int n;

	cr_assert_not_null(rb, "ring_buffer__new: %s", strerror(errno));
	do {
		n = ring_buffer__consume(rb);
		cr_assert_geq(n, 0, "ring_buffer__consume: %s", strerror(-n));
	} while (n > 0);
	ring_buffer__free(rb);
	cr_assert_eq(c->bad_size, 0, "records of the wrong size in the ring buffer");
}

static uint64_t stat_sum(struct ioasid_kernel *s, uint32_t idx)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v, sum = 0;

	cr_assert_gt(ncpu, 0);
	v = calloc(ncpu, sizeof(*v));
	cr_assert_not_null(v);
	cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(s->maps.stats), &idx, v), 0);
	for (int i = 0; i < ncpu; i++)
		sum += v[i];
	free(v);
	return sum;
}

static uint64_t seq_now(struct ioasid_kernel *s)
{
	uint32_t zero = 0;
	uint64_t v = 0;

	cr_assert_eq(bpf_map_lookup_elem(bpf_map__fd(s->maps.seq), &zero, &v), 0);
	return v;
}

/* Sum of the aggregates of one event type (over keys and CPUs). */
static struct ioasid_agg_value agg_sum(struct ioasid_kernel *s, uint16_t type)
{
	int fd = bpf_map__fd(s->maps.aggregates), ncpu = libbpf_num_possible_cpus();
	struct ioasid_agg_key key, next, *prev = NULL;
	struct ioasid_agg_value sum = { 0 }, *v = calloc(ncpu, sizeof(*v));

	cr_assert_not_null(v);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (key.type != type)
			continue;
		cr_assert_eq(key.source, IOASID_SRC_KERNEL_TP);
		cr_assert_eq(bpf_map_lookup_elem(fd, &key, v), 0);
		for (int i = 0; i < ncpu; i++) {
			sum.count += v[i].count;
			sum.errors += v[i].errors;
			sum.bytes += v[i].bytes;
			sum.value_sum += v[i].value_sum;
		}
	}
	free(v);
	return sum;
}

static void assert_header(const struct ioasid_event *e, uint16_t type)
{
	cr_assert_eq(e->type, type, "type %u, expected %u", e->type, type);
	cr_assert_eq(e->source, IOASID_SRC_KERNEL_TP);
	cr_assert_eq(e->version, IOASID_EVENT_VERSION);
	cr_assert_eq(e->pid, (uint32_t)getpid());
	cr_assert_eq(e->tid, (uint32_t)syscall(SYS_gettid));
	cr_assert_neq(e->ts_ns, 0);
	cr_assert_eq(e->reserved, 0);
}

/* ---- the tracepoint handlers ---------------------------------------------------------------- */

Test(bpf_kernel, map_gives_one_domain_map_event)
{
	bpf_test_require(false);
	struct ioasid_kernel *s = skel_load(true, true, 0);
	struct collected *c = calloc(1, sizeof(*c));

	run_raw_ok(s->progs.ioasid_raw_map, 0x100000, 0xabc000, 0x2000);
	drain(s, c);
	cr_assert_eq(c->received, 1, "one run, %llu events", (unsigned long long)c->received);
	assert_header(&c->ev[0], IOASID_EV_DOMAIN_MAP);
	cr_assert_eq(c->ev[0].iova, 0x100000);
	cr_assert_eq(c->ev[0].length, 0x2000);
	cr_assert_eq(c->ev[0].value, 0xabc000, "value = paddr");
	cr_assert_eq(c->ev[0].flags, 0);
	cr_assert_eq(c->ev[0].seq, 1);
	cr_assert_str_empty(c->ev[0].name);
	cr_assert_eq(stat_sum(s, IOASID_STAT_EMITTED), 1);
	cr_assert_eq(stat_sum(s, IOASID_STAT_DROPPED), 0);
	cr_assert_eq(stat_sum(s, IOASID_STAT_READ_ERR), 0);
	free(c);
	ioasid_kernel__destroy(s);
}

Test(bpf_kernel, unmap_gives_one_domain_unmap_event)
{
	bpf_test_require(false);
	struct ioasid_kernel *s = skel_load(true, true, 0);
	struct collected *c = calloc(1, sizeof(*c));

	run_raw_ok(s->progs.ioasid_raw_unmap, 0x7f0000, 0x10000, 0x8000);
	drain(s, c);
	cr_assert_eq(c->received, 1);
	assert_header(&c->ev[0], IOASID_EV_DOMAIN_UNMAP);
	cr_assert_eq(c->ev[0].iova, 0x7f0000);
	cr_assert_eq(c->ev[0].length, 0x10000, "length = requested size");
	cr_assert_eq(c->ev[0].value, 0x8000, "value = bytes unmapped");
	free(c);
	ioasid_kernel__destroy(s);
}

/* Every device-carrying handler, with device pointers that cannot be read. */
Test(bpf_kernel, unreadable_device_pointers_are_flagged_never_fatal)
{
	bpf_test_require(false);
	struct ioasid_kernel *s = skel_load(true, true, 0);
	struct collected *c = calloc(1, sizeof(*c));
	/* A fake struct device in user memory whose every word points at a user string: a handler
	 * that read user memory as kernel memory would report the name "userspace". */
	static const char user_name[] = "userspace";
	uint64_t *fake = calloc(512, sizeof(*fake));
	const uint64_t bad[] = { 0, 1, 0xffffffffdeadbeefull, 0xdead000000000000ull,
				 (uint64_t)(uintptr_t)fake };
	const size_t nbad = sizeof(bad) / sizeof(bad[0]);
	size_t runs = 0;

	cr_assert_not_null(fake);
	for (size_t i = 0; i < 512; i++)
		fake[i] = (uint64_t)(uintptr_t)user_name;
	for (size_t i = 0; i < nbad; i++) {
		run_raw_ok(s->progs.ioasid_raw_attach_dev, bad[i]);
		run_raw_ok(s->progs.ioasid_raw_detach_dev, bad[i]);
		run_raw_ok(s->progs.ioasid_raw_group_add, 7, bad[i]);
		run_raw_ok(s->progs.ioasid_raw_group_del, 9, bad[i]);
		run_raw_ok(s->progs.ioasid_raw_io_fault, bad[i], 0xfee00000, 1);
		runs += 5;
	}
	drain(s, c);
	cr_assert_eq(c->received, runs);
	for (size_t i = 0; i < c->n; i++) {
		const struct ioasid_event *e = &c->ev[i];
		static const uint16_t order[] = { IOASID_EV_DEV_ATTACH, IOASID_EV_DEV_DETACH,
						  IOASID_EV_GROUP_ADD_DEV, IOASID_EV_GROUP_DEL_DEV,
						  IOASID_EV_FAULT };

		assert_header(e, order[i % 5]);
		cr_assert(e->flags & IOASID_EVF_BAD_DEV, "event %zu (device %#llx): BAD_DEV not set",
			  i, (unsigned long long)bad[i / 5]);
		cr_assert_str_empty(e->name, "event %zu: name '%s' from an unreadable device", i,
				    e->name);
		cr_assert_eq(e->seq, i + 1);
		switch (e->type) {
		case IOASID_EV_GROUP_ADD_DEV:
			cr_assert_eq(e->group, 7, "group from the tracepoint argument");
			break;
		case IOASID_EV_GROUP_DEL_DEV:
			cr_assert_eq(e->group, 9);
			break;
		case IOASID_EV_FAULT:
			cr_assert_eq(e->iova, 0xfee00000);
			cr_assert_eq(e->aux, 1, "aux = fault flags");
			break;
		default:
			cr_assert_eq(e->group, 0);
		}
	}
	cr_assert_eq(stat_sum(s, IOASID_STAT_EMITTED), runs);
	cr_assert_eq(stat_sum(s, IOASID_STAT_READ_ERR), runs, "every unreadable device counted");
	free(fake);
	free(c);
	ioasid_kernel__destroy(s);
}

Test(bpf_kernel, counters_aggregates_and_seq_match_the_runs)
{
	bpf_test_require(false);
	struct ioasid_kernel *s = skel_load(true, true, 0);
	struct collected *c = calloc(1, sizeof(*c));
	struct ioasid_agg_value map, unmap;
	const unsigned nmap = 7, nunmap = 5;

	for (unsigned i = 0; i < nmap; i++)
		run_raw_ok(s->progs.ioasid_raw_map, 0x1000 * i, 0x200000 + 0x1000 * i, 0x1000);
	for (unsigned i = 0; i < nunmap; i++)
		run_raw_ok(s->progs.ioasid_raw_unmap, 0x1000 * i, 0x1000, 0x800);
	drain(s, c);
	cr_assert_eq(c->received, nmap + nunmap);
	for (size_t i = 0; i < c->n; i++)
		cr_assert_eq(c->ev[i].seq, i + 1, "seq increments by one per event");
	cr_assert_eq(seq_now(s), nmap + nunmap);
	cr_assert_eq(stat_sum(s, IOASID_STAT_EMITTED), nmap + nunmap);
	cr_assert_eq(stat_sum(s, IOASID_STAT_DROPPED), 0);
	cr_assert_eq(stat_sum(s, IOASID_STAT_AGG_FULL), 0);
	map = agg_sum(s, IOASID_EV_DOMAIN_MAP);
	unmap = agg_sum(s, IOASID_EV_DOMAIN_UNMAP);
	cr_assert_eq(map.count, nmap);
	cr_assert_eq(map.bytes, nmap * 0x1000ull);
	cr_assert_eq(unmap.count, nunmap);
	cr_assert_eq(unmap.bytes, nunmap * 0x1000ull);
	cr_assert_eq(unmap.value_sum, nunmap * 0x800ull, "value_sum = bytes unmapped");
	free(c);
	ioasid_kernel__destroy(s);
}

Test(bpf_kernel, events_off_only_aggregates_change)
{
	bpf_test_require(false);
	struct ioasid_kernel *s = skel_load(false, true, 0);
	struct collected *c = calloc(1, sizeof(*c));

	for (int i = 0; i < 5; i++)
		run_raw_ok(s->progs.ioasid_raw_map, 0x1000, 0x2000, 0x3000);
	drain(s, c);
	cr_assert_eq(c->received, 0, "emit_events=false: nothing in the ring buffer");
	cr_assert_eq(agg_sum(s, IOASID_EV_DOMAIN_MAP).count, 5);
	cr_assert_eq(stat_sum(s, IOASID_STAT_EMITTED), 5);
	cr_assert_eq(stat_sum(s, IOASID_STAT_DROPPED), 0, "events off is not a drop");
	free(c);
	ioasid_kernel__destroy(s);
}

Test(bpf_kernel, full_ring_buffer_drops_are_counted_exactly)
{
	bpf_test_require(false);
	struct ioasid_kernel *s = skel_load(true, true, 4096);
	struct collected *c = calloc(1, sizeof(*c));
	const uint64_t n = 10000;
	uint64_t emitted, dropped;

	for (uint64_t i = 0; i < n; i++)
		run_raw_ok(s->progs.ioasid_raw_map, i << 12, i << 12, 0x1000);
	drain(s, c);
	emitted = stat_sum(s, IOASID_STAT_EMITTED);
	dropped = stat_sum(s, IOASID_STAT_DROPPED);
	cr_assert_eq(emitted, n);
	cr_assert_gt(c->received, 0);
	cr_assert_gt(dropped, 0, "a 4 KiB ring buffer cannot hold %llu events",
		     (unsigned long long)n);
	cr_assert_eq(c->received + dropped, emitted, "received %llu + dropped %llu != emitted %llu",
		     (unsigned long long)c->received, (unsigned long long)dropped,
		     (unsigned long long)emitted);
	cr_assert_eq(seq_now(s), n, "dropped events still take a sequence number");
	cr_assert_eq(agg_sum(s, IOASID_EV_DOMAIN_MAP).count, n, "aggregates are exact under drops");
	free(c);
	ioasid_kernel__destroy(s);
}

/* ---- the loader on this kernel --------------------------------------------------------------- */

static const char *const iommu_tracepoints[] = {
	"map", "unmap", "attach_device_to_domain", "detach_device_from_domain",
	"add_device_to_group", "remove_device_from_group", "io_page_fault",
};

static bool kernel_has_tracepoint(struct btf *vmlinux, const char *name)
{
	char t[128];

	snprintf(t, sizeof(t), "btf_trace_%s", name);
	return btf__find_by_name_kind(vmlinux, t, BTF_KIND_TYPEDEF) > 0;
}

/* Does this kernel load a minimal fentry program? (0, or -errno) */
static int fentry_loads(struct btf *vmlinux)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int id = btf__find_by_name_kind(vmlinux, "bpf_fentry_test1", BTF_KIND_FUNC), fd;

	if (id <= 0)
		id = btf__find_by_name_kind(vmlinux, "vfs_read", BTF_KIND_FUNC);
	cr_assert_gt(id, 0);
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_TRACE_FENTRY,
		    .attach_btf_id = id);
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "t_probe", "GPL", insns, 2, &o);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static const struct ioasid_trace_plan_item *plan_find(const struct trace_plan *p,
						      const char *target)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->items[i].target, target))
			return &p->items[i];
	return NULL;
}

static int count_bpf_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d))) {
		char path[300], link[128];
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = 0;
		n += !strncmp(link, "anon_inode:bpf", 14);
	}
	closedir(d);
	return n;
}

static void print_plan(const struct trace_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		fprintf(stderr, "  %-30s %-46s %s %s\n", p->items[i].program, p->items[i].target,
			p->items[i].attached ? "attached" : "skipped:", p->items[i].reason);
}

Test(bpf_kernel, open_on_this_kernel_attaches_tracepoints_and_skips_cleanly)
{
	bpf_test_require(false);
	struct ioasid_trace_opts o = { .sz = sizeof(o), .kind = IOASID_TRACE_KERNEL };
	struct trace_plan plan = { 0 };
	struct kernel_backend *b = NULL;
	struct btf *vmlinux = btf__parse("/sys/kernel/btf/vmlinux", NULL);
	struct trace_maps maps;
	int rc, fentry;

	cr_assert_not_null(vmlinux);
	fentry = fentry_loads(vmlinux);
	rc = kernel_backend_open(&o, &plan, &b);
	if (getenv("IOASID_TEST_VERBOSE"))
		print_plan(&plan);
	cr_assert_eq(rc, 0, "kernel_backend_open: %d: %s", rc, ioasid_trace_last_error());
	cr_assert_not_null(b);
	cr_assert_gt(trace_plan_attached(&plan), 0);

	for (size_t i = 0; i < sizeof(iommu_tracepoints) / sizeof(iommu_tracepoints[0]); i++) {
		char btf_target[96], raw_target[96];
		const struct ioasid_trace_plan_item *tb, *raw;

		snprintf(btf_target, sizeof(btf_target), "tp_btf iommu:%s", iommu_tracepoints[i]);
		snprintf(raw_target, sizeof(raw_target), "raw_tp iommu:%s", iommu_tracepoints[i]);
		tb = plan_find(&plan, btf_target);
		raw = plan_find(&plan, raw_target);
		cr_assert_not_null(tb, "no plan line for %s", btf_target);
		cr_assert_not_null(raw, "no plan line for %s", raw_target);
		if (kernel_has_tracepoint(vmlinux, iommu_tracepoints[i])) {
			cr_assert(tb->attached, "%s exists here but is not attached: %s", btf_target,
				  tb->reason);
			cr_assert_not(raw->attached, "%s and its raw_tp twin both attached",
				      btf_target);
			cr_assert_str_not_empty(raw->reason);
		} else {
			cr_assert_not(tb->attached);
			cr_assert_not(raw->attached);
			cr_assert(strstr(tb->reason, "not in this kernel"), "%s: %s", btf_target,
				  tb->reason);
		}
	}
	for (size_t i = 0; i < plan.n; i++) {
		const struct ioasid_trace_plan_item *it = &plan.items[i];
		bool fn = !strncmp(it->target, "fentry ", 7) || !strncmp(it->target, "fexit ", 6);

		if (!it->attached)
			cr_assert_str_not_empty(it->reason, "%s: skipped without a reason",
						it->program);
		if (fn && fentry == -EPERM) {
			cr_assert_not(it->attached, "%s attached on a kernel refusing fentry",
				      it->program);
			cr_assert(strstr(it->reason, "refuses fentry/fexit"), "%s: %s",
				  it->program, it->reason);
		}
		cr_assert_null(strstr(it->reason, "ulimit"), "the memlock hint must never appear");
	}
	cr_assert_eq(kernel_backend_maps(b, &maps), 0);
	cr_assert_geq(maps.events_fd, 0);
	cr_assert_geq(maps.stats_fd, 0);
	cr_assert_geq(maps.aggregates_fd, 0);
	cr_assert_geq(maps.tgids_fd, 0);
	kernel_backend_close(b);
	trace_plan_free(&plan);
	btf__free(vmlinux);
}

Test(bpf_kernel, dry_run_loads_nothing_and_decides_the_same)
{
	bpf_test_require(false);
	struct ioasid_trace_opts o = { .sz = sizeof(o), .kind = IOASID_TRACE_KERNEL };
	struct trace_plan real = { 0 }, dry = { 0 };
	struct kernel_backend *b = NULL;
	struct trace_maps maps;
	int before, rc;

	rc = kernel_backend_open(&o, &real, &b);
	cr_assert_eq(rc, 0, "%s", ioasid_trace_last_error());
	kernel_backend_close(b);
	b = NULL;

	before = count_bpf_fds();
	o.dry_run = true;
	rc = kernel_backend_open(&o, &dry, &b);
	cr_assert_eq(rc, 0, "dry run: %s", ioasid_trace_last_error());
	cr_assert_eq(count_bpf_fds(), before, "a dry run left BPF objects open");
	cr_assert_eq(kernel_backend_maps(b, &maps), -ENODATA, "a dry run has no maps");
	cr_assert_eq(maps.events_fd, -1);

	cr_assert_eq(dry.n, real.n);
	for (size_t i = 0; i < real.n; i++) {
		cr_assert_str_eq(dry.items[i].program, real.items[i].program);
		cr_assert_str_eq(dry.items[i].target, real.items[i].target);
		cr_assert_eq(dry.items[i].attached, real.items[i].attached, "%s: dry %d, real %d",
			     real.items[i].program, dry.items[i].attached, real.items[i].attached);
		cr_assert_str_eq(dry.items[i].reason, real.items[i].reason);
	}
	kernel_backend_close(b);
	trace_plan_free(&real);
	trace_plan_free(&dry);
}

Test(bpf_kernel, bogus_btf_path_is_refused_naming_the_path)
{
	bpf_test_require(false);
	const char *path = "/nonexistent/ioasid-test/vmlinux.btf";
	struct ioasid_trace_opts o = { .sz = sizeof(o), .kind = IOASID_TRACE_KERNEL,
				       .btf_path = path };
	struct trace_plan plan = { 0 };
	struct kernel_backend *b = NULL;
	char junk[] = "/tmp/ioasid-test-btf-XXXXXX";
	int rc, fd;

	rc = kernel_backend_open(&o, &plan, &b);
	cr_assert_eq(rc, -ENOENT, "rc %d: %s", rc, ioasid_trace_last_error());
	cr_assert_null(b);
	cr_assert(strstr(ioasid_trace_last_error(), path), "message does not name the path: %s",
		  ioasid_trace_last_error());

	/* A readable file that is not BTF. */
	fd = mkstemp(junk);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "not BTF at all\n", 15), 15);
	close(fd);
	o.btf_path = junk;
	rc = kernel_backend_open(&o, &plan, &b);
	unlink(junk);
	cr_assert_lt(rc, 0);
	cr_assert_null(b);
	cr_assert(strstr(ioasid_trace_last_error(), junk), "message does not name the path: %s",
		  ioasid_trace_last_error());
	trace_plan_free(&plan);
}

Test(bpf_kernel, aggregates_only_has_no_event_stream)
{
	bpf_test_require(false);
	struct ioasid_trace_opts o = { .sz = sizeof(o), .kind = IOASID_TRACE_KERNEL,
				       .produce = IOASID_TRACE_AGGREGATES };
	struct trace_plan plan = { 0 };
	struct kernel_backend *b = NULL;
	struct trace_maps maps;
	int rc;

	rc = kernel_backend_open(&o, &plan, &b);
	cr_assert_eq(rc, 0, "%s", ioasid_trace_last_error());
	cr_assert_eq(kernel_backend_maps(b, &maps), 0);
	cr_assert_eq(maps.events_fd, -1, "events off: no ring buffer to poll");
	cr_assert_geq(maps.aggregates_fd, 0);
	kernel_backend_close(b);
	trace_plan_free(&plan);
}
