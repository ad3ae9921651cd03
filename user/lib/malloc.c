/* malloc.c — a size-class allocator over anonymous mmap.
 *
 * Every block has a header of 16 bytes before its payload (keeping payloads
 * 16-byte aligned) that records its class, or for a large block the length
 * of its mapping. Small blocks are carved out of 64 KiB chunks; freed ones
 * go on their class's list and are reused, and chunks are never returned
 * to the kernel. A large block has a mapping of its own, which free()
 * unmaps.
 *
 * free() reads a header only where it knows memory is mapped: inside a
 * chunk (every chunk is on a list), or a live large block's (on a list of
 * their own). A second free of a large block would otherwise read a header
 * that went with its mapping, and fault. In a chunk, a header carries a
 * seal (its own address, scrambled) and a freed block FREED in its class,
 * so a second free, an interior pointer, or anything else that is no
 * block's payload is refused with a line on fd 2 instead of putting a
 * block on a list twice, where two mallocs would get it. */
#include "stdlib.h"
#include "stdio.h"
#include "syscall.h"

#define HDR         16u
#define MIN_SHIFT   4                 /* the smallest class: 16 bytes with its header */
#define NCLASSES    8                 /* 16 .. 2048 payload + header */
#define CHUNK       0x10000u
#define LARGE       0xFFu
#define FREED       0x100u
#define SEAL        0x5EA1B10Cu

struct header {
    unsigned cls;                     /* class index, or LARGE */
    size_t map_len;                   /* a large block's mapping */
    struct header *next;              /* on a free list, or the live large blocks */
    unsigned seal;                    /* seal_of(header) while it is a small block's */
};

/* A chunk's first 16 bytes link it to the others; its blocks follow. */
struct chunk {
    struct chunk *next;
    char pad[HDR - sizeof(struct chunk *)];
};

static struct header *free_lists[NCLASSES + 1];
static struct header *large_blocks;
static struct chunk *chunks;
static char *chunk_next, *chunk_end;

static unsigned seal_of(const struct header *h)
{
    return (unsigned)h ^ SEAL;
}

static void *map(size_t len)
{
    void *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return sys_failed((long)p) ? 0 : p;
}

static unsigned class_of(size_t n)
{
    unsigned c = 0;
    while (((size_t)1 << (c + MIN_SHIFT)) < n + HDR)
        c++;
    return c;
}

void *malloc(size_t n)
{
    if (n > MALLOC_SMALL_MAX) {
        size_t len = (n + HDR + 0xFFF) & ~(size_t)0xFFF;
        if (len < n)
            return 0;
        struct header *h = map(len);
        if (!h)
            return 0;
        h->cls = LARGE;
        h->map_len = len;
        h->next = large_blocks;
        large_blocks = h;
        return (char *)h + HDR;
    }
    unsigned c = class_of(n);
    struct header *h = free_lists[c];
    if (h) {
        free_lists[c] = h->next;
        h->cls = c;
        return (char *)h + HDR;
    }
    size_t size = (size_t)1 << (c + MIN_SHIFT);
    if (!chunk_next || (size_t)(chunk_end - chunk_next) < size) {
        struct chunk *chunk = map(CHUNK);
        if (!chunk)
            return 0;
        chunk->next = chunks;
        chunks = chunk;
        chunk_next = (char *)(chunk + 1);
        chunk_end = (char *)chunk + CHUNK;
    }
    h = (struct header *)chunk_next;
    chunk_next += size;
    h->cls = c;
    h->seal = seal_of(h);
    return (char *)h + HDR;
}

/* Whether the header at h lies wholly in a chunk's blocks. */
static int in_chunk(const struct header *h)
{
    for (const struct chunk *c = chunks; c; c = c->next)
        if ((const char *)h >= (const char *)(c + 1) && (const char *)(h + 1) <= (const char *)c + CHUNK)
            return 1;
    return 0;
}

/* Take h off the live large blocks: 1, or 0 if it is none of them. */
static int unlink_large(struct header *h)
{
    for (struct header **at = &large_blocks; *at; at = &(*at)->next)
        if (*at == h) {
            *at = h->next;
            return 1;
        }
    return 0;
}

void free(void *p)
{
    if (!p)
        return;
    struct header *h = (struct header *)((char *)p - HDR);
    if (unlink_large(h)) {
        munmap(h, h->map_len);
        return;
    }
    if (!in_chunk(h)) {
        dprintf(2, "free: %p: no live block there (freed already, or never malloc's), refused\n", p);
        return;
    }
    if (h->seal != seal_of(h) || (h->cls & ~FREED) > NCLASSES) {
        dprintf(2, "free: %p: not a block malloc returned, refused\n", p);
        return;
    }
    if (h->cls & FREED) {
        dprintf(2, "free: %p: double free, refused\n", p);
        return;
    }
    h->next = free_lists[h->cls];
    free_lists[h->cls] = h;
    h->cls |= FREED;
}

unsigned long strtoul_size(const char *s, const char **end)
{
    const char *start = s;
    unsigned long v = 0;
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    const char *digits = s;
    for (;; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            break;
        if (v > (~0UL - d) / base)
            break;                    /* one more digit would wrap: stop before it */
        v = v * base + d;
    }
    if (s == digits) {
        s = start;                    /* "0x" alone, or no digit at all: nothing used */
    } else {
        unsigned shift = 0;
        switch (*s) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: break;
        }
        if (shift && v <= ~0UL >> shift) {
            v <<= shift;
            s++;
        }
    }
    if (end)
        *end = s;
    return v;
}
