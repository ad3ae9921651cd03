/* zone.h — the zone of small objects in 8-byte grains with two bitmaps
 * (drawn in zone.c), and the start of the block layer: what the entry
 * points, realloc, the checker and the walker call.
 */
#ifndef KOS_HEAP_ZONE_H
#define KOS_HEAP_ZONE_H

#include "internal.h"

/* Is a (any address) in the zone's objects' span: 8-aligned and below its
 * end? One comparison, as in_heap. */
static inline int in_zone(const struct heap *h, uintptr_t a)
{
    uintptr_t d = a - h->zlo;
    return ((d >> 3) | (d << (UPTR_BITS - 3))) < h->zend;
}

/* A zone object of size bytes (size <= zone_max: there is room for it). */
void *zone_alloc(struct heap *h, size_t size);

/* Set zone_max: 0 while debugging, else the largest request the zone has
 * room for (any up to ZONE_OBJ_MAX while it may add a chunk). */
void zone_set_limit(struct heap *h);

/* heap_free and heap_realloc of an address in_zone: refused with nothing
 * changed unless it is a live object's. */
int zone_free(struct heap *h, uintptr_t a);
void *zone_realloc(struct heap *h, uintptr_t a, size_t size, uintptr_t site, int *err);

/* Classify a (in_zone): HEAP_OK and *gp = its grain if a live object
 * starts there, else HEAP_E_DOUBLE (a free grain) or HEAP_E_INVALID. */
int zone_lookup(const struct heap *h, uintptr_t a, uint32_t *gp);

/* Bytes of the live object at grain g. */
size_t zone_usable(const struct heap *h, uint32_t g);

/* Put the block layer's tables at the zone's end and start the blocks
 * after them; 0 if the region has no room for them. */
int blocks_start(struct heap *h);

/* The zone in address order for heap_walk: every object and free run. */
void zone_walk(const struct heap *h, heap_walk_fn fn, void *ctx);

/* Verify the zone's invariants (internal.h lists them), calling bad
 * once per violation; adds its live objects to *live. */
typedef void (*zone_bad_fn)(void *c, const char *what, uint32_t off);
void zone_check(const struct heap *h, zone_bad_fn bad, void *c, size_t *live);

#endif
