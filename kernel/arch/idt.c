/* idt.c — IDT setup and the dispatcher every interrupt stub calls.
 *
 * Vectors 0..31 are CPU exceptions: they go to the handler kmain registers
 * (trap/trap.c, which reports them and stops the machine unless a hook takes
 * them); when the handler returns, the interrupted code resumes at r->eip.
 * With none registered the CPU halts. Vectors 32..47 are PIC interrupts routed to the handler
 * irq_install registered. Nothing here prints: arch sits below lib.
 */
#include <stdint.h>
#include "idt.h"
#include "cpu.h"
#include "gdt.h"
#include "pic.h"
#include "../include/errno.h"

struct idt_entry {
    uint16_t off_low;
    uint16_t sel;
    uint8_t zero;
    uint8_t type_attr;
    uint16_t off_high;
} __attribute__((packed));

struct idt_ptr {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

_Static_assert(sizeof(struct idt_entry) == 8, "IDT entries are 8 bytes");

#define IDT_INTERRUPT_GATE 0x8E   /* present, ring 0, 32-bit interrupt gate */
#define VECTOR_PAGE_FAULT 14

extern const uint32_t isr_stub_table[NUM_VECTORS];

static struct idt_entry idt[256];
static struct idt_ptr idtr;
static irq_handler_fn irq_handlers[16];
static page_fault_fn page_fault_handler;
static exception_handler_fn exception_handler;

void idt_init(void)
{
    for (unsigned v = 0; v < NUM_VECTORS; v++) {
        uint32_t off = isr_stub_table[v];
        idt[v].off_low = off & 0xFFFF;
        idt[v].sel = GDT_KERNEL_CODE;
        idt[v].zero = 0;
        idt[v].type_attr = IDT_INTERRUPT_GATE;
        idt[v].off_high = off >> 16;
    }
    idtr.limit = sizeof(idt) - 1;
    idtr.base = (uint32_t)idt;
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

int irq_install(unsigned irq, irq_handler_fn fn)
{
    if (irq >= 16)
        return -EINVAL;
    irq_handlers[irq] = fn;
    pic_unmask(irq);
    return 0;
}

void idt_set_exception_handler(exception_handler_fn fn)
{
    exception_handler = fn;
}

void idt_set_page_fault_handler(page_fault_fn fn)
{
    page_fault_handler = fn;
}

void interrupt_dispatch(struct regs *r)
{
    if (r->vector == VECTOR_PAGE_FAULT && page_fault_handler && page_fault_handler(r))
        return;
    if (r->vector < 32) {
        if (!exception_handler)
            cpu_halt_forever();
        exception_handler(r);
        return;
    }

    unsigned irq = r->vector - IRQ_BASE;
    if (irq >= 16)
        return;
    if (pic_is_spurious(irq))
        return;
    if (irq_handlers[irq])
        irq_handlers[irq](r);
    pic_eoi(irq);
}
