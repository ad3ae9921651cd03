/* heap.c — the general-purpose allocator over one caller-provided region.
 *
 * Requests of up to SMALL_MAX bytes (8-byte default alignment, no debug flag)
 * come from runs: RUN_BYTES-aligned spans of equal slots, one size class per
 * 8 bytes, with no per-object header. Everything else is a block of a
 * two-level segregated-fits allocator (TLSF-style: a bitmap of size classes
 * over one free list per class, O(1) search) with boundary tags and immediate
 * coalescing. The wilderness ("top") above the highest block is carved only
 * when no free block fits, so the heap stays packed towards low addresses.
 * Policy (kmalloc, reporting on serial) lives in memory.c; this file only
 * returns codes and calls the report callback.
 *
 * Region (all offsets are from the start of struct heap, 8-aligned):
 *
 *   0      struct heap: bins, bitmaps, run lists, class table, statistics
 *   first  block | block | ... | block
 *   top    wilderness up to `size`: free, never written, not in any bin
 *
 * Block (every block; 8-byte header, the same on i386 and on the host):
 *
 *   +0  sf    size in bytes (bits 3..26, a multiple of 8) | flags
 *   +4  seal  off ^ sf ^ key: ties the header to its address and state
 *   +8  payload (used) ...
 *
 *   bit 0      USED   allocated
 *   bit 1      PFREE  the block physically before this one is free
 *   bit 2      DBG    used: carries a debug trailer; free: body is poisoned
 *   bits 27-29 TAIL   used, not DBG: 8-byte units at the end of the payload
 *                     beyond the rounded request (a remainder too small to
 *                     split off)
 *   bit 30     RESV   used: a growth reserve follows the payload; the rounded
 *                     request is kept in the block's last word (size-4)
 *   bit 31     RUN    used: the payload is a small-object run
 *
 * Free block (USED clear; at least MIN_FREE = 24 bytes):
 *
 *   +0 sf | +4 seal | +8 next | +12 prev | +16 ... poison ... | size-4 footer
 *
 *   next/prev link the bin list (offsets, 0 = none). The footer repeats the
 *   size so the following block, seeing PFREE, can find this header. With DBG
 *   the bytes [+16, size-4) are POISON_FREE (0x6B).
 *
 * Reserve block: a block that has to move to grow by a small step (at most
 * a quarter: an append), or that was a reserve block already, gets room for
 * a quarter more, so a buffer grown step by step moves O(log n) times, not
 * n times. Its last 8 bytes are not usable payload: the last word holds
 * the rounded request, which heap_realloc updates in place.
 *
 * Debug block (allocated while any HEAP_DEBUG_* flag is on; sf has DBG):
 *
 *   +8 payload [req bytes] | red zone 0xFD ... | trailer (16 bytes, at end)
 *   trailer: u32 req, u32 DBG_MAGIC, u64 site. The red zone is at least 8
 *   bytes and runs from payload+req to the trailer.
 *
 * Run (a used block with RUN; its payload address r is RUN_BYTES-aligned):
 *
 *   r+0  next  partial-run list of the class (runs with a free slot)
 *   r+4  seal  off(r) ^ key ^ RUN_SALT. It sits where a block header keeps
 *        its seal (off ^ sf ^ key), and RUN_SALT (RUN set, USED clear) is
 *        never a valid sf, so a block header can never pass for a run.
 *   r+8  prev
 *   r+12 u16 nfree, u8 cls, u8 hint (no clear bit in live words below it)
 *   r+16 live bitmap, one bit per slot, set = allocated; the bits past the
 *        last slot are set for good. Slots start at r + objoff.
 *   A slot is found by the first clear bit from the hint word on (at most
 *   eight words), so the lowest free slot of a run is used first. A run's
 *   block is RUN_BYTES long (payload RUN_SPAN), so runs carved one after the
 *   other tile the heap with no gap: the next run's header sits in the last
 *   8 bytes before the next RUN_BYTES boundary. A pointer p is a slot iff the
 *   run seal holds at p & ~(RUN_BYTES-1) and p lies in the slot array at a
 *   multiple of the class size (checked with a multiply, not a division).
 *
 * Overhead: 8 bytes per block on i386 and on the 64-bit host alike (offsets,
 * not pointers, are stored); none per small object, whose run costs its
 * 16-byte header, bitmap and end slack (under 5% of its 2 KiB).
 *
 * Placement: small requests take the lowest free slot of the class's first
 * partial run; a new run takes a released run's aligned hole when one is in
 * the first bins looked at. Blocks come from the request's own bin (up to
 * PROBE entries), else the next non-empty bin (good fit), else the
 * wilderness, which is therefore touched last. Free blocks coalesce at once;
 * a block freed next to the wilderness gives its space back to it. When no
 * run can be had, a small request becomes a block instead.
 *
 * Errors: heap_free validates before it touches anything, in O(1): range and
 * alignment, then the seal (a run's, or the block header's), then the state
 * (a clear live bit or a free header: HEAP_E_DOUBLE) and the neighbours'
 * boundary tags (HEAP_E_CORRUPT). A refused free changes nothing but the
 * bad_frees count and last error. With a debug flag on, an overwritten red
 * zone refuses the free (HEAP_E_REDZONE) and the block stays allocated, so
 * it can still be inspected; a poisoned free block found written when it is
 * reused is reported (HEAP_E_POISON) and the allocation proceeds.
 *
 * Invariants (heap_check verifies each one):
 *   - blocks tile [first, top) exactly; every seal matches;
 *   - no two physically adjacent free blocks, and the block below top is used;
 *   - PFREE is set exactly when the previous block is free; a free block's
 *     footer equals its size;
 *   - every free block is in the bin its size maps to, bins are doubly linked,
 *     a bitmap bit is set exactly when its list is non-empty;
 *   - a run's nfree equals its slots minus its live bits; its bitmap
 *     has no clear bit below the hint word; a run is on its class's partial list
 *     exactly when nfree > 0; at most one empty run per class is kept;
 *   - the statistics equal what a walk counts.
 *   Stale headers left inside merged blocks always read "free" (a block is
 *   marked free before it merges), so a double free is caught by the header
 *   seal even after the block was absorbed.
 *
 * Worked example (i386, key left out): heap at 0x200000, first = 0xB68
 * (sizeof(struct heap) = 2916, rounded up to 8). A 100-byte request goes to
 * class (100-1)>>3 = 12 (104-byte slots). A 200-byte request needs a block of
 * 208 + 8 = 216 bytes: mapping(216) = fl 0, sl 216>>3 = 27; on an empty heap
 * it comes from the wilderness at 0xB68, gets sf = 216 | USED = 0xD9 and seal
 * 0xB68 ^ 0xD9 ^ key, and heap_alloc returns 0x200B70. A 1000-byte block (1008 bytes) maps to
 * fl = fls(1008) - 7 = 2, sl = (1008 >> 4) ^ 32 = 31.
 */

#include <stddef.h>
#include <stdint.h>

#include "heap.h"

/* ---- tunables ---------------------------------------------------------- */

#define SMALL_MAX   128u   /* largest request served from runs */
#define RUN_BYTES   2048u  /* span and alignment of a run */
#define SL_LOG      5      /* log2 of the second-level lists per power of two */
#define SPLIT_MIN   32u    /* smallest remainder split off as a free block */
#define PROBE       4      /* entries tried in the request's own bin */

/* ---- derived constants -------------------------------------------------- */

