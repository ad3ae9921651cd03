/* switch.S — the switch between two kernel stacks, and where a new
 * process's stack first returns to.
 *
 * A switched-out process's stack ends (at p->esp) with what
 * context_switch pushed: edi, esi, ebx, ebp and the return address. A new
 * kernel thread's stack is built to look the same with the return address
 * kthread_entry (ebx = the function, esi = its argument); a new user
 * process's returns into trap_return (boot/stubs.S) over a struct regs that
 * irets to ring 3. */

    .section .text

/* void context_switch(uint32_t *old_esp, uint32_t new_esp) */
    .global context_switch
    .type context_switch, @function
context_switch:
    movl 4(%esp), %eax
    movl 8(%esp), %edx
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, (%eax)
    movl %edx, %esp
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret
    .size context_switch, . - context_switch

/* A kernel thread starts here with interrupts off (it was switched to from
 * schedule); its function's return value is its exit code. */
    .global kthread_entry
    .type kthread_entry, @function
kthread_entry:
    sti
    pushl %esi
    call *%ebx
    pushl %eax
    call kthread_return
    .size kthread_entry, . - kthread_entry
