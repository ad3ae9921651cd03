/* page_alloc.c — alloc_pages and friends over the buddy allocator: the
 * frame-level checks (reserved and slab frames are not the buddy
 * allocator's to take back), the specification's names, and the shrinkers
 * an allocation asks for frames before it fails. */
#include <stdint.h>
#include "page_alloc.h"
#include "../include/errno.h"
#include "../lib/string.h"

static struct shrinker *shrinkers;

void register_shrinker(struct shrinker *s)
{
    s->next = shrinkers;
    shrinkers = s;
}

/* Ask the shrinkers for want frames that gfp may use: how many they freed. */
static uint32_t shrink(uint32_t want, unsigned gfp)
{
    uint32_t freed = 0;
    for (struct shrinker *s = shrinkers; s && freed < want; s = s->next)
        freed += s->scan(want - freed, gfp);
    return freed;
}

struct page *alloc_pages(unsigned gfp, unsigned order)
{
    struct page *p = buddy_try_pages(order, gfp);
    if (p)
        return p;
    /* Freed frames need not be contiguous: one retry says whether they
     * were enough. A request that can never succeed frees nothing. The
     * last try counts the request's failure, once. */
    if (order <= MAX_ORDER && buddy_gfp_valid(gfp))
        shrink(1u << order, gfp);
    return buddy_alloc_pages(order, gfp);
}

struct page *alloc_page(unsigned gfp)
{
    return alloc_pages(gfp, 0);
}

int free_pages(struct page *p, unsigned order)
{
    if (!p)
        return -EINVAL;
    if (p->flags & (PG_reserved | PG_slab)) {
        /* No reserved frame is a block head and buddy_free_pages refuses
         * slab frames: it counts the refusal (bad_frees) and changes
         * nothing; the code the caller gets says why, EACCES. */
        buddy_free_pages(p, order);
        return -EACCES;
    }
    return buddy_free_pages(p, order);
}

int free_page(struct page *p)
{
    return free_pages(p, 0);
}

uint32_t get_free_pages(void)
{
    return buddy_free_pages_total();
}

struct page *alloc_table_page(void)
{
    struct page *p = alloc_page(GFP_KERNEL);
    if (p)
        memset(page_address(p), 0, PAGE_SIZE);
    return p;
}
