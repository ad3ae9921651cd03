/* fd.c — the per-process fd table (fd.h), over fs/fdtable.h, shared
 * after fork until one of its processes changes it. */
#include <stdint.h>
#include "fd.h"
#include "../fs/file.h"
#include "../include/errno.h"
#include "../lib/string.h"

/* t alone in its ring. */
static void ring_init(struct proc_fds *t)
{
    t->next_sharer = t->prev_sharer = t;
}

static void ring_remove(struct proc_fds *t)
{
    t->prev_sharer->next_sharer = t->next_sharer;
    t->next_sharer->prev_sharer = t->prev_sharer;
    ring_init(t);
}

int fds_init_console(struct proc_fds *t)
{
    struct file *con = console_file();
    t->table = con ? fdtable_create(con) : 0;
    if (!t->table)
        return -ENOMEM;
    ring_init(t);
    memcpy(t->cwd, "/", 2);
    return 0;
}

void fds_clone(struct proc_fds *dst, struct proc_fds *src)
{
    dst->table = src->table;
    dst->next_sharer = src->next_sharer;
    dst->prev_sharer = src;
    src->next_sharer->prev_sharer = dst;
    src->next_sharer = dst;
    memcpy(dst->cwd, src->cwd, strlen(src->cwd) + 1);
}

int fds_shared(const struct proc_fds *t)
{
    return t->table && t->next_sharer != t;
}

void fds_close_all(struct proc_fds *t)
{
    if (!t->table)
        return;
    if (fds_shared(t))
        ring_remove(t);              /* the others keep the files open */
    else
        fdtable_destroy(t->table);
    t->table = 0;
}

struct fdtable *fds_table(struct proc_fds *t)
{
    return t->table;
}

struct fdtable *fds_own(struct proc_fds *t)
{
    if (!fds_shared(t))
        return t->table;
    struct fdtable *copy = fdtable_clone(t->table);
    if (!copy)
        return 0;
    ring_remove(t);
    t->table = copy;
    return copy;
}

struct file *fds_get(struct proc_fds *t, int32_t fd)
{
    return t->table ? fdtable_get(t->table, fd) : 0;
}

int32_t fds_install(struct proc_fds *t, struct file *f)
{
    if (!t->table)
        return -EMFILE;
    struct fdtable *own = fds_own(t);
    return own ? fdtable_install(own, f) : -ENOMEM;
}

int fds_close(struct proc_fds *t, int32_t fd)
{
    if (!t->table)
        return -EBADF;
    struct fdtable *own = fds_own(t);
    return own ? fdtable_close(own, fd) : -ENOMEM;
}
