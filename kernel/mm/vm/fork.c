/* fork.c — copying an address space for fork, copy-on-write.
 *
 * mm_clone gives the child a copy of every VMA, then walks the page
 * tables by the VMAs, as Linux's copy_page_range does per vm_area: only
 * the directory entries covering a private VMA are read, a run of private
 * VMAs that follow each other without a gap (text, data, heap) is one
 * pass, and a child's table is made only where the parent's maps
 * something in the run. Shared VMAs take one more reference to their
 * object or file and no page table entries (the child's first touch maps
 * the object's frame). A private file mapping's entries
 * that still map the file's frames are shared like private frames: the
 * frame gains a holder and the first write copies it. Private frames are
 * shared: both entries lose PTE_WRITE and gain PTE_COW, and the frame one
 * more reference (struct page refcount counts holders beyond the first).
 * The first write through either entry — from ring 3, or from the kernel
 * in copy_to_user, since CR0.WP makes read-only entries bind the kernel
 * too — lands in vm_cow_break: with no other holder left the entry is just
 * made writable again; otherwise the frame is copied and the old one loses
 * a holder.
 * The shared zero page is never counted: it is copied only by writing it.
 *
 * One page is copied at fork instead of shared: the one holding the
 * parent's user stack pointer (mm_clone's hot). Parent and child both
 * write it as soon as fork returns, so sharing it would only buy a fault
 * in each on the way to the same copy.
 *
 * The child's VMA array is copied whole (it is already sorted and without
 * overlaps): into struct mm's inline one when it fits, else into one
 * allocation of the parent's size.
 */
#include <stdint.h>
#include "mm.h"
#include "../highmem.h"
#include "../page.h"
#include "../page_alloc.h"
#include "../memory.h"
#include "../../lib/string.h"

/* A frame a user entry maps is RAM the buddy allocator manages: its struct
 * page is found by index, without page_lookup's checks. */
static struct page *frame_page(phys_addr_t frame)
{
    return pfn_to_page((uint32_t)(frame >> PAGE_SHIFT));
}

void vm_frame_put(phys_addr_t frame)
{
    struct page *p = frame_page(frame);
    if (p->refcount > 0)
        page_ref_dec(p);
    else
        free_page(p);
}

/* Share the n entries from st with dt: each private frame gains a holder
 * and both entries become read-only and COW; the zero page is copied as
 * it is. Returns the frames shared. */
static uint32_t share_entries(pte_t *st, pte_t *dt, uint32_t n, uint32_t zero_pfn)
{
    uint32_t shared = 0;
    for (uint32_t i = 0; i < n; i++) {
        pte_t e = st[i];
        uint32_t pfn = (uint32_t)((e & PTE_ADDR) >> PAGE_SHIFT);
        if (!pfn)
            continue;
        if (pfn != zero_pfn) {
            page_ref_inc(pfn_to_page(pfn));
            e = (e & ~PTE_WRITE) | PTE_COW;
            st[i] = e;
            shared++;
        }
        dt[i] = e;
    }
    return shared;
}

/* The child's own copy of the parent's entry e, a frame the parent holds
 * alone and may write (a writable private entry): the same bits, a new
 * frame. 0 without a frame (the page is shared instead). */
static pte_t copy_entry(pte_t e)
{
    struct page *copy = alloc_page(VM_GFP_USER);
    if (!copy)
        return 0;
    copy_page_frame(copy, frame_page(e & PTE_ADDR));
    return copy->phys | (e & ~PTE_ADDR & ~(PTE_ACCESSED | PTE_DIRTY));
}

/* Share the private frames of [start, end) of src with dst, a page table
 * (2 MiB) at a time: one walk finds each table, and the child's table is
 * made only where the parent's maps something in the range. The page at
 * hot, if it is in the range and writable, is copied instead. 0 or
 * -ENOMEM. */
