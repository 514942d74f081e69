/* alloc.c — allocation wrappers with the fail-nth injection point and a live counter.
 * Design note in alloc.h. The live counter is process-wide and atomic; the fail-nth counter
 * is thread-local, so concurrent threads do not steal each other's injected failure. */
#include "alloc.h"
#include "../../include/ioasid/ioasid.h"

#include <stdlib.h>
#include <string.h>

static __thread unsigned int fail_nth_left;
static int64_t live_allocs;

void ioasid_fail_nth_set(unsigned int nth)
{
	fail_nth_left = nth;
}

unsigned int ioasid_fail_nth_get(void)
{
	return fail_nth_left;
}

bool ioasid_should_fail(void)
{
	if (__builtin_expect(fail_nth_left == 0, 1))
		return false;
	return --fail_nth_left == 0;
}

void *ioasid_zalloc(size_t size)
{
	void *p;

	if (ioasid_should_fail())
		return NULL;
	p = calloc(1, size ? size : 1);
	if (p)
		__atomic_add_fetch(&live_allocs, 1, __ATOMIC_RELAXED);
	return p;
}

void *ioasid_aligned_zalloc(size_t align, size_t size)
{
	void *p;

	if (ioasid_should_fail())
		return NULL;
	if (align < sizeof(void *))
		align = sizeof(void *);
	if (posix_memalign(&p, align, size ? size : 1))
		return NULL;
	memset(p, 0, size);
	__atomic_add_fetch(&live_allocs, 1, __ATOMIC_RELAXED);
	return p;
}

void *ioasid_realloc_array(void *p, size_t nmemb, size_t size)
{
	size_t bytes;
	void *n;

	if (__builtin_mul_overflow(nmemb, size, &bytes) || ioasid_should_fail())
		return NULL;
	n = realloc(p, bytes ? bytes : 1);
	if (n && !p)
		__atomic_add_fetch(&live_allocs, 1, __ATOMIC_RELAXED);
	return n;
}

void ioasid_free(void *p)
{
	if (!p)
		return;
	__atomic_sub_fetch(&live_allocs, 1, __ATOMIC_RELAXED);
	free(p);
}

int64_t ioasid_alloc_live(void)
{
	return __atomic_load_n(&live_allocs, __ATOMIC_RELAXED);
}
