/* proc.c — the process table and the life of a process: creation (kernel
 * threads, spawned programs), exit, zombies and waitpid, kill, and the
 * death of a process that faults.
 *
 * A process's kernel stack goes back with stack_free(pid) as it exits,
 * while it still runs on it: safe because interrupts stay off from there
 * to the switch away, and nothing between allocates a stack. Its address
 * space goes at exit too; the zombie keeps only its table slot and status
 * until the parent reaps it. Orphans are given to the shell (pid 1), which
 * reaps the zombies among them whenever it waits for anything.
 */
#include <stdint.h>
#include "proc.h"
#include "../arch/cpu.h"
#include "../arch/gdt.h"
#include "../arch/idt.h"
#include "../fs/fdtable.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"
#include "../mm/stack.h"
#include "../mm/vm/mm.h"

struct proc proc_table[PROC_TABLE_SIZE];
static uint32_t next_pid = 2;
/* Stacks proc_alloc took and neither proc_free nor the exit has given
 * back: fewer than stack_count() when the shell's `stack alloc` holds
 * some by hand. */
static uint32_t proc_stacks;

/* Idle's stack: it runs interrupts and schedule() only. */
static uint8_t idle_stack[4096] __attribute__((aligned(16)));

#define UNLIMITED { RLIM_INFINITY, RLIM_INFINITY }

/* What getrlimit reads before anyone sets a limit: the three enforced,
 * the descriptor table's size, no core files (none are written), and
 * RLIM_INFINITY for what nothing limits (never 0, which would say that
 * none of it is allowed). */
static const struct rlimit default_limits[RLIM_NLIMITS] = {
    UNLIMITED, UNLIMITED, UNLIMITED,                    /* CPU, FSIZE, DATA */
    [RLIMIT_STACK] = { MM_DEFAULT_STACK_LIMIT, RLIM_INFINITY },
    [RLIMIT_CORE] = { 0, RLIM_INFINITY },
    UNLIMITED, UNLIMITED,                               /* RSS, NPROC */
    [RLIMIT_NOFILE] = { FD_MAX, FD_MAX },
    [RLIMIT_MEMLOCK] = { 0x10000, 0x10000 },           /* Linux's 64 KiB */
    [RLIMIT_AS] = UNLIMITED,
    UNLIMITED, UNLIMITED, UNLIMITED, UNLIMITED, UNLIMITED, UNLIMITED,  /* LOCKS ... RTTIME */
};

const char *proc_state_name(enum proc_state s)
{
    switch (s) {
    case PROC_RUNNABLE: return "R";
    case PROC_RUNNING: return "R";
    case PROC_SLEEPING: return "S";
    case PROC_ZOMBIE: return "Z";
    default: return "?";
    }
}

struct proc *proc_find(uint32_t pid)
{
    for (uint32_t i = 0; i < PROC_TABLE_SIZE; i++)
        if (proc_table[i].state != PROC_UNUSED && proc_table[i].pid == pid)
            return &proc_table[i];
    return 0;
}

void proc_foreach(void (*fn)(struct proc *p, void *arg), void *arg)
{
    for (uint32_t i = 0; i < PROC_TABLE_SIZE; i++)
        if (proc_table[i].state != PROC_UNUSED)
            fn(&proc_table[i], arg);
}

uint32_t proc_count(void)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < PROC_TABLE_SIZE; i++)
        n += proc_table[i].state != PROC_UNUSED;
    return n;
}

void proc_set_name(struct proc *p, const char *path)
{
    const char *base = path;
    for (const char *s = path; *s; s++)
        if (*s == '/')
            base = s + 1;
    uint32_t n = 0;
    while (base[n] && n < PROC_NAME_MAX - 1) {
        p->name[n] = base[n];
        n++;
    }
    p->name[n] = '\0';
}

struct proc *proc_alloc(int *err)
{
    struct proc *p = 0;
    for (uint32_t i = 2; i < PROC_TABLE_SIZE && !p; i++)
        if (proc_table[i].state == PROC_UNUSED)
            p = &proc_table[i];
    *err = -EAGAIN;
    if (!p)
        return 0;
    /* Out of stacks is a normal answer here (EAGAIN), not the stack API
     * misuse stack_alloc reports and counts. */
    if (stack_count() >= stack_slots_in_ram())
        return 0;
    /* A pid whose stack was taken by hand (the shell's `stack alloc`) is
     * passed over: at most MAX_PROCESS_STACKS of them, since each holds
     * a stack, and looked for only when there are any. */
    if (stack_count() > proc_stacks)
        while (stack_get_base(next_pid))
            next_pid++;
    uint32_t pid = next_pid;
    /* Uncleared: the first frames (stack_switch_frame, proc_stack_user)
     * are written explicitly, and nothing reads the rest before writing it. */
    void *top = stack_alloc_uncleared(pid);
    if (!top)
        return 0;
    next_pid++;
    proc_stacks++;
    memset(p, 0, offsetof(struct proc, fds.cwd));
    p->fds.cwd[0] = '\0';               /* a kernel thread's: it has no files */
    p->pid = pid;
    p->kstack_top = (uint32_t)top;
    p->parent = current;
    p->pgid = current->pid == PID_SHELL ? pid : current->pgid;
    p->state = PROC_SLEEPING;          /* not runnable until sched_add */
    memcpy(p->rlim, current->rlim, sizeof(p->rlim));
    return p;
}

