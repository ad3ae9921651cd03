/* fdtable_test.c — descriptor tables: numbering, references and dup2, with
 * a counting file whose release says when the last reference went. */
#include "ktest.h"
#include "../fs/fdtable.h"
#include "../include/errno.h"

static int released;

static void count_release(struct file *f)
{
    (void)f;
    released++;
}

static const struct file_ops counting_ops = { .release = count_release };

static void create_puts_the_console_in_fds_0_to_2(struct ktest *t)
{
    released = 0;
    struct file *con = file_alloc(&counting_ops, O_RDWR);
    KTEST_ASSERT_NOT_NULL(t, con);
    struct fdtable *ft = fdtable_create(con);
    KTEST_ASSERT_NOT_NULL(t, ft);
    KTEST_EXPECT_PTR_EQ(t, fdtable_get(ft, 0), con);
    KTEST_EXPECT_PTR_EQ(t, fdtable_get(ft, 2), con);
    KTEST_EXPECT_NULL(t, fdtable_get(ft, 3));
    KTEST_EXPECT_NULL(t, fdtable_get(ft, -1));
    KTEST_EXPECT_NULL(t, fdtable_get(ft, FD_MAX));
    KTEST_EXPECT_EQ(t, con->refs, 4);
    file_put(con);
    fdtable_destroy(ft);
    KTEST_EXPECT_EQ(t, released, 1);
}

static void install_takes_the_lowest_free_slot(struct ktest *t)
{
    released = 0;
    struct fdtable *ft = fdtable_create(0);
    KTEST_ASSERT_NOT_NULL(t, ft);
    struct file *a = file_alloc(&counting_ops, O_RDONLY);
    struct file *b = file_alloc(&counting_ops, O_RDONLY);
    KTEST_ASSERT_TRUE(t, a && b);
    KTEST_EXPECT_EQ(t, fdtable_install(ft, a), 0);
    KTEST_EXPECT_EQ(t, fdtable_install(ft, b), 1);
    KTEST_EXPECT_EQ(t, fdtable_close(ft, 0), 0);
    KTEST_EXPECT_EQ(t, released, 1);
    KTEST_EXPECT_EQ(t, fdtable_close(ft, 0), -EBADF);
    KTEST_EXPECT_EQ(t, fdtable_dup(ft, 1), 0);
    KTEST_EXPECT_EQ(t, fdtable_dup(ft, 5), -EBADF);
    fdtable_destroy(ft);
    KTEST_EXPECT_EQ(t, released, 2);
}

static void install_is_emfile_when_full(struct ktest *t)
{
    released = 0;
    struct fdtable *ft = fdtable_create(0);
    struct file *f = file_alloc(&counting_ops, O_RDONLY);
    KTEST_ASSERT_TRUE(t, ft && f);
    KTEST_EXPECT_EQ(t, fdtable_install(ft, f), 0);
    for (int fd = 1; fd < FD_MAX; fd++)
        KTEST_EXPECT_EQ(t, fdtable_dup(ft, 0), fd);
    KTEST_EXPECT_EQ(t, fdtable_dup(ft, 0), -EMFILE);
    KTEST_EXPECT_EQ(t, f->refs, FD_MAX);
    fdtable_destroy(ft);
    KTEST_EXPECT_EQ(t, released, 1);
}

static void dup2_closes_the_target_and_checks_ranges(struct ktest *t)
{
    released = 0;
    struct fdtable *ft = fdtable_create(0);
    struct file *a = file_alloc(&counting_ops, O_RDONLY);
    struct file *b = file_alloc(&counting_ops, O_RDONLY);
    KTEST_ASSERT_TRUE(t, ft && a && b);
    fdtable_install(ft, a);
    fdtable_install(ft, b);
    KTEST_EXPECT_EQ(t, fdtable_dup2(ft, 0, 0), 0);
    KTEST_EXPECT_EQ(t, a->refs, 1);
    KTEST_EXPECT_EQ(t, fdtable_dup2(ft, 0, 1), 1);
    KTEST_EXPECT_EQ(t, released, 1);
    KTEST_EXPECT_PTR_EQ(t, fdtable_get(ft, 1), a);
    KTEST_EXPECT_EQ(t, fdtable_dup2(ft, 0, FD_MAX), -EBADF);
    KTEST_EXPECT_EQ(t, fdtable_dup2(ft, 7, 2), -EBADF);
    KTEST_EXPECT_EQ(t, fdtable_dup2(ft, 0, 20), 20);
    KTEST_EXPECT_EQ(t, a->refs, 3);
    fdtable_destroy(ft);
    KTEST_EXPECT_EQ(t, released, 2);
}

static void clone_shares_files_and_close_all_drops_them(struct ktest *t)
{
    released = 0;
    struct fdtable *ft = fdtable_create(0);
    struct file *a = file_alloc(&counting_ops, O_RDONLY);
    KTEST_ASSERT_TRUE(t, ft && a);
    fdtable_install(ft, a);
    struct fdtable *child = fdtable_clone(ft);
    KTEST_ASSERT_NOT_NULL(t, child);
    KTEST_EXPECT_PTR_EQ(t, fdtable_get(child, 0), a);
    KTEST_EXPECT_EQ(t, a->refs, 2);
    fdtable_close_all(ft);
    KTEST_EXPECT_EQ(t, released, 0);
    KTEST_EXPECT_NULL(t, fdtable_get(ft, 0));
    fdtable_destroy(child);
    KTEST_EXPECT_EQ(t, released, 1);
    fdtable_destroy(ft);
}

static const struct ktest_case fdtable_cases[] = {
    KTEST_CASE(create_puts_the_console_in_fds_0_to_2),
    KTEST_CASE(install_takes_the_lowest_free_slot),
    KTEST_CASE(install_is_emfile_when_full),
    KTEST_CASE(dup2_closes_the_target_and_checks_ranges),
    KTEST_CASE(clone_shares_files_and_close_all_drops_them),
    {0}
};

static const struct ktest_suite fdtable_suite = {
    .name = "fdtable",
    .cases = fdtable_cases,
};
KTEST_SUITE(fdtable_suite);
