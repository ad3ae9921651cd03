/* mm.c — creating, loading and destroying address spaces, and the shared
 * zero page. The first address space is made at boot and belongs to the
 * shell. */
#include <stdint.h>
#include "mm.h"
#include "../page_alloc.h"
#include "../memory.h"
#include "../../include/errno.h"

static struct mm *current;

/* The boot address space and the zero page are static, so that booting
 * takes no frame from buddy and nothing from the heap (the buddy and heap
 * figures at the first prompt stay those of an idle kernel). */
static struct mm boot_mm;
static pte_t boot_pdpt[4] __attribute__((aligned(32)));
static pte_t boot_pd[3][PT_ENTRIES] __attribute__((aligned(4096)));
static uint8_t zero_page[PAGE_SIZE] __attribute__((aligned(4096)));

struct mm *mm_current(void) { return current; }
uint32_t vm_zero_page(void) { return (uint32_t)zero_page; }

/* Fill in a zeroed mm around its (zeroed) PDPT and page directories. */
static void mm_setup(struct mm *mm, pte_t *pdpt, pte_t *pd[3])
{
    mm->pdpt = pdpt;
    mm->pdpt[0] = paging_kernel_pdpte();
    for (unsigned i = 0; i < 3; i++) {
        mm->pd[i] = pd[i];
        mm->pdpt[i + 1] = (uint32_t)pd[i] | PTE_PRESENT;
    }
    mm->pt_pages = 4;
    mm->limit_as = 0xFFFFFFFFu;
    mm->limit_stack = MM_DEFAULT_STACK_LIMIT;
}

struct mm *mm_create(void)
{
    struct mm *mm = kcalloc(1, sizeof(*mm));
    struct page *f[4] = { alloc_table_page(), alloc_table_page(), alloc_table_page(), alloc_table_page() };
    if (!mm || !f[0] || !f[1] || !f[2] || !f[3]) {
        for (unsigned i = 0; i < 4; i++)
            free_page(f[i]);
        kfree(mm);
        return 0;
    }
    pte_t *pd[3] = { page_address(f[1]), page_address(f[2]), page_address(f[3]) };
    mm_setup(mm, page_address(f[0]), pd);
    return mm;
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
    kfree(mm->vmas);
    if (mm == &boot_mm)
        return;
    free_page(page_lookup((uint32_t)mm->pdpt));
    for (unsigned i = 0; i < 3; i++)
        free_page(page_lookup((uint32_t)mm->pd[i]));
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
    pte_t *pd[3] = { boot_pd[0], boot_pd[1], boot_pd[2] };
    mm_setup(&boot_mm, boot_pdpt, pd);
    mm_activate(&boot_mm);
}
