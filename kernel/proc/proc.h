/* proc.h — processes: struct proc, the process table, the scheduler and
 * its wait queues, and the life of a process (create, exec, fork, exit,
 * wait, kill).
 *
 * Who is who:
 *   pid 0  idle: runs (HLT) only when nothing else can; a static stack.
 *   pid 1  the shell: kmain's own context on the boot stack, with the boot
 *          address space (vm_init's). Orphans are given to it.
 *   pid 2… kernel threads (kthread_create) and user processes; each has a
 *          kernel stack from stack_alloc(pid), so at most MAX_PROCESS_STACKS
 *          of them exist at once and the next spawn or fork is -EAGAIN.
 *
 * A process's kernel stack holds, from the top: the struct regs of the
 * trap that entered the kernel (for a user process, its user registers),
 * then the frames of the kernel code serving it, and, while it is switched
 * out, the callee-saved registers context_switch pushed (p->esp).
 *
 * Files: proc.c (table, creation, exit, wait, kill, fault reports),
 * sched.c (the run queue, wait queues, sleep, the tick), exec.c (ELF loading,
 * the initial stack), switch.S, syscall.c (the table), sys_*.c, console.c
 * (fds 0–2), fd.c (the fd table).
 */
#ifndef KOS_PROC_H
#define KOS_PROC_H

#include <stdint.h>
#include "fd.h"
#include "../arch/regs.h"
#include "../lib/list.h"

#define PROC_NAME_MAX   16
#define PROC_TABLE_SIZE 64         /* live, zombie and the two fixed processes */
#define PID_IDLE  0
#define PID_SHELL 1
#define TIME_SLICE_TICKS 5         /* 50 ms at PIT_HZ 100 */

enum proc_state { PROC_UNUSED, PROC_RUNNABLE, PROC_RUNNING, PROC_SLEEPING, PROC_ZOMBIE };

/* Resource limits: Linux i386 numbers; only STACK, MEMLOCK and AS are
 * enforced (NOFILE is the descriptor table's size, FD_MAX). */
#define RLIMIT_STACK   3
#define RLIMIT_CORE    4
#define RLIMIT_NOFILE  7
#define RLIMIT_MEMLOCK 8
#define RLIMIT_AS      9
#define RLIM_NLIMITS   16
#define RLIM_INFINITY  0xFFFFFFFFu

struct rlimit {
    uint32_t rlim_cur, rlim_max;
};

/* Signals KOS delivers (only as a cause of death): Linux numbers. */
#define SIGINT  2
#define SIGILL  4
#define SIGBUS  7
#define SIGFPE  8
#define SIGKILL 9
#define SIGSEGV 11
#define SIGTERM 15

struct proc;

/* Sleepers linked through proc->wait_next. */
struct wait_queue {
    struct proc *head;
};

struct mm;

struct proc {
    uint32_t pid;
    char name[PROC_NAME_MAX];
    enum proc_state state;
    struct proc *parent;
    uint32_t pgid;               /* process group: a job the shell started is one (its pid),
                                    and a fork stays in its parent's (setpgid moves it) */
    int user;                    /* a ring-3 program (else a kernel thread or the shell) */
    int execed;                  /* has run a program of its own since fork (execve, a spawn):
                                    its parent may no longer move it to a group (EACCES) */
    int status;                  /* zombie: waitpid's status word */
    int killed;                  /* a signal number to die of at the next return to ring 3 */
    uint32_t esp;                /* switched out: the saved kernel stack pointer */
    uint32_t kstack_top;         /* one past the kernel stack (0: a static stack) */
    struct mm *mm;               /* NULL for kernel threads: the kernel half only */
    uint32_t brk_start, brk;     /* the brk heap: [brk_start, brk) */
    struct list_head run_link;   /* runnable, not running: in the run queue (sched.c) */
    uint32_t slice;              /* ticks left of the time slice */
    uint32_t preempt_count;      /* open non-preemptible sections (preempt_disable) */
    uint32_t wake_tick;          /* sleeping in nanosleep: when to wake */
    struct wait_queue *waiting_on;
    struct proc *wait_next;
    struct wait_queue child_exit;   /* the parent sleeps here in waitpid */
    /* Accounting. */
    uint32_t ticks;              /* timer ticks it was running */
    uint32_t syscalls;
    uint32_t switches;           /* times it was switched in */
    uint32_t user_faults;        /* faults that killed it (0 or 1) */
    /* proc_alloc clears every field before fds.cwd; the working directory
     * and the limits after it are written whole instead (the limits by
     * proc_alloc, the directory with the files: fds_init_console,
     * fds_clone). */
    struct proc_fds fds;
    struct rlimit rlim[RLIM_NLIMITS];
};

