/* fd.h — a process's open files: a small table of struct file pointers
 * (kernel/fs/file.h), with the console in fds 0, 1 and 2 from the start.
 * The same operations will sit on the file system's table
 * (kernel/fs/fdtable.h) when it comes; nothing outside fd.c looks inside.
 */
#ifndef KOS_PROC_FD_H
#define KOS_PROC_FD_H

#include <stdint.h>

#define PROC_MAX_FDS 16

struct file;

struct proc_fds {
    struct file *fd[PROC_MAX_FDS];
};

/* fds 0–2 on the console. 0 or -ENOMEM. */
int fds_init_console(struct proc_fds *t);
/* A copy sharing every open file (fork). */
void fds_clone(struct proc_fds *dst, const struct proc_fds *src);
/* Close every fd. */
void fds_close_all(struct proc_fds *t);
/* The file at fd (no reference taken), or NULL. */
struct file *fds_get(struct proc_fds *t, int32_t fd);
/* Put f (whose reference the table takes) in the lowest free fd: the fd
 * or -EMFILE. */
int32_t fds_install(struct proc_fds *t, struct file *f);
/* 0 or -EBADF. */
int fds_close(struct proc_fds *t, int32_t fd);

/* The console file (console.c): one shared struct file whose read blocks
 * until input arrives and whose write goes to the serial port. */
struct file *console_file(void);
void console_init(void);
/* Sleep until console input is waiting (or the process is killed). */
void console_wait_input(void);

#endif
