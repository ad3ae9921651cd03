/* kprintf.c — one formatter (format_core) feeding two sinks: the console
 * kmain registers and a caller's buffer. Only 32-bit arithmetic: no libgcc
 * (64-bit values, %llx and %llu, are taken apart into 32- and 16-bit pieces).
 *
 * The console is a function pointer rather than a call into the UART
 * driver so that lib depends on no device: the driver (which needs the
 * IDT, whose fault report needs kprintf) sits below printing, not beside it.
 */
#include <stdint.h>
#include "kprintf.h"

struct sink {
    void (*put)(struct sink *s, char c);
    char *buf;
    size_t size, len;
};

static kprintf_sink_fn console;

void kprintf_set_sink(kprintf_sink_fn putc)
{
    console = putc;
}

static void put_console(struct sink *s, char c)
{
    if (console) {
        if (c == '\n')
            console('\r');
        console(c);
    }
    s->len++;
}

static void put_buf(struct sink *s, char c)
{
    if (s->len + 1 < s->size)
        s->buf[s->len] = c;
    s->len++;
}

static void emit_padded(struct sink *s, const char *str, size_t n, int width, int left, char pad)
{
    int fill = width > (int)n ? width - (int)n : 0;
    if (!left)
        while (fill-- > 0)
            s->put(s, pad);
    for (size_t i = 0; i < n; i++)
        s->put(s, str[i]);
    if (left)
        while (fill-- > 0)
            s->put(s, ' ');
}

static size_t utoa(uint32_t v, unsigned base, int upper, char *out)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[12];
    size_t n = 0;
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* v in hex: the high word's digits, then the low word's zero-padded to 8. */
static size_t utoa64_hex(uint64_t v, int upper, char *out)
{
    uint32_t hi = (uint32_t)(v >> 32), lo = (uint32_t)v;
    if (!hi)
        return utoa(lo, 16, upper, out);
    size_t n = utoa(hi, 16, upper, out);
    char low[12];
    size_t m = utoa(lo, 16, upper, low);
    for (size_t i = m; i < 8; i++)
        out[n++] = '0';
    for (size_t i = 0; i < m; i++)
        out[n++] = low[i];
    return n;
}

/* v in decimal by long division, 16 bits at a time: each step divides a
 * remainder below 10 followed by 16 bits, which fits in 32. */
