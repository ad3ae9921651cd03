/* cmd_files.c — shell commands over the initrd: ls, cat, elfinfo. */
#include <stdint.h>
#include "shell.h"
#include "../dev/serial.h"
#include "../fs/initrd.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"
#include "../proc/elf.h"

static int report(const char *cmd, int err, const char *reason, const char *path)
{
    kprintf("%s: error %s (%d): %s: %s\n", cmd, errno_name(err), err, reason, path);
    return 1;
}

static int find_or_report(const char *cmd, const char *path, struct initrd_file *f)
{
    int r = initrd_find(path, f);
    if (r == -ENOENT)
        return report(cmd, r, initrd_present() ? "no such file in the initrd" : "no initrd", path);
    if (r < 0)
        return report(cmd, r, "path too long", path);
    return 0;
}

static void print_entry(const struct initrd_file *f, const char *name)
{
    static const char bits[] = "rwxrwxrwx";
    char mode[11];
    mode[0] = f->is_dir ? 'd' : '-';
    for (int i = 0; i < 9; i++)
        mode[1 + i] = (f->mode & (0400u >> i)) ? bits[i] : '-';
    mode[10] = 0;
    kprintf("%s %8u %s\n", mode, f->size, name);
}

static void print_child(const struct initrd_file *f, void *arg)
{
    (void)arg;
    const char *name = f->path;
    for (const char *p = f->path; *p; p++)
        if (*p == '/')
            name = p + 1;
    print_entry(f, name);
}

static int cmd_ls(int argc, char **argv)
{
    if (argc > 2)
        return shell_usage(argv[0]);
    const char *path = argc == 2 ? argv[1] : "/";
    struct initrd_file f;
    if (find_or_report("ls", path, &f))
        return 1;
    if (!f.is_dir) {
        print_entry(&f, f.path);
        return 0;
    }
    return initrd_foreach(f.path, print_child, 0) < 0;
}
SHELL_COMMAND(ls, "[PATH]", "list a directory of the initrd (mode, size, name)", cmd_ls);

static int cmd_cat(int argc, char **argv)
{
    if (argc != 2)
        return shell_usage(argv[0]);
    struct initrd_file f;
    if (find_or_report("cat", argv[1], &f))
        return 1;
    if (f.is_dir)
        return report("cat", -EISDIR, "is a directory", argv[1]);
    for (uint32_t i = 0; i < f.size; i++) {
        if (f.data[i] == '\n')
            serial_putc('\r');
        serial_putc((char)f.data[i]);
    }
    if (f.size && f.data[f.size - 1] != '\n')
        kprintf("\n");
    return 0;
}
SHELL_COMMAND(cat, "PATH", "print a file of the initrd", cmd_cat);

static const char *prot_string(uint32_t prot, char *buf)
{
    buf[0] = (prot & ELF_PROT_READ) ? 'r' : '-';
    buf[1] = (prot & ELF_PROT_WRITE) ? 'w' : '-';
    buf[2] = (prot & ELF_PROT_EXEC) ? 'x' : '-';
    buf[3] = 0;
    return buf;
}

static int cmd_elfinfo(int argc, char **argv)
{
    if (argc != 2)
        return shell_usage(argv[0]);
    struct initrd_file f;
    if (find_or_report("elfinfo", argv[1], &f))
        return 1;
    if (f.is_dir)
        return report("elfinfo", -EISDIR, "is a directory", argv[1]);
    struct elf_plan plan;
    int r = elf_plan(f.data, f.size, &plan);
    if (r < 0) {
        if (plan.bad_segment >= 0)
            kprintf("elfinfo: error %s (%d): %s (program header %d): %s\n", errno_name(-ENOEXEC),
                    -ENOEXEC, elf_strerror(r), plan.bad_segment, argv[1]);
        else
            report("elfinfo", -ENOEXEC, elf_strerror(r), argv[1]);
        return 1;
    }
    kprintf("%s: static i386 executable, entry 0x%08x, %u segments, brk 0x%08x\n", f.path,
            plan.entry, plan.nsegments, plan.brk_start);
    for (uint32_t i = 0; i < plan.nsegments; i++) {
        const struct elf_segment *s = &plan.seg[i];
        char prot[4];
        kprintf("  load 0x%08x memsz 0x%06x offset 0x%06x filesz 0x%06x %s\n", s->vaddr, s->memsz,
                s->offset, s->filesz, prot_string(s->prot, prot));
    }
    return 0;
}
SHELL_COMMAND(elfinfo, "PATH", "check an executable of the initrd and print its load plan", cmd_elfinfo);
