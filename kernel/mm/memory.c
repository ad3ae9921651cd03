/* memory.c — the kacchiOS memory manager API, a thin front over kernel/mm/heap/.
 *
 * It owns the one kernel heap instance, turns the heap's error codes into
 * serial reports and counters, retries a failed allocation once after
 * memory_defragment() as the specification promises, and keeps interrupts
 * off around the heap so an interrupt handler can never see it half-updated.
 * Stacks live in stack.c. It also says at boot what the page allocator
 * made of RAM (memory_init_frames): the allocators below it print nothing.
 */
#include <stdint.h>
#include "memory.h"
#include "heap/heap.h"
#include "stack.h"
#include "physmem.h"
#include "buddy.h"
#include "../arch/cpu.h"
#include "../include/errno.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"

static struct heap *heap;
static uint32_t heap_bytes;
static struct {
    uint32_t double_frees, invalid_frees, corrupt_blocks, bad_sizes, defragment_runs;
} errs;

#define CALLER ((uintptr_t)__builtin_return_address(0))

void memory_init(void)
{
    /* A second call would lay a fresh heap over live blocks and forget
     * every stack in use: each owner would be left holding memory the
     * next allocation hands out again. */
    static int done;
    if (done) {
        kprintf("memory_init: already initialized: the heap and the stacks are kept\n");
        return;
    }
    done = 1;
    uint32_t end = physmem_usable_end(HEAP_START);
    heap_bytes = HEAP_SIZE;
    if (end < HEAP_END) {
        heap_bytes = end > HEAP_START ? end - HEAP_START : 0;
        kprintf("memory: RAM ends at %p: heap clamped to %u KiB\n", (void *)end, heap_bytes / 1024);
    }
    heap = heap_bytes ? heap_init((void *)HEAP_START, heap_bytes) : 0;
    if (!heap)
        kprintf("memory: no heap: kmalloc will always return NULL\n");
    stack_init();
    kprintf("memory: heap %p-%p (%u KiB), %u stacks of %u KiB from %p\n",
            (void *)HEAP_START, (void *)(HEAP_START + heap_bytes), heap_bytes / 1024,
            stack_slots_in_ram(), STACK_SIZE / 1024, (void *)STACK_REGION_START);
}

/* The specification's retry: one defragmentation pass before giving up.
 * Returns the bytes it made available; interrupts are already off. */
static uint32_t defragment_locked(void)
{
    errs.defragment_runs++;
    return (uint32_t)heap_defragment(heap);
}

/* Count and print a refused operation on ptr. */
static void report(const char *fn, const void *ptr, int err)
{
    if (err == HEAP_E_DOUBLE)
        errs.double_frees++;
    else if (err == HEAP_E_INVALID)
        errs.invalid_frees++;
    else
        errs.corrupt_blocks++;
    kprintf("%s: %p: %s\n", fn, ptr, heap_strerror(err));
}

static void *alloc_or_defragment(const char *fn, size_t size, size_t align, uintptr_t site)
{
    if (!heap || size == 0)
        return 0;
    uint32_t f = irq_save();
    void *p = heap_alloc(heap, size, align, site);
    uint32_t made = 0;
    if (!p && (made = defragment_locked()) > 0)
        p = heap_alloc(heap, size, align, site);
    irq_restore(f);
    if (made)
        kprintf("%s: %u bytes: defragment made %u bytes available: %s\n", fn, (uint32_t)size, made,
                p ? "allocated" : "still out of memory");
    if (!p)
        kprintf("%s: %u bytes: out of memory\n", fn, (uint32_t)size);
    return p;
}

void *kmalloc(size_t size)
{
    return alloc_or_defragment("kmalloc", size, 0, CALLER);
}

void *kmalloc_aligned(size_t size, size_t align)
{
    if (align == 0 || (align & (align - 1))) {
        kprintf("kmalloc_aligned: alignment %u is not a power of two\n", (uint32_t)align);
        errs.bad_sizes++;
        return 0;
    }
    return alloc_or_defragment("kmalloc_aligned", size, align, CALLER);
}

