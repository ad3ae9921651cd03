/* stack.h — internals shared by memory.c and stack.c. The API is memory.h. */
#ifndef KOS_STACK_H
#define KOS_STACK_H

#include <stdint.h>

/* Decide which slots exist in RAM and unmap their guard pages. */
void stack_init(void);
uint32_t stack_count(void);
uint32_t stack_errors(void);
uint32_t stack_slots_in_ram(void);

#endif
