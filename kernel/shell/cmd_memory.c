/* cmd_memory.c — shell commands over the kacchiOS memory API: statistics,
 * and allocations by hand so behaviour can be watched (and tested). */
#include <stdint.h>
#include "shell.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"
#include "../mm/heap/heap.h"
#include "../mm/memory.h"
#include "../mm/paging.h"
#include "../mm/vm/uaccess.h"
#include "../proc/proc.h"
#include "cmd_vm.h"

static int cmd_memstats(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    memory_print_stats();
    return 0;
}
SHELL_COMMAND(memstats, "", "heap and stack statistics, one name: value a line", cmd_memstats);

static int cmd_kmalloc(int argc, char **argv)
{
    uint32_t size, align = 0;
    if (argc < 2 || argc > 3)
        return shell_usage(argv[0]);
    if (shell_arg_u32(argv, 1, "SIZE", UINT32_MAX, &size) ||
        (argc == 3 && shell_arg_u32(argv, 2, "ALIGN", UINT32_MAX, &align)))
        return 1;
    void *p = argc == 3 ? kmalloc_aligned(size, align) : kmalloc(size);
    kprintf("kmalloc: %p\n", p);
    if (p)
        return 0;
    /* The NULL above is the C result; this line is the shell's refusal,
     * its reason the first that kmalloc_aligned checks. */
    if (argc == 3 && (align == 0 || (align & (align - 1))))
        kprintf("kmalloc: error EINVAL (%d): alignment %u is not a power of two\n", -EINVAL, align);
    else if (size == 0)
        kprintf("kmalloc: error EINVAL (%d): the size is 0\n", -EINVAL);
    else
        kprintf("kmalloc: error ENOMEM (%d): no room for %u bytes\n", -ENOMEM, size);
    return 1;
}
SHELL_COMMAND(kmalloc, "SIZE [ALIGN]", "allocate from the heap, print the address", cmd_kmalloc);

static int cmd_kcalloc(int argc, char **argv)
{
    uint32_t num, size;
    if (argc != 3)
        return shell_usage(argv[0]);
    if (shell_arg_u32(argv, 1, "NUM", UINT32_MAX, &num) || shell_arg_u32(argv, 2, "SIZE", UINT32_MAX, &size))
        return 1;
    void *p = kcalloc(num, size);
    kprintf("kcalloc: %p\n", p);
    if (p)
        return 0;
    if (num == 0 || size == 0)
        kprintf("kcalloc: error EINVAL (%d): the size is 0\n", -EINVAL);
    else if (num > UINT32_MAX / size)
        kprintf("kcalloc: error ENOMEM (%d): %u * %u bytes overflows 32 bits\n", -ENOMEM, num, size);
    else
        kprintf("kcalloc: error ENOMEM (%d): no room for %u * %u bytes\n", -ENOMEM, num, size);
    return 1;
}
SHELL_COMMAND(kcalloc, "NUM SIZE", "allocate NUM*SIZE zeroed bytes", cmd_kcalloc);

static int cmd_krealloc(int argc, char **argv)
{
    uint32_t ptr, size;
    if (argc != 3)
        return shell_usage(argv[0]);
    if (shell_arg_u32(argv, 1, "ADDR", UINT32_MAX, &ptr) || shell_arg_u32(argv, 2, "SIZE", UINT32_MAX, &size))
        return 1;
    /* Asked before the call: afterwards a freed or moved block is gone. */
    int live = ptr == 0 || ksize((void *)ptr) != 0;
    void *p = krealloc((void *)ptr, size);
    kprintf("krealloc: %p\n", p);
    if (!live) {
        kprintf("krealloc: error EINVAL (%d): nothing resized at %p\n", -EINVAL, (void *)ptr);
        return 1;
    }
    if (!p && size) {
        kprintf("krealloc: error ENOMEM (%d): no room for %u bytes%s\n", -ENOMEM, size,
                ptr ? "; the block is unchanged" : "");
        return 1;
    }
    return 0;
}
SHELL_COMMAND(krealloc, "ADDR SIZE", "resize a block, print the new address", cmd_krealloc);

static int cmd_kfree(int argc, char **argv)
{
    uint32_t ptr;
    if (argc != 2)
        return shell_usage(argv[0]);
    if (shell_arg_u32(argv, 1, "ADDR", UINT32_MAX, &ptr))
        return 1;
    /* The heap's report line above says why (double free, not a block,
     * corrupt); this one says that nothing changed, in the shell's form. */
    if (kfree_checked((void *)ptr) != 0) {
        kprintf("kfree: error EINVAL (%d): nothing freed at %p\n", -EINVAL, (void *)ptr);
        return 1;
    }
    kprintf("kfree: ok\n");
    return 0;
}
SHELL_COMMAND(kfree, "ADDR", "free a block", cmd_kfree);

