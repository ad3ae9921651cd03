/* access.c — the kernel reading and writing an address space that need not
 * be loaded (Linux's access_process_vm): a debugger's peek and poke, and
 * the memory API reaching the mappings of its own address space.
 *
 * No CPU access is made to the user addresses, so no exception is taken:
 * each page is resolved by the fault handler's own vm_fault for the access
 * (so the VMA's protection decides, and first touches fill pages exactly as
 * a CPU fault would), then the frame it maps is copied through kmap.
 */
#include <stdint.h>
#include "mm.h"
#include "../highmem.h"
#include "../page.h"
#include "../../include/errno.h"
#include "../../lib/string.h"

struct page *vm_page_at(struct mm *mm, uint32_t va)
{
    pte_t *pte = va >= USER_START && va < USER_END ? pgtable_entry(mm, va, 0) : 0;
    if (!pte || !(*pte & PTE_ADDR) || (*pte & PTE_ADDR) == vm_zero_page())
        return 0;
    return page_lookup(*pte & PTE_ADDR);
}

int vm_access(struct mm *mm, uint32_t addr, void *buf, uint32_t len, int write)
{
    uint8_t *b = buf;
    enum vm_access access = write ? ACCESS_WRITE : ACCESS_READ;
    while (len) {
        uint32_t off = addr & (PAGE_SIZE - 1);
        uint32_t n = PAGE_SIZE - off < len ? PAGE_SIZE - off : len;
        if (vm_fault(mm, addr, access) != FAULT_NONE)
            return -EFAULT;
        struct page *p = page_lookup(*pgtable_entry(mm, addr, 0) & PTE_ADDR);
        uint8_t *va = (uint8_t *)kmap(p) + off;
        if (write) {
            memcpy(va, b, n);
            page_set_dirty(p);
        } else {
            memcpy(b, va, n);
        }
        kunmap(va - off);
        addr += n;
        b += n;
        len -= n;
    }
    return 0;
}
