/* syscall.S — the one way into the kernel: the Linux i386 convention,
 * int 0x80 with the number in eax and up to six arguments in ebx, ecx, edx,
 * esi, edi and ebp; the result (or -errno) comes back in eax.
 *
 *     long syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6); */
    .text
    .globl syscall6
syscall6:
    pushl %ebp
    pushl %edi
    pushl %esi
    pushl %ebx
    movl 20(%esp), %eax
    movl 24(%esp), %ebx
    movl 28(%esp), %ecx
    movl 32(%esp), %edx
    movl 36(%esp), %esi
    movl 40(%esp), %edi
    movl 44(%esp), %ebp
    int $0x80
    popl %ebx
    popl %esi
    popl %edi
    popl %ebp
    ret
