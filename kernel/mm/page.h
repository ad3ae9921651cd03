/* page.h — page frames: one struct page for every 4 KiB frame of physical
 * memory, mem_map (the array of them), and the operations on a frame (the
 * specification's PageFrame). Allocating frames is above this, in
 * buddy.h and page_alloc.h.
 *
 * The array of struct page (mem_map) is flat: mem_map[pfn] describes the
 * frame at pfn << PAGE_SHIFT, from pfn 0 up to the last frame the buddy
 * allocator manages, rounded up to a whole MAX_ORDER block. Frames below
 * that which it does not manage (page 0, the BIOS areas, the kernel image,
 * the heap and stack regions, mem_map itself, holes in the memory map) have
 * a struct page too, marked PG_reserved; frames above it have none (with
 * 32 MiB of RAM that is the heap's end of memory). buddy_init decides where
 * mem_map goes and hands it to page_map_init; the free lists, zones and gfp
 * flags live in buddy.h.
 */
#ifndef KOS_PAGE_H
#define KOS_PAGE_H

#include <stdint.h>
#include "../include/layout.h"
#include "../lib/list.h"

/* A physical address: PAE's are 36 bits wide (RAM above 4 GiB). */
typedef uint64_t phys_addr_t;
#define PHYS_ADDR_MAX  0xFFFFFFFFFull    /* 36 bits: 64 GiB */

/* Orders 0..MAX_ORDER: blocks of 4 KiB to 4 MiB. */
#define MAX_ORDER   10
#define NR_ORDERS   (MAX_ORDER + 1)
#define MAX_ORDER_PAGES (1u << MAX_ORDER)

/* Zones: where a frame lies decides which allocations may get it. */
#define ZONE_DMA      0   /* below 16 MiB: reachable by ISA DMA */
#define ZONE_NORMAL   1   /* below 896 MiB: permanently mapped (Linux's lowmem) */
#define ZONE_HIGHMEM  2   /* 896 MiB and up */
#define NR_ZONES      3
#define ZONE_DMA_END      0x01000000u
#define ZONE_NORMAL_END   0x38000000u

/* Zone boundaries are whole MAX_ORDER blocks, so no block straddles two
 * zones and a block's buddy is always in the block's own zone. */
/* The first frame past a zone (the zones are contiguous, in order, from
 * frame 0). */
static inline uint32_t zone_limit_pfn(unsigned zone)
{
    return zone == ZONE_DMA ? ZONE_DMA_END >> PAGE_SHIFT
         : zone == ZONE_NORMAL ? ZONE_NORMAL_END >> PAGE_SHIFT : UINT32_MAX;
}

_Static_assert(ZONE_DMA_END % (PAGE_SIZE << MAX_ORDER) == 0, "DMA end splits a block");
_Static_assert(ZONE_NORMAL_END % (PAGE_SIZE << MAX_ORDER) == 0, "NORMAL end splits a block");

/* struct page flags. The zone number sits in the top two bits. */
#define PG_reserved  0x0001u  /* not managed by the buddy allocator */
#define PG_free      0x0002u  /* head of a free block (Linux's PageBuddy) */
#define PG_head      0x0004u  /* head of an allocated block */
#define PG_slab      0x0008u  /* part of a slab (mm/slab/ owns it) */
#define PG_dirty     0x0010u  /* written since it was last cleaned */
#define PG_locked    0x0020u  /* pinned: cannot be freed until unlocked */
#define PG_written   0x0040u  /* dirtied since it was allocated; cleaning keeps it, freeing
                                 clears it: only a frame never written still holds what it
                                 was filled from (the page cache reclaims no other) */
#define PG_ZONE_SHIFT 30

/*
 * One frame. Which fields are valid depends on the state:
 *
 *   field     valid                       meaning
 *   lru       PG_free                     links the block into its zone's free list for
 *                                         its order (it is first so that a list entry and its
 *                                         page share an address); in a page-cache frame
 *                                         (mapping != NULL), the cache's reclaim lists
 *   slab_cache, slab_objects              in lru's place while PG_slab: the cache that owns
 *             PG_slab                     the slab and the address of its first object, so
 *                                         slab_free checks an address with one compare and
 *                                         no load from the slab; in any other frame the word
 *                                         is 0 or a list link, never a cache's address
 *   flags     always                      PG_* bits, zone << PG_ZONE_SHIFT
 *   refcount  allocated                   holders beyond the owner (page_get/page_put);
 *                                         0 when allocated, and a block is only freed at 0
 *   phys      always                      pfn << PAGE_SHIFT: 64 bits, since PAE reaches
 *                                         RAM above 4 GiB
 *   virt      always                      where the frame is mapped: phys (the kernel's
 *                                         identity map) for low memory, 0 for HighMem (no
 *                                         permanent mapping: kmap, highmem.h), unless
 *                                         page_map_virtual said otherwise; page 0 is never
 *                                         mapped
 *   order     PG_free, PG_head            the block's order
 *   busy      PG_head                     frames of the block whose state differs from a fresh
 *                                         frame (referenced, locked, dirty or remapped); a free
 *                                         with busy == 0 needs to look at no frame but the head
 *   slab      PG_slab                     the slab (mm/slab/) this frame belongs to
 *   mapping   page cache (allocated)      the inode (fs/inode.h) whose data the frame holds;
 *                                         NULL for every other frame
 *   index     mapping != NULL             the frame's page index in that file
 *
 * Frames inside a block that are not its head carry no PG_free/PG_head:
 * allocation and freeing touch heads only, which keeps them O(MAX_ORDER).
 */
