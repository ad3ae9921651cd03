/* kernel.c — kmain: the order in which KOS comes up, and the wiring of the
 * layers that must not know each other (the console under kprintf, the
 * exit device under kernel_stop, the exception report under the IDT). */
#include <stdint.h>
#include "arch/cpu.h"
#include "include/errno.h"
#include "arch/gdt.h"
#include "arch/idt.h"
#include "arch/multiboot.h"
#include "arch/pic.h"
#include "arch/pit.h"
#include "dev/debug_exit.h"
#include "dev/serial.h"
#include "include/layout.h"
#include "lib/kprintf.h"
#include "lib/panic.h"
#include "mm/buddy.h"
#include "mm/memory.h"
#include "mm/paging.h"
#include "mm/physmem.h"
#include "shell/shell.h"
#include "trap/trap.h"

void kmain(uint32_t magic, const struct multiboot_info *mbi);

/* What buddy_init made of RAM (it prints nothing itself). */
static void report_buddy(int err)
{
    if (err) {
        kprintf("buddy_init: error %s (%d): no page frames to allocate\n", errno_name(err), err);
        return;
    }
    struct buddy_stats st;
    buddy_stats(&st);
    uint32_t start, end;
    kprintf("buddy: mem_map %p-%p: %u struct pages, %u KiB\n", (void *)st.mem_map_phys,
            (void *)(st.mem_map_phys + ((st.mem_map_bytes + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))),
            mem_map_pages, st.mem_map_bytes / 1024);
    for (unsigned i = 0; buddy_managed_range(i, &start, &end) == 0; i++)
        kprintf("buddy: managed %p-%p: %u frames\n", (void *)(start << PAGE_SHIFT),
                (void *)(end << PAGE_SHIFT), end - start);
    for (unsigned z = 0; z < NR_ZONES; z++)
        kprintf("buddy: zone %-7s %u frames (%u KiB)\n", buddy_zone_name(z), st.managed_pages[z],
                st.managed_pages[z] * (PAGE_SIZE / 1024));
}

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
    physmem_init(magic, mbi);
    paging_init();
    memory_init();
    report_buddy(buddy_init(physmem_top()));
    pit_init(PIT_HZ);
    serial_enable_rx_irq();
    cpu_sti();
    kprintf("boot: ready, type 'help'\n");
    shell_run();
}
