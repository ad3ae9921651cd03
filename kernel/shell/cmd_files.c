/* cmd_files.c — shell commands over the filesystem (the ramfs, relative
 * paths from "/"): ls, cat, write, rm, mkdir, rmdir, stat, and elfinfo,
 * which checks an executable as execve would. */
#include <stdint.h>
#include "shell.h"
#include "../dev/serial.h"
#include "../fs/vfs.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"
#include "../mm/memory.h"
#include "../proc/elf.h"

static int report(const char *cmd, int err, const char *reason, const char *path)
{
    kprintf("%s: error %s (%d): %s: %s\n", cmd, errno_name(err), err, reason, path);
    return 1;
}

/* The reason an errno gives for a path: strerror's, said more closely
 * where the ramfs means something particular by it. */
static const char *path_reason(int err)
{
    switch (-err) {
    case ENOSPC: return "no space left: out of memory";
    case EBUSY: return "the root cannot be removed";
    case ETXTBSY: return "text file busy: a running program's image";
    default: return errno_reason(err);
    }
}

static int path_error(const char *cmd, int err, const char *path)
{
    return report(cmd, err, path_reason(err), path);
}

/* "drwxr-xr-x", as ls -l writes it. */
static void mode_string(const struct inode *ino, char mode[11])
{
    static const char bits[] = "rwxrwxrwx";
    mode[0] = S_ISDIR(ino->mode) ? 'd' : '-';
    for (int i = 0; i < 9; i++)
        mode[1 + i] = (ino->mode & (0400u >> i)) ? bits[i] : '-';
    mode[10] = 0;
}

static void print_entry(const struct inode *ino, const char *name)
{
    char mode[11];
    mode_string(ino, mode);
    kprintf("%s %8u %s\n", mode, ino->size, name);
}

static int cmd_ls(int argc, char **argv)
{
    if (argc > 2)
        return shell_usage(argv[0]);
    const char *path = argc == 2 ? argv[1] : "/";
    struct inode *ino;
    int err = path_lookup("/", path, &ino);
    if (err)
        return path_error("ls", err, path);
    if (!S_ISDIR(ino->mode)) {
        print_entry(ino, path);
        return 0;
    }
    if ((err = dir_populate(ino)) != 0)
        return path_error("ls", err, path);
    struct inode *child;
    const char *name;
    for (uint32_t pos = 2; (name = dir_entry_at(ino, &pos, &child)); pos++)
        print_entry(child, name);
    return 0;
}
SHELL_COMMAND(ls, "[PATH]", "list a directory (mode, size, name)", cmd_ls);

static int cmd_cat(int argc, char **argv)
{
    if (argc != 2)
        return shell_usage(argv[0]);
    struct file *f;
    int err = vfs_open("/", argv[1], O_RDONLY, 0, &f);
    if (!err && S_ISDIR(f->inode->mode)) {
        file_put(f);
        err = -EISDIR;
    }
    if (err)
        return path_error("cat", err, argv[1]);
    char buf[128];
    int32_t n;
    char last = '\n';
    while ((n = f->ops->read(f, io_kernel(buf), sizeof(buf))) > 0) {
        for (int32_t i = 0; i < n; i++) {
            if (buf[i] == '\n')
                serial_putc('\r');
            serial_putc(buf[i]);
        }
        last = buf[n - 1];
    }
    if (last != '\n')
        kprintf("\n");
    file_put(f);
    return n < 0 ? report("cat", n, "read failed", argv[1]) : 0;
}
SHELL_COMMAND(cat, "PATH", "print a file", cmd_cat);

static int cmd_write(int argc, char **argv)
{
    if (argc < 3)
        return shell_usage(argv[0]);
    struct file *f;
    int err = vfs_open("/", argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644, &f);
    if (err)
        return path_error("write", err, argv[1]);
    uint32_t total = 0;
    for (int i = 2; i < argc && !err; i++) {
        int32_t n = f->ops->write(f, io_kernel(argv[i]), strlen(argv[i]));
        if (n >= 0 && i + 1 < argc)
            n = f->ops->write(f, io_kernel(" "), 1);
        err = n < 0 ? n : 0;
        total = f->pos;
    }
    file_put(f);
    if (err)
        return path_error("write", err, argv[1]);
    kprintf("write: %u byte%s to %s\n", total, total == 1 ? "" : "s", argv[1]);
    return 0;
}
SHELL_COMMAND(write, "PATH TEXT...", "create or replace a file with TEXT (words joined by spaces)",
              cmd_write);

static int cmd_rm(int argc, char **argv)
{
    if (argc != 2)
        return shell_usage(argv[0]);
    int err = vfs_unlink("/", argv[1]);
    return err ? path_error("rm", err, argv[1]) : 0;
}
SHELL_COMMAND(rm, "PATH", "remove a file (its data goes with the last open file or mapping)",
              cmd_rm);

