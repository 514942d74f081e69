/* usdt_backend.c — the reference module's USDT probes (provider "ioasid"), traced with
 * bpf/ioasid_usdt.bpf.c.
 *
 * Which objects hold the probes: whichever object of the process does — the executable when
 * the reference is linked in statically (tests, benchmarks, harnesses), libioasid.so, or the
 * LD_PRELOAD shim (every unmodified program). They are found by reading the .note.stapsdt
 * section of every file the process maps (libelf) and keeping those with ioasid probes. Each
 * probe name found is attached with the event type as the USDT cookie; one BPF program serves
 * them all. A probe name this build of the library does not know is reported in the plan and
 * skipped (a newer reference traced by an older tool), never guessed.
 *
 * pid > 0 attaches to that process only (the kernel filters, so other processes using the same
 * library pay nothing); pid == -1 attaches to every process mapping the object and relies on
 * the `tgids` filter (launch mode: the command and its children, followed through fork).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "trace/backend.h"
#include "ioasid_usdt.skel.h"

#define USDT_PROVIDER "ioasid"
#define MAX_OBJECTS 8

struct usdt_backend {
	struct ioasid_usdt *skel;
	struct bpf_link **links;
	size_t nr_links, cap_links;
};

/* Is `name` in the NUL-separated list names[0, used)? */
static bool names_contain(const char *names, size_t used, const char *name)
{
	for (const char *p = names; p < names + used; p += strlen(p) + 1)
		if (!strcmp(p, name))
			return true;
	return false;
}

/* The probe names of provider "ioasid" in one ELF file, as a NUL-separated list in names
 * (count returned), or -errno. */
static int elf_ioasid_probes(const char *path, char *names, size_t namesz, size_t *used)
{
	Elf *elf = NULL;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	int fd, count = 0;

	*used = 0;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx)) {
		count = -ENOEXEC;
		goto out;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		GElf_Nhdr nh;
		size_t off = 0, noff, doff;
		const char *sname;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		sname = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!sname || strcmp(sname, ".note.stapsdt"))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		while ((off = gelf_getnote(data, off, &nh, &noff, &doff)) > 0) {
			const char *desc = (const char *)data->d_buf + doff;
			size_t addrs = 3 * (elf_getident(elf, NULL)[EI_CLASS] == ELFCLASS64 ? 8 : 4);
			const char *prov, *name;

			if (nh.n_type != 3 || nh.n_descsz <= addrs ||
			    strncmp((const char *)data->d_buf + noff, "stapsdt", nh.n_namesz))
				continue;
			prov = desc + addrs;
			if (strnlen(prov, nh.n_descsz - addrs) >= nh.n_descsz - addrs)
				continue;
			name = prov + strlen(prov) + 1;
			if ((size_t)(name - desc) >= nh.n_descsz ||
			    strnlen(name, nh.n_descsz - (size_t)(name - desc)) >=
				    nh.n_descsz - (size_t)(name - desc))
				continue;
			if (strcmp(prov, USDT_PROVIDER))
				continue;
			/* A probe may appear at several sites; keep each name once. */
			if (names_contain(names, *used, name))
				continue;
			if (*used + strlen(name) + 1 > namesz) {
				count = -E2BIG;
				goto out;
			}
			memcpy(names + *used, name, strlen(name) + 1);
			*used += strlen(name) + 1;
			count++;
		}
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return count;
}

/* Files mapped executable by pid that hold ioasid probes. */
static int find_probe_objects(pid_t pid, char objs[][PATH_MAX], int max)
{
	char maps[64], line[PATH_MAX + 256];
	FILE *f;
	int n = 0;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	f = fopen(maps, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && n < max) {
		char perms[8], *path;
		char names[4096];
		size_t used;
		bool dup = false;

		if (sscanf(line, "%*s %7s", perms) != 1 || perms[2] != 'x')
			continue;
		path = strchr(line, '/');
		if (!path)
			continue;
		path[strcspn(path, "\n")] = '\0';
		if (strstr(path, " (deleted)"))
			continue;
		for (int i = 0; i < n; i++)
			dup |= !strcmp(objs[i], path);
		if (dup)
			continue;
		if (elf_ioasid_probes(path, names, sizeof(names), &used) > 0)
			snprintf(objs[n++], PATH_MAX, "%s", path);
	}
	fclose(f);
	return n;
}

static int links_push(struct usdt_backend *b, struct bpf_link *l)
{
	if (b->nr_links == b->cap_links) {
		size_t cap = b->cap_links ? b->cap_links * 2 : 64;
		void *p = realloc(b->links, cap * sizeof(*b->links));

		if (!p)
			return -ENOMEM;
		b->links = p;
		b->cap_links = cap;
	}
	b->links[b->nr_links++] = l;
	return 0;
}

/* Attach (or, dry run, plan) every ioasid probe of one object. Returns probes attached. */
static int attach_object(struct usdt_backend *b, const struct ioasid_trace_opts *opts,
			 pid_t pid, const char *path, struct trace_plan *plan)
{
	char names[4096], target[320];
	size_t used;
	int n = elf_ioasid_probes(path, names, sizeof(names), &used), attached = 0;

	if (n < 0)
		return trace_error(-n, "%s: cannot read its ELF notes: %s", path, strerror(-n));
	for (const char *name = names; name < names + used; name += strlen(name) + 1) {
		int type = ioasid_event_type_from_name(name);
		struct bpf_link *l;

		snprintf(target, sizeof(target), "usdt %s:%.40s in %.256s", USDT_PROVIDER, name, path);
		if (type < 0) {
			trace_plan_add(plan, "ioasid_usdt_event", target, false,
				       "probe '%s' is unknown to this build of the trace library "
				       "(event format %d): use tools built with that reference",
				       name, IOASID_EVENT_VERSION);
			continue;
		}
		if (opts->dry_run) {
			trace_plan_add(plan, "ioasid_usdt_event", target, true, NULL);
			attached++;
			continue;
		}
		LIBBPF_OPTS(bpf_usdt_opts, uo, .usdt_cookie = (__u64)type);
		l = bpf_program__attach_usdt(b->skel->progs.ioasid_usdt_event, pid, path,
					     USDT_PROVIDER, name, &uo);
		if (!l) {
			int err = -errno;

			trace_bpf_failure(err, target);
			trace_plan_add(plan, "ioasid_usdt_event", target, false, "%s",
				       ioasid_trace_last_error());
			continue;
		}
		if (links_push(b, l)) {
			bpf_link__destroy(l);
			return trace_error(ENOMEM, "%s: out of memory", target);
		}
		trace_plan_add(plan, "ioasid_usdt_event", target, true, NULL);
		attached++;
	}
	return attached;
}

