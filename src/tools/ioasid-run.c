/* ioasid-run — run an unmodified program against the userspace iommufd reference.
 *
 * Like umockdev-run: it puts libioasid-preload.so in front of LD_PRELOAD, passes the options on
 * to the shim through the environment, and execs the command. It owns nothing after exec.
 *
 *   where the shim is   $IOASID_PRELOAD, else <dir of /proc/self/exe>/../lib (the build tree's
 *                       build/bin → build/lib, and the install layout $PREFIX/bin →
 *                       $PREFIX/lib), else $IOASID_PREFIX/lib (compiled in, default
 *                       /usr/local), else /usr/lib.
 *   what it exports     LD_PRELOAD (prepended, not duplicated), IOASID_TOPOLOGY (absolute path),
 *                       IOASID_PLATFORM (the shared mock host: --platform NAME, "" with
 *                       --private-platform; else kept from the environment, else "default"),
 *                       IOASID_FAIL_NTH, IOASID_SHIM_DEBUG=1 with -v.
 *   exit status         the command's; 2 usage error; 125 ioasid-run itself failed (no shim);
 *                       126 the command cannot be run; 127 the command was not found (as env).
 *
 * Every error names the object and the value, and says what to do.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/locate.h"

#ifndef IOASID_PREFIX
#define IOASID_PREFIX "/usr/local"
#endif
#ifndef IOASID_VERSION
#define IOASID_VERSION "0.1.0"
#endif

#define PRELOAD_NAME IOASID_PRELOAD_NAME

enum {
	EXIT_USAGE = 2,
	EXIT_SELF = 125,
	EXIT_CANNOT_RUN = 126,
	EXIT_NOT_FOUND = 127,
};

static bool verbose;

static void usage(FILE *out)
{
	fprintf(out,
"Usage: ioasid-run [OPTIONS] [--] COMMAND [ARG...]\n"
"\n"
"Run COMMAND with the ioasid LD_PRELOAD shim: its open(\"/dev/iommu\") (or \"/dev/ioasid\")\n"
"gets a context of the userspace iommufd reference over a mock IOMMU instead of the kernel's.\n"
"The program needs no change, no root and no IOMMU; every other file behaves as usual.\n"
"\n"
"Options:\n"
"  -t, --topology FILE   mock platform topology (exported as IOASID_TOPOLOGY)\n"
"  -p, --platform NAME   share the mock host NAME with other processes: devices, groups,\n"
"                        drivers and DMA owners live in /dev/shm/ioasid-platform.NAME\n"
"                        (exported as IOASID_PLATFORM; default: $IOASID_PLATFORM if set,\n"
"                        else \"default\"; see 'ioasid-platform show')\n"
"      --private-platform  give COMMAND a host of its own, seen by no other process\n"
"                        (exported as IOASID_PLATFORM=\"\")\n"
"  -f, --fail-nth N      make the Nth allocation of the reference fail, in the thread that\n"
"                        opens the first context (exported as IOASID_FAIL_NTH; N >= 1)\n"
"  -v, --verbose         say what is set up, and log every shim call on stderr\n"
"                        (exported as IOASID_SHIM_DEBUG=1)\n"
"  -h, --help            print this help and exit\n"
"  -V, --version         print the version and exit\n"
"\n"
"Environment:\n"
"  IOASID_PRELOAD        the shim to use instead of the one found next to ioasid-run\n"
"                        (../lib/" PRELOAD_NAME ", then " IOASID_PREFIX "/lib)\n"
"  LD_PRELOAD            kept; the shim is put in front of it\n"
"  IOASID_PLATFORM       kept when --platform/--private-platform are not given\n"
"\n"
"Examples:\n"
"  ioasid-run -- ./my-vmm --iommufd /dev/iommu\n"
"  ioasid-run --fail-nth 3 -- ./tests/clients/ioas_client\n"
"  ioasid-run -v --topology two-groups.topo -- qemu-system-x86_64 -object iommufd,id=fd0 ...\n"
"  ioasid-run --platform lab -- ./vmm-a &  ioasid-run --platform lab -- ./vmm-b\n"
"  IOASID_PRELOAD=$PWD/build/lib/" PRELOAD_NAME " ioasid-run -- sh -c 'exec ./client'\n"
"\n"
"Exit status: COMMAND's own; 2 for a usage error; 125 if ioasid-run itself fails;\n"
"126 if COMMAND cannot be run; 127 if COMMAND is not found.\n");
}

/* A usage error: the message, a pointer to --help when the command line itself is malformed
 * (not when only a value is wrong: the message says what to give instead), exit 2. */
static void die_usage_v(bool hint, const char *fmt, va_list ap)
{
	fputs("ioasid-run: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	if (hint)
		fputs("Try 'ioasid-run --help' for more information.\n", stderr);
	exit(EXIT_USAGE);
}

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die_usage_v(true, fmt, ap);
	va_end(ap);
	exit(EXIT_USAGE);
}

static void die_value(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_value(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	die_usage_v(false, fmt, ap);
	va_end(ap);
	exit(EXIT_USAGE);
}

/* A readable regular file? 0 or an errno. */
static int file_readable(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	if (fstat(fd, &st) < 0) {
		int err = errno;

		close(fd);
		return err;
	}
	close(fd);
	return S_ISDIR(st.st_mode) ? EISDIR : 0;
}

/* The shim's absolute path in `out`, or exit with EXIT_SELF naming every place looked at. */
static void preload_find(char *out, size_t outsz)
{
	char err[PATH_MAX * 4];

	if (ioasid_locate_preload(out, outsz, err, sizeof(err)) == 0)
		return;
	fprintf(stderr, "ioasid-run: %s\n", err);
	exit(EXIT_SELF);
}

/* Is `path` already one of LD_PRELOAD's entries (separated by ':' or ' ')? */
static bool preload_has(const char *list, const char *path)
{
	size_t plen = strlen(path);
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ": ");

		if (n == plen && strncmp(p, path, n) == 0)
			return true;
		p += n;
		while (*p == ':' || *p == ' ')
			p++;
	}
	return false;
}

