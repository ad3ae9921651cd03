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

static void format_core(struct sink *s, const char *fmt, va_list ap)
{
    char num[24];
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            s->put(s, *fmt);
            continue;
        }
        fmt++;
        int left = 0;
        char pad = ' ';
        for (;; fmt++) {
            if (*fmt == '-')
                left = 1;
            else if (*fmt == '0')
                pad = '0';
            else
                break;
        }
        int width = 0;
        if (*fmt == '*') {
            width = va_arg(ap, int);
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        int longs = 0;
        while (*fmt == 'l' || *fmt == 'z')
            longs += *fmt++ == 'l';
        if (left)
            pad = ' ';

        size_t n;
        switch (*fmt) {
        case 'd':
        case 'i': {
            int32_t v = va_arg(ap, int32_t);
            uint32_t mag = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
            n = 0;
            if (v < 0)
                num[n++] = '-';
            n += utoa(mag, 10, 0, num + n);
            if (v < 0 && pad == '0') {
                s->put(s, '-');
                emit_padded(s, num + 1, n - 1, width - 1, left, pad);
            } else {
                emit_padded(s, num, n, width, left, pad);
            }
            break;
        }
        case 'u':
            n = longs == 2 ? utoa64_dec(va_arg(ap, uint64_t), num) : utoa(va_arg(ap, uint32_t), 10, 0, num);
            emit_padded(s, num, n, width, left, pad);
            break;
        case 'x':
        case 'X':
            n = longs == 2 ? utoa64_hex(va_arg(ap, uint64_t), *fmt == 'X', num)
                           : utoa(va_arg(ap, uint32_t), 16, *fmt == 'X', num);
            emit_padded(s, num, n, width, left, pad);
            break;
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
            while (str[len])
                len++;
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
