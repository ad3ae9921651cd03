/* filetest — the filesystem and file mappings from ring 3, as KTAP v1:
 * open/read/write/lseek/close, stat64, getdents64, dup/dup2, chdir and
 * getcwd, unlink/mkdir/rmdir with Linux's errnos, and mmap of files:
 * MAP_SHARED stores seen by read() and by another process's mapping, a
 * MAP_PRIVATE mapping staying private, zeros past the end, SIGBUS beyond
 * it (also after ftruncate), the refusals, unlink while mapped. A case
 * that must be killed makes the fault in a child and checks the signal. */
#include "ktap.h"
#include "stdio.h"
#include "string.h"
#include "syscall.h"

#define PAGE 4096
#define RW (PROT_READ | PROT_WRITE)

/* A file at path holding n bytes of c. The open fd (O_RDWR), or -errno. */
static long make_file(const char *path, char c, long n)
{
    static char buf[PAGE];
    long fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return fd;
    memset(buf, c, sizeof(buf));
    for (long done = 0; done < n;) {
        long w = write((int)fd, buf, (size_t)(n - done < PAGE ? n - done : PAGE));
        if (w <= 0)
            return w ? w : -EINVAL;
        done += w;
    }
    lseek((int)fd, 0, SEEK_SET);
    return fd;
}

static void read_byte(void *p) { (void)*(volatile char *)p; }

static int killed_by(void (*fn)(void *), void *p, int sig)
{
    int status = ktap_child_status(fn, p);
    return status >= 0 && WTERMSIG(status) == sig;
}

KTAP_CASE(create_write_seek_read)
{
    long fd = open("/ft_rw", O_RDWR | O_CREAT | O_TRUNC, 0644);
    KTAP_EXPECT(fd >= 3, "open %ld", fd);
    KTAP_EXPECT(write((int)fd, "hello world", 11) == 11, "write");
    KTAP_EXPECT(lseek((int)fd, 6, SEEK_SET) == 6, "lseek");
    char buf[16] = { 0 };
    KTAP_EXPECT(read((int)fd, buf, sizeof(buf)) == 5 && memcmp(buf, "world", 5) == 0, "read '%s'", buf);
    KTAP_EXPECT(read((int)fd, buf, sizeof(buf)) == 0, "read at the end");
    KTAP_EXPECT(lseek((int)fd, -1, SEEK_SET) == -EINVAL, "negative seek");
    close((int)fd);
    fd = open("/ft_rw", O_WRONLY | O_APPEND, 0);
    write((int)fd, "!", 1);
    KTAP_EXPECT(read((int)fd, buf, 1) == -EBADF, "read of O_WRONLY");
    close((int)fd);
    struct stat64 st;
    KTAP_EXPECT(stat64("/ft_rw", &st) == 0 && st.st_size == 12, "size %lld", st.st_size);
    KTAP_EXPECT((st.st_mode & S_IFMT) == S_IFREG && st.st_nlink == 1, "mode %o", st.st_mode);
    KTAP_EXPECT(unlink("/ft_rw") == 0, "unlink");
}

KTAP_CASE(paths_get_linux_errnos)
{
    KTAP_EXPECT(open("/nope", O_RDONLY, 0) == -ENOENT, "ENOENT");
    KTAP_EXPECT(open("/etc/motd/x", O_RDONLY, 0) == -ENOTDIR, "ENOTDIR");
    KTAP_EXPECT(open("/etc", O_WRONLY, 0) == -EISDIR, "EISDIR");
    KTAP_EXPECT(mkdir("/etc", 0755) == -EEXIST, "EEXIST");
    KTAP_EXPECT(rmdir("/etc") == -ENOTEMPTY, "ENOTEMPTY");
    KTAP_EXPECT(unlink("/etc") == -EISDIR, "unlink of a directory");
    KTAP_EXPECT(close(17) == -EBADF, "EBADF");
    KTAP_EXPECT(open((const char *)0x10, O_RDONLY, 0) == -EFAULT, "EFAULT");
    static char longname[300];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[0] = '/';
    KTAP_EXPECT(open(longname, O_RDONLY, 0) == -ENAMETOOLONG, "ENAMETOOLONG");
    KTAP_EXPECT(open("/etc", O_RDONLY | O_CREAT, 0644) == -EISDIR, "O_CREAT of a directory");
    long fd = make_file("/ft_trunc", 't', 10);
    KTAP_EXPECT(ftruncate((int)fd, (unsigned long)-1) == -EINVAL, "ftruncate to a negative length");
    KTAP_EXPECT(ftruncate(27, (unsigned long)-1) == -EINVAL, "a negative length before a closed fd");
    KTAP_EXPECT(ftruncate(27, 0) == -EBADF, "ftruncate of a closed fd");
    close((int)fd);
    unlink("/ft_trunc");
}

