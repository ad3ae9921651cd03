/* page.c — mem_map and the operations on single page frames (reference
 * count, dirty, lock, virtual address: the specification's PageFrame).
 *
 * The free lists belong to buddy.c, the allocation API over them to
 * page_alloc.c; nothing here calls either. The rule that keeps
 * freeing O(MAX_ORDER): every frame of a free block is fresh (refcount 0,
 * clean, unlocked, virt at its home address), and the head of an allocated block counts
 * in `busy` how many of its frames are not. A free looks at the frames only
 * when busy is not 0.
 */
#include <stdint.h>
#include "page.h"
#include "physmem.h"
#include "../arch/cpu.h"
#include "../include/errno.h"
#include "../lib/string.h"

struct page *mem_map;
uint32_t mem_map_pages;

/* One zone's frames [start, end): alike but for their address, reserved
 * until the buddy allocator frees them, and low memory at its identity
 * address (page_home_virt). */
static void init_zone_pages(uint32_t start, uint32_t end, unsigned zone)
{
    uint32_t flags = PG_reserved | (zone << PG_ZONE_SHIFT);
    int low = zone != ZONE_HIGHMEM;
    for (uint32_t pfn = start; pfn < end; pfn++) {
        struct page *p = &mem_map[pfn];
        p->flags = flags;
        p->phys = (phys_addr_t)pfn << PAGE_SHIFT;
        p->virt = low ? pfn << PAGE_SHIFT : 0;
    }
}

void page_map_init(struct page *map, uint32_t pages)
{
    mem_map = map;
    mem_map_pages = pages;
    /* Lists, counts, order, slab and page-cache fields start at 0 (the
     * page cache's shrinker tells its frames by mapping). Zone by zone
     * rather than frame by frame: 5 GiB is 1.3 million frames. */
    memset(map, 0, pages * sizeof(struct page));
    uint32_t start = 0;
    for (unsigned zone = 0; zone < NR_ZONES && start < pages; zone++) {
        uint32_t end = zone_limit_pfn(zone) < pages ? zone_limit_pfn(zone) : pages;
        init_zone_pages(start, end, zone);
        start = end;
    }
}

struct page *page_lookup(phys_addr_t phys)
{
    if (!mem_map || (phys >> PAGE_SHIFT) >= mem_map_pages)
        return 0;
    uint32_t pfn = (uint32_t)(phys >> PAGE_SHIFT);
    phys_addr_t base = (phys_addr_t)pfn << PAGE_SHIFT;
    if (!physmem_is_usable(base, base + PAGE_SIZE))
        return 0;
    return pfn_to_page(pfn);
}

/* The head (PG_free or PG_head) of the block containing p, or NULL. The
 * candidate at order k is p's pfn rounded down to 2^k; it contains p when
 * its order is at least k. */
static struct page *block_of(struct page *p)
{
    if (p->flags & (PG_free | PG_head))
        return p;
    uint32_t pfn = page_to_pfn(p);
    for (unsigned k = 1; k <= MAX_ORDER; k++) {
        struct page *h = pfn_to_page(pfn & ~((1u << k) - 1));
        if ((h->flags & (PG_free | PG_head)) && h->order >= k)
            return h;
    }
    return 0;
}

struct page *page_block_head(struct page *p)
{
    if (p->flags & (PG_reserved | PG_slab))
        return 0;
    struct page *h = block_of(p);
    return h && (h->flags & PG_head) ? h : 0;
}

int page_is_free(struct page *p)
{
    if (p->flags & PG_reserved)
        return 0;
    struct page *h = block_of(p);
    return h && (h->flags & PG_free);
}

static int frame_busy(const struct page *p)
{
    return p->refcount != 0 || (p->flags & (PG_dirty | PG_written | PG_locked)) ||
           p->virt != page_home_virt(p);
}

/* The block head an operation on p must account to, or an error. */
static int owner(struct page *p, struct page **head)
{
    if (!p || (p->flags & (PG_reserved | PG_slab)))
        return -EACCES;
    *head = page_block_head(p);
    return *head ? 0 : -EINVAL;
}

/* Keep head->busy right across a change of p: call with p's state before. */
static void account(struct page *head, struct page *p, int was_busy)
{
    head->busy = (uint16_t)(head->busy + frame_busy(p) - was_busy);
}

enum page_op { OP_GET, OP_PUT, OP_DIRTY, OP_CLEAN, OP_LOCK, OP_UNLOCK, OP_MAP, OP_UNMAP };

static const char *change_why = "";

const char *page_change_why(void)
{
    return change_why;
}

