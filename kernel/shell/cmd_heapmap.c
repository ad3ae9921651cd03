/* cmd_heapmap.c — `heapmap [CELL]`: one screen of the kmalloc heap by address.
 *
 * Up to 16 rows of 64 cells, each cell CELL bytes (a power of two; by
 * default the smallest that fits the heap's extent on the screen), drawn as
 * what fills most of it:
 *
 *     #  allocated blocks
 *     o  small objects (allocations of at most SMALL_OBJECT bytes, which the
 *        heap packs in runs)
 *     .  free blocks
 *     -  neither: the heap's control data, block headers, a run's own
 *        header and its free slots
 *
 * It sees the heap only through memory_walk (memory.h) and the statistics of
 * memory.h, so it shows what the allocator's public contract says.
 */
#include <stddef.h>
#include <stdint.h>
#include "shell.h"
#include "../include/errno.h"
#include "../include/layout.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"
#include "../mm/heap/heap.h"
#include "../mm/memory.h"

#define MAP_COLS     64
#define MAP_ROWS     16
#define MAP_CELLS    (MAP_COLS * MAP_ROWS)
#define MIN_CELL     HEAP_ALIGN
#define SMALL_OBJECT 256u

enum { KIND_USED, KIND_SMALL, KIND_FREE, NR_KINDS };

static const char kind_char[NR_KINDS] = { '#', 'o', '.' };

/* Bytes of each kind per cell. Static: 12 KiB is too much for a shell stack
 * frame, and the shell runs one command at a time. */
static uint32_t fill[MAP_CELLS][NR_KINDS];

struct map {
    uint32_t base;       /* address of cell 0 */
    uint32_t cell;       /* bytes a cell */
    uint32_t cells;      /* cells in use: those below the heap's extent */
};

static void add_range(const struct map *m, uint32_t start, uint32_t end, unsigned kind)
{
    uint32_t limit = m->base + m->cells * m->cell;
    if (start < m->base)
        start = m->base;
    if (end > limit)
        end = limit;
    while (start < end) {
        uint32_t i = (start - m->base) / m->cell;
        uint32_t cell_end = m->base + (i + 1) * m->cell;
        uint32_t stop = end < cell_end ? end : cell_end;
        fill[i][kind] += stop - start;
        start = stop;
    }
}

static void add_block(const struct heap_block *b, void *ctx)
{
    uint32_t start = (uint32_t)(uintptr_t)b->payload;
    unsigned kind = !b->used ? KIND_FREE : b->size <= SMALL_OBJECT ? KIND_SMALL : KIND_USED;
    add_range(ctx, start, start + (uint32_t)b->size, kind);
}

/* The kind filling most of cell i, or '-' when headers and free slots do. */
static char cell_char(const struct map *m, uint32_t i)
{
    uint32_t best = 0, counted = 0;
    char c = '-';
    for (unsigned k = 0; k < NR_KINDS; k++) {
        counted += fill[i][k];
        if (fill[i][k] > best) {
            best = fill[i][k];
            c = kind_char[k];
        }
    }
    return best >= m->cell - counted ? c : '-';
}

static int error(int err, const char *why)
{
    kprintf("heapmap: error %s (%d): %s\n", errno_name(err), err, why);
    return 1;
}

static int cmd_heapmap(int argc, char **argv)
{
    memory_stats_t st;
    struct memory_counters ctr;
    memory_get_stats(&st);
    memory_get_counters(&ctr);
    if (argc > 2)
        return shell_usage(argv[0]);
    if (st.total_heap == 0)
        return error(-ENOMEM, "there is no heap (no RAM above HEAP_START)");

    struct map m = { .base = HEAP_START, .cell = MIN_CELL };
    uint32_t extent = ctr.heap_extent ? ctr.heap_extent : MIN_CELL;
    if (argc == 2) {
        uint32_t cell;
        if (shell_arg_u32(argv, 1, "CELL", st.total_heap, &cell))
            return 1;
        if (cell < MIN_CELL || (cell & (cell - 1)))
            return error(-EINVAL, "CELL must be a power of two from 8 to the heap's size");
        m.cell = cell;
    } else {
        while (m.cell * MAP_CELLS < extent)
            m.cell <<= 1;
    }
    m.cells = (extent + m.cell - 1) / m.cell;
    if (m.cells > MAP_CELLS)
        m.cells = MAP_CELLS;

    memset(fill, 0, sizeof fill);
    memory_walk(add_block, &m);

    kprintf("heapmap: %p-%p, %u bytes a cell\n", (void *)m.base, (void *)(m.base + m.cells * m.cell),
            m.cell);
    kprintf("heapmap: # used  o small objects (<= %u bytes)  . free  - control data, headers, "
            "free run slots\n", SMALL_OBJECT);
    for (uint32_t row = 0; row * MAP_COLS < m.cells; row++) {
        char line[MAP_COLS + 1];
        uint32_t n = 0;
        for (; n < MAP_COLS && row * MAP_COLS + n < m.cells; n++)
            line[n] = cell_char(&m, row * MAP_COLS + n);
        line[n] = '\0';
        kprintf("%p %s\n", (void *)(m.base + row * MAP_COLS * m.cell), line);
    }
    if (extent > m.cells * m.cell)
        kprintf("heapmap: %u more bytes of the extent not shown (use a larger CELL)\n",
                extent - m.cells * m.cell);
    kprintf("heapmap: used %u bytes in %u blocks, free %u, extent %u of %u\n", st.used_heap,
            st.num_allocations, st.free_heap, extent, st.total_heap);
    return 0;
}
SHELL_COMMAND(heapmap, "[CELL]", "draw the heap by address, one screen", cmd_heapmap);
