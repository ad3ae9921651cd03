/* cmd_pages.c — shell commands over page frames and the buddy allocator:
 * buddyinfo, meminfo, buddycheck, and `buddy` / `page` to allocate, free
 * and change frames by hand. Results are "name: value" lines; a failed
 * operation prints "result: -N" and "error: NAME". */
#include <stdint.h>
#include "shell.h"
#include "../fs/inode.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"
#include "../info/meminfo.h"
#include "../mm/buddy.h"
#include "../mm/memory.h"
#include "../mm/page.h"
#include "../mm/page_alloc.h"

/* Zones as "name: value" keys. */
static const char *const zone_key[NR_ZONES] = { "dma", "normal", "highmem" };

/* "fn: ADDR order N: reason" for a refused free of the block at addr. */
static void report_free(const char *fn, phys_addr_t addr, uint32_t order)
{
    char why[64];
    kprintf("%s: 0x%08llx order %u: %s\n", fn, addr, order,
            buddy_free_reason(addr, order, why, sizeof(why)));
}

/* After "addr: 0x00000000": the errno and why an allocation of order with
 * gfp got no block, as "error: NAME" and "reason: ..." lines. */
static void report_alloc_failure(uint32_t order, unsigned gfp)
{
    if (order > MAX_ORDER) {
        kprintf("error: %s\nreason: order %u is above MAX_ORDER (%u)\n", errno_name(-EINVAL), order,
                MAX_ORDER);
    } else if (!buddy_gfp_valid(gfp)) {
        kprintf("error: %s\nreason: gfp 0x%x names no zone\n", errno_name(-EINVAL), gfp);
    } else {
        kprintf("error: %s\nreason: no free block of order %u in the zones gfp 0x%x allows\n",
                errno_name(-ENOMEM), order, gfp);
    }
}

static int print_result(int err)
{
    kprintf("result: %d\n", err);
    if (err < 0)
        kprintf("error: %s\n", errno_name(err));
    return err < 0;
}

static int cmd_buddyinfo(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    for (unsigned z = 0; z < NR_ZONES; z++) {
        if (!buddy_zone_managed(z))
            continue;
        kprintf("Node 0, zone %8s", buddy_zone_name(z));
        for (unsigned k = 0; k <= MAX_ORDER; k++)
            kprintf(" %6u", buddy_free_blocks(z, k));
        kprintf("\n");
    }
    return 0;
}
SHELL_COMMAND(buddyinfo, "", "free blocks per order per zone (like /proc/buddyinfo)", cmd_buddyinfo);

static void print_check(const char *what, phys_addr_t addr)
{
    kprintf("buddycheck: 0x%08llx: %s\n", addr, what);
}

static int cmd_buddycheck(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    unsigned n = buddy_check(print_check);
    kprintf("buddycheck: %u violations\n", n);
    return n != 0;
}
SHELL_COMMAND(buddycheck, "", "check the buddy allocator's invariants", cmd_buddycheck);

/* "kernel", "dma", "highmem", optionally followed by "only"; or a number. */
static int parse_gfp(int argc, char **argv, int i, unsigned *gfp)
{
    *gfp = GFP_KERNEL;
    if (i >= argc)
        return 0;
    if (strcmp(argv[i], "kernel") == 0 || strcmp(argv[i], "normal") == 0)
        *gfp = GFP_KERNEL;
    else if (strcmp(argv[i], "dma") == 0)
        *gfp = GFP_DMA;
    else if (strcmp(argv[i], "highmem") == 0)
        *gfp = GFP_HIGHMEM;
    else if (argv[i][0] < '0' || argv[i][0] > '9') {
        kprintf("%s: argument %d (ZONE): %s is not kernel, dma, highmem or gfp flags\n", argv[0], i, argv[i]);
        return -1;
    } else if (shell_arg_u32(argv, i, "ZONE", GFP_MASK, gfp))
        return -1;
    if (i + 1 < argc) {
        if (strcmp(argv[i + 1], "only") != 0 || i + 2 < argc)
            return shell_usage(argv[0]);
        *gfp |= GFP_THISZONE;
    }
    return 0;
}

