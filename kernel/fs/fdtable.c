/* fdtable.c — descriptor tables (fdtable.h). */
#include "fdtable.h"
#include "../include/errno.h"
#include "../lib/string.h"
#include "../mm/memory.h"

static int fd_valid(int fd)
{
    return fd >= 0 && fd < FD_MAX;
}

struct fdtable *fdtable_create(struct file *console)
{
    struct fdtable *t = kmalloc(sizeof *t);
    if (!t)
        return 0;
    memset(t, 0, sizeof *t);
    if (console)
        for (int fd = 0; fd < 3; fd++)
            t->fd[fd] = file_get(console);
    return t;
}

struct fdtable *fdtable_clone(const struct fdtable *t)
{
    struct fdtable *c = kmalloc(sizeof *c);
    if (!c)
        return 0;
    for (int fd = 0; fd < FD_MAX; fd++)
        c->fd[fd] = t->fd[fd] ? file_get(t->fd[fd]) : 0;
    return c;
}

void fdtable_close_all(struct fdtable *t)
{
    for (int fd = 0; fd < FD_MAX; fd++)
        fdtable_close(t, fd);
}

void fdtable_destroy(struct fdtable *t)
{
    fdtable_close_all(t);
    kfree(t);
}

int fdtable_free_slot(const struct fdtable *t)
{
    for (int fd = 0; fd < FD_MAX; fd++)
        if (!t->fd[fd])
            return fd;
    return -EMFILE;
}

int fdtable_install(struct fdtable *t, struct file *f)
{
    int fd = fdtable_free_slot(t);
    if (fd >= 0)
        t->fd[fd] = f;
    return fd;
}

struct file *fdtable_get(const struct fdtable *t, int fd)
{
    return fd_valid(fd) ? t->fd[fd] : 0;
}

int fdtable_close(struct fdtable *t, int fd)
{
    struct file *f = fdtable_get(t, fd);
    if (!f)
        return -EBADF;
    t->fd[fd] = 0;
    file_put(f);
    return 0;
}

int fdtable_dup(struct fdtable *t, int fd)
{
    struct file *f = fdtable_get(t, fd);
    if (!f)
        return -EBADF;
    int nfd = fdtable_install(t, file_get(f));
    if (nfd < 0)
        file_put(f);
    return nfd;
}

int fdtable_dup2(struct fdtable *t, int oldfd, int newfd)
{
    struct file *f = fdtable_get(t, oldfd);
    if (!f || !fd_valid(newfd))
        return -EBADF;
    if (oldfd == newfd)
        return newfd;
    file_get(f);
    if (t->fd[newfd])
        fdtable_close(t, newfd);
    t->fd[newfd] = f;
    return newfd;
}
