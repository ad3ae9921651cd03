/* pgtable.c — the user half of an address space's page tables: the pool
 * their pages come from, walking them, the entry bits for a protection,
 * and unmapping, re-protecting and flushing ranges.
 *
 * The table pool: a page table or directory must be all zeros when it is
 * made, and clearing 4 KiB is most of what making one costs (fork makes
 * four for the smallest program). TABLE_POOL_PAGES frames of the kernel
 * image are kept for them, all zeros while in the pool: a table is only
 * ever freed empty (pgtable_trim frees it once every entry is 0, and a
 * directory goes with its last table), so a pool frame goes back without
 * clearing and the pool never needs clearing. Static like the boot
 * address space's directories, they take no frame from buddy; a table
 * made while the pool is empty comes from buddy, cleared
 * (alloc_table_page), and goes back there.
 *
 * The pool trusts no caller for that: a table pgtable_trim frees was just
 * seen empty, and any other frame coming back to the pool (a directory,
 * whose emptiness its table count vouches for) is checked. One with an
 * entry set is a bug that the next address space would inherit as
 * mappings: it is reported, counted and kept out of the pool (it may
 * still be in use). table_pool_check counts pool frames that are not
 * zero, for the tests, heapcheck's way.
 *
 * A user entry maps a frame when its address bits are not 0 (no frame is at
 * physical 0), whether or not it is present: PROT_NONE keeps the frame in a
 * non-present entry so that a later mprotect gives the contents back. The
 * shared zero page is mapped read-only into private pages nobody wrote yet.
 */
#include <stdint.h>
#include "mm.h"
#include "../page_alloc.h"
#include "../../arch/cpu.h"
#include "../../include/errno.h"
#include "../../include/mman.h"
#include "../../lib/kprintf.h"

/* Above this many pages a flush reloads CR3 instead of invlpg page by page. */
#define FLUSH_ALL_PAGES 32u

