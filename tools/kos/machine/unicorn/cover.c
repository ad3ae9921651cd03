/* cover.c — recording which kernel code ran, for `invoke coverage`.
 *
 * A UC_HOOK_BLOCK callback over the kernel's .text: for each block that
 * runs, the longest size seen at its start address. Through the Python
 * binding the callback cost a Python call a block, and the console and
 * direct-call tests under coverage ran several times slower than without.
 * coverage.py reads the sizes back.
 */
#include <stdint.h>

struct cover {
    uint32_t start, len;        /* the addresses recorded: [start, start + len) */
    uint16_t *size;             /* len entries: 0, or the longest block begun there */
};

void cover_block_hook(void *uc, uint64_t address, uint32_t size, void *data)
{
    (void)uc;
    struct cover *c = data;
    uint64_t at = address - c->start;
    if (at >= c->len)
        return;
    if (size > 0xFFFFu)
        size = 0xFFFFu;
    if (size > c->size[at])
        c->size[at] = (uint16_t)size;
}
