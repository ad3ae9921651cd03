/* mmap.c — mmap, munmap and mprotect on an address space, with Linux's
 * semantics (mm/mmap.c, mm/mprotect.c) and the errors of the KOS memory
 * API; KOS is stricter than Linux in refusing unknown bits. Private
 * anonymous mappings own their frames through their page table entries,
 * shared ones share one vm_object; file mappings reach the file's frames
 * through their vm_ops (filemap.c). Under the address space's W^X
 * policy (MM_POLICY_WX) both refuse, with EACCES, a protection that is
 * writable and executable, and mprotect refuses to make executable a VMA
 * that was ever writable (VM_WAS_WRITE), as OpenBSD and PaX do.
 */
#include <stdint.h>
#include "mm.h"
#include "../memory.h"
#include "../../include/errno.h"
#include "../../include/mman.h"

/* Fail with err, keeping the reason for the caller's report. */
static int refuse(struct mm *mm, int err, const char *why)
{
    mm->why = why;
    return err;
}

/* A refusal of the memory policy: EACCES, counted. */
static int refuse_policy(struct mm *mm, const char *why)
{
    mm->policy_refusals++;
    return refuse(mm, -EACCES, why);
}

static int wx_refuses(const struct mm *mm, uint32_t prot)
{
    return (mm->policy & MM_POLICY_WX) && (prot & PROT_WRITE) && (prot & PROT_EXEC);
}

static uint32_t page_round_up(uint32_t len)
{
    return (len + PAGE_SIZE - 1) & PAGE_ADDR_MASK;
}

/* Is [start, start + size) free of VMAs? */
static int range_free(struct mm *mm, uint32_t start, uint32_t size)
{
    uint32_t i = vma_index_after(mm, start);
    return i == mm->nr_vmas || mm->vmas[i].start >= start + size;
}

/* Where a mapping of size bytes goes: the hint if the range is free and in
 * user space, else the lowest gap that fits (first fit from USER_START).
 * 0 if there is none. */
/* Pages of [start, end) that VMAs cover: what a MAP_FIXED mapping there
 * takes back before it adds its own (Linux's count for may_expand_vm). */
static uint32_t mapped_pages(const struct mm *mm, uint32_t start, uint32_t end)
{
    uint32_t pages = 0;
    for (uint32_t i = vma_index_after(mm, start); i < mm->nr_vmas && mm->vmas[i].start < end; i++) {
        uint32_t s = mm->vmas[i].start > start ? mm->vmas[i].start : start;
        uint32_t e = mm->vmas[i].end < end ? mm->vmas[i].end : end;
        pages += (e - s) >> PAGE_SHIFT;
    }
    return pages;
}

static uint32_t free_area(struct mm *mm, uint32_t hint, uint32_t size)
{
    hint &= PAGE_ADDR_MASK;
    if (hint >= USER_START && size <= USER_END - hint && range_free(mm, hint, size))
        return hint;
    uint32_t gap = USER_START;
    for (uint32_t i = 0; i < mm->nr_vmas; i++) {
        if (mm->vmas[i].start - gap >= size)
            return gap;
        gap = mm->vmas[i].end;
    }
    return USER_END - gap >= size ? gap : 0;
}

static struct vm_object *object_create(uint32_t npages)
{
    struct vm_object *obj = kcalloc(1, sizeof(*obj));
    if (!obj)
        return 0;
    obj->pages = kcalloc(npages, sizeof(struct page *));
    if (!obj->pages) {
        kfree(obj);
        return 0;
    }
    obj->refs = 1;
    obj->npages = npages;
    return obj;
}

/* Fault in every page of [start, end) as MAP_POPULATE asks: writable pages
 * get frames of their own, read-only ones the zero page (or frames, when
 * locked). A file mapping's pages stop at the end of the file: the rest
 * stays empty, to fault with SIGBUS when touched, as Linux's mmap leaves
 * them. 0 or -ENOMEM. */
static int populate(struct mm *mm, uint32_t start, uint32_t end, uint32_t prot)
{
    if (prot == PROT_NONE)
        return 0;
    enum vm_access access = (prot & PROT_WRITE) ? ACCESS_WRITE : ACCESS_READ;
    for (uint32_t va = start; va < end; va += PAGE_SIZE) {
        enum vm_fault_kind k = vm_fault(mm, va, access);
        if (k == FAULT_SIGBUS)
            return 0;
        if (k != FAULT_NONE)
            return -ENOMEM;
    }
    return 0;
}

