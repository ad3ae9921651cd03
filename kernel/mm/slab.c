/* slab.c — object caches: a slab is one buddy block cut into objects of one
 * size; a cache is a set of slabs and three lists (partial, full, empty).
 *
 * The cache descriptors are a static table (SLAB_MAX_CACHES), so the slab
 * allocator needs nothing but the buddy allocator. kmalloc is heap.c's.
 *
 * A slab of order k (PAGE_SIZE << k bytes, the address of its first frame):
 *
 *   +0       struct slab: list links, cache, freelist, inuse, head frame
 *   +24      map: one bit per object, 1 = allocated (objs_per_slab bits,
 *            rounded up to 32-bit words)
 *   +offset  object 0     (offset: the end of map rounded up to the alignment)
 *   +offset+size   object 1
 *   ...      object objs_per_slab - 1, then unused tail bytes
 *
 * A free object's first word is the address of the next free object of its
 * slab (0 ends the list), its second word its own index in the slab (so
 * allocation sets its map bit without a division); the rest of a free
 * object is left as it was. Objects are therefore at least 8 bytes.
 *
 * Invariants (slab_check counts violations of each):
 *   - every frame of a slab is PG_slab and points at the slab, whose cache
 *     is the one whose list holds it;
 *   - a slab is on `full` iff inuse == objs_per_slab, on `empty` iff
 *     inuse == 0 (at most one such slab per cache), else on `partial`;
 *   - the freelist visits objects of its own slab only, each at a multiple
 *     of size from the first object, holding its index, with its map bit
 *     clear, and exactly objs_per_slab - inuse of them; the map has inuse
 *     bits set;
 *   - cache->active is the sum of inuse, cache->nr_slabs the slabs listed.
 */
#include <stdint.h>
#include "slab.h"
#include "buddy.h"
#include "page.h"
#include "../arch/cpu.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"
#include "../lib/list.h"
#include "../lib/string.h"

struct slab {
    struct list_head list;
    struct kmem_cache *cache;
    void *freelist;
    uint32_t inuse;
    struct page *page;
    uint32_t map[];
};

_Static_assert(sizeof(struct slab) == 24, "the slab header drawn above is 24 bytes");

/*
 * A cache. Valid while live. size, offset and objs_per_slab are fixed at
 * slab_create; the lists and counters change with every alloc and free.
 */
struct kmem_cache {
    struct list_head partial;   /* slabs with free and allocated objects; allocation takes the first */
    struct list_head full;      /* no free object */
    struct list_head empty;     /* no allocated object: at most one, kept for reuse */
    uint32_t size;              /* stride between objects */
    uint32_t offset;            /* first object from the slab start */
    uint32_t span;              /* objs_per_slab * size: bytes of objects */
    uint32_t objs_per_slab;
    uint32_t active;            /* allocated objects (allocations = active + frees) */
    uint32_t frees;
    uint32_t order;             /* a slab is 2^order frames */
    uint32_t nr_slabs;
    uint32_t map_words;
    uint32_t object_size, align;
    uint32_t bad_frees, failed_allocs;
    char name[SLAB_NAME_MAX];
};

static struct kmem_cache caches[SLAB_MAX_CACHES];
static struct kmem_cache *cache_table[SLAB_MAX_CACHES];   /* id - 1 -> cache, NULL if free */
static uint32_t bad_ids;   /* frees and destroys naming no cache */

static inline struct kmem_cache *cache_of(int id)
{
    return (unsigned)(id - 1) < SLAB_MAX_CACHES ? cache_table[id - 1] : 0;
}

/* Set bit i of a map (bts addresses the whole bit string, not one word). */
static inline void map_set(uint32_t *map, uint32_t i)
{
    __asm__("btsl %1, %0" : "+m"(*map) : "r"(i) : "memory", "cc");
}

/* ---- creating and destroying caches ------------------------------------- */

static uint32_t align_up(uint32_t x, uint32_t a)
{
    return (x + a - 1) & ~(a - 1);
}

/* How many objects of stride size fit a slab of this order, and where the
 * first one starts. */
static uint32_t objects_fitting(uint32_t order, uint32_t size, uint32_t align, uint32_t *offset)
{
    uint32_t bytes = PAGE_SIZE << order;
    uint32_t n = (bytes - sizeof(struct slab)) / size;
    for (; n > 0; n--) {
        uint32_t off = align_up(sizeof(struct slab) + 4 * ((n + 31) / 32), align);
        if (off + n * size <= bytes) {
            *offset = off;
            return n;
        }
    }
    return 0;
}

/* The smallest slab order that wastes at most 1/8 of the slab on anything
 * but objects, or failing that the order wasting the smallest share. Returns -1 if no order holds
 * even one object. */
