/* sys_proc.c — the system calls of process life: exit, fork, waitpid,
 * execve, getpid, kill, the process groups, the resource limits,
 * sched_yield and nanosleep.
 * They run with interrupts off (the int 0x80 gate clears IF). */
#include <stdint.h>
#include "proc.h"
#include "syscall.h"
#include "../arch/pit.h"
#include "../fs/limits.h"
#include "../include/errno.h"
#include "../lib/string.h"
#include "../mm/buddy.h"
#include "../mm/memory.h"
#include "../mm/page_alloc.h"
#include "../mm/vm/mm.h"
#include "../mm/vm/uaccess.h"

#define EXEC_ARG_BYTES 3072u      /* all argument and environment strings together */
#define EXEC_ARG_COUNT 64u

int32_t sys_exit(struct regs *r)
{
    proc_exit((int)((r->ebx & 0xFF) << 8));
}

int32_t sys_getpid(struct regs *r)
{
    (void)r;
    return (int32_t)current->pid;
}

int32_t sys_fork(struct regs *r)
{
    struct proc *parent = current;
    if (!parent->mm)
        return -EINVAL;
    int err;
    struct proc *child = proc_alloc(&err);
    if (!child)
        return err;
    memcpy(child->name, parent->name, sizeof(child->name));
    child->mm = mm_clone(parent->mm, r->useresp);
    if (!child->mm) {
        proc_free(child);
        return -ENOMEM;
    }
    child->user = 1;
    child->brk_start = parent->brk_start;
    child->brk = parent->brk;
    fds_clone(&child->fds, &parent->fds);
    proc_stack_user(child, r);
    proc_user_regs(child)->eax = 0;    /* the child's fork returns 0 */
    sched_add(child);
    return (int32_t)child->pid;
}

int32_t sys_waitpid(struct regs *r)
{
    int32_t pid = (int32_t)r->ebx;
    uint32_t ustatus = r->ecx;
    int status = 0;
    /* Nothing in KOS stops or continues a process, so WUNTRACED and
     * WCONTINUED, which ask for those too, change nothing; Linux takes them. */
    if (r->edx & ~(uint32_t)(WNOHANG | WUNTRACED | WCONTINUED))
        return -EINVAL;
    /* A status that cannot be written is refused before a child is reaped
     * (its status would be lost). The check writes back what is there, so
     * a call that reaps nothing (WNOHANG's 0, ECHILD) leaves it as Linux does. */
    if (ustatus && (copy_from_user(&status, ustatus, sizeof(status)) ||
                    copy_to_user(ustatus, &status, sizeof(status))))
        return -EFAULT;
    int32_t got = proc_wait(pid, &status, (int)(r->edx & WNOHANG));
    if (got > 0 && ustatus && copy_to_user(ustatus, &status, sizeof(status)))
        return -EFAULT;
    return got;
}

/* Copy a NULL-terminated vector of user strings into buf, pointers into
 * vec[max]. 0, -EFAULT or -E2BIG. */
static int copy_strings(uint32_t uvec, char **vec, uint32_t max, char *buf, uint32_t *used)
{
    uint32_t n = 0;
    for (; uvec; n++) {
        uint32_t ptr;
        if (copy_from_user(&ptr, uvec + n * 4, 4))
            return -EFAULT;
        if (!ptr)
            break;
        if (n + 1 >= max)
            return -E2BIG;
        int32_t len = strncpy_from_user(buf + *used, ptr, EXEC_ARG_BYTES - *used);
        if (len < 0)
            return len == -ENAMETOOLONG ? -E2BIG : len;
        vec[n] = buf + *used;
        *used += (uint32_t)len + 1;
    }
    vec[n] = 0;
    return 0;
}

int32_t sys_execve(struct regs *r)
{
    struct proc *p = current;
    char path[FS_PATH_MAX];
    int32_t err = strncpy_from_user(path, r->ebx, sizeof(path));
    if (err < 0)
        return err;
    char *strings = kmalloc(EXEC_ARG_BYTES);
    char **vecs = kmalloc(2 * EXEC_ARG_COUNT * sizeof(char *));
    if (!strings || !vecs) {
        kfree(strings);
        kfree(vecs);
        return -ENOMEM;
    }
    uint32_t used = 0;
    char **argv = vecs, **envp = vecs + EXEC_ARG_COUNT;
    err = copy_strings(r->ecx, argv, EXEC_ARG_COUNT, strings, &used);
    if (!err)
        err = copy_strings(r->edx, envp, EXEC_ARG_COUNT, strings, &used);
    struct exec_image img;
    const char *why;
    if (!err)
        err = exec_load(path, argv, envp, p->rlim, &img, &why);
    kfree(strings);
    kfree(vecs);
    if (err)
        return err;
    struct mm *old = p->mm;
    img.mm->policy = old->policy;      /* W^X is not shed by an exec, as Linux's MDWE is not */
    p->mm = img.mm;
    mm_activate(img.mm);
    mm_destroy(old);
    p->brk_start = p->brk = img.brk_start;
    p->execed = 1;
    proc_set_name(p, path);
    exec_user_regs(r, img.entry, img.sp);
    return 0;
}