static void print_stats(void)
{
    struct buddy_stats st;
    buddy_stats(&st);
    kprintf("total_memory: %llu\n", st.total_memory);
    kprintf("mem_map: %p\n", (void *)st.mem_map_phys);
    kprintf("mem_map_bytes: %u\n", st.mem_map_bytes);
    for (unsigned z = 0; z < NR_ZONES; z++) {
        kprintf("%s_frames: %u\n", zone_key[z], st.managed_pages[z]);
        kprintf("%s_free_frames: %u\n", zone_key[z], st.free_pages[z]);
    }
    kprintf("allocs: %u\n", st.allocs);
    kprintf("frees: %u\n", st.frees);
    kprintf("failed_allocs: %u\n", st.failed_allocs);
    kprintf("bad_frees: %u\n", st.bad_frees);
}

static int cmd_buddy(int argc, char **argv)
{
    uint32_t order;
    phys_addr_t addr;
    unsigned gfp;
    if (argc >= 3 && strcmp(argv[1], "alloc") == 0) {
        if (argc > 5)
            return shell_usage(argv[0]);
        if (shell_arg_u32(argv, 2, "ORDER", UINT32_MAX, &order) || parse_gfp(argc, argv, 3, &gfp))
            return 1;
        addr = buddy_alloc_zone(order, gfp);
        kprintf("addr: 0x%08llx\n", addr);
        if (addr)
            kprintf("zone: %s\n", buddy_zone_name(page_zone(page_lookup(addr))));
        else
            report_alloc_failure(order, gfp);
        return addr == 0;
    }
    if (argc == 4 && strcmp(argv[1], "free") == 0) {
        if (shell_arg_u64(argv, 2, "ADDR", PHYS_ADDR_MAX, &addr) || shell_arg_u32(argv, 3, "ORDER", UINT32_MAX, &order))
            return 1;
        int err = buddy_free(addr, order);
        if (err)
            report_free("buddy_free", addr, order);
        return print_result(err);
    }
    if (argc == 2 && strcmp(argv[1], "stats") == 0) {
        print_stats();
        return 0;
    }
    return shell_usage(argv[0]);
}
SHELL_COMMAND(buddy, "alloc ORDER [kernel|dma|highmem [only]] | free ADDR ORDER | stats",
              "the buddy allocator by hand", cmd_buddy);

static const char *frame_state(struct page *p)
{
    if (p->flags & PG_reserved)
        return "reserved";
    if (p->flags & PG_slab)
        return "slab";
    return page_is_free(p) ? "free" : "allocated";
}

static void print_page(struct page *p)
{
    char names[64];
    page_flag_names(page_flags(p) & ((1u << PG_ZONE_SHIFT) - 1), names, sizeof(names));
    kprintf("physical_addr: 0x%08llx\n", page_phys(p));
    kprintf("virtual_addr: %p\n", (void *)page_virt(p));
    kprintf("ref_count: %d\n", page_ref_count(p));
    kprintf("flags: %p\n", (void *)page_flags(p));
    kprintf("flag_names: %s\n", names);
    kprintf("zone: %s\n", buddy_zone_name(page_zone(p)));
    kprintf("state: %s\n", frame_state(p));
    kprintf("dirty: %d\n", page_is_dirty(p));
    kprintf("locked: %d\n", page_is_locked(p));
}

