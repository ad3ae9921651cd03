/* kernel.c — kmain: the order in which KOS comes up, and nothing else. */
#include <stdint.h>
#include "arch/cpu.h"
#include "arch/gdt.h"
#include "arch/idt.h"
#include "arch/multiboot.h"
#include "arch/pic.h"
#include "arch/pit.h"
#include "dev/serial.h"
#include "fs/initrd.h"
#include "include/layout.h"
#include "lib/kprintf.h"
#include "mm/buddy.h"
#include "mm/memory.h"
#include "mm/paging.h"
#include "mm/physmem.h"
#include "shell/shell.h"

void kmain(uint32_t magic, const struct multiboot_info *mbi);

void kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    serial_init();
    kprintf("\nKOS i386 kernel %p-%p\n", (void *)__kernel_start, (void *)__kernel_end);
    gdt_init();
    idt_init();
    pic_init();
    physmem_init(magic, mbi);
    initrd_init(mbi);
    paging_init();
    memory_init();
    buddy_init(physmem_top());
    pit_init(PIT_HZ);
    serial_enable_rx_irq();
    cpu_sti();
    kprintf("boot: ready, type 'help'\n");
    shell_run();
}
