/* buddy_test.c — the buddy allocator through buddy.h: blocks are aligned
 * to their size, distinct, in the zone asked for, and every refused free
 * changes nothing. The suite ends with buddy_check. */
#include <stdint.h>
#include "ktest.h"
#include "../include/errno.h"
#include "../include/layout.h"
#include "../lib/string.h"
#include "../mm/buddy.h"

/* The largest order of a free block GFP_KERNEL may take, or -1: a small
 * machine (32 MiB: 329 frames) has no 4 MiB block to give. */
static int largest_kernel_order(void)
{
    struct buddy_stats st;
    buddy_stats(&st);
    for (int order = MAX_ORDER; order >= 0; order--)
        for (unsigned z = 0; z < NR_ZONES; z++)
            if (buddy_gfp_allows(GFP_KERNEL, z) && st.free_blocks[z][order])
                return order;
    return -1;
}

static void blocks_are_aligned_to_their_size(struct ktest *t)
{
    int largest = largest_kernel_order();
    KTEST_ASSERT_TRUE(t, largest >= 0);
    for (unsigned order = 0; order <= (unsigned)largest; order++) {
        uint32_t a = buddy_alloc(order);
        KTEST_ASSERT_TRUE(t, a != 0);
        KTEST_EXPECT_EQ(t, a & ((PAGE_SIZE << order) - 1), 0);
        KTEST_EXPECT_EQ(t, buddy_free(a, order), 0);
    }
    if (largest < MAX_ORDER)
        KTEST_EXPECT_EQ(t, buddy_alloc((unsigned)largest + 1), 0);
}

static void free_frames_come_back_after_free(struct ktest *t)
{
    uint32_t before = buddy_free_pages_total();
    uint32_t a = buddy_alloc(3);
    KTEST_ASSERT_TRUE(t, a != 0);
    KTEST_EXPECT_EQ(t, buddy_free_pages_total(), before - 8);
    KTEST_EXPECT_EQ(t, buddy_free(a, 3), 0);
    KTEST_EXPECT_EQ(t, buddy_free_pages_total(), before);
}

static void blocks_do_not_overlap_and_hold_data(struct ktest *t)
{
    enum { N = 16 };
    uint32_t a[N];
    for (int i = 0; i < N; i++) {
        a[i] = buddy_alloc(i % 3);
        KTEST_ASSERT_TRUE(t, a[i] != 0);
        memset((void *)a[i], i + 1, PAGE_SIZE << (i % 3));
    }
    unsigned bad = 0;
    for (int i = 0; i < N; i++) {
        const uint8_t *p = (const uint8_t *)a[i];
        for (uint32_t j = 0; j < (PAGE_SIZE << (i % 3)); j += 64)
            bad += p[j] != (uint8_t)(i + 1);
    }
    KTEST_EXPECT_EQ(t, bad, 0);
    for (int i = 0; i < N; i++)
        KTEST_EXPECT_EQ(t, buddy_free(a[i], i % 3), 0);
}

static void zone_flags_choose_the_zone(struct ktest *t)
{
    uint32_t dma = buddy_alloc_zone(0, GFP_DMA);
    KTEST_ASSERT_TRUE(t, dma != 0);
    KTEST_EXPECT_LT(t, dma, ZONE_DMA_END);
    KTEST_EXPECT_EQ(t, buddy_free(dma, 0), 0);
    if (!buddy_zone_managed(ZONE_NORMAL))
        KTEST_SKIP(t, "no ZONE_NORMAL frames with this much RAM");
    uint32_t normal = buddy_alloc_zone(0, GFP_KERNEL | GFP_THISZONE);
    KTEST_ASSERT_TRUE(t, normal != 0);
    KTEST_EXPECT_GE(t, normal, ZONE_DMA_END);
    KTEST_EXPECT_LT(t, normal, ZONE_NORMAL_END);
    KTEST_EXPECT_EQ(t, buddy_free(normal, 0), 0);
}

static void invalid_requests_are_refused(struct ktest *t)
{
    KTEST_EXPECT_EQ(t, buddy_alloc(MAX_ORDER + 1), 0);
    KTEST_EXPECT_EQ(t, buddy_alloc_zone(0, GFP_DMA | GFP_HIGHMEM), 0);
}

static void bad_frees_are_refused_and_change_nothing(struct ktest *t)
{
    uint32_t a = buddy_alloc(2);
    KTEST_ASSERT_TRUE(t, a != 0);
    uint32_t free_before = buddy_free_pages_total();
    KTEST_EXPECT_EQ(t, buddy_free(a, 1), -EINVAL);              /* wrong order */
    KTEST_EXPECT_EQ(t, buddy_free(a + PAGE_SIZE, 0), -EINVAL);  /* inside the block */
    KTEST_EXPECT_EQ(t, buddy_free(a + 12, 2), -EINVAL);         /* unaligned */
    KTEST_EXPECT_EQ(t, buddy_free(a, MAX_ORDER + 1), -EINVAL);
    KTEST_EXPECT_EQ(t, buddy_free(HEAP_START, 0), -EINVAL);     /* not the allocator's */
    KTEST_EXPECT_EQ(t, buddy_free_pages_total(), free_before);
    KTEST_EXPECT_EQ(t, buddy_free(a, 2), 0);
    KTEST_EXPECT_EQ(t, buddy_free(a, 2), -EINVAL);              /* double free */
    KTEST_EXPECT_EQ(t, buddy_free_pages_total(), free_before + 4);
}

static void freed_buddies_merge_back(struct ktest *t)
{
    uint32_t big_before = buddy_free_blocks(ZONE_NORMAL, MAX_ORDER) +
                          buddy_free_blocks(ZONE_DMA, MAX_ORDER);
    uint32_t a = buddy_alloc(0);
    KTEST_ASSERT_TRUE(t, a != 0);
    KTEST_EXPECT_EQ(t, buddy_free(a, 0), 0);
    KTEST_EXPECT_EQ(t, buddy_free_blocks(ZONE_NORMAL, MAX_ORDER) +
                       buddy_free_blocks(ZONE_DMA, MAX_ORDER), big_before);
}

static void buddy_check_finds_nothing(struct ktest *t)
{
    KTEST_EXPECT_EQ(t, buddy_check(0), 0);
}

static const struct ktest_case buddy_cases[] = {
    KTEST_CASE(blocks_are_aligned_to_their_size),
    KTEST_CASE(free_frames_come_back_after_free),
    KTEST_CASE(blocks_do_not_overlap_and_hold_data),
    KTEST_CASE(zone_flags_choose_the_zone),
    KTEST_CASE(invalid_requests_are_refused),
    KTEST_CASE(bad_frees_are_refused_and_change_nothing),
    KTEST_CASE(freed_buddies_merge_back),
    {0}
};

static const struct ktest_suite buddy_suite = {
    .name = "buddy",
    .cases = buddy_cases,
    .check = KTEST_CASE(buddy_check_finds_nothing),
};
KTEST_SUITE(buddy_suite);