static uint8_t table_pool_frames[TABLE_POOL_PAGES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static struct page *table_pool[TABLE_POOL_PAGES];
static uint32_t table_pool_count;
static uint32_t table_pool_refused;

void table_pool_init(void)
{
    for (uint32_t i = 0; i < TABLE_POOL_PAGES; i++)
        table_pool[i] = page_lookup((uint32_t)table_pool_frames[i]);
    table_pool_count = TABLE_POOL_PAGES;
}

uint32_t table_pool_pages(void)
{
    return table_pool_count;
}

struct page *pgtable_alloc_page(void)
{
    uint32_t irq = irq_save();
    struct page *p = table_pool_count ? table_pool[--table_pool_count] : 0;
    irq_restore(irq);
    return p ? p : alloc_table_page();
}

static int table_is_clear(const pte_t *t)
{
    for (uint32_t i = 0; i < PT_ENTRIES; i++)
        if (t[i])
            return 0;
    return 1;
}

static int in_table_pool(const struct page *p)
{
    uint32_t first = (uint32_t)table_pool_frames;
    return p->phys >= first && p->phys < first + sizeof(table_pool_frames);
}

/* Give back a table known to be all zeros. */
static void table_put(struct page *p)
{
    if (!in_table_pool(p)) {
        free_page(p);
        return;
    }
    uint32_t irq = irq_save();
    table_pool[table_pool_count++] = p;
    irq_restore(irq);
}

void pgtable_free_page(struct page *p)
{
    const pte_t *t = (const pte_t *)(uint32_t)p->phys;
    if (in_table_pool(p) && !table_is_clear(t)) {
        uint32_t set = 0;
        for (uint32_t i = 0; i < PT_ENTRIES; i++)
            set += t[i] != 0;
        table_pool_refused++;
        kprintf("pgtable_free_page: table 0x%08x: %u of its entries still set: kept out of the pool\n",
                (uint32_t)p->phys, set);
        return;
    }
    table_put(p);
}

uint32_t table_pool_refusals(void)
{
    return table_pool_refused;
}

uint32_t table_pool_check(void)
{
    uint32_t bad = 0;
    uint32_t irq = irq_save();
    for (uint32_t i = 0; i < table_pool_count; i++)
        bad += !table_is_clear((const pte_t *)(uint32_t)table_pool[i]->phys);
    irq_restore(irq);
    return bad;
}

pte_t *pgtable_entry(struct mm *mm, uint32_t va, int alloc)
{
    pte_t *pd = mm_directory(mm, va, alloc);
    if (!pd)
        return 0;
    pte_t *pde = &pd[(va >> PD_SHIFT) & (PT_ENTRIES - 1)];
    if (!(*pde & PTE_PRESENT)) {
        if (!alloc)
            return 0;
        struct page *p = pgtable_alloc_page();
        if (!p)
            return 0;
        /* The directory allows everything; the page table entries decide. */
        *pde = p->phys | PTE_PRESENT | PTE_WRITE | PTE_USER;
        mm->pt_pages++;
        mm->pd_tables[(va >> PDPT_SHIFT) - 1]++;
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
    pte_t *pd = mm_directory(mm, va, 0);
    pte_t *pde = pd ? &pd[(va >> PD_SHIFT) & (PT_ENTRIES - 1)] : 0;
    if (!pde || !(*pde & PTE_PRESENT))
        return;
    if (!table_is_clear((const pte_t *)(uint32_t)(*pde & PTE_ADDR)))
        return;
    table_put(page_lookup(*pde & PTE_ADDR));
    *pde = 0;
    mm->pt_pages--;
    mm->pd_tables[(va >> PDPT_SHIFT) - 1]--;
    mm_directory_trim(mm, va);
}

/* The next 2 MiB boundary above va, capped at end. */
static uint32_t table_end(uint32_t va, uint32_t end)
{
    uint32_t next = (va | (BIG_PAGE - 1)) + 1;
    return next == 0 || next > end ? end : next;
}

/* What a range walk does to each entry that maps a frame. */
enum pte_step { STEP_UNMAP, STEP_PROTECT };

/* Clear the entry; a private frame loses a holder (fork.c: back to buddy
 * with its last), a file's frame goes back to the file with the entry's
 * dirty bit (filemap.c). */
static void unmap_one(struct mm *mm, const struct vma *v, pte_t *pte, phys_addr_t frame, phys_addr_t zero)
{
    int dirty = (*pte & PTE_DIRTY) != 0;
    *pte = 0;
    if (frame == zero)
        return;
    mm->resident_pages--;
    if (v->flags & VM_LOCKED)
        mm->locked_pages--;
    if (v->file && vm_frame_is_file(frame))
        vm_file_unmap_frame(v, frame, dirty);
    else if (!(v->flags & VM_SHARED))
        vm_frame_put(frame);
}

/* Rewrite the entry's bits. Never writable: the zero page and a file's
 * frame in a private mapping (a write fault gives the page a frame of its
 * own), and a frame shared since fork (still copied on write). */
static void protect_one(const struct vma *v, pte_t *pte, phys_addr_t frame, phys_addr_t zero, pte_t bits)
{
    if (frame == zero || (v->file && !(v->flags & VM_SHARED) && vm_frame_is_file(frame)))
        bits &= ~PTE_WRITE;
    if (*pte & PTE_COW)
        bits = (bits & ~PTE_WRITE) | PTE_COW;
    *pte = frame | bits;
}

/* Apply step to every entry of [start, end) that maps a frame, skipping
 * whole 2 MiB stretches that have no page table; an unmap frees the page
 * tables it empties. Then flush the range. */
static void walk_range(struct mm *mm, const struct vma *v, uint32_t start, uint32_t end, enum pte_step step)
{
    phys_addr_t zero = vm_zero_page();
    pte_t bits = pgtable_prot_bits(v->prot);
    for (uint32_t va = start; va < end;) {
        uint32_t stop = table_end(va, end);
        pte_t *pte = pgtable_entry(mm, va, 0);
        if (!pte) {
            va = stop;
            continue;
        }
        for (; va < stop; va += PAGE_SIZE, pte++) {
            phys_addr_t frame = *pte & PTE_ADDR;
            if (!frame)
                continue;
            if (step == STEP_UNMAP)
                unmap_one(mm, v, pte, frame, zero);
            else
                protect_one(v, pte, frame, zero, bits);
        }
        if (step == STEP_UNMAP)
            pgtable_trim(mm, va - PAGE_SIZE);
    }
    pgtable_flush(mm, start, end);
}

void pgtable_unmap(struct mm *mm, const struct vma *v, uint32_t start, uint32_t end)
{
    walk_range(mm, v, start, end, STEP_UNMAP);
}

void pgtable_protect(struct mm *mm, const struct vma *v, uint32_t start, uint32_t end)
{
    walk_range(mm, v, start, end, STEP_PROTECT);
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
