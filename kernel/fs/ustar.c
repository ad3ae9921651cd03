/* ustar.c — the POSIX ustar format: headers, checksums, octal fields, the
 * end marker, and the long names of GNU tar and pax before an entry. Reads
 * only inside the buffer it was given (see ustar.h). */
#include "ustar.h"

/* Header field offsets and widths (POSIX.1-1988). */
#define H_NAME     0
#define H_NAME_LEN 100
#define H_MODE     100
#define H_SIZE     124
#define H_CHKSUM   148
#define H_CHKSUM_LEN 8
#define H_TYPE     156
#define H_MAGIC    257
#define H_PREFIX   345
#define H_PREFIX_LEN 155

/* Parse an octal field: optional leading spaces, at least one digit, then
 * only NULs or spaces up to the field's end. */
static int parse_octal(const uint8_t *f, unsigned width, uint32_t *out)
{
    unsigned i = 0, digits = 0;
    uint32_t v = 0;
    while (i < width && f[i] == ' ')
        i++;
    for (; i < width && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
        if (v > (0xFFFFFFFFu >> 3))
            return USTAR_E_NUMBER;
        v = (v << 3) | (uint32_t)(f[i] - '0');
    }
    if (digits == 0)
        return USTAR_E_NUMBER;
    for (; i < width; i++)
        if (f[i] != 0 && f[i] != ' ')
            return USTAR_E_NUMBER;
    *out = v;
    return 0;
}

static int is_zero_block(const uint8_t *b)
{
    for (unsigned i = 0; i < USTAR_BLOCK; i++)
        if (b[i])
            return 0;
    return 1;
}

/* The length of a name field: up to its NUL, or the whole field when every
 * byte is used (POSIX: name and prefix are NUL-terminated only when they
 * are not full). */
static unsigned field_len(const uint8_t *f, unsigned width)
{
    unsigned n = 0;
    while (n < width && f[n])
        n++;
    return n;
}

static int check_sum(const uint8_t *h)
{
    uint32_t stored, sum = 0;
    if (parse_octal(h + H_CHKSUM, H_CHKSUM_LEN, &stored) < 0)
        return USTAR_E_CHECKSUM;
    for (unsigned i = 0; i < USTAR_BLOCK; i++)
        sum += (i >= H_CHKSUM && i < H_CHKSUM + H_CHKSUM_LEN) ? ' ' : h[i];
    return sum == stored ? 0 : USTAR_E_CHECKSUM;
}

/* GNU tar's magic is "ustar " with a version of " \0", and its headers use
 * the bytes of POSIX's prefix field for other things (times of the old
 * incremental format): only a POSIX header has a prefix. */
static int is_posix(const uint8_t *h) { return h[H_MAGIC + 5] == 0; }

static int read_name(const uint8_t *h, char *out)
{
    unsigned plen = is_posix(h) ? field_len(h + H_PREFIX, H_PREFIX_LEN) : 0;
    unsigned nlen = field_len(h + H_NAME, H_NAME_LEN);
    /* An empty name is allowed after a prefix: a long directory path split
     * at its trailing '/'. */
    if (plen + nlen == 0)
        return USTAR_E_NAME;
    unsigned o = 0;
    for (unsigned i = 0; i < plen; i++)
        out[o++] = (char)h[H_PREFIX + i];
    if (plen)
        out[o++] = '/';
    for (unsigned i = 0; i < nlen; i++)
        out[o++] = (char)h[H_NAME + i];
    out[o] = 0;
    return 0;
}

void ustar_iter_init(struct ustar_iter *it, const void *base, uint32_t len)
{
    it->base = base;
    it->len = len;
    it->offset = 0;
    it->status = USTAR_ENTRY;
}

static int known_type(char type)
{
    return type == USTAR_REGULAR || type == USTAR_DIRECTORY || type == USTAR_GNU_NAME ||
           type == USTAR_GNU_LINK || type == USTAR_PAX || type == USTAR_PAX_GLOBAL;
}

/* The header at offset at, whatever its type: e->name, data, size, mode
 * and type, its data checked to lie inside the buffer. */
