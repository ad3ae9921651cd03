/* cmd_vmalloc.c — shell commands over the vmalloc window: vmallocinfo
 * (the areas, in /proc/vmallocinfo's format), vmalloc to allocate, free
 * and check by hand. Failures print "vmalloc: error ENAME (-N): why". */
#include <stdint.h>
#include "shell.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"
#include "../mm/vmalloc.h"

/* Linux prints the range and size with the guard page, as here. */
static int cmd_vmallocinfo(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    for (const struct vm_area *a = vmalloc_areas(); a; a = a->next)
        kprintf("0x%08x-0x%08x %7u %p pages=%u vmalloc\n", a->addr, a->addr + a->size + PAGE_SIZE,
                a->size + PAGE_SIZE, (void *)a->caller, a->nr_pages);
    return 0;
}
SHELL_COMMAND(vmallocinfo, "", "the vmalloc areas (like /proc/vmallocinfo)", cmd_vmallocinfo);

static int refused(int err)
{
    kprintf("vmalloc: error %s (%d): %s\n", errno_name(err), err, vmalloc_why());
    return 1;
}

static void print_check(const char *what, uint32_t addr)
{
    kprintf("vmalloc_check: %p: %s\n", (void *)addr, what);
}

static void print_stats(void)
{
    struct vmalloc_stats st;
    vmalloc_get_stats(&st);
    kprintf("areas: %u\n", st.areas);
    kprintf("pages: %u\n", st.pages);
    kprintf("highmem_pages: %u\n", st.highmem_pages);
    kprintf("requested: %u\n", st.requested);
    kprintf("pt_pages: %u\n", st.pt_pages);
    kprintf("allocs: %u\n", st.allocs);
    kprintf("frees: %u\n", st.frees);
    kprintf("failed_allocs: %u\n", st.failed_allocs);
    kprintf("bad_frees: %u\n", st.bad_frees);
}

static int cmd_vmalloc(int argc, char **argv)
{
    uint32_t size, align = PAGE_SIZE, addr;
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "alloc") == 0) {
        if (shell_arg_u32(argv, 2, "SIZE", UINT32_MAX, &size) ||
            (argc == 4 && shell_arg_u32(argv, 3, "ALIGN", UINT32_MAX, &align)))
            return 1;
        void *p;
        int err = vmalloc_area(size, align, (uintptr_t)cmd_vmalloc, &p);
        if (err)
            return refused(err);
        kprintf("addr: %p\n", p);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "free") == 0) {
        if (shell_arg_u32(argv, 2, "ADDR", UINT32_MAX, &addr))
            return 1;
        int err = vfree((const void *)addr);
        return err ? refused(err) : 0;
    }
    if (argc == 2 && strcmp(argv[1], "check") == 0) {
        unsigned n = vmalloc_check(print_check);
        kprintf("vmalloc_check: %u violations\n", n);
        return n != 0;
    }
    if (argc == 2 && strcmp(argv[1], "stats") == 0) {
        print_stats();
        return 0;
    }
    return shell_usage(argv[0]);
}
SHELL_COMMAND(vmalloc, "alloc SIZE [ALIGN] | free ADDR | check | stats",
              "virtually contiguous kernel memory by hand", cmd_vmalloc);
