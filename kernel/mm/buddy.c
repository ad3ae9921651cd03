/* buddy.c — the buddy allocator: free blocks of 2^order frames per zone,
 * split on allocation and merged with their buddy on free. Also the boot
 * step that decides which frames exist and where mem_map goes. Its checker
 * is buddy_check.c.
 *
 * Below it: page.c (mem_map, single frames). Above it: page_alloc.c (the
 * alloc_pages API), the slab caches (slab/). Nothing here prints: refusals
 * are counted and returned, and buddy_free_reason puts them in words for
 * the caller.
 *
 * The buddy of a block: a block of order k starts at a pfn aligned to 2^k,
 * and its buddy is the other half of the block of order k + 1 containing it:
 *
 *     buddy_pfn = pfn ^ (1 << order)
 *
 * e.g. pfn 0x2a4 at order 2 has buddy 0x2a0 (0x2a4 ^ 0x4 = 0x2a0), and
 * pfn 0x2a0 has buddy 0x2a4; together they make the order-3 block at
 * 0x2a0 (pfn & buddy_pfn, i.e. pfn with bit `order` cleared). That block's
 * buddy is 0x2a0 ^ 0x8 = 0x2a8. mem_map holds a whole number of MAX_ORDER
 * blocks, so a buddy below MAX_ORDER always has a struct page; zone
 * boundaries are whole MAX_ORDER blocks (page.h), so it is in the same zone.
 *
 * Allocation (zone_alloc): take the first block of the smallest non-empty
 * order >= the one asked (the nonempty bitmap gives it in one ffs), then
 * split: halve it, put the upper half on the free list one order down,
 * until it is the size asked. Freeing (merge_block): while the buddy is a
 * free block of the same order, take it off its list and go on with the
 * pair one order up; then put the result on its list. Both loops run at
 * most MAX_ORDER times, and no step depends on how long a list is.
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
#include <stddef.h>
#include <stdint.h>
#include "buddy.h"
#include "page.h"
#include "physmem.h"
#include "../arch/cpu.h"
#include "../include/errno.h"
#include "../include/layout.h"
#include "../lib/bitops.h"
#include "../lib/kprintf.h"
#include "../lib/list.h"
#include "../lib/string.h"

#define MAX_RANGES 48
/* mem_map starts on a page, so the struct pages of one MAX_ORDER block fill
 * whole pages of it (1024 of them: 36 KiB, nine pages). */
_Static_assert((sizeof(struct page) << MAX_ORDER) % PAGE_SIZE == 0,
               "a MAX_ORDER block's struct pages fill whole pages");
#define PFN_NORMAL_END  (ZONE_NORMAL_END >> PAGE_SHIFT)

struct zone buddy_zones[NR_ZONES] = {
    [ZONE_DMA] = { .name = "DMA" },
    [ZONE_NORMAL] = { .name = "Normal" },
    [ZONE_HIGHMEM] = { .name = "HighMem" },
};

/* The buddy_zones each gfp value may use, best first, NULL-terminated. The two
 * values with GFP_DMA | GFP_HIGHMEM have an empty list: they always fail. */
static struct zone *const zonelists[GFP_MASK + 1][NR_ZONES + 1] = {
    [GFP_KERNEL] = { &buddy_zones[ZONE_NORMAL], &buddy_zones[ZONE_DMA] },
    [GFP_DMA] = { &buddy_zones[ZONE_DMA] },
    [GFP_HIGHMEM] = { &buddy_zones[ZONE_HIGHMEM], &buddy_zones[ZONE_NORMAL], &buddy_zones[ZONE_DMA] },
    [GFP_THISZONE | GFP_KERNEL] = { &buddy_zones[ZONE_NORMAL] },
    [GFP_THISZONE | GFP_DMA] = { &buddy_zones[ZONE_DMA] },
    [GFP_THISZONE | GFP_HIGHMEM] = { &buddy_zones[ZONE_HIGHMEM] },
};

