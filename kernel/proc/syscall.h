/* syscall.h — the system call table's entries: one function per Linux
 * i386 number, taking the trap frame (arguments in ebx, ecx, edx, esi,
 * edi, ebp) and returning the result or -errno for eax. */
#ifndef KOS_PROC_SYSCALL_H
#define KOS_PROC_SYSCALL_H

#include <stdint.h>
#include "../arch/regs.h"

#define NR_SYSCALLS 256

typedef int32_t (*syscall_fn)(struct regs *r);

/* sys_proc.c */
int32_t sys_exit(struct regs *r);
int32_t sys_fork(struct regs *r);
int32_t sys_waitpid(struct regs *r);
int32_t sys_execve(struct regs *r);
int32_t sys_getpid(struct regs *r);
int32_t sys_kill(struct regs *r);
int32_t sys_setpgid(struct regs *r);
int32_t sys_getpgrp(struct regs *r);
int32_t sys_getpgid(struct regs *r);
int32_t sys_setrlimit(struct regs *r);
int32_t sys_ugetrlimit(struct regs *r);
int32_t sys_sched_yield(struct regs *r);
int32_t sys_nanosleep(struct regs *r);
int32_t sys_sysinfo(struct regs *r);
/* sys_mem.c */
int32_t sys_brk(struct regs *r);
int32_t sys_mmap2(struct regs *r);
int32_t sys_munmap(struct regs *r);
int32_t sys_mprotect(struct regs *r);
int32_t sys_msync(struct regs *r);
int32_t sys_mlock(struct regs *r);
int32_t sys_munlock(struct regs *r);
/* sys_fs.c */
int32_t sys_read(struct regs *r);
int32_t sys_write(struct regs *r);
int32_t sys_open(struct regs *r);
int32_t sys_close(struct regs *r);
int32_t sys_lseek(struct regs *r);
int32_t sys_unlink(struct regs *r);
int32_t sys_chdir(struct regs *r);
int32_t sys_mkdir(struct regs *r);
int32_t sys_rmdir(struct regs *r);
int32_t sys_dup(struct regs *r);
int32_t sys_dup2(struct regs *r);
int32_t sys_ftruncate(struct regs *r);
int32_t sys_getcwd(struct regs *r);
int32_t sys_stat64(struct regs *r);
int32_t sys_fstat64(struct regs *r);
int32_t sys_getdents64(struct regs *r);

/* Copy a NUL-terminated string of at most max bytes (NUL included) from
 * user memory: its length, -EFAULT, or -ENAMETOOLONG. */
int32_t strncpy_from_user(char *dst, uint32_t src, uint32_t max);

#endif