int32_t sys_kill(struct regs *r)
{
    int32_t pid = (int32_t)r->ebx;
    uint32_t sig = r->ecx;
    if (sig >= 65)
        return -EINVAL;
    if (pid <= 0)
        return proc_kill_group(pid, (int)sig);
    if (sig == 0)
        return proc_find((uint32_t)pid) ? 0 : -ESRCH;    /* a zombie exists until reaped */
    return proc_kill((uint32_t)pid, (int)sig);
}

int32_t sys_setpgid(struct regs *r) { return proc_setpgid((int32_t)r->ebx, (int32_t)r->ecx); }

int32_t sys_getpgid(struct regs *r)
{
    int32_t pid = (int32_t)r->ebx;
    struct proc *p = pid == 0 ? current : pid > 0 ? proc_find((uint32_t)pid) : 0;
    return p ? (int32_t)p->pgid : -ESRCH;
}

int32_t sys_getpgrp(struct regs *r)
{
    (void)r;
    return (int32_t)current->pgid;
}

int32_t sys_setrlimit(struct regs *r)
{
    struct rlimit rl;
    if (copy_from_user(&rl, r->ecx, sizeof(rl)))
        return -EFAULT;
    return proc_setrlimit(current, r->ebx, &rl);
}

int32_t sys_ugetrlimit(struct regs *r)
{
    if (r->ebx >= RLIM_NLIMITS)
        return -EINVAL;
    return copy_to_user(r->ecx, &current->rlim[r->ebx], sizeof(struct rlimit));
}

int32_t sys_sched_yield(struct regs *r)
{
    (void)r;
    schedule();
    return 0;
}

struct timespec32 {
    int32_t tv_sec, tv_nsec;
};

#define NSEC_PER_TICK (1000000000u / PIT_HZ)

int32_t sys_nanosleep(struct regs *r)
{
    struct timespec32 t;
    if (copy_from_user(&t, r->ebx, sizeof(t)))
        return -EFAULT;
    if (t.tv_sec < 0 || t.tv_nsec < 0 || t.tv_nsec >= 1000000000)
        return -EINVAL;
    if (r->ecx) {
        struct timespec32 zero = { 0, 0 };
        if (copy_to_user(r->ecx, &zero, sizeof(zero)))
            return -EFAULT;
    }
    uint32_t ticks = (uint32_t)t.tv_sec * PIT_HZ + ((uint32_t)t.tv_nsec + NSEC_PER_TICK - 1) / NSEC_PER_TICK;
    sleep_ticks(ticks);
    return current->killed ? -EINTR : 0;
}

/* Linux's struct sysinfo on i386 (64 bytes). */
struct sysinfo32 {
    int32_t uptime;
    uint32_t loads[3];
    uint32_t totalram, freeram, sharedram, bufferram, totalswap, freeswap;
    uint16_t procs, pad;
    uint32_t totalhigh, freehigh, mem_unit;
    char reserved[8];
};

_Static_assert(sizeof(struct sysinfo32) == 64, "Linux's i386 struct sysinfo is 64 bytes");

int32_t sys_sysinfo(struct regs *r)
{
    struct sysinfo32 info;
    memset(&info, 0, sizeof(info));
    info.uptime = (int32_t)(pit_ticks() / PIT_HZ);
    /* In pages (mem_unit): with HighMem, bytes would not fit 32 bits. */
    info.totalram = buddy_zone_managed(ZONE_DMA) + buddy_zone_managed(ZONE_NORMAL) +
                    buddy_zone_managed(ZONE_HIGHMEM);
    info.freeram = get_free_pages();
    info.procs = (uint16_t)proc_count();
    info.mem_unit = PAGE_SIZE;
    return copy_to_user(r->ebx, &info, sizeof(info));
}
