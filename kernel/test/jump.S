/* jump.S — ktest_setjmp/ktest_longjmp: how the test runner gets back from a
 * case that faulted or gave up (an ASSERT, a SKIP).
 *
 * The buffer holds what the cdecl convention says a callee keeps (EBX, ESI,
 * EDI, EBP), the stack pointer and return address of the setjmp call, and
 * EFLAGS, so that the runner gets back the interrupt flag it had whatever
 * the case did with it. Layout: struct ktest_jmp in ktest_jmp.h.
 */
    .text
    .global ktest_setjmp
    .type ktest_setjmp, @function
ktest_setjmp:
    movl 4(%esp), %eax
    movl %ebx, 0(%eax)
    movl %esi, 4(%eax)
    movl %edi, 8(%eax)
    movl %ebp, 12(%eax)
    leal 4(%esp), %ecx          /* ESP once this call has returned */
    movl %ecx, 16(%eax)
    movl (%esp), %ecx           /* where it returns to */
    movl %ecx, 20(%eax)
    pushfl
    popl 24(%eax)
    xorl %eax, %eax
    ret
    .size ktest_setjmp, . - ktest_setjmp

    .global ktest_longjmp
    .type ktest_longjmp, @function
ktest_longjmp:
    movl 4(%esp), %edx
    movl 8(%esp), %eax          /* what ktest_setjmp appears to return */
    movl 0(%edx), %ebx
    movl 4(%edx), %esi
    movl 8(%edx), %edi
    movl 12(%edx), %ebp
    movl 16(%edx), %esp
    pushl 24(%edx)
    popfl
    jmp *20(%edx)
    .size ktest_longjmp, . - ktest_longjmp
