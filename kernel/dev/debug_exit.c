/* debug_exit.c — leave the emulator through the isa-debug-exit port. */
#include "debug_exit.h"
#include "../arch/io.h"

void debug_exit(unsigned code)
{
    outb(DEBUG_EXIT_PORT, (uint8_t)code);
}
