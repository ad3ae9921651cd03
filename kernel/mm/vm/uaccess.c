/* uaccess.c — range checks around the faulting copy, and the exception
 * table search the page-fault handler uses. */
#include <stdint.h>
#include "uaccess.h"
#include "mm.h"
#include "../../arch/regs.h"
#include "../../include/errno.h"

struct exception_entry {
    uint32_t insn;      /* an instruction that may fault on a user address */
    uint32_t fixup;     /* where to continue when it does */
};

/* Defined by linker.ld around the __ex_table section. */
extern const struct exception_entry __ex_table_start[], __ex_table_end[];
extern uint32_t user_call_active;
extern char user_call_fault[];

int uaccess_copy(void *dst, const void *src, uint32_t n);

/* Is [addr, addr + n) inside user space? If not, record why for the report. */
static int user_range(uint32_t addr, uint32_t n, enum vm_access access)
{
    if (n == 0)
        return 1;
    if (addr >= USER_START && addr < USER_END && n <= USER_END - addr)
        return 1;
    struct mm *mm = mm_current();
    if (mm)
        vm_fault(mm, addr < USER_START ? addr : USER_END, access);
    return 0;
}

int copy_from_user(void *dst, uint32_t src, uint32_t n)
{
    if (!user_range(src, n, ACCESS_READ))
        return -EFAULT;
    return uaccess_copy(dst, (const void *)src, n);
}

int copy_to_user(uint32_t dst, const void *src, uint32_t n)
{
    if (!user_range(dst, n, ACCESS_WRITE))
        return -EFAULT;
    return uaccess_copy((void *)dst, src, n);
}

int uaccess_fixup(struct regs *r)
{
    for (const struct exception_entry *e = __ex_table_start; e < __ex_table_end; e++) {
        if (e->insn == r->eip) {
            r->eip = e->fixup;
            return 1;
        }
    }
    if (user_call_active) {
        r->eip = (uint32_t)user_call_fault;
        return 1;
    }
    return 0;
}
