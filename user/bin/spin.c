/* spin [ROUNDS] — a busy loop that never blocks (for preemption tests):
 * a line when it starts, then one every round of 2^24 iterations; forever
 * without ROUNDS. */
#include "stdio.h"
#include "stdlib.h"
#include "syscall.h"

static volatile unsigned long counter;

int main(int argc, char **argv)
{
    unsigned long rounds = argc > 1 ? strtoul_size(argv[1], 0) : 0;
    long pid = getpid();
    printf("spin %ld: spinning\n", pid);
    for (unsigned long r = 0; rounds == 0 || r < rounds; r++) {
        for (unsigned long i = 0; i < (1ul << 24); i++)
            counter++;
        printf("spin %ld: round %lu\n", pid, r);
    }
    return 0;
}
