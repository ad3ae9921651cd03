/* mmaptest — the mmap/munmap/mprotect semantics of the VM from ring 3, as
 * KTAP v1. A case that expects a fault makes it in a child and checks that
 * the child was killed by SIGSEGV. */
#include "ktap.h"
#include "stdio.h"
#include "syscall.h"

#define PAGE 4096
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static char *map(void *hint, unsigned long len, int prot, int flags)
{
    return mmap(hint, len, prot, flags, -1, 0);
}

static void read_byte(void *p) { (void)*(volatile char *)p; }
static void write_byte(void *p) { *(volatile char *)p = 1; }
static void call_code(void *p) { ((void (*)(void))p)(); }

static int killed_by_segv(void (*fn)(void *), void *p)
{
    int status = ktap_child_status(fn, p);
    return status >= 0 && WTERMSIG(status) == SIGSEGV;
}

KTAP_CASE(anonymous_pages_read_as_zero_and_keep_writes)
{
    unsigned char *p = (unsigned char *)map(0, 4 * PAGE, RW, ANON);
    KTAP_EXPECT(!sys_failed((long)p), "mmap error %ld", (long)p);
    if (sys_failed((long)p))
        return;
    int zero = 1;
    for (int i = 0; i < 4 * PAGE; i += 512)
        zero &= p[i] == 0;
    KTAP_EXPECT(zero, "fresh memory is not zero");
    for (int i = 0; i < 4; i++)
        p[i * PAGE + 7] = (unsigned char)(i + 1);
    KTAP_EXPECT(p[7] == 1 && p[3 * PAGE + 7] == 4, "writes lost");
    KTAP_EXPECT(munmap(p, 4 * PAGE) == 0, "munmap failed");
}

KTAP_CASE(bad_arguments_are_einval)
{
    KTAP_EXPECT((long)map(0, 0, RW, ANON) == -EINVAL, "length 0");
    KTAP_EXPECT((long)map(0, PAGE, RW, MAP_ANONYMOUS) == -EINVAL, "neither shared nor private");
    KTAP_EXPECT((long)map(0, PAGE, RW, ANON | MAP_SHARED) == -EINVAL, "both shared and private");
    KTAP_EXPECT((long)map((void *)0x50000123, PAGE, RW, ANON | MAP_FIXED) == -EINVAL, "unaligned fixed");
    KTAP_EXPECT((long)map(0, PAGE, 0x10, ANON) == -EINVAL, "unknown prot bit");
    KTAP_EXPECT((long)map(0, PAGE, RW, ANON | 0x40000) == -EINVAL, "unknown flag bit");
    KTAP_EXPECT(munmap((void *)0x50000000, 0) == -EINVAL, "munmap length 0");
    KTAP_EXPECT(munmap((void *)0x50000001, PAGE) == -EINVAL, "munmap unaligned");
}

KTAP_CASE(fixed_outside_user_space_is_enomem)
{
    KTAP_EXPECT((long)map((void *)0x00100000, PAGE, RW, ANON | MAP_FIXED) == -ENOMEM, "kernel space");
}

KTAP_CASE(fixed_replaces_what_it_overlaps)
{
    char *p = map(0, 3 * PAGE, RW, ANON);
    if (sys_failed((long)p)) {
        KTAP_EXPECT(0, "mmap error %ld", (long)p);
        return;
    }
    p[0] = 'a';
    p[PAGE] = 'b';
    p[2 * PAGE] = 'c';
    char *q = map(p + PAGE, PAGE, RW, ANON | MAP_FIXED);
    KTAP_EXPECT(q == p + PAGE, "fixed mapping at %p, not %p", q, p + PAGE);
    KTAP_EXPECT(p[0] == 'a' && p[PAGE] == 0 && p[2 * PAGE] == 'c', "%c %d %c", p[0], p[PAGE], p[2 * PAGE]);
    munmap(p, 3 * PAGE);
}

KTAP_CASE(hint_never_overlaps)
{
    char *p = map(0, 2 * PAGE, RW, ANON);
    char *q = map(p, PAGE, RW, ANON);
    KTAP_EXPECT(!sys_failed((long)q) && (q >= p + 2 * PAGE || q + PAGE <= p), "hint gave %p over %p", q, p);
    p[0] = 'x';
    KTAP_EXPECT(p[0] == 'x', "the first mapping changed");
    munmap(p, 2 * PAGE);
    munmap(q, PAGE);
}

KTAP_CASE(munmap_of_the_middle_splits)
{
    char *p = map(0, 3 * PAGE, RW, ANON);
    p[0] = 'a';
    p[2 * PAGE] = 'c';
    KTAP_EXPECT(munmap(p + PAGE, PAGE) == 0, "munmap failed");
    KTAP_EXPECT(p[0] == 'a' && p[2 * PAGE] == 'c', "neighbours lost their contents");
    KTAP_EXPECT(killed_by_segv(read_byte, p + PAGE), "reading the hole did not fault");
    KTAP_EXPECT(munmap(p, 3 * PAGE) == 0, "munmap over a hole failed");
    KTAP_EXPECT(munmap(p, 3 * PAGE) == 0, "munmap of nothing failed");
}

