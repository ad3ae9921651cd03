/* sys_fs.c — the file system calls over the process's fd table and
 * working directory: read, write, close and lseek on whatever file an fd
 * holds (the console in fds 0–2), and the rest through the bodies in
 * fs/syscalls.h (open, stat64, unlink, mkdir, getdents64, chdir, ...). */
#include <stdint.h>
#include "proc.h"
#include "syscall.h"
#include "../fs/file.h"
#include "../fs/syscalls.h"
#include "../include/errno.h"
#include "../lib/string.h"

int32_t sys_read(struct regs *r)
{
    struct file *f = fds_get(&current->fds, (int32_t)r->ebx);
    if (!f || !file_readable(f))
        return -EBADF;
    if (!f->ops->read)
        return -EINVAL;
    return f->ops->read(f, io_user(r->ecx), r->edx);
}

int32_t sys_write(struct regs *r)
{
    struct file *f = fds_get(&current->fds, (int32_t)r->ebx);
    if (!f || !file_writable(f))
        return -EBADF;
    if (!f->ops->write)
        return -EINVAL;
    return f->ops->write(f, io_user(r->ecx), r->edx);
}

int32_t sys_close(struct regs *r)
{
    return fds_close(&current->fds, (int32_t)r->ebx);
}

int32_t sys_lseek(struct regs *r)
{
    struct file *f = fds_get(&current->fds, (int32_t)r->ebx);
    if (!f)
        return -EBADF;
    if (!f->ops->lseek)
        return -ESPIPE;
    return f->ops->lseek(f, (int32_t)r->ecx, (int)r->edx);
}

/* FDS to look descriptors up in; the calls that change them (open, dup,
 * dup2) take the table with fds_own (a table shared since fork is copied
 * first) and fail with ENOMEM without memory for the copy. */
#define FDS (fds_table(&current->fds))
#define CWD (current->fds.cwd)

int32_t sys_open(struct regs *r)
{
    struct fdtable *ft = fds_own(&current->fds);
    return ft ? fs_sys_open(ft, CWD, r->ebx, r->ecx, r->edx) : -ENOMEM;
}

int32_t sys_dup(struct regs *r)
{
    struct fdtable *ft = fds_own(&current->fds);
    return ft ? fs_sys_dup(ft, (int)r->ebx) : -ENOMEM;
}

int32_t sys_dup2(struct regs *r)
{
    struct fdtable *ft = fds_own(&current->fds);
    return ft ? fs_sys_dup2(ft, (int)r->ebx, (int)r->ecx) : -ENOMEM;
}

int32_t sys_unlink(struct regs *r) { return fs_sys_unlink(CWD, r->ebx); }
int32_t sys_mkdir(struct regs *r) { return fs_sys_mkdir(CWD, r->ebx, r->ecx); }
int32_t sys_rmdir(struct regs *r) { return fs_sys_rmdir(CWD, r->ebx); }
int32_t sys_ftruncate(struct regs *r) { return fs_sys_ftruncate(FDS, (int)r->ebx, r->ecx); }
int32_t sys_getcwd(struct regs *r) { return fs_sys_getcwd(CWD, r->ebx, r->ecx); }
int32_t sys_stat64(struct regs *r) { return fs_sys_stat64(CWD, r->ebx, r->ecx); }
int32_t sys_fstat64(struct regs *r) { return fs_sys_fstat64(FDS, (int)r->ebx, r->ecx); }
int32_t sys_getdents64(struct regs *r) { return fs_sys_getdents64(FDS, (int)r->ebx, r->ecx, r->edx); }

int32_t sys_chdir(struct regs *r)
{
    char next[FS_PATH_MAX];
    int32_t err = fs_sys_chdir(CWD, r->ebx, next);
    if (!err)
        memcpy(CWD, next, sizeof(next));
    return err;
}
