/* fd.c — the per-process fd table (fd.h), over fs/fdtable.h. */
#include <stdint.h>
#include "fd.h"
#include "../fs/file.h"
#include "../include/errno.h"
#include "../lib/string.h"

int fds_init_console(struct proc_fds *t)
{
    struct file *con = console_file();
    t->table = con ? fdtable_create(con) : 0;
    if (!t->table)
        return -ENOMEM;
    memcpy(t->cwd, "/", 2);
    return 0;
}

int fds_clone(struct proc_fds *dst, const struct proc_fds *src)
{
    dst->table = fdtable_clone(src->table);
    if (!dst->table)
        return -ENOMEM;
    memcpy(dst->cwd, src->cwd, sizeof(dst->cwd));
    return 0;
}

void fds_close_all(struct proc_fds *t)
{
    if (!t->table)
        return;
    fdtable_destroy(t->table);
    t->table = 0;
}

struct file *fds_get(struct proc_fds *t, int32_t fd)
{
    return t->table ? fdtable_get(t->table, fd) : 0;
}

int32_t fds_install(struct proc_fds *t, struct file *f)
{
    return t->table ? fdtable_install(t->table, f) : -EMFILE;
}

int fds_close(struct proc_fds *t, int32_t fd)
{
    return t->table ? fdtable_close(t->table, fd) : -EBADF;
}
