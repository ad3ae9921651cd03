/* demo_test.c — manual suites whose cases fail, crash and skip on
 * purpose, to show (and to test, tests/console/test_ktest_runner.py) how a
 * run reports them: `ktest demo_failures`, `ktest demo_page_fault`.
 * ktest=all and a bare `ktest` leave them out. The page fault has a suite
 * of its own so that a run can show a crash and nothing else. */
#include <stdint.h>
#include "ktest.h"
#include "../mm/memory.h"

static void expectation_fails(struct ktest *t)
{
    int sum = 1 + 1;
    KTEST_EXPECT_EQ(t, sum, 3);
    KTEST_EXPECT_TRUE(t, sum == 2);
}

static void null_dereference_crashes(struct ktest *t)
{
    (void)t;
    (void)*(volatile uint32_t *)0;
}

static void invalid_opcode_crashes(struct ktest *t)
{
    (void)t;
    __asm__ volatile("ud2");
}

static void skips(struct ktest *t)
{
    KTEST_SKIP(t, "nothing to do here");
}

static void runs_after_the_crashes(struct ktest *t)
{
    void *p = kmalloc(64);
    KTEST_EXPECT_NOT_NULL(t, p);
    kfree(p);
}

static const struct ktest_case demo_cases[] = {
    KTEST_CASE(expectation_fails),
    KTEST_CASE(invalid_opcode_crashes),
    KTEST_CASE(skips),
    KTEST_CASE(runs_after_the_crashes),
    {0}
};

static const struct ktest_suite demo_suite = {
    .name = "demo_failures",
    .cases = demo_cases,
    .flags = KTEST_MANUAL,
};
KTEST_SUITE(demo_suite);

static const struct ktest_case page_fault_cases[] = {
    KTEST_CASE(null_dereference_crashes),
    KTEST_CASE(runs_after_the_crashes),
    {0}
};

static const struct ktest_suite demo_page_fault_suite = {
    .name = "demo_page_fault",
    .cases = page_fault_cases,
    .flags = KTEST_MANUAL,
};
KTEST_SUITE(demo_page_fault_suite);
