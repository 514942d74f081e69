/* state.c — the host state: DMA ownership of groups, bound drivers, VFIO file exclusivity.
 *
 * Owns: struct platform (a process's handle) and the state it points at, struct plat_shared:
 * a copy of the topology plus, per group, the owner / domain / PASID count / group-fd holder
 * and, per device, the bound driver / the owner's claims on it / the cdev holder. It lives in
 * private memory, or in /dev/shm/ioasid-platform.<name> shared by every process that opens
 * that name (two VMMs and `ioasid-platform bind` see one host, as on a real machine).
 *
 * Invariants (platform.h, kernel drivers/iommu/iommu.c):
 *  - owner_cnt is never stored: it is derived as (legacy group claims + per-device claims +
 *    devices bound to a DMA-API driver), so a process that dies half-way through an update
 *    cannot leave a count that disagrees with the records it counts.
 *  - owner.pid != 0 exactly when the user part of owner_cnt is > 0; then no device of the
 *    group has a DMA-API driver (claims refuse that, and DMA-API binds refuse a claimed group).
 *  - the group is on PLAT_DOMAIN_DEFAULT whenever it has no user owner, except that the
 *    reference may set another domain (platform_group_set_domain) and then claims get EBUSY.
 *
 * Processes: every record that names a process carries (pid, /proc starttime). When the lock
 * is taken, records of processes that are gone (kill(pid, 0) == ESRCH, a zombie, or a pid
 * reused with another start time) are dropped as the kernel releases a dead process's files:
 * its claims (the group returns to DEFAULT and its PASIDs go with it), its group fd, its cdev
 * binds. Processes in other pid namespaces are not supported.
 *
 * Locking: one mutex per host (process-shared and robust when shared). Every public function
 * takes it once and never calls another public function with it held. EOWNERDEAD (a process
 * died holding it) is recovered with pthread_mutex_consistent() and a repair pass. The
 * topology copy is written before the segment is published and never after, so
 * platform_topology() needs no lock.
 *
 * Events (src/common/probe.h): GROUP_CLAIM when a group gets its user owner (first claim),
 * GROUP_RELEASE when the owner's last claim goes, DRIVER_BIND / DRIVER_UNBIND for every
 * sysfs-style bind and unbind, refusals included. They are raised under the host lock, so they
 * describe the state the change left. Claims a dead process left, reclaimed by another process,
 * raise nothing (that process never saw them).
 *
 * Creating a shared host: the segment is built under a temporary name and link()ed into place,
 * which fails with EEXIST if another process won the race; the loser joins the winner's. A
 * joiner therefore never sees a half-initialised segment.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/inject.h"
#include "common/probe.h"
#include "platform/platform.h"
#include "platform/platform_ext.h"

#define PLAT_SHARED_MAGIC   0x4c50444953414f49ull   /* "IOASIDPL" */
#define PLAT_SHARED_VERSION 1u
#define PLAT_PATH_MAX       (sizeof(PLAT_SHARED_DIR) + sizeof(PLAT_SHARED_PREFIX) + \
			     PLAT_SHARED_NAME_MAX + 48)

struct plat_proc {
	int32_t pid;                  /* 0: none */
	uint32_t reserved;
	uint64_t start;               /* /proc/PID/stat starttime; 0 if unknown */
};

struct plat_group_state {
	struct plat_owner owner;      /* pid 0: no user owner */
	uint32_t group_claims;        /* legacy iommu_group_claim_dma_owner(): 0 or 1 */
	uint32_t domain;              /* enum plat_group_domain */
	uint32_t hw_domain_id;
	uint32_t pasid_cnt;
	struct plat_proc group_fd;    /* who has /dev/vfio/N open */
};

struct plat_device_state {
	int32_t driver;               /* index into drivers, -1 none */
	uint32_t claims;              /* the group owner's device claims on this device */
	struct plat_proc cdev;        /* who has bound it through /dev/vfio/devices/vfioN */
};

struct plat_shared {
	uint64_t magic;               /* written last: the segment is complete */
	uint32_t version;
	uint32_t size;
	pthread_mutex_t lock;
	struct plat_topology topo;
	struct plat_group_state groups[PLAT_MAX_GROUPS];
	struct plat_device_state devices[PLAT_MAX_DEVICES];
};

struct platform {
	struct plat_shared *sh;
	bool shared;
	char name[PLAT_SHARED_NAME_MAX + 1];
};

/* ---- messages -------------------------------------------------------------------------- */