int kfree_checked(void *ptr)
{
    if (!ptr || !heap)
        return HEAP_OK;
    uint32_t f = irq_save();
    int err = heap_free(heap, ptr);
    irq_restore(f);
    if (err)
        report("kfree", ptr, err);
    return err;
}

void kfree(void *ptr)
{
    kfree_checked(ptr);
}

size_t ksize(const void *ptr)
{
    if (!ptr || !heap)
        return 0;
    uint32_t f = irq_save();
    size_t n = heap_owns(heap, ptr) ? heap_usable_size(heap, ptr) : 0;
    irq_restore(f);
    return n;
}

void *kcalloc(size_t num, size_t size)
{
    if (size && num > (size_t)-1 / size) {
        kprintf("kcalloc: %u * %u bytes: size overflows\n", (uint32_t)num, (uint32_t)size);
        errs.bad_sizes++;
        return 0;
    }
    void *p = alloc_or_defragment("kcalloc", num * size, 0, CALLER);
    if (p)
        memset(p, 0, num * size);
    return p;
}

void *krealloc(void *ptr, size_t new_size)
{
    if (!ptr)
        return alloc_or_defragment("krealloc", new_size, 0, CALLER);
    if (!heap)
        return 0;
    int err = 0;
    uint32_t f = irq_save();
    void *p = heap_realloc(heap, ptr, new_size, CALLER, &err);
    if (!p && !err && new_size && defragment_locked() > 0)
        p = heap_realloc(heap, ptr, new_size, CALLER, &err);
    irq_restore(f);
    if (err)
        report("krealloc", ptr, err);
    else if (!p && new_size)
        kprintf("krealloc: %u bytes: out of memory\n", (uint32_t)new_size);
    return p;
}

static void heap_stats_now(struct heap_stats *hs)
{
    memset(hs, 0, sizeof(*hs));
    if (heap) {
        uint32_t f = irq_save();
        heap_get_stats(heap, hs);
        irq_restore(f);
    }
}

void memory_get_stats(memory_stats_t *stats)
{
    struct heap_stats hs;
    heap_stats_now(&hs);
    stats->total_heap = heap_bytes;
    stats->used_heap = hs.used_bytes;
    stats->free_heap = hs.free_bytes;
    stats->total_stacks = stack_slots_in_ram() * STACK_SIZE;
    stats->num_allocations = hs.live_blocks;
    stats->num_stacks = stack_count();
}

void memory_get_counters(struct memory_counters *c)
{
    struct heap_stats hs;
    heap_stats_now(&hs);
    c->peak_heap = hs.peak_used_bytes;
    c->allocs = hs.allocs;
    c->frees = hs.frees;
    c->failed_allocs = hs.failed_allocs;
    c->double_frees = errs.double_frees;
    c->invalid_frees = errs.invalid_frees;
    c->corrupt_blocks = errs.corrupt_blocks;
    c->bad_sizes = errs.bad_sizes;
    c->stack_errors = stack_errors();
    c->defragment_runs = errs.defragment_runs;
    c->largest_free = hs.largest_free;
    c->free_blocks = hs.free_blocks;
    /* 32-bit arithmetic is enough: the heap is at most 30 MiB, so * 100 fits. */
    c->heap_extent = hs.extent_bytes;
    c->fragmentation_pct = hs.free_bytes ? 100 - (uint32_t)hs.largest_free * 100 / (uint32_t)hs.free_bytes : 0;
}

