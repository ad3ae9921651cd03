/* replay.c — replay a malloc-lab trace against one allocator over a 30 MiB
 * region and print one JSON line: operations, failures, peak live payload,
 * extent, utilization and time.
 *
 *   replay kos|kacchi|glibc TRACE [--max-ops N] [--check]
 *
 * Allocators are called through the bench_* wrappers only, so that
 * `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='bench_*'`
 * counts exactly the allocator's instructions (plus a call and a return).
 * Every block gets its first and last byte written and checked on free, so
 * overlapping blocks show up as content errors.
 */

#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../kernel/mm/heap/heap.h"
#include "kacchi.h"

#define REGION 0x1E00000u

struct op {
    char kind;
    uint32_t id;
    uint32_t size;
};

struct live {
    uint8_t *p;
    uint32_t size;
};

static struct heap *kos;
static struct kacchi *kac;

#define BARRIER() __asm__ volatile("" ::: "memory")

__attribute__((noinline)) static void *bench_kos_alloc(size_t n)
{
    void *p = heap_alloc(kos, n, 0, 0);
    BARRIER();
    return p;
}

__attribute__((noinline)) static void bench_kos_free(void *p)
{
    heap_free(kos, p);
    BARRIER();
}

__attribute__((noinline)) static void *bench_kos_realloc(void *p, size_t n)
{
    void *q = heap_realloc(kos, p, n, 0, NULL);
    BARRIER();
    return q;
}

__attribute__((noinline)) static void *bench_kacchi_alloc(size_t n)
{
    void *p = kacchi_alloc(kac, n);
    BARRIER();
    return p;
}

__attribute__((noinline)) static void bench_kacchi_free(void *p)
{
    kacchi_free(kac, p);
    BARRIER();
}

__attribute__((noinline)) static void *bench_kacchi_realloc(void *p, size_t n)
{
    void *q = kacchi_realloc(kac, p, n);
    BARRIER();
    return q;
}

__attribute__((noinline)) static void *bench_glibc_alloc(size_t n)
{
    void *p = malloc(n);
    BARRIER();
    return p;
}

__attribute__((noinline)) static void bench_glibc_free(void *p)
{
    free(p);
    BARRIER();
}

__attribute__((noinline)) static void *bench_glibc_realloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    BARRIER();
    return q;
}

static struct op *load(const char *path, uint32_t *nops, uint32_t *nids)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(2);
    }
    unsigned long heap, ids, ops, weight;
    if (fscanf(f, "%lu %lu %lu %lu", &heap, &ids, &ops, &weight) != 4) {
        fprintf(stderr, "%s: bad header\n", path);
        exit(2);
    }
    struct op *v = calloc(ops ? ops : 1, sizeof *v);
    uint32_t n = 0;
    char kind;
    while (n < ops && fscanf(f, " %c", &kind) == 1) {
        unsigned long id, size = 0;
        if (fscanf(f, "%lu", &id) != 1 || (kind != 'f' && fscanf(f, "%lu", &size) != 1) ||
            id >= ids) {
            fprintf(stderr, "%s: bad operation %u\n", path, n);
            exit(2);
        }
        v[n++] = (struct op){ kind, (uint32_t)id, (uint32_t)size };
    }
    fclose(f);
    *nops = n;
    *nids = (uint32_t)ids;
    return v;
}

static uint8_t tag(uint32_t id)
{
    return (uint8_t)(id * 2654435761u >> 24) | 1;
}

static int content_ok(const struct live *b, uint32_t id)
{
    return b->p[0] == tag(id) && b->p[b->size - 1] == tag(id);
}

