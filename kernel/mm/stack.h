/* stack.h — per-process stacks: the kacchiOS stack API (memory.h includes
 * this, so memory.h is the whole API) and what memory.c needs of stack.c. */
#ifndef KOS_STACK_H
#define KOS_STACK_H

#include <stdint.h>
#include "../include/layout.h"

/* A STACK_SIZE stack for process pid, cleared. Returns its top (the
 * initial stack pointer; the stack grows down to stack_get_base), or NULL
 * if pid already has one, all MAX_PROCESS_STACKS are in use, or the slot
 * is not in RAM. */
void *stack_alloc(uint32_t pid);
/* The same without clearing the stack (the slot holds whatever its last
 * owner left), for a caller that writes every word it will read: the
 * process code, which builds a new process's first frames explicitly. */
void *stack_alloc_uncleared(uint32_t pid);
void stack_free(uint32_t pid);
void *stack_get_base(uint32_t pid);   /* lowest byte of pid's stack, or NULL */
void *stack_get_top(uint32_t pid);    /* one past the highest byte, or NULL */

/* Decide which slots exist in RAM and unmap their guard pages. */
void stack_init(void);
uint32_t stack_count(void);
uint32_t stack_errors(void);
uint32_t stack_slots_in_ram(void);

#endif
