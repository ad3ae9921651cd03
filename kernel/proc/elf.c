/* elf.c — the ELF32 header and program header checks behind elf_plan
 * (see elf.h). Fields are read byte by byte: the image may sit at any
 * alignment and its values are untrusted until checked. */
#include "elf.h"

#define EHDR_SIZE   52u
#define PHDR_SIZE   32u
#define PAGE        0x1000u

#define ET_EXEC     2
#define EM_386      3
#define PT_LOAD     1
#define PT_DYNAMIC  2
#define PT_INTERP   3
#define PF_X        0x1
#define PF_W        0x2
#define PF_R        0x4

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int check_header(const uint8_t *b, uint32_t len)
{
    if (len < 16)
        return ELF_E_TRUNCATED;
    if (b[0] != 0x7F || b[1] != 'E' || b[2] != 'L' || b[3] != 'F')
        return ELF_E_MAGIC;
    if (b[4] != 1)
        return ELF_E_CLASS;
    if (b[5] != 1)
        return ELF_E_ENDIAN;
    if (b[6] != 1)
        return ELF_E_VERSION;
    if (len < EHDR_SIZE)
        return ELF_E_TRUNCATED;
    if (rd16(b + 16) != ET_EXEC)
        return ELF_E_TYPE;
    if (rd16(b + 18) != EM_386)
        return ELF_E_MACHINE;
    if (rd32(b + 20) != 1)
        return ELF_E_VERSION;
    uint32_t phoff = rd32(b + 28), phentsize = rd16(b + 42), phnum = rd16(b + 44);
    if (phentsize != PHDR_SIZE || phnum == 0)
        return ELF_E_PHDR;
    if (phoff > len || phnum * PHDR_SIZE > len - phoff)
        return ELF_E_TRUNCATED;
    return ELF_OK;
}

static int check_segment(const uint8_t *ph, uint32_t len, struct elf_segment *s)
{
    uint32_t offset = rd32(ph + 4), vaddr = rd32(ph + 8);
    uint32_t filesz = rd32(ph + 16), memsz = rd32(ph + 20), flags = rd32(ph + 24);
    if (filesz > memsz)
        return ELF_E_FILESZ;
    if (offset > len || filesz > len - offset)
        return ELF_E_OUTSIDE_FILE;
    if (vaddr < ELF_USER_START || vaddr >= ELF_USER_END || memsz > ELF_USER_END - vaddr)
        return ELF_E_OUTSIDE_USER;
    if (vaddr + memsz > ELF_USER_END - ELF_STACK_INITIAL)       /* no wrap: memsz fits above */
        return ELF_E_STACK;
    if ((vaddr ^ offset) & (PAGE - 1))
        return ELF_E_ALIGN;
    s->vaddr = vaddr;
    s->memsz = memsz;
    s->offset = offset;
    s->filesz = filesz;
    s->prot = ((flags & PF_R) ? ELF_PROT_READ : 0) | ((flags & PF_W) ? ELF_PROT_WRITE : 0) |
              ((flags & PF_X) ? ELF_PROT_EXEC : 0);
    return ELF_OK;
}

/* Insert s keeping plan->seg sorted by vaddr; ELF_E_OVERLAP if it shares a
 * byte with a neighbour. */
static int insert_segment(struct elf_plan *plan, const struct elf_segment *s)
{
    uint32_t i = plan->nsegments;
    while (i > 0 && plan->seg[i - 1].vaddr > s->vaddr) {
        plan->seg[i] = plan->seg[i - 1];
        i--;
    }
    plan->seg[i] = *s;
    plan->nsegments++;
    if (i > 0 && plan->seg[i - 1].vaddr + plan->seg[i - 1].memsz > s->vaddr)
        return ELF_E_OVERLAP;
    if (i + 1 < plan->nsegments && s->vaddr + s->memsz > plan->seg[i + 1].vaddr)
        return ELF_E_OVERLAP;
    return ELF_OK;
}

int elf_plan(const void *image, uint32_t len, struct elf_plan *plan)
{
    const uint8_t *b = image;
    plan->nsegments = 0;
    plan->entry = 0;
    plan->brk_start = 0;
    plan->bad_segment = -1;
    int r = check_header(b, len);
    if (r < 0)
        return r;
    uint32_t phoff = rd32(b + 28), phnum = rd16(b + 44);
    for (uint32_t i = 0; i < phnum; i++) {
        const uint8_t *ph = b + phoff + i * PHDR_SIZE;
        uint32_t type = rd32(ph);
        plan->bad_segment = (int)i;
        if (type == PT_INTERP || type == PT_DYNAMIC)
            return ELF_E_INTERP;
        if (type != PT_LOAD)
            continue;
        if (plan->nsegments == ELF_MAX_SEGMENTS)
            return ELF_E_TOO_MANY;
        struct elf_segment s;
        if ((r = check_segment(ph, len, &s)) < 0)
            return r;
        if (s.memsz == 0)
            continue;
        if ((r = insert_segment(plan, &s)) < 0)
            return r;
    }
    plan->bad_segment = -1;
    if (plan->nsegments == 0)
        return ELF_E_NO_LOAD;
    uint32_t entry = rd32(b + 24);
    int inside = 0;
    for (uint32_t i = 0; i < plan->nsegments; i++) {
        const struct elf_segment *s = &plan->seg[i];
        if ((s->prot & ELF_PROT_EXEC) && entry >= s->vaddr && entry - s->vaddr < s->memsz)
            inside = 1;
    }
    if (!inside)
        return ELF_E_ENTRY;
    plan->entry = entry;
    const struct elf_segment *top = &plan->seg[plan->nsegments - 1];
    uint32_t end = top->vaddr + top->memsz;      /* <= ELF_USER_END: no overflow */
    plan->brk_start = (end + PAGE - 1) & ~(PAGE - 1);
    return ELF_OK;
}

const char *elf_strerror(int err)
{
    switch (err) {
    case ELF_OK: return "ok";
    case ELF_E_TRUNCATED: return "truncated: shorter than its headers say";
    case ELF_E_MAGIC: return "not an ELF file (bad magic)";
    case ELF_E_CLASS: return "not a 32-bit ELF file (ELFCLASS32)";
    case ELF_E_ENDIAN: return "not little-endian";
    case ELF_E_VERSION: return "unknown ELF version";
    case ELF_E_TYPE: return "not an executable (ET_EXEC)";
    case ELF_E_MACHINE: return "not an i386 executable (EM_386)";
    case ELF_E_STACK: return "a segment reaches into the stack (0xbfffc000-0xc0000000)";
    case ELF_E_PHDR: return "no program headers, or not 32 bytes each";
    case ELF_E_NO_LOAD: return "no PT_LOAD segment";
    case ELF_E_TOO_MANY: return "too many PT_LOAD segments";
    case ELF_E_FILESZ: return "a segment's file size exceeds its memory size";
    case ELF_E_OUTSIDE_FILE: return "a segment's bytes lie beyond the end of the file";
    case ELF_E_OUTSIDE_USER: return "a segment lies outside user space (0x40000000-0xc0000000)";
    case ELF_E_ALIGN: return "a segment's address and file offset differ modulo the page size";
    case ELF_E_OVERLAP: return "two segments overlap";
    case ELF_E_ENTRY: return "the entry point is outside every executable segment";
    case ELF_E_INTERP: return "dynamically linked (PT_INTERP or PT_DYNAMIC)";
    default: return "unknown error";
    }
}