static int parse_header(const struct ustar_iter *it, uint32_t at, struct ustar_entry *e)
{
    uint32_t room = it->len - at;
    if (room == 0)
        return USTAR_E_NO_END;
    if (room < USTAR_BLOCK)
        return USTAR_E_TRUNCATED;
    const uint8_t *h = it->base + at;
    if (is_zero_block(h)) {
        if (room < 2 * USTAR_BLOCK)
            return USTAR_E_TRUNCATED;
        return is_zero_block(h + USTAR_BLOCK) ? USTAR_END : USTAR_E_LONE_ZERO;
    }
    int r = check_sum(h);
    if (r < 0)
        return r;
    if (h[H_MAGIC] != 'u' || h[H_MAGIC + 1] != 's' || h[H_MAGIC + 2] != 't' || h[H_MAGIC + 3] != 'a' ||
        h[H_MAGIC + 4] != 'r' || (h[H_MAGIC + 5] != 0 && h[H_MAGIC + 5] != ' '))
        return USTAR_E_MAGIC;
    if ((r = read_name(h, e->name)) < 0)
        return r;
    uint32_t mode, size;
    if (parse_octal(h + H_MODE, 8, &mode) < 0 || parse_octal(h + H_SIZE, 12, &size) < 0)
        return USTAR_E_NUMBER;
    char type = (char)h[H_TYPE];
    if (type == 0)
        type = USTAR_REGULAR;               /* pre-POSIX archives */
    if (!known_type(type))
        return USTAR_E_TYPE;
    if (type == USTAR_DIRECTORY)
        size = 0;                           /* a directory's size field carries no data */
    /* The data and its padding must fit: written without overflow. */
    uint32_t after = room - USTAR_BLOCK;
    uint32_t padded = size + (USTAR_BLOCK - 1);
    if (size > after || padded < size || (padded & ~(USTAR_BLOCK - 1)) > after)
        return USTAR_E_SIZE;
    e->data = h + USTAR_BLOCK;
    e->size = size;
    e->mode = mode & 07777;
    e->type = type;
    return USTAR_ENTRY;
}

/* What the extension entries before an entry said about it. */
struct pending {
    const char *gnu_name, *pax_path;    /* NULL: not given */
    uint32_t gnu_name_len, pax_path_len;
    int gnu_link;
    uint32_t first;                     /* offset of the first extension header */
};

/* A GNU 'L' or 'K' entry: the name is its data up to a NUL (tar writes
 * one and counts it in the size) or to its end. */
static int take_gnu(const struct ustar_entry *x, struct pending *p)
{
    uint32_t n = 0;
    while (n < x->size && x->data[n])
        n++;
    if (n == 0)
        return USTAR_E_LONG_NAME;
    if (x->type == USTAR_GNU_LINK) {
        if (p->gnu_link)
            return USTAR_E_LONG_NAME;
        p->gnu_link = 1;
        return 0;
    }
    if (p->gnu_name)
        return USTAR_E_LONG_NAME;
    p->gnu_name = (const char *)x->data;
    p->gnu_name_len = n;
    return 0;
}

/* A pax header's records, "LEN key=value\n" each, LEN in decimal counting
 * the whole record, filling the data exactly. A path (for an 'x' header)
 * becomes the next entry's; an empty one, as POSIX says, leaves the
 * header's own. A path may not hold a NUL: no file could be named so. */
