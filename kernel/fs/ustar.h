/* ustar.h — reading a POSIX ustar archive held in memory.
 *
 * Pure C over a byte buffer: no kernel globals, no printing, no allocation,
 * so the same file is compiled for the host and fuzzed there. Every field is
 * checked before it is trusted; garbage yields a negative USTAR_E_* code,
 * the offset of the header at fault, and never a read outside the buffer.
 *
 *     struct ustar_iter it;
 *     struct ustar_entry e;
 *     int r;
 *     ustar_iter_init(&it, base, len);
 *     while ((r = ustar_next(&it, &e)) == USTAR_ENTRY)
 *         use(e.name, e.data, e.size);
 *     if (r < 0)
 *         report(ustar_strerror(r), it.offset);
 */
#ifndef KOS_USTAR_H
#define KOS_USTAR_H

#include <stdint.h>

#define USTAR_BLOCK    512u
#define USTAR_NAME_MAX 257u   /* prefix (155) + '/' + name (100) + NUL: both fields full */

enum {
    USTAR_ENTRY = 1,          /* *e holds the next entry */
    USTAR_END = 0,            /* the two zero blocks that end the archive */
    USTAR_E_TRUNCATED = -1,   /* a header or the end marker is cut short */
    USTAR_E_CHECKSUM = -2,    /* the header's checksum does not match its bytes */
    USTAR_E_MAGIC = -3,       /* no "ustar" magic: not a POSIX archive */
    USTAR_E_NAME = -4,        /* no name: name and prefix both empty */
    USTAR_E_NUMBER = -5,      /* a numeric field is not octal or overflows */
    USTAR_E_SIZE = -6,        /* the data runs past the end of the archive */
    USTAR_E_TYPE = -7,        /* neither a regular file nor a directory */
    USTAR_E_NO_END = -8,      /* the buffer ends without the end marker */
    USTAR_E_LONE_ZERO = -9,   /* one zero block followed by something else */
};

#define USTAR_REGULAR   '0'
#define USTAR_DIRECTORY '5'

struct ustar_entry {
    char name[USTAR_NAME_MAX];  /* as stored: prefix "/" name, NUL-terminated */
    const uint8_t *data;        /* size bytes inside the buffer */
    uint32_t size;
    uint32_t mode;              /* permission bits (07777) */
    char type;                  /* USTAR_REGULAR or USTAR_DIRECTORY */
};

struct ustar_iter {
    const uint8_t *base;
    uint32_t len;
    uint32_t offset;            /* the header ustar_next reads next (or failed at) */
    int status;                 /* USTAR_ENTRY until the end or an error */
};

void ustar_iter_init(struct ustar_iter *it, const void *base, uint32_t len);

/* The next entry: USTAR_ENTRY, USTAR_END, or a USTAR_E_* code. After END or
 * an error it returns the same result again. */
int ustar_next(struct ustar_iter *it, struct ustar_entry *e);

/* Walk the whole archive: 0 and *count entries, or the first error with
 * *bad_offset the header at fault. */
int ustar_check(const void *base, uint32_t len, uint32_t *count, uint32_t *bad_offset);

/* One line saying what a USTAR_E_* code means. */
const char *ustar_strerror(int err);

#endif