#define GRAIN       8u
#define HDR         8u
#define MIN_FREE    24u                    /* header + two links + footer */
#define NCLS        (SMALL_MAX / GRAIN)
#define SL_COUNT    (1u << SL_LOG)
#define FL_SHIFT    (SL_LOG + 3)           /* sizes below 1 << FL_SHIFT: fl 0 */
#define SIZE_BITS   27                     /* blocks and regions < 128 MiB */
#define MAX_REGION  ((1u << SIZE_BITS) - GRAIN)
#define FL_COUNT    (SIZE_BITS - FL_SHIFT + 1)

#define F_USED      0x1u
#define F_PFREE     0x2u
#define F_DBG       0x4u
#define SIZE_MASK   (((1u << SIZE_BITS) - 1) & ~7u)
#define TAIL_SHIFT  27
#define TAIL_MASK   (0x7u << TAIL_SHIFT)
#define F_RESV      0x40000000u
#define F_RUN       0x80000000u

#define HEAP_MAGIC  0x4B4F5348u            /* "KOSH" */
#define RUN_SALT    0xDA17C0DEu            /* RUN set, USED clear: never a valid sf */
#define DBG_MAGIC   0xD7A11E55u
#define POISON_FREE 0x6Bu
#define REDZONE     0xFDu
#define DBG_TRAIL   16u
#define RUN_FIXED   16u
#define RUN_SPAN    (RUN_BYTES - HDR)      /* a run's payload: runs tile at RUN_BYTES */

_Static_assert(SPLIT_MIN >= MIN_FREE && (SPLIT_MIN - GRAIN) + (MIN_FREE - HDR - GRAIN) <= 7 * GRAIN,
               "TAIL holds at most 7 grains of unsplit remainder and padding");
_Static_assert((RUN_BYTES & (RUN_BYTES - 1)) == 0, "RUN_BYTES is a power of two");
_Static_assert(SL_LOG <= 5, "a second-level bitmap is one 32-bit word");

struct blk {
    uint32_t sf;
    uint32_t seal;
};

struct fblk {
    uint32_t sf;
    uint32_t seal;
    uint32_t next;
    uint32_t prev;
};

struct trail {
    uint32_t req;
    uint32_t magic;
    uint64_t site;
};

struct run {
    uint32_t next;
    uint32_t seal;
    uint32_t prev;
    uint16_t nfree;
    uint8_t cls;
    uint8_t hint;
    uint32_t live[];
};

_Static_assert(sizeof(struct blk) == HDR, "block header is 8 bytes");
_Static_assert(sizeof(struct fblk) == 16, "free header is 16 bytes");
_Static_assert(sizeof(struct trail) == DBG_TRAIL, "debug trailer is 16 bytes");
_Static_assert(sizeof(struct run) == RUN_FIXED, "run header is 16 bytes");

struct cls {
    uint32_t recip;    /* ceil(2^21 / size): slot index by multiplication */
    uint16_t size;     /* slot size */
    uint8_t objoff;    /* offset of slot 0 from the run start */
    uint8_t nslots;
};

_Static_assert(sizeof(struct cls) == 8, "class entries are indexed by shifting");

/* Fields are valid at all times; offsets are from the heap start, 0 = none. */
struct heap {
    uint32_t magic;
    uint32_t key;
    uint32_t run_key;     /* key ^ RUN_SALT */
    uint32_t size;        /* managed bytes, control included */
    uint32_t first;       /* offset of the first block */
    uint32_t top;         /* start of the wilderness */
    uint32_t hiwater;     /* highest top ever: the extent touched */
    unsigned debug;
    int last_error;
    heap_report_fn report;
    void *report_ctx;

    size_t used_bytes;
    size_t slack_bytes;   /* used_bytes minus the rounded requests */
    size_t peak_used;
    uint32_t allocs;
    uint32_t frees;
    uint32_t failed;
    uint32_t bad_frees;
    uint32_t debug_errors;
    uint32_t runs;

    uint32_t fl_map;
    uint32_t sl_map[FL_COUNT];
    uint32_t bins[FL_COUNT][SL_COUNT];
    uint32_t partial[NCLS];
    struct cls cls[NCLS];
};

/* ---- small helpers ------------------------------------------------------ */

/* Keeps the rare paths out of the fast ones, so those stay leaf-like. */
#define NOINLINE __attribute__((noinline))
#define INLINE inline __attribute__((always_inline))

static inline uint8_t *at(const struct heap *h, uint32_t off)
{
    return (uint8_t *)h + off;
}

static inline struct blk *blk(const struct heap *h, uint32_t off)
{
    return (struct blk *)at(h, off);
}

static inline struct fblk *fblk(const struct heap *h, uint32_t off)
{
    return (struct fblk *)at(h, off);
}

static inline struct run *run_at(const struct heap *h, uint32_t off)
{
    return (struct run *)at(h, off);
}

static inline uint32_t offset_of(const struct heap *h, const void *p)
{
    return (uint32_t)((const uint8_t *)p - (const uint8_t *)h);
}

static inline uint32_t bsize(uint32_t sf)
{
    return sf & SIZE_MASK;
}

static inline void set_hdr(struct heap *h, uint32_t off, uint32_t sf)
{
    struct blk *b = blk(h, off);
    b->sf = sf;
    b->seal = off ^ sf ^ h->key;
}

static inline int hdr_ok(const struct heap *h, uint32_t off)
{
    const struct blk *b = blk(h, off);
    return b->seal == (off ^ b->sf ^ h->key);
}

static inline void set_footer(struct heap *h, uint32_t off, uint32_t size)
{
    *(uint32_t *)at(h, off + size - 4) = size;
}

static inline uint32_t footer(const struct heap *h, uint32_t off)
{
    return *(const uint32_t *)at(h, off - 4);
}

static inline unsigned fls32(uint32_t x)
{
    return 31u - (unsigned)__builtin_clz(x);
}

static inline unsigned ffs32(uint32_t x)
{
    return (unsigned)__builtin_ctz(x);
}

static inline uint32_t round8(size_t n)
{
    return (uint32_t)((n + GRAIN - 1) & ~(size_t)(GRAIN - 1));
}

/* The compiler must not turn these loops into memcpy/memset calls in the
 * freestanding build (there is no libc there): the empty asm hides the
 * pattern. The hosted build uses the library routines. */
/* Byte loops of our own: the kernel has no memcpy/memset, and the compiler
 * must not turn these loops into calls to them, so an empty asm hides the
 * pointers from its loop-idiom recognition. copy() moves 64 bytes per step
 * through 16-byte vectors (SSE on the host; plain 32-bit moves where the
 * target has no vector unit, as in the i386 kernel build). */
typedef uint32_t chunk16 __attribute__((vector_size(16), aligned(8), may_alias));
typedef uint32_t word32 __attribute__((may_alias));

static void fill(void *dst, uint8_t v, size_t n)
{
    uint8_t *d = dst;
    uint32_t w = v * 0x01010101u;
    while (((uintptr_t)d & 3) && n) {
        *d++ = v;
        n--;
    }
    for (; n >= 4; n -= 4) {
        __asm__("" : "+r"(d));
        *(word32 *)d = w;
        d += 4;
    }
    while (n--) {
        __asm__("" : "+r"(d));
        *d++ = v;
    }
}