void proc_free(struct proc *p)
{
    stack_free(p->pid);
    proc_stacks--;
    p->state = PROC_UNUSED;
}

static void push(uint32_t **sp, uint32_t v)
{
    *--*sp = v;
}

/* The frame context_switch pops: edi, esi, ebx, ebp, then the return. */
static void stack_switch_frame(struct proc *p, uint32_t *sp, uint32_t ret, uint32_t ebx, uint32_t esi)
{
    push(&sp, ret);
    push(&sp, 0);          /* ebp */
    push(&sp, ebx);
    push(&sp, esi);
    push(&sp, 0);          /* edi */
    p->esp = (uint32_t)sp;
}

void proc_stack_user(struct proc *p, const struct regs *frame)
{
    struct regs *r = proc_user_regs(p);
    memcpy(r, frame, sizeof(*r));
    stack_switch_frame(p, (uint32_t *)r, (uint32_t)trap_return, 0, 0);
}

int32_t kthread_create(int (*fn)(void *arg), void *arg, const char *name)
{
    int err;
    uint32_t f = irq_save();
    struct proc *p = proc_alloc(&err);
    if (p) {
        proc_set_name(p, name);
        stack_switch_frame(p, (uint32_t *)p->kstack_top, (uint32_t)kthread_entry, (uint32_t)fn, (uint32_t)arg);
        sched_add(p);
    }
    irq_restore(f);
    return p ? (int32_t)p->pid : err;
}

/* A kernel thread killed while it ran (it saw current->killed and
 * returned) dies of the signal, as a program would. */
void kthread_return(int code);
void kthread_return(int code)
{
    cpu_cli();
    proc_exit(current->killed ? current->killed & 0x7F : (code & 0xFF) << 8);
}

int32_t proc_spawn(const char *path, char *const argv[], char *const envp[], const char **why)
{
    int err;
    uint32_t f = irq_save();
    struct proc *p = proc_alloc(&err);
    irq_restore(f);
    if (!p) {
        *why = "no kernel stack left for a process (all of them in use)";
        return err;
    }
    proc_set_name(p, path);
    struct exec_image img;
    err = exec_load(path, argv, envp, p->rlim, &img, why);
    if (!err && (err = fds_init_console(&p->fds)) != 0) {
        *why = "out of memory for the console file";
        mm_destroy(img.mm);
    }
    if (err) {
        f = irq_save();
        proc_free(p);
        irq_restore(f);
        return err;
    }
    p->user = 1;
    p->execed = 1;
    p->mm = img.mm;
    /* A spawn is a fork and an exec: the program runs under the spawner's
     * W^X policy (set after the loader's own writes to the image). */
    if (current->mm)
        img.mm->policy = current->mm->policy;
    p->brk_start = p->brk = img.brk_start;
    struct regs frame;
    exec_user_regs(&frame, img.entry, img.sp);
    proc_stack_user(p, &frame);
    f = irq_save();
    sched_add(p);
    irq_restore(f);
    return (int32_t)p->pid;
}

static __attribute__((noreturn)) int idle_loop(void *arg)
{
    (void)arg;
    for (;;)
        cpu_sti_hlt();
}

void proc_fault_report_and_die(struct regs *r);
static int fault_claim(struct regs *r);

void proc_init(void)
{
    struct proc *idle = &proc_table[PID_IDLE], *shell = &proc_table[PID_SHELL];
    idle->pid = PID_IDLE;
    proc_set_name(idle, "idle");
    idle->state = PROC_RUNNABLE;
    stack_switch_frame(idle, (uint32_t *)(idle_stack + sizeof(idle_stack)), (uint32_t)kthread_entry,
                       (uint32_t)idle_loop, 0);
    shell->pid = PID_SHELL;
    shell->pgid = PID_SHELL;
    proc_set_name(shell, "shell");
    shell->state = PROC_RUNNING;
    shell->mm = mm_current();
    shell->slice = TIME_SLICE_TICKS;
    memcpy(shell->rlim, default_limits, sizeof(shell->rlim));
    current = shell;
    console_init();
    idt_set_syscall_handler(syscall_dispatch);
    idt_set_fault_claim(fault_claim);
    idt_set_exit_hook(sched_interrupt_exit);
}

