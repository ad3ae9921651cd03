/* ktest.h — writing in-kernel tests: cases, suites and expectations, in the
 * manner of Linux's KUnit. The runner (ktest_run.h) prints the results as
 * KTAP v1.
 *
 * A case is a function taking the running case's context. Expectations
 * report the file:line, the expression and both values when they fail and
 * let the case go on; the ASSERT forms end the case there. A CPU exception
 * inside a case ends that case only: it is reported as `not ok` and the run
 * goes on with the next case.
 *
 *     static void kmalloc_zero_returns_null(struct ktest *t)
 *     {
 *         KTEST_EXPECT_NULL(t, kmalloc(0));
 *     }
 *
 *     static const struct ktest_case heap_cases[] = {
 *         KTEST_CASE(kmalloc_zero_returns_null),
 *         {0}
 *     };
 *
 *     static const struct ktest_suite heap_suite = {
 *         .name = "heap",
 *         .cases = heap_cases,
 *         .check = KTEST_CASE(memory_check_finds_nothing),
 *     };
 *     KTEST_SUITE(heap_suite);
 *
 * `check` runs after every case of the suite (the module's integrity
 * checker) and is reported as one more case.
 */
#ifndef KOS_KTEST_H
#define KOS_KTEST_H

#include <stdint.h>
#include "../lib/kprintf.h"

struct ktest;

typedef void (*ktest_fn)(struct ktest *t);

struct ktest_case {
    const char *name;
    ktest_fn fn;
};

#define KTEST_CASE(fn_) { #fn_, fn_ }

/* Suite flags (an enum so that tools read the values from the DWARF). */
enum ktest_flags {
    KTEST_MANUAL = 0x1,    /* not run by `ktest` or ktest=all, only when named */
};

struct ktest_suite {
    const char *name;
    const struct ktest_case *cases;   /* ends with an entry whose name is NULL */
    struct ktest_case check;          /* run last; name NULL for none */
    void (*init)(void);               /* run before the first case, if set */
    enum ktest_flags flags;           /* KTEST_MANUAL or 0 */
};

/* Register a suite: a pointer to it goes into the .ktest_suites section,
 * which linker.ld keeps sorted by the suite variable's name. */
