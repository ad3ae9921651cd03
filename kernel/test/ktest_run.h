/* ktest_run.h — running the registered suites and printing KTAP v1: for the
 * `ktest` shell command and for ktest= on the kernel command line.
 * Writing tests is ktest.h. */
#ifndef KOS_KTEST_RUN_H
#define KOS_KTEST_RUN_H

#include "ktest.h"

#define KTEST_MAX_SELECTED 32

/* The registered suites, sorted by their variable's name. */
const struct ktest_suite *const *ktest_suites_begin(void);
const struct ktest_suite *const *ktest_suites_end(void);

/* The suite called name, or NULL. */
const struct ktest_suite *ktest_find(const char *name);

/* Number of cases of a suite, its check included. */
unsigned ktest_case_count(const struct ktest_suite *s);

/* Run n suites in order, printing one KTAP v1 document. Returns the
 * number of cases that failed (crashes included). */
unsigned ktest_run(const struct ktest_suite *const *suites, unsigned n);

/* Every suite not marked KTEST_MANUAL, into out (room for max);
 * returns how many. */
unsigned ktest_select_all(const struct ktest_suite **out, unsigned max);

/* Add the suites named in list (comma separated, modified in place; "all"
 * adds every suite ktest_select_all would) to out[*n..max). Returns 0, or
 * -EINVAL with *bad set to the first name that is not a suite or that did
 * not fit (then *n == max). */
int ktest_select(char *list, const struct ktest_suite **out, unsigned *n, unsigned max,
                 const char **bad);

/* If the kernel command line has ktest=all or ktest=SUITE[,SUITE...], run
 * those suites and stop the machine: exit status 33 if every case passed,
 * 35 otherwise (or for an unknown suite name). Returns when there is no
 * ktest= option. */
void ktest_boot(void);

#endif