static int cmd_page(int argc, char **argv)
{
    uint32_t arg = 0;
    phys_addr_t addr;
    if (argc < 2)
        return shell_usage(argv[0]);
    const char *op = argv[1];
    if (strcmp(op, "alloc") == 0) {
        if (argc > 3)
            return shell_usage(argv[0]);
        if (argc == 3 && shell_arg_u32(argv, 2, "ORDER", UINT32_MAX, &arg))
            return 1;
        struct page *p = alloc_pages(GFP_KERNEL, arg);
        kprintf("addr: 0x%08llx\n", page_phys(p));
        if (p)
            kprintf("zone: %s\n", buddy_zone_name(page_zone(p)));
        else
            report_alloc_failure(arg, GFP_KERNEL);
        return p == 0;
    }
    if (strcmp(op, "count") == 0) {
        kprintf("free_pages: %u\n", get_free_pages());
        return 0;
    }
    int two_args = strcmp(op, "map") == 0 || strcmp(op, "free") == 0;
    if (argc < 3 || argc > 4 || (argc == 4 && !two_args) || (argc == 3 && strcmp(op, "map") == 0))
        return shell_usage(argv[0]);
    if (shell_arg_u64(argv, 2, "ADDR", PHYS_ADDR_MAX, &addr) ||
        (argc == 4 && shell_arg_u32(argv, 3, strcmp(op, "map") == 0 ? "VADDR" : "ORDER", UINT32_MAX, &arg)))
        return 1;
    struct page *p = page_lookup(addr);
    if (!p) {
        kprintf("page: 0x%08llx: no page frame there\n", addr);
        return print_result(-ENXIO);
    }
    if (strcmp(op, "info") == 0) {
        print_page(p);
        return 0;
    }
    if (strcmp(op, "free") == 0) {
        /* page_lookup finds the frame holding any address, but only a
         * block's own address names the block: an address inside a frame
         * is refused (and counted) as buddy free refuses it, EINVAL, not
         * with the state of the frame it falls in. */
        int err = (addr & (PAGE_SIZE - 1)) ? buddy_free(addr, arg) : free_pages(p, arg);
        if (err)
            report_free("free_pages", addr, arg);
        return print_result(err);
    }
    int err;
    if (strcmp(op, "get") == 0)
        err = page_get(p);
    else if (strcmp(op, "put") == 0)
        err = page_put(p);
    else if (strcmp(op, "dirty") == 0)
        err = page_set_dirty(p);
    else if (strcmp(op, "clean") == 0)
        err = page_clear_dirty(p);
    else if (strcmp(op, "lock") == 0)
        err = page_lock(p);
    else if (strcmp(op, "unlock") == 0)
        err = page_unlock(p);
    else if (strcmp(op, "map") == 0)
        err = page_map_virtual(p, arg);
    else if (strcmp(op, "unmap") == 0)
        err = page_unmap_virtual(p);
    else
        return shell_usage(argv[0]);
    if (err)
        kprintf("page %s: 0x%08llx: %s\n", op, addr, page_change_why());
    return print_result(err);
}
SHELL_COMMAND(page, "alloc [ORDER] | count | info|get|put|dirty|clean|lock|unlock|unmap ADDR | "
                    "free ADDR [ORDER] | map ADDR VADDR",
              "page frames by hand", cmd_page);

static int cmd_meminfo(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    memory_stats_t heap;
    memory_get_stats(&heap);
    struct mem_info mi;
    mem_info_get(&mi);
    uint64_t buddy_free_bytes = (uint64_t)get_free_pages() * PAGE_SIZE;
    uint32_t managed = 0;
    /* The specification's get_memory_stats, in bytes. */
    kprintf("total_memory: %llu\n", mi.total_memory);
    kprintf("free_memory: %llu\n", mi.free_memory);
    kprintf("used_memory: %llu\n", mi.used_memory);
    kprintf("cached_memory: %llu\n", mi.cached_memory);
    kprintf("buffer_memory: %llu\n", mi.buffer_memory);
    kprintf("swap_total: %llu\n", mi.swap_total);
    kprintf("swap_free: %llu\n", mi.swap_free);
    /* Where those come from. */
    kprintf("buddy_free: %llu\n", buddy_free_bytes);
    kprintf("heap_free: %u\n", heap.free_heap);
    kprintf("pagecache_frames: %u\n", pagecache_frames);
    for (unsigned z = 0; z < NR_ZONES; z++) {
        kprintf("%s_frames: %u\n", zone_key[z], buddy_zone_managed(z));
        kprintf("%s_free_frames: %u\n", zone_key[z], buddy_zone_free(z));
        managed += buddy_zone_managed(z);
    }
    kprintf("frames: %u\n", managed);
    kprintf("free_frames: %u\n", get_free_pages());
    kprintf("mem_map_pages: %u\n", mem_map_pages);
    return 0;
}
SHELL_COMMAND(meminfo, "", "memory in bytes (get_memory_stats) and frames per zone", cmd_meminfo);
