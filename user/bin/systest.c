/* systest — the system-call boundary from ring 3, as KTAP v1: a bad
 * pointer to every call that takes one is EFAULT (never a kernel fault),
 * an unknown number is ENOSYS, and the small calls answer as Linux's do. */
#include "ktap.h"
#include "stdio.h"
#include "stdlib.h"
#include "string.h"
#include "syscall.h"

#define KERNEL_PTR 0x00100000L        /* the kernel image: not user space */
#define UNMAPPED   0x7ff00000L        /* user space, never mapped here */

KTAP_CASE(bad_pointers_are_efault)
{
    const long bad[] = { 0, 0x10, KERNEL_PTR, UNMAPPED, 0xfffff000L };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long p = bad[i];
        char *const *vp = (char *const *)p;
        KTAP_EXPECT(write(1, (void *)p, 8) == -EFAULT, "write %lx", p);
        KTAP_EXPECT(open((const char *)p, O_RDONLY, 0) == -EFAULT, "open %lx", p);
        KTAP_EXPECT(execve((const char *)p, 0, 0) == -EFAULT, "execve path %lx", p);
        KTAP_EXPECT(waitpid(-1, (int *)p, WNOHANG) == -EFAULT || p == 0, "waitpid %lx", p);
        KTAP_EXPECT(setrlimit(RLIMIT_AS, (const struct rlimit *)p) == -EFAULT, "setrlimit %lx", p);
        KTAP_EXPECT(ugetrlimit(RLIMIT_AS, (struct rlimit *)p) == -EFAULT, "ugetrlimit %lx", p);
        KTAP_EXPECT(nanosleep((const struct timespec *)p, 0) == -EFAULT, "nanosleep %lx", p);
        KTAP_EXPECT(sysinfo((struct sysinfo *)p) == -EFAULT, "sysinfo %lx", p);
        if (p)
            KTAP_EXPECT(execve("/bin/hello", vp, 0) == -EFAULT, "execve argv %lx", p);
    }
    /* read needs input to reach its copy: the console's read is checked
     * with a zero-length read, which touches nothing. */
    KTAP_EXPECT(read(0, (void *)KERNEL_PTR, 0) == 0, "read of 0 bytes");
    /* A string running into an unmapped page. */
    char *end = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(end, 'a', 4096);
    munmap(end + 4096, 4096);
    KTAP_EXPECT(open(end, O_RDONLY, 0) < 0, "an unterminated path");
    munmap(end, 4096);
}

KTAP_CASE(unknown_numbers_are_enosys)
{
    KTAP_EXPECT(syscall6(0, 0, 0, 0, 0, 0, 0) == -ENOSYS, "0");
    KTAP_EXPECT(syscall6(222, 0, 0, 0, 0, 0, 0) == -ENOSYS, "222");
    KTAP_EXPECT(syscall6(100000, 0, 0, 0, 0, 0, 0) == -ENOSYS, "100000");
    KTAP_EXPECT(syscall6(-1, 0, 0, 0, 0, 0, 0) == -ENOSYS, "-1");
}

KTAP_CASE(files_on_fds)
{
    KTAP_EXPECT(write(1, "", 0) == 0, "empty write");
    KTAP_EXPECT(write(9, "x", 1) == -EBADF, "write to a closed fd");
    KTAP_EXPECT(lseek(1, 0, 0) == -ESPIPE, "lseek on the console");
    long fd = open("/etc/motd", O_RDONLY, 0);
    KTAP_EXPECT(fd >= 3, "open /etc/motd: %ld", fd);
    char buf[8];
    KTAP_EXPECT(read(fd, buf, 4) == 4, "read");
    KTAP_EXPECT(lseek(fd, 0, 0) == 0, "lseek back");
    char again[4];
    KTAP_EXPECT(read(fd, again, 4) == 4 && memcmp(buf, again, 4) == 0, "read again");
    KTAP_EXPECT(close(fd) == 0 && close(fd) == -EBADF, "close twice");
    KTAP_EXPECT(open("/nope", O_RDONLY, 0) == -ENOENT, "missing file");
}

