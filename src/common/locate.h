/* locate.h — where the toolkit's own files are: the LD_PRELOAD shim and the tools.
 *
 * Looked up the same way by every tool and by the trace library (which launches commands under
 * the shim and attaches to the shim's probes): an environment override, then next to the
 * running executable (build tree or installed tree: ../lib/, ../bin/), then the compiled-in
 * prefix, then /usr. */
#ifndef IOASID_COMMON_LOCATE_H
#define IOASID_COMMON_LOCATE_H

#include <stddef.h>

#define IOASID_PRELOAD_NAME "libioasid-preload.so"

/* The shim's absolute path in out: 0, or -errno with a message in err naming every place
 * looked at and the fix. IOASID_PRELOAD overrides. */
int ioasid_locate_preload(char *out, size_t outsz, char *err, size_t errsz);

/* A tool (e.g. "ioasid-run") by the same rules (override: IOASID_BINDIR). */
int ioasid_locate_tool(const char *name, char *out, size_t outsz, char *err, size_t errsz);

#endif
