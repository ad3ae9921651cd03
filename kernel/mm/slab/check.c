/* check.c — the slab caches' integrity checker: every invariant listed
 * at the top of cache.c, each violation counted and reported (slab_check in
 * slab.h). It only reads: cache.c owns the state (internal.h). */
#include <stdint.h>
#include "internal.h"
#include "../page.h"
#include "../../arch/cpu.h"
#include "../../lib/bitops.h"
#include "../../lib/list.h"

struct checker {
    slab_report_fn report;
    unsigned violations;
    const struct kmem_cache *cache;
};

static void violation(struct checker *k, const char *what, uint32_t addr)
{
    k->violations++;
    if (k->report)
        k->report(k->cache->name, what, addr);
}

/* One slab: its frames, its list, its freelist and map. Returns inuse. */
static uint32_t check_slab(struct checker *k, const struct kmem_cache *c, struct slab *s,
                           const struct list_head *list)
{
    uint32_t at = (uint32_t)s;
    uint32_t first = at + c->offset;
    if (s->cache != c)
        violation(k, "slab on the list of another cache", at);
    if ((at & ((PAGE_SIZE << c->order) - 1)) || (at >> PAGE_SHIFT) >= mem_map_pages) {
        violation(k, "slab not at a block of the cache's order in mem_map", at);
        return s->inuse;
    }
    struct page *pg = pfn_to_page(at >> PAGE_SHIFT);
    if (!(pg->flags & PG_head) || pg->order != c->order)
        violation(k, "slab is not an allocated buddy block of the cache's order", at);
    for (uint32_t i = 0; i < (1u << c->order); i++) {
        if (!(pg[i].flags & PG_slab) || pg[i].slab != s)
            violation(k, "slab frame not marked PG_slab or not pointing at its slab", (uint32_t)pg[i].phys);
        if (pg[i].slab_cache != c || pg[i].slab_objects != first)
            violation(k, "slab frame does not name its cache and first object", (uint32_t)pg[i].phys);
    }

    uint32_t n = c->objs_per_slab, inuse = s->inuse;
    if (inuse > n)
        violation(k, "slab inuse above objects per slab", at);
    else if ((list == &c->full) != (inuse == n) || (list == &c->empty) != (inuse == 0))
        violation(k, "slab on the wrong list for its inuse count", at);

    uint32_t mapped = 0;
    for (uint32_t w = 0; w < c->map_words; w++) {
        uint32_t word = s->map[w];
        if (w == c->map_words - 1 && (n & 31))
            if (word & ~((1u << (n & 31)) - 1))
                violation(k, "map bit set beyond the last object", at);
        mapped += popcount32(word);
    }
    if (mapped != inuse)
        violation(k, "map bits differ from inuse", at);

    uint32_t free_objs = 0;
    for (uint32_t obj = (uint32_t)s->freelist; obj; obj = *(uint32_t *)obj) {
        if (++free_objs > n - inuse) {
            violation(k, "freelist longer than the free objects (cycle or corrupt pointer)", obj);
            break;
        }
        uint32_t off = obj - first;
        if (obj < first || off / c->size >= n || off % c->size) {
            violation(k, "freelist points outside the slab's objects", obj);
            break;
        }
        if (map_test(s->map, off / c->size))
            violation(k, "allocated object on the freelist", obj);
    }
    if (free_objs < n - inuse && inuse <= n)
        violation(k, "freelist shorter than the free objects", at);
    return inuse;
}

static void check_cache(struct checker *k, const struct kmem_cache *c)
{
    const struct list_head *lists[3] = { &c->partial, &c->full, &c->empty };
    uint32_t active = 0, slabs = 0;
    for (int l = 0; l < 3; l++) {
        uint32_t steps = 0;
        for (struct list_head *e = lists[l]->next; e != lists[l]; e = e->next) {
            if (++steps > mem_map_pages || e->next->prev != e) {
                violation(k, "slab list broken (cycle or bad link)", (uint32_t)e);
                break;
            }
            active += check_slab(k, c, list_entry(e, struct slab, list), lists[l]);
            slabs++;
        }
    }
    if (list_count(&c->empty, mem_map_pages) > 1)
        violation(k, "more than one empty slab kept", 0);
    if (active > c->allocs)
        violation(k, "more objects allocated than allocations counted", active);
    if (slabs != c->nr_slabs)
        violation(k, "slab count differs from the slabs listed", slabs);
}

unsigned slab_check(slab_report_fn report)
{
    struct checker k = { report, 0, 0 };
    uint32_t irq = irq_save();
    for (int id = slab_next(0); id; id = slab_next(id)) {
        k.cache = cache_of(id);
        check_cache(&k, k.cache);
    }
    irq_restore(irq);
    return k.violations;
}
