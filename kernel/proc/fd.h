/* fd.h — a process's open files: the file system's descriptor table
 * (kernel/fs/fdtable.h), with the console in fds 0, 1 and 2 from the
 * start, and its working directory; nothing outside fd.c looks inside.
 *
 * fork shares the parent's table with the child instead of copying it:
 * the processes sharing one table are a ring through their proc_fds, and
 * the first of them to change its descriptors (open, close, dup, dup2)
 * takes a copy of its own first (fds_own), so a change is never seen by
 * another. Reads need nothing: the table is the same either way. A child
 * that execs or exits without touching its descriptors never copies.
 */
#ifndef KOS_PROC_FD_H
#define KOS_PROC_FD_H

#include <stdint.h>
#include "../fs/fdtable.h"
#include "../fs/inode.h"

struct file;

struct proc_fds {
    struct fdtable *table;       /* NULL until fds_init_console or fds_clone */
    /* The ring of proc_fds sharing table (just this one: not shared). */
    struct proc_fds *next_sharer, *prev_sharer;
    char cwd[FS_PATH_MAX];       /* absolute and canonical (fs_chdir makes it) */
};

/* fds 0–2 on the console, cwd "/". 0 or -ENOMEM. */
int fds_init_console(struct proc_fds *t);
/* The same open files and cwd (fork): src's table, shared until one of
 * them changes it. */
void fds_clone(struct proc_fds *dst, struct proc_fds *src);
/* Close every fd and free the table, or just leave it if others share it
 * (exit). */
void fds_close_all(struct proc_fds *t);
/* The table to look descriptors up in (reads only). */
struct fdtable *fds_table(struct proc_fds *t);
/* The table to change descriptors in: t's own, copied first if it was
 * shared. NULL (and nothing changed) without memory for the copy. */
struct fdtable *fds_own(struct proc_fds *t);
/* Is t's table shared with another process? */
int fds_shared(const struct proc_fds *t);
/* The file at fd (no reference taken), or NULL. */
struct file *fds_get(struct proc_fds *t, int32_t fd);
/* Put f (whose reference the table takes) in the lowest free fd: the fd,
 * -EMFILE or -ENOMEM. */
int32_t fds_install(struct proc_fds *t, struct file *f);
/* 0, -EBADF or -ENOMEM. */
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
