/* forktest — fork from ring 3, as KTAP v1: return values and exit status,
 * a fork tree, copy-on-write isolation of data, heap and stack, MAP_SHARED
 * memory that stays shared, free frames back to their baseline, pages at
 * the deep end of every GiB of user space through two generations,
 * descriptors that one process closes, opens or dup2s after fork unchanged
 * in the other (the table is shared until then), 32 processes at once
 * with the 33rd refused (EAGAIN), and a bounded fork bomb. */
#include "ktap.h"
#include "stdio.h"
#include "stdlib.h"
#include "syscall.h"

#define PAGE 4096
#define MAX_PROCESSES 32      /* kernel stacks: MAX_PROCESS_STACKS */

static volatile int global_word = 7;

static unsigned long free_bytes(void)
{
    struct sysinfo si;
    return sysinfo(&si) == 0 ? si.freeram : 0;
}

KTAP_CASE(fork_returns_pid_and_zero)
{
    long parent = getpid();
    long pid = fork();
    if (pid == 0)
        exit(getpid() != parent ? 42 : 1);
    KTAP_EXPECT(pid > 0, "fork returned %ld", pid);
    int status = -1;
    long got = waitpid(pid, &status, 0);
    KTAP_EXPECT(got == pid, "waitpid returned %ld for %ld", got, pid);
    KTAP_EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 42, "status 0x%x", status);
    KTAP_EXPECT(waitpid(-1, &status, 0) == -ECHILD, "a second wait finds a child");
}

/* Each node forks two children down to depth 0 and exits with the number
 * of processes in its subtree. */
static int tree(int depth)
{
    if (depth == 0)
        return 1;
    int total = 1;
    long kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        if (kids[i] == 0)
            exit(tree(depth - 1));
    }
    for (int i = 0; i < 2; i++) {
        int status = 0;
        if (kids[i] > 0 && waitpid(kids[i], &status, 0) == kids[i] && WIFEXITED(status))
            total += WEXITSTATUS(status);
    }
    return total;
}

KTAP_CASE(fork_tree_of_depth_3)
{
    long pid = fork();
    if (pid == 0)
        exit(tree(3));
    int status = 0;
    KTAP_EXPECT(waitpid(pid, &status, 0) == pid, "no child");
    KTAP_EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 15, "tree counted %d (status 0x%x)",
                WEXITSTATUS(status), status);
}

