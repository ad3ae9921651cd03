/* gdt.h — the kernel's own global descriptor table and task state segment. */
#ifndef KOS_GDT_H
#define KOS_GDT_H

#include <stdint.h>

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10
#define GDT_USER_CODE   0x1B      /* index 3, RPL 3 */
#define GDT_USER_DATA   0x23      /* index 4, RPL 3 */
#define GDT_TSS         0x28

void gdt_init(void);

/* The stack the CPU switches to when an interrupt or system call arrives
 * in ring 3: the top of the running process's kernel stack. */
void gdt_set_kernel_stack(uint32_t esp0);

#endif
