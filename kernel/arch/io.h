/* io.h — x86 port I/O. */
#ifndef KOS_IO_H
#define KOS_IO_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* A write to an unused port: a short delay for old devices such as the PIC. */
static inline void io_wait(void)
{
    outb(0x80, 0);
}

#endif
