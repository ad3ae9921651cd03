/* memory.h — the kacchiOS memory manager API: kmalloc and friends over the
 * heap at HEAP_START, and per-process stacks in the stack region.
 *
 * Policy lives below: kernel/mm/heap/ is the allocator, stack.c the stack slots.
 * Every error (double free, a pointer the heap never returned, an
 * impossible size, a stack refused) is reported on the serial console as
 * "function: pointer or pid: reason", counted, and survived.
 */
#ifndef KOS_MEMORY_H
#define KOS_MEMORY_H

#include <stddef.h>
#include <stdint.h>
#include "stack.h"
#include "../include/layout.h"

typedef struct {
    uint32_t total_heap;        /* bytes the heap manages (HEAP_SIZE, or less when RAM ends sooner) */
    uint32_t used_heap;         /* bytes in allocated blocks, headers included */
    uint32_t free_heap;         /* bytes in free blocks */
    uint32_t total_stacks;      /* bytes of the stacks in RAM: MAX_PROCESS_STACKS * STACK_SIZE, or
                                 * fewer slots' worth when RAM ends inside the stack region */
    uint32_t num_allocations;   /* live kmalloc blocks */
    uint32_t num_stacks;        /* stacks in use */
} memory_stats_t;

/* What KOS counts beyond the specification's structure. */
struct memory_counters {
    uint32_t peak_heap;         /* high-water mark of used_heap */
    uint32_t allocs;            /* successful allocations (kmalloc, kcalloc, krealloc moves) */
    uint32_t frees;             /* successful frees */
    uint32_t failed_allocs;     /* requests the heap could not meet (size 0 is no request;
                                 * refused arguments count in bad_sizes) */
    uint32_t double_frees;
    uint32_t invalid_frees;     /* pointers the heap never returned */
    uint32_t corrupt_blocks;    /* damaged metadata, red zone or poison found */
    uint32_t bad_sizes;         /* refused arguments: a kcalloc product that overflows, an
                                 * alignment that is no power of two */
    uint32_t stack_errors;      /* refused stack requests */
    uint32_t defragment_runs;
    uint32_t largest_free;      /* largest single free block */
    uint32_t free_blocks;
    uint32_t fragmentation_pct; /* 100 - 100 * largest_free / free_heap */
    uint32_t heap_extent;       /* bytes from HEAP_START to the highest byte ever handed out */
};

/* Lay the heap over [HEAP_START, HEAP_START + HEAP_SIZE) (clamped to the RAM
 * that exists, and said so) and prepare the stack slots. Call once, after
 * physmem_init and paging_init; a later call is reported and changes nothing. */
void memory_init(void);

/* Build the buddy allocator over all RAM (buddy_init) and print what it
 * manages (mem_map, the stretches of frames, the zones) or why it could
 * not. Returns buddy_init's result. Call after memory_init. */
int memory_init_frames(void);

/* size bytes, 8-byte aligned. NULL for size 0 or when the heap cannot hold
 * the request even after one memory_defragment(). */
void *kmalloc(size_t size);

/* size bytes aligned to align (a power of two). NULL as for kmalloc, or for
 * an alignment that is not a power of two. */
void *kmalloc_aligned(size_t size, size_t align);

/* Free a block from kmalloc/kcalloc/krealloc. NULL is ignored. A double
 * free or a pointer the heap never returned is reported and ignored. */
void kfree(void *ptr);

/* kfree that also says how it went: 0, or the HEAP_E_* code (heap.h) of a
 * refused free, which has been reported and counted as for kfree. */
int kfree_checked(void *ptr);

/* The usable bytes of the live block at ptr (Linux's ksize), 0 if ptr is
 * not the start of a live block: lets an owner of some blocks ask, before
 * freeing a pointer it did not hand out, whether it would free another's. */
size_t ksize(const void *ptr);

/* num * size bytes, zeroed. NULL if the product overflows (reported) or the
 * heap cannot hold it. */
void *kcalloc(size_t num, size_t size);

/* Resize ptr to new_size, keeping the first min(old, new) bytes. NULL ptr
 * is kmalloc; new_size 0 frees ptr and returns NULL. On failure returns NULL
 * and ptr is untouched. A bad ptr is reported and NULL returned. */
void *krealloc(void *ptr, size_t new_size);

/* stack_alloc, stack_free, stack_get_base, stack_get_top: stack.h. */

void memory_get_stats(memory_stats_t *stats);
void memory_get_counters(struct memory_counters *c);

/* Print every statistic as "name: value", one a line. */
void memory_print_stats(void);

/* Give back to the free space what the heap holds for reuse (empty runs,
 * unused growth reserves); prints and returns the bytes made available. */
unsigned memory_defragment(void);

/* Run the heap's integrity checker, printing each violation; returns the count. */
unsigned memory_check(void);

/* Call fn for every block of the heap, in address order, with interrupts
 * off (heap_walk in heap/heap.h describes a block). For inspection:
 * heapmap, the picture of the heap. */
struct heap_block;
void memory_walk(void (*fn)(const struct heap_block *block, void *ctx), void *ctx);

/* Heap debug switches (HEAP_DEBUG_* from heap/heap.h). */
void memory_set_debug(unsigned flags);
unsigned memory_get_debug(void);

/* Live blocks with their call sites (needs HEAP_DEBUG_TRACK for sites). */
void memory_print_leaks(void);

#endif
