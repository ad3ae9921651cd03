/* syscalls.h — the bodies of the file system calls (Linux i386 numbers in
 * the process code's table): user addresses for paths and buffers, the fd
 * table and working directory given explicitly. Each returns the result or
 * a negative errno, -EFAULT for a bad user address. */
#ifndef KOS_FS_SYSCALLS_H
#define KOS_FS_SYSCALLS_H

#include <stdint.h>
#include "fdtable.h"
#include "inode.h"

struct mm;

long fs_sys_open(struct fdtable *ft, const char *cwd, uint32_t upath, uint32_t flags, uint32_t mode);
long fs_sys_read(struct fdtable *ft, int fd, uint32_t ubuf, uint32_t n);
long fs_sys_write(struct fdtable *ft, int fd, uint32_t ubuf, uint32_t n);
long fs_sys_lseek(struct fdtable *ft, int fd, int32_t off, int whence);
long fs_sys_close(struct fdtable *ft, int fd);
long fs_sys_stat64(const char *cwd, uint32_t upath, uint32_t ustat);
long fs_sys_fstat64(struct fdtable *ft, int fd, uint32_t ustat);
long fs_sys_unlink(const char *cwd, uint32_t upath);
long fs_sys_mkdir(const char *cwd, uint32_t upath, uint32_t mode);
long fs_sys_rmdir(const char *cwd, uint32_t upath);
long fs_sys_ftruncate(struct fdtable *ft, int fd, uint32_t size);
long fs_sys_getdents64(struct fdtable *ft, int fd, uint32_t ubuf, uint32_t n);
long fs_sys_dup(struct fdtable *ft, int fd);
long fs_sys_dup2(struct fdtable *ft, int oldfd, int newfd);
/* chdir: on success the new directory (canonical) is in newcwd, which the
 * caller then keeps as the process's cwd. */
long fs_sys_chdir(const char *cwd, uint32_t upath, char newcwd[FS_PATH_MAX]);
/* getcwd: cwd and its NUL into ubuf; the length with the NUL, or -ERANGE. */
long fs_sys_getcwd(const char *cwd, uint32_t ubuf, uint32_t size);
/* mmap2-style: off in bytes here (the table converts mmap2's pages). */
long fs_sys_mmap(struct mm *mm, struct fdtable *ft, uint32_t addr, uint32_t len, uint32_t prot,
                 uint32_t flags, int fd, uint32_t off);
long fs_sys_msync(struct mm *mm, uint32_t addr, uint32_t len, uint32_t flags);

#endif
