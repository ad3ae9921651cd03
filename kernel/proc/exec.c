/* exec.c — loading a program from the filesystem into a fresh address
 * space: the ELF plan (elf.c) checked first, PT_LOAD segments mapped
 * MAP_PRIVATE from the file's page cache (text pages are the cache's
 * frames, shared by every process running the program; data pages are
 * copied on their first write), bss anonymous, a MAP_GROWSDOWN stack
 * whose top is USER_STACK_TOP holding argc, argv, envp and the auxiliary
 * vector as Linux lays them out,
 * and the brk heap starting after the highest segment.
 *
 * The initial stack, from USER_STACK_TOP down (Linux's fs/binfmt_elf.c):
 *
 *     the argument and environment strings, NUL-terminated
 *     padding so that esp ends 16-byte aligned
 *     auxv: (type, value) pairs ending with AT_NULL
 *     envp[0..n-1], NULL
 *     argv[0..argc-1], NULL
 *     argc                      <- esp
 */
#include <stdint.h>
#include "proc.h"
#include "elf.h"
#include "../arch/gdt.h"
#include "../fs/mmap.h"
#include "../fs/vfs.h"
#include "../include/errno.h"
#include "../include/mman.h"
#include "../lib/string.h"
#include "../mm/highmem.h"
#include "../mm/memory.h"
#include "../mm/vm/mm.h"

#define USER_STACK_TOP   ELF_USER_END
#define STACK_INITIAL    ELF_STACK_INITIAL /* mapped at exec; the rest grows on faults */
#define ARG_SPACE        0x1000u          /* strings and vectors: one page */
#define ARG_MAX_COUNT    64u

#define AT_NULL   0
#define AT_PHDR   3
#define AT_PHENT  4
#define AT_PHNUM  5
#define AT_PAGESZ 6
#define AT_ENTRY  9
#define AT_UID    11
#define AT_EUID   12
#define AT_GID    13
#define AT_EGID   14

/* Copy n bytes to va in mm (loaded or not), faulting the pages in for a
 * write. 0 or -ENOMEM. */
static int mm_write(struct mm *mm, uint32_t va, const void *src, uint32_t n)
{
    const uint8_t *s = src;
    while (n) {
        uint32_t page = va & PAGE_ADDR_MASK, off = va - page;
        uint32_t chunk = PAGE_SIZE - off < n ? PAGE_SIZE - off : n;
        if (vm_fault(mm, page, ACCESS_WRITE) != FAULT_NONE)
            return -ENOMEM;
        pte_t *pte = pgtable_entry(mm, page, 0);
        struct page *frame = page_lookup(*pte & PTE_ADDR);
        uint8_t *dst = kmap(frame);
        memcpy(dst + off, s, chunk);
        kunmap(dst);
        va += chunk;
        s += chunk;
        n -= chunk;
    }
    return 0;
}

static uint32_t round_up(uint32_t v)
{
    return (v + PAGE_SIZE - 1) & PAGE_ADDR_MASK;
}

static uint32_t read_u32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint32_t read_u16(const uint8_t *p) { return p[0] | p[1] << 8; }

/* Where the program headers are in memory (AT_PHDR), or 0. */
static uint32_t phdr_address(const uint8_t *image, const struct elf_plan *plan)
{
    uint32_t phoff = read_u32(image + 28);
    for (uint32_t i = 0; i < plan->nsegments; i++) {
        const struct elf_segment *s = &plan->seg[i];
        if (phoff >= s->offset && phoff < s->offset + s->filesz)
            return s->vaddr + (phoff - s->offset);
    }
    return 0;
}

static const uint8_t zeros[PAGE_SIZE];

/* One segment: its pages holding file bytes mapped from the file, the rest
 * anonymous; bytes in a page shared with the segment below (mapped by it)
 * and the bss part of the last file page are written in, copying those
 * pages. The mapping is PROT_RW until map_segments sets the protections. */