/* The running process. */
extern struct proc *current;

/* Bring up the process table with idle and the shell (the caller, which
 * becomes pid 1), install the system call gate and the scheduler's hooks. */
void proc_init(void);

/* The process with this pid (any state but unused), or NULL. */
struct proc *proc_find(uint32_t pid);
/* Call fn for every process in pid order. */
void proc_foreach(void (*fn)(struct proc *p, void *arg), void *arg);
const char *proc_state_name(enum proc_state s);

/* A kernel thread running fn(arg) with interrupts on; its return value is
 * its exit code. It is preempted on timer ticks like a program, except
 * inside irq_save sections. It is not stopped by a kill: fn sees
 * current->killed and returns, and the thread dies of that signal.
 * Returns the pid, or -EAGAIN (no kernel stack or table slot), -ENOMEM. */
int32_t kthread_create(int (*fn)(void *arg), void *arg, const char *name);

/* A new user process running the program at path with argv/envp (kernel
 * strings, NULL-terminated), child of the current process. Returns the pid
 * or a negative errno; *why (if not NULL) says what went wrong. */
int32_t proc_spawn(const char *path, char *const argv[], char *const envp[], const char **why);

/* Terminate the current process with a waitpid status word. Never returns. */
__attribute__((noreturn)) void proc_exit(int status);

/* Wait for a child (pid > 0: that one; -1: any; 0: any in the caller's
 * process group; < -1: any in group -pid) to become a zombie; reap it.
 * Returns its pid and *status, -ECHILD when no child is selected, or 0
 * with WNOHANG when none is a zombie yet. */
#define WNOHANG    1
#define WUNTRACED  2
#define WCONTINUED 8
int32_t proc_wait(int32_t pid, int *status, int options);

/* Mark p to die of sig; a sleeping process is woken for it. 0 or -ESRCH,
 * -EPERM for pid 0 and 1. A zombie is still a process until its parent
 * reaps it, as in Linux: 0, and nothing happens to it. */
int proc_kill(uint32_t pid, int sig);
/* The same for pid and every process descended from it (the job a
 * foreground program makes); callable from interrupt context. */
int proc_kill_tree(uint32_t pid, int sig);
/* kill(pid, sig) for pid <= 0, as POSIX has it: 0, the caller's process
 * group; -1, every process but idle, the shell and the caller; -N, the
 * group N. Idle and the shell are never signalled (they are alone in
 * their groups). sig 0 only asks whether one is there. 0, or -ESRCH when
 * no process, not even a zombie, is. */
int proc_kill_group(int32_t pid, int sig);
/* setpgid(pid, pgid) for the caller or a child of it (pid 0: the caller;
 * pgid 0: a group of its own): 0, -ESRCH (no such process of the
 * caller's), -EACCES (a child that has exec'd since the fork), -EPERM
 * (no group pgid, or the shell's), -EINVAL (pgid < 0). */
int proc_setpgid(int32_t pid, int32_t pgid);

/* Set a limit (0 or -EINVAL, -EPERM when raising cur above max); the
 * address-space and stack limits go to the mm too. */
int proc_setrlimit(struct proc *p, uint32_t resource, const struct rlimit *rl);

