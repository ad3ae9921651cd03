/* mm.c — creating, loading and destroying address spaces, their page
 * directories (made on demand, freed with their last table), and the shared
 * zero page. The first address space is made at boot and belongs to the
 * shell. Every address space is on one list, which ftruncate walks
 * (filemap.c).
 *
 * The mm pool: MM_POOL_SIZE struct mm in the kernel image, as the table
 * pool's frames (pgtable.c), so that making an address space (each fork
 * and exec) takes one from an array instead of an aligned allocation from
 * the heap, and takes no memory from buddy or the heap. With the pool
 * empty, one comes from the heap (kmalloc_aligned) and goes back there.
 */
#include <stddef.h>
#include <stdint.h>
#include "mm.h"
#include "../page_alloc.h"
#include "../memory.h"
#include "../../arch/cpu.h"
#include "../../lib/string.h"
#include "../../include/errno.h"

static struct mm *current;
static struct list_head all_mms;
static struct mm mm_pool[MM_POOL_SIZE];
static struct mm *mm_pool_free[MM_POOL_SIZE];
static uint32_t mm_pool_free_count;

/* The boot address space, the pool and the zero page are static, so that
 * booting takes no frame from buddy and nothing from the heap (the buddy
 * and heap figures at the first prompt stay those of an idle kernel). */
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
    list_add(&mm->link, &all_mms);
}

uint32_t mm_pool_count(void)
{
    return mm_pool_free_count;
}

static int in_pool(const struct mm *mm)
{
    return mm >= mm_pool && mm < mm_pool + MM_POOL_SIZE;
}

struct mm *mm_create(void)
{
    uint32_t irq = irq_save();
    struct mm *mm = mm_pool_free_count ? mm_pool_free[--mm_pool_free_count] : 0;
    irq_restore(irq);
    if (!mm)
        mm = kmalloc_aligned(sizeof(*mm), _Alignof(struct mm));
    if (!mm)
        return 0;
    /* The inline VMAs are written before they are read (nr_vmas says
     * how many are), so only what comes before them is cleared. */
    memset(mm, 0, offsetof(struct mm, vma_inline));
    mm_setup(mm, 0);
    return mm;
}

struct mm *mm_next(struct mm *mm)
{
    struct list_head *next = mm ? mm->link.next : all_mms.next;
    return next == &all_mms ? 0 : list_entry(next, struct mm, link);
}

pte_t *mm_directory_make(struct mm *mm, uint32_t va)
{
    unsigned i = (va >> PDPT_SHIFT) - 1;
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
        vma_put_backing(v);
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
    list_del(&mm->link);
    if (!in_pool(mm)) {
        kfree(mm);
        return;
    }
    uint32_t irq = irq_save();
    mm_pool_free[mm_pool_free_count++] = mm;
    irq_restore(irq);
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
    list_init(&all_mms);
    for (uint32_t i = 0; i < MM_POOL_SIZE; i++)
        mm_pool_free[i] = &mm_pool[i];
    mm_pool_free_count = MM_POOL_SIZE;
    mm_setup(&boot_mm, pd);
    table_pool_init();
    mm_activate(&boot_mm);
}