static int choose_order(uint32_t size, uint32_t align)
{
    int best = -1;
    uint32_t best_waste = 0, best_bytes = 1;
    for (uint32_t order = 0; order <= SLAB_MAX_ORDER; order++) {
        uint32_t off, n = objects_fitting(order, size, align, &off);
        if (!n)
            continue;
        uint32_t bytes = PAGE_SIZE << order, waste = bytes - n * size;   /* header, padding, tail */
        if (waste * 8 <= bytes)
            return (int)order;
        if (best < 0 || (uint64_t)waste * best_bytes < (uint64_t)best_waste * bytes) {
            best = (int)order;
            best_waste = waste;
            best_bytes = bytes;
        }
    }
    return best;
}

int slab_create(const char *name, uint32_t object_size, uint32_t alignment)
{
    if (!name || !name[0] || object_size == 0 || object_size > SLAB_MAX_OBJECT)
        return -EINVAL;
    if (alignment == 0)
        alignment = SLAB_DEFAULT_ALIGN;
    if ((alignment & (alignment - 1)) || alignment > PAGE_SIZE)
        return -EINVAL;
    uint32_t align = alignment < SLAB_MIN_ALIGN ? SLAB_MIN_ALIGN : alignment;
    uint32_t size = align_up(object_size < SLAB_MIN_SIZE ? SLAB_MIN_SIZE : object_size, align);
    int order = choose_order(size, align);
    if (order < 0)
        return -EINVAL;

    uint32_t irq = irq_save();
    int id = 0;
    for (int i = 0; i < SLAB_MAX_CACHES && !id; i++)
        if (!cache_table[i])
            id = i + 1;
    if (!id) {
        irq_restore(irq);
        return -ENOMEM;
    }
    struct kmem_cache *c = &caches[id - 1];
    memset(c, 0, sizeof(*c));
    list_init(&c->partial);
    list_init(&c->full);
    list_init(&c->empty);
    c->size = size;
    c->order = (uint32_t)order;
    c->objs_per_slab = objects_fitting(c->order, size, align, &c->offset);
    c->span = c->objs_per_slab * size;
    c->map_words = (c->objs_per_slab + 31) / 32;
    c->object_size = object_size;
    c->align = alignment;
    unsigned n = 0;
    while (name[n] && n < SLAB_NAME_MAX - 1) {
        c->name[n] = name[n];
        n++;
    }
    c->name[n] = '\0';
    cache_table[id - 1] = c;
    irq_restore(irq);
    return id;
}

/* Give slab s (already off its list) back to the buddy allocator. */
static void slab_release(struct kmem_cache *c, struct slab *s)
{
    struct page *pg = s->page;
    for (uint32_t i = 0; i < (1u << c->order); i++) {
        pg[i].flags &= ~PG_slab;
        pg[i].slab = 0;
    }
    c->nr_slabs--;
    buddy_free_pages(pg, c->order);
}

static void release_all(struct kmem_cache *c, struct list_head *list)
{
    while (!list_empty(list)) {
        struct slab *s = list_entry(list->next, struct slab, list);
        list_del(&s->list);
        slab_release(c, s);
    }
}

int slab_destroy(int id)
{
    uint32_t irq = irq_save();
    struct kmem_cache *c = cache_of(id);
    int err = 0;
    if (!c) {
        bad_ids++;
        err = -EINVAL;
    } else if (c->active) {
        kprintf("slab_destroy: cache %d '%s': %u objects still allocated\n", id, c->name, c->active);
        err = -EBUSY;
    } else {
        release_all(c, &c->partial);
        release_all(c, &c->full);
        release_all(c, &c->empty);
        cache_table[id - 1] = 0;
    }
    irq_restore(irq);
    return err;
}

/* ---- allocation --------------------------------------------------------- */

/* A new slab for c from the buddy allocator, on the partial list; NULL if
 * there is no block. */
static struct slab *slab_new(struct kmem_cache *c)
{
    struct page *pg = buddy_alloc_pages(c->order, GFP_KERNEL);
    if (!pg)
        return 0;
    struct slab *s = (struct slab *)pg->phys;
    for (uint32_t i = 0; i < (1u << c->order); i++) {
        pg[i].flags |= PG_slab;
        pg[i].slab = s;
    }
    s->cache = c;
    s->inuse = 0;
    s->page = pg;
    memset(s->map, 0, c->map_words * 4);
    uint32_t *obj = (uint32_t *)((char *)s + c->offset);
    s->freelist = obj;
    for (uint32_t i = 0; i < c->objs_per_slab; i++) {
        uint32_t *next = (uint32_t *)((char *)obj + c->size);
        obj[0] = i + 1 < c->objs_per_slab ? (uint32_t)next : 0;
        obj[1] = i;
        obj = next;
    }
    list_add(&s->list, &c->partial);
    c->nr_slabs++;
    return s;
}

