/* physmem.c — the saved multiboot memory map and queries over it. */
#include <stdint.h>
#include "physmem.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"
#include "../lib/panic.h"

#define FOUR_GIB 0x100000000ull

static struct physmem_region regions[PHYSMEM_MAX_REGIONS];
static unsigned nregions;
static uint32_t mem_lower, mem_upper;

static const char *region_type_name(uint32_t type)
{
    switch (type) {
    case 1: return "available";
    case 3: return "ACPI reclaimable";
    case 4: return "ACPI NVS";
    case 5: return "bad memory";
    default: return "reserved";
    }
}

/* Insert keeping the table sorted by base (the loader's order is not promised). */
static void region_add(uint64_t base, uint64_t len, uint32_t type)
{
    if (nregions == PHYSMEM_MAX_REGIONS) {
        kprintf("physmem: more than %u memory map entries, ignoring the rest\n", PHYSMEM_MAX_REGIONS);
        return;
    }
    unsigned i = nregions++;
    while (i > 0 && regions[i - 1].base > base) {
        regions[i] = regions[i - 1];
        i--;
    }
    regions[i].base = base;
    regions[i].len = len;
    regions[i].type = type;
}

void physmem_init(uint32_t magic, const struct multiboot_info *mbi)
{
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
        panic("physmem_init: not started by a multiboot loader (magic %08x)", magic);
    if (!(mbi->flags & MULTIBOOT_INFO_MEMORY))
        panic("physmem_init: the loader gave no memory size (flags %08x)", mbi->flags);

    mem_lower = mbi->mem_lower;
    mem_upper = mbi->mem_upper;
    kprintf("multiboot: mem_lower=%u KiB mem_upper=%u KiB\n", mem_lower, mem_upper);

    if (mbi->flags & MULTIBOOT_INFO_MEM_MAP) {
        uint32_t p = mbi->mmap_addr, end = mbi->mmap_addr + mbi->mmap_length;
        while (p < end) {
            const struct multiboot_mmap_entry *e = (const void *)p;
            if (e->len)
                region_add(e->addr, e->len, e->type);
            p += e->size + 4;
        }
    } else {
        /* No map: mem_lower and mem_upper are all we know. */
        region_add(0, (uint64_t)mem_lower * 1024, MULTIBOOT_MEMORY_AVAILABLE);
        region_add(0x100000, (uint64_t)mem_upper * 1024, MULTIBOOT_MEMORY_AVAILABLE);
    }
    physmem_print();
}

int physmem_reserve(uint64_t start, uint64_t end)
{
    for (unsigned i = 0; i < nregions; i++) {
        struct physmem_region r = regions[i];
        uint64_t r_end = r.base + r.len;
        if (r.type != MULTIBOOT_MEMORY_AVAILABLE || end <= r.base || start >= r_end)
            continue;
        if (nregions + 2 > PHYSMEM_MAX_REGIONS)
            return -ENOMEM;
        uint64_t cut_start = start > r.base ? start : r.base;
        uint64_t cut_end = end < r_end ? end : r_end;
        for (unsigned j = i; j + 1 < nregions; j++)
            regions[j] = regions[j + 1];
        nregions--;
        if (cut_start > r.base)
            region_add(r.base, cut_start - r.base, MULTIBOOT_MEMORY_AVAILABLE);
        region_add(cut_start, cut_end - cut_start, PHYSMEM_RESERVED);
        if (r_end > cut_end)
            region_add(cut_end, r_end - cut_end, MULTIBOOT_MEMORY_AVAILABLE);
        i = (unsigned)-1;     /* the table was re-sorted: look again from the start */
    }
    return 0;
}

void physmem_print(void)
{
    kprintf("memory map (%u regions, %u KiB usable):\n", nregions, (uint32_t)(physmem_total_usable() >> 10));
    for (unsigned i = 0; i < nregions; i++) {
        uint64_t last = regions[i].base + regions[i].len - 1;
        kprintf("  [mem 0x%016llx-0x%016llx] %s\n", regions[i].base, last, region_type_name(regions[i].type));
    }
}

unsigned physmem_region_count(void) { return nregions; }
const struct physmem_region *physmem_region(unsigned i) { return i < nregions ? &regions[i] : 0; }
uint32_t physmem_mem_lower_kib(void) { return mem_lower; }
uint32_t physmem_mem_upper_kib(void) { return mem_upper; }

/* The [start, end) of region i if it is available RAM; 0 if not. */
static int usable_range(unsigned i, uint64_t *start, uint64_t *end)
{
    if (regions[i].type != MULTIBOOT_MEMORY_AVAILABLE)
        return 0;
    *start = regions[i].base;
    *end = regions[i].base + regions[i].len;
    return 1;
}

static uint64_t usable_end64(uint64_t addr)
{
    uint64_t s, e, reach = 0;
    int found = 0;
    /* Regions are sorted: extend through touching available regions. */
    for (unsigned i = 0; i < nregions; i++) {
        if (!usable_range(i, &s, &e))
            continue;
        if (!found && s <= addr && addr < e) {
            found = 1;
            reach = e;
        } else if (found && s <= reach && e > reach) {
            reach = e;
        }
    }
    return found ? reach : 0;
}

uint32_t physmem_usable_end(uint32_t addr)
{
    uint64_t e = usable_end64(addr);
    return e >= FOUR_GIB ? 0xFFFFF000u : (uint32_t)e;
}

int physmem_is_usable(uint64_t start, uint64_t end)
{
    if (end <= start)
        return 0;
    return usable_end64(start) >= end;
}

uint64_t physmem_top(void)
{
    uint64_t s, e, top = 0;
    for (unsigned i = 0; i < nregions; i++)
        if (usable_range(i, &s, &e) && e > top)
            top = e;
    return top;
}

uint64_t physmem_total_usable(void)
{
    uint64_t s, e, total = 0;
    for (unsigned i = 0; i < nregions; i++)
        if (usable_range(i, &s, &e))
            total += e - s;
    return total;
}