/* Why owner() refused p. */
static const char *owner_why(const struct page *p)
{
    if (!p)
        return "no page frame";
    if (p->flags & PG_reserved)
        return "the frame is reserved (never handed out)";
    if (p->flags & PG_slab)
        return "the frame belongs to a slab cache";
    return "the frame is free";
}

static int page_change(struct page *p, enum page_op op, uint32_t va)
{
    struct page *head;
    uint32_t irq = irq_save();
    int err = owner(p, &head);
    if (err) {
        change_why = owner_why(p);
        goto out;
    }
    int was = frame_busy(p);
    switch (op) {
    case OP_GET:
        if (p->refcount == INT32_MAX) {
            err = -EINVAL;
            change_why = "the reference count is at its maximum";
        } else {
            p->refcount++;
        }
        break;
    case OP_PUT:
        if (p->refcount == 0) {
            err = -EINVAL;
            change_why = "the reference count is 0";
        } else {
            p->refcount--;
        }
        break;
    case OP_DIRTY:
        p->flags |= PG_dirty | PG_written;
        break;
    case OP_CLEAN:
        p->flags &= ~PG_dirty;
        break;
    case OP_LOCK:
        if (p->flags & PG_locked) {
            err = -EBUSY;
            change_why = "the frame is locked already";
        } else {
            p->flags |= PG_locked;
        }
        break;
    case OP_UNLOCK:
        if (!(p->flags & PG_locked)) {
            err = -EINVAL;
            change_why = "the frame is not locked";
        } else {
            p->flags &= ~PG_locked;
        }
        break;
    case OP_MAP:
        if (va == 0 || (va & (PAGE_SIZE - 1))) {
            err = -EFAULT;
            change_why = "the virtual address is 0 or not page aligned";
        } else {
            p->virt = va;
        }
        break;
    case OP_UNMAP:
        if (p->virt == 0) {
            err = -EINVAL;
            change_why = "the frame is not mapped";
        } else {
            p->virt = 0;
        }
        break;
    }
    account(head, p, was);
out:
    irq_restore(irq);
    return err;
}

int page_get(struct page *p) { return page_change(p, OP_GET, 0); }
int page_put(struct page *p) { return page_change(p, OP_PUT, 0); }
int page_set_dirty(struct page *p) { return page_change(p, OP_DIRTY, 0); }
int page_clear_dirty(struct page *p) { return page_change(p, OP_CLEAN, 0); }
int page_lock(struct page *p) { return page_change(p, OP_LOCK, 0); }
int page_unlock(struct page *p) { return page_change(p, OP_UNLOCK, 0); }
int page_map_virtual(struct page *p, uint32_t va) { return page_change(p, OP_MAP, va); }
int page_unmap_virtual(struct page *p) { return page_change(p, OP_UNMAP, 0); }

int page_is_dirty(const struct page *p) { return p && (p->flags & PG_dirty) != 0; }
int page_is_locked(const struct page *p) { return p && (p->flags & PG_locked) != 0; }
phys_addr_t page_phys(const struct page *p) { return p ? p->phys : 0; }
uint32_t page_virt(const struct page *p) { return p ? p->virt : 0; }
int32_t page_ref_count(const struct page *p) { return p ? p->refcount : 0; }
uint32_t page_flags(const struct page *p) { return p ? p->flags : 0; }

int page_block_release(struct page *head, unsigned order)
{
    uint32_t n = 1u << order;
    for (uint32_t i = 0; i < n; i++)
        if (head[i].refcount || (head[i].flags & PG_locked))
            return -EBUSY;
    for (uint32_t i = 0; i < n; i++) {
        head[i].flags &= ~(PG_dirty | PG_written);
        head[i].virt = page_home_virt(&head[i]);
    }
    head->busy = 0;
    return 0;
}

void page_flag_names(uint32_t flags, char *buf, unsigned size)
{
    static const struct { uint32_t bit; const char *name; } names[] = {
        { PG_reserved, "reserved" }, { PG_free, "free" }, { PG_head, "head" }, { PG_slab, "slab" },
        { PG_dirty, "dirty" }, { PG_locked, "locked" }, { PG_written, "written" },
    };
    unsigned n = 0;
    if (size == 0)
        return;
    buf[0] = '\0';
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(flags & names[i].bit))
            continue;
        for (const char *s = n ? " " : ""; *s && n + 1 < size; s++)
            buf[n++] = *s;
        for (const char *s = names[i].name; *s && n + 1 < size; s++)
            buf[n++] = *s;
        buf[n] = '\0';
    }
    if (n == 0) {
        const char *none = "none";
        while (*none && n + 1 < size)
            buf[n++] = *none++;
        buf[n] = '\0';
    }
}