/* mmap of anonymous memory (file NULL) or of a file. */
static int32_t do_mmap(struct mm *mm, uint32_t addr, uint32_t len, uint32_t prot, uint32_t flags,
                       const struct vm_file *file)
{
    uint32_t type = flags & (MAP_SHARED | MAP_PRIVATE);
    if (len == 0)
        return refuse(mm, -EINVAL, "the length is 0");
    if (prot & ~PROT_MASK)
        return refuse(mm, -EINVAL, "unknown protection bits");
    if (flags & ~MAP_MASK)
        return refuse(mm, -EINVAL, "unknown flag bits");
    if (type != MAP_SHARED && type != MAP_PRIVATE)
        return refuse(mm, -EINVAL, "exactly one of shared and private is needed");
    if (!file && !(flags & MAP_ANONYMOUS))
        return refuse(mm, -EBADF, "no file to map");
    if (file && (flags & (MAP_ANONYMOUS | MAP_GROWSDOWN)))
        return refuse(mm, -EINVAL, "a file mapping is neither anonymous nor a stack");
    if (file && type == MAP_SHARED && (prot & PROT_WRITE) && !file->may_write)
        return refuse(mm, -EACCES, "a writable shared mapping of a file not open for writing");
    if ((flags & MAP_FIXED) && (addr & (PAGE_SIZE - 1)))
        return refuse(mm, -EINVAL, "a fixed address must be page aligned");
    if (len > USER_END - USER_START)
        return refuse(mm, -ENOMEM, "longer than user space");
    if (wx_refuses(mm, prot))
        return refuse_policy(mm, "W^X: a mapping may not be writable and executable");
    uint32_t size = page_round_up(len);

    uint32_t start;
    if (flags & MAP_FIXED) {
        if (addr < USER_START || size > USER_END - addr)
            return refuse(mm, -ENOMEM, "the range is outside user space (0x40000000-0xfffff000)");
        uint32_t kept = mm->total_pages - mapped_pages(mm, addr, addr + size);
        if (((uint64_t)kept << PAGE_SHIFT) + size > mm->limit_as)
            return refuse(mm, -ENOMEM, "beyond the address-space limit");
        start = addr;
    } else {
        if (((uint64_t)mm->total_pages << PAGE_SHIFT) + size > mm->limit_as)
            return refuse(mm, -ENOMEM, "beyond the address-space limit");
        start = free_area(mm, addr, size);
        if (!start)
            return refuse(mm, -ENOMEM, "no free range that large in user space");
    }

    struct vma v = { .start = start, .end = start + size, .prot = (uint16_t)prot };
    if (type == MAP_SHARED)
        v.flags |= VM_SHARED;
    if (flags & MAP_GROWSDOWN)
        v.flags |= VM_GROWSDOWN;
    if (flags & MAP_LOCKED)
        v.flags |= VM_LOCKED;
    if (prot & PROT_WRITE)
        v.flags |= VM_WAS_WRITE;
    if (file) {
        v.file = file->mapping;
        v.pgoff = file->pgoff;
        if (file->may_write)
            v.flags |= VM_MAYWRITE;
        if (file->deny_write)
            v.flags |= VM_DENYWRITE;
        int err = v.file->ops->open(&v);
        if (err)
            return refuse(mm, err, "the file is open for writing");
    } else if (type == MAP_SHARED && !(v.obj = object_create(size >> PAGE_SHIFT))) {
        return refuse(mm, -ENOMEM, "out of memory for the shared object");
    }
    /* Only now, with the backing had, does MAP_FIXED take the range: a
     * refusal before leaves the old mappings there. The insertion below
     * can still fail for room in the VMA table when the unmap cut a VMA in
     * two; the old range is then gone, as Linux may leave it. */
    if (flags & MAP_FIXED) {
        int err = vm_munmap(mm, start, size);
        if (err) {
            vma_put_backing(&v);
            return err;
        }
    }
    int i = vma_insert(mm, &v);
    if (i < 0) {
        vma_put_backing(&v);
        return refuse(mm, i, "out of memory for the VMA table");
    }
    mm->total_pages += size >> PAGE_SHIFT;
    vma_merge(mm, (uint32_t)i);

    if ((flags & (MAP_POPULATE | MAP_LOCKED)) && populate(mm, start, start + size, prot)) {
        vm_munmap(mm, start, size);      /* give back what was filled */
        return refuse(mm, -ENOMEM, "out of memory while populating: everything given back");
    }
    return (int32_t)start;
}

int32_t vm_mmap(struct mm *mm, uint32_t addr, uint32_t len, uint32_t prot, uint32_t flags)
{
    return do_mmap(mm, addr, len, prot, flags, 0);
}

int32_t vm_mmap_file(struct mm *mm, uint32_t addr, uint32_t len, uint32_t prot, uint32_t flags,
                     const struct vm_file *file)
{
    return do_mmap(mm, addr, len, prot, flags, file);
}

/* Make a VMA boundary at addr if a VMA straddles it. 0 or -ENOMEM. */
static int boundary(struct mm *mm, uint32_t addr)
{
    uint32_t i = vma_index_after(mm, addr);
    if (i < mm->nr_vmas && mm->vmas[i].start < addr)
        return vma_split(mm, i, addr) ? refuse(mm, -ENOMEM, "out of memory for the VMA table") : 0;
    return 0;
}

