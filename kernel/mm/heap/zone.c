/* zone.c — the zone: where a heap keeps its objects of up to ZONE_OBJ_MAX
 * bytes with no header, in 8-byte grains, and the start of the block layer
 * when the zone is not enough.
 *
 * A fresh heap has no block layer (no bins, no runs: struct tables is 1.6
 * KiB). Requests of up to ZONE_OBJ_MAX bytes at the default alignment,
 * while no debug flag is on, go first to the zone, which lies right after
 * struct heap and grows by chunks, ZONE_CHUNKS at most:
 *
 *   chunk k at zlo + k * ZCHUNK:
 *     +0              start[ZC_WORDS]  bit b of word w: an object starts at grain 32w + b
 *     +4 * ZC_WORDS   end[ZC_WORDS]    the same grain is an object's last
 *     +8 * ZC_WORDS   grains ZC_HDR .. ZC_GRAINS - 1: objects and free runs
 *
 * Two bits per 8 bytes (3%), nothing per object: an object is the grains
 * from its start bit to the next end bit, so taking or freeing one writes
 * two bits whatever its length. A chunk's bitmaps are marked as an object
 * (start at grain 0, end at ZC_HDR - 1), so nothing crosses from one chunk
 * into the next. The grains between two objects are free.
 *
 * Free grains below zend form free runs, each as long as it can be (two
 * never touch) and on one of ZLISTS lists by length, like the block bins:
 * one list per length up to ZL_EXACT grains, then four per power of two. A
 * free run keeps its links in its own first grain, which nothing else uses:
 *
 *   first grain: u16 next, u16 prev (ZHEAD(i) for the head of list i), u16 len
 *   last grain:  +4 u16 len (the same field when the run is one grain)
 *
 * Grain numbers are 16 bits: the zone has at most 8,192 grains. From zend
 * to the end of the last chunk (zcap) lies the zone's wilderness, free and
 * in no list. A request takes the head of the first non-empty list whose
 * runs are all long enough (the request's own list first when its runs
 * differ in length), the low end of it, else the wilderness, else a new
 * chunk (the old chunk's wilderness becomes a free run); a freed object
 * merges with the free runs on either side, found through the used bitmap
 * and the neighbours' length fields, or gives its grains back to the
 * wilderness when it is the zone's last object.
 *
 * The first request the zone does not take (too big, aligned, debugging, or
 * the zone full) starts the block layer (blocks_start): the last chunk is
 * cut at zend (its grains past it are marked as an object, so nothing
 * grows into them), the tables go there, and the blocks after them.
 * The zone keeps serving requests within its chunks.
 *
 * A pointer is a zone object iff it is 8-aligned, below the zone's end
 * (zcap grains: one comparison), not a chunk's bitmap grain, and its grain
 * is used and starts an object. A free grain is a double free, a used grain
 * that starts nothing an interior pointer; either is refused with nothing
 * changed, as is a free whose neighbours' length fields do not describe
 * free runs (HEAP_E_CORRUPT: written after it was freed). A grain that
 * starts no object is a double free when it lies between objects (free), an
 * interior pointer when it lies inside one.
 *
 * Worked example (i386): sizeof(struct heap) = 232, so zlo = heap + 232.
 * kmalloc(20) on a fresh heap adds chunk 0 (bitmaps in grains 0-15:
 * start[0] = 1, end[0] = 0x8000), takes grains 16-18 from the wilderness
 * (start[0] |= 1 << 16, end[0] |= 1 << 18, zend = 19) and returns zlo + 128.
 * Its free finds bit 16 of start[0], the length from the first end bit at
 * or after it (18: 3 grains), clears both bits, and as grain 19 is zend,
 * zend goes back to 16.
 */
#include "../../lib/string.h"
#include "zone.h"

#define NONE 0xFFFFFFFFu
#define ZHEAD(i) (0x8000u | (i))

/* The start-bitmap word w of the zone (grains 32w .. 32w + 31); the end
 * word is ZC_WORDS words after it. */