static void preload_export(const char *shim)
{
	const char *old = getenv("LD_PRELOAD");
	char *val;

	if (strpbrk(shim, ": ")) {
		fprintf(stderr, "ioasid-run: shim path '%s' contains ':' or ' ', which LD_PRELOAD "
			"cannot carry: move the tree, or set IOASID_PRELOAD to a copy at a plain "
			"path\n", shim);
		exit(EXIT_SELF);
	}
	if (old && *old) {
		if (preload_has(old, shim))
			return;
		if (asprintf(&val, "%s:%s", shim, old) < 0) {
			fprintf(stderr, "ioasid-run: LD_PRELOAD: out of memory\n");
			exit(EXIT_SELF);
		}
		setenv("LD_PRELOAD", val, 1);
		free(val);
	} else {
		setenv("LD_PRELOAD", shim, 1);
	}
}

static unsigned int parse_fail_nth(const char *s)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || n == 0 || n > UINT_MAX)
		die_value("--fail-nth '%s': not a count: give a whole number N >= 1 "
			  "(the Nth allocation of the reference fails)", s);
	return (unsigned int)n;
}

/* The shared host name: checked here only for what would make it a path; the library
 * checks the rest and says so when the command opens its first context. */
static void platform_check_name(const char *name)
{
	if (!*name)
		die_value("--platform '': give a name, or --private-platform for a private host");
	if (strchr(name, '/'))
		die_value("--platform '%s': a name, not a path: use letters, digits, '_', '.' "
			  "or '-'", name);
}

static void topology_export(const char *path)
{
	char abs[PATH_MAX];
	int err = file_readable(path);

	if (err)
		die_value("topology file %s: %s: check the path", path, strerror(err));
	/* Absolute, so that a command that changes directory still finds it. */
	setenv("IOASID_TOPOLOGY", realpath(path, abs) ? abs : path, 1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "topology", required_argument, NULL, 't' },
		{ "fail-nth", required_argument, NULL, 'f' },
		{ "platform", required_argument, NULL, 'p' },
		{ "private-platform", no_argument, NULL, 'P' },
		{ "verbose",  no_argument,       NULL, 'v' },
		{ "help",     no_argument,       NULL, 'h' },
		{ "version",  no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *topology = NULL;
	const char *platform = NULL;    /* "": private */
	unsigned int fail_nth = 0;
	char shim[PATH_MAX];
	char num[16];
	int c, i;

	opterr = 0;
	/* '+': stop at the first non-option, so COMMAND's own options stay its own. */
	while ((c = getopt_long(argc, argv, "+:t:f:p:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			topology = optarg;
			break;
		case 'f':
			fail_nth = parse_fail_nth(optarg);
			break;
		case 'p':
			platform_check_name(optarg);
			platform = optarg;
			break;
		case 'P':
			platform = "";
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ioasid-run %s\n", IOASID_VERSION);
			return 0;
		case ':':
			die_usage("option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt)
				die_usage("unknown option '-%c'", optopt);
			die_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		die_usage("no command given: put it after the options, e.g. "
			  "'ioasid-run -- ./client'");

	preload_find(shim, sizeof(shim));
	preload_export(shim);
	if (topology)
		topology_export(topology);
	if (platform)
		setenv("IOASID_PLATFORM", platform, 1);
	else
		setenv("IOASID_PLATFORM", "default", 0);
	if (fail_nth) {
		snprintf(num, sizeof(num), "%u", fail_nth);
		setenv("IOASID_FAIL_NTH", num, 1);
	}
	if (verbose) {
		setenv("IOASID_SHIM_DEBUG", "1", 0);
		fprintf(stderr, "ioasid-run: shim %s\n", shim);
		fprintf(stderr, "ioasid-run: LD_PRELOAD=%s\n", getenv("LD_PRELOAD"));
		if (topology)
			fprintf(stderr, "ioasid-run: IOASID_TOPOLOGY=%s\n", getenv("IOASID_TOPOLOGY"));
		fprintf(stderr, "ioasid-run: IOASID_PLATFORM=%s%s\n", getenv("IOASID_PLATFORM"),
			*getenv("IOASID_PLATFORM") ? "" : " (private host)");
		if (fail_nth)
			fprintf(stderr, "ioasid-run: IOASID_FAIL_NTH=%u\n", fail_nth);
		fprintf(stderr, "ioasid-run: exec");
		for (i = optind; i < argc; i++)
			fprintf(stderr, " %s", argv[i]);
		fputc('\n', stderr);
	}

	execvp(argv[optind], &argv[optind]);
	c = errno;
	if (c == ENOENT || c == ENOTDIR) {
		fprintf(stderr, "ioasid-run: command '%s': not found%s: check the name, or give "
			"its path\n", argv[optind], strchr(argv[optind], '/') ? "" : " in PATH");
		return EXIT_NOT_FOUND;
	}
	fprintf(stderr, "ioasid-run: command '%s': %s: check that it is an executable file\n",
		argv[optind], strerror(c));
	return EXIT_CANNOT_RUN;
}
