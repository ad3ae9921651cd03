/* fd.h — a process's open files: the file system's descriptor table
 * (kernel/fs/fdtable.h), with the console in fds 0, 1 and 2 from the
 * start, and its working directory; nothing outside fd.c looks inside.
 */
#ifndef KOS_PROC_FD_H
#define KOS_PROC_FD_H

#include <stdint.h>
#include "../fs/fdtable.h"
#include "../fs/inode.h"

struct file;

struct proc_fds {
    struct fdtable *table;       /* NULL until fds_init_console or fds_clone */
    char cwd[FS_PATH_MAX];       /* absolute and canonical (fs_chdir makes it) */
};

/* fds 0–2 on the console, cwd "/". 0 or -ENOMEM. */
int fds_init_console(struct proc_fds *t);
/* A copy sharing every open file and the cwd (fork). 0 or -ENOMEM. */
int fds_clone(struct proc_fds *dst, const struct proc_fds *src);
/* Close every fd and free the table (exit). */
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
/* The program the shell waits for (0: none), which Ctrl-C interrupts. */
void console_set_foreground(uint32_t pid);
/* Sleep until console input is waiting (or the process is killed). */
void console_wait_input(void);

#endif