#define KTEST_SUITE(suite_)                                                     \
    static const struct ktest_suite *const ktest_ptr_##suite_                    \
        __attribute__((used, section(".ktest_suites." #suite_), aligned(4))) = &suite_

/* Where a failure report goes: printed as `# ` lines of the running case
 * (the default), or captured (the runner's own tests). */
typedef void (*ktest_diag_fn)(struct ktest *t, const char *line);

/* The running case. Fields are the runner's; tests use the macros. */
struct ktest {
    const char *name;
    unsigned failures;           /* failed expectations so far */
    const char *skip_reason;     /* set by KTEST_SKIP */
    ktest_diag_fn diag;
    void *diag_data;
};

enum ktest_op { KTEST_EQ, KTEST_NE, KTEST_LT, KTEST_LE, KTEST_GT, KTEST_GE };

/* The expectation bodies; they return 1 when the expectation held. */
int ktest_expect_int(struct ktest *t, const char *file, int line, enum ktest_op op,
                     const char *a_text, long long a, const char *b_text, long long b);
int ktest_expect_ptr(struct ktest *t, const char *file, int line, enum ktest_op op,
                     const char *a_text, const void *a, const char *b_text, const void *b);
int ktest_expect_str(struct ktest *t, const char *file, int line, int equal,
                     const char *a_text, const char *a, const char *b_text, const char *b);
int ktest_expect_true(struct ktest *t, const char *file, int line, int want,
                      const char *text, long long value);

#define KTEST_LINE_MAX 160   /* bytes of one diagnostic line; longer ones are cut */

/* Give the running case one diagnostic line (printed as `# line`). */
void ktest_diag(struct ktest *t, const char *line);

/* The same, printf-style. */
#define ktest_info(t, ...)                                                      \
    do {                                                                        \
        char ktest_line_[KTEST_LINE_MAX];                                       \
        ksnprintf(ktest_line_, sizeof(ktest_line_), __VA_ARGS__);               \
        ktest_diag((t), ktest_line_);                                           \
    } while (0)

/* End the running case now (after a failed ASSERT, or a SKIP). */
__attribute__((noreturn)) void ktest_abort(struct ktest *t);

/* Mark the case skipped, with a reason, and end it. */
#define KTEST_SKIP(t, reason)                                                   \
    do {                                                                        \
        (t)->skip_reason = (reason);                                            \
        ktest_abort(t);                                                         \
    } while (0)

/* Integers of any width up to 64 bits: both sides are compared as long long. */
#define KTEST_EXPECT_OP(t, op, a, b)                                            \
    ktest_expect_int((t), __FILE__, __LINE__, (op), #a, (long long)(a), #b, (long long)(b))
#define KTEST_EXPECT_EQ(t, a, b) KTEST_EXPECT_OP(t, KTEST_EQ, a, b)
#define KTEST_EXPECT_NE(t, a, b) KTEST_EXPECT_OP(t, KTEST_NE, a, b)
#define KTEST_EXPECT_LT(t, a, b) KTEST_EXPECT_OP(t, KTEST_LT, a, b)
#define KTEST_EXPECT_LE(t, a, b) KTEST_EXPECT_OP(t, KTEST_LE, a, b)
#define KTEST_EXPECT_GT(t, a, b) KTEST_EXPECT_OP(t, KTEST_GT, a, b)
#define KTEST_EXPECT_GE(t, a, b) KTEST_EXPECT_OP(t, KTEST_GE, a, b)

#define KTEST_EXPECT_TRUE(t, c)  ktest_expect_true((t), __FILE__, __LINE__, 1, #c, (long long)!!(c))
#define KTEST_EXPECT_FALSE(t, c) ktest_expect_true((t), __FILE__, __LINE__, 0, #c, (long long)!!(c))

#define KTEST_EXPECT_PTR_EQ(t, a, b)                                            \
    ktest_expect_ptr((t), __FILE__, __LINE__, KTEST_EQ, #a, (a), #b, (b))
#define KTEST_EXPECT_PTR_NE(t, a, b)                                            \
    ktest_expect_ptr((t), __FILE__, __LINE__, KTEST_NE, #a, (a), #b, (b))
#define KTEST_EXPECT_NULL(t, p)                                                 \
    ktest_expect_ptr((t), __FILE__, __LINE__, KTEST_EQ, #p, (p), "NULL", 0)
#define KTEST_EXPECT_NOT_NULL(t, p)                                             \
    ktest_expect_ptr((t), __FILE__, __LINE__, KTEST_NE, #p, (p), "NULL", 0)

#define KTEST_EXPECT_STREQ(t, a, b)                                             \
    ktest_expect_str((t), __FILE__, __LINE__, 1, #a, (a), #b, (b))
#define KTEST_EXPECT_STRNE(t, a, b)                                             \
    ktest_expect_str((t), __FILE__, __LINE__, 0, #a, (a), #b, (b))

/* The same, ending the case when they fail: for conditions the rest of the
 * case cannot do without (e.g. that an allocation succeeded). */
#define KTEST_ASSERT(expectation, t)                                            \
    do {                                                                        \
        if (!(expectation))                                                     \
            ktest_abort(t);                                                     \
    } while (0)
#define KTEST_ASSERT_EQ(t, a, b)     KTEST_ASSERT(KTEST_EXPECT_EQ(t, a, b), t)
#define KTEST_ASSERT_TRUE(t, c)      KTEST_ASSERT(KTEST_EXPECT_TRUE(t, c), t)
#define KTEST_ASSERT_NOT_NULL(t, p)  KTEST_ASSERT(KTEST_EXPECT_NOT_NULL(t, p), t)

/* What ktest_try caught. */
struct ktest_fault {
    uint32_t vector;             /* CPU exception number */
    const char *name;            /* "page fault", ... */
    uint32_t eip, err_code, cr2;
};

/* Run fn(arg), catching a CPU exception inside it. Returns 1 and fills
 * *fault if one happened (fn was cut short there), 0 if fn returned. For
 * cases that check that something faults (a guard page, page 0). */
int ktest_try(void (*fn)(void *arg), void *arg, struct ktest_fault *fault);

enum ktest_result { KTEST_PASSED, KTEST_FAILED, KTEST_SKIPPED, KTEST_CRASHED };

/* Run one case with context t (name, diag and diag_data set by the
 * caller), catching faults as the runner does; *fault is filled for
 * KTEST_CRASHED. The runner's own tests use it to run cases that fail. */
enum ktest_result ktest_run_case(const struct ktest_case *kc, struct ktest *t,
                                 struct ktest_fault *fault);

#endif
