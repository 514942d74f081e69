/* locate.c — finding the shim and the tools (see locate.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/locate.h"

#ifndef IOASID_PREFIX
#define IOASID_PREFIX "/usr/local"
#endif

/* A readable regular file? 0 or an errno. */
static int file_usable(const char *path)
{
	struct stat st;

	if (access(path, R_OK))
		return errno;
	if (stat(path, &st))
		return errno;
	return S_ISDIR(st.st_mode) ? EISDIR : 0;
}

/* Find `name` in `subdir` next to the executable, the prefix and /usr. */
static int locate(const char *env_name, const char *env_is_dir, const char *subdir,
		  const char *name, char *out, size_t outsz, char *err, size_t errsz)
{
	char candidates[5][PATH_MAX];
	char exe[PATH_MAX - 64];
	const char *env = getenv(env_name);
	int n = 0, i, e;
	ssize_t len;
	size_t used;

	if (env && *env) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s%s%s", env, env_is_dir ? "/" : "",
			 env_is_dir ? name : "");
		e = file_usable(path);
		if (e) {
			if (env_is_dir)
				snprintf(err, errsz, "%s=%s: %s: %s: point it at the build's bin "
					 "directory or unset it", env_name, env, path, strerror(e));
			else
				snprintf(err, errsz, "%s=%s: %s: point it at a built %s or unset it "
					 "to use the one next to the tools", env_name, env,
					 strerror(e), name);
			return -e;
		}
		if (!realpath(path, out))
			snprintf(out, outsz, "%s", path);
		return 0;
	}
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		char *slash;

		exe[len] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(candidates[n++], PATH_MAX, "%s/../%s/%s", exe, subdir, name);
			snprintf(candidates[n++], PATH_MAX, "%s/%s", exe, name);
			/* the sanitizer build's tests (build/asan/tests) use build/'s tools */
			snprintf(candidates[n++], PATH_MAX, "%s/../../%s/%s", exe, subdir, name);
		}
	}
	snprintf(candidates[n++], PATH_MAX, "%s/%s/%s", IOASID_PREFIX, subdir, name);
	snprintf(candidates[n++], PATH_MAX, "/usr/%s/%s", subdir, name);
	for (i = 0; i < n; i++)
		if (file_usable(candidates[i]) == 0 && realpath(candidates[i], out))
			return 0;
	used = (size_t)snprintf(err, errsz, "%s: not found; looked in:", name);
	for (i = 0; i < n && used < errsz; i++)
		used += (size_t)snprintf(err + used, errsz - used, " %s", candidates[i]);
	if (used < errsz)
		snprintf(err + used, errsz - used, "; build it with 'make' in the ioasid tree, or set "
			 "%s", env_name);
	return -ENOENT;
}

int ioasid_locate_preload(char *out, size_t outsz, char *err, size_t errsz)
{
	return locate("IOASID_PRELOAD", NULL, "lib", IOASID_PRELOAD_NAME, out, outsz, err, errsz);
}

int ioasid_locate_tool(const char *name, char *out, size_t outsz, char *err, size_t errsz)
{
	return locate("IOASID_BINDIR", "dir", "bin", name, out, outsz, err, errsz);
}
