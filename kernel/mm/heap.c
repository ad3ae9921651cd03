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
 *   next/prev link the bin list (offsets, 0 = none); the head of bin i has
 *   prev = 2i + 1 (odd, never an offset), so a block leaves its list without
 *   working out its bin. The footer repeats the size so the following block,
 *   seeing PFREE, can find this header. With DBG the bytes [+16, size-4) are
 *   POISON_FREE (0x6B).
 *
 * Bins: bin_index(size) = (size >> (f - 5)) + (f - 8) * 32 with f = fls(size)
 * raised to 8, i.e. fl = index / 32, sl = index % 32: sizes below 256 have
 * one list per 8 bytes (fl 0), every larger power of two 32 lists.
 *
 * Reserve block: a block that has to move to grow by a small step (at most
 * a quarter: an append) gets room for a quarter more; one that was a
 * reserve block already (it keeps growing) gets half more. A buffer grown
 * step by step thus moves O(log n) times, not n times. Its last 8 bytes are
 * not usable payload: the last word holds the rounded request, which
 * heap_realloc updates in place.
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
 *   r+8  prev  (OFF_LIST = 1 while the run is full and on no list)
 *   r+12 u8 cls, u8 avail (bit w: live word w has a free slot), u8 nlive,
 *        u8 nslots
 *   r+16 live[8]: one bit per 8-byte grain of the run, set when a live slot
 *        starts there; bits of grains where no slot starts stay clear.
 *   r+48 slot 0, slot 1, ... (RUN_OBJ, the same for every class)
 *   The heap keeps, per class, starts[8]: the grains where its slots start.
 *   A slot is found as the first set bit of starts[w] & ~live[w] in the
 *   first word w with an avail bit, so the lowest free slot is used first.
 *   A run's block is RUN_BYTES long (payload RUN_SPAN), so runs carved one
 *   after the other tile the heap with no gap: the next run's header sits in
 *   the last 8 bytes before the next RUN_BYTES boundary.
 *
 * Lookup of a pointer p (heap_free, heap_realloc): p must be 8-aligned and
 * in [first + 8, top) (one comparison: the distance rotated right by 3); it
 * is in a run iff the run seal holds at r = p & ~(RUN_BYTES-1); then it is a
 * live slot iff its live bit, bit (p / 8) % 256 of r's map, is set. No
 * division: the grain index is the slot's bit. A clear bit is a double free
 * where a slot starts, an interior pointer elsewhere.
 *
 * Overhead: 8 bytes per block on i386 and on the 64-bit host alike (offsets,
 * not pointers, are stored); none per small object, whose run costs its
 * 48-byte header, 8-byte block header and end slack (5% of its 2 KiB on
 * average, at most 10%).
 *
 * Placement: small requests take the lowest free slot of the class's first
 * partial run; a new run takes a released run's aligned hole when one is in
 * the first bins looked at. Blocks come from the request's own bin (up to
 * PROBE entries), else the next non-empty bin (good fit), else the
 * wilderness, which is therefore touched last. Free blocks coalesce at once;
 * a block freed next to the wilderness gives its space back to it; a free
 * block that grows by a merge keeps its list place while it heads the bin
 * of its new size. When no run can be had, a small request becomes a block.
 *
 * Statistics: used_bytes, peak and the operation counts are kept as the heap
 * goes; free space and payload bytes are counted by heap_get_stats walking
 * the blocks (statistics are rare, allocations are not).
 *
 * Errors: heap_free validates before it touches anything, in O(1): range and
 * alignment, then the seal (a run's, or the block header's), then the state
 * (a clear live bit or a free header: HEAP_E_DOUBLE) and the neighbours'
 * boundary tags (HEAP_E_CORRUPT). A refused free changes nothing but the
 * bad_frees count and last error. heap_realloc checks the same before it
 * moves or frees; resizing within a block's own reserve or tail checks the
 * block's header only. With a debug flag on, an overwritten red zone refuses
 * the free (HEAP_E_REDZONE) and the block stays allocated, so it can still
 * be inspected; a poisoned free block found written when it is reused is
 * reported (HEAP_E_POISON) and the allocation proceeds.
 *
 * Invariants (heap_check verifies each one):
 *   - blocks tile [first, top) exactly; every seal matches; [lo, lo + 8 *
 *     gspan) is [first + 8, top);
 *   - no two physically adjacent free blocks, and the block below top is used;
 *   - PFREE is set exactly when the previous block is free; a free block's
 *     footer equals its size;
 *   - every free block is in the bin its size maps to, bins are doubly linked,
 *     a bitmap bit is set exactly when its list is non-empty;
 *   - a run's live bits are a subset of its class's starts; avail has bit w
 *     exactly when word w has a free slot start; nlive counts the live bits;
 *     a run is on its class's partial list exactly when avail != 0, else its
 *     prev is OFF_LIST; at most one empty run per class is kept;
 *   - used_bytes and the live count equal what a walk counts.
 *   Stale headers left inside merged blocks always read "free" (a block is
 *   marked free before it merges), so a double free is caught by the header
 *   seal even after the block was absorbed.
 *
 * Worked example (i386, key left out): heap at 0x200000, first = 0xE10
 * (sizeof(struct heap) = 3600). A 100-byte request goes to class
 * (100-1)>>3 = 12 (104-byte slots, 19 to a run): on an empty heap the run's
 * block is carved at 0xFF8 so that its payload r = 0x201000 is 2 KiB-aligned
 * (the 488-byte prefix at 0xE10 stays free), and the slot returned is
 * r + 48 = 0x201030, grain 6: live[0] bit 6. Class 12's starts are grains
 * 6, 19, 32, ...: starts[0] = 0x00080040. Freeing 0x201030 reads the seal
 * at 0x201004, then bit (0x201030 / 8) % 256 = 6 of live[0]. A 300-byte
 * request needs a block of 304 + 8 = 312 bytes: bin_index(312) = 39 (fl 1,
 * sl 7); a 1000-byte block (1008 bytes) maps to (1008 >> 4) + 32 = 95 (fl 2,
 * sl 31).
 */

