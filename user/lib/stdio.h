/* stdio.h — formatted output of the user runtime, unbuffered, to a file
 * descriptor. Conversions: %d %i %u %x %X %p %s %c %%, with '-', '0' and a
 * field width (digits or '*'); an 'l' length is accepted (long is 32 bits),
 * and 'll' takes a 64-bit value (%lld %llu %llx, e.g. st_size). */
#ifndef USER_STDIO_H
#define USER_STDIO_H

#include <stdarg.h>
#include <stddef.h>

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int dprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int puts(const char *s);

#endif
