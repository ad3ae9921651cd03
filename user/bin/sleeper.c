/* sleeper [SECONDS [COUNT [CHILDREN]]] — print a line, sleep, COUNT times
 * (default 1 second, 5 times): a program that spends its life waiting.
 * With CHILDREN, it first forks that many children that do the same, and
 * waits for them at the end (a foreground job of several processes). */
#include "stdio.h"
#include "stdlib.h"
#include "syscall.h"

int main(int argc, char **argv)
{
    unsigned long seconds = argc > 1 ? strtoul_size(argv[1], 0) : 1;
    unsigned long count = argc > 2 ? strtoul_size(argv[2], 0) : 5;
    unsigned long children = argc > 3 ? strtoul_size(argv[3], 0) : 0;
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
        struct timespec t = { (long)seconds, 0 };
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
