/* panic.h — stopping the kernel: panic, assertions, and a clean exit. */
#ifndef KOS_PANIC_H
#define KOS_PANIC_H

#include "../dev/debug_exit.h"

/* Print "kernel stopped: why", leave the emulator with code (a
 * KERNEL_EXIT_* value), or halt forever where there is no debug-exit device. */
__attribute__((noreturn)) void kernel_stop(unsigned code, const char *why);

/* Print "panic: <message>" and stop with KERNEL_EXIT_FAILURE. */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

#define KASSERT(cond)                                                          \
    do {                                                                       \
        if (!(cond))                                                           \
            panic("%s:%d: %s: assertion failed: %s", __FILE__, __LINE__,       \
                  __func__, #cond);                                            \
    } while (0)

#endif