KTAP_CASE(directories_getdents64_chdir_getcwd)
{
    KTAP_EXPECT(mkdir("/ft_dir", 0755) == 0, "mkdir");
    KTAP_EXPECT(chdir("/ft_dir") == 0, "chdir");
    long fd = open("inside", O_WRONLY | O_CREAT, 0644);
    close((int)fd);
    char cwd[64];
    KTAP_EXPECT(getcwd(cwd, sizeof(cwd)) == 8 && strcmp(cwd, "/ft_dir") == 0, "getcwd '%s'", cwd);
    KTAP_EXPECT(getcwd(cwd, 3) == -ERANGE, "ERANGE");
    long d = open(".", O_RDONLY, 0);
    char buf[256];
    long n = getdents64((int)d, buf, sizeof(buf));
    int seen = 0;
    for (long pos = 0; pos < n;) {
        struct linux_dirent64 *e = (struct linux_dirent64 *)(buf + pos);
        seen |= strcmp(e->d_name, "inside") == 0;
        pos += e->d_reclen;
    }
    KTAP_EXPECT(n > 0 && seen, "getdents64 %ld, inside %d", n, seen);
    KTAP_EXPECT(getdents64((int)d, buf, sizeof(buf)) == 0, "the end");
    close((int)d);
    KTAP_EXPECT(rmdir("/ft_dir") == -ENOTEMPTY, "not empty");
    KTAP_EXPECT(unlink("inside") == 0, "unlink relative");
    KTAP_EXPECT(chdir("..") == 0 && rmdir("ft_dir") == 0, "rmdir");
}

KTAP_CASE(dup_and_dup2_share_the_offset)
{
    long fd = make_file("/ft_dup", 'd', 10);
    long other = dup((int)fd);
    KTAP_EXPECT(other > fd, "dup %ld", other);
    char c;
    read((int)fd, &c, 1);
    KTAP_EXPECT(lseek((int)other, 0, SEEK_CUR) == 1, "one offset");
    KTAP_EXPECT(dup2((int)fd, 20) == 20 && lseek(20, 0, SEEK_CUR) == 1, "dup2");
    KTAP_EXPECT(dup2(25, 3) == -EBADF, "dup2 of a closed fd");
    close(20);
    close((int)other);
    close((int)fd);
    unlink("/ft_dup");
}

/* The child reads 3 bytes through the inherited descriptor, then closes
 * it: the offset is the parent's too, the descriptor its own. */
static void read_three_then_close(void *arg)
{
    int fd = (int)(long)arg;
    char buf[3];
    if (read(fd, buf, 3) != 3)
        exit(1);
    close(fd);
}

KTAP_CASE(fork_shares_the_offset_but_not_the_table)
{
    long fd = make_file("/ft_fork", 'f', 10);
    read((int)fd, (char[2]){ 0 }, 2);
    KTAP_EXPECT(ktap_child_status(read_three_then_close, (void *)fd) == 0, "child");
    KTAP_EXPECT(lseek((int)fd, 0, SEEK_CUR) == 5, "the child's reads moved the offset: %ld",
                lseek((int)fd, 0, SEEK_CUR));
    char c = 0;
    KTAP_EXPECT(read((int)fd, &c, 1) == 1 && c == 'f', "its close left this fd open");
    close((int)fd);
    unlink("/ft_fork");
}