/* dst and src are 8-byte aligned and do not overlap. */
static void copy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    for (; n >= 64; n -= 64) {
        chunk16 a = ((const chunk16 *)s)[0], b = ((const chunk16 *)s)[1];
        chunk16 c = ((const chunk16 *)s)[2], e = ((const chunk16 *)s)[3];
        ((chunk16 *)d)[0] = a;
        ((chunk16 *)d)[1] = b;
        ((chunk16 *)d)[2] = c;
        ((chunk16 *)d)[3] = e;
        __asm__("" : "+r"(d), "+r"(s));
        d += 64;
        s += 64;
    }
    for (; n >= 4; n -= 4) {
        __asm__("" : "+r"(d), "+r"(s));
        *(word32 *)d = *(const word32 *)s;
        d += 4;
        s += 4;
    }
    while (n--) {
        __asm__("" : "+r"(d));
        *d++ = *s++;
    }
}

/* Index of the first byte in [p, p + n) that is not v, or n. */
static size_t find_not(const uint8_t *p, uint8_t v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != v)
            break;
    return i;
}

static void report(struct heap *h, int err, const char *what, const void *where)
{
    h->last_error = err;
    if (h->report)
        h->report(what, where, h->report_ctx);
}

static int refuse(struct heap *h, int err, const void *p)
{
    h->bad_frees++;
    report(h, err, heap_strerror(err), p);
    return err;
}

/* ---- bins ---------------------------------------------------------------- */

static INLINE void mapping(uint32_t size, unsigned *fl, unsigned *sl)
{
    if (size < (1u << FL_SHIFT)) {
        *fl = 0;
        *sl = size >> 3;
    } else {
        unsigned f = fls32(size);
        *sl = (size >> (f - SL_LOG)) ^ SL_COUNT;
        *fl = f - FL_SHIFT + 1;
    }
}

static INLINE void bin_insert(struct heap *h, uint32_t off, uint32_t size)
{
    unsigned fl, sl;
    mapping(size, &fl, &sl);
    struct fblk *f = fblk(h, off);
    uint32_t head = h->bins[fl][sl];
    f->next = head;
    f->prev = 0;
    if (head)
        fblk(h, head)->prev = off;
    h->bins[fl][sl] = off;
    h->fl_map |= 1u << fl;
    h->sl_map[fl] |= 1u << sl;
}

static INLINE void bin_remove(struct heap *h, uint32_t off, uint32_t size)
{
    unsigned fl, sl;
    mapping(size, &fl, &sl);
    struct fblk *f = fblk(h, off);
    if (f->next)
        fblk(h, f->next)->prev = f->prev;
    if (f->prev) {
        fblk(h, f->prev)->next = f->next;
    } else {
        h->bins[fl][sl] = f->next;
        if (!f->next) {
            h->sl_map[fl] &= ~(1u << sl);
            if (!h->sl_map[fl])
                h->fl_map &= ~(1u << fl);
        }
    }
}

/* A free block of at least `need` bytes, removed from its bin; 0 if none. */
static INLINE uint32_t find_free(struct heap *h, uint32_t need)
{
    unsigned fl, sl;
    if (need > SIZE_MASK)
        return 0;
    mapping(need, &fl, &sl);
    uint32_t off = h->bins[fl][sl];
    for (int k = 0; off && k < PROBE; k++) {
        if (bsize(blk(h, off)->sf) >= need) {
            bin_remove(h, off, bsize(blk(h, off)->sf));
            return off;
        }
        off = fblk(h, off)->next;
    }
    uint32_t map = sl + 1 < SL_COUNT ? h->sl_map[fl] & (~0u << (sl + 1)) : 0;
    if (!map) {
        uint32_t fmap = fl + 1 < FL_COUNT ? h->fl_map & (~0u << (fl + 1)) : 0;
        if (!fmap)
            return 0;
        fl = ffs32(fmap);
        map = h->sl_map[fl];
    }
    sl = ffs32(map);
    off = h->bins[fl][sl];
    bin_remove(h, off, bsize(blk(h, off)->sf));
    return off;
}

/* ---- free blocks --------------------------------------------------------- */

/* Poison the body of a free block (debug). */
static void poison_body(struct heap *h, uint32_t off, uint32_t size)
{
    fill(at(h, off + 16), POISON_FREE, size - 20);
}

/* Check a poisoned free block before it is reused; report a write after free. */
static void verify_poison(struct heap *h, uint32_t off)
{
    uint32_t sf = blk(h, off)->sf;
    if (!(sf & F_DBG))
        return;
    uint32_t n = bsize(sf) - 20;
    const uint8_t *body = at(h, off + 16);
    size_t i = find_not(body, POISON_FREE, n);
    if (i < n) {
        h->debug_errors++;
        report(h, HEAP_E_POISON, "use after free: freed memory was written", body + i);
    }
}

/* Write the header and footer of free block [off, off + size) and bin it;
 * the next block's PFREE is the caller's business. */
static INLINE void put_free(struct heap *h, uint32_t off, uint32_t size)
{
    uint32_t sf = size;
    if (__builtin_expect(h->debug & HEAP_DEBUG_POISON, 0)) {
        poison_body(h, off, size);
        sf |= F_DBG;
    }
    set_hdr(h, off, sf);
    set_footer(h, off, size);
    bin_insert(h, off, size);
}

/* Turn [off, off + size) into a free block and bin it. The block before it is
 * used (callers coalesce first), the block after it is used. */
static INLINE void make_free(struct heap *h, uint32_t off, uint32_t size)
{
    put_free(h, off, size);
    uint32_t next = off + size;
    struct blk *n = blk(h, next);
    if (!(n->sf & F_PFREE)) {
        n->sf |= F_PFREE;
        n->seal ^= F_PFREE;
    }
}

/* Return [off, off + size) to the heap, coalescing with both neighbours. The
 * header at off must be valid (used or about to become free). */
static INLINE void release(struct heap *h, uint32_t off, uint32_t size)
{
    uint32_t sf = blk(h, off)->sf;
    /* Mark it free first: a stale header left inside a merged block must
     * read free so a later double free is recognised. */
    set_hdr(h, off, size);
    if (sf & F_PFREE) {
        uint32_t psize = footer(h, off);
        off -= psize;
        bin_remove(h, off, psize);
        size += psize;
    }
    uint32_t next = off + size;
    if (next == h->top) {
        h->top = off;
        return;
    }
    uint32_t nsf = blk(h, next)->sf;
    if (!(nsf & F_USED)) {
        bin_remove(h, next, bsize(nsf));
        size += bsize(nsf);
    }
    make_free(h, off, size);
}

/* ---- block allocation ---------------------------------------------------- */

/* Bytes to skip from free block off so that the payload after them is
 * aligned to align and the skipped prefix can stand as a free block. */
static INLINE uint32_t align_skip(const struct heap *h, uint32_t off, uint32_t align)
{
    uintptr_t pay = (uintptr_t)at(h, off + HDR);
    uint32_t pre = (uint32_t)(((pay + align - 1) & ~(uintptr_t)(align - 1)) - pay);
    return pre && pre < MIN_FREE ? pre + align : pre;
}

/* TAIL field for a block of `size` bytes holding a rounded request of `pay`. */
static inline uint32_t tail_bits(uint32_t size, uint32_t pay, uint32_t flags)
{
    if (flags & F_DBG)
        return 0;
    return ((size - HDR - pay) / GRAIN) << TAIL_SHIFT;
}

/* Carve an allocated block of `need` bytes whose payload is aligned to `align`
 * (a power of two >= 8) out of the free block [off, off + have) or, when off
 * is h->top, out of the wilderness. `flags` go into the header; `pay` is the
 * rounded request, the rest of the block is recorded as TAIL. Returns the
 * block's offset or 0 if it does not fit. */

