/* slab.c — object caches: a slab is one buddy block cut into objects of one
 * size; a cache is a set of slabs and three lists (partial, full, empty).
 *
 * The cache descriptors are a static table (SLAB_MAX_CACHES), so the slab
 * allocator needs nothing but the buddy allocator. kmalloc is heap.c's.
 *
 * A slab of order k (PAGE_SIZE << k bytes, the address of its first frame):
 *
 *   +0       struct slab: list links, cache, freelist, inuse, objects
 *   +24      map: one bit per object, 1 = allocated (objs_per_slab bits,
 *            rounded up to 32-bit words)
 *   +offset  object 0     (offset: the end of map rounded up to the alignment)
 *   +offset+size   object 1
 *   ...      object objs_per_slab - 1, then unused tail bytes
 *
 * A free object's first word is the address of the next free object of its
 * slab (0 ends the list); the rest of a free object is left as it was.
 * Objects are at least 8 bytes (SLAB_MIN_SIZE).
 *
 * An object's index is found without a division: size = odd << shift, and
 * with inverse = odd^-1 mod 2^32,
 *
 *     index = ror((addr - first object) * inverse, shift)
 *
 * is the index when the offset is a multiple of size, and at least
 * objs_per_slab when it is not (a misaligned offset keeps its low set bits,
 * which the rotation moves to the top; an aligned non-multiple lands beyond
 * every multiple, since multiplying by inverse permutes the residues) or
 * when addr lies before the first object or beyond the last. E.g. size 24
 * (3 << 3), inverse 0xaaaaaaab: offset 48 gives 48 * 0xaaaaaaab = 0x10 mod
 * 2^32, rotated right by 3 = 2; offset 40 gives 0xaaaaaab8, rotated 0x15555557.
 * The cache keeps -inverse, and the code multiplies (first object - addr):
 * the same product, one register fewer in slab_free.
 *
 * inuse counts a slab's allocated objects, plus SLAB_FULL while the slab is
 * on `full`: slab_free's one decrement is then <= 0 exactly when the slab
 * must change lists (it was full, or it is empty now).
 *
 * Invariants (slab_check counts violations of each):
 *   - every frame of a slab is PG_slab and points at the slab, its cache and
 *     its first object; the cache is the one whose list holds the slab;
 *   - a slab is on `full` iff inuse == SLAB_FULL + objs_per_slab, on
 *     `empty` iff inuse == 0 (at most one such slab per cache), else on
 *     `partial` with 0 < inuse < objs_per_slab;
 *   - the freelist visits objects of its own slab only, each at a multiple
 *     of size from the first object, with its map bit clear, and exactly
 *     objs_per_slab - inuse of them; the map has inuse bits set;
 *   - cache->nr_slabs is the number of slabs listed, and cache->allocs is at
 *     least the objects allocated (frees = allocs - allocated).
 *
 * slab_alloc and slab_free are written for their fast path: the common case
 * inline, everything else (new slabs, list moves, refusals) out of line, and
 * no frame pointer (HOT, compiler.h).
 */
#pragma GCC target("tune=generic")   /* see HOT in compiler.h */
#include <stdint.h>
#include "slab.h"
#include "buddy.h"
#include "page.h"
#include "../arch/cpu.h"
#include "../include/compiler.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"
#include "../lib/list.h"
#include "../lib/string.h"

struct slab {
    struct list_head list;
    struct kmem_cache *cache;
    void *freelist;
    int32_t inuse;              /* allocated objects, + SLAB_FULL while on `full` */
    uint32_t objects;           /* the cache's objs_per_slab, for slab_free */
    uint32_t map[];
};

_Static_assert(sizeof(struct slab) == 24, "the slab header drawn above is 24 bytes");

#define SLAB_FULL INT32_MIN

/*
 * A cache. Valid while live. Everything but the lists and the counters is
 * fixed at slab_create. How many objects are allocated is not kept here:
 * it is the sum of the slabs' inuse (slab_info, slab_destroy), which spares
 * both fast paths a counter.
 */
