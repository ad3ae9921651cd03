/* cmd_vm.c — shell commands over the shell's own user address space:
 * mmap (anonymous or of a file), munmap, mprotect, msync, maps (also of
 * any process), exec, vmstat and wx (peek and poke, in cmd_memory.c, reach
 * user addresses through the same fault-safe path).
 * Failures print "cmd: error ENAME (-N): why", as every command does. */
#include <stdint.h>
#include "shell.h"
#include "cmd_vm.h"
#include "../fs/mmap.h"
#include "../fs/vfs.h"
#include "../include/errno.h"
#include "../include/mman.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"
#include "../mm/vm/mm.h"
#include "../mm/vm/uaccess.h"
#include "../proc/proc.h"

static int refused(const char *cmd, int err, const char *why)
{
    kprintf("%s: error %s (%d): %s\n", cmd, errno_name(err), err, why);
    return 1;
}

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 'a' - 'A' : c; }

/* Case-insensitive compare of s[0..n) with the NUL-terminated word. */
static int word_is(const char *s, unsigned n, const char *word)
{
    unsigned i = 0;
    for (; i < n && word[i]; i++)
        if (lower(s[i]) != word[i])
            return 0;
    return i == n && word[i] == '\0';
}

/* Hex with or without 0x. */
static int parse_hex(const char *s, uint32_t *out)
{
    if (s[0] == '0' && lower(s[1]) == 'x')
        s += 2;
    uint32_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        int c = lower(*s), d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return -1;
        if (v >> 28)
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* "none", or letters of rwx (with '-' placeholders). */
static int parse_prot(const char *s, uint32_t *prot)
{
    *prot = 0;
    if (word_is(s, strlen(s), "none"))
        return 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        switch (lower(*s)) {
        case 'r': *prot |= PROT_READ; break;
        case 'w': *prot |= PROT_WRITE; break;
        case 'x': *prot |= PROT_EXEC; break;
        case '-': break;
        default: return -1;
        }
    }
    return 0;
}

static const struct { const char *name; uint32_t bit; } flag_names[] = {
    { "private", MAP_PRIVATE }, { "shared", MAP_SHARED }, { "anonymous", MAP_ANONYMOUS },
    { "fixed", MAP_FIXED }, { "populate", MAP_POPULATE }, { "locked", MAP_LOCKED },
    { "growsdown", MAP_GROWSDOWN },
};

/* Names joined by '|' or ','; an optional MAP_ prefix; any case. On an
 * unknown name, *bad points at it. */
static int parse_flags(const char *s, uint32_t *flags, const char **bad)
{
    *flags = 0;
    while (*s) {
        unsigned n = 0;
        while (s[n] && s[n] != '|' && s[n] != ',')
            n++;
        const char *w = s;
        unsigned wn = n;
        if (wn > 4 && word_is(w, 4, "map_")) {
            w += 4;
            wn -= 4;
        }
        unsigned k = 0;
        while (k < sizeof(flag_names) / sizeof(flag_names[0]) && !word_is(w, wn, flag_names[k].name))
            k++;
        if (k == sizeof(flag_names) / sizeof(flag_names[0])) {
            *bad = s;
            return -1;
        }
        *flags |= flag_names[k].bit;
        s += n;
        if (*s)
            s++;
    }
    return 0;
}

static struct mm *shell_mm(const char *cmd)
{
    struct mm *mm = mm_current();
    if (!mm)
        kprintf("%s: the shell has no address space (no memory at boot)\n", cmd);
    return mm;
}

/* The user address space of process argv[i], or NULL after saying why not
 * (a bad PID, no such process, a kernel thread). */
static struct mm *process_mm(char **argv, int i)
{
    uint32_t pid;
    if (shell_arg_u32(argv, i, "PID", UINT32_MAX, &pid))
        return 0;
    struct proc *p = proc_find(pid);
    if (!p || p->state == PROC_ZOMBIE) {
        refused(argv[0], -ESRCH, "no such process");
        return 0;
    }
    if (!p->mm)
        refused(argv[0], -EINVAL, "a kernel thread has no user address space");
    return p->mm;
}

static int parse_range(char **argv, uint32_t *addr, uint32_t *len)
{
    if (parse_hex(argv[1], addr))
        return refused(argv[0], -EINVAL, "ADDR is not a hex address");
    if (shell_arg_u32(argv, 2, "LEN", UINT32_MAX, len)) {
        kprintf("%s: error EINVAL (%d)\n", argv[0], -EINVAL);     /* after the parser's reason */
        return 1;
    }
    return 0;
}

/* ADDR LEN, then the shell's address space: NULL after saying what is wrong. */
static struct mm *range_in_shell_mm(char **argv, uint32_t *addr, uint32_t *len)
{
    if (parse_range(argv, addr, len))
        return 0;
    return shell_mm(argv[0]);
}

