/* ram.c — putting guest RAM back from a snapshot, page by page.
 *
 * A snapshot of a whole machine holds all of its RAM (64 MiB for a console
 * test's machine), and a test changes a few hundred pages of it. Comparing
 * every page and copying only those that differ costs less than copying
 * them all, and it tells the engine which pages changed behind unicorn's
 * back: unicorn does not notice such writes, so code it translated from
 * those pages must be dropped (calls.py), and only from those.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PAGE 4096u

/* Copy each page of saved[0, pages * PAGE) that differs into ram, and
 * write the first `room` such page numbers to changed. Returns how many
 * pages were copied (more than room: the list is incomplete). */
size_t ram_put_back(uint8_t *ram, const uint8_t *saved, size_t pages, uint32_t *changed, size_t room)
{
    size_t n = 0;
    for (size_t page = 0; page < pages; page++) {
        size_t off = page * PAGE;
        if (memcmp(ram + off, saved + off, PAGE) == 0)
            continue;
        memcpy(ram + off, saved + off, PAGE);
        if (n < room)
            changed[n] = (uint32_t)page;
        n++;
    }
    return n;
}
