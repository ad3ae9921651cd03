/* buddy.c — the buddy allocator: free blocks of 2^order frames per zone,
 * split on allocation and merged with their buddy on free. Also the boot
 * step that decides which frames exist and carves mem_map out of RAM.
 *
 * Operations on single frames (page_get, page_lock, ...) live in page.c,
 * object caches in slab.c.
 *
 * The buddy of a block: a block of order k starts at a pfn aligned to 2^k,
 * and its buddy is the other half of the block of order k + 1 containing it:
 *
 *     buddy_pfn = pfn ^ (1 << order)
 *
 * e.g. pfn 0x2a4 at order 2 has buddy 0x2a0 (0x2a4 ^ 0x4), and together
 * they make the order-3 block at 0x2a0 (pfn & ~(1 << order)). mem_map is
 * aligned to sizeof(struct page) << MAX_ORDER (32 KiB) and holds a whole
 * number of MAX_ORDER blocks, so the same XOR works on struct page
 * addresses, and a buddy below MAX_ORDER is always inside mem_map:
 *
 *     buddy = (struct page *)((uintptr_t)page ^ (sizeof(struct page) << order))
 *
 * Invariants (buddy_check counts violations of each):
 *   - a managed frame belongs to exactly one block: free (head PG_free) or
 *     allocated (head PG_head); blocks are aligned to their size;
 *   - a free block is on the list of its zone and order, and on no other;
 *     bit k of zone->nonempty is set iff list k is not empty;
 *   - a free block below MAX_ORDER never has a free buddy of its order
 *     (they would have been merged);
 *   - zone->free_pages is the sum of the free blocks of the zone;
 *   - every frame of a free block is fresh: refcount 0, clean, unlocked,
 *     mapped at its own address.
 */
#pragma GCC target("tune=generic")   /* see HOT in compiler.h */
#include <stddef.h>
#include <stdint.h>
#include "buddy.h"
#include "page.h"
#include "physmem.h"
#include "../arch/cpu.h"
#include "../include/compiler.h"
#include "../include/errno.h"
#include "../include/layout.h"
#include "../lib/kprintf.h"
#include "../lib/list.h"
#include "../lib/string.h"

#define MAX_RANGES 48
#define MAP_ALIGN  (sizeof(struct page) << MAX_ORDER)   /* bytes: 32 KiB */
#define PFN_DMA_END     (ZONE_DMA_END >> PAGE_SHIFT)
#define PFN_NORMAL_END  (ZONE_NORMAL_END >> PAGE_SHIFT)

_Static_assert(MAP_ALIGN == 0x8000, "mem_map alignment is 32 KiB");

struct page *mem_map;
uint32_t mem_map_pages;

static struct zone zones[NR_ZONES] = {
    [ZONE_DMA] = { .name = "DMA" },
    [ZONE_NORMAL] = { .name = "Normal" },
    [ZONE_HIGHMEM] = { .name = "HighMem" },
};

/* What an invalid gfp value allocates from: a zone with no block. */
static struct zone no_zone = { .name = "none" };

/* zones[i] by a load rather than a shift and an add (buddy_free). */
static struct zone *const zone_of[4] = { &zones[0], &zones[1], &zones[2], 0 };

/* The zones each gfp value may use, best first (NULL ends a list). */
#define ZL_KERNEL   { &zones[ZONE_NORMAL], &zones[ZONE_DMA], 0, 0 }
#define ZL_DMA      { &zones[ZONE_DMA], 0, 0, 0 }
#define ZL_HIGHMEM  { &zones[ZONE_HIGHMEM], &zones[ZONE_NORMAL], &zones[ZONE_DMA], 0 }
static struct zone *const zonelists[GFP_MASK + 1][4] = {
    [GFP_KERNEL] = ZL_KERNEL,
    [GFP_DMA] = ZL_DMA,
    [GFP_HIGHMEM] = ZL_HIGHMEM,
    [GFP_DMA | GFP_HIGHMEM] = { &no_zone, 0, 0, 0 },
    [GFP_THISZONE | GFP_KERNEL] = { &zones[ZONE_NORMAL], 0, 0, 0 },
    [GFP_THISZONE | GFP_DMA] = { &zones[ZONE_DMA], 0, 0, 0 },
    [GFP_THISZONE | GFP_HIGHMEM] = { &zones[ZONE_HIGHMEM], 0, 0, 0 },
    [GFP_THISZONE | GFP_DMA | GFP_HIGHMEM] = { &no_zone, 0, 0, 0 },
};