/* The partial list is empty: reuse the kept empty slab, or make one. */
static struct slab *refill(struct kmem_cache *c)
{
    if (!list_empty(&c->empty)) {
        struct slab *s = list_entry(c->empty.next, struct slab, list);
        list_del(&s->list);
        list_add(&s->list, &c->partial);
        return s;
    }
    return slab_new(c);
}

uint32_t slab_alloc(int id)
{
    struct kmem_cache *c = cache_of(id);
    if (!c)
        return 0;
    uint32_t irq = irq_save();
    struct slab *s = list_entry(c->partial.next, struct slab, list);
    if (&s->list == &c->partial && !(s = refill(c))) {
        c->failed_allocs++;
        irq_restore(irq);
        return 0;
    }
    uint32_t *obj = s->freelist;
    s->freelist = (void *)obj[0];
    map_set(s->map, obj[1]);
    s->inuse++;
    c->active++;
    if (!s->freelist) {
        list_del(&s->list);
        list_add(&s->list, &c->full);
    }
    irq_restore(irq);
    return (uint32_t)obj;
}

/* ---- freeing ------------------------------------------------------------ */

static __attribute__((cold)) int refuse(int id, struct kmem_cache *c, uint32_t addr, const char *why)
{
    if (c)
        c->bad_frees++;
    else
        bad_ids++;
    kprintf("slab_free: cache %d%s%s%s: %p: %s\n", id, c ? " '" : "", c ? c->name : "", c ? "'" : "",
            (void *)addr, why);
    return -EINVAL;
}

/* s just lost an object: it was full, or it is empty now. */
static void slab_moved(struct kmem_cache *c, struct slab *s)
{
    list_del(&s->list);
    if (s->inuse)
        list_add(&s->list, &c->partial);
    else if (list_empty(&c->empty))
        list_add(&s->list, &c->empty);
    else
        slab_release(c, s);
}

/* Why addr cannot be freed to cache id. */
static __attribute__((cold, noinline)) int refuse_free(int id, uint32_t addr)
{
    struct kmem_cache *c = cache_of(id);
    uint32_t pfn = addr >> PAGE_SHIFT;
    if (!c)
        return refuse(id, c, addr, "no such cache");
    if (pfn >= mem_map_pages || !(mem_map[pfn].flags & PG_slab))
        return refuse(id, c, addr, "not slab memory");
    struct slab *s = mem_map[pfn].slab;
    if (s->cache != c)
        return refuse(id, c, addr, "object of another cache");
    uint32_t off = addr - (uint32_t)s - c->offset;
    if (off >= c->span || off % c->size)
        return refuse(id, c, addr, "not the start of an object");
    return refuse(id, c, addr, "object already free");
}

int slab_free(int id, uint32_t addr)
{
    struct kmem_cache *c = cache_of(id);
    uint32_t pfn = addr >> PAGE_SHIFT;
    if (!c || pfn >= mem_map_pages)
        return refuse_free(id, addr);
    struct page *pg = pfn_to_page(pfn);
    struct slab *s = pg->slab;
    if (!(pg->flags & PG_slab) || s->cache != c)
        return refuse_free(id, addr);
    uint32_t off = addr - (uint32_t)s - c->offset;
    if (off >= c->span || off % c->size)
        return refuse_free(id, addr);
    uint32_t idx = off / c->size;
    uint32_t irq = irq_save();
    /* Clear the object's map bit; if it was clear the object is free already. */
    __asm__ goto("btrl %1, %0; jnc %l[already_free]" : : "m"(*s->map), "r"(idx) : "memory", "cc"
                 : already_free);
    uint32_t *obj = (uint32_t *)addr;
    int was_full = !s->freelist;
    obj[0] = (uint32_t)s->freelist;
    obj[1] = idx;
    s->freelist = obj;
    c->active--;
    c->frees++;
    if (--s->inuse == 0 || was_full)
        slab_moved(c, s);
    irq_restore(irq);
    return 0;
already_free:
    irq_restore(irq);
    return refuse_free(id, addr);
}

/* ---- statistics --------------------------------------------------------- */

static uint32_t list_count(const struct list_head *h)
{
    uint32_t n = 0;
    for (const struct list_head *e = h->next; e != h && n <= mem_map_pages; e = e->next)
        n++;
    return n;
}

