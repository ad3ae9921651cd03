/* string.h — the freestanding subset of <string.h> the kernel uses, plus
 * number parsing for the shell. */
#ifndef KOS_STRING_H
#define KOS_STRING_H

#include <stddef.h>
#include <stdint.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/* Parse an unsigned number: decimal, or hex with a 0x prefix; optional
 * K/M/G suffix (x1024^n). Returns 0 and stores *out on success, -1 if s is
 * not a number or overflows 32 bits. */
int parse_u32(const char *s, uint32_t *out);

#endif
