/* ioasid-platform — look at and change a shared mock host, as lspci / sysfs bind would.
 *
 *   ioasid-platform [--platform NAME] [--topology FILE] [--json] COMMAND [ARG...]
 *
 * Owns nothing: every command opens the host (src/platform), acts through platform.h and
 * exits. The host is the shared segment /dev/shm/ioasid-platform.NAME (NAME: --platform, else
 * $IOASID_PLATFORM, else "default"). With a topology (--topology, else $IOASID_TOPOLOGY) the
 * host is created from it or must have been created from it; without one an existing host is
 * joined whatever it was made from, and a missing one is created from the built-in default.
 *
 * Output: `show` prints tables whose column headers are the JSON field names of --json (one
 * JSON object per line, "kind" first). Exit status: 0 done, 1 refused or failed (the reason on
 * stderr names the object, the value and what to do), 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"
#include "platform/platform_ext.h"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2 };

struct options {
	const char *platform;
	const char *topology;
	bool json;
};

static void usage(FILE *out)
{
	fprintf(out,
"Usage: ioasid-platform [OPTIONS] COMMAND [ARG...]\n"
"\n"
"Look at and change the mock host shared by ioasid processes (/dev/shm/ioasid-platform.NAME):\n"
"which devices sit in which IOMMU group, which driver each is bound to, and who owns each\n"
"group's DMA.\n"
"\n"
"Commands:\n"
"  show                   IOMMUs, groups (owner pid, owner_cnt, domain, viable) and devices\n"
"                         (driver, the pid using it)\n"
"  bind DEVICE DRIVER     bind DRIVER to DEVICE, as 'echo DEVICE > .../DRIVER/bind'\n"
"  unbind DEVICE          unbind DEVICE's driver\n"
"  dump                   print the host's topology in the topology file format\n"
"  check FILE             validate a topology file (no host is opened)\n"
"  reset                  remove the shared host; processes using it keep their copy\n"
"DEVICE is a name from 'show' (a PCI address such as 0000:02:02.0) or vfioN.\n"
"\n"
"Options:\n"
"  -p, --platform NAME    the shared host (default: $IOASID_PLATFORM, else \"default\")\n"
"  -t, --topology FILE    create the host from FILE, or check that it was made from FILE\n"
"                         (default: $IOASID_TOPOLOGY; without either, join what exists)\n"
"  -j, --json             JSON Lines output (show)\n"
"  -h, --help             print this help and exit\n"
"\n"
"Examples:\n"
"  ioasid-platform show\n"
"  ioasid-platform unbind 0000:02:02.0 && ioasid-platform bind 0000:02:02.0 vfio-pci\n"
"  ioasid-platform check examples/topologies/default.topo\n"
"  ioasid-platform --platform lab --topology my.topo show --json\n"
"\n"
"Exit status: 0 done; 1 refused or failed (the reason is on stderr); 2 usage error.\n");
}

static int die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("ioasid-platform: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'ioasid-platform --help' for more information.\n", stderr);
	return EXIT_USAGE;
}

static int refused(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int refused(const char *fmt, ...)
{
	va_list ap;

	fputs("ioasid-platform: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_REFUSED;
}

/* ---- opening the host ------------------------------------------------------------------ */

static const char *platform_name(const struct options *o)
{
	const char *env = getenv("IOASID_PLATFORM");

	if (o->platform)
		return o->platform;
	return env && *env ? env : "default";
}

static const char *topology_file(const struct options *o)
{
	const char *env = getenv("IOASID_TOPOLOGY");

	if (o->topology)
		return o->topology;
	return env && *env ? env : NULL;
}

static int host_open(const struct options *o, struct platform **out)
{
	const char *name = platform_name(o), *file = topology_file(o);
	struct plat_topology *topo = NULL;
	char err[768];
	int rc;

	if (file) {
		rc = plat_topology_load_file(file, &topo, err, sizeof(err));
		if (rc)
			return refused("%s", err);
		rc = platform_open(topo, name, out, err, sizeof(err));
		plat_topology_free(topo);
	} else {
		rc = platform_join_shared(name, out, err, sizeof(err));
		if (rc == -ENOENT)
			rc = platform_open(NULL, name, out, err, sizeof(err));
	}
	if (rc)
		return refused("%s", err);
	return EXIT_OK;
}

/* A device by name or as vfioN. */
static int device_lookup(const struct plat_topology *t, const char *arg)
{
	int dev = plat_topology_find_device(t, arg);

	if (dev < 0 && !strncmp(arg, "vfio", 4) && arg[4]) {
		char *end;
		unsigned long n = strtoul(arg + 4, &end, 10);

		if (!*end && n <= PLAT_TOPO_MAX_ID)
			dev = plat_topology_find_vfio(t, (uint32_t)n);
	}
	return dev;
}

