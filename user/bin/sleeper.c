/* sleeper [SECONDS [COUNT]] — print a line, sleep, COUNT times (default 1
 * second, 5 times): a program that spends its life waiting. */
#include "stdio.h"
#include "stdlib.h"
#include "syscall.h"

int main(int argc, char **argv)
{
    unsigned long seconds = argc > 1 ? strtoul_size(argv[1], 0) : 1;
    unsigned long count = argc > 2 ? strtoul_size(argv[2], 0) : 5;
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
    printf("sleeper %ld: done\n", pid);
    return 0;
}
