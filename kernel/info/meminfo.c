/* meminfo.c — gathering struct mem_info: RAM from physmem, free memory
 * from the page allocator and the heap, the cache from slab and the page
 * cache. Its own folder, above both mm/ and fs/ and below the shell. */
#include <stdint.h>
#include "meminfo.h"
#include "../fs/inode.h"
#include "../mm/memory.h"
#include "../mm/page_alloc.h"
#include "../mm/physmem.h"
#include "../mm/slab/slab.h"

void mem_info_get(struct mem_info *mi)
{
    memory_stats_t heap;
    memory_get_stats(&heap);
    uint64_t total = physmem_total_usable();
    uint64_t free = (uint64_t)get_free_pages() * PAGE_SIZE + heap.free_heap;
    *mi = (struct mem_info){
        .total_memory = total,
        .free_memory = free,
        .used_memory = total - free,
        .cached_memory = slab_cached_bytes() + (uint64_t)pagecache_frames * PAGE_SIZE,
    };
}
