/* vmalloc.c — the vmalloc window: finding room for an area (first fit, by
 * address), mapping its frames one page at a time, unmapping and giving
 * them back, and the window's checker. The layout is drawn in vmalloc.h.
 */
#include <stdint.h>
#include "vmalloc.h"
#include "memory.h"
#include "page_alloc.h"
#include "paging.h"
#include "../arch/cpu.h"
#include "../include/errno.h"

#define GUARD_SIZE PAGE_SIZE

static struct vm_area *areas;          /* sorted by addr */
static struct vmalloc_stats stats;
static const char *why = "";

static int refuse(int err, const char *reason)
{
    why = reason;
    return err;
}

/* A refused allocation: counted, and its reason kept. */
static int fail(int err, const char *reason)
{
    stats.failed_allocs++;
    return refuse(err, reason);
}

const char *vmalloc_why(void) { return why; }
const struct vm_area *vmalloc_areas(void) { return areas; }

void vmalloc_get_stats(struct vmalloc_stats *st)
{
    *st = stats;
}

/* The page table entry for va in the window, making its page table (from
 * low memory: page tables are reached through the identity map) if alloc.
 * NULL without one. */
static pte_t *window_entry(uint32_t va, int alloc)
{
    pte_t *pde = paging_kernel_pde(va);
    if (!(*pde & PTE_PRESENT)) {
        if (!alloc)
            return 0;
        struct page *p = alloc_table_page();
        if (!p)
            return 0;
        *pde = (pte_t)p->phys | PTE_PRESENT | PTE_WRITE;
        stats.pt_pages++;
    }
    pte_t *pt = (pte_t *)(uint32_t)(*pde & PTE_ADDR);
    return &pt[(va >> PAGE_SHIFT) & (PT_ENTRIES - 1)];
}

static uint32_t align_up(uint32_t v, uint32_t align)
{
    return (v + align - 1) & ~(align - 1);
}

/* Where an area of size bytes (plus its guard) aligned to align fits, and
 * the link after which it goes; 0 if the window has no such gap. The
 * arithmetic is 64-bit-free: every value stays below VMALLOC_END. */
static uint32_t find_gap(uint32_t size, uint32_t align, struct vm_area ***link)
{
    uint32_t need = size + GUARD_SIZE;
    uint32_t start = VMALLOC_START;
    struct vm_area **l = &areas;
    for (;; l = &(*l)->next) {
        uint32_t limit = *l ? (*l)->addr : VMALLOC_END;
        uint32_t at = align_up(start, align);
        if (at >= start && at < limit && limit - at >= need) {
            *link = l;
            return at;
        }
        if (!*l)
            return 0;
        start = (*l)->addr + (*l)->size + GUARD_SIZE;
    }
}

/* Unmap the first n pages of a and free their frames. */
static void unmap_pages(struct vm_area *a, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t va = a->addr + i * PAGE_SIZE;
        *window_entry(va, 0) = 0;
        paging_flush_page(va);
        if (page_zone(a->pages[i]) == ZONE_HIGHMEM)
            stats.highmem_pages--;
        free_page(a->pages[i]);
    }
}

/* Give every page of a a frame and map it. 0, or -ENOMEM with the pages
 * mapped so far undone. */
static int map_pages(struct vm_area *a)
{
    for (uint32_t i = 0; i < a->nr_pages; i++) {
        uint32_t va = a->addr + i * PAGE_SIZE;
        pte_t *pte = window_entry(va, 1);
        struct page *p = pte ? alloc_page(GFP_HIGHMEM) : 0;
        if (!p) {
            unmap_pages(a, i);
            return refuse(-ENOMEM, pte ? "out of page frames" : "out of memory for a page table");
        }
        a->pages[i] = p;
        if (page_zone(p) == ZONE_HIGHMEM)
            stats.highmem_pages++;
        *pte = (pte_t)p->phys | PTE_PRESENT | PTE_WRITE | (paging_nx() ? PTE_NX : 0);
    }
    return 0;
}