static int share_private(struct mm *dst, struct mm *src, uint32_t start, uint32_t end, uint32_t hot)
{
    uint32_t zero_pfn = vm_zero_page() >> PAGE_SHIFT;
    for (uint32_t va = start, stop; va < end; va = stop) {
        stop = (va | (BIG_PAGE - 1)) + 1;
        if (stop == 0 || stop > end)
            stop = end;
        pte_t *st = pgtable_entry(src, va, 0);
        uint32_t n = st ? (stop - va) >> PAGE_SHIFT : 0, first = 0;
        while (first < n && !(st[first] & PTE_ADDR))
            first++;
        if (first == n)
            continue;
        pte_t *dt = pgtable_entry(dst, va, 1);
        if (!dt)
            return -1;
        uint32_t h = hot >= va && hot < stop ? (hot - va) >> PAGE_SHIFT : n;
        pte_t copy = h < n && (st[h] & PTE_WRITE) ? copy_entry(st[h]) : 0;
        if (!copy) {
            dst->resident_pages += share_entries(st + first, dt + first, n - first, zero_pfn);
            continue;
        }
        dt[h] = copy;
        dst->resident_pages++;
        if (first < h)
            dst->resident_pages += share_entries(st + first, dt + first, h - first, zero_pfn);
        dst->resident_pages += share_entries(st + h + 1, dt + h + 1, n - h - 1, zero_pfn);
    }
    return 0;
}

/* The index after the run of private VMAs of src that starts at i and
 * follows on without a gap (a program's text, data and heap, whose
 * entries are all shared alike: share_private takes the run at once). */
static uint32_t private_run_end(const struct mm *src, uint32_t i)
{
    uint32_t j = i + 1;
    while (j < src->nr_vmas && !(src->vmas[j].flags & VM_SHARED) &&
           src->vmas[j].start == src->vmas[j - 1].end)
        j++;
    return j;
}

/* dst's VMAs: src's, each holding its backing once more. 0 or -ENOMEM
 * (dst keeps the VMAs whose backing it took). */
static int copy_vmas(struct mm *dst, const struct mm *src)
{
    if (src->nr_vmas > dst->cap_vmas) {
        struct vma *a = kmalloc(src->cap_vmas * sizeof(struct vma));
        if (!a)
            return -1;
        dst->vmas = a;
        dst->cap_vmas = src->cap_vmas;
    }
    memcpy(dst->vmas, src->vmas, src->nr_vmas * sizeof(struct vma));
    for (uint32_t i = 0; i < src->nr_vmas; i++) {
        struct vma *c = &dst->vmas[i];
        c->flags &= ~VM_LOCKED;           /* memory locks are not inherited (Linux's fork) */
        if (vma_get_backing(c))
            return -1;
        dst->nr_vmas++;
    }
    dst->total_pages = src->total_pages;
    return 0;
}

struct mm *mm_clone(struct mm *src, uint32_t hot)
{
    struct mm *dst = mm_create();
    if (!dst)
        return 0;
    dst->limit_as = src->limit_as;
    dst->limit_stack = src->limit_stack;
    dst->policy = src->policy;         /* W^X is not shed by forking */
    int err = copy_vmas(dst, src);
    for (uint32_t i = 0, next; i < src->nr_vmas && !err; i = next) {
        next = i + 1;
        if (src->vmas[i].flags & VM_SHARED)
            continue;
        next = private_run_end(src, i);
        err = share_private(dst, src, src->vmas[i].start, src->vmas[next - 1].end, hot);
    }
    /* The parent's entries lost PTE_WRITE (even on failure: they stay COW,
     * which the next write resolves). */
    pgtable_flush(src, USER_START, USER_END);
    if (err) {
        mm_destroy(dst);
        return 0;
    }
    return dst;
}

enum vm_fault_kind vm_cow_break(struct mm *mm, const struct vma *v, pte_t *pte, uint32_t page)
{
    phys_addr_t frame = *pte & PTE_ADDR;
    struct page *old = frame_page(frame);
    pte_t bits = pgtable_prot_bits(v->prot);
    if (old->refcount > 0) {
        struct page *copy = alloc_page(VM_GFP_USER);
        if (!copy)
            return FAULT_OOM;
        copy_page_frame(copy, old);
        page_ref_dec(old);
        frame = copy->phys;
    }
    *pte = frame | bits;
    paging_flush_page(page);
    mm->cow_faults++;
    return FAULT_NONE;
}