static inline uint32_t *zstart(const struct heap *h, uint32_t w)
{
    return (uint32_t *)(h->zlo + (w / ZC_WORDS) * ZCHUNK + (w % ZC_WORDS) * 4);
}

static inline uint32_t *zend_word(const struct heap *h, uint32_t w)
{
    return zstart(h, w) + ZC_WORDS;
}

static inline int starts(const struct heap *h, uint32_t g)
{
    return (*zstart(h, g / 32) >> (g % 32)) & 1;
}

static inline int ends(const struct heap *h, uint32_t g)
{
    return (*zend_word(h, g / 32) >> (g % 32)) & 1;
}

/* Mark grains [g, g + n) as one object (set = 1) or unmark them. */
static inline void zone_mark(struct heap *h, uint32_t g, uint32_t n, int set)
{
    uint32_t e = g + n - 1;
    uint32_t *s = zstart(h, g / 32), *t = zend_word(h, e / 32);
    if (set) {
        *s |= 1u << (g % 32);
        *t |= 1u << (e % 32);
    } else {
        *s &= ~(1u << (g % 32));
        *t &= ~(1u << (e % 32));
    }
}

/* Chunks in the zone (the last one possibly cut by blocks_start). */
static inline uint32_t zone_chunks(const struct heap *h)
{
    return (h->zcap + ZC_GRAINS - 1) / ZC_GRAINS;
}

static inline void *grain_addr(const struct heap *h, uint32_t g)
{
    return (void *)(h->zlo + (uintptr_t)g * GRAIN);
}

/* Move the start of the zone's wilderness, and the extent with it. */
static void zone_raise(struct heap *h, uint32_t end)
{
    h->zend = end;
    uint32_t off = (uint32_t)(h->zlo - (uintptr_t)h) + end * GRAIN;
    if (off > h->hiwater)
        h->hiwater = off;
}

/* Add a chunk at the zone's end, its bitmaps marked as its first object. */
static void chunk_add(struct heap *h)
{
    uint32_t g0 = zone_chunks(h) * ZC_GRAINS;
    for (uint32_t w = g0 / 32; w < g0 / 32 + ZC_WORDS; w++) {
        *zstart(h, w) = 0;
        *zend_word(h, w) = 0;
    }
    zone_mark(h, g0, ZC_HDR, 1);
    h->zcap += ZC_GRAINS;
    zone_raise(h, g0 + ZC_HDR);
}

/* Length in grains of the object starting at grain g: up to its end bit. */
static inline uint32_t zone_len(const struct heap *h, uint32_t g)
{
    uint32_t w = g / 32;
    uint32_t m = *zend_word(h, w) & (~0u << (g % 32));
    while (!m)
        m = *zend_word(h, ++w);
    return w * 32 + ffs32(m) + 1 - g;
}

/* Is grain g (starting no object) inside an object? The nearest mark at or
 * below it says: a start (the object goes on past g) or an end. */
static int inside_object(const struct heap *h, uint32_t g)
{
    for (uint32_t k = g; k-- > g - g % ZC_GRAINS;) {
        if (ends(h, k))
            return 0;
        if (starts(h, k))
            return 1;
    }
    return 0;
}

static INLINE int lookup(const struct heap *h, uintptr_t a, uint32_t *gp)
{
    uint32_t g = (uint32_t)((a - h->zlo) / GRAIN);
    if (g % ZC_GRAINS < ZC_HDR || g >= h->zcap)
        return HEAP_E_INVALID;
    if (!starts(h, g))
        return inside_object(h, g) ? HEAP_E_INVALID : HEAP_E_DOUBLE;
    *gp = g;
    return HEAP_OK;
}

int zone_lookup(const struct heap *h, uintptr_t a, uint32_t *gp)
{
    return lookup(h, a, gp);
}

/* A free run's first grain; its last grain's len repeats the run's. */
struct zrun {
    uint16_t next;
    uint16_t prev;
    uint16_t len;
    uint16_t unused;
};

