/* segv MODE — faults on purpose, one way per mode, so tests can check that
 * only this program dies. "efault" is the exception: it passes a bad
 * pointer to write(2) and prints the error the kernel returns. */
#include "stdio.h"
#include "string.h"
#include "syscall.h"

static const char rodata_word[4] = "ro";
static unsigned char data_code[4] = { 0xC3 };    /* ret, in a non-executable segment */

static volatile int sink;
static volatile int depth_limit = 1 << 30;      /* far beyond any stack limit */

/* The volatile frame read after the call keeps the compiler from turning
 * the recursion into a loop: every level needs its own 256 bytes. */
static int recurse(int depth)
{
    volatile char pad[256];
    pad[0] = (char)depth;
    if (depth == depth_limit)
        return 0;
    return recurse(depth + 1) + pad[0];
}

static void usage(void)
{
    printf("usage: segv null|rodata|nx|stack|brk|efault\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        usage();
        return 2;
    }
    const char *m = argv[1];
    printf("segv: %s\n", m);
    if (!strcmp(m, "null")) {
        sink = *(volatile int *)0;
    } else if (!strcmp(m, "rodata")) {
        *(volatile char *)rodata_word = 'x';
    } else if (!strcmp(m, "nx")) {
        ((void (*)(void))data_code)();
    } else if (!strcmp(m, "stack")) {
        sink = recurse(0);
    } else if (!strcmp(m, "brk")) {
        long end = brk(0);
        sink = *(volatile char *)(end + 0x1000);
    } else if (!strcmp(m, "efault")) {
        long r = write(1, (const void *)0x10, 8);
        printf("segv: write with a bad pointer returned %ld%s\n", r, r == -EFAULT ? " (EFAULT)" : "");
        return r == -EFAULT ? 0 : 1;
    } else {
        usage();
        return 2;
    }
    printf("segv: %s did not fault\n", m);
    return 1;
}
