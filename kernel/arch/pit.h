/* pit.h — the 8253/8254 programmable interval timer, channel 0. */
#ifndef KOS_PIT_H
#define KOS_PIT_H

#include <stdint.h>

#define PIT_HZ 100

void pit_init(unsigned hz);

/* Call fn on every tick (the scheduler's clock). */
void pit_set_tick_hook(void (*fn)(void));

/* Timer ticks since pit_init. */
uint32_t pit_ticks(void);

#endif
