/* paging.h — the kernel's identity-mapped address space.
 *
 * All usable RAM is mapped virtual == physical, supervisor only. Page 0 is
 * left unmapped so that NULL dereferences fault, and so is the guard page
 * below each process stack. 4 MiB pages (PSE) cover everything except the
 * two 4 MiB stretches that need 4 KiB granularity: the first (page 0) and
 * the one holding the stack region (guard pages).
 */
#ifndef KOS_PAGING_H
#define KOS_PAGING_H

#include <stdint.h>

#define PTE_PRESENT  0x001u
#define PTE_WRITE    0x002u
#define PTE_USER     0x004u
#define PTE_ACCESSED 0x020u
#define PTE_DIRTY    0x040u
#define PDE_4M       0x080u
#define PAGE_ADDR_MASK 0xFFFFF000u

_Static_assert(sizeof(uint32_t) == 4, "i386 page table entries are 32 bits");

/* Build the identity map up to physmem_top() and turn paging on. */
void paging_init(void);

/* Is the byte at va mapped? */
int paging_is_mapped(uint32_t va);

/* Is every byte of [va, va + len) mapped? */
int paging_range_mapped(uint32_t va, uint32_t len);

/* Mark one 4 KiB page (inside a 4 KiB-mapped stretch) present or not.
 * Returns 0, or -1 if va is covered by a 4 MiB page. */
int paging_set_present(uint32_t va, int present);

#endif
