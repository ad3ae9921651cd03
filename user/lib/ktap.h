/* ktap.h — KTAP v1 test programs in ring 3.
 *
 * A case is a function declared with KTAP_CASE; its descriptor goes into
 * the .ktap_cases section (user/linker.ld keeps it sorted by name, between
 * __ktap_start and __ktap_end), so the Python side lists a program's cases
 * from its ELF before running it, each as its own pytest item. ktap_run
 * prints the document:
 *
 *     KTAP version 1
 *     1..N
 *     # a diagnostic line of a failed check
 *     not ok 1 name
 *     ok 2 other
 *
 * A case that must fault (and be killed) runs the faulting part in a child
 * (ktap_child_signal) and checks how it died.
 */
#ifndef USER_KTAP_H
#define USER_KTAP_H

struct ktap_case {
    const char *name;
    void (*fn)(void);
};

#define KTAP_CASE(id)                                                           \
    static void id(void);                                                       \
    static const struct ktap_case ktap_case_##id                                \
        __attribute__((used, section(".ktap_cases." #id), aligned(4))) = { #id, id }; \
    static void id(void)

/* Record a failed check (with a diagnostic) unless cond holds. */
#define KTAP_EXPECT(cond, ...) ktap_check((cond), #cond, __LINE__, __VA_ARGS__)
void ktap_check(int ok, const char *expr, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Run every case in name order; returns 0 if all passed, else 1. */
int ktap_run(void);

/* Fork; the child runs fn and exits 0; the parent returns the child's
 * waitpid status (or a negative errno). */
int ktap_child_status(void (*fn)(void *), void *arg);

#endif