KTAP_CASE(cow_isolates_data_heap_and_stack)
{
    char *heap = malloc(3 * PAGE);
    volatile char stack_byte = 's';
    KTAP_EXPECT(heap != 0, "malloc failed");
    if (!heap)
        return;
    heap[0] = 'p';
    heap[2 * PAGE] = 'q';
    global_word = 7;
    long pid = fork();
    if (pid == 0) {
        /* The child sees the values of the fork, then changes its copies. */
        int ok = global_word == 7 && heap[0] == 'p' && heap[2 * PAGE] == 'q' && stack_byte == 's';
        global_word = 99;
        heap[0] = 'c';
        stack_byte = 'c';
        exit(ok && global_word == 99 && heap[0] == 'c' ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    KTAP_EXPECT(status == 0, "child saw or kept the wrong values (status 0x%x)", status);
    KTAP_EXPECT(global_word == 7 && heap[0] == 'p' && stack_byte == 's',
                "the child's writes reached the parent: %d %c %c", global_word, heap[0], stack_byte);
    /* And the parent's writes after fork stay its own. */
    pid = fork();
    if (pid == 0) {
        sched_yield();
        exit(heap[2 * PAGE] == 'q' ? 0 : 1);
    }
    heap[2 * PAGE] = 'P';
    waitpid(pid, &status, 0);
    KTAP_EXPECT(status == 0, "the parent's write reached the child (status 0x%x)", status);
    free(heap);
}

#define SPARE_FD 20

KTAP_CASE(descriptor_changes_after_fork_stay_in_their_process)
{
    long fd = open("/etc/motd", O_RDONLY, 0);
    KTAP_EXPECT(fd >= 3, "open /etc/motd: %ld", fd);
    if (fd < 3)
        return;
    long pid = fork();
    if (pid == 0) {
        /* Close the inherited descriptor and reuse its number, and add one. */
        char c = 0;
        int ok = close(fd) == 0 && open("/data/numbers.txt", O_RDONLY, 0) == fd;
        ok = ok && read(fd, &c, 1) == 1 && c == '1' && dup2(fd, SPARE_FD) == SPARE_FD;
        exit(ok ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    KTAP_EXPECT(status == 0, "the child's close, open or dup2 failed (status 0x%x)", status);
    char c = 0;
    KTAP_EXPECT(read(fd, &c, 1) == 1 && c == 'W', "the parent's fd %ld reads %c, not /etc/motd", fd, c);
    KTAP_EXPECT(read(SPARE_FD, &c, 1) == -EBADF, "the child's dup2 reached the parent");
    /* The parent's close stays its own; the open file (and its offset,
     * one byte in) is still the child's. */
    pid = fork();
    if (pid == 0) {
        sched_yield();
        char d = 0;
        exit(read(fd, &d, 1) == 1 && d == 'e' ? 0 : 1);
    }
    KTAP_EXPECT(close(fd) == 0 && read(fd, &c, 1) == -EBADF, "the parent's close failed");
    waitpid(pid, &status, 0);
    KTAP_EXPECT(status == 0, "the parent's close reached the child (status 0x%x)", status);
}

KTAP_CASE(map_shared_stays_shared)
{
    volatile int *shared = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    KTAP_EXPECT(!sys_failed((long)shared), "mmap error %ld", (long)shared);
    if (sys_failed((long)shared))
        return;
    shared[0] = 1;
    long pid = fork();
    if (pid == 0) {
        int saw = shared[0];
        shared[0] = 2;
        shared[1] = 1234;
        exit(saw == 1 ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    KTAP_EXPECT(status == 0, "child did not see the parent's write");
    KTAP_EXPECT(shared[0] == 2 && shared[1] == 1234, "parent sees %d %d", shared[0], shared[1]);
    munmap((void *)shared, PAGE);
}

static void touch_and_exit(unsigned long bytes)
{
    char *p = mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sys_failed((long)p))
        exit(3);
    for (unsigned long off = 0; off < bytes; off += PAGE)
        p[off] = 1;
    global_word = 5;
    exit(0);
}

KTAP_CASE(frames_return_to_baseline)
{
    /* Warm up what this case itself touches, so only the children count. */
    int status = 0;
    global_word = 7;
    unsigned long before = free_bytes();
    for (int i = 0; i < 3; i++) {
        long pid = fork();
        if (pid == 0)
            touch_and_exit(256 * 1024);
        waitpid(pid, &status, 0);
        KTAP_EXPECT(status == 0, "child %d status 0x%x", i, status);
    }
    unsigned long after = free_bytes();
    printf("# free before %lu after %lu\n", before, after);
    KTAP_EXPECT(before != 0 && after == before, "free bytes went from %lu to %lu", before, after);
}

/* A page near the top of each GiB of user space (in 2-3 GiB below the
 * stack's reach): the kernel makes a page directory for a GiB when
 * something is first mapped there, in the parent and in a copy. */
static char *const deep_pages[] = { (char *)0x7FFFF000ul, (char *)0xBE000000ul, (char *)0xFFFFE000ul };
#define DEEP_PAGES 3

static int map_deep_pages(void)
{
    for (int i = 0; i < DEEP_PAGES; i++) {
        void *p = mmap(deep_pages[i], PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p != deep_pages[i])
            return 0;
        deep_pages[i][0] = (char)('a' + i);
        deep_pages[i][PAGE - 1] = (char)('A' + i);
    }
    return 1;
}

static void unmap_deep_pages(void)
{
    for (int i = 0; i < DEEP_PAGES; i++)
        munmap(deep_pages[i], PAGE);
}

/* Do the deep pages hold what map_deep_pages wrote, shifted by delta? */
static int deep_pages_hold(int delta)
{
    for (int i = 0; i < DEEP_PAGES; i++)
        if (deep_pages[i][0] != (char)('a' + i + delta) || deep_pages[i][PAGE - 1] != (char)('A' + i))
            return 0;
    return 1;
}

/* The child writes its copies and forks a grandchild that checks them:
 * each process's kernel stack and directories carry a system call, a
 * copy-on-write fault and a fork of its own. */
static int deep_child(void)
{
    if (!deep_pages_hold(0))
        return 1;
    for (int i = 0; i < DEEP_PAGES; i++)
        deep_pages[i][0]++;
    long pid = fork();
    if (pid == 0)
        exit(deep_pages_hold(1) && getpid() > 1 ? 0 : 2);
    int status = -1;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return 3;
    return status == 0 && deep_pages_hold(1) ? 0 : 4;
}

KTAP_CASE(fork_copies_deep_pages_in_every_gib)
{
    /* The directories, once made, stay with the address space: warm up so
     * that the baseline has them. */
    KTAP_EXPECT(map_deep_pages(), "mmap at the deep pages failed");
    unmap_deep_pages();
    unsigned long before = free_bytes();
    KTAP_EXPECT(map_deep_pages(), "mmap at the deep pages failed");
    long pid = fork();
    if (pid == 0)
        exit(deep_child());
    int status = -1;
    KTAP_EXPECT(waitpid(pid, &status, 0) == pid, "no child");
    KTAP_EXPECT(status == 0, "the child or grandchild saw the wrong bytes (status 0x%x)", status);
    KTAP_EXPECT(deep_pages_hold(0), "the child's writes reached the parent");
    unmap_deep_pages();
    unsigned long after = free_bytes();
    KTAP_EXPECT(before != 0 && after == before, "free bytes went from %lu to %lu", before, after);
}

KTAP_CASE(thirty_two_processes_then_eagain)
{
    volatile int *go = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sys_failed((long)go)) {
        KTAP_EXPECT(0, "mmap error %ld", (long)go);
        return;
    }
    int n = 0;
    long err = 0;
    for (;;) {
        long pid = fork();
        if (pid == 0) {
            while (!*go)
                sched_yield();
            exit(0);
        }
        if (pid < 0) {
            err = pid;
            break;
        }
        if (++n > MAX_PROCESSES)
            break;                  /* more than the limit: fail below, and reap them all */
    }
    printf("# %d children forked beside this process, then %ld\n", n, err);
    KTAP_EXPECT(n + 1 == MAX_PROCESSES, "%d processes at once, not %d", n + 1, MAX_PROCESSES);
    KTAP_EXPECT(err == -EAGAIN, "the next fork returned %ld, not -EAGAIN", err);
    *go = 1;
    int reaped = 0, status;
    while (waitpid(-1, &status, 0) > 0)
        reaped++;
    KTAP_EXPECT(reaped == n, "reaped %d of %d", reaped, n);
    munmap((void *)go, PAGE);
}

/* Every process forks twice and waits, to depth 6: 127 processes wanted,
 * far more than 32 at once, so many forks fail with EAGAIN. */
static int bomb(int depth)
{
    int made = 1;
    if (depth == 0)
        return made;
    long kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            int m = bomb(depth - 1);
            exit(m > 255 ? 255 : m);
        }
    }
    for (int i = 0; i < 2; i++) {
        int status = 0;
        if (kids[i] > 0 && waitpid(kids[i], &status, 0) == kids[i])
            made += WEXITSTATUS(status);
        else if (kids[i] != -EAGAIN)
            return 0;
    }
    return made;
}

KTAP_CASE(bounded_fork_bomb_is_survived)
{
    unsigned long before = free_bytes();
    long pid = fork();
    if (pid == 0) {
        int m = bomb(6);
        exit(m > 255 ? 255 : m);
    }
    int status = 0;
    KTAP_EXPECT(waitpid(pid, &status, 0) == pid, "no child");
    printf("# the bomb made %d processes\n", WEXITSTATUS(status));
    KTAP_EXPECT(WIFEXITED(status) && WEXITSTATUS(status) > MAX_PROCESSES / 2,
                "status 0x%x", status);
    unsigned long after = free_bytes();
    KTAP_EXPECT(after == before, "free bytes went from %lu to %lu", before, after);
    long probe = fork();
    if (probe == 0)
        exit(0);
    KTAP_EXPECT(probe > 0 && waitpid(probe, &status, 0) == probe, "fork after the bomb: %ld", probe);
}

int main(void)
{
    return ktap_run();
}
