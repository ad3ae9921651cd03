/* bins.h — the size classes of free blocks and their segregated lists: the
 * bin of a size, putting a free block on its list and taking it off, and the
 * O(1) good-fit search over the two-level bitmap. Inline: the block paths
 * of block.h run through here on every operation. Which bytes a free block
 * holds is drawn in internal.h; writing them is block.h's.
 */
#ifndef KOS_HEAP_BINS_H
#define KOS_HEAP_BINS_H

#include "internal.h"

/* The bin of a free block of `size` bytes: fl * SL_COUNT + sl, where fl 0
 * holds sizes below 1 << FL_SHIFT in 8-byte steps and every higher fl one
 * power of two split into SL_COUNT equal ranges. */
static INLINE unsigned bin_index(uint32_t size)
{
    /* One formula for both: with f = fls(size) raised to FL_SHIFT, sizes
     * below 1 << FL_SHIFT give size >> 3 (fl 0), larger ones fl f - 7 and
     * sl their next SL_LOG bits below the top one. */
    unsigned f = fls32(size | (1u << FL_SHIFT));
    return (size >> (f - SL_LOG)) + (f << SL_LOG) - (FL_SHIFT << SL_LOG);
}

/* The smallest size bin i holds: bin_index(bin_floor(i)) == i. */
static inline uint32_t bin_floor(unsigned i)
{
    unsigned fl = i / SL_COUNT, sl = i % SL_COUNT;
    if (fl == 0)
        return sl * GRAIN;
    return (SL_COUNT + sl) << (fl + FL_SHIFT - 1 - SL_LOG);
}

/* A free block's prev link: the block before it in its list, or, for the
 * head of bin i, 2i + 1 (odd, so never an offset): unlinking a block needs
 * no bin computation. */
#define BIN_HEAD(i) (2 * (i) + 1)

static INLINE void bin_insert(struct heap *h, uint32_t off, unsigned i)
{
    struct fblk *f = fblk(h, off);
    uint32_t head = h->bins[i];
    f->next = head;
    f->prev = BIN_HEAD(i);
    h->bins[i] = off;
    h->nfree++;
    if (head) {
        fblk(h, head)->prev = off;
    } else {
        h->fl_map |= 1u << (i / SL_COUNT);
        h->sl_map[i / SL_COUNT] |= 1u << (i % SL_COUNT);
    }
}

/* The list of bin i became empty. */
static INLINE void bin_emptied(struct heap *h, unsigned i)
{
    uint32_t m = h->sl_map[i / SL_COUNT] & ~(1u << (i % SL_COUNT));
    h->sl_map[i / SL_COUNT] = m;
    if (!m)
        h->fl_map &= ~(1u << (i / SL_COUNT));
}

/* Unlink free block off from its bin. */
static INLINE void bin_remove(struct heap *h, uint32_t off)
{
    struct fblk *f = fblk(h, off);
    uint32_t next = f->next, prev = f->prev;
    h->nfree--;
    if (next)
        fblk(h, next)->prev = prev;
    if (prev & 1) {
        unsigned i = prev / 2;
        h->bins[i] = next;
        if (!next)
            bin_emptied(h, i);
    } else {
        fblk(h, prev)->next = next;
    }
}

/* Unlink off, the head of bin i. */
static INLINE void bin_pop(struct heap *h, unsigned i, uint32_t off)
{
    uint32_t next = fblk(h, off)->next;
    h->bins[i] = next;
    h->nfree--;
    if (next)
        fblk(h, next)->prev = BIN_HEAD(i);
    else
        bin_emptied(h, i);
}

/* A free block of at least `need` bytes, removed from its bin; 0 if none.
 * The request's own bin is tried first (up to PROBE entries: it also holds
 * blocks a little smaller than need), then the first non-empty bin above it,
 * whose every block fits. */
static INLINE uint32_t bin_find(struct heap *h, uint32_t need)
{
    if (need > SIZE_MASK)
        return 0;
    unsigned i = bin_index(need);
    uint32_t off = h->bins[i];
    if (off) {
        if (bsize(blk(h, off)->sf) >= need) {
            bin_pop(h, i, off);
            return off;
        }
        for (int k = 1; k < PROBE; k++) {
            off = fblk(h, off)->next;
            if (!off)
                break;
            if (bsize(blk(h, off)->sf) >= need) {
                bin_remove(h, off);
                return off;
            }
        }
    }
    unsigned fl = i / SL_COUNT;
    uint32_t map = h->sl_map[fl] & (~1u << (i % SL_COUNT));
    if (!map) {
        uint32_t fmap = h->fl_map & (~1u << fl);
        if (!fmap)
            return 0;
        fl = ffs32(fmap);
        map = h->sl_map[fl];
    }
    i = fl * SL_COUNT + ffs32(map);
    off = h->bins[i];
    bin_pop(h, i, off);
    return off;
}

#endif
