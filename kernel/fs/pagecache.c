/* pagecache.c — regular files' data: frames from buddy (HighMem first,
 * reached through kmap), one per page index, recorded in the inode's page
 * array and in the frame's struct page (mapping, index). read and write
 * copy through these frames, and file mappings map the same frames, so a
 * store through MAP_SHARED is what the next read returns.
 *
 * A page the file has never written is a hole: reads give zeros and no
 * frame is spent. The bytes of the last page beyond the size are zeros
 * whenever the size changes, so growing a file never shows what a mapping
 * stored past the old end.
 *
 * Reclaim: when an allocation finds no free block, the page cache's
 * shrinker gives back frames it can remake: a page never written since it
 * came in (PG_written, which cleaning does not clear: once written, the
 * frame is the only copy of its bytes, since the ramfs has no backing store
 * and a host's write-back cannot be read back) and that nothing but the
 * cache holds (refcount 0: no mapping, no copy in progress). The next read,
 * store or fault fills a new frame as the first did: from the archive
 * below backing_size, with zeros above it.
 *
 * The frames the shrinker may look at are on one list, oldest first,
 * linked through struct page's lru (which only free blocks use otherwise): a scan
 * takes from the front, drops what it can, moves a frame in use (mapped,
 * held, locked, of another zone) to the back, and moves a written frame
 * to a second list for good, since it will not be reclaimable before it
 * is freed. A failed allocation therefore costs a walk of the never-written
 * frames at most, not of mem_map, and each written frame is passed over
 * once.
 */
#include <stdint.h>
#include "inode.h"
#include "../include/errno.h"
#include "../lib/list.h"
#include "../lib/string.h"
#include "../mm/highmem.h"
#include "../mm/memory.h"
#include "../mm/page_alloc.h"

uint32_t pagecache_frames;

/* Every page-cache frame is on one of these (see the top). */
static struct list_head lru = { &lru, &lru };
static struct list_head written = { &written, &written };

static const uint8_t zeros[PAGE_SIZE];

/* Make room for index in ino->pages: 0 or -ENOSPC. */
static int grow_slots(struct inode *ino, uint32_t index)
{
    if (index < ino->npages)
        return 0;
    uint32_t n = ino->npages ? ino->npages : 4;
    while (n <= index)
        n *= 2;
    struct page **pages = krealloc(ino->pages, n * sizeof(*pages));
    if (!pages)
        return -ENOSPC;
    memset(pages + ino->npages, 0, (n - ino->npages) * sizeof(*pages));
    ino->pages = pages;
    ino->npages = n;
    return 0;
}

struct page *pagecache_page(struct inode *ino, uint32_t index, int create)
{
    if (index < ino->npages && ino->pages[index])
        return ino->pages[index];
    if (!create || grow_slots(ino, index))
        return 0;
    struct page *p = alloc_page(GFP_HIGHMEM);
    if (!p)
        return 0;
    uint32_t from = index << PAGE_SHIFT;
    if (from < ino->backing_size) {
        uint32_t n = ino->backing_size - from < PAGE_SIZE ? ino->backing_size - from : PAGE_SIZE;
        uint8_t *va = kmap(p);
        memcpy(va, ino->backing + from, n);
        memset(va + n, 0, PAGE_SIZE - n);
        kunmap(va);
    } else {
        clear_page_frame(p);
    }
    p->mapping = ino;
    p->index = index;
    list_add_tail(&p->lru, &lru);
    ino->pages[index] = p;
    ino->cached++;
    pagecache_frames++;
    return p;
}

/* Take the frame at index out of the cache and give it back to buddy. A
 * frame still referenced by a mapping is the caller's bug: the mapping code
 * unmaps before the cache lets go. */
static void drop_page(struct inode *ino, uint32_t index)
{
    struct page *p = ino->pages[index];
    if (!p)
        return;
    ino->pages[index] = 0;
    ino->cached--;
    pagecache_frames--;
    list_del(&p->lru);
    p->mapping = 0;
    p->index = 0;
    free_page(p);
}