static uint32_t carve(struct heap *h, uint32_t off, uint32_t have, uint32_t need,
                      uint32_t pay, uint32_t align, uint32_t flags)
{
    uint32_t pre = align > GRAIN ? align_skip(h, off, align) : 0;
    if (off == h->top) {
        if ((uint64_t)off + pre + need > h->size)
            return 0;
        if (pre)
            make_free(h, off, pre);
        off += pre;
        set_hdr(h, off, need | flags | tail_bits(need, pay, flags) | (pre ? F_PFREE : 0));
        h->top = off + need;
        if (h->top > h->hiwater)
            h->hiwater = h->top;
        return off;
    }
    if ((uint64_t)pre + need > have) {
        bin_insert(h, off, have);
        return 0;
    }
    uint32_t pflag = 0;
    if (pre) {
        /* The prefix stays free; its neighbour below is used. */
        uint32_t sf = pre | (blk(h, off)->sf & F_DBG);
        set_hdr(h, off, sf);
        set_footer(h, off, pre);
        bin_insert(h, off, pre);
        off += pre;
        have -= pre;
        pflag = F_PFREE;
    }
    uint32_t rem = have - need;
    uint32_t next = off + have;
    if (rem >= SPLIT_MIN) {
        /* The block after the remainder already has PFREE: it followed the
         * free block being carved. */
        set_hdr(h, off, need | flags | pflag | tail_bits(need, pay, flags));
        put_free(h, off + need, rem);
    } else {
        set_hdr(h, off, have | flags | pflag | tail_bits(have, pay, flags));
        struct blk *n = blk(h, next);
        if (next != h->top && (n->sf & F_PFREE)) {
            n->sf &= ~F_PFREE;
            n->seal ^= F_PFREE;
        }
    }
    return off;
}

/* Allocate a block of `need` bytes (header included), payload aligned to
 * `align`. Returns its offset, 0 on failure. */
/* An aligned request first looks at up to ALIGN_TRIES free blocks from the
 * bin of `need` upwards for one that happens to have an aligned spot (a
 * released run leaves exactly such a hole); only then does it ask for a
 * block big enough for any alignment. Returns the block, removed, or 0. */
#define ALIGN_TRIES 8
static uint32_t find_aligned(struct heap *h, uint32_t need, uint32_t align)
{
    unsigned fl, sl, tries = 0;
    if (need > SIZE_MASK)
        return 0;
    mapping(need, &fl, &sl);
    uint32_t smap = h->sl_map[fl] & (~0u << sl);
    uint32_t fmap = h->fl_map & ((~0u << fl) << 1);
    for (;;) {
        while (!smap) {
            if (!fmap)
                return find_free(h, need + align + MIN_FREE);
            fl = ffs32(fmap);
            fmap &= fmap - 1;
            smap = h->sl_map[fl];
        }
        sl = ffs32(smap);
        smap &= smap - 1;
        for (uint32_t off = h->bins[fl][sl]; off; off = fblk(h, off)->next) {
            uint32_t size = bsize(blk(h, off)->sf);
            if (size >= need && (uint64_t)align_skip(h, off, align) + need <= size) {
                bin_remove(h, off, size);
                return off;
            }
            if (++tries == ALIGN_TRIES)
                return find_free(h, need + align + MIN_FREE);
        }
    }
}

static uint32_t block_alloc(struct heap *h, uint32_t need, uint32_t pay, uint32_t align,
                            uint32_t flags)
{
    uint32_t off = align > GRAIN ? find_aligned(h, need, align) : find_free(h, need);
    if (off) {
        if (h->debug & HEAP_DEBUG_POISON)
            verify_poison(h, off);
        uint32_t r = carve(h, off, bsize(blk(h, off)->sf), need, pay, align, flags);
        if (r)
            return r;
    }
    return carve(h, h->top, 0, need, pay, align, flags);
}

/* ---- runs ---------------------------------------------------------------- */

static inline uint32_t run_seal(const struct heap *h, uint32_t roff)
{
    return roff ^ h->run_key;
}

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

static uint32_t run_new(struct heap *h, unsigned c)
{
    const struct cls *k = &h->cls[c];
    uint32_t b = block_alloc(h, RUN_BYTES, RUN_SPAN, RUN_BYTES, F_USED | F_RUN);
    if (!b)
        return 0;
    uint32_t roff = b + HDR;
    struct run *r = run_at(h, roff);
    r->seal = run_seal(h, roff);
    r->nfree = k->nslots;
    r->cls = (uint8_t)c;
    r->hint = 0;
    unsigned words = ((unsigned)k->nslots + 31) / 32;
    for (unsigned i = 0; i < words; i++)
        r->live[i] = 0;
    if (k->nslots & 31)
        r->live[words - 1] = ~0u << (k->nslots & 31);
    partial_push(h, c, roff);
    h->runs++;
    return roff;
}

static void run_release(struct heap *h, unsigned c, uint32_t roff)
{
    partial_remove(h, c, roff);
    struct run *r = run_at(h, roff);
    r->seal = 0;
    h->runs--;
    uint32_t b = roff - HDR;
    release(h, b, bsize(blk(h, b)->sf));
}

/* Take a slot from the first run with room in class c (there is one). */
static inline void *slot_take(struct heap *h, unsigned c, uint32_t roff)
{
    struct run *r = run_at(h, roff);
    const struct cls *k = &h->cls[c];
    unsigned w = r->hint;
    uint32_t live;
    while ((live = r->live[w]) == ~0u)
        w++;
    unsigned bit = ffs32(~live);
    r->live[w] = live | (1u << bit);
    r->hint = (uint8_t)w;
    uint8_t *slot = (uint8_t *)r + k->objoff + (w * 32 + bit) * k->size;
    if (--r->nfree == 0) {
        h->partial[c] = r->next;
        if (r->next)
            run_at(h, r->next)->prev = 0;
    }
    size_t used = h->used_bytes + k->size;
    h->used_bytes = used;
    if (used > h->peak_used)
        h->peak_used = used;
    h->allocs++;
    return slot;
}

/* Class c has no run with room: start one. NULL if no run fits. */
static NOINLINE void *small_alloc_new_run(struct heap *h, unsigned c)
{
    uint32_t roff = run_new(h, c);
    return roff ? slot_take(h, c, roff) : NULL;
}

/* Is there a run at the RUN_BYTES boundary at or below a? Returns its
 * offset or 0. Any a is fine: the boundary is only read if it lies in
 * [first, top), where its seal word is a block's seal or inside a block. */
static inline uint32_t run_of(const struct heap *h, uintptr_t a)
{
    uintptr_t ra = a & ~(uintptr_t)(RUN_BYTES - 1);
    if (ra - (uintptr_t)h - h->first >= (uintptr_t)(h->top - h->first))
        return 0;
    uint32_t ro = (uint32_t)(ra - (uintptr_t)h);
    return ((const struct run *)ra)->seal == run_seal(h, ro) ? ro : 0;
}

/* Slot index of address a in run ro, or -1 if a is not at the start of one
 * of its slots (in the header, between slots, in the slack at the end). */
static inline int32_t slot_index(const struct heap *h, uint32_t ro, uintptr_t a)
{
    const struct run *r = run_at(h, ro);
    const struct cls *k = &h->cls[r->cls & (NCLS - 1)];
    uint32_t rel = (uint32_t)(a - (uintptr_t)r) - k->objoff;
    /* rel wraps for a in the header: the product check below fails then. */
    uint32_t i = (rel * k->recip) >> 21;
    if (i * k->size != rel || i >= k->nslots)
        return -1;
    return (int32_t)i;
}

/* Where p sits in a run. Returns 1 with *roff and *idx set if p is a slot of
 * a run (live or not), 0 if p is not inside any run's span, -1 if p is
 * inside a run's span but not at a slot. */
