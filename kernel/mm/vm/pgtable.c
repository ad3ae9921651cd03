/* pgtable.c — the user half of an address space's page tables: walking
 * them, the entry bits for a protection, and unmapping, re-protecting and
 * flushing ranges.
 *
 * A user entry maps a frame when its address bits are not 0 (no frame is at
 * physical 0), whether or not it is present: PROT_NONE keeps the frame in a
 * non-present entry so that a later mprotect gives the contents back. The
 * shared zero page is mapped read-only into private pages nobody wrote yet.
 */
#include <stdint.h>
#include "mm.h"
#include "../page_alloc.h"
#include "../../include/errno.h"
#include "../../include/mman.h"
#include "../../lib/string.h"

/* Above this many pages a flush reloads CR3 instead of invlpg page by page. */
#define FLUSH_ALL_PAGES 32u

static pte_t *pd_of(struct mm *mm, uint32_t va)
{
    return mm->pd[(va >> PDPT_SHIFT) - 1];
}

pte_t *pgtable_entry(struct mm *mm, uint32_t va, int alloc)
{
    pte_t *pde = &pd_of(mm, va)[(va >> PD_SHIFT) & (PT_ENTRIES - 1)];
    if (!(*pde & PTE_PRESENT)) {
        if (!alloc)
            return 0;
        struct page *p = alloc_page(VM_GFP);
        if (!p)
            return 0;
        memset((void *)p->phys, 0, PAGE_SIZE);
        /* The directory allows everything; the page table entries decide. */
        *pde = p->phys | PTE_PRESENT | PTE_WRITE | PTE_USER;
        mm->pt_pages++;
    }
    pte_t *pt = (pte_t *)(uint32_t)(*pde & PTE_ADDR);
    return &pt[(va >> PAGE_SHIFT) & (PT_ENTRIES - 1)];
}

pte_t pgtable_prot_bits(uint16_t prot)
{
    if (prot == PROT_NONE)
        return 0;
    pte_t bits = PTE_PRESENT | PTE_USER;
    if (prot & PROT_WRITE)
        bits |= PTE_WRITE;
    if (!(prot & PROT_EXEC) && paging_nx())
        bits |= PTE_NX;
    return bits;
}

void pgtable_trim(struct mm *mm, uint32_t va)
{
    pte_t *pde = &pd_of(mm, va)[(va >> PD_SHIFT) & (PT_ENTRIES - 1)];
    if (!(*pde & PTE_PRESENT))
        return;
    const pte_t *pt = (const pte_t *)(uint32_t)(*pde & PTE_ADDR);
    for (uint32_t i = 0; i < PT_ENTRIES; i++)
        if (pt[i])
            return;
    free_page(page_lookup((uint32_t)(*pde & PTE_ADDR)));
    *pde = 0;
    mm->pt_pages--;
}

/* The next 2 MiB boundary above va, capped at end. */
static uint32_t table_end(uint32_t va, uint32_t end)
{
    uint32_t next = (va | (BIG_PAGE - 1)) + 1;
    return next == 0 || next > end ? end : next;
}

void pgtable_unmap(struct mm *mm, const struct vma *v, uint32_t start, uint32_t end)
{
    uint32_t zero = vm_zero_page();
    for (uint32_t va = start; va < end;) {
        uint32_t stop = table_end(va, end);
        if (!pgtable_entry(mm, va, 0)) {
            va = stop;
            continue;
        }
        for (; va < stop; va += PAGE_SIZE) {
            pte_t *pte = pgtable_entry(mm, va, 0);
            uint32_t frame = (uint32_t)(*pte & PTE_ADDR);
            if (!frame)
                continue;
            int pte_dirty = (*pte & PTE_DIRTY) != 0;
            *pte = 0;
            if (frame == zero)
                continue;
            mm->resident_pages--;
            if (v->flags & VM_LOCKED)
                mm->locked_pages--;
            if (v->ops && vm_frame_is_file(frame))
                vm_file_unmap_frame(v, frame, pte_dirty);
            else if (!(v->flags & VM_SHARED))
                vm_frame_put(frame);
        }
        pgtable_trim(mm, va - PAGE_SIZE);
    }
    pgtable_flush(mm, start, end);
}

void pgtable_protect(struct mm *mm, const struct vma *v, uint32_t start, uint32_t end)
{
    uint32_t zero = vm_zero_page();
    pte_t bits = pgtable_prot_bits(v->prot);
    for (uint32_t va = start; va < end;) {
        uint32_t stop = table_end(va, end);
        if (!pgtable_entry(mm, va, 0)) {
            va = stop;
            continue;
        }
        for (; va < stop; va += PAGE_SIZE) {
            pte_t *pte = pgtable_entry(mm, va, 0);
            uint32_t frame = (uint32_t)(*pte & PTE_ADDR);
            if (!frame)
                continue;
            pte_t b = bits;
            if (frame == zero || (v->ops && !(v->flags & VM_SHARED) && vm_frame_is_file(frame)))
                b &= ~PTE_WRITE;           /* never written through a private mapping: a write fault copies */
            if (*pte & PTE_COW)
                b = (b & ~PTE_WRITE) | PTE_COW;   /* shared since fork: still copied on write */
            *pte = frame | b;
        }
    }
    pgtable_flush(mm, start, end);
}

void pgtable_flush(struct mm *mm, uint32_t start, uint32_t end)
{
    if (mm != mm_current())
        return;
    if ((end - start) >> PAGE_SHIFT > FLUSH_ALL_PAGES) {
        paging_flush_all();
        return;
    }
    for (uint32_t va = start; va < end; va += PAGE_SIZE)
        paging_flush_page(va);
}
