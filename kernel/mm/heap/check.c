/* check.c — looking at the whole heap: heap_check (every invariant listed
 * in internal.h, each violation reported once), heap_walk (every block in
 * address order, for leak reports) and heap_get_stats (the counters, in
 * constant time: it never walks).
 */
#include "block.h"

void heap_get_stats(struct heap *h, struct heap_stats *st)
{
    uint32_t wild = h->size - h->top;
    size_t largest = wild;
    if (h->fl_map) {
        /* The highest non-empty bin holds the largest block; all its blocks
         * are at least its floor, which an allocation is sure to get. */
        unsigned fl = fls32(h->fl_map);
        uint32_t floor = bin_floor(fl * SL_COUNT + fls32(h->sl_map[fl]));
        if (floor > largest)
            largest = floor;
    }
    st->region_size = h->size;
    st->used_bytes = h->slot_bytes + h->block_bytes;
    st->free_bytes = h->size - h->first - h->block_bytes - h->run_bytes;
    st->payload_bytes = h->slot_bytes + h->block_payload;
    st->peak_used_bytes = h->peak_used;
    st->largest_free = largest > HDR ? largest - HDR : 0;
    st->live_blocks = h->allocs - h->frees;
    st->free_blocks = h->nfree + (wild != 0);
    st->allocs = h->allocs;
    st->frees = h->frees;
    st->failed_allocs = h->failed;
    st->bad_frees = h->bad_frees;
    st->extent_bytes = h->hiwater;
    st->debug_errors = h->debug_errors;
    st->runs = h->runs;
}

static void walk_run(const struct heap *h, uint32_t roff, heap_walk_fn fn, void *ctx)
{
    const struct run *r = run_at(h, roff);
    for (unsigned w = 0; w < RUN_WORDS; w++) {
        for (uint32_t live = r->live[w]; live; live &= live - 1) {
            struct heap_block b;
            b.payload = at(h, roff + (w * 32 + ffs32(live)) * GRAIN);
            b.size = (r->cls + 1) * GRAIN;
            b.used = 1;
            b.site = 0;
            fn(&b, ctx);
        }
    }
}

void heap_walk(struct heap *h, heap_walk_fn fn, void *ctx)
{
    uint32_t off = h->first;
    while (off < h->top) {
        uint32_t sf = blk(h, off)->sf;
        uint32_t size = bsize(sf);
        if (!hdr_ok(h, off) || size < MIN_FREE || size > h->top - off)
            return;
        if ((sf & F_USED) && (sf & F_RUN)) {
            walk_run(h, off + HDR, fn, ctx);
        } else {
            struct heap_block b;
            b.payload = at(h, off + HDR);
            b.used = (sf & F_USED) != 0;
            b.site = 0;
            b.size = size - HDR - ((sf & F_RESV) ? GRAIN : 0);
            if (b.used && (sf & F_DBG)) {
                const struct trail *t = trailer(h, off, size);
                b.size = t->req;
                b.site = (uintptr_t)t->site;
            }
            fn(&b, ctx);
        }
        off += size;
    }
    if (h->size - h->top > HDR) {
        struct heap_block b;
        b.payload = at(h, h->top + HDR);
        b.size = h->size - h->top - HDR;
        b.used = 0;
        b.site = 0;
        fn(&b, ctx);
    }
}

/* ---- integrity ----------------------------------------------------------- */

struct checker {
    const struct heap *h;
    heap_report_fn fn;
    void *ctx;
    unsigned bad;
};

static void violation(struct checker *c, const char *what, uint32_t off)
{
    c->bad++;
    if (c->fn)
        c->fn(what, at(c->h, off), c->ctx);
}

static unsigned popcount32(uint32_t x)
{
    unsigned n = 0;
    while (x) {
        x &= x - 1;
        n++;
    }
    return n;
}

