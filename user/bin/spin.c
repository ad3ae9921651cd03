/* spin [ROUNDS] — a busy loop that never blocks (for preemption tests):
 * a line when it starts, then one every round of 2^24 iterations; forever
 * without ROUNDS (0 rounds is none, and a ROUNDS that is no number is
 * refused, not taken for forever). */
#include "stdio.h"
#include "stdlib.h"
#include "syscall.h"

static volatile unsigned long counter;

int main(int argc, char **argv)
{
    const char *end;
    unsigned long rounds = 0;
    int forever = argc < 2;
    if (argc > 2 || (argc == 2 && (rounds = strtoul_size(argv[1], &end), *end || end == argv[1]))) {
        printf("usage: spin [ROUNDS]\n");
        return 2;
    }
    long pid = getpid();
    printf("spin %ld: spinning\n", pid);
    for (unsigned long r = 0; forever || r < rounds; r++) {
        for (unsigned long i = 0; i < (1ul << 24); i++)
            counter++;
        printf("spin %ld: round %lu\n", pid, r);
    }
    return 0;
}
