/* sched.c — the scheduler: round robin over the process table on PIT
 * ticks with a fixed time slice, wait queues, timed sleep, and the idle
 * process that halts when nothing can run.
 *
 * Preemption happens only on the way back to ring 3 (or out of idle): the
 * kernel runs system calls with interrupts off and is never switched away
 * in the middle of one except where it sleeps, so kernel data needs no
 * locks beyond irq_save. Everything here runs with interrupts off.
 */
#include <stdint.h>
#include "proc.h"
#include "../arch/cpu.h"
#include "../arch/gdt.h"
#include "../arch/pit.h"
#include "../mm/vm/mm.h"

extern struct proc proc_table[PROC_TABLE_SIZE];

struct proc *current;
static int need_resched;
static uint32_t switches;

uint32_t sched_switches(void) { return switches; }

void sched_add(struct proc *p)
{
    p->state = PROC_RUNNABLE;
    p->slice = TIME_SLICE_TICKS;
}

/* The next runnable process after current in table order, or idle. */
static struct proc *pick_next(void)
{
    uint32_t start = (uint32_t)(current - proc_table);
    for (uint32_t k = 1; k <= PROC_TABLE_SIZE; k++) {
        struct proc *p = &proc_table[(start + k) % PROC_TABLE_SIZE];
        if (p->pid != PID_IDLE && (p->state == PROC_RUNNABLE ||
                                   (p == current && p->state == PROC_RUNNING)))
            return p;
    }
    return &proc_table[PID_IDLE];
}

void schedule(void)
{
    need_resched = 0;
    struct proc *prev = current;
    struct proc *next = pick_next();
    if (prev->state == PROC_RUNNING)
        prev->state = PROC_RUNNABLE;
    next->state = PROC_RUNNING;
    next->slice = TIME_SLICE_TICKS;
    if (next == prev)
        return;
    switches++;
    next->switches++;
    current = next;
    if (next->kstack_top)
        gdt_set_kernel_stack(next->kstack_top);
    /* Kernel threads keep whatever is loaded: they use only the kernel half. */
    if (next->mm && next->mm != mm_current())
        mm_activate(next->mm);
    context_switch(&prev->esp, next->esp);
}

void sleep_on(struct wait_queue *wq)
{
    struct proc *p = current;
    p->state = PROC_SLEEPING;
    p->waiting_on = wq;
    p->wait_next = wq->head;
    wq->head = p;
    schedule();
}

/* Take p off the queue it sleeps on, if any. */
static void unlink(struct proc *p)
{
    struct wait_queue *wq = p->waiting_on;
    if (!wq)
        return;
    for (struct proc **pp = &wq->head; *pp; pp = &(*pp)->wait_next) {
        if (*pp == p) {
            *pp = p->wait_next;
            break;
        }
    }
    p->waiting_on = 0;
    p->wait_next = 0;
}

void proc_wake(struct proc *p)
{
    if (p->state != PROC_SLEEPING)
        return;
    unlink(p);
    p->wake_tick = 0;
    p->state = PROC_RUNNABLE;
    need_resched = 1;
}

void wake_up(struct wait_queue *wq)
{
    while (wq->head)
        proc_wake(wq->head);
}

/* nanosleep's queue: sleepers with a wake_tick, checked every tick. */
static struct wait_queue timer_queue;

void sleep_ticks(uint32_t ticks)
{
    uint32_t f = irq_save();
    current->wake_tick = pit_ticks() + (ticks ? ticks : 1);
    while (current->wake_tick && (int32_t)(current->wake_tick - pit_ticks()) > 0 && !current->killed)
        sleep_on(&timer_queue);
    current->wake_tick = 0;
    irq_restore(f);
}

void sched_tick(void)
{
    uint32_t now = pit_ticks();
    current->ticks++;
    for (struct proc *p = timer_queue.head, *next; p; p = next) {
        next = p->wait_next;
        if ((int32_t)(p->wake_tick - now) <= 0)
            proc_wake(p);
    }
    if (current->pid == PID_IDLE || --current->slice == 0)
        need_resched = 1;
}

void proc_die_if_killed(struct regs *r);

void sched_interrupt_exit(struct regs *r)
{
    int to_user = (r->cs & 3) == 3;
    if (to_user)
        proc_die_if_killed(r);
    if (need_resched && (to_user || current->pid == PID_IDLE))
        schedule();
}
