/* heap_i386_smoke.c — run the heap as the kernel builds it (i386,
 * freestanding, no libc) on random operations, as a static Linux program.
 *
 * It checks contents, alignment and heap_check after every operation and
 * exits 0 when all is well, else the number of the first failing check.
 * Linux system calls go through int $0x80; nothing else comes from outside.
 */

#include <stddef.h>
#include <stdint.h>

#include "../../kernel/mm/heap/heap.h"

#define REGION (4u << 20)
#define SLOTS 3000
#define STEPS 60000

static uint8_t region[REGION] __attribute__((aligned(4096)));
static uint8_t *ptr[SLOTS];
static uint32_t len[SLOTS];
static uint8_t tag[SLOTS];

static void sys_exit(int status)
{
    __asm__ volatile("int $0x80" : : "a"(1), "b"(status));
    for (;;)
        ;
}

static void sys_write(const char *s, size_t n)
{
    int ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(4), "b"(1), "c"(s), "d"(n) : "memory");
}

static uint32_t rng = 12345;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static int intact(int i)
{
    for (uint32_t k = 0; k < len[i]; k++)
        if (ptr[i][k] != (uint8_t)(tag[i] + k))
            return 0;
    return 1;
}

static void stamp(int i)
{
    for (uint32_t k = 0; k < len[i]; k++)
        ptr[i][k] = (uint8_t)(tag[i] + k);
}

static uint32_t pick_size(void)
{
    uint32_t r = next() % 16;
    if (r < 9)
        return 1 + next() % 128;
    if (r < 14)
        return 129 + next() % 2000;
    return 2129 + next() % 60000;
}

void _start(void)
{
    struct heap *h = heap_init(region, REGION);
    if (!h)
        sys_exit(2);
    for (int step = 0; step < STEPS; step++) {
        int i = (int)(next() % SLOTS);
        if (!ptr[i]) {
            size_t align = next() % 8 == 0 ? (size_t)16 << (next() % 8) : 0;
            len[i] = pick_size();
            ptr[i] = heap_alloc(h, len[i], align, (uintptr_t)step);
            if (ptr[i]) {
                if (((uintptr_t)ptr[i] & 7) || (align && ((uintptr_t)ptr[i] & (align - 1))))
                    sys_exit(3);
                tag[i] = (uint8_t)next();
                stamp(i);
            }
        } else if (!intact(i)) {
            sys_exit(4);
        } else if (next() % 3 == 0) {
            uint32_t n = pick_size();
            uint8_t *q = heap_realloc(h, ptr[i], n, 0, NULL);
            if (q) {
                uint32_t keep = n < len[i] ? n : len[i];
                for (uint32_t k = 0; k < keep; k++)
                    if (q[k] != (uint8_t)(tag[i] + k))
                        sys_exit(5);
                ptr[i] = q;
                len[i] = n;
                stamp(i);
            }
        } else {
            if (heap_free(h, ptr[i]) != HEAP_OK)
                sys_exit(6);
            if (heap_free(h, ptr[i]) == HEAP_OK)
                sys_exit(7);
            ptr[i] = NULL;
        }
        if (step % 16 == 0 && heap_check(h, NULL, NULL) != 0)
            sys_exit(8);
    }
    struct heap_stats st;
    heap_get_stats(h, &st);
    if (st.live_blocks == 0 || st.allocs == 0)
        sys_exit(9);
    for (int i = 0; i < SLOTS; i++)
        if (ptr[i] && heap_free(h, ptr[i]) != HEAP_OK)
            sys_exit(10);
    /* Only empty runs kept for reuse are left: the defragment gives them
     * back, and then there is nothing more to give. */
    heap_get_stats(h, &st);
    if (heap_check(h, NULL, NULL) != 0 || (heap_defragment(h) != 0) != (st.runs != 0) ||
        heap_defragment(h) != 0)
        sys_exit(11);
    heap_get_stats(h, &st);
    if (st.runs != 0 || st.used_bytes != 0 || st.free_blocks != 1)
        sys_exit(12);
    sys_write("i386 heap smoke: ok\n", 20);
    sys_exit(0);
}
