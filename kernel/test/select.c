/* select.c — which suites a run covers: every suite but the manual ones,
 * or those named (`ktest heap buddy`, ktest=heap,buddy on the kernel
 * command line), and the boot-time run that ends in the exit status. */
#include <stdint.h>
#include "ktest_run.h"
#include "../arch/multiboot.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"
#include "../lib/panic.h"
#include "../lib/string.h"

const struct ktest_suite *ktest_find(const char *name)
{
    for (const struct ktest_suite *const *s = ktest_suites_begin(); s < ktest_suites_end(); s++)
        if (strcmp((*s)->name, name) == 0)
            return *s;
    return 0;
}

unsigned ktest_select_all(const struct ktest_suite **out, unsigned max)
{
    unsigned n = 0;
    for (const struct ktest_suite *const *s = ktest_suites_begin(); s < ktest_suites_end(); s++)
        if (!((*s)->flags & KTEST_MANUAL) && n < max)
            out[n++] = *s;
    return n;
}

int ktest_select(char *list, const struct ktest_suite **out, unsigned *n, unsigned max,
                 const char **bad)
{
    char *p = list;
    while (*p) {
        char *name = p;
        while (*p && *p != ',')
            p++;
        if (*p)
            *p++ = '\0';
        if (!*name)
            continue;
        if (strcmp(name, "all") == 0) {
            *n += ktest_select_all(out + *n, max - *n);
            continue;
        }
        const struct ktest_suite *s = ktest_find(name);
        if (!s || *n >= max) {
            *bad = name;
            return -EINVAL;
        }
        out[(*n)++] = s;
    }
    return 0;
}

void ktest_boot(void)
{
    char list[MULTIBOOT_CMDLINE_MAX];
    if (multiboot_cmdline_option("ktest", list, sizeof(list)) < 0)
        return;
    const struct ktest_suite *suites[KTEST_MAX_SELECTED];
    unsigned n = 0;
    const char *bad = 0;
    int err = ktest_select(list, suites, &n, KTEST_MAX_SELECTED, &bad);
    if (err) {
        kprintf("ktest: error %s (%d)\n", errno_name(err), err);
        kprintf("ktest: no suite '%s' (ktest list shows them)\n", bad);
        kernel_stop(KERNEL_EXIT_FAILURE, "ktest: bad ktest= option");
    }
    unsigned failed = ktest_run(suites, n);
    if (failed)
        kernel_stop(KERNEL_EXIT_FAILURE, "ktest: some cases failed");
    kernel_stop(KERNEL_EXIT_SUCCESS, "ktest: every case passed");
}
