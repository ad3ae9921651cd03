/* ramfs.c — inodes and directories of the in-memory filesystem, and the
 * starting tree copied from the initrd (inode.h). Path walking is in
 * path.c, file data in pagecache.c. */
#include <stdint.h>
#include "inode.h"
#include "initrd.h"
#include "mmap.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"
#include "../lib/panic.h"
#include "../lib/string.h"
#include "../mm/memory.h"

struct inode *fs_root;
static uint32_t next_ino = 1;

struct inode *inode_alloc(uint32_t mode)
{
    struct inode *ino = kcalloc(1, sizeof(*ino));
    if (!ino)
        return 0;
    ino->ino = next_ino++;
    ino->mode = mode;
    ino->refs = 1;
    ino->vm.ops = &file_vm_ops;
    return ino;
}

struct inode *inode_get(struct inode *ino)
{
    ino->refs++;
    return ino;
}

void inode_put(struct inode *ino)
{
    if (--ino->refs || ino->nlink)
        return;
    pagecache_release(ino);
    kfree(ino);
}

struct inode *dir_lookup(struct inode *dir, const char *name)
{
    for (struct dentry *d = dir->entries; d; d = d->next)
        if (strcmp(d->name, name) == 0)
            return d->inode;
    return 0;
}

int dir_link(struct inode *dir, const char *name, struct inode *ino)
{
    if (dir_lookup(dir, name))
        return -EEXIST;
    uint32_t len = strlen(name);
    struct dentry *d = kmalloc(sizeof(*d) + len + 1);
    if (!d)
        return -ENOSPC;
    memcpy(d->name, name, len + 1);
    d->inode = ino;
    d->next = 0;
    struct dentry **tail = &dir->entries;
    while (*tail)
        tail = &(*tail)->next;
    *tail = d;
    dir->nentries++;
    ino->nlink++;
    ino->parent = dir;
    if (S_ISDIR(ino->mode)) {
        ino->nlink++;                 /* its own "." */
        dir->nlink++;                 /* its ".." */
    }
    return 0;
}

void dir_unlink(struct inode *dir, const char *name)
{
    for (struct dentry **pp = &dir->entries; *pp; pp = &(*pp)->next) {
        struct dentry *d = *pp;
        if (strcmp(d->name, name) != 0)
            continue;
        *pp = d->next;
        dir->nentries--;
        struct inode *ino = d->inode;
        kfree(d);
        if (S_ISDIR(ino->mode)) {
            dir->nlink--;
            ino->nlink = 0;
        } else if (--ino->nlink == 0) {
            ino->parent = 0;
        }
        inode_get(ino);               /* inode_put frees it if that was the last holder */
        inode_put(ino);
        return;
    }
}

const char *dir_entry_at(struct inode *dir, uint32_t pos, struct inode **ino)
{
    if (pos == 0) {
        *ino = dir;
        return ".";
    }
    if (pos == 1) {
        *ino = dir->parent;
        return "..";
    }
    struct dentry *d = dir->entries;
    for (uint32_t i = 2; d && i < pos; i++)
        d = d->next;
    if (!d)
        return 0;
    *ino = d->inode;
    return d->name;
}

/* ---- the starting tree ---------------------------------------------------- */

struct copy {
    struct inode *dir;
    int err;
    uint32_t files, bytes;
};

static void copy_entry(const struct initrd_file *f, void *arg);

/* The last component of an initrd path. */
static const char *base_name(const char *path)
{
    const char *name = path;
    for (const char *p = path; *p; p++)
        if (*p == '/')
            name = p + 1;
    return name;
}

static void copy_entry(const struct initrd_file *f, void *arg)
{
    struct copy *c = arg;
    if (c->err)
        return;
    struct inode *ino = inode_alloc((f->is_dir ? S_IFDIR : S_IFREG) | (f->mode & 07777));
    if (!ino) {
        c->err = -ENOSPC;
        return;
    }
    int err = dir_link(c->dir, base_name(f->path), ino);
    if (!err && !f->is_dir && f->size) {
        int32_t n = pagecache_write(ino, 0, io_kernel((void *)f->data), f->size);
        err = n < 0 ? n : 0;
        if (!err) {
            ino->size = f->size;
            c->files++;
            c->bytes += f->size;
        }
    } else if (!err && !f->is_dir) {
        c->files++;
    }
    if (!err && f->is_dir) {
        struct inode *parent = c->dir;
        c->dir = ino;
        int r = initrd_foreach(f->path, copy_entry, c);
        c->dir = parent;
        if (r < 0 && !c->err)
            c->err = r;
    }
    if (err)
        c->err = err;
    inode_put(ino);
}

void ramfs_init(void)
{
    fs_root = inode_alloc(S_IFDIR | 0755);
    if (!fs_root)
        panic("ramfs_init: no memory for the root directory");
    fs_root->parent = fs_root;
    fs_root->nlink = 2;
    if (!initrd_present()) {
        kprintf("ramfs: empty root (no initrd)\n");
        return;
    }
    struct copy c = { .dir = fs_root };
    initrd_foreach("/", copy_entry, &c);
    if (c.err)
        kprintf("ramfs: error %s (%d) copying the initrd: the tree is partial\n",
                errno_name(c.err), c.err);
    kprintf("ramfs: / from the initrd: %u files, %u bytes in %u cached frames\n", c.files,
            c.bytes, pagecache_frames);
}
