/* buddy_check.c — the buddy allocator's integrity checker: every invariant
 * of the free lists and of mem_map, each violation counted and reported
 * (buddy_check in buddy.h). It only reads: buddy.c owns the state. */
#include <stdint.h>
#include "buddy.h"
#include "page.h"
#include "../arch/cpu.h"
#include "../lib/list.h"

struct checker {
    buddy_report_fn report;
    unsigned violations;
};

static void violation(struct checker *c, const char *what, phys_addr_t addr)
{
    c->violations++;
    if (c->report)
        c->report(what, addr);
}

static int fresh_frame(const struct page *p)
{
    return p->refcount == 0 &&
           !(p->flags & (PG_dirty | PG_written | PG_locked | PG_slab | PG_head | PG_free)) &&
           p->virt == page_home_virt(p) && p->busy == 0;
}

/* The free lists of one zone: membership, links, order, alignment, zone. */
static uint32_t check_lists(struct checker *c, unsigned zi)
{
    struct zone *z = &buddy_zones[zi];
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
            listed += list_count(&buddy_zones[z].free_area[k].list, mem_map_pages);
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
            if ((p->flags & (PG_head | PG_slab | PG_dirty | PG_written | PG_locked)) || p->refcount ||
                p->virt != page_home_virt(p))
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
                violation(c, "block straddles two buddy_zones", t->phys);
        }
        managed += 1u << k;
        pfn += 1u << k;
    }
    if (free_heads != listed)
        violation(c, "free blocks in mem_map differ from the blocks on the free lists", free_heads);
    uint32_t zone_managed = buddy_zones[0].managed_pages + buddy_zones[1].managed_pages + buddy_zones[2].managed_pages;
    if (managed != zone_managed)
        violation(c, "managed frames in mem_map differ from the buddy_zones' count", managed);
}

unsigned buddy_check(buddy_report_fn report)
{
    struct checker c = { report, 0 };
    if (!buddy_ready())
        return 0;
    uint32_t irq = irq_save();
    for (unsigned z = 0; z < NR_ZONES; z++)
        check_lists(&c, z);
    check_blocks(&c);
    irq_restore(irq);
    return c.violations;
}
