/* vfs.c — opening, reading and writing files of the ramfs, directories,
 * and the fd-level operations over an explicit fd table (vfs.h). File
 * mappings are in fs/mmap.c, the user-address forms in fs/syscalls.c. */
#include <stdint.h>
#include "vfs.h"
#include "../include/errno.h"
#include "../lib/string.h"
#include "../mm/vm/mm.h"

static int32_t reg_read(struct file *f, struct iobuf buf, uint32_t n)
{
    struct inode *ino = f->inode;
    if (f->pos >= ino->size)
        return 0;
    if (n > ino->size - f->pos)
        n = ino->size - f->pos;
    int32_t r = pagecache_read(ino, f->pos, buf, n);
    if (r > 0)
        f->pos += (uint32_t)r;
    return r;
}

static int32_t reg_write(struct file *f, struct iobuf buf, uint32_t n)
{
    struct inode *ino = f->inode;
    /* O_APPEND writes at the end; the offset moves there only with the
     * bytes written (a refused or empty write leaves it, as in Linux). */
    uint32_t pos = (f->flags & O_APPEND) ? ino->size : f->pos;
    if (pos >= FS_FILE_MAX)
        return n ? -EFBIG : 0;
    if (n > FS_FILE_MAX - pos)
        n = FS_FILE_MAX - pos;
    if (!n)
        return 0;
    /* What a mapping stored past the end must not surface as file bytes
     * (the gap up to pos is zeros, or holes, from here on). */
    pagecache_resize(ino, ino->size);
    int32_t r = pagecache_write(ino, pos, buf, n);
    if (r > 0) {
        f->pos = pos + (uint32_t)r;
        if (f->pos > ino->size)
            ino->size = f->pos;
    }
    /* A copy that faulted keeps the size it had and no frame it took
     * beyond it. */
    if (r < (int32_t)n)
        pagecache_resize(ino, ino->size);
    return r;
}

static int32_t any_lseek(struct file *f, int32_t off, int whence)
{
    int64_t base;
    switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = f->pos; break;
    case SEEK_END: base = f->inode->size; break;
    default: return -EINVAL;
    }
    int64_t pos = base + off;
    if (pos < 0 || pos > 0x7FFFFFFF)
        return -EINVAL;
    f->pos = (uint32_t)pos;
    return (int32_t)pos;
}

static void any_release(struct file *f)
{
    inode_put(f->inode);
}

static void reg_release(struct file *f)
{
    if (file_writable(f))
        inode_put_write(f->inode);
    inode_put(f->inode);
}

static int32_t dir_read(struct file *f, struct iobuf buf, uint32_t n)
{
    (void)f, (void)buf, (void)n;
    return -EISDIR;
}

static const struct file_ops reg_ops = {
    .read = reg_read, .write = reg_write, .lseek = any_lseek, .release = reg_release,
};
static const struct file_ops dir_ops = {
    .read = dir_read, .lseek = any_lseek, .release = any_release,
};

struct inode *fs_file_inode(const struct file *f)
{
    return (f->ops == &reg_ops || f->ops == &dir_ops) ? f->inode : 0;
}

/* A regular file named name in dir, of mode, into *out (not referenced). */
static int create(struct inode *dir, const char *name, uint32_t mode, struct inode **out)
{
    struct inode *ino = inode_alloc(mode);
    if (!ino)
        return -ENOSPC;
    int err = dir_link(dir, name, ino);
    inode_put(ino);                      /* the entry holds it now, or it is gone */
    *out = ino;
    return err;
}

