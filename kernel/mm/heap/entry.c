/* entry.c — the heap's entry points: heap_init, the allocation and free
 * dispatch between runs and blocks, pointer lookup, defragmentation, the
 * debug switch and error reporting. The work is in the modules (heap.h
 * lists them); realloc is realloc.c's, checking, walking and statistics
 * check.c's.
 */
#include "../../lib/string.h"
#include "block.h"
#include "run.h"

void heap_report(struct heap *h, int err, const char *what, const void *where)
{
    h->last_error = (enum heap_error)err;
    if (h->report)
        h->report(what, where, h->report_ctx);
}

int heap_refuse(struct heap *h, int err, const void *p)
{
    h->bad_frees++;
    heap_report(h, err, heap_strerror(err), p);
    return err;
}

/* Was a, a payload address at or above top, a block freed into the
 * wilderness? Nothing writes above top, so its header still reads free. */
static int freed_into_wilderness(const struct heap *h, uintptr_t a)
{
    uintptr_t base = (uintptr_t)h;
    if ((a & 7) || a < base + h->top + HDR || a >= base + h->hiwater)
        return 0;
    uint32_t off = (uint32_t)(a - base) - HDR;
    return hdr_ok(h, off) && !(blk(h, off)->sf & F_USED);
}

int heap_lookup(const struct heap *h, const void *p, uint32_t *ref)
{
    uintptr_t a = (uintptr_t)p;
    if (!in_heap(h, a))
        return freed_into_wilderness(h, a) ? HEAP_E_DOUBLE : HEAP_E_INVALID;
    struct run *r = run_of(h, a);
    if (r) {
        if (*live_word(r, a) & live_bit(a)) {
            *ref = offset_of(h, r);
            return 1;
        }
        /* A slot start not live is a double free; anything else in the run
         * is an interior or foreign pointer. */
        uint32_t starts = class_starts[r->cls % NCLS][(a / (32 * GRAIN)) % RUN_WORDS];
        return starts & live_bit(a) ? HEAP_E_DOUBLE : HEAP_E_INVALID;
    }
    int e = block_validate(h, p, ref);
    return e ? e : 2;
}

struct heap *heap_init(void *base, size_t size)
{
    if (!base)
        return NULL;
    uintptr_t a = (uintptr_t)base;
    uintptr_t al = (a + GRAIN - 1) & ~(uintptr_t)(GRAIN - 1);
    if (size < al - a)
        return NULL;
    size -= al - a;
    if (size > MAX_REGION)
        size = MAX_REGION;
    size &= ~(size_t)(GRAIN - 1);
    uint32_t first = (uint32_t)((sizeof(struct heap) + GRAIN - 1) & ~(size_t)(GRAIN - 1));
    if (size < (size_t)first + RUN_BYTES)
        return NULL;
    struct heap *h = (struct heap *)al;
    memset(h, 0, sizeof *h);
    h->magic = HEAP_MAGIC;
    h->key = ((uint32_t)al * 0x9E3779B1u) ^ 0xC3A5C85Cu;
    h->run_key = h->key ^ RUN_SALT;
    h->size = (uint32_t)size;
    h->first = first;
    h->lo = al + first + HDR;
    set_top(h, first);
    heap_set_debug(h, 0);
    return h;
}

void *heap_alloc(struct heap *h, size_t size, size_t align, uintptr_t site)
{
    /* small_max and plain_max are 0 while debugging: everything then takes
     * block_alloc_any, as does size 0 (size - 1 wraps). */
    size_t s1 = size - 1;
    if (s1 < h->small_max && align <= HEAP_ALIGN) {
        unsigned c = (unsigned)(s1 / GRAIN);
        uint32_t roff = h->partial[c];
        if (roff)
            return slot_take(h, c, roff);
        return small_alloc_slow(h, c);
    }
    if (s1 < h->plain_max && align <= HEAP_ALIGN)
        return block_alloc(h, round8(size));
    return block_alloc_any(h, size, align, site);
}

/* heap_free of a pointer inside a run's span that is not a live slot. */
static NOINLINE int free_in_run_error(struct heap *h, void *p)
{
    uint32_t ref = 0;
    int kind = heap_lookup(h, p, &ref);
    return heap_refuse(h, kind < 0 ? kind : HEAP_E_CORRUPT, p);
}

