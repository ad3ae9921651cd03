/* fault.c — the page-fault handler: find the VMA (or grow a stack down to
 * it), check the access against its protection, fill the page; otherwise
 * record a report of what went wrong and let the caller decide (an
 * exception-table fixup, or the kernel's stop).
 */
#include <stdint.h>
#include "mm.h"
#include "uaccess.h"
#include "../highmem.h"
#include "../page_alloc.h"
#include "../../arch/cpu.h"
#include "../../arch/regs.h"
#include "../../include/mman.h"
#include "../../lib/kprintf.h"

#define PF_WRITE 0x02u
#define PF_FETCH 0x10u

static enum vm_fault_kind fail(struct mm *mm, uint32_t addr, enum vm_access access,
                               enum vm_fault_kind kind, const struct vma *v)
{
    struct vm_fault_report *f = &mm->last_fault;
    f->addr = addr;
    f->access = access;
    f->kind = kind;
    f->has_vma = v != 0;
    if (v)
        f->vma = *v;
    mm->faults[kind]++;
    return kind;
}

/* How far past its limit a fault still counts as a stack's overflow (Linux's
 * stack_guard_gap, 256 pages): a deep recursion's last frame lands just
 * below the limit, while an access further down, with the stack the next
 * mapping above, is a stray pointer into unmapped memory and is reported
 * as that, not as a stack gone too far. */
#define STACK_GUARD_GAP (256u * PAGE_SIZE)

static int stack_reaches(const struct mm *mm, const struct vma *v, uint32_t page)
{
    return (uint64_t)(v->end - page) <= (uint64_t)mm->limit_stack + STACK_GUARD_GAP;
}

/* No VMA contains addr: may the GROWSDOWN VMA just above it (index i)
 * reach down to addr's page? Returns 0 and grows it, or the failure. */
static enum vm_fault_kind grow_stack(struct mm *mm, uint32_t i, uint32_t page)
{
    struct vma *v = &mm->vmas[i];
    if (v->end - page > mm->limit_stack)
        return FAULT_STACK_LIMIT;
    /* Keep one unmapped page between the stack and the mapping below. */
    if (i > 0 && mm->vmas[i - 1].end + PAGE_SIZE > page)
        return FAULT_STACK_LIMIT;
    uint32_t pages = (v->start - page) >> PAGE_SHIFT;
    if (((uint64_t)mm->total_pages + pages) << PAGE_SHIFT > mm->limit_as)
        return FAULT_STACK_LIMIT;
    mm->total_pages += pages;
    v->start = page;
    return FAULT_NONE;
}

static int access_allowed(uint16_t prot, enum vm_access access)
{
    switch (access) {
    case ACCESS_WRITE: return (prot & PROT_WRITE) != 0;
    case ACCESS_FETCH: return (prot & PROT_EXEC) != 0;
    default: return prot != PROT_NONE;         /* on x86, write and exec imply read */
    }
}

static struct page *zeroed_frame(void)
{
    struct page *p = alloc_page(VM_GFP_USER);
    if (p)
        clear_page_frame(p);
    return p;
}

/* The frame a first touch of page in v maps: the object's page for shared
 * memory, the zero page for a private read, a fresh zeroed frame for a
 * private write. 0 without memory. *own: the frame is resident (not the
 * zero page). */
static phys_addr_t fill_frame(const struct vma *v, uint32_t page, enum vm_access access, int *own)
{
    *own = 1;
    if (v->flags & VM_SHARED) {
        uint32_t idx = v->pgoff + ((page - v->start) >> PAGE_SHIFT);
        struct page **slot = &v->obj->pages[idx];
        if (!*slot)
            *slot = zeroed_frame();
        return *slot ? (*slot)->phys : 0;
    }
    if (access != ACCESS_WRITE && !(v->flags & VM_LOCKED)) {
        *own = 0;
        return vm_zero_page();
    }
    struct page *p = zeroed_frame();
    return p ? p->phys : 0;
}

enum vm_fault_kind vm_fault(struct mm *mm, uint32_t addr, enum vm_access access)
{
    uint32_t page = addr & PAGE_ADDR_MASK;
    if (addr < USER_START || addr >= USER_END)
        return fail(mm, addr, access, FAULT_NOT_MAPPED, 0);

