/* expect.c — the bodies of the KTEST_EXPECT_* macros: compare, and on a
 * failure count it and report where and what, KUnit's way:
 *
 *     # kmalloc_zero_returns_null: EXPECTATION FAILED at kernel/test/heap_test.c:31
 *     # Expected kmalloc(0) == NULL, but
 *     #     kmalloc(0) == 0x00201000
 *     #     NULL == 0x00000000
 *
 * Integers are shown in decimal and hex when they fit 32 bits, else as 64-bit
 * hex (printing needs no 64-bit division).
 */
#include <stdint.h>
#include "ktest.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"

static const char *const op_text[] = { "==", "!=", "<", "<=", ">", ">=" };

static int holds(enum ktest_op op, long long a, long long b)
{
    switch (op) {
    case KTEST_EQ: return a == b;
    case KTEST_NE: return a != b;
    case KTEST_LT: return a < b;
    case KTEST_LE: return a <= b;
    case KTEST_GT: return a > b;
    case KTEST_GE: return a >= b;
    }
    return 0;
}

static void format_int(char *buf, unsigned size, long long v)
{
    if (v >= INT32_MIN && v <= INT32_MAX)
        ksnprintf(buf, size, "%d (0x%x)", (int32_t)v, (uint32_t)v);
    else if (v >= 0 && v <= UINT32_MAX)
        ksnprintf(buf, size, "%u (0x%x)", (uint32_t)v, (uint32_t)v);
    else
        ksnprintf(buf, size, "0x%x%08x", (uint32_t)((unsigned long long)v >> 32), (uint32_t)v);
}

static void failed_at(struct ktest *t, const char *file, int line)
{
    t->failures++;
    ktest_info(t, "%s: EXPECTATION FAILED at %s:%d", t->name, file, line);
}

int ktest_expect_int(struct ktest *t, const char *file, int line, enum ktest_op op,
                     const char *a_text, long long a, const char *b_text, long long b)
{
    if (holds(op, a, b))
        return 1;
    char va[32], vb[32];
    format_int(va, sizeof(va), a);
    format_int(vb, sizeof(vb), b);
    failed_at(t, file, line);
    ktest_info(t, "Expected %s %s %s, but", a_text, op_text[op], b_text);
    ktest_info(t, "    %s == %s", a_text, va);
    ktest_info(t, "    %s == %s", b_text, vb);
    return 0;
}

int ktest_expect_ptr(struct ktest *t, const char *file, int line, enum ktest_op op,
                     const char *a_text, const void *a, const char *b_text, const void *b)
{
    if (holds(op, (long long)(uintptr_t)a, (long long)(uintptr_t)b))
        return 1;
    failed_at(t, file, line);
    ktest_info(t, "Expected %s %s %s, but", a_text, op_text[op], b_text);
    ktest_info(t, "    %s == %p", a_text, a);
    ktest_info(t, "    %s == %p", b_text, b);
    return 0;
}

int ktest_expect_str(struct ktest *t, const char *file, int line, int equal,
                     const char *a_text, const char *a, const char *b_text, const char *b)
{
    int same = (a && b) ? strcmp(a, b) == 0 : a == b;
    if (same == equal)
        return 1;
    failed_at(t, file, line);
    ktest_info(t, "Expected %s %s %s, but", a_text, equal ? "==" : "!=", b_text);
    ktest_info(t, "    %s == \"%s\"", a_text, a);
    ktest_info(t, "    %s == \"%s\"", b_text, b);
    return 0;
}

int ktest_expect_true(struct ktest *t, const char *file, int line, int want,
                      const char *text, long long value)
{
    if (value == want)
        return 1;
    failed_at(t, file, line);
    ktest_info(t, "Expected %s to be %s, but is %s", text, want ? "true" : "false",
               want ? "false" : "true");
    return 0;
}
