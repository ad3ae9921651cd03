/* trap.c — what happens when the CPU raises an exception: the report a
 * reader of the console log needs (the exception's name, a decoded
 * page-fault error code, every register) and the stop with the failure code.
 *
 * The IDT (arch/idt.c) only dispatches; kmain hands it trap_exception.
 * This lives above lib because it prints, and arch must not.
 */
#include <stdint.h>
#include "trap.h"
#include "../arch/cpu.h"
#include "../lib/kprintf.h"
#include "../lib/panic.h"

#define VECTOR_PAGE_FAULT 14

/* Page-fault error code bits (Intel SDM vol. 3, 4.7). */
#define PF_PRESENT  0x01
#define PF_WRITE    0x02
#define PF_USER     0x04
#define PF_RESERVED 0x08
#define PF_FETCH    0x10

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

static void regs_dump(const struct regs *r)
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
            (err & PF_PRESENT) ? "protection violation" : "page not present",
            (err & PF_WRITE) ? "write" : ((err & PF_FETCH) ? "instruction fetch" : "read"),
            (err & PF_USER) ? "user" : "kernel",
            (err & PF_RESERVED) ? ", reserved bit set" : "");
}

static trap_hook_fn trap_hook;

void trap_set_hook(trap_hook_fn fn)
{
    trap_hook = fn;
}

void trap_exception(struct regs *r)
{
    if (trap_hook && trap_hook(r, exception_names[r->vector & 31]))
        return;
    kprintf("\n*** CPU exception %u: %s\n", r->vector, exception_names[r->vector & 31]);
    if (r->vector == VECTOR_PAGE_FAULT)
        page_fault_explain(r->err_code);
    regs_dump(r);
    kernel_stop(KERNEL_EXIT_FAILURE, "unhandled CPU exception");
}
