/* meminfo.c — gathering struct mem_info: RAM from physmem, free memory
 * from the page allocator and the heap, the cache from slab. */
#include <stdint.h>
#include "meminfo.h"
#include "memory.h"
#include "page_alloc.h"
#include "physmem.h"
#include "slab.h"

void mem_info_get(struct mem_info *mi)
{
    memory_stats_t heap;
    memory_get_stats(&heap);
    uint32_t total = physmem_total_usable();
    uint32_t free = get_free_pages() * PAGE_SIZE + heap.free_heap;
    *mi = (struct mem_info){
        .total_memory = total,
        .free_memory = free,
        .used_memory = total - free,
        .cached_memory = slab_cached_bytes(),
    };
}
