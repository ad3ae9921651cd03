/* initrd.h — the files of the initial ramdisk (the first Multiboot module,
 * a ustar archive), read-only and straight from the archive.
 *
 * Paths are absolute ("/etc/motd"); "/" is the root directory. The module's
 * frames stay reserved in the memory map, so the data pointers are valid for
 * as long as the kernel runs.
 */
#ifndef KOS_INITRD_H
#define KOS_INITRD_H

#include <stdint.h>
#include "../arch/multiboot.h"
#include "ustar.h"

struct initrd_file {
    char path[USTAR_NAME_MAX + 1];   /* absolute, no trailing '/' ("/" for the root) */
    const uint8_t *data;
    uint32_t size;
    uint32_t mode;         /* permission bits */
    int is_dir;
};

/* Record the first module, reserve its frames in the memory map, check the
 * archive and print one line. Call after physmem_init and before anything
 * allocates frames. A missing or garbage module is reported and ignored. */
void initrd_init(const struct multiboot_info *mbi);

/* Is an archive in use? */
int initrd_present(void);

/* Look up an absolute path: 0 and *f, or -ENOENT (also when no archive is
 * in use), -ENAMETOOLONG. */
int initrd_find(const char *path, struct initrd_file *f);

/* Call fn for every entry whose parent directory is dir (an absolute path),
 * in archive order; returns the number of calls, or -ENOENT / -ENOTDIR for
 * a dir that is missing or a file. */
int initrd_foreach(const char *dir, void (*fn)(const struct initrd_file *f, void *arg), void *arg);

#endif
