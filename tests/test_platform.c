/* test_platform.c — unit tests of the mock host (src/platform): topology and host state.
 *
 * Topology: the built-in default's contents, that examples/topologies/default.topo is the same
 * host, the canonical-form round trip, and a table of malformed files, each refused with its
 * exact "SOURCE:LINE:" and nothing loaded.
 * Host state: one test per ownership rule of platform.h (kernel iommu.c / VFIO), each on a
 * private host with exact errnos; then shared hosts across fork(): a child's claims seen by
 * the parent and reclaimed when it dies (reaped or zombie), a lock held by a dead process,
 * two creators racing, and a topology mismatch on join.
 *
 * Shared hosts are named "tp<pid>-<label>" and removed by the fixture, so parallel runs and
 * failed assertions leave nothing in /dev/shm.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h"
#include "platform/platform_ext.h"

static char why[1024];
static char err[1024];

#define assert_rc(expected, expr)                                                            \
	do {                                                                                 \
		int rc__ = (expr);                                                           \
		cr_assert_eq(rc__, (expected), "%s: got %d (%s), expected %d (%s); why: %s / %s", \
			     #expr, rc__, strerror(-rc__), (expected), strerror(-(expected)),  \
			     why, err);                                                        \
	} while (0)

#define assert_has(haystack, needle)                                                         \
	cr_assert(strstr((haystack), (needle)) != NULL, "'%s' does not contain '%s'",        \
		  (haystack), (needle))

/* ---- helpers -------------------------------------------------------------------------- */

static struct platform *plat;            /* the host of the test (private unless stated) */
static char shared_names[4][64];         /* removed by the fixture */
static unsigned int nr_shared;

static const char *shared_name(const char *label)
{
	char *name = shared_names[nr_shared++];

	cr_assert_leq(nr_shared, 4);
	snprintf(name, sizeof(shared_names[0]), "tp%d-%s", (int)getpid(), label);
	platform_unlink_shared(name);
	return name;
}

static void host_setup(void)
{
	assert_rc(0, platform_open(NULL, NULL, &plat, err, sizeof(err)));
}

static void host_teardown(void)
{
	platform_close(plat);
	plat = NULL;
	for (unsigned int i = 0; i < nr_shared; i++)
		platform_unlink_shared(shared_names[i]);
	nr_shared = 0;
}

static uint32_t dev(const char *name)
{
	int d = plat_topology_find_device(platform_topology(plat), name);

	cr_assert_geq(d, 0, "device %s is not in the topology", name);
	return (uint32_t)d;
}

static uint32_t group_of(const char *name)
{
	return platform_topology(plat)->devices[dev(name)].group;
}

static struct plat_state_snapshot snap;

static void take_snapshot(void)
{
	assert_rc(0, platform_snapshot(plat, &snap));
}

/* A growing text, for topologies too long to write out. */
struct text {
	char *s;
	size_t len;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	char *line;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	cr_assert_geq(n, 0);
	t->s = realloc(t->s, t->len + (size_t)n + 1);
	cr_assert_not_null(t->s);
	memcpy(t->s + t->len, line, (size_t)n + 1);
	t->len += (size_t)n;
	free(line);
}

static int parse_text(const char *text, size_t len, struct plat_topology **out)
{
	return plat_topology_parse(text, len, "t.topo", out, err, sizeof(err));
}

static void write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* examples/topologies/default.topo from the tree root (the usual cwd), or relative to the
 * test binary (build/tests/, build/asan/tests/). */
static const char *default_topo_path(char *buf, size_t len)
{
	static const char rel[] = "examples/topologies/default.topo";
	static const char *ups[] = { "/../..", "/../../.." };
	char exe[PATH_MAX];
	ssize_t n;

	if (access(rel, R_OK) == 0)
		return rel;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	for (size_t i = 0; i < sizeof(ups) / sizeof(ups[0]); i++) {
		if (snprintf(buf, len, "%s%s/%s", exe, ups[i], rel) >= (int)len)
			continue;
		if (access(buf, R_OK) == 0)
			return buf;
	}
	cr_assert_fail("%s not found from %s", rel, exe);
	return NULL;
}

/* ==== topology ========================================================================== */

Test(platform, default_topology_contents)
{
	const struct plat_topology *t = plat_topology_default();
	const struct plat_iommu *m0, *m1;
	int d, bridge_a, bridge_b, gpu, audio;

	cr_assert_eq(t, plat_topology_default(), "one object for the life of the process");
	cr_assert_str_eq(t->source, "built-in default");
	cr_assert_eq(t->hash, plat_topology_hash(t));
	cr_assert_neq(t->hash, 0);

	/* two IOMMUs with different capabilities */
	cr_assert_eq(t->nr_iommus, 2);
	m0 = &t->iommus[0];
	m1 = &t->iommus[1];
	cr_assert_str_eq(m0->name, "dmar0");
	cr_assert_eq(m0->type, PLAT_IOMMU_INTEL_VTD);
	cr_assert_eq(m0->pgsize_bitmap, 0x1000ull | 0x200000ull | 0x40000000ull);
	cr_assert_eq(m0->ias_bits, 48);
	cr_assert_eq(m0->pasid_bits, 20);
	cr_assert(m0->nesting && m0->dirty_tracking && m0->iopf && m0->coherent);
	cr_assert_str_eq(m1->name, "dmar1");
	cr_assert_eq(m1->type, PLAT_IOMMU_INTEL_VTD);
	cr_assert_eq(m1->pgsize_bitmap, 0x1000ull);
	cr_assert_eq(m1->ias_bits, 39);
	cr_assert_eq(m1->pasid_bits, 0);
	cr_assert(!m1->nesting && !m1->dirty_tracking && m1->coherent);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(t->iommus[i].nr_resv, 1);
		cr_assert_eq(t->iommus[i].resv[0].start, 0xfee00000ull);
		cr_assert_eq(t->iommus[i].resv[0].last, 0xfeefffffull);
		cr_assert(t->iommus[i].resv[0].sw_msi);
	}

	/* built-in drivers first, at fixed indexes */
	cr_assert_str_eq(t->drivers[0].name, "vfio-pci");
	cr_assert_eq(t->drivers[0].kind, PLAT_DRV_USER);
	cr_assert_str_eq(t->drivers[1].name, "pci-stub");
	cr_assert_eq(t->drivers[1].kind, PLAT_DRV_MANAGED);

	/* VFIO indexes in device order, group IDs distinct and not the indexes */
	for (uint32_t i = 0; i < t->nr_devices; i++)
		cr_assert_eq(t->devices[i].vfio_index, i);
	for (uint32_t i = 0; i < t->nr_groups; i++) {
		cr_assert_neq(t->groups[i].id, i);
		for (uint32_t j = 0; j < i; j++)
			cr_assert_neq(t->groups[i].id, t->groups[j].id);
	}

	/* the PASID singleton NVMe */
	d = plat_topology_find_device(t, "0000:00:02.0");
	cr_assert_geq(d, 0);
	cr_assert(t->devices[d].ats && t->devices[d].pri);
	cr_assert_eq(plat_device_pasid_bits(t, d), 20);
	cr_assert_str_eq(t->drivers[t->devices[d].driver].name, "vfio-pci");
	for (uint32_t i = 0; i < t->nr_devices; i++)
		if ((int)i != d)
			cr_assert_neq(t->devices[i].group, t->devices[d].group);

	/* the bridge group: a user device and a DMA-API sibling */
	bridge_a = plat_topology_find_device(t, "0000:02:01.0");
	bridge_b = plat_topology_find_device(t, "0000:02:02.0");
	cr_assert(bridge_a >= 0 && bridge_b >= 0);
	cr_assert_eq(t->devices[bridge_a].group, t->devices[bridge_b].group);
	cr_assert_eq(t->drivers[t->devices[bridge_a].driver].kind, PLAT_DRV_USER);
	cr_assert_eq(t->drivers[t->devices[bridge_b].driver].kind, PLAT_DRV_DMA_API);
	cr_assert_str_eq(t->drivers[t->devices[bridge_b].driver].name, "e1000e");

	/* the multi-function GPU + audio */
	gpu = plat_topology_find_device(t, "0000:01:00.0");
	audio = plat_topology_find_device(t, "0000:01:00.1");
	cr_assert(gpu >= 0 && audio >= 0);
	cr_assert_eq(t->devices[gpu].group, t->devices[audio].group);
	cr_assert_eq(t->devices[gpu].driver, 0);
	cr_assert_eq(t->devices[audio].driver, 0);

	/* the software-table device on a user driver, in its own group */
	d = plat_topology_find_device(t, "mdev0");
	cr_assert_geq(d, 0);
	cr_assert(t->devices[d].sw_table);
	cr_assert_eq(t->drivers[t->devices[d].driver].kind, PLAT_DRV_USER);

	/* ENQCMD */
	d = plat_topology_find_device(t, "0000:00:04.0");
	cr_assert_geq(d, 0);
	cr_assert(t->devices[d].enqcmd);
	cr_assert_eq(plat_device_pasid_bits(t, d), 20);

	/* behind dmar1: no PASID, whatever the device says */
	d = plat_topology_find_device(t, "0000:80:00.0");
	cr_assert_geq(d, 0);
	cr_assert_str_eq(t->iommus[t->groups[t->devices[d].group].iommu].name, "dmar1");
	cr_assert_eq(plat_device_pasid_bits(t, d), 0);

	/* host storage on a DMA-API driver, alone */
	d = plat_topology_find_device(t, "0000:00:17.0");
	cr_assert_geq(d, 0);
	cr_assert_str_eq(t->drivers[t->devices[d].driver].name, "ahci");
	cr_assert_eq(t->drivers[t->devices[d].driver].kind, PLAT_DRV_DMA_API);
}

