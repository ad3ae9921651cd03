/* pic.c — 8259A PIC pair: remapping, masks and end-of-interrupt. */
#include <stdint.h>
#include "pic.h"
#include "io.h"

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xA0
#define PIC2_DATA 0xA1

#define ICW1_ICW4 0x01
#define ICW1_INIT 0x10
#define ICW4_8086 0x01
#define OCW3_READ_ISR 0x0B
#define PIC_EOI   0x20
#define CASCADE_IRQ 2

void pic_init(void)
{
    outb(PIC1_CMD, ICW1_INIT | ICW1_ICW4); io_wait();
    outb(PIC2_CMD, ICW1_INIT | ICW1_ICW4); io_wait();
    outb(PIC1_DATA, IRQ_BASE); io_wait();          /* ICW2: vector offsets */
    outb(PIC2_DATA, IRQ_BASE + 8); io_wait();
    outb(PIC1_DATA, 1 << CASCADE_IRQ); io_wait();  /* ICW3: slave on IRQ2 */
    outb(PIC2_DATA, CASCADE_IRQ); io_wait();
    outb(PIC1_DATA, ICW4_8086); io_wait();
    outb(PIC2_DATA, ICW4_8086); io_wait();
    outb(PIC1_DATA, 0xFF & ~(1 << CASCADE_IRQ));
    outb(PIC2_DATA, 0xFF);
}

void pic_unmask(unsigned irq)
{
    uint16_t port = irq < 8 ? PIC1_DATA : PIC2_DATA;
    outb(port, inb(port) & ~(1 << (irq & 7)));
}

void pic_eoi(unsigned irq)
{
    if (irq >= 8)
        outb(PIC2_CMD, PIC_EOI);
    outb(PIC1_CMD, PIC_EOI);
}

int pic_is_spurious(unsigned irq)
{
    if (irq != 7 && irq != 15)
        return 0;
    uint16_t cmd = irq == 7 ? PIC1_CMD : PIC2_CMD;
    outb(cmd, OCW3_READ_ISR);
    if (inb(cmd) & 0x80)
        return 0;
    if (irq == 15)              /* the master saw a real IRQ2: it is owed an EOI */
        outb(PIC1_CMD, PIC_EOI);
    return 1;
}
