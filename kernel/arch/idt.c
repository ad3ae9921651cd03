/* idt.c — IDT setup and the dispatcher every interrupt stub calls.
 *
 * Vectors 0..31 are CPU exceptions: unless the hook set with
 * idt_set_exception_hook takes them (the in-kernel test runner does while
 * a case runs), they print the exception name, a register dump (and CR2
 * for a page fault), then stop the machine with the failure code
 * (dev/debug_exit.h). Vectors 32..47 are PIC interrupts routed
 * to the handler irq_install registered.
 */
#include <stdint.h>
#include "idt.h"
#include "cpu.h"
#include "gdt.h"
#include "pic.h"
#include "../lib/kprintf.h"
#include "../lib/panic.h"

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

extern const uint32_t isr_stub_table[NUM_VECTORS];

static struct idt_entry idt[256];
static struct idt_ptr idtr;
static irq_handler_fn irq_handlers[16];
static exception_hook_fn exception_hook;

static const char *const exception_names[32] = {
    "divide error", "debug", "non-maskable interrupt", "breakpoint",
    "overflow", "bound range exceeded", "invalid opcode", "device not available",
    "double fault", "coprocessor segment overrun", "invalid TSS", "segment not present",
    "stack-segment fault", "general protection fault", "page fault", "reserved 15",
    "x87 floating-point error", "alignment check", "machine check", "SIMD floating-point error",
    "virtualization exception", "control protection exception", "reserved 22", "reserved 23",
    "reserved 24", "reserved 25", "reserved 26", "reserved 27",
    "hypervisor injection", "VMM communication", "security exception", "reserved 31",
};

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

void irq_install(unsigned irq, irq_handler_fn fn)
{
    KASSERT(irq < 16);
    irq_handlers[irq] = fn;
    pic_unmask(irq);
}

void regs_dump(const struct regs *r)
{
    kprintf("eip=%08x cs=%04x eflags=%08x err=%08x\n", r->eip, r->cs, r->eflags, r->err_code);
    kprintf("eax=%08x ebx=%08x ecx=%08x edx=%08x\n", r->eax, r->ebx, r->ecx, r->edx);
    kprintf("esi=%08x edi=%08x ebp=%08x esp=%08x\n", r->esi, r->edi, r->ebp,
            (uint32_t)&r->useresp);
    kprintf("ds=%04x es=%04x fs=%04x gs=%04x\n", r->ds, r->es, r->fs, r->gs);
    kprintf("cr0=%08x cr2=%08x cr3=%08x cr4=%08x\n", read_cr0(), read_cr2(), read_cr3(), read_cr4());
}

static void page_fault_explain(uint32_t err)
{
    kprintf("page fault at cr2=%08x: %s, %s, %s mode%s\n", read_cr2(),
            (err & 1) ? "protection violation" : "page not present",
            (err & 2) ? "write" : ((err & 16) ? "instruction fetch" : "read"),
            (err & 4) ? "user" : "kernel",
            (err & 8) ? ", reserved bit set" : "");
}

void idt_set_exception_hook(exception_hook_fn fn)
{
    exception_hook = fn;
}

static void exception(struct regs *r)
{
    if (exception_hook && exception_hook(r, exception_names[r->vector]))
        return;
    kprintf("\n*** CPU exception %u: %s\n", r->vector, exception_names[r->vector]);
    if (r->vector == 14)
        page_fault_explain(r->err_code);
    regs_dump(r);
    kernel_stop(KERNEL_EXIT_FAILURE, "unhandled CPU exception");
}

void interrupt_dispatch(struct regs *r)
{
    if (r->vector < 32) {
        exception(r);
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
