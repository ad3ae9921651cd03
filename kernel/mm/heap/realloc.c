/* realloc.c — heap_realloc: a slot keeps its place while the size keeps its
 * class; a block is resized in place (within its tail or growth reserve,
 * into a free successor or the wilderness, or shrunk by splitting) when it
 * can, else moved. A block that grows by appends moves with a growth reserve
 * (a quarter more, as much again once it has one) so that a buffer grown
 * step by step moves O(log n) times. Every refusal is validated before anything
 * moves or is freed.
 */
#include "../../lib/string.h"
#include "block.h"
#include "run.h"

/* Resize the plain (non-debug) block at off in place to `need` bytes while
 * no debug flag is on; a block that grows takes up to `want` (>= need: its
 * next growth reserve) when the space after it holds that much. Returns 1 if
 * it now has room, 0 if it must move. */
static int resize_in_place(struct heap *h, uint32_t off, uint32_t need, uint32_t want, uint32_t pay)
{
    uint32_t sf = blk(h, off)->sf;
    uint32_t size = bsize(sf);
    uint32_t keep = sf & (F_PFREE | F_RESV);
    uint32_t resv = sf & F_RESV;
    uint32_t next = off + size;

    if (need > size) {
        if (next == h->top) {
            if (h->size - off < need)
                return 0;
            uint32_t take = h->size - off < want ? need : want;
            block_count_at(h, off, -1);
            set_top(h, off + take);
            set_hdr(h, off, take | F_USED | keep);
        } else {
            uint32_t nsf = blk(h, next)->sf;
            uint32_t nsize = bsize(nsf);
            if ((nsf & F_USED) || size + nsize < need)
                return 0;
            block_count_at(h, off, -1);
            bin_remove(h, next);
            uint32_t total = size + nsize;
            uint32_t take = total < want ? need : want;
            uint32_t rem = total - take;
            if (rem >= SPLIT_MIN) {
                set_hdr(h, off, take | F_USED | keep);
                mark_free(h, off + take, rem, bin_index(rem), 0);
                mark_pfree(h, off + take + rem);
            } else {
                set_hdr(h, off, total | F_USED | keep | (resv ? 0 : (rem / GRAIN) << TAIL_SHIFT));
                flip_flags(blk(h, off + total), F_PFREE);
            }
        }
    } else {
        uint32_t rem = size - need;
        block_count_at(h, off, -1);
        if (resv && rem * 2 <= size) {
            /* Shrinking within the reserve: keep it. */
        } else if (rem >= SPLIT_MIN) {
            set_hdr(h, off, need | F_USED | keep);
            set_hdr(h, off + need, rem | F_USED);
            release_block(h, off + need, rem, 0, 0);
        } else {
            set_hdr(h, off, size | F_USED | keep | (resv ? 0 : (rem / GRAIN) << TAIL_SHIFT));
        }
    }
    if (resv)
        *(uint32_t *)at(h, off + bsize(blk(h, off)->sf) - 4) = pay;
    block_count_at(h, off, 1);
    return 1;
}

/* The growth reserve of a block of pay bytes that grows by appends: when it
 * moves, a quarter more the first time and as much again once it keeps
 * growing (so a buffer that keeps growing moves about log2 n times and
 * copies about n bytes in all); when it grows in place, half more. */
static uint32_t grow_reserve(uint32_t pay, int moving, uint32_t again)
{
    uint32_t r = !again ? pay / 4 : moving ? pay : pay / 2;
    return (r + GRAIN - 1) & ~(GRAIN - 1);
}

/* heap_realloc of a pointer that is not a live allocation: refused. */
static NOINLINE void *realloc_refused(struct heap *h, void *p, int *err)
{
    uint32_t ref = 0;
    int e = heap_lookup(h, p, &ref);
    e = e < 0 ? e : HEAP_E_CORRUPT;
    if (err)
        *err = e;
    heap_refuse(h, e, p);
    return NULL;
}

/* heap_realloc of a payload address outside the runs that the fast path
 * did not settle: validated like a free, then resized in place when it can,
 * else moved (with a growth reserve when it grows by appends). */
