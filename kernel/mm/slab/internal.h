/* internal.h — the slab allocator's state as cache.c (which owns it)
 * and check.c (which only reads it) both see it: the slab header, the
 * cache descriptor, the table of live caches. cache.c's opening comment
 * draws the layout and lists the invariants. Nothing else includes this. */
#ifndef KOS_SLAB_INTERNAL_H
#define KOS_SLAB_INTERNAL_H

#include <stdint.h>
#include "slab.h"
#include "../../lib/list.h"

struct slab {
    struct list_head list;
    struct kmem_cache *cache;
    void *freelist;
    uint32_t inuse;             /* allocated objects */
    uint32_t map[];
};

_Static_assert(sizeof(struct slab) == 20, "the slab header drawn above is 20 bytes");

/*
 * A cache. Valid while live. Everything but the lists and the counters is
 * fixed at slab_create. How many objects are allocated is not kept here:
 * it is the sum of the slabs' inuse (slab_info, slab_destroy).
 */
struct kmem_cache {
    struct list_head partial;   /* slabs with free and allocated objects; allocation takes the first */
    struct list_head full;      /* no free object */
    struct list_head empty;     /* no allocated object: at most one, kept for reuse */
    uint32_t size;              /* stride between objects */
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

/* id -> live cache; [0] unused (cache.c). */
extern struct kmem_cache *slab_cache_table[SLAB_MAX_CACHES + 1];

/* The live cache with this id, or NULL. */
static inline struct kmem_cache *cache_of(int id)
{
    return id >= 1 && id <= SLAB_MAX_CACHES ? slab_cache_table[id] : 0;
}

/* Whether object i of a slab is allocated (its bit in the map). */
static inline int map_test(const uint32_t *map, uint32_t i)
{
    return (map[i / 32] >> (i % 32)) & 1;
}

#endif