static struct {
    uint32_t allocs, frees, failed_allocs, bad_frees;
    uint32_t total_memory;
    int ready;
} bs;

/* ---- boot: which frames exist, and mem_map ------------------------------ */

/* Stretches of managed frames, [start, end) in pfns: the available regions
 * of the memory map minus what the kernel keeps for itself. */
struct range {
    uint32_t start, end;
};
static struct range ranges[MAX_RANGES];
static unsigned nranges;

static void range_add(uint32_t start, uint32_t end)
{
    if (start >= end)
        return;
    if (nranges == MAX_RANGES) {
        kprintf("buddy_init: more than %u stretches of RAM, ignoring %p-%p\n", MAX_RANGES,
                (void *)(start << PAGE_SHIFT), (void *)(end << PAGE_SHIFT));
        return;
    }
    ranges[nranges].start = start;
    ranges[nranges].end = end;
    nranges++;
}

/* Take [start, end) out of every range. */
static void range_cut(uint32_t start, uint32_t end)
{
    for (unsigned i = 0; i < nranges; i++) {
        struct range r = ranges[i];
        if (end <= r.start || start >= r.end)
            continue;
        if (start > r.start && end < r.end) {
            ranges[i].end = start;
            range_add(end, r.end);
        } else if (start <= r.start && end >= r.end) {
            ranges[i--] = ranges[--nranges];
        } else if (start <= r.start) {
            ranges[i].start = end;
        } else {
            ranges[i].end = start;
        }
    }
}

/* Sort by start and join ranges that touch. */
static void range_tidy(void)
{
    for (unsigned i = 1; i < nranges; i++) {
        struct range r = ranges[i];
        unsigned j = i;
        while (j > 0 && ranges[j - 1].start > r.start) {
            ranges[j] = ranges[j - 1];
            j--;
        }
        ranges[j] = r;
    }
    unsigned out = 0;
    for (unsigned i = 0; i < nranges; i++) {
        if (out && ranges[out - 1].end == ranges[i].start)
            ranges[out - 1].end = ranges[i].end;
        else
            ranges[out++] = ranges[i];
    }
    nranges = out;
}

/* The available regions of the memory map below limit, in whole frames. */
static void ranges_from_memory_map(uint64_t limit)
{
    nranges = 0;
    for (unsigned i = 0; i < physmem_region_count(); i++) {
        const struct physmem_region *r = physmem_region(i);
        if (r->type != MULTIBOOT_MEMORY_AVAILABLE)
            continue;
        uint64_t start = (r->base + PAGE_SIZE - 1) >> PAGE_SHIFT;
        uint64_t end = r->base + r->len;
        if (end > limit)
            end = limit;
        end >>= PAGE_SHIFT;
        if (start < end)
            range_add((uint32_t)start, (uint32_t)end);
    }
    range_tidy();
}

static unsigned zone_of_pfn(uint32_t pfn)
{
    if (pfn < PFN_DMA_END)
        return ZONE_DMA;
    return pfn < PFN_NORMAL_END ? ZONE_NORMAL : ZONE_HIGHMEM;
}

/* Where mem_map goes: MAP_ALIGN-aligned inside the largest range that can
 * hold it below ZONE_NORMAL_END (struct pages must stay in permanently
 * mapped memory). Returns the pfn, or 0 if nothing fits (pfn 0 never does:
 * page 0 is not managed). */
static uint32_t carve_mem_map(uint32_t frames)
{
    uint32_t best = 0, best_len = 0;
    const uint32_t align = MAP_ALIGN >> PAGE_SHIFT;
    for (unsigned i = 0; i < nranges; i++) {
        uint32_t start = (ranges[i].start + align - 1) & ~(align - 1);
        uint32_t end = ranges[i].end < PFN_NORMAL_END ? ranges[i].end : PFN_NORMAL_END;
        uint32_t len = ranges[i].end - ranges[i].start;
        if (start + frames <= end && len > best_len) {
            best = start;
            best_len = len;
        }
    }
    return best;
}

