/* cache.c — object caches: a slab is one block from the page allocator cut
 * into objects of one size; a cache is a set of slabs on three lists
 * (partial, full, empty), as in Bonwick's slab allocator and Linux's SLAB.
 *
 * The cache descriptors are a static table (SLAB_MAX_CACHES), so the slab
 * allocator needs nothing but the page allocator (page_alloc.h). kmalloc
 * is the heap's.
 * Nothing here prints: a refused call returns its error and is counted;
 * slab_free_reason puts it in words for the caller.
 *
 * A slab of order k (PAGE_SIZE << k bytes, the address of its first frame):
 *
 *   +0       struct slab: list links, cache, freelist, inuse
 *   +20      map: one bit per object, 1 = allocated (objs_per_slab bits,
 *            rounded up to 32-bit words)
 *   +offset  object 0     (offset: the end of map rounded up to the alignment)
 *   +offset+size   object 1
 *   ...      object objs_per_slab - 1, then unused tail bytes
 *
 * A free object's first word is the address of the next free object of its
 * slab (0 ends the list); the rest of a free object is left as it was.
 * Objects are at least 8 bytes (SLAB_MIN_SIZE). The map answers "is this
 * object allocated?" for slab_free without walking the freelist, which is
 * how a double free is caught in O(1).
 *
 * Every frame of a slab records, in its struct page, the cache, the slab
 * and the address of the slab's first object, so slab_free finds the slab
 * of any address in O(1): object index = (addr - first) / size, and addr is
 * an object only if the remainder is 0 and the index below objs_per_slab.
 *
 * Invariants (slab_check counts violations of each):
 *   - every frame of a slab is PG_slab and points at the slab, its cache and
 *     its first object; the cache is the one whose list holds the slab;
 *   - a slab is on `full` iff inuse == objs_per_slab, on `empty` iff
 *     inuse == 0 (at most one such slab per cache), else on `partial`;
 *   - the freelist visits objects of its own slab only, each at a multiple
 *     of size from the first object, with its map bit clear, and exactly
 *     objs_per_slab - inuse of them; the map has inuse bits set;
 *   - cache->nr_slabs is the number of slabs listed, and cache->allocs is at
 *     least the objects allocated (frees = allocs - allocated).
 * check.c checks them; internal.h has the structures.
 */
#include <stdint.h>
#include "internal.h"
#include "../page.h"
#include "../page_alloc.h"
#include "../../arch/cpu.h"
#include "../../include/errno.h"
#include "../../lib/list.h"
#include "../../lib/string.h"

static struct kmem_cache caches[SLAB_MAX_CACHES];
struct kmem_cache *slab_cache_table[SLAB_MAX_CACHES + 1];

static void map_set(uint32_t *map, uint32_t i)
{
    map[i / 32] |= 1u << (i % 32);
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

static const char *create_why = "";

/* slab_create's refusal: err, with its reason kept for slab_create_why. */
static int create_refused(int err, const char *why)
{
    create_why = why;
    return err;
}

const char *slab_create_why(void)
{
    return create_why;
}

int slab_create(const char *name, uint32_t object_size, uint32_t alignment)
{
    if (!name || !name[0])
        return create_refused(-EINVAL, "the name is empty");
    if (object_size == 0)
        return create_refused(-EINVAL, "the object size is 0");
    if (object_size > SLAB_MAX_OBJECT)
        return create_refused(-EINVAL, "the object size is above SLAB_MAX_OBJECT (64 KiB)");
    if (alignment == 0)
        alignment = SLAB_DEFAULT_ALIGN;
    if (alignment & (alignment - 1))
        return create_refused(-EINVAL, "the alignment is not a power of two");
    if (alignment > PAGE_SIZE)
        return create_refused(-EINVAL, "the alignment is above PAGE_SIZE");
    uint32_t align = alignment < SLAB_MIN_ALIGN ? SLAB_MIN_ALIGN : alignment;
    uint32_t size = align_up(object_size < SLAB_MIN_SIZE ? SLAB_MIN_SIZE : object_size, align);
    int order = choose_order(size, align);
    if (order < 0)
        return create_refused(-EINVAL, "no slab of up to 2^SLAB_MAX_ORDER pages holds one object");

    uint32_t irq = irq_save();
    int id = 0;
    for (int i = 1; i <= SLAB_MAX_CACHES && !id; i++)
        if (!slab_cache_table[i])
            id = i;
    if (!id) {
        irq_restore(irq);
        return create_refused(-ENOMEM, "all SLAB_MAX_CACHES (64) cache ids are in use");
    }
    struct kmem_cache *c = &caches[id - 1];
    memset(c, 0, sizeof(*c));
    list_init(&c->partial);
    list_init(&c->full);
    list_init(&c->empty);
    c->size = size;
    c->order = (uint32_t)order;
    c->objs_per_slab = objects_fitting(c->order, size, align, &c->offset);
    c->map_words = (c->objs_per_slab + 31) / 32;
    c->object_size = object_size;
    c->align = alignment;
    unsigned n = 0;
    while (name[n] && n < SLAB_NAME_MAX - 1) {
        c->name[n] = name[n];
        n++;
    }
    c->name[n] = '\0';
    slab_cache_table[id] = c;
    irq_restore(irq);
    return id;
}

/* Give slab s (already off its list) back to the page allocator. */
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
    free_pages(pg, c->order);
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
        n += list_entry(e, struct slab, list)->inuse;
    for (const struct list_head *e = c->full.next; e != &c->full; e = e->next)
        n += list_entry(e, struct slab, list)->inuse;
    return n;
}