Test(platform, default_topology_lookups)
{
	const struct plat_topology *t = plat_topology_default();

	cr_assert_eq(plat_topology_find_device(t, "0000:00:02.0"), 0);
	cr_assert_eq(plat_topology_find_device(t, "0000:99:00.0"), -ENODEV);
	cr_assert_eq(plat_topology_find_device(t, NULL), -ENODEV);
	cr_assert_eq(plat_topology_find_vfio(t, 8), 8);
	cr_assert_eq(plat_topology_find_vfio(t, 9), -ENODEV);
	cr_assert_eq(plat_topology_find_group_id(t, 12), 4);
	cr_assert_eq(plat_topology_find_group_id(t, 4), 1);
	cr_assert_eq(plat_topology_find_group_id(t, 0), -ENODEV);
	cr_assert_eq(plat_topology_find_driver(t, "pci-stub"), 1);
	cr_assert_eq(plat_topology_find_driver(t, "i915"), -ENODEV);
	cr_assert_eq(plat_device_pasid_bits(t, 1000), 0);
}

Test(platform, default_file_is_the_builtin_host)
{
	const struct plat_topology *builtin = plat_topology_default();
	struct plat_topology *file;
	char path[PATH_MAX], *a, *b;

	assert_rc(0, plat_topology_load_file(default_topo_path(path, sizeof(path)), &file, err,
					     sizeof(err)));
	cr_assert_eq(file->hash, builtin->hash, "default.topo hash %016llx, built-in %016llx: "
		     "edit both together", (unsigned long long)file->hash,
		     (unsigned long long)builtin->hash);
	cr_assert_geq(plat_topology_format(file, &a), 0);
	cr_assert_geq(plat_topology_format(builtin, &b), 0);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
	plat_topology_free(file);
}

Test(platform, every_example_topology_loads)
{
	char buf[PATH_MAX], path[PATH_MAX], file[PATH_MAX + 256];
	struct dirent *de;
	int loaded = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "%s", default_topo_path(buf, sizeof(buf)));
	*strrchr(path, '/') = '\0';
	dir = opendir(path);
	cr_assert_not_null(dir, "%s: %s", path, strerror(errno));
	while ((de = readdir(dir))) {
		struct plat_topology *t;
		size_t n = strlen(de->d_name);

		if (n < 5 || strcmp(de->d_name + n - 5, ".topo"))
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		assert_rc(0, plat_topology_load_file(file, &t, err, sizeof(err)));
		plat_topology_free(t);
		loaded++;
	}
	closedir(dir);
	cr_assert_geq(loaded, 2);
}

/* VT-d register values (cap=, ecap=): kept, part of the canonical form and the hash, only on
 * type=vtd, never zero; without them the registers are derived (0 here). The testbed's QEMU
 * unit (examples/topologies/qemu-testbed.topo) uses them. */
Test(platform, vtd_registers)
{
	static const char text[] =
		"iommu d type=vtd pgsizes=4k ias=39 ecap=0xf00f4a cap=0xd2008c22260286\n"
		"iommu e type=vtd pgsizes=4k ias=48\n"
		"group 1 iommu=d\n"
		"device a group=1 vfio=0\n";
	static const char *const bad[][2] = {
		{ "iommu s type=smmuv3 pgsizes=4k ias=48 cap=0x1\ndevice a group=1 vfio=0\n",
		  "t.topo:1: iommu s: cap= is a VT-d register; only a type=vtd IOMMU has it" },
		{ "iommu d type=vtd pgsizes=4k ias=48 ecap=0\ndevice a group=1 vfio=0\n",
		  "t.topo:1: iommu d: ecap=0: give the register as a non-zero number, e.g. "
		  "ecap=0xf00f4a" },
		{ "iommu d type=vtd pgsizes=4k ias=48 cap=x\ndevice a group=1 vfio=0\n",
		  "t.topo:1: iommu d: cap=x: give the register as a non-zero number, e.g. "
		  "cap=0xd2008c22260286" },
	};
	struct plat_topology *t1, *t2;
	char *canon;

	assert_rc(0, parse_text(text, sizeof(text) - 1, &t1));
	cr_assert_eq(t1->iommus[0].vtd_cap, 0xd2008c22260286ull);
	cr_assert_eq(t1->iommus[0].vtd_ecap, 0xf00f4aull);
	cr_assert_eq(t1->iommus[1].vtd_cap, 0);
	cr_assert_eq(t1->iommus[1].vtd_ecap, 0);
	cr_assert_gt(plat_topology_format(t1, &canon), 0);
	cr_assert_not_null(strstr(canon, "ias=39 cap=0xd2008c22260286 ecap=0xf00f4a\n"), "%s",
			   canon);
	assert_rc(0, parse_text(canon, strlen(canon), &t2));
	cr_assert_eq(t2->hash, t1->hash);
	free(canon);
	plat_topology_free(t2);
	t1->iommus[0].vtd_ecap = 0xf00f4b;
	cr_assert_gt(plat_topology_format(t1, &canon), 0);
	assert_rc(0, parse_text(canon, strlen(canon), &t2));
	cr_assert_neq(t2->hash, t1->hash, "the registers are part of the content hash");
	free(canon);
	plat_topology_free(t2);
	plat_topology_free(t1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_rc(-EINVAL, parse_text(bad[i][0], strlen(bad[i][0]), &t1));
		cr_assert_str_eq(err, bad[i][1]);
	}
}

