/* multiboot.h — the Multiboot v1 information structure (only the fields KOS
 * reads), and the kernel command line it carries. The loader passes its
 * physical address in EBX. */
#ifndef KOS_MULTIBOOT_H
#define KOS_MULTIBOOT_H

#include <stdint.h>

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u

#define MULTIBOOT_INFO_MEMORY  0x001   /* mem_lower/mem_upper valid */
#define MULTIBOOT_INFO_CMDLINE 0x004   /* cmdline valid */
#define MULTIBOOT_INFO_MODS    0x008   /* mods_count/mods_addr valid */
#define MULTIBOOT_INFO_MEM_MAP 0x040   /* mmap_addr/mmap_length valid */
#define MULTIBOOT_INFO_LOADER  0x200   /* boot_loader_name valid */

struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower;          /* KiB below 1 MiB */
    uint32_t mem_upper;          /* KiB above 1 MiB, up to the first hole */
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
} __attribute__((packed));

/* One entry of the module list at mods_addr. */
struct multiboot_module {
    uint32_t mod_start;          /* physical, first byte */
    uint32_t mod_end;            /* physical, one past the last byte */
    uint32_t string;
    uint32_t reserved;
} __attribute__((packed));

/* Entries are variable length: the next one starts size + 4 bytes later. */
struct multiboot_mmap_entry {
    uint32_t size;
    uint64_t addr;
    uint64_t len;
    uint32_t type;
} __attribute__((packed));

#define MULTIBOOT_MEMORY_AVAILABLE 1

/* Bytes of the command line kept, the NUL included; the rest is dropped. */
#define MULTIBOOT_CMDLINE_MAX 256
#define MULTIBOOT_LOADER_NAME_MAX 64

/* Copy the command line and the boot loader's name out of the loader's
 * memory (which the kernel reuses later). Call before paging and the
 * allocators start. What the loader did not give stays empty. */
void multiboot_save_strings(uint32_t magic, const struct multiboot_info *mbi);

/* The boot loader's name, as it gave it ("GRUB 2.06-13+deb12u2", "qemu"),
 * or "". */
const char *multiboot_loader_name(void);

/* The saved line: QEMU and GRUB give the kernel's path, then the options,
 * e.g. "build/kernel.elf ktest=all". */
const char *multiboot_cmdline(void);

/* The value of the option key=VALUE (words are separated by spaces) into
 * buf (NUL-terminated, cut to size). Returns its length, or -1 when the
 * line has no such option. */
int multiboot_cmdline_option(const char *key, char *buf, unsigned size);

#endif