static void zone_reset(struct zone *z)
{
    for (unsigned k = 0; k < NR_ORDERS; k++)
        list_init(&z->free_area[k].list);
    z->nonempty = 0;
    z->free_pages = 0;
    z->managed_pages = 0;
    z->start_pfn = z->end_pfn = 0;
}

/* Put the free block at pfn on its list (boot only: no merging needed, the
 * ranges are split into the largest aligned blocks already). */
static void boot_free_block(uint32_t pfn, unsigned order)
{
    struct page *p = pfn_to_page(pfn);
    struct zone *z = &zones[page_zone(p)];
    p->flags |= PG_free;
    p->order = order;
    list_add_tail(&p->lru, &z->free_area[order].list);
    z->nonempty |= 1u << order;
    z->free_pages += 1u << order;
}

static void boot_free_range(uint32_t start, uint32_t end)
{
    for (uint32_t pfn = start; pfn < end; pfn++) {
        struct page *p = pfn_to_page(pfn);
        struct zone *z = &zones[page_zone(p)];
        p->flags &= ~PG_reserved;
        if (!z->managed_pages++)
            z->start_pfn = pfn;
        z->end_pfn = pfn + 1;
    }
    uint32_t pfn = start;
    while (pfn < end) {
        unsigned order = MAX_ORDER;
        while (order && ((pfn & ((1u << order) - 1)) || pfn + (1u << order) > end))
            order--;
        boot_free_block(pfn, order);
        pfn += 1u << order;
    }
}

static void print_layout(uint32_t map_pfn, uint32_t map_frames)
{
    kprintf("buddy: mem_map %p-%p: %u struct pages, %u KiB\n", (void *)(map_pfn << PAGE_SHIFT),
            (void *)((map_pfn + map_frames) << PAGE_SHIFT), mem_map_pages,
            map_frames * (PAGE_SIZE / 1024));
    for (unsigned i = 0; i < nranges; i++)
        kprintf("buddy: managed %p-%p: %u frames\n", (void *)(ranges[i].start << PAGE_SHIFT),
                (void *)(ranges[i].end << PAGE_SHIFT), ranges[i].end - ranges[i].start);
    for (unsigned z = 0; z < NR_ZONES; z++)
        kprintf("buddy: zone %-7s %u frames (%u KiB) in pfn %x-%x\n", zones[z].name,
                zones[z].managed_pages, zones[z].managed_pages * (PAGE_SIZE / 1024),
                zones[z].start_pfn, zones[z].end_pfn);
}

