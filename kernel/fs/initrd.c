/* initrd.c — the initial ramdisk: finding the first Multiboot module,
 * putting it where no allocator reaches and reserving its frames, checking
 * the archive, and path lookup over an index of its ustar entries (no
 * copies of the data: the archive is the storage). */
#include <stdint.h>
#include "initrd.h"
#include "../include/errno.h"
#include "../include/layout.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"
#include "../mm/memory.h"
#include "../mm/page.h"
#include "../mm/physmem.h"

/* The module, placed and reserved by initrd_init, not yet checked. */
static uint32_t module_start, module_end;

/* The index: one record per archive entry, in archive order, written by
 * the one walk that checks the archive (initrd_scan). Lookups and listings
 * read only this, so each header is parsed and checksummed once per boot
 * however many directories are taken in afterwards. */
struct entry {
    uint32_t path;            /* offset in names of the normalized path */
    const uint8_t *data;
    uint32_t size;
    uint16_t mode;
    uint16_t is_dir;
};

static const uint8_t *archive;     /* set once the archive passed its check */
static struct entry *entries;
static uint32_t nentries;
static char *names;

static int overlaps(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return a < d && c < b; }

/* Move [start, end) to dst (page aligned) if RAM is there: 1 if moved. */
static int move_to(uint32_t *start, uint32_t *end, uint32_t dst, const char *where)
{
    uint32_t len = *end - *start;
    if (!physmem_is_usable(dst, (uint64_t)dst + len))
        return 0;
    memmove((void *)dst, (const void *)*start, len);
    kprintf("initrd: moved from 0x%08x %s to 0x%08x, clear of the heap\n", *start, where, dst);
    *start = dst;
    *end = dst + len;
    return 1;
}

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
    /* Loaders put the module just past the kernel (GRUB above its own data
     * there), so a larger archive runs into the heap at HEAP_START, which
     * memory_init is about to format, and no frame allocator exists yet to
     * copy it into. Nothing of the loader's is read after this point, so
     * the archive is moved: down next to the kernel image when it fits
     * below the heap, else up into the low memory just past the stack
     * region, which is identity mapped (the archive is read through plain
     * pointers) and reserved below before buddy takes the rest of RAM. */
    uint32_t len = end - start;
    uint32_t low = ((uint32_t)__kernel_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    if (overlaps(start, end, HEAP_START, STACK_REGION_END)) {
        int moved = 0;
        if (start > low && len <= HEAP_START - low)
            moved = move_to(&start, &end, low, "down");
        if (!moved && len <= ZONE_NORMAL_END - STACK_REGION_END)
            moved = move_to(&start, &end, STACK_REGION_END, "up");
        if (!moved) {
            kprintf("initrd: refused: module 0x%08x - 0x%08x (%u KiB) overlaps the heap or stacks, "
                    "and no low memory past them holds it\n", start, end, (len + 1023) / 1024);
            return;
        }
    }
    if (overlaps(start, end, (uint32_t)__kernel_start, (uint32_t)__kernel_end)) {
        kprintf("initrd: refused: module 0x%08x - 0x%08x overlaps the kernel\n", start, end);
        return;
    }
    /* Reserved before anything reads it: the check comes after the
     * allocators are up (initrd_scan), and they must not hand it out. */
    if (physmem_reserve(start & ~(PAGE_SIZE - 1), end) < 0) {
        kprintf("initrd: refused: the memory map has no room to reserve it\n");
        return;
    }
    module_start = start;
    module_end = end;
}

/* "./bin/", "bin" and "/bin" all become "/bin"; "." and "./" become "/".
 * name is n bytes, NUL-terminated or not (a long name points into the
 * archive). The length written, or -ENAMETOOLONG where open() would say
 * it: a path that does not fit FS_PATH_MAX, a component over FS_NAME_MAX. */
