/* trap.h — the report and stop for an unhandled CPU exception. */
#ifndef KOS_TRAP_H
#define KOS_TRAP_H

#include "../arch/regs.h"

/* Print the exception's name, the decoded error of a page fault and the
 * register frame, then stop with KERNEL_EXIT_FAILURE. Registered with
 * idt_set_exception_handler by kmain. */
__attribute__((noreturn)) void trap_exception(struct regs *r);

#endif
