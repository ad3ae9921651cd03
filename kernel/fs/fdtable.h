/* fdtable.h — a process's file descriptors: small integers naming struct
 * file pointers, each slot holding one reference.
 *
 * The process code owns the table's lifetime (create at spawn, clone at
 * fork, close_all at exit; execve keeps it); the file system calls in fs/
 * take the table as an argument and never ask whose it is. Numbers follow
 * POSIX: a new descriptor is the lowest free one, dup2 onto an open
 * descriptor closes it first, and a descriptor outside [0, FD_MAX) is
 * -EBADF (or -EMFILE when no slot is left).
 */
#ifndef KOS_FS_FDTABLE_H
#define KOS_FS_FDTABLE_H

#include "file.h"

#define FD_MAX 32

struct fdtable {
    struct file *fd[FD_MAX];    /* NULL: closed */
};

/* A new table with console in fds 0, 1 and 2 (three references taken), or
 * an empty one if console is NULL; NULL without memory. */
struct fdtable *fdtable_create(struct file *console);
/* A copy of t for a child: the same files, one more reference each (the
 * offsets are shared, as after fork). NULL without memory. */
struct fdtable *fdtable_clone(const struct fdtable *t);
/* Close every descriptor (exit); the table stays usable. */
void fdtable_close_all(struct fdtable *t);
/* close_all, then free the table. */
void fdtable_destroy(struct fdtable *t);

/* The lowest free slot, or -EMFILE: open asks before it creates or
 * truncates anything, so that a full table refuses with nothing changed. */
int fdtable_free_slot(const struct fdtable *t);
/* Put f in the lowest free slot, taking over the caller's reference: the
 * descriptor, or -EMFILE (the caller still owns its reference then). */
int fdtable_install(struct fdtable *t, struct file *f);
/* The file behind fd (borrowed: take file_get to keep it), or NULL. */
struct file *fdtable_get(const struct fdtable *t, int fd);
/* Close fd: 0 or -EBADF. */
int fdtable_close(struct fdtable *t, int fd);
/* A second descriptor for fd's file, the lowest free: it, -EBADF or -EMFILE. */
int fdtable_dup(struct fdtable *t, int fd);
/* Make newfd name oldfd's file, closing what newfd named: newfd, or -EBADF
 * (oldfd not open, newfd out of range). dup2(fd, fd) is fd if fd is open. */
int fdtable_dup2(struct fdtable *t, int oldfd, int newfd);

#endif
