/* bitops.h — finding and counting set bits in a 32-bit word.
 *
 * ffs32 and fls32 are 0-based, like Linux's __ffs and __fls, and defined
 * only for x != 0: ffs32(0x28) == 3, fls32(0x28) == 5. GCC turns the
 * builtins into one bsf or bsr on i386 (no libgcc call); popcount is a
 * loop because __builtin_popcount is a libgcc call without the POPCNT
 * instruction.
 */
#ifndef KOS_BITOPS_H
#define KOS_BITOPS_H

#include <stdint.h>

/* Index of the lowest set bit of x (x != 0). */
static inline unsigned ffs32(uint32_t x)
{
    return (unsigned)__builtin_ctz(x);
}

/* Index of the highest set bit of x (x != 0). */
static inline unsigned fls32(uint32_t x)
{
    return 31u - (unsigned)__builtin_clz(x);
}

/* Number of set bits: each round clears the lowest one. */
static inline unsigned popcount32(uint32_t x)
{
    unsigned n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

#endif