/* ---- show ------------------------------------------------------------------------------ */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void pgsizes_str(uint64_t bm, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", bm & 0x1000 ? "4k" : "", bm & 0x200000 ? ",2m" : "",
		 bm & 0x40000000 ? ",1g" : "");
}

static void iommu_features(const struct plat_iommu *m, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", m->nesting ? "nesting," : "",
		 m->dirty_tracking ? "dirty," : "", m->iopf ? "iopf," : "",
		 m->coherent ? "coherent," : "");
	if (*buf)
		buf[strlen(buf) - 1] = '\0';
	else
		snprintf(buf, len, "-");
}

static void iommu_resv(const struct plat_iommu *m, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (uint32_t r = 0; r < m->nr_resv && off < len; r++) {
		int n = snprintf(buf + off, len - off, "%s0x%llx-0x%llx%s", r ? "," : "",
				 (unsigned long long)m->resv[r].start,
				 (unsigned long long)m->resv[r].last, m->resv[r].sw_msi ? ":msi" : "");
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

static void device_caps(const struct plat_device *d, char *buf, size_t len)
{
	char pasid[24] = "";

	if (d->pasid_bits)
		snprintf(pasid, sizeof(pasid), "pasid%u,", d->pasid_bits);
	snprintf(buf, len, "%s%s%s%s%s%s", pasid, d->ats ? "ats," : "", d->pri ? "pri," : "",
		 d->enqcmd ? "enqcmd," : "", d->sw_table ? "sw-table," : "", d->is_vf ? "vf," : "");
	if (*buf)
		buf[strlen(buf) - 1] = '\0';
	else
		snprintf(buf, len, "-");
}

static void group_devices(const struct plat_topology *t, uint32_t g, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (uint32_t d = 0; d < t->nr_devices && off < len; d++) {
		int n;

		if (t->devices[d].group != g)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? "," : "", t->devices[d].name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* The driver bound now, from a snapshot: NULL for none (or a value out of range). */
static const struct plat_driver *snapshot_driver(const struct plat_topology *t,
						 const struct plat_state_snapshot *s, uint32_t d)
{
	int drv = s->devices[d].driver;

	return drv >= 0 && (uint32_t)drv < t->nr_drivers ? &t->drivers[drv] : NULL;
}

/* Viable as VFIO reports it: no device of the group on a DMA-API driver. */
static bool snapshot_viable(const struct plat_topology *t, const struct plat_state_snapshot *s,
			    uint32_t g)
{
	for (uint32_t d = 0; d < t->nr_devices; d++) {
		const struct plat_driver *drv = snapshot_driver(t, s, d);

		if (t->devices[d].group == g && drv && drv->kind == PLAT_DRV_DMA_API)
			return false;
	}
	return true;
}

static void show_plain(const struct platform *p, const struct plat_state_snapshot *s)
{
	const struct plat_topology *t = platform_topology(p);
	char a[256], b[256], c[256];

	printf("platform %s (%s/%s%s), topology %s, hash %016llx\n\n", platform_shared_name(p),
	       PLAT_SHARED_DIR, PLAT_SHARED_PREFIX, platform_shared_name(p), t->source,
	       (unsigned long long)t->hash);

	printf("%-10s %-7s %-9s %-4s %-6s %-28s %s\n", "IOMMU", "TYPE", "PGSIZES", "IAS", "PASID",
	       "FEATURES", "RESV");
	for (uint32_t i = 0; i < t->nr_iommus; i++) {
		const struct plat_iommu *m = &t->iommus[i];

		pgsizes_str(m->pgsize_bitmap, a, sizeof(a));
		iommu_features(m, b, sizeof(b));
		iommu_resv(m, c, sizeof(c));
		printf("%-10s %-7s %-9s %-4u %-6u %-28s %s\n", m->name,
		       plat_iommu_type_name(m->type), a, m->ias_bits, m->pasid_bits, b, c);
	}

	printf("\n%-6s %-8s %-10s %-10s %-8s %-7s %-6s %-13s %-11s %-7s %s\n", "GROUP", "IOMMU",
	       "OWNER_PID", "OWNER_CNT", "DOMAIN", "HW_DOM", "VIABLE", "GROUP_FD_PID",
	       "CDEV_BOUND", "PASIDS", "DEVICES");
	for (uint32_t g = 0; g < t->nr_groups; g++) {
		group_devices(t, g, a, sizeof(a));
		printf("%-6u %-8s %-10d %-10u %-8s %-7u %-6s %-13d %-11u %-7u %s%s\n",
		       t->groups[g].id, t->iommus[t->groups[g].iommu].name,
		       (int)s->groups[g].owner.pid, s->groups[g].owner_cnt,
		       plat_domain_name(s->groups[g].domain), s->groups[g].hw_domain_id,
		       snapshot_viable(t, s, g) ? "yes" : "no", (int)s->groups[g].group_fd_pid,
		       s->groups[g].cdev_bound, s->groups[g].pasid_cnt, a,
		       t->groups[g].isolated_msi ? "" : " (no MSI isolation)");
	}

	printf("\n%-14s %-7s %-6s %-14s %-12s %-9s %s\n", "DEVICE", "VFIO", "GROUP", "DRIVER",
	       "DRIVER_KIND", "USER_PID", "CAPS");
	for (uint32_t d = 0; d < t->nr_devices; d++) {
		const struct plat_device *dv = &t->devices[d];
		const struct plat_driver *drv = snapshot_driver(t, s, d);

		device_caps(dv, a, sizeof(a));
		snprintf(b, sizeof(b), "vfio%u", dv->vfio_index);
		printf("%-14s %-7s %-6u %-14s %-12s %-9d %s\n", dv->name, b, t->groups[dv->group].id,
		       drv ? drv->name : "-", drv ? plat_driver_kind_name(drv->kind) : "-",
		       (int)s->devices[d].user_pid, a);
	}
}

static void show_json(const struct platform *p, const struct plat_state_snapshot *s)
{
	const struct plat_topology *t = platform_topology(p);
	char a[256], b[256], c[256];

	printf("{\"kind\":\"platform\",\"platform\":");
	json_str(platform_shared_name(p));
	printf(",\"topology\":");
	json_str(t->source);
	printf(",\"hash\":\"%016llx\"}\n", (unsigned long long)t->hash);
	for (uint32_t i = 0; i < t->nr_iommus; i++) {
		const struct plat_iommu *m = &t->iommus[i];

		pgsizes_str(m->pgsize_bitmap, a, sizeof(a));
		iommu_features(m, b, sizeof(b));
		iommu_resv(m, c, sizeof(c));
		printf("{\"kind\":\"iommu\",\"iommu\":\"%s\",\"type\":\"%s\",\"pgsizes\":\"%s\","
		       "\"ias\":%u,\"pasid\":%u,\"features\":\"%s\",\"resv\":\"%s\"}\n", m->name,
		       plat_iommu_type_name(m->type), a, m->ias_bits, m->pasid_bits, b, c);
	}
	for (uint32_t g = 0; g < t->nr_groups; g++) {
		group_devices(t, g, a, sizeof(a));
		printf("{\"kind\":\"group\",\"group\":%u,\"iommu\":\"%s\",\"owner_pid\":%d,"
		       "\"owner_cnt\":%u,\"domain\":\"%s\",\"hw_dom\":%u,\"viable\":%s,"
		       "\"group_fd_pid\":%d,\"cdev_bound\":%u,\"pasids\":%u,\"devices\":\"%s\","
		       "\"msi_isolation\":%s}\n",
		       t->groups[g].id, t->iommus[t->groups[g].iommu].name,
		       (int)s->groups[g].owner.pid, s->groups[g].owner_cnt,
		       plat_domain_name(s->groups[g].domain), s->groups[g].hw_domain_id,
		       snapshot_viable(t, s, g) ? "true" : "false", (int)s->groups[g].group_fd_pid,
		       s->groups[g].cdev_bound, s->groups[g].pasid_cnt, a,
		       t->groups[g].isolated_msi ? "true" : "false");
	}
	for (uint32_t d = 0; d < t->nr_devices; d++) {
		const struct plat_device *dv = &t->devices[d];
		const struct plat_driver *drv = snapshot_driver(t, s, d);

		device_caps(dv, a, sizeof(a));
		printf("{\"kind\":\"device\",\"device\":\"%s\",\"vfio\":%u,\"group\":%u,"
		       "\"driver\":\"%s\",\"driver_kind\":\"%s\",\"user_pid\":%d,\"caps\":\"%s\"}\n",
		       dv->name, dv->vfio_index, t->groups[dv->group].id,
		       drv ? drv->name : "", drv ? plat_driver_kind_name(drv->kind) : "",
		       (int)s->devices[d].user_pid, a);
	}
}

/* ---- commands -------------------------------------------------------------------------- */

static int cmd_show(const struct options *o, int argc, char **argv)
{
	struct plat_state_snapshot *snap;
	struct platform *p;
	int rc;

	rc = host_open(o, &p);
	if (rc)
		return rc;
	snap = malloc(sizeof(*snap));
	if (!snap) {
		platform_close(p);
		return refused("show: out of memory");
	}
	rc = platform_snapshot(p, snap);
	if (rc) {
		rc = refused("platform %s: cannot read the host state: %s; try 'ioasid-platform "
			     "reset'", platform_name(o), strerror(-rc));
	} else {
		if (o->json)
			show_json(p, snap);
		else
			show_plain(p, snap);
	}
	free(snap);
	platform_close(p);
	return rc;
}

static int cmd_bind_unbind(const struct options *o, bool bind, char **argv)
{
	struct platform *p;
	char why[512];
	int rc, dev;

	rc = host_open(o, &p);
	if (rc)
		return rc;
	dev = device_lookup(platform_topology(p), argv[0]);
	if (dev < 0) {
		rc = refused("device '%.64s': not on platform %s; list the devices with "
			     "'ioasid-platform show'", argv[0], platform_name(o));
		goto out;
	}
	if (bind)
		rc = platform_driver_bind(p, (uint32_t)dev, argv[1], why, sizeof(why));
	else
		rc = platform_driver_unbind(p, (uint32_t)dev, why, sizeof(why));
	if (rc)
		rc = refused("%s", why);
	else if (bind)
		printf("%s: bound to %s\n", platform_topology(p)->devices[dev].name, argv[1]);
	else
		printf("%s: unbound\n", platform_topology(p)->devices[dev].name);
out:
	platform_close(p);
	return rc;
}

static int cmd_bind(const struct options *o, int argc, char **argv)
{
	return cmd_bind_unbind(o, true, argv);
}

static int cmd_unbind(const struct options *o, int argc, char **argv)
{
	return cmd_bind_unbind(o, false, argv);
}

static int cmd_dump(const struct options *o, int argc, char **argv)
{
	struct platform *p;
	char *text;
	int rc;

	rc = host_open(o, &p);
	if (rc)
		return rc;
	rc = plat_topology_format(platform_topology(p), &text);
	if (rc < 0) {
		rc = refused("dump: out of memory");
	} else {
		printf("# platform %s, from %s\n%s", platform_name(o), platform_topology(p)->source,
		       text);
		free(text);
		rc = EXIT_OK;
	}
	platform_close(p);
	return rc;
}

static int cmd_check(const struct options *o, int argc, char **argv)
{
	struct plat_topology *t;
	char err[768];
	int rc;

	rc = plat_topology_load_file(argv[0], &t, err, sizeof(err));
	if (rc)
		return refused("%s", err);
	printf("%s: ok: %u IOMMUs, %u groups, %u devices, %u drivers; hash %016llx\n", argv[0],
	       t->nr_iommus, t->nr_groups, t->nr_devices, t->nr_drivers,
	       (unsigned long long)t->hash);
	plat_topology_free(t);
	return EXIT_OK;
}

static int cmd_reset(const struct options *o, int argc, char **argv)
{
	const char *name = platform_name(o);
	char path[256];
	int rc;

	rc = platform_shared_path(name, path, sizeof(path));
	if (rc)
		return refused("%s", path);
	rc = platform_unlink_shared(name);
	if (rc == -ENOENT)
		return refused("platform %s: no shared host at %s; nothing to reset", name, path);
	if (rc)
		return refused("platform %s: cannot remove %s: %s", name, path, strerror(-rc));
	printf("platform %s: removed %s\n", name, path);
	return EXIT_OK;
}

static const struct command {
	const char *name;
	int nargs;
	const char *args;
	int (*fn)(const struct options *o, int argc, char **argv);
} commands[] = {
	{ "show", 0, "", cmd_show },
	{ "bind", 2, " DEVICE DRIVER", cmd_bind },
	{ "unbind", 1, " DEVICE", cmd_unbind },
	{ "dump", 0, "", cmd_dump },
	{ "check", 1, " FILE", cmd_check },
	{ "reset", 0, "", cmd_reset },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "platform", required_argument, NULL, 'p' },
		{ "topology", required_argument, NULL, 't' },
		{ "json",     no_argument,       NULL, 'j' },
		{ "help",     no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct options o = { 0 };
	const char *name;
	char path[256];
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:t:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.platform = optarg;
			break;
		case 't':
			o.topology = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case ':':
			return die_usage("option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt)
				return die_usage("unknown option '-%c'", optopt);
			return die_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return die_usage("no command given: use show, bind, unbind, dump, check or reset");
	name = platform_name(&o);
	if (platform_shared_path(name, path, sizeof(path)))
		return die_usage("%s", path);

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *cmd = &commands[i];
		int nargs = argc - optind - 1;

		if (strcmp(argv[optind], cmd->name))
			continue;
		if (nargs != cmd->nargs)
			return die_usage("%s takes %d argument%s: ioasid-platform %s%s (got %d)",
					 cmd->name, cmd->nargs, cmd->nargs == 1 ? "" : "s",
					 cmd->name, cmd->args, nargs);
		return cmd->fn(&o, nargs, argv + optind + 1);
	}
	return die_usage("unknown command '%.40s': use show, bind, unbind, dump, check or reset",
			 argv[optind]);
}