int vmalloc_area(uint32_t size, uint32_t align, uintptr_t caller, void **out)
{
    *out = 0;
    if (size == 0)
        return fail(-EINVAL, "the size is 0");
    if (align & (align - 1))
        return fail(-EINVAL, "the alignment is not a power of two");
    if (align < PAGE_SIZE)
        align = PAGE_SIZE;
    if (size > VMALLOC_END - VMALLOC_START - GUARD_SIZE || align > VMALLOC_END - VMALLOC_START)
        return fail(-ENOMEM, "larger than the vmalloc window");
    uint32_t mapped = align_up(size, PAGE_SIZE);
    /* Not a frame short for sure: refuse before page tables are made for it. */
    if (mapped / PAGE_SIZE > get_free_pages())
        return fail(-ENOMEM, "out of page frames");

    uint32_t f = irq_save();
    struct vm_area **link;
    uint32_t addr = find_gap(mapped, align, &link);
    struct vm_area *a = addr ? kcalloc(1, sizeof(*a)) : 0;
    struct page **pages = a ? kcalloc(mapped / PAGE_SIZE, sizeof(*pages)) : 0;
    int err = !addr ? refuse(-ENOMEM, "no gap that large in the vmalloc window")
            : !pages ? refuse(-ENOMEM, "out of heap for the area's records") : 0;
    if (!err) {
        *a = (struct vm_area){ .next = *link, .addr = addr, .size = mapped, .requested = size,
                               .nr_pages = mapped / PAGE_SIZE, .pages = pages, .caller = caller };
        err = map_pages(a);
    }
    if (err) {
        kfree(pages);
        kfree(a);
        stats.failed_allocs++;
        irq_restore(f);
        return err;
    }
    *link = a;
    stats.areas++;
    stats.pages += a->nr_pages;
    stats.requested += size;
    stats.allocs++;
    irq_restore(f);
    *out = (void *)addr;
    return 0;
}

void *vmalloc(uint32_t size)
{
    void *p;
    vmalloc_area(size, PAGE_SIZE, (uintptr_t)__builtin_return_address(0), &p);
    return p;
}

/* The link pointing at the area containing addr (or at the first one above it). */
static struct vm_area **link_of(uint32_t addr)
{
    struct vm_area **l = &areas;
    while (*l && (*l)->addr + (*l)->size <= addr)
        l = &(*l)->next;
    return l;
}

const struct vm_area *vmalloc_find(const void *addr)
{
    struct vm_area *a = *link_of((uint32_t)addr);
    return a && a->addr == (uint32_t)addr ? a : 0;
}

int vfree(const void *addr)
{
    if (!addr)
        return 0;
    uint32_t f = irq_save();
    struct vm_area **l = link_of((uint32_t)addr);
    struct vm_area *a = *l;
    if (!a || a->addr != (uint32_t)addr) {
        int inside = a && a->addr < (uint32_t)addr;
        stats.bad_frees++;
        irq_restore(f);
        return refuse(-EINVAL, inside ? "an address inside an area, not its start"
                                      : "no area starts there (never allocated, or already freed)");
    }
    *l = a->next;
    unmap_pages(a, a->nr_pages);
    stats.areas--;
    stats.pages -= a->nr_pages;
    stats.requested -= a->requested;
    stats.frees++;
    irq_restore(f);
    kfree(a->pages);
    kfree(a);
    return 0;
}

static unsigned violation(void (*report)(const char *, uint32_t), const char *what, uint32_t addr)
{
    if (report)
        report(what, addr);
    return 1;
}

/* The checks of one area; *highmem counts its HighMem frames. */
static unsigned check_area(const struct vm_area *a, void (*report)(const char *, uint32_t),
                           uint32_t *highmem)
{
    unsigned n = 0;
    if (a->addr & (PAGE_SIZE - 1) || a->size != a->nr_pages * PAGE_SIZE || a->requested > a->size ||
        a->size - a->requested >= PAGE_SIZE)
        n += violation(report, "area: size, pages and request disagree", a->addr);
    for (uint32_t i = 0; i < a->nr_pages; i++) {
        uint32_t va = a->addr + i * PAGE_SIZE;
        pte_t *pte = window_entry(va, 0);
        struct page *p = a->pages[i];
        if (!pte || !(*pte & PTE_PRESENT) || (*pte & PTE_ADDR) != (pte_t)p->phys)
            n += violation(report, "page: not mapped to its frame", va);
        else if (page_is_free(p) || page_lookup(p->phys) != p)
            n += violation(report, "page: its frame is not an allocated frame", va);
        else if (page_zone(p) == ZONE_HIGHMEM)
            (*highmem)++;
    }
    pte_t *guard = window_entry(a->addr + a->size, 0);
    if (guard && (*guard & PTE_PRESENT))
        n += violation(report, "guard page: mapped", a->addr + a->size);
    return n;
}

unsigned vmalloc_check(void (*report)(const char *what, uint32_t addr))
{
    unsigned n = 0;
    uint32_t f = irq_save();
    uint32_t count = 0, pages = 0, requested = 0, highmem = 0, floor = VMALLOC_START;
    for (const struct vm_area *a = areas; a; a = a->next) {
        if (a->addr < floor || a->size > VMALLOC_END - a->addr ||
            a->size + GUARD_SIZE > VMALLOC_END - a->addr)
            n += violation(report, "area: outside the window or overlapping the one before", a->addr);
        else
            n += check_area(a, report, &highmem);
        floor = a->addr + a->size + GUARD_SIZE;
        count++;
        pages += a->nr_pages;
        requested += a->requested;
    }
    if (count != stats.areas || pages != stats.pages || requested != stats.requested ||
        highmem != stats.highmem_pages)
        n += violation(report, "counters: areas, pages or bytes disagree with the list", 0);
    irq_restore(f);
    return n;
}
