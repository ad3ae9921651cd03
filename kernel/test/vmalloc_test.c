/* vmalloc_test.c — the vmalloc window through vmalloc.h: areas are
 * virtually contiguous, mapped in the window and followed by an unmapped
 * guard page; alignments are honoured; their frames come from the page
 * allocator and go back to it; bad frees and impossible requests are
 * refused with nothing changed. The suite ends with vmalloc_check. */
#include <stdint.h>
#include "ktest.h"
#include "../include/errno.h"
#include "../mm/page_alloc.h"
#include "../mm/paging.h"
#include "../mm/vmalloc.h"

static void area_is_contiguous_in_the_window(struct ktest *t)
{
    uint8_t *p = vmalloc(3 * PAGE_SIZE + 1);
    KTEST_ASSERT_NOT_NULL(t, p);
    KTEST_EXPECT_GE(t, (uint32_t)p, VMALLOC_START);
    KTEST_EXPECT_LT(t, (uint32_t)p, VMALLOC_END);
    KTEST_EXPECT_EQ(t, (uint32_t)p & (PAGE_SIZE - 1), 0);
    /* A byte pattern across the four pages reads back: they are one run. */
    for (uint32_t i = 0; i < 3 * PAGE_SIZE + 1; i++)
        p[i] = (uint8_t)(i * 7);
    unsigned bad = 0;
    for (uint32_t i = 0; i < 3 * PAGE_SIZE + 1; i++)
        bad += p[i] != (uint8_t)(i * 7);
    KTEST_EXPECT_EQ(t, bad, 0);
    KTEST_EXPECT_TRUE(t, paging_range_mapped((uint32_t)p, 4 * PAGE_SIZE));
    KTEST_EXPECT_FALSE(t, paging_is_mapped((uint32_t)p + 4 * PAGE_SIZE));
    const struct vm_area *a = vmalloc_find(p);
    KTEST_ASSERT_NOT_NULL(t, a);
    KTEST_EXPECT_EQ(t, a->nr_pages, 4);
    KTEST_EXPECT_EQ(t, a->requested, 3 * PAGE_SIZE + 1);
    KTEST_EXPECT_EQ(t, vfree(p), 0);
    KTEST_EXPECT_FALSE(t, paging_is_mapped((uint32_t)p));
}

static void frames_go_back_to_the_page_allocator(struct ktest *t)
{
    uint32_t before = get_free_pages();
    void *p = vmalloc(16 * PAGE_SIZE);
    KTEST_ASSERT_NOT_NULL(t, p);
    /* Sixteen frames, plus a page table if this stretch had none yet. */
    KTEST_EXPECT_LE(t, get_free_pages(), before - 16);
    KTEST_EXPECT_GE(t, get_free_pages(), before - 17);
    uint32_t mapped = get_free_pages();
    KTEST_EXPECT_EQ(t, vfree(p), 0);
    KTEST_EXPECT_EQ(t, get_free_pages(), mapped + 16);
}

static void alignment_is_honoured(struct ktest *t)
{
    void *small = vmalloc(PAGE_SIZE);
    void *p;
    KTEST_ASSERT_NOT_NULL(t, small);
    KTEST_EXPECT_EQ(t, vmalloc_area(2 * PAGE_SIZE, 0x400000, 0, &p), 0);
    KTEST_EXPECT_EQ(t, (uint32_t)p & 0x3FFFFF, 0);
    KTEST_EXPECT_EQ(t, vfree(p), 0);
    KTEST_EXPECT_EQ(t, vmalloc_area(PAGE_SIZE, 3 * PAGE_SIZE, 0, &p), -EINVAL);
    KTEST_EXPECT_NULL(t, p);
    KTEST_EXPECT_EQ(t, vfree(small), 0);
}