/* Map PATH: opened read-write when the mapping is shared and writable,
 * else read-only, as a program would open it. */
static int32_t mmap_path(struct mm *mm, const char *path, uint32_t off, uint32_t addr, uint32_t len,
                         uint32_t prot, uint32_t flags)
{
    uint32_t mode = ((flags & MAP_SHARED) && (prot & PROT_WRITE)) ? O_RDWR : O_RDONLY;
    struct file *f;
    int err = vfs_open("/", path, mode, 0, &f);
    if (err) {
        mm->why = "cannot open the file";
        return err;
    }
    int32_t r = fs_mmap_file(mm, f, addr, len, prot, flags, off);
    file_put(f);                         /* the mapping holds the file's inode */
    return r;
}

static int cmd_mmap(int argc, char **argv)
{
    uint32_t addr, len, prot, flags, off = 0;
    const char *bad = 0;
    if (argc < 5 || argc > 7)
        return shell_usage(argv[0]);
    if (parse_range(argv, &addr, &len))
        return 1;
    if (argc == 7 && shell_arg_u32(argv, 6, "OFFSET", UINT32_MAX, &off)) {
        kprintf("mmap: error EINVAL (%d)\n", -EINVAL);           /* after the parser's reason */
        return 1;
    }
    if (parse_prot(argv[3], &prot))
        return refused(argv[0], -EINVAL, "PROT is 'none' or letters of rwx");
    if (parse_flags(argv[4], &flags, &bad)) {
        kprintf("mmap: error EINVAL (%d): unknown flag at '%s'\n", -EINVAL, bad);
        return 1;
    }
    struct mm *mm = shell_mm(argv[0]);
    if (!mm)
        return 1;
    int32_t r = argc >= 6 ? mmap_path(mm, argv[5], off, addr, len, prot, flags)
                          : vm_mmap(mm, addr, len, prot, flags);
    if (r < 0 && r > -4096)
        return refused(argv[0], r, mm->why);
    kprintf("mmap: %p\n", (void *)(uint32_t)r);
    return 0;
}
SHELL_COMMAND(mmap, "ADDR LEN PROT FLAGS [PATH [OFFSET]]",
              "map anonymous memory, or the file PATH from OFFSET, in the shell's address space",
              cmd_mmap);

static int cmd_msync(int argc, char **argv)
{
    uint32_t addr, len;
    if (argc != 3)
        return shell_usage(argv[0]);
    struct mm *mm = range_in_shell_mm(argv, &addr, &len);
    if (!mm)
        return 1;
    int err = vm_msync(mm, addr, len, MS_SYNC);
    if (err)
        return refused(argv[0], err, err == -ENOMEM ? "part of the range is not mapped"
                                                    : "the address must be page aligned");
    kprintf("msync: ok\n");
    return 0;
}
SHELL_COMMAND(msync, "ADDR LEN", "gather the dirty bits of shared file mappings into their frames",
              cmd_msync);

static int cmd_munmap(int argc, char **argv)
{
    uint32_t addr, len;
    if (argc != 3)
        return shell_usage(argv[0]);
    struct mm *mm = range_in_shell_mm(argv, &addr, &len);
    if (!mm)
        return 1;
    int err = vm_munmap(mm, addr, len);
    if (err)
        return refused(argv[0], err, mm->why);
    kprintf("munmap: ok\n");
    return 0;
}
SHELL_COMMAND(munmap, "ADDR LEN", "unmap a range of the shell's address space", cmd_munmap);

static int cmd_mprotect(int argc, char **argv)
{
    uint32_t addr, len, prot;
    if (argc != 4)
        return shell_usage(argv[0]);
    if (parse_range(argv, &addr, &len))
        return 1;
    if (parse_prot(argv[3], &prot))
        return refused(argv[0], -EINVAL, "PROT is 'none' or letters of rwx");
    struct mm *mm = shell_mm(argv[0]);
    if (!mm)
        return 1;
    int err = vm_mprotect(mm, addr, len, prot);
    if (err)
        return refused(argv[0], err, mm->why);
    kprintf("mprotect: ok\n");
    return 0;
}
SHELL_COMMAND(mprotect, "ADDR LEN PROT", "change the protection of a range", cmd_mprotect);