static int run_lookup(const struct heap *h, const void *p, uint32_t *roff, uint32_t *idx)
{
    uintptr_t a = (uintptr_t)p;
    uint32_t ro = run_of(h, a);
    if (!ro)
        return 0;
    int32_t i = slot_index(h, ro, a);
    if (i < 0)
        return -1;
    *roff = ro;
    *idx = (uint32_t)i;
    return 1;
}

static inline int slot_live(const struct run *r, uint32_t idx)
{
    return (r->live[idx >> 5] >> (idx & 31)) & 1;
}

/* The run went from full to one free slot, or became empty. */
static NOINLINE void run_changed(struct heap *h, uint32_t roff)
{
    struct run *r = run_at(h, roff);
    unsigned c = r->cls;
    if (r->nfree == 1)
        partial_push(h, c, roff);
    if (r->nfree == h->cls[c].nslots && (h->partial[c] != roff || r->next))
        run_release(h, c, roff);
}

static inline void small_free(struct heap *h, uint32_t roff, uint32_t idx)
{
    struct run *r = run_at(h, roff);
    const struct cls *k = &h->cls[r->cls];
    unsigned w = idx >> 5;
    r->live[w] &= ~(1u << (idx & 31));
    if (w < r->hint)
        r->hint = (uint8_t)w;
    h->used_bytes -= k->size;
    h->frees++;
    uint32_t nf = ++r->nfree;
    if (nf == 1 || nf == k->nslots)
        run_changed(h, roff);
}

/* ---- large blocks: validation -------------------------------------------- */

static inline struct trail *trailer(const struct heap *h, uint32_t off, uint32_t size)
{
    return (struct trail *)at(h, off + size - DBG_TRAIL);
}

/* Bytes the caller asked for, rounded to the grain (what payload_bytes counts). */
static INLINE uint32_t block_payload(const struct heap *h, uint32_t off)
{
    uint32_t sf = blk(h, off)->sf;
    if (sf & F_RESV)
        return *(const uint32_t *)at(h, off + bsize(sf) - 4);
    if (sf & F_DBG)
        return round8(trailer(h, off, bsize(sf))->req);
    return bsize(sf) - HDR - ((sf & TAIL_MASK) >> TAIL_SHIFT) * GRAIN;
}

/* Validate p as the payload of a live (non-run) block. Returns 0 and sets
 * *offp, or a HEAP_E_* code. Reads only. */
static INLINE int block_lookup(const struct heap *h, const void *p, uint32_t *offp)
{
    uint32_t off = offset_of(h, p) - HDR;
    const struct blk *b = blk(h, off);
    if (!hdr_ok(h, off))
        return HEAP_E_INVALID;
    uint32_t sf = b->sf;
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
        if (!hdr_ok(h, prev) || blk(h, prev)->sf != (psize | (blk(h, prev)->sf & F_DBG)))
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

/* Red zone of a debug block: 0 if intact, else the first bad byte. */
static const uint8_t *redzone_bad(const struct heap *h, uint32_t off)
{
    uint32_t size = bsize(blk(h, off)->sf);
    const struct trail *t = trailer(h, off, size);
    const uint8_t *rz = at(h, off + HDR + t->req);
    size_t n = (size_t)(size - HDR - DBG_TRAIL - t->req);
    size_t i = find_not(rz, REDZONE, n);
    return i < n ? rz + i : 0;
}

/* Classify p: 1 small (roff, idx set), 2 large (off set), or a HEAP_E_* code. */
static int lookup(const struct heap *h, const void *p, uint32_t *roff, uint32_t *idx)
{
    uintptr_t a = (uintptr_t)p;
    uintptr_t lo = (uintptr_t)at(h, h->first + HDR);
    uintptr_t hi = (uintptr_t)at(h, h->top);
    if ((a & (GRAIN - 1)) || a < lo || a >= hi)
        return HEAP_E_INVALID;
    int s = run_lookup(h, p, roff, idx);
    if (s > 0) {
        if (!slot_live(run_at(h, *roff), *idx))
            return HEAP_E_DOUBLE;
        return 1;
    }
    if (s < 0)
        return HEAP_E_INVALID;
    int e = block_lookup(h, p, roff);
    return e ? e : 2;
}

static INLINE void block_free(struct heap *h, uint32_t off)
{
    uint32_t size = bsize(blk(h, off)->sf);
    h->used_bytes -= size;
    h->slack_bytes -= size - block_payload(h, off);
    h->frees++;
    release(h, off, size);
}

/* ---- public interface ---------------------------------------------------- */

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
    fill(h, 0, sizeof *h);
    h->magic = HEAP_MAGIC;
    h->key = ((uint32_t)al * 0x9E3779B1u) ^ 0xC3A5C85Cu;
    h->run_key = h->key ^ RUN_SALT;
    h->size = (uint32_t)size;
    h->first = first;
    h->top = first;
    h->hiwater = first;
    for (unsigned c = 0; c < NCLS; c++) {
        struct cls *k = &h->cls[c];
        uint32_t s = (c + 1) * GRAIN;
        uint32_t n = (RUN_SPAN - RUN_FIXED) / s;
        uint32_t objoff;
        for (;;) {
            objoff = (RUN_FIXED + 4 * ((n + 31) / 32) + GRAIN - 1) & ~(GRAIN - 1);
            if (objoff + n * s <= RUN_SPAN)
                break;
            n--;
        }
        k->size = (uint16_t)s;
        k->nslots = (uint8_t)n;
        k->objoff = (uint8_t)objoff;
        k->recip = ((1u << 21) + s - 1) / s;
    }
    return h;
}

/* The block path of heap_alloc: debug blocks, aligned requests, everything
 * over SMALL_MAX, and small requests when no run can be had. */
/* Unlink the head of bin (fl, sl). */
static INLINE void bin_pop(struct heap *h, unsigned fl, unsigned sl, uint32_t off)
{
    uint32_t next = fblk(h, off)->next;
    h->bins[fl][sl] = next;
    if (next) {
        fblk(h, next)->prev = 0;
    } else {
        uint32_t m = h->sl_map[fl] & ~(1u << sl);
        h->sl_map[fl] = m;
        if (!m)
            h->fl_map &= ~(1u << fl);
    }
}

/* The common block allocation: no debug, default alignment, need bytes
 * (header included, at least MIN_FREE) for a rounded request of pay. The
 * request's own bin is tried first (its head, then up to PROBE entries),
 * then the next non-empty bin above it, then the wilderness. */
