/* block.h — the block layer's one of each: marking a span free, releasing a
 * block (coalescing with both neighbours), carving an allocation out of a
 * free block or the wilderness, validating a block pointer, and keeping the
 * block counters. Inline, with a `debug` argument that callers pass as a
 * constant: 0 on the fast paths (no debug flag can be on there), 1 where
 * h->debug decides at run time, so the same code serves both and the fast
 * one carries no debug test. The searches and entry points are in block.c.
 */
#ifndef KOS_HEAP_BLOCK_H
#define KOS_HEAP_BLOCK_H

#include "bins.h"

/* Write the header and footer of free block [off, off + size) and put it in
 * bin i, its bin; with poisoning on, fill its body first. The next block's
 * PFREE is the caller's business. */
static INLINE void mark_free(struct heap *h, uint32_t off, uint32_t size, unsigned i, int debug)
{
    uint32_t sf = size;
    if (debug && UNLIKELY(h->debug & HEAP_DEBUG_POISON)) {
        debug_poison(h, off, size);
        sf |= F_DBG;
    }
    set_hdr(h, off, sf);
    set_footer(h, off, size);
    bin_insert(h, off, i);
}

/* Set PFREE in the header of the used block at off. */
static INLINE void mark_pfree(struct heap *h, uint32_t off)
{
    struct blk *n = blk(h, off);
    if (!(n->sf & F_PFREE))
        flip_flags(n, F_PFREE);
}

/* Return [off, off + size) to the free space, coalescing with both
 * neighbours; next to the wilderness it becomes wilderness. The header at off
 * must be valid (used, or about to become free). With `check` (a constant,
 * like debug) the neighbours' boundary tags it reads are verified before
 * anything is written: HEAP_E_CORRUPT, and nothing changed, if one is not
 * sound. Returns HEAP_OK otherwise. */
static INLINE int release_block(struct heap *h, uint32_t off, uint32_t size, int debug, int check)
{
    uint32_t sf = blk(h, off)->sf;
    uint32_t next = off + size, psize = 0, nsf = 0;
    if (next != h->top) {
        nsf = blk(h, next)->sf;
        if (check && (!hdr_ok(h, next) || (nsf & F_PFREE)))
            return HEAP_E_CORRUPT;
    }
    if (sf & F_PFREE) {
        psize = footer(h, off);
        if (check && (psize < MIN_FREE || psize > off - h->first || (psize & 7) ||
                      !hdr_ok(h, off - psize) || (blk(h, off - psize)->sf & ~F_DBG) != psize))
            return HEAP_E_CORRUPT;
    }
    /* Mark it free first: a stale header left inside a merged block, or
     * above top, must read free so a later double free is recognised. */
    set_hdr(h, off, size);
    off -= psize;
    size += psize;
    if (next == h->top) {
        if (psize)
            bin_remove(h, off);
        set_top(h, off);
        return HEAP_OK;
    }
    if (nsf & F_USED) {
        mark_pfree(h, next);
    } else {
        bin_remove(h, next);
        size += bsize(nsf);
    }
    unsigned i = bin_index(size);
    if (psize) {
        /* The block below grows; if it heads the bin of its new size it
         * stays put (not when its body is poisoned: the new part is not). */
        if (fblk(h, off)->prev == BIN_HEAD(i) && blk(h, off)->sf == psize &&
            !(debug && (h->debug & HEAP_DEBUG_POISON))) {
            set_hdr(h, off, size);
            set_footer(h, off, size);
            return HEAP_OK;
        }
        bin_remove(h, off);
    }
    mark_free(h, off, size, i, debug);
    return HEAP_OK;
}

/* Bytes to skip from free block off so that the payload after them is
 * aligned to align and the skipped prefix can stand as a free block. */
static INLINE uint32_t align_skip(const struct heap *h, uint32_t off, uint32_t align)
{
    uintptr_t pay = (uintptr_t)at(h, off + HDR);
    uint32_t pre = (uint32_t)(((pay + align - 1) & ~(uintptr_t)(align - 1)) - pay);
    return pre && pre < MIN_FREE ? pre + align : pre;
}

/* TAIL field for a block of `size` bytes holding a rounded request of `pay`
 * (debug and reserve blocks keep their length elsewhere). */
static INLINE uint32_t tail_bits(uint32_t size, uint32_t pay, uint32_t flags)
{
    if (flags & (F_DBG | F_RESV))
        return 0;
    return ((size - HDR - pay) / GRAIN) << TAIL_SHIFT;
}

/* Carve a used block of `need` bytes whose payload is aligned to `align` (a
 * power of two >= 8) out of free block off, already off its bin and big
 * enough, or, when off is h->top, out of the wilderness. `flags` go into the
 * header; `pay` is the rounded request. Returns the block's offset, 0 if the
 * wilderness is too small. */