KTAP_CASE(mprotect_read_only_then_write_faults)
{
    char *p = map(0, PAGE, RW, ANON);
    p[0] = 'w';                               /* faulted in writable first: the TLB case */
    KTAP_EXPECT(mprotect(p, PAGE, PROT_READ) == 0, "mprotect failed");
    KTAP_EXPECT(p[0] == 'w', "contents changed");
    KTAP_EXPECT(killed_by_segv(write_byte, p), "a write to a read-only page did not fault");
    KTAP_EXPECT(mprotect(p, PAGE, RW) == 0, "mprotect back failed");
    p[0] = 'x';
    KTAP_EXPECT(p[0] == 'x', "writable again");
    munmap(p, PAGE);
}

KTAP_CASE(prot_none_faults_and_keeps_contents)
{
    char *p = map(0, PAGE, RW, ANON);
    p[1] = 'k';
    KTAP_EXPECT(mprotect(p, PAGE, PROT_NONE) == 0, "mprotect none failed");
    KTAP_EXPECT(killed_by_segv(read_byte, p), "reading PROT_NONE did not fault");
    mprotect(p, PAGE, PROT_READ);
    KTAP_EXPECT(p[1] == 'k', "contents lost under PROT_NONE");
    munmap(p, PAGE);
}

KTAP_CASE(mprotect_over_a_hole_is_enomem)
{
    char *p = map(0, 3 * PAGE, RW, ANON);
    munmap(p + PAGE, PAGE);
    KTAP_EXPECT(mprotect(p, 3 * PAGE, PROT_READ) == -ENOMEM, "no ENOMEM");
    KTAP_EXPECT(killed_by_segv(write_byte, p), "the page before the hole was not changed");
    KTAP_EXPECT(mprotect(p, 0, PROT_READ) == 0, "length 0 is not 0");
    munmap(p, 3 * PAGE);
}

KTAP_CASE(exec_needs_prot_exec)
{
    unsigned char *p = (unsigned char *)map(0, PAGE, RW, ANON);
    p[0] = 0xB8;                              /* mov eax, 42 */
    p[1] = 42; p[2] = 0; p[3] = 0; p[4] = 0;
    p[5] = 0xC3;                              /* ret */
    KTAP_EXPECT(killed_by_segv(call_code, p), "calling rw- memory did not fault");
    KTAP_EXPECT(mprotect(p, PAGE, PROT_READ | PROT_EXEC) == 0, "mprotect r-x failed");
    int r = ((int (*)(void))p)();
    KTAP_EXPECT(r == 42, "the code returned %d", r);
    munmap(p, PAGE);
}

KTAP_CASE(populate_and_locked_fill_at_mmap)
{
    char *p = map(0, 4 * PAGE, RW, ANON | MAP_POPULATE);
    KTAP_EXPECT(!sys_failed((long)p) && p[3 * PAGE] == 0, "populate: %ld", (long)p);
    munmap(p, 4 * PAGE);
    char *l = map(0, 2 * PAGE, RW, ANON | MAP_LOCKED);
    KTAP_EXPECT(!sys_failed((long)l), "locked: %ld", (long)l);
    munmap(l, 2 * PAGE);
}

KTAP_CASE(msync_checks_the_range)
{
    char *p = map(0, 2 * PAGE, RW, ANON);
    KTAP_EXPECT(msync(p, 2 * PAGE, 4) == 0, "msync of a mapping");
    munmap(p, 2 * PAGE);
    KTAP_EXPECT(msync(p, PAGE, 4) == -ENOMEM, "msync of nothing");
    KTAP_EXPECT(msync(p + 1, PAGE, 4) == -EINVAL, "msync unaligned");
}

/* MS_INVALIDATE may not drop pages a lock keeps in memory: EBUSY, as
 * Linux's msync(2) has it; unlocked, and without MS_INVALIDATE, it is fine. */
KTAP_CASE(msync_invalidate_of_locked_memory_is_ebusy)
{
    char *l = map(0, 2 * PAGE, RW, ANON | MAP_LOCKED);
    char *u = map(0, PAGE, RW, ANON);
    KTAP_EXPECT(!sys_failed((long)l) && !sys_failed((long)u), "mmap %ld %ld", (long)l, (long)u);
    KTAP_EXPECT(msync(l, PAGE, MS_INVALIDATE) == -EBUSY, "invalidate, locked: %ld", msync(l, PAGE, MS_INVALIDATE));
    KTAP_EXPECT(msync(l, 2 * PAGE, MS_SYNC) == 0, "sync, locked");
    KTAP_EXPECT(msync(u, PAGE, MS_INVALIDATE) == 0, "invalidate, unlocked");
    munmap(l, 2 * PAGE);
    munmap(u, PAGE);
}