struct kmem_cache {
    struct list_head partial;   /* slabs with free and allocated objects; allocation takes the first */
    struct list_head full;      /* no free object */
    struct list_head empty;     /* no allocated object: at most one, kept for reuse */
    uint32_t size;              /* stride between objects: odd << shift */
    uint32_t inverse;           /* -odd^-1 mod 2^32 */
    uint32_t shift;             /* 2..16: sizes are multiples of 4, at most 64 KiB */
    uint32_t offset;            /* first object from the slab start */
    uint32_t objs_per_slab;
    uint32_t allocs;            /* successful slab_alloc calls */
    uint32_t order;             /* a slab is 2^order frames */
    uint32_t nr_slabs;
    uint32_t map_words;
    uint32_t object_size, align;
    uint32_t bad_frees, failed_allocs;
    char name[SLAB_NAME_MAX];
};

static struct kmem_cache caches[SLAB_MAX_CACHES];

/* What a free id (and id 0) names: a cache with no slab and an empty
 * partial list, so the fast paths need no test for it. slab_alloc finds
 * nothing to take and asks refill, which refuses; no frame names it, so
 * slab_free refuses. Everything else asks cache_of, which says NULL. */
static struct kmem_cache no_cache = {
    .partial = { &no_cache.partial, &no_cache.partial },
    .name = "none",
};

static struct kmem_cache *cache_table[SLAB_MAX_CACHES + 1] = {   /* id -> cache */
    [0 ... SLAB_MAX_CACHES] = &no_cache,
};
static uint32_t bad_ids;   /* frees and destroys naming no cache */

/* The cache with this id, or NULL. */
static inline struct kmem_cache *cache_of(int id)
{
    struct kmem_cache *c = (unsigned)id <= SLAB_MAX_CACHES ? cache_table[id] : &no_cache;
    return c == &no_cache ? 0 : c;
}

/* The index of the object at addr in a slab whose first object is at
 * first, or a number >= objs_per_slab if no object starts there (see the
 * top of the file). */
static inline uint32_t object_index(const struct kmem_cache *c, uint32_t first, uint32_t addr)
{
    uint32_t x = (first - addr) * c->inverse;
    return (x >> c->shift) | (x << (32 - c->shift));
}

/* Set bit i of a map (bts addresses the whole bit string, not one word). */
static inline void map_set(uint32_t *map, uint32_t i)
{
    __asm__("btsl %1, %0" : "+m"(*map) : "r"(i) : "memory", "cc");
}