static INLINE uint32_t carve(struct heap *h, uint32_t off, uint32_t need, uint32_t pay,
                             uint32_t align, uint32_t flags, int debug)
{
    uint32_t pre = align > GRAIN ? align_skip(h, off, align) : 0;
    if (off == h->top) {
        if (UNLIKELY(h->size - off < pre + need))
            return 0;
        if (pre)
            mark_free(h, off, pre, bin_index(pre), debug);
        off += pre;
        set_hdr(h, off, need | flags | tail_bits(need, pay, flags) | (pre ? F_PFREE : 0));
        set_top(h, off + need);
        return off;
    }
    uint32_t have = bsize(blk(h, off)->sf), pflag = 0;
    if (pre) {
        /* The prefix stays free; the block below it is used. */
        mark_free(h, off, pre, bin_index(pre), debug);
        off += pre;
        have -= pre;
        pflag = F_PFREE;
    }
    uint32_t rem = have - need;
    if (rem >= SPLIT_MIN) {
        /* The block after the remainder keeps its PFREE. */
        set_hdr(h, off, need | flags | pflag | tail_bits(need, pay, flags));
        mark_free(h, off + need, rem, bin_index(rem), debug);
    } else {
        /* A free block never touches top: a used block follows. */
        set_hdr(h, off, have | flags | pflag | tail_bits(have, pay, flags));
        flip_flags(blk(h, off + have), F_PFREE);
    }
    return off;
}

/* The rounded request a live block holds (what payload_bytes counts). */
static INLINE uint32_t block_payload_of(const struct heap *h, uint32_t off)
{
    uint32_t sf = blk(h, off)->sf;
    if (sf & F_RESV)
        return *(const uint32_t *)at(h, off + bsize(sf) - 4);
    if (sf & F_DBG)
        return round8(trailer(h, off, bsize(sf))->req);
    return bsize(sf) - HDR - ((sf & TAIL_MASK) >> TAIL_SHIFT) * GRAIN;
}

/* Count a live block in (dir 1) or out (dir -1) of the statistics: its
 * bytes, its payload (pay, the rounded request: block_payload_of), and its
 * class's block count when a run could have held it. dir is a constant at
 * every call, so each call is the plain additions or the plain
 * subtractions. */
static INLINE void block_count(struct heap *h, uint32_t sf, uint32_t pay, int dir)
{
    int in_class = pay <= SMALL_MAX && !(sf & F_DBG);
    if (dir > 0) {
        h->block_bytes += bsize(sf);
        h->block_payload += pay;
        if (in_class)
            h->class_blocks[(pay - 1) / GRAIN]++;
        size_t used = h->slot_bytes + h->block_bytes;
        if (used > h->peak_used)
            h->peak_used = used;
    } else {
        h->block_bytes -= bsize(sf);
        h->block_payload -= pay;
        if (in_class)
            h->class_blocks[(pay - 1) / GRAIN]--;
    }
}

/* block_count of the live block at off, as its header stands. */
static INLINE void block_count_at(struct heap *h, uint32_t off, int dir)
{
    block_count(h, blk(h, off)->sf, block_payload_of(h, off), dir);
}

/* Validate p, a payload address (in_heap) outside any run, as the payload
 * of a live block: its seal and state, then its neighbours' boundary tags in
 * the order a release reads them. Returns 0 and sets *offp, or a HEAP_E_*
 * code. Reads only. */
static INLINE int block_validate(const struct heap *h, const void *p, uint32_t *offp)
{
    uint32_t off = offset_of(h, p) - HDR;
    const struct blk *b = blk(h, off);
    uint32_t sf = b->sf;
    if (b->seal != (off ^ sf ^ h->key))
        return HEAP_E_INVALID;
    if (!(sf & F_USED))
        return HEAP_E_DOUBLE;
    if (sf & F_RUN)
        return HEAP_E_INVALID;
    uint32_t size = bsize(sf);
    if (size < MIN_FREE || size > h->top - off)
        return HEAP_E_CORRUPT;
    uint32_t next = off + size;
    if (next != h->top) {
        if (!hdr_ok(h, next) || (blk(h, next)->sf & F_PFREE))
            return HEAP_E_CORRUPT;
    }
    if (sf & F_PFREE) {
        uint32_t psize = footer(h, off);
        if (psize < MIN_FREE || psize > off - h->first || (psize & 7))
            return HEAP_E_CORRUPT;
        uint32_t prev = off - psize;
        if (!hdr_ok(h, prev) || (blk(h, prev)->sf & ~F_DBG) != psize)
            return HEAP_E_CORRUPT;
    }
    if (sf & F_DBG) {
        const struct trail *t = trailer(h, off, size);
        if (t->magic != DBG_MAGIC || t->req > size - HDR - DBG_TRAIL - GRAIN)
            return HEAP_E_CORRUPT;
    }
    *offp = off;
    return HEAP_OK;
}

/* Free the validated live block at off: out of the statistics, then
 * released. */
static INLINE void block_free_at(struct heap *h, uint32_t off, int debug)
{
    block_count_at(h, off, -1);
    h->frees++;
    release_block(h, off, bsize(blk(h, off)->sf), debug, 0);
}

/* block.c */
uint32_t block_get(struct heap *h, uint32_t need, uint32_t pay, uint32_t align, uint32_t flags);
void *block_alloc(struct heap *h, uint32_t pay);
void *block_alloc_reserve(struct heap *h, uint32_t need, uint32_t pay);
void *block_alloc_any(struct heap *h, size_t size, size_t align, uintptr_t site);
int block_free(struct heap *h, void *p);

#endif
