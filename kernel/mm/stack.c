/* stack.c — per-process stacks in the stack region (include/layout.h).
 *
 * Slot i spans STACK_SLOT_SIZE bytes from STACK_REGION_START + i *
 * STACK_SLOT_SIZE: first an unmapped guard page, then STACK_SIZE bytes of
 * stack. A stack that overflows runs into its guard page and page-faults
 * instead of silently overwriting the stack below it.
 */
#include <stdint.h>
#include "stack.h"
#include "paging.h"
#include "physmem.h"
#include "../lib/kprintf.h"
#include "../lib/string.h"

struct stack_slot {
    uint32_t pid;
    int used;
};

static struct stack_slot slots[MAX_PROCESS_STACKS];
static uint32_t slots_in_ram;     /* slots [0, slots_in_ram) are backed by RAM */
static uint32_t used_count;
static uint32_t errors;

static uint32_t slot_base(uint32_t i)
{
    return STACK_REGION_START + i * STACK_SLOT_SIZE + STACK_GUARD_SIZE;
}

void stack_init(void)
{
    slots_in_ram = 0;
    while (slots_in_ram < MAX_PROCESS_STACKS &&
           physmem_is_usable(slot_base(slots_in_ram) - STACK_GUARD_SIZE,
                             slot_base(slots_in_ram) + STACK_SIZE))
        slots_in_ram++;
    for (uint32_t i = 0; i < slots_in_ram; i++)
        paging_set_present(slot_base(i) - STACK_GUARD_SIZE, 0);
    if (slots_in_ram < MAX_PROCESS_STACKS)
        kprintf("stack: only %u of %u stack slots are in RAM\n", slots_in_ram, MAX_PROCESS_STACKS);
}

static int find(uint32_t pid)
{
    for (uint32_t i = 0; i < MAX_PROCESS_STACKS; i++)
        if (slots[i].used && slots[i].pid == pid)
            return (int)i;
    return -1;
}

void *stack_alloc(uint32_t pid)
{
    uint8_t *top = stack_alloc_uncleared(pid);
    if (top)
        memset(top - STACK_SIZE, 0, STACK_SIZE);
    return top;
}

void *stack_alloc_uncleared(uint32_t pid)
{
    int have = find(pid);
    if (have >= 0) {
        kprintf("stack_alloc: pid %u: already has a stack at %p\n", pid, (void *)slot_base(have));
        errors++;
        return 0;
    }
    for (uint32_t i = 0; i < slots_in_ram; i++) {
        if (slots[i].used)
            continue;
        slots[i].used = 1;
        slots[i].pid = pid;
        used_count++;
        return (void *)(slot_base(i) + STACK_SIZE);
    }
    if (slots_in_ram == 0)
        kprintf("stack_alloc: pid %u: the stack region is beyond RAM\n", pid);
    else
        kprintf("stack_alloc: pid %u: all %u stacks in use\n", pid, slots_in_ram);
    errors++;
    return 0;
}

void stack_free(uint32_t pid)
{
    int i = find(pid);
    if (i < 0) {
        kprintf("stack_free: pid %u: has no stack\n", pid);
        errors++;
        return;
    }
    slots[i].used = 0;
    used_count--;
}

void *stack_get_base(uint32_t pid)
{
    int i = find(pid);
    return i < 0 ? 0 : (void *)slot_base(i);
}

void *stack_get_top(uint32_t pid)
{
    int i = find(pid);
    return i < 0 ? 0 : (void *)(slot_base(i) + STACK_SIZE);
}

uint32_t stack_count(void) { return used_count; }
uint32_t stack_errors(void) { return errors; }
uint32_t stack_slots_in_ram(void) { return slots_in_ram; }