struct page {
    union {
        struct list_head lru;
        struct {
            void *slab_cache;
            uint32_t slab_objects;
        };
    };
    uint32_t flags;
    int32_t refcount;
    phys_addr_t phys;
    uint32_t virt;
    uint16_t order;
    uint16_t busy;
    void *slab;
    void *mapping;
    uint32_t index;
};

_Static_assert(PAGE_SIZE == 4096, "pages are 4 KiB");

/* mem_map[0 .. mem_map_pages); set up by page_map_init, 0 before. */
extern struct page *mem_map;
extern uint32_t mem_map_pages;

/* Make map, pages struct pages long, mem_map: every frame reserved, in
 * its zone, at its home address (page_home_virt). The buddy allocator
 * then frees the frames it manages. */
void page_map_init(struct page *map, uint32_t pages);

static inline unsigned page_zone(const struct page *p) { return p->flags >> PG_ZONE_SHIFT; }
static inline uint32_t page_to_pfn(const struct page *p) { return (uint32_t)(p - mem_map); }
static inline struct page *pfn_to_page(uint32_t pfn) { return mem_map + pfn; }

/* Where a fresh frame is mapped: at its own address in the identity map
 * (low memory), nowhere for HighMem and page 0. */
static inline uint32_t page_home_virt(const struct page *p)
{
    return p->phys && p->phys < ZONE_NORMAL_END ? (uint32_t)p->phys : 0;
}

/* The kernel address of a low-memory frame (GFP_KERNEL: page tables, slabs,
 * kernel objects): its identity address. HighMem frames have none; their
 * bytes are reached through kmap (highmem.h). */
static inline void *page_address(const struct page *p)
{
    return (void *)page_home_virt(p);
}

/* The struct page of the frame holding phys, or NULL if no RAM is there
 * (beyond the top of RAM, a hole in the memory map, before buddy_init). */
struct page *page_lookup(phys_addr_t phys);

/* The head of the allocated block that contains p, or NULL if p is free,
 * reserved or belongs to a slab. O(MAX_ORDER). */
struct page *page_block_head(struct page *p);

/* Is p part of a free block? O(MAX_ORDER). */
int page_is_free(struct page *p);

/*
 * The specification's PageFrame operations. They work on allocated frames
 * only (any frame of a block from alloc_pages or buddy_alloc): each returns
 * 0, or -EACCES for a reserved or slab frame, -EINVAL for a free frame or
 * the reason given below. Nothing changes when an operation fails.
 */
int page_get(struct page *p);                    /* refcount + 1 */
int page_put(struct page *p);                    /* refcount - 1; -EINVAL at 0 */
int page_is_dirty(const struct page *p);         /* 1 or 0 (any frame) */
int page_set_dirty(struct page *p);
int page_clear_dirty(struct page *p);
int page_is_locked(const struct page *p);        /* 1 or 0 (any frame) */
int page_lock(struct page *p);                   /* -EBUSY if already locked */
int page_unlock(struct page *p);                 /* -EINVAL if not locked */
/* Record that the frame is mapped at virtual address va (page aligned, not
 * 0: else -EFAULT). Only the record: the identity map is not changed. */
int page_map_virtual(struct page *p, uint32_t va);
int page_unmap_virtual(struct page *p);          /* virt = 0; -EINVAL if unmapped */
/* Why the last refused operation above was refused, in words ("the
 * reference count is 0", ...); "" before any refusal. */
const char *page_change_why(void);

/*
 * The reference count of a frame the caller already holds and knows to be
 * a whole order-0 block (a user frame that a page table maps: the VM
 * allocates those one at a time), without page_get's search for the block
 * and its checks. The frame is its own head, so its busy is 1 exactly when
 * its state differs from a fresh frame's: always while it is referenced.
 * Anything else (a frame of a larger block) takes the checked path.
 */
static inline int page_is_single(const struct page *p)
{
    return (p->flags & (PG_head | PG_reserved | PG_slab)) == PG_head && p->order == 0;
}

static inline void page_ref_inc(struct page *p)
{
    if (!page_is_single(p)) {
        page_get(p);
        return;
    }
    p->refcount++;
    p->busy = 1;
}

/* Drop a holder of a held frame (its refcount is above 0). */
static inline void page_ref_dec(struct page *p)
{
    if (!page_is_single(p)) {
        page_put(p);
        return;
    }
    if (--p->refcount == 0)
        p->busy = (p->flags & (PG_dirty | PG_written | PG_locked)) || p->virt != page_home_virt(p);
}

/* Field readers, for the shell and for direct calls from Python. */
phys_addr_t page_phys(const struct page *p);
uint32_t page_virt(const struct page *p);
int32_t page_ref_count(const struct page *p);
uint32_t page_flags(const struct page *p);

/* Frames whose state was changed in a block being freed: check them all
 * and, if none is referenced or locked, make them fresh. Returns 0 or
 * -EBUSY. Called by buddy.c when head->busy != 0 (buddy.c is above page.c:
 * this file calls nothing of it). */
int page_block_release(struct page *head, unsigned order);

/* Names of the set flags, e.g. "head dirty", into buf. */
void page_flag_names(uint32_t flags, char *buf, unsigned size);

#endif
