/* path.c — path walking over the ramfs tree (vfs.h): components split on
 * '/', "." and ".." resolved against the directories themselves (".." of
 * the root is the root), a relative path joined to the working directory. */
#include <stdint.h>
#include "vfs.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"

/* cwd + "/" + path (or path alone if absolute) into out. */
static int join(const char *cwd, const char *path, char out[FS_PATH_MAX])
{
    if (!path[0])
        return -ENOENT;
    uint32_t n = 0, plen = strlen(path);
    if (path[0] != '/') {
        uint32_t clen = strlen(cwd);
        if (clen + 1 + plen >= FS_PATH_MAX)
            return -ENAMETOOLONG;
        memcpy(out, cwd, clen);
        n = clen;
        out[n++] = '/';
    } else if (plen >= FS_PATH_MAX) {
        return -ENAMETOOLONG;
    }
    memcpy(out + n, path, plen + 1);
    return 0;
}

/* The next component at *p: its start (NULL at the end of the path) and
 * its length in *len; *p moves past it. */
static const char *next_component(const char **p, uint32_t *len)
{
    const char *s = *p;
    while (*s == '/')
        s++;
    if (!*s)
        return 0;
    const char *e = s;
    while (*e && *e != '/')
        e++;
    *p = e;
    *len = (uint32_t)(e - s);
    return s;
}

/* Walk full (absolute). parent: stop before the last component and copy
 * it to last. */
static int walk(const char *full, int parent, struct inode **out, char *last)
{
    struct inode *cur = fs_root;
    const char *p = full;
    char name[FS_NAME_MAX + 1];
    if (last)
        last[0] = 0;
    for (;;) {
        uint32_t len;
        const char *s = next_component(&p, &len);
        if (!s)
            break;
        /* A name under a file is ENOTDIR however long it is, as in Linux,
         * which looks a name up only in a directory. */
        if (!S_ISDIR(cur->mode))
            return -ENOTDIR;
        if (len > FS_NAME_MAX)
            return -ENAMETOOLONG;
        memcpy(name, s, len);
        name[len] = 0;
        const char *q = p;
        while (*q == '/')
            q++;
        if (parent && !*q) {
            memcpy(last, name, len + 1);
            break;
        }
        if (strcmp(name, ".") == 0)
            continue;
        if (strcmp(name, "..") == 0) {
            cur = cur->parent;
            continue;
        }
        /* Out of memory taking the directory in is not "no such file". */
        int err = dir_populate(cur);
        if (err)
            return err;
        cur = dir_lookup(cur, name);
        if (!cur)
            return -ENOENT;
    }
    /* "file/" names a directory that is not there. */
    uint32_t n = strlen(full);
    if (!parent && n && full[n - 1] == '/' && !S_ISDIR(cur->mode))
        return -ENOTDIR;
    *out = cur;
    return 0;
}

int path_lookup(const char *cwd, const char *path, struct inode **out)
{
    char full[FS_PATH_MAX];
    int err = join(cwd, path, full);
    return err ? err : walk(full, 0, out, 0);
}

int path_parent(const char *cwd, const char *path, struct inode **dir, char name[FS_NAME_MAX + 1])
{
    char full[FS_PATH_MAX];
    int err = join(cwd, path, full);
    return err ? err : walk(full, 1, dir, name);
}

int path_canonical(const char *cwd, const char *path, char out[FS_PATH_MAX])
{
    char full[FS_PATH_MAX];
    int err = join(cwd, path, full);
    if (err)
        return err;
    uint32_t n = 0;
    const char *p = full;
    out[0] = '/';
    for (;;) {
        uint32_t len;
        const char *s = next_component(&p, &len);
        if (!s)
            break;
        if (len == 1 && s[0] == '.')
            continue;
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            while (n > 0 && out[--n] != '/')
                ;
            continue;
        }
        out[n++] = '/';
        memcpy(out + n, s, len);
        n += len;
    }
    out[n ? n : 1] = 0;
    return 0;
}

/* The name under which dir holds ino, or NULL. */
static const char *name_in(const struct inode *dir, const struct inode *ino)
{
    for (const struct dentry *d = dir->entries; d; d = d->next)
        if (d->inode == ino)
            return d->name;
    return 0;
}

void inode_path(const struct inode *ino, char *buf, uint32_t size)
{
    const char *names[FS_PATH_MAX / 2];
    uint32_t depth = 0;
    for (const struct inode *i = ino; i != fs_root; i = i->parent) {
        const char *name = (i->nlink && i->parent) ? name_in(i->parent, i) : 0;
        if (!name || depth == FS_PATH_MAX / 2) {
            ksnprintf(buf, size, "(deleted)");
            return;
        }
        names[depth++] = name;
    }
    uint32_t n = 0;
    if (!depth && size > 1)
        buf[n++] = '/';
    while (depth--) {
        int w = ksnprintf(buf + n, size - n, "/%s", names[depth]);
        if (w < 0 || n + (uint32_t)w >= size)
            break;
        n += (uint32_t)w;
    }
    buf[n < size ? n : size - 1] = 0;
}