int slab_info(int id, struct slab_info *info)
{
    struct kmem_cache *c = cache_of(id);
    if (!c)
        return -EINVAL;
    memset(info, 0, sizeof(*info));
    memcpy(info->name, c->name, SLAB_NAME_MAX);
    info->object_size = c->object_size;
    info->size = c->size;
    info->align = c->align;
    info->objs_per_slab = c->objs_per_slab;
    info->pages_per_slab = 1u << c->order;
    info->active_objs = c->active;
    info->total_objs = c->nr_slabs * c->objs_per_slab;
    info->slabs = c->nr_slabs;
    info->active_slabs = c->nr_slabs - list_count(&c->empty);
    info->pages = c->nr_slabs << c->order;
    info->allocs = c->active + c->frees;
    info->frees = c->frees;
    info->bad_frees = c->bad_frees;
    info->failed_allocs = c->failed_allocs;
    return 0;
}

int slab_next(int after)
{
    for (int id = after + 1; id <= SLAB_MAX_CACHES; id++)
        if (id > 0 && cache_table[id - 1])
            return id;
    return 0;
}

uint32_t slab_cached_bytes(void)
{
    uint32_t bytes = 0;
    for (int i = 0; i < SLAB_MAX_CACHES; i++)
        if (cache_table[i])
            bytes += list_count(&caches[i].empty) * (PAGE_SIZE << caches[i].order);
    return bytes;
}

/* ---- checker ------------------------------------------------------------ */

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

static uint32_t bits_set(uint32_t w)
{
    uint32_t n = 0;
    for (; w; w &= w - 1)
        n++;
    return n;
}

/* One slab: its frames, its list, its freelist and map. Returns inuse. */
static uint32_t check_slab(struct checker *k, const struct kmem_cache *c, struct slab *s,
                           const struct list_head *list)
{
    uint32_t at = (uint32_t)s;
    struct page *pg = s->page;
    if (s->cache != c)
        violation(k, "slab on the list of another cache", at);
    if (!pg || pg < mem_map || (uint32_t)(pg - mem_map) >= mem_map_pages || pg->phys != at) {
        violation(k, "slab's head frame pointer is wrong", at);
        return s->inuse;
    }
    if (!(pg->flags & PG_head) || pg->order != c->order)
        violation(k, "slab is not an allocated buddy block of the cache's order", at);
    for (uint32_t i = 0; i < (1u << c->order); i++)
        if (!(pg[i].flags & PG_slab) || pg[i].slab != s)
            violation(k, "slab frame not marked PG_slab or not pointing at its slab", pg[i].phys);

    uint32_t n = c->objs_per_slab;
    if (s->inuse > n)
        violation(k, "slab inuse above objects per slab", at);
    else if ((list == &c->full) != (s->inuse == n) || (list == &c->empty) != (s->inuse == 0))
        violation(k, "slab on the wrong list for its inuse count", at);

    uint32_t mapped = 0;
    for (uint32_t w = 0; w < c->map_words; w++) {
        uint32_t word = s->map[w];
        if (w == c->map_words - 1 && (n & 31))
            if (word & ~((1u << (n & 31)) - 1))
                violation(k, "map bit set beyond the last object", at);
        mapped += bits_set(word);
    }
    if (mapped != s->inuse)
        violation(k, "map bits differ from inuse", at);

    uint32_t base = at + c->offset, free_objs = 0;
    for (uint32_t obj = (uint32_t)s->freelist; obj; obj = *(uint32_t *)obj) {
        if (++free_objs > n - s->inuse) {
            violation(k, "freelist longer than the free objects (cycle or corrupt pointer)", obj);
            break;
        }
        uint32_t off = obj - base;
        if (obj < base || off / c->size >= n || off % c->size) {
            violation(k, "freelist points outside the slab's objects", obj);
            break;
        }
        uint32_t idx = off / c->size;
        if (s->map[idx >> 5] & (1u << (idx & 31)))
            violation(k, "allocated object on the freelist", obj);
        if (((uint32_t *)obj)[1] != idx)
            violation(k, "free object does not hold its index (written after free?)", obj);
    }
    if (free_objs < n - s->inuse && s->inuse <= n)
        violation(k, "freelist shorter than the free objects", at);
    return s->inuse;
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
    if (list_count(&c->empty) > 1)
        violation(k, "more than one empty slab kept", 0);
    if (active != c->active)
        violation(k, "active objects differ from the slabs' inuse", active);
    if (slabs != c->nr_slabs)
        violation(k, "slab count differs from the slabs listed", slabs);
}

unsigned slab_check(slab_report_fn report)
{
    struct checker k = { report, 0, 0 };
    uint32_t irq = irq_save();
    for (int i = 0; i < SLAB_MAX_CACHES; i++) {
        if (!cache_table[i])
            continue;
        k.cache = cache_table[i];
        check_cache(&k, cache_table[i]);
    }
    irq_restore(irq);
    return k.violations;
}