static NOINLINE void *block_realloc(struct heap *h, void *p, size_t size, uintptr_t site, int *err)
{
    uint32_t off;
    uint32_t pay = round8(size);
    if (UNLIKELY(block_validate(h, p, &off)))
        return realloc_refused(h, p, err);
    if (size > h->size) {
        h->failed++;
        return NULL;
    }
    uint32_t sf = blk(h, off)->sf;
    if (!h->debug && !(sf & F_DBG) && size > SMALL_MAX) {
        uint32_t need = HDR + pay + ((sf & F_RESV) ? GRAIN : 0);
        uint32_t want = (sf & F_RESV) ? need + grow_reserve(pay, 0, 1) : need;
        if (resize_in_place(h, off, need, want, pay))
            return p;
    }
    if ((sf & F_DBG) && debug_redzone_bad(h, off)) {
        if (err)
            *err = HEAP_E_REDZONE;
        h->bad_frees++;
        h->debug_errors++;
        heap_report(h, HEAP_E_REDZONE, "red zone overwritten: block not moved", p);
        return NULL;
    }
    uint32_t old = block_payload_of(h, off);
    int growing = (sf & F_RESV) || pay - old <= old / 4;
    void *q;
    if (!h->debug && size > SMALL_MAX && pay > old && growing && pay <= SIZE_MASK / 2) {
        /* Grown by a small step (an append) or grown before: take a reserve
         * so the next steps happen in place. */
        q = block_alloc_reserve(h, HDR + pay + grow_reserve(pay, 1, sf & F_RESV) + GRAIN, pay);
        if (!q) {
            h->failed--;  /* not the caller's failure: retry without reserve */
            q = block_alloc(h, pay);
        }
    } else {
        q = heap_alloc(h, size, 0, site);
    }
    if (!q)
        return NULL;
    if (sf & F_DBG)
        old = trailer(h, off, bsize(sf))->req;
    memcpy(q, p, old < size ? old : size);
    block_free_at(h, off, 1);
    return q;
}

/* heap_realloc of a payload address outside the runs. A plain block of more
 * than SMALL_MAX bytes whose new size stays within its reserve or its tail
 * is resized here, with only its own header checked; everything else goes
 * to block_realloc. */
static INLINE void *block_realloc_fast(struct heap *h, void *p, size_t size, uintptr_t site,
                                       int *err)
{
    uint32_t off = offset_of(h, p) - HDR;
    struct blk *b = blk(h, off);
    uint32_t sf = b->sf, key = h->key;
    if (b->seal == (off ^ sf ^ key) && (sf & (F_USED | F_RUN | F_DBG)) == F_USED &&
        size - (SMALL_MAX + 1) < PLAIN_MAX - SMALL_MAX && !h->debug) {
        uint32_t bs = bsize(sf), pay = round8(size);
        if (sf & F_RESV) {
            uint32_t need = HDR + pay + GRAIN;
            uint32_t *len = (uint32_t *)at(h, off + bs - 4);
            /* Growing within the reserve, or shrinking while at least half
             * of it stays in use. */
            if (need <= bs && (pay >= *len || (bs - need) * 2 <= bs) && *len > SMALL_MAX) {
                h->block_payload = h->block_payload - *len + pay;
                *len = pay;
                return p;
            }
        } else if (HDR + pay <= bs && bs - HDR - pay < SPLIT_MIN) {
            uint32_t old = bs - HDR - ((sf & TAIL_MASK) >> TAIL_SHIFT) * GRAIN;
            if (old > SMALL_MAX) {
                h->block_payload = h->block_payload - old + pay;
                sf = (sf & ~TAIL_MASK) | ((bs - HDR - pay) / GRAIN) << TAIL_SHIFT;
                b->sf = sf;
                b->seal = off ^ sf ^ key;
                return p;
            }
        }
    }
    return block_realloc(h, p, size, site, err);
}

/* heap_realloc(NULL, size) allocates, heap_realloc(p, 0) frees. */
static NOINLINE void *realloc_edge(struct heap *h, void *p, size_t size, uintptr_t site, int *err)
{
    if (!p)
        return heap_alloc(h, size, 0, site);
    int e = heap_free(h, p);
    if (err)
        *err = e;
    return NULL;
}

/* heap_realloc of a payload address in run r: the slot stays if the rounded
 * size keeps its class, else it moves (small_max is 0 while debugging: to a
 * debug block then). */
static NOINLINE void *slot_realloc(struct heap *h, struct run *r, void *p, size_t size,
                                   uintptr_t site, int *err)
{
    uintptr_t a = (uintptr_t)p;
    if (UNLIKELY(!(*live_word(r, a) & live_bit(a))))
        return realloc_refused(h, p, err);
    uint32_t old = (r->cls + 1) * GRAIN;
    if (size - 1 < h->small_max && round8(size) == old)
        return p;
    void *q = heap_alloc(h, size, 0, site);
    if (!q)
        return NULL;
    memcpy(q, p, old < size ? old : size);
    slot_free(h, r, a);
    return q;
}

void *heap_realloc(struct heap *h, void *p, size_t size, uintptr_t site, int *err)
{
    if (err)
        *err = HEAP_OK;
    uintptr_t a = (uintptr_t)p;
    if (UNLIKELY(!p || !size))
        return realloc_edge(h, p, size, site, err);
    if (UNLIKELY(!in_heap(h, a)))
        return realloc_refused(h, p, err);
    struct run *r = run_of(h, a);
    if (!r)
        return block_realloc_fast(h, p, size, site, err);
    return slot_realloc(h, r, p, size, site, err);
}
