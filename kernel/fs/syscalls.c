/* syscalls.c — the file system calls' bodies (syscalls.h): copy paths and
 * records across the user boundary, then the vfs.h operations. */
#include <stdint.h>
#include "syscalls.h"
#include "mmap.h"
#include "vfs.h"
#include "../include/errno.h"
#include "../lib/string.h"
#include "../mm/vm/mm.h"
#include "../mm/vm/uaccess.h"

/* The NUL-terminated user string at upath into buf: 0, -EFAULT, or
 * -ENAMETOOLONG when FS_PATH_MAX bytes hold no NUL. */
static int path_from_user(uint32_t upath, char buf[FS_PATH_MAX])
{
    for (uint32_t i = 0; i < FS_PATH_MAX; i++) {
        if (copy_from_user(&buf[i], upath + i, 1))
            return -EFAULT;
        if (!buf[i])
            return 0;
    }
    return -ENAMETOOLONG;
}

long fs_sys_open(struct fdtable *ft, const char *cwd, uint32_t upath, uint32_t flags, uint32_t mode)
{
    char path[FS_PATH_MAX];
    int err = path_from_user(upath, path);
    return err ? err : fs_open(ft, cwd, path, flags, mode);
}

long fs_sys_read(struct fdtable *ft, int fd, uint32_t ubuf, uint32_t n)
{
    return fs_read(ft, fd, io_user(ubuf), n);
}

long fs_sys_write(struct fdtable *ft, int fd, uint32_t ubuf, uint32_t n)
{
    return fs_write(ft, fd, io_user(ubuf), n);
}

long fs_sys_lseek(struct fdtable *ft, int fd, int32_t off, int whence)
{
    return fs_lseek(ft, fd, off, whence);
}

long fs_sys_close(struct fdtable *ft, int fd)
{
    return fs_close(ft, fd);
}

long fs_sys_stat64(const char *cwd, uint32_t upath, uint32_t ustat)
{
    char path[FS_PATH_MAX];
    struct stat64 st;
    int err = path_from_user(upath, path);
    if (!err)
        err = vfs_stat(cwd, path, &st);
    return err ? err : copy_to_user(ustat, &st, sizeof(st));
}

long fs_sys_fstat64(struct fdtable *ft, int fd, uint32_t ustat)
{
    struct stat64 st;
    int err = fs_fstat(ft, fd, &st);
    return err ? err : copy_to_user(ustat, &st, sizeof(st));
}

long fs_sys_unlink(const char *cwd, uint32_t upath)
{
    char path[FS_PATH_MAX];
    int err = path_from_user(upath, path);
    return err ? err : vfs_unlink(cwd, path);
}

long fs_sys_mkdir(const char *cwd, uint32_t upath, uint32_t mode)
{
    char path[FS_PATH_MAX];
    int err = path_from_user(upath, path);
    return err ? err : vfs_mkdir(cwd, path, mode);
}

long fs_sys_rmdir(const char *cwd, uint32_t upath)
{
    char path[FS_PATH_MAX];
    int err = path_from_user(upath, path);
    return err ? err : vfs_rmdir(cwd, path);
}

long fs_sys_ftruncate(struct fdtable *ft, int fd, uint32_t size)
{
    return fs_ftruncate(ft, fd, size);
}

long fs_sys_getdents64(struct fdtable *ft, int fd, uint32_t ubuf, uint32_t n)
{
    return fs_getdents64(ft, fd, io_user(ubuf), n);
}

long fs_sys_dup(struct fdtable *ft, int fd)
{
    return fdtable_dup(ft, fd);
}

long fs_sys_dup2(struct fdtable *ft, int oldfd, int newfd)
{
    return fdtable_dup2(ft, oldfd, newfd);
}

long fs_sys_chdir(const char *cwd, uint32_t upath, char newcwd[FS_PATH_MAX])
{
    char path[FS_PATH_MAX];
    int err = path_from_user(upath, path);
    return err ? err : fs_chdir(cwd, path, newcwd);
}

long fs_sys_getcwd(const char *cwd, uint32_t ubuf, uint32_t size)
{
    uint32_t n = strlen(cwd) + 1;
    if (size < n)
        return -ERANGE;
    int err = copy_to_user(ubuf, cwd, n);
    return err ? err : (long)n;
}

long fs_sys_mmap(struct mm *mm, struct fdtable *ft, uint32_t addr, uint32_t len, uint32_t prot,
                 uint32_t flags, int fd, uint32_t off)
{
    return fs_mmap(mm, ft, addr, len, prot, flags, fd, off);
}

long fs_sys_msync(struct mm *mm, uint32_t addr, uint32_t len, uint32_t flags)
{
    return vm_msync(mm, addr, len, flags);
}