static inline struct zrun *zrun(const struct heap *h, uint32_t g)
{
    return (struct zrun *)grain_addr(h, g);
}

/* The list of free runs of n grains (1 <= n < ZC_GRAINS). */
static inline unsigned zl_index(uint32_t n)
{
    if (n <= ZL_EXACT)
        return n - 1;
    unsigned f = fls32(n);
    return ZL_EXACT + (f - 5) * 4 + ((n >> (f - 2)) & 3);
}

/* Make [g, g + n) a free run (its grains' used bits already clear) and put
 * it on its list. */
static INLINE void zl_insert(struct heap *h, uint32_t g, uint32_t n)
{
    unsigned i = zl_index(n);
    struct zrun *r = zrun(h, g);
    uint32_t head = h->zhead[i];
    r->next = (uint16_t)head;
    r->prev = (uint16_t)ZHEAD(i);
    r->len = (uint16_t)n;
    zrun(h, g + n - 1)->len = (uint16_t)n;
    if (head != ZNONE)
        zrun(h, head)->prev = (uint16_t)g;
    h->zhead[i] = (uint16_t)g;
    h->zmap[i / 32] |= 1u << (i % 32);
    h->zfree += n;
}

static INLINE void zl_remove(struct heap *h, uint32_t g)
{
    struct zrun *r = zrun(h, g);
    uint32_t next = r->next, prev = r->prev;
    if (next != ZNONE)
        zrun(h, next)->prev = (uint16_t)prev;
    if (prev & 0x8000u) {
        unsigned i = prev & 0x7FFFu;
        h->zhead[i] = (uint16_t)next;
        if (next == ZNONE)
            h->zmap[i / 32] &= ~(1u << (i % 32));
    } else {
        zrun(h, prev)->next = (uint16_t)next;
    }
    h->zfree -= r->len;
}

/* A free run of at least n grains, taken off its list; ZNONE if none. */
static INLINE uint32_t zl_take(struct heap *h, uint32_t n)
{
    unsigned i = zl_index(n);
    if (n > ZL_EXACT) {
        /* List i holds runs a little shorter than n too: its head may do. */
        uint32_t g = h->zhead[i];
        if (g != ZNONE && zrun(h, g)->len >= n) {
            zl_remove(h, g);
            return g;
        }
        i++;
    }
    unsigned k = i / 32;
    uint32_t m = i < ZLISTS ? h->zmap[k] & (~0u << (i % 32)) : 0;
    if (!m && k == 0) {
        k = 1;
        m = h->zmap[1];
    }
    if (!m)
        return ZNONE;
    uint32_t g = h->zhead[k * 32 + ffs32(m)];
    zl_remove(h, g);
    return g;
}

/* The zone's last chunk ends here, or at zcap when blocks_start cut it. */
static inline uint32_t zone_wild_end(const struct heap *h)
{
    return h->zcap;
}

/* Grains for an object of n grains: a free run, the wilderness, or a new
 * chunk. ZNONE if the zone has none. */
static INLINE uint32_t zone_grains(struct heap *h, uint32_t n)
{
    uint32_t g = zl_take(h, n);
    if (g != ZNONE) {
        uint32_t len = zrun(h, g)->len;
        if (len > n)
            zl_insert(h, g + n, len - n);
        return g;
    }
    g = h->zend;
    if (g + n <= zone_wild_end(h)) {
        zone_raise(h, g + n);
        return g;
    }
    if (h->t || zone_chunks(h) >= ZONE_CHUNKS ||
        h->size < (uint32_t)(h->zlo - (uintptr_t)h) + (h->zcap + ZC_GRAINS) * GRAIN)
        return ZNONE;
    if (h->zend < h->zcap)
        zl_insert(h, h->zend, h->zcap - h->zend);
    chunk_add(h);
    g = h->zend;
    zone_raise(h, g + n);
    return g;
}

