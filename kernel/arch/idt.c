/* idt.c — IDT setup and the dispatcher every interrupt stub calls.
 *
 * Vectors 0..31 are CPU exceptions: they go to the handler kmain registers
 * (trap/trap.c, which reports them and stops the machine unless a hook takes
 * them); when the handler returns, the interrupted code resumes at r->eip.
 * With none registered the CPU halts. Vectors 32..47 are PIC interrupts routed to the handler
 * irq_install registered. Vector 0x80, the system call, is the one gate
 * with DPL 3 (ring 3 may raise it with int; any other int from ring 3 is a
 * #GP). Before the exception handler, the process layer may claim a fault
 * (one in ring 3 kills only that process); after every interrupt, its exit
 * hook may switch to another process. Nothing here prints: arch sits below lib.
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
#define IDT_USER_GATE      0xEE   /* the same, DPL 3: int from ring 3 allowed */
#define VECTOR_PAGE_FAULT 14

extern const uint32_t isr_stub_table[NUM_VECTORS];
extern const char isr_stub_128[];

static struct idt_entry idt[256];
static struct idt_ptr idtr;
static irq_handler_fn irq_handlers[16];
static page_fault_fn page_fault_handler;
static exception_handler_fn exception_handler;
static exception_handler_fn syscall_handler;
static fault_claim_fn fault_claim;
static exception_handler_fn exit_hook;

static void idt_set_gate(unsigned v, uint32_t off, uint8_t type_attr)
{
    idt[v].off_low = off & 0xFFFF;
    idt[v].sel = GDT_KERNEL_CODE;
    idt[v].zero = 0;
    idt[v].type_attr = type_attr;
    idt[v].off_high = off >> 16;
}

void idt_init(void)
{
    for (unsigned v = 0; v < NUM_VECTORS; v++)
        idt_set_gate(v, isr_stub_table[v], IDT_INTERRUPT_GATE);
    idt_set_gate(VECTOR_SYSCALL, (uint32_t)isr_stub_128, IDT_USER_GATE);
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

void idt_set_syscall_handler(exception_handler_fn fn) { syscall_handler = fn; }
void idt_set_fault_claim(fault_claim_fn fn) { fault_claim = fn; }
void idt_set_exit_hook(exception_handler_fn fn) { exit_hook = fn; }

static void dispatch(struct regs *r)
{
    if (r->vector == VECTOR_SYSCALL) {
        if (syscall_handler)
            syscall_handler(r);
        return;
    }
    if (r->vector == VECTOR_PAGE_FAULT && page_fault_handler && page_fault_handler(r))
        return;
    if (r->vector < 32) {
        if (fault_claim && fault_claim(r))
            return;
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

void interrupt_dispatch(struct regs *r)
{
    dispatch(r);
    if (exit_hook)
        exit_hook(r);
}