static size_t utoa64_dec(uint64_t v, char *out)
{
    if (!(v >> 32))
        return utoa((uint32_t)v, 10, 0, out);
    char tmp[24];
    size_t n = 0;
    do {
        uint32_t rem = 0;
        uint64_t q = 0;
        for (int shift = 48; shift >= 0; shift -= 16) {
            uint32_t cur = (rem << 16) | (uint32_t)((v >> shift) & 0xFFFF);
            q |= (uint64_t)(cur / 10) << shift;
            rem = cur % 10;
        }
        tmp[n++] = (char)('0' + rem);
        v = q;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* A number's digits (num, n of them) after its sign, with at least prec
 * digits (zeros in front), in a field of width: zeros pad between the sign
 * and the digits when pad is '0' and no precision was given, as C's do. */
static void emit_number(struct sink *s, const char *sign, const char *num, size_t n, int width,
                        int prec, int left, char pad)
{
    size_t slen = 0;
    while (sign[slen])
        slen++;
    size_t zeros = prec > (int)n ? (size_t)prec - n : 0;
    if (prec < 0 && pad == '0' && !left && width > (int)(slen + n))
        zeros = (size_t)width - slen - n;
    int fill = width > (int)(slen + zeros + n) ? width - (int)(slen + zeros + n) : 0;
    if (!left)
        while (fill-- > 0)
            s->put(s, ' ');
    for (size_t i = 0; i < slen; i++)
        s->put(s, sign[i]);
    while (zeros--)
        s->put(s, '0');
    for (size_t i = 0; i < n; i++)
        s->put(s, num[i]);
    if (left)
        while (fill-- > 0)
            s->put(s, ' ');
}

static void format_core(struct sink *s, const char *fmt, va_list ap)
{
    char num[24];
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            s->put(s, *fmt);
            continue;
        }
        fmt++;
        int left = 0, plus = 0, space = 0, alt = 0;
        char pad = ' ';
        for (;; fmt++) {
            if (*fmt == '-')
                left = 1;
            else if (*fmt == '0')
                pad = '0';
            else if (*fmt == '+')
                plus = 1;
            else if (*fmt == ' ')
                space = 1;
            else if (*fmt == '#')
                alt = 1;
            else
                break;
        }
        int width = 0;
        if (*fmt == '*') {
            width = va_arg(ap, int);
            if (width < 0) {                   /* C: a negative width is '-' and its size */
                left = 1;
                width = -width;
            }
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        int prec = -1;                         /* none */
        if (*fmt == '.') {
            fmt++;
            prec = 0;
            if (*fmt == '*') {
                prec = va_arg(ap, int);        /* negative: as if none */
                fmt++;
            }
            while (*fmt >= '0' && *fmt <= '9')
                prec = prec * 10 + (*fmt++ - '0');
        }
        int longs = 0, shorts = 0;
        for (; *fmt == 'l' || *fmt == 'z' || *fmt == 'h'; fmt++) {
            longs += *fmt == 'l';
            shorts += *fmt == 'h';
        }
        if (left)
            pad = ' ';

        size_t n;
        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v = longs == 2 ? va_arg(ap, int64_t) : va_arg(ap, int32_t);
            if (shorts)
                v = shorts == 1 ? (int16_t)v : (int8_t)v;
            uint64_t mag = v < 0 ? 0u - (uint64_t)v : (uint64_t)v;
            n = utoa64_dec(mag, num);
            if (prec == 0 && mag == 0)
                n = 0;                         /* C: no digits for 0 at precision 0 */
            emit_number(s, v < 0 ? "-" : plus ? "+" : space ? " " : "", num, n, width, prec, left, pad);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = longs == 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t);
            if (shorts)
                v = shorts == 1 ? (uint16_t)v : (uint8_t)v;
            n = *fmt == 'u' ? utoa64_dec(v, num) : utoa64_hex(v, *fmt == 'X', num);
            if (prec == 0 && v == 0)
                n = 0;
            const char *prefix = alt && v && *fmt != 'u' ? (*fmt == 'X' ? "0X" : "0x") : "";
            emit_number(s, prefix, num, n, width, prec, left, pad);
            break;
        }
        case 'p': {
            uint32_t v = (uint32_t)(uintptr_t)va_arg(ap, void *);
            num[0] = '0';
            num[1] = 'x';
            for (int i = 0; i < 8; i++)
                num[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xF];
            emit_padded(s, num, 10, width, left, ' ');
            break;
        }
        case 's': {
            const char *str = va_arg(ap, const char *);
            if (!str)
                str = "(null)";
            size_t len = 0;
            while (str[len] && (prec < 0 || len < (size_t)prec))
                len++;                         /* never past prec: str may have no NUL */
            emit_padded(s, str, len, width, left, ' ');
            break;
        }
        case 'c':
            num[0] = (char)va_arg(ap, int);
            emit_padded(s, num, 1, width, left, ' ');
            break;
        case '%':
            s->put(s, '%');
            break;
        case '\0':
            return;
        default:
            s->put(s, '%');
            s->put(s, *fmt);
            break;
        }
    }
}

int kvprintf(const char *fmt, va_list ap)
{
    struct sink s = { put_console, 0, 0, 0 };
    format_core(&s, fmt, ap);
    return (int)s.len;
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvprintf(fmt, ap);
    va_end(ap);
    return n;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
    struct sink s = { put_buf, buf, size, 0 };
    va_list ap;
    va_start(ap, fmt);
    format_core(&s, fmt, ap);
    va_end(ap);
    if (size)
        buf[s.len < size ? s.len : size - 1] = '\0';
    return (int)s.len;
}