void zone_set_limit(struct heap *h)
{
    uint32_t room = h->zcap - h->zend;
    if (!h->t && zone_chunks(h) < ZONE_CHUNKS &&
        h->size >= (uint32_t)(h->zlo - (uintptr_t)h) + (h->zcap + ZC_GRAINS) * GRAIN)
        room = ZC_GRAINS - ZC_HDR;
    if (h->zmap[1]) {
        /* The highest list's runs are all at least its floor. */
        unsigned i = fls32(h->zmap[1]);
        uint32_t floor = (4u + i % 4) << (i / 4 + 3);
        room = floor > room ? floor : room;
    } else if (h->zmap[0] && fls32(h->zmap[0]) + 1 > room) {
        room = fls32(h->zmap[0]) + 1;
    }
    h->zone_max = h->debug ? 0 : room * GRAIN;
}

NOINLINE void *zone_alloc(struct heap *h, size_t size)
{
    uint32_t n = round8(size) / GRAIN;
    uint32_t g = zone_grains(h, n);
    if (UNLIKELY(g == ZNONE))
        return heap_alloc_blocks(h, size, 0, 0);  /* zone_max promised too much */
    zone_mark(h, g, n, 1);
    h->zone_bytes += n * GRAIN;
    size_t used = h->slot_bytes + h->block_bytes + h->zone_bytes;
    if (used > h->peak_used)
        h->peak_used = used;
    h->allocs++;
    zone_set_limit(h);
    return grain_addr(h, g);
}

/* The free run that ends right below grain g, if any: its first grain, or
 * g when an object (or a chunk's bitmaps) ends right below. NONE if its
 * length fields are not those of a free run. */
static INLINE uint32_t run_below(const struct heap *h, uint32_t g)
{
    if (ends(h, g - 1))
        return g;
    uint32_t p = zrun(h, g - 1)->len;
    if (p == 0 || p > g % ZC_GRAINS - ZC_HDR || zrun(h, g - p)->len != p)
        return NONE;
    return g - p;
}

/* The length of the free run starting at grain e, the grain after an
 * object: 0 if an object starts there (a chunk's bitmaps too) or it is the
 * wilderness, NONE if its length field is not that of a free run. */
static INLINE uint32_t run_above(const struct heap *h, uint32_t e)
{
    if (e >= h->zend || starts(h, e))
        return 0;
    uint32_t n = zrun(h, e)->len;
    if (n == 0 || n > ZC_GRAINS - e % ZC_GRAINS || zrun(h, e + n - 1)->len != n)
        return NONE;
    return n;
}

/* Free grains [g, g + n) (used bits already clear), merging them with the
 * run below (lo, from run_below) and the run of `above` grains after them
 * (run_above), or giving them to the wilderness. */
static INLINE void zone_give(struct heap *h, uint32_t lo, uint32_t g, uint32_t n, uint32_t above)
{
    if (above)
        zl_remove(h, g + n);
    if (lo != g)
        zl_remove(h, lo);
    n += g - lo + above;
    if (lo + n == h->zend)
        h->zend = lo;
    else
        zl_insert(h, lo, n);
}

NOINLINE int zone_free(struct heap *h, uintptr_t a)
{
    uint32_t g;
    int e = lookup(h, a, &g);
    if (e)
        return heap_refuse(h, e, (void *)a);
    uint32_t n = zone_len(h, g);
    uint32_t lo = run_below(h, g), above = run_above(h, g + n);
    if (lo == NONE || above == NONE)
        return heap_refuse(h, HEAP_E_CORRUPT, (void *)a);
    zone_mark(h, g, n, 0);
    zone_give(h, lo, g, n, above);
    h->zone_bytes -= n * GRAIN;
    h->frees++;
    zone_set_limit(h);
    return HEAP_OK;
}

size_t zone_usable(const struct heap *h, uint32_t g)
{
    return zone_len(h, g) * GRAIN;
}

/* Resize the zone object at grain g of n grains to want grains in place:
 * shrink it, or grow it into the free run or the wilderness after it.
 * Returns 0 when it cannot grow there, -1 on damaged neighbours. */