/* Check one run; adds its live slots to *live and their bytes to *bytes. */
static void check_run(struct checker *c, uint32_t roff, uint32_t bsz, size_t *live, size_t *bytes,
                      uint32_t *partial_runs, uint32_t *empty_runs)
{
    const struct heap *h = c->h;
    const struct run *r = run_at(h, roff);
    if (r->seal != run_seal(h, r) || r->cls >= NCLS) {
        violation(c, "run header damaged", roff);
        return;
    }
    if ((uintptr_t)r & (RUN_BYTES - 1))
        violation(c, "run misaligned", roff);
    if (bsz < RUN_BYTES || bsz - RUN_BYTES >= SPLIT_MIN)
        violation(c, "run block size does not match its class", roff);
    if (r->nslots != class_slots(r->cls))
        violation(c, "run slot count does not match its class", roff);
    unsigned open = 0, avail = 0;
    for (unsigned w = 0; w < RUN_WORDS; w++) {
        uint32_t starts = class_starts[r->cls][w];
        if (r->live[w] & ~starts)
            violation(c, "run live bit off a slot start", roff);
        uint32_t free_starts = starts & ~r->live[w];
        open += popcount32(free_starts);
        if (free_starts)
            avail |= 1u << w;
    }
    if (avail != r->avail)
        violation(c, "run avail map disagrees with its bitmap", roff);
    if (!avail && r->prev != OFF_LIST)
        violation(c, "full run not marked off its list", roff);
    if (r->nlive + open != r->nslots)
        violation(c, "run live count disagrees with its bitmap", roff);
    unsigned n = r->nslots - open;
    *live += n;
    *bytes += (size_t)n * (r->cls + 1) * GRAIN;
    if (open)
        (*partial_runs)++;
    if (!r->nlive)
        empty_runs[r->cls]++;
}