int buddy_init(uint32_t total_memory)
{
    if (total_memory < PAGE_SIZE)
        return -EINVAL;
    if (bs.ready && buddy_free_pages_total() != zones[0].managed_pages + zones[1].managed_pages +
                                                 zones[2].managed_pages)
        return -EBUSY;

    uint64_t limit = total_memory & ~(PAGE_SIZE - 1);
    if (limit > physmem_top())
        limit = physmem_top();
    uint32_t ram_top_pfn = (uint32_t)(limit >> PAGE_SHIFT);
    ranges_from_memory_map(limit);
    range_cut(0, 1);                                            /* page 0: NULL */
    range_cut((uint32_t)__kernel_start >> PAGE_SHIFT,
              ((uint32_t)__kernel_end + PAGE_SIZE - 1) >> PAGE_SHIFT);
    range_cut(HEAP_START >> PAGE_SHIFT, STACK_REGION_END >> PAGE_SHIFT);

    /* mem_map reaches the last managed frame, rounded up to whole
     * MAX_ORDER blocks: with 32 MiB the heap ends RAM, and frames that
     * only the heap can use need no struct page. */
    uint32_t top_pfn = 0;
    for (unsigned i = 0; i < nranges; i++)
        if (ranges[i].end > top_pfn)
            top_pfn = ranges[i].end;
    uint32_t pages = (top_pfn + MAX_ORDER_PAGES - 1) & ~(MAX_ORDER_PAGES - 1);
    uint32_t map_frames = (pages * sizeof(struct page) + PAGE_SIZE - 1) >> PAGE_SHIFT;
    uint32_t map_pfn = nranges ? carve_mem_map(map_frames) : 0;
    if (!map_pfn) {
        /* Nothing has changed yet: an allocator built before stays. */
        kprintf("buddy_init: no stretch of RAM below 896 MiB holds %u KiB of struct page\n",
                map_frames * (PAGE_SIZE / 1024));
        return -ENOMEM;
    }
    range_cut(map_pfn, map_pfn + map_frames);

    mem_map = (struct page *)(map_pfn << PAGE_SHIFT);
    mem_map_pages = pages;
    for (uint32_t pfn = 0; pfn < pages; pfn++) {
        struct page *p = &mem_map[pfn];
        uint32_t phys = pfn << PAGE_SHIFT;
        p->lru.next = p->lru.prev = 0;
        p->flags = PG_reserved | (zone_of_pfn(pfn) << PG_ZONE_SHIFT);
        p->refcount = 0;
        p->phys = phys;
        p->virt = (pfn && pfn < ram_top_pfn) ? phys : 0;
        p->order = 0;
        p->busy = 0;
        p->slab = 0;
    }
    for (unsigned z = 0; z < NR_ZONES; z++)
        zone_reset(&zones[z]);
    for (unsigned i = 0; i < nranges; i++)
        boot_free_range(ranges[i].start, ranges[i].end);

    bs.total_memory = (uint32_t)limit;
    bs.allocs = bs.frees = bs.failed_allocs = bs.bad_frees = 0;
    bs.ready = 1;
    print_layout(map_pfn, map_frames);
    return 0;
}

/* ---- allocation --------------------------------------------------------- */

/* *p as it is in memory now: a fresh load, not a value the compiler kept
 * (so that an update of *p after it is one instruction on memory). */
static inline uint32_t read_once(const uint32_t *p)
{
    return *(const volatile uint32_t *)p;
}

/* Set bit i of *w in memory, without reading it into a register. */
static inline void bit_set(uint32_t *w, unsigned i)
{
    __asm__("btsl %1, %0" : "+m"(*w) : "Ir"(i) : "cc");
}

/* *w |= mask and *w &= ~mask in one instruction each, whatever the
 * compiler holds of *w (it would keep a loaded word in a register, where
 * the merges need every register they can get). */
static inline void mask_set(uint32_t *w, uint32_t mask)
{
    __asm__("orl %1, %0" : "+m"(*w) : "ir"(mask) : "cc");
}

static inline void mask_clear(uint32_t *w, uint32_t mask)
{
    __asm__("andl %1, %0" : "+m"(*w) : "ir"(~mask) : "cc");
}

/* A head's order and busy count in one load: a block being freed needs
 * order to match and busy to be 0; a free head has busy 0. */
static inline uint32_t order_busy(const struct page *p)
{
    _Static_assert(offsetof(struct page, busy) == offsetof(struct page, order) + 2,
                   "order and busy share a 32-bit word, order in its low half");
    uint32_t v;
    __builtin_memcpy(&v, (const char *)p + offsetof(struct page, order), sizeof(v));
    return v;
}

/* Make p the head of a free block of this order: order, and busy 0, in
 * one store. */
static inline void set_free_order(struct page *p, uint32_t order)
{
    __builtin_memcpy((char *)p + offsetof(struct page, order), &order, sizeof(order));
}

/* One order of a split (for split_block below): the upper half at order k
 * goes on its list, empty until now. */
#define SPLIT_HALF(k)                                                        \
    case (k) + 1: {                                                          \
        struct page *half = p + (1u << (k));                                 \
        struct list_head *h = &z->free_area[k].list;                         \
        half->flags |= PG_free;                                              \
        set_free_order(half, k);                                             \
        half->lru.next = half->lru.prev = h;                                 \
        h->next = h->prev = &half->lru;                                      \
        if (order == (k))                                                    \
            break;                                                           \
    }                                                                        \
    __attribute__((fallthrough));

