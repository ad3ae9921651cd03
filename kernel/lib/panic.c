/* panic.c — the one way out of the kernel. */
#include <stdarg.h>
#include "panic.h"
#include "kprintf.h"
#include "../arch/cpu.h"

void kernel_stop(unsigned code, const char *why)
{
    cpu_cli();
    kprintf("kernel stopped: %s (exit status %u)\n", why, (code << 1) | 1);
    debug_exit(code);
    cpu_halt_forever();
}

void panic(const char *fmt, ...)
{
    va_list ap;
    cpu_cli();
    kprintf("\npanic: ");
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    kprintf("\n");
    kernel_stop(KERNEL_EXIT_FAILURE, "panic");
}
