/* idt.h — the interrupt descriptor table and interrupt dispatch. */
#ifndef KOS_IDT_H
#define KOS_IDT_H

#include <stdint.h>
#include "pic.h"
#include "regs.h"

#define IRQ_TIMER  0
#define IRQ_COM1   4
#define NUM_VECTORS 48
#define VECTOR_SYSCALL 0x80

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

/* System calls (int 0x80) go to fn; it leaves the result in r->eax. */
void idt_set_syscall_handler(exception_handler_fn fn);

/* Offered every CPU exception the page-fault handler did not resolve,
 * before the exception handler: returning 1 claims it (the process layer
 * kills the process that made it and never returns to the frame). */
typedef int (*fault_claim_fn)(struct regs *r);
void idt_set_fault_claim(fault_claim_fn fn);

/* Called after every interrupt, exception and system call, just before the
 * return to the interrupted code (where the scheduler may switch). */
void idt_set_exit_hook(exception_handler_fn fn);

/* Called from boot/stubs.S for every vector. */
void interrupt_dispatch(struct regs *r);

#endif