/* Split the block at p of order found (found > order) down to order. The
 * orders are unrolled, each with its constant offsets from p and z: a
 * loop would spend a third as much again on its counters. */
static inline __attribute__((always_inline)) void split_block(struct zone *z, struct page *p,
                                                              unsigned order, unsigned found)
{
    _Static_assert(MAX_ORDER == 10, "split_block has one case per order");
    switch (found) {
    SPLIT_HALF(9) SPLIT_HALF(8) SPLIT_HALF(7) SPLIT_HALF(6) SPLIT_HALF(5)
    SPLIT_HALF(4) SPLIT_HALF(3) SPLIT_HALF(2) SPLIT_HALF(1) SPLIT_HALF(0)
    default:
        break;
    }
}

/* Take the first block of order `found` (the smallest non-empty order >=
 * order in z) and split it down to order. The halves given back go to
 * lists that are empty, by the choice of found, so the nonempty bits of
 * orders order..found-1 go from 0 to 1 together: with bit `found` set and
 * the bits below it clear, subtracting 1 << order sets them and clears bit
 * found, which is set again if its list is not empty now. */
static inline __attribute__((always_inline)) struct page *take_block(struct zone *z, unsigned order,
                                                                     unsigned found)
{
    uint32_t frames = 1u << order;
    z->free_pages -= frames;
    z->nonempty -= frames;
    struct page *p = list_entry(z->free_area[found].list.next, struct page, lru);
    struct list_head *next = p->lru.next, *prev = p->lru.prev;
    prev->next = next;
    next->prev = prev;
    if (next != prev)                   /* p was not alone on its list */
        bit_set(&z->nonempty, found);
    if (found > MAX_ORDER)
        __builtin_unreachable();        /* nonempty has bits 0..MAX_ORDER only */
    if (found != order)
        split_block(z, p, order, found);
    p->flags ^= PG_free | PG_head;
    p->order = (uint16_t)order;
    return p;
}

/* A block of this order from z, or NULL if z has none that large. */
static inline __attribute__((always_inline)) struct page *zone_alloc(struct zone *z, unsigned order)
{
    uint32_t fit = read_once(&z->nonempty) >> order;
    return fit ? take_block(z, order, order + __builtin_ctz(fit)) : 0;
}

/* The allocation every entry point shares, inlined into each, one copy per
 * zone of the list: with buddy_alloc's constant gfp every address in them
 * is a constant. Invalid gfp values name no_zone, which has no block, so
 * they fail like an exhausted zone list (counted). */
static inline __attribute__((always_inline)) struct page *alloc_block(unsigned order, unsigned gfp)
{
    if (order > MAX_ORDER || gfp > GFP_MASK) {
        bs.failed_allocs++;
        return 0;
    }
    struct zone *const *zl = zonelists[gfp];
    uint32_t irq = irq_save();
    struct page *p = zone_alloc(zl[0], order);
    if (!p && zl[1]) {
        p = zone_alloc(zl[1], order);
        if (!p && zl[2])
            p = zone_alloc(zl[2], order);
    }
    if (p)
        bs.allocs++;
    else
        bs.failed_allocs++;
    irq_restore(irq);
    return p;
}

HOT struct page *buddy_alloc_pages(unsigned order, unsigned gfp)
{
    return alloc_block(order, gfp);
}

HOT uint32_t buddy_alloc_zone(unsigned order, unsigned gfp)
{
    struct page *p = alloc_block(order, gfp);
    return p ? p->phys : 0;
}

HOT uint32_t buddy_alloc(unsigned order)
{
    struct page *p = alloc_block(order, GFP_KERNEL);
    return p ? p->phys : 0;
}

/* ---- freeing ------------------------------------------------------------ */

/* One order of a merge (for merge_block below): if p's buddy of order k is
 * a whole free block, take it off its list and go on with the block of
 * order k + 1 that holds both; else p stays a block of order k. */
