/* cat FILE... — copy each file to standard output, or say why it cannot.
 * With no FILE it says its usage: there are no pipes to read from. */
#include "stdio.h"
#include "string.h"
#include "syscall.h"

int main(int argc, char **argv)
{
    static char buf[4096];
    int status = 0;
    if (argc < 2) {
        dprintf(2, "usage: cat FILE...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        long fd = open(argv[i], O_RDONLY, 0);
        if (fd < 0) {
            dprintf(2, "cat: error %s (%ld): %s: %s\n", errno_name((int)fd), fd, errno_reason((int)fd),
                    argv[i]);
            status = 1;
            continue;
        }
        long n;
        while ((n = read((int)fd, buf, sizeof(buf))) > 0)
            write(1, buf, (size_t)n);
        if (n < 0) {
            dprintf(2, "cat: error %s (%ld): read: %s: %s\n", errno_name((int)n), n, errno_reason((int)n),
                    argv[i]);
            status = 1;
        }
        close((int)fd);
    }
    return status;
}
