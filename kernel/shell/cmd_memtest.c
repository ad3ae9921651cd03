/* cmd_memtest.c — memtest: the memory manager's checks, run in the kernel.
 *
 * One line per check ending in "ok" or "FAIL", then
 * "memtest: N passed, M failed". The deliberate errors (double free, bad
 * pointers, refused stacks) print their own reports in between: that is the
 * behaviour under test. The last check is that the statistics are back where
 * they started: memtest leaks nothing.
 */
#include <stdint.h>
#include "shell.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"
#include "../mm/memory.h"
#include "../test/mem_check.h"

static unsigned passed, failed;

static void check(const char *what, int ok)
{
    kprintf("  %s: %s\n", what, ok ? "ok" : "FAIL");
    if (ok)
        passed++;
    else
        failed++;
}

static void test_kmalloc(void)
{
    uint8_t *p = kmalloc(1024);
    check("kmalloc(1024) returns 8-byte aligned heap memory", p && ((uint32_t)p & 7) == 0 && in_heap(p, 1024));
    if (p) {
        memset(p, 0x5A, 1024);
        check("kmalloc'd memory keeps what is written", filled(p, 1024, 0x5A));
    }
    kfree(p);

    enum { N = 64 };
    uint8_t *blocks[N];
    int ok = 1;
    for (int i = 0; i < N; i++) {
        blocks[i] = kmalloc(16 + i * 8);
        if (!blocks[i])
            ok = 0;
        else
            memset(blocks[i], i, 16 + i * 8);
    }
    for (int i = 0; i < N && ok; i++)
        ok = filled(blocks[i], 16 + i * 8, (uint8_t)i);
    check("64 blocks of mixed sizes are distinct and keep their contents", ok);
    for (int i = 0; i < N; i += 2)
        kfree(blocks[i]);
    for (int i = 1; i < N; i += 2)
        kfree(blocks[i]);

    uint8_t *big = kmalloc(4u << 20);
    check("kmalloc(4 MiB) succeeds", big && in_heap(big, 4u << 20));
    kfree(big);
    check("kmalloc(0) returns NULL", kmalloc(0) == 0);
}

static void test_kcalloc(void)
{
    uint8_t *dirty = kmalloc(400);
    if (dirty)
        memset(dirty, 0xFF, 400);
    kfree(dirty);
    uint32_t *a = kcalloc(100, sizeof(uint32_t));
    check("kcalloc(100, 4) returns zeroed memory", a && filled((uint8_t *)a, 400, 0));
    kfree(a);
    check("kcalloc(0x10000, 0x10001) overflows and returns NULL", kcalloc(0x10000, 0x10001) == 0);
}

static void test_krealloc(void)
{
    uint8_t *p = krealloc(0, 100);
    check("krealloc(NULL, 100) allocates", p != 0);
    if (!p)
        return;
    for (int i = 0; i < 100; i++)
        p[i] = (uint8_t)i;
    uint8_t *q = krealloc(p, 5000);
    int ok = q != 0;
    for (int i = 0; i < 100 && ok; i++)
        ok = q[i] == (uint8_t)i;
    check("krealloc grow keeps the contents", ok);
    if (!q) {
        kfree(p);
        return;
    }
    uint8_t *r = krealloc(q, 50);
    ok = r != 0;
    for (int i = 0; i < 50 && ok; i++)
        ok = r[i] == (uint8_t)i;
    check("krealloc shrink keeps the contents", ok);
    if (!r) {
        kfree(q);
        return;
    }
    memory_stats_t before, after;
    memory_get_stats(&before);
    check("krealloc(p, 0) frees and returns NULL", krealloc(r, 0) == 0);
    memory_get_stats(&after);
    check("krealloc(p, 0) released the block", after.num_allocations == before.num_allocations - 1);
}

