/* string.c — memory and string primitives (the compiler may also emit
 * calls to memset/memcpy/memmove/memcmp itself, so these names are fixed). */
#include "string.h"

/* A word at a time, as memcpy: emulators run a rep string instruction one
 * iteration at a time, so clearing a page takes 1,024 steps instead of 4,096. */
void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    uint32_t byte = (uint8_t)c;
    uint32_t word = byte * 0x01010101u;
    size_t words = n / 4, rest = n % 4;
    __asm__ volatile("rep stosl\n\t"
                     "movl %[rest], %%ecx\n\t"
                     "rep stosb"
                     : "+D"(d), "+c"(words)
                     : "a"(word), [rest] "r"((uint32_t)rest)
                     : "memory");
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    size_t words = n / 4, rest = n % 4;
    __asm__ volatile("rep movsl\n\t"
                     "movl %[rest], %%ecx\n\t"
                     "rep movsb"
                     : "+D"(d), "+S"(src), "+c"(words)
                     : [rest] "r"((uint32_t)rest)
                     : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] - y[i];
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}