    /* 1. The VMA, or a stack to grow. */
    struct vma *v = vma_find(mm, addr);
    uint32_t old_start = 0;
    if (!v) {
        uint32_t i = vma_index_after(mm, addr);
        /* A shared GROWSDOWN mapping never grows: its object's pages are
         * numbered from its start, and none lies below page 0 (Linux's
         * vm_pgoff, 0 for shared anonymous memory, cannot go lower). */
        if (i == mm->nr_vmas || !(mm->vmas[i].flags & VM_GROWSDOWN) || (mm->vmas[i].flags & VM_SHARED) ||
            !stack_reaches(mm, &mm->vmas[i], page))
            return fail(mm, addr, access, FAULT_NOT_MAPPED, 0);
        old_start = mm->vmas[i].start;
        enum vm_fault_kind k = grow_stack(mm, i, page);
        if (k)
            return fail(mm, addr, access, k, &mm->vmas[i]);
        v = &mm->vmas[i];
    }

    /* 2. The access against the protection. */
    if (!access_allowed(v->prot, access))
        return fail(mm, addr, access, FAULT_PROTECTION, v);

    /* 3. Fill: a file's page (filemap.c); or a page table, then a frame;
     * or copy on write. */
    if (v->file) {
        enum vm_fault_kind k = vm_file_fault(mm, v, page, access);
        return k ? fail(mm, addr, access, k, v) : FAULT_NONE;
    }
    pte_t *pte = pgtable_entry(mm, page, 1);
    if (pte && access == ACCESS_WRITE && (*pte & PTE_COW)) {
        enum vm_fault_kind k = vm_cow_break(mm, v, pte, page);
        return k ? fail(mm, addr, access, k, v) : FAULT_NONE;
    }
    phys_addr_t frame = pte ? *pte & PTE_ADDR : 0;
    int own = 0, fresh = 0;
    if (pte && (!frame || (access == ACCESS_WRITE && frame == vm_zero_page()))) {
        frame = fill_frame(v, page, access, &own);
        fresh = 1;
    }
    if (!frame) {
        pgtable_trim(mm, page);
        if (old_start) {
            mm->total_pages -= (old_start - v->start) >> PAGE_SHIFT;
            v->start = old_start;
        }
        return fail(mm, addr, access, FAULT_OOM, v);
    }
    pte_t bits = pgtable_prot_bits(v->prot);
    if (frame == vm_zero_page())
        bits &= ~PTE_WRITE;
    if (*pte & PTE_COW)
        bits = (bits & ~PTE_WRITE) | PTE_COW;
    *pte = frame | bits;
    paging_flush_page(page);
    if (fresh) {
        mm->minor_faults++;
        if (own) {
            mm->resident_pages++;
            if (v->flags & VM_LOCKED)
                mm->locked_pages++;
        }
    }
    return FAULT_NONE;
}

int vm_page_fault(struct regs *r)
{
    uint32_t addr = read_cr2();
    enum vm_access access = (r->err_code & PF_FETCH) ? ACCESS_FETCH
                          : (r->err_code & PF_WRITE) ? ACCESS_WRITE : ACCESS_READ;
    struct mm *mm = mm_current();
    if (!mm)
        return 0;
    if (vm_fault(mm, addr, access) == FAULT_NONE)
        return 1;
    return uaccess_fixup(r);
}

static const char *const access_words[] = { "read from", "write to", "instruction fetch from" };

static const char *target(const struct vm_fault_report *f)
{
    switch (f->kind) {
    case FAULT_PROTECTION:
        if (f->access == ACCESS_FETCH)
            return "a non-executable mapping";
        if (f->access == ACCESS_WRITE && f->vma.prot != PROT_NONE)
            return "a read-only mapping";
        return "an inaccessible mapping";
    case FAULT_STACK_LIMIT: return "an address beyond the stack limit";
    case FAULT_OOM: return "a page with no free frame: out of memory";
    case FAULT_SIGBUS: return "a page beyond the end of its file (SIGBUS)";
    default: return "an unmapped address";
    }
}

void vm_fault_describe(const struct vm_fault_report *f, char *buf, unsigned size)
{
    char prot[5] = "";
    if (f->has_vma)
        vma_prot_string(&f->vma, prot);
    ksnprintf(buf, size, "%s %s (%s)", access_words[f->access], target(f),
              f->has_vma ? prot : "no mapping");
}