unsigned heap_check(struct heap *h, heap_report_fn report_fn, void *ctx)
{
    struct checker c = { h, report_fn, ctx, 0 };
    if (h->magic != HEAP_MAGIC) {
        violation(&c, "control block damaged", 0);
        return c.bad;
    }
    if (h->top < h->first || h->top > h->size || (h->top & 7) || h->hiwater < h->top)
        violation(&c, "top out of range", h->top);
    if (h->lo != (uintptr_t)at(h, h->first + HDR) ||
        h->gspan != (h->top > h->first ? (h->top - h->first - HDR) / GRAIN : 0))
        violation(&c, "payload range disagrees with top", h->top);
    if (h->small_max != (h->debug ? 0 : SMALL_MAX) || h->plain_max != (h->debug ? 0 : PLAIN_MAX))
        violation(&c, "fast-path limits disagree with the debug flags", 0);

    size_t slot_bytes = 0, block_bytes = 0, payload = 0, freeb = 0, live = 0, nfree = 0;
    uint32_t runs = 0, run_bytes = 0, partial_runs = 0;
    uint32_t empty[NCLS] = { 0 }, class_blocks[NCLS] = { 0 }, class_runs[NCLS] = { 0 };
    int prev_free = 0;
    uint32_t off = h->first;
    while (off < h->top) {
        const struct blk *b = blk(h, off);
        uint32_t sf = b->sf, size = bsize(sf);
        if (!hdr_ok(h, off)) {
            violation(&c, "header seal broken", off);
            return c.bad;
        }
        if (size < MIN_FREE || size > h->top - off) {
            violation(&c, "block size out of range", off);
            return c.bad;
        }
        if (!!(sf & F_PFREE) != prev_free)
            violation(&c, "PFREE bit disagrees with the previous block", off);
        if (sf & F_USED) {
            if (sf & F_RUN) {
                runs++;
                run_bytes += size;
                check_run(&c, off + HDR, size, &live, &slot_bytes, &partial_runs, empty);
                class_runs[run_at(h, off + HDR)->cls % NCLS]++;
            } else {
                uint32_t pay = block_payload_of(h, off);
                block_bytes += size;
                payload += pay;
                if (pay <= SMALL_MAX && !(sf & F_DBG))
                    class_blocks[(pay - 1) / GRAIN]++;
                live++;
                if (sf & F_DBG) {
                    const struct trail *t = trailer(h, off, size);
                    if (t->magic != DBG_MAGIC || t->req > size - HDR - DBG_TRAIL - GRAIN)
                        violation(&c, "debug trailer damaged", off);
                    else if (debug_redzone_bad(h, off))
                        violation(&c, "red zone overwritten", off);
                } else if (((sf & TAIL_MASK) >> TAIL_SHIFT) * GRAIN >= SPLIT_MIN + MIN_FREE) {
                    violation(&c, "tail slack too large", off);
                } else if (sf & F_RESV) {
                    uint32_t len = *(const uint32_t *)at(h, off + size - 4);
                    if ((sf & TAIL_MASK) || (len & 7) || len > size - HDR - GRAIN)
                        violation(&c, "reserve block length word damaged", off);
                }
            }
            prev_free = 0;
        } else {
            if (sf & (F_RUN | F_RESV | TAIL_MASK))
                violation(&c, "free block with used-only flags", off);
            if (prev_free)
                violation(&c, "two adjacent free blocks (missed coalescing)", off);
            if (*(const uint32_t *)at(h, off + size - 4) != size)
                violation(&c, "footer disagrees with header", off);
            if (sf & F_DBG) {
                const uint8_t *body = at(h, off + 16);
                if (debug_find_not(body, POISON_FREE, size - 20) < size - 20)
                    violation(&c, "poisoned free block was written", off);
            }
            freeb += size;
            nfree++;
            prev_free = 1;
        }
        off += size;
    }
    if (off != h->top)
        violation(&c, "blocks overrun top", off);
    if (prev_free)
        violation(&c, "free block left below top", h->top);

    /* Bins against bitmaps and sizes. */
    size_t listed = 0, listed_bytes = 0;
    for (unsigned i = 0; i < FL_COUNT * SL_COUNT; i++) {
        unsigned fl = i / SL_COUNT, sl = i % SL_COUNT;
        if (sl == 0 && !!(h->fl_map & (1u << fl)) != !!h->sl_map[fl])
            violation(&c, "first-level bitmap disagrees with second level", 0);
        uint32_t o = h->bins[i];
        if (!!(h->sl_map[fl] & (1u << sl)) != !!o)
            violation(&c, "bitmap bit disagrees with its list", 0);
        uint32_t prev = BIN_HEAD(i);
        size_t steps = 0;
        while (o) {
            if (o < h->first || o >= h->top || (o & 7) || !hdr_ok(h, o) || (blk(h, o)->sf & F_USED)) {
                violation(&c, "bin holds something that is not a free block", o);
                break;
            }
            if (bin_index(bsize(blk(h, o)->sf)) != i)
                violation(&c, "free block in the wrong bin", o);
            if (fblk(h, o)->prev != prev)
                violation(&c, "bin back link broken", o);
            if (++steps > nfree) {
                violation(&c, "bin list has a cycle", o);
                break;
            }
            listed++;
            listed_bytes += bsize(blk(h, o)->sf);
            prev = o;
            o = fblk(h, o)->next;
        }
    }
    if (listed != nfree || listed_bytes != freeb)
        violation(&c, "bins do not hold exactly the free blocks", 0);

    /* Partial-run lists. */
    uint32_t on_lists = 0;
    for (unsigned cl = 0; cl < NCLS; cl++) {
        uint32_t prev = 0;
        for (uint32_t r = h->partial[cl]; r; r = run_at(h, r)->next) {
            const struct run *rr = run_at(h, r);
            if (r < h->first || r >= h->top || rr->seal != run_seal(h, rr) || rr->cls != cl ||
                rr->avail == 0 || rr->prev != prev || on_lists > runs) {
                violation(&c, "partial run list damaged", r);
                break;
            }
            on_lists++;
            prev = r;
        }
        if (empty[cl] > 1)
            violation(&c, "more than one empty run kept", 0);
    }
    if (on_lists != partial_runs)
        violation(&c, "partial lists do not hold exactly the runs with room", 0);

    if (slot_bytes != h->slot_bytes || block_bytes != h->block_bytes ||
        payload != h->block_payload || live != (uint32_t)(h->allocs - h->frees))
        violation(&c, "used statistics disagree with the walk", 0);
    if (nfree != h->nfree)
        violation(&c, "free block count disagrees with the walk", 0);
    if (runs != h->runs || run_bytes != h->run_bytes)
        violation(&c, "run count disagrees with the walk", 0);
    for (unsigned cl = 0; cl < NCLS; cl++) {
        if (class_blocks[cl] != h->class_blocks[cl] || class_runs[cl] != h->class_runs[cl]) {
            violation(&c, "class demand counts disagree with the walk", 0);
            break;
        }
    }
    return c.bad;
}

