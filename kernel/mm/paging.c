/* paging.c — the kernel's PAE tables: one page directory for the first GiB,
 * shared by every address space, with 2 MiB pages for most of low memory,
 * two 4 KiB page tables where finer control is needed, and the page tables
 * of the kmap windows (filled by highmem.c). */
#include <stdint.h>
#include "paging.h"
#include "physmem.h"
#include "../include/layout.h"
#include "../arch/cpu.h"
#include "../lib/kprintf.h"

#define CR0_PG     0x80000000u
#define CR0_WP     0x00010000u
#define CR4_PAE    0x00000020u
#define MSR_EFER   0xC0000080u
#define EFER_NXE   0x00000800u
#define CPUID_EXT_MAX   0x80000000u
#define CPUID_EXT_FEAT  0x80000001u
#define CPUID_EDX_NX    (1u << 20)
#define PD_LOW     0                                   /* covers page 0 */
#define PD_STACKS  (STACK_REGION_START >> PD_SHIFT)    /* covers the stack guards */

_Static_assert((STACK_REGION_END - 1) >> PD_SHIFT == PD_STACKS,
               "the stack region must fit one 4 KiB-mapped 2 MiB stretch");
_Static_assert(HEAP_START == BIG_PAGE, "the kernel image (below HEAP_START) fits the first 4 KiB-mapped 2 MiB");
_Static_assert(KMAP_START % BIG_PAGE == 0 && KMAP_PAGES % PT_ENTRIES == 0, "the kmap windows fill whole page tables");

static pte_t kernel_pd[PT_ENTRIES] __attribute__((aligned(4096)));
static pte_t pt_low[PT_ENTRIES] __attribute__((aligned(4096)));
static pte_t pt_stacks[PT_ENTRIES] __attribute__((aligned(4096)));
/* Present in the directory from boot, so a kmap only writes one entry:
 * the shared directory means every address space sees the windows. */
static pte_t pt_kmap[KMAP_PAGES] __attribute__((aligned(4096)));
/* The CPU reads a PAE PDPT from a 32-byte aligned address below 4 GiB. */
static pte_t kernel_pdpt[4] __attribute__((aligned(32)));
static int nx_on;

static void fill_table(pte_t *pt, uint32_t base, uint32_t top)
{
    for (uint32_t i = 0; i < PT_ENTRIES; i++) {
        uint32_t pa = base + i * PAGE_SIZE;
        pt[i] = pa < top ? (pa | PTE_PRESENT | PTE_WRITE) : 0;
    }
}

static int cpu_has_nx(void)
{
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(CPUID_EXT_MAX));
    if (a < CPUID_EXT_FEAT)
        return 0;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(CPUID_EXT_FEAT));
    return (d & CPUID_EDX_NX) != 0;
}

static void efer_set(uint32_t bits)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_EFER));
    lo |= bits;
    __asm__ volatile("wrmsr" : : "a"(lo), "d"(hi), "c"(MSR_EFER));
}

void paging_init(void)
{
    uint64_t ram_top = physmem_top();
    uint32_t top = ram_top > DIRECT_MAP_END ? DIRECT_MAP_END : (uint32_t)ram_top;
    for (uint32_t i = 0; i < PT_ENTRIES; i++) {
        uint32_t pa = i << PD_SHIFT;
        kernel_pd[i] = pa < top ? (pa | PTE_PRESENT | PTE_WRITE | PTE_PS) : 0;
    }
    fill_table(pt_low, 0, top);
    pt_low[0] = 0;                                     /* NULL faults */
    kernel_pd[PD_LOW] = (uint32_t)pt_low | PTE_PRESENT | PTE_WRITE;
    if ((PD_STACKS << PD_SHIFT) < top) {
        fill_table(pt_stacks, PD_STACKS << PD_SHIFT, top);
        kernel_pd[PD_STACKS] = (uint32_t)pt_stacks | PTE_PRESENT | PTE_WRITE;
    }
    for (uint32_t i = 0; i < KMAP_PAGES / PT_ENTRIES; i++)
        kernel_pd[(KMAP_START >> PD_SHIFT) + i] = (uint32_t)&pt_kmap[i * PT_ENTRIES] | PTE_PRESENT | PTE_WRITE;
    /* PDPT entries have only P (and cache bits): R/W and U/S are reserved. */
    kernel_pdpt[0] = (uint32_t)kernel_pd | PTE_PRESENT;

    nx_on = cpu_has_nx();
    if (nx_on)
        efer_set(EFER_NXE);
    write_cr4(read_cr4() | CR4_PAE);
    write_cr3((uint32_t)kernel_pdpt);
    write_cr0(read_cr0() | CR0_PG | CR0_WP);
    kprintf("paging: identity map 0x00000000-0x%08x (PAE), page 0 unmapped\n", top - 1);
    if (nx_on)
        kprintf("paging: NX on, PROT_EXEC is enforced\n");
    else
        kprintf("paging: this CPU has no NX: PROT_EXEC is not enforced on this CPU\n");
}

int paging_nx(void) { return nx_on; }
pte_t paging_kernel_pdpte(void) { return kernel_pdpt[0]; }
pte_t *paging_kmap_ptes(void) { return pt_kmap; }
uint32_t paging_kernel_pdpt(void) { return (uint32_t)kernel_pdpt; }
void paging_load(uint32_t pdpt) { write_cr3(pdpt); }
void paging_flush_page(uint32_t va) { invlpg(va); }
void paging_flush_all(void) { write_cr3(read_cr3()); }
pte_t *paging_kernel_pde(uint32_t va) { return &kernel_pd[(va >> PD_SHIFT) & (PT_ENTRIES - 1)]; }

/* The 4 KiB entry for va, or NULL if a 2 MiB page or nothing covers it. */
static pte_t *small_entry(uint32_t va)
{
    pte_t pde = kernel_pd[va >> PD_SHIFT];
    if (!(pde & PTE_PRESENT) || (pde & PTE_PS))
        return 0;
    pte_t *pt = (pte_t *)(uint32_t)(pde & PTE_ADDR);
    return &pt[(va >> PAGE_SHIFT) & (PT_ENTRIES - 1)];
}

int paging_is_mapped(uint32_t va)
{
    if (va >= KERNEL_SPACE_END)
        return 0;
    pte_t pde = kernel_pd[va >> PD_SHIFT];
    if (!(pde & PTE_PRESENT))
        return 0;
    if (pde & PTE_PS)
        return 1;
    return (*small_entry(va) & PTE_PRESENT) != 0;
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
    if (va >= KERNEL_SPACE_END)
        return -1;
    pte_t *pte = small_entry(va);
    if (!pte)
        return -1;
    *pte = present ? ((va & PAGE_ADDR_MASK) | PTE_PRESENT | PTE_WRITE) : 0;
    invlpg(va);
    return 0;
}