static NOINLINE void *plain_alloc(struct heap *h, uint32_t need, uint32_t pay, uint32_t resv)
{
    unsigned fl, sl;
    mapping(need, &fl, &sl);
    uint32_t off = h->bins[fl][sl], size = 0;
    for (int k = 0; off; k++) {
        size = bsize(blk(h, off)->sf);
        if (size >= need) {
            if (k == 0)
                bin_pop(h, fl, sl, off);
            else
                bin_remove(h, off, size);
            goto found;
        }
        if (k == PROBE - 1)
            break;
        off = fblk(h, off)->next;
    }
    uint32_t m = h->sl_map[fl] & ((~0u << sl) << 1);
    if (!m) {
        uint32_t f = fl + 1 < FL_COUNT ? h->fl_map & ((~0u << fl) << 1) : 0;
        if (!f)
            goto wild;
        fl = ffs32(f);
        m = h->sl_map[fl];
    }
    sl = ffs32(m);
    off = h->bins[fl][sl];
    size = bsize(blk(h, off)->sf);
    bin_pop(h, fl, sl, off);
found:
    if (__builtin_expect(blk(h, off)->sf & F_DBG, 0) && (h->debug & HEAP_DEBUG_POISON))
        verify_poison(h, off);
    {
        uint32_t rem = size - need;
        if (rem >= SPLIT_MIN) {
            /* The block after the remainder keeps its PFREE. */
            set_hdr(h, off, need | F_USED | resv);
            put_free(h, off + need, rem);
            size = need;
        } else {
            set_hdr(h, off, size | F_USED | (resv ? resv : ((size - HDR - pay) / GRAIN) << TAIL_SHIFT));
            struct blk *n = blk(h, off + size);
            n->sf &= ~F_PFREE;
            n->seal ^= F_PFREE;
        }
    }
    goto done;
wild:
    off = h->top;
    if (h->size - off < need) {
        h->failed++;
        return NULL;
    }
    size = need;
    h->top = off + need;
    if (h->top > h->hiwater)
        h->hiwater = h->top;
    set_hdr(h, off, need | F_USED | resv);
done:
    if (resv)
        *(uint32_t *)at(h, off + size - 4) = pay;
    {
        size_t used = h->used_bytes + size;
        h->used_bytes = used;
        if (used > h->peak_used)
            h->peak_used = used;
        h->slack_bytes += size - pay;
        h->allocs++;
    }
    return at(h, off + HDR);
}

static NOINLINE void *large_alloc(struct heap *h, size_t size, size_t align, uintptr_t site)
{
    if (align <= GRAIN && !h->debug && size <= h->size) {
        uint32_t pay = round8(size);
        return plain_alloc(h, HDR + pay < MIN_FREE ? MIN_FREE : HDR + pay, pay, 0);
    }
    if (align < GRAIN)
        align = GRAIN;
    if ((align & (align - 1)) || size > h->size || align > h->size) {
        h->failed++;
        return NULL;
    }
    uint32_t pay = round8(size);
    uint32_t need, flags = F_USED;
    if (h->debug) {
        need = HDR + pay + GRAIN + DBG_TRAIL;
        flags |= F_DBG;
    } else {
        need = HDR + pay < MIN_FREE ? MIN_FREE : HDR + pay;
    }
    uint32_t off = block_alloc(h, need, pay, (uint32_t)align, flags);
    if (!off) {
        h->failed++;
        return NULL;
    }
    uint32_t bs = bsize(blk(h, off)->sf);
    if (flags & F_DBG) {
        struct trail *t = trailer(h, off, bs);
        t->req = (uint32_t)size;
        t->magic = DBG_MAGIC;
        t->site = (h->debug & HEAP_DEBUG_TRACK) ? site : 0;
        fill(at(h, off + HDR + (uint32_t)size), REDZONE, bs - HDR - DBG_TRAIL - (uint32_t)size);
    }
    h->used_bytes += bs;
    h->slack_bytes += bs - pay;
    if (h->used_bytes > h->peak_used)
        h->peak_used = h->used_bytes;
    h->allocs++;
    return at(h, off + HDR);
}

void *heap_alloc(struct heap *h, size_t size, size_t align, uintptr_t site)
{
    if (size - 1 < SMALL_MAX && align <= HEAP_ALIGN && !h->debug) {
        unsigned c = (unsigned)(size - 1) >> 3;
        uint32_t roff = h->partial[c];
        if (roff)
            return slot_take(h, c, roff);
        void *p = small_alloc_new_run(h, c);
        if (p)
            return p;
    } else if (size == 0) {
        return NULL;
    } else if (align <= GRAIN && !h->debug && size <= SIZE_MASK - HDR) {
        uint32_t pay = round8(size);
        return plain_alloc(h, HDR + pay, pay, 0);
    }
    return large_alloc(h, size, align, site);
}

/* heap_free of a pointer inside a run's span that is not a live slot. */
static NOINLINE int free_in_run_error(struct heap *h, void *p)
{
    uint32_t ref = 0, idx = 0;
    int kind = lookup(h, p, &ref, &idx);
    return refuse(h, kind < 0 ? kind : HEAP_E_CORRUPT, p);
}

/* heap_free of anything outside the runs: NULL, blocks, foreign pointers. */
static NOINLINE int free_block(struct heap *h, void *p)
{
    if (!p)
        return HEAP_OK;
    uintptr_t a = (uintptr_t)p;
    if ((a & (GRAIN - 1)) || a < (uintptr_t)at(h, h->first + HDR) || a >= (uintptr_t)at(h, h->top))
        return refuse(h, HEAP_E_INVALID, p);
    uint32_t ref;
    int e = block_lookup(h, p, &ref);
    if (e)
        return refuse(h, e, p);
    if (blk(h, ref)->sf & F_DBG) {
        const uint8_t *bad = redzone_bad(h, ref);
        if (bad) {
            h->bad_frees++;
            h->debug_errors++;
            report(h, HEAP_E_REDZONE, "red zone overwritten: block not freed", bad);
            return HEAP_E_REDZONE;
        }
    }
    block_free(h, ref);
    return HEAP_OK;
}

int heap_free(struct heap *h, void *p)
{
    /* Fast path: a live slot of a run. A slot lies inside
     * its run's span, so checking the run start against [first, top) is
     * enough to read the run header safely. */
    uintptr_t a = (uintptr_t)p;
    uint32_t ro = run_of(h, a);
    if (ro) {
        int32_t i = slot_index(h, ro, a);
        const struct run *r = run_at(h, ro);
        if (i >= 0 && ((r->live[i >> 5] >> (i & 31)) & 1)) {
            small_free(h, ro, (uint32_t)i);
            return HEAP_OK;
        }
        return free_in_run_error(h, p);
    }
    return free_block(h, p);
}

/* Usable bytes of a live allocation given its lookup. */
static uint32_t usable(const struct heap *h, int kind, uint32_t ref, uint32_t idx)
{
    (void)idx;
    if (kind == 1)
        return h->cls[run_at(h, ref)->cls].size;
    uint32_t sf = blk(h, ref)->sf;
    if (sf & F_DBG)
        return trailer(h, ref, bsize(sf))->req;
    return bsize(sf) - HDR - ((sf & F_RESV) ? GRAIN : 0);
}

/* Resize a plain (non-debug) block in place to `need` bytes. Returns 1 if it
 * now has room, 0 if it must move. */
