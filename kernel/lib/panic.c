/* panic.c — the one way out of the kernel. How the emulator is told is the
 * exit hook's business (dev/debug_exit.c), so lib needs no device. */
#include <stdarg.h>
#include "panic.h"
#include "kprintf.h"
#include "../arch/cpu.h"

static kernel_exit_fn exit_hook;

void kernel_set_exit_hook(kernel_exit_fn fn)
{
    exit_hook = fn;
}

void kernel_stop(unsigned code, const char *why)
{
    cpu_cli();
    kprintf("kernel stopped: %s (exit status %u)\n", why, (code << 1) | 1);
    if (exit_hook)
        exit_hook(code);
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