/* Every feature of the format, twice through the writer and the parser, and through a file. */
Test(platform, topology_round_trip)
{
	static const char text[] =
		"# a host with a bit of everything\r\n"
		"iommu smmu0 type=smmuv3 pgsizes=4k,2m ias=48 pasid=16 nesting iopf coherent \t"
		"resv=0x8000000-0x80fffff:msi resv=0x0-0xfff\r\n"
		"iommu amdvi type=amd pgsizes=4K,1G ias=57 dirty   # trailing comment\n"
		"\n"
		"   # indented comment\n"
		"driver mlx5_core kind=dma-api\n"
		"driver vfio-pci kind=user\n"
		"driver i915-managed kind=managed\n"
		"group 0 iommu=smmu0 no-msi-isolation\n"
		"group 2147483647 iommu=amdvi\n"
		"device 0000:03:00.0 group=0 vfio=10 driver=mlx5_core pasid=20 ats pri\n"
		"device 0000:03:00.2 group=0 vfio=11 vf driver=pci-stub\n"
		"device 6a1f-mdev group=2147483647 vfio=2147483647 sw-table enqcmd pasid=8";
	struct plat_topology *t1, *t2, *t3;
	char path[] = "/tmp/test_platform.XXXXXX";
	char *canon1, *canon2;
	int fd;

	assert_rc(0, parse_text(text, sizeof(text) - 1, &t1));
	cr_assert_eq(t1->nr_iommus, 2);
	cr_assert_eq(t1->iommus[0].type, PLAT_IOMMU_ARM_SMMUV3);
	cr_assert_eq(t1->iommus[0].nr_resv, 2);
	cr_assert_eq(t1->iommus[0].resv[1].last, 0xfff);
	cr_assert(!t1->iommus[0].resv[1].sw_msi);
	cr_assert_eq(t1->iommus[1].type, PLAT_IOMMU_AMD);
	cr_assert_eq(t1->iommus[1].pgsize_bitmap, 0x1000ull | 0x40000000ull);
	cr_assert_eq(t1->nr_drivers, 4, "2 built in + mlx5_core + i915-managed");
	cr_assert(!t1->groups[0].isolated_msi);
	cr_assert(t1->groups[1].isolated_msi);
	cr_assert_eq(t1->devices[1].driver, 1);
	cr_assert(t1->devices[1].is_vf);
	cr_assert_eq(t1->devices[2].driver, -1);
	cr_assert_eq(t1->devices[2].group, 1);
	cr_assert_eq(plat_device_pasid_bits(t1, 2), 0, "amdvi has no PASID");
	cr_assert_eq(plat_device_pasid_bits(t1, 0), 16, "min(device 20, smmu0 16)");
	cr_assert_str_eq(t1->source, "t.topo");

	cr_assert_gt(plat_topology_format(t1, &canon1), 0);
	assert_rc(0, parse_text(canon1, strlen(canon1), &t2));
	cr_assert_eq(t2->hash, t1->hash);
	cr_assert_gt(plat_topology_format(t2, &canon2), 0);
	cr_assert_str_eq(canon1, canon2);

	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	write_file(path, canon1, strlen(canon1));
	assert_rc(0, plat_topology_load_file(path, &t3, err, sizeof(err)));
	cr_assert_eq(t3->hash, t1->hash);
	cr_assert_str_eq(t3->source, path);
	unlink(path);

	free(canon1);
	free(canon2);
	plat_topology_free(t1);
	plat_topology_free(t2);
	plat_topology_free(t3);
}

/* ---- malformed files: line, message, nothing loaded ----- */

#define HDR "iommu m0 type=vtd pgsizes=4k ias=48\ngroup 1 iommu=m0\n"

