/* physmem.h — physical RAM as the multiboot loader reported it.
 *
 * physmem_init copies the loader's memory map (it lives in memory the kernel
 * will reuse) into a table of its own; everything that needs to know what RAM
 * exists (paging, the heap, the stack region, the page frame allocator) asks
 * here instead of assuming.
 */
#ifndef KOS_PHYSMEM_H
#define KOS_PHYSMEM_H

#include <stdint.h>
#include "../arch/multiboot.h"

#define PHYSMEM_MAX_REGIONS 32
#define PHYSMEM_RESERVED    2     /* the multiboot type "reserved" */

struct physmem_region {
    uint64_t base;
    uint64_t len;
    uint32_t type;       /* MULTIBOOT_MEMORY_AVAILABLE or a reserved type */
};

/* Check the magic, save the map, print mem_lower/mem_upper and the map.
 * Panics if the kernel was not loaded by a multiboot loader or was given no
 * memory information. */
void physmem_init(uint32_t magic, const struct multiboot_info *mbi);

unsigned physmem_region_count(void);
const struct physmem_region *physmem_region(unsigned i);
uint32_t physmem_mem_lower_kib(void);
uint32_t physmem_mem_upper_kib(void);

/* Is every byte of [start, end) usable RAM? (Above 4 GiB too: PAE
 * reaches it, through HighMem.) */
int physmem_is_usable(uint64_t start, uint64_t end);

/* The end of the usable stretch of RAM that contains addr (0 if addr is
 * not usable), capped at the last page below 4 GiB. Adjacent available
 * regions count as one stretch. */
uint32_t physmem_usable_end(uint32_t addr);

/* One past the highest usable byte (the top of RAM, above 4 GiB when the
 * loader's map has RAM there). */
uint64_t physmem_top(void);

/* Total usable bytes. */
uint64_t physmem_total_usable(void);

/* Mark [start, end) reserved where the map says available (a boot module
 * the loader placed in RAM), splitting regions as needed, so no allocator
 * built afterwards hands it out. Returns 0 or -ENOMEM if the table is full. */
int physmem_reserve(uint64_t start, uint64_t end);

/* Print the saved map, one region a line. */
void physmem_print(void);

#endif