#define MERGE_BUDDY(k)                                                       \
    case (k): {                                                              \
        struct page *buddy = (struct page *)((uintptr_t)p ^ (sizeof(struct page) << (k))); \
        if (!(buddy->flags & PG_free) || order_busy(buddy) != (k)) {         \
            order = (k);                                                     \
            break;                                                           \
        }                                                                    \
        struct list_head *next = buddy->lru.next, *prev = buddy->lru.prev;  \
        next->prev = prev;                                                   \
        prev->next = next;                                                   \
        if (__builtin_expect(next == prev, 1))   /* buddy was alone on its list */ \
            mask_clear(nonempty, 1u << (k));                                 \
        mask_clear(&buddy->flags, PG_free);                                  \
        p = (struct page *)((uintptr_t)p & (uintptr_t)buddy);                \
    }                                                                        \
    __attribute__((fallthrough));

/* Give the allocated block at p (checked, busy 0) back, merging it with its
 * buddy for as long as the buddy is free and whole. Unrolled by order like
 * split_block: every offset and bit is a constant. */
static inline __attribute__((always_inline)) void merge_block(struct page *p, unsigned order)
{
    _Static_assert(MAX_ORDER == 10, "merge_block has one case per order");
    struct zone *z = zone_of[page_zone(p)];
    uint32_t *nonempty = &z->nonempty;
    z->free_pages += 1u << order;
    mask_clear(&p->flags, PG_head);
    switch (order) {
    MERGE_BUDDY(0) MERGE_BUDDY(1) MERGE_BUDDY(2) MERGE_BUDDY(3) MERGE_BUDDY(4)
    MERGE_BUDDY(5) MERGE_BUDDY(6) MERGE_BUDDY(7) MERGE_BUDDY(8) MERGE_BUDDY(9)
    default:
        order = MAX_ORDER;
        break;
    }
    mask_set(&p->flags, PG_free);
    set_free_order(p, order);
    list_add(&p->lru, &z->free_area[order].list);
    bit_set(&z->nonempty, order);
}

static __attribute__((cold, noinline)) int refuse(uint32_t addr, unsigned order, int err,
                                                  const char *why)
{
    bs.bad_frees++;
    kprintf("buddy_free: %p order %u: %s\n", (void *)addr, order, why);
    return err;
}

static __attribute__((cold, noinline)) int refuse_addr(uint32_t addr, unsigned order)
{
    if (order > MAX_ORDER)
        return refuse(addr, order, -EINVAL, "order above MAX_ORDER");
    if (addr & (PAGE_SIZE - 1))
        return refuse(addr, order, -EINVAL, "not page aligned");
    return refuse(addr, order, -EINVAL, "no RAM managed there");
}

/* Why the frame at p cannot be freed as a block of this order. */
static __attribute__((cold, noinline)) int refuse_page(struct page *p, unsigned order)
{
    uint32_t f = p->flags;
    if (page_to_pfn(p) & ((1u << order) - 1))
        return refuse(p->phys, order, -EINVAL, "not aligned to a block of that order");
    if (f & PG_reserved)
        return refuse(p->phys, order, -EINVAL, "reserved frame, never allocated");
    if (f & PG_slab)
        return refuse(p->phys, order, -EINVAL, "frame belongs to a slab cache");
    if (f & PG_head) {
        kprintf("buddy_free: %p order %u: block was allocated with order %u\n", (void *)p->phys,
                order, p->order);
        bs.bad_frees++;
        return -EINVAL;
    }
    if (page_is_free(p))
        return refuse(p->phys, order, -EINVAL, "already free");
    return refuse(p->phys, order, -EINVAL, "not the start of an allocated block");
}

/* A free that the fast path did not take: a busy block (frames to check
 * and clean first) or a refusal. Interrupts are off (irq from irq_save). */
static __attribute__((noinline)) int free_slow(struct page *p, unsigned order, uint32_t irq)
{
    if ((p->flags & (PG_head | PG_slab)) != PG_head || p->order != order) {
        irq_restore(irq);
        return refuse_page(p, order);
    }
    if (page_block_release(p, order)) {
        irq_restore(irq);
        return refuse(p->phys, order, -EBUSY, "a frame of the block is referenced or locked");
    }
    merge_block(p, order);
    bs.frees++;
    irq_restore(irq);
    return 0;
}

