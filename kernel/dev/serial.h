/* serial.h — the COM1 16550 UART: the kernel's console. */
#ifndef KOS_SERIAL_H
#define KOS_SERIAL_H

#include <stdint.h>

#define SERIAL_RX_RING 4096   /* received bytes buffered before the shell reads them */

/* Find the UART by its scratch register and program 115200 8N1, keeping
 * every byte already received and the FIFO as the loader left it.
 * Returns 0 if the UART answered, -1 if it did not (output is then dropped). */
int serial_init(void);

/* Start interrupt-driven receive (needs the IDT and PIC). */
void serial_enable_rx_irq(void);

void serial_putc(char c);

/* Next received byte, or -1 if none is waiting. Never blocks. */
int serial_getc(void);

/* Is a received byte waiting? */
int serial_rx_pending(void);

/* Call fn (in interrupt context) whenever received bytes arrive: the
 * console's readers sleep until then. */
void serial_set_rx_notify(void (*fn)(void));

/* Show fn (in interrupt context) every received byte before it is queued;
 * a byte for which it returns 1 is taken by it and never queued (the
 * console's interrupt key). */
void serial_set_rx_filter(int (*fn)(uint8_t b));

/* Bytes lost because the receive ring was full. */
uint32_t serial_rx_dropped(void);

#endif
