/* lib_test.c — the freestanding library: kprintf's formatting (through
 * ksnprintf, the same formatter without the console) and the string
 * functions the compiler and the shell rely on. */
#include <stdint.h>
#include "ktest.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"

static char buf[64];

static void ksnprintf_formats_integers(struct ktest *t)
{
    ksnprintf(buf, sizeof(buf), "%d %i %u", -42, 7, 4294967295u);
    KTEST_EXPECT_STREQ(t, buf, "-42 7 4294967295");
    ksnprintf(buf, sizeof(buf), "%x %X %08x", 0xbeefu, 0xbeefu, 0x1fu);
    KTEST_EXPECT_STREQ(t, buf, "beef BEEF 0000001f");
    ksnprintf(buf, sizeof(buf), "[%5d][%-5d][%05d][%*u]", 42, 42, -42, 4, 7u);
    KTEST_EXPECT_STREQ(t, buf, "[   42][42   ][-0042][   7]");
    ksnprintf(buf, sizeof(buf), "%d", (int)0x80000000u);
    KTEST_EXPECT_STREQ(t, buf, "-2147483648");
}

static void ksnprintf_formats_pointers_strings_chars(struct ktest *t)
{
    ksnprintf(buf, sizeof(buf), "%p|%s|%c|%%", (void *)0x1234, "kos", 'x');
    KTEST_EXPECT_STREQ(t, buf, "0x00001234|kos|x|%");
    ksnprintf(buf, sizeof(buf), "[%-6s][%6s]", "ab", "cd");
    KTEST_EXPECT_STREQ(t, buf, "[ab    ][    cd]");
    const char *volatile none = 0;     /* hidden from gcc's format check */
    ksnprintf(buf, sizeof(buf), "%s", none);
    KTEST_EXPECT_STREQ(t, buf, "(null)");
}

static void ksnprintf_cuts_to_size_and_returns_the_full_length(struct ktest *t)
{
    char small[5];
    KTEST_EXPECT_EQ(t, ksnprintf(small, sizeof(small), "hello %s", "world"), 11);
    KTEST_EXPECT_STREQ(t, small, "hell");
    small[0] = 'X';
    KTEST_EXPECT_EQ(t, ksnprintf(small, 0, "abc"), 3);
    KTEST_EXPECT_EQ(t, small[0], 'X');
}

static void memset_fills_exactly_the_range(struct ktest *t)
{
    uint8_t b[32];
    for (int i = 0; i < 32; i++)
        b[i] = 0xAA;
    KTEST_EXPECT_PTR_EQ(t, memset(b + 3, 0x5C, 20), b + 3);
    int ok = 1;
    for (int i = 0; i < 32; i++)
        ok &= b[i] == ((i >= 3 && i < 23) ? 0x5C : 0xAA);
    KTEST_EXPECT_TRUE(t, ok);
}

/* Every length 0..24 at every alignment 0..3, with a value whose int has
 * bits above the byte (only the byte is stored, in every position). */
static void memset_every_length_and_alignment(struct ktest *t)
{
    uint8_t b[32];
    int bad = 0;
    for (unsigned off = 0; off < 4; off++)
        for (unsigned n = 0; n <= 24; n++) {
            for (int i = 0; i < 32; i++)
                b[i] = 0x11;
            memset(b + off, 0x3A5, n);
            for (unsigned i = 0; i < 32; i++)
                bad += b[i] != ((i >= off && i < off + n) ? 0xA5 : 0x11);
        }
    KTEST_EXPECT_EQ(t, bad, 0);
}

static void memcpy_copies_every_length_and_alignment(struct ktest *t)
{
    uint8_t src[40], dst[48];
    for (int i = 0; i < 40; i++)
        src[i] = (uint8_t)(i * 7 + 1);
    unsigned bad = 0;
    for (unsigned off = 0; off < 4; off++) {
        for (unsigned n = 0; n <= 20; n++) {
            memset(dst, 0, sizeof(dst));
            memcpy(dst + off, src + 3, n);
            for (unsigned i = 0; i < sizeof(dst); i++) {
                uint8_t want = (i >= off && i < off + n) ? src[3 + i - off] : 0;
                bad += dst[i] != want;
            }
        }
    }
    KTEST_EXPECT_EQ(t, bad, 0);
}

static void memmove_handles_overlap_both_ways(struct ktest *t)
{
    char s[16] = "abcdefghij";
    memmove(s + 2, s, 6);
    KTEST_EXPECT_STREQ(t, s, "ababcdefij");
    char u[16] = "abcdefghij";
    memmove(u, u + 3, 7);
    KTEST_EXPECT_STREQ(t, u, "defghijhij");
}

static void memcmp_and_strcmp_order_by_the_first_difference(struct ktest *t)
{
    KTEST_EXPECT_EQ(t, memcmp("abcd", "abcd", 4), 0);
    KTEST_EXPECT_LT(t, memcmp("abcd", "abce", 4), 0);
    KTEST_EXPECT_GT(t, memcmp("\xff", "\x01", 1), 0);     /* bytes compare unsigned */
    KTEST_EXPECT_EQ(t, strcmp("kos", "kos"), 0);
    KTEST_EXPECT_LT(t, strcmp("ko", "kos"), 0);
    KTEST_EXPECT_GT(t, strcmp("kot", "kos"), 0);
    KTEST_EXPECT_EQ(t, strlen(""), 0);
    KTEST_EXPECT_EQ(t, strlen("kacchi"), 6);
}

static const struct ktest_case lib_cases[] = {
    KTEST_CASE(ksnprintf_formats_integers),
    KTEST_CASE(ksnprintf_formats_pointers_strings_chars),
    KTEST_CASE(ksnprintf_cuts_to_size_and_returns_the_full_length),
    KTEST_CASE(memset_fills_exactly_the_range),
    KTEST_CASE(memset_every_length_and_alignment),
    KTEST_CASE(memcpy_copies_every_length_and_alignment),
    KTEST_CASE(memmove_handles_overlap_both_ways),
    KTEST_CASE(memcmp_and_strcmp_order_by_the_first_difference),
    {0}
};

static const struct ktest_suite lib_suite = {
    .name = "lib",
    .cases = lib_cases,
};
KTEST_SUITE(lib_suite);
