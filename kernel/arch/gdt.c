/* gdt.c — flat 4 GiB code and data segments for ring 0 and ring 3, and
 * the one TSS, whose only use is esp0/ss0: where the CPU puts the frame of
 * an interrupt or system call that arrives in ring 3 (no hardware task
 * switching; the scheduler rewrites esp0 on every switch).
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
#define ACC_DPL3    0x60
#define ACC_TSS     0x89   /* present, 32-bit TSS (available) */
#define GRAN_4K_32  0xCF   /* 4 KiB granularity, 32-bit, limit 0xF.... */

/* The 32-bit TSS (Intel SDM vol. 3, 8.2.1); only esp0, ss0 and the I/O
 * map base (past the end: no I/O bitmap, so ring 3 has no port access). */
struct tss {
    uint32_t prev;
    uint32_t esp0, ss0, esp1, ss1, esp2, ss2;
    uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap_base;
} __attribute__((packed));

_Static_assert(sizeof(struct tss) == 104, "a 32-bit TSS is 104 bytes");

static struct gdt_entry gdt[6];
static struct tss tss;
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

static void gdt_set_tss(int i)
{
    uint32_t base = (uint32_t)&tss, limit = sizeof(tss) - 1;
    gdt[i].limit_low = limit & 0xFFFF;
    gdt[i].base_low = base & 0xFFFF;
    gdt[i].base_mid = (base >> 16) & 0xFF;
    gdt[i].access = ACC_TSS;
    gdt[i].gran = 0;                     /* byte granularity */
    gdt[i].base_high = base >> 24;
}

void gdt_init(void)
{
    gdt_set(GDT_KERNEL_CODE >> 3, ACC_PRESENT | ACC_CODE);
    gdt_set(GDT_KERNEL_DATA >> 3, ACC_PRESENT | ACC_DATA);
    gdt_set(GDT_USER_CODE >> 3, ACC_PRESENT | ACC_DPL3 | ACC_CODE);
    gdt_set(GDT_USER_DATA >> 3, ACC_PRESENT | ACC_DPL3 | ACC_DATA);
    tss.ss0 = GDT_KERNEL_DATA;
    tss.iomap_base = sizeof(tss);
    gdt_set_tss(GDT_TSS >> 3);
    gdtr.limit = sizeof(gdt) - 1;
    gdtr.base = (uint32_t)gdt;
    gdt_load(&gdtr, GDT_KERNEL_CODE, GDT_KERNEL_DATA);
    __asm__ volatile("ltr %w0" : : "r"(GDT_TSS));
}

void gdt_set_kernel_stack(uint32_t esp0)
{
    tss.esp0 = esp0;
}