static uint32_t inuse_of(const struct slab *s)
{
    return (uint32_t)s->inuse & ~(uint32_t)SLAB_FULL;
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

/* x^-1 mod 2^32 for odd x: Newton's iteration doubles the correct low bits
 * (x * x == 1 mod 8 gives the first three). */
static uint32_t odd_inverse(uint32_t x)
{
    uint32_t y = x;
    for (int i = 0; i < 4; i++)
        y *= 2 - x * y;
    return y;
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
    for (int i = 1; i <= SLAB_MAX_CACHES && !id; i++)
        if (cache_table[i] == &no_cache)
            id = i;
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
    c->shift = (uint32_t)__builtin_ctz(size);
    c->inverse = -odd_inverse(size >> c->shift);
    c->map_words = (c->objs_per_slab + 31) / 32;
    c->object_size = object_size;
    c->align = alignment;
    unsigned n = 0;
    while (name[n] && n < SLAB_NAME_MAX - 1) {
        c->name[n] = name[n];
        n++;
    }
    c->name[n] = '\0';
    cache_table[id] = c;
    irq_restore(irq);
    return id;
}

/* Give slab s (already off its list) back to the buddy allocator. */
static void slab_release(struct kmem_cache *c, struct slab *s)
{
    struct page *pg = pfn_to_page((uint32_t)s >> PAGE_SHIFT);
    for (uint32_t i = 0; i < (1u << c->order); i++) {
        pg[i].flags &= ~PG_slab;
        pg[i].slab_cache = 0;
        pg[i].slab_objects = 0;
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

/* Objects allocated in c: the sum of inuse over the slabs that have any. */
static uint32_t cache_active(const struct kmem_cache *c)
{
    uint32_t n = 0;
    for (const struct list_head *e = c->partial.next; e != &c->partial; e = e->next)
        n += inuse_of(list_entry(e, struct slab, list));
    for (const struct list_head *e = c->full.next; e != &c->full; e = e->next)
        n += inuse_of(list_entry(e, struct slab, list));
    return n;
}

int slab_destroy(int id)
{
    uint32_t irq = irq_save();
    struct kmem_cache *c = cache_of(id);
    uint32_t active = c ? cache_active(c) : 0;
    int err = 0;
    if (!c) {
        bad_ids++;
        err = -EINVAL;
    } else if (active) {
        kprintf("slab_destroy: cache %d '%s': %u objects still allocated\n", id, c->name, active);
        err = -EBUSY;
    } else {
        release_all(c, &c->partial);
        release_all(c, &c->full);
        release_all(c, &c->empty);
        cache_table[id] = &no_cache;
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
    uint32_t first = pg->phys + c->offset;
    for (uint32_t i = 0; i < (1u << c->order); i++) {
        pg[i].flags |= PG_slab;
        pg[i].slab_cache = c;
        pg[i].slab_objects = first;
        pg[i].slab = s;
    }
    s->cache = c;
    s->inuse = 0;
    s->objects = c->objs_per_slab;
    memset(s->map, 0, c->map_words * 4);
    uint32_t obj = first;
    s->freelist = (void *)obj;
    for (uint32_t i = 1; i < c->objs_per_slab; i++, obj += c->size)
        *(uint32_t *)obj = obj + c->size;
    *(uint32_t *)obj = 0;
    list_add(&s->list, &c->partial);
    c->nr_slabs++;
    return s;
}

/* The partial list is empty: reuse the kept empty slab, or make one. NULL
 * (counted) if the buddy allocator has no block. */
static __attribute__((noinline)) struct slab *refill(struct kmem_cache *c)
{
    if (c == &no_cache)
        return 0;
    if (!list_empty(&c->empty)) {
        struct slab *s = list_entry(c->empty.next, struct slab, list);
        list_del(&s->list);
        list_add(&s->list, &c->partial);
        return s;
    }
    struct slab *s = slab_new(c);
    if (!s)
        c->failed_allocs++;
    return s;
}

/* s gave out its last free object, obj: from partial to full. Then
 * interrupts as slab_alloc found them; returns obj, slab_alloc's result. */
static __attribute__((noinline)) uint32_t slab_filled(struct slab *s, uint32_t irq, uint32_t obj)
{
    s->inuse += SLAB_FULL;
    list_del(&s->list);
    list_add(&s->list, &s->cache->full);
    irq_restore(irq);
    return obj;
}

HOT uint32_t slab_alloc(int id)
{
    if ((unsigned)id > SLAB_MAX_CACHES)
        return 0;
    struct kmem_cache *c = cache_table[id];
    uint32_t irq = irq_save();
    struct slab *s = list_entry(c->partial.next, struct slab, list);
    if (&s->list == &c->partial && !(s = refill(c))) {
        irq_restore(irq);
        return 0;
    }
    uint32_t obj = (uint32_t)s->freelist;
    s->freelist = *(void **)obj;
    map_set(s->map, object_index(c, (uint32_t)s + c->offset, obj));
    s->inuse++;
    c->allocs++;
    if (!s->freelist)
        return slab_filled(s, irq, obj);
    irq_restore(irq);
    return obj;
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

/* s just lost an object and its inuse went to 0 or below: it was full (on
 * partial now), or it is empty (kept, or given back if its cache keeps one
 * already). Then interrupts as slab_free found them; returns 0, slab_free's
 * result (a tail call leaves slab_free nothing to keep across a call). */
static __attribute__((noinline)) int slab_moved(struct slab *s, uint32_t irq)
{
    struct kmem_cache *c = s->cache;
    s->inuse &= ~SLAB_FULL;
    list_del(&s->list);
    if (s->inuse)
        list_add(&s->list, &c->partial);
    else if (list_empty(&c->empty))
        list_add(&s->list, &c->empty);
    else
        slab_release(c, s);
    irq_restore(irq);
    return 0;
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
    if (mem_map[pfn].slab_cache != c)
        return refuse(id, c, addr, "object of another cache");
    if (object_index(c, mem_map[pfn].slab_objects, addr) >= c->objs_per_slab)
        return refuse(id, c, addr, "not the start of an object");
    return refuse(id, c, addr, "object already free");
}

HOT int slab_free(int id, uint32_t addr)
{
    if ((unsigned)id > SLAB_MAX_CACHES)
        goto refused;
    struct kmem_cache *c = cache_table[id];
    uint32_t pfn = addr >> PAGE_SHIFT;
    if (pfn >= mem_map_pages)
        goto refused;
    /* A frame names its cache only while it is part of one of its slabs
     * (never no_cache). */
    struct page *pg = pfn_to_page(pfn);
    if (pg->slab_cache != c)
        goto refused;
    struct slab *s = pg->slab;
    uint32_t idx = object_index(c, pg->slab_objects, addr);
    if (idx >= s->objects)
        goto refused;
    uint32_t irq = irq_save();
    /* Clear the object's map bit; if it was clear the object is free already. */
    __asm__ goto("btrl %1, %0; jnc %l[already_free]" : : "m"(*s->map), "r"(idx) : "memory", "cc"
                 : already_free);
    *(void **)addr = s->freelist;
    s->freelist = (void *)addr;
    /* --inuse <= 0: the slab was full, or it is empty now (see SLAB_FULL). */
    __asm__ goto("decl %0; jle %l[moved]" : : "m"(s->inuse) : "memory", "cc" : moved);
    irq_restore(irq);
    return 0;
moved:
    return slab_moved(s, irq);
already_free:
    irq_restore(irq);
refused:
    /* id is read back from the argument only here, so that the fast path
     * does not keep it in a register. */
    return refuse_free(*(volatile int *)&id, addr);
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
    uint32_t irq = irq_save();
    uint32_t active = cache_active(c);
    irq_restore(irq);
    info->active_objs = active;
    info->total_objs = c->nr_slabs * c->objs_per_slab;
    info->slabs = c->nr_slabs;
    info->active_slabs = c->nr_slabs - list_count(&c->empty);
    info->pages = c->nr_slabs << c->order;
    info->allocs = c->allocs;
    info->frees = c->allocs - active;
    info->bad_frees = c->bad_frees;
    info->failed_allocs = c->failed_allocs;
    return 0;
}

int slab_next(int after)
{
    for (int id = after + 1; id <= SLAB_MAX_CACHES; id++)
        if (id > 0 && cache_of(id))
            return id;
    return 0;
}

uint32_t slab_cached_bytes(void)
{
    uint32_t bytes = 0;
    for (int id = 1; id <= SLAB_MAX_CACHES; id++)
        if (cache_of(id))
            bytes += list_count(&cache_table[id]->empty) * (PAGE_SIZE << cache_table[id]->order);
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
    uint32_t first = at + c->offset;
    if (s->cache != c)
        violation(k, "slab on the list of another cache", at);
    if (s->objects != c->objs_per_slab)
        violation(k, "slab's object count differs from its cache's", at);
    if ((at & ((PAGE_SIZE << c->order) - 1)) || (at >> PAGE_SHIFT) >= mem_map_pages) {
        violation(k, "slab not at a block of the cache's order in mem_map", at);
        return inuse_of(s);
    }
    struct page *pg = pfn_to_page(at >> PAGE_SHIFT);
    if (!(pg->flags & PG_head) || pg->order != c->order)
        violation(k, "slab is not an allocated buddy block of the cache's order", at);
    for (uint32_t i = 0; i < (1u << c->order); i++) {
        if (!(pg[i].flags & PG_slab) || pg[i].slab != s)
            violation(k, "slab frame not marked PG_slab or not pointing at its slab", pg[i].phys);
        if (pg[i].slab_cache != c || pg[i].slab_objects != first)
            violation(k, "slab frame does not name its cache and first object", pg[i].phys);
    }

    uint32_t n = c->objs_per_slab, inuse = inuse_of(s);
    int full = s->inuse < 0;
    if (inuse > n)
        violation(k, "slab inuse above objects per slab", at);
    else if (full != (inuse == n))
        violation(k, "slab full mark disagrees with its inuse count", at);
    else if ((list == &c->full) != full || (list == &c->empty) != (inuse == 0))
        violation(k, "slab on the wrong list for its inuse count", at);

    uint32_t mapped = 0;
    for (uint32_t w = 0; w < c->map_words; w++) {
        uint32_t word = s->map[w];
        if (w == c->map_words - 1 && (n & 31))
            if (word & ~((1u << (n & 31)) - 1))
                violation(k, "map bit set beyond the last object", at);
        mapped += bits_set(word);
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
        uint32_t idx = off / c->size;
        if (object_index(c, first, obj) != idx)
            violation(k, "cache's inverse does not give the object's index", obj);
        if (s->map[idx >> 5] & (1u << (idx & 31)))
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
    if (list_count(&c->empty) > 1)
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
    for (int id = 1; id <= SLAB_MAX_CACHES; id++) {
        if (!cache_of(id))
            continue;
        k.cache = cache_table[id];
        check_cache(&k, cache_table[id]);
    }
    irq_restore(irq);
    return k.violations;
}