int usdt_backend_open(const struct ioasid_trace_opts *opts, pid_t pid, const char *binary,
		      struct trace_plan *plan, struct usdt_backend **out)
{
	char objs[MAX_OBJECTS][PATH_MAX];
	struct usdt_backend *b;
	int nobj, err, total = 0;
	bool launch = opts->kind == IOASID_TRACE_LAUNCH;

	if (binary) {
		char names[4096];
		size_t used;
		int n = elf_ioasid_probes(binary, names, sizeof(names), &used);

		if (n < 0)
			return trace_error(-n, "%s: cannot read it as an ELF file: %s", binary,
					   strerror(-n));
		if (n == 0)
			return trace_error(ENOENT, "%s: has no '%s' USDT probes: give the program or "
					   "library that links the ioasid reference (e.g. "
					   "libioasid-preload.so)", binary, USDT_PROVIDER);
		snprintf(objs[0], PATH_MAX, "%s", binary);
		nobj = 1;
	} else {
		nobj = find_probe_objects(pid, objs, MAX_OBJECTS);
		if (nobj == -ENOENT)
			return trace_error(ESRCH, "process %d: no such process: check the pid",
					   (int)pid);
		if (nobj < 0)
			return trace_error(-nobj, "process %d: cannot read /proc/%d/maps: %s (tracing "
					   "another user's process needs root)", (int)pid, (int)pid,
					   strerror(-nobj));
		if (nobj == 0)
			return trace_error(ENOENT, "process %d does not use the ioasid reference: no "
					   "object it maps has '%s' USDT probes (run it under "
					   "ioasid-run, or link libioasid)", (int)pid, USDT_PROVIDER);
	}

	b = calloc(1, sizeof(*b));
	if (!b)
		return trace_error(ENOMEM, "USDT backend: out of memory");
	trace_libbpf_log_setup(opts);
	b->skel = ioasid_usdt__open();
	if (!b->skel) {
		err = trace_bpf_failure(errno, "open BPF object ioasid_usdt");
		goto err_free;
	}
	b->skel->rodata->emit_events = !opts->produce || (opts->produce & IOASID_TRACE_EVENTS);
	b->skel->rodata->emit_aggregates = !opts->produce ||
					   (opts->produce & IOASID_TRACE_AGGREGATES);
	b->skel->rodata->wakeup_bytes = opts->wakeup_bytes ? opts->wakeup_bytes : 64 * 1024;
	b->skel->rodata->filter_tgids = launch;
	if (opts->ringbuf_bytes) {
		size_t sz = 4096;

		while (sz < opts->ringbuf_bytes && sz < (1ul << 30))
			sz <<= 1;
		bpf_map__set_max_entries(b->skel->maps.events, (__u32)sz);
	}
	bpf_program__set_autoload(b->skel->progs.ioasid_follow_fork, launch);
	trace_plan_add(plan, "ioasid_follow_fork", "tp_btf sched_process_fork", launch && true,
		       launch ? NULL : "only needed to follow a launched command's children");

	if (!opts->dry_run) {
		err = ioasid_usdt__load(b->skel);
		if (err) {
			err = trace_bpf_failure(err, "load BPF object ioasid_usdt");
			goto err_destroy;
		}
		if (launch) {
			struct bpf_link *l = bpf_program__attach(b->skel->progs.ioasid_follow_fork);

			if (!l) {
				err = trace_bpf_failure(errno, "attach tp_btf/sched_process_fork");
				goto err_destroy;
			}
			err = links_push(b, l);
			if (err) {
				bpf_link__destroy(l);
				goto err_destroy;
			}
		}
	}
	for (int i = 0; i < nobj; i++) {
		int n = attach_object(b, opts, launch ? -1 : pid, objs[i], plan);

		if (n < 0) {
			err = n;
			goto err_destroy;
		}
		total += n;
	}
	if (!total) {
		err = trace_error(ENOENT, "no ioasid USDT probe could be attached (%s): see the "
				  "plan (--dry-run -v) for each probe's reason", objs[0]);
		goto err_destroy;
	}
	*out = b;
	return 0;

err_destroy:
	usdt_backend_close(b);
	return err;
err_free:
	free(b);
	return err;
}

int usdt_backend_maps(struct usdt_backend *b, struct trace_maps *out)
{
	out->events_fd = bpf_map__fd(b->skel->maps.events);
	out->stats_fd = bpf_map__fd(b->skel->maps.stats);
	out->aggregates_fd = bpf_map__fd(b->skel->maps.aggregates);
	out->tgids_fd = bpf_map__fd(b->skel->maps.tgids);
	return 0;
}

void usdt_backend_close(struct usdt_backend *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nr_links; i++)
		bpf_link__destroy(b->links[i]);
	free(b->links);
	ioasid_usdt__destroy(b->skel);
	free(b);
}