static int map_segment(struct mm *mm, struct file *f, const uint8_t *image,
                       const struct elf_segment *s, uint32_t mapped_end, const char **why)
{
    uint32_t start = s->vaddr & PAGE_ADDR_MASK, end = round_up(s->vaddr + s->memsz);
    uint32_t file_end = round_up(s->vaddr + s->filesz);
    uint32_t first = start < mapped_end ? mapped_end : start;
    if (s->filesz && first < file_end) {
        int32_t r = fs_mmap_image(mm, f, first, file_end - first, (s->offset & PAGE_ADDR_MASK) + (first - start));
        if (vm_mmap_failed(r)) {
            *why = mm->why;
            return r;                    /* ENOMEM, or ETXTBSY: the file is open for writing */
        }
    }
    uint32_t anon = s->filesz && file_end > first ? file_end : first;
    if (anon < end &&
        vm_mmap_failed(vm_mmap(mm, anon, end - anon, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED))) {
        *why = mm->why;
        return -ENOMEM;
    }
    if (s->filesz && s->vaddr < mapped_end) {
        uint32_t n = mapped_end - s->vaddr < s->filesz ? mapped_end - s->vaddr : s->filesz;
        if (mm_write(mm, s->vaddr, image + s->offset, n)) {
            *why = "out of memory while copying a segment";
            return -ENOMEM;
        }
    }
    uint32_t data_end = s->vaddr + s->filesz, bss_end = s->vaddr + s->memsz;
    uint32_t tail = (bss_end < file_end ? bss_end : file_end) - data_end;
    if (s->filesz && s->memsz > s->filesz && data_end >= first && tail && mm_write(mm, data_end, zeros, tail)) {
        *why = "out of memory while clearing a segment's bss";
        return -ENOMEM;
    }
    return 0;
}

static int map_segments(struct mm *mm, struct file *f, const uint8_t *image, const struct elf_plan *plan,
                        const char **why)
{
    uint32_t mapped_end = 0;
    for (uint32_t i = 0; i < plan->nsegments; i++) {
        const struct elf_segment *s = &plan->seg[i];
        int err = map_segment(mm, f, image, s, mapped_end, why);
        if (err)
            return err;
        uint32_t end = round_up(s->vaddr + s->memsz);
        mapped_end = end > mapped_end ? end : mapped_end;
    }
    for (uint32_t i = 0; i < plan->nsegments; i++) {
        const struct elf_segment *s = &plan->seg[i];
        uint32_t start = s->vaddr & PAGE_ADDR_MASK;
        vm_mprotect(mm, start, round_up(s->vaddr + s->memsz) - start, s->prot);
    }
    return 0;
}

/* Lay out argc/argv/envp/auxv in buf (ARG_SPACE bytes standing for
 * [USER_STACK_TOP - ARG_SPACE, USER_STACK_TOP)); *sp is the initial esp. */
static int build_args(uint8_t *buf, char *const argv[], char *const envp[], const uint32_t *auxv,
                      uint32_t nauxv, uint32_t *sp)
{
    uint32_t argc = 0, envc = 0;
    while (argv && argv[argc])
        argc++;
    while (envp && envp[envc])
        envc++;
    if (argc + envc > ARG_MAX_COUNT)
        return -E2BIG;
    uint32_t vectors = (1 + argc + 1 + envc + 1 + nauxv) * 4;
    uint32_t str = ARG_SPACE;            /* strings grow down from the top */
    uint32_t ptrs[ARG_MAX_COUNT];
    for (uint32_t i = 0; i < argc + envc; i++) {
        const char *s = i < argc ? argv[i] : envp[i - argc];
        uint32_t n = strlen(s) + 1;
        if (n + vectors + 16 > str)
            return -E2BIG;
        str -= n;
        memcpy(buf + str, s, n);
        ptrs[i] = USER_STACK_TOP - ARG_SPACE + str;
    }
    uint32_t at = (str - vectors) & ~15u;
    uint32_t *v = (uint32_t *)(buf + at);
    *sp = USER_STACK_TOP - ARG_SPACE + at;
    *v++ = argc;
    for (uint32_t i = 0; i < argc; i++)
        *v++ = ptrs[i];
    *v++ = 0;
    for (uint32_t i = 0; i < envc; i++)
        *v++ = ptrs[argc + i];
    *v++ = 0;
    memcpy(v, auxv, nauxv * 4);
    return 0;
}

