/* cmd_ktest.c — ktest: run the in-kernel test suites (kernel/test) and
 * print KTAP v1, or list them.
 *
 *     ktest                 every suite but the manual ones
 *     ktest heap buddy      those, in that order (commas work too)
 *     ktest list            the suites and how many cases each has
 */
#include "shell.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"
#include "../test/ktest_run.h"

static int ktest_list(void)
{
    for (const struct ktest_suite *const *s = ktest_suites_begin(); s < ktest_suites_end(); s++)
        kprintf("%-12s %3u cases%s\n", (*s)->name, ktest_case_count(*s),
                ((*s)->flags & KTEST_MANUAL) ? "  (manual: only when named)" : "");
    return 0;
}

static int cmd_ktest(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "list") == 0)
        return ktest_list();
    const struct ktest_suite *suites[KTEST_MAX_SELECTED];
    unsigned n = 0;
    if (argc == 1)
        n = ktest_select_all(suites, KTEST_MAX_SELECTED);
    for (int i = 1; i < argc; i++) {
        const char *bad = 0;
        int err = ktest_select(argv[i], suites, &n, KTEST_MAX_SELECTED, &bad);
        if (err) {
            kprintf("ktest: error %s (%d)\n", errno_name(err), err);
            if (n >= KTEST_MAX_SELECTED)
                kprintf("ktest: more than %u suites at once\n", KTEST_MAX_SELECTED);
            else
                kprintf("ktest: no suite '%s' (ktest list shows them)\n", bad);
            return 1;
        }
    }
    return ktest_run(suites, n) != 0;
}
SHELL_COMMAND(ktest, "list | [SUITE...]", "run in-kernel test suites (KTAP output)", cmd_ktest);
