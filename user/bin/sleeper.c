/* sleeper [DURATION [COUNT [CHILDREN]]] — print a line, sleep, COUNT times
 * (default 1 second, 5 times): a program that spends its life waiting.
 * DURATION is in seconds, or in milliseconds with "ms" after the number.
 * With CHILDREN, it first forks that many children that do the same, and
 * waits for them at the end (a foreground job of several processes). A
 * COUNT or CHILDREN that is no number, or one argument more, is refused. */
#include "stdio.h"
#include "stdlib.h"
#include "syscall.h"

/* "2" is two seconds, "300ms" 300 milliseconds: 0 for anything else
 * (strtoul_size is no help: its m is a mebibyte). */
static int parse_duration(const char *s, struct timespec *t)
{
    unsigned long n = 0;
    const char *end = s;
    for (; *end >= '0' && *end <= '9'; end++) {
        if (n > 100000000ul)
            return 0;
        n = n * 10 + (unsigned long)(*end - '0');
    }
    if (end == s)
        return 0;
    if (end[0] == 'm' && end[1] == 's' && end[2] == 0) {
        t->tv_sec = (long)(n / 1000);
        t->tv_nsec = (long)(n % 1000) * 1000000;
        return 1;
    }
    if (end[0] != 0)
        return 0;
    t->tv_sec = (long)n;
    t->tv_nsec = 0;
    return 1;
}

/* argv[i] as a number into *n when it is there; 0 if it is there and is
 * no number (nor one that fits). */
static int optional_number(int argc, char **argv, int i, unsigned long *n)
{
    const char *end;
    if (i >= argc)
        return 1;
    *n = strtoul_size(argv[i], &end);
    return end != argv[i] && *end == 0;
}

int main(int argc, char **argv)
{
    struct timespec t = { 1, 0 };
    unsigned long count = 5, children = 0;
    if (argc > 4 || (argc > 1 && !parse_duration(argv[1], &t)) || !optional_number(argc, argv, 2, &count) ||
        !optional_number(argc, argv, 3, &children)) {
        printf("usage: sleeper [SECONDS|MILLISECONDSms [COUNT [CHILDREN]]]\n");
        return 2;
    }
    int is_child = 0;
    for (unsigned long c = 0; c < children && !is_child; c++) {
        long r = fork();
        if (r < 0) {
            printf("sleeper: fork error %ld\n", r);
            return 1;
        }
        is_child = r == 0;
    }
    long pid = getpid();
    for (unsigned long i = 0; i < count; i++) {
        printf("sleeper %ld: %lu\n", pid, i);
        long r = nanosleep(&t, 0);
        if (r < 0) {
            printf("sleeper: nanosleep error %ld\n", r);
            return 1;
        }
    }
    if (!is_child)
        while (waitpid(-1, 0, 0) > 0)
            ;
    printf("sleeper %ld: done\n", pid);
    return 0;
}