int slab_destroy(int id)
{
    uint32_t irq = irq_save();
    struct kmem_cache *c = cache_of(id);
    int err = 0;
    if (!c) {
        err = -EINVAL;
    } else if (cache_active(c)) {
        err = -EBUSY;
    } else {
        release_all(c, &c->partial);
        release_all(c, &c->full);
        release_all(c, &c->empty);
        slab_cache_table[id] = 0;
    }
    irq_restore(irq);
    return err;
}

/* ---- allocation --------------------------------------------------------- */

/* A new slab for c from the page allocator, on the partial list; NULL if
 * there is no block. */
static struct slab *slab_new(struct kmem_cache *c)
{
    struct page *pg = alloc_pages(GFP_KERNEL, c->order);
    if (!pg)
        return 0;
    struct slab *s = page_address(pg);
    uint32_t first = (uint32_t)s + c->offset;
    for (uint32_t i = 0; i < (1u << c->order); i++) {
        pg[i].flags |= PG_slab;
        pg[i].slab_cache = c;
        pg[i].slab_objects = first;
        pg[i].slab = s;
    }
    s->cache = c;
    s->inuse = 0;
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
 * (counted) if the page allocator has no block. */
static struct slab *refill(struct kmem_cache *c)
{
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

uint32_t slab_alloc(int id)
{
    struct kmem_cache *c = cache_of(id);
    if (!c)
        return 0;
    uint32_t irq = irq_save();
    struct slab *s;
    if (!list_empty(&c->partial))
        s = list_entry(c->partial.next, struct slab, list);
    else if (!(s = refill(c))) {
        irq_restore(irq);
        return 0;
    }
    uint32_t obj = (uint32_t)s->freelist;
    s->freelist = *(void **)obj;
    map_set(s->map, (obj - ((uint32_t)s + c->offset)) / c->size);
    s->inuse++;
    c->allocs++;
    if (s->inuse == c->objs_per_slab) {         /* that was its last free object */
        list_del(&s->list);
        list_add(&s->list, &c->full);
    }
    irq_restore(irq);
    return obj;
}

/* ---- freeing ------------------------------------------------------------ */

/* The slab frame that holds addr if it belongs to cache c, else NULL. */
static struct page *slab_frame(const struct kmem_cache *c, uint32_t addr)
{
    uint32_t pfn = addr >> PAGE_SHIFT;
    if (pfn >= mem_map_pages)
        return 0;
    struct page *pg = pfn_to_page(pfn);
    return (pg->flags & PG_slab) && pg->slab_cache == c ? pg : 0;
}

/* Put the allocated object at addr, whose map bit is *word & bit, back on
 * slab s's freelist, and move the slab if it was full or is empty now. */
static void object_put(struct kmem_cache *c, struct slab *s, uint32_t *word, uint32_t bit,
                       uint32_t addr)
{
    *word &= ~bit;
    *(void **)addr = s->freelist;
    s->freelist = (void *)addr;
    if (s->inuse-- == c->objs_per_slab) {       /* it was full: free objects again */
        list_del(&s->list);
        list_add(&s->list, &c->partial);
    }
    if (s->inuse == 0) {                        /* empty: keep one, give the rest back */
        list_del(&s->list);
        if (list_empty(&c->empty))
            list_add(&s->list, &c->empty);
        else
            slab_release(c, s);
    }
}

int slab_free(int id, uint32_t addr)
{
    struct kmem_cache *c = cache_of(id);
    if (!c)
        return -EINVAL;
    struct page *pg = slab_frame(c, addr);
    if (!pg || addr < pg->slab_objects)
        goto refused;
    uint32_t off = addr - pg->slab_objects;
    uint32_t idx = off / c->size;
    if (off % c->size || idx >= c->objs_per_slab)
        goto refused;
    struct slab *s = pg->slab;
    uint32_t *word = &s->map[idx / 32], bit = 1u << (idx % 32);
    uint32_t irq = irq_save();
    if (!(*word & bit)) {                       /* not allocated: a double free */
        irq_restore(irq);
        goto refused;
    }
    object_put(c, s, word, bit, addr);
    irq_restore(irq);
    return 0;
refused:
    c->bad_frees++;
    return -EINVAL;
}

const char *slab_free_reason(int id, uint32_t addr)
{
    struct kmem_cache *c = cache_of(id);
    uint32_t pfn = addr >> PAGE_SHIFT;
    if (!c)
        return "no such cache";
    if (pfn >= mem_map_pages || !(mem_map[pfn].flags & PG_slab))
        return "not slab memory";
    struct page *pg = slab_frame(c, addr);
    if (!pg)
        return "object of another cache";
    uint32_t off = addr - pg->slab_objects;
    if (addr < pg->slab_objects || off % c->size || off / c->size >= c->objs_per_slab)
        return "not the start of an object";
    return "object already free";
}

/* ---- statistics --------------------------------------------------------- */

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
    info->active_slabs = c->nr_slabs - list_count(&c->empty, mem_map_pages);
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
        if (cache_of(id))
            return id;
    return 0;
}

uint32_t slab_cached_bytes(void)
{
    uint32_t bytes = 0;
    for (int id = slab_next(0); id; id = slab_next(id)) {
        const struct kmem_cache *c = cache_of(id);
        bytes += list_count(&c->empty, mem_map_pages) * (PAGE_SIZE << c->order);
    }
    return bytes;
}
