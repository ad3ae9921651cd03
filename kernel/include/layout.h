/* layout.h — the physical memory map of KOS and the linker's symbols.
 *
 *   0x00000000  real-mode IVT, BIOS data, EBDA, VGA, ROMs
 *               (page 0 is left unmapped so NULL dereferences fault)
 *   0x00100000  kernel image: .multiboot .text .rodata .data .bss
 *               (linker.ld asserts it ends below HEAP_START)
 *   0x00200000  HEAP_START: the kmalloc heap, HEAP_SIZE bytes (30 MiB)
 *   0x02000000  STACK_REGION_START: MAX_PROCESS_STACKS slots, each an
 *               unmapped guard page followed by STACK_SIZE bytes of stack
 *   0x020A0000  STACK_REGION_END: the rest of RAM belongs to the page frame
 *               allocator
 *
 * Low memory (below 896 MiB) is identity mapped (virtual == physical);
 * RAM above it, HighMem, is reached through kmap windows (mm/highmem.h).
 */
#ifndef KOS_LAYOUT_H
#define KOS_LAYOUT_H

#define PAGE_SIZE           0x1000u
#define PAGE_SHIFT          12

/* The first specification's constants. */
#define HEAP_START          0x200000u
#define HEAP_SIZE           0x1E00000u
#define STACK_SIZE          0x4000u
#define MAX_BLOCKS          1024u   /* the first-fit block table size of the specification; the heap has no such cap */
#define MAX_PROCESS_STACKS  32u

/* Derived. */
#define HEAP_END            (HEAP_START + HEAP_SIZE)
#define STACK_GUARD_SIZE    PAGE_SIZE
#define STACK_SLOT_SIZE     (STACK_GUARD_SIZE + STACK_SIZE)
#define STACK_REGION_START  HEAP_END
#define STACK_REGION_END    (STACK_REGION_START + MAX_PROCESS_STACKS * STACK_SLOT_SIZE)

#ifndef __ASSEMBLER__
#include <stdint.h>

_Static_assert(HEAP_END == 0x2000000u, "heap must end where the stack region starts");
_Static_assert(STACK_SIZE % PAGE_SIZE == 0, "stacks are whole pages");

/* Defined by linker.ld. */
extern char __kernel_start[], __kernel_end[];
extern char __text_start[], __text_end[];
extern char __rodata_start[], __rodata_end[];
extern char __data_start[], __data_end[];
extern char __bss_start[], __bss_end[];
#endif

#endif
