/* procbench MODE — the process operations the benchmark counts
 * (kos.bench.proc): each measured operation sits between two calls of
 * bench_mark, whose address the benchmark reads from this ELF and whose
 * executions it counts instructions between. Modes: getpid, yield, fork0,
 * fork1m, exec, cow. Each repeats its operation ROUNDS times. */
#include "stdio.h"
#include "string.h"
#include "syscall.h"

#define ROUNDS 8
#define PAGE 4096
#define MIB (1u << 20)

__attribute__((noinline)) void bench_mark(void);
__attribute__((noinline)) void bench_mark(void)
{
    __asm__ volatile("" ::: "memory");
}

static void empty_pairs(void)
{
    for (int i = 0; i < ROUNDS; i++) {
        bench_mark();
        bench_mark();
    }
}

static void fork_touched(unsigned long bytes)
{
    char *p = bytes ? mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : 0;
    for (unsigned long off = 0; off < bytes; off += PAGE)
        p[off] = 1;
    for (int i = 0; i < ROUNDS; i++) {
        bench_mark();
        long pid = fork();
        bench_mark();
        if (pid == 0)
            exit(0);
        int status;
        waitpid(pid, &status, 0);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        printf("usage: procbench getpid|yield|fork0|fork1m|exec|cow\n");
        return 2;
    }
    const char *m = argv[1];
    empty_pairs();
    if (!strcmp(m, "getpid")) {
        for (int i = 0; i < ROUNDS; i++) {
            bench_mark();
            getpid();
            bench_mark();
        }
    } else if (!strcmp(m, "yield")) {
        long pid = fork();
        if (pid == 0) {
            for (;;)
                sched_yield();
        }
        for (int i = 0; i < ROUNDS; i++) {
            bench_mark();
            sched_yield();
            bench_mark();
        }
        kill(pid, SIGKILL);
        waitpid(pid, 0, 0);
    } else if (!strcmp(m, "fork0")) {
        fork_touched(0);
    } else if (!strcmp(m, "fork1m")) {
        fork_touched(MIB);
    } else if (!strcmp(m, "exec")) {
        for (int i = 0; i < ROUNDS; i++) {
            long pid = fork();
            if (pid == 0) {
                char *args[] = { "/bin/hello", 0 };
                char *env[] = { 0 };
                bench_mark();
                execve("/bin/hello", args, env);
                exit(1);
            }
            int status;
            waitpid(pid, &status, 0);
        }
    } else if (!strcmp(m, "cow")) {
        char *p = mmap(0, ROUNDS * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (int i = 0; i < ROUNDS; i++)
            p[i * PAGE] = 1;
        long pid = fork();
        if (pid == 0) {
            struct timespec t = { 60, 0 };
            nanosleep(&t, 0);
            exit(0);
        }
        for (int i = 0; i < ROUNDS; i++) {
            bench_mark();
            p[i * PAGE] = 2;
            bench_mark();
        }
        kill(pid, SIGKILL);
        waitpid(pid, 0, 0);
    } else {
        printf("procbench: unknown mode %s\n", m);
        return 2;
    }
    return 0;
}