int32_t pagecache_read(struct inode *ino, uint32_t off, struct iobuf buf, uint32_t n)
{
    uint32_t done = 0;
    while (done < n) {
        uint32_t pos = off + done, poff = pos & (PAGE_SIZE - 1);
        uint32_t chunk = PAGE_SIZE - poff < n - done ? PAGE_SIZE - poff : n - done;
        /* A page of the archive comes in now; a hole stays one. */
        struct page *p = pagecache_page(ino, pos >> PAGE_SHIFT, pos < ino->backing_size);
        int err;
        if (p) {
            /* Held, so that a fault in the copy, allocating, does not reclaim it. */
            page_ref_inc(p);
            uint8_t *va = kmap(p);
            err = io_copy_out(buf, done, va + poff, chunk);
            kunmap(va);
            page_ref_dec(p);
        } else if (pos < ino->backing_size) {
            return done ? (int32_t)done : -ENOSPC;
        } else {
            err = io_copy_out(buf, done, zeros, chunk);
        }
        if (err)
            return done ? (int32_t)done : err;
        done += chunk;
    }
    return (int32_t)done;
}

int32_t pagecache_write(struct inode *ino, uint32_t off, struct iobuf buf, uint32_t n)
{
    uint32_t done = 0;
    while (done < n) {
        uint32_t pos = off + done, poff = pos & (PAGE_SIZE - 1);
        uint32_t chunk = PAGE_SIZE - poff < n - done ? PAGE_SIZE - poff : n - done;
        struct page *p = pagecache_page(ino, pos >> PAGE_SHIFT, 1);
        if (!p)
            return done ? (int32_t)done : -ENOSPC;
        page_ref_inc(p);
        uint8_t *va = kmap(p);
        int err = io_copy_in(va + poff, buf, done, chunk);
        kunmap(va);
        if (!err)
            page_set_dirty(p);
        page_ref_dec(p);
        if (err)
            return done ? (int32_t)done : err;
        done += chunk;
    }
    return (int32_t)done;
}

/* Zero the bytes of the page holding pos from pos to the page's end. */
static void zero_tail(struct inode *ino, uint32_t pos)
{
    uint32_t poff = pos & (PAGE_SIZE - 1);
    struct page *p = poff ? pagecache_page(ino, pos >> PAGE_SHIFT, 0) : 0;
    if (!p)
        return;
    uint8_t *va = kmap(p);
    memset(va + poff, 0, PAGE_SIZE - poff);
    kunmap(va);
}

void pagecache_resize(struct inode *ino, uint32_t size)
{
    uint32_t keep = (size + PAGE_SIZE - 1) >> PAGE_SHIFT;
    for (uint32_t i = keep; i < ino->npages; i++)
        drop_page(ino, i);
    zero_tail(ino, size < ino->size ? size : ino->size);
    if (ino->backing_size > size)
        ino->backing_size = size;          /* what is cut off never comes back */
    ino->size = size;
}

void pagecache_release(struct inode *ino)
{
    for (uint32_t i = 0; i < ino->npages; i++)
        drop_page(ino, i);
    kfree(ino->pages);
    ino->pages = 0;
    ino->npages = 0;
}

/* Whether the frame can go and come back the same (see the top), and is
 * of use to an allocation with gfp once it has gone. */
static int reclaimable(const struct page *p, unsigned gfp)
{
    return !(p->flags & (PG_written | PG_locked)) && p->refcount == 0
        && buddy_gfp_allows(gfp, page_zone(p));
}

/* Once round the list at most: it stops when the first frame it moved to
 * the back comes to the front again. */
static uint32_t pagecache_scan(uint32_t want, unsigned gfp)
{
    uint32_t freed = 0;
    const struct page *first_kept = 0;
    while (freed < want && !list_empty(&lru)) {
        struct page *p = list_entry(lru.next, struct page, lru);
        if (p == first_kept)
            break;
        if (reclaimable(p, gfp)) {
            drop_page(p->mapping, p->index);
            freed++;
            continue;
        }
        list_del(&p->lru);
        if (p->flags & PG_written) {
            list_add_tail(&p->lru, &written);
        } else {
            list_add_tail(&p->lru, &lru);
            if (!first_kept)
                first_kept = p;
        }
    }
    return freed;
}

static struct shrinker pagecache_shrinker = { .scan = pagecache_scan };

void pagecache_init(void)
{
    register_shrinker(&pagecache_shrinker);
}
