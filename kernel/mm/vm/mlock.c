/* mlock.c — mlock and munlock: marking the VMAs of a range VM_LOCKED (split
 * at the range's ends, merged again afterwards) and keeping
 * mm->locked_pages equal to the frames of their own that locked VMAs map.
 * Locking faults every page in, as MAP_LOCKED does at mmap. */
#include <stdint.h>
#include "mm.h"
#include "../../include/errno.h"
#include "../../include/mman.h"

/* Make a VMA boundary at addr if a VMA straddles it. 0 or -ENOMEM. */
static int boundary(struct mm *mm, uint32_t addr)
{
    uint32_t i = vma_index_after(mm, addr);
    if (i < mm->nr_vmas && mm->vmas[i].start < addr)
        return vma_split(mm, i, addr) ? -ENOMEM : 0;
    return 0;
}

/* Frames of v's own (not the zero page) in [start, end). */
static uint32_t own_frames(struct mm *mm, uint32_t start, uint32_t end)
{
    uint32_t n = 0;
    for (uint32_t va = start; va < end; va += PAGE_SIZE) {
        pte_t *pte = pgtable_entry(mm, va, 0);
        phys_addr_t frame = pte ? *pte & PTE_ADDR : 0;
        n += frame && frame != vm_zero_page();
    }
    return n;
}

uint32_t vm_locked_pages_in(struct mm *mm, uint32_t addr, uint32_t len)
{
    uint32_t end = addr + len, pages = 0;
    for (uint32_t i = vma_index_after(mm, addr); i < mm->nr_vmas && mm->vmas[i].start < end; i++) {
        const struct vma *v = &mm->vmas[i];
        if (!(v->flags & VM_LOCKED))
            continue;
        uint32_t s = v->start > addr ? v->start : addr, e = v->end < end ? v->end : end;
        pages += (e - s) >> PAGE_SHIFT;
    }
    return pages;
}

int vm_mlock(struct mm *mm, uint32_t addr, uint32_t len, int lock)
{
    uint32_t end = addr + len;
    if (boundary(mm, addr))
        return -ENOMEM;
    if (boundary(mm, end)) {
        vma_merge(mm, vma_index_after(mm, addr));   /* a refusal leaves the VMAs as they were */
        return -ENOMEM;
    }
    int err = 0;
    for (uint32_t i = vma_index_after(mm, addr); i < mm->nr_vmas && mm->vmas[i].start < end; i++) {
        struct vma *v = &mm->vmas[i];
        if (!!(v->flags & VM_LOCKED) == !!lock)
            continue;
        uint32_t have = own_frames(mm, v->start, v->end);
        if (lock) {
            v->flags |= VM_LOCKED;
            mm->locked_pages += have;
            enum vm_access access = (v->prot & PROT_WRITE) ? ACCESS_WRITE : ACCESS_READ;
            for (uint32_t va = v->start; va < v->end && !err && v->prot != PROT_NONE; va += PAGE_SIZE) {
                pte_t *pte = pgtable_entry(mm, va, 0);
                phys_addr_t frame = pte ? *pte & PTE_ADDR : 0;
                if ((!frame || frame == vm_zero_page()) && vm_fault(mm, va, access) != FAULT_NONE)
                    err = -ENOMEM;
            }
        } else {
            v->flags &= ~VM_LOCKED;
            mm->locked_pages -= have;
        }
    }
    uint32_t i = vma_index_after(mm, addr > PAGE_SIZE ? addr - PAGE_SIZE : addr);
    while (i < mm->nr_vmas && mm->vmas[i].start <= end)
        i = vma_merge(mm, i) + 1;
    return err;
}