KTAP_CASE(a_bad_buffer_is_efault_and_changes_nothing)
{
    long fd = make_file("/ft_fault", 'e', 10);
    lseek((int)fd, 4, SEEK_SET);
    KTAP_EXPECT(read((int)fd, (void *)0x10, 4) == -EFAULT, "read into a bad buffer");
    KTAP_EXPECT(write((int)fd, (void *)0x10, 40) == -EFAULT, "write from a bad buffer");
    KTAP_EXPECT(lseek((int)fd, 0, SEEK_CUR) == 4, "the offset stays");
    struct stat64 st;
    KTAP_EXPECT(fstat64((int)fd, &st) == 0 && st.st_size == 10, "the size stays: %lld", st.st_size);
    KTAP_EXPECT(fstat64((int)fd, (void *)0x10) == -EFAULT, "fstat64 into a bad buffer");
    long app = open("/ft_fault", O_RDWR | O_APPEND, 0);
    lseek((int)app, 2, SEEK_SET);
    KTAP_EXPECT(write((int)app, (void *)0x10, 4) == -EFAULT && lseek((int)app, 0, SEEK_CUR) == 2,
                "O_APPEND: a refused write leaves the offset");
    KTAP_EXPECT(write((int)app, "", 0) == 0 && lseek((int)app, 0, SEEK_CUR) == 2,
                "O_APPEND: so does a write of nothing");
    close((int)app);
    KTAP_EXPECT(getdents64((int)fd, (void *)0x10, 64) == -ENOTDIR, "getdents64 of a file");
    long d = open("/", O_RDONLY | O_DIRECTORY, 0);
    KTAP_EXPECT(getdents64((int)d, (void *)0x10, 64) == -EFAULT, "getdents64 into a bad buffer");
    char buf[64];
    struct linux_dirent64 *e = (struct linux_dirent64 *)buf;
    KTAP_EXPECT(getdents64((int)d, buf, sizeof(buf)) > 0 && strcmp(e->d_name, ".") == 0,
                "the listing starts at '.' still");
    close((int)d);
    close((int)fd);
    unlink("/ft_fault");
}

KTAP_CASE(an_unlinked_file_is_read_until_closed)
{
    long fd = make_file("/ft_gone", 'g', 100);
    unlink("/ft_gone");
    char buf[200];
    KTAP_EXPECT(read((int)fd, buf, sizeof(buf)) == 100 && buf[99] == 'g', "read after unlink");
    KTAP_EXPECT(open("/ft_gone", O_RDONLY, 0) == -ENOENT, "no name left");
    close((int)fd);
}

/* The child maps the file shared on its own and stores through it. */
static void store_in_own_mapping(void *arg)
{
    (void)arg;
    long fd = open("/ft_share", O_RDWR, 0);
    char *p = mmap(0, PAGE, RW, MAP_SHARED, (int)fd, 0);
    if (sys_failed((long)p))
        exit(3);
    memcpy(p + 100, "CHILD", 5);
    msync(p, PAGE, MS_SYNC);
}

KTAP_CASE(shared_mappings_across_processes_and_a_private_one)
{
    long fd = make_file("/ft_share", 's', PAGE);
    char *shared = mmap(0, PAGE, RW, MAP_SHARED, (int)fd, 0);
    char *private = mmap(0, PAGE, RW, MAP_PRIVATE, (int)fd, 0);
    KTAP_EXPECT(!sys_failed((long)shared) && !sys_failed((long)private), "mmap");
    if (sys_failed((long)shared) || sys_failed((long)private))
        return;
    private[0] = 'P';                                   /* copied now: private from here on */
    shared[1] = 'S';
    char buf[8];
    lseek((int)fd, 0, SEEK_SET);
    KTAP_EXPECT(read((int)fd, buf, 2) == 2 && buf[0] == 's' && buf[1] == 'S', "read '%c%c'", buf[0], buf[1]);
    int status = ktap_child_status(store_in_own_mapping, 0);
    KTAP_EXPECT(status == 0, "child status %d", status);
    KTAP_EXPECT(memcmp(shared + 100, "CHILD", 5) == 0, "the child's store in this mapping");
    KTAP_EXPECT(private[100] == 's' && private[0] == 'P' && private[1] == 's', "the private copy");
    lseek((int)fd, 100, SEEK_SET);
    KTAP_EXPECT(read((int)fd, buf, 5) == 5 && memcmp(buf, "CHILD", 5) == 0, "read of the child's store");
    munmap(shared, PAGE);
    munmap(private, PAGE);
    close((int)fd);
    unlink("/ft_share");
}

static void read_first_byte(void *p)
{
    (void)*(volatile char *)p;
}

/* mmap2 counts its offset in pages: one that 32 bits of bytes cannot hold
 * is EOVERFLOW, never wrapped round to the file's first page; the last
 * page below 4 GiB is a page far past the end, SIGBUS when touched. */
