/* file.h — open files: struct file, the operations behind it, and the
 * buffers they copy to and from. The seam between the processes (fd tables
 * hold struct file pointers, the console is a file) and the filesystem
 * (regular files and directories are files): both sides include this and
 * nothing of each other.
 *
 * A read or write names its buffer with a struct iobuf: a kernel pointer
 * (the shell, direct calls from Python) or a user address (system calls),
 * copied with io_copy_out/io_copy_in, which use the fault-safe user copies
 * for user buffers, so a bad user pointer is -EFAULT and never a fault.
 */
#ifndef KOS_FS_FILE_H
#define KOS_FS_FILE_H

#include <stdint.h>

/* open() flags: Linux i386 values. */
#define O_ACCMODE   0x0003
#define O_RDONLY    0x0000
#define O_WRONLY    0x0001
#define O_RDWR      0x0002
#define O_CREAT     0x0040
#define O_EXCL      0x0080
#define O_TRUNC     0x0200
#define O_APPEND    0x0400
#define O_DIRECTORY 0x10000

/* lseek whence. */
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

struct iobuf {
    uint32_t addr;          /* a user address if user, else a kernel pointer */
    int user;
};

static inline struct iobuf io_kernel(void *p) { return (struct iobuf){ (uint32_t)(uintptr_t)p, 0 }; }
static inline struct iobuf io_user(uint32_t va) { return (struct iobuf){ va, 1 }; }

/* Copy n bytes to b + off from src (out), or from b + off to dst (in):
 * 0 or -EFAULT. */
int io_copy_out(struct iobuf b, uint32_t off, const void *src, uint32_t n);
int io_copy_in(void *dst, struct iobuf b, uint32_t off, uint32_t n);

struct file;
struct inode;
struct mm;
struct vma;

/* What a kind of file can do. NULL: not supported (the caller returns
 * -EINVAL, or -ESPIPE for lseek, -ENODEV for mmap). read/write return the
 * bytes moved or a negative errno, and advance f->pos themselves. */
struct file_ops {
    int32_t (*read)(struct file *f, struct iobuf buf, uint32_t n);
    int32_t (*write)(struct file *f, struct iobuf buf, uint32_t n);
    int32_t (*lseek)(struct file *f, int32_t off, int whence);
    void (*release)(struct file *f);        /* the last reference is gone */
};

struct file {
    const struct file_ops *ops;
    uint32_t refs;          /* fd-table slots and mappings holding it */
    uint32_t flags;         /* O_* given to open */
    uint32_t pos;
    struct inode *inode;    /* NULL for devices (the console) */
    void *private;
};

/* A new file with one reference, or NULL without memory. */
struct file *file_alloc(const struct file_ops *ops, uint32_t flags);
struct file *file_get(struct file *f);     /* refs + 1; returns f */
void file_put(struct file *f);             /* refs - 1; release and free at 0 */

static inline int file_readable(const struct file *f) { return (f->flags & O_ACCMODE) != O_WRONLY; }
static inline int file_writable(const struct file *f) { return (f->flags & O_ACCMODE) != O_RDONLY; }

#endif