static int cmd_stack(int argc, char **argv)
{
    uint32_t pid;
    if (argc != 3)
        return shell_usage(argv[0]);
    if (shell_arg_u32(argv, 2, "PID", UINT32_MAX, &pid))
        return 1;
    if (strcmp(argv[1], "alloc") == 0) {
        void *had = stack_get_base(pid);
        void *top = stack_alloc(pid);
        kprintf("stack: pid %u top %p\n", pid, top);
        if (top)
            return 0;
        if (had)
            kprintf("stack: error EEXIST (%d): pid %u already has a stack at %p\n", -EEXIST, pid, had);
        else
            kprintf("stack: error ENOMEM (%d): no free stack slot for pid %u\n", -ENOMEM, pid);
        return 1;
    }
    if (strcmp(argv[1], "free") == 0) {
        /* A live process runs on its stack: freed under it, the next
         * stack_alloc would hand its saved context to someone else. Only
         * that stack: idle and the shell run on static ones, so a stack
         * taken by hand for pid 0 or 1 is nobody's and goes back. */
        struct proc *p = proc_find(pid);
        if (p && p->state != PROC_ZOMBIE && p->kstack_top &&
            p->kstack_top == (uint32_t)stack_get_top(pid)) {
            kprintf("stack: error EBUSY (%d): pid %u is a live process running on this stack; "
                    "kill it and the stack goes when it exits\n", -EBUSY, pid);
            return 1;
        }
        void *had = stack_get_base(pid);
        stack_free(pid);              /* says "stack_free: pid N: has no stack" when it has none */
        if (!had) {
            kprintf("stack: error ENOENT (%d): pid %u has no stack to free\n", -ENOENT, pid);
            return 1;
        }
        kprintf("stack: pid %u freed\n", pid);
        return 0;
    }
    if (strcmp(argv[1], "info") == 0) {
        kprintf("stack: pid %u base %p top %p\n", pid, stack_get_base(pid), stack_get_top(pid));
        return 0;
    }
    return shell_usage(argv[0]);
}
SHELL_COMMAND(stack, "alloc|free|info PID", "process stacks by hand", cmd_stack);

static int cmd_defrag(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    memory_defragment();
    return 0;
}
SHELL_COMMAND(defrag, "", "memory_defragment(): give back what the heap holds for reuse", cmd_defrag);

static int cmd_heapcheck(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    unsigned n = memory_check();
    kprintf("heapcheck: %u violations\n", n);
    return n != 0;
}
SHELL_COMMAND(heapcheck, "", "run the heap integrity checker", cmd_heapcheck);

static int cmd_heapdebug(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "on") == 0)
        memory_set_debug(HEAP_DEBUG_POISON | HEAP_DEBUG_REDZONE | HEAP_DEBUG_TRACK);
    else if (argc == 2 && strcmp(argv[1], "off") == 0)
        memory_set_debug(0);
    else if (argc != 1)
        return shell_usage(argv[0]);
    unsigned f = memory_get_debug();
    kprintf("heapdebug: poison %s, redzone %s, track %s\n", (f & HEAP_DEBUG_POISON) ? "on" : "off",
            (f & HEAP_DEBUG_REDZONE) ? "on" : "off", (f & HEAP_DEBUG_TRACK) ? "on" : "off");
    return 0;
}
SHELL_COMMAND(heapdebug, "[on|off]", "poison, red zones and call-site tracking", cmd_heapdebug);

static int cmd_leaks(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    memory_print_leaks();
    return 0;
}
SHELL_COMMAND(leaks, "", "list live heap blocks and their call sites", cmd_leaks);

static void dump(uint32_t addr, const uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i += 16) {
        kprintf("%p:", (void *)(addr + i));
        for (uint32_t j = i; j < i + 16 && j < n; j++)
            kprintf(" %02x", p[j]);
        kprintf("\n");
    }
}

/* User addresses go through copy_from_user: untouched pages fault in as
 * zeros, violations come back as -EFAULT with a report. */
#define PEEK_MAX 4096u               /* bytes one peek shows */

static int peek_user(uint32_t addr, uint32_t n)
{
    static uint8_t buf[PEEK_MAX];
    if (copy_from_user(buf, addr, n)) {
        vm_report_fault("peek", addr);
        return 1;
    }
    dump(addr, buf, n);
    return 0;
}

static int cmd_peek(int argc, char **argv)
{
    uint32_t addr, n = 16;
    if (argc < 2 || argc > 3)
        return shell_usage(argv[0]);
    if (shell_arg_u32(argv, 1, "ADDR", UINT32_MAX, &addr) ||
        (argc == 3 && shell_arg_u32(argv, 2, "LEN", PEEK_MAX, &n)))
        return 1;
    if (addr >= USER_START)
        return peek_user(addr, n);
    if (!paging_range_mapped(addr, n)) {
        kprintf("peek: error EFAULT (%d): %p..+%u is not mapped\n", -EFAULT, (void *)addr, n);
        return 1;
    }
    dump(addr, (const uint8_t *)addr, n);
    return 0;
}
SHELL_COMMAND(peek, "ADDR [LEN]",
              "hex dump of LEN bytes (16 unless given, at most 4096; kernel: mapped pages only; "
              "user: faults in)", cmd_peek);

static int cmd_poke(int argc, char **argv)
{
    uint32_t addr, value;
    if (argc != 3)
        return shell_usage(argv[0]);
    if (shell_arg_u32(argv, 1, "ADDR", UINT32_MAX, &addr) || shell_arg_u32(argv, 2, "BYTE", 0xFF, &value))
        return 1;
    if (addr >= USER_START) {
        uint8_t byte = (uint8_t)value;
        if (copy_to_user(addr, &byte, 1)) {
            vm_report_fault("poke", addr);
            return 1;
        }
        return 0;
    }
    if (!paging_range_mapped(addr, 1) || addr < HEAP_START) {
        kprintf("poke: error EFAULT (%d): %p is not writable from the shell (below the heap or unmapped)\n",
                -EFAULT, (void *)addr);
        return 1;
    }
    *(volatile uint8_t *)addr = (uint8_t)value;
    return 0;
}
SHELL_COMMAND(poke, "ADDR BYTE", "write one byte (kernel: heap and above; user: fault-safe)", cmd_poke);
