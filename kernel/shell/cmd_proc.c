/* cmd_proc.c — shell commands over processes: run (foreground or in the
 * background with a trailing &), ps, kill, kspin and limit; the report of
 * background programs that ended, printed before the next prompt. */
#include <stdint.h>
#include "shell.h"
#include "../arch/cpu.h"
#include "../arch/pit.h"
#include "../fs/limits.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"
#include "../mm/vm/mm.h"
#include "../proc/proc.h"

static char *const default_env[] = { "PATH=" SHELL_PATH, "HOME=/", 0 };

/* "SIGSEGV", or "signal 40" for a number without a name here (buf holds it). */
static const char *signal_name(int sig, char buf[16])
{
    switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGILL: return "SIGILL";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGSEGV: return "SIGSEGV";
    case SIGTERM: return "SIGTERM";
    default:
        ksnprintf(buf, 16, "signal %d", sig);
        return buf;
    }
}

/* "run: pid 5 exited with status 0" or "run: pid 5 killed by SIGSEGV". */
static void report_status(int32_t pid, int status)
{
    char buf[16];
    if (status & 0x7F)
        kprintf("run: pid %d killed by %s\n", pid, signal_name(status & 0x7F, buf));
    else
        kprintf("run: pid %d exited with status %d\n", pid, (status >> 8) & 0xFF);
}

void shell_job_report(void)
{
    int status;
    int32_t pid;
    while ((pid = proc_wait(-1, &status, WNOHANG)) > 0)
        report_status(pid, status);
}

static int cmd_run(int argc, char **argv)
{
    int background = argc > 1 && strcmp(argv[argc - 1], "&") == 0;
    if (background)
        argv[--argc] = 0;
    if (argc < 2)
        return shell_usage(argv[0]);
    /* As sh runs a command: a name with no '/' is a program in the PATH
     * the programs are given, and keeps its name as argv[0]. */
    char path[FS_PATH_MAX];
    const char *file = argv[1];
    uint32_t n = 0;
    while (file[n] && file[n] != '/')
        n++;
    if (!file[n]) {
        ksnprintf(path, sizeof(path), SHELL_PATH "/%s", file);
        file = path;
    }
    const char *why = "";
    int32_t pid = proc_spawn(file, argv + 1, default_env, &why);
    if (pid < 0) {
        kprintf("run: error %s (%d): %s: %s\n", errno_name(pid), pid, why, file);
        return 1;
    }
    if (background) {
        kprintf("run: pid %d in the background\n", pid);
        return 0;
    }
    int status = 0;
    console_set_foreground((uint32_t)pid);
    int32_t got = proc_wait(pid, &status, 0);
    console_set_foreground(0);
    if (got != pid) {
        kprintf("run: error %s (%d): lost pid %d\n", errno_name(got), got, pid);
        return 1;
    }
    report_status(pid, status);
    return (status & 0x7F) || (status >> 8) ? 1 : 0;
}
SHELL_COMMAND(run, "PATH [ARGS...] [&]", "run a program (a bare NAME from " SHELL_PATH "), in the background with &", cmd_run);

static void ps_line(struct proc *p, void *arg)
{
    (void)arg;
    struct mm *mm = p->mm;
    uint32_t vsz = mm ? mm->total_pages * 4 : 0, rss = mm ? mm->resident_pages * 4 : 0;
    uint32_t limit = p->rlim[RLIMIT_AS].rlim_cur;
    char lim[16];
    if (limit == RLIM_INFINITY || p->pid == PID_IDLE)
        ksnprintf(lim, sizeof(lim), "unlimited");
    else
        ksnprintf(lim, sizeof(lim), "%u", limit);
    kprintf("%5u %5u %-5s %-15s %8u %8u %10s %7u\n", p->pid, p->parent ? p->parent->pid : 0,
            proc_state_name(p->state), p->name, vsz, rss, lim, mm ? mm->minor_faults : 0);
}

static int cmd_ps(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return shell_usage(argv[0]);
    kprintf("  PID  PPID STATE NAME                 VSZ      RSS      LIMIT  FAULTS\n");
    proc_foreach(ps_line, 0);
    return 0;
}
SHELL_COMMAND(ps, "", "processes: pid, parent, state, name, size and resident KiB, limit, faults", cmd_ps);