static void say(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static void say_clear(char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
}

/* ---- processes ------------------------------------------------------------------------- */

/* State and start time of a process from /proc/PID/stat: 0, or -ENOENT (gone), or another
 * -errno when /proc cannot tell (then the caller trusts kill()). */
static int proc_stat(int32_t pid, char *state, uint64_t *start)
{
	char path[32], buf[1024];
	const char *p;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	/* "pid (comm) S ppid ...": comm may hold spaces and ')', so start after the last ')'.
	 * After it, field 3 is the state and field 22 the start time. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -EIO;
	p += 2;
	*state = *p;
	for (field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EIO;
		p++;
	}
	*start = strtoull(p, NULL, 10);
	return 0;
}

static _Atomic int32_t self_cached_pid;
static _Atomic uint64_t self_cached_start;

/* This process, as records name it. The start time is cached per pid (fork changes it). */
static struct plat_proc self_proc(void)
{
	struct plat_proc me = { .pid = getpid() };
	char state;

	if (atomic_load(&self_cached_pid) == me.pid) {
		me.start = atomic_load(&self_cached_start);
		return me;
	}
	if (proc_stat(me.pid, &state, &me.start))
		me.start = 0;
	atomic_store(&self_cached_start, me.start);
	atomic_store(&self_cached_pid, me.pid);
	return me;
}

static bool proc_alive(int32_t pid, uint64_t start)
{
	struct plat_proc me = self_proc();
	uint64_t now_start;
	char state;
	int rc;

	if (pid <= 0)
		return false;
	if (pid == me.pid)       /* us, unless a dead process had our pid */
		return !start || !me.start || start == me.start;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return false;
	rc = proc_stat(pid, &state, &now_start);
	if (rc == -ENOENT)
		return false;
	if (rc)
		return true;
	if (state == 'Z' || state == 'X')
		return false;    /* exited, not yet reaped: its files are already closed */
	return !start || !now_start || start == now_start;
}

/* Liveness answers for one pass over the records: each process is asked once. */
struct alive_cache {
	struct { int32_t pid; uint64_t start; bool alive; } e[16];
	unsigned int n;
};

static bool cached_alive(struct alive_cache *c, int32_t pid, uint64_t start)
{
	bool alive;

	for (unsigned int i = 0; i < c->n; i++)
		if (c->e[i].pid == pid && c->e[i].start == start)
			return c->e[i].alive;
	alive = proc_alive(pid, start);
	if (c->n < sizeof(c->e) / sizeof(c->e[0])) {
		c->e[c->n].pid = pid;
		c->e[c->n].start = start;
		c->e[c->n++].alive = alive;
	}
	return alive;
}

/* ---- derived state --------------------------------------------------------------------- */

static const struct plat_topology *topo_of(const struct platform *p)
{
	return &p->sh->topo;
}

static const char *dev_name(const struct platform *p, uint32_t dev)
{
	return topo_of(p)->devices[dev].name;
}

static uint32_t group_id(const struct platform *p, uint32_t group)
{
	return topo_of(p)->groups[group].id;
}

static enum plat_driver_kind driver_kind(const struct platform *p, int driver)
{
	if (driver < 0 || (uint32_t)driver >= topo_of(p)->nr_drivers)
		return 0;
	return topo_of(p)->drivers[driver].kind;
}

static const char *driver_name(const struct platform *p, int driver)
{
	if (driver < 0 || (uint32_t)driver >= topo_of(p)->nr_drivers)
		return "none";
	return topo_of(p)->drivers[driver].name;
}

static bool dev_in_group(const struct platform *p, uint32_t dev, uint32_t group)
{
	return topo_of(p)->devices[dev].group == group;
}

/* The user part of owner_cnt: claims by the one user owner. */
static uint32_t group_user_cnt(const struct platform *p, uint32_t group)
{
	uint32_t cnt = p->sh->groups[group].group_claims;

	for (uint32_t d = 0; d < topo_of(p)->nr_devices; d++)
		if (dev_in_group(p, d, group))
			cnt += p->sh->devices[d].claims;
	return cnt;
}

/* owner_cnt as the kernel keeps it: user claims plus DMA-API driver users. */
static uint32_t group_owner_cnt(const struct platform *p, uint32_t group)
{
	uint32_t cnt = group_user_cnt(p, group);

	for (uint32_t d = 0; d < topo_of(p)->nr_devices; d++)
		if (dev_in_group(p, d, group) &&
		    driver_kind(p, p->sh->devices[d].driver) == PLAT_DRV_DMA_API)
			cnt++;
	return cnt;
}

/* The first device of the group on a DMA-API driver, or -1. */
static int group_dma_api_device(const struct platform *p, uint32_t group)
{
	for (uint32_t d = 0; d < topo_of(p)->nr_devices; d++)
		if (dev_in_group(p, d, group) &&
		    driver_kind(p, p->sh->devices[d].driver) == PLAT_DRV_DMA_API)
			return (int)d;
	return -1;
}

static void group_reset_ownership(struct platform *p, uint32_t group)
{
	struct plat_group_state *gs = &p->sh->groups[group];

	memset(&gs->owner, 0, sizeof(gs->owner));
	gs->group_claims = 0;
	gs->domain = PLAT_DOMAIN_DEFAULT;
	gs->hw_domain_id = 0;
	for (uint32_t d = 0; d < topo_of(p)->nr_devices; d++)
		if (dev_in_group(p, d, group))
			p->sh->devices[d].claims = 0;
}

/* Who uses a device through VFIO, and how: the pid or 0. */
static int32_t device_user(const struct platform *p, uint32_t dev, const char **how)
{
	const struct plat_device_state *ds = &p->sh->devices[dev];
	const struct plat_group_state *gs = &p->sh->groups[topo_of(p)->devices[dev].group];

	if (ds->cdev.pid) {
		*how = "its cdev";
		return ds->cdev.pid;
	}
	if (ds->claims && gs->owner.pid) {
		*how = "an iommufd context";
		return gs->owner.pid;
	}
	if (gs->group_claims && gs->owner.pid && driver_kind(p, ds->driver) == PLAT_DRV_USER) {
		*how = "its group's VFIO container";
		return gs->owner.pid;
	}
	*how = "nothing";
	return 0;
}

/* ---- locking and reclamation ----------------------------------------------------------- */

/* After EOWNERDEAD: make the owner fields agree with the claim counts they describe. */
static void state_repair(struct platform *p)
{
	for (uint32_t g = 0; g < topo_of(p)->nr_groups; g++) {
		struct plat_group_state *gs = &p->sh->groups[g];
		uint32_t users = group_user_cnt(p, g);

		if (!gs->owner.pid != !users)
			group_reset_ownership(p, g);
		if (gs->domain > PLAT_DOMAIN_USER)
			gs->domain = PLAT_DOMAIN_DEFAULT;
	}
}

static void reclaim_dead(struct platform *p)
{
	struct alive_cache cache = { .n = 0 };
	const struct plat_topology *t = topo_of(p);

	for (uint32_t g = 0; g < t->nr_groups; g++) {
		struct plat_group_state *gs = &p->sh->groups[g];

		if (gs->owner.pid && !cached_alive(&cache, gs->owner.pid, gs->owner.pid_start)) {
			group_reset_ownership(p, g);
			gs->pasid_cnt = 0;  /* only the owner could attach PASIDs */
		}
		if (gs->group_fd.pid && !cached_alive(&cache, gs->group_fd.pid, gs->group_fd.start))
			memset(&gs->group_fd, 0, sizeof(gs->group_fd));
	}
	for (uint32_t d = 0; d < t->nr_devices; d++) {
		struct plat_device_state *ds = &p->sh->devices[d];

		if (ds->cdev.pid && !cached_alive(&cache, ds->cdev.pid, ds->cdev.start))
			memset(&ds->cdev, 0, sizeof(ds->cdev));
	}
}

static void report_lock_failure(const struct platform *p, int err)
{
	static atomic_bool reported;

	if (atomic_exchange(&reported, true))
		return;
	fprintf(stderr, "ioasid: platform %s: cannot take the host lock: %s; run "
		"'ioasid-platform --platform %s reset' and restart its users\n",
		p->shared ? p->name : "(private)", strerror(err), p->shared ? p->name : "NAME");
}

static int plat_lock(struct platform *p, char *why, size_t whylen)
{
	int rc = pthread_mutex_lock(&p->sh->lock);

	if (rc == EOWNERDEAD) {
		/* A process died holding the lock, possibly mid-update. */
		pthread_mutex_consistent(&p->sh->lock);
		state_repair(p);
		rc = 0;
	}
	if (rc) {
		report_lock_failure(p, rc);
		say(why, whylen, "platform %s: the host lock is unusable (%s); reset it with "
		    "'ioasid-platform --platform %s reset'", p->shared ? p->name : "(private)",
		    strerror(rc), p->shared ? p->name : "NAME");
		return -rc;
	}
	reclaim_dead(p);
	return 0;
}

static void plat_unlock(struct platform *p)
{
	pthread_mutex_unlock(&p->sh->lock);
}

int platform_debug_hold_lock(struct platform *p)
{
	return plat_lock(p, NULL, 0);
}

/* ---- open / close ---------------------------------------------------------------------- */

static int mutex_init(pthread_mutex_t *m, bool shared)
{
	pthread_mutexattr_t attr;
	int rc;

	rc = pthread_mutexattr_init(&attr);
	if (rc)
		return -rc;
	rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	if (!rc && shared)
		rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	if (!rc)
		rc = pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
	return -rc;
}

/* Indexes inside the topology must be in range before anything trusts them. */
static int topo_check(const struct plat_topology *t, char *err, size_t errlen)
{
	if (t->nr_iommus > PLAT_MAX_IOMMUS || t->nr_groups > PLAT_MAX_GROUPS ||
	    t->nr_devices > PLAT_MAX_DEVICES || t->nr_drivers > PLAT_MAX_DRIVERS) {
		say(err, errlen, "topology %.128s: object counts above the PLAT_MAX_* limits; "
		    "load it with plat_topology_parse()", t->source);
		return -EINVAL;
	}
	for (uint32_t g = 0; g < t->nr_groups; g++) {
		if (t->groups[g].iommu >= t->nr_iommus) {
			say(err, errlen, "topology %.128s: group %u: IOMMU index %u is out of "
			    "range (%u IOMMUs)", t->source, t->groups[g].id, t->groups[g].iommu,
			    t->nr_iommus);
			return -EINVAL;
		}
	}
	for (uint32_t d = 0; d < t->nr_devices; d++) {
		const struct plat_device *dv = &t->devices[d];

		if (!memchr(dv->name, '\0', sizeof(dv->name)) || dv->group >= t->nr_groups ||
		    dv->driver < -1 || (dv->driver >= 0 && (uint32_t)dv->driver >= t->nr_drivers)) {
			say(err, errlen, "topology %.128s: device %u: name, group index or driver "
			    "index out of range", t->source, d);
			return -EINVAL;
		}
	}
	return 0;
}

static int state_init(struct plat_shared *sh, const struct plat_topology *topo, bool shared)
{
	int rc;

	memset(sh, 0, sizeof(*sh));
	rc = mutex_init(&sh->lock, shared);
	if (rc)
		return rc;
	memcpy(&sh->topo, topo, sizeof(sh->topo));
	sh->topo.source[sizeof(sh->topo.source) - 1] = '\0';
	sh->topo.hash = plat_topology_hash(topo);
	for (uint32_t d = 0; d < PLAT_MAX_DEVICES; d++)
		sh->devices[d].driver = d < topo->nr_devices ? topo->devices[d].driver : -1;
	sh->version = PLAT_SHARED_VERSION;
	sh->size = sizeof(*sh);
	atomic_thread_fence(memory_order_release);
	sh->magic = PLAT_SHARED_MAGIC;
	return 0;
}

static bool shared_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (!len || len > PLAT_SHARED_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

int platform_shared_path(const char *shared_name, char *buf, size_t len)
{
	if (!shared_name || !shared_name_ok(shared_name)) {
		say(buf, len, "platform name '%.80s' is not valid: use 1 to %d letters, digits, "
		    "'_', '.' or '-', not starting with '.'", shared_name ? shared_name : "",
		    PLAT_SHARED_NAME_MAX);
		return -EINVAL;
	}
	snprintf(buf, len, "%s/%s%s", PLAT_SHARED_DIR, PLAT_SHARED_PREFIX, shared_name);
	return 0;
}

static struct platform *platform_alloc(const char *shared_name)
{
	struct platform *p = calloc(1, sizeof(*p));

	if (p && shared_name) {
		p->shared = true;
		snprintf(p->name, sizeof(p->name), "%s", shared_name);
	}
	return p;
}

/* Map an existing segment and check it was made by this version. topo: compare hashes. */
static int shared_join(const char *path, const char *name, const struct plat_topology *topo,
		       struct plat_shared **out, char *err, size_t errlen)
{
	struct plat_shared *sh;
	struct stat st = { 0 };
	int fd, rc;

	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			say(err, errlen, "platform %s: no shared host at %s; start one with "
			    "'ioasid-platform --platform %s show'", name, path, name);
		else
			say(err, errlen, "platform %s: %s: %s; check its owner and mode, or "
			    "use another --platform name", name, path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != sizeof(*sh)) {
		say(err, errlen, "platform %s: %s is %lld bytes, not the %zu this version of ioasid "
		    "uses; remove it with 'ioasid-platform --platform %s reset'", name, path,
		    (long long)st.st_size, sizeof(*sh), name);
		close(fd);
		return -EINVAL;
	}
	if (st.st_uid != geteuid()) {
		/* Another user's segment could hold anything, a wedged lock included. */
		say(err, errlen, "platform %s: %s belongs to uid %u, not to you (uid %u); use "
		    "another --platform name", name, path, (unsigned int)st.st_uid,
		    (unsigned int)geteuid());
		close(fd);
		return -EPERM;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	rc = -errno;
	close(fd);
	if (sh == MAP_FAILED) {
		say(err, errlen, "platform %s: cannot map %s: %s", name, path, strerror(-rc));
		return rc;
	}
	if (sh->magic != PLAT_SHARED_MAGIC || sh->version != PLAT_SHARED_VERSION ||
	    sh->size != sizeof(*sh) || topo_check(&sh->topo, NULL, 0) ||
	    !memchr(sh->topo.source, '\0', sizeof(sh->topo.source))) {
		say(err, errlen, "platform %s: %s was made by another version of ioasid (format "
		    "%u); remove it with 'ioasid-platform --platform %s reset'", name, path,
		    sh->version, name);
		munmap(sh, sizeof(*sh));
		return -EINVAL;
	}
	atomic_thread_fence(memory_order_acquire);
	if (topo) {
		uint64_t want = plat_topology_hash(topo);

		if (sh->topo.hash != want) {
			say(err, errlen, "platform %s: %s was created from topology '%.100s' "
			    "(hash %016llx), this process loads '%.100s' (hash %016llx); use the "
			    "same topology, another --platform name, or remove it with "
			    "'ioasid-platform --platform %s reset'", name, path, sh->topo.source,
			    (unsigned long long)sh->topo.hash, topo->source,
			    (unsigned long long)want, name);
			munmap(sh, sizeof(*sh));
			return -EEXIST;
		}
	}
	*out = sh;
	return 0;
}

/* Build a complete segment under a private name, then link it into place: 0 and *out,
 * -EEXIST if another process published one first, or another -errno. */
static int shared_create(const char *path, const char *name, const struct plat_topology *topo,
			 struct plat_shared **out, char *err, size_t errlen)
{
	static _Atomic unsigned int seq;
	char tmp[PLAT_PATH_MAX + 64];
	struct plat_shared *sh;
	int fd, rc;

	snprintf(tmp, sizeof(tmp), "%s/.%screating.%s.%d.%u", PLAT_SHARED_DIR,
		 PLAT_SHARED_PREFIX, name, (int)getpid(), atomic_fetch_add(&seq, 1));
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = -errno;
		say(err, errlen, "platform %s: cannot create %s: %s; is %s a writable tmpfs?",
		    name, tmp, strerror(-rc), PLAT_SHARED_DIR);
		return rc;
	}
	if (ftruncate(fd, sizeof(*sh)) < 0) {
		rc = -errno;
		say(err, errlen, "platform %s: cannot size %s: %s", name, tmp, strerror(-rc));
		goto out_unlink;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (sh == MAP_FAILED) {
		rc = -errno;
		say(err, errlen, "platform %s: cannot map %s: %s", name, tmp, strerror(-rc));
		goto out_unlink;
	}
	rc = state_init(sh, topo, true);
	if (rc) {
		say(err, errlen, "platform %s: cannot set up the host lock: %s", name,
		    strerror(-rc));
		goto out_unmap;
	}
	if (link(tmp, path) < 0) {
		rc = -errno;
		if (rc != -EEXIST)
			say(err, errlen, "platform %s: cannot publish %s: %s", name, path,
			    strerror(-rc));
		goto out_unmap;
	}
	unlink(tmp);
	close(fd);
	*out = sh;
	return 0;

out_unmap:
	munmap(sh, sizeof(*sh));
out_unlink:
	unlink(tmp);
	close(fd);
	return rc;
}

static int shared_open(const char *name, const struct plat_topology *topo, bool create,
		       struct plat_shared **out, char *err, size_t errlen)
{
	char path[PLAT_PATH_MAX];
	int rc = -ENOENT;

	rc = platform_shared_path(name, path, sizeof(path));
	if (rc) {
		say(err, errlen, "%s", path);
		return rc;
	}
	/* Join, else create; a lost creation race (or a reset in between) goes round again. */
	for (int attempt = 0; attempt < 8; attempt++) {
		rc = shared_join(path, name, topo, out, err, errlen);
		if (rc != -ENOENT || !create)
			return rc;
		rc = shared_create(path, name, topo, out, err, errlen);
		if (rc != -EEXIST)
			return rc;
	}
	say(err, errlen, "platform %s: %s keeps appearing and disappearing; is something "
	    "resetting it in a loop?", name, path);
	return -EAGAIN;
}

int platform_open(const struct plat_topology *topo, const char *shared_name,
		  struct platform **out, char *err, size_t errlen)
{
	struct platform *p;
	int rc;

	*out = NULL;
	say_clear(err, errlen);
	if (!topo)
		topo = plat_topology_default();
	rc = topo_check(topo, err, errlen);
	if (rc)
		return rc;
	p = platform_alloc(shared_name);
	if (!p) {
		say(err, errlen, "platform: out of memory");
		return -ENOMEM;
	}
	if (shared_name) {
		rc = shared_open(shared_name, topo, true, &p->sh, err, errlen);
		if (rc)
			goto out_free;
	} else {
		p->sh = calloc(1, sizeof(*p->sh));
		if (!p->sh) {
			say(err, errlen, "platform: out of memory for the host state");
			rc = -ENOMEM;
			goto out_free;
		}
		rc = state_init(p->sh, topo, false);
		if (rc) {
			say(err, errlen, "platform: cannot set up the host lock: %s",
			    strerror(-rc));
			free(p->sh);
			goto out_free;
		}
	}
	*out = p;
	return 0;
out_free:
	free(p);
	return rc;
}

int platform_join_shared(const char *shared_name, struct platform **out, char *err,
			 size_t errlen)
{
	struct platform *p;
	int rc;

	*out = NULL;
	say_clear(err, errlen);
	if (!shared_name) {
		say(err, errlen, "platform: joining needs a shared name");
		return -EINVAL;
	}
	p = platform_alloc(shared_name);
	if (!p) {
		say(err, errlen, "platform: out of memory");
		return -ENOMEM;
	}
	rc = shared_open(shared_name, NULL, false, &p->sh, err, errlen);
	if (rc) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void platform_close(struct platform *p)
{
	if (!p)
		return;
	if (p->shared) {
		munmap(p->sh, sizeof(*p->sh));
	} else {
		pthread_mutex_destroy(&p->sh->lock);
		free(p->sh);
	}
	free(p);
}

int platform_unlink_shared(const char *shared_name)
{
	char path[PLAT_PATH_MAX];
	int rc = platform_shared_path(shared_name, path, sizeof(path));

	if (rc)
		return rc;
	return unlink(path) < 0 ? -errno : 0;
}

const struct plat_topology *platform_topology(const struct platform *p)
{
	return &p->sh->topo;
}

const char *platform_shared_name(const struct platform *p)
{
	return p->shared ? p->name : NULL;
}

/* ---- the process's platform ------------------------------------------------------------ */

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static struct platform *default_platform;
static int default_error;            /* cached: the reason was printed once */

static int default_open(struct platform **out)
{
	const char *file = getenv("IOASID_TOPOLOGY");
	const char *name = getenv("IOASID_PLATFORM");
	struct plat_topology *topo = NULL;
	char err[512];
	int rc;

	if (file && *file) {
		rc = plat_topology_load_file(file, &topo, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "ioasid: platform: %s (from IOASID_TOPOLOGY)\n", err);
			return rc;
		}
	}
	rc = platform_open(topo, name && *name ? name : NULL, out, err, sizeof(err));
	if (rc)
		fprintf(stderr, "ioasid: %s (from IOASID_PLATFORM)\n", err);
	plat_topology_free(topo);
	return rc;
}

int platform_default(struct platform **out)
{
	int rc;

	inject_init_from_env();     /* IOASID_INJECT: at the first context open or platform load */
	pthread_mutex_lock(&default_lock);
	if (!default_platform && !default_error)
		default_error = default_open(&default_platform);
	*out = default_platform;
	rc = default_platform ? 0 : default_error;
	pthread_mutex_unlock(&default_lock);
	return rc;
}

void platform_set_default(struct platform *p)
{
	struct platform *old;

	pthread_mutex_lock(&default_lock);
	old = default_platform;
	default_platform = p;
	default_error = 0;          /* NULL: the next platform_default() reads the env again */
	pthread_mutex_unlock(&default_lock);
	if (old != p)
		platform_close(old);
}

/* ---- ownership ------------------------------------------------------------------------- */

static bool owner_is(const struct plat_owner *o, const struct plat_proc *me, uint64_t cookie)
{
	return o->pid == me->pid && o->pid_start == me->start && o->cookie == cookie;
}

/* "an iommufd context or VFIO container of pid N" */
static void owner_describe(const struct plat_owner *o, char *buf, size_t len)
{
	if (o->pid == getpid())
		snprintf(buf, len, "another iommufd context or VFIO container of this process "
			 "(pid %d)", (int)o->pid);
	else
		snprintf(buf, len, "an iommufd context or VFIO container of pid %d", (int)o->pid);
}

/* GRP-1: the refusal message for a group with a DMA-API driver bound. */
static void say_dma_api_user(const struct platform *p, uint32_t group, int dev, char *why,
			     size_t whylen)
{
	const char *name = dev_name(p, (uint32_t)dev);

	say(why, whylen, "group %u: device %s is bound to kernel driver %s, which uses the DMA "
	    "API; unbind it (ioasid-platform unbind %s) or bind it to vfio-pci",
	    group_id(p, group), name, driver_name(p, p->sh->devices[dev].driver), name);
}

/* The first-claim conditions of __iommu_take_dma_ownership(): -EBUSY or 0. */
static int first_claim_check(const struct platform *p, uint32_t group, char *why,
			     size_t whylen)
{
	const struct plat_group_state *gs = &p->sh->groups[group];

	if (gs->domain != PLAT_DOMAIN_DEFAULT) {
		say(why, whylen, "group %u: not on its default domain (it is on the %s domain, hw "
		    "domain %u); detach it before claiming it", group_id(p, group),
		    plat_domain_name(gs->domain), gs->hw_domain_id);
		return -EBUSY;
	}
	if (gs->pasid_cnt) {
		say(why, whylen, "group %u: %u PASID attachment(s) still present; detach every "
		    "PASID before claiming the group", group_id(p, group), gs->pasid_cnt);
		return -EBUSY;
	}
	return 0;
}

_Static_assert((int)PLAT_DRV_USER == (int)IOASID_DRV_USER &&
	       (int)PLAT_DRV_DMA_API == (int)IOASID_DRV_DMA_API &&
	       (int)PLAT_DRV_MANAGED == (int)IOASID_DRV_OWN_DMA,
	       "driver kinds of events follow enum plat_driver_kind");

/* The driver kind that decides a claim (GRP-1), for GROUP_CLAIM's aux: DMA-API if any device of
 * the group is on a DMA-API driver, else the claiming device's (dev < 0: a group claim). */
static enum plat_driver_kind claim_driver_kind(const struct platform *p, uint32_t group, int dev)
{
	if (group_dma_api_device(p, group) >= 0)
		return PLAT_DRV_DMA_API;
	return dev < 0 ? 0 : driver_kind(p, p->sh->devices[dev].driver);
}

/* The first claim of a group: the owner is (me, cookie), holding one claim on device dev, or
 * the group claim when dev < 0. */
static void take_ownership(struct platform *p, uint32_t group, const struct plat_proc *me,
			   uint64_t cookie, int dev)
{
	struct plat_group_state *gs = &p->sh->groups[group];

	gs->owner.pid = me->pid;
	gs->owner.pid_start = me->start;
	gs->owner.cookie = cookie;
	gs->domain = PLAT_DOMAIN_BLOCKED;
	gs->hw_domain_id = 0;
	if (dev < 0)
		gs->group_claims = 1;
	else
		p->sh->devices[dev].claims = 1;
	IOASID_PROBE_NAMED(group_claim, dev < 0 ? NULL : dev_name(p, (uint32_t)dev),
			   .ctx = cookie, .group = group_id(p, group),
			   .dev = dev < 0 ? 0 : (uint32_t)dev + 1,
			   .value = group_owner_cnt(p, group),
			   .aux = claim_driver_kind(p, group, dev));
}

/* The owner's last claim went (dev < 0: the group claim): back on the default domain. */
static void release_ownership(struct platform *p, uint32_t group, int dev)
{
	IOASID_PROBE_NAMED(group_release, dev < 0 ? NULL : dev_name(p, (uint32_t)dev),
			   .ctx = p->sh->groups[group].owner.cookie, .group = group_id(p, group),
			   .dev = dev < 0 ? 0 : (uint32_t)dev + 1);
	group_reset_ownership(p, group);
}

static bool dev_ok(const struct platform *p, uint32_t dev, char *why, size_t whylen)
{
	if (p && dev < topo_of(p)->nr_devices)
		return true;
	say(why, whylen, "device index %u: no such device on this host (%u devices); list "
	    "them with 'ioasid-platform show'", dev, p ? topo_of(p)->nr_devices : 0);
	return false;
}

/* The prologue of a call on one device: clear why, check the index (-ENODEV), take the lock. */
static int dev_lock(struct platform *p, uint32_t dev, char *why, size_t whylen)
{
	say_clear(why, whylen);
	if (!dev_ok(p, dev, why, whylen))
		return -ENODEV;
	return plat_lock(p, why, whylen);
}

static bool group_ok(const struct platform *p, uint32_t group, char *why, size_t whylen)
{
	if (p && group < topo_of(p)->nr_groups)
		return true;
	say(why, whylen, "group index %u: no such group on this host (%u groups); list them "
	    "with 'ioasid-platform show'", group, p ? topo_of(p)->nr_groups : 0);
	return false;
}

/* The first device of the group the user owner holds claims on, or -1. */
static int group_claimed_device(const struct platform *p, uint32_t group)
{
	for (uint32_t d = 0; d < topo_of(p)->nr_devices; d++)
		if (dev_in_group(p, d, group) && p->sh->devices[d].claims)
			return (int)d;
	return -1;
}

int platform_device_claim_dma_owner(struct platform *p, uint32_t dev, uint64_t cookie,
				    char *why, size_t whylen)
{
	uint32_t blocker;

	return platform_device_claim_dma_owner_blocker(p, dev, cookie, &blocker, why, whylen);
}

int platform_device_claim_dma_owner_blocker(struct platform *p, uint32_t dev, uint64_t cookie,
					    uint32_t *blocker, char *why, size_t whylen)
{
	struct plat_proc me = self_proc();
	struct plat_group_state *gs;
	uint32_t group, users;
	char who[128];
	int rc, bad;

	*blocker = 0;
	rc = dev_lock(p, dev, why, whylen);
	if (rc)
		return rc;
	group = topo_of(p)->devices[dev].group;
	gs = &p->sh->groups[group];
	bad = group_dma_api_device(p, group);
	/* owner_cnt without the DMA-API users: with none (bad < 0) it is the whole owner_cnt */
	users = group_user_cnt(p, group);
	if (bad >= 0 && !(users == 0 && inject_on(INJECT_CLAIM_IGNORES_DMA_API))) {
		/* (GRP-1 bug "claim-ignores-dma-api": a group's first claim goes ahead although
		 * a device of it is on a DMA-API driver; GROUP_CLAIM still says DMA_API.) */
		say_dma_api_user(p, group, bad, why, whylen);
		*blocker = (uint32_t)bad + 1;
		rc = -EPERM;
	} else if (users) {
		if (gs->owner.pid && owner_is(&gs->owner, &me, cookie)) {
			p->sh->devices[dev].claims++;
		} else if (p->sh->devices[dev].claims && inject_on(INJECT_BIND_TWICE)) {
			/* OWN-1 bug "bind-twice": this very device is already claimed by
			 * another owner, and a second owner's claim on it is granted (counted,
			 * so that the releases balance; the group keeps its first owner). */
			p->sh->devices[dev].claims++;
		} else if (!p->sh->devices[dev].claims && inject_on(INJECT_GROUP_TWO_OWNERS)) {
			/* OWN-3 bug "group-two-owners": another device of the group is owned
			 * by someone else, and this device's claim is granted to a second
			 * owner (the group keeps its first owner: no GROUP_CLAIM). */
			p->sh->devices[dev].claims++;
		} else {
			bad = group_claimed_device(p, group);
			*blocker = bad >= 0 ? (uint32_t)bad + 1 : 0;
			owner_describe(&gs->owner, who, sizeof(who));
			say(why, whylen, "group %u (device %s): DMA is owned by %s (owner_cnt %u); "
			    "every device of a group must be bound to the same context: close "
			    "that one, or bind this device to it", group_id(p, group),
			    dev_name(p, dev), who, group_owner_cnt(p, group));
			rc = -EPERM;
		}
	} else {
		rc = first_claim_check(p, group, why, whylen);
		if (!rc)
			take_ownership(p, group, &me, cookie, (int)dev);
	}
	plat_unlock(p);
	return rc;
}

void platform_device_release_dma_owner(struct platform *p, uint32_t dev)
{
	uint32_t group;

	if (!dev_ok(p, dev, NULL, 0) || plat_lock(p, NULL, 0))
		return;
	group = topo_of(p)->devices[dev].group;
	if (p->sh->devices[dev].claims) {
		p->sh->devices[dev].claims--;
		if (!group_user_cnt(p, group))
			release_ownership(p, group, (int)dev);
	}
	plat_unlock(p);
}

int platform_group_claim_dma_owner(struct platform *p, uint32_t group, uint64_t cookie,
				   char *why, size_t whylen)
{
	struct plat_proc me = self_proc();
	struct plat_group_state *gs;
	uint32_t cnt;
	char who[128];
	int rc, bad;

	say_clear(why, whylen);
	if (!group_ok(p, group, why, whylen))
		return -ENODEV;
	rc = plat_lock(p, why, whylen);
	if (rc)
		return rc;
	gs = &p->sh->groups[group];
	bad = group_dma_api_device(p, group);
	cnt = group_owner_cnt(p, group);
	if (bad >= 0) {
		say_dma_api_user(p, group, bad, why, whylen);
		rc = -EPERM;
	} else if (cnt) {
		owner_describe(&gs->owner, who, sizeof(who));
		say(why, whylen, "group %u: DMA is already owned by %s (owner_cnt %u); a VFIO "
		    "container needs an unowned group: close the other user first",
		    group_id(p, group), who, cnt);
		rc = -EPERM;
	} else {
		rc = first_claim_check(p, group, why, whylen);
		if (!rc)
			take_ownership(p, group, &me, cookie, -1);
	}
	plat_unlock(p);
	return rc;
}

void platform_group_release_dma_owner(struct platform *p, uint32_t group)
{
	if (!group_ok(p, group, NULL, 0) || plat_lock(p, NULL, 0))
		return;
	if (p->sh->groups[group].group_claims) {
		p->sh->groups[group].group_claims = 0;
		if (!group_user_cnt(p, group))
			release_ownership(p, group, -1);
	}
	plat_unlock(p);
}

bool platform_group_viable(struct platform *p, uint32_t group, char *why, size_t whylen)
{
	int bad;

	say_clear(why, whylen);
	if (!group_ok(p, group, why, whylen) || plat_lock(p, why, whylen))
		return false;
	bad = group_dma_api_device(p, group);
	if (bad >= 0)
		say_dma_api_user(p, group, bad, why, whylen);
	plat_unlock(p);
	return bad < 0;
}

void platform_group_set_domain(struct platform *p, uint32_t group, enum plat_group_domain d,
			       uint32_t hw_domain_id)
{
	if (!group_ok(p, group, NULL, 0) || d > PLAT_DOMAIN_USER || plat_lock(p, NULL, 0))
		return;
	p->sh->groups[group].domain = d;
	p->sh->groups[group].hw_domain_id = hw_domain_id;
	plat_unlock(p);
}

void platform_group_pasid_get(struct platform *p, uint32_t group)
{
	if (!group_ok(p, group, NULL, 0) || plat_lock(p, NULL, 0))
		return;
	p->sh->groups[group].pasid_cnt++;
	plat_unlock(p);
}

void platform_group_pasid_put(struct platform *p, uint32_t group)
{
	if (!group_ok(p, group, NULL, 0) || plat_lock(p, NULL, 0))
		return;
	if (p->sh->groups[group].pasid_cnt)
		p->sh->groups[group].pasid_cnt--;
	plat_unlock(p);
}

/* ---- drivers --------------------------------------------------------------------------- */

static void say_unknown_driver(const struct platform *p, const char *driver, char *why,
			       size_t whylen)
{
	const struct plat_topology *t = topo_of(p);
	char list[PLAT_MAX_DRIVERS * (PLAT_NAME_MAX + 2)];
	size_t off = 0;

	list[0] = '\0';
	for (uint32_t i = 0; i < t->nr_drivers && off < sizeof(list); i++) {
		int n = snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "",
				 t->drivers[i].name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	say(why, whylen, "driver '%.40s': not known on this host; use one of %s, or declare it "
	    "in the topology file ('driver %.40s kind=dma-api')", driver, list, driver);
}

/* DRIVER_BIND / DRIVER_UNBIND of device dev (any index: an invalid one is named as dev 0) with
 * driver drv (index, or -1 when unknown). */
#define DRIVER_EVENT(name_, p_, dev_, drv_, rc_)                                                \
	IOASID_PROBE_NAMED(name_, dev_ok(p_, dev_, NULL, 0) ? dev_name(p_, dev_) : NULL,       \
			   .dev = dev_ok(p_, dev_, NULL, 0) ? (dev_) + 1 : 0,                 \
			   .group = dev_ok(p_, dev_, NULL, 0) ?                               \
					    group_id(p_, topo_of(p_)->devices[dev_].group) : 0, \
			   .aux = driver_kind(p_, drv_), .result = (rc_),                     \
			   .flags = (rc_) ? IOASID_EVF_REFUSED : 0)

int platform_driver_bind(struct platform *p, uint32_t dev, const char *driver, char *why,
			 size_t whylen)
{
	struct plat_device_state *ds;
	struct plat_group_state *gs;
	uint32_t group, cnt;
	int drv = -1, rc;

	say_clear(why, whylen);
	if (!dev_ok(p, dev, why, whylen)) {
		rc = -ENODEV;
		goto out;
	}
	drv = plat_topology_find_driver(topo_of(p), driver);
	if (drv < 0) {
		say_unknown_driver(p, driver ? driver : "", why, whylen);
		rc = -ENOENT;
		goto out;
	}
	rc = plat_lock(p, why, whylen);
	if (rc)
		goto out;
	ds = &p->sh->devices[dev];
	group = topo_of(p)->devices[dev].group;
	gs = &p->sh->groups[group];
	cnt = group_owner_cnt(p, group);
	if (ds->driver >= 0) {
		say(why, whylen, "device %s: already bound to %s; unbind it first "
		    "(ioasid-platform unbind %s)", dev_name(p, dev), driver_name(p, ds->driver),
		    dev_name(p, dev));
		rc = -EBUSY;
	} else if (driver_kind(p, drv) == PLAT_DRV_DMA_API && cnt &&
		   (gs->owner.pid || gs->domain != PLAT_DOMAIN_DEFAULT || gs->pasid_cnt) &&
		   /* GRP-2 bug "probe-claimed-group": the DMA-API driver binds anyway */
		   !inject_on(INJECT_PROBE_CLAIMED_GROUP)) {
		/* GRP-2: iommu_device_use_default_domain() on a claimed group. */
		if (gs->owner.pid)
			say(why, whylen, "device %s: group %u is owned by a user (pid %d, "
			    "owner_cnt %u), and %s uses the DMA API; close the user's devices "
			    "first", dev_name(p, dev), group_id(p, group), (int)gs->owner.pid,
			    cnt, driver_name(p, drv));
		else
			say(why, whylen, "device %s: group %u is not on its default domain or has "
			    "PASIDs attached (domain %s, %u PASIDs), and %s uses the DMA API; "
			    "detach them first", dev_name(p, dev), group_id(p, group),
			    plat_domain_name(gs->domain), gs->pasid_cnt, driver_name(p, drv));
		rc = -EBUSY;
	} else {
		ds->driver = drv;
	}
	plat_unlock(p);
out:
	DRIVER_EVENT(driver_bind, p, dev, drv, rc);
	return rc;
}

int platform_driver_unbind(struct platform *p, uint32_t dev, char *why, size_t whylen)
{
	struct plat_device_state *ds;
	int drv = -1, rc;
	const char *how;
	int32_t pid;

	rc = dev_lock(p, dev, why, whylen);
	if (rc)
		goto out;
	ds = &p->sh->devices[dev];
	drv = ds->driver;
	if (ds->driver < 0) {
		say(why, whylen, "device %s: no driver is bound; nothing to unbind",
		    dev_name(p, dev));
		rc = -ENODEV;
	} else if (driver_kind(p, ds->driver) == PLAT_DRV_USER &&
		   (pid = device_user(p, dev, &how)) != 0) {
		say(why, whylen, "device %s: %s is in use by pid %d (through %s); close the "
		    "device in that process first", dev_name(p, dev), driver_name(p, ds->driver),
		    (int)pid, how);
		rc = -EBUSY;
	} else {
		ds->driver = -1;        /* a DMA-API driver: its owner_cnt goes with it */
	}
	plat_unlock(p);
out:
	DRIVER_EVENT(driver_unbind, p, dev, drv, rc);
	return rc;
}

int platform_device_driver(struct platform *p, uint32_t dev)
{
	int drv;

	if (!dev_ok(p, dev, NULL, 0) || plat_lock(p, NULL, 0))
		return -1;
	drv = p->sh->devices[dev].driver;
	plat_unlock(p);
	return drv;
}

/* ---- VFIO file exclusivity ------------------------------------------------------------- */

int platform_vfio_group_open(struct platform *p, uint32_t group, char *why, size_t whylen)
{
	const struct plat_topology *t;
	struct plat_group_state *gs;
	bool has_user_dev = false;
	int rc;

	say_clear(why, whylen);
	if (!group_ok(p, group, why, whylen))
		return -ENODEV;
	rc = plat_lock(p, why, whylen);
	if (rc)
		return rc;
	t = topo_of(p);
	gs = &p->sh->groups[group];
	for (uint32_t d = 0; d < t->nr_devices; d++)
		if (dev_in_group(p, d, group) &&
		    driver_kind(p, p->sh->devices[d].driver) == PLAT_DRV_USER)
			has_user_dev = true;
	if (!has_user_dev) {
		say(why, whylen, "group %u: no device of it is bound to a user driver, so "
		    "/dev/vfio/%u does not exist; bind one (ioasid-platform bind DEVICE "
		    "vfio-pci)", group_id(p, group), group_id(p, group));
		rc = -ENODEV;
		goto out_unlock;
	}
	if (gs->group_fd.pid) {
		say(why, whylen, "group %u: /dev/vfio/%u is already open (pid %d); VFIO allows "
		    "one open at a time: close it there first", group_id(p, group),
		    group_id(p, group), (int)gs->group_fd.pid);
		rc = -EBUSY;
		goto out_unlock;
	}
	for (uint32_t d = 0; d < t->nr_devices; d++) {
		const struct plat_device_state *ds = &p->sh->devices[d];

		if (dev_in_group(p, d, group) && ds->cdev.pid) {
			say(why, whylen, "group %u: device %s is bound through its cdev "
			    "/dev/vfio/devices/vfio%u (pid %d); the group fd and device cdevs "
			    "are exclusive: close the cdev first", group_id(p, group),
			    dev_name(p, d), t->devices[d].vfio_index, (int)ds->cdev.pid);
			rc = -EBUSY;
			goto out_unlock;
		}
	}
	gs->group_fd = self_proc();
out_unlock:
	plat_unlock(p);
	return rc;
}

void platform_vfio_group_close(struct platform *p, uint32_t group)
{
	if (!group_ok(p, group, NULL, 0) || plat_lock(p, NULL, 0))
		return;
	memset(&p->sh->groups[group].group_fd, 0, sizeof(p->sh->groups[group].group_fd));
	plat_unlock(p);
}

int platform_vfio_cdev_bind(struct platform *p, uint32_t dev, char *why, size_t whylen)
{
	const struct plat_topology *t;
	struct plat_device_state *ds;
	struct plat_group_state *gs;
	uint32_t group;
	int rc;

	rc = dev_lock(p, dev, why, whylen);
	if (rc)
		return rc;
	t = topo_of(p);
	ds = &p->sh->devices[dev];
	group = t->devices[dev].group;
	gs = &p->sh->groups[group];
	if (driver_kind(p, ds->driver) != PLAT_DRV_USER) {
		say(why, whylen, "device %s: bound to %s, not to a user driver, so "
		    "/dev/vfio/devices/vfio%u does not exist; bind it to vfio-pci first "
		    "(ioasid-platform bind %s vfio-pci)", dev_name(p, dev),
		    driver_name(p, ds->driver), t->devices[dev].vfio_index, dev_name(p, dev));
		rc = -ENODEV;
	} else if (gs->group_fd.pid) {
		say(why, whylen, "device %s: its group %u is open as /dev/vfio/%u (pid %d); the "
		    "device cdev and the group fd are exclusive: close the group fd first",
		    dev_name(p, dev), group_id(p, group), group_id(p, group),
		    (int)gs->group_fd.pid);
		rc = -EBUSY;
	} else if (ds->cdev.pid && !inject_on(INJECT_BIND_TWICE)) {
		/* vfio_df_open(): only the group path may open a device twice. (OWN-1 bug
		 * "bind-twice": a second bind of the cdev goes ahead.) */
		say(why, whylen, "device %s: already bound through /dev/vfio/devices/vfio%u "
		    "(pid %d); a device cdev can be bound once at a time", dev_name(p, dev),
		    t->devices[dev].vfio_index, (int)ds->cdev.pid);
		rc = -EINVAL;
	} else {
		ds->cdev = self_proc();
	}
	plat_unlock(p);
	return rc;
}

void platform_vfio_cdev_unbind(struct platform *p, uint32_t dev)
{
	if (!dev_ok(p, dev, NULL, 0) || plat_lock(p, NULL, 0))
		return;
	memset(&p->sh->devices[dev].cdev, 0, sizeof(p->sh->devices[dev].cdev));
	plat_unlock(p);
}

/* ---- snapshot -------------------------------------------------------------------------- */

int platform_snapshot(struct platform *p, struct plat_state_snapshot *out)
{
	const struct plat_topology *t;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!p)
		return -EINVAL;
	rc = plat_lock(p, NULL, 0);
	if (rc)
		return rc;
	t = topo_of(p);
	for (uint32_t g = 0; g < t->nr_groups; g++) {
		const struct plat_group_state *gs = &p->sh->groups[g];

		out->groups[g].owner = gs->owner;
		out->groups[g].owner_cnt = group_owner_cnt(p, g);
		out->groups[g].domain = gs->domain;
		out->groups[g].hw_domain_id = gs->hw_domain_id;
		out->groups[g].pasid_cnt = gs->pasid_cnt;
		out->groups[g].group_fd_pid = gs->group_fd.pid;
	}
	for (uint32_t d = 0; d < PLAT_MAX_DEVICES; d++) {
		const char *how;

		if (d >= t->nr_devices) {
			out->devices[d].driver = -1;
			continue;
		}
		out->devices[d].driver = p->sh->devices[d].driver;
		out->devices[d].user_pid = device_user(p, d, &how);
		if (p->sh->devices[d].cdev.pid)
			out->groups[t->devices[d].group].cdev_bound++;
	}
	plat_unlock(p);
	return 0;
}
