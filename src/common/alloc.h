/* alloc.h — the one allocator of the reference module, with fault injection and leak counting.
 *
 * Every allocation made on an ioctl path goes through ioasid_zalloc()/ioasid_aligned_zalloc()
 * so that (1) the fail-nth switch can make any of them fail, like the kernel's
 * /proc/self/task/<tid>/fail-nth does for slab allocations, and (2) tests can assert that a
 * context leaves zero live allocations behind once it is closed.
 *
 * fail-nth semantics (same as the kernel's): ioasid_fail_nth_set(N) arms a per-thread counter;
 * each injection point decrements it and the point that brings it to 0 fails. The counter then
 * stays 0 (disarmed). ioasid_fail_nth_get() returns what is left (0: fired or never armed).
 * Object lookups are injection points too (see ref_get_object()). */
#ifndef IOASID_COMMON_ALLOC_H
#define IOASID_COMMON_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Injection point: true when this call must fail. Cheap when disarmed (one TLS load). */
bool ioasid_should_fail(void);

void *ioasid_zalloc(size_t size);                       /* NULL on failure or injection */
void *ioasid_aligned_zalloc(size_t align, size_t size); /* align: power of two */
void *ioasid_realloc_array(void *p, size_t nmemb, size_t size); /* NULL: p untouched */
void ioasid_free(void *p);                              /* NULL is fine */

/* Allocations made through this file that are not yet freed (whole process). */
int64_t ioasid_alloc_live(void);

#endif
