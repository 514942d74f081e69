/* hostdev.c — which device (and so which IOMMU group and VFIO cdev) a backend may take.
 *
 * Kernel: the sysfs view of IOMMU groups, as a VMM reads it:
 *   <root>/kernel/iommu_groups/<N>/devices/<name>            one entry per device of group N
 *   <root>/kernel/iommu_groups/<N>/devices/<name>/driver     symlink to .../drivers/<driver>
 *   <root>/kernel/iommu_groups/<N>/devices/<name>/vfio-dev/vfio<M>   the cdev (6.6+)
 * A device is a candidate when a VFIO driver holds it (vfio-pci or a variant driver such as
 * mlx5_vfio_pci), and usable when its group is viable: no device of the group is bound to a
 * driver that uses the DMA API (vfio drivers and pci-stub manage their own DMA; a device with no
 * driver is harmless) — the rule the kernel applies when VFIO claims a group.
 *
 * Reference: the platform topology (IOASID_TOPOLOGY, else the built-in default host), read
 * only, never the shared host state: a device bound at boot to a user-ownership driver
 * (kind=user), with an IOMMU translation of its own (not sw-table), in a group with MSI
 * isolation behind a coherent IOMMU (else bind is refused: EPERM / EINVAL), whose other
 * devices carry no DMA-API driver. Run-time rebinding (ioasid-platform bind/unbind) is not
 * seen here; the bind itself then reports it.
 *
 * Groups are scanned in ascending number and devices in name order, so "the first usable"
 * is the same on every run. Nothing here is on a measured path.
 */
#include "benchkit/backend_private.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform/platform.h"

/* ---- kernel: sysfs --------------------------------------------------------------------------- */

enum kdrv_kind {
	KDRV_NONE,          /* no driver bound */
	KDRV_VFIO,          /* vfio-pci or a vfio variant driver: user ownership */
	KDRV_MANAGED,       /* pci-stub: driver_managed_dma, never does DMA */
	KDRV_DMA_API,       /* anything else: uses the kernel's DMA API */
};

struct kdev {
	char name[sizeof(((struct bench_hostdev *)0)->name)];
	char driver[64];
	enum kdrv_kind kind;
};

struct kgroup {
	unsigned int id;
	struct kdev *devs;
	size_t n;
};

static enum kdrv_kind kdrv_classify(const char *driver)
{
	if (!driver[0])
		return KDRV_NONE;
	if (strstr(driver, "vfio"))
		return KDRV_VFIO;
	if (!strcmp(driver, "pci-stub"))
		return KDRV_MANAGED;
	return KDRV_DMA_API;
}

/* A path from a format; false when it does not fit (the entry is then skipped). */
static bool path_fmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool path_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < len;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

static int cmp_kdev(const void *a, const void *b)
{
	return strcmp(((const struct kdev *)a)->name, ((const struct kdev *)b)->name);
}

/* "123" → 123; false unless all decimal digits. */
static bool parse_uint(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno || v > UINT_MAX)
		return false;
	*out = (unsigned int)v;
	return true;
}

/* The group numbers under dir, ascending. 0 and *ids (free it), or -errno. */
static int kernel_group_ids(const char *dir, unsigned int **ids, size_t *n)
{
	size_t cap = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	*ids = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		unsigned int id;

		if (!parse_uint(e->d_name, &id))
			continue;
		if (*n == cap) {
			unsigned int *grown = realloc(*ids, (cap ? cap * 2 : 64) * sizeof(**ids));

			if (!grown) {
				closedir(d);
				free(*ids);
				*ids = NULL;
				return -ENOMEM;
			}
			*ids = grown;
			cap = cap ? cap * 2 : 64;
		}
		(*ids)[(*n)++] = id;
	}
	closedir(d);
	if (*n)
		qsort(*ids, *n, sizeof(**ids), cmp_uint);
	return 0;
}