/* Check and free: the path buddy_free and buddy_free_pages share. The
 * checks that pass on every good free come first, in two compares (head
 * and not slab; order matches and busy is 0); the rest is out of line. */
static inline __attribute__((always_inline)) int free_block(struct page *p, unsigned order)
{
    uint32_t irq = irq_save();
    if ((p->flags & (PG_head | PG_slab)) != PG_head || order_busy(p) != order)
        return free_slow(p, order, irq);
    merge_block(p, order);
    bs.frees++;
    irq_restore(irq);
    return 0;
}

HOT int buddy_free_pages(struct page *p, unsigned order)
{
    if (order > MAX_ORDER)
        return refuse(p->phys, order, -EINVAL, "order above MAX_ORDER");
    return free_block(p, order);
}

HOT int buddy_free(uint32_t addr, unsigned order)
{
    uint32_t pfn = addr >> PAGE_SHIFT;
    if (order > MAX_ORDER || (addr & (PAGE_SIZE - 1)) || pfn >= mem_map_pages)
        return refuse_addr(addr, order);
    return free_block(pfn_to_page(pfn), order);
}

/* ---- statistics --------------------------------------------------------- */

static uint32_t list_length(const struct list_head *h)
{
    uint32_t n = 0;
    for (const struct list_head *e = h->next; e != h && n <= mem_map_pages; e = e->next)
        n++;
    return n;
}

uint32_t buddy_free_blocks(unsigned zone, unsigned order)
{
    if (zone >= NR_ZONES || order > MAX_ORDER || !bs.ready)
        return 0;
    uint32_t irq = irq_save();
    uint32_t n = list_length(&zones[zone].free_area[order].list);
    irq_restore(irq);
    return n;
}

uint32_t buddy_zone_managed(unsigned zone)
{
    return zone < NR_ZONES ? zones[zone].managed_pages : 0;
}

uint32_t buddy_zone_free(unsigned zone)
{
    return zone < NR_ZONES ? zones[zone].free_pages : 0;
}

const char *buddy_zone_name(unsigned zone)
{
    return zone < NR_ZONES ? zones[zone].name : "?";
}

uint32_t buddy_free_pages_total(void)
{
    return zones[ZONE_DMA].free_pages + zones[ZONE_NORMAL].free_pages + zones[ZONE_HIGHMEM].free_pages;
}

void buddy_stats(struct buddy_stats *st)
{
    memset(st, 0, sizeof(*st));
    for (unsigned z = 0; z < NR_ZONES; z++) {
        st->managed_pages[z] = zones[z].managed_pages;
        st->free_pages[z] = zones[z].free_pages;
        for (unsigned k = 0; k < NR_ORDERS; k++)
            st->free_blocks[z][k] = buddy_free_blocks(z, k);
    }
    st->allocs = bs.allocs;
    st->frees = bs.frees;
    st->failed_allocs = bs.failed_allocs;
    st->bad_frees = bs.bad_frees;
    st->mem_map_phys = (uint32_t)mem_map;
    st->mem_map_bytes = mem_map_pages * sizeof(struct page);
    st->total_memory = bs.total_memory;
}

/* ---- checker ------------------------------------------------------------ */

struct checker {
    buddy_report_fn report;
    unsigned violations;
};

static void violation(struct checker *c, const char *what, uint32_t addr)
{
    c->violations++;
    if (c->report)
        c->report(what, addr);
}

static int fresh_frame(const struct page *p)
{
    return p->refcount == 0 && !(p->flags & (PG_dirty | PG_locked | PG_slab | PG_head | PG_free)) &&
           p->virt == p->phys && p->busy == 0;
}