static const struct bad_case {
	const char *what;
	const char *text;
	size_t len;          /* 0: strlen */
	unsigned int line;
	const char *message;
} bad_cases[] = {
	{ "unknown object", HDR "widget x\n", 0, 3, "unknown object 'widget'" },
	{ "unknown key", "iommu m0 type=vtd pgsizes=4k ias=48 colour=red\n", 0, 1,
	  "iommu m0: unknown key 'colour'; known keys: type=, pgsizes=" },
	{ "missing group", HDR "device 0000:02:01.0 group=7 vfio=0\n", 0, 3,
	  "device 0000:02:01.0: group 7 is not declared; add 'group 7 iommu=...' before it" },
	{ "missing iommu", "group 1 iommu=dmar9\n", 0, 1,
	  "group 1: iommu dmar9 is not declared" },
	{ "missing driver", HDR "device a group=1 vfio=0 driver=e1000\n", 0, 3,
	  "device a: driver e1000 is not declared; add 'driver e1000 kind=dma-api'" },
	{ "duplicate device", HDR "device a group=1 vfio=0\ndevice a group=1 vfio=1\n", 0, 4,
	  "device a: declared twice (first at line 3)" },
	{ "duplicate group ID", HDR "group 1 iommu=m0\n", 0, 3,
	  "group 1: declared twice (first at line 2)" },
	{ "duplicate VFIO index", HDR "device a group=1 vfio=0\ndevice b group=1 vfio=0\n", 0, 4,
	  "device b: vfio=0 is already used by device a (line 3)" },
	{ "duplicate driver", "driver x kind=user\ndriver x kind=user\n", 0, 2,
	  "driver x: declared twice (first at line 1)" },
	{ "built-in driver kind changed", "driver vfio-pci kind=dma-api\n", 0, 1,
	  "built in as kind=user" },
	{ "IOVA width out of range", "iommu m0 type=vtd pgsizes=4k ias=50\n", 0, 1,
	  "ias=50: the IOVA width must be 39, 48 or 57" },
	{ "number overflow", HDR "device a group=99999999999999999999999 vfio=0\n", 0, 3,
	  "group=99999999999999999999999 is out of range; use 0 to 2147483647" },
	{ "not a number", HDR "device a group=1 vfio=-1\n", 0, 3,
	  "vfio=-1: not a number" },
	{ "PASID width out of range", HDR "device a group=1 vfio=0 pasid=21\n", 0, 3,
	  "pasid=21 is out of range; use 0 to 20" },
	{ "page sizes without 4k", "iommu m0 type=vtd pgsizes=2m,1g ias=48\n", 0, 1,
	  "pgsizes=2m,1g lacks 4k" },
	{ "unknown page size", "iommu m0 type=vtd pgsizes=4k,8k ias=48\n", 0, 1,
	  "'8k' is not a page size" },
	{ "unknown IOMMU type", "iommu m0 type=riscv pgsizes=4k ias=48\n", 0, 1,
	  "type=riscv is not an IOMMU type" },
	{ "over-long name", HDR "device 0123456789012345678901234567890123456789 group=1 vfio=0\n",
	  0, 3, "is 40 characters long; use at most 31" },
	{ "bad name character", HDR "device a/b group=1 vfio=0\n", 0, 3,
	  "character '/' is not allowed" },
	{ "missing name", HDR "device group=1 vfio=0\n", 0, 3,
	  "device: the name is missing before 'group=1'" },
	{ "NUL byte", HDR "device a\0 group=1 vfio=0\n", sizeof(HDR "device a\0 group=1 vfio=0\n") - 1,
	  3, "NUL byte at column 9" },
	{ "control character", HDR "device a\x1b group=1 vfio=0\n", 0, 3,
	  "control character 0x1b at column 9" },
	{ "lone CR", HDR "device a\rgroup=1 vfio=0\n", 0, 3, "control character 0x0d" },
	{ "flag with a value", "iommu m0 type=vtd pgsizes=4k ias=48 nesting=1\n", 0, 1,
	  "'nesting=1' is a flag and takes no value" },
	{ "value without one", "iommu m0 type=vtd pgsizes=4k ias=\n", 0, 1,
	  "'ias=' needs a value" },
	{ "required key missing", "iommu m0 type=vtd pgsizes=4k\n", 0, 1,
	  "iommu m0: 'ias' is missing; add e.g. 'ias=48'" },
	{ "key given twice", "iommu m0 type=vtd pgsizes=4k ias=48 ias=39\n", 0, 1,
	  "'ias' is given twice" },
	{ "reserved range above the IOVA space",
	  "iommu m0 type=vtd pgsizes=4k ias=39 resv=0x8000000000-0x8000000fff\n", 0, 1,
	  "ends above the 39-bit IOVA space" },
	{ "reserved range reversed", "iommu m0 type=vtd pgsizes=4k ias=39 resv=0x2000-0x0fff\n", 0, 1,
	  "START is above LAST" },
	{ "reserved range not page-sized", "iommu m0 type=vtd pgsizes=4k ias=39 resv=0x10-0x1fff\n",
	  0, 1, "whole 4 KiB pages" },
	{ "too many reserved ranges",
	  "iommu m0 type=vtd pgsizes=4k ias=39 resv=0x0-0xfff resv=0x1000-0x1fff "
	  "resv=0x2000-0x2fff resv=0x3000-0x3fff resv=0x4000-0x4fff\n", 0, 1,
	  "more than 4 'resv' words" },
	{ "pri without ats", HDR "device a group=1 vfio=0 pri\n", 0, 3, "pri needs ats" },
	{ "enqcmd without PASID", HDR "device a group=1 vfio=0 enqcmd\n", 0, 3,
	  "enqcmd needs PASID support" },
	{ "group without devices", HDR "group 2 iommu=m0\ndevice a group=1 vfio=0\n", 0, 3,
	  "group 2 has no devices" },
	{ "no devices at all", "# nothing\n" HDR, 0, 3, "no devices declared" },
	{ "empty text", "", 0, 1, "no devices declared" },
};

/* (rc and t are taken after the parse: pass them as variables, not as the call) */
static void assert_refused(const struct bad_case *c, int rc, struct plat_topology *t)
{
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "t.topo:%u: ", c->line);
	cr_assert_eq(rc, -EINVAL, "%s: rc %d, expected -EINVAL (%s)", c->what, rc, err);
	cr_assert_null(t, "%s: a topology was returned", c->what);
	cr_assert(!strncmp(err, prefix, strlen(prefix)), "%s: '%s' does not start with '%s'",
		  c->what, err, prefix);
	cr_assert(strstr(err, c->message), "%s: '%s' does not contain '%s'", c->what, err,
		  c->message);
}

Test(platform, parse_errors_name_the_line_and_load_nothing)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct plat_topology *t = (void *)1;
		size_t len = c->len ? c->len : strlen(c->text);

		int rc = parse_text(c->text, len, &t);

		assert_refused(c, rc, t);
	}
}

/* More objects than each PLAT_MAX_* limit: refused on the first line past it. */
Test(platform, parse_errors_limits)
{
	struct plat_topology *t = (void *)1;
	struct text x = { 0 };
	struct bad_case c;
	int rc;

	for (int i = 0; i <= PLAT_MAX_IOMMUS; i++)
		text_add(&x, "iommu m%d type=vtd pgsizes=4k ias=48\n", i);
	c = (struct bad_case){ "iommus", x.s, 0, PLAT_MAX_IOMMUS + 1, "more than 16 IOMMUs" };
	rc = parse_text(x.s, x.len, &t);
	assert_refused(&c, rc, t);
	free(x.s);

	x = (struct text){ 0 };
	text_add(&x, "iommu m0 type=vtd pgsizes=4k ias=48\n");
	for (int i = 0; i <= PLAT_MAX_GROUPS; i++)
		text_add(&x, "group %d iommu=m0\n", i);
	c = (struct bad_case){ "groups", x.s, 0, PLAT_MAX_GROUPS + 2, "more than 64 groups" };
	rc = parse_text(x.s, x.len, &t);
	assert_refused(&c, rc, t);
	free(x.s);

	x = (struct text){ 0 };
	text_add(&x, HDR);
	for (int i = 0; i <= PLAT_MAX_DEVICES; i++)
		text_add(&x, "device d%d group=1 vfio=%d\n", i, i);
	c = (struct bad_case){ "devices", x.s, 0, PLAT_MAX_DEVICES + 3, "more than 128 devices" };
	rc = parse_text(x.s, x.len, &t);
	assert_refused(&c, rc, t);
	free(x.s);

	x = (struct text){ 0 };
	for (int i = 0; i < PLAT_MAX_DRIVERS; i++)        /* 2 are built in already */
		text_add(&x, "driver drv%d kind=dma-api\n", i);
	c = (struct bad_case){ "drivers", x.s, 0, PLAT_MAX_DRIVERS - 1, "more than 32 drivers" };
	rc = parse_text(x.s, x.len, &t);
	assert_refused(&c, rc, t);
	free(x.s);

	x = (struct text){ 0 };
	text_add(&x, HDR "device a group=1 vfio=0");
	for (int i = 0; i < PLAT_TOPO_MAX_WORDS; i++)
		text_add(&x, " ats");
	c = (struct bad_case){ "words", x.s, 0, 3, "more than 32 words on one line" };
	rc = parse_text(x.s, x.len, &t);
	assert_refused(&c, rc, t);
	free(x.s);

	x = (struct text){ 0 };
	text_add(&x, HDR "# ");
	for (int i = 0; i < PLAT_TOPO_MAX_LINE; i++)
		text_add(&x, "x");
	c = (struct bad_case){ "long line", x.s, 0, 3, "the line is 1026 bytes long" };
	rc = parse_text(x.s, x.len, &t);
	assert_refused(&c, rc, t);
	free(x.s);
}

