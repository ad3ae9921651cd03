/* ram.c — putting guest RAM back from a snapshot, page by page.
 *
 * A snapshot of a whole machine holds all of its RAM (64 MiB for a console
 * test's machine), and a test changes a few hundred pages of it. So restore
 * copies only the pages that differ, and it tells the engine which ones they
 * are: unicorn does not notice writes behind its back, so code it translated
 * from those pages must be dropped (calls.py), and only from those.
 *
 * Most of a machine's RAM is zero at its snapshot: frames nothing has used
 * yet. Such a page is not compared with its saved copy but checked for zero
 * bytes, and one found changed is given back to the host (MADV_DONTNEED on
 * the engine's private anonymous mapping) rather than cleared: the host
 * reads an untouched page as its one shared zero page, so checking it costs
 * little memory traffic, now and at every later restore.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096u

static int page_is_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;
    uint64_t any = 0;
    for (size_t i = 0; i < PAGE / sizeof *w; i++)
        any |= w[i];
    return any == 0;
}

/* zero[page] = 1 where saved's page is all zero bytes, else 0. */
void ram_zero_map(const uint8_t *saved, size_t pages, uint8_t *zero)
{
    for (size_t page = 0; page < pages; page++)
        zero[page] = (uint8_t)page_is_zero(saved + page * PAGE);
}

static void clear_page(uint8_t *p)
{
    if (madvise(p, PAGE, MADV_DONTNEED) != 0)
        memset(p, 0, PAGE);
}

/* Put each page of saved[0, pages * PAGE) (zero: its ram_zero_map) that
 * differs back into ram, and write the first `room` such page numbers to
 * changed. Returns how many pages were put back (more than room: the list
 * is incomplete). */
size_t ram_put_back(uint8_t *ram, const uint8_t *saved, const uint8_t *zero, size_t pages,
                    uint32_t *changed, size_t room)
{
    size_t n = 0;
    for (size_t page = 0; page < pages; page++) {
        uint8_t *to = ram + page * PAGE;
        const uint8_t *from = saved + page * PAGE;
        if (zero[page]) {
            if (page_is_zero(to))
                continue;
            clear_page(to);
        } else {
            if (memcmp(to, from, PAGE) == 0)
                continue;
            memcpy(to, from, PAGE);
        }
        if (n < room)
            changed[n] = (uint32_t)page;
        n++;
    }
    return n;
}