#include <stddef.h>
#include <stdint.h>

#include "heap.h"

/* ---- tunables ---------------------------------------------------------- */

#define SMALL_MAX   192u   /* largest request served from runs */
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
#define PLAIN_MAX   ((1u << SIZE_BITS) - 2 * GRAIN)  /* requests the plain path takes */

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
#define RUN_SPAN    (RUN_BYTES - HDR)      /* a run's payload: runs tile at RUN_BYTES */
#define RUN_GRAINS  (RUN_BYTES / GRAIN)    /* bits of a run's live map */
#define RUN_WORDS   (RUN_GRAINS / 32)
#define RUN_FIXED   16u
#define RUN_OBJ     (RUN_FIXED + 4 * RUN_WORDS)  /* offset of slot 0 */
#define UPTR_BITS   (8 * sizeof(uintptr_t))

_Static_assert(SPLIT_MIN >= MIN_FREE && (SPLIT_MIN - GRAIN) + (MIN_FREE - HDR - GRAIN) <= 7 * GRAIN,
               "TAIL holds at most 7 grains of unsplit remainder and padding");
_Static_assert((RUN_BYTES & (RUN_BYTES - 1)) == 0, "RUN_BYTES is a power of two");
_Static_assert(RUN_WORDS <= 8, "a run's avail map is one byte");
_Static_assert((RUN_SPAN - RUN_OBJ) / SMALL_MAX >= 2, "every run holds at least two slots");
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

/* Fields are valid while the run is in use. next/prev only mean something
 * while the run is on its class's partial list (avail != 0). */
struct run {
    uint32_t next;
    uint32_t seal;
    uint32_t prev;
    uint8_t cls;
    uint8_t avail;            /* bit w: live[w] has a free slot start */
    uint8_t nlive;            /* live slots */
    uint8_t nslots;
    uint32_t live[RUN_WORDS]; /* bit g: a live slot starts at r + 8g */
};

_Static_assert(sizeof(struct blk) == HDR, "block header is 8 bytes");
_Static_assert(sizeof(struct fblk) == 16, "free header is 16 bytes");
_Static_assert(sizeof(struct trail) == DBG_TRAIL, "debug trailer is 16 bytes");
_Static_assert(sizeof(struct run) == RUN_OBJ, "slots start right after the run header");

/* Fields are valid at all times; offsets are from the heap start, 0 = none.
 * The fields the fast paths read come first. */
struct heap {
    uintptr_t lo;         /* address of the lowest possible payload: first + HDR */
    uintptr_t gspan;      /* grains from lo to top: payloads lie in [lo, lo + 8 * gspan) */
    uint32_t small_max;   /* SMALL_MAX, or 0 while debugging (no runs then) */
    uint32_t plain_max;   /* PLAIN_MAX, or 0 while debugging */
    uint32_t key;
    uint32_t run_key;     /* key ^ RUN_SALT */
    size_t used_bytes;
    size_t peak_used;
    uint32_t allocs;
    uint32_t frees;
    uint32_t partial[NCLS];

    uint32_t magic;
    uint32_t size;        /* managed bytes, control included */
    uint32_t first;       /* offset of the first block */
    uint32_t top;         /* start of the wilderness */
    uint32_t hiwater;     /* highest top ever: the extent touched */
    unsigned debug;
    int last_error;
    heap_report_fn report;
    void *report_ctx;
    uint32_t failed;
    uint32_t bad_frees;
    uint32_t debug_errors;
    uint32_t runs;

    uint32_t fl_map;
    uint32_t sl_map[FL_COUNT];
    uint32_t bins[FL_COUNT * SL_COUNT];
    uint32_t starts[NCLS][RUN_WORDS];  /* bit g: class slots start at r + 8g */
};

/* A run's header is found by rounding a slot address down to RUN_BYTES; any
 * payload address lies at least RUN_BYTES past the heap start, so that never
 * reads below the region. */
_Static_assert(sizeof(struct heap) + HDR >= RUN_BYTES, "control data spans a run");

/* ---- small helpers ------------------------------------------------------ */

/* Keeps the rare paths out of the fast ones, so those stay leaf-like. */
#define NOINLINE __attribute__((noinline))
#define INLINE inline __attribute__((always_inline))
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

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

/* Flip flag bits of a header, keeping its seal valid: one 64-bit xor, as
 * seal = off ^ sf ^ key changes by the same bits. */
typedef uint64_t hdr64 __attribute__((may_alias, aligned(4)));

static inline void flip_flags(struct blk *b, uint32_t bits)
{
    *(hdr64 *)b ^= (uint64_t)bits << 32 | bits;
}

static inline void set_footer(struct heap *h, uint32_t off, uint32_t size)
{
    *(uint32_t *)at(h, off + size - 4) = size;
}

static inline uint32_t footer(const struct heap *h, uint32_t off)
{
    return *(const uint32_t *)at(h, off - 4);
}

/* Index of the highest set bit (x != 0). clz ^ 31 is that index for clz in
 * 0..31, and compiles to a bare bsr where 31 - clz does not. */
static inline unsigned fls32(uint32_t x)
{
    return (unsigned)__builtin_clz(x) ^ 31u;
}

static inline unsigned ffs32(uint32_t x)
{
    return (unsigned)__builtin_ctz(x);
}

static inline uint32_t round8(size_t n)
{
    return (uint32_t)((n + GRAIN - 1) & ~(size_t)(GRAIN - 1));
}

/* Is a a payload address at all: 8-aligned and in [lo, lo + 8 * gspan)?
 * One comparison: rotating the distance right by three moves any low bit
 * to the top, so a misaligned address compares as huge. */
