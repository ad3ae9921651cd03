/* kprintf.h — formatted output to the console.
 *
 * Conversions: %d %i %u %x %X %p %s %c %%, with C's flags '-' (left
 * justify), '0' (zero pad), '+', ' ' and '#' (0x before non-zero hex), a
 * field width (digits, or '*' from the arguments, negative meaning '-'),
 * and a precision (.N or .*: at least N digits; at most N bytes of a %s,
 * which then needs no NUL), e.g. %08x, %-12s, %-*s, %.*s, %5.3u; 'll'
 * takes a 64-bit value (%lld %llu %llx), 'h' and 'hh' print an int as
 * a short or a char, 'l' and 'z' change nothing. %p prints 0x and eight
 * hex digits. "\n" goes out as "\r\n".
 */
#ifndef KOS_KPRINTF_H
#define KOS_KPRINTF_H

#include <stdarg.h>
#include <stddef.h>

/* Where kprintf's characters go, one at a time (kmain registers the
 * serial port). Until a sink is set, output is counted and dropped. */
typedef void (*kprintf_sink_fn)(char c);
void kprintf_set_sink(kprintf_sink_fn putc);

int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap);

/* Format into buf (always NUL-terminated when size > 0). Returns the length
 * the full output would have had. */
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