static int resize_in_place(struct heap *h, uint32_t off, uint32_t need, uint32_t pay)
{
    uint32_t sf = blk(h, off)->sf;
    uint32_t size = bsize(sf);
    uint32_t keep = sf & (F_PFREE | F_RESV);
    uint32_t resv = sf & F_RESV;
    uint32_t next = off + size;
    uint32_t old_pay = block_payload(h, off);

    if (need > size) {
        if (next == h->top) {
            if ((uint64_t)off + need > h->size)
                return 0;
            h->top = off + need;
            if (h->top > h->hiwater)
                h->hiwater = h->top;
            set_hdr(h, off, need | F_USED | keep);
            h->used_bytes += need - size;
        } else {
            uint32_t nsf = blk(h, next)->sf;
            uint32_t nsize = bsize(nsf);
            if ((nsf & F_USED) || size + nsize < need)
                return 0;
            if (h->debug & HEAP_DEBUG_POISON)
                verify_poison(h, next);
            bin_remove(h, next, nsize);
            uint32_t total = size + nsize;
            uint32_t rem = total - need;
            if (rem >= SPLIT_MIN) {
                set_hdr(h, off, need | F_USED | keep);
                make_free(h, off + need, rem);
                h->used_bytes += need - size;
            } else {
                set_hdr(h, off, total | F_USED | keep | (resv ? 0 : (rem / GRAIN) << TAIL_SHIFT));
                struct blk *n = blk(h, off + total);
                if (off + total != h->top) {
                    n->sf &= ~F_PFREE;
                    n->seal ^= F_PFREE;
                }
                h->used_bytes += total - size;
            }
        }
    } else {
        uint32_t rem = size - need;
        if (resv && rem * 2 <= size) {
            /* Shrinking within the reserve: keep it. */
        } else if (rem >= SPLIT_MIN) {
            set_hdr(h, off, need | F_USED | keep);
            set_hdr(h, off + need, rem | F_USED);
            h->used_bytes -= rem;
            release(h, off + need, rem);
        } else {
            set_hdr(h, off, size | F_USED | keep | (resv ? 0 : (rem / GRAIN) << TAIL_SHIFT));
        }
    }
    if (resv)
        *(uint32_t *)at(h, off + bsize(blk(h, off)->sf) - 4) = pay;
    h->slack_bytes -= size - old_pay;
    h->slack_bytes += bsize(blk(h, off)->sf) - pay;
    if (h->used_bytes > h->peak_used)
        h->peak_used = h->used_bytes;
    return 1;
}

void *heap_realloc(struct heap *h, void *p, size_t size, uintptr_t site, int *err)
{
    if (err)
        *err = HEAP_OK;
    if (!p)
        return heap_alloc(h, size, 0, site);
    if (!size) {
        int e = heap_free(h, p);
        if (err)
            *err = e;
        return NULL;
    }
    uint32_t ref = 0, idx = 0;
    int kind = lookup(h, p, &ref, &idx);
    if (kind < 0) {
        if (err)
            *err = kind;
        refuse(h, kind, p);
        return NULL;
    }
    if (size > h->size) {
        h->failed++;
        return NULL;
    }
    uint32_t pay = round8(size);
    if (!h->debug) {
        if (kind == 1) {
            if (pay == h->cls[run_at(h, ref)->cls].size)
                return p;
        } else if (!(blk(h, ref)->sf & F_DBG) && size > SMALL_MAX) {
            uint32_t resv = blk(h, ref)->sf & F_RESV;
            if (resize_in_place(h, ref, HDR + pay + (resv ? GRAIN : 0), pay))
                return p;
        }
    }
    if (kind == 2 && (blk(h, ref)->sf & F_DBG) && redzone_bad(h, ref)) {
        if (err)
            *err = HEAP_E_REDZONE;
        h->bad_frees++;
        h->debug_errors++;
        report(h, HEAP_E_REDZONE, "red zone overwritten: block not moved", p);
        return NULL;
    }
    uint32_t old = kind == 1 ? h->cls[run_at(h, ref)->cls].size : block_payload(h, ref);
    void *q;
    int growing = kind == 2 && ((blk(h, ref)->sf & F_RESV) || pay - old <= old / 4);
    if (!h->debug && size > SMALL_MAX && pay > old && growing && pay <= SIZE_MASK / 2) {
        /* Grown by a small step (an append) or grown before: take a reserve
         * so the next steps happen in place. */
        uint32_t reserve = (pay / 4 + GRAIN - 1) & ~(GRAIN - 1);
        q = plain_alloc(h, HDR + pay + reserve + GRAIN, pay, F_RESV);
        if (!q) {
            h->failed--;  /* not the caller's failure: retry without reserve */
            q = plain_alloc(h, HDR + pay, pay, 0);
        }
    } else {
        q = heap_alloc(h, size, 0, site);
    }
    if (!q)
        return NULL;
    if (kind == 2 && (blk(h, ref)->sf & F_DBG))
        old = trailer(h, ref, bsize(blk(h, ref)->sf))->req;
    copy(q, p, old < size ? old : size);
    if (kind == 1)
        small_free(h, ref, idx);
    else
        block_free(h, ref);
    return q;
}

size_t heap_usable_size(struct heap *h, const void *p)
{
    uint32_t ref = 0, idx = 0;
    int kind = lookup(h, p, &ref, &idx);
    if (kind < 0)
        return 0;
    return usable(h, kind, ref, idx);
}