/* The free lists of one zone: membership, links, order, alignment, zone. */
static uint32_t check_lists(struct checker *c, unsigned zi)
{
    struct zone *z = &zones[zi];
    uint32_t free_frames = 0;
    for (unsigned k = 0; k < NR_ORDERS; k++) {
        struct list_head *h = &z->free_area[k].list;
        if (!list_empty(h) != !!(z->nonempty & (1u << k)))
            violation(c, "nonempty bit disagrees with the free list", k);
        uint32_t steps = 0;
        for (struct list_head *e = h->next; e != h; e = e->next) {
            if (++steps > mem_map_pages) {
                violation(c, "free list does not come back to its head (cycle)", k);
                break;
            }
            if (e->next->prev != e) {
                violation(c, "free list link broken: next->prev is not this entry", (uint32_t)e);
                break;
            }
            struct page *p = list_entry(e, struct page, lru);
            uint32_t pfn = (uint32_t)(p - mem_map);
            if (p < mem_map || pfn >= mem_map_pages) {
                violation(c, "free list entry outside mem_map", (uint32_t)e);
                break;
            }
            if (!(p->flags & PG_free))
                violation(c, "block on a free list without PG_free", p->phys);
            if (p->order != k)
                violation(c, "block on the free list of another order", p->phys);
            if (page_zone(p) != zi)
                violation(c, "block on the free list of another zone", p->phys);
            if (pfn & ((1u << k) - 1))
                violation(c, "free block not aligned to its size", p->phys);
            if (k < MAX_ORDER) {
                struct page *b = pfn_to_page(pfn ^ (1u << k));
                if ((b->flags & PG_free) && b->order == k)
                    violation(c, "free block and its free buddy were not merged", p->phys);
            }
            free_frames += 1u << k;
        }
    }
    if (free_frames != z->free_pages)
        violation(c, "zone free_pages differs from the frames on its free lists", zi);
    return free_frames;
}

/* Walk mem_map block by block: every managed frame in exactly one block,
 * free blocks fresh and not overlapping, heads where lists say. */
static void check_blocks(struct checker *c)
{
    uint32_t free_heads = 0, listed = 0, managed = 0;
    for (unsigned k = 0; k < NR_ORDERS; k++)
        for (unsigned z = 0; z < NR_ZONES; z++)
            listed += list_length(&zones[z].free_area[k].list);
    uint32_t pfn = 0;
    while (pfn < mem_map_pages) {
        struct page *p = pfn_to_page(pfn);
        if (p->flags & PG_reserved) {
            if (p->flags & (PG_free | PG_head | PG_slab))
                violation(c, "reserved frame marked free, allocated or slab", p->phys);
            pfn++;
            continue;
        }
        if (!(p->flags & (PG_free | PG_head))) {
            violation(c, "managed frame belongs to no block", p->phys);
            managed++;
            pfn++;
            continue;
        }
        unsigned k = p->order;
        if (k > MAX_ORDER || (pfn & ((1u << k) - 1)) || pfn + (1u << k) > mem_map_pages) {
            violation(c, "block order impossible at this frame", p->phys);
            managed++;
            pfn++;
            continue;
        }
        int is_free = (p->flags & PG_free) != 0;
        if (is_free) {
            free_heads++;
            if ((p->flags & (PG_head | PG_slab | PG_dirty | PG_locked)) || p->refcount ||
                p->virt != p->phys)
                violation(c, "free block head is not a fresh frame", p->phys);
        }
        for (uint32_t i = 1; i < (1u << k); i++) {
            struct page *t = p + i;
            if (t->flags & PG_reserved)
                violation(c, "block covers a reserved frame", t->phys);
            else if (t->flags & (PG_free | PG_head))
                violation(c, "block overlaps another block", t->phys);
            else if (is_free && !fresh_frame(t))
                violation(c, "frame in a free block is not fresh", t->phys);
            if (page_zone(t) != page_zone(p))
                violation(c, "block straddles two zones", t->phys);
        }
        managed += 1u << k;
        pfn += 1u << k;
    }
    if (free_heads != listed)
        violation(c, "free blocks in mem_map differ from the blocks on the free lists", free_heads);
    uint32_t zone_managed = zones[0].managed_pages + zones[1].managed_pages + zones[2].managed_pages;
    if (managed != zone_managed)
        violation(c, "managed frames in mem_map differ from the zones' count", managed);
}

unsigned buddy_check(buddy_report_fn report)
{
    struct checker c = { report, 0 };
    if (!bs.ready)
        return 0;
    uint32_t irq = irq_save();
    for (unsigned z = 0; z < NR_ZONES; z++)
        check_lists(&c, z);
    check_blocks(&c);
    irq_restore(irq);
    return c.violations;
}