static int cmd_maps(int argc, char **argv)
{
    if (argc > 2)
        return shell_usage(argv[0]);
    struct mm *mm = argc == 2 ? process_mm(argv, 1) : shell_mm(argv[0]);
    if (!mm)
        return 1;
    for (uint32_t i = 0; i < mm->nr_vmas; i++) {
        const struct vma *v = &mm->vmas[i];
        char prot[5], head[64], name[FS_PATH_MAX] = "";
        vma_prot_string(v, prot);
        if (v->file)
            v->file->ops->name(v, name, sizeof(name));
        else if (v->flags & VM_GROWSDOWN)
            ksnprintf(name, sizeof(name), "[stack]");
        ksnprintf(head, sizeof(head), "%08x-%08x %s %08x 00:00 %u", v->start, v->end, prot,
                  v->pgoff << PAGE_SHIFT, v->file ? inode_of_mapping(v->file)->ino : 0u);
        /* Linux pads the fixed fields to 48 columns (on i386), then a space and the name,
         * however many digits the inode has. */
        if (name[0])
            kprintf("%-48s %s\n", head, name);
        else
            kprintf("%s\n", head);
    }
    return 0;
}
SHELL_COMMAND(maps, "[PID]", "a process's mappings (the shell's by default), as /proc/PID/maps shows them",
              cmd_maps);

void vm_report_fault(const char *cmd, uint32_t addr)
{
    char why[96];
    struct mm *mm = mm_current();
    vm_fault_describe(&mm->last_fault, why, sizeof(why));
    kprintf("%s: %p: fault: %s\n", cmd, (void *)addr, why);
}

static int cmd_exec(int argc, char **argv)
{
    uint32_t addr, result;
    if (argc != 2)
        return shell_usage(argv[0]);
    if (parse_hex(argv[1], &addr))
        return refused(argv[0], -EINVAL, "ADDR is not a hex address");
    if (!shell_mm(argv[0]))
        return 1;
    if (!paging_nx())
        kprintf("exec: PROT_EXEC is not enforced on this CPU\n");
    if (user_call(addr, &result)) {
        vm_report_fault(argv[0], mm_current()->last_fault.addr);
        return 1;
    }
    kprintf("exec: returned 0x%08x\n", result);
    return 0;
}
SHELL_COMMAND(exec, "ADDR", "call the code at ADDR (cdecl, no arguments) and print EAX", cmd_exec);

static int cmd_vmstat(int argc, char **argv)
{
    (void)argc;
    struct mm *mm = shell_mm(argv[0]);
    if (!mm)
        return 1;
    kprintf("minor_faults: %u\n", mm->minor_faults);
    kprintf("cow_faults: %u\n", mm->cow_faults);
    kprintf("pages_resident: %u\n", mm->resident_pages);
    kprintf("pages_locked: %u\n", mm->locked_pages);
    kprintf("page_table_pages: %u\n", mm->pt_pages);
    kprintf("vmas: %u\n", mm->nr_vmas);
    kprintf("virtual_size: %u\n", mm->total_pages << PAGE_SHIFT);
    kprintf("faults_not_mapped: %u\n", mm->faults[FAULT_NOT_MAPPED]);
    kprintf("faults_protection: %u\n", mm->faults[FAULT_PROTECTION]);
    kprintf("faults_stack_limit: %u\n", mm->faults[FAULT_STACK_LIMIT]);
    kprintf("faults_oom: %u\n", mm->faults[FAULT_OOM]);
    kprintf("faults_sigbus: %u\n", mm->faults[FAULT_SIGBUS]);
    kprintf("nx: %u\n", (uint32_t)paging_nx());
    kprintf("table_pool_pages: %u\n", table_pool_pages());
    kprintf("table_pool_refused: %u\n", table_pool_refusals());
    kprintf("table_pool_check: %u\n", table_pool_check());
    return 0;
}
SHELL_COMMAND(vmstat, "", "the shell address space's counters", cmd_vmstat);

/* The W^X policy (mm.h, mmap.c) of process PID's address space, or of the
 * shell's own without a PID. */
static int cmd_wx(int argc, char **argv)
{
    struct mm *mm;
    int arg = 1;
    if (argc > 1 && argv[1][0] >= '0' && argv[1][0] <= '9') {
        mm = process_mm(argv, 1);
        arg = 2;
    } else {
        mm = shell_mm(argv[0]);
    }
    if (!mm)
        return 1;
    if (argc == arg + 1 && strcmp(argv[arg], "on") == 0)
        mm_set_policy(mm, mm->policy | MM_POLICY_WX);
    else if (argc == arg + 1 && strcmp(argv[arg], "off") == 0)
        mm_set_policy(mm, mm->policy & ~MM_POLICY_WX);
    else if (argc != arg)
        return shell_usage(argv[0]);
    kprintf("wx: %s\n", (mm->policy & MM_POLICY_WX) ? "on" : "off");
    kprintf("policy_refusals: %u\n", mm->policy_refusals);
    return 0;
}
SHELL_COMMAND(wx, "[PID] [on|off]", "W^X for a process's address space (the shell's without PID)", cmd_wx);
