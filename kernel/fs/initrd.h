/* initrd.h — the files of the initial ramdisk (the first Multiboot module,
 * a ustar archive), read-only and straight from the archive.
 *
 * Paths are absolute ("/etc/motd"); "/" is the root directory. The module's
 * frames stay reserved in the memory map, so the data pointers are valid for
 * as long as the kernel runs. Lookups go through an index of the entries
 * that the boot's one check of the archive builds in the heap.
 */
#ifndef KOS_INITRD_H
#define KOS_INITRD_H

#include <stdint.h>
#include "../arch/multiboot.h"
#include "limits.h"
#include "ustar.h"

struct initrd_file {
    const char *path;      /* absolute, no trailing '/' ("/" for the root); lives as the index */
    const uint8_t *data;
    uint32_t size;
    uint32_t mode;         /* permission bits */
    int is_dir;
};

/* Find the first module, move it clear of the heap and stack regions if
 * it lies in them, and reserve its frames in the memory map. Call after
 * physmem_init and before the heap and the frame allocators start. A
 * missing module, or one that cannot be placed, is reported and ignored. */
void initrd_init(const struct multiboot_info *mbi);

/* Check the archive initrd_init placed, header by header, indexing its
 * entries as it goes (in the heap: call after memory_init), and print one
 * line. A garbage archive, or no memory for the index, is reported and
 * the kernel goes on without an initrd. An entry whose path open() would
 * refuse as too long (FS_PATH_MAX, FS_NAME_MAX: limits.h) is reported and
 * skipped, the rest kept. */
void initrd_scan(void);

/* Is an archive in use? */
int initrd_present(void);

/* Look up an absolute path: 0 and *f, or -ENOENT (also when no archive is
 * in use), -ENAMETOOLONG (as open() says it). */
int initrd_find(const char *path, struct initrd_file *f);

/* Call fn for every entry whose parent directory is dir (an absolute path),
 * in archive order; returns the number of calls, or -ENOENT / -ENOTDIR for
 * a dir that is missing or a file. */
int initrd_foreach(const char *dir, void (*fn)(const struct initrd_file *f, void *arg), void *arg);

#endif