/* Give p's children to the shell, waking it if one is already a zombie. */
static void reparent_children(struct proc *p)
{
    struct proc *shell = &proc_table[PID_SHELL];
    for (uint32_t i = 0; i < PROC_TABLE_SIZE; i++) {
        struct proc *c = &proc_table[i];
        if (c->state != PROC_UNUSED && c->parent == p) {
            c->parent = shell;
            if (c->state == PROC_ZOMBIE)
                wake_up(&shell->child_exit);
        }
    }
}

void proc_exit(int status)
{
    struct proc *p = current;
    if (p->pid == PID_IDLE || p->pid == PID_SHELL) {
        kprintf("proc_exit: pid %u (%s) cannot exit\n", p->pid, p->name);
        for (;;)
            schedule();
    }
    fds_close_all(&p->fds);
    if (p->mm) {
        struct mm *mm = p->mm;
        p->mm = 0;
        /* Off this address space before its page tables go. */
        mm_activate(proc_table[PID_SHELL].mm);
        mm_destroy(mm);
    }
    cpu_cli();
    reparent_children(p);
    p->status = status;
    p->state = PROC_ZOMBIE;
    stack_free(p->pid);
    proc_stacks--;
    if (p->parent)
        wake_up(&p->parent->child_exit);
    schedule();
    for (;;)
        cpu_halt_forever();           /* a zombie is never picked */
}

/* Does waitpid's pid select child c? As Linux's: > 0 that one, -1 any,
 * 0 one in the caller's process group, < -1 one in group -pid. */
static int wait_selects(const struct proc *c, int32_t pid)
{
    if (pid > 0)
        return c->pid == (uint32_t)pid;
    if (pid == 0)
        return c->pgid == current->pgid;
    return pid == -1 || c->pgid == 0u - (uint32_t)pid;
}

int32_t proc_wait(int32_t pid, int *status, int options)
{
    uint32_t f = irq_save();
    int32_t result;
    for (;;) {
        int have = 0;
        struct proc *z = 0;
        for (uint32_t i = 0; i < PROC_TABLE_SIZE && !z; i++) {
            struct proc *c = &proc_table[i];
            if (c->state == PROC_UNUSED || c->parent != current || !wait_selects(c, pid))
                continue;
            have = 1;
            if (c->state == PROC_ZOMBIE)
                z = c;
        }
        if (z) {
            result = (int32_t)z->pid;
            *status = z->status;
            z->state = PROC_UNUSED;
            break;
        }
        if (!have) {
            result = -ECHILD;
            break;
        }
        if ((options & WNOHANG) || current->killed) {
            result = current->killed ? -EINTR : 0;
            break;
        }
        sleep_on(&current->child_exit);
    }
    irq_restore(f);
    return result;
}

/* The first signal is the one p dies of. */
static void signal_proc(struct proc *p, int sig)
{
    if (!p->killed) {
        p->killed = sig;
        proc_wake(p);
    }
}

int proc_kill(uint32_t pid, int sig)
{
    if (pid == PID_IDLE || pid == PID_SHELL)
        return -EPERM;
    uint32_t f = irq_save();
    struct proc *p = proc_find(pid);
    int err = 0;
    if (!p)
        err = -ESRCH;
    else if (p->state != PROC_ZOMBIE)     /* a zombie is there until reaped, with nothing to signal */
        signal_proc(p, sig);
    irq_restore(f);
    return err;
}

static int descends_from(const struct proc *p, uint32_t pid)
{
    for (; p; p = p->parent)
        if (p->pid == pid)
            return 1;
    return 0;
}

int proc_kill_tree(uint32_t pid, int sig)
{
    if (pid == PID_IDLE || pid == PID_SHELL)
        return -EPERM;
    uint32_t f = irq_save();
    int err = -ESRCH;
    for (uint32_t i = 2; i < PROC_TABLE_SIZE; i++) {
        struct proc *p = &proc_table[i];
        if (p->state != PROC_UNUSED && p->state != PROC_ZOMBIE && descends_from(p, pid)) {
            signal_proc(p, sig);
            err = 0;
        }
    }
    irq_restore(f);
    return err;
}

static int alive(const struct proc *p) { return p->state != PROC_UNUSED && p->state != PROC_ZOMBIE; }

int proc_kill_group(int32_t pid, int sig)
{
    uint32_t f = irq_save();
    uint32_t pgid = pid == 0 ? current->pgid : 0u - (uint32_t)pid;
    int found = 0;
    for (uint32_t i = 2; i < PROC_TABLE_SIZE; i++) {
        struct proc *p = &proc_table[i];
        if (p->state == PROC_UNUSED || (pid == -1 ? p == current : p->pgid != pgid))
            continue;
        found = 1;                    /* a zombie too, as proc_kill has it */
        if (sig && alive(p))
            signal_proc(p, sig);
    }
    irq_restore(f);
    return found ? 0 : -ESRCH;
}