static void mark(struct live *b, uint32_t id)
{
    b->p[0] = tag(id);
    b->p[b->size - 1] = tag(id);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s kos|kacchi|glibc TRACE [--max-ops N] [--check]\n", argv[0]);
        return 2;
    }
    const char *which = argv[1];
    uint32_t max_ops = UINT32_MAX;
    int check = 0;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--max-ops") && i + 1 < argc)
            max_ops = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--check"))
            check = 1;
    }
    uint32_t nops, nids;
    struct op *ops = load(argv[2], &nops, &nids);
    if (nops > max_ops)
        nops = max_ops;
    struct live *live = calloc(nids ? nids : 1, sizeof *live);

    void *(*do_alloc)(size_t);
    void (*do_free)(void *);
    void *(*do_realloc)(void *, size_t);
    uint8_t *region = NULL;
    int glibc = 0;
    if (!strcmp(which, "kos")) {
        if (posix_memalign((void **)&region, 0x200000, REGION))
            return 2;
        kos = heap_init(region, REGION);
        do_alloc = bench_kos_alloc;
        do_free = bench_kos_free;
        do_realloc = bench_kos_realloc;
    } else if (!strcmp(which, "kacchi")) {
        if (posix_memalign((void **)&region, 0x200000, REGION))
            return 2;
        kac = malloc(sizeof *kac);
        kacchi_init(kac, region, REGION);
        do_alloc = bench_kacchi_alloc;
        do_free = bench_kacchi_free;
        do_realloc = bench_kacchi_realloc;
    } else if (!strcmp(which, "glibc")) {
        glibc = 1;
        do_alloc = bench_glibc_alloc;
        do_free = bench_glibc_free;
        do_realloc = bench_glibc_realloc;
    } else {
        fprintf(stderr, "unknown allocator %s\n", which);
        return 2;
    }

    uint64_t cur = 0, peak = 0, extent = 0;
    uint32_t failures = 0, bad_content = 0, violations = 0;
    double t0 = now();
    for (uint32_t i = 0; i < nops; i++) {
        const struct op *o = &ops[i];
        struct live *b = &live[o->id];
        if (o->kind == 'a' || (o->kind == 'r' && !b->p)) {
            uint8_t *p = do_alloc(o->size);
            if (!p) {
                failures++;
                continue;
            }
            b->p = p;
            b->size = o->size;
            mark(b, o->id);
            cur += o->size;
        } else if (o->kind == 'r') {
            uint8_t *p = do_realloc(b->p, o->size);
            if (!p) {
                failures++;
                continue;
            }
            uint32_t keep = b->size < o->size ? b->size : o->size;
            if (p[0] != tag(o->id) || (keep == b->size && p[keep - 1] != tag(o->id)))
                bad_content++;
            cur += o->size;
            cur -= b->size;
            b->p = p;
            b->size = o->size;
            mark(b, o->id);
        } else {
            if (!b->p)
                continue;
            if (!content_ok(b, o->id))
                bad_content++;
            do_free(b->p);
            cur -= b->size;
            b->p = NULL;
            continue;
        }
        if (cur > peak)
            peak = cur;
        if (region) {
            uint64_t end = (uint64_t)(b->p + b->size - region);
            if (end > extent)
                extent = end;
        } else if (glibc) {
            struct mallinfo2 mi = mallinfo2();
            if (mi.arena + mi.hblkhd > extent)
                extent = mi.arena + mi.hblkhd;
        }
        if (check && kos && (i & 1023) == 0)
            violations += heap_check(kos, NULL, NULL);
    }
    double t1 = now();
    if (kos) {
        if (heap_extent(kos) > extent)
            extent = heap_extent(kos);
        violations += heap_check(kos, NULL, NULL);
    }
    printf("{\"allocator\": \"%s\", \"ops\": %u, \"failures\": %u, \"bad_content\": %u, "
           "\"violations\": %u, \"peak_payload\": %llu, \"extent\": %llu, "
           "\"utilization\": %.6f, \"ns_per_op\": %.2f}\n",
           which, nops, failures, bad_content, violations, (unsigned long long)peak,
           (unsigned long long)extent, extent ? (double)peak / (double)extent : 0.0,
           nops ? (t1 - t0) * 1e9 / nops : 0.0);
    return 0;
}
