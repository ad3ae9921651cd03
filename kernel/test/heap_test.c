/* heap_test.c — the kmalloc heap through the kacchiOS API (mm/memory.h)
 * only: what a caller may rely on, whatever allocator is behind it. The
 * suite ends with memory_check and with the statistics back where they
 * were before its first case (nothing leaked). */
#include <stdint.h>
#include "ktest.h"
#include "mem_check.h"
#include "../include/layout.h"
#include "../lib/string.h"
#include "../mm/memory.h"
#include "../mm/physmem.h"

static memory_stats_t at_start;

static void heap_snapshot(void)
{
    memory_get_stats(&at_start);
}

static void kmalloc_returns_aligned_heap_memory(struct ktest *t)
{
    static const uint32_t sizes[] = { 1, 7, 8, 24, 100, 128, 129, 1000, 4096, 70000 };
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint8_t *p = kmalloc(sizes[i]);
        KTEST_ASSERT_NOT_NULL(t, p);
        KTEST_EXPECT_EQ(t, (uint32_t)p & 7, 0);
        KTEST_EXPECT_TRUE(t, in_heap(p, sizes[i]));
        kfree(p);
    }
}

static void kmalloc_zero_returns_null(struct ktest *t)
{
    KTEST_EXPECT_NULL(t, kmalloc(0));
}

static void live_blocks_do_not_overlap(struct ktest *t)
{
    enum { N = 48 };
    uint8_t *b[N];
    for (int i = 0; i < N; i++) {
        b[i] = kmalloc(8 + i * 13);
        KTEST_ASSERT_NOT_NULL(t, b[i]);
        memset(b[i], i + 1, 8 + i * 13);
    }
    unsigned bad = 0;
    for (int i = 0; i < N; i++)
        bad += !filled(b[i], 8 + i * 13, (uint8_t)(i + 1));
    KTEST_EXPECT_EQ(t, bad, 0);
    for (int i = N - 1; i >= 0; i -= 2)
        kfree(b[i]);
    for (int i = N - 2; i >= 0; i -= 2)
        kfree(b[i]);
}

static void kmalloc_aligned_honours_the_alignment(struct ktest *t)
{
    for (uint32_t align = 8; align <= 8192; align <<= 1) {
        void *p = kmalloc_aligned(100, align);
        KTEST_ASSERT_NOT_NULL(t, p);
        KTEST_EXPECT_EQ(t, (uint32_t)p & (align - 1), 0);
        kfree(p);
    }
    KTEST_EXPECT_NULL(t, kmalloc_aligned(100, 24));
}

static void kcalloc_zeroes_and_refuses_overflow(struct ktest *t)
{
    uint8_t *dirty = kmalloc(512);
    KTEST_ASSERT_NOT_NULL(t, dirty);
    memset(dirty, 0xFF, 512);
    kfree(dirty);
    uint8_t *z = kcalloc(128, 4);
    KTEST_ASSERT_NOT_NULL(t, z);
    KTEST_EXPECT_TRUE(t, filled(z, 512, 0));
    kfree(z);
    KTEST_EXPECT_NULL(t, kcalloc(0x10000, 0x10001));
}

static void krealloc_keeps_the_contents(struct ktest *t)
{
    uint8_t *p = krealloc(0, 60);
    KTEST_ASSERT_NOT_NULL(t, p);
    for (int i = 0; i < 60; i++)
        p[i] = (uint8_t)(i ^ 0x5A);
    uint8_t *q = krealloc(p, 9000);
    KTEST_ASSERT_NOT_NULL(t, q);
    unsigned bad = 0;
    for (int i = 0; i < 60; i++)
        bad += q[i] != (uint8_t)(i ^ 0x5A);
    uint8_t *r = krealloc(q, 20);
    KTEST_ASSERT_NOT_NULL(t, r);
    for (int i = 0; i < 20; i++)
        bad += r[i] != (uint8_t)(i ^ 0x5A);
    KTEST_EXPECT_EQ(t, bad, 0);
    KTEST_EXPECT_NULL(t, krealloc(r, 0));
}

static void impossible_requests_return_null(struct ktest *t)
{
    KTEST_EXPECT_NULL(t, kmalloc(HEAP_SIZE));
    KTEST_EXPECT_NULL(t, kmalloc(0xFFFFFFF0u));
    void *p = kmalloc(256);
    KTEST_EXPECT_NOT_NULL(t, p);
    kfree(p);
}

