/* slice.c — ending a time slice of unicorn emulation from the CPU thread.
 *
 * unicorn 2.1.4's emu_stop, called from another thread, makes the running
 * translation block leave at its next exit check, and unicorn checks after
 * guest memory stores too: the block is left halfway, with EIP still at
 * its first instruction and the stores (and some registers) already done,
 * so the next emu_start runs the first half again (`inc [mem]` counts
 * twice). A stop issued at the start of a block, before any of it runs,
 * leaves a consistent state. So the timer thread only sets `expired`, and
 * a block hook in the CPU thread, which runs before each block, turns it
 * into emu_stop there. The cost is one call per block (about 10% on a
 * tight loop, less on kernel code).
 */
#include <stdint.h>
#include <stdlib.h>

typedef int (*uc_stop_fn)(void *uc);

struct slice {
    int expired;
    uc_stop_fn stop;
};

struct slice *slice_new(uc_stop_fn stop)
{
    struct slice *s = calloc(1, sizeof *s);
    if (s)
        s->stop = stop;
    return s;
}

void slice_free(struct slice *s)
{
    free(s);
}

/* From the timer thread: end the slice at the next block. */
void slice_expire(struct slice *s)
{
    __atomic_store_n(&s->expired, 1, __ATOMIC_RELEASE);
}

/* From the CPU thread after emu_start: was the slice ended? Clears it. */
int slice_take(struct slice *s)
{
    return __atomic_exchange_n(&s->expired, 0, __ATOMIC_ACQ_REL);
}

/* The UC_HOOK_BLOCK callback (user data: the slice). */
void slice_block_hook(void *uc, uint64_t address, uint32_t size, void *data)
{
    struct slice *s = data;
    (void)address;
    (void)size;
    if (__atomic_load_n(&s->expired, __ATOMIC_ACQUIRE))
        s->stop(uc);
}