int vfs_open(const char *cwd, const char *path, uint32_t flags, uint32_t mode, struct file **out)
{
    uint32_t acc = flags & O_ACCMODE;
    /* O_CREAT makes a regular file, which O_DIRECTORY would refuse after
     * making it: Linux (since 6.4) refuses the pair first, EINVAL. */
    if (acc == O_ACCMODE || ((flags & O_CREAT) && (flags & O_DIRECTORY)))
        return -EINVAL;
    struct inode *ino, *dir;
    char name[FS_NAME_MAX + 1];
    /* O_CREAT of "name/" is EISDIR once the directories before it are
     * walked, whether name is there or not, a file or not (Linux's). */
    if ((flags & O_CREAT) && path[0] && path[strlen(path) - 1] == '/') {
        int err = path_parent(cwd, path, &dir, name);
        return err ? err : -EISDIR;
    }
    int err = path_lookup(cwd, path, &ino);
    if (err == -ENOENT && (flags & O_CREAT)) {
        err = path_parent(cwd, path, &dir, name);
        if (err)
            return err;
        if (!name[0])
            return -EISDIR;
        err = create(dir, name, S_IFREG | (mode & 0777), &ino);
    } else if (!err && (flags & O_CREAT) && (flags & O_EXCL)) {
        return -EEXIST;
    } else if (!err && (flags & O_CREAT) && S_ISDIR(ino->mode)) {
        return -EISDIR;
    }
    if (err)
        return err;
    if (S_ISDIR(ino->mode) && (acc != O_RDONLY || (flags & O_TRUNC)))
        return -EISDIR;
    if (!S_ISDIR(ino->mode) && (flags & O_DIRECTORY))
        return -ENOTDIR;
    /* A running program's file is not changed under it (Linux's ETXTBSY). */
    int writing = !S_ISDIR(ino->mode) && acc != O_RDONLY;
    if (writing && (err = inode_get_write(ino)))
        return err;
    struct file *f = file_alloc(S_ISDIR(ino->mode) ? &dir_ops : &reg_ops, flags);
    if (!f) {
        if (writing)
            inode_put_write(ino);
        return -ENOSPC;
    }
    f->inode = inode_get(ino);
    if ((flags & O_TRUNC) && acc != O_RDONLY)
        vfs_truncate(ino, 0);
    *out = f;
    return 0;
}

int vfs_fill_stat(struct inode *ino, struct stat64 *st)
{
    /* A directory's links count its subdirectories, which an archive
     * directory has only once its entries are in. */
    int err = S_ISDIR(ino->mode) ? dir_populate(ino) : 0;
    if (err)
        return err;
    memset(st, 0, sizeof(*st));
    st->st_dev = 1;
    st->__st_ino = ino->ino;
    st->st_ino = ino->ino;
    st->st_mode = ino->mode;
    st->st_nlink = ino->nlink;
    st->st_size = ino->size;
    st->st_blksize = PAGE_SIZE;
    st->st_blocks = (uint64_t)ino->cached * (PAGE_SIZE / 512);
    return 0;
}

int vfs_stat(const char *cwd, const char *path, struct stat64 *st)
{
    struct inode *ino;
    int err = path_lookup(cwd, path, &ino);
    return err ? err : vfs_fill_stat(ino, st);
}

/* The entry path's last component names in its directory. */
static int entry(const char *cwd, const char *path, struct inode **dir, char *name,
                 struct inode **ino)
{
    int err = path_parent(cwd, path, dir, name);
    if (err)
        return err;
    if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        *ino = 0;
        return 0;
    }
    err = dir_populate(*dir);
    if (err)
        return err;
    *ino = dir_lookup(*dir, name);
    return *ino ? 0 : -ENOENT;
}

int vfs_unlink(const char *cwd, const char *path)
{
    struct inode *dir, *ino;
    char name[FS_NAME_MAX + 1];
    int err = entry(cwd, path, &dir, name, &ino);
    if (err)
        return err;
    if (!ino || S_ISDIR(ino->mode))
        return -EISDIR;
    if (path[strlen(path) - 1] == '/')
        return -ENOTDIR;
    dir_unlink(dir, name);
    return 0;
}

int vfs_mkdir(const char *cwd, const char *path, uint32_t mode)
{
    struct inode *dir;
    char name[FS_NAME_MAX + 1];
    int err = path_parent(cwd, path, &dir, name);
    if (err)
        return err;
    if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || dir_lookup(dir, name))
        return -EEXIST;
    struct inode *ino;
    return create(dir, name, S_IFDIR | (mode & 0777), &ino);
}

int vfs_rmdir(const char *cwd, const char *path)
{
    struct inode *dir, *ino;
    char name[FS_NAME_MAX + 1];
    int err = entry(cwd, path, &dir, name, &ino);
    if (err)
        return err;
    if (!ino)
        return name[0] && strcmp(name, "..") == 0 ? -ENOTEMPTY : name[0] ? -EINVAL : -EBUSY;
    if (!S_ISDIR(ino->mode))
        return -ENOTDIR;
    err = dir_populate(ino);
    if (err)
        return err;
    if (ino->nentries)
        return -ENOTEMPTY;
    dir_unlink(dir, name);
    return 0;
}

int vfs_truncate(struct inode *ino, uint32_t size)
{
    if (S_ISDIR(ino->mode))
        return -EISDIR;
    if (size > FS_FILE_MAX)
        return -EFBIG;
    uint32_t keep = (size + PAGE_SIZE - 1) >> PAGE_SHIFT;
    if (size < ino->size)
        vm_unmap_file_pages(&ino->vm, keep);
    pagecache_resize(ino, size);
    return 0;
}

/* ---- fd level ------------------------------------------------------------- */

