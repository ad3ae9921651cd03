/* compiler.h — attributes for the few functions whose instruction count is
 * a budget (the buddy and slab fast paths, tests/direct/test_bench_mm.py).
 */
#ifndef KOS_COMPILER_H
#define KOS_COMPILER_H

/*
 * HOT: no frame pointer, and no padding before jump targets.
 *
 * The kernel is built with -fno-omit-frame-pointer; without it a function
 * saves push/mov/pop of ebp. It leaves ebp alone, so a walk of the
 * frame-pointer chain from a function it calls skips its frame and goes on
 * correctly (nothing in the kernel walks the chain today).
 *
 * GCC aligns jump targets with multi-byte nops, and code that falls through
 * to such a target executes them: in an unrolled merge, two per order.
 *
 * A file using HOT also starts, before its includes, with
 *     #pragma GCC target("tune=generic")
 * because -march=i686 tunes for the Pentium Pro as well, whose prologues
 * save registers with a sub and movs instead of pushes (two instructions
 * more per call). It has to be a pragma over the whole file: GCC does not
 * inline a function into one with other target options, and the headers'
 * inline functions (list_add, irq_save) must be inlined.
 */
#define HOT __attribute__((optimize("omit-frame-pointer", "align-jumps=1", "align-loops=1", \
                                    "align-labels=1")))

#endif
