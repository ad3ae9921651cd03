/* page_alloc.c — alloc_pages and friends over the buddy allocator: the
 * frame-level checks (reserved and slab frames are not the buddy
 * allocator's to take back) and the specification's names. */
#include <stdint.h>
#include "page_alloc.h"
#include "../include/errno.h"
#include "../lib/string.h"

struct page *alloc_pages(unsigned gfp, unsigned order)
{
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
    if (p->flags & (PG_reserved | PG_slab))
        return -EACCES;
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
