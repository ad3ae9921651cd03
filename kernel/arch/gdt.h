/* gdt.h — the kernel's own global descriptor table. */
#ifndef KOS_GDT_H
#define KOS_GDT_H

#define GDT_KERNEL_CODE 0x08
#define GDT_KERNEL_DATA 0x10

void gdt_init(void);

#endif
