/* kacchi.h — the kacchiOS heap as its specification describes it, kept as the
 * benchmark baseline: first fit over a table of at most 1024 blocks, 4-byte
 * alignment, merging of free neighbours on free. The table lives outside the
 * heap, as in kacchiOS. */
#ifndef KOS_BENCH_KACCHI_H
#define KOS_BENCH_KACCHI_H

#include <stddef.h>
#include <stdint.h>

#define KACCHI_MAX_BLOCKS 1024

struct kacchi_block {
    uint32_t start;  /* offset from the heap base */
    uint32_t size;
    uint32_t used;
};

struct kacchi {
    uint8_t *base;
    uint32_t size;
    uint32_t count;  /* table entries in use, sorted by start */
    struct kacchi_block blocks[KACCHI_MAX_BLOCKS];
};

void kacchi_init(struct kacchi *k, void *base, uint32_t size);
void *kacchi_alloc(struct kacchi *k, size_t size);
int kacchi_free(struct kacchi *k, void *p);
void *kacchi_realloc(struct kacchi *k, void *p, size_t size);

#endif
