/* private_host.h — the tests' mock host: a private copy of the built-in default platform
 * (nothing shared in /dev/shm, so tests running in parallel never meet), made this process's
 * default, and a way back to it. Include after <criterion/criterion.h>. */
#ifndef IOASID_TESTS_PRIVATE_HOST_H
#define IOASID_TESTS_PRIVATE_HOST_H

#include <criterion/criterion.h>

#include "platform/platform.h"

static inline void private_host_open(void)
{
	struct platform *p;
	char err[256];
	int rc = platform_open(plat_topology_default(), NULL, &p, err, sizeof(err));

	cr_assert_eq(rc, 0, "platform_open(default): %d: %s", rc, err);
	platform_set_default(p);
}

/* The process's host (the one private_host_open made). */
static inline struct platform *plat(void)
{
	struct platform *p;

	cr_assert_eq(platform_default(&p), 0);
	return p;
}

#endif
