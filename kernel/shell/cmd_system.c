/* cmd_system.c — shell commands about the machine: help, clear, halt,
 * uptime, memmap, crash. */
#include <stdint.h>
#include "shell.h"
#include "../arch/pit.h"
#include "../dev/serial.h"
#include "../lib/kprintf.h"
#include "../lib/panic.h"
#include "../lib/string.h"
#include "../mm/physmem.h"

#define HELP_COLUMN 28

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    kprintf("commands:\n");
    for (const struct shell_cmd *c = shell_cmds_begin(); c < shell_cmds_end(); c++) {
        char head[SHELL_LINE_MAX];
        int n = ksnprintf(head, sizeof(head), "%s %s", c->name, c->usage);
        if (n > HELP_COLUMN)        /* a long usage gets a line of its own */
            kprintf("  %s\n  %-*s %s\n", head, HELP_COLUMN, "", c->help);
        else
            kprintf("  %-*s %s\n", HELP_COLUMN, head, c->help);
    }
    kprintf("keys: Backspace/DEL erase, Ctrl-U kill line, Ctrl-C drop line, Tab complete\n");
    return 0;
}
SHELL_COMMAND(help, "", "list the commands", cmd_help);

static int cmd_clear(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    kprintf("\x1b[2J\x1b[H");
    return 0;
}
SHELL_COMMAND(clear, "", "clear the screen (ANSI)", cmd_clear);

static int cmd_halt(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    kernel_stop(KERNEL_EXIT_SUCCESS, "halt");
}
SHELL_COMMAND(halt, "", "stop the machine (emulator exit status 33)", cmd_halt);

static int cmd_uptime(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    uint32_t t = pit_ticks();
    kprintf("uptime: %u.%02u s (%u ticks at %u Hz)\n", t / PIT_HZ, t % PIT_HZ, t, PIT_HZ);
    kprintf("serial_rx_dropped: %u\n", serial_rx_dropped());
    return 0;
}
SHELL_COMMAND(uptime, "", "time since boot", cmd_uptime);

static int cmd_memmap(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    kprintf("multiboot: mem_lower=%u KiB mem_upper=%u KiB\n", physmem_mem_lower_kib(),
            physmem_mem_upper_kib());
    physmem_print();
    return 0;
}
SHELL_COMMAND(memmap, "", "the physical memory map from the boot loader", cmd_memmap);

/* Deliberate faults, to see (and test) the exception handler. */
static int cmd_crash(int argc, char **argv)
{
    if (argc != 2)
        return shell_usage(argv[0]);
    if (strcmp(argv[1], "pf") == 0) {
        kprintf("crash: writing to unmapped address 0xdead0000\n");
        *(volatile uint32_t *)0xdead0000u = 1;
    } else if (strcmp(argv[1], "null") == 0) {
        kprintf("crash: reading address 0\n");
        (void)*(volatile uint32_t *)0;
    } else if (strcmp(argv[1], "ud") == 0) {
        kprintf("crash: executing ud2\n");
        __asm__ volatile("ud2");
    } else if (strcmp(argv[1], "de") == 0) {
        kprintf("crash: dividing by zero\n");
        /* In assembly: the compiler folds 1u / x into a comparison. */
        __asm__ volatile("xorl %%ecx, %%ecx; movl $1, %%eax; xorl %%edx, %%edx; divl %%ecx"
                         ::: "eax", "ecx", "edx");
    } else if (strcmp(argv[1], "gp") == 0) {
        kprintf("crash: loading a null selector into SS\n");
        __asm__ volatile("movw $0, %%ax; movw %%ax, %%ss" ::: "eax");
    } else if (strcmp(argv[1], "panic") == 0) {
        panic("crash: deliberate panic");
    } else {
        kprintf("crash: unknown kind '%s' (pf, null, ud, de, gp, panic)\n", argv[1]);
        return 1;
    }
    kprintf("crash: no fault happened\n");
    return 1;
}
SHELL_COMMAND(crash, "pf|null|ud|de|gp|panic", "raise a CPU exception on purpose", cmd_crash);
