/* debug.c — the heap's debug modes (HEAP_DEBUG_*): poisoning free blocks
 * with POISON_FREE and verifying the poison on reuse, red zones of REDZONE
 * bytes after a debug block's request, the trailer that records the request
 * and its call site, and the free of a block while debugging. None of this
 * runs unless a flag is on or a debug block is involved; the byte layout is
 * drawn in internal.h.
 */
#include "../../lib/string.h"
#include "block.h"

/* Index of the first byte in [p, p + n) that is not v, or n. */
size_t debug_find_not(const uint8_t *p, uint8_t v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != v)
            break;
    return i;
}

/* Poison the body of free block [off, off + size): past its links, up to
 * its footer. */
void debug_poison(struct heap *h, uint32_t off, uint32_t size)
{
    memset(at(h, off + 16), POISON_FREE, size - 20);
}

/* Check a poisoned free block before it is reused; report a write after free. */
void debug_verify_poison(struct heap *h, uint32_t off)
{
    uint32_t sf = blk(h, off)->sf;
    if (!(sf & F_DBG))
        return;
    uint32_t n = bsize(sf) - 20;
    const uint8_t *body = at(h, off + 16);
    size_t i = debug_find_not(body, POISON_FREE, n);
    if (i < n) {
        h->debug_errors++;
        heap_report(h, HEAP_E_POISON, "use after free: freed memory was written", body + i);
    }
}

/* Red zone of a debug block: NULL if intact, else the first bad byte. */
const uint8_t *debug_redzone_bad(const struct heap *h, uint32_t off)
{
    uint32_t size = bsize(blk(h, off)->sf);
    const struct trail *t = trailer(h, off, size);
    const uint8_t *rz = at(h, off + HDR + t->req);
    size_t n = (size_t)(size - HDR - DBG_TRAIL - t->req);
    size_t i = debug_find_not(rz, REDZONE, n);
    return i < n ? rz + i : NULL;
}

/* Fill in a new debug block at off: trailer (request, magic, call site
 * when tracking) and the red zone between request and trailer. */
void debug_arm(struct heap *h, uint32_t off, size_t req, uintptr_t site)
{
    uint32_t bs = bsize(blk(h, off)->sf);
    struct trail *t = trailer(h, off, bs);
    t->req = (uint32_t)req;
    t->magic = DBG_MAGIC;
    t->site = (h->debug & HEAP_DEBUG_TRACK) ? site : 0;
    memset(at(h, off + HDR + (uint32_t)req), REDZONE, bs - HDR - DBG_TRAIL - (uint32_t)req);
}

/* Free the validated block at off while debugging or a debug block: freed
 * (and poisoned when poisoning is on) unless its red zone was written, in
 * which case it stays allocated for inspection. */
int debug_block_free(struct heap *h, uint32_t off)
{
    const uint8_t *bad = (blk(h, off)->sf & F_DBG) ? debug_redzone_bad(h, off) : NULL;
    if (bad) {
        h->bad_frees++;
        h->debug_errors++;
        heap_report(h, HEAP_E_REDZONE, "red zone overwritten: block not freed", bad);
        return HEAP_E_REDZONE;
    }
    block_free_at(h, off, 1);
    return HEAP_OK;
}
