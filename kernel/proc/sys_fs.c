/* sys_fs.c — the file system calls over the process's fd table: read,
 * write, close and lseek on whatever file an fd holds (the console in fds
 * 0–2), open of the files the kernel can name. */
#include <stdint.h>
#include "proc.h"
#include "syscall.h"
#include "../fs/file.h"
#include "../fs/initrd.h"
#include "../include/errno.h"
#include "../mm/memory.h"

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

/* Until the file system's open exists, open reads the initrd's regular
 * files straight from the archive: read-only, seekable. */
struct initrd_open {
    const uint8_t *data;
    uint32_t size;
};

static int32_t initrd_read(struct file *f, struct iobuf buf, uint32_t n)
{
    const struct initrd_open *o = f->private;
    if (f->pos >= o->size)
        return 0;
    if (n > o->size - f->pos)
        n = o->size - f->pos;
    if (io_copy_out(buf, 0, o->data + f->pos, n))
        return -EFAULT;
    f->pos += n;
    return (int32_t)n;
}

static int32_t initrd_lseek(struct file *f, int32_t off, int whence)
{
    const struct initrd_open *o = f->private;
    int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (int64_t)f->pos
                 : whence == SEEK_END ? (int64_t)o->size : -1;
    if (base < 0 || base + off < 0 || base + off > 0x7FFFFFFF)
        return -EINVAL;
    f->pos = (uint32_t)(base + off);
    return (int32_t)f->pos;
}

static void initrd_release(struct file *f)
{
    kfree(f->private);
}

static const struct file_ops initrd_ops = {
    .read = initrd_read, .lseek = initrd_lseek, .release = initrd_release,
};

int32_t sys_open(struct regs *r)
{
    char path[256];
    int32_t err = strncpy_from_user(path, r->ebx, sizeof(path));
    if (err < 0)
        return err;
    if ((r->ecx & O_ACCMODE) != O_RDONLY || (r->ecx & (O_CREAT | O_TRUNC)))
        return -EACCES;                /* the initrd is read-only */
    struct initrd_file found;
    err = initrd_find(path, &found);
    if (err)
        return err;
    if (found.is_dir)
        return -EISDIR;
    struct initrd_open *o = kmalloc(sizeof(*o));
    struct file *f = o ? file_alloc(&initrd_ops, O_RDONLY) : 0;
    if (!f) {
        kfree(o);
        return -ENOMEM;
    }
    o->data = found.data;
    o->size = found.size;
    f->private = o;
    int32_t fd = fds_install(&current->fds, f);
    if (fd < 0)
        file_put(f);
    return fd;
}