int32_t fs_open(struct fdtable *ft, const char *cwd, const char *path, uint32_t flags, uint32_t mode)
{
    /* A full table is EMFILE before O_CREAT makes or O_TRUNC empties the
     * file (Linux takes the descriptor first, too). */
    int fd = fdtable_free_slot(ft);
    if (fd < 0)
        return fd;
    struct file *f;
    int err = vfs_open(cwd, path, flags, mode, &f);
    if (err)
        return err;
    /* The slot found above: nothing since has touched this table. */
    fd = fdtable_install(ft, f);
    if (fd < 0)
        file_put(f);
    return fd;
}

int32_t fs_read(struct fdtable *ft, int fd, struct iobuf buf, uint32_t n)
{
    struct file *f = fdtable_get(ft, fd);
    if (!f || !file_readable(f))
        return -EBADF;
    return f->ops->read ? f->ops->read(f, buf, n) : -EINVAL;
}

int32_t fs_write(struct fdtable *ft, int fd, struct iobuf buf, uint32_t n)
{
    struct file *f = fdtable_get(ft, fd);
    if (!f || !file_writable(f))
        return -EBADF;
    return f->ops->write ? f->ops->write(f, buf, n) : -EINVAL;
}

int32_t fs_lseek(struct fdtable *ft, int fd, int32_t off, int whence)
{
    struct file *f = fdtable_get(ft, fd);
    if (!f)
        return -EBADF;
    return f->ops->lseek ? f->ops->lseek(f, off, whence) : -ESPIPE;
}

int32_t fs_close(struct fdtable *ft, int fd)
{
    return fdtable_close(ft, fd);
}

int32_t fs_fstat(struct fdtable *ft, int fd, struct stat64 *st)
{
    struct file *f = fdtable_get(ft, fd);
    if (!f)
        return -EBADF;
    struct inode *ino = fs_file_inode(f);
    if (!ino) {
        memset(st, 0, sizeof(*st));
        st->st_mode = 0020620;           /* a character device, like a tty */
        st->st_nlink = 1;
        return 0;
    }
    return vfs_fill_stat(ino, st);
}

int32_t fs_ftruncate(struct fdtable *ft, int fd, uint32_t size)
{
    if ((int32_t)size < 0)
        return -EINVAL;           /* off_t is signed; Linux checks it before the fd */
    struct file *f = fdtable_get(ft, fd);
    if (!f)
        return -EBADF;
    struct inode *ino = fs_file_inode(f);
    if (!ino || S_ISDIR(ino->mode) || !file_writable(f))
        return -EINVAL;
    return vfs_truncate(ino, size);
}

int32_t fs_getdents64(struct fdtable *ft, int fd, struct iobuf buf, uint32_t n)
{
    struct file *f = fdtable_get(ft, fd);
    if (!f)
        return -EBADF;
    struct inode *dir = fs_file_inode(f);
    if (!dir || !S_ISDIR(dir->mode))
        return -ENOTDIR;
    if (!dir->nlink)
        return -ENOENT;                  /* removed while open, as Linux says */
    int err = dir_populate(dir);
    if (err)
        return err;                      /* not a listing cut short without a word */
    uint32_t done = 0;
    for (;;) {
        struct inode *ino;
        uint32_t pos = f->pos;
        const char *name = dir_entry_at(dir, &pos, &ino);
        if (!name)
            break;
        uint32_t len = strlen(name);
        uint32_t reclen = (sizeof(struct linux_dirent64) + len + 1 + 7) & ~7u;
        if (done + reclen > n) {
            if (!done)
                return -EINVAL;
            break;
        }
        uint8_t rec[sizeof(struct linux_dirent64) + FS_NAME_MAX + 8];
        struct linux_dirent64 *d = (struct linux_dirent64 *)rec;
        memset(rec, 0, reclen);
        d->d_ino = ino->ino;
        d->d_off = pos + 1;
        d->d_reclen = (uint16_t)reclen;
        d->d_type = S_ISDIR(ino->mode) ? DT_DIR : DT_REG;
        memcpy(d->d_name, name, len);
        if (io_copy_out(buf, done, rec, reclen))
            return done ? (int32_t)done : -EFAULT;
        done += reclen;
        f->pos = pos + 1;
    }
    return (int32_t)done;
}

int32_t fs_chdir(const char *cwd, const char *path, char newcwd[FS_PATH_MAX])
{
    struct inode *ino;
    int err = path_lookup(cwd, path, &ino);
    if (err)
        return err;
    if (!S_ISDIR(ino->mode))
        return -ENOTDIR;
    return path_canonical(cwd, path, newcwd);
}
