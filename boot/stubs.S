/* stubs.S — the assembly the C kernel cannot do: loading the GDT and the
 * interrupt entry points.
 *
 * Every vector 0..47 enters through a stub that pushes an error code (a zero
 * where the CPU pushes none) and the vector number, then common_stub saves
 * the registers into a struct regs (arch/regs.h) and calls
 * interrupt_dispatch(struct regs *). Vector 0x80 (system calls, the only
 * gate ring 3 may use) enters the same way. trap_return is the way back,
 * also taken by a new process the first time it runs (proc/switch.S).
 */

    .section .text

/* void gdt_load(const struct gdt_ptr *p, uint16_t code_sel, uint16_t data_sel) */
    .global gdt_load
    .type gdt_load, @function
gdt_load:
    movl 4(%esp), %eax
    lgdt (%eax)
    movw 12(%esp), %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movzwl 8(%esp), %eax
    pushl %eax
    pushl $1f
    lret
1:  ret
    .size gdt_load, . - gdt_load

.macro STUB_NOERR n
    .global isr_stub_\n
isr_stub_\n:
    pushl $0
    pushl $\n
    jmp common_stub
.endm

.macro STUB_ERR n
    .global isr_stub_\n
isr_stub_\n:
    pushl $\n
    jmp common_stub
.endm

STUB_NOERR 0
STUB_NOERR 1
STUB_NOERR 2
STUB_NOERR 3
STUB_NOERR 4
STUB_NOERR 5
STUB_NOERR 6
STUB_NOERR 7
STUB_ERR   8
STUB_NOERR 9
STUB_ERR   10
STUB_ERR   11
STUB_ERR   12
STUB_ERR   13
STUB_ERR   14
STUB_NOERR 15
STUB_NOERR 16
STUB_ERR   17
STUB_NOERR 18
STUB_NOERR 19
STUB_NOERR 20
STUB_ERR   21
STUB_NOERR 22
STUB_NOERR 23
STUB_NOERR 24
STUB_NOERR 25
STUB_NOERR 26
STUB_NOERR 27
STUB_NOERR 28
STUB_ERR   29
STUB_ERR   30
STUB_NOERR 31
STUB_NOERR 32
STUB_NOERR 33
STUB_NOERR 34
STUB_NOERR 35
STUB_NOERR 36
STUB_NOERR 37
STUB_NOERR 38
STUB_NOERR 39
STUB_NOERR 40
STUB_NOERR 41
STUB_NOERR 42
STUB_NOERR 43
STUB_NOERR 44
STUB_NOERR 45
STUB_NOERR 46
STUB_NOERR 47
STUB_NOERR 128

common_stub:
    pusha
    pushl %ds
    pushl %es
    pushl %fs
    pushl %gs
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    pushl %esp                /* struct regs * */
    call interrupt_dispatch
    addl $4, %esp
    .global trap_return
trap_return:
    popl %gs
    popl %fs
    popl %es
    popl %ds
    popa
    addl $8, %esp             /* vector and error code */
    .global isr_iret          /* where every interrupt and exception returns (for measurements) */
isr_iret:
    iret

/* The table idt.c walks to fill the IDT. */
    .section .rodata
    .align 4
    .global isr_stub_table
isr_stub_table:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
    .long isr_stub_\n
    .endr