int proc_setpgid(int32_t pid, int32_t pgid)
{
    if (pgid < 0)
        return -EINVAL;
    struct proc *p = pid == 0 ? current : proc_find((uint32_t)pid);
    if (pid < 0 || !p || !alive(p) || (p != current && p->parent != current))
        return -ESRCH;
    if (p != current && p->execed)
        return -EACCES;                /* POSIX: a child that has exec'd chooses its own group */
    uint32_t to = pgid == 0 ? p->pid : (uint32_t)pgid;
    if (to == PID_IDLE || to == PID_SHELL || p->pid == PID_SHELL)
        return -EPERM;
    int exists = to == p->pid;
    for (uint32_t i = 2; i < PROC_TABLE_SIZE && !exists; i++)
        exists = alive(&proc_table[i]) && proc_table[i].pgid == to;
    if (!exists)
        return -EPERM;
    p->pgid = to;
    return 0;
}

int proc_setrlimit(struct proc *p, uint32_t resource, const struct rlimit *rl)
{
    if (resource >= RLIM_NLIMITS || rl->rlim_cur > rl->rlim_max)
        return -EINVAL;
    if (rl->rlim_max > p->rlim[resource].rlim_max && p->pid != PID_SHELL && current->pid != PID_SHELL)
        return -EPERM;
    p->rlim[resource] = *rl;
    if (p->mm && resource == RLIMIT_AS)
        p->mm->limit_as = rl->rlim_cur;
    if (p->mm && resource == RLIMIT_STACK)
        p->mm->limit_stack = rl->rlim_cur;
    return 0;
}

/* Called on every return to ring 3: a killed process dies here, in its
 * own context, with nothing of the kernel's half done. */
void proc_die_if_killed(struct regs *r)
{
    (void)r;
    if (current->killed)
        proc_exit(current->killed & 0x7F);
}

static int exception_signal(uint32_t vector)
{
    switch (vector) {
    case 0: return SIGFPE;
    case 6: return SIGILL;
    case 14: return SIGSEGV;
    case 16: case 19: return SIGFPE;
    case 17: return SIGBUS;
    default: return SIGSEGV;
    }
}

static const char *const fault_words[] = { "read", "write", "exec" };
static const char *const fault_reasons[NR_FAULT_KINDS] = {
    [FAULT_NOT_MAPPED] = "not mapped", [FAULT_PROTECTION] = "protection",
    [FAULT_STACK_LIMIT] = "beyond the stack limit", [FAULT_OOM] = "out of memory",
    [FAULT_SIGBUS] = "beyond the end of the file",
};

/* A fault in ring 3, or in a kernel thread: report it and end that process.
 * Kernel-mode faults of the shell, idle and system calls are the core
 * kernel's: left to the exception report, which stops the machine. */
static int fault_claim(struct regs *r)
{
    struct proc *p = current;
    int user = (r->cs & 3) == 3;
    if (!user && (p->user || p->pid == PID_SHELL || p->pid == PID_IDLE))
        return 0;
    cpu_cli();
    int sig = exception_signal(r->vector);
    p->user_faults++;
    if (r->vector == 14 && p->mm) {
        const struct vm_fault_report *f = &p->mm->last_fault;
        char prot[5] = "";
        if (f->has_vma)
            vma_prot_string(&f->vma, prot);
        /* SIGBUS is the file's verdict on a page it does not have. Running
         * out of frames says nothing against the access, which was good:
         * the process ends as Linux's OOM killer ends one, with SIGKILL
         * (KOS has no swap and no victim to choose but the one faulting). */
        if (f->kind == FAULT_SIGBUS)
            sig = SIGBUS;
        else if (f->kind == FAULT_OOM)
            sig = SIGKILL;
        kprintf("%s: pid %u (%s): %s at 0x%08x: %s (%s)%s\n", sig == SIGKILL ? "oom" : "segfault", p->pid,
                p->name, fault_words[f->access], f->addr, fault_reasons[f->kind] ? fault_reasons[f->kind] : "?",
                f->has_vma ? prot : "no mapping",
                sig == SIGKILL ? ": a valid access with no free frame: SIGKILL, as Linux's OOM killer sends" : "");
    } else {
        kprintf("%s: pid %u (%s): CPU exception %u at eip 0x%08x (error code 0x%x)\n",
                sig == SIGSEGV ? "segfault" : "fault", p->pid, p->name, r->vector, r->eip, r->err_code);
    }
    if (!user)
        kprintf("fault: pid %u (%s) was a kernel thread: it ends here\n", p->pid, p->name);
    proc_exit(sig);
}
