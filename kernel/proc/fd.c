/* fd.c — the per-process fd table (fd.h). */
#include <stdint.h>
#include "fd.h"
#include "../fs/file.h"
#include "../include/errno.h"

int fds_init_console(struct proc_fds *t)
{
    struct file *con = console_file();
    if (!con)
        return -ENOMEM;
    for (int i = 0; i < 3; i++)
        t->fd[i] = file_get(con);
    return 0;
}

void fds_clone(struct proc_fds *dst, const struct proc_fds *src)
{
    for (int i = 0; i < PROC_MAX_FDS; i++)
        dst->fd[i] = src->fd[i] ? file_get(src->fd[i]) : 0;
}

void fds_close_all(struct proc_fds *t)
{
    for (int i = 0; i < PROC_MAX_FDS; i++)
        fds_close(t, i);
}

struct file *fds_get(struct proc_fds *t, int32_t fd)
{
    if (fd < 0 || fd >= PROC_MAX_FDS)
        return 0;
    return t->fd[fd];
}

int32_t fds_install(struct proc_fds *t, struct file *f)
{
    for (int32_t i = 0; i < PROC_MAX_FDS; i++) {
        if (!t->fd[i]) {
            t->fd[i] = f;
            return i;
        }
    }
    return -EMFILE;
}

int fds_close(struct proc_fds *t, int32_t fd)
{
    struct file *f = fds_get(t, fd);
    if (!f)
        return -EBADF;
    t->fd[fd] = 0;
    file_put(f);
    return 0;
}
