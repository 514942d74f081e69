/* bench_common.h — what the benchmarks share: wall and CPU time read together, a fast
 * deterministic PRNG (xorshift64*), and the median helper's comparator. Header-only: each
 * benchmark is one .c file. */
#ifndef IOASID_BENCH_COMMON_H
#define IOASID_BENCH_COMMON_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Wall and CPU time together: on a shared machine the CPU time says what the code costs, the
 * wall time what a user waited. */
struct stamp {
	uint64_t wall, cpu;
};

static inline struct stamp now(void)
{
	return (struct stamp){ clock_ns(CLOCK_MONOTONIC), clock_ns(CLOCK_PROCESS_CPUTIME_ID) };
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static inline uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#endif
