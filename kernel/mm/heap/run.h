/* run.h — the small-object fast paths: finding the run a pointer is in,
 * taking a class's lowest free slot, and freeing a slot. Inline, since
 * heap_alloc and heap_free are little more than these. Creating, releasing
 * and relisting runs (the slow paths) is run.c's; the run layout is drawn in
 * internal.h.
 */
#ifndef KOS_HEAP_RUN_H
#define KOS_HEAP_RUN_H

#include "internal.h"

/* Take the lowest free slot of run roff, the head of class c's partial
 * list: the first word with a free slot start (avail), its first free
 * start. A run that fills up leaves the list. */
static INLINE void *slot_take(struct heap *h, unsigned c, uint32_t roff)
{
    struct run *r = run_at(h, roff);
    unsigned avail = r->avail;
    unsigned w = ffs32(avail);
    uint32_t live = r->live[w];
    uint32_t open = class_starts[c][w] & ~live;
    unsigned b = ffs32(open);
    r->live[w] = live | (1u << b);
    r->nlive++;
    if (!(open & (open - 1))) {
        /* That was the word's last free slot start; w is avail's lowest bit. */
        avail &= avail - 1;
        r->avail = (uint8_t)avail;
        if (!avail) {
            h->partial[c] = r->next;
            if (r->next)
                run_at(h, r->next)->prev = 0;
            r->prev = OFF_LIST;
        }
    }
    size_t slots = h->slot_bytes + (c + 1) * GRAIN;
    h->slot_bytes = slots;
    if (slots + h->block_bytes > h->peak_used)
        h->peak_used = slots + h->block_bytes;
    h->allocs++;
    return (uint8_t *)r + (w * 32 + b) * GRAIN;
}

/* The run whose RUN_BYTES span holds the payload address a (in_heap(a)),
 * or NULL: a run iff the run seal holds at the boundary below a. A run's
 * address is a payload address, so a boundary below lo (in the control
 * data, or below the region) is none. */
static inline struct run *run_of(const struct heap *h, uintptr_t a)
{
    uintptr_t r = a & ~(uintptr_t)(RUN_BYTES - 1);
    if (r < h->lo)
        return NULL;
    return ((struct run *)r)->seal == run_seal(h, (struct run *)r) ? (struct run *)r : NULL;
}

/* The live-map word and bit of payload address a in its run. */
static inline uint32_t *live_word(struct run *r, uintptr_t a)
{
    return &r->live[(a / (32 * GRAIN)) % RUN_WORDS];
}

static inline uint32_t live_bit(uintptr_t a)
{
    return 1u << ((a / GRAIN) % 32);
}

/* run.c */
int run_changed(struct heap *h, struct run *r);
void *small_alloc_slow(struct heap *h, unsigned c);
size_t run_release_empty(struct heap *h);

/* Free the slot at payload address a of run r, whose live bit is set. */
static INLINE int slot_free(struct heap *h, struct run *r, uintptr_t a)
{
    *live_word(r, a) &= ~live_bit(a);
    unsigned w = (unsigned)(a / (32 * GRAIN)) % RUN_WORDS;
    unsigned avail = r->avail;
    r->avail = (uint8_t)(avail | 1u << w);
    unsigned nlive = r->nlive - 1u;
    r->nlive = (uint8_t)nlive;
    h->slot_bytes -= (r->cls + 1) * GRAIN;
    h->frees++;
    if (UNLIKELY(!avail || !nlive))
        return run_changed(h, r);
    return HEAP_OK;
}

#endif
