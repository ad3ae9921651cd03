/* filemap.c — the VM side of file mappings: faults that map a file's
 * page-cache frames (shared) or copy them on the first private write,
 * msync's gathering of PTE dirty bits, and taking pages away after an
 * ftruncate. The file side (which frame, the file's size) is behind
 * struct vm_ops, implemented in fs/mmap.c.
 *
 * Each PTE that maps a file frame holds one reference on it (page_get by
 * get_page or by fork's sharing, page_put at unmap), so the cache cannot
 * free a mapped frame.
 * A private mapping maps file frames read-only; its written pages are
 * copies it owns, told apart from file frames by struct page's mapping.
 */
#include <stdint.h>
#include "mm.h"
#include "../highmem.h"
#include "../../include/errno.h"
#include "../../include/mman.h"

int vm_frame_is_file(phys_addr_t phys)
{
    struct page *p = page_lookup(phys);
    return p && p->mapping;
}

void vm_file_unmap_frame(const struct vma *v, phys_addr_t phys, int pte_dirty)
{
    struct page *p = page_lookup(phys);
    if (pte_dirty && (v->flags & VM_SHARED))
        v->file->ops->dirty(v, p);
    page_put(p);
}

/* A private copy of the file frame src, or NULL without memory. */
static struct page *private_copy(struct page *src)
{
    struct page *p = alloc_page(VM_GFP_USER);
    if (p)
        copy_page_frame(p, src);
    return p;
}

enum vm_fault_kind vm_file_fault(struct mm *mm, struct vma *v, uint32_t page, enum vm_access access)
{
    pte_t *pte = pgtable_entry(mm, page, 1);
    if (!pte)
        return FAULT_OOM;
    phys_addr_t frame = *pte & PTE_ADDR;
    pte_t bits = pgtable_prot_bits(v->prot);
    int private = !(v->flags & VM_SHARED);

    if (frame) {
        /* Mapped already: a write to a frame shared since fork (fork.c), a
         * private write to the file's frame, or a protection change left. */
        if (access == ACCESS_WRITE && (*pte & PTE_COW))
            return vm_cow_break(mm, v, pte, page);
        int file_frame = vm_frame_is_file(frame);
        if (!(private && access == ACCESS_WRITE && file_frame)) {
            if (private && file_frame)
                bits &= ~PTE_WRITE;
            if (*pte & PTE_COW)
                bits = (bits & ~PTE_WRITE) | PTE_COW;
            *pte = frame | bits;
            paging_flush_page(page);
            return FAULT_NONE;
        }
        struct page *file_page = page_lookup(frame);
        struct page *copy = private_copy(file_page);
        if (!copy)
            return FAULT_OOM;
        page_put(file_page);
        *pte = copy->phys | bits;
        paging_flush_page(page);
        mm->cow_faults++;
        return FAULT_NONE;
    }

    enum vm_fault_kind kind = FAULT_OOM;
    uint32_t pgoff = v->pgoff + ((page - v->start) >> PAGE_SHIFT);
    struct page *p = v->file->ops->get_page(v, pgoff, &kind);
    if (!p) {
        pgtable_trim(mm, page);
        return kind;
    }
    if (private && access == ACCESS_WRITE) {
        struct page *copy = private_copy(p);
        page_put(p);
        if (!copy) {
            pgtable_trim(mm, page);
            return FAULT_OOM;
        }
        p = copy;
        mm->cow_faults++;
    } else if (private) {
        bits &= ~PTE_WRITE;
    }
    *pte = p->phys | bits;
    paging_flush_page(page);
    mm->minor_faults++;
    mm->resident_pages++;
    if (v->flags & VM_LOCKED)
        mm->locked_pages++;              /* as an anonymous fill counts it: the unmap uncounts it */
    return FAULT_NONE;
}

/* Move the dirty bits of v's PTEs in [start, end) to the frames. */
static void gather_dirty(struct mm *mm, struct vma *v, uint32_t start, uint32_t end)
{
    for (uint32_t va = start; va < end; va += PAGE_SIZE) {
        pte_t *pte = pgtable_entry(mm, va, 0);
        if (!pte || !(*pte & PTE_DIRTY))
            continue;
        *pte &= ~PTE_DIRTY;
        v->file->ops->dirty(v, page_lookup(*pte & PTE_ADDR));
    }
    pgtable_flush(mm, start, end);
}

int vm_msync(struct mm *mm, uint32_t addr, uint32_t len, uint32_t flags)
{
    if (addr & (PAGE_SIZE - 1))
        return -EINVAL;
    if ((flags & ~(uint32_t)(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) ||
        ((flags & MS_ASYNC) && (flags & MS_SYNC)))
        return -EINVAL;
    uint32_t end = addr + ((len + PAGE_SIZE - 1) & PAGE_ADDR_MASK);
    if (end < addr)
        return -ENOMEM;
    int err = 0;
    uint32_t va = addr;
    for (uint32_t i = vma_index_after(mm, addr); va < end; i++) {
        if (i == mm->nr_vmas || mm->vmas[i].start >= end) {
            err = -ENOMEM;
            break;
        }
        struct vma *v = &mm->vmas[i];
        /* Invalidating pages that must stay in memory: Linux's EBUSY. */
        if ((flags & MS_INVALIDATE) && (v->flags & VM_LOCKED))
            return -EBUSY;
        if (v->start > va)
            err = -ENOMEM;
        uint32_t s = v->start > addr ? v->start : addr;
        uint32_t e = v->end < end ? v->end : end;
        if (v->file && (v->flags & VM_SHARED))
            gather_dirty(mm, v, s, e);
        va = e;
    }
    return err;
}

/* Every address space is asked, not a record of the file's mappers: a
 * truncation below the end of a mapped file is rare, a fork (which would
 * copy such a record) is not. */
void vm_unmap_file_pages(struct vm_mapping *file, uint32_t from_pgoff)
{
    for (struct mm *mm = mm_next(0); mm; mm = mm_next(mm)) {
        for (uint32_t i = 0; i < mm->nr_vmas; i++) {
            struct vma *v = &mm->vmas[i];
            if (v->file != file)
                continue;
            uint32_t pages = (v->end - v->start) >> PAGE_SHIFT;
            if (v->pgoff + pages <= from_pgoff)
                continue;
            uint32_t skip = from_pgoff > v->pgoff ? from_pgoff - v->pgoff : 0;
            pgtable_unmap(mm, v, v->start + (skip << PAGE_SHIFT), v->end);
        }
    }
}
