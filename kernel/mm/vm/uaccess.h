/* uaccess.h — the kernel's only ways to touch user addresses: copies that
 * return -EFAULT instead of crashing, and a call into user memory that comes
 * back with -EFAULT when the code there faults.
 *
 * The copies run a byte loop whose two accesses are in the exception table (linker.ld
 * keeps the __ex_table section): when a fault inside it cannot be resolved,
 * vm_page_fault sends the CPU to the entry's fixup instead of stopping.
 * The reason is in mm_current()->last_fault.
 */
#ifndef KOS_VM_UACCESS_H
#define KOS_VM_UACCESS_H

#include <stdint.h>

struct regs;

/* 0, or -EFAULT if any byte of the user range is outside user space or its
 * page cannot be faulted in for the access. Bytes before a fault are copied. */
int copy_from_user(void *dst, uint32_t src, uint32_t n);
int copy_to_user(uint32_t dst, const void *src, uint32_t n);

/* Call the code at addr (cdecl, no arguments). 0 and *result = EAX, or
 * -EFAULT if it made a page fault the VM could not resolve. */
int user_call(uint32_t addr, uint32_t *result);

/* From the page-fault handler: if the fault happened in a copy (or a
 * user_call), point r at the fixup and return 1; else 0. */
int uaccess_fixup(struct regs *r);

#endif
