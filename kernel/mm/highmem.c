/* highmem.c — kmap/kunmap (highmem.h): one-page windows onto HighMem
 * frames in the last 8 MiB of the kernel's GiB (KMAP_START, paging.h).
 *
 * Window i is page table entry i of paging_kmap_ptes(). A free window is
 * one whose entry is 0; kmap takes the most recently released one (a stack
 * of free windows), or else the next never used one, and writes the frame
 * into its entry; kunmap clears the entry and flushes that one page from
 * the TLB. kmap needs no flush: a CPU never caches a non-present entry, and
 * kunmap flushed the window's last frame.
 *
 * Low memory needs no window: its frames are identity mapped.
 */
#include "highmem.h"
#include "../arch/cpu.h"
#include "../lib/panic.h"
#include "../lib/string.h"
#include "paging.h"

static uint16_t free_windows[KMAP_PAGES];
static uint32_t nr_free;             /* entries of free_windows in use */
static uint32_t never_used;          /* windows [never_used, KMAP_PAGES) were never handed out */
static uint32_t in_use;

static uint32_t window_va(uint32_t i)
{
    return KMAP_START + (i << PAGE_SHIFT);
}

void *kmap(struct page *p)
{
    void *low = page_address(p);
    if (low)
        return low;
    uint32_t irq = irq_save();
    uint32_t i;
    if (nr_free)
        i = free_windows[--nr_free];
    else if (never_used < KMAP_PAGES)
        i = never_used++;
    else
        panic("kmap: all %u windows are in use (a kmap without its kunmap?)", KMAP_PAGES);
    pte_t bits = PTE_PRESENT | PTE_WRITE | (paging_nx() ? PTE_NX : 0);
    paging_kmap_ptes()[i] = p->phys | bits;
    in_use++;
    irq_restore(irq);
    return (void *)window_va(i);
}

void kunmap(void *va)
{
    uint32_t a = (uint32_t)va;
    if (a < KMAP_START)
        return;
    uint32_t i = (a - KMAP_START) >> PAGE_SHIFT;
    uint32_t irq = irq_save();
    pte_t *pte = &paging_kmap_ptes()[i];
    if (!(*pte & PTE_PRESENT))
        panic("kunmap: %p is not a mapped kmap window", va);
    *pte = 0;
    paging_flush_page(window_va(i));
    free_windows[nr_free++] = (uint16_t)i;
    in_use--;
    irq_restore(irq);
}

uint32_t kmap_windows_in_use(void)
{
    return in_use;
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
