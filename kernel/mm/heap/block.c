/* block.c — where blocks come from and go to: the aligned search, the one
 * block allocation (bins, else the wilderness) behind every entry point that
 * hands out a block, and the free of a block pointer. The layout and the
 * inline block operations are in block.h; slots are run.c's.
 */
#include "block.h"

/* An aligned request first looks at up to ALIGN_TRIES free blocks from the
 * bin of `need` upwards for one that happens to have an aligned spot (a
 * released run leaves exactly such a hole); only then does it ask for a
 * block big enough for any alignment. Returns the block, removed, or 0. */
static uint32_t find_aligned(struct heap *h, uint32_t need, uint32_t align)
{
    unsigned tries = 0;
    if (need > SIZE_MASK)
        return 0;
    unsigned i = bin_index(need), fl = i / SL_COUNT;
    uint32_t smap = h->sl_map[fl] & (~0u << (i % SL_COUNT));
    uint32_t fmap = h->fl_map & (~1u << fl);
    for (;;) {
        while (!smap) {
            if (!fmap)
                return bin_find(h, need + align + MIN_FREE);
            fl = ffs32(fmap);
            fmap &= fmap - 1;
            smap = h->sl_map[fl];
        }
        i = fl * SL_COUNT + ffs32(smap);
        smap &= smap - 1;
        for (uint32_t off = h->bins[i]; off; off = fblk(h, off)->next) {
            uint32_t size = bsize(blk(h, off)->sf);
            if (size >= need && (uint64_t)align_skip(h, off, align) + need <= size) {
                bin_remove(h, off);
                return off;
            }
            if (++tries == ALIGN_TRIES)
                return bin_find(h, need + align + MIN_FREE);
        }
    }
}

/* Allocate a block of `need` bytes (header included), payload aligned to
 * `align`, from the bins or else the wilderness, with `flags` in its header
 * and `pay` the rounded request. Returns its offset, 0 on failure; the
 * statistics are the caller's. `debug` is a constant at every call. */
static INLINE uint32_t block_take(struct heap *h, uint32_t need, uint32_t pay, uint32_t align,
                                  uint32_t flags, int debug)
{
    uint32_t off = align > GRAIN ? find_aligned(h, need, align) : bin_find(h, need);
    if (!off)
        return carve(h, h->top, need, pay, align, flags, debug);
    if (debug && (h->debug & HEAP_DEBUG_POISON))
        debug_verify_poison(h, off);
    return carve(h, off, need, pay, align, flags, debug);
}

uint32_t block_get(struct heap *h, uint32_t need, uint32_t pay, uint32_t align, uint32_t flags)
{
    return block_take(h, need, pay, align, flags, 1);
}

/* A plain block of need bytes, counted in; NULL (counted as a failure) if
 * none can be had. */
static INLINE void *plain_block(struct heap *h, uint32_t need, uint32_t pay, uint32_t resv)
{
    uint32_t off = block_take(h, need, pay, GRAIN, F_USED | resv, 0);
    if (UNLIKELY(!off)) {
        h->failed++;
        return NULL;
    }
    uint32_t sf = blk(h, off)->sf;
    if (resv)
        *(uint32_t *)at(h, off + bsize(sf) - 4) = pay;
    block_count(h, sf, pay, 1);
    h->allocs++;
    return at(h, off + HDR);
}

/* The common allocation: no debug flag on, default alignment, a rounded
 * request of pay bytes. */
NOINLINE void *block_alloc(struct heap *h, uint32_t pay)
{
    return plain_block(h, HDR + pay < MIN_FREE ? MIN_FREE : HDR + pay, pay, 0);
}

/* A block of need bytes holding pay, the rest a growth reserve (realloc.c). */
NOINLINE void *block_alloc_reserve(struct heap *h, uint32_t need, uint32_t pay)
{
    return plain_block(h, need, pay, F_RESV);
}

/* Everything the fast paths leave: size 0, debug blocks, aligned requests,
 * sizes beyond the region. */
NOINLINE void *block_alloc_any(struct heap *h, size_t size, size_t align, uintptr_t site)
{
    if (size == 0)
        return NULL;
    if (align < GRAIN)
        align = GRAIN;
    if ((align & (align - 1)) || size > h->size || align > h->size) {
        h->failed++;
        return NULL;
    }
    uint32_t pay = round8(size);
    uint32_t need, flags = F_USED;
    if (h->debug) {
        need = HDR + pay + GRAIN + DBG_TRAIL;
        flags |= F_DBG;
    } else {
        need = HDR + pay < MIN_FREE ? MIN_FREE : HDR + pay;
    }
    uint32_t off = block_get(h, need, pay, (uint32_t)align, flags);
    if (!off) {
        h->failed++;
        return NULL;
    }
    if (flags & F_DBG)
        debug_arm(h, off, size, site);
    block_count(h, blk(h, off)->sf, pay, 1);
    h->allocs++;
    return at(h, off + HDR);
}

/* heap_free of a block pointer the fast test below did not pass: validated
 * in full (a refusal changes nothing); a debug block, or any block while a
 * debug flag is on, goes through debug_block_free (red zone, poisoning). */
static NOINLINE int block_free_checked(struct heap *h, void *p)
{
    uint32_t off;
    int e = block_validate(h, p, &off);
    if (e)
        return heap_refuse(h, e, p);
    if (h->debug || (blk(h, off)->sf & F_DBG))
        return debug_block_free(h, off);
    block_free_at(h, off, 0);
    return HEAP_OK;
}

/* heap_free of a payload address outside the runs. The common case, a
 * sealed plain live block with no debug flag on, is checked once: its own
 * header here, its neighbours' tags where release_block reads them (before
 * it writes anything). Everything else takes block_free_checked. */
NOINLINE int block_free(struct heap *h, void *p)
{
    uint32_t off = offset_of(h, p) - HDR;
    const struct blk *b = blk(h, off);
    uint32_t sf = b->sf, size = bsize(sf);
    if (UNLIKELY(b->seal != (off ^ sf ^ h->key) || (sf & (F_USED | F_RUN | F_DBG)) != F_USED ||
                 h->debug || size < MIN_FREE || size > h->top - off))
        return block_free_checked(h, p);
    uint32_t pay = block_payload_of(h, off);
    if (UNLIKELY(release_block(h, off, size, 0, 1)))
        return heap_refuse(h, HEAP_E_CORRUPT, p);
    block_count(h, sf, pay, -1);
    h->frees++;
    return HEAP_OK;
}
