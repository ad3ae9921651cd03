/* printf.c — vsnprintf and the printers built on it. printf formats into a
 * stack buffer and writes it with one write(2); longer output is cut. */
#include "stdio.h"
#include "string.h"
#include "syscall.h"

#define PRINTF_MAX 512

struct out {
    char *buf;
    size_t size;
    size_t len;           /* what the full output would need */
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void put_padded(struct out *o, const char *s, size_t n, int width, int left, char pad)
{
    int fill = width > (int)n ? width - (int)n : 0;
    if (!left)
        while (fill-- > 0)
            put(o, pad);
    while (n--)
        put(o, *s++);
    if (left)
        while (fill-- > 0)
            put(o, ' ');
}

static size_t utoa(unsigned long v, unsigned base, int upper, char *tmp)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    size_t n = 0;
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    for (size_t i = 0; i < n / 2; i++) {
        char t = tmp[i];
        tmp[i] = tmp[n - 1 - i];
        tmp[n - 1 - i] = t;
    }
    return n;
}

/* v in decimal or hex, 64 bits without libgcc's division: long division
 * 16 bits at a time (a remainder below 16 followed by 16 bits fits in 32). */
static size_t utoa64(unsigned long long v, unsigned base, int upper, char *tmp)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char rev[24];
    size_t n = 0;
    do {
        unsigned long rem = 0;
        unsigned long long q = 0;
        for (int shift = 48; shift >= 0; shift -= 16) {
            unsigned long cur = (rem << 16) | (unsigned long)((v >> shift) & 0xFFFF);
            q |= (unsigned long long)(cur / base) << shift;
            rem = cur % base;
        }
        rev[n++] = digits[rem];
        v = q;
    } while (v);
    for (size_t i = 0; i < n; i++)
        tmp[i] = rev[n - 1 - i];
    return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };
    char tmp[24];
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        fmt++;
        int left = 0, width = 0;
        char pad = ' ';
        for (; *fmt == '-' || *fmt == '0'; fmt++) {
            if (*fmt == '-')
                left = 1;
            else
                pad = '0';
        }
        if (*fmt == '*') {
            width = va_arg(ap, int);
            fmt++;
        }
        for (; *fmt >= '0' && *fmt <= '9'; fmt++)
            width = width * 10 + (*fmt - '0');
        int longs = 0;
        for (; *fmt == 'l'; fmt++)
            longs++;
        size_t n;
        switch (*fmt) {
        case 'd':
        case 'i': {
            long long v = longs >= 2 ? va_arg(ap, long long) : va_arg(ap, long);
            unsigned long long mag = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
            tmp[0] = '-';
            n = utoa64(mag, 10, 0, tmp + 1);
            if (v < 0 && pad == '0' && !left) {
                put(&o, '-');              /* the sign before the zeros: -0042 */
                put_padded(&o, tmp + 1, n, width - 1, left, pad);
            } else {
                put_padded(&o, v < 0 ? tmp : tmp + 1, n + (v < 0), width, left, pad);
            }
            break;
        }
        case 'u':
            n = longs >= 2 ? utoa64(va_arg(ap, unsigned long long), 10, 0, tmp)
                           : utoa(va_arg(ap, unsigned long), 10, 0, tmp);
            put_padded(&o, tmp, n, width, left, pad);
            break;
        case 'x':
        case 'X':
            n = longs >= 2 ? utoa64(va_arg(ap, unsigned long long), 16, *fmt == 'X', tmp)
                           : utoa(va_arg(ap, unsigned long), 16, *fmt == 'X', tmp);
            put_padded(&o, tmp, n, width, left, pad);
            break;
        case 'p':
            tmp[0] = '0';
            tmp[1] = 'x';
            n = 2 + utoa((unsigned long)va_arg(ap, void *), 16, 0, tmp + 2);
            put_padded(&o, tmp, n, width, left, pad);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            put_padded(&o, s, strlen(s), width, left, ' ');
            break;
        }
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            put_padded(&o, tmp, 1, width, left, ' ');
            break;
        case '%':
            put(&o, '%');
            break;
        case 0:
            fmt--;                /* a lone '%' at the end: stop at the NUL */
            break;
        default:
            put(&o, '%');
            put(&o, *fmt);
        }
    }
    if (size)
        buf[o.len < size ? o.len : size - 1] = 0;
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

static int vdprintf(int fd, const char *fmt, va_list ap)
{
    char buf[PRINTF_MAX];
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t len = n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
    long r = write(fd, buf, len);
    return r < 0 ? (int)r : n;
}

int dprintf(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vdprintf(fd, fmt, ap);
    va_end(ap);
    return n;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vdprintf(1, fmt, ap);
    va_end(ap);
    return n;
}

int puts(const char *s)
{
    long r = write(1, s, strlen(s));
    if (r >= 0)
        r = write(1, "\n", 1);
    return r < 0 ? (int)r : 0;
}
