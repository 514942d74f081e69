/* overflow.h — overflow-checked arithmetic for every IOVA/length that comes from a caller.
 *
 * Rule of the project (STYLE.md #4): the last byte of a range is computed as
 * `start + length - 1` only through check_add_overflow(), never by hand. */
#ifndef IOASID_COMMON_OVERFLOW_H
#define IOASID_COMMON_OVERFLOW_H

#include <stdbool.h>
#include <stdint.h>

/* true when a + b overflowed; *d receives the wrapped sum either way. */
#define check_add_overflow(a, b, d) __builtin_add_overflow(a, b, d)
#define check_mul_overflow(a, b, d) __builtin_mul_overflow(a, b, d)

/* Last byte of [start, start + length): false when length is 0 or the range wraps. */
static inline bool range_last(uint64_t start, uint64_t length, uint64_t *last)
{
	if (length == 0)
		return false;
	return !check_add_overflow(start, length - 1, last);
}

#endif
