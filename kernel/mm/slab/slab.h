/* slab.h — named caches of equal-sized objects, carved from page blocks.
 *
 * A cache is known by a small positive id (like a file descriptor, reused
 * after slab_destroy). Its slabs are blocks of 2^order frames from
 * alloc_pages (GFP_KERNEL); each frame of a slab is marked PG_slab and
 * points back at its slab, so slab_free finds the slab in O(1). A cache
 * keeps at most one empty slab for reuse and gives other empty slabs back
 * at once. Nothing here prints: errors are returned and counted.
 */
#ifndef KOS_SLAB_H
#define KOS_SLAB_H

#include <stdint.h>

#define SLAB_MAX_CACHES   64
#define SLAB_NAME_MAX     24        /* bytes of a name, NUL included; longer names are cut */
#define SLAB_MIN_ALIGN    4         /* a free object holds a pointer ... */
#define SLAB_MIN_SIZE     8         /* objects are at least 8 bytes */
#define SLAB_DEFAULT_ALIGN 8        /* alignment 0 means this */
#define SLAB_MAX_ORDER    5         /* slabs of 4 KiB to 128 KiB */
#define SLAB_MAX_OBJECT   0x10000u  /* largest object: 64 KiB */

/* Create a cache of object_size-byte objects aligned to alignment (a power
 * of two up to PAGE_SIZE; 0 means SLAB_DEFAULT_ALIGN). Returns its id (> 0),
 * -EINVAL for a NULL or empty name, a size of 0 or above SLAB_MAX_OBJECT, or
 * a bad alignment, -ENOMEM when all SLAB_MAX_CACHES ids are taken. */
int slab_create(const char *name, uint32_t object_size, uint32_t alignment);

/* Why the last refused slab_create was refused, in words ("the alignment is
 * not a power of two", ...); "" before any refusal. */
const char *slab_create_why(void);

/* One object, aligned as asked, contents undefined; 0 for an unknown id or
 * when the buddy allocator has no block for a new slab. */
uint32_t slab_alloc(int id);

/* Give an object back. Returns 0, or -EINVAL (counted in the cache's
 * bad_frees) for an unknown id, an address that is not an object of this
 * cache (another cache's, not slab memory, inside an object) or an object
 * already free. */
int slab_free(int id, uint32_t addr);

/* Why slab_free(id, addr) was just refused, in words ("object already
 * free", ...). Call it after the refusal; it changes nothing. */
const char *slab_free_reason(int id, uint32_t addr);

/* Destroy a cache and give its slabs back. Returns 0, -EINVAL for an
 * unknown id, -EBUSY while objects are allocated (slab_info says how many). */
int slab_destroy(int id);

/* Per-cache statistics. */
struct slab_info {
    char name[SLAB_NAME_MAX];
    uint32_t object_size;     /* as asked */
    uint32_t size;            /* stride: object_size rounded up to the alignment */
    uint32_t align;
    uint32_t objs_per_slab;
    uint32_t pages_per_slab;
    uint32_t active_objs;     /* allocated objects */
    uint32_t total_objs;      /* objects in all slabs */
    uint32_t slabs;
    uint32_t active_slabs;    /* slabs with at least one allocated object */
    uint32_t pages;
    uint32_t allocs, frees, bad_frees, failed_allocs;
};

/* tools/kos/kernel/mm/mm_wrapper.py reads this structure from guest memory. */
_Static_assert(sizeof(struct slab_info) == SLAB_NAME_MAX + 14 * 4,
               "struct slab_info is the name then uint32_t, in the order mm_wrapper.py expects");

/* Fill *info for cache id; 0, or -EINVAL for an unknown id. */
int slab_info(int id, struct slab_info *info);

/* The id after `after` (0: the first) of a live cache, or 0 when no more. */
int slab_next(int after);

/* Bytes in empty slabs that caches keep for reuse. */
uint32_t slab_cached_bytes(void);

typedef void (*slab_report_fn)(const char *cache, const char *what, uint32_t addr);

/* Check every cache (see cache.c); returns the number of violations,
 * calling report (if not NULL) for each. */
unsigned slab_check(slab_report_fn report);

#endif