/* kill PID, and kill -PGID for a process group as kill(2) takes it: -1
 * is every process but idle and the shell, -N the job N leads (a program
 * run from the shell leads a group of its own, and what it forks stays in
 * it). 0, the shell's own group, holds the shell alone: refused as pid 1. */
static int cmd_kill(int argc, char **argv)
{
    uint32_t pid, sig = SIGTERM;
    if (argc != 2 && argc != 3)
        return shell_usage(argv[0]);
    int group = argv[1][0] == '-';
    if (group)
        argv[1]++;
    if (shell_arg_u32(argv, 1, group ? "-PGID" : "PID", group ? 0x7FFFFFFF : UINT32_MAX, &pid))
        return 1;
    if (argc == 3 && shell_arg_u32(argv, 2, "SIG", 64, &sig))
        return 1;
    int err;
    if (group)
        err = pid == 0 ? -EPERM : proc_kill_group(-(int32_t)pid, (int)sig);
    else
        err = sig ? proc_kill(pid, (int)sig) : (proc_find(pid) ? 0 : -ESRCH);
    if (err) {
        const char *why = err == -EPERM ? "pid 0 and 1 cannot be killed (0 is also the shell's own group)"
                        : !group ? "no such process"
                        : pid == 1 ? "no process but the shell to signal" : "no process in that group";
        kprintf("kill: error %s (%d): %s\n", errno_name(err), err, why);
        return 1;
    }
    char buf[16];
    if (group && pid == 1)
        kprintf("kill: every process but the shell sent %s\n", signal_name((int)sig, buf));
    else
        kprintf("kill: %s %u sent %s\n", group ? "group" : "pid", pid, signal_name((int)sig, buf));
    return 0;
}
SHELL_COMMAND(kill, "PID [SIG]", "end a process, or with -PGID a group (-1: all but the shell); SIGTERM unless SIG", cmd_kill);

/* A kernel thread that never sleeps: only preemption lets anything else
 * run beside it. It counts the timer ticks it sees go by until killed. */
static int kspin_thread(void *arg)
{
    (void)arg;
    uint32_t seen = 0, last = pit_ticks();
    while (!current->killed) {
        uint32_t now = pit_ticks();
        seen += now != last;
        last = now;
    }
    uint32_t f = irq_save();
    kprintf("kspin %u: saw %u ticks\n", current->pid, seen);
    irq_restore(f);
    return 0;
}

static int cmd_kspin(int argc, char **argv)
{
    if (argc != 1)
        return shell_usage(argv[0]);
    int32_t pid = kthread_create(kspin_thread, 0, "kspin");
    if (pid < 0) {
        kprintf("kspin: error %s (%d): no kernel stack left for a thread\n", errno_name(pid), pid);
        return 1;
    }
    kprintf("kspin: pid %d spins in the kernel until killed\n", pid);
    return 0;
}
SHELL_COMMAND(kspin, "", "start a kernel thread that busy-loops until killed (kernel preemption)", cmd_kspin);

static int cmd_limit(int argc, char **argv)
{
    uint32_t pid, bytes;
    if (argc != 3)
        return shell_usage(argv[0]);
    if (shell_arg_u32(argv, 1, "PID", UINT32_MAX, &pid) || shell_arg_u32(argv, 2, "BYTES", UINT32_MAX, &bytes))
        return 1;
    struct proc *p = proc_find(pid);
    if (!p || p->state == PROC_ZOMBIE || pid == PID_IDLE) {
        kprintf("limit: error ESRCH (%d): no such process: %u\n", -ESRCH, pid);
        return 1;
    }
    struct rlimit rl = { bytes, bytes > p->rlim[RLIMIT_AS].rlim_max ? bytes : p->rlim[RLIMIT_AS].rlim_max };
    int err = proc_setrlimit(p, RLIMIT_AS, &rl);
    if (err) {
        kprintf("limit: error %s (%d): not a valid limit\n", errno_name(err), err);
        return 1;
    }
    kprintf("limit: pid %u address space limit %u bytes\n", pid, bytes);
    return 0;
}
SHELL_COMMAND(limit, "PID BYTES", "set a process's address-space limit (RLIMIT_AS)", cmd_limit);