static int zone_resize(struct heap *h, uint32_t g, uint32_t n, uint32_t want)
{
    uint32_t e = g + n, above = run_above(h, e);
    if (above == NONE)
        return -1;
    if (want < n) {
        zone_give(h, g + want, g + want, n - want, above);
    } else if (want > n && e == h->zend) {
        if (g + want > zone_wild_end(h) || g % ZC_GRAINS + want > ZC_GRAINS)
            return 0;
        zone_raise(h, g + want);
    } else if (want > n && above >= want - n) {
        zl_remove(h, e);
        if (above > want - n)
            zl_insert(h, g + want, above - (want - n));
    } else if (want > n) {
        return 0;
    }
    zone_mark(h, g, n, 0);
    zone_mark(h, g, want, 1);
    h->zone_bytes = h->zone_bytes + want * GRAIN - n * GRAIN;
    size_t used = h->slot_bytes + h->block_bytes + h->zone_bytes;
    if (used > h->peak_used)
        h->peak_used = used;
    zone_set_limit(h);
    return 1;
}

NOINLINE void *zone_realloc(struct heap *h, uintptr_t a, size_t size, uintptr_t site, int *err)
{
    uint32_t g;
    int e = lookup(h, a, &g);
    uint32_t n = e ? 0 : zone_len(h, g), want = round8(size) / GRAIN;
    int r = 0;
    if (!e && run_below(h, g) == NONE)
        e = HEAP_E_CORRUPT;
    if (!e && (want <= n || size <= h->zone_max)) {
        r = zone_resize(h, g, n, want);
        if (r < 0)
            e = HEAP_E_CORRUPT;
    }
    if (e) {
        if (err)
            *err = e;
        heap_refuse(h, e, (void *)a);
        return NULL;
    }
    if (r)
        return (void *)a;
    /* Once there are blocks, a buffer that outgrows its grains leaves the
     * zone: blocks take growth reserves, the zone would leave a hole each
     * time it moved. */
    void *q = h->t ? heap_alloc_blocks(h, size, 0, site) : heap_alloc(h, size, 0, site);
    if (!q)
        return NULL;
    memcpy(q, (void *)a, n * GRAIN);
    zone_free(h, a);
    return q;
}

int blocks_start(struct heap *h)
{
    uint32_t zoff = (uint32_t)(h->zlo - (uintptr_t)h);
    uint32_t first = zoff + h->zend * GRAIN + round8(sizeof(struct tables));
    if (h->size < first + RUN_BYTES)
        return 0;
    if (h->zend < h->zcap) {
        /* Cut the last chunk at zend: the grains past it become the
         * tables', marked as an object that nothing frees. */
        zone_mark(h, h->zend, h->zcap - h->zend, 1);
        h->zcap = h->zend;
    }
    h->t = (struct tables *)at(h, zoff + h->zcap * GRAIN);
    memset(h->t, 0, sizeof *h->t);
    h->first = first;
    h->lo = (uintptr_t)at(h, first + HDR);
    set_top(h, first);
    heap_set_debug(h, h->debug);
    return 1;
}

void zone_walk(const struct heap *h, heap_walk_fn fn, void *ctx)
{
    uint32_t g = 0;
    while (g < h->zend) {
        struct heap_block b = { grain_addr(h, g), 0, 0, 0 };
        uint32_t n;
        if (starts(h, g)) {
            n = zone_len(h, g);
            b.size = n * GRAIN;
            b.used = 1;
        } else {
            for (n = 1; g + n < h->zend && !starts(h, g + n); n++)
                ;
            b.size = n * GRAIN;
        }
        if (g % ZC_GRAINS)  /* a chunk's bitmaps are control data: not shown */
            fn(&b, ctx);
        g += n;
    }
}

/* The zone's lists: every entry a free run of the grains zone_check saw
 * free there, on the list of its length, linked both ways; returns the
 * grains they hold. */
