/* heap.h — the general-purpose allocator over one caller-provided region:
 * the public contract of kernel/mm/heap/.
 *
 * Pure C: no kernel headers, no globals, no I/O; memory fill and copy are
 * the standard memset/memcpy (kernel/lib/string.c in the kernel, the C
 * library on the host). The same files compile into the kernel (where
 * memory.c runs one instance over [HEAP_START, HEAP_START + HEAP_SIZE)) and
 * for the host, where they are unit-tested, fuzzed and benchmarked. Errors
 * are returned, never printed: the caller reports.
 *
 * Modules (each file says what it owns): internal.h (struct heap, the layout
 * and its byte values), bins.h (size classes and free lists), block.h and
 * block.c (free blocks, carving and release), run.h and run.c (small-object
 * runs), realloc.c, debug.c (poison, red zones, trailers, call sites),
 * check.c (integrity check, walk, statistics), entry.c (the entry points).
 */
#ifndef KOS_HEAP_H
#define KOS_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* Default alignment of every payload; any larger power of two on request. */
#define HEAP_ALIGN 8

/* Return codes of heap_free (0 is success). Enums, so that the codes are in
 * the debug information and tools read them from there. */
enum heap_error {
    HEAP_OK = 0,
    HEAP_E_INVALID = -1,  /* not a pointer this heap returned (range, alignment, interior) */
    HEAP_E_DOUBLE = -2,   /* the block is already free */
    HEAP_E_CORRUPT = -3,  /* the block's metadata is damaged */
    HEAP_E_REDZONE = -4,  /* debug: the red zone after the block was overwritten */
    HEAP_E_POISON = -5,   /* debug: a free block was written after it was freed */
};

/* Debug switches for heap_set_debug (off by default). */
enum heap_debug_flag {
    HEAP_DEBUG_POISON = 0x1,   /* fill freed memory, verify it on reuse */
    HEAP_DEBUG_REDZONE = 0x2,  /* guard bytes after each block, checked on free */
    HEAP_DEBUG_TRACK = 0x4,    /* remember the call site of each live block */
};

struct heap;

struct heap_stats {
    size_t region_size;     /* bytes handed to heap_init */
    size_t used_bytes;      /* bytes in allocated blocks, headers included */
    size_t free_bytes;      /* bytes in free blocks, headers included */
    size_t payload_bytes;   /* bytes requested by live allocations */
    size_t peak_used_bytes; /* high-water mark of used_bytes */
    size_t largest_free;    /* largest request sure to succeed (see heap_get_stats) */
    size_t live_blocks;     /* allocated blocks */
    size_t free_blocks;     /* free blocks */
    uint32_t allocs;        /* successful allocations since init */
    uint32_t frees;         /* successful frees since init */
    uint32_t failed_allocs; /* allocations that returned NULL */
    uint32_t bad_frees;     /* frees refused with an error */
    /* Added after the first interface: */
    size_t extent_bytes;    /* highest offset ever handed out, from the region start */
    uint32_t debug_errors;  /* poison and red-zone violations detected */
    uint32_t runs;          /* small-object runs in use */
};

/* One block as seen by heap_walk. */
struct heap_block {
    void *payload;       /* what heap_alloc returned (free blocks: where it would start) */
    size_t size;         /* usable payload bytes */
    int used;            /* 1 allocated, 0 free */
    uintptr_t site;      /* call site recorded under HEAP_DEBUG_TRACK, else 0 */
};

typedef void (*heap_walk_fn)(const struct heap_block *block, void *ctx);
typedef void (*heap_report_fn)(const char *what, const void *where, void *ctx);

/* Lay a heap over [base, base + size). Returns the heap handle (its control
 * data lives at the start of the region), or NULL if the region is too small
 * or misaligned beyond repair. */
struct heap *heap_init(void *base, size_t size);

/* Allocate size bytes aligned to align (0 means HEAP_ALIGN; otherwise a power
 * of two). site is a call-site tag recorded in debug tracking (0 if unknown).
 * Returns NULL if the request cannot be met; size 0 returns NULL. */
void *heap_alloc(struct heap *h, size_t size, size_t align, uintptr_t site);

/* Free a block. NULL is a no-op returning HEAP_OK. A pointer the heap never
 * returned, an interior pointer, or an already-free block is refused with a
 * negative HEAP_E_* code and the heap is left untouched. */
int heap_free(struct heap *h, void *p);

/* Resize in place when possible, else allocate, copy and free. p == NULL is
 * heap_alloc; size == 0 frees p and returns NULL. On failure returns NULL and
 * p stays valid. *err (if not NULL) receives a HEAP_E_* code when p is bad. */
void *heap_realloc(struct heap *h, void *p, size_t size, uintptr_t site, int *err);

/* Usable bytes of an allocated block, 0 for a pointer the heap did not return. */
size_t heap_usable_size(struct heap *h, const void *p);

/* Does p point at the payload of a live block? O(1). */
int heap_owns(struct heap *h, const void *p);

/* The statistics, in constant time: the counters are kept as the heap goes.
 * largest_free is the largest request sure to succeed: the wilderness, or
 * the floor of the highest non-empty free list (at most 1/32 of a power of
 * two below the largest free block). */
void heap_get_stats(struct heap *h, struct heap_stats *st);

/* Visit every block in address order. */
void heap_walk(struct heap *h, heap_walk_fn fn, void *ctx);

/* Check every invariant; call report (may be NULL) once per violation.
 * Returns the number of violations: 0 means the heap is sound. */
unsigned heap_check(struct heap *h, heap_report_fn report, void *ctx);

/* What a non-moving allocator can do to defragment: give back everything
 * held for reuse (empty small-object runs kept for their class, the unused
 * growth reserves of live blocks) to the free space, coalescing it there.
 * Returns the bytes made available (0 when nothing was held). */
size_t heap_defragment(struct heap *h);

void heap_set_debug(struct heap *h, unsigned flags);
unsigned heap_get_debug(struct heap *h);

/* A short English name for a HEAP_E_* code. */
const char *heap_strerror(int err);

/* Added after the first interface. */

/* Bytes from the region start up to the highest address ever handed out
 * (control data included): what the heap has touched. */
size_t heap_extent(struct heap *h);

/* The last HEAP_E_* error detected (by a free, a realloc, or a poison check
 * during an allocation), HEAP_OK if none yet. */
int heap_last_error(struct heap *h);

/* Call fn(what, where, ctx) on every error detected: refused frees, red-zone
 * overflows, writes to freed memory found on reuse. NULL turns it off. */
void heap_set_report(struct heap *h, heap_report_fn fn, void *ctx);

#endif