static inline int in_heap(const struct heap *h, uintptr_t a)
{
    uintptr_t d = a - h->lo;
    return ((d >> 3) | (d << (UPTR_BITS - 3))) < h->gspan;
}

/* Move the start of the wilderness; the payload range follows it. */
static inline void set_top(struct heap *h, uint32_t top)
{
    h->top = top;
    h->gspan = top > h->first ? (top - h->first - HDR) / GRAIN : 0;
    if (top > h->hiwater)
        h->hiwater = top;
}

/* Byte loops of our own: the kernel has no memcpy/memset, and the compiler
 * must not turn these loops into calls to them, so an empty asm hides the
 * pointers from its loop-idiom recognition. copy() moves 256 bytes per step
 * through 16-byte vectors (SSE on the host; plain 32-bit moves where the
 * target has no vector unit, as in the i386 kernel build). */
typedef uint32_t chunk16 __attribute__((vector_size(16), aligned(8), may_alias));
typedef uint32_t word32 __attribute__((may_alias));
typedef uint64_t word64 __attribute__((may_alias, aligned(4)));

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
    size_t big = n & ~(size_t)255;
    for (size_t i = 0; i < big; i += 256) {
        const chunk16 *v = (const chunk16 *)(s + i);
        chunk16 *o = (chunk16 *)(d + i);
        chunk16 a0 = v[0], a1 = v[1], a2 = v[2], a3 = v[3], a4 = v[4], a5 = v[5], a6 = v[6], a7 = v[7];
        chunk16 b0 = v[8], b1 = v[9], b2 = v[10], b3 = v[11], b4 = v[12], b5 = v[13], b6 = v[14], b7 = v[15];
        o[0] = a0;
        o[1] = a1;
        o[2] = a2;
        o[3] = a3;
        o[4] = a4;
        o[5] = a5;
        o[6] = a6;
        o[7] = a7;
        o[8] = b0;
        o[9] = b1;
        o[10] = b2;
        o[11] = b3;
        o[12] = b4;
        o[13] = b5;
        o[14] = b6;
        o[15] = b7;
        __asm__("" : "+r"(i));
    }
    d += big;
    s += big;
    n -= big;
    for (; n >= 64; n -= 64) {
        chunk16 a0 = ((const chunk16 *)s)[0], a1 = ((const chunk16 *)s)[1];
        chunk16 a2 = ((const chunk16 *)s)[2], a3 = ((const chunk16 *)s)[3];
        ((chunk16 *)d)[0] = a0;
        ((chunk16 *)d)[1] = a1;
        ((chunk16 *)d)[2] = a2;
        ((chunk16 *)d)[3] = a3;
        __asm__("" : "+r"(d), "+r"(s));
        d += 64;
        s += 64;
    }
    for (; n >= 16; n -= 16) {
        *(chunk16 *)d = *(const chunk16 *)s;
        __asm__("" : "+r"(d), "+r"(s));
        d += 16;
        s += 16;
    }
    if (n >= 8) {
        *(word64 *)d = *(const word64 *)s;
        d += 8;
        s += 8;
        n -= 8;
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
    if (next)
        fblk(h, next)->prev = BIN_HEAD(i);
    else
        bin_emptied(h, i);
}

/* A free block of at least `need` bytes, removed from its bin; 0 if none.
 * The request's own bin is tried first (up to PROBE entries: it also holds
 * blocks a little smaller than need), then the first non-empty bin above it,
 * whose every block fits. */
static INLINE uint32_t find_fit(struct heap *h, uint32_t need)
{
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

/* find_fit for any need (callers past the plain path may ask for more than
 * a block can be). */
static INLINE uint32_t find_free(struct heap *h, uint32_t need)
{
    return need > SIZE_MASK ? 0 : find_fit(h, need);
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

/* Write the header and footer of free block [off, off + size) and put it in
 * bin i, its bin; the next block's PFREE is the caller's business. */
static INLINE void put_free_at(struct heap *h, uint32_t off, uint32_t size, unsigned i)
{
    uint32_t sf = size;
    if (UNLIKELY(h->debug & HEAP_DEBUG_POISON)) {
        poison_body(h, off, size);
        sf |= F_DBG;
    }
    set_hdr(h, off, sf);
    set_footer(h, off, size);
    bin_insert(h, off, i);
}

static INLINE void put_free(struct heap *h, uint32_t off, uint32_t size)
{
    put_free_at(h, off, size, bin_index(size));
}

/* put_free while no debug flag is on: nothing to poison. */
static INLINE void put_free_plain(struct heap *h, uint32_t off, uint32_t size, unsigned i)
{
    set_hdr(h, off, size);
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

/* Turn [off, off + size) into a free block and bin it. The block before it is
 * used (callers coalesce first), the block after it is used. */
static INLINE void make_free(struct heap *h, uint32_t off, uint32_t size)
{
    put_free(h, off, size);
    mark_pfree(h, off + size);
}

/* Return [off, off + size) to the heap, coalescing with both neighbours. The
 * header at off must be valid (used or about to become free). */
static INLINE void release(struct heap *h, uint32_t off, uint32_t size)
{
    uint32_t sf = blk(h, off)->sf;
    uint32_t next = off + size, psize = 0;
    /* Mark it free first: a stale header left inside a merged block, or
     * above top, must read free so a later double free is recognised. */
    set_hdr(h, off, size);
    if (sf & F_PFREE) {
        psize = footer(h, off);
        off -= psize;
        size += psize;
    }
    if (next == h->top) {
        if (psize)
            bin_remove(h, off);
        set_top(h, off);
        return;
    }
    uint32_t nsf = blk(h, next)->sf;
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
            !(h->debug & HEAP_DEBUG_POISON)) {
            set_hdr(h, off, size);
            set_footer(h, off, size);
            return;
        }
        bin_remove(h, off);
    }
    put_free_at(h, off, size, i);
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
            put_free(h, off, pre);  /* the header below gets PFREE */
        off += pre;
        set_hdr(h, off, need | flags | tail_bits(need, pay, flags) | (pre ? F_PFREE : 0));
        set_top(h, off + need);
        return off;
    }
    if ((uint64_t)pre + need > have) {
        bin_insert(h, off, bin_index(have));
        return 0;
    }
    uint32_t pflag = 0;
    if (pre) {
        /* The prefix stays free; its neighbour below is used. */
        uint32_t sf = pre | (blk(h, off)->sf & F_DBG);
        set_hdr(h, off, sf);
        set_footer(h, off, pre);
        bin_insert(h, off, bin_index(pre));
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
        if (next != h->top && (n->sf & F_PFREE))
            flip_flags(n, F_PFREE);
    }
    return off;
}