Test(platform, parse_refuses_huge_text)
{
	size_t len = PLAT_TOPO_MAX_BYTES + 1;
	char *big = malloc(len);
	struct plat_topology *t = (void *)1;

	cr_assert_not_null(big);
	memset(big, '#', len);
	assert_rc(-EINVAL, parse_text(big, len, &t));
	cr_assert_null(t);
	assert_has(err, "t.topo: 1048577 bytes; a topology is at most 1048576 bytes");
	free(big);
}

Test(platform, load_file_errors)
{
	char path[] = "/tmp/test_platform.XXXXXX";
	struct plat_topology *t = (void *)1;
	char *big;
	int fd;

	assert_rc(-ENOENT, plat_topology_load_file("/nonexistent/x.topo", &t, err, sizeof(err)));
	cr_assert_null(t);
	assert_has(err, "/nonexistent/x.topo: No such file or directory; check the path");

	assert_rc(-EISDIR, plat_topology_load_file("/tmp", &t, err, sizeof(err)));
	assert_has(err, "/tmp: is a directory");

	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	big = malloc(PLAT_TOPO_MAX_BYTES + 100);
	cr_assert_not_null(big);
	memset(big, '#', PLAT_TOPO_MAX_BYTES + 100);
	write_file(path, big, PLAT_TOPO_MAX_BYTES + 100);
	free(big);
	assert_rc(-EFBIG, plat_topology_load_file(path, &t, err, sizeof(err)));
	cr_assert_null(t);
	assert_has(err, "larger than 1048576 bytes");

	write_file(path, HDR "device a group=1 vfio=0 driver=nope\n",
		   strlen(HDR "device a group=1 vfio=0 driver=nope\n"));
	assert_rc(-EINVAL, plat_topology_load_file(path, &t, err, sizeof(err)));
	cr_assert(!strncmp(err, path, strlen(path)) && !strncmp(err + strlen(path), ":3: ", 4),
		  "'%s' does not start with '%s:3: '", err, path);
	unlink(path);
}

/* ==== ownership (private host) ========================================================== */

TestSuite(platform_state, .init = host_setup, .fini = host_teardown);

Test(platform_state, claim_by_another_owner_is_eperm)
{
	uint32_t gpu = dev("0000:01:00.0"), audio = dev("0000:01:00.1");

	assert_rc(0, platform_device_claim_dma_owner(plat, gpu, 1, why, sizeof(why)));
	assert_rc(-EPERM, platform_device_claim_dma_owner(plat, audio, 2, why, sizeof(why)));
	assert_has(why, "group 9 (device 0000:01:00.1): DMA is owned by another iommufd context");
	/* the same owner only counts up */
	assert_rc(0, platform_device_claim_dma_owner(plat, audio, 1, why, sizeof(why)));
	take_snapshot();
	cr_assert_eq(snap.groups[group_of("0000:01:00.0")].owner_cnt, 2);
	cr_assert_eq(snap.groups[group_of("0000:01:00.0")].owner.pid, getpid());
	cr_assert_eq(snap.groups[group_of("0000:01:00.0")].owner.cookie, 1);
	cr_assert_eq(snap.devices[gpu].user_pid, getpid());
	cr_assert_eq(snap.devices[audio].user_pid, getpid());
}

Test(platform_state, claim_with_dma_api_sibling_is_eperm_naming_it)
{
	uint32_t a = dev("0000:02:01.0"), nic = dev("0000:02:02.0");

	cr_assert_not(platform_group_viable(plat, group_of("0000:02:01.0"), why, sizeof(why)));
	assert_has(why, "0000:02:02.0");
	assert_rc(-EPERM, platform_device_claim_dma_owner(plat, a, 1, why, sizeof(why)));
	assert_has(why, "group 12: device 0000:02:02.0 is bound to kernel driver e1000e, which "
		   "uses the DMA API; unbind it (ioasid-platform unbind 0000:02:02.0) or bind it "
		   "to vfio-pci");
	take_snapshot();
	cr_assert_eq(snap.groups[group_of("0000:02:01.0")].owner_cnt, 1, "the e1000e user");

	assert_rc(0, platform_driver_unbind(plat, nic, why, sizeof(why)));
	cr_assert(platform_group_viable(plat, group_of("0000:02:01.0"), why, sizeof(why)));
	assert_rc(0, platform_device_claim_dma_owner(plat, a, 1, why, sizeof(why)));
}

Test(platform_state, first_claim_blocks_last_release_restores_default)
{
	uint32_t gpu = dev("0000:01:00.0"), audio = dev("0000:01:00.1");
	uint32_t g = group_of("0000:01:00.0");

	take_snapshot();
	cr_assert_eq(snap.groups[g].domain, PLAT_DOMAIN_DEFAULT);
	assert_rc(0, platform_device_claim_dma_owner(plat, gpu, 7, why, sizeof(why)));
	take_snapshot();
	cr_assert_eq(snap.groups[g].domain, PLAT_DOMAIN_BLOCKED);
	assert_rc(0, platform_device_claim_dma_owner(plat, audio, 7, why, sizeof(why)));
	platform_group_set_domain(plat, g, PLAT_DOMAIN_USER, 42);

	platform_device_release_dma_owner(plat, gpu);
	take_snapshot();
	cr_assert_eq(snap.groups[g].domain, PLAT_DOMAIN_USER, "one claim is left");
	cr_assert_eq(snap.groups[g].hw_domain_id, 42);
	cr_assert_eq(snap.groups[g].owner_cnt, 1);
	cr_assert_eq(snap.devices[gpu].user_pid, 0);

	platform_device_release_dma_owner(plat, audio);
	take_snapshot();
	cr_assert_eq(snap.groups[g].domain, PLAT_DOMAIN_DEFAULT);
	cr_assert_eq(snap.groups[g].hw_domain_id, 0);
	cr_assert_eq(snap.groups[g].owner_cnt, 0);
	cr_assert_eq(snap.groups[g].owner.pid, 0);
	/* an extra release is harmless */
	platform_device_release_dma_owner(plat, audio);
	take_snapshot();
	cr_assert_eq(snap.groups[g].owner_cnt, 0);
}

Test(platform_state, dma_api_bind_on_claimed_group_is_ebusy)
{
	uint32_t gpu = dev("0000:01:00.0"), audio = dev("0000:01:00.1");

	assert_rc(0, platform_device_claim_dma_owner(plat, gpu, 1, why, sizeof(why)));
	assert_rc(0, platform_driver_unbind(plat, audio, why, sizeof(why)));
	assert_rc(-EBUSY, platform_driver_bind(plat, audio, "snd_hda_intel", why, sizeof(why)));
	assert_has(why, "device 0000:01:00.1: group 9 is owned by a user");
	/* a driver that manages its own DMA may bind */
	assert_rc(0, platform_driver_bind(plat, audio, "pci-stub", why, sizeof(why)));
	assert_rc(0, platform_driver_unbind(plat, audio, why, sizeof(why)));

	platform_device_release_dma_owner(plat, gpu);
	assert_rc(0, platform_driver_bind(plat, audio, "snd_hda_intel", why, sizeof(why)));
	cr_assert_eq(platform_device_driver(plat, audio),
		     plat_topology_find_driver(platform_topology(plat), "snd_hda_intel"));
	assert_rc(-EPERM, platform_device_claim_dma_owner(plat, gpu, 1, why, sizeof(why)));
	assert_has(why, "0000:01:00.1 is bound to kernel driver snd_hda_intel");
}

