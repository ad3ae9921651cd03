/* pit.c — PIT channel 0 as the system tick (PIT_HZ interrupts a second). */
#include <stdint.h>
#include "pit.h"
#include "idt.h"
#include "io.h"

#define PIT_CH0     0x40
#define PIT_CMD     0x43
#define PIT_BASE_HZ 1193182u
#define PIT_MODE3_LOHI_CH0 0x36   /* channel 0, lobyte/hibyte, square wave */

static volatile uint32_t ticks;
static void (*tick_hook)(void);

void pit_set_tick_hook(void (*fn)(void))
{
    tick_hook = fn;
}

static void pit_tick(struct regs *r)
{
    (void)r;
    ticks++;
    if (tick_hook)
        tick_hook();
}

void pit_init(unsigned hz)
{
    uint32_t div = (PIT_BASE_HZ + hz / 2) / hz;
    outb(PIT_CMD, PIT_MODE3_LOHI_CH0);
    outb(PIT_CH0, div & 0xFF);
    outb(PIT_CH0, (div >> 8) & 0xFF);
    irq_install(IRQ_TIMER, pit_tick);
}

uint32_t pit_ticks(void)
{
    return ticks;
}
