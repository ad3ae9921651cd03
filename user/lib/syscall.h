/* syscall.h — Linux i386 system calls as plain C wrappers.
 *
 * Each wrapper returns what the kernel returned: a result >= 0, or -errno
 * (there is no errno variable). Pointer results (mmap) are errors when
 * sys_failed() says so, as Linux reserves the top 4095 addresses for them.
 */
#ifndef USER_SYSCALL_H
#define USER_SYSCALL_H

#include <stddef.h>
#include <stdint.h>
/* The kernel's own lists of errnos and of PROT_/MAP_/MS_ flags. */
#include "../../kernel/include/errno.h"
#include "../../kernel/include/mman.h"

#define SYS_exit          1
#define SYS_fork          2
#define SYS_read          3
#define SYS_write         4
#define SYS_open          5
#define SYS_close         6
#define SYS_waitpid       7
#define SYS_execve        11
#define SYS_lseek         19
#define SYS_getpid        20
#define SYS_kill          37
#define SYS_setpgid       57
#define SYS_getpgrp       65
#define SYS_getpgid       132
#define SYS_brk           45
#define SYS_setrlimit     75
#define SYS_sysinfo       116
#define SYS_munmap        91
#define SYS_mprotect      125
#define SYS_msync         144
#define SYS_mlock         150
#define SYS_munlock       151
#define SYS_sched_yield   158
#define SYS_nanosleep     162
#define SYS_ugetrlimit    191
#define SYS_mmap2         192
#define SYS_exit_group    252
#define SYS_unlink        10
#define SYS_chdir         12
#define SYS_mkdir         39
#define SYS_rmdir         40
#define SYS_dup           41
#define SYS_dup2          63
#define SYS_ftruncate     93
#define SYS_getcwd        183
#define SYS_stat64        195
#define SYS_fstat64       197
#define SYS_getdents64    220

#define MAP_FAILED    ((void *)-1)

#define WNOHANG 1
#define WUNTRACED 2
/* waitpid's status word, as Linux encodes it. */
#define WIFEXITED(s)   (((s) & 0x7F) == 0)
#define WEXITSTATUS(s) (((s) >> 8) & 0xFF)
#define WTERMSIG(s)    ((s) & 0x7F)

#define SIGKILL  9
#define SIGSEGV 11
#define SIGTERM 15

#define RLIMIT_DATA    2
#define RLIMIT_STACK   3
#define RLIMIT_NOFILE  7
#define RLIMIT_MEMLOCK 8
#define RLIMIT_AS      9

#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR   2
#define O_CREAT  0x40
#define O_EXCL   0x80
#define O_TRUNC  0x200
#define O_APPEND 0x400
#define O_DIRECTORY 0x10000

#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

#define SIGBUS 7

#define S_IFMT  0170000
#define S_IFDIR 0040000
#define S_IFREG 0100000


struct timespec {
    long tv_sec;
    long tv_nsec;
};

struct rlimit {
    unsigned long rlim_cur;
    unsigned long rlim_max;
};

/* Linux's struct sysinfo (i386); KOS fills uptime, totalram, freeram,
 * procs and mem_unit (4096: the RAM figures are pages). */
struct sysinfo {
    long uptime;
    unsigned long loads[3];
    unsigned long totalram, freeram, sharedram, bufferram, totalswap, freeswap;
    unsigned short procs, pad;
    unsigned long totalhigh, freehigh;
    unsigned int mem_unit;
    char reserved[8];
};

/* Linux i386's struct stat64 (96 bytes). */
struct stat64 {
    unsigned long long st_dev;
    unsigned char pad0[4];
    unsigned long st_ino32;
    unsigned int st_mode;
    unsigned int st_nlink;
    unsigned long st_uid, st_gid;
    unsigned long long st_rdev;
    unsigned char pad3[4];
    long long st_size;
    unsigned long st_blksize;
    unsigned long long st_blocks;
    unsigned long st_atime, st_atime_nsec, st_mtime, st_mtime_nsec, st_ctime, st_ctime_nsec;
    unsigned long long st_ino;
} __attribute__((packed, aligned(4)));

struct linux_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
} __attribute__((packed));

long syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6);

/* Is r (a result cast to long) one of the -4095..-1 error values? */
static inline int sys_failed(long r) { return (unsigned long)r >= (unsigned long)-4095; }

__attribute__((noreturn)) void exit(int status);
__attribute__((noreturn)) void exit_group(int status);
long fork(void);
long read(int fd, void *buf, size_t n);
long write(int fd, const void *buf, size_t n);
long open(const char *path, int flags, int mode);
long close(int fd);
long waitpid(long pid, int *status, int options);
long execve(const char *path, char *const argv[], char *const envp[]);
long lseek(int fd, long offset, int whence);
long getpid(void);
long kill(long pid, int sig);
long setpgid(long pid, long pgid);
long getpgrp(void);
long getpgid(long pid);
long brk(void *addr);
long setrlimit(int resource, const struct rlimit *rl);
long ugetrlimit(int resource, struct rlimit *rl);
long munmap(void *addr, size_t len);
long mprotect(void *addr, size_t len, int prot);
long msync(void *addr, size_t len, int flags);
long mlock(const void *addr, size_t len);
long munlock(const void *addr, size_t len);
long sched_yield(void);
long sysinfo(struct sysinfo *info);
long nanosleep(const struct timespec *req, struct timespec *rem);
/* mmap2 takes its offset in pages; mmap below takes bytes (a multiple of 4096). */
long mmap2(void *addr, size_t len, int prot, int flags, int fd, long pgoff);
void *mmap(void *addr, size_t len, int prot, int flags, int fd, long offset);
long unlink(const char *path);
long chdir(const char *path);
long mkdir(const char *path, int mode);
long rmdir(const char *path);
long dup(int fd);
long dup2(int oldfd, int newfd);
long ftruncate(int fd, unsigned long len);
long getcwd(char *buf, size_t size);
long stat64(const char *path, struct stat64 *st);
long fstat64(int fd, struct stat64 *st);
long getdents64(int fd, void *buf, size_t n);

#endif
