/* highmem.c — kmap/kunmap (highmem.h). Low memory only so far: every
 * frame the allocators hand out lies in the identity map, so a frame's
 * kernel address is its physical address. */
#include "highmem.h"
#include "../lib/panic.h"
#include "../lib/string.h"
#include "paging.h"

void *kmap(struct page *p)
{
    uint32_t phys = page_phys(p);
    if (phys >= DIRECT_MAP_END)
        panic("kmap: frame %#x is above the identity map", phys);
    return (void *)(uintptr_t)phys;
}

void kunmap(void *va)
{
    (void)va;
}

void copy_page_frame(struct page *dst, struct page *src)
{
    void *d = kmap(dst);
    void *s = kmap(src);
    memcpy(d, s, PAGE_SIZE);
    kunmap(s);
    kunmap(d);
}

void clear_page_frame(struct page *p)
{
    void *d = kmap(p);
    memset(d, 0, PAGE_SIZE);
    kunmap(d);
}
