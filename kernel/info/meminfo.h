/* meminfo.h — the whole machine's memory in bytes: the specification's
 * get_memory_stats, gathered from the allocators that own each part. */
#ifndef KOS_MEMINFO_H
#define KOS_MEMINFO_H

#include <stdint.h>

/* KOS has no swap and no block-device buffers: those two stay 0. */
struct mem_info {
    uint64_t total_memory;    /* usable RAM from the boot loader's map */
    uint64_t free_memory;     /* free frames of the page allocator and free bytes of the heap */
    uint64_t used_memory;     /* total_memory - free_memory */
    /* Free slab objects and the page cache: memory a kernel with a disk
     * could drop. Linux's Cached is the page cache alone; KOS adds what its
     * slabs keep. */
    uint64_t cached_memory;
    uint64_t buffer_memory;
    uint64_t swap_total;
    uint64_t swap_free;
};

void mem_info_get(struct mem_info *mi);

#endif
