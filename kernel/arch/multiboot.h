/* multiboot.h — the Multiboot v1 information structure (only the fields KOS
 * reads). The loader passes its physical address in EBX. */
#ifndef KOS_MULTIBOOT_H
#define KOS_MULTIBOOT_H

#include <stdint.h>

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u

#define MULTIBOOT_INFO_MEMORY  0x001   /* mem_lower/mem_upper valid */
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

#endif