int heap_owns(struct heap *h, const void *p)
{
    uint32_t ref = 0, idx = 0;
    return lookup(h, p, &ref, &idx) > 0;
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

void heap_get_stats(struct heap *h, struct heap_stats *st)
{
    /* The free lists are walked rather than counted on every operation:
     * statistics are rare, allocations are not. */
    uint32_t wild = h->size - h->top;
    size_t largest = wild, free_bytes = wild, free_blocks = wild != 0;
    for (uint32_t fmap = h->fl_map; fmap; fmap &= fmap - 1) {
        unsigned fl = ffs32(fmap);
        for (uint32_t smap = h->sl_map[fl]; smap; smap &= smap - 1) {
            for (uint32_t off = h->bins[fl][ffs32(smap)]; off; off = fblk(h, off)->next) {
                uint32_t size = bsize(blk(h, off)->sf);
                free_bytes += size;
                free_blocks++;
                if (size > largest)
                    largest = size;
            }
        }
    }
    st->region_size = h->size;
    st->used_bytes = h->used_bytes;
    st->free_bytes = free_bytes;
    st->payload_bytes = h->used_bytes - h->slack_bytes;
    st->peak_used_bytes = h->peak_used;
    st->largest_free = largest > HDR ? largest - HDR : 0;
    st->live_blocks = h->allocs - h->frees;
    st->free_blocks = free_blocks;
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
    const struct cls *k = &h->cls[r->cls];
    for (uint32_t i = 0; i < k->nslots; i++) {
        if (!slot_live(r, i))
            continue;
        struct heap_block b;
        b.payload = at(h, roff + k->objoff + i * k->size);
        b.size = k->size;
        b.used = 1;
        b.site = 0;
        fn(&b, ctx);
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
    if (r->seal != run_seal(h, roff) || r->cls >= NCLS) {
        violation(c, "heap_check: run header damaged", roff);
        return;
    }
    if ((uintptr_t)r & (RUN_BYTES - 1))
        violation(c, "heap_check: run misaligned", roff);
    const struct cls *k = &h->cls[r->cls];
    if (bsz < RUN_BYTES || bsz - RUN_BYTES >= SPLIT_MIN)
        violation(c, "heap_check: run block size does not match its class", roff);
    unsigned words = ((unsigned)k->nslots + 31) / 32;
    unsigned n = 0;
    for (unsigned w = 0; w < words; w++) {
        n += popcount32(r->live[w]);
        if (w < r->hint && r->live[w] != ~0u)
            violation(c, "heap_check: run hint skips a free slot", roff);
    }
    if (k->nslots & 31) {
        uint32_t pad = ~0u << (k->nslots & 31);
        if ((r->live[words - 1] & pad) != pad)
            violation(c, "heap_check: run bitmap padding cleared", roff);
        n -= 32 - (k->nslots & 31);
    }
    if (r->hint >= words)
        violation(c, "heap_check: run hint out of range", roff);
    if (r->nfree + n != k->nslots)
        violation(c, "heap_check: run free count disagrees with its bitmap", roff);
    *live += n;
    *bytes += (size_t)n * k->size;
    if (r->nfree)
        (*partial_runs)++;
    if (r->nfree == k->nslots)
        empty_runs[r->cls]++;
}

unsigned heap_check(struct heap *h, heap_report_fn report_fn, void *ctx)
{
    struct checker c = { h, report_fn, ctx, 0 };
    if (h->magic != HEAP_MAGIC) {
        violation(&c, "heap_check: control block damaged", 0);
        return c.bad;
    }
    if (h->top < h->first || h->top > h->size || (h->top & 7) || h->hiwater < h->top)
        violation(&c, "heap_check: top out of range", h->top);

    size_t used = 0, freeb = 0, live = 0, nfree = 0, payload = 0;
    uint32_t runs = 0, partial_runs = 0;
    uint32_t empty[NCLS] = { 0 };
    int prev_free = 0;
    uint32_t off = h->first;
    while (off < h->top) {
        const struct blk *b = blk(h, off);
        uint32_t sf = b->sf, size = bsize(sf);
        if (!hdr_ok(h, off)) {
            violation(&c, "heap_check: header seal broken", off);
            return c.bad;
        }
        if (size < MIN_FREE || size > h->top - off) {
            violation(&c, "heap_check: block size out of range", off);
            return c.bad;
        }
        if (!!(sf & F_PFREE) != prev_free)
            violation(&c, "heap_check: PFREE bit disagrees with the previous block", off);
        if (sf & F_USED) {
            if (sf & F_RUN) {
                runs++;
                size_t bytes = 0;
                check_run(&c, off + HDR, size, &live, &bytes, &partial_runs, empty);
                used += bytes;
                payload += bytes;
            } else {
                used += size;
                live++;
                if (sf & F_DBG) {
                    const struct trail *t = trailer(h, off, size);
                    if (t->magic != DBG_MAGIC || t->req > size - HDR - DBG_TRAIL - GRAIN)
                        violation(&c, "heap_check: debug trailer damaged", off);
                    else if (redzone_bad(h, off))
                        violation(&c, "heap_check: red zone overwritten", off);
                } else if (((sf & TAIL_MASK) >> TAIL_SHIFT) * GRAIN >= SPLIT_MIN + MIN_FREE) {
                    violation(&c, "heap_check: tail slack too large", off);
                } else if (sf & F_RESV) {
                    uint32_t len = *(const uint32_t *)at(h, off + size - 4);
                    if ((sf & TAIL_MASK) || (len & 7) || len > size - HDR - GRAIN)
                        violation(&c, "heap_check: reserve block length word damaged", off);
                }
                payload += block_payload(h, off);
            }
            prev_free = 0;
        } else {
            if (sf & (F_RUN | F_RESV | TAIL_MASK))
                violation(&c, "heap_check: free block with used-only flags", off);
            if (prev_free)
                violation(&c, "heap_check: two adjacent free blocks (missed coalescing)", off);
            if (*(const uint32_t *)at(h, off + size - 4) != size)
                violation(&c, "heap_check: footer disagrees with header", off);
            if (sf & F_DBG) {
                const uint8_t *body = at(h, off + 16);
                if (find_not(body, POISON_FREE, size - 20) < size - 20)
                    violation(&c, "heap_check: poisoned free block was written", off);
            }
            freeb += size;
            nfree++;
            prev_free = 1;
        }
        off += size;
    }
    if (off != h->top)
        violation(&c, "heap_check: blocks overrun top", off);
    if (prev_free)
        violation(&c, "heap_check: free block left below top", h->top);

    /* Bins against bitmaps and sizes. */
    size_t listed = 0, listed_bytes = 0;
    for (unsigned fl = 0; fl < FL_COUNT; fl++) {
        if (!!(h->fl_map & (1u << fl)) != !!h->sl_map[fl])
            violation(&c, "heap_check: first-level bitmap disagrees with second level", 0);
        for (unsigned sl = 0; sl < SL_COUNT; sl++) {
            uint32_t o = h->bins[fl][sl];
            if (!!(h->sl_map[fl] & (1u << sl)) != !!o)
                violation(&c, "heap_check: bitmap bit disagrees with its list", 0);
            uint32_t prev = 0;
            size_t steps = 0;
            while (o) {
                if (o < h->first || o >= h->top || (o & 7) || !hdr_ok(h, o) ||
                    (blk(h, o)->sf & F_USED)) {
                    violation(&c, "heap_check: bin holds something that is not a free block", o);
                    break;
                }
                unsigned f2, s2;
                mapping(bsize(blk(h, o)->sf), &f2, &s2);
                if (f2 != fl || s2 != sl)
                    violation(&c, "heap_check: free block in the wrong bin", o);
                if (fblk(h, o)->prev != prev)
                    violation(&c, "heap_check: bin back link broken", o);
                if (++steps > nfree) {
                    violation(&c, "heap_check: bin list has a cycle", o);
                    break;
                }
                listed++;
                listed_bytes += bsize(blk(h, o)->sf);
                prev = o;
                o = fblk(h, o)->next;
            }
        }
    }
    if (listed != nfree || listed_bytes != freeb)
        violation(&c, "heap_check: bins do not hold exactly the free blocks", 0);

    /* Partial-run lists. */
    uint32_t on_lists = 0;
    for (unsigned cl = 0; cl < NCLS; cl++) {
        uint32_t prev = 0;
        for (uint32_t r = h->partial[cl]; r; r = run_at(h, r)->next) {
            const struct run *rr = run_at(h, r);
            if (r < h->first || r >= h->top || rr->seal != run_seal(h, r) || rr->cls != cl ||
                rr->nfree == 0 || rr->prev != prev || on_lists > runs) {
                violation(&c, "heap_check: partial run list damaged", r);
                break;
            }
            on_lists++;
            prev = r;
        }
        if (empty[cl] > 1)
            violation(&c, "heap_check: more than one empty run kept", 0);
    }
    if (on_lists != partial_runs)
        violation(&c, "heap_check: partial lists do not hold exactly the runs with room", 0);

    if (used != h->used_bytes || live != (uint32_t)(h->allocs - h->frees))
        violation(&c, "heap_check: used statistics disagree with the walk", 0);
    if (runs != h->runs)
        violation(&c, "heap_check: run count disagrees with the walk", 0);
    if (payload != h->used_bytes - h->slack_bytes)
        violation(&c, "heap_check: payload statistics disagree with the walk", 0);
    return c.bad;
}

unsigned heap_defragment(struct heap *h)
{
    /* Kept empty runs go back first. */
    for (unsigned c = 0; c < NCLS; c++) {
        uint32_t r = h->partial[c];
        while (r) {
            uint32_t next = run_at(h, r)->next;
            if (run_at(h, r)->nfree == h->cls[c].nslots)
                run_release(h, c, r);
            r = next;
        }
    }
    unsigned merges = 0;
    uint32_t off = h->first;
    while (off < h->top) {
        uint32_t sf = blk(h, off)->sf;
        uint32_t size = bsize(sf);
        if (!hdr_ok(h, off) || size < MIN_FREE || size > h->top - off)
            break;
        uint32_t next = off + size;
        if (!(sf & F_USED)) {
            if (next == h->top) {
                bin_remove(h, off, size);
                h->top = off;
                merges++;
                break;
            }
            uint32_t nsf = blk(h, next)->sf;
            if (!(nsf & F_USED) && hdr_ok(h, next)) {
                bin_remove(h, off, size);
                bin_remove(h, next, bsize(nsf));
                size += bsize(nsf);
                merges++;
                if (off + size == h->top) {
                    h->top = off;
                    break;
                }
                make_free(h, off, size);
                continue;
            }
        }
        off = next;
    }
    return merges;
}

void heap_set_debug(struct heap *h, unsigned flags)
{
    h->debug = flags & (HEAP_DEBUG_POISON | HEAP_DEBUG_REDZONE | HEAP_DEBUG_TRACK);
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