/* An aligned request first looks at up to ALIGN_TRIES free blocks from the
 * bin of `need` upwards for one that happens to have an aligned spot (a
 * released run leaves exactly such a hole); only then does it ask for a
 * block big enough for any alignment. Returns the block, removed, or 0. */
#define ALIGN_TRIES 8
static uint32_t find_aligned(struct heap *h, uint32_t need, uint32_t align)
{
    unsigned tries = 0;
    if (need > SIZE_MASK)
        return 0;
    unsigned i = bin_index(need), fl = i / SL_COUNT;
    uint32_t smap = h->sl_map[fl] & (~0u << (i % SL_COUNT));
    uint32_t fmap = h->fl_map & (~1u << fl);
    for (;;) {
        while (!smap) {
            if (!fmap)
                return find_free(h, need + align + MIN_FREE);
            fl = ffs32(fmap);
            fmap &= fmap - 1;
            smap = h->sl_map[fl];
        }
        i = fl * SL_COUNT + ffs32(smap);
        smap &= smap - 1;
        for (uint32_t off = h->bins[i]; off; off = fblk(h, off)->next) {
            uint32_t size = bsize(blk(h, off)->sf);
            if (size >= need && (uint64_t)align_skip(h, off, align) + need <= size) {
                bin_remove(h, off);
                return off;
            }
            if (++tries == ALIGN_TRIES)
                return find_free(h, need + align + MIN_FREE);
        }
    }
}

/* Allocate a block of `need` bytes (header included), payload aligned to
 * `align`, from the bins or else the wilderness. Returns its offset, 0 on
 * failure. Statistics are the caller's. */
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

/* A run's seal: its offset ^ run_key. */
static inline uint32_t run_seal(const struct heap *h, const struct run *r)
{
    return offset_of(h, r) ^ h->run_key;
}

/* Slots of class c in one run. */
static inline unsigned class_slots(unsigned c)
{
    return (RUN_SPAN - RUN_OBJ) / ((c + 1) * GRAIN);
}

/* A full run's prev link: it is on no list (list links are offsets, never 1). */
#define OFF_LIST 1u

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
    uint32_t b = block_alloc(h, RUN_BYTES, RUN_SPAN, RUN_BYTES, F_USED | F_RUN);
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

/* Take the lowest free slot of run roff, the head of class c's partial
 * list: the first word with a free slot start (avail), its first free
 * start. A run that fills up leaves the list. */
static INLINE void *slot_take(struct heap *h, unsigned c, uint32_t roff)
{
    struct run *r = run_at(h, roff);
    unsigned avail = r->avail;
    unsigned w = ffs32(avail);
    uint32_t live = r->live[w];
    uint32_t open = h->starts[c][w] & ~live;
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
    size_t used = h->used_bytes + (c + 1) * GRAIN;
    h->used_bytes = used;
    if (used > h->peak_used)
        h->peak_used = used;
    h->allocs++;
    return (uint8_t *)r + (w * 32 + b) * GRAIN;
}

/* The run whose RUN_BYTES span holds the payload address a (in_heap(a)),
 * or NULL: a run iff the run seal holds at the boundary below a. */