KTAP_CASE(mmap2_offset_beyond_32_bits_is_eoverflow)
{
    long fd = make_file("/ft_far", 'f', 10);
    long p = mmap2(0, PAGE, PROT_READ, MAP_PRIVATE, (int)fd, 0x100000);
    KTAP_EXPECT(p == -EOVERFLOW, "4 GiB in: %lx", p);
    if (!sys_failed(p))
        KTAP_EXPECT(*(char *)p != 'f', "4 GiB in shows the file's first byte");
    p = mmap2(0, PAGE, PROT_READ, MAP_PRIVATE, (int)fd, 0xFFFFF);
    KTAP_EXPECT(!sys_failed(p), "the last page below 4 GiB: %ld", p);
    if (!sys_failed(p)) {
        KTAP_EXPECT(killed_by(read_first_byte, (void *)p, SIGBUS), "past the end: SIGBUS");
        munmap((void *)p, PAGE);
    }
    p = mmap2(0, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0x100000);
    KTAP_EXPECT(!sys_failed(p), "anonymous memory has no offset: %ld", p);
    if (!sys_failed(p))
        munmap((void *)p, PAGE);
    close((int)fd);
    unlink("/ft_far");
}

KTAP_CASE(mmap_refusals_are_linux_errnos)
{
    long fd = make_file("/ft_ref", 'r', 10);
    close((int)fd);
    long ro = open("/ft_ref", O_RDONLY, 0), wo = open("/ft_ref", O_WRONLY, 0);
    long dir = open("/etc", O_RDONLY, 0);
    KTAP_EXPECT((long)mmap(0, PAGE, PROT_READ, MAP_SHARED, 29, 0) == -EBADF, "EBADF");
    KTAP_EXPECT((long)mmap(0, PAGE, PROT_READ, MAP_SHARED, (int)wo, 0) == -EACCES, "O_WRONLY");
    KTAP_EXPECT((long)mmap(0, PAGE, RW, MAP_SHARED, (int)ro, 0) == -EACCES, "shared writable of O_RDONLY");
    KTAP_EXPECT((long)mmap(0, PAGE, PROT_READ, MAP_SHARED, (int)dir, 0) == -ENODEV, "ENODEV");
    KTAP_EXPECT((long)mmap(0, PAGE, PROT_READ, MAP_PRIVATE | MAP_GROWSDOWN, (int)ro, 0) == -EINVAL,
                "growsdown");
    char *p = mmap(0, PAGE, PROT_READ, MAP_SHARED, (int)ro, 0);
    KTAP_EXPECT(!sys_failed((long)p) && mprotect(p, PAGE, RW) == -EACCES, "mprotect to writable");
    char *q = mmap(0, PAGE, RW, MAP_PRIVATE, (int)ro, 0);
    KTAP_EXPECT(!sys_failed((long)q), "private writable of O_RDONLY %ld", (long)q);
    if (!sys_failed((long)q)) {
        q[0] = 'Q';
        char c;
        read((int)ro, &c, 1);
        KTAP_EXPECT(c == 'r', "the file is unchanged");
        munmap(q, PAGE);
    }
    munmap(p, PAGE);
    close((int)ro);
    close((int)wo);
    close((int)dir);
    unlink("/ft_ref");
}

KTAP_CASE(the_last_page_reads_zeros_and_keeps_stores_out)
{
    long fd = make_file("/ft_tail", 't', 100);
    char *p = mmap(0, PAGE, RW, MAP_SHARED, (int)fd, 0);
    KTAP_EXPECT(!sys_failed((long)p), "mmap");
    if (sys_failed((long)p))
        return;
    KTAP_EXPECT(p[99] == 't' && p[100] == 0 && p[PAGE - 1] == 0, "zeros past the end");
    p[200] = 'X';
    struct stat64 st;
    fstat64((int)fd, &st);
    KTAP_EXPECT(st.st_size == 100, "size %lld", st.st_size);
    munmap(p, PAGE);
    ftruncate((int)fd, 300);
    char buf[300];
    KTAP_EXPECT(read((int)fd, buf, sizeof(buf)) == 300 && buf[200] == 0, "grown with zeros");
    close((int)fd);
    unlink("/ft_tail");
}

