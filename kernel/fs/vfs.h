/* vfs.h — the file operations the system calls, the shell and direct calls
 * from Python share: paths are kernel strings, absolute or relative to an
 * explicit working directory (itself an absolute path); descriptors are
 * slots of an explicit fd table. Nothing here knows of processes.
 *
 * Every function returns its result or a negative Linux errno: ENOENT,
 * ENOTDIR, EISDIR, ENAMETOOLONG, EBADF, EACCES, EEXIST, ENOTEMPTY, EINVAL,
 * EFBIG, ENOSPC (no memory for data or an entry), EMFILE, ERANGE.
 * The user-address forms (fs_sys_*) are in fs/syscalls.h.
 */
#ifndef KOS_FS_VFS_H
#define KOS_FS_VFS_H

#include <stdint.h>
#include "fdtable.h"
#include "inode.h"

/* Linux i386 struct stat64 (96 bytes; 64-bit fields 4-aligned, as the
 * i386 ABI lays them out). */
struct stat64 {
    uint64_t st_dev;
    uint8_t __pad0[4];
    uint32_t __st_ino;
    uint32_t st_mode;
    uint32_t st_nlink;
    uint32_t st_uid;
    uint32_t st_gid;
    uint64_t st_rdev;
    uint8_t __pad3[4];
    int64_t st_size;
    uint32_t st_blksize;
    uint64_t st_blocks;        /* 512-byte units: the frames cached */
    uint32_t st_atime, st_atime_nsec;
    uint32_t st_mtime, st_mtime_nsec;
    uint32_t st_ctime, st_ctime_nsec;
    uint64_t st_ino;
} __attribute__((packed, aligned(4)));

_Static_assert(sizeof(struct stat64) == 96, "struct stat64 is Linux i386's");

/* struct linux_dirent64 as getdents64 writes it (header; name follows). */
struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    uint16_t d_reclen;
    uint8_t d_type;            /* DT_DIR or DT_REG */
    char d_name[];
} __attribute__((packed));

#define DT_DIR 4
#define DT_REG 8

/* ---- path.c ---------------------------------------------------------------- */

/* The inode path names. */
int path_lookup(const char *cwd, const char *path, struct inode **out);
/* The directory that would hold path's last component, and that component
 * in name ("" for the root itself). */
int path_parent(const char *cwd, const char *path, struct inode **dir, char name[FS_NAME_MAX + 1]);
/* path made absolute and canonical (no ".", "..", or repeated '/') into out. */
int path_canonical(const char *cwd, const char *path, char out[FS_PATH_MAX]);
/* The path naming ino now, or "(deleted)" once no directory does. */
void inode_path(const struct inode *ino, char *buf, uint32_t size);

/* ---- vfs.c ----------------------------------------------------------------- */

/* A struct file for path with O_* flags (O_CREAT makes a regular file of
 * mode & 0777), one reference, into *out. */
int vfs_open(const char *cwd, const char *path, uint32_t flags, uint32_t mode, struct file **out);
int vfs_stat(const char *cwd, const char *path, struct stat64 *st);
/* ino's stat64 (a directory taken in from the archive first: 0 or -ENOSPC). */
int vfs_fill_stat(struct inode *ino, struct stat64 *st);
int vfs_unlink(const char *cwd, const char *path);
int vfs_mkdir(const char *cwd, const char *path, uint32_t mode);
int vfs_rmdir(const char *cwd, const char *path);
/* Set a regular file's size: mappings lose their pages beyond the new end
 * (a touch there is then a SIGBUS), a growing file reads zeros. */
int vfs_truncate(struct inode *ino, uint32_t size);

/* The fd-level operations (kernel buffers through struct iobuf). */
int32_t fs_open(struct fdtable *ft, const char *cwd, const char *path, uint32_t flags, uint32_t mode);
int32_t fs_read(struct fdtable *ft, int fd, struct iobuf buf, uint32_t n);
int32_t fs_write(struct fdtable *ft, int fd, struct iobuf buf, uint32_t n);
int32_t fs_lseek(struct fdtable *ft, int fd, int32_t off, int whence);
int32_t fs_close(struct fdtable *ft, int fd);
int32_t fs_fstat(struct fdtable *ft, int fd, struct stat64 *st);
/* size is an off_t: above 2^31 - 1 it is negative, EINVAL before any fd check. */
int32_t fs_ftruncate(struct fdtable *ft, int fd, uint32_t size);
int32_t fs_getdents64(struct fdtable *ft, int fd, struct iobuf buf, uint32_t n);
/* chdir: the canonical directory into newcwd. */
int32_t fs_chdir(const char *cwd, const char *path, char newcwd[FS_PATH_MAX]);

/* Is f a file of this filesystem (not the console)? Its inode, else NULL. */
struct inode *fs_file_inode(const struct file *f);

#endif