/* iommu_device_use_default_domain(): with owner_cnt > 0, a PASID or a non-default domain
 * refuses too, even with no user owner. */
Test(platform_state, dma_api_bind_with_pasid_attached_is_ebusy)
{
	uint32_t a = dev("0000:02:01.0");
	uint32_t g = group_of("0000:02:01.0");

	assert_rc(0, platform_driver_unbind(plat, a, why, sizeof(why)));
	platform_group_pasid_get(plat, g);
	assert_rc(-EBUSY, platform_driver_bind(plat, a, "e1000e", why, sizeof(why)));
	assert_has(why, "1 PASIDs");
	platform_group_pasid_put(plat, g);
	assert_rc(0, platform_driver_bind(plat, a, "e1000e", why, sizeof(why)));
	take_snapshot();
	cr_assert_eq(snap.groups[g].owner_cnt, 2);
}

Test(platform_state, claim_with_pasid_attached_is_ebusy)
{
	uint32_t nvme = dev("0000:00:02.0");
	uint32_t g = group_of("0000:00:02.0");

	platform_group_pasid_get(plat, g);
	assert_rc(-EBUSY, platform_device_claim_dma_owner(plat, nvme, 1, why, sizeof(why)));
	assert_has(why, "group 3: 1 PASID attachment(s) still present");
	platform_group_pasid_put(plat, g);
	platform_group_pasid_put(plat, g);       /* below zero is ignored */
	assert_rc(0, platform_device_claim_dma_owner(plat, nvme, 1, why, sizeof(why)));
}

Test(platform_state, claim_off_the_default_domain_is_ebusy)
{
	uint32_t nvme = dev("0000:00:02.0");

	platform_group_set_domain(plat, group_of("0000:00:02.0"), PLAT_DOMAIN_USER, 3);
	assert_rc(-EBUSY, platform_device_claim_dma_owner(plat, nvme, 1, why, sizeof(why)));
	assert_has(why, "not on its default domain (it is on the user domain");
	platform_group_set_domain(plat, group_of("0000:00:02.0"), PLAT_DOMAIN_DEFAULT, 0);
	assert_rc(0, platform_device_claim_dma_owner(plat, nvme, 1, why, sizeof(why)));
}

Test(platform_state, legacy_group_claim_needs_an_unowned_group)
{
	uint32_t g = group_of("0000:01:00.0");
	uint32_t gpu = dev("0000:01:00.0");

	assert_rc(0, platform_group_claim_dma_owner(plat, g, 5, why, sizeof(why)));
	take_snapshot();
	cr_assert_eq(snap.groups[g].domain, PLAT_DOMAIN_BLOCKED);
	cr_assert_eq(snap.devices[gpu].user_pid, getpid(), "in use through the container");
	assert_rc(-EPERM, platform_group_claim_dma_owner(plat, g, 5, why, sizeof(why)));
	assert_has(why, "group 9: DMA is already owned by");
	assert_rc(-EPERM, platform_device_claim_dma_owner(plat, gpu, 6, why, sizeof(why)));
	assert_rc(-EBUSY, platform_driver_unbind(plat, gpu, why, sizeof(why)));
	platform_group_release_dma_owner(plat, g);
	take_snapshot();
	cr_assert_eq(snap.groups[g].domain, PLAT_DOMAIN_DEFAULT);
	cr_assert_eq(snap.groups[g].owner_cnt, 0);
	assert_rc(-EPERM, platform_group_claim_dma_owner(plat, group_of("0000:00:17.0"), 5, why,
							sizeof(why)));
	assert_has(why, "0000:00:17.0 is bound to kernel driver ahci");
}

Test(platform_state, group_fd_open_twice_is_ebusy)
{
	uint32_t g = group_of("0000:01:00.0");

	assert_rc(0, platform_vfio_group_open(plat, g, why, sizeof(why)));
	assert_rc(-EBUSY, platform_vfio_group_open(plat, g, why, sizeof(why)));
	assert_has(why, "group 9: /dev/vfio/9 is already open");
	take_snapshot();
	cr_assert_eq(snap.groups[g].group_fd_pid, getpid());
	platform_vfio_group_close(plat, g);
	assert_rc(0, platform_vfio_group_open(plat, g, why, sizeof(why)));
	/* no device on a user driver: the node does not exist */
	assert_rc(-ENODEV, platform_vfio_group_open(plat, group_of("0000:00:17.0"), why,
						    sizeof(why)));
	assert_has(why, "/dev/vfio/7 does not exist");
}

Test(platform_state, cdev_bind_while_group_fd_open_is_ebusy)
{
	uint32_t g = group_of("0000:01:00.0");
	uint32_t audio = dev("0000:01:00.1");

	assert_rc(0, platform_vfio_group_open(plat, g, why, sizeof(why)));
	assert_rc(-EBUSY, platform_vfio_cdev_bind(plat, audio, why, sizeof(why)));
	assert_has(why, "its group 9 is open as /dev/vfio/9");
	platform_vfio_group_close(plat, g);
	assert_rc(0, platform_vfio_cdev_bind(plat, audio, why, sizeof(why)));
}

Test(platform_state, group_fd_open_while_cdev_bound_is_ebusy)
{
	uint32_t g = group_of("0000:01:00.0");
	uint32_t gpu = dev("0000:01:00.0");

	assert_rc(0, platform_vfio_cdev_bind(plat, gpu, why, sizeof(why)));
	take_snapshot();
	cr_assert_eq(snap.groups[g].cdev_bound, 1);
	cr_assert_eq(snap.devices[gpu].user_pid, getpid());
	assert_rc(-EBUSY, platform_vfio_group_open(plat, g, why, sizeof(why)));
	assert_has(why, "device 0000:01:00.0 is bound through its cdev /dev/vfio/devices/vfio3");
	/* a cdev is bound once at a time (vfio_df_open) */
	assert_rc(-EINVAL, platform_vfio_cdev_bind(plat, gpu, why, sizeof(why)));
	platform_vfio_cdev_unbind(plat, gpu);
	assert_rc(0, platform_vfio_group_open(plat, g, why, sizeof(why)));
}

Test(platform_state, cdev_bind_needs_a_user_driver)
{
	assert_rc(-ENODEV, platform_vfio_cdev_bind(plat, dev("0000:02:02.0"), why, sizeof(why)));
	assert_has(why, "device 0000:02:02.0: bound to e1000e, not to a user driver");
	assert_rc(0, platform_vfio_cdev_bind(plat, dev("mdev0"), why, sizeof(why)));
}

