/* page_alloc.c — alloc_pages and friends over the buddy allocator: the
 * frame-level checks (reserved and slab frames are not the buddy
 * allocator's to take back), the specification's names, the shrinkers an
 * allocation asks for frames before it fails, and the pool of zeroed
 * frames page tables come from.
 *
 * The table pool: a page table or directory must be all zeros when it is
 * made, and clearing 4 KiB is most of what making one costs (fork makes
 * four for the smallest program). The pool keeps up to TABLE_POOL_PAGES
 * low-memory frames known to be zero: the idle loop clears frames into it
 * (table_pool_refill, as FreeBSD's idle page zeroing did), and a table that
 * goes away empty (munmap and exit clear every entry before they free it)
 * goes back into it without clearing. Its frames count as free
 * (get_free_pages), and a shrinker gives them back to buddy under pressure.
 */
#include <stdint.h>
#include "page_alloc.h"
#include "../arch/cpu.h"
#include "../include/errno.h"
#include "../lib/string.h"

static struct page *table_pool[TABLE_POOL_PAGES];
static uint32_t table_pool_count;

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
    struct page *p = buddy_alloc_pages(order, gfp);
    /* Freed frames need not be contiguous: one retry says whether they
     * were enough. A request that can never succeed frees nothing. */
    if (p || order > MAX_ORDER || !buddy_gfp_valid(gfp) || !shrink(1u << order, gfp))
        return p;
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
    return buddy_free_pages_total() + table_pool_count;
}

/* Take a zeroed frame off the pool, or NULL if it is empty. */
static struct page *table_pool_take(void)
{
    uint32_t irq = irq_save();
    struct page *p = table_pool_count ? table_pool[--table_pool_count] : 0;
    irq_restore(irq);
    return p;
}

/* Put the zeroed frame p in the pool: 1, or 0 when the pool is full. */
static int table_pool_put(struct page *p)
{
    uint32_t irq = irq_save();
    int room = table_pool_count < TABLE_POOL_PAGES;
    if (room)
        table_pool[table_pool_count++] = p;
    irq_restore(irq);
    return room;
}

struct page *alloc_table_page(void)
{
    struct page *p = table_pool_take();
    if (p)
        return p;
    p = alloc_page(GFP_KERNEL);
    if (p)
        memset(page_address(p), 0, PAGE_SIZE);
    return p;
}

void free_table_page(struct page *p)
{
    if (!table_pool_put(p))
        free_page(p);
}

uint32_t table_pool_refill(void)
{
    uint32_t made = 0;
    for (;;) {
        /* A frame is taken, cleared and pooled with interrupts off (a 4
         * KiB clear is short), so that it is always counted free, in buddy
         * or in the pool; interrupts come between frames. Straight from
         * buddy: the shrinkers would only give the pool's own frames back. */
        uint32_t irq = irq_save();
        struct page *p = table_pool_count < TABLE_POOL_PAGES ? buddy_alloc_pages(0, GFP_KERNEL) : 0;
        if (p) {
            memset(page_address(p), 0, PAGE_SIZE);
            table_pool[table_pool_count++] = p;
            made++;
        }
        irq_restore(irq);
        if (!p)
            return made;
    }
}

uint32_t table_pool_pages(void)
{
    return table_pool_count;
}

/* Under pressure the pool's frames of the zones gfp may use go back to
 * buddy. */
static uint32_t table_pool_scan(uint32_t want, unsigned gfp)
{
    uint32_t freed = 0;
    uint32_t irq = irq_save();
    for (uint32_t i = table_pool_count; i-- > 0 && freed < want;) {
        struct page *p = table_pool[i];
        if (!buddy_gfp_allows(gfp, page_zone(p)))
            continue;
        table_pool[i] = table_pool[--table_pool_count];
        free_page(p);
        freed++;
    }
    irq_restore(irq);
    return freed;
}

static struct shrinker table_pool_shrinker = { table_pool_scan, 0 };

void table_pool_init(void)
{
    register_shrinker(&table_pool_shrinker);
}
