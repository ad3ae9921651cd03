/* syscall.c — one wrapper per system call over syscall6 (syscall.S). */
#include "syscall.h"

#define S0(n) syscall6((n), 0, 0, 0, 0, 0, 0)
#define S1(n, a) syscall6((n), (long)(a), 0, 0, 0, 0, 0)
#define S2(n, a, b) syscall6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define S3(n, a, b, c) syscall6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)

void exit(int status)
{
    for (;;)
        S1(SYS_exit, status);
}

void exit_group(int status)
{
    for (;;)
        S1(SYS_exit_group, status);
}

long fork(void) { return S0(SYS_fork); }
long read(int fd, void *buf, size_t n) { return S3(SYS_read, fd, buf, n); }
long write(int fd, const void *buf, size_t n) { return S3(SYS_write, fd, buf, n); }
long open(const char *path, int flags, int mode) { return S3(SYS_open, path, flags, mode); }
long close(int fd) { return S1(SYS_close, fd); }
long waitpid(long pid, int *status, int options) { return S3(SYS_waitpid, pid, status, options); }
long execve(const char *path, char *const argv[], char *const envp[])
{
    return S3(SYS_execve, path, argv, envp);
}
long lseek(int fd, long offset, int whence) { return S3(SYS_lseek, fd, offset, whence); }
long getpid(void) { return S0(SYS_getpid); }
long kill(long pid, int sig) { return S2(SYS_kill, pid, sig); }
long setpgid(long pid, long pgid) { return S2(SYS_setpgid, pid, pgid); }
long getpgrp(void) { return S0(SYS_getpgrp); }
long getpgid(long pid) { return S1(SYS_getpgid, pid); }
long brk(void *addr) { return S1(SYS_brk, addr); }
long setrlimit(int resource, const struct rlimit *rl) { return S2(SYS_setrlimit, resource, rl); }
long ugetrlimit(int resource, struct rlimit *rl) { return S2(SYS_ugetrlimit, resource, rl); }
long munmap(void *addr, size_t len) { return S2(SYS_munmap, addr, len); }
long mprotect(void *addr, size_t len, int prot) { return S3(SYS_mprotect, addr, len, prot); }
long msync(void *addr, size_t len, int flags) { return S3(SYS_msync, addr, len, flags); }
long mlock(const void *addr, size_t len) { return S2(SYS_mlock, addr, len); }
long munlock(const void *addr, size_t len) { return S2(SYS_munlock, addr, len); }
long sched_yield(void) { return S0(SYS_sched_yield); }
long sysinfo(struct sysinfo *info) { return S1(SYS_sysinfo, info); }
long nanosleep(const struct timespec *req, struct timespec *rem) { return S2(SYS_nanosleep, req, rem); }

long mmap2(void *addr, size_t len, int prot, int flags, int fd, long pgoff)
{
    return syscall6(SYS_mmap2, (long)addr, (long)len, prot, flags, fd, pgoff);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, long offset)
{
    if (offset & 0xFFF)
        return (void *)(long)-22;       /* -EINVAL, as Linux's mmap for an unaligned offset */
    return (void *)mmap2(addr, len, prot, flags, fd, offset >> 12);
}
long unlink(const char *path) { return S1(SYS_unlink, path); }
long chdir(const char *path) { return S1(SYS_chdir, path); }
long mkdir(const char *path, int mode) { return S2(SYS_mkdir, path, mode); }
long rmdir(const char *path) { return S1(SYS_rmdir, path); }
long dup(int fd) { return S1(SYS_dup, fd); }
long dup2(int oldfd, int newfd) { return S2(SYS_dup2, oldfd, newfd); }
long ftruncate(int fd, unsigned long len) { return S2(SYS_ftruncate, fd, len); }
long getcwd(char *buf, size_t size) { return S2(SYS_getcwd, buf, size); }
long stat64(const char *path, struct stat64 *st) { return S2(SYS_stat64, path, st); }
long fstat64(int fd, struct stat64 *st) { return S2(SYS_fstat64, fd, st); }
long getdents64(int fd, void *buf, size_t n) { return S3(SYS_getdents64, fd, buf, n); }
