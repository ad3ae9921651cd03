/* mmap.h — mapping files into an address space: the file checks of Linux's
 * mmap and the vm_ops that give mm/vm the page-cache frames (fs/mmap.c). */
#ifndef KOS_FS_MMAP_H
#define KOS_FS_MMAP_H

#include <stdint.h>
#include "fdtable.h"

struct mm;
struct vm_ops;

/* The vm_ops of every inode's vm_mapping (ramfs.c sets them). */
extern const struct vm_ops file_vm_ops;

/* mmap(addr, len, prot, flags, fd, off) into mm: MAP_ANONYMOUS ignores fd;
 * else fd must name a regular file of ft (-EBADF; -ENODEV for a directory
 * or the console), readable (-EACCES for O_WRONLY), off page aligned
 * (-EINVAL). The address or a negative errno. */
int32_t fs_mmap(struct mm *mm, struct fdtable *ft, uint32_t addr, uint32_t len, uint32_t prot,
                uint32_t flags, int fd, uint32_t off);
/* The same with the struct file itself (the shell, the Python API). */
int32_t fs_mmap_file(struct mm *mm, struct file *f, uint32_t addr, uint32_t len, uint32_t prot,
                     uint32_t flags, uint32_t off);
/* A segment of a program's image for exec: MAP_PRIVATE | MAP_FIXED,
 * PROT_RW until exec sets the protections, and while it is mapped (in this
 * address space and its copies by fork) the file may not be opened for
 * writing, nor mapped so when it is open for writing: -ETXTBSY. */
int32_t fs_mmap_image(struct mm *mm, struct file *f, uint32_t addr, uint32_t len, uint32_t off);

#endif
