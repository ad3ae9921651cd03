/* vmalloc.h — virtually contiguous kernel memory from scattered frames:
 * Linux's vmalloc, for requests too large to find as one buddy block.
 *
 * An area is a run of pages in the vmalloc window, each mapped to a frame
 * of its own taken one at a time from the page allocator (GFP_HIGHMEM:
 * HighMem first, then Normal, then DMA), followed by one unmapped guard
 * page, so a write running off the end faults instead of landing in the
 * next area. The page tables live in the kernel page directory (paging.h),
 * which every address space shares: an area is seen everywhere at once.
 * Frames are reached only through the window, never by their physical
 * address, so HighMem frames need no kmap.
 *
 *   0x38000000  VMALLOC_START
 *               [area 0 pages][guard][area 1 pages][guard] ...  first fit
 *   0x3F800000  VMALLOC_END: the kmap windows (highmem.h) start here
 *
 * Nothing here prints: refusals return NULL or an error, and vmalloc_why()
 * says why; the shell's vmallocinfo lists the areas in /proc/vmallocinfo's
 * format.
 */
#ifndef KOS_VMALLOC_H
#define KOS_VMALLOC_H

#include <stdint.h>
#include "page.h"

#define VMALLOC_START  0x38000000u
#define VMALLOC_END    0x3F800000u

/* One live area. pages[i] is mapped at addr + i * PAGE_SIZE. */
struct vm_area {
    struct vm_area *next;     /* the next area by address */
    uint32_t addr;            /* first mapped byte, page aligned */
    uint32_t size;            /* mapped bytes: nr_pages * PAGE_SIZE (the guard page is not in it) */
    uint32_t requested;       /* bytes asked for */
    uint32_t nr_pages;
    struct page **pages;
    uintptr_t caller;         /* who asked (an address in the kernel image, or a tag) */
};

struct vmalloc_stats {
    uint32_t areas;           /* live areas */
    uint32_t pages;           /* frames mapped by them */
    uint32_t highmem_pages;   /* of which in ZONE_HIGHMEM */
    uint32_t requested;       /* bytes asked for by live areas */
    uint32_t pt_pages;        /* page tables of the window (kept once made) */
    uint32_t allocs, frees, failed_allocs, bad_frees;
};

/* size bytes of virtually contiguous memory, page aligned: its address, or
 * NULL (size 0, no room in the window, no frames). */
void *vmalloc(uint32_t size);

/* The same with the start aligned to align (a power of two; below
 * PAGE_SIZE means PAGE_SIZE) and caller recorded for vmallocinfo. 0 and
 * *out set, or -EINVAL (size 0, align not a power of two) or -ENOMEM (no
 * room in the window, no frame or page table): nothing is kept. */
int vmalloc_area(uint32_t size, uint32_t align, uintptr_t caller, void **out);

/* Unmap the area starting at addr and give its frames back. 0, or -EINVAL
 * if no area starts there (never allocated, already freed, or an address
 * inside an area): nothing changes. NULL is ignored (0). */
int vfree(const void *addr);

/* The reason of the last refused vmalloc_area or vfree. */
const char *vmalloc_why(void);

/* The live area starting at addr, or NULL. */
const struct vm_area *vmalloc_find(const void *addr);

/* The areas by address, for vmallocinfo: the first, or NULL. */
const struct vm_area *vmalloc_areas(void);

void vmalloc_get_stats(struct vmalloc_stats *st);

/* Check every invariant of the window (areas sorted, inside the window,
 * apart by a guard page; each page mapped to its own allocated frame, the
 * guards unmapped; the counters). Calls report once per violation (may be
 * NULL); returns the number of violations. */
unsigned vmalloc_check(void (*report)(const char *what, uint32_t addr));

#endif
