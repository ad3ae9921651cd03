/* args.c — the shell's one number parser: every command that takes a
 * number reads it here, so every command accepts the same forms and
 * refuses them with the same words.
 *
 * Forms: decimal (4096) or hex with 0x (0x1000), and an optional suffix
 * K, M or G (x 1024, 1024^2, 1024^3, either case): 4K, 0x10M. An error
 * names the command, the argument's position and role, and the reason:
 *
 *     stack: argument 2 (PID): 99999999999999 is out of range (max 4294967295)
 */
#include <stdint.h>
#include "shell.h"
#include "../lib/kprintf.h"

enum parse_error { PARSE_OK, PARSE_NOT_A_NUMBER, PARSE_BAD_SUFFIX, PARSE_TOO_BIG };

static int digit_value(char c, unsigned base)
{
    unsigned v;
    if (c >= '0' && c <= '9')
        v = (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
        v = (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
        v = (unsigned)(c - 'A' + 10);
    else
        return -1;
    return v < base ? (int)v : -1;
}

static unsigned suffix_shift(char c)
{
    switch (c) {
    case 'K': case 'k': return 10;
    case 'M': case 'm': return 20;
    case 'G': case 'g': return 30;
    default: return 0;
    }
}

/* The value of s, or why it has none (above max: PARSE_TOO_BIG).
 * Overflow is only known once the suffix is applied, so the digits stop
 * growing (without losing the verdict) once they pass max; max is below
 * 2^56, so v * 16 never wraps. */
static enum parse_error parse(const char *s, uint64_t max, uint64_t *out)
{
    unsigned base = 10;
    uint64_t v = 0;
    int too_big = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (digit_value(*s, base) < 0)
        return PARSE_NOT_A_NUMBER;
    for (; digit_value(*s, base) >= 0; s++) {
        v = v * base + (unsigned)digit_value(*s, base);
        if (v > max) {
            too_big = 1;
            v = max + 1;
        }
    }
    if (*s) {
        unsigned shift = suffix_shift(*s);
        if (!shift || s[1])
            return PARSE_BAD_SUFFIX;
        if (v > (max >> shift))
            too_big = 1;
        v <<= shift;
    }
    *out = v;
    return too_big || v > max ? PARSE_TOO_BIG : PARSE_OK;
}

static int refuse(char **argv, int i, const char *name, enum parse_error err, uint64_t max)
{
    kprintf("%s: argument %d (%s): %s ", argv[0], i, name, argv[i]);
    if (err == PARSE_NOT_A_NUMBER)
        kprintf("is not a number (decimal, or hex with 0x)\n");
    else if (err == PARSE_BAD_SUFFIX)
        kprintf("is not a number: only K, M or G may follow the digits\n");
    else
        kprintf("is out of range (max %llu)\n", max);
    return -1;
}

int shell_arg_u32(char **argv, int i, const char *name, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    enum parse_error err = parse(argv[i], max, &v);
    if (err != PARSE_OK)
        return refuse(argv, i, name, err, max);
    *out = (uint32_t)v;
    return 0;
}

int shell_arg_u64(char **argv, int i, const char *name, uint64_t max, uint64_t *out)
{
    enum parse_error err = parse(argv[i], max, out);
    return err == PARSE_OK ? 0 : refuse(argv, i, name, err, max);
}
