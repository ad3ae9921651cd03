/* internal.h — what the heap's modules share: struct heap, the layout of
 * blocks, runs and free lists in the region (with every poison and red-zone
 * byte value), the constants, and the seal helpers that tie a header to its
 * address. Callers of the heap include heap.h only.
 *
 * Requests of up to SMALL_MAX bytes (8-byte default alignment, no debug flag)
 * come from runs: RUN_BYTES-aligned spans of equal slots, one size class per
 * 8 bytes, with no per-object header. Everything else is a block of a
 * two-level segregated-fits allocator (TLSF-style: a bitmap of size classes
 * over one free list per class, O(1) search) with boundary tags and immediate
 * coalescing. The wilderness ("top") above the highest block is carved only
 * when no free block fits, so the heap stays packed towards low addresses.
 * Policy (kmalloc, reporting on serial) lives in memory.c; the heap only
 * returns codes and calls the report callback.
 *
 * A class's first run waits for demand: until the class has a run, or
 * class_demand(c) live blocks of its size (they take a run's bytes, so
 * the run costs no more space than they do), or
 * the heap has RUN_HEAP_MIN bytes in use (a run per class is then small
 * next to it), its requests are blocks (8 bytes of header each). So a small
 * heap does not pay a 2 KiB run for each of the two dozen classes it
 * touches a few times. class_blocks[c] counts those live blocks,
 * class_runs[c] the class's runs.
 *
 * Region (all offsets are from the start of struct heap, 8-aligned):
 *
 *   0      struct heap: bins, bitmaps, run lists, class counts, statistics
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
 * Free block (USED clear; at least MIN_FREE = 24 bytes, and a remainder of
 * MIN_FREE is split off, not kept as TAIL: SPLIT_MIN = MIN_FREE):
 *
 *   +0 sf | +4 seal | +8 next | +12 prev | +16 ... poison ... | size-4 footer
 *
 *   next/prev link the bin list (offsets, 0 = none); the head of bin i has
 *   prev = 2i + 1 (odd, never an offset), so a block leaves its list without
 *   working out its bin. The footer repeats the size so the following block,
 *   seeing PFREE, can find this header. With DBG the bytes [+16, size-4) are
 *   POISON_FREE (0x6B).
 *
 * Bins: bin_index(size) = (size >> (f - 4)) + (f - 7) * 16 with f = fls(size)
 * raised to 7, i.e. fl = index / 16, sl = index % 16: sizes below 128 have
 * one list per 8 bytes (fl 0), every larger power of two 16 lists (a block
 * taken from the next list is at most 1/16 too big; carving splits the
 * rest off). 16 lists, not 32, halve the list heads in struct heap.
 *
 * Reserve block: a block that has to move to grow by a small step (at most
 * a quarter: an append) gets room for a quarter more; one that was a
 * reserve block already (it keeps growing) gets as much again, and a
 * reserve block that grows in place into a free successor or the
 * wilderness takes half more there, so its next steps stay within its own
 * block. A buffer grown step by step thus moves O(log n) times, not n
 * times, and copies O(n) bytes in all. Its last 8 bytes are
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
 *   class_starts[c] (a constant table, not heap state): the grains where
 *   class c's slots start.
 *   A slot is found as the first set bit of starts[w] & ~live[w] in the
 *   first word w with an avail bit, so the lowest free slot is used first.
 *   A run's block is RUN_BYTES long (payload RUN_SPAN), so runs carved one
 *   after the other tile the heap with no gap: the next run's header sits in
 *   the last 8 bytes before the next RUN_BYTES boundary.
 *
 * Lookup of a pointer p (heap_free, heap_realloc): p must be 8-aligned and
 * in [first + 8, top) (one comparison: the distance rotated right by 3); it
 * is in a run iff r = p & ~(RUN_BYTES-1) is at or above lo (the control
 * data is smaller than a run, so r may fall in it) and the run seal holds at
 * r; then it is a
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
 * Statistics: counters kept as the heap goes, so heap_get_stats never walks:
 * slot_bytes (live slots), block_bytes and block_payload (live blocks,
 * headers included / the rounded requests), run_bytes (run blocks), nfree
 * (blocks in the bins). Blocks tile [first, top), so the free bytes are
 * size - first - block_bytes - run_bytes (the wilderness included).
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
 *   - every statistics counter equals what a walk counts.
 *   Stale headers left inside merged blocks always read "free" (a block is
 *   marked free before it merges), so a double free is caught by the header
 *   seal even after the block was absorbed.
 *
 * Worked example (i386, key left out): heap at 0x200000, first = 0x6D0
 * (sizeof(struct heap) = 1740). A 100-byte request goes to class
 * (100-1)>>3 = 12 (104-byte slots, 19 to a run). Once the class has demand
 * for a run (18 live blocks of its size, or 64 KiB in use), its first run's
 * block, carved on an otherwise empty heap, sits at 0x7F8 so that its
 * payload r = 0x200800 is 2 KiB-aligned (the 296-byte prefix at 0x6D0
 * stays free), and the first slot is
 * r + 48 = 0x200830, grain 6: live[0] bit 6. Class 12's starts are grains
 * 6, 19, 32, ...: class_starts[12][0] = 0x00080040. Freeing 0x200830 reads
 * the seal at 0x200804, then bit (0x200830 / 8) % 256 = 6 of live[0]. A
 * 300-byte request needs a block of 304 + 8 = 312 bytes: bin_index(312) =
 * 35 (fl 2, sl 3); a 1000-byte block (1008 bytes) maps to (1008 >> 5) + 32
 * = 63 (fl 3, sl 15).
 */

