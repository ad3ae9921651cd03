/* paging_test.c — the kernel's address space through paging.h: what is
 * mapped (the image, the heap, every stack, frames from the allocator) and
 * what is not (page 0, each stack's guard page, beyond the top of RAM).
 * That touching those faults is the console tests' business (crash null,
 * the stack guard tests); here the map itself is checked, and the pool of
 * page tables (every frame in it all zeros). */
#include <stdint.h>
#include "ktest.h"
#include "../include/layout.h"
#include "../mm/buddy.h"
#include "../mm/memory.h"
#include "../mm/paging.h"
#include "../mm/physmem.h"
#include "../mm/vm/mm.h"

static void page_zero_is_not_mapped(struct ktest *t)
{
    KTEST_EXPECT_FALSE(t, paging_is_mapped(0));
    KTEST_EXPECT_FALSE(t, paging_is_mapped(PAGE_SIZE - 1));
    KTEST_EXPECT_FALSE(t, paging_range_mapped(0, 16));
}

static void kernel_image_and_heap_are_mapped(struct ktest *t)
{
    KTEST_EXPECT_TRUE(t, paging_range_mapped((uint32_t)__kernel_start,
                                             (uint32_t)(__kernel_end - __kernel_start)));
    /* The heap ends with RAM on a machine smaller than its region. */
    memory_stats_t s;
    memory_get_stats(&s);
    KTEST_ASSERT_TRUE(t, s.total_heap > 0);
    KTEST_EXPECT_TRUE(t, paging_range_mapped(HEAP_START, s.total_heap));
}

static void every_stack_is_mapped_below_an_unmapped_guard(struct ktest *t)
{
    if (physmem_top() < STACK_REGION_END)
        KTEST_SKIP(t, "the stack region is beyond this machine's RAM");
    unsigned bad = 0;
    for (uint32_t i = 0; i < MAX_PROCESS_STACKS; i++) {
        uint32_t guard = STACK_REGION_START + i * STACK_SLOT_SIZE;
        bad += paging_is_mapped(guard) || paging_is_mapped(guard + STACK_GUARD_SIZE - 1);
        bad += !paging_range_mapped(guard + STACK_GUARD_SIZE, STACK_SIZE);
    }
    KTEST_EXPECT_EQ(t, bad, 0);
}

static void allocator_frames_are_mapped(struct ktest *t)
{
    uint32_t a = buddy_alloc(4);
    KTEST_ASSERT_TRUE(t, a != 0);
    KTEST_EXPECT_TRUE(t, paging_range_mapped(a, PAGE_SIZE << 4));
    KTEST_EXPECT_EQ(t, buddy_free(a, 4), 0);
}

static void nothing_is_mapped_beyond_ram(struct ktest *t)
{
    uint64_t ram_top = physmem_top();
    if (ram_top >= ZONE_NORMAL_END)
        KTEST_SKIP(t, "RAM reaches the kernel windows above 896 MiB");
    uint32_t top = (uint32_t)ram_top;
    uint32_t above = (top + 0x3FFFFFu) & ~0x3FFFFFu;   /* the next 4 MiB boundary */
    KTEST_EXPECT_FALSE(t, paging_is_mapped(above));
    KTEST_EXPECT_FALSE(t, paging_is_mapped(above + 0x400000u));
}

static void range_check_spans_pages(struct ktest *t)
{
    KTEST_EXPECT_TRUE(t, paging_range_mapped(HEAP_START - 8, 16));
    KTEST_EXPECT_FALSE(t, paging_range_mapped(STACK_REGION_START - 8, 16));
}

/* Every page table and directory the pool hands out must be all zeros:
 * none came back with an entry set, and none changed in the pool. */
static void table_pool_holds_only_zeroed_tables(struct ktest *t)
{
    KTEST_EXPECT_EQ(t, table_pool_check(), 0);
    KTEST_EXPECT_EQ(t, table_pool_refusals(), 0);
}

static const struct ktest_case paging_cases[] = {
    KTEST_CASE(page_zero_is_not_mapped),
    KTEST_CASE(kernel_image_and_heap_are_mapped),
    KTEST_CASE(every_stack_is_mapped_below_an_unmapped_guard),
    KTEST_CASE(allocator_frames_are_mapped),
    KTEST_CASE(nothing_is_mapped_beyond_ram),
    KTEST_CASE(range_check_spans_pages),
    KTEST_CASE(table_pool_holds_only_zeroed_tables),
    {0}
};

static const struct ktest_suite paging_suite = {
    .name = "paging",
    .cases = paging_cases,
};
KTEST_SUITE(paging_suite);
