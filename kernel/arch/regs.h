/* regs.h — the register frame boot/stubs.S builds for every interrupt. */
#ifndef KOS_REGS_H
#define KOS_REGS_H

#include <stdint.h>

/* In push order reversed: gs is at the lowest address. esp_dummy is pusha's
 * copy of ESP (meaningless); the CPU pushes useresp/ss only on a privilege
 * change, so they are valid only for faults from ring 3. */
struct regs {
    uint32_t gs, fs, es, ds;
    uint32_t edi, esi, ebp, esp_dummy, ebx, edx, ecx, eax;
    uint32_t vector, err_code;
    uint32_t eip, cs, eflags;
    uint32_t useresp, ss;
};

_Static_assert(sizeof(struct regs) == 19 * 4, "struct regs must match stubs.S");

#endif