#ifndef KOS_HEAP_INTERNAL_H
#define KOS_HEAP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "heap.h"

/* ---- tunables ---------------------------------------------------------- */

#define SMALL_MAX   192u   /* largest request served from runs */
#define RUN_BYTES   2048u  /* span and alignment of a run */
#define SL_LOG      4      /* log2 of the second-level lists per power of two */
#define SPLIT_MIN   24u    /* smallest remainder split off as a free block */
#define PROBE       4      /* entries tried in the request's own bin */
#define ALIGN_TRIES 8      /* free blocks an aligned request looks at for a spot */
#define RUN_HEAP_MIN (64u * 1024)  /* in use from here on, every class gets runs */

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

/* A full run's prev link: it is on no list (list links are offsets, never 1). */
#define OFF_LIST 1u

_Static_assert(SPLIT_MIN >= MIN_FREE && (SPLIT_MIN - GRAIN) + (MIN_FREE - HDR - GRAIN) <= 7 * GRAIN,
               "TAIL holds at most 7 grains of unsplit remainder and padding");
_Static_assert((RUN_BYTES & (RUN_BYTES - 1)) == 0, "RUN_BYTES is a power of two");
_Static_assert(RUN_WORDS <= 8, "a run's avail map is one byte");
_Static_assert((RUN_SPAN - RUN_OBJ) / SMALL_MAX >= 2, "every run holds at least two slots");
_Static_assert(SL_LOG <= 4, "a second-level bitmap is one 16-bit word");
_Static_assert(MAX_REGION / RUN_BYTES <= 0xFFFFu, "a class's run count fits in 16 bits");

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
    size_t slot_bytes;    /* bytes in live slots */
    size_t block_bytes;   /* bytes in live blocks (not runs), headers included */
    size_t block_payload; /* rounded requests of the live blocks */
    size_t peak_used;     /* high-water mark of slot_bytes + block_bytes */
    uint32_t allocs;
    uint32_t frees;
    uint32_t partial[NCLS];

    uint32_t magic;
    uint32_t size;        /* managed bytes, control included */
    uint32_t first;       /* offset of the first block */
    uint32_t top;         /* start of the wilderness */
    uint32_t hiwater;     /* highest top ever: the extent touched */
    enum heap_debug_flag debug;  /* an OR of the flags */
    enum heap_error last_error;
    heap_report_fn report;
    void *report_ctx;
    uint32_t failed;
    uint32_t bad_frees;
    uint32_t debug_errors;
    uint32_t runs;
    uint32_t run_bytes;   /* bytes in run blocks */
    uint32_t nfree;       /* free blocks in the bins */

    uint32_t class_blocks[NCLS];  /* live plain blocks whose payload is in class c */
    uint16_t class_runs[NCLS];    /* runs of class c */
    uint32_t fl_map;
    uint16_t sl_map[FL_COUNT];    /* bit sl: list fl * SL_COUNT + sl is non-empty */
    uint32_t bins[FL_COUNT * SL_COUNT];
};

/* Bit g of class_starts[c][w]: a slot of class c starts at grain 32w + g of
 * a run (the same in every run). Constant: see run.c. */
extern const uint32_t class_starts[NCLS][RUN_WORDS];


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

static inline struct trail *trailer(const struct heap *h, uint32_t off, uint32_t size)
{
    return (struct trail *)at(h, off + size - DBG_TRAIL);
}

static inline uint32_t offset_of(const struct heap *h, const void *p)
{
    return (uint32_t)((const uint8_t *)p - (const uint8_t *)h);
}

static inline uint32_t bsize(uint32_t sf)
{
    return sf & SIZE_MASK;
}

/* ---- seals --------------------------------------------------------------- */

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

/* A run's seal: its offset ^ run_key. */
static inline uint32_t run_seal(const struct heap *h, const struct run *r)
{
    return offset_of(h, r) ^ h->run_key;
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

/* Slots of class c in one run. */
static inline unsigned class_slots(unsigned c)
{
    return (RUN_SPAN - RUN_OBJ) / ((c + 1) * GRAIN);
}

/* Live blocks of class c's size after which the class gets its first run:
 * by then the blocks take as many bytes as a run (headers and the 24-byte
 * minimum included), so the run costs no more space than they do. */
static inline unsigned class_demand(unsigned c)
{
    unsigned block = (c + 1) * GRAIN + HDR < MIN_FREE ? MIN_FREE : (c + 1) * GRAIN + HDR;
    return RUN_BYTES / block;
}

/* ---- shared by the modules ------------------------------------------------ */

/* Record an error: last_error, then the report callback. */
void heap_report(struct heap *h, int err, const char *what, const void *where);

/* A refused free or realloc: counted, reported, err returned. */
int heap_refuse(struct heap *h, int err, const void *p);

/* Classify p: 1 a live slot (*ref = its run), 2 a live block (*ref = its
 * offset), or a HEAP_E_* code. Reads only. */
int heap_lookup(const struct heap *h, const void *p, uint32_t *ref);

/* debug.c */
void debug_poison(struct heap *h, uint32_t off, uint32_t size);
void debug_verify_poison(struct heap *h, uint32_t off);
const uint8_t *debug_redzone_bad(const struct heap *h, uint32_t off);
void debug_arm(struct heap *h, uint32_t off, size_t req, uintptr_t site);
int debug_block_free(struct heap *h, uint32_t off);
size_t debug_find_not(const uint8_t *p, uint8_t v, size_t n);

#endif
