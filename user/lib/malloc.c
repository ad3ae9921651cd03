/* malloc.c — a size-class allocator over anonymous mmap.
 *
 * Every block has a header of 16 bytes before its payload (keeping payloads
 * 16-byte aligned) that records its class, or for a large block the length
 * of its mapping. Freed small blocks go on their class's list and are
 * reused; chunks are never returned to the kernel. A free block's class
 * carries FREED, so a second free of it (or of something that is no
 * block's payload) is refused with a message instead of putting the block
 * on its list twice, where two mallocs would get it. */
#include "stdlib.h"
#include "stdio.h"
#include "syscall.h"

#define HDR         16u
#define MIN_SHIFT   4                 /* the smallest class: 16 bytes with its header */
#define NCLASSES    8                 /* 16 .. 2048 payload + header */
#define CHUNK       0x10000u
#define LARGE       0xFFu
#define FREED       0x100u

struct header {
    unsigned cls;                     /* class index, or LARGE */
    size_t map_len;                   /* a large block's mapping */
    struct header *next;              /* on a free list */
};

static struct header *free_lists[NCLASSES + 1];
static char *chunk_next, *chunk_end;

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
        char *chunk = map(CHUNK);
        if (!chunk)
            return 0;
        chunk_next = chunk;
        chunk_end = chunk + CHUNK;
    }
    h = (struct header *)chunk_next;
    chunk_next += size;
    h->cls = c;
    return (char *)h + HDR;
}

void free(void *p)
{
    if (!p)
        return;
    struct header *h = (struct header *)((char *)p - HDR);
    if (h->cls & FREED) {
        dprintf(2, "free: %p: double free, refused\n", p);
        return;
    }
    if (h->cls == LARGE) {
        munmap(h, h->map_len);
        return;
    }
    if (h->cls > NCLASSES) {
        dprintf(2, "free: %p: not a block malloc returned, refused\n", p);
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