/* A table slot with a pid and a kernel stack, child of the current
 * process, limits inherited, not yet runnable, without a name (the caller
 * gives it one); or NULL and *err = -EAGAIN. Call with interrupts off.
 * proc_free undoes it for one that never ran. */
struct proc *proc_alloc(int *err);
void proc_free(struct proc *p);

/* Name p after the last component of path (truncated to PROC_NAME_MAX - 1). */
void proc_set_name(struct proc *p, const char *path);

/* Processes that exist (any state but unused), including idle and the shell. */
uint32_t proc_count(void);

/* ---- sched.c ------------------------------------------------------------ */

/* Give up the CPU: run the next runnable process (the front of the run
 * queue; this one goes to its back if it can still run), or idle. Call with interrupts off; returns when this process runs again. */
void schedule(void);
/* Put the current process to sleep on wq until wake_up. Call with
 * interrupts off, in a loop that re-checks the condition. */
void sleep_on(struct wait_queue *wq);
/* Make every sleeper of wq runnable. */
void wake_up(struct wait_queue *wq);
/* Make p runnable (it was sleeping). */
void proc_wake(struct proc *p);
/* Sleep for ticks timer ticks (or until killed). */
void sleep_ticks(uint32_t ticks);
/* Add p to the scheduler as runnable. */
void sched_add(struct proc *p);
/* The timer tick and the return from every interrupt (idt.h hooks). */
void sched_tick(void);
void sched_interrupt_exit(struct regs *r);
/* Context switches since boot. */
uint32_t sched_switches(void);
/* A non-preemptible section of the current process: between the two, a
 * timer tick does not switch it away in the kernel (it still may sleep,
 * which ends nothing: the count is its own). Sections nest. The shell
 * holds one all its life (shell.c says why): it gives the CPU up only
 * where it sleeps. preempt_enable switches at once if a tick asked for it
 * meanwhile and interrupts are on. */
void preempt_disable(void);
void preempt_enable(void);
/* May an interrupt that r records (its return frame) switch away from the
 * current process? From ring 3 and idle always; in the kernel, only a
 * kernel thread (the shell is one) interrupted with interrupts on outside
 * every non-preemptible section. */
int sched_preemptible(const struct regs *r);

/* ---- switch.S ----------------------------------------------------------- */

/* Save the callee-saved registers on this stack and *old_esp = ESP, then
 * load new_esp and return into whatever saved it. */
void context_switch(uint32_t *old_esp, uint32_t new_esp);
/* What a new process's stack returns into first. */
extern const char kthread_entry[];
extern const char trap_return[];

/* ---- exec.c ------------------------------------------------------------- */

/* Load the program at path into a fresh address space: *mm, the entry
 * point, the initial stack pointer (argc, argv, envp, auxv as Linux lays
 * them out below 0xC0000000) and the brk start. 0 or a negative errno with
 * *why; nothing is left allocated on failure. limits: the new mm's AS and
 * stack limits come from them. */
struct exec_image {
    struct mm *mm;
    uint32_t entry, sp, brk_start;
};
int exec_load(const char *path, char *const argv[], char *const envp[],
              const struct rlimit *limits, struct exec_image *out, const char **why);

/* Set up r (at the top of p's kernel stack) to enter ring 3 at entry with
 * stack sp and every other register 0. */
void exec_user_regs(struct regs *r, uint32_t entry, uint32_t sp);

/* Build the kernel stack of a new process so that its first switch-in
 * returns through trap_return with *frame (copied). */
void proc_stack_user(struct proc *p, const struct regs *frame);

/* The regs at the top of p's kernel stack (its entry from ring 3). */
static inline struct regs *proc_user_regs(struct proc *p)
{
    return (struct regs *)(p->kstack_top - sizeof(struct regs));
}

/* ---- syscall.c ---------------------------------------------------------- */

void syscall_dispatch(struct regs *r);
/* System calls made with a number the table does not have. */
uint32_t syscall_unknown_count(void);

#endif