static int cmd_mkdir(int argc, char **argv)
{
    if (argc != 2)
        return shell_usage(argv[0]);
    int err = vfs_mkdir("/", argv[1], 0755);
    return err ? path_error("mkdir", err, argv[1]) : 0;
}
SHELL_COMMAND(mkdir, "PATH", "make a directory", cmd_mkdir);

static int cmd_rmdir(int argc, char **argv)
{
    if (argc != 2)
        return shell_usage(argv[0]);
    int err = vfs_rmdir("/", argv[1]);
    return err ? path_error("rmdir", err, argv[1]) : 0;
}
SHELL_COMMAND(rmdir, "PATH", "remove an empty directory", cmd_rmdir);

static int cmd_stat(int argc, char **argv)
{
    if (argc != 2)
        return shell_usage(argv[0]);
    struct inode *ino;
    int err = path_lookup("/", argv[1], &ino);
    if (!err && S_ISDIR(ino->mode))
        err = dir_populate(ino);          /* its links count the subdirectories in it */
    if (err)
        return path_error("stat", err, argv[1]);
    uint32_t dirty = 0;
    for (uint32_t i = 0; i < ino->npages; i++)
        dirty += page_is_dirty(ino->pages[i]);
    char mode[11];
    mode_string(ino, mode);
    kprintf("inode: %u\n", ino->ino);
    kprintf("mode: %s\n", mode);
    kprintf("links: %u\n", ino->nlink);
    kprintf("size: %u\n", ino->size);
    kprintf("cached_frames: %u\n", ino->cached);
    kprintf("dirty_frames: %u\n", dirty);
    return 0;
}
SHELL_COMMAND(stat, "PATH", "a file's inode, size and page-cache frames (cached, dirty)", cmd_stat);

static const char *prot_string(uint32_t prot, char *buf)
{
    buf[0] = (prot & ELF_PROT_READ) ? 'r' : '-';
    buf[1] = (prot & ELF_PROT_WRITE) ? 'w' : '-';
    buf[2] = (prot & ELF_PROT_EXEC) ? 'x' : '-';
    buf[3] = 0;
    return buf;
}

/* The whole of a regular file, read through the VFS into a kmalloc'd
 * buffer: elf_plan checks every segment against the file's length. 0, or
 * the error reported. */
static int read_whole(const char *cmd, const char *path, uint8_t **image, uint32_t *size)
{
    struct file *f;
    int err = vfs_open("/", path, O_RDONLY, 0, &f);
    if (!err && S_ISDIR(f->inode->mode)) {
        file_put(f);
        err = -EISDIR;
    }
    if (err)
        return path_error(cmd, err, path);
    *size = f->inode->size;
    *image = kmalloc(*size ? *size : 1);
    int32_t got = *image ? f->ops->read(f, io_kernel(*image), *size) : -ENOMEM;
    file_put(f);
    if (got == (int32_t)*size)
        return 0;
    kfree(*image);
    if (got == -ENOMEM)
        return report(cmd, got, "out of memory for the file", path);
    return report(cmd, got < 0 ? got : -EIO, "the file could not be read whole", path);
}

static int cmd_elfinfo(int argc, char **argv)
{
    if (argc != 2)
        return shell_usage(argv[0]);
    /* Opened as typed, so each component is walked ("/bin/hello/.." is
     * ENOTDIR); the canonical form only names the file it found. */
    uint8_t *image;
    uint32_t size;
    if (read_whole("elfinfo", argv[1], &image, &size))
        return 1;
    char path[FS_PATH_MAX];
    path_canonical("/", argv[1], path);
    struct elf_plan plan;
    int r = elf_plan(image, size, &plan);
    kfree(image);
    if (r < 0) {
        if (plan.bad_segment >= 0)
            kprintf("elfinfo: error %s (%d): %s (program header %d): %s\n", errno_name(-ENOEXEC),
                    -ENOEXEC, elf_strerror(r), plan.bad_segment, argv[1]);
        else
            report("elfinfo", -ENOEXEC, elf_strerror(r), argv[1]);
        return 1;
    }
    kprintf("%s: static i386 executable, entry 0x%08x, %u segments, brk 0x%08x\n", path,
            plan.entry, plan.nsegments, plan.brk_start);
    for (uint32_t i = 0; i < plan.nsegments; i++) {
        const struct elf_segment *s = &plan.seg[i];
        char prot[4];
        kprintf("  load 0x%08x memsz 0x%06x offset 0x%06x filesz 0x%06x %s\n", s->vaddr, s->memsz,
                s->offset, s->filesz, prot_string(s->prot, prot));
    }
    return 0;
}
SHELL_COMMAND(elfinfo, "PATH", "check an executable and print its load plan", cmd_elfinfo);