static void test_bad_frees(void)
{
    struct memory_counters before, after;
    uint8_t *p = kmalloc(64);
    uint8_t *guard = kmalloc(64);     /* keeps p's block from merging away */
    kfree(p);
    memory_get_counters(&before);
    kfree(p);
    memory_get_counters(&after);
    check("double kfree is detected and counted", after.double_frees == before.double_frees + 1);

    before = after;
    kfree(guard + 8);
    memory_get_counters(&after);
    check("kfree of an interior pointer is refused", after.invalid_frees == before.invalid_frees + 1);

    before = after;
    kfree((void *)0x1234);
    kfree((void *)(HEAP_END + 64));
    memory_get_counters(&after);
    check("kfree of pointers outside the heap is refused", after.invalid_frees == before.invalid_frees + 2);

    uint8_t *again = kmalloc(64);
    check("the heap still works after refused frees", again != 0);
    kfree(again);
    kfree(guard);
}

static void test_out_of_memory(void)
{
    check("kmalloc(HEAP_SIZE) returns NULL", kmalloc(HEAP_SIZE) == 0);
    check("kmalloc(0xFFFFFFF0) returns NULL", kmalloc(0xFFFFFFF0u) == 0);
    void *p = kmalloc(1024);
    check("kmalloc works after running out", p != 0);
    kfree(p);
}

static void test_stacks(void)
{
    const uint32_t pid = 0x7E57;      /* unlikely to be in use */
    memory_stats_t s;
    memory_get_stats(&s);
    /* RAM that ends inside the stack region leaves fewer slots (none with
     * 16 or 32 MiB): the checks are of the slots there are. */
    uint32_t slots = s.total_stacks / STACK_SIZE;
    if (slots == 0) {
        check("stack_alloc is refused: no stack slot is in RAM",
              stack_alloc(pid) == 0 && stack_get_base(pid) == 0 && stack_get_top(pid) == 0);
    } else {
        uint8_t *top = stack_alloc(pid);
        uint8_t *base = stack_get_base(pid);
        check("stack_alloc returns the top of a STACK_SIZE stack",
              top && base && top - base == STACK_SIZE && stack_get_top(pid) == top);
        check("stack lies in the stack region",
              (uint32_t)base >= STACK_REGION_START && (uint32_t)top <= STACK_REGION_END);
        if (top) {
            memset(base, 0xC3, STACK_SIZE);
            check("the whole stack is writable", filled(base, STACK_SIZE, 0xC3));
        }
        check("a second stack for the same pid is refused", stack_alloc(pid) == 0);
        stack_free(pid);
        check("stack_free releases it", stack_get_base(pid) == 0 && stack_get_top(pid) == 0);
    }

    struct memory_counters before, after;
    memory_get_counters(&before);
    stack_free(pid);
    memory_get_counters(&after);
    check("stack_free of an unknown pid is refused", after.stack_errors == before.stack_errors + 1);

    uint32_t got = 0, room = slots - s.num_stacks;
    for (uint32_t i = 0; i < room; i++)
        if (stack_alloc(0x10000 + i))
            got++;
    check("every free stack slot can be allocated", got == room);
    check("one more stack than the slots in RAM is refused", stack_alloc(0x20000) == 0);
    for (uint32_t i = 0; i < room; i++)
        stack_free(0x10000 + i);
}

static int cmd_memtest(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    memory_stats_t start, end;
    passed = failed = 0;
    memory_get_stats(&start);

    test_kmalloc();
    test_kcalloc();
    test_krealloc();
    test_bad_frees();
    test_out_of_memory();
    test_stacks();
    memory_defragment();
    check("heap integrity check finds nothing", memory_check() == 0);

    memory_get_stats(&end);
    check("statistics are back to their starting values (no leak)",
          end.used_heap == start.used_heap && end.free_heap == start.free_heap &&
          end.num_allocations == start.num_allocations && end.num_stacks == start.num_stacks);
    kprintf("memtest: %u passed, %u failed\n", passed, failed);
    return failed != 0;
}
SHELL_COMMAND(memtest, "", "run the memory manager's self checks", cmd_memtest);
