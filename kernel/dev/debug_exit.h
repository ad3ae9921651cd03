/* debug_exit.h — QEMU's isa-debug-exit device at port 0xf4.
 *
 * Writing v makes QEMU exit with status (v << 1) | 1, so the two codes
 * kernel_stop uses (KERNEL_EXIT_*, lib/panic.h) give 33 (success) and 35
 * (failure). Status 1 is QEMU's own error, and 0 can never be produced. The
 * embedded emulator models the same device.
 */
#ifndef KOS_DEBUG_EXIT_H
#define KOS_DEBUG_EXIT_H

#define DEBUG_EXIT_PORT    0xf4

/* Ask the emulator to exit. On hardware without the device this returns. */
void debug_exit(unsigned code);

#endif
