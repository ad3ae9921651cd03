/* gdt.c — flat 4 GiB code and data segments for ring 0.
 *
 * The multiboot loader's GDT may live anywhere (even in memory we are about
 * to reuse), so the kernel installs its own before anything else.
 */
#include <stdint.h>
#include "gdt.h"

struct gdt_entry {
    uint16_t limit_low;
    uint16_t base_low;
    uint8_t base_mid;
    uint8_t access;
    uint8_t gran;      /* flags (high nibble) and limit bits 16..19 */
    uint8_t base_high;
} __attribute__((packed));

struct gdt_ptr {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

_Static_assert(sizeof(struct gdt_entry) == 8, "GDT entries are 8 bytes");

#define ACC_PRESENT 0x80
#define ACC_CODE    0x1A   /* code, readable, non-system */
#define ACC_DATA    0x12   /* data, writable, non-system */
#define GRAN_4K_32  0xCF   /* 4 KiB granularity, 32-bit, limit 0xF.... */

static struct gdt_entry gdt[3];
static struct gdt_ptr gdtr;

void gdt_load(const struct gdt_ptr *p, uint16_t code_sel, uint16_t data_sel);

static void gdt_set(int i, uint8_t access)
{
    gdt[i].limit_low = 0xFFFF;
    gdt[i].base_low = 0;
    gdt[i].base_mid = 0;
    gdt[i].access = access;
    gdt[i].gran = GRAN_4K_32;
    gdt[i].base_high = 0;
}

void gdt_init(void)
{
    gdt_set(GDT_KERNEL_CODE >> 3, ACC_PRESENT | ACC_CODE);
    gdt_set(GDT_KERNEL_DATA >> 3, ACC_PRESENT | ACC_DATA);
    gdtr.limit = sizeof(gdt) - 1;
    gdtr.base = (uint32_t)gdt;
    gdt_load(&gdtr, GDT_KERNEL_CODE, GDT_KERNEL_DATA);
}