KTAP_CASE(getpid_kill_and_sleep)
{
    long me = getpid();
    KTAP_EXPECT(me > 1, "pid %ld", me);
    KTAP_EXPECT(kill(me, 0) == 0, "kill 0 to self");
    KTAP_EXPECT(kill(1, SIGTERM) == -EPERM, "killing the shell");
    KTAP_EXPECT(kill(30000, SIGTERM) == -ESRCH, "a missing pid");
    struct timespec t = { 0, 20000000 };
    KTAP_EXPECT(nanosleep(&t, 0) == 0, "20 ms sleep");
    struct timespec bad = { 0, 1000000000 };
    KTAP_EXPECT(nanosleep(&bad, 0) == -EINVAL, "nsec out of range");
    KTAP_EXPECT(sched_yield() == 0, "yield");
    long child = fork();
    if (child == 0) {
        for (;;)
            sched_yield();
    }
    KTAP_EXPECT(kill(child, SIGKILL) == 0, "kill the child");
    int status = 0;
    KTAP_EXPECT(waitpid(child, &status, 0) == child && WTERMSIG(status) == SIGKILL, "status 0x%x", status);
}

/* Process groups: this program, run from the shell, leads its own; a
 * fork stays in it unless setpgid moves it. kill(0) signals the caller's
 * group (the caller too), kill(-N) group N, kill(-1) every process but
 * idle, the shell and the caller. Two children form a group of their own,
 * and one of them ends it with kill(0): both die of the signal, this
 * program (another group) goes on. The children wait on a shared page for
 * the group to be complete. */
KTAP_CASE(kill_reaches_process_groups)
{
    long me = getpid();
    KTAP_EXPECT(getpgrp() == me && getpgid(0) == me, "its own group: %ld", getpgrp());
    KTAP_EXPECT(kill(0, 0) == 0 && kill(-me, 0) == 0, "its group is there");
    KTAP_EXPECT(kill(-30000, 0) == -ESRCH && getpgid(30000) == -ESRCH, "no group 30000");
    KTAP_EXPECT(setpgid(0, -1) == -EINVAL && setpgid(1, 0) == -ESRCH, "a bad group, not a child");
    KTAP_EXPECT(setpgid(0, 1) == -EPERM && setpgid(0, 30000) == -EPERM, "the shell's, a missing group");
    volatile int *go = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    KTAP_EXPECT(go != MAP_FAILED, "shared page");
    if (go == MAP_FAILED)
        return;
    *go = 0;
    long leader = fork();
    if (leader == 0) {
        setpgid(0, 0);
        while (!*go)
            sched_yield();
        kill(0, SIGTERM);
        for (;;)
            sched_yield();              /* dies of it at its next return to ring 3 */
    }
    setpgid(leader, leader);            /* both sides, as a shell does: no race */
    long member = fork();
    if (member == 0) {
        for (;;)
            sched_yield();
    }
    KTAP_EXPECT(getpgid(member) == me, "a fork stays in its parent's group");
    KTAP_EXPECT(setpgid(member, leader) == 0 && getpgid(member) == leader, "moved into the leader's");
    KTAP_EXPECT(kill(-1, 0) == 0, "kill(-1) finds the children");
    *go = 1;
    int a = 0, b = 0;
    KTAP_EXPECT(waitpid(leader, &a, 0) == leader && WTERMSIG(a) == SIGTERM, "leader 0x%x", a);
    KTAP_EXPECT(waitpid(member, &b, 0) == member && WTERMSIG(b) == SIGTERM, "member 0x%x", b);
    KTAP_EXPECT(kill(-leader, 0) == -ESRCH, "the group is gone");
    KTAP_EXPECT(getpgrp() == me, "this program lives on");
    munmap((void *)go, 4096);
}

/* setpgid(2): a parent may move a child into a group until the child
 * runs a program of its own (execve); then EACCES. */
KTAP_CASE(setpgid_of_a_child_that_has_exec_d_is_eacces)
{
    long before = fork();
    if (before == 0) {
        /* Asleep, not spinning: a spinning child made the parent's short
         * sleeps below take minutes under the embedded emulator. */
        struct timespec long_nap = { 30, 0 };
        for (;;)
            nanosleep(&long_nap, 0);
    }
    KTAP_EXPECT(setpgid(before, 0) == 0 && getpgid(before) == before, "before its exec");
    long after = fork();
    if (after == 0) {
        char *argv[] = { "/bin/sleeper", "30", "1", 0 };
        execve("/bin/sleeper", argv, 0);
        exit(99);
    }
    struct timespec t = { 0, 20000000 };
    nanosleep(&t, 0);                   /* the child runs its execve meanwhile */
    long r = setpgid(after, 0);
    KTAP_EXPECT(r == -EACCES, "after its exec: %ld", r);
    KTAP_EXPECT(getpgid(after) == getpgrp(), "it stays in this group");
    int s;
    kill(before, SIGKILL);
    kill(after, SIGKILL);
    KTAP_EXPECT(waitpid(before, &s, 0) == before && waitpid(after, &s, 0) == after, "reaped");
}

