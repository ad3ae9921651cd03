/* panic.h — stopping the kernel: panic, assertions, and a clean exit. */
#ifndef KOS_PANIC_H
#define KOS_PANIC_H

/* The codes kernel_stop hands its exit hook. Through QEMU's isa-debug-exit
 * (dev/debug_exit.h), which exits with (code << 1) | 1, they are the
 * emulator's exit statuses 33 and 35. */
#define KERNEL_EXIT_SUCCESS 0x10
#define KERNEL_EXIT_FAILURE 0x11

/* How the machine is left: kmain registers the debug-exit device. */
typedef void (*kernel_exit_fn)(unsigned code);
void kernel_set_exit_hook(kernel_exit_fn fn);

/* Print "kernel stopped: why", call the exit hook with code (a
 * KERNEL_EXIT_* value), and halt forever if it returns (hardware without
 * the device) or none is set. */
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
