/* page_alloc.h — the page-allocation API: blocks of 2^order frames as
 * struct pages, Linux's names and argument order (the specification's
 * PageFrameAllocator). Above the buddy allocator (buddy.h, whose gfp flags
 * these take), below the slab caches and the rest of the kernel.
 *
 * Every frame of a new block is fresh: refcount 0, clean, unlocked, mapped
 * at its physical address. Nothing here prints; errors are returned.
 *
 * Reclaim: a cache above mm (the page cache, fs/) whose frames can be
 * remade registers a shrinker; when no block is free, alloc_pages asks the
 * shrinkers for frames once, then tries again. mm knows nothing of what a
 * shrinker frees, so it includes nothing above it.
 */
#ifndef KOS_PAGE_ALLOC_H
#define KOS_PAGE_ALLOC_H

#include <stdint.h>
#include "buddy.h"
#include "page.h"

/* 2^order contiguous frames from the zones gfp allows (GFP_KERNEL: Normal,
 * then DMA). The head's struct page, or NULL if order > MAX_ORDER, gfp is
 * invalid, or no block is free even after the shrinkers freed what they
 * could. */
struct page *alloc_pages(unsigned gfp, unsigned order);
struct page *alloc_page(unsigned gfp);

/* Free the block whose head is p, allocated with this order. Returns 0,
 * -EINVAL for NULL or a p that is not the head of an allocated block of
 * that order, -EACCES for a reserved or slab frame, -EBUSY if a frame of
 * it is referenced or locked. Nothing changes on error; buddy_free_reason
 * (p->phys, order) says why. */
int free_pages(struct page *p, unsigned order);
int free_page(struct page *p);

/* One zeroed frame from low memory (GFP_KERNEL), for page tables: their
 * walkers reach them through the identity map. NULL if none is free. */
struct page *alloc_table_page(void);

/* A cache that can give frames back. scan frees up to want frames of the
 * zones an allocation with gfp may use (buddy_gfp_allows: a frame of
 * another zone would be dropped for nothing) and returns how many it
 * freed. It must not allocate. */
struct shrinker {
    uint32_t (*scan)(uint32_t want, unsigned gfp);
    struct shrinker *next;       /* the registered shrinkers (page_alloc.c's) */
};

/* Add s to the shrinkers alloc_pages asks, most recently registered first.
 * s must outlive the kernel (shrinkers are never unregistered). */
void register_shrinker(struct shrinker *s);

/* Free frames, all zones. */
uint32_t get_free_pages(void);

#endif