static void bad_frees_are_refused(struct ktest *t)
{
    struct vmalloc_stats before, after;
    uint8_t *p = vmalloc(2 * PAGE_SIZE);
    KTEST_ASSERT_NOT_NULL(t, p);
    vmalloc_get_stats(&before);
    KTEST_EXPECT_EQ(t, vfree(p + PAGE_SIZE), -EINVAL);
    KTEST_EXPECT_STREQ(t, vmalloc_why(), "an address inside an area, not its start");
    KTEST_EXPECT_EQ(t, vfree((void *)(VMALLOC_END - PAGE_SIZE)), -EINVAL);
    vmalloc_get_stats(&after);
    KTEST_EXPECT_EQ(t, after.areas, before.areas);
    KTEST_EXPECT_EQ(t, after.bad_frees, before.bad_frees + 2);
    KTEST_EXPECT_EQ(t, vfree(p), 0);
    KTEST_EXPECT_EQ(t, vfree(p), -EINVAL);
    KTEST_EXPECT_STREQ(t, vmalloc_why(), "no area starts there (never allocated, or already freed)");
}

/* Blocks taken from the buddy allocator, 4 MiB each, to leave fewer free
 * frames than the window maps: on a machine with more (256 MiB and up),
 * no request that fits the window could run out of them. */
#define TAKE_ORDER 10
#define TAKE_MAX   2048                 /* 8 GiB */
static struct page *taken[TAKE_MAX];

static void impossible_requests_return_null(struct ktest *t)
{
    uint32_t before = get_free_pages();
    KTEST_EXPECT_NULL(t, vmalloc(0));
    KTEST_EXPECT_NULL(t, vmalloc(VMALLOC_END - VMALLOC_START));
    KTEST_EXPECT_STREQ(t, vmalloc_why(), "larger than the vmalloc window");
    uint32_t window_pages = (VMALLOC_END - VMALLOC_START) / PAGE_SIZE;
    unsigned n = 0;
    while (n < TAKE_MAX && get_free_pages() + 1 >= window_pages / 2) {
        taken[n] = alloc_pages(GFP_HIGHMEM, TAKE_ORDER);
        if (!taken[n])
            break;
        n++;
    }
    uint32_t want = get_free_pages() + 1;
    KTEST_ASSERT_TRUE(t, want < window_pages / 2);
    /* One frame more than are free, within the window: refused, and
     * everything taken for it is given back. */
    uint32_t free_now = get_free_pages();
    KTEST_EXPECT_NULL(t, vmalloc(want * PAGE_SIZE));
    KTEST_EXPECT_STREQ(t, vmalloc_why(), "out of page frames");
    KTEST_EXPECT_EQ(t, get_free_pages(), free_now);
    while (n)
        free_pages(taken[--n], TAKE_ORDER);
    KTEST_EXPECT_EQ(t, get_free_pages(), before);
}

static void the_gap_of_a_freed_area_is_reused(struct ktest *t)
{
    void *a = vmalloc(PAGE_SIZE), *b = vmalloc(PAGE_SIZE);
    KTEST_ASSERT_NOT_NULL(t, a);
    KTEST_ASSERT_NOT_NULL(t, b);
    KTEST_EXPECT_EQ(t, (uint32_t)b - (uint32_t)a, 2 * PAGE_SIZE);   /* one guard page between */
    KTEST_EXPECT_EQ(t, vfree(a), 0);
    void *c = vmalloc(PAGE_SIZE);
    KTEST_EXPECT_PTR_EQ(t, c, a);
    KTEST_EXPECT_EQ(t, vfree(b), 0);
    KTEST_EXPECT_EQ(t, vfree(c), 0);
}

static void window_is_sound(struct ktest *t)
{
    KTEST_EXPECT_EQ(t, vmalloc_check(0), 0);
}

static const struct ktest_case vmalloc_cases[] = {
    KTEST_CASE(area_is_contiguous_in_the_window),
    KTEST_CASE(frames_go_back_to_the_page_allocator),
    KTEST_CASE(alignment_is_honoured),
    KTEST_CASE(bad_frees_are_refused),
    KTEST_CASE(impossible_requests_return_null),
    KTEST_CASE(the_gap_of_a_freed_area_is_reused),
    {0}
};

static const struct ktest_suite vmalloc_suite = {
    .name = "vmalloc",
    .cases = vmalloc_cases,
    .check = KTEST_CASE(window_is_sound),
};
KTEST_SUITE(vmalloc_suite);
