/* syscall.c — the int 0x80 entry: the table of Linux i386 system call
 * numbers, and the count of calls to numbers it does not have (-ENOSYS).
 *
 *   1 exit        2 fork        3 read        4 write       5 open
 *   6 close       7 waitpid    10 unlink     11 execve     12 chdir
 *  19 lseek      20 getpid     37 kill       39 mkdir      40 rmdir
 *  41 dup        45 brk        63 dup2       75 setrlimit  91 munmap
 *  93 ftruncate 116 sysinfo   125 mprotect  144 msync     150 mlock
 * 151 munlock   158 sched_yield 162 nanosleep 183 getcwd  191 ugetrlimit
 * 192 mmap2     195 stat64    197 fstat64   220 getdents64 252 exit_group
 */
#include <stdint.h>
#include "proc.h"
#include "syscall.h"
#include "../include/errno.h"
#include "../mm/vm/uaccess.h"

static const syscall_fn table[NR_SYSCALLS] = {
    [1] = sys_exit, [2] = sys_fork, [3] = sys_read, [4] = sys_write, [5] = sys_open,
    [6] = sys_close, [7] = sys_waitpid, [10] = sys_unlink, [11] = sys_execve, [12] = sys_chdir,
    [19] = sys_lseek, [20] = sys_getpid, [37] = sys_kill, [39] = sys_mkdir, [40] = sys_rmdir,
    [57] = sys_setpgid, [65] = sys_getpgrp, [132] = sys_getpgid,
    [41] = sys_dup, [45] = sys_brk, [63] = sys_dup2, [93] = sys_ftruncate, [183] = sys_getcwd,
    [195] = sys_stat64, [197] = sys_fstat64, [220] = sys_getdents64, [75] = sys_setrlimit, [91] = sys_munmap, [116] = sys_sysinfo,
    [125] = sys_mprotect, [144] = sys_msync, [150] = sys_mlock, [151] = sys_munlock,
    [158] = sys_sched_yield, [162] = sys_nanosleep, [191] = sys_ugetrlimit, [192] = sys_mmap2,
    [252] = sys_exit,
};

static uint32_t unknown;

uint32_t syscall_unknown_count(void) { return unknown; }

void syscall_dispatch(struct regs *r)
{
    current->syscalls++;
    uint32_t nr = r->eax;
    if (nr >= NR_SYSCALLS || !table[nr]) {
        unknown++;
        r->eax = (uint32_t)-ENOSYS;
        return;
    }
    r->eax = (uint32_t)table[nr](r);
}

int32_t strncpy_from_user(char *dst, uint32_t src, uint32_t max)
{
    for (uint32_t i = 0; i < max; i++) {
        if (copy_from_user(&dst[i], src + i, 1))
            return -EFAULT;
        if (!dst[i])
            return (int32_t)i;
    }
    return -ENAMETOOLONG;
}