static inline struct run *run_of(const struct heap *h, uintptr_t a)
{
    struct run *r = (struct run *)(a & ~(uintptr_t)(RUN_BYTES - 1));
    return r->seal == run_seal(h, r) ? r : NULL;
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

/* A slot of run r was freed and the run was full (so off its partial
 * list), or became empty: back on the list, or released unless it is the
 * class's only run with room (one empty run is kept so that a class
 * hovering at a run boundary does not churn). */
static NOINLINE int run_changed(struct heap *h, struct run *r)
{
    uint32_t roff = offset_of(h, r);
    unsigned c = r->cls;
    if (r->prev == OFF_LIST)
        partial_push(h, c, roff);
    if (!r->nlive && (h->partial[c] != roff || r->next))
        run_release(h, c, roff);
    return HEAP_OK;
}

/* Free the slot at payload address a of run r once its live bit is clear. */
static INLINE int slot_freed(struct heap *h, struct run *r, uintptr_t a)
{
    unsigned w = (unsigned)(a / (32 * GRAIN)) % RUN_WORDS;
    unsigned avail = r->avail;
    r->avail = (uint8_t)(avail | 1u << w);
    unsigned nlive = r->nlive - 1u;
    r->nlive = (uint8_t)nlive;
    h->used_bytes -= (r->cls + 1) * GRAIN;
    h->frees++;
    if (UNLIKELY(!avail || !nlive))
        return run_changed(h, r);
    return HEAP_OK;
}

/* Free the slot at payload address a of run r, whose live bit is set. */
static INLINE int slot_free(struct heap *h, struct run *r, uintptr_t a)
{
    *live_word(r, a) &= ~live_bit(a);
    return slot_freed(h, r, a);
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

/* Validate p, a payload address (in_heap) outside any run, as the payload
 * of a live block. Returns 0 and sets *offp, or a HEAP_E_* code. Reads only. */
static INLINE int block_lookup(const struct heap *h, const void *p, uint32_t *offp)
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

/* Classify p: 1 a live slot (*ref = its run), 2 a live block (*ref = its
 * offset), or a HEAP_E_* code. Reads only. */
static int lookup(const struct heap *h, const void *p, uint32_t *ref)
{
    uintptr_t a = (uintptr_t)p;
    if (!in_heap(h, a))
        return HEAP_E_INVALID;
    struct run *r = run_of(h, a);
    if (r) {
        if (*live_word(r, a) & live_bit(a)) {
            *ref = offset_of(h, r);
            return 1;
        }
        /* A slot start not live is a double free; anything else in the run
         * is an interior or foreign pointer. */
        uint32_t starts = h->starts[r->cls % NCLS][(a / (32 * GRAIN)) % RUN_WORDS];
        return starts & live_bit(a) ? HEAP_E_DOUBLE : HEAP_E_INVALID;
    }
    int e = block_lookup(h, p, ref);
    return e ? e : 2;
}

static INLINE void block_free(struct heap *h, uint32_t off)
{
    uint32_t size = bsize(blk(h, off)->sf);
    h->used_bytes -= size;
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
    h->lo = al + first + HDR;
    set_top(h, first);
    heap_set_debug(h, 0);
    for (unsigned c = 0; c < NCLS; c++) {
        unsigned q = c + 1, n = class_slots(c);
        for (unsigned i = 0; i < n; i++) {
            unsigned g = RUN_OBJ / GRAIN + i * q;
            h->starts[c][g >> 5] |= 1u << (g & 31);
        }
    }
    return h;
}

/* The common block allocation: no debug, default alignment, a rounded
 * request of pay > SMALL_MAX bytes in a block of need = HDR + pay bytes, or
 * (resv = F_RESV, from heap_realloc) of need bytes with a growth reserve;
 * need is at most SIZE_MASK. Blocks come from the bins, else from the
 * wilderness. */
static INLINE void *plain_carve(struct heap *h, uint32_t need, uint32_t pay, uint32_t resv)
{
    /* No debug flag is on here (plain_max is 0 then), so free blocks need
     * neither a poison check nor poisoning. */
    uint32_t off = find_fit(h, need), size;
    if (off) {
        size = bsize(blk(h, off)->sf);
        uint32_t rem = size - need;
        if (rem >= SPLIT_MIN) {
            /* The block after the remainder keeps its PFREE. */
            set_hdr(h, off, need | F_USED | resv);
            put_free_plain(h, off + need, rem, bin_index(rem));
            size = need;
        } else {
            /* A free block never touches top: a used block follows. */
            uint32_t tail = resv ? resv : ((size - HDR - pay) / GRAIN) << TAIL_SHIFT;
            set_hdr(h, off, size | F_USED | tail);
            flip_flags(blk(h, off + size), F_PFREE);
        }
    } else {
        off = h->top;
        if (UNLIKELY(h->size - off < need)) {
            h->failed++;
            return NULL;
        }
        size = need;
        set_top(h, off + need);
        set_hdr(h, off, need | F_USED | resv);
    }
    if (resv)
        *(uint32_t *)at(h, off + size - 4) = pay;
    size_t used = h->used_bytes + size;
    h->used_bytes = used;
    if (used > h->peak_used)
        h->peak_used = used;
    h->allocs++;
    return at(h, off + HDR);
}

static NOINLINE void *plain_alloc(struct heap *h, uint32_t need, uint32_t pay)
{
    return plain_carve(h, need, pay, 0);
}

static NOINLINE void *resv_alloc(struct heap *h, uint32_t need, uint32_t pay)
{
    return plain_carve(h, need, pay, F_RESV);
}

/* Everything heap_alloc's fast paths leave: size 0, debug blocks, aligned
 * requests, sizes beyond the region. */
static NOINLINE void *large_alloc(struct heap *h, size_t size, size_t align, uintptr_t site)
{
    if (size == 0)
        return NULL;
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
    if (h->used_bytes > h->peak_used)
        h->peak_used = h->used_bytes;
    h->allocs++;
    return at(h, off + HDR);
}

/* Class c has no run with room: start one, or when no run fits, make the
 * request a block. */
static NOINLINE void *small_alloc_new_run(struct heap *h, unsigned c)
{
    uint32_t roff = run_new(h, c);
    if (roff)
        return slot_take(h, c, roff);
    return large_alloc(h, (c + 1) * GRAIN, HEAP_ALIGN, 0);
}

void *heap_alloc(struct heap *h, size_t size, size_t align, uintptr_t site)
{
    /* small_max and plain_max are 0 while debugging: everything then takes
     * large_alloc, as does size 0 (size - 1 wraps). */
    size_t s1 = size - 1;
    if (s1 < h->small_max && align <= HEAP_ALIGN) {
        unsigned c = (unsigned)(s1 / GRAIN);
        uint32_t roff = h->partial[c];
        if (roff)
            return slot_take(h, c, roff);
        return small_alloc_new_run(h, c);
    }
    if (s1 < h->plain_max && align <= HEAP_ALIGN) {
        uint32_t pay = round8(size);
        return plain_alloc(h, pay + HDR, pay);
    }
    return large_alloc(h, size, align, site);
}

/* heap_free of a pointer inside a run's span that is not a live slot. */
static NOINLINE int free_in_run_error(struct heap *h, void *p)
{
    uint32_t ref = 0;
    int kind = lookup(h, p, &ref);
    return refuse(h, kind < 0 ? kind : HEAP_E_CORRUPT, p);
}

/* heap_free of NULL or of an address no payload can have. */
static NOINLINE int free_outside(struct heap *h, void *p)
{
    return p ? refuse(h, HEAP_E_INVALID, p) : HEAP_OK;
}

/* heap_free of a valid block while debugging or of a debug block: freed
 * unless its red zone was written. */
static NOINLINE int free_debug_block(struct heap *h, uint32_t off)
{
    const uint8_t *bad = (blk(h, off)->sf & F_DBG) ? redzone_bad(h, off) : NULL;
    if (bad) {
        h->bad_frees++;
        h->debug_errors++;
        report(h, HEAP_E_REDZONE, "red zone overwritten: block not freed", bad);
        return HEAP_E_REDZONE;
    }
    block_free(h, off);
    return HEAP_OK;
}

/* heap_free of a payload address outside the runs that the fast path
 * below does not take: refused pointers (classified by block_lookup), debug
 * blocks, and any block while a debug flag is on (free blocks get poisoned). */
static NOINLINE int free_block_slow(struct heap *h, void *p)
{
    uint32_t off;
    int e = block_lookup(h, p, &off);
    if (e)
        return refuse(h, e, p);
    return free_debug_block(h, off);
}

/* heap_free of a payload address outside the runs: validate the block and
 * its neighbours' boundary tags (what block_lookup checks, in the order the
 * coalescing needs them), then coalesce and bin it. */
static NOINLINE int free_block(struct heap *h, void *p)
{
    uint32_t off = offset_of(h, p) - HDR;
    struct blk *b = blk(h, off);
    uint32_t sf = b->sf, key = h->key;
    uint32_t size = bsize(sf), next = off + size, top = h->top;
    /* A header that passes its seal was written by the heap, so its size is
     * sound; next > top is checked anyway, to keep the reads below in the
     * region whatever happens. */
    if (UNLIKELY(b->seal != (off ^ sf ^ key) || (sf & (F_USED | F_RUN | F_DBG)) != F_USED ||
                 next > top))
        return free_block_slow(h, p);
    if (UNLIKELY(h->debug))
        return free_block_slow(h, p);
    uint32_t nsf = F_USED;
    if (next != top) {
        const struct blk *n = blk(h, next);
        nsf = n->sf;
        if (UNLIKELY(n->seal != (next ^ nsf ^ key) || (nsf & F_PFREE)))
            return free_block_slow(h, p);
    }
    uint32_t start = off, psize = 0, psf = 0;
    if (sf & F_PFREE) {
        psize = footer(h, off);
        if (UNLIKELY((psize & 7) || psize > off - h->first))
            return free_block_slow(h, p);
        start = off - psize;
        const struct blk *pb = blk(h, start);
        psf = pb->sf;
        if (UNLIKELY(pb->seal != (start ^ psf ^ key) || (psf & ~F_DBG) != psize))
            return free_block_slow(h, p);
    }
    h->used_bytes -= size;
    h->frees++;
    /* Mark it free first: a stale header left inside a merged block, or
     * above top, must read free so a later double free is recognised. */
    b->sf = size;
    b->seal = off ^ size ^ key;
    size += psize;
    if (next == top) {
        if (psize)
            bin_remove(h, start);
        set_top(h, start);
        return HEAP_OK;
    }
    if (nsf & F_USED) {
        flip_flags(blk(h, next), F_PFREE);
    } else {
        bin_remove(h, next);
        size += bsize(nsf);
    }
    unsigned i = bin_index(size);
    if (psize) {
        /* The block below grows; if it heads the bin of its new size it
         * stays put (not when its body is poisoned: the new part is not). */
        if (fblk(h, start)->prev == BIN_HEAD(i) && psf == psize) {
            set_hdr(h, start, size);
            set_footer(h, start, size);
            return HEAP_OK;
        }
        bin_remove(h, start);
    }
    put_free_plain(h, start, size, i);
    return HEAP_OK;
}

int heap_free(struct heap *h, void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (UNLIKELY(!in_heap(h, a)))
        return free_outside(h, p);
    struct run *r = run_of(h, a);
    if (!r)
        return free_block(h, p);
    uint32_t *lw = live_word(r, a);
    uint32_t live = *lw;
    unsigned n = (unsigned)(a / GRAIN) % 32;
    if (UNLIKELY(!((live >> n) & 1)))
        return free_in_run_error(h, p);
    *lw = live & ~(1u << n);
    return slot_freed(h, r, a);
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

/* Resize a plain (non-debug) block in place to `need` bytes. Returns 1 if it
 * now has room, 0 if it must move. */
static int resize_in_place(struct heap *h, uint32_t off, uint32_t need, uint32_t pay)
{
    uint32_t sf = blk(h, off)->sf;
    uint32_t size = bsize(sf);
    uint32_t keep = sf & (F_PFREE | F_RESV);
    uint32_t resv = sf & F_RESV;
    uint32_t next = off + size;

    if (need > size) {
        if (next == h->top) {
            if ((uint64_t)off + need > h->size)
                return 0;
            set_top(h, off + need);
            set_hdr(h, off, need | F_USED | keep);
            h->used_bytes += need - size;
        } else {
            uint32_t nsf = blk(h, next)->sf;
            uint32_t nsize = bsize(nsf);
            if ((nsf & F_USED) || size + nsize < need)
                return 0;
            if (h->debug & HEAP_DEBUG_POISON)
                verify_poison(h, next);
            bin_remove(h, next);
            uint32_t total = size + nsize;
            uint32_t rem = total - need;
            if (rem >= SPLIT_MIN) {
                set_hdr(h, off, need | F_USED | keep);
                make_free(h, off + need, rem);
                h->used_bytes += need - size;
            } else {
                set_hdr(h, off, total | F_USED | keep | (resv ? 0 : (rem / GRAIN) << TAIL_SHIFT));
                flip_flags(blk(h, off + total), F_PFREE);
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
    if (h->used_bytes > h->peak_used)
        h->peak_used = h->used_bytes;
    return 1;
}

/* heap_realloc of a pointer that is not a live allocation: refused. */
static NOINLINE void *realloc_refused(struct heap *h, void *p, int *err)
{
    uint32_t ref = 0;
    int e = lookup(h, p, &ref);
    e = e < 0 ? e : HEAP_E_CORRUPT;
    if (err)
        *err = e;
    refuse(h, e, p);
    return NULL;
}

/* heap_realloc of a payload address outside the runs that
 * block_realloc_fast did not settle: validated like a free, then resized in
 * place when it can, else moved (with a growth reserve when it grows by
 * appends). */
static NOINLINE void *block_realloc(struct heap *h, void *p, size_t size, uintptr_t site, int *err)
{
    uint32_t off;
    uint32_t pay = round8(size);
    if (UNLIKELY(block_lookup(h, p, &off)))
        return realloc_refused(h, p, err);
    if (size > h->size) {
        h->failed++;
        return NULL;
    }
    uint32_t sf = blk(h, off)->sf;
    if (!h->debug && !(sf & F_DBG) && size > SMALL_MAX) {
        uint32_t resv = sf & F_RESV;
        if (resize_in_place(h, off, HDR + pay + (resv ? GRAIN : 0), pay))
            return p;
    }
    if ((sf & F_DBG) && redzone_bad(h, off)) {
        if (err)
            *err = HEAP_E_REDZONE;
        h->bad_frees++;
        h->debug_errors++;
        report(h, HEAP_E_REDZONE, "red zone overwritten: block not moved", p);
        return NULL;
    }
    uint32_t old = block_payload(h, off);
    int growing = (sf & F_RESV) || pay - old <= old / 4;
    void *q;
    if (!h->debug && size > SMALL_MAX && pay > old && growing && pay <= SIZE_MASK / 2) {
        /* Grown by a small step (an append) or grown before: take a reserve
         * so the next steps happen in place. */
        uint32_t reserve = (((sf & F_RESV) ? pay / 2 : pay / 4) + GRAIN - 1) & ~(GRAIN - 1);
        q = resv_alloc(h, HDR + pay + reserve + GRAIN, pay);
        if (!q) {
            h->failed--;  /* not the caller's failure: retry without reserve */
            q = plain_alloc(h, HDR + pay, pay);
        }
    } else {
        q = heap_alloc(h, size, 0, site);
    }
    if (!q)
        return NULL;
    if (sf & F_DBG)
        old = trailer(h, off, bsize(sf))->req;
    copy(q, p, old < size ? old : size);
    block_free(h, off);
    return q;
}

/* heap_realloc of a payload address outside the runs. A plain block whose
 * new size stays within its reserve or its tail is resized here, with only
 * its own header checked; everything else goes to block_realloc. */
static INLINE void *block_realloc_fast(struct heap *h, void *p, size_t size, uintptr_t site,
                                       int *err)
{
    uint32_t off = offset_of(h, p) - HDR;
    struct blk *b = blk(h, off);
    uint32_t sf = b->sf, key = h->key;
    if (b->seal == (off ^ sf ^ key) && (sf & (F_USED | F_RUN | F_DBG)) == F_USED &&
        size - (SMALL_MAX + 1) < PLAIN_MAX - SMALL_MAX && !h->debug) {
        uint32_t bs = bsize(sf), pay = round8(size);
        if (sf & F_RESV) {
            uint32_t need = HDR + pay + GRAIN;
            if (need <= bs && (bs - need) * 2 <= bs) {
                *(uint32_t *)at(h, off + bs - 4) = pay;
                return p;
            }
        } else if (HDR + pay <= bs && bs - HDR - pay < SPLIT_MIN) {
            sf = (sf & ~TAIL_MASK) | ((bs - HDR - pay) / GRAIN) << TAIL_SHIFT;
            b->sf = sf;
            b->seal = off ^ sf ^ key;
            return p;
        }
    }
    return block_realloc(h, p, size, site, err);
}

/* heap_realloc(NULL, size) allocates, heap_realloc(p, 0) frees. */
static NOINLINE void *realloc_edge(struct heap *h, void *p, size_t size, uintptr_t site, int *err)
{
    if (!p)
        return heap_alloc(h, size, 0, site);
    int e = heap_free(h, p);
    if (err)
        *err = e;
    return NULL;
}

/* heap_realloc of a payload address in run r: the slot stays if the rounded
 * size keeps its class, else it moves (small_max is 0 while debugging: to a
 * debug block then). */
static NOINLINE void *slot_realloc(struct heap *h, struct run *r, void *p, size_t size,
                                   uintptr_t site, int *err)
{
    uintptr_t a = (uintptr_t)p;
    if (UNLIKELY(!(*live_word(r, a) & live_bit(a))))
        return realloc_refused(h, p, err);
    uint32_t old = (r->cls + 1) * GRAIN;
    void *q;
    if (size - 1 < h->small_max) {
        if (round8(size) == old)
            return p;
        unsigned c = (unsigned)(size - 1) / GRAIN;
        uint32_t roff = h->partial[c];
        q = roff ? slot_take(h, c, roff) : small_alloc_new_run(h, c);
    } else {
        q = heap_alloc(h, size, 0, site);
    }
    if (!q)
        return NULL;
    copy(q, p, old < size ? old : size);
    slot_free(h, r, a);
    return q;
}

void *heap_realloc(struct heap *h, void *p, size_t size, uintptr_t site, int *err)
{
    if (err)
        *err = HEAP_OK;
    uintptr_t a = (uintptr_t)p;
    if (UNLIKELY(!p || !size))
        return realloc_edge(h, p, size, site, err);
    if (UNLIKELY(!in_heap(h, a)))
        return realloc_refused(h, p, err);
    struct run *r = run_of(h, a);
    if (!r)
        return block_realloc_fast(h, p, size, site, err);
    return slot_realloc(h, r, p, size, site, err);
}

size_t heap_usable_size(struct heap *h, const void *p)
{
    uint32_t ref = 0;
    int kind = lookup(h, p, &ref);
    return kind < 0 ? 0 : usable(h, kind, ref);
}

int heap_owns(struct heap *h, const void *p)
{
    uint32_t ref = 0;
    return lookup(h, p, &ref) > 0;
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
    /* Free space and payload are counted by a walk rather than on every
     * operation: statistics are rare, allocations are not. */
    uint32_t wild = h->size - h->top;
    size_t largest = wild, free_bytes = wild, free_blocks = wild != 0, payload = 0;
    for (uint32_t off = h->first; off < h->top;) {
        uint32_t sf = blk(h, off)->sf, size = bsize(sf);
        if (!hdr_ok(h, off) || size < MIN_FREE || size > h->top - off)
            break;
        if (!(sf & F_USED)) {
            free_bytes += size;
            free_blocks++;
            if (size > largest)
                largest = size;
        } else if (sf & F_RUN) {
            const struct run *r = run_at(h, off + HDR);
            payload += (size_t)r->nlive * (r->cls + 1) * GRAIN;
        } else {
            payload += block_payload(h, off);
        }
        off += size;
    }
    st->region_size = h->size;
    st->used_bytes = h->used_bytes;
    st->free_bytes = free_bytes;
    st->payload_bytes = payload;
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
        violation(c, "heap_check: run header damaged", roff);
        return;
    }
    if ((uintptr_t)r & (RUN_BYTES - 1))
        violation(c, "heap_check: run misaligned", roff);
    if (bsz < RUN_BYTES || bsz - RUN_BYTES >= SPLIT_MIN)
        violation(c, "heap_check: run block size does not match its class", roff);
    if (r->nslots != class_slots(r->cls))
        violation(c, "heap_check: run slot count does not match its class", roff);
    unsigned open = 0, avail = 0;
    for (unsigned w = 0; w < RUN_WORDS; w++) {
        uint32_t starts = h->starts[r->cls][w];
        if (r->live[w] & ~starts)
            violation(c, "heap_check: run live bit off a slot start", roff);
        uint32_t free_starts = starts & ~r->live[w];
        open += popcount32(free_starts);
        if (free_starts)
            avail |= 1u << w;
    }
    if (avail != r->avail)
        violation(c, "heap_check: run avail map disagrees with its bitmap", roff);
    if (!avail && r->prev != OFF_LIST)
        violation(c, "heap_check: full run not marked off its list", roff);
    if (r->nlive + open != r->nslots)
        violation(c, "heap_check: run live count disagrees with its bitmap", roff);
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
        violation(&c, "heap_check: control block damaged", 0);
        return c.bad;
    }
    if (h->top < h->first || h->top > h->size || (h->top & 7) || h->hiwater < h->top)
        violation(&c, "heap_check: top out of range", h->top);
    if (h->lo != (uintptr_t)at(h, h->first + HDR) ||
        h->gspan != (h->top > h->first ? (h->top - h->first - HDR) / GRAIN : 0))
        violation(&c, "heap_check: payload range disagrees with top", h->top);
    if (h->small_max != (h->debug ? 0 : SMALL_MAX) || h->plain_max != (h->debug ? 0 : PLAIN_MAX))
        violation(&c, "heap_check: fast-path limits disagree with the debug flags", 0);

    size_t used = 0, freeb = 0, live = 0, nfree = 0;
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
    for (unsigned i = 0; i < FL_COUNT * SL_COUNT; i++) {
        unsigned fl = i / SL_COUNT, sl = i % SL_COUNT;
        if (sl == 0 && !!(h->fl_map & (1u << fl)) != !!h->sl_map[fl])
            violation(&c, "heap_check: first-level bitmap disagrees with second level", 0);
        uint32_t o = h->bins[i];
        if (!!(h->sl_map[fl] & (1u << sl)) != !!o)
            violation(&c, "heap_check: bitmap bit disagrees with its list", 0);
        uint32_t prev = BIN_HEAD(i);
        size_t steps = 0;
        while (o) {
            if (o < h->first || o >= h->top || (o & 7) || !hdr_ok(h, o) || (blk(h, o)->sf & F_USED)) {
                violation(&c, "heap_check: bin holds something that is not a free block", o);
                break;
            }
            if (bin_index(bsize(blk(h, o)->sf)) != i)
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
    if (listed != nfree || listed_bytes != freeb)
        violation(&c, "heap_check: bins do not hold exactly the free blocks", 0);

    /* Partial-run lists. */
    uint32_t on_lists = 0;
    for (unsigned cl = 0; cl < NCLS; cl++) {
        uint32_t prev = 0;
        for (uint32_t r = h->partial[cl]; r; r = run_at(h, r)->next) {
            const struct run *rr = run_at(h, r);
            if (r < h->first || r >= h->top || rr->seal != run_seal(h, rr) || rr->cls != cl ||
                rr->avail == 0 || rr->prev != prev || on_lists > runs) {
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
    return c.bad;
}

unsigned heap_defragment(struct heap *h)
{
    /* Kept empty runs go back first. */
    for (unsigned c = 0; c < NCLS; c++) {
        uint32_t r = h->partial[c];
        while (r) {
            uint32_t next = run_at(h, r)->next;
            if (!run_at(h, r)->nlive)
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
                bin_remove(h, off);
                set_top(h, off);
                merges++;
                break;
            }
            uint32_t nsf = blk(h, next)->sf;
            if (!(nsf & F_USED) && hdr_ok(h, next)) {
                bin_remove(h, off);
                bin_remove(h, next);
                size += bsize(nsf);
                merges++;
                if (off + size == h->top) {
                    set_top(h, off);
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
