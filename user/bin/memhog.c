/* memhog N — allocate and touch N bytes (K/M/G suffixes) in 64 KiB pieces
 * and report how far it got: all of it, or where mmap refused. */
#include "stdio.h"
#include "stdlib.h"
#include "syscall.h"

#define PIECE 0x10000u
#define PAGE  0x1000u

int main(int argc, char **argv)
{
    if (argc != 2) {
        printf("usage: memhog BYTES\n");
        return 2;
    }
    const char *end;
    unsigned long want = strtoul_size(argv[1], &end);
    if (*end || end == argv[1]) {
        printf("memhog: not a size below 4 GiB (decimal or 0x hex, K/M/G): %s\n", argv[1]);
        return 2;
    }
    unsigned long got = 0;
    while (got < want) {
        unsigned long n = want - got < PIECE ? want - got : PIECE;
        void *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (sys_failed((long)p)) {
            printf("memhog: stopped at %lu of %lu bytes: mmap error %ld%s\n", got, want, (long)p,
                   (long)p == -ENOMEM ? " (ENOMEM)" : "");
            return 1;
        }
        for (unsigned long off = 0; off < n; off += PAGE)
            ((volatile char *)p)[off] = 1;
        got += n;
    }
    printf("memhog: touched %lu bytes\n", got);
    return 0;
}