/* The devices of group `id` with their drivers, in name order. 0, or -errno. */
static int kernel_group_read(const char *groups_dir, unsigned int id, struct kgroup *g)
{
	char path[PATH_MAX], link[PATH_MAX];
	size_t cap = 0;
	struct dirent *e;
	DIR *d;

	g->id = id;
	g->devs = NULL;
	g->n = 0;
	if (!path_fmt(path, sizeof(path), "%s/%u/devices", groups_dir, id))
		return -ENAMETOOLONG;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		struct kdev *k;
		ssize_t len;

		if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(k->name))
			continue;
		if (g->n == cap) {
			struct kdev *grown = realloc(g->devs, (cap ? cap * 2 : 8) * sizeof(*k));

			if (!grown) {
				closedir(d);
				free(g->devs);
				g->devs = NULL;
				return -ENOMEM;
			}
			g->devs = grown;
			cap = cap ? cap * 2 : 8;
		}
		k = &g->devs[g->n++];
		memcpy(k->name, e->d_name, strlen(e->d_name) + 1);   /* length checked above */
		k->driver[0] = '\0';
		len = -1;
		if (path_fmt(path, sizeof(path), "%s/%u/devices/%s/driver", groups_dir, id,
			     k->name))
			len = readlink(path, link, sizeof(link) - 1);
		if (len > 0) {
			const char *base;

			link[len] = '\0';
			base = strrchr(link, '/');
			snprintf(k->driver, sizeof(k->driver), "%.*s", (int)sizeof(k->driver) - 1,
				 base ? base + 1 : link);
		}
		k->kind = kdrv_classify(k->driver);
	}
	closedir(d);
	if (g->n)
		qsort(g->devs, g->n, sizeof(*g->devs), cmp_kdev);
	return 0;
}

/* N of <dev>/vfio-dev/vfioN, or -1 (no cdev: a kernel before 6.6, or no VFIO_DEVICE_CDEV). */
static int kernel_cdev(const char *groups_dir, unsigned int group, const char *name)
{
	char path[PATH_MAX];
	struct dirent *e;
	int cdev = -1;
	DIR *d;

	if (!path_fmt(path, sizeof(path), "%s/%u/devices/%s/vfio-dev", groups_dir, group, name))
		return -1;
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)) && cdev < 0) {
		unsigned int n;

		if (!strncmp(e->d_name, "vfio", 4) && parse_uint(e->d_name + 4, &n) &&
		    n <= INT_MAX)
			cdev = (int)n;
	}
	closedir(d);
	return cdev;
}

/* Can device k of group g be used? 0, or -ENODEV with why. */
static int kernel_usable(const struct kgroup *g, const struct kdev *k, char *why, size_t whylen)
{
	if (k->kind != KDRV_VFIO) {
		if (k->driver[0])
			bench_be_why(why, whylen,
				     "kernel: device %s is bound to %s, not vfio-pci: unbind "
				     "it (echo %s > /sys/bus/pci/devices/%s/driver/unbind) and "
				     "bind it to vfio-pci", k->name, k->driver, k->name, k->name);
		else
			bench_be_why(why, whylen,
				     "kernel: device %s has no driver: bind it with 'echo %s > "
				     "/sys/bus/pci/drivers/vfio-pci/bind' (after setting its "
				     "driver_override to vfio-pci)", k->name, k->name);
		return -ENODEV;
	}
	for (size_t i = 0; i < g->n; i++) {
		const struct kdev *s = &g->devs[i];

		if (s->kind != KDRV_DMA_API)
			continue;
		bench_be_why(why, whylen,
			     "kernel: device %s: group %u is not viable: it also holds %s, bound "
			     "to %s (a DMA-API driver); unbind it (echo %s > /sys/bus/pci/devices/"
			     "%s/driver/unbind) or bind it to vfio-pci", k->name, g->id, s->name,
			     s->driver, s->name, s->name);
		return -ENODEV;
	}
	return 0;
}

