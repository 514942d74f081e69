/* inject.c — the switchboard of the reference's named bugs (catalogue: inject.h).
 *
 * Owns: the process-wide bug mask and the one-time reading of IOASID_INJECT. The bugs
 * themselves live at their decision points in src/reference, src/platform and src/mockhw, each
 * behind one `if (inject_on(INJECT_...))`; this file only says which are on.
 *
 * Why a process-wide mask: the bugs model a broken kernel, and a kernel is one per host; a
 * checker test switches one bug on, runs a workload, and looks at the events. A test process
 * (Criterion forks one per test) sets it once, so there is no per-context or per-thread state.
 *
 * Invariants: only names of the catalogue ever set a bit; a list with an unknown name changes
 * nothing (all or nothing) and returns -EINVAL with ioasid_last_error() naming the bad name and
 * listing the known ones.
 *
 * Locking: the mask is written with a release store by ioasid_inject_set() and read with a
 * relaxed load by inject_on() (a bug switched on while another thread is inside the reference
 * takes effect at that thread's next decision point). IOASID_INJECT is read under pthread_once,
 * so the first context open and the first platform load may race safely; an explicit
 * ioasid_inject_set() runs that once first, so the caller's choice is never overwritten by the
 * environment afterwards.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ioasid/ioasid.h"
#include "common/inject.h"

/* reference/device.c: the thread's last refusal (ioasid_last_error()). */
void ref_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

uint32_t inject_mask;

static const char *const bug_names[INJECT_NR] = {
#define INJECT_X_NAME(up, name, rule, doc) [INJECT_##up] = name,
	IOASID_INJECT_BUGS(INJECT_X_NAME)
#undef INJECT_X_NAME
};

static char names_list[INJECT_NR * 32];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static void names_init(void)
{
	size_t off = 0;

	for (int i = 0; i < INJECT_NR; i++)
		off += (size_t)snprintf(names_list + off, sizeof(names_list) - off, "%s%s",
					i ? "," : "", bug_names[i]);
}

const char *ioasid_inject_names(void)
{
	pthread_once(&names_once, names_init);
	return names_list;
}

static int bug_find(const char *name, size_t len)
{
	for (int i = 0; i < INJECT_NR; i++)
		if (strlen(bug_names[i]) == len && !strncmp(bug_names[i], name, len))
			return i;
	return -1;
}

/* Parse a comma-separated list (spaces around names allowed) into *mask; -EINVAL names the
 * first unknown name, `source` says where the list came from. */
static int parse_list(const char *list, const char *source, uint32_t *mask)
{
	const char *p = list ? list : "";

	*mask = 0;
	while (*p) {
		const char *start, *end;
		int bug;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		bug = bug_find(start, (size_t)(end - start));
		if (bug < 0) {
			ref_set_error("%s: unknown bug '%.*s'; known bugs: %s", source,
				      (int)(end - start), start, ioasid_inject_names());
			return -EINVAL;
		}
		*mask |= 1u << bug;
	}
	return 0;
}

static void env_apply(void)
{
	const char *s = getenv("IOASID_INJECT");
	uint32_t mask;

	if (!s || !*s)
		return;
	if (parse_list(s, "IOASID_INJECT", &mask) == 0)
		__atomic_store_n(&inject_mask, mask, __ATOMIC_RELEASE);
	/* an unknown name: the message went to stderr (ref_set_error); nothing is switched on */
}

void inject_init_from_env(void)
{
	pthread_once(&env_once, env_apply);
}

int ioasid_inject_set(const char *list)
{
	uint32_t mask;
	int rc;

	inject_init_from_env();
	rc = parse_list(list, "ioasid_inject_set", &mask);
	if (rc)
		return rc;
	__atomic_store_n(&inject_mask, mask, __ATOMIC_RELEASE);
	return 0;
}

int ioasid_inject_enabled(const char *name)
{
	int bug = name ? bug_find(name, strlen(name)) : -1;

	if (bug < 0)
		return -EINVAL;
	return inject_on((enum inject_bug)bug);
}
