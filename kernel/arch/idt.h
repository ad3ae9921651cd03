/* idt.h — the interrupt descriptor table and interrupt dispatch. */
#ifndef KOS_IDT_H
#define KOS_IDT_H

#include <stdint.h>
#include "regs.h"

#define IRQ_BASE   32       /* PIC lines 0..15 arrive at vectors 32..47 */
#define IRQ_TIMER  0
#define IRQ_COM1   4
#define NUM_VECTORS 48

typedef void (*irq_handler_fn)(struct regs *r);

void idt_init(void);

/* Route hardware interrupt line irq (0..15) to fn and unmask it. */
void irq_install(unsigned irq, irq_handler_fn fn);

/* Called from boot/stubs.S for every vector. */
void interrupt_dispatch(struct regs *r);

/* Called first for every CPU exception with the frame and the exception's
 * name. Returning nonzero takes the exception: the interrupted code
 * resumes at r->eip, which the hook may have changed (the in-kernel test
 * runner sends a faulting case back to itself this way). Returning 0 lets
 * the exception be reported and the kernel stop as usual. NULL removes it. */
typedef int (*exception_hook_fn)(struct regs *r, const char *name);
void idt_set_exception_hook(exception_hook_fn fn);

/* Print the register frame (used by the exception handler). */
void regs_dump(const struct regs *r);

#endif
