/* string.c — the user runtime's string functions beyond the primitives it
 * shares with the kernel (memset, memcpy, memmove, memcmp, strlen, strcmp:
 * kernel/lib/string.c, compiled into the runtime too). */
#include "string.h"

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            return 0;
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return 0;
    }
}
