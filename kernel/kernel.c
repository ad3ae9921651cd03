/* kernel.c — kmain: the order in which KOS comes up, and the wiring of the
 * layers that must not know each other (the console under kprintf, the
 * exit device under kernel_stop, the exception report under the IDT). */
#include <stdint.h>
#include "arch/cpu.h"
#include "arch/gdt.h"
#include "arch/idt.h"
#include "arch/multiboot.h"
#include "arch/pic.h"
#include "arch/pit.h"
#include "dev/debug_exit.h"
#include "dev/serial.h"
#include "fs/initrd.h"
#include "fs/inode.h"
#include "include/layout.h"
#include "lib/kprintf.h"
#include "lib/panic.h"
#include "mm/memory.h"
#include "mm/paging.h"
#include "mm/physmem.h"
#include "mm/vm/mm.h"
#include "proc/proc.h"
#include "shell/shell.h"
#include "test/ktest_run.h"
#include "trap/trap.h"

void kmain(uint32_t magic, const struct multiboot_info *mbi);

void kmain(uint32_t magic, const struct multiboot_info *mbi)
{
    serial_init();
    kprintf_set_sink(serial_putc);
    kernel_set_exit_hook(debug_exit);
    kprintf("\nKOS i386 kernel %p-%p\n", (void *)__kernel_start, (void *)__kernel_end);
    gdt_init();
    idt_init();
    idt_set_exception_handler(trap_exception);
    pic_init();
    multiboot_save_strings(magic, mbi);
    if (*multiboot_loader_name())
        kprintf("multiboot: loaded by %s\n", multiboot_loader_name());
    physmem_init(magic, mbi);
    initrd_init(mbi);
    paging_init();
    memory_init();
    memory_init_frames();
    initrd_scan();
    ramfs_init();
    idt_set_page_fault_handler(vm_page_fault);
    vm_init();
    proc_init();
    pit_init(PIT_HZ);
    pit_set_tick_hook(sched_tick);
    serial_enable_rx_irq();
    cpu_sti();
    ktest_boot();
    kprintf("boot: ready, type 'help'\n");
    shell_run();
}