Test(platform_state, unbind_user_driver_in_use_is_ebusy)
{
	uint32_t nvme = dev("0000:00:02.0");
	char pid[32];

	snprintf(pid, sizeof(pid), "pid %d", (int)getpid());
	assert_rc(0, platform_device_claim_dma_owner(plat, nvme, 1, why, sizeof(why)));
	assert_rc(-EBUSY, platform_driver_unbind(plat, nvme, why, sizeof(why)));
	assert_has(why, "device 0000:00:02.0: vfio-pci is in use by ");
	assert_has(why, pid);
	platform_device_release_dma_owner(plat, nvme);

	assert_rc(0, platform_vfio_cdev_bind(plat, nvme, why, sizeof(why)));
	assert_rc(-EBUSY, platform_driver_unbind(plat, nvme, why, sizeof(why)));
	assert_has(why, "through its cdev");
	platform_vfio_cdev_unbind(plat, nvme);

	assert_rc(0, platform_driver_unbind(plat, nvme, why, sizeof(why)));
	cr_assert_eq(platform_device_driver(plat, nvme), -1);
}

Test(platform_state, driver_bind_and_unbind_errors)
{
	uint32_t nvme = dev("0000:00:02.0");

	assert_rc(-ENOENT, platform_driver_bind(plat, nvme, "i915", why, sizeof(why)));
	assert_has(why, "driver 'i915': not known on this host; use one of vfio-pci, pci-stub");
	assert_rc(-EBUSY, platform_driver_bind(plat, nvme, "nvme", why, sizeof(why)));
	assert_has(why, "device 0000:00:02.0: already bound to vfio-pci; unbind it first");
	assert_rc(0, platform_driver_unbind(plat, nvme, why, sizeof(why)));
	assert_rc(-ENODEV, platform_driver_unbind(plat, nvme, why, sizeof(why)));
	assert_has(why, "no driver is bound");
	assert_rc(0, platform_driver_bind(plat, nvme, "nvme", why, sizeof(why)));
	assert_rc(-ENODEV, platform_driver_bind(plat, 999, "nvme", why, sizeof(why)));
	assert_has(why, "device index 999: no such device");
}

/* ==== shared hosts ====================================================================== */

/* The platform of the test process must not be inherited into assertions by children:
 * children report through a pipe and leave with _exit(). */
static void child_report(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		_exit(3);
}

static char wait_report(int fd)
{
	char c = 0;

	cr_assert_eq(read(fd, &c, 1), 1, "the child did not report");
	return c;
}

TestSuite(platform_shared, .fini = host_teardown);

Test(platform_shared, forked_child_claims_parent_sees_and_reclaims)
{
	const char *name = shared_name("fork");
	int to_parent[2], to_child[2], status;
	uint32_t nvme, gpu_group, far;
	char pid_text[32];
	pid_t child;

	assert_rc(0, platform_open(NULL, name, &plat, err, sizeof(err)));
	nvme = dev("0000:00:02.0");
	gpu_group = group_of("0000:01:00.0");
	far = dev("0000:80:00.0");
	cr_assert_eq(pipe(to_parent), 0);
	cr_assert_eq(pipe(to_child), 0);

	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		struct platform *cp;
		char c;

		/* its own handle: joins the segment by name */
		if (platform_open(NULL, name, &cp, err, sizeof(err)) ||
		    platform_device_claim_dma_owner(cp, nvme, 1, why, sizeof(why)) ||
		    platform_vfio_group_open(cp, gpu_group, why, sizeof(why)) ||
		    platform_vfio_cdev_bind(cp, far, why, sizeof(why)))
			child_report(to_parent[1], 'E');
		else
			child_report(to_parent[1], 'K');
		if (read(to_child[0], &c, 1) < 0)
			_exit(4);
		_exit(0);          /* dies with everything still held */
	}
	cr_assert_eq(wait_report(to_parent[0]), 'K');

	take_snapshot();
	cr_assert_eq(snap.groups[group_of("0000:00:02.0")].owner.pid, child);
	cr_assert_eq(snap.groups[group_of("0000:00:02.0")].domain, PLAT_DOMAIN_BLOCKED);
	cr_assert_eq(snap.devices[nvme].user_pid, child);
	cr_assert_eq(snap.groups[gpu_group].group_fd_pid, child);
	cr_assert_eq(snap.devices[far].user_pid, child);
	snprintf(pid_text, sizeof(pid_text), "pid %d", (int)child);
	assert_rc(-EPERM, platform_device_claim_dma_owner(plat, nvme, 1, why, sizeof(why)));
	assert_has(why, pid_text);
	assert_rc(-EBUSY, platform_driver_unbind(plat, nvme, why, sizeof(why)));
	assert_has(why, pid_text);
	assert_rc(-EBUSY, platform_vfio_group_open(plat, gpu_group, why, sizeof(why)));

	cr_assert_eq(write(to_child[1], "x", 1), 1);
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* the next call reclaims what the dead child held */
	take_snapshot();
	cr_assert_eq(snap.groups[group_of("0000:00:02.0")].owner.pid, 0);
	cr_assert_eq(snap.groups[group_of("0000:00:02.0")].owner_cnt, 0);
	cr_assert_eq(snap.groups[group_of("0000:00:02.0")].domain, PLAT_DOMAIN_DEFAULT);
	cr_assert_eq(snap.devices[nvme].user_pid, 0);
	cr_assert_eq(snap.groups[gpu_group].group_fd_pid, 0);
	cr_assert_eq(snap.devices[far].user_pid, 0);
	cr_assert_eq(snap.groups[group_of("0000:80:00.0")].cdev_bound, 0);
	assert_rc(0, platform_device_claim_dma_owner(plat, nvme, 1, why, sizeof(why)));
	assert_rc(0, platform_vfio_group_open(plat, gpu_group, why, sizeof(why)));
	close(to_parent[0]);
	close(to_parent[1]);
	close(to_child[0]);
	close(to_child[1]);
}

/* A child that exited but was not reaped yet (a zombie) has closed its files already. */
Test(platform_shared, zombie_owner_is_reclaimed)
{
	const char *name = shared_name("zombie");
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	int to_parent[2], status, tries;
	uint32_t nvme;
	pid_t child;

	assert_rc(0, platform_open(NULL, name, &plat, err, sizeof(err)));
	nvme = dev("0000:00:02.0");
	cr_assert_eq(pipe(to_parent), 0);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		child_report(to_parent[1], platform_device_claim_dma_owner(plat, nvme, 9, why,
									     sizeof(why)) ? 'E' : 'K');
		_exit(0);
	}
	close(to_parent[1]);
	cr_assert_eq(wait_report(to_parent[0]), 'K');
	/* the claim outlives the child's exit only until it is a zombie */
	for (tries = 0; tries < 2500; tries++) {
		take_snapshot();
		if (!snap.groups[group_of("0000:00:02.0")].owner.pid)
			break;
		nanosleep(&pause, NULL);
	}
	cr_assert_eq(snap.groups[group_of("0000:00:02.0")].owner.pid, 0,
		     "the zombie's claim was not reclaimed");
	cr_assert_eq(waitpid(child, &status, WNOHANG), child, "the child was reaped early");
	assert_rc(0, platform_device_claim_dma_owner(plat, nvme, 1, why, sizeof(why)));
	close(to_parent[0]);
}

