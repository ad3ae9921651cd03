/* idt.h — the interrupt descriptor table and interrupt dispatch. */
#ifndef KOS_IDT_H
#define KOS_IDT_H

#include <stdint.h>
#include "pic.h"
#include "regs.h"

#define IRQ_TIMER  0
#define IRQ_COM1   4
#define NUM_VECTORS 48

typedef void (*irq_handler_fn)(struct regs *r);
typedef void (*exception_handler_fn)(struct regs *r);

void idt_init(void);

/* Route hardware interrupt line irq (0..15) to fn and unmask it. Returns
 * 0, or -EINVAL for a line that does not exist. */
int irq_install(unsigned irq, irq_handler_fn fn);

/* Where CPU exceptions (vectors 0..31) go; when fn returns, the interrupted
 * code resumes at r->eip (which fn may have changed). */
void idt_set_exception_handler(exception_handler_fn fn);

/* A page-fault handler returns 1 when it resolved (or fixed up) the fault,
 * 0 to let the exception report stop the machine. */
typedef int (*page_fault_fn)(struct regs *r);

/* Give page faults (vector 14) to fn first. */
void idt_set_page_fault_handler(page_fault_fn fn);

/* Called from boot/stubs.S for every vector. */
void interrupt_dispatch(struct regs *r);

#endif
