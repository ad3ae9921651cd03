/* trap.h — the report and stop for an unhandled CPU exception. */
#ifndef KOS_TRAP_H
#define KOS_TRAP_H

#include "../arch/regs.h"

/* Called first for every CPU exception with the frame and the exception's
 * name. Returning nonzero takes the exception: the interrupted code resumes
 * at r->eip, which the hook may have changed (the in-kernel test runner
 * sends a faulting case back to itself this way). Returning 0 lets the
 * exception be reported and the kernel stop as usual. NULL removes it. */
typedef int (*trap_hook_fn)(struct regs *r, const char *name);
void trap_set_hook(trap_hook_fn fn);

/* Unless the hook takes it: print the exception's name, the decoded error
 * of a page fault and the register frame, then stop with
 * KERNEL_EXIT_FAILURE. Registered with idt_set_exception_handler by kmain;
 * returns only when the hook took the exception. */
void trap_exception(struct regs *r);

#endif