static int normalize(const char *name, uint32_t n, char out[FS_PATH_MAX])
{
    while (n >= 2 && name[0] == '.' && name[1] == '/') {
        name += 2;
        n -= 2;
    }
    while (n && name[0] == '/') {
        name++;
        n--;
    }
    if (n == 1 && name[0] == '.')
        n = 0;
    while (n && name[n - 1] == '/')
        n--;
    if (n + 1 >= FS_PATH_MAX)
        return -ENAMETOOLONG;
    out[0] = '/';
    uint32_t component = 0;
    for (uint32_t i = 0; i < n; i++) {
        component = name[i] == '/' ? 0 : component + 1;
        if (component > FS_NAME_MAX)
            return -ENAMETOOLONG;
        out[i + 1] = name[i];
    }
    out[n + 1] = 0;
    return (int)n + 1;
}

/* How much room the index's two arrays have while it is built. */
struct room {
    uint32_t cap, names_len, names_cap;
};

/* Append an entry for path (normalized) like e, growing the arrays by
 * doubling. 0 or -ENOMEM. */
static int index_put(struct room *r, const char *path, const struct entry *e)
{
    uint32_t n = strlen(path) + 1;
    if (nentries == r->cap) {
        uint32_t c = r->cap ? r->cap * 2 : 16;
        struct entry *a = krealloc(entries, c * sizeof(*a));
        if (!a)
            return -ENOMEM;
        entries = a;
        r->cap = c;
    }
    if (r->names_len + n > r->names_cap) {
        uint32_t c = r->names_cap ? r->names_cap * 2 : 512;
        while (r->names_len + n > c)
            c *= 2;
        char *a = krealloc(names, c);
        if (!a)
            return -ENOMEM;
        names = a;
        r->names_cap = c;
    }
    memcpy(names + r->names_len, path, n);
    entries[nentries] = *e;
    entries[nentries++].path = r->names_len;
    r->names_len += n;
    return 0;
}

/* Append the archive entry e to the index: 0, -ENOMEM, or -ENAMETOOLONG
 * for a path the file system could not open (the entry is left out). */
static int index_add(struct room *r, const struct ustar_entry *e)
{
    char path[FS_PATH_MAX];
    int n = normalize(e->path, e->path_len, path);
    if (n < 0)
        return n;
    struct entry rec = { .data = e->data, .size = e->size, .mode = (uint16_t)e->mode,
                         .is_dir = e->type == USTAR_DIRECTORY };
    return index_put(r, path, &rec);
}

/* FNV-1a, for index_dedupe's table. */
static uint32_t path_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* The slot of path in the table (open addressing over slots, a power of
 * two): the one holding its entry's number + 1, or the free one (0) where
 * it would go. */
static uint32_t *slot_of(uint32_t *table, uint32_t slots, const char *path)
{
    uint32_t at = path_hash(path) & (slots - 1);
    while (table[at] && strcmp(names + entries[table[at] - 1].path, path) != 0)
        at = (at + 1) & (slots - 1);
    return &table[at];
}

/* One entry per path, as tar extracts an archive that `tar -r` appended
 * to: a later entry's contents take the earlier one's place and the later
 * entry goes, so a directory never meets a name twice. And every
 * directory on an entry's path is an entry, as tar makes the parents of
 * what it extracts: an archive need not hold them ("tar cf a.tar x/f" has
 * no "x/"), and without one its files were unreachable. Missing ones are
 * added after the others, mode 0755. One pass over the index with a hash
 * table of the entries kept (open addressing, sized for every parent an
 * entry could add, freed before it returns), rather than a search of the
 * index per entry. 0 or -ENOMEM. */
