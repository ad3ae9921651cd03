/* ktest_run.c — the in-kernel test runner: runs cases with a way back from
 * faults and failed ASSERTs, and prints KTAP v1 as KUnit does.
 *
 *     KTAP version 1
 *     1..2
 *         KTAP version 1
 *         # Subtest: heap
 *         1..3
 *         ok 1 kmalloc_zero_returns_null
 *         # krealloc_keeps_contents: EXPECTATION FAILED at kernel/test/heap_test.c:60
 *         # Expected q[7] == 7, but
 *         #     q[7] == 0 (0x0)
 *         #     7 == 7 (0x7)
 *         not ok 2 krealloc_keeps_contents
 *         ok 3 memory_check_finds_nothing
 *     # heap: pass:2 fail:1 skip:0 total:3
 *     not ok 1 heap
 *     ...
 *     # Totals: pass:... fail:... skip:... total:...
 *
 * A CPU exception inside a case reaches on_exception (registered with the
 * IDT for the length of a run). It records the fault and makes the
 * exception's iret land in fault_resume instead of the faulting
 * instruction, which long-jumps back to the runner: the case is `not ok`
 * with a CRASHED line and the run goes on. The expectations' reports are
 * in expect.c; suite selection and ktest= in select.c.
 */
#include <stdint.h>
#include "ktest.h"
#include "ktest_jmp.h"
#include "ktest_run.h"
#include "../arch/cpu.h"
#include "../trap/trap.h"
#include "../lib/kprintf.h"

/* Defined by linker.ld around the .ktest_suites.* input sections. */
extern const struct ktest_suite *const __ktest_suites_start[], *const __ktest_suites_end[];

enum { JUMP_FAULT = 1, JUMP_ABORT = 2 };

/* A place to jump back to: the innermost ktest_try or case. */
struct catcher {
    struct ktest_jmp jmp;
    struct ktest_fault fault;
    struct catcher *outer;
};

static struct catcher *catching;      /* innermost, for faults */
static struct catcher *running_case;  /* the case's own, for ktest_abort */

const struct ktest_suite *const *ktest_suites_begin(void) { return __ktest_suites_start; }
const struct ktest_suite *const *ktest_suites_end(void) { return __ktest_suites_end; }

static struct catcher *faulted;      /* where fault_resume goes */

/* Entered by the exception's iret in place of the faulting instruction,
 * on the case's stack, with its interrupt flag: back to the catcher. */
static __attribute__((noreturn, used)) void fault_resume(void)
{
    ktest_longjmp(&faulted->jmp, JUMP_FAULT);
}

static int on_exception(struct regs *r, const char *name)
{
    struct catcher *c = catching;
    if (!c)
        return 0;   /* not inside a case: reported and stopped as any exception */
    c->fault.vector = r->vector;
    c->fault.name = name;
    c->fault.eip = r->eip;
    c->fault.err_code = r->err_code;
    c->fault.cr2 = read_cr2();
    catching = c->outer;
    faulted = c;
    r->eip = (uint32_t)fault_resume;
    return 1;
}

int ktest_try(void (*fn)(void *arg), void *arg, struct ktest_fault *fault)
{
    struct catcher c = { .outer = catching };
    catching = &c;
    if (ktest_setjmp(&c.jmp) == 0) {
        fn(arg);
        catching = c.outer;
        return 0;
    }
    *fault = c.fault;
    return 1;
}

void ktest_abort(struct ktest *t)
{
    (void)t;
    catching = running_case->outer;
    ktest_longjmp(&running_case->jmp, JUMP_ABORT);
}

enum ktest_result ktest_run_case(const struct ktest_case *kc, struct ktest *t,
                                 struct ktest_fault *fault)
{
    struct catcher c = { .outer = catching };
    struct catcher *outer_case = running_case;
    catching = &c;
    running_case = &c;
    int how = ktest_setjmp(&c.jmp);
    if (how == 0) {
        kc->fn(t);
        catching = c.outer;
    }
    running_case = outer_case;
    if (how == JUMP_FAULT) {
        *fault = c.fault;
        return KTEST_CRASHED;
    }
    if (t->failures)
        return KTEST_FAILED;
    return t->skip_reason ? KTEST_SKIPPED : KTEST_PASSED;
}

static void print_diag(struct ktest *t, const char *line)
{
    (void)t;
    kprintf("    # %s\n", line);
}

void ktest_diag(struct ktest *t, const char *line)
{
    t->diag(t, line);
}

unsigned ktest_case_count(const struct ktest_suite *s)
{
    unsigned n = 0;
    while (s->cases[n].name)
        n++;
    return n + (s->check.name != 0);
}

struct tally {
    unsigned pass, fail, skip;
};

static void run_one(const struct ktest_case *kc, unsigned number, struct tally *tally)
{
    struct ktest t = { .name = kc->name, .diag = print_diag };
    struct ktest_fault f;
    switch (ktest_run_case(kc, &t, &f)) {
    case KTEST_PASSED:
        kprintf("    ok %u %s\n", number, kc->name);
        tally->pass++;
        break;
    case KTEST_SKIPPED:
        kprintf("    ok %u %s # SKIP %s\n", number, kc->name, t.skip_reason);
        tally->skip++;
        break;
    case KTEST_CRASHED:
        ktest_info(&t, "%s: CRASHED: CPU exception %u (%s) at eip=%p err=0x%x cr2=%p",
                     kc->name, f.vector, f.name, (void *)f.eip, f.err_code, (void *)f.cr2);
        /* fall through */
    case KTEST_FAILED:
        kprintf("    not ok %u %s\n", number, kc->name);
        tally->fail++;
        break;
    }
}

static void run_suite(const struct ktest_suite *s, unsigned number, struct tally *totals)
{
    struct tally tally = { 0, 0, 0 };
    kprintf("    KTAP version 1\n    # Subtest: %s\n    1..%u\n", s->name, ktest_case_count(s));
    if (s->init)
        s->init();
    unsigned n = 0;
    for (const struct ktest_case *kc = s->cases; kc->name; kc++)
        run_one(kc, ++n, &tally);
    if (s->check.name)
        run_one(&s->check, ++n, &tally);
    kprintf("# %s: pass:%u fail:%u skip:%u total:%u\n", s->name, tally.pass, tally.fail,
            tally.skip, n);
    if (tally.fail)
        kprintf("not ok %u %s\n", number, s->name);
    else if (tally.skip == n)
        kprintf("ok %u %s # SKIP every case skipped\n", number, s->name);
    else
        kprintf("ok %u %s\n", number, s->name);
    totals->pass += tally.pass;
    totals->fail += tally.fail;
    totals->skip += tally.skip;
}

unsigned ktest_run(const struct ktest_suite *const *suites, unsigned n)
{
    struct tally totals = { 0, 0, 0 };
    kprintf("KTAP version 1\n1..%u\n", n);
    trap_set_hook(on_exception);
    for (unsigned i = 0; i < n; i++)
        run_suite(suites[i], i + 1, &totals);
    trap_set_hook(0);
    kprintf("# Totals: pass:%u fail:%u skip:%u total:%u\n", totals.pass, totals.fail, totals.skip,
            totals.pass + totals.fail + totals.skip);
    return totals.fail;
}