/* heap_free of NULL or of an address no live payload can have. */
static NOINLINE int free_outside(struct heap *h, void *p)
{
    uint32_t ref = 0;
    return p ? heap_refuse(h, heap_lookup(h, p, &ref), p) : HEAP_OK;
}

int heap_free(struct heap *h, void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (UNLIKELY(!in_heap(h, a)))
        return free_outside(h, p);
    struct run *r = run_of(h, a);
    if (!r)
        return block_free(h, p);
    if (UNLIKELY(!(*live_word(r, a) & live_bit(a))))
        return free_in_run_error(h, p);
    return slot_free(h, r, a);
}

/* Usable bytes of a live allocation given its lookup. */
static uint32_t usable(const struct heap *h, int kind, uint32_t ref)
{
    if (kind == 1)
        return (run_at(h, ref)->cls + 1) * GRAIN;
    uint32_t sf = blk(h, ref)->sf;
    if (sf & F_DBG)
        return trailer(h, ref, bsize(sf))->req;
    return bsize(sf) - HDR - ((sf & F_RESV) ? GRAIN : 0);
}

size_t heap_usable_size(struct heap *h, const void *p)
{
    uint32_t ref = 0;
    int kind = heap_lookup(h, p, &ref);
    return kind < 0 ? 0 : usable(h, kind, ref);
}

int heap_owns(struct heap *h, const void *p)
{
    uint32_t ref = 0;
    return heap_lookup(h, p, &ref) > 0;
}

size_t heap_extent(struct heap *h)
{
    return h->hiwater;
}

int heap_last_error(struct heap *h)
{
    return h->last_error;
}

void heap_set_report(struct heap *h, heap_report_fn fn, void *ctx)
{
    h->report = fn;
    h->report_ctx = ctx;
}

/* Trim the growth reserve of the live reserve block at off down to what it
 * holds, when that frees a block's worth; returns the bytes given back. */
static uint32_t reserve_trim(struct heap *h, uint32_t off)
{
    uint32_t sf = blk(h, off)->sf, size = bsize(sf);
    uint32_t pay = *(const uint32_t *)at(h, off + size - 4);
    uint32_t need = HDR + pay + GRAIN;
    if (size - need < SPLIT_MIN)
        return 0;
    block_count_at(h, off, -1);
    set_hdr(h, off, need | (sf & ~SIZE_MASK));
    *(uint32_t *)at(h, off + need - 4) = pay;
    block_count_at(h, off, 1);
    set_hdr(h, off + need, (size - need) | F_USED);
    release_block(h, off + need, size - need, 1, 0);
    return size - need;
}

size_t heap_defragment(struct heap *h)
{
    /* Blocks coalesce as they are freed, so what a defragment can give back
     * is what is held for reuse: empty runs, then unused reserves. */
    size_t bytes = run_release_empty(h);
    uint32_t off = h->first;
    while (off < h->top) {
        uint32_t sf = blk(h, off)->sf;
        if (!hdr_ok(h, off) || bsize(sf) < MIN_FREE || bsize(sf) > h->top - off)
            break;
        if ((sf & (F_USED | F_RESV | F_DBG)) == (F_USED | F_RESV))
            bytes += reserve_trim(h, off);
        off += bsize(blk(h, off)->sf);
    }
    return bytes;
}

void heap_set_debug(struct heap *h, unsigned flags)
{
    h->debug = (enum heap_debug_flag)(flags & (HEAP_DEBUG_POISON | HEAP_DEBUG_REDZONE | HEAP_DEBUG_TRACK));
    h->small_max = h->debug ? 0 : SMALL_MAX;
    h->plain_max = h->debug ? 0 : PLAIN_MAX;
}

unsigned heap_get_debug(struct heap *h)
{
    return h->debug;
}

const char *heap_strerror(int err)
{
    switch (err) {
    case HEAP_OK:
        return "ok";
    case HEAP_E_INVALID:
        return "invalid pointer";
    case HEAP_E_DOUBLE:
        return "double free";
    case HEAP_E_CORRUPT:
        return "heap metadata corrupt";
    case HEAP_E_REDZONE:
        return "red zone overwritten";
    case HEAP_E_POISON:
        return "use after free";
    default:
        return "unknown error";
    }
}