static int index_dedupe(struct room *r)
{
    uint32_t most = nentries;
    for (uint32_t i = 0; i < r->names_len; i++)
        most += names[i] == '/';
    uint32_t slots = 16;
    while (slots < 2 * most)
        slots *= 2;
    uint32_t *table = kcalloc(slots, sizeof(*table));     /* a kept entry's number + 1; 0: free */
    if (!table)
        return -ENOMEM;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < nentries; i++) {
        uint32_t *slot = slot_of(table, slots, names + entries[i].path);
        if (*slot) {
            uint32_t name = entries[*slot - 1].path;
            entries[*slot - 1] = entries[i];
            entries[*slot - 1].path = name;
            continue;
        }
        entries[kept] = entries[i];
        *slot = ++kept;
    }
    nentries = kept;
    const struct entry dir = { .mode = 0755, .is_dir = 1 };
    int err = 0;
    for (uint32_t i = 0; i < kept && !err; i++) {
        char path[FS_PATH_MAX];
        memcpy(path, names + entries[i].path, strlen(names + entries[i].path) + 1);
        for (char *p = path + 1; *p && !err; p++) {
            if (*p != '/')
                continue;
            *p = 0;
            uint32_t *slot = slot_of(table, slots, path);
            if (!*slot && !(err = index_put(r, path, &dir)))
                *slot = nentries;
            *p = '/';
        }
    }
    kfree(table);
    return err;
}

static void index_drop(void)
{
    kfree(entries);
    kfree(names);
    entries = 0;
    names = 0;
    nentries = 0;
}

void initrd_scan(void)
{
    if (!module_end)
        return;
    const uint8_t *base = (const uint8_t *)module_start;
    uint32_t len = module_end - module_start;
    struct ustar_iter it;
    struct ustar_entry e;
    struct room room = { 0, 0, 0 };
    int r;
    ustar_iter_init(&it, base, len);
    int oom = 0;
    uint32_t skipped = 0;
    while (!oom && (r = ustar_next(&it, &e)) == USTAR_ENTRY) {
        int err = index_add(&room, &e);
        if (err == -ENAMETOOLONG) {
            kprintf("initrd: skipped the entry at offset %u: error %s (%d): its path is longer "
                    "than %u bytes or holds a name longer than %u\n",
                    (uint32_t)(e.data - base) - USTAR_BLOCK, errno_name(err), err,
                    FS_PATH_MAX - 1, FS_NAME_MAX);
            skipped++;
        }
        oom = err == -ENOMEM;
    }
    if (!oom && r == USTAR_END)
        oom = index_dedupe(&room) < 0;
    if (oom) {
        kprintf("initrd: refused: out of memory for the index of its entries (%u so far); "
                "booting without it\n", nentries);
        index_drop();
        return;
    }
    if (r < 0) {
        kprintf("initrd: refused: %s (header at offset %u); booting without it\n",
                ustar_strerror(r), it.offset);
        index_drop();
        return;
    }
    archive = base;
    uint32_t files = 0;
    for (uint32_t i = 0; i < nentries; i++)
        files += !entries[i].is_dir;
    kprintf("initrd: 0x%08x - 0x%08x (%u KiB, %u files", module_start, module_end,
            (len + 1023) / 1024, files);
    kprintf(skipped ? ", %u skipped)\n" : ")\n", skipped);
}

int initrd_present(void) { return archive != 0; }

static void fill(struct initrd_file *f, const struct entry *e)
{
    f->path = names + e->path;
    f->data = e->data;
    f->size = e->size;
    f->mode = e->mode;
    f->is_dir = e->is_dir;
}

int initrd_find(const char *path, struct initrd_file *f)
{
    char want[FS_PATH_MAX];
    int r = normalize(path, strlen(path), want);
    if (r < 0)
        return r;
    if (!archive)
        return -ENOENT;
    if (strcmp(want, "/") == 0) {
        f->path = "/";
        f->data = 0;
        f->size = 0;
        f->mode = 0755;
        f->is_dir = 1;
        return 0;
    }
    for (uint32_t i = 0; i < nentries; i++)
        if (strcmp(names + entries[i].path, want) == 0) {
            fill(f, &entries[i]);
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
    struct initrd_file f;
    int calls = 0;
    for (uint32_t i = 0; i < nentries; i++) {
        if (!is_child(d.path, names + entries[i].path))
            continue;
        fill(&f, &entries[i]);
        fn(&f, arg);
        calls++;
    }
    return calls;
}