/* waitpid's pid selects by process group as Linux's does: 0, a child in
 * the caller's group; -N, one in group N. A child in a group of its own
 * exits first; waitpid(0) must pass it over for the one in this group. */
KTAP_CASE(waitpid_selects_children_by_process_group)
{
    long me = getpid();
    long apart = fork();
    if (apart == 0) {
        setpgid(0, 0);
        exit(3);
    }
    setpgid(apart, apart);
    long near = fork();
    if (near == 0) {
        struct timespec t = { 0, 20000000 };
        nanosleep(&t, 0);
        exit(5);
    }
    int s = 0;
    long got = waitpid(0, &s, 0);
    KTAP_EXPECT(got == near && WEXITSTATUS(s) == 5, "waitpid(0): %ld (status 0x%x), want %ld", got, s, near);
    KTAP_EXPECT(waitpid(0, &s, WNOHANG) == -ECHILD, "no child left in group %ld", me);
    got = waitpid(-apart, &s, WUNTRACED);
    KTAP_EXPECT(got == apart && WEXITSTATUS(s) == 3, "waitpid(-%ld): %ld (status 0x%x)", apart, got, s);
    KTAP_EXPECT(waitpid(-1, &s, WNOHANG | WUNTRACED) == -ECHILD, "WUNTRACED is taken, no child left");
    KTAP_EXPECT(waitpid(-1, &s, 0x40) == -EINVAL, "an unknown option");
}

/* A waitpid that reaps nothing leaves *status as it was, as Linux's does:
 * with no child (ECHILD), and with WNOHANG while the child runs (0). */
KTAP_CASE(waitpid_that_reaps_nothing_leaves_the_status)
{
    int s = 0x1234;
    long got = waitpid(-1, &s, WNOHANG);
    KTAP_EXPECT(got == -ECHILD && s == 0x1234, "no child: %ld, status 0x%x", got, s);
    long child = fork();
    if (child == 0) {
        for (;;)
            sched_yield();
    }
    got = waitpid(child, &s, WNOHANG);
    KTAP_EXPECT(got == 0 && s == 0x1234, "running: %ld, status 0x%x", got, s);
    kill(child, SIGKILL);
    KTAP_EXPECT(waitpid(child, &s, 0) == child && WTERMSIG(s) == SIGKILL, "reaped: status 0x%x", s);
}

/* A child that exited is still a process until it is reaped: kill finds
 * it (and does nothing to it), getpgid answers, and its group is there. */
KTAP_CASE(a_zombie_is_a_process_until_reaped)
{
    long child = fork();
    if (child == 0) {
        setpgid(0, 0);
        exit(4);
    }
    setpgid(child, child);
    struct timespec t = { 0, 20000000 };
    nanosleep(&t, 0);                   /* the child runs and exits meanwhile */
    KTAP_EXPECT(kill(child, 0) == 0, "kill(zombie, 0): %ld", kill(child, 0));
    KTAP_EXPECT(kill(child, SIGTERM) == 0, "kill(zombie, SIGTERM)");
    KTAP_EXPECT(getpgid(child) == child, "getpgid(zombie): %ld", getpgid(child));
    KTAP_EXPECT(kill(-child, 0) == 0, "its group: %ld", kill(-child, 0));
    int s = 0;
    KTAP_EXPECT(waitpid(child, &s, 0) == child && WIFEXITED(s) && WEXITSTATUS(s) == 4,
                "it exited, not killed: 0x%x", s);
    KTAP_EXPECT(kill(child, 0) == -ESRCH && getpgid(child) == -ESRCH && kill(-child, 0) == -ESRCH,
                "reaped, it is gone");
}

/* getrlimit reads what is in force: RLIM_INFINITY for what nothing
 * limits, never 0 (none allowed); for descriptors, as many as the table
 * takes. */