static void exec_close(struct file *f, uint8_t *image)
{
    kfree(image);
    file_put(f);
}

/* Open path (absolute) and read it whole into *image (kmalloc'd: the ELF
 * planner checks the bytes, the page cache supplies the mappings). */
static int exec_open(const char *path, struct file **f, uint8_t **image, const char **why)
{
    int err = vfs_open("/", path, O_RDONLY, 0, f);
    if (err) {
        *why = err == -ENOENT ? "no such file" : err == -ENOTDIR ? "not a directory on the way" :
               "path too long";
        return err;
    }
    struct inode *ino = (*f)->inode;
    if (S_ISDIR(ino->mode)) {
        *why = "is a directory";
        file_put(*f);
        return -EACCES;
    }
    *image = kmalloc(ino->size ? ino->size : 1);
    if (!*image) {
        *why = "out of memory for the executable's headers";
        file_put(*f);
        return -ENOMEM;
    }
    if ((*f)->ops->read(*f, io_kernel(*image), ino->size) != (int32_t)ino->size) {
        *why = "the file could not be read whole";
        exec_close(*f, *image);
        return -EIO;
    }
    return 0;
}

int exec_load(const char *path, char *const argv[], char *const envp[],
              const struct rlimit *limits, struct exec_image *out, const char **why)
{
    struct file *file;
    uint8_t *image = 0;
    int err = exec_open(path, &file, &image, why);
    if (err)
        return err;
    uint32_t size = file->inode->size;
    struct elf_plan plan;
    int bad = elf_plan(image, size, &plan);
    if (bad != ELF_OK) {
        *why = elf_strerror(bad);
        exec_close(file, image);
        return -ENOEXEC;
    }
    struct mm *mm = mm_create();
    if (!mm) {
        *why = "out of memory for an address space";
        exec_close(file, image);
        return -ENOMEM;
    }
    mm->limit_as = limits[RLIMIT_AS].rlim_cur;
    mm->limit_stack = limits[RLIMIT_STACK].rlim_cur;
    err = map_segments(mm, file, image, &plan, why);
    if (!err && vm_mmap_failed(vm_mmap(mm, USER_STACK_TOP - STACK_INITIAL, STACK_INITIAL, PROT_RW,
                                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN))) {
        *why = mm->why;
        err = -ENOMEM;
    }
    uint32_t auxv[] = {
        AT_PHDR, phdr_address(image, &plan), AT_PHENT, 32, AT_PHNUM, read_u16(image + 44),
        AT_PAGESZ, PAGE_SIZE, AT_ENTRY, plan.entry, AT_UID, 0, AT_EUID, 0, AT_GID, 0, AT_EGID, 0,
        AT_NULL, 0,
    };
    uint8_t *buf = 0;
    if (!err) {
        struct page *pg = alloc_page(VM_GFP_USER);
        buf = pg ? kmap(pg) : 0;
        if (!buf) {
            *why = "out of memory for the arguments";
            err = -ENOMEM;
        } else if ((err = build_args(buf, argv, envp, auxv, sizeof(auxv) / 4, &out->sp)) != 0) {
            *why = "too many or too long arguments";
        } else if (mm_write(mm, USER_STACK_TOP - ARG_SPACE, buf, ARG_SPACE)) {
            *why = "out of memory for the stack";
            err = -ENOMEM;
        }
        if (pg) {
            kunmap(buf);
            free_page(pg);
        }
    }
    exec_close(file, image);           /* the mappings hold the file's inode */
    if (err) {
        mm_destroy(mm);
        return err;
    }
    out->mm = mm;
    out->entry = plan.entry;
    out->brk_start = plan.brk_start;
    return 0;
}

void exec_user_regs(struct regs *r, uint32_t entry, uint32_t sp)
{
    memset(r, 0, sizeof(*r));
    r->ds = r->es = r->fs = r->gs = GDT_USER_DATA;
    r->ss = GDT_USER_DATA;
    r->cs = GDT_USER_CODE;
    r->eflags = 0x202;                 /* IF, and the reserved bit 1 */
    r->eip = entry;
    r->useresp = sp;
}
