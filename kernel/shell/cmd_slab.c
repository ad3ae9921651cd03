/* cmd_slab.c — shell commands over the slab caches: slabinfo, slabcheck,
 * and `slab` to create, allocate, free and destroy by hand. */
#include <stdint.h>
#include "shell.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"
#include "../mm/slab/slab.h"

static int print_result(const char *name, int value)
{
    kprintf("%s: %d\n", name, value);
    if (value < 0)
        kprintf("error: %s\n", errno_name(value));
    return value < 0;
}

/* "slab_free: cache ID 'NAME': ADDR: reason", the name left out when
 * there is no such cache. */
static void report_free(int id, uint32_t addr)
{
    struct slab_info i;
    if (slab_info(id, &i) == 0)
        kprintf("slab_free: cache %d '%s': %p: %s\n", id, i.name, (void *)addr,
                slab_free_reason(id, addr));
    else
        kprintf("slab_free: cache %d: %p: %s\n", id, (void *)addr, slab_free_reason(id, addr));
}

static int cmd_slabinfo(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    kprintf("slabinfo - version: 2.1 (kos)\n");
    kprintf("# %-4s %-23s %11s %9s %8s %11s %13s : slabdata %12s %9s\n", "id", "name", "<active_objs>",
            "<num_objs>", "<objsize>", "<objperslab>", "<pagesperslab>", "<active_slabs>", "<num_slabs>");
    for (int id = slab_next(0); id; id = slab_next(id)) {
        struct slab_info i;
        if (slab_info(id, &i))
            continue;
        kprintf("%-6d %-23s %13u %10u %9u %12u %14u : slabdata %14u %11u\n", id, i.name, i.active_objs,
                i.total_objs, i.size, i.objs_per_slab, i.pages_per_slab, i.active_slabs, i.slabs);
    }
    return 0;
}
SHELL_COMMAND(slabinfo, "", "slab caches (like /proc/slabinfo)", cmd_slabinfo);

static void print_check(const char *cache, const char *what, uint32_t addr)
{
    kprintf("slabcheck: %s: %p: %s\n", cache, (void *)addr, what);
}

static int cmd_slabcheck(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    unsigned n = slab_check(print_check);
    kprintf("slabcheck: %u violations\n", n);
    return n != 0;
}
SHELL_COMMAND(slabcheck, "", "check every slab cache's invariants", cmd_slabcheck);

static void print_info(int id, const struct slab_info *i)
{
    kprintf("id: %d\n", id);
    kprintf("name: %s\n", i->name);
    kprintf("object_size: %u\n", i->object_size);
    kprintf("size: %u\n", i->size);
    kprintf("align: %u\n", i->align);
    kprintf("objs_per_slab: %u\n", i->objs_per_slab);
    kprintf("pages_per_slab: %u\n", i->pages_per_slab);
    kprintf("active_objs: %u\n", i->active_objs);
    kprintf("total_objs: %u\n", i->total_objs);
    kprintf("slabs: %u\n", i->slabs);
    kprintf("active_slabs: %u\n", i->active_slabs);
    kprintf("pages: %u\n", i->pages);
    kprintf("allocs: %u\n", i->allocs);
    kprintf("frees: %u\n", i->frees);
    kprintf("bad_frees: %u\n", i->bad_frees);
    kprintf("failed_allocs: %u\n", i->failed_allocs);
}

static int cmd_slab(int argc, char **argv)
{
    uint32_t id, a, b = 0;
    const char *op = argc >= 2 ? argv[1] : "";
    if (strcmp(op, "create") == 0 && (argc == 4 || argc == 5)) {
        if (shell_arg_u32(argv, 3, "SIZE", UINT32_MAX, &a) ||
            (argc == 5 && shell_arg_u32(argv, 4, "ALIGN", UINT32_MAX, &b)))
            return 1;
        int id = slab_create(argv[2], a, b);
        int refused = print_result("id", id);
        if (refused)
            kprintf("reason: %s\n", slab_create_why());
        return refused;
    }
    if (argc < 3)
        return shell_usage(argv[0]);
    if (shell_arg_u32(argv, 2, "ID", UINT32_MAX, &id))
        return 1;
    if (strcmp(op, "alloc") == 0 && argc == 3) {
        uint32_t addr = slab_alloc((int)id);
        kprintf("addr: %p\n", (void *)addr);
        struct slab_info i;
        if (!addr && slab_info((int)id, &i) < 0)
            kprintf("error: %s\nreason: no cache %u\n", errno_name(-EINVAL), id);
        else if (!addr)
            kprintf("error: %s\nreason: no frame for a new slab of '%s'\n", errno_name(-ENOMEM), i.name);
        return addr == 0;
    }
    if (strcmp(op, "free") == 0 && argc == 4) {
        if (shell_arg_u32(argv, 3, "ADDR", UINT32_MAX, &a))
            return 1;
        int err = slab_free((int)id, a);
        if (err)
            report_free((int)id, a);
        return print_result("result", err);
    }
    if (strcmp(op, "destroy") == 0 && argc == 3) {
        int err = slab_destroy((int)id);
        struct slab_info i;
        if (err == -EBUSY && slab_info((int)id, &i) == 0)
            kprintf("slab_destroy: cache %d '%s': %u objects still allocated\n", (int)id, i.name,
                    i.active_objs);
        else if (err)
            kprintf("slab_destroy: cache %u: no such cache\n", id);
        return print_result("result", err);
    }
    if (strcmp(op, "info") == 0 && argc == 3) {
        struct slab_info i;
        int err = slab_info((int)id, &i);
        if (err) {
            kprintf("slab_info: cache %u: no such cache\n", id);
            return print_result("result", err);
        }
        print_info((int)id, &i);
        return 0;
    }
    return shell_usage(argv[0]);
}
SHELL_COMMAND(slab, "create NAME SIZE [ALIGN] | alloc ID | free ID ADDR | destroy ID | info ID",
              "slab caches by hand", cmd_slab);
