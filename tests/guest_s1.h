/* guest_s1.h — a guest's x86-64 stage-1 page table, built in "guest RAM" (a host buffer mapped
 * at GUEST_GPA in an IOAS), for the tests of nested translation (VT-d stage 1 over a nesting
 * parent): four table pages from the root, one 4 KiB leaf per guest_map(). Shared by the
 * event, injection and checker tests so the table format is written once. */
#ifndef IOASID_TESTS_GUEST_S1_H
#define IOASID_TESTS_GUEST_S1_H

#include <stdint.h>

#define GUEST_GPA 0x40000000ULL         /* where guest RAM sits in the IOAS */
#define GUEST_SIZE (64 * 4096UL)
#define PTE_P 1ULL
#define PTE_RW 2ULL
#define PTE_US 4ULL

/* The entry `idx` of the table page at guest-physical `table_gpa`. */
static inline uint64_t *gpte(uint8_t *ram, uint64_t table_gpa, unsigned int idx)
{
	return (uint64_t *)(ram + (table_gpa - GUEST_GPA)) + idx;
}

/* Map guest-virtual `gva` to guest-physical `gpa` (4 KiB, RW, user) with the tables at root,
 * root + 4K, + 8K, + 12K. */
static inline void guest_map(uint8_t *ram, uint64_t root, uint64_t gva, uint64_t gpa)
{
	*gpte(ram, root, (gva >> 39) & 511) = (root + 0x1000) | PTE_P | PTE_RW | PTE_US;
	*gpte(ram, root + 0x1000, (gva >> 30) & 511) = (root + 0x2000) | PTE_P | PTE_RW | PTE_US;
	*gpte(ram, root + 0x2000, (gva >> 21) & 511) = (root + 0x3000) | PTE_P | PTE_RW | PTE_US;
	*gpte(ram, root + 0x3000, (gva >> 12) & 511) = gpa | PTE_P | PTE_RW | PTE_US;
}

#endif