int bench_hostdev_kernel(const char *sysfs_root, const char *want, struct bench_hostdev *out,
			 char *why, size_t whylen)
{
	char groups_dir[PATH_MAX], first_refusal[BENCH_WHY] = "", any_dev[64] = "";
	unsigned int *ids;
	size_t nids;
	bool done = false;
	int rc;

	snprintf(groups_dir, sizeof(groups_dir), "%s/kernel/iommu_groups",
		 sysfs_root ? sysfs_root : "/sys");
	rc = kernel_group_ids(groups_dir, &ids, &nids);
	if (rc == -ENOMEM) {
		bench_be_why(why, whylen, "kernel: no memory to list %s", groups_dir);
		return rc;
	}
	if (rc || !nids) {
		bench_be_why(why, whylen,
			     "kernel: %s %s: no IOMMU is enabled (boot with intel_iommu=on or "
			     "amd_iommu=on, or enable the platform's IOMMU in the firmware)",
			     groups_dir, rc ? "does not exist" : "is empty");
		free(ids);
		return -ENODEV;
	}
	rc = -ENODEV;
	for (size_t gi = 0; gi < nids && !done; gi++) {
		struct kgroup g;

		if (kernel_group_read(groups_dir, ids[gi], &g))
			continue;
		for (size_t i = 0; i < g.n && !done; i++) {
			const struct kdev *k = &g.devs[i];
			char reason[BENCH_WHY];

			if (!any_dev[0])
				snprintf(any_dev, sizeof(any_dev), "%s", k->name);
			if (want && strcmp(want, k->name))
				continue;
			if (!want && k->kind != KDRV_VFIO)
				continue;
			rc = kernel_usable(&g, k, reason, sizeof(reason));
			if (!rc) {
				snprintf(out->name, sizeof(out->name), "%s", k->name);
				out->group = g.id;
				out->cdev = kernel_cdev(groups_dir, g.id, k->name);
				done = true;
			} else if (want) {
				bench_be_why(why, whylen, "%s", reason);
				done = true;
			} else if (!first_refusal[0]) {
				snprintf(first_refusal, sizeof(first_refusal), "%s", reason);
			}
		}
		free(g.devs);
	}
	free(ids);
	if (done)
		return rc;
	if (want)
		bench_be_why(why, whylen,
			     "kernel: device %s is in no IOMMU group under %s: check the name "
			     "(lspci -D prints DOMAIN:BUS:DEV.FN) and that its IOMMU is enabled",
			     want, groups_dir);
	else if (first_refusal[0])
		bench_be_why(why, whylen, "%s", first_refusal);
	else
		bench_be_why(why, whylen,
			     "kernel: no device is bound to vfio-pci: bind one with 'echo %s > "
			     "/sys/bus/pci/drivers/vfio-pci/bind' (after unbinding its driver and "
			     "setting its driver_override to vfio-pci)",
			     any_dev[0] ? any_dev : "0000:01:00.0");
	return -ENODEV;
}

/* ---- reference: the platform topology -------------------------------------------------------- */

static bool plat_user_driver(const struct plat_topology *t, const struct plat_device *d)
{
	return d->driver >= 0 && t->drivers[d->driver].kind == PLAT_DRV_USER;
}

