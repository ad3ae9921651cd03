/* file.c — struct file's lifetime and the iobuf copies (file.h). */
#include "file.h"
#include "../include/errno.h"
#include "../lib/string.h"
#include "../mm/memory.h"
#include "../mm/vm/uaccess.h"

int io_copy_out(struct iobuf b, uint32_t off, const void *src, uint32_t n)
{
    if (b.user)
        return copy_to_user(b.addr + off, src, n);
    memcpy((uint8_t *)(uintptr_t)b.addr + off, src, n);
    return 0;
}

int io_copy_in(void *dst, struct iobuf b, uint32_t off, uint32_t n)
{
    if (b.user)
        return copy_from_user(dst, b.addr + off, n);
    memcpy(dst, (const uint8_t *)(uintptr_t)b.addr + off, n);
    return 0;
}

struct file *file_alloc(const struct file_ops *ops, uint32_t flags)
{
    struct file *f = kmalloc(sizeof *f);
    if (!f)
        return 0;
    memset(f, 0, sizeof *f);
    f->ops = ops;
    f->refs = 1;
    f->flags = flags;
    return f;
}

struct file *file_get(struct file *f)
{
    f->refs++;
    return f;
}

void file_put(struct file *f)
{
    if (--f->refs)
        return;
    if (f->ops->release)
        f->ops->release(f);
    kfree(f);
}