KTAP_CASE(a_page_beyond_the_end_is_sigbus_also_after_ftruncate)
{
    long fd = make_file("/ft_bus", 'b', 2 * PAGE);
    char *p = mmap(0, 3 * PAGE, RW, MAP_SHARED, (int)fd, 0);
    KTAP_EXPECT(!sys_failed((long)p), "mmap");
    if (sys_failed((long)p))
        return;
    KTAP_EXPECT(killed_by(read_byte, p + 2 * PAGE, SIGBUS), "beyond the end");
    KTAP_EXPECT(p[PAGE] == 'b', "inside");
    ftruncate((int)fd, 10);
    KTAP_EXPECT(killed_by(read_byte, p + PAGE, SIGBUS), "beyond the new end");
    KTAP_EXPECT(p[9] == 'b' && p[10] == 0, "the page that is left");
    munmap(p, 3 * PAGE);
    close((int)fd);
    unlink("/ft_bus");
}

KTAP_CASE(unlink_while_mapped_keeps_the_pages)
{
    long fd = make_file("/ft_keep", 'k', PAGE);
    char *p = mmap(0, PAGE, RW, MAP_SHARED, (int)fd, 0);
    close((int)fd);
    unlink("/ft_keep");
    KTAP_EXPECT(!sys_failed((long)p) && p[10] == 'k', "still mapped");
    if (!sys_failed((long)p)) {
        p[10] = 'K';
        KTAP_EXPECT(p[10] == 'K', "still writable");
        KTAP_EXPECT(msync(p, PAGE, MS_SYNC) == 0, "msync");
        munmap(p, PAGE);
    }
}

KTAP_CASE(a_failed_write_past_the_end_changes_nothing)
{
    long fd = make_file("/ft_efault", 'e', 10);
    KTAP_EXPECT(lseek((int)fd, 3 * PAGE, SEEK_SET) == 3 * PAGE, "lseek past the end");
    KTAP_EXPECT(write((int)fd, (const void *)0x10, 8) == -EFAULT, "write from a bad pointer");
    struct stat64 st;
    KTAP_EXPECT(fstat64((int)fd, &st) == 0 && st.st_size == 10, "size %ld", (long)st.st_size);
    KTAP_EXPECT(st.st_blocks == PAGE / 512, "frames: %ld blocks", (long)st.st_blocks);
    close((int)fd);
    unlink("/ft_efault");
}

KTAP_CASE(a_removed_directory_lists_nothing)
{
    KTAP_EXPECT(mkdir("/ft_outer", 0755) == 0 && mkdir("/ft_outer/in", 0755) == 0, "mkdir");
    long d = open("/ft_outer/in", O_RDONLY | O_DIRECTORY, 0);
    KTAP_EXPECT(d >= 0, "open %ld", d);
    /* The parent goes too: ".." of the open directory names nothing now. */
    KTAP_EXPECT(rmdir("/ft_outer/in") == 0 && rmdir("/ft_outer") == 0, "rmdir both");
    char buf[256];
    KTAP_EXPECT(getdents64((int)d, buf, sizeof(buf)) == -ENOENT, "getdents64 of a removed directory");
    close((int)d);
}

static void exec_path(void *path)
{
    char *argv[] = { path, 0 };
    char *envp[] = { 0 };
    long r = execve(path, argv, envp);
    exit(r == -ETXTBSY ? 7 : 1);         /* not 0: a hello that ran exits with 0 */
}

KTAP_CASE(a_running_image_and_a_file_open_for_writing_exclude_each_other)
{
    /* This program's own file: mapped by its exec, so not opened for writing. */
    KTAP_EXPECT(open("/bin/filetest", O_WRONLY, 0) == -ETXTBSY, "open own image for writing");
    KTAP_EXPECT(open("/bin/filetest", O_RDWR | O_TRUNC, 0) == -ETXTBSY, "open own image O_RDWR|O_TRUNC");
    long r = open("/bin/filetest", O_RDONLY, 0);
    KTAP_EXPECT(r >= 0, "open own image for reading: %ld", r);
    close((int)r);
    /* A program whose file is open for writing is not run. */
    long src = open("/bin/hello", O_RDONLY, 0);
    long dst = open("/ft_hello", O_WRONLY | O_CREAT | O_TRUNC, 0755);
    KTAP_EXPECT(src >= 0 && dst >= 0, "open %ld %ld", src, dst);
    char buf[512];
    long n;
    while ((n = read((int)src, buf, sizeof(buf))) > 0)
        KTAP_EXPECT(write((int)dst, buf, (unsigned long)n) == n, "copy");
    close((int)src);
    int status = ktap_child_status(exec_path, "/ft_hello");
    KTAP_EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 7, "execve of a file open for writing: status %d",
                status);
    close((int)dst);
    unlink("/ft_hello");
}

int main(void)
{
    return ktap_run();
}