Test(platform_shared, lock_held_by_a_dead_process_is_recovered)
{
	const char *name = shared_name("robust");
	uint32_t gpu;
	pid_t child;
	int status;

	assert_rc(0, platform_open(NULL, name, &plat, err, sizeof(err)));
	gpu = dev("0000:01:00.0");
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		struct platform *cp;

		if (platform_open(NULL, name, &cp, err, sizeof(err)) ||
		    platform_device_claim_dma_owner(cp, gpu, 1, why, sizeof(why)) ||
		    platform_debug_hold_lock(cp))
			_exit(1);
		_exit(0);          /* dies holding the lock */
	}
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	take_snapshot();           /* EOWNERDEAD: made consistent, then the claim reclaimed */
	cr_assert_eq(snap.groups[group_of("0000:01:00.0")].owner.pid, 0);
	assert_rc(0, platform_device_claim_dma_owner(plat, gpu, 1, why, sizeof(why)));
	take_snapshot();
	cr_assert_eq(snap.groups[group_of("0000:01:00.0")].owner.pid, getpid());
}

/* Four processes create the same host at once: one segment, everybody on it. */
Test(platform_shared, creators_racing_share_one_host)
{
	static const char *devs[] = { "0000:00:02.0", "0000:00:04.0", "0000:80:00.0", "mdev0" };
	const char *name = shared_name("race");
	int go[2], done[2], release[2], status;
	const struct plat_topology *t = plat_topology_default();
	pid_t children[4];
	char prefix[128];
	struct dirent *de;
	DIR *dir;

	cr_assert_eq(pipe(go), 0);
	cr_assert_eq(pipe(done), 0);
	cr_assert_eq(pipe(release), 0);
	for (int i = 0; i < 4; i++) {
		children[i] = fork();
		cr_assert_geq(children[i], 0);
		if (children[i] == 0) {
			struct platform *cp;
			char c;
			int d = plat_topology_find_device(t, devs[i]);

			close(go[1]);
			close(release[1]);
			if (read(go[0], &c, 1) != 0)    /* EOF: the parent let everyone go */
				_exit(5);
			if (platform_open(NULL, name, &cp, err, sizeof(err)) ||
			    platform_device_claim_dma_owner(cp, (uint32_t)d, 1, why, sizeof(why)))
				child_report(done[1], 'E');
			else
				child_report(done[1], 'K');
			if (read(release[0], &c, 1) < 0)
				_exit(4);
			_exit(0);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(wait_report(done[0]), 'K', "a racing creator failed");

	assert_rc(0, platform_open(NULL, name, &plat, err, sizeof(err)));
	take_snapshot();
	for (int i = 0; i < 4; i++)
		cr_assert_eq(snap.groups[group_of(devs[i])].owner.pid, children[i],
			     "%s: owner %d, expected child %d", devs[i],
			     snap.groups[group_of(devs[i])].owner.pid, children[i]);
	close(release[1]);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(waitpid(children[i], &status, 0), children[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* no temporary segment left behind by the losers */
	snprintf(prefix, sizeof(prefix), "." PLAT_SHARED_PREFIX "creating.%s.", name);
	dir = opendir(PLAT_SHARED_DIR);
	cr_assert_not_null(dir);
	while ((de = readdir(dir)))
		cr_assert(strncmp(de->d_name, prefix, strlen(prefix)), "left behind: %s",
			  de->d_name);
	closedir(dir);
	close(release[0]);
	close(done[0]);
	close(done[1]);
}

Test(platform_shared, join_with_another_topology_is_eexist)
{
	static const char text[] = HDR "device a group=1 vfio=0 driver=vfio-pci\n";
	const char *name = shared_name("hash");
	struct plat_topology *other, *same;
	struct platform *p2 = NULL;
	char path[PATH_MAX];

	assert_rc(0, platform_open(NULL, name, &plat, err, sizeof(err)));
	assert_rc(0, parse_text(text, sizeof(text) - 1, &other));
	assert_rc(-EEXIST, platform_open(other, name, &p2, err, sizeof(err)));
	cr_assert_null(p2);
	assert_has(err, "was created from topology 'built-in default'");
	assert_has(err, "this process loads 't.topo'");
	assert_has(err, "reset");
	plat_topology_free(other);

	/* the same host from a file: same hash, joins */
	assert_rc(0, plat_topology_load_file(default_topo_path(path, sizeof(path)), &same, err,
					     sizeof(err)));
	assert_rc(0, platform_open(same, name, &p2, err, sizeof(err)));
	assert_rc(0, platform_device_claim_dma_owner(p2, dev("0000:00:02.0"), 1, why,
						     sizeof(why)));
	take_snapshot();
	cr_assert_eq(snap.groups[group_of("0000:00:02.0")].owner.pid, getpid(),
		     "both handles see one host");
	platform_close(p2);
	plat_topology_free(same);
}

Test(platform_shared, bad_names_and_foreign_segments)
{
	const char *name = shared_name("foreign");
	char path[256];
	struct platform *p = NULL;

	assert_rc(-EINVAL, platform_open(NULL, "a/b", &p, err, sizeof(err)));
	assert_has(err, "platform name 'a/b' is not valid");
	assert_rc(-EINVAL, platform_open(NULL, "", &p, err, sizeof(err)));
	assert_rc(-EINVAL, platform_open(NULL, "..", &p, err, sizeof(err)));
	assert_rc(-ENOENT, platform_unlink_shared(name));
	assert_rc(-ENOENT, platform_join_shared(name, &p, err, sizeof(err)));
	assert_has(err, "no shared host at");

	cr_assert_eq(platform_shared_path(name, path, sizeof(path)), 0);
	write_file(path, "not a platform", 14);
	assert_rc(-EINVAL, platform_open(NULL, name, &p, err, sizeof(err)));
	assert_has(err, "reset");
	cr_assert_null(p);
	assert_rc(0, platform_unlink_shared(name));
}

/* ==== the process's platform ============================================================= */

Test(platform_shared, default_platform_from_the_environment)
{
	static const char text[] = HDR "device a group=1 vfio=0 driver=vfio-pci\n";
	const char *name = shared_name("env");
	char path[] = "/tmp/test_platform.XXXXXX";
	struct platform *p1, *p2;
	int fd;

	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	write_file(path, text, sizeof(text) - 1);

	setenv("IOASID_TOPOLOGY", path, 1);
	setenv("IOASID_PLATFORM", "", 1);
	assert_rc(0, platform_default(&p1));
	assert_rc(0, platform_default(&p2));
	cr_assert_eq(p1, p2, "opened once");
	cr_assert_str_eq(platform_topology(p1)->source, path);
	cr_assert_null(platform_shared_name(p1), "empty IOASID_PLATFORM: private");

	setenv("IOASID_PLATFORM", name, 1);
	platform_set_default(NULL);
	assert_rc(0, platform_default(&p1));
	cr_assert_str_eq(platform_shared_name(p1), name);

	/* a broken file: the error, every time, until replaced */
	write_file(path, "bogus\n", 6);
	platform_set_default(NULL);
	assert_rc(-EINVAL, platform_default(&p1));
	cr_assert_null(p1);
	assert_rc(-EINVAL, platform_default(&p1));

	assert_rc(0, platform_open(NULL, NULL, &p2, err, sizeof(err)));
	platform_set_default(p2);
	assert_rc(0, platform_default(&p1));
	cr_assert_eq(p1, p2);
	platform_set_default(NULL);
	unlink(path);
}