/* Can device index `di` be bound by a user? 0, or -ENODEV with why. */
static int ref_usable(const struct plat_topology *t, uint32_t di, char *why, size_t whylen)
{
	const struct plat_device *d = &t->devices[di];
	const struct plat_group *g = &t->groups[d->group];
	const struct plat_iommu *iommu = &t->iommus[g->iommu];

	if (d->driver < 0) {
		bench_be_why(why, whylen, "reference: device %s has no driver: bind it to vfio-pci "
			     "(ioasid-platform bind %s vfio-pci) or pick another device",
			     d->name, d->name);
		return -ENODEV;
	}
	if (!plat_user_driver(t, d)) {
		bench_be_why(why, whylen, "reference: device %s is bound to %s, not to a user "
			     "driver: 'ioasid-platform unbind %s' then 'ioasid-platform bind %s "
			     "vfio-pci', or pick another device", d->name,
			     t->drivers[d->driver].name, d->name, d->name);
		return -ENODEV;
	}
	if (d->sw_table) {
		bench_be_why(why, whylen, "reference: device %s is a software-table (mdev-like) "
			     "device with no IOMMU domain of its own: pick a PCI device", d->name);
		return -ENODEV;
	}
	if (!g->isolated_msi) {
		bench_be_why(why, whylen, "reference: device %s: group %u has no MSI isolation, so "
			     "binding it fails with EPERM: pick a device of another group",
			     d->name, g->id);
		return -ENODEV;
	}
	if (!iommu->coherent) {
		bench_be_why(why, whylen, "reference: device %s: IOMMU %s cannot enforce cache "
			     "coherency, so binding it fails with EINVAL: pick a device behind "
			     "another IOMMU", d->name, iommu->name);
		return -ENODEV;
	}
	for (uint32_t i = 0; i < t->nr_devices; i++) {
		const struct plat_device *s = &t->devices[i];

		if (s->group != d->group || s->driver < 0 ||
		    t->drivers[s->driver].kind != PLAT_DRV_DMA_API)
			continue;
		bench_be_why(why, whylen, "reference: device %s: group %u also holds %s, bound to "
			     "%s (a DMA-API driver), so the group cannot be claimed: "
			     "'ioasid-platform unbind %s' or pick another device", d->name, g->id,
			     s->name, t->drivers[s->driver].name, s->name);
		return -ENODEV;
	}
	return 0;
}

static int ref_pick(const struct plat_topology *t, const char *want, struct bench_hostdev *out,
		    char *why, size_t whylen)
{
	char first_refusal[BENCH_WHY] = "";

	for (uint32_t i = 0; i < t->nr_devices; i++) {
		const struct plat_device *d = &t->devices[i];
		char reason[BENCH_WHY];
		int rc;

		if (want ? strcmp(want, d->name) != 0 : !plat_user_driver(t, d))
			continue;
		rc = ref_usable(t, i, reason, sizeof(reason));
		if (!rc) {
			snprintf(out->name, sizeof(out->name), "%s", d->name);
			out->group = t->groups[d->group].id;
			out->cdev = (int)d->vfio_index;
			return 0;
		}
		if (want) {
			bench_be_why(why, whylen, "%s", reason);
			return rc;
		}
		if (!first_refusal[0])
			snprintf(first_refusal, sizeof(first_refusal), "%s", reason);
	}
	if (want)
		bench_be_why(why, whylen, "reference: device %s is not on the platform (%s): "
			     "'ioasid-platform dump' lists the devices", want, t->source);
	else if (first_refusal[0])
		bench_be_why(why, whylen, "%s", first_refusal);
	else
		bench_be_why(why, whylen, "reference: no device of the platform (%s) is bound to "
			     "a user driver: 'ioasid-platform bind DEVICE vfio-pci'", t->source);
	return -ENODEV;
}

int bench_hostdev_reference(const char *want, struct bench_hostdev *out, char *why,
			    size_t whylen)
{
	const char *path = getenv("IOASID_TOPOLOGY");
	struct plat_topology *loaded = NULL;
	char err[BENCH_WHY];
	int rc;

	if (path && path[0]) {
		rc = plat_topology_load_file(path, &loaded, err, sizeof(err));
		if (rc) {
			bench_be_why(why, whylen, "reference: IOASID_TOPOLOGY=%s: %s", path, err);
			return rc;
		}
	}
	rc = ref_pick(loaded ? loaded : plat_topology_default(), want, out, why, whylen);
	plat_topology_free(loaded);
	return rc;
}
