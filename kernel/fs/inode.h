/* inode.h — the in-memory filesystem (ramfs): inodes, directory entries,
 * and the page cache that holds regular files' data.
 *
 * The one filesystem type is a ramfs whose starting tree is the initrd's
 * archive (ramfs.c), taken in as it is used: a directory of the archive
 * gets its entries at its first lookup, a file's page its frame, filled
 * from the archive, at its first read, store or mapping; so a boot costs
 * no frame, and of the heap only the initrd's index. A regular file's
 * bytes live in its page cache (pagecache.c; a clean page of the archive's
 * bytes may be given back under pressure and filled again from the
 * archive at its next use): frames indexed by page
 * number in inode->pages, each frame's struct page naming the inode and
 * the index (page.h's mapping and index), so a lookup is one array load
 * and a frame knows its file.
 *
 * Lifetime: an inode lives while a directory entry names it (nlink) or
 * something holds it (refs: open files, mappings, a walk in progress);
 * inode_put frees it, and its frames, when both are 0. So an unlinked file
 * stays readable, and its mapped pages stay, until the last close and munmap.
 */
#ifndef KOS_FS_INODE_H
#define KOS_FS_INODE_H

#include <stdint.h>
#include "file.h"
#include "limits.h"
#include "../include/errno.h"
#include "../mm/page.h"
#include "../mm/vm/mm.h"

#define FS_FILE_MAX 0x4000000u   /* 64 MiB: the largest file the page cache keeps (-EFBIG) */

/* Mode bits: Linux's. */
#define S_IFMT   0170000u
#define S_IFDIR  0040000u
#define S_IFREG  0100000u
#define S_ISDIR(m) (((m) & S_IFMT) == S_IFDIR)
#define S_ISREG(m) (((m) & S_IFMT) == S_IFREG)

struct dentry {
    struct dentry *next;         /* the directory's entries, oldest first (ls shows archive order) */
    struct inode *inode;
    uint32_t pos;                /* its getdents64 position: fixed while it lives, so that
                                    removing an entry moves no other one in a listing */
    char name[];                 /* NUL-terminated, at most FS_NAME_MAX bytes */
};

struct inode {
    uint32_t ino;
    uint32_t mode;               /* S_IF* | permission bits */
    uint32_t nlink;              /* names (directories: 2 + subdirectories, as Linux) */
    uint32_t refs;
    uint32_t size;               /* bytes */
    /* directories */
    struct dentry *entries;
    uint32_t nentries;
    uint32_t next_pos;           /* the position the next entry gets (from 2: "." and "..") */
    const char *initrd_dir;      /* a directory whose archive entries are not in yet (its
                                    archive path), else NULL */
    struct inode *parent;        /* the directory naming it (".." of a directory; the root is
                                    its own; NULL once no directory names it) */
    /* regular files: the page cache */
    struct page **pages;         /* pages[index]: the frame or NULL (a hole reads as zeros) */
    uint32_t npages;             /* slots in pages */
    uint32_t cached;             /* frames in pages */
    const uint8_t *backing;      /* the archive's bytes of the file (backing_size of them):
                                    what a page not yet cached holds */
    uint32_t backing_size;
    /* Linux's i_writecount: > 0, the files open for writing; < 0, the
     * mappings of running programs' images (exec's, and their copies by
     * fork), which may not change under them: ETXTBSY either way. */
    int32_t writecount;
    struct vm_mapping vm;        /* what file VMAs point at (ops: fs/mmap.c's file_vm_ops) */
};

static inline struct inode *inode_of_mapping(const struct vm_mapping *m)
{
    return (struct inode *)((const char *)m - __builtin_offsetof(struct inode, vm));
}

/* The root directory (after ramfs_init). */
extern struct inode *fs_root;

/* Build the tree from the initrd (none: an empty root) and print one line.
 * After memory_init_frames. */
void ramfs_init(void);

/* A new inode of the given mode, refs 1 and nlink 0, or NULL. */
struct inode *inode_alloc(uint32_t mode);
struct inode *inode_get(struct inode *ino);
void inode_put(struct inode *ino);

/* One more file open for writing (0), unless a running program's image
 * maps ino (-ETXTBSY); and one fewer. */
static inline int inode_get_write(struct inode *ino)
{
    if (ino->writecount < 0)
        return -ETXTBSY;
    ino->writecount++;
    return 0;
}
static inline void inode_put_write(struct inode *ino) { ino->writecount--; }
/* One more image mapping of a running program (0), unless a file is open
 * for writing on ino (-ETXTBSY); and one fewer. */
static inline int inode_deny_write(struct inode *ino)
{
    if (ino->writecount > 0)
        return -ETXTBSY;
    ino->writecount--;
    return 0;
}
static inline void inode_allow_write(struct inode *ino) { ino->writecount++; }

/* Take in a directory's archive entries if they are not in yet: 0 or
 * -ENOSPC. The dir_* calls below do it first. */
int dir_populate(struct inode *dir);

/* Directory entries. lookup: the inode (not referenced) or NULL. link: 0,
 * -EEXIST or -ENOSPC (no memory); the entry counts in ino->nlink. unlink:
 * drops the entry (nlink - 1; freeing the inode if nothing holds it). */
struct inode *dir_lookup(struct inode *dir, const char *name);
int dir_link(struct inode *dir, const char *name, struct inode *ino);
void dir_unlink(struct inode *dir, const char *name);
/* The first entry at position *pos or after it, "." being 0 and ".." 1, its
 * own position into *pos; NULL past the end, and for a removed directory
 * (nlink 0), whose parent may be gone. An entry keeps its position while
 * it lives, so a listing resumed at *pos + 1 misses none that is still
 * there, whatever was removed before it. */
const char *dir_entry_at(struct inode *dir, uint32_t *pos, struct inode **ino);

/* ---- pagecache.c ---------------------------------------------------------- */

/* Frames in every page cache (meminfo's cached_memory). */
extern uint32_t pagecache_frames;

/* The frame for page index of ino, allocating one if create (filled from
 * the archive for a page of an initrd file, else zeroed): the frame, or
 * NULL (none there, no memory). O(1) when it is cached. */
struct page *pagecache_page(struct inode *ino, uint32_t index, int create);
/* Copy n bytes at off between the file and buf (read: out of the file;
 * write: into it, dirtying the frames). The bytes moved, or -EFAULT /
 * -ENOSPC with nothing moved past the failure. Sizes are the caller's. */
int32_t pagecache_read(struct inode *ino, uint32_t off, struct iobuf buf, uint32_t n);
int32_t pagecache_write(struct inode *ino, uint32_t off, struct iobuf buf, uint32_t n);
/* Set the size: frames wholly beyond it go back to buddy (unless mapped: the
 * mapping code unmaps them first), the tail of a partial last page is zeroed. */
void pagecache_resize(struct inode *ino, uint32_t size);
/* Free every frame (the inode is going). */
void pagecache_release(struct inode *ino);
/* Register the page cache's shrinker with the page allocator (ramfs_init). */
void pagecache_init(void);

#endif
