/* slab_test.c — slab caches through slab.h: objects are aligned, distinct
 * and of the cache's size, foreign and double frees are refused, and a
 * cache with live objects cannot be destroyed. The suite ends with
 * slab_check. */
#include <stdint.h>
#include "ktest.h"
#include "../include/errno.h"
#include "../lib/string.h"
#include "../mm/slab/slab.h"

static void objects_are_aligned_and_distinct(struct ktest *t)
{
    int id = slab_create("ktest-48", 48, 16);
    KTEST_ASSERT_TRUE(t, id > 0);
    enum { N = 100 };
    static uint32_t obj[N];
    for (int i = 0; i < N; i++) {
        obj[i] = slab_alloc(id);
        KTEST_ASSERT_TRUE(t, obj[i] != 0);
        KTEST_EXPECT_EQ(t, obj[i] & 15, 0);
        memset((void *)obj[i], i, 48);
    }
    unsigned bad = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < 48; j++)
            bad += ((uint8_t *)obj[i])[j] != (uint8_t)i;
    KTEST_EXPECT_EQ(t, bad, 0);
    struct slab_info info;
    KTEST_EXPECT_EQ(t, slab_info(id, &info), 0);
    KTEST_EXPECT_EQ(t, info.active_objs, N);
    KTEST_EXPECT_EQ(t, info.object_size, 48);
    for (int i = 0; i < N; i++)
        KTEST_EXPECT_EQ(t, slab_free(id, obj[i]), 0);
    KTEST_EXPECT_EQ(t, slab_destroy(id), 0);
}

static void bad_frees_are_refused(struct ktest *t)
{
    int a = slab_create("ktest-a", 32, 0);
    int b = slab_create("ktest-b", 32, 0);
    KTEST_ASSERT_TRUE(t, a > 0 && b > 0);
    uint32_t x = slab_alloc(a);
    KTEST_ASSERT_TRUE(t, x != 0);
    KTEST_EXPECT_EQ(t, slab_free(b, x), -EINVAL);       /* another cache's */
    KTEST_EXPECT_EQ(t, slab_free(a, x + 4), -EINVAL);   /* inside an object */
    KTEST_EXPECT_EQ(t, slab_free(a, x), 0);
    KTEST_EXPECT_EQ(t, slab_free(a, x), -EINVAL);       /* already free */
    KTEST_EXPECT_EQ(t, slab_free(999, x), -EINVAL);     /* no such cache */
    KTEST_EXPECT_EQ(t, slab_destroy(a), 0);
    KTEST_EXPECT_EQ(t, slab_destroy(b), 0);
}

static void live_objects_keep_their_cache(struct ktest *t)
{
    int id = slab_create("ktest-busy", 100, 0);
    KTEST_ASSERT_TRUE(t, id > 0);
    uint32_t x = slab_alloc(id);
    KTEST_ASSERT_TRUE(t, x != 0);
    KTEST_EXPECT_EQ(t, slab_destroy(id), -EBUSY);
    KTEST_EXPECT_EQ(t, slab_free(id, x), 0);
    KTEST_EXPECT_EQ(t, slab_destroy(id), 0);
    KTEST_EXPECT_EQ(t, slab_destroy(id), -EINVAL);
}

static void bad_caches_are_refused(struct ktest *t)
{
    KTEST_EXPECT_EQ(t, slab_create("", 32, 0), -EINVAL);
    KTEST_EXPECT_EQ(t, slab_create("zero", 0, 0), -EINVAL);
    KTEST_EXPECT_EQ(t, slab_create("huge", SLAB_MAX_OBJECT + 1, 0), -EINVAL);
    KTEST_EXPECT_EQ(t, slab_create("odd", 32, 24), -EINVAL);
    KTEST_EXPECT_EQ(t, slab_alloc(999), 0);
}

static void slab_check_finds_nothing(struct ktest *t)
{
    KTEST_EXPECT_EQ(t, slab_check(0), 0);
}

static const struct ktest_case slab_cases[] = {
    KTEST_CASE(objects_are_aligned_and_distinct),
    KTEST_CASE(bad_frees_are_refused),
    KTEST_CASE(live_objects_keep_their_cache),
    KTEST_CASE(bad_caches_are_refused),
    {0}
};

static const struct ktest_suite slab_suite = {
    .name = "slab",
    .cases = slab_cases,
    .check = KTEST_CASE(slab_check_finds_nothing),
};
KTEST_SUITE(slab_suite);
