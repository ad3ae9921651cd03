/* uaccess_asm.S — the instructions that may fault on user addresses, with
 * their exception-table entries (uaccess.h). */

    .section .text

/* int uaccess_copy(void *dst, const void *src, uint32_t n): 0 or -EFAULT (-14) */
    .global uaccess_copy
    .type uaccess_copy, @function
uaccess_copy:
    pushl %esi
    pushl %edi
    movl 12(%esp), %edi
    movl 16(%esp), %esi
    movl 20(%esp), %ecx
    xorl %eax, %eax
    jecxz 2f
    /* One byte at a time: either access may fault, and each has its entry. */
1:  movb (%esi), %dl
5:  movb %dl, (%edi)
    incl %esi
    incl %edi
    decl %ecx
    jnz 1b
2:  popl %edi
    popl %esi
    ret
3:  movl $-14, %eax
    jmp 2b
    .size uaccess_copy, . - uaccess_copy

    .section __ex_table, "a"
    .align 4
    .long 1b, 3b
    .long 5b, 3b
    .previous

/* int user_call(uint32_t addr, uint32_t *result)
 * The callee-saved registers and ESP are kept in user_call_frame, so that
 * user_call_fault can come back here whatever the code did to the stack. */
    .global user_call
    .type user_call, @function
user_call:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, user_call_esp
    movl 20(%esp), %eax
    movl $1, user_call_active
    call *%eax
    movl user_call_esp, %esp
    movl $0, user_call_active
    movl 24(%esp), %ecx
    movl %eax, (%ecx)
    xorl %eax, %eax
4:  popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret
    .global user_call_fault
user_call_fault:
    movl user_call_esp, %esp
    movl $0, user_call_active
    cld
    movl $-14, %eax
    jmp 4b
    .size user_call, . - user_call

    .section .bss
    .align 4
    .global user_call_active
user_call_active:
    .long 0
user_call_esp:
    .long 0