KTAP_CASE(unenforced_limits_read_as_unlimited)
{
    struct rlimit rl = { 1, 1 };
    long r = ugetrlimit(RLIMIT_DATA, &rl);
    KTAP_EXPECT(r == 0 && rl.rlim_cur == 0xFFFFFFFFul && rl.rlim_max == 0xFFFFFFFFul,
                "RLIMIT_DATA %lx/%lx", rl.rlim_cur, rl.rlim_max);
    long last = 2, fd;
    while ((fd = dup(0)) >= 0)
        last = fd;
    KTAP_EXPECT(fd == -EMFILE, "dup until the table is full: %ld", fd);
    r = ugetrlimit(RLIMIT_NOFILE, &rl);
    KTAP_EXPECT(r == 0 && rl.rlim_cur == (unsigned long)last + 1 && rl.rlim_max == rl.rlim_cur,
                "RLIMIT_NOFILE %lu/%lu, fds 0-%ld", rl.rlim_cur, rl.rlim_max, last);
    for (; last > 2; last--)
        close((int)last);
    r = ugetrlimit(0, &rl);
    KTAP_EXPECT(r == 0 && rl.rlim_cur == 0xFFFFFFFFul, "RLIMIT_CPU %lx", rl.rlim_cur);
}

KTAP_CASE(execve_replaces_the_program)
{
    long child = fork();
    if (child == 0) {
        char *argv[] = { "/bin/hello", "from-execve", 0 };
        char *envp[] = { "X=1", 0 };
        execve("/bin/hello", argv, envp);
        exit(99);
    }
    int status = 0;
    waitpid(child, &status, 0);
    KTAP_EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
    KTAP_EXPECT(execve("/etc/motd", 0, 0) == -ENOEXEC, "not an ELF");
    KTAP_EXPECT(execve("/bin/none", 0, 0) == -ENOENT, "missing");
}

/* The runtime's printf, which every KTAP diagnostic goes through: a 64-bit
 * argument is taken whole, so the ones after it are read right. */
KTAP_CASE(snprintf_takes_64_bit_values)
{
    char buf[96];
    int n = snprintf(buf, sizeof(buf), "%lld|%llu|%llx|%llX|%d", -5000000000LL,
                     18446744073709551615ULL, 0x123456789abcdefULL, 0xFULL << 32, 7);
    const char *want = "-5000000000|18446744073709551615|123456789abcdef|F00000000|7";
    KTAP_EXPECT(n == (int)strlen(want) && strcmp(buf, want) == 0, "'%s' (%d)", buf, n);
    n = snprintf(buf, sizeof(buf), "[%012lld][%-4llu]", -42LL, 0ULL);
    KTAP_EXPECT(strcmp(buf, "[-00000000042][0   ]") == 0, "'%s'", buf);
}

/* The runtime's malloc: a second free of a block is refused, so the block
 * is handed out once, not to two callers. */
KTAP_CASE(malloc_refuses_a_double_free)
{
    char *a = malloc(40);
    KTAP_EXPECT(a != 0, "malloc");
    free(a);
    free(a);
    char *b = malloc(40), *c = malloc(40);
    KTAP_EXPECT(b == a && c != a && c != 0, "a %p b %p c %p", (void *)a, (void *)b, (void *)c);
    free(c);
    free(b);
}

/* A large block has a mapping of its own, gone with its first free: the
 * second free must not read its header there, nor may free trust memory it
 * never handed out. Each is refused (a line on fd 2) and the program goes
 * on; run in a child, so that a fault fails this case alone. */
static void free_twice_and_foreign(void *arg)
{
    (void)arg;
    char *big = malloc(3 * 4096);
    big[3 * 4096 - 1] = 1;
    free(big);
    free(big);
    char *small = malloc(100);
    free(small + 16);
    free((char *)0x7FFF0010);
    free(small);
    free(small);
}

KTAP_CASE(malloc_refuses_a_second_free_of_a_large_block)
{
    int status = ktap_child_status(free_twice_and_foreign, 0);
    KTAP_EXPECT(status == 0, "child status 0x%x", status);
    char *a = malloc(3 * 4096), *b = malloc(100);
    KTAP_EXPECT(a && b, "malloc after the refusals");
    a[3 * 4096 - 1] = 2;
    b[99] = 3;
    free(a);
    free(b);
}

int main(void)
{
    return ktap_run();
}
