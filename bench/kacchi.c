/* kacchi.c — the kacchiOS first-fit heap, the baseline of the benchmark.
 * O(n) allocation (first fit over the table), O(n) free (find, then merge). */

#include "kacchi.h"

#include <string.h>

void kacchi_init(struct kacchi *k, void *base, uint32_t size)
{
    k->base = base;
    k->size = size;
    k->count = 1;
    k->blocks[0] = (struct kacchi_block){ 0, size, 0 };
}

static void insert_at(struct kacchi *k, uint32_t i, struct kacchi_block b)
{
    memmove(&k->blocks[i + 1], &k->blocks[i], (k->count - i) * sizeof b);
    k->blocks[i] = b;
    k->count++;
}

static void remove_at(struct kacchi *k, uint32_t i)
{
    memmove(&k->blocks[i], &k->blocks[i + 1], (k->count - i - 1) * sizeof k->blocks[0]);
    k->count--;
}

static void *first_fit(struct kacchi *k, uint32_t size)
{
    for (uint32_t i = 0; i < k->count; i++) {
        struct kacchi_block *b = &k->blocks[i];
        if (b->used || b->size < size)
            continue;
        if (b->size > size && k->count < KACCHI_MAX_BLOCKS) {
            struct kacchi_block rest = { b->start + size, b->size - size, 0 };
            b->size = size;
            insert_at(k, i + 1, rest);
            b = &k->blocks[i];
        } else if (b->size > size) {
            return NULL;  /* no table entry left to split with */
        }
        b->used = 1;
        return k->base + b->start;
    }
    return NULL;
}

/* Merge every run of adjacent free entries (the "defragmentation"). */
static void merge_all(struct kacchi *k)
{
    for (uint32_t i = 0; i + 1 < k->count;) {
        if (!k->blocks[i].used && !k->blocks[i + 1].used) {
            k->blocks[i].size += k->blocks[i + 1].size;
            remove_at(k, i + 1);
        } else {
            i++;
        }
    }
}

void *kacchi_alloc(struct kacchi *k, size_t size)
{
    if (size == 0 || size > k->size)
        return NULL;
    uint32_t n = (uint32_t)((size + 3) & ~(size_t)3);
    void *p = first_fit(k, n);
    if (!p) {
        merge_all(k);
        p = first_fit(k, n);
    }
    return p;
}

static int find(const struct kacchi *k, const void *p)
{
    uint32_t off = (uint32_t)((const uint8_t *)p - k->base);
    for (uint32_t i = 0; i < k->count; i++)
        if (k->blocks[i].start == off)
            return (int)i;
    return -1;
}

int kacchi_free(struct kacchi *k, void *p)
{
    int i = find(k, p);
    if (i < 0 || !k->blocks[i].used)
        return -1;
    k->blocks[i].used = 0;
    if ((uint32_t)i + 1 < k->count && !k->blocks[i + 1].used) {
        k->blocks[i].size += k->blocks[i + 1].size;
        remove_at(k, (uint32_t)i + 1);
    }
    if (i > 0 && !k->blocks[i - 1].used) {
        k->blocks[i - 1].size += k->blocks[i].size;
        remove_at(k, (uint32_t)i);
    }
    return 0;
}

void *kacchi_realloc(struct kacchi *k, void *p, size_t size)
{
    int i = find(k, p);
    if (i < 0 || !k->blocks[i].used)
        return NULL;
    uint32_t old = k->blocks[i].size;
    if (old >= size)
        return p;
    void *q = kacchi_alloc(k, size);
    if (!q)
        return NULL;
    memcpy(q, p, old);
    kacchi_free(k, p);
    return q;
}
