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
        if (h->starts[c][w])
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
    release_block(h, b, size, 1);
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

/* Class c has no run with room. Until it has demand for a run (see
 * internal.h) the request is a block; else a new run, or a block when no
 * run fits. */
NOINLINE void *small_alloc_slow(struct heap *h, unsigned c)
{
    if (h->class_runs[c] || h->class_blocks[c] >= class_demand(c) ||
        h->slot_bytes + h->block_bytes >= RUN_HEAP_MIN) {
        uint32_t roff = run_new(h, c);
        if (roff)
            return slot_take(h, c, roff);
    }
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

/* Every class's slot starts within a run (the same for every run). */
void run_init_classes(struct heap *h)
{
    for (unsigned c = 0; c < NCLS; c++) {
        unsigned q = c + 1, n = class_slots(c);
        for (unsigned i = 0; i < n; i++) {
            unsigned g = RUN_OBJ / GRAIN + i * q;
            h->starts[c][g >> 5] |= 1u << (g & 31);
        }
    }
}