void memory_print_stats(void)
{
    memory_stats_t s;
    struct memory_counters c;
    memory_get_stats(&s);
    memory_get_counters(&c);
    kprintf("total_heap: %u\n", s.total_heap);
    kprintf("used_heap: %u\n", s.used_heap);
    kprintf("free_heap: %u\n", s.free_heap);
    kprintf("total_stacks: %u\n", s.total_stacks);
    kprintf("num_allocations: %u\n", s.num_allocations);
    kprintf("num_stacks: %u\n", s.num_stacks);
    kprintf("peak_heap: %u\n", c.peak_heap);
    kprintf("allocs: %u\n", c.allocs);
    kprintf("frees: %u\n", c.frees);
    kprintf("failed_allocs: %u\n", c.failed_allocs);
    kprintf("double_frees: %u\n", c.double_frees);
    kprintf("invalid_frees: %u\n", c.invalid_frees);
    kprintf("corrupt_blocks: %u\n", c.corrupt_blocks);
    kprintf("bad_sizes: %u\n", c.bad_sizes);
    kprintf("stack_errors: %u\n", c.stack_errors);
    kprintf("defragment_runs: %u\n", c.defragment_runs);
    kprintf("free_blocks: %u\n", c.free_blocks);
    kprintf("largest_free: %u\n", c.largest_free);
    kprintf("fragmentation_pct: %u\n", c.fragmentation_pct);
    kprintf("heap_extent: %u\n", c.heap_extent);
}

unsigned memory_defragment(void)
{
    if (!heap)
        return 0;
    uint32_t f = irq_save();
    uint32_t made = defragment_locked();
    struct heap_stats hs;
    heap_get_stats(heap, &hs);
    irq_restore(f);
    kprintf("memory_defragment: %u bytes made available; largest free block %u of %u free bytes\n",
            made, (uint32_t)hs.largest_free, (uint32_t)hs.free_bytes);
    return made;
}

static void print_violation(const char *what, const void *where, void *ctx)
{
    (void)ctx;
    kprintf("heap_check: %p: %s\n", where, what);
}

unsigned memory_check(void)
{
    if (!heap)
        return 0;
    uint32_t f = irq_save();
    unsigned n = heap_check(heap, print_violation, 0);
    irq_restore(f);
    return n;
}

void memory_set_debug(unsigned flags)
{
    if (heap)
        heap_set_debug(heap, flags);
}

unsigned memory_get_debug(void)
{
    return heap ? heap_get_debug(heap) : 0;
}

static void print_live(const struct heap_block *b, void *ctx)
{
    uint32_t *n = ctx;
    if (!b->used)
        return;
    (*n)++;
    kprintf("  %p %u bytes from %p\n", b->payload, (uint32_t)b->size, (void *)b->site);
}

void memory_print_leaks(void)
{
    uint32_t n = 0;
    if (heap)
        heap_walk(heap, print_live, &n);
    kprintf("leaks: %u live blocks\n", n);
}

/* The page allocator prints nothing; what it made of RAM is said here. */
int memory_init_frames(void)
{
    int err = buddy_init(physmem_top());
    if (err) {
        kprintf("buddy_init: error %s (%d): no page frames to allocate\n", errno_name(err), err);
        return err;
    }
    struct buddy_stats st;
    buddy_stats(&st);
    uint32_t start, end;
    kprintf("buddy: mem_map %p-%p: %u struct pages, %u KiB\n", (void *)st.mem_map_phys,
            (void *)(st.mem_map_phys + ((st.mem_map_bytes + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))),
            mem_map_pages, st.mem_map_bytes / 1024);
    for (unsigned i = 0; buddy_managed_range(i, &start, &end) == 0; i++)
        kprintf("buddy: managed 0x%08llx-0x%08llx: %u frames\n", (phys_addr_t)start << PAGE_SHIFT,
                (phys_addr_t)end << PAGE_SHIFT, end - start);
    for (unsigned z = 0; z < NR_ZONES; z++)
        kprintf("buddy: zone %-7s %u frames (%u KiB)\n", buddy_zone_name(z), st.managed_pages[z],
                st.managed_pages[z] * (PAGE_SIZE / 1024));
    return 0;
}

void memory_walk(void (*fn)(const struct heap_block *block, void *ctx), void *ctx)
{
    if (!heap)
        return;
    uint32_t irq = irq_save();
    heap_walk(heap, fn, ctx);
    irq_restore(irq);
}
