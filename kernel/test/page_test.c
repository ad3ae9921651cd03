/* page_test.c — page frames through page.h: fresh frames from the
 * frame allocator, the reference count (checked, and the VM's inline
 * count of frames it holds), dirty and lock bits, and that a
 * referenced or locked block cannot be freed. The one call that names the
 * allocation API is get_block, so the suite follows it when it changes.
 * The suite ends with buddy_check, the checker of the frames' owner. */
#include <stdint.h>
#include "ktest.h"
#include "../include/errno.h"
#include "../mm/buddy.h"
#include "../mm/page.h"
#include "../mm/page_alloc.h"

static struct page *get_block(unsigned order)
{
    return alloc_pages(GFP_KERNEL, order);
}

static void new_frames_are_fresh(struct ktest *t)
{
    struct page *p = get_block(1);
    KTEST_ASSERT_NOT_NULL(t, p);
    KTEST_EXPECT_EQ(t, page_ref_count(p), 0);
    KTEST_EXPECT_EQ(t, page_is_dirty(p), 0);
    KTEST_EXPECT_EQ(t, page_is_locked(p), 0);
    KTEST_EXPECT_EQ(t, page_virt(p), page_phys(p));
    KTEST_EXPECT_EQ(t, page_phys(p) & (2 * PAGE_SIZE - 1), 0);
    KTEST_EXPECT_PTR_EQ(t, page_lookup(page_phys(p)), p);
    KTEST_EXPECT_EQ(t, free_pages(p, 1), 0);
}

static void free_frame_count_follows_allocation(struct ktest *t)
{
    uint32_t before = get_free_pages();
    struct page *p = get_block(2);
    KTEST_ASSERT_NOT_NULL(t, p);
    KTEST_EXPECT_EQ(t, get_free_pages(), before - 4);
    KTEST_EXPECT_EQ(t, free_pages(p, 2), 0);
    KTEST_EXPECT_EQ(t, get_free_pages(), before);
}

static void referenced_frames_cannot_be_freed(struct ktest *t)
{
    struct page *p = get_block(0);
    KTEST_ASSERT_NOT_NULL(t, p);
    KTEST_EXPECT_EQ(t, page_get(p), 0);
    KTEST_EXPECT_EQ(t, page_ref_count(p), 1);
    KTEST_EXPECT_EQ(t, free_pages(p, 0), -EBUSY);
    KTEST_EXPECT_EQ(t, page_put(p), 0);
    KTEST_EXPECT_EQ(t, page_put(p), -EINVAL);
    KTEST_EXPECT_EQ(t, free_pages(p, 0), 0);
}

static void locked_frames_cannot_be_freed(struct ktest *t)
{
    struct page *p = get_block(0);
    KTEST_ASSERT_NOT_NULL(t, p);
    KTEST_EXPECT_EQ(t, page_lock(p), 0);
    KTEST_EXPECT_EQ(t, page_lock(p), -EBUSY);
    KTEST_EXPECT_EQ(t, free_pages(p, 0), -EBUSY);
    KTEST_EXPECT_EQ(t, page_unlock(p), 0);
    KTEST_EXPECT_EQ(t, page_unlock(p), -EINVAL);
    KTEST_EXPECT_EQ(t, free_pages(p, 0), 0);
}

static void dirty_bit_sets_and_clears(struct ktest *t)
{
    struct page *p = get_block(0);
    KTEST_ASSERT_NOT_NULL(t, p);
    KTEST_EXPECT_EQ(t, page_set_dirty(p), 0);
    KTEST_EXPECT_EQ(t, page_is_dirty(p), 1);
    KTEST_EXPECT_EQ(t, page_clear_dirty(p), 0);
    KTEST_EXPECT_EQ(t, page_is_dirty(p), 0);
    KTEST_EXPECT_EQ(t, free_pages(p, 0), 0);
}

/* page_ref_inc/dec, the VM's count for frames it holds: inline for a
 * single frame, the checked path for a frame inside a larger block; either
 * way the block's busy count says whether a frame differs from a fresh one. */
static void held_frames_count_inline_and_keep_busy_right(struct ktest *t)
{
    struct page *p = get_block(0);
    KTEST_ASSERT_NOT_NULL(t, p);
    page_ref_inc(p);
    page_ref_inc(p);
    KTEST_EXPECT_EQ(t, page_ref_count(p), 2);
    KTEST_EXPECT_EQ(t, p->busy, 1);
    KTEST_EXPECT_EQ(t, free_pages(p, 0), -EBUSY);
    page_ref_dec(p);
    page_ref_dec(p);
    KTEST_EXPECT_EQ(t, page_ref_count(p), 0);
    KTEST_EXPECT_EQ(t, p->busy, 0);
    /* A dirty frame stays busy when its last extra holder goes, and once
     * cleaned too (PG_written), until the free makes it fresh again. */
    KTEST_EXPECT_EQ(t, page_set_dirty(p), 0);
    page_ref_inc(p);
    page_ref_dec(p);
    KTEST_EXPECT_EQ(t, p->busy, 1);
    KTEST_EXPECT_EQ(t, page_clear_dirty(p), 0);
    KTEST_EXPECT_EQ(t, p->busy, 1);
    KTEST_EXPECT_EQ(t, free_pages(p, 0), 0);
    KTEST_EXPECT_EQ(t, page_flags(p) & (PG_dirty | PG_written), 0u);

    struct page *head = get_block(1);
    KTEST_ASSERT_NOT_NULL(t, head);
    page_ref_inc(head + 1);
    KTEST_EXPECT_EQ(t, page_ref_count(head + 1), 1);
    KTEST_EXPECT_EQ(t, head->busy, 1);
    KTEST_EXPECT_EQ(t, free_pages(head, 1), -EBUSY);
    page_ref_dec(head + 1);
    KTEST_EXPECT_EQ(t, head->busy, 0);
    KTEST_EXPECT_EQ(t, free_pages(head, 1), 0);
}

static void frames_outside_the_allocator_are_refused(struct ktest *t)
{
    struct page *heap = page_lookup(HEAP_START);
    KTEST_ASSERT_NOT_NULL(t, heap);
    KTEST_EXPECT_EQ(t, page_get(heap), -EACCES);
    KTEST_EXPECT_EQ(t, free_pages(heap, 0), -EACCES);
    KTEST_EXPECT_NULL(t, alloc_pages(GFP_KERNEL, MAX_ORDER + 1));
}

static void frames_are_consistent(struct ktest *t)
{
    KTEST_EXPECT_EQ(t, buddy_check(0), 0);
}

static const struct ktest_case page_cases[] = {
    KTEST_CASE(new_frames_are_fresh),
    KTEST_CASE(free_frame_count_follows_allocation),
    KTEST_CASE(referenced_frames_cannot_be_freed),
    KTEST_CASE(locked_frames_cannot_be_freed),
    KTEST_CASE(dirty_bit_sets_and_clears),
    KTEST_CASE(held_frames_count_inline_and_keep_busy_right),
    KTEST_CASE(frames_outside_the_allocator_are_refused),
    {0}
};

static const struct ktest_suite page_suite = {
    .name = "page",
    .cases = page_cases,
    .check = KTEST_CASE(frames_are_consistent),
};
KTEST_SUITE(page_suite);
