/* buddy.h — the buddy allocator: blocks of 2^order page frames, orders 0 to
 * MAX_ORDER, in three zones, with Linux's zone preference and fallback.
 *
 * Free blocks sit on one doubly linked list per (zone, order), threaded
 * through their head's struct page; a bit per order says which lists are
 * non-empty. Allocation and freeing are O(MAX_ORDER). struct page and the
 * frame operations (page_get, ...) are in page.h, below; the
 * specification's page-allocation API (alloc_pages, ...) in page_alloc.h
 * and slab caches in slab/slab.h, above.
 *
 * Nothing here prints. A refused call returns its error and is counted;
 * buddy_free_reason says in words why, for the caller to report.
 */
#ifndef KOS_BUDDY_H
#define KOS_BUDDY_H

#include <stddef.h>
#include <stdint.h>
#include "page.h"

/* gfp flags: which zones an allocation may use, in which order.
 *
 *   GFP_KERNEL             NORMAL, then DMA
 *   GFP_DMA                DMA
 *   GFP_HIGHMEM            HIGHMEM, then NORMAL, then DMA
 *   | GFP_THISZONE         only the first zone of the list, no fallback
 *
 * GFP_DMA | GFP_HIGHMEM is invalid. */
#define GFP_KERNEL    0x0u
#define GFP_DMA       0x1u
#define GFP_HIGHMEM   0x2u
#define GFP_THISZONE  0x4u
#define GFP_MASK      0x7u

struct free_area {
    struct list_head list;        /* free blocks of this order: their heads' lru */
};

struct zone {
    const char *name;
    struct free_area free_area[NR_ORDERS];
    uint32_t nonempty;            /* bit k: free_area[k].list is not empty */
    uint32_t free_pages;          /* frames in free blocks */
    uint32_t managed_pages;       /* frames given to the allocator at init */
    uint32_t start_pfn, end_pfn;  /* span of the managed frames (end exclusive; 0, 0 if none) */
};

struct buddy_stats {
    uint32_t managed_pages[NR_ZONES];
    uint32_t free_pages[NR_ZONES];
    uint32_t free_blocks[NR_ZONES][NR_ORDERS];
    uint32_t allocs, frees;       /* successful block allocations and frees */
    uint32_t failed_allocs;       /* allocations answered with 0 */
    uint32_t bad_frees;           /* frees refused: wrong order or address, busy, reserved or slab frames */
    uint32_t mem_map_phys;        /* where struct page array lives (low memory) */
    uint32_t mem_map_bytes;
    uint64_t total_memory;        /* the limit buddy_init was given (clamped to RAM) */
};

/* Build mem_map and the free lists over the usable RAM below total_memory
 * (bytes of physical address space; what lies beyond the top of RAM is
 * ignored), leaving out page 0, the kernel image, the heap and stack
 * regions and mem_map itself. Returns 0, -EINVAL if total_memory is below
 * one page, -ENOMEM if there is no usable RAM below it or no stretch that can
 * hold mem_map, -EBUSY if called again while blocks are allocated (with
 * none allocated it starts afresh). A refused call changes nothing. */
int buddy_init(uint64_t total_memory);

/* Allocate 2^order contiguous frames with GFP_KERNEL. Returns the physical
 * address (aligned to the block size), or 0 if order > MAX_ORDER or no
 * block is free. */
phys_addr_t buddy_alloc(unsigned order);

/* Same with gfp flags; 0 also for invalid flags. With GFP_HIGHMEM the
 * address may lie above 4 GiB. */
phys_addr_t buddy_alloc_zone(unsigned order, unsigned gfp);

/* Free the block at addr allocated with this order. Returns 0, or -EINVAL
 * for an order above MAX_ORDER or an address that is not the start of a
 * block allocated at that order (free, a frame inside a block, reserved,
 * slab, unaligned, not RAM), -EBUSY if a frame of it is referenced or
 * locked. A refused free changes nothing and is counted (bad_frees). */
int buddy_free(phys_addr_t addr, unsigned order);

/* Block-level forms of the two above, for page_alloc.c. */
struct page *buddy_alloc_pages(unsigned order, unsigned gfp);
/* buddy_alloc_pages that counts only a success: for a caller that will
 * try again after a failure (alloc_pages, once its shrinkers have run),
 * so that one request that fails is counted once and one that succeeds
 * on the second try is not counted as a failure. */
struct page *buddy_try_pages(unsigned order, unsigned gfp);

/* Whether gfp names at least one zone (GFP_DMA | GFP_HIGHMEM, or bits
 * outside GFP_MASK, name none), and whether an allocation with gfp may take
 * a frame of zone (ZONE_*): what a shrinker frees for it is of use only in
 * those zones. Both read the zone lists buddy_alloc_pages walks. */
int buddy_gfp_valid(unsigned gfp);
int buddy_gfp_allows(unsigned gfp, unsigned zone);
int buddy_free_pages(struct page *page, unsigned order);

/* Why buddy_free(addr, order) was just refused, in words (e.g. "already
 * free", "block was allocated with order 2"), written to buf (size bytes)
 * and returned. Call it after the refusal: it reads the frames as they
 * are and changes nothing. */
const char *buddy_free_reason(phys_addr_t addr, unsigned order, char *buf, size_t size);

void buddy_stats(struct buddy_stats *st);

/* Free frames in all zones. */
uint32_t buddy_free_pages_total(void);

/* Stretch i of the frames buddy_init manages, [*start_pfn, *end_pfn), in
 * address order: 0, or -EINVAL past the last one. For the boot report. */
int buddy_managed_range(unsigned i, uint32_t *start_pfn, uint32_t *end_pfn);

/* Single statistics for callers that cannot read a structure (direct
 * calls): free blocks of one order in one zone, frames per zone. */
uint32_t buddy_free_blocks(unsigned zone, unsigned order);
uint32_t buddy_zone_managed(unsigned zone);
uint32_t buddy_zone_free(unsigned zone);

const char *buddy_zone_name(unsigned zone);

typedef void (*buddy_report_fn)(const char *what, phys_addr_t addr);

/* Check every invariant (see buddy.c); returns the number of violations,
 * calling report (if not NULL) for each. */
unsigned buddy_check(buddy_report_fn report);

/* The zones themselves and whether buddy_init has run: for the checker
 * (buddy_check.c) and debuggers, which read them; only buddy.c changes them. */
extern struct zone buddy_zones[NR_ZONES];
int buddy_ready(void);

#endif
