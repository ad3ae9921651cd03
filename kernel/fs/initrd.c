/* initrd.c — the initial ramdisk: finding the first Multiboot module,
 * keeping its frames away from the allocators, and path lookup over its
 * ustar entries (no copies: the archive is the storage). */
#include <stdint.h>
#include "initrd.h"
#include "../include/errno.h"
#include "../include/layout.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"
#include "../mm/physmem.h"

static const uint8_t *archive;
static uint32_t archive_len;

static int overlaps(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return a < d && c < b; }

void initrd_init(const struct multiboot_info *mbi)
{
    if (!(mbi->flags & MULTIBOOT_INFO_MODS) || mbi->mods_count == 0) {
        kprintf("initrd: none (no Multiboot module)\n");
        return;
    }
    const struct multiboot_module *m = (const void *)mbi->mods_addr;
    uint32_t start = m->mod_start, end = m->mod_end;
    if (end < start || !physmem_is_usable(start, end)) {
        kprintf("initrd: refused: module 0x%08x - 0x%08x is not in usable RAM\n", start, end);
        return;
    }
    /* GRUB puts the module above its own data past the kernel, where a
     * larger archive runs into the heap at HEAP_START. Nothing of the
     * loader's is read after this point, so move the archive down next to
     * the kernel image when it fits there. */
    uint32_t low = ((uint32_t)__kernel_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    if (overlaps(start, end, HEAP_START, STACK_REGION_END) && start > low &&
        end - start <= HEAP_START - low && physmem_is_usable(low, low + (end - start))) {
        memmove((void *)low, (const void *)start, end - start);
        kprintf("initrd: moved from 0x%08x down to 0x%08x, clear of the heap\n", start, low);
        end = low + (end - start);
        start = low;
    }
    /* Reserve first: even a refused module must not be handed out while it
     * is still being read. */
    if (physmem_reserve(start & ~(PAGE_SIZE - 1), end) < 0) {
        kprintf("initrd: refused: the memory map has no room to reserve it\n");
        return;
    }
    if (overlaps(start, end, (uint32_t)__kernel_start, (uint32_t)__kernel_end) ||
        overlaps(start, end, HEAP_START, STACK_REGION_END)) {
        kprintf("initrd: refused: module 0x%08x - 0x%08x overlaps the kernel, heap or stacks\n",
                start, end);
        return;
    }
    uint32_t entries, bad;
    int r = ustar_check((const void *)start, end - start, &entries, &bad);
    if (r < 0) {
        kprintf("initrd: refused: %s (header at offset %u); booting without it\n",
                ustar_strerror(r), bad);
        return;
    }
    archive = (const uint8_t *)start;
    archive_len = end - start;

    struct ustar_iter it;
    struct ustar_entry e;
    uint32_t files = 0;
    ustar_iter_init(&it, archive, archive_len);
    while (ustar_next(&it, &e) == USTAR_ENTRY)
        files += e.type == USTAR_REGULAR;
    kprintf("initrd: 0x%08x - 0x%08x (%u KiB, %u files)\n", start, end,
            (archive_len + 1023) / 1024, files);
}

int initrd_present(void) { return archive != 0; }

/* "./bin/", "bin" and "/bin" all become "/bin"; "." and "./" become "/". */
static void normalize(const char *name, char *out)
{
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    while (name[0] == '/')
        name++;
    if (name[0] == '.' && name[1] == 0)
        name++;
    unsigned o = 0;
    out[o++] = '/';
    for (; *name && o < USTAR_NAME_MAX; name++)
        out[o++] = *name;
    while (o > 1 && out[o - 1] == '/')
        o--;
    out[o] = 0;
}

static int same(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static void fill(struct initrd_file *f, const struct ustar_entry *e)
{
    normalize(e->name, f->path);
    f->data = e->data;
    f->size = e->size;
    f->mode = e->mode;
    f->is_dir = e->type == USTAR_DIRECTORY;
}

static int path_ok(const char *path, char *norm)
{
    unsigned n = 0;
    while (path[n])
        if (++n >= USTAR_NAME_MAX)
            return -ENAMETOOLONG;
    normalize(path, norm);
    return 0;
}

int initrd_find(const char *path, struct initrd_file *f)
{
    char want[USTAR_NAME_MAX + 1];
    int r = path_ok(path, want);
    if (r < 0)
        return r;
    if (!archive)
        return -ENOENT;
    if (same(want, "/")) {
        f->path[0] = '/';
        f->path[1] = 0;
        f->data = 0;
        f->size = 0;
        f->mode = 0755;
        f->is_dir = 1;
        return 0;
    }
    struct ustar_iter it;
    struct ustar_entry e;
    ustar_iter_init(&it, archive, archive_len);
    while (ustar_next(&it, &e) == USTAR_ENTRY) {
        fill(f, &e);
        if (same(f->path, want))
            return 0;
    }
    return -ENOENT;
}

/* Is dir the parent directory of path? Both normalized. */
static int is_child(const char *dir, const char *path)
{
    const char *last = path;
    for (const char *p = path; *p; p++)
        if (*p == '/')
            last = p;
    if (path[1] == 0)
        return 0;                     /* the root is nobody's child */
    if (last == path)
        return dir[1] == 0;           /* "/x" lives in "/" */
    unsigned n = (unsigned)(last - path);
    for (unsigned i = 0; i < n; i++)
        if (dir[i] != path[i])
            return 0;
    return dir[n] == 0;
}

int initrd_foreach(const char *dir, void (*fn)(const struct initrd_file *f, void *arg), void *arg)
{
    struct initrd_file d;
    int r = initrd_find(dir, &d);
    if (r < 0)
        return r;
    if (!d.is_dir)
        return -ENOTDIR;
    struct ustar_iter it;
    struct ustar_entry e;
    struct initrd_file f;
    int calls = 0;
    ustar_iter_init(&it, archive, archive_len);
    while (ustar_next(&it, &e) == USTAR_ENTRY) {
        fill(&f, &e);
        if (is_child(d.path, f.path)) {
            fn(&f, arg);
            calls++;
        }
    }
    return calls;
}
