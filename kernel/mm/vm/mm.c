/* mm.c — creating, loading and destroying address spaces, their page
 * directories (made on demand, freed with their last table), and the shared
 * zero page. The first address space is made at boot and belongs to the
 * shell. */
#include <stdint.h>
#include "mm.h"
#include "../page_alloc.h"
#include "../memory.h"
#include "../../lib/string.h"
#include "../../include/errno.h"

static struct mm *current;

/* The boot address space and the zero page are static, so that booting
 * takes no frame from buddy and nothing from the heap (the buddy and heap
 * figures at the first prompt stay those of an idle kernel). */
static struct mm boot_mm;
static pte_t boot_pd[3][PT_ENTRIES] __attribute__((aligned(4096)));
static uint8_t zero_page[PAGE_SIZE] __attribute__((aligned(4096)));

struct mm *mm_current(void) { return current; }
uint32_t vm_zero_page(void) { return (uint32_t)zero_page; }

/* Fill in a zeroed mm's PDPT: the kernel's GiB, and the page directories
 * in pd (boot) or none yet (pgtable_entry makes them). */
static void mm_setup(struct mm *mm, pte_t *const pd[3])
{
    mm->pdpt[0] = paging_kernel_pdpte();
    for (unsigned i = 0; i < 3; i++) {
        mm->pd[i] = pd ? pd[i] : 0;
        mm->pdpt[i + 1] = pd ? ((uint32_t)pd[i] | PTE_PRESENT) : 0;
        mm->pt_pages += pd != 0;
    }
    mm->vmas = mm->vma_inline;
    mm->cap_vmas = MM_INLINE_VMAS;
    mm->limit_as = 0xFFFFFFFFu;
    mm->limit_stack = MM_DEFAULT_STACK_LIMIT;
}

struct mm *mm_create(void)
{
    struct mm *mm = kmalloc_aligned(sizeof(*mm), _Alignof(struct mm));
    if (!mm)
        return 0;
    memset(mm, 0, sizeof(*mm));
    mm_setup(mm, 0);
    return mm;
}

pte_t *mm_directory(struct mm *mm, uint32_t va, int alloc)
{
    unsigned i = (va >> PDPT_SHIFT) - 1;
    if (mm->pd[i] || !alloc)
        return mm->pd[i];
    struct page *p = pgtable_alloc_page();
    if (!p)
        return 0;
    mm->pd[i] = page_address(p);
    mm->pdpt[i + 1] = p->phys | PTE_PRESENT;
    mm->pt_pages++;
    /* PAE: the CPU reads the PDPT entries when CR3 is loaded. */
    if (mm == current)
        paging_load((uint32_t)mm->pdpt);
    return mm->pd[i];
}

void mm_directory_trim(struct mm *mm, uint32_t va)
{
    unsigned i = (va >> PDPT_SHIFT) - 1;
    if (!mm->pd[i] || mm->pd_tables[i] || mm == &boot_mm)
        return;
    /* Its last table's entry was cleared with the table: all zeros. */
    pgtable_free_page(page_lookup((uint32_t)mm->pd[i]));
    mm->pd[i] = 0;
    mm->pdpt[i + 1] = 0;
    mm->pt_pages--;
    /* The CPU keeps the PDPT entries it read at the last load: the freed
     * directory stays in use until CR3 is loaded again (which flushes the
     * TLB too). */
    if (mm == current)
        paging_load((uint32_t)mm->pdpt);
}

void mm_destroy(struct mm *mm)
{
    while (mm->nr_vmas) {
        struct vma *v = &mm->vmas[mm->nr_vmas - 1];
        pgtable_unmap(mm, v, v->start, v->end);
        vma_put_backing(mm, v);
        mm->nr_vmas--;
    }
    if (mm == current)
        mm_activate(0);
    if (mm->vmas != mm->vma_inline)
        kfree(mm->vmas);
    if (mm == &boot_mm) {              /* static: empty again, and usable */
        mm->vmas = mm->vma_inline;
        mm->cap_vmas = MM_INLINE_VMAS;
        return;
    }
    /* The unmaps freed every table, and with them its directory; one is
     * left only where its first table could not be made (no memory). */
    for (unsigned i = 0; i < 3; i++)
        if (mm->pd[i])
            pgtable_free_page(page_lookup((uint32_t)mm->pd[i]));
    kfree(mm);
}

void mm_activate(struct mm *mm)
{
    current = mm;
    paging_load(mm ? (uint32_t)mm->pdpt : paging_kernel_pdpt());
}

int mm_set_policy(struct mm *mm, uint32_t policy)
{
    if (policy & ~MM_POLICY_WX)
        return -EINVAL;
    mm->policy = policy;
    return 0;
}

void mm_set_limit_as(struct mm *mm, uint32_t bytes)
{
    mm->limit_as = bytes;
}

void vm_init(void)
{
    pte_t *const pd[3] = { boot_pd[0], boot_pd[1], boot_pd[2] };
    mm_setup(&boot_mm, pd);
    table_pool_init();
    mm_activate(&boot_mm);
}
