/* string.h — the string and memory functions of the user runtime: the
 * kernel's primitives (kernel/lib/string.h, compiled into the runtime; the
 * compiler also emits calls to memcpy and memset on its own) and two more. */
#ifndef USER_STRING_H
#define USER_STRING_H

#include "../../kernel/lib/string.h"

int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

#endif
