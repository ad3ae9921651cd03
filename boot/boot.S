/* boot.S — Multiboot v1 header and the kernel's entry point.
 *
 * A multiboot loader (QEMU -kernel, GRUB, Bochs) enters _start in 32-bit
 * protected mode with paging off, EAX = the multiboot magic and EBX = the
 * physical address of the multiboot information structure. We set up the
 * boot stack, clear .bss and call kmain(magic, info). kmain never returns.
 */
#define MB_MAGIC    0x1BADB002
#define MB_ALIGN    (1 << 0)          /* modules page aligned */
#define MB_MEMINFO  (1 << 1)          /* we want mem_lower/mem_upper and the map */
#define MB_FLAGS    (MB_ALIGN | MB_MEMINFO)
#define MB_CHECKSUM (-(MB_MAGIC + MB_FLAGS))

#define BOOT_STACK_SIZE 16384

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long MB_CHECKSUM

    .section .bss
    .align 16
boot_stack_bottom:
    .skip BOOT_STACK_SIZE
    .global boot_stack_top
boot_stack_top:

    .section .text
    .global _start
    .type _start, @function
_start:
    cli
    cld
    movl $boot_stack_top, %esp
    xorl %ebp, %ebp

    /* Clear .bss, keeping EAX/EBX (magic, info) for kmain. */
    movl %eax, %esi
    movl %ebx, %edx
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb
    movl %esi, %eax

    /* The stack was inside .bss: it is zero now, which is fine. */
    pushl %edx          /* multiboot info */
    pushl %eax          /* multiboot magic */
    call kmain

    /* kmain never returns; if it does, stop here. */
1:  cli
    hlt
    jmp 1b
    .size _start, . - _start
