/* mem_check.h — the predicates the memory checks share: memtest in the
 * shell (cmd_memtest.c) and the heap suite (heap_test.c) ask the same
 * questions of what kmalloc returned. */
#ifndef KOS_TEST_MEM_CHECK_H
#define KOS_TEST_MEM_CHECK_H

#include <stdint.h>
#include "../include/layout.h"

/* Do the size bytes at p lie inside the heap's region (without wrapping)? */
static inline int in_heap(const void *p, uint32_t size)
{
    uint32_t a = (uint32_t)p;
    return a >= HEAP_START && a + size <= HEAP_END && a + size > a;
}

/* Is every one of the n bytes at p equal to v? */
static inline int filled(const uint8_t *p, uint32_t n, uint8_t v)
{
    for (uint32_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

#endif
