/* stack.c — per-process stacks in the stack region (include/layout.h).
 *
 * Slot i spans STACK_SLOT_SIZE bytes from STACK_REGION_START + i *
 * STACK_SLOT_SIZE: first an unmapped guard page, then STACK_SIZE bytes of
 * stack. A stack that overflows runs into its guard page and page-faults
 * instead of silently overwriting the stack below it.
 *
 * The slots in RAM are on one of two lists: free ones (the next stack_alloc
 * takes the first: O(1)) and used ones, which the lookups by pid walk. A
 * fork looks a pid up among the stacks in use, a handful, not among all
 * MAX_PROCESS_STACKS slots.
 */
#include <stdint.h>
#include "stack.h"
#include "paging.h"
#include "physmem.h"
#include "../lib/kprintf.h"
#include "../lib/list.h"
#include "../lib/string.h"

struct stack_slot {
    struct list_head link;       /* in free_slots or used_slots */
    uint32_t pid;                /* used: its owner */
};

static struct stack_slot slots[MAX_PROCESS_STACKS];
static struct list_head free_slots, used_slots;
static uint32_t slots_in_ram;     /* slots [0, slots_in_ram) are backed by RAM */
static uint32_t used_count;
static uint32_t errors;

static uint32_t slot_base(uint32_t i)
{
    return STACK_REGION_START + i * STACK_SLOT_SIZE + STACK_GUARD_SIZE;
}

static uint32_t slot_index(const struct stack_slot *s)
{
    return (uint32_t)(s - slots);
}

void stack_init(void)
{
    slots_in_ram = 0;
    while (slots_in_ram < MAX_PROCESS_STACKS &&
           physmem_is_usable(slot_base(slots_in_ram) - STACK_GUARD_SIZE,
                             slot_base(slots_in_ram) + STACK_SIZE))
        slots_in_ram++;
    list_init(&free_slots);
    list_init(&used_slots);
    for (uint32_t i = 0; i < slots_in_ram; i++) {
        paging_set_present(slot_base(i) - STACK_GUARD_SIZE, 0);
        list_add_tail(&slots[i].link, &free_slots);
    }
    if (slots_in_ram < MAX_PROCESS_STACKS)
        kprintf("stack: only %u of %u stack slots are in RAM\n", slots_in_ram, MAX_PROCESS_STACKS);
}

static struct stack_slot *find(uint32_t pid)
{
    for (struct list_head *e = used_slots.next; e != &used_slots; e = e->next) {
        struct stack_slot *s = list_entry(e, struct stack_slot, link);
        if (s->pid == pid)
            return s;
    }
    return 0;
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
    struct stack_slot *have = find(pid);
    if (have) {
        kprintf("stack_alloc: pid %u: already has a stack at %p\n", pid, (void *)slot_base(slot_index(have)));
        errors++;
        return 0;
    }
    if (!list_empty(&free_slots)) {
        struct stack_slot *s = list_entry(free_slots.next, struct stack_slot, link);
        list_del(&s->link);
        list_add(&s->link, &used_slots);
        s->pid = pid;
        used_count++;
        return (void *)(slot_base(slot_index(s)) + STACK_SIZE);
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
    struct stack_slot *s = find(pid);
    if (!s) {
        kprintf("stack_free: pid %u: has no stack\n", pid);
        errors++;
        return;
    }
    list_del(&s->link);
    list_add(&s->link, &free_slots);
    used_count--;
}

void *stack_get_base(uint32_t pid)
{
    struct stack_slot *s = find(pid);
    return s ? (void *)slot_base(slot_index(s)) : 0;
}

void *stack_get_top(uint32_t pid)
{
    struct stack_slot *s = find(pid);
    return s ? (void *)(slot_base(slot_index(s)) + STACK_SIZE) : 0;
}

uint32_t stack_count(void) { return used_count; }
uint32_t stack_errors(void) { return errors; }
uint32_t stack_slots_in_ram(void) { return slots_in_ram; }
