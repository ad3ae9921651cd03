/* mmap.c — the file side of file mappings (mmap.h): which frame holds a
 * page of the file (its page-cache frame; none past the end: SIGBUS), the
 * dirty flag a shared store leaves, and the hold each VMA has on its
 * inode. The VM side is mm/vm/filemap.c. */
#include <stdint.h>
#include "mmap.h"
#include "vfs.h"
#include "../include/errno.h"
#include "../include/mman.h"
#include "../mm/memory.h"
#include "../mm/vm/mm.h"

static struct page *file_get_page(struct vma *v, uint32_t pgoff, enum vm_fault_kind *kind)
{
    struct inode *ino = inode_of_mapping(v->file);
    if (pgoff >= (ino->size + PAGE_SIZE - 1) >> PAGE_SHIFT) {
        *kind = FAULT_SIGBUS;
        return 0;
    }
    struct page *p = pagecache_page(ino, pgoff, 1);
    if (!p) {
        *kind = FAULT_OOM;
        return 0;
    }
    page_get(p);
    return p;
}

static void file_dirty(const struct vma *v, struct page *p)
{
    (void)v;
    page_set_dirty(p);
}

/* A VMA of the file: it holds the inode (and, for a program's image, its
 * deny-write count). Which address spaces map the file is not kept here:
 * ftruncate asks every address space (vm_unmap_file_pages), so a fork
 * copies no record of its own per file. */
static int file_open(struct vma *v)
{
    struct inode *ino = inode_of_mapping(v->file);
    if ((v->flags & VM_DENYWRITE) && inode_deny_write(ino))
        return -ETXTBSY;
    inode_get(ino);
    return 0;
}

static void file_release(struct vma *v)
{
    struct inode *ino = inode_of_mapping(v->file);
    if (v->flags & VM_DENYWRITE)
        inode_allow_write(ino);
    inode_put(ino);
}

static void file_name(const struct vma *v, char *buf, unsigned size)
{
    inode_path(inode_of_mapping(v->file), buf, size);
}

const struct vm_ops file_vm_ops = {
    .get_page = file_get_page,
    .dirty = file_dirty,
    .open = file_open,
    .release = file_release,
    .name = file_name,
};

static int32_t map_file(struct mm *mm, struct file *f, uint32_t addr, uint32_t len, uint32_t prot,
                        uint32_t flags, uint32_t off, int deny_write)
{
    struct inode *ino = fs_file_inode(f);
    if (!ino || S_ISDIR(ino->mode)) {
        mm->why = "not a regular file";
        return -ENODEV;
    }
    if (!file_readable(f)) {
        mm->why = "the file is open for writing only";
        return -EACCES;
    }
    if (off & (PAGE_SIZE - 1)) {
        mm->why = "the offset must be page aligned";
        return -EINVAL;
    }
    struct vm_file vf = { .mapping = &ino->vm, .pgoff = off >> PAGE_SHIFT, .may_write = file_writable(f),
                          .deny_write = deny_write };
    return vm_mmap_file(mm, addr, len, prot, flags, &vf);
}

int32_t fs_mmap_file(struct mm *mm, struct file *f, uint32_t addr, uint32_t len, uint32_t prot,
                     uint32_t flags, uint32_t off)
{
    return map_file(mm, f, addr, len, prot, flags, off, 0);
}

int32_t fs_mmap_image(struct mm *mm, struct file *f, uint32_t addr, uint32_t len, uint32_t off)
{
    return map_file(mm, f, addr, len, PROT_RW, MAP_PRIVATE | MAP_FIXED, off, 1);
}

int32_t fs_mmap(struct mm *mm, struct fdtable *ft, uint32_t addr, uint32_t len, uint32_t prot,
                uint32_t flags, int fd, uint32_t off)
{
    if (flags & MAP_ANONYMOUS)
        return vm_mmap(mm, addr, len, prot, flags);
    struct file *f = fdtable_get(ft, fd);
    if (!f) {
        mm->why = "the descriptor is not open";
        return -EBADF;
    }
    return fs_mmap_file(mm, f, addr, len, prot, flags, off);
}
