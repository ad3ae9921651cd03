/* serial.c — 16550 UART driver for COM1.
 *
 * Transmit polls the line status register (the console must work before
 * interrupts do, and from exception handlers). Receive is interrupt driven:
 * the IRQ 4 handler drains the FIFO into a ring buffer the shell reads, so
 * the idle loop can halt instead of polling.
 *
 * Flow control: when the ring is nearly full the handler turns the receive
 * interrupt off, so further bytes wait in the UART's FIFO and the sender is
 * held up (an emulator stops reading its input); the reader turns it back
 * on once the ring is half empty. Input is delayed, never lost.
 */
#include <stdint.h>
#include "serial.h"
#include "../arch/io.h"
#include "../arch/idt.h"

#define COM1 0x3F8
#define REG_DATA 0      /* RBR/THR; DLL when DLAB=1 */
#define REG_IER  1      /* DLM when DLAB=1 */
#define REG_FCR  2      /* written; read, the same port is the IIR */
#define REG_IIR  2
#define REG_LCR  3
#define REG_MCR  4
#define REG_LSR  5
#define REG_SCR  7      /* scratch: holds what is written, nothing else */

#define LCR_8N1  0x03
#define LCR_DLAB 0x80
#define FCR_ENABLE_CLEAR_TX_14 0xC5  /* FIFO on, clear transmit only, trigger at 14 bytes */
#define MCR_DTR_RTS_OUT2 0x0B     /* OUT2 gates the UART's IRQ line */
#define LSR_DATA_READY 0x01
#define IIR_FIFO_ON    0xC0       /* both bits: the FIFOs are enabled */
#define LSR_THR_EMPTY  0x20
#define IER_RX_AVAILABLE 0x01
#define BAUD_DIVISOR 1            /* 115200 baud */
#define SCRATCH_A 0xAE
#define SCRATCH_B 0x51

static int present;
static uint8_t rx_ring[SERIAL_RX_RING];
static volatile uint32_t rx_head, rx_tail;   /* head: written by IRQ; tail: by the reader */
static volatile uint32_t rx_dropped;
static volatile int rx_throttled;          /* receive interrupt off: ring nearly full */

#define RX_HIGH_WATER (SERIAL_RX_RING - 16)   /* room for one more FIFO load */
#define RX_LOW_WATER  (SERIAL_RX_RING / 2)
#define RX_KEEP_MAX   64                      /* the deepest FIFO of the 16550 family (16750) */

_Static_assert((SERIAL_RX_RING & (SERIAL_RX_RING - 1)) == 0, "ring size must be a power of two");

/* Put a received byte in the ring; a full ring drops it (counted). */
static void rx_put(uint8_t b)
{
    uint32_t head = rx_head;
    if (head - rx_tail == SERIAL_RX_RING) {
        rx_dropped++;
        return;
    }
    rx_ring[head & (SERIAL_RX_RING - 1)] = b;
    rx_head = head + 1;
}

/* Move what the UART holds into the ring, so that reprogramming it cannot
 * throw away bytes that arrived before the driver did. Bounded: a missing
 * UART reads 0xFF, which looks like "data ready" for ever. */
static void rx_keep(void)
{
    for (int i = 0; i < RX_KEEP_MAX && (inb(COM1 + REG_LSR) & LSR_DATA_READY); i++)
        rx_put(inb(COM1 + REG_DATA));
}

/*
 * Bytes can be waiting before this runs (typed or piped in before boot):
 * one in the receive register, or more in the FIFO. Nothing here may lose
 * them, so the receiver is left alone: a UART is found by its scratch
 * register (a missing one reads 0xFF), not by a loopback test, whose
 * echoed byte takes the receive register a waiting byte is in; each step
 * that reprograms the chip drains the receiver into the ring first.
 *
 * The FIFO stays as the loader left it. Turning it on flushes the receiver
 * on some UARTs (QEMU's among them), and no drain closes that gap: QEMU
 * hands the receive register its next waiting byte as soon as the driver
 * reads one, so a byte can arrive between the last read and the write,
 * and be flushed. GRUB leaves the FIFO on, and the driver only sets its
 * trigger level (the enable bit unchanged: nothing is flushed). QEMU's
 * -kernel leaves it off, and it stays off: the receive register holds one
 * byte, QEMU keeps the rest until it is read, and each byte is an
 * interrupt.
 */
static int uart_present(void)
{
    outb(COM1 + REG_SCR, SCRATCH_A);
    if (inb(COM1 + REG_SCR) != SCRATCH_A)
        return 0;
    outb(COM1 + REG_SCR, SCRATCH_B);
    return inb(COM1 + REG_SCR) == SCRATCH_B;
}

int serial_init(void)
{
    if (!uart_present()) {
        present = 0;
        return -1;
    }
    outb(COM1 + REG_IER, 0);
    rx_keep();
    outb(COM1 + REG_LCR, LCR_DLAB);
    outb(COM1 + REG_DATA, BAUD_DIVISOR & 0xFF);
    outb(COM1 + REG_IER, BAUD_DIVISOR >> 8);
    outb(COM1 + REG_LCR, LCR_8N1);
    rx_keep();
    if ((inb(COM1 + REG_IIR) & IIR_FIFO_ON) == IIR_FIFO_ON)
        outb(COM1 + REG_FCR, FCR_ENABLE_CLEAR_TX_14);
    rx_keep();
    outb(COM1 + REG_MCR, MCR_DTR_RTS_OUT2);
    present = 1;
    return 0;
}

static void (*rx_notify)(void);
static int (*rx_filter)(uint8_t b);

void serial_set_rx_notify(void (*fn)(void))
{
    rx_notify = fn;
}

void serial_set_rx_filter(int (*fn)(uint8_t b))
{
    rx_filter = fn;
}

static void serial_irq(struct regs *r)
{
    (void)r;
    while (inb(COM1 + REG_LSR) & LSR_DATA_READY) {
        uint8_t b = inb(COM1 + REG_DATA);
        if (rx_filter && rx_filter(b))
            continue;
        rx_put(b);
        if (rx_head - rx_tail >= RX_HIGH_WATER) {
            outb(COM1 + REG_IER, 0);
            rx_throttled = 1;
            break;
        }
    }
    if (rx_notify)
        rx_notify();
}

void serial_enable_rx_irq(void)
{
    if (!present)
        return;
    irq_install(IRQ_COM1, serial_irq);
    outb(COM1 + REG_IER, IER_RX_AVAILABLE);
}

void serial_putc(char c)
{
    if (!present)
        return;
    while (!(inb(COM1 + REG_LSR) & LSR_THR_EMPTY))
        ;
    outb(COM1 + REG_DATA, (uint8_t)c);
}

int serial_getc(void)
{
    uint32_t tail = rx_tail;
    if (tail == rx_head)
        return -1;
    int b = rx_ring[tail & (SERIAL_RX_RING - 1)];
    rx_tail = tail + 1;
    /* No receive interrupt can run while throttled, so this cannot race. */
    if (rx_throttled && rx_head - rx_tail <= RX_LOW_WATER) {
        rx_throttled = 0;
        outb(COM1 + REG_IER, IER_RX_AVAILABLE);
    }
    return b;
}

int serial_rx_pending(void)
{
    return rx_tail != rx_head;
}

uint32_t serial_rx_dropped(void)
{
    return rx_dropped;
}