static int take_pax(const struct ustar_entry *x, struct pending *p)
{
    const uint8_t *d = x->data;
    uint32_t at = 0;
    while (at < x->size) {
        uint32_t len = 0, i = at;
        for (; i < x->size && d[i] >= '0' && d[i] <= '9'; i++) {
            if (len > (x->size - at) / 10)
                return USTAR_E_PAX;
            len = len * 10 + (uint32_t)(d[i] - '0');
        }
        if (i == at || i == x->size || d[i] != ' ' || len > x->size - at || len < i - at + 3)
            return USTAR_E_PAX;
        uint32_t end = at + len - 1;            /* the record's '\n' */
        if (d[end] != '\n')
            return USTAR_E_PAX;
        uint32_t key = i + 1, eq = key;
        while (eq < end && d[eq] != '=')
            eq++;
        if (eq == end || eq == key)
            return USTAR_E_PAX;
        uint32_t klen = eq - key, vlen = end - eq - 1;
        const uint8_t *v = d + eq + 1;
        if (x->type == USTAR_PAX && klen == 4 && d[key] == 'p' && d[key + 1] == 'a' &&
            d[key + 2] == 't' && d[key + 3] == 'h') {
            for (uint32_t j = 0; j < vlen; j++)
                if (v[j] == 0)
                    return USTAR_E_PAX;
            p->pax_path = vlen ? (const char *)v : 0;
            p->pax_path_len = vlen;
        }
        at += len;
    }
    return 0;
}

static int is_extension(char type)
{
    return type == USTAR_GNU_NAME || type == USTAR_GNU_LINK || type == USTAR_PAX ||
           type == USTAR_PAX_GLOBAL;
}

int ustar_next(struct ustar_iter *it, struct ustar_entry *e)
{
    if (it->status != USTAR_ENTRY)
        return it->status;
    struct pending p = { 0 };
    uint32_t at = it->offset;
    int r, extended = 0;
    for (;;) {
        r = parse_header(it, at, e);
        if (r != USTAR_ENTRY || !is_extension(e->type))
            break;
        if (!extended && e->type != USTAR_PAX_GLOBAL) {
            extended = 1;
            p.first = at;
        }
        r = (e->type == USTAR_GNU_NAME || e->type == USTAR_GNU_LINK) ? take_gnu(e, &p) : take_pax(e, &p);
        if (r < 0)
            break;
        at += USTAR_BLOCK + ((e->size + USTAR_BLOCK - 1) & ~(USTAR_BLOCK - 1));
    }
    if (r == USTAR_END && extended) {
        r = USTAR_E_ORPHAN;
        at = p.first;
    }
    if (r != USTAR_ENTRY) {
        it->offset = at;
        it->status = r;
        return r;
    }
    if (p.pax_path) {
        e->path = p.pax_path;
        e->path_len = p.pax_path_len;
    } else if (p.gnu_name) {
        e->path = p.gnu_name;
        e->path_len = p.gnu_name_len;
    } else {
        e->path = e->name;
        e->path_len = field_len((const uint8_t *)e->name, USTAR_NAME_MAX);
    }
    it->offset = at + USTAR_BLOCK + ((e->size + USTAR_BLOCK - 1) & ~(USTAR_BLOCK - 1));
    return r;
}

int ustar_check(const void *base, uint32_t len, uint32_t *count, uint32_t *bad_offset)
{
    struct ustar_iter it;
    struct ustar_entry e;
    uint32_t n = 0;
    int r;
    ustar_iter_init(&it, base, len);
    while ((r = ustar_next(&it, &e)) == USTAR_ENTRY)
        n++;
    *count = n;
    *bad_offset = it.offset;
    return r;
}

const char *ustar_strerror(int err)
{
    switch (err) {
    case USTAR_END: return "end of archive";
    case USTAR_E_TRUNCATED: return "truncated: a header or the end marker is cut short";
    case USTAR_E_CHECKSUM: return "header checksum mismatch";
    case USTAR_E_MAGIC: return "no ustar magic in the header";
    case USTAR_E_NAME: return "an empty name";
    case USTAR_E_NUMBER: return "a numeric field is not octal or overflows";
    case USTAR_E_SIZE: return "file size runs past the end of the archive";
    case USTAR_E_TYPE: return "entry is neither a regular file nor a directory";
    case USTAR_E_NO_END: return "no end-of-archive marker (two zero blocks)";
    case USTAR_E_LONE_ZERO: return "a zero block not followed by a second one";
    case USTAR_E_LONG_NAME: return "a GNU long name or link entry is empty or repeated";
    case USTAR_E_PAX: return "a pax extended header's record is not 'LEN key=value' in its data";
    case USTAR_E_ORPHAN: return "a long name or pax header with no entry after it";
    default: return "unknown error";
    }
}