static struct {
    uint32_t allocs, frees, failed_allocs, bad_frees;
    uint64_t total_memory;
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

/* A stretch beyond MAX_RANGES is left unmanaged (no firmware memory map
 * seen has come near; buddy_managed_range shows what was kept). */
static void range_add(uint32_t start, uint32_t end)
{
    if (start >= end || nranges == MAX_RANGES)
        return;
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

/* Where mem_map goes: at the start of the largest range that can hold it
 * below ZONE_NORMAL_END (struct pages must stay in permanently
 * mapped memory). Returns the pfn, or 0 if nothing fits (pfn 0 never does:
 * page 0 is not managed). */
static uint32_t carve_mem_map(uint32_t frames)
{
    uint32_t best = 0, best_len = 0;
    for (unsigned i = 0; i < nranges; i++) {
        uint32_t start = ranges[i].start;
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
 * ranges are split into the largest aligned blocks already). At the head,
 * as a free does: the ranges go in ascending order, so the highest blocks
 * are handed out first (as in Linux after boot), and GFP_HIGHMEM reaches
 * RAM above 4 GiB from its first allocation when there is some. */
static void boot_free_block(uint32_t pfn, unsigned order)
{
    struct page *p = pfn_to_page(pfn);
    struct zone *z = &buddy_zones[page_zone(p)];
    p->flags |= PG_free;
    p->order = (uint16_t)order;
    list_add(&p->lru, &z->free_area[order].list);
    z->nonempty |= 1u << order;
    z->free_pages += 1u << order;
}

static void boot_free_range(uint32_t start, uint32_t end)
{
    for (uint32_t pfn = start; pfn < end; pfn++)
        pfn_to_page(pfn)->flags &= ~PG_reserved;
    uint32_t zone_start = 0;                    /* each zone's part of the range */
    for (unsigned zone = 0; zone < NR_ZONES; zone++) {
        uint32_t zone_end = zone_limit_pfn(zone);
        uint32_t lo = start > zone_start ? start : zone_start;
        uint32_t hi = end < zone_end ? end : zone_end;
        zone_start = zone_end;
        if (lo >= hi)
            continue;
        struct zone *z = &buddy_zones[zone];
        if (!z->managed_pages)
            z->start_pfn = lo;
        z->managed_pages += hi - lo;
        z->end_pfn = hi;
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

int buddy_init(uint64_t total_memory)
{
    if (total_memory < PAGE_SIZE)
        return -EINVAL;
    if (bs.ready && buddy_free_pages_total() != buddy_zones[0].managed_pages + buddy_zones[1].managed_pages +
                                                 buddy_zones[2].managed_pages)
        return -EBUSY;

    uint64_t limit = total_memory & ~(uint64_t)(PAGE_SIZE - 1);
    if (limit > physmem_top())
        limit = physmem_top();
    ranges_from_memory_map(limit);
    range_cut(0, 1);                                            /* page 0: NULL */
    range_cut((uint32_t)__kernel_start >> PAGE_SHIFT,
              ((uint32_t)__kernel_end + PAGE_SIZE - 1) >> PAGE_SHIFT);
    range_cut(HEAP_START >> PAGE_SHIFT, STACK_REGION_END >> PAGE_SHIFT);

    /* mem_map reaches the last managed frame, rounded up to whole
     * MAX_ORDER blocks: with 32 MiB the heap ends RAM, and frames that
     * only the heap can use need no struct page. It is flat: with RAM
     * above 4 GiB the PCI hole below 4 GiB has struct pages too (reserved;
     * 9 MiB of them for QEMU's 1 GiB hole), and all of it lies in low
     * memory, since the kernel reads it without kmap. */
    uint32_t top_pfn = 0;
    for (unsigned i = 0; i < nranges; i++)
        if (ranges[i].end > top_pfn)
            top_pfn = ranges[i].end;
    uint32_t pages = (top_pfn + MAX_ORDER_PAGES - 1) & ~(MAX_ORDER_PAGES - 1);
    uint32_t map_frames = (pages * sizeof(struct page) + PAGE_SIZE - 1) >> PAGE_SHIFT;
    uint32_t map_pfn = nranges ? carve_mem_map(map_frames) : 0;
    if (!map_pfn)
        return -ENOMEM;     /* nothing has changed yet: an allocator built before stays */
    range_cut(map_pfn, map_pfn + map_frames);
    range_tidy();

    page_map_init((struct page *)(map_pfn << PAGE_SHIFT), pages);
    for (unsigned z = 0; z < NR_ZONES; z++)
        zone_reset(&buddy_zones[z]);
    for (unsigned i = 0; i < nranges; i++)
        boot_free_range(ranges[i].start, ranges[i].end);

    bs.total_memory = limit;
    bs.allocs = bs.frees = bs.failed_allocs = bs.bad_frees = 0;
    bs.ready = 1;
    return 0;
}

/* ---- the free lists ----------------------------------------------------- */

/* Make p the head of a free block of this order, on its list (its busy
 * count is 0 already: every frame of a block being freed is fresh). */
static void free_list_add(struct zone *z, struct page *p, unsigned order)
{
    p->flags |= PG_free;
    p->order = (uint16_t)order;
    list_add(&p->lru, &z->free_area[order].list);
    z->nonempty |= 1u << order;
}

/* Take the free block at p off its list: it is no block head any more. */
static void free_list_del(struct zone *z, struct page *p, unsigned order)
{
    list_del(&p->lru);
    if (list_empty(&z->free_area[order].list))
        z->nonempty &= ~(1u << order);
    p->flags &= ~PG_free;
}

/* ---- allocation --------------------------------------------------------- */

/* A block of this order from z, or NULL if z has none that large. */
static struct page *zone_alloc(struct zone *z, unsigned order)
{
    uint32_t larger = z->nonempty >> order;     /* bit i: a free block of order + i */
    if (!larger)
        return 0;
    unsigned k = order + ffs32(larger);
    struct page *p = list_entry(z->free_area[k].list.next, struct page, lru);
    free_list_del(z, p, k);
    while (k > order) {                         /* split: keep the lower half */
        k--;
        free_list_add(z, p + (1u << k), k);
    }
    p->flags |= PG_head;
    p->order = (uint16_t)order;
    z->free_pages -= 1u << order;
    return p;
}

int buddy_gfp_valid(unsigned gfp)
{
    return gfp <= GFP_MASK && zonelists[gfp][0];
}

int buddy_gfp_allows(unsigned gfp, unsigned zone)
{
    if (gfp > GFP_MASK || zone >= NR_ZONES)
        return 0;
    for (struct zone *const *z = zonelists[gfp]; *z; z++)
        if (*z == &buddy_zones[zone])
            return 1;
    return 0;
}

struct page *buddy_try_pages(unsigned order, unsigned gfp)
{
    struct page *p = 0;
    if (order <= MAX_ORDER && gfp <= GFP_MASK) {
        uint32_t irq = irq_save();
        for (struct zone *const *z = zonelists[gfp]; *z && !p; z++)
            p = zone_alloc(*z, order);
        irq_restore(irq);
    }
    if (p)
        bs.allocs++;
    return p;
}

struct page *buddy_alloc_pages(unsigned order, unsigned gfp)
{
    struct page *p = buddy_try_pages(order, gfp);
    if (!p)
        bs.failed_allocs++;
    return p;
}

phys_addr_t buddy_alloc_zone(unsigned order, unsigned gfp)
{
    struct page *p = buddy_alloc_pages(order, gfp);
    return p ? p->phys : 0;
}

phys_addr_t buddy_alloc(unsigned order)
{
    struct page *p = buddy_alloc_pages(order, GFP_KERNEL);
    return p ? p->phys : 0;
}

/* ---- freeing ------------------------------------------------------------ */

/* Give the allocated block at p (checked, all frames fresh) back, merging
 * it with its buddy for as long as the buddy is a free block of its order. */
static void merge_block(struct page *p, unsigned order)
{
    struct zone *z = &buddy_zones[page_zone(p)];
    uint32_t pfn = page_to_pfn(p);
    z->free_pages += 1u << order;
    p->flags &= ~PG_head;
    while (order < MAX_ORDER) {
        uint32_t buddy_pfn = pfn ^ (1u << order);
        struct page *buddy = pfn_to_page(buddy_pfn);
        if (!(buddy->flags & PG_free) || buddy->order != order)
            break;
        free_list_del(z, buddy, order);
        pfn &= buddy_pfn;                       /* the lower of the two heads */
        order++;
    }
    free_list_add(z, pfn_to_page(pfn), order);
}

/* The head of an allocated block of exactly this order, not a slab's. */
static int freeable(const struct page *p, unsigned order)
{
    return (p->flags & (PG_head | PG_slab)) == PG_head && p->order == order;
}

int buddy_free_pages(struct page *p, unsigned order)
{
    int err = 0;
    uint32_t irq = irq_save();
    if (order > MAX_ORDER || !freeable(p, order))
        err = -EINVAL;
    else if (p->busy && page_block_release(p, order))
        err = -EBUSY;
    else
        merge_block(p, order);
    if (err)
        bs.bad_frees++;
    else
        bs.frees++;
    irq_restore(irq);
    return err;
}

int buddy_free(phys_addr_t addr, unsigned order)
{
    if (order > MAX_ORDER || (addr & (PAGE_SIZE - 1)) || (addr >> PAGE_SHIFT) >= mem_map_pages) {
        bs.bad_frees++;
        return -EINVAL;
    }
    return buddy_free_pages(pfn_to_page((uint32_t)(addr >> PAGE_SHIFT)), order);
}

const char *buddy_free_reason(phys_addr_t addr, unsigned order, char *buf, size_t size)
{
    uint32_t pfn = (uint32_t)(addr >> PAGE_SHIFT);
    const char *why = "not the start of an allocated block";
    if (order > MAX_ORDER)
        why = "order above MAX_ORDER";
    else if (addr & (PAGE_SIZE - 1))
        why = "not page aligned";
    else if ((addr >> PAGE_SHIFT) >= mem_map_pages)
        why = "no RAM managed there";
    else if (pfn & ((1u << order) - 1))
        why = "not aligned to a block of that order";
    else if (mem_map[pfn].flags & PG_reserved)
        why = "reserved frame, never allocated";
    else if (mem_map[pfn].flags & PG_slab)
        why = "frame belongs to a slab cache";
    else if ((mem_map[pfn].flags & PG_head) && mem_map[pfn].order != order) {
        ksnprintf(buf, size, "block was allocated with order %u", mem_map[pfn].order);
        return buf;
    } else if (mem_map[pfn].flags & PG_head)
        why = "a frame of the block is referenced or locked";
    else if (page_is_free(&mem_map[pfn]))
        why = "already free";
    ksnprintf(buf, size, "%s", why);
    return buf;
}

/* ---- statistics --------------------------------------------------------- */

uint32_t buddy_free_blocks(unsigned zone, unsigned order)
{
    if (zone >= NR_ZONES || order > MAX_ORDER || !bs.ready)
        return 0;
    uint32_t irq = irq_save();
    uint32_t n = list_count(&buddy_zones[zone].free_area[order].list, mem_map_pages);
    irq_restore(irq);
    return n;
}

uint32_t buddy_zone_managed(unsigned zone)
{
    return zone < NR_ZONES ? buddy_zones[zone].managed_pages : 0;
}

uint32_t buddy_zone_free(unsigned zone)
{
    return zone < NR_ZONES ? buddy_zones[zone].free_pages : 0;
}

const char *buddy_zone_name(unsigned zone)
{
    return zone < NR_ZONES ? buddy_zones[zone].name : "?";
}

int buddy_managed_range(unsigned i, uint32_t *start_pfn, uint32_t *end_pfn)
{
    if (!bs.ready || i >= nranges)
        return -EINVAL;
    *start_pfn = ranges[i].start;
    *end_pfn = ranges[i].end;
    return 0;
}

uint32_t buddy_free_pages_total(void)
{
    return buddy_zones[ZONE_DMA].free_pages + buddy_zones[ZONE_NORMAL].free_pages + buddy_zones[ZONE_HIGHMEM].free_pages;
}

void buddy_stats(struct buddy_stats *st)
{
    memset(st, 0, sizeof(*st));
    for (unsigned z = 0; z < NR_ZONES; z++) {
        st->managed_pages[z] = buddy_zones[z].managed_pages;
        st->free_pages[z] = buddy_zones[z].free_pages;
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

int buddy_ready(void)
{
    return bs.ready;
}
