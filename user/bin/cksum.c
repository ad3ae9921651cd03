/* cksum FILE... — the POSIX checksum of each file: its CRC-32 (the
 * polynomial 0x04C11DB7, most significant bit first, the length appended
 * in as few bytes as hold it, the result inverted), its size and its name,
 * as coreutils' cksum prints them, so a file's bytes can be checked against
 * the host's copy without printing them. */
#include "stdio.h"
#include "syscall.h"

static unsigned int crc_table[256];

static void make_table(void)
{
    for (unsigned int i = 0; i < 256; i++) {
        unsigned int c = i << 24;
        for (int bit = 0; bit < 8; bit++)
            c = (c & 0x80000000u) ? (c << 1) ^ 0x04C11DB7u : c << 1;
        crc_table[i] = c;
    }
}

static unsigned int crc_byte(unsigned int crc, unsigned char b)
{
    return (crc << 8) ^ crc_table[(crc >> 24) ^ b];
}

int main(int argc, char **argv)
{
    static unsigned char buf[4096];
    int status = 0;
    make_table();
    for (int i = 1; i < argc; i++) {
        long fd = open(argv[i], O_RDONLY, 0);
        if (fd < 0) {
            dprintf(2, "cksum: error %s (%ld): %s: %s\n", errno_name((int)fd), fd, errno_reason((int)fd),
                    argv[i]);
            status = 1;
            continue;
        }
        unsigned int crc = 0;
        unsigned long long size = 0;
        long n;
        while ((n = read((int)fd, buf, sizeof(buf))) > 0) {
            for (long j = 0; j < n; j++)
                crc = crc_byte(crc, buf[j]);
            size += (unsigned long long)n;
        }
        close((int)fd);
        if (n < 0) {
            dprintf(2, "cksum: error %s (%ld): read: %s: %s\n", errno_name((int)n), n, errno_reason((int)n),
                    argv[i]);
            status = 1;
            continue;
        }
        for (unsigned long long len = size; len != 0; len >>= 8)
            crc = crc_byte(crc, (unsigned char)(len & 0xff));
        printf("%u %llu %s\n", ~crc, size, argv[i]);
    }
    if (argc < 2) {
        dprintf(2, "usage: cksum FILE...\n");
        status = 2;
    }
    return status;
}
