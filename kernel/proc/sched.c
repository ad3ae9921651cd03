/* sched.c — the scheduler: round robin over a run queue on PIT ticks with
 * a fixed time slice, wait queues, timed sleep, and the idle process that
 * halts when nothing can run.
 *
 * The run queue holds the runnable processes that are not running, in the
 * order they became runnable: schedule() puts the one it leaves (if it can
 * still run) at the back and takes the front, so a pick is O(1) whatever
 * the number of processes. Idle is never queued: it runs when the queue is
 * empty.
 *
 * Preemption happens on the way back to ring 3, out of idle, and out of a
 * kernel thread that was interrupted with interrupts on. System calls run
 * with interrupts off and are never switched away in the middle except
 * where they sleep, so kernel data needs no locks beyond irq_save: an
 * irq_save section is exactly where no tick can arrive, so a kernel thread
 * is never preempted inside one (nor inside an interrupt handler, which
 * runs with interrupts off). A kernel thread that must not be switched
 * away with interrupts on takes a non-preemptible section (preempt_disable):
 * the shell does, all its life, since its commands read other processes'
 * tables with interrupts on. Everything here runs with interrupts off, but
 * preempt_disable and preempt_enable.
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
static struct list_head run_queue = { &run_queue, &run_queue };

uint32_t sched_switches(void) { return switches; }

/* p becomes runnable: at the back of the queue. */
static void enqueue(struct proc *p)
{
    p->state = PROC_RUNNABLE;
    list_add_tail(&p->run_link, &run_queue);
}

void sched_add(struct proc *p)
{
    p->slice = TIME_SLICE_TICKS;
    enqueue(p);
}

/* The front of the queue (taken off it), or idle. */
static struct proc *pick_next(void)
{
    if (list_empty(&run_queue))
        return &proc_table[PID_IDLE];
    struct list_head *e = run_queue.next;
    list_del(e);
    return list_entry(e, struct proc, run_link);
}

void schedule(void)
{
    need_resched = 0;
    struct proc *prev = current;
    if (prev->state == PROC_RUNNING && prev->pid != PID_IDLE)
        enqueue(prev);
    else if (prev->state == PROC_RUNNING)
        prev->state = PROC_RUNNABLE;
    struct proc *next = pick_next();
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
    enqueue(p);
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

int sched_preemptible(const struct regs *r)
{
    if ((r->cs & 3) == 3 || current->pid == PID_IDLE)
        return 1;
    return !current->user && !current->preempt_count && (r->eflags & EFLAGS_IF);
}

void sched_interrupt_exit(struct regs *r)
{
    if ((r->cs & 3) == 3)
        proc_die_if_killed(r);
    if (need_resched && sched_preemptible(r))
        schedule();
}

void preempt_disable(void)
{
    current->preempt_count++;
}

void preempt_enable(void)
{
    uint32_t f = irq_save();
    if (--current->preempt_count == 0 && need_resched && (f & EFLAGS_IF) && !current->user)
        schedule();
    irq_restore(f);
}
