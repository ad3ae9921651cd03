/* crt0.S — the entry point of every user program.
 *
 * The kernel starts a program with the stack Linux lays out for execve:
 *     esp -> argc, argv[0..argc-1], NULL, envp[0..], NULL, auxv pairs
 * _start passes argc, argv and envp to main and exits with its result. */
    .section .text.start, "ax"
    .globl _start
_start:
    xorl %ebp, %ebp             /* the outermost frame: backtraces stop here */
    movl (%esp), %eax           /* argc */
    leal 4(%esp), %ecx          /* argv */
    leal 8(%esp, %eax, 4), %edx /* envp: past argv's NULL */
    andl $-16, %esp             /* the i386 System V ABI's call alignment */
    subl $4, %esp
    pushl %edx
    pushl %ecx
    pushl %eax
    call main
    movl %eax, (%esp)
    call exit
    hlt                         /* exit does not return; a privileged hlt faults if it did */
