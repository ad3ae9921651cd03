/* stdlib.h — memory allocation and number parsing of the user runtime. */
#ifndef USER_STDLIB_H
#define USER_STDLIB_H

#include <stddef.h>

/* malloc over anonymous mmap: requests up to MALLOC_SMALL_MAX bytes come
 * from power-of-two size classes carved out of 64 KiB chunks, larger ones
 * get a mapping of their own that free() unmaps. NULL when mmap fails.
 * free() of a block already freed (small or large), or of a pointer that
 * is no block's payload, says so on fd 2 and changes nothing. */
#define MALLOC_SMALL_MAX 2048u
void *malloc(size_t n);
void free(void *p);

/* Parse an unsigned number (decimal, or hex after 0x) with an optional
 * K/M/G suffix; *end is left after the last character used. A digit or
 * suffix that would take the value past 32 bits is not used (so *end
 * points at it), nor is a "0x" without digits (*end is s). */
unsigned long strtoul_size(const char *s, const char **end);

#endif
