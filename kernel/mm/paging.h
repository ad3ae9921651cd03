/* paging.h — PAE page tables: the kernel's shared first GiB and the
 * primitives address spaces (mm/vm) build their user half with.
 *
 * Every address space has a 4-entry PDPT. Entry 0 points at the one kernel
 * page directory (0 – 1 GiB), so kernel mappings are the same everywhere and
 * never need syncing; entries 1–3 (1 – 4 GiB) are the address space's own.
 *
 *   0x00000000  page 0 unmapped (NULL faults)            4 KiB table
 *   0x00100000  kernel image                             (same table)
 *   0x00200000  heap, then the rest of low memory        2 MiB pages
 *   0x02000000  stack region: guard pages unmapped       4 KiB table
 *   ...         identity map up to min(top of RAM, 896 MiB), supervisor only
 *   0x38000000  kernel windows up to 1 GiB: vmalloc to 0x3F7FFFFF, then
 *   0x3F800000  kmap: 2048 one-page windows onto HighMem frames (highmem.c)
 *   0x40000000  user space, per address space, to 0xFFFFF000
 *
 * Entries are 64 bits: bit 63 is NX (execute disable), honoured only when
 * EFER.NXE is on, which paging_init does when CPUID advertises NX.
 */
#ifndef KOS_PAGING_H
#define KOS_PAGING_H

#include <stdint.h>

typedef uint64_t pte_t;

#define PTE_PRESENT  0x001ull
#define PTE_WRITE    0x002ull
#define PTE_USER     0x004ull
#define PTE_ACCESSED 0x020ull
#define PTE_DIRTY    0x040ull
#define PTE_PS       0x080ull       /* in a page directory entry: a 2 MiB page */
#define PTE_NX       (1ull << 63)
#define PTE_ADDR     0x000FFFFFFFFFF000ull
#define PAGE_ADDR_MASK 0xFFFFF000u

#define PT_ENTRIES   512u
#define PD_SHIFT     21             /* one directory entry maps 2 MiB */
#define PDPT_SHIFT   30             /* one PDPT entry maps 1 GiB */
#define BIG_PAGE     (1u << PD_SHIFT)

#define DIRECT_MAP_END   0x38000000u    /* 896 MiB: the identity map stops here */
#define KMAP_START       0x3F800000u    /* the last 8 MiB of the kernel's GiB */
#define KERNEL_SPACE_END 0x40000000u    /* 1 GiB: user space starts */
#define KMAP_END         KERNEL_SPACE_END
#define KMAP_PAGES       ((KMAP_END - KMAP_START) >> PAGE_SHIFT)
#define USER_START       KERNEL_SPACE_END
#define USER_END         0xFFFFF000u    /* the last page stays unmapped */

_Static_assert(sizeof(pte_t) == 8, "PAE entries are 64 bits");

/* Build the kernel's tables, switch on PAE, NX (if the CPU has it), WP and
 * paging. Prints whether PROT_EXEC can be enforced. */
void paging_init(void);

/* 1 if EFER.NXE is on (NX bits are honoured), else 0. */
int paging_nx(void);

/* The value of PDPT entry 0 for every address space. */
pte_t paging_kernel_pdpte(void);

/* The kernel's own PDPT (entries 1–3 not present), physical address. */
uint32_t paging_kernel_pdpt(void);

/* Load an address space: CR3 = pdpt (physical, 32-byte aligned). Also
 * reloads the PDPT entries the CPU caches, so call it after changing one. */
void paging_load(uint32_t pdpt);

/* Drop one page's translation from the TLB; everything (CR3 reload). */
void paging_flush_page(uint32_t va);
void paging_flush_all(void);

/* The kernel page directory's entry for va (below KERNEL_SPACE_END): the
 * kernel windows (vmalloc, kmap) install their page tables there, once for
 * every address space. */
pte_t *paging_kernel_pde(uint32_t va);

/* The KMAP_PAGES entries that map the kmap windows, one after another:
 * entry i maps KMAP_START + i * PAGE_SIZE. Only highmem.c writes them. */
pte_t *paging_kmap_ptes(void);

/* Is the byte at va mapped in the kernel's first GiB? */
int paging_is_mapped(uint32_t va);

/* Is every byte of [va, va + len) mapped (kernel first GiB only)? */
int paging_range_mapped(uint32_t va, uint32_t len);

/* Mark one 4 KiB page of a 4 KiB-mapped stretch of the identity map present
 * or not. Returns 0, or -1 if va is covered by a 2 MiB page. */
int paging_set_present(uint32_t va, int present);

#endif
