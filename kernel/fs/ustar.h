/* ustar.h — reading a POSIX ustar archive held in memory.
 *
 * Pure C over a byte buffer: no kernel globals, no printing, no allocation,
 * so the same file is compiled for the host and fuzzed there. Every field is
 * checked before it is trusted; garbage yields a negative USTAR_E_* code,
 * the offset of the header at fault, and never a read outside the buffer.
 *
 * Names longer than the header's fields come in an entry of their own just
 * before the one they name, as the two common writers make them: GNU tar's
 * (its default) a '././@LongLink' entry of type 'L' whose data is the name
 * ('K' for a link's target), POSIX pax's an 'x' header whose data holds
 * "LEN key=value\n" records, "path" and "linkpath" among them. ustar_next
 * reads through them and returns the entry they name, its path pointing into
 * the archive: no limit of its own, the reader sets its own (the initrd's is
 * the file system's, FS_PATH_MAX). A pax header's path wins over a GNU long
 * name, as in GNU tar. Link targets are checked and dropped: links are not
 * a type KOS takes. A global pax header ('g') is checked and ignored.
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
    USTAR_E_LONG_NAME = -10,  /* a GNU long name ('L', 'K') that is empty, or a second one */
    USTAR_E_PAX = -11,        /* a pax record that is not "LEN key=value\n" inside its header */
    USTAR_E_ORPHAN = -12,     /* a long name or pax header with no entry after it */
};

#define USTAR_REGULAR    '0'
#define USTAR_DIRECTORY  '5'
#define USTAR_GNU_NAME   'L'    /* GNU: the data is the next entry's name */
#define USTAR_GNU_LINK   'K'    /* GNU: the data is the next entry's link target */
#define USTAR_PAX        'x'    /* pax: records for the next entry */
#define USTAR_PAX_GLOBAL 'g'    /* pax: records for every entry after it */

struct ustar_entry {
    char name[USTAR_NAME_MAX];  /* the header's own: prefix "/" name, NUL-terminated */
    const char *path;           /* the entry's path, path_len bytes, no NUL: name above, or
                                   the long name an entry before it gave (in the buffer) */
    uint32_t path_len;
    const uint8_t *data;        /* size bytes inside the buffer */
    uint32_t size;
    uint32_t mode;              /* permission bits (07777) */
    char type;                  /* USTAR_REGULAR or USTAR_DIRECTORY */
};

struct ustar_iter {
    const uint8_t *base;
    uint32_t len;
    uint32_t offset;            /* the header ustar_next reads next (or failed at; for an
                                   entry's long name, the header that gave it) */
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