int vm_munmap(struct mm *mm, uint32_t addr, uint32_t len)
{
    if (addr & (PAGE_SIZE - 1))
        return refuse(mm, -EINVAL, "the address must be page aligned");
    if (len == 0)
        return refuse(mm, -EINVAL, "the length is 0");
    if (addr < USER_START || len > USER_END - addr || page_round_up(len) > USER_END - addr)
        return refuse(mm, -EINVAL, "the range is outside user space (0x40000000-0xfffff000)");
    uint32_t end = addr + page_round_up(len);
    int err = boundary(mm, addr);
    if (!err && (err = boundary(mm, end)) != 0)
        vma_merge(mm, vma_index_after(mm, addr));   /* a refusal leaves the VMAs as they were */
    if (err)
        return err;
    /* The VMAs of the range are now whole and adjacent in the array,
     * [first, last): emptied one by one, then removed with one move. */
    uint32_t first = vma_index_after(mm, addr), last = first;
    for (; last < mm->nr_vmas && mm->vmas[last].start < end; last++) {
        struct vma *v = &mm->vmas[last];
        pgtable_unmap(mm, v, v->start, v->end);
        mm->total_pages -= (v->end - v->start) >> PAGE_SHIFT;
        vma_put_backing(v);
    }
    vma_remove(mm, first, last - first);
    return 0;
}

/* May mprotect make v writable? Not a shared mapping of a file opened
 * read-only (Linux's VM_MAYWRITE). */
static int may_write(const struct vma *v)
{
    return !v->file || !(v->flags & VM_SHARED) || (v->flags & VM_MAYWRITE);
}

/* Merge what mprotect may have made mergeable: the VMAs from index i (the
 * one before the range, if any) up to the one that starts at end. */
static void merge_from(struct mm *mm, uint32_t i, uint32_t end)
{
    while (i < mm->nr_vmas && mm->vmas[i].start <= end)
        i = vma_merge(mm, i) + 1;
}

/* Was any VMA in [start, end) ever writable? Checked before mprotect
 * changes anything, so a refusal leaves the range as it was. */
static int was_writable(struct mm *mm, uint32_t start, uint32_t end)
{
    for (uint32_t i = vma_index_after(mm, start); i < mm->nr_vmas && mm->vmas[i].start < end; i++)
        if (mm->vmas[i].flags & VM_WAS_WRITE)
            return 1;
    return 0;
}

int vm_mprotect(struct mm *mm, uint32_t addr, uint32_t len, uint32_t prot)
{
    if (addr & (PAGE_SIZE - 1))
        return refuse(mm, -EINVAL, "the address must be page aligned");
    if (prot & ~PROT_MASK)
        return refuse(mm, -EINVAL, "unknown protection bits");
    if (len == 0)
        return 0;
    if (addr < USER_START || len > USER_END - addr || page_round_up(len) > USER_END - addr)
        return refuse(mm, -ENOMEM, "the range is outside user space (0x40000000-0xfffff000)");
    uint32_t end = addr + page_round_up(len);
    /* One lookup: the VMAs of the range follow this one in the array. */
    uint32_t i = vma_index_after(mm, addr);
    if (i == mm->nr_vmas || mm->vmas[i].start > addr)
        return refuse(mm, -ENOMEM, "no mapping at the start of the range");
    if (mm->policy & MM_POLICY_WX) {
        if (wx_refuses(mm, prot))
            return refuse_policy(mm, "W^X: a mapping may not be writable and executable");
        if ((prot & PROT_EXEC) && was_writable(mm, addr, end))
            return refuse_policy(mm, "W^X: a page that was writable never becomes executable");
    }
    if (mm->vmas[i].start < addr) {
        if (vma_split(mm, i, addr))
            return refuse(mm, -ENOMEM, "out of memory for the VMA table");
        i++;
    }
    uint32_t first = i;
    int err = 0;
    uint32_t va = addr;
    for (; va < end; i++) {
        if (i == mm->nr_vmas || mm->vmas[i].start != va) {
            err = refuse(mm, -ENOMEM, "a hole in the range: the pages before it were changed");
            break;
        }
        /* As Linux: the VMAs before this one keep their new protection. */
        if ((prot & PROT_WRITE) && !may_write(&mm->vmas[i])) {
            err = refuse(mm, -EACCES, "a shared mapping of a file not open for writing");
            break;
        }
        if (mm->vmas[i].end > end && vma_split(mm, i, end)) {
            err = refuse(mm, -ENOMEM, "out of memory for the VMA table");
            break;
        }
        struct vma *v = &mm->vmas[i];
        v->prot = (uint16_t)prot;
        if (prot & PROT_WRITE)
            v->flags |= VM_WAS_WRITE;
        pgtable_protect(mm, v, v->start, v->end);
        va = v->end;
    }
    merge_from(mm, first ? first - 1 : 0, va);
    return err;
}