KTAP_CASE(mlock_answers_to_rlimit_memlock)
{
    struct rlimit rl;
    KTAP_EXPECT(ugetrlimit(RLIMIT_MEMLOCK, &rl) == 0, "ugetrlimit");
    char *p = map(0, 4 * PAGE, RW, ANON);
    KTAP_EXPECT(mlock(p, 2 * PAGE) == 0, "mlock within the limit");
    KTAP_EXPECT(munlock(p, 2 * PAGE) == 0, "munlock");
    struct rlimit tiny = { PAGE, rl.rlim_max };
    setrlimit(RLIMIT_MEMLOCK, &tiny);
    KTAP_EXPECT(mlock(p, 2 * PAGE) == -ENOMEM, "mlock past the limit");
    KTAP_EXPECT((long)map(0, 2 * PAGE, RW, ANON | MAP_LOCKED) == -EAGAIN, "MAP_LOCKED past the limit");
    struct rlimit none = { 0, rl.rlim_max };
    setrlimit(RLIMIT_MEMLOCK, &none);
    KTAP_EXPECT(mlock(p, PAGE) == -EPERM, "mlock with a limit of 0");
    setrlimit(RLIMIT_MEMLOCK, &rl);
    KTAP_EXPECT(mlock(p + 8 * PAGE, PAGE) == -ENOMEM, "mlock of nothing");
    munmap(p, 4 * PAGE);
}

/* RLIMIT_MEMLOCK counts a locked page once: an mlock over pages locked
 * already needs room only for the ones it adds (Linux's mlock(2)). */
KTAP_CASE(mlock_counts_pages_locked_already_once)
{
    struct rlimit rl;
    ugetrlimit(RLIMIT_MEMLOCK, &rl);
    struct rlimit four = { 4 * PAGE, rl.rlim_max };
    setrlimit(RLIMIT_MEMLOCK, &four);
    char *p = map(0, 6 * PAGE, RW, ANON);
    KTAP_EXPECT(mlock(p, 3 * PAGE) == 0, "three pages");
    KTAP_EXPECT(mlock(p, 3 * PAGE) == 0, "the same three again: %ld", mlock(p, 3 * PAGE));
    KTAP_EXPECT(mlock(p + PAGE, 3 * PAGE) == 0, "two of them and one more");
    KTAP_EXPECT(mlock(p, 5 * PAGE) == -ENOMEM, "a fifth page is past the limit");
    KTAP_EXPECT(munlock(p, 6 * PAGE) == 0 && mlock(p + 2 * PAGE, 4 * PAGE) == 0, "unlocked, four elsewhere");
    munmap(p, 6 * PAGE);
    setrlimit(RLIMIT_MEMLOCK, &rl);
}

KTAP_CASE(brk_grows_and_shrinks)
{
    long start = brk(0);
    KTAP_EXPECT(start > 0x40000000, "brk(0) = %lx", start);
    long grown = brk((void *)(start + 3 * PAGE));
    KTAP_EXPECT(grown == start + 3 * PAGE, "grew to %lx", grown);
    ((volatile char *)start)[3 * PAGE - 1] = 'b';
    KTAP_EXPECT(((volatile char *)start)[3 * PAGE - 1] == 'b', "heap byte");
    KTAP_EXPECT(brk((void *)start) == start, "shrink");
    KTAP_EXPECT(killed_by_segv(read_byte, (void *)(start + PAGE)), "the freed heap is still mapped");
}

KTAP_CASE(rlimit_as_refuses_mmap_with_enomem)
{
    struct rlimit old;
    ugetrlimit(RLIMIT_AS, &old);
    struct rlimit small = { 8u << 20, old.rlim_max };
    KTAP_EXPECT(setrlimit(RLIMIT_AS, &small) == 0, "setrlimit");
    KTAP_EXPECT((long)map(0, 16u << 20, RW, ANON) == -ENOMEM, "16 MiB under an 8 MiB limit");
    char *p = map(0, PAGE, RW, ANON);
    KTAP_EXPECT(!sys_failed((long)p), "one page under the limit: %ld", (long)p);
    munmap(p, PAGE);
    setrlimit(RLIMIT_AS, &old);
}

KTAP_CASE(a_gib_emptied_by_munmap_is_mapped_again)
{
    /* The only mapping of its GiB: the unmap frees its page table and
     * directory while this address space is loaded (a CR3 reload), the
     * next mapping makes both again. */
    char *gib = (char *)0x80000000;
    char *p = map(gib, 2 * PAGE, RW, ANON | MAP_FIXED);
    KTAP_EXPECT(p == gib, "mmap at 2 GiB: %ld", (long)p);
    if (p != gib)
        return;
    p[0] = 'a';
    p[PAGE] = 'b';
    KTAP_EXPECT(munmap(p, 2 * PAGE) == 0, "munmap failed");
    KTAP_EXPECT(killed_by_segv(read_byte, p), "the unmapped page is still reachable");
    p = map(gib, PAGE, RW, ANON | MAP_FIXED);
    KTAP_EXPECT(p == gib, "mmap again: %ld", (long)p);
    if (p != gib)
        return;
    KTAP_EXPECT(p[0] == 0, "the page came back with old contents: %d", p[0]);
    p[0] = 'c';
    KTAP_EXPECT(p[0] == 'c', "a write to the remade table is lost");
    munmap(p, PAGE);
}

int main(void)
{
    return ktap_run();
}
