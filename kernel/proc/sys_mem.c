/* sys_mem.c — the memory system calls over the current process's address
 * space (mm/vm): brk, mmap2, munmap, mprotect, msync, mlock, munlock, and
 * the locked-memory limit they answer to. */
#include <stdint.h>
#include "proc.h"
#include "syscall.h"
#include "../fs/mmap.h"
#include "../include/errno.h"
#include "../include/mman.h"
#include "../mm/vm/mm.h"

static uint32_t round_up(uint32_t v)
{
    return (v + PAGE_SIZE - 1) & PAGE_ADDR_MASK;
}

/* Linux's brk: returns the new break, or the old one when it cannot move. */
int32_t sys_brk(struct regs *r)
{
    struct proc *p = current;
    uint32_t want = r->ebx;
    if (!p->mm || want < p->brk_start || want >= 0xC0000000u)
        return (int32_t)p->brk;
    uint32_t old_end = round_up(p->brk), new_end = round_up(want);
    if (new_end > old_end) {
        /* A hint, not MAP_FIXED: the heap must not replace a mapping in its way. */
        int32_t got = vm_mmap(p->mm, old_end, new_end - old_end, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS);
        if (got != (int32_t)old_end) {
            if (!vm_mmap_failed(got))
                vm_munmap(p->mm, (uint32_t)got, new_end - old_end);
            return (int32_t)p->brk;
        }
    } else if (new_end < old_end) {
        vm_munmap(p->mm, new_end, old_end - new_end);
    }
    p->brk = want;
    return (int32_t)p->brk;
}

/* RLIMIT_MEMLOCK for pages more locked pages: 0, -EPERM when the limit
 * is 0, else err when it would be passed. */
static int memlock_allows(uint32_t pages, int err)
{
    uint32_t limit = current->rlim[RLIMIT_MEMLOCK].rlim_cur;
    if (limit == 0)
        return -EPERM;
    uint64_t locked = (uint64_t)current->mm->locked_pages + pages;
    return locked << PAGE_SHIFT > limit ? err : 0;
}

int32_t sys_mmap2(struct regs *r)
{
    struct mm *mm = current->mm;
    uint32_t len = r->ecx, flags = r->esi;
    if (!mm)
        return -EINVAL;
    if (flags & MAP_LOCKED) {
        int err = memlock_allows(round_up(len) >> PAGE_SHIFT, -EAGAIN);
        if (err)
            return err;
    }
    /* mmap2's offset counts pages; a file mapping goes through fs/mmap.c,
     * whose offsets are bytes in 32 bits: a page count they cannot hold
     * would wrap (4 GiB in would map the file's first page). */
    if (!(flags & MAP_ANONYMOUS) && r->ebp > (UINT32_MAX >> PAGE_SHIFT))
        return -EOVERFLOW;
    return fs_mmap(mm, fds_table(&current->fds), r->ebx, len, r->edx, flags, (int)r->edi,
                   r->ebp << PAGE_SHIFT);
}

int32_t sys_munmap(struct regs *r)
{
    return current->mm ? vm_munmap(current->mm, r->ebx, r->ecx) : -EINVAL;
}

int32_t sys_mprotect(struct regs *r)
{
    return current->mm ? vm_mprotect(current->mm, r->ebx, r->ecx, r->edx) : -EINVAL;
}

/* Is [addr, addr + len) covered by mappings without a hole? 0, -EINVAL
 * (unaligned) or -ENOMEM. */
static int range_mapped(struct mm *mm, uint32_t addr, uint32_t len)
{
    if (addr & (PAGE_SIZE - 1))
        return -EINVAL;
    uint32_t end = addr + round_up(len);
    if (end < addr)
        return -ENOMEM;
    for (uint32_t va = addr; va < end;) {
        struct vma *v = vma_find(mm, va);
        if (!v)
            return -ENOMEM;
        va = v->end;
    }
    return 0;
}

/* Shared file mappings' dirty bits go to their frames (filemap.c);
 * anonymous memory has nothing to write back: the range is checked. */
int32_t sys_msync(struct regs *r)
{
    return current->mm ? vm_msync(current->mm, r->ebx, r->ecx, r->edx) : -EINVAL;
}

int32_t sys_mlock(struct regs *r)
{
    struct mm *mm = current->mm;
    uint32_t addr = r->ebx & PAGE_ADDR_MASK, len = r->ecx + (r->ebx - addr);
    if (!mm)
        return -EINVAL;
    /* Pages locked already are counted once, as Linux counts them. */
    uint32_t more = (round_up(len) >> PAGE_SHIFT) - vm_locked_pages_in(mm, addr, round_up(len));
    int err = memlock_allows(more, -ENOMEM);
    if (!err)
        err = range_mapped(mm, addr, len);
    if (!err)
        err = vm_mlock(mm, addr, round_up(len), 1);
    return err;
}

int32_t sys_munlock(struct regs *r)
{
    struct mm *mm = current->mm;
    uint32_t addr = r->ebx & PAGE_ADDR_MASK, len = r->ecx + (r->ebx - addr);
    if (!mm)
        return -EINVAL;
    int err = range_mapped(mm, addr, len);
    if (!err)
        err = vm_mlock(mm, addr, round_up(len), 0);
    return err;
}
