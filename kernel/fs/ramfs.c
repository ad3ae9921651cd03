/* ramfs.c — inodes and directories of the in-memory filesystem, and the
 * starting tree copied from the initrd (inode.h). Path walking is in
 * path.c, file data in pagecache.c. */
#include <stdint.h>
#include "inode.h"
#include "initrd.h"
#include "mmap.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"
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
    kfree((void *)ino->initrd_dir);
    kfree(ino);
}

struct inode *dir_lookup(struct inode *dir, const char *name)
{
    dir_populate(dir);
    for (struct dentry *d = dir->entries; d; d = d->next)
        if (strcmp(d->name, name) == 0)
            return d->inode;
    return 0;
}

int dir_link(struct inode *dir, const char *name, struct inode *ino)
{
    int err = dir_populate(dir);
    if (err)
        return err;
    if (dir_lookup(dir, name))
        return -EEXIST;
    uint32_t len = strlen(name);
    struct dentry *d = kmalloc(sizeof(*d) + len + 1);
    if (!d)
        return -ENOSPC;
    memcpy(d->name, name, len + 1);
    d->inode = ino;
    d->next = 0;
    if (dir->next_pos < 2)
        dir->next_pos = 2;
    d->pos = dir->next_pos++;
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
    dir_populate(dir);
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
            ino->parent = 0;          /* dir may go first while an open file holds ino */
        } else if (--ino->nlink == 0) {
            ino->parent = 0;
        }
        inode_get(ino);               /* inode_put frees it if that was the last holder */
        inode_put(ino);
        return;
    }
}

const char *dir_entry_at(struct inode *dir, uint32_t *pos, struct inode **ino)
{
    if (!dir->nlink)
        return 0;                     /* removed: not even "." and ".." */
    if (*pos == 0) {
        *ino = dir;
        return ".";
    }
    if (*pos == 1) {
        *ino = dir->parent;
        return "..";
    }
    dir_populate(dir);
    struct dentry *d = dir->entries;  /* oldest first: positions ascending */
    while (d && d->pos < *pos)
        d = d->next;
    if (!d)
        return 0;
    *pos = d->pos;
    *ino = d->inode;
    return d->name;
}

/* ---- the starting tree ---------------------------------------------------- */

/* The last component of an initrd path. */
static const char *base_name(const char *path)
{
    const char *name = path;
    for (const char *p = path; *p; p++)
        if (*p == '/')
            name = p + 1;
    return name;
}

struct fill {
    struct inode *dir;
    int err;
};

/* One archive entry into the directory being populated: a file names its
 * bytes in the archive, a directory its archive path (for its own turn).
 * A name the directory holds already came in at an earlier population that
 * ran out of memory before its end (the index has one entry per path). */
static void fill_entry(const struct initrd_file *f, void *arg)
{
    struct fill *c = arg;
    if (c->err)
        return;
    struct inode *dir = c->dir;
    for (const struct dentry *d = dir->entries; d; d = d->next)
        if (strcmp(d->name, base_name(f->path)) == 0)
            return;
    struct inode *ino = inode_alloc((f->is_dir ? S_IFDIR : S_IFREG) | (f->mode & 07777));
    char *path = 0;
    if (ino && f->is_dir) {
        uint32_t n = strlen(f->path) + 1;
        if ((path = kmalloc(n)) != 0)
            memcpy(path, f->path, n);
        ino->initrd_dir = path;
    } else if (ino) {
        ino->backing = f->data;
        ino->backing_size = ino->size = f->size;
    }
    if (!ino || (f->is_dir && !path)) {
        c->err = -ENOSPC;
    } else {
        const char *pending = dir->initrd_dir;
        dir->initrd_dir = 0;                   /* dir_link must not populate again */
        c->err = dir_link(dir, base_name(f->path), ino);
        dir->initrd_dir = pending;
    }
    if (ino)
        inode_put(ino);                        /* the entry holds it now, or it is gone */
}

int dir_populate(struct inode *dir)
{
    const char *path = dir->initrd_dir;
    if (!path)
        return 0;
    struct fill c = { .dir = dir };
    initrd_foreach(path, fill_entry, &c);
    if (c.err)
        return c.err;                          /* tried again at the next lookup */
    dir->initrd_dir = 0;
    if (dir != fs_root)
        kfree((void *)path);
    return 0;
}

static struct inode root;

void ramfs_init(void)
{
    root.ino = next_ino++;
    root.mode = S_IFDIR | 0755;
    root.nlink = 2;
    root.refs = 1;
    root.parent = &root;
    root.vm.ops = &file_vm_ops;
    fs_root = &root;
    pagecache_init();
    if (!initrd_present()) {
        kprintf("ramfs: empty root (no initrd)\n");
        return;
    }
    root.initrd_dir = "/";
    kprintf("ramfs: / is the initrd's tree, taken in as it is used\n");
}