static uint32_t zone_check_lists(const struct heap *h, zone_bad_fn bad, void *c, uint32_t zoff)
{
    uint32_t listed = 0, runs = 0;
    for (unsigned i = 0; i < ZLISTS; i++) {
        uint32_t prev = ZHEAD(i);
        if (!!(h->zmap[i / 32] & (1u << (i % 32))) != (h->zhead[i] != ZNONE))
            bad(c, "zone list bitmap disagrees with its list", zoff);
        for (uint32_t g = h->zhead[i]; g != ZNONE; g = zrun(h, g)->next) {
            const struct zrun *r = zrun(h, g);
            if (g >= h->zend || g % ZC_GRAINS < ZC_HDR || starts(h, g) || !ends(h, g - 1) ||
                r->prev != prev || ++runs > h->zcap) {
                bad(c, "zone list holds something that is not a free run", zoff + g * GRAIN);
                break;
            }
            uint32_t n = 1;
            while (g + n < h->zend && !starts(h, g + n))
                n++;
            if (r->len != n || zrun(h, g + n - 1)->len != n || g + n == h->zend)
                bad(c, "zone free run's length fields disagree with the bitmaps", zoff + g * GRAIN);
            else if (zl_index(n) != i)
                bad(c, "zone free run on the wrong list", zoff + g * GRAIN);
            listed += r->len;
            prev = g;
        }
    }
    return listed;
}

void zone_check(const struct heap *h, zone_bad_fn bad, void *c, size_t *live)
{
    uint32_t zoff = (uint32_t)(h->zlo - (uintptr_t)h);
    if (zoff != round8(sizeof(struct heap)) || h->zcap > ZONE_CHUNKS * ZC_GRAINS ||
        h->zend > h->zcap || (!h->t && h->zcap % ZC_GRAINS) ||
        (h->zcap && h->zend < (zone_chunks(h) - 1) * ZC_GRAINS + ZC_HDR) ||
        (h->t && (uint8_t *)h->t != at(h, zoff + h->zcap * GRAIN))) {
        bad(c, "zone bounds damaged", zoff);
        return;
    }
    /* Marks alternate start, end (an object may be one grain: both) from
     * each chunk's bitmaps on; the grains between an end and the next
     * start are free. */
    uint32_t end = zone_chunks(h) * ZC_GRAINS, nfree = 0, bytes = 0, objects = 0;
    int in_object = 0;
    for (uint32_t g = 0; g < end; g++) {
        int s = starts(h, g), e = ends(h, g);
        uint32_t off = zoff + g * GRAIN, k = g % ZC_GRAINS;
        if (k == 0 && in_object)
            bad(c, "zone object runs into the next chunk", off);
        if (k < ZC_HDR) {
            if (s != (k == 0) || e != (k == ZC_HDR - 1))
                bad(c, "zone chunk bitmap header damaged", off);
            in_object = 0;
            continue;
        }
        if (g >= h->zcap) {
            /* The cut end of the last chunk: one object from zcap on. */
            if (s != (g == h->zcap) || e != (g == end - 1))
                bad(c, "zone cut end damaged", off);
            continue;
        }
        if (g >= h->zend) {
            if (s || e)
                bad(c, "zone object in the zone's wilderness", off);
            continue;
        }
        if (s && in_object)
            bad(c, "zone object starts inside another", off);
        if (s)
            in_object = 1;
        if (e && !in_object)
            bad(c, "zone object end with no start", off);
        if (in_object) {
            objects += s;
            bytes += GRAIN;
        } else {
            nfree++;
        }
        if (e)
            in_object = 0;
    }
    if (in_object)
        bad(c, "zone object runs past the zone's end", zoff + h->zend * GRAIN);
    if (h->zend % ZC_GRAINS > ZC_HDR && !ends(h, h->zend - 1))
        bad(c, "zone free run left below its wilderness", zoff + h->zend * GRAIN);
    if (zone_check_lists(h, bad, c, zoff) != nfree || nfree != h->zfree)
        bad(c, "zone lists do not hold exactly its free grains", zoff);
    if (bytes != h->zone_bytes)
        bad(c, "zone counts disagree with its bitmaps", zoff);
    *live += objects;
}