static void bad_frees_are_counted_and_change_nothing(struct ktest *t)
{
    struct memory_counters before, after;
    memory_stats_t s0, s1;
    uint8_t *p = kmalloc(64);
    uint8_t *keep = kmalloc(64);
    KTEST_ASSERT_NOT_NULL(t, p);
    KTEST_ASSERT_NOT_NULL(t, keep);
    kfree(p);
    memory_get_counters(&before);
    memory_get_stats(&s0);
    kfree(p);
    kfree(keep + 8);
    kfree((void *)0x1234);
    memory_get_counters(&after);
    memory_get_stats(&s1);
    KTEST_EXPECT_EQ(t, after.double_frees, before.double_frees + 1);
    KTEST_EXPECT_EQ(t, after.invalid_frees, before.invalid_frees + 2);
    KTEST_EXPECT_EQ(t, s1.num_allocations, s0.num_allocations);
    KTEST_EXPECT_EQ(t, s1.used_heap, s0.used_heap);
    kfree(keep);
}

static void statistics_follow_allocations(struct ktest *t)
{
    memory_stats_t s0, s1, s2;
    memory_get_stats(&s0);
    void *p = kmalloc(1000);
    KTEST_ASSERT_NOT_NULL(t, p);
    memory_get_stats(&s1);
    KTEST_EXPECT_EQ(t, s1.num_allocations, s0.num_allocations + 1);
    KTEST_EXPECT_GE(t, s1.used_heap, s0.used_heap + 1000);
    KTEST_EXPECT_LE(t, s1.used_heap + s1.free_heap, s1.total_heap);
    kfree(p);
    memory_get_stats(&s2);
    KTEST_EXPECT_EQ(t, s2.num_allocations, s0.num_allocations);
    KTEST_EXPECT_EQ(t, s2.used_heap, s0.used_heap);
}

static void stacks_are_whole_and_refused_twice(struct ktest *t)
{
    if (physmem_top() < STACK_REGION_END)
        KTEST_SKIP(t, "the stack region is beyond this machine's RAM");
    const uint32_t pid = 0x6B74;
    uint8_t *top = stack_alloc(pid);
    KTEST_ASSERT_NOT_NULL(t, top);
    uint8_t *base = stack_get_base(pid);
    KTEST_EXPECT_EQ(t, top - base, STACK_SIZE);
    KTEST_EXPECT_PTR_EQ(t, stack_get_top(pid), top);
    memset(base, 0xC3, STACK_SIZE);
    KTEST_EXPECT_TRUE(t, filled(base, STACK_SIZE, 0xC3));
    KTEST_EXPECT_NULL(t, stack_alloc(pid));
    stack_free(pid);
    KTEST_EXPECT_NULL(t, stack_get_base(pid));
}

static void heap_check_and_no_leak(struct ktest *t)
{
    memory_stats_t now;
    KTEST_EXPECT_EQ(t, memory_check(), 0);
    memory_get_stats(&now);
    KTEST_EXPECT_EQ(t, now.num_allocations, at_start.num_allocations);
    KTEST_EXPECT_EQ(t, now.used_heap, at_start.used_heap);
    KTEST_EXPECT_EQ(t, now.num_stacks, at_start.num_stacks);
}

static const struct ktest_case heap_cases[] = {
    KTEST_CASE(kmalloc_returns_aligned_heap_memory),
    KTEST_CASE(kmalloc_zero_returns_null),
    KTEST_CASE(live_blocks_do_not_overlap),
    KTEST_CASE(kmalloc_aligned_honours_the_alignment),
    KTEST_CASE(kcalloc_zeroes_and_refuses_overflow),
    KTEST_CASE(krealloc_keeps_the_contents),
    KTEST_CASE(impossible_requests_return_null),
    KTEST_CASE(bad_frees_are_counted_and_change_nothing),
    KTEST_CASE(statistics_follow_allocations),
    KTEST_CASE(stacks_are_whole_and_refused_twice),
    {0}
};

static const struct ktest_suite heap_suite = {
    .name = "heap",
    .cases = heap_cases,
    .check = KTEST_CASE(heap_check_and_no_leak),
    .init = heap_snapshot,
};
KTEST_SUITE(heap_suite);
