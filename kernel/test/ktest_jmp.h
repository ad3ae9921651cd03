/* ktest_jmp.h — a setjmp/longjmp pair for the test runner (jump.S). */
#ifndef KOS_KTEST_JMP_H
#define KOS_KTEST_JMP_H

#include <stdint.h>

struct ktest_jmp {
    uint32_t ebx, esi, edi, ebp, esp, eip, eflags;
};

_Static_assert(sizeof(struct ktest_jmp) == 7 * 4, "jump.S stores seven words");

/* Save the caller's registers in jb; returns 0, and returns again with
 * val when ktest_longjmp(jb, val) is called later. */
__attribute__((returns_twice)) int ktest_setjmp(struct ktest_jmp *jb);

/* Resume at jb's ktest_setjmp, which returns val (never 0). The function
 * that called ktest_setjmp must still be running. */
__attribute__((noreturn)) void ktest_longjmp(struct ktest_jmp *jb, int val);

#endif
