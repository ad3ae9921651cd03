/* cp SRC DST — copy a file: DST is created or truncated, then written
 * with what read() gives from SRC; the byte count is printed. A SRC that
 * cannot be opened, or is a directory, is refused before DST is touched,
 * and so is a DST that is SRC under any name (its truncation would be the
 * copy's only effect: the file emptied). */
#include "stdio.h"
#include "syscall.h"

int main(int argc, char **argv)
{
    static char buf[4096];
    if (argc != 3) {
        dprintf(2, "usage: cp SRC DST\n");
        return 2;
    }
    long in = open(argv[1], O_RDONLY, 0);
    struct stat64 st = { 0 };
    if (in >= 0 && fstat64((int)in, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR)
        in = -EISDIR;                /* before DST is made: a directory is not copied */
    if (in < 0) {
        dprintf(2, "cp: error %s (%ld): %s: %s\n", errno_name((int)in), in, errno_reason((int)in), argv[1]);
        return 1;
    }
    struct stat64 dst;
    if (stat64(argv[2], &dst) == 0 && dst.st_dev == st.st_dev && dst.st_ino == st.st_ino) {
        dprintf(2, "cp: %s and %s are the same file\n", argv[1], argv[2]);
        return 1;
    }
    long out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) {
        dprintf(2, "cp: error %s (%ld): %s: %s\n", errno_name((int)out), out, errno_reason((int)out),
                argv[2]);
        return 1;
    }
    long n, total = 0;
    while ((n = read((int)in, buf, sizeof(buf))) > 0) {
        long w = write((int)out, buf, (size_t)n);
        if (w != n) {
            dprintf(2, "cp: error %s (%ld): write: %s: %s\n", errno_name((int)w), w, errno_reason((int)w),
                    argv[2]);
            return 1;
        }
        total += w;
    }
    if (n < 0) {
        dprintf(2, "cp: error %s (%ld): read: %s: %s\n", errno_name((int)n), n, errno_reason((int)n),
                argv[1]);
        return 1;
    }
    close((int)in);
    close((int)out);
    printf("cp: %ld byte%s from %s to %s\n", total, total == 1 ? "" : "s", argv[1], argv[2]);
    return 0;
}
