/* vma.c — an address space's VMAs: a sorted array searched by bisection.
 *
 * Invariant: vmas[0 .. nr_vmas) are sorted by start, each non-empty, and
 * vmas[i].end <= vmas[i + 1].start. A lookup is O(log n); an insertion, or
 * the removal of a run of adjacent VMAs however long, is a bisection plus
 * one memmove of the entries after it (a few hundred bytes for hundreds of
 * VMAs: cheaper than rebalancing a tree at the sizes an address space has).
 * Removing a run one entry at a time would move the tail once per entry:
 * quadratic in the run, 300 million instructions for a munmap over 10,000
 * VMAs. The array starts inside struct mm (MM_INLINE_VMAS) and doubles
 * when full.
 */
#include <stdint.h>
#include "mm.h"
#include "../memory.h"
#include "../../include/errno.h"
#include "../../lib/string.h"

uint32_t vma_index_after(const struct mm *mm, uint32_t addr)
{
    uint32_t lo = 0, hi = mm->nr_vmas;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (mm->vmas[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct vma *vma_find(struct mm *mm, uint32_t addr)
{
    uint32_t i = vma_index_after(mm, addr);
    if (i < mm->nr_vmas && mm->vmas[i].start <= addr)
        return &mm->vmas[i];
    return 0;
}

/* Make room for one more VMA: the array doubles, leaving struct mm's
 * inline one for the heap the first time. */
static int grow(struct mm *mm)
{
    if (mm->nr_vmas < mm->cap_vmas)
        return 0;
    uint32_t cap = mm->cap_vmas * 2;
    struct vma *a;
    if (mm->vmas == mm->vma_inline) {
        a = kmalloc(cap * sizeof(struct vma));
        if (a)
            memcpy(a, mm->vmas, mm->nr_vmas * sizeof(struct vma));
    } else {
        a = krealloc(mm->vmas, cap * sizeof(struct vma));
    }
    if (!a)
        return -ENOMEM;
    mm->vmas = a;
    mm->cap_vmas = cap;
    return 0;
}

int vma_insert(struct mm *mm, const struct vma *v)
{
    if (grow(mm))
        return -ENOMEM;
    uint32_t i = vma_index_after(mm, v->start);
    memmove(&mm->vmas[i + 1], &mm->vmas[i], (mm->nr_vmas - i) * sizeof(struct vma));
    mm->vmas[i] = *v;
    mm->nr_vmas++;
    return (int)i;
}

void vma_remove(struct mm *mm, uint32_t i, uint32_t n)
{
    if (n == 0)
        return;                       /* a munmap of a range no VMA covers moves nothing */
    memmove(&mm->vmas[i], &mm->vmas[i + n], (mm->nr_vmas - i - n) * sizeof(struct vma));
    mm->nr_vmas -= n;
}

int vma_split(struct mm *mm, uint32_t i, uint32_t addr)
{
    if (grow(mm))
        return -ENOMEM;
    struct vma upper = mm->vmas[i];
    upper.start = addr;
    if (upper.obj || upper.file)
        upper.pgoff += (addr - mm->vmas[i].start) >> PAGE_SHIFT;
    if (vma_get_backing(&upper))
        return -ENOMEM;
    mm->vmas[i].end = addr;
    memmove(&mm->vmas[i + 2], &mm->vmas[i + 1], (mm->nr_vmas - i - 1) * sizeof(struct vma));
    mm->vmas[i + 1] = upper;
    mm->nr_vmas++;
    return 0;
}

/* Can b follow a (a->end == b->start) as one VMA? VM_WAS_WRITE is the
 * VMAs' history, not what they map: without the W^X policy, which reads
 * it, two VMAs that differ only there are one mapping, as Linux has them
 * (the joined one keeps the history of both: if the policy comes on
 * later, none of it becomes executable). */
static int compatible(const struct mm *mm, const struct vma *a, const struct vma *b)
{
    uint32_t history = (mm->policy & MM_POLICY_WX) ? 0 : VM_WAS_WRITE;
    if (a->end != b->start || a->prot != b->prot || ((a->flags ^ b->flags) & ~history) ||
        a->obj != b->obj || a->file != b->file)
        return 0;
    return (!a->obj && !a->file) || a->pgoff + ((a->end - a->start) >> PAGE_SHIFT) == b->pgoff;
}

/* Fold vmas[i + 1] into vmas[i]. */
static void join(struct mm *mm, uint32_t i)
{
    struct vma *a = &mm->vmas[i];
    a->end = mm->vmas[i + 1].end;
    a->flags |= mm->vmas[i + 1].flags & VM_WAS_WRITE;
    vma_put_backing(&mm->vmas[i + 1]);   /* a holds the same object or file */
    vma_remove(mm, i + 1, 1);
}

uint32_t vma_merge(struct mm *mm, uint32_t i)
{
    if (i + 1 < mm->nr_vmas && compatible(mm, &mm->vmas[i], &mm->vmas[i + 1]))
        join(mm, i);
    if (i > 0 && compatible(mm, &mm->vmas[i - 1], &mm->vmas[i])) {
        join(mm, i - 1);
        i--;
    }
    return i;
}

void vm_object_put(struct vm_object *obj)
{
    if (!obj || --obj->refs)
        return;
    for (uint32_t i = 0; i < obj->npages; i++)
        if (obj->pages[i])
            free_page(obj->pages[i]);
    kfree(obj->pages);
    kfree(obj);
}

int vma_get_backing(struct vma *v)
{
    int err = v->file ? v->file->ops->open(v) : 0;
    if (err)
        return err;
    if (v->obj)
        v->obj->refs++;
    return 0;
}

void vma_put_backing(struct vma *v)
{
    vm_object_put(v->obj);
    if (v->file)
        v->file->ops->release(v);
}

void vma_prot_string(const struct vma *v, char buf[5])
{
    buf[0] = (v->prot & 1) ? 'r' : '-';
    buf[1] = (v->prot & 2) ? 'w' : '-';
    buf[2] = (v->prot & 4) ? 'x' : '-';
    buf[3] = (v->flags & VM_SHARED) ? 's' : 'p';
    buf[4] = '\0';
}
