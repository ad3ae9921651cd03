/* run.c — small-object runs: their creation when a class has demand for
 * one, their partial lists, and their release when they empty out (one empty
 * run per class is kept, and given back by heap_defragment). Taking and
 * freeing slots, the fast paths, are in run.h.
 */
#include "block.h"
#include "run.h"

static void partial_push(struct heap *h, unsigned c, uint32_t roff)
{
    struct run *r = run_at(h, roff);
    uint32_t head = h->partial[c];
    r->next = head;
    r->prev = 0;
    if (head)
        run_at(h, head)->prev = roff;
    h->partial[c] = roff;
}

static void partial_remove(struct heap *h, unsigned c, uint32_t roff)
{
    struct run *r = run_at(h, roff);
    if (r->next)
        run_at(h, r->next)->prev = r->prev;
    if (r->prev)
        run_at(h, r->prev)->next = r->next;
    else
        h->partial[c] = r->next;
}

/* A new run of class c on its partial list, 0 if no aligned spot is free. */
static uint32_t run_new(struct heap *h, unsigned c)
{
    uint32_t b = block_get(h, RUN_BYTES, RUN_SPAN, RUN_BYTES, F_USED | F_RUN);
    if (!b)
        return 0;
    uint32_t roff = b + HDR;
    struct run *r = run_at(h, roff);
    r->seal = run_seal(h, r);
    r->cls = (uint8_t)c;
    r->nslots = (uint8_t)class_slots(c);
    r->nlive = 0;
    unsigned avail = 0;
    for (unsigned w = 0; w < RUN_WORDS; w++) {
        r->live[w] = 0;
        if (class_starts[c][w])
            avail |= 1u << w;
    }
    r->avail = (uint8_t)avail;
    partial_push(h, c, roff);
    h->runs++;
    h->class_runs[c]++;
    h->run_bytes += bsize(blk(h, b)->sf);
    return roff;
}

/* Give the empty run roff of class c back to the free space; returns its
 * block's size. */
static uint32_t run_release(struct heap *h, unsigned c, uint32_t roff)
{
    partial_remove(h, c, roff);
    struct run *r = run_at(h, roff);
    r->seal = 0;
    h->runs--;
    h->class_runs[c]--;
    uint32_t b = roff - HDR;
    uint32_t size = bsize(blk(h, b)->sf);
    h->run_bytes -= size;
    release_block(h, b, size, 1, 0);
    return size;
}

/* A slot of run r was freed and the run was full (so off its partial
 * list), or became empty: back on the list, or released unless it is the
 * class's only run with room (one empty run is kept so that a class
 * hovering at a run boundary does not churn). */
NOINLINE int run_changed(struct heap *h, struct run *r)
{
    uint32_t roff = offset_of(h, r);
    unsigned c = r->cls;
    if (r->prev == OFF_LIST)
        partial_push(h, c, roff);
    if (!r->nlive && (h->partial[c] != roff || r->next))
        run_release(h, c, roff);
    return HEAP_OK;
}

/* The first slot of a new run of class c, or a block when no run fits.
 * Out of line, so that small_alloc_slow's block path stays a leaf. */
static NOINLINE void *run_alloc(struct heap *h, unsigned c)
{
    uint32_t roff = run_new(h, c);
    if (roff)
        return slot_take(h, c, roff);
    return block_alloc(h, (c + 1) * GRAIN);
}

/* Class c has no run with room. Until it has demand for a run (see
 * internal.h) the request is a block; else a new run, or a block when no
 * run fits. */
NOINLINE void *small_alloc_slow(struct heap *h, unsigned c)
{
    if (h->class_runs[c] || h->class_blocks[c] >= class_demand(c) ||
        h->slot_bytes + h->block_bytes >= RUN_HEAP_MIN)
        return run_alloc(h, c);
    return block_alloc(h, (c + 1) * GRAIN);
}

/* Release every run with no live slot (the one each class keeps); returns
 * the bytes given back. */
size_t run_release_empty(struct heap *h)
{
    size_t bytes = 0;
    for (unsigned c = 0; c < NCLS; c++) {
        uint32_t r = h->partial[c];
        while (r) {
            uint32_t next = run_at(h, r)->next;
            if (!run_at(h, r)->nlive)
                bytes += run_release(h, c, r);
            r = next;
        }
    }
    return bytes;
}

/* class_starts, worked out by the compiler: grain g of a run starts a slot
 * of class c (q = c + 1 grains a slot) when it is RUN_OBJ / GRAIN + i * q
 * for a slot i below class_slots(c). One row per class, one word per 32
 * grains. */
#define SLOT0 (RUN_OBJ / GRAIN)
#define STARTS_SLOT(c, g) \
    ((g) >= SLOT0 && ((g) - SLOT0) % ((c) + 1) == 0 && \
     ((g) - SLOT0) / ((c) + 1) < (RUN_SPAN - RUN_OBJ) / (((c) + 1) * GRAIN))
#define STARTS_BIT(c, w, b) (STARTS_SLOT(c, 32 * (w) + (b)) ? 1u << (b) : 0u)
#define STARTS_4(c, w, b) \
    (STARTS_BIT(c, w, b) | STARTS_BIT(c, w, b + 1) | STARTS_BIT(c, w, b + 2) | STARTS_BIT(c, w, b + 3))
#define STARTS_WORD(c, w) \
    (STARTS_4(c, w, 0) | STARTS_4(c, w, 4) | STARTS_4(c, w, 8) | STARTS_4(c, w, 12) | \
     STARTS_4(c, w, 16) | STARTS_4(c, w, 20) | STARTS_4(c, w, 24) | STARTS_4(c, w, 28))
#define STARTS_ROW(c) \
    { STARTS_WORD(c, 0), STARTS_WORD(c, 1), STARTS_WORD(c, 2), STARTS_WORD(c, 3), \
      STARTS_WORD(c, 4), STARTS_WORD(c, 5), STARTS_WORD(c, 6), STARTS_WORD(c, 7) }

_Static_assert(RUN_WORDS == 8 && NCLS == 24, "class_starts spells out 24 rows of 8 words");

const uint32_t class_starts[NCLS][RUN_WORDS] = {
    STARTS_ROW(0),  STARTS_ROW(1),  STARTS_ROW(2),  STARTS_ROW(3),  STARTS_ROW(4),  STARTS_ROW(5),
    STARTS_ROW(6),  STARTS_ROW(7),  STARTS_ROW(8),  STARTS_ROW(9),  STARTS_ROW(10), STARTS_ROW(11),
    STARTS_ROW(12), STARTS_ROW(13), STARTS_ROW(14), STARTS_ROW(15), STARTS_ROW(16), STARTS_ROW(17),
    STARTS_ROW(18), STARTS_ROW(19), STARTS_ROW(20), STARTS_ROW(21), STARTS_ROW(22), STARTS_ROW(23),
};
