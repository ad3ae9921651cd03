/* paging.c — the kernel identity map: one page directory, 4 MiB pages for
 * most of RAM and two 4 KiB page tables where finer control is needed. */
#include <stdint.h>
#include "paging.h"
#include "physmem.h"
#include "../include/layout.h"
#include "../arch/cpu.h"
#include "../lib/kprintf.h"

#define PD_SHIFT   22
#define BIG_PAGE   0x400000u
#define CR0_PG     0x80000000u
#define CR0_WP     0x00010000u
#define CR4_PSE    0x00000010u
#define PT_LOW     0                                  /* covers page 0 */
#define PT_STACKS  (STACK_REGION_START >> PD_SHIFT)    /* covers the stack guards */

_Static_assert((STACK_REGION_END - 1) >> PD_SHIFT == PT_STACKS,
               "the stack region must fit one 4 KiB-mapped 4 MiB stretch");

static uint32_t page_dir[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[1024] __attribute__((aligned(4096)));
static uint32_t pt_stacks[1024] __attribute__((aligned(4096)));

static void fill_table(uint32_t *pt, uint32_t base, uint32_t top)
{
    for (uint32_t i = 0; i < 1024; i++) {
        uint32_t pa = base + i * PAGE_SIZE;
        pt[i] = pa < top ? (pa | PTE_PRESENT | PTE_WRITE) : 0;
    }
}

void paging_init(void)
{
    uint32_t top = physmem_top();
    for (uint32_t i = 0; i < 1024; i++) {
        uint32_t pa = i << PD_SHIFT;
        if (pa >= top && i != PT_LOW)
            page_dir[i] = 0;
        else
            page_dir[i] = pa | PTE_PRESENT | PTE_WRITE | PDE_4M;
    }
    fill_table(pt_low, 0, top);
    pt_low[0] = 0;                                     /* NULL faults */
    page_dir[PT_LOW] = (uint32_t)pt_low | PTE_PRESENT | PTE_WRITE;
    if ((PT_STACKS << PD_SHIFT) < top) {
        fill_table(pt_stacks, PT_STACKS << PD_SHIFT, top);
        page_dir[PT_STACKS] = (uint32_t)pt_stacks | PTE_PRESENT | PTE_WRITE;
    }

    write_cr4(read_cr4() | CR4_PSE);
    write_cr3((uint32_t)page_dir);
    write_cr0(read_cr0() | CR0_PG | CR0_WP);
    kprintf("paging: identity map 0x00000000-0x%08x, page 0 unmapped\n", top - 1);
}

int paging_is_mapped(uint32_t va)
{
    uint32_t pde = page_dir[va >> PD_SHIFT];
    if (!(pde & PTE_PRESENT))
        return 0;
    if (pde & PDE_4M)
        return 1;
    const uint32_t *pt = (const uint32_t *)(pde & PAGE_ADDR_MASK);
    return (pt[(va >> PAGE_SHIFT) & 1023] & PTE_PRESENT) != 0;
}

int paging_range_mapped(uint32_t va, uint32_t len)
{
    if (len == 0)
        return 1;
    uint32_t last = va + len - 1;
    if (last < va)
        return 0;
    for (uint32_t p = va & PAGE_ADDR_MASK;; p += PAGE_SIZE) {
        if (!paging_is_mapped(p))
            return 0;
        if (p >= (last & PAGE_ADDR_MASK))
            return 1;
    }
}

int paging_set_present(uint32_t va, int present)
{
    uint32_t pde = page_dir[va >> PD_SHIFT];
    if (!(pde & PTE_PRESENT) || (pde & PDE_4M))
        return -1;
    uint32_t *pt = (uint32_t *)(pde & PAGE_ADDR_MASK);
    uint32_t *pte = &pt[(va >> PAGE_SHIFT) & 1023];
    if (present)
        *pte = (va & PAGE_ADDR_MASK) | PTE_PRESENT | PTE_WRITE;
    else
        *pte = 0;
    invlpg(va);
    return 0;
}
