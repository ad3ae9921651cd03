/* elf.h — checking a static i386 executable and planning its load.
 *
 * Pure C over a byte buffer (no kernel globals, no printing, no mapping),
 * compiled for the host too and fuzzed there. elf_plan accepts exactly what
 * KOS can run: ELFCLASS32, little-endian, ET_EXEC, EM_386, PT_LOAD segments
 * inside user space [ELF_USER_START, ELF_USER_END) and below the stack exec
 * maps at its top, each within the file, filesz <= memsz, no two sharing a
 * byte of memory, and the entry point inside an executable segment. The plan says what to map; the process code
 * maps it.
 */
#ifndef KOS_ELF_H
#define KOS_ELF_H

#include <stdint.h>

#define ELF_USER_START 0x40000000u
#define ELF_USER_END   0xC0000000u
/* exec maps the first ELF_STACK_INITIAL bytes of the stack right below
 * ELF_USER_END (MAP_FIXED): a segment there would share its pages with the
 * stack, each overwriting the other. */
#define ELF_STACK_INITIAL 0x4000u
#define ELF_MAX_SEGMENTS 8

#define ELF_PROT_READ  0x1     /* the values of PROT_READ/WRITE/EXEC */
#define ELF_PROT_WRITE 0x2
#define ELF_PROT_EXEC  0x4

enum {
    ELF_OK = 0,
    ELF_E_TRUNCATED = -1,     /* shorter than its headers say */
    ELF_E_MAGIC = -2,         /* no \x7fELF */
    ELF_E_CLASS = -3,         /* not ELFCLASS32 */
    ELF_E_ENDIAN = -4,        /* not little-endian */
    ELF_E_VERSION = -5,       /* not EV_CURRENT */
    ELF_E_TYPE = -6,          /* not ET_EXEC */
    ELF_E_MACHINE = -7,       /* not EM_386 */
    ELF_E_PHDR = -8,          /* program headers of a size other than 32 bytes, or none */
    ELF_E_NO_LOAD = -9,       /* no PT_LOAD segment */
    ELF_E_TOO_MANY = -10,     /* more than ELF_MAX_SEGMENTS PT_LOAD segments */
    ELF_E_FILESZ = -11,       /* p_filesz > p_memsz */
    ELF_E_OUTSIDE_FILE = -12, /* segment bytes beyond the end of the file */
    ELF_E_OUTSIDE_USER = -13, /* segment outside user space, or wrapping */
    ELF_E_ALIGN = -14,        /* p_vaddr and p_offset differ modulo the page size */
    ELF_E_OVERLAP = -15,      /* two segments share bytes of memory */
    ELF_E_ENTRY = -16,        /* entry point outside every executable segment */
    ELF_E_INTERP = -17,       /* PT_INTERP or PT_DYNAMIC: not a static executable */
    ELF_E_STACK = -18,        /* segment reaching into the initial stack */
};

struct elf_segment {
    uint32_t vaddr;            /* p_vaddr */
    uint32_t memsz;
    uint32_t offset;           /* p_offset */
    uint32_t filesz;
    uint32_t prot;             /* ELF_PROT_* from p_flags */
};

struct elf_plan {
    uint32_t entry;
    uint32_t nsegments;
    struct elf_segment seg[ELF_MAX_SEGMENTS];   /* sorted by vaddr */
    uint32_t brk_start;        /* page-aligned end of the highest segment */
    int bad_segment;           /* index of the program header at fault, or -1 */
};

/* Check image[0, len) and fill *plan: ELF_OK or an ELF_E_* code. */
int elf_plan(const void *image, uint32_t len, struct elf_plan *plan);

/* One line saying what an ELF_E_* code means. */
const char *elf_strerror(int err);

#endif
