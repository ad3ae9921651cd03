"""The kacchiOS memory manager API (kernel/mm/memory.h) of a live kernel:
the heap, process stacks and their statistics, one Python function per C
function. Each runs the kernel function of the same name through a direct
call and returns what it returns (an address, 0 for NULL, or a count);
memory_stats and memory_counters return the structure the kernel filled,
by field, in the layout the image's DWARF gives. Every function takes
kernel=; the default is kos.kernel.default_kernel().

The kernel's arguments are 32-bit words, and a Python int is not cut down
to one: a size that no size_t holds (negative, or 2^32 and above) is a
request no heap can meet, answered with 0 as the kernel answers one it
cannot meet, without calling it (kmalloc(2**32 + 16) would otherwise be
kmalloc(16)); a pointer or pid that does not fit 32 bits names no block
or process and raises ValueError, as any argument that is no int raises
TypeError, before the kernel is called.
"""

from __future__ import annotations

from kos.kernel import Kernel, call, call_out, require_int, resolve, s32, u32

__all__ = [
    "kcalloc", "kfree", "kfree_checked", "kmalloc", "kmalloc_aligned", "krealloc", "memory_check",
    "memory_counters", "memory_defragment", "memory_stats", "stack_alloc", "stack_free",
    "stack_get_base", "stack_get_top",
]


def _sizes(**values: object) -> bool:
    """Does every size fit a size_t? (TypeError for any that is no int,
    even after one that does not fit.)"""
    ints = [require_int(name, v) for name, v in values.items()]
    return all(0 <= v < 1 << 32 for v in ints)


def _word(name: str, value: object) -> int:
    v = require_int(name, value)
    if not 0 <= v < 1 << 32:
        raise ValueError(f"{name} must fit 32 bits, not {v:#x}")
    return v


def kmalloc(size: int, *, kernel: Kernel | None = None) -> int:
    """size bytes, 8-byte aligned: the address, or 0."""
    if not _sizes(size=size):
        return 0
    return u32(call(resolve(kernel), "kmalloc", size))


def kmalloc_aligned(size: int, align: int, *, kernel: Kernel | None = None) -> int:
    if not _sizes(size=size, align=align):
        return 0
    return u32(call(resolve(kernel), "kmalloc_aligned", size, align))


def kcalloc(num: int, size: int, *, kernel: Kernel | None = None) -> int:
    """num * size zeroed bytes, or 0 (an overflowing product is reported)."""
    if not _sizes(num=num, size=size):
        return 0
    return u32(call(resolve(kernel), "kcalloc", num, size))


def krealloc(ptr: int, size: int, *, kernel: Kernel | None = None) -> int:
    """The block at ptr resized to size bytes: the new address, or 0 (ptr
    then stays valid, unless size is 0, which frees it)."""
    ptr = _word("ptr", ptr)
    if not _sizes(size=size):
        return 0
    return u32(call(resolve(kernel), "krealloc", ptr, size))


def kfree(ptr: int, *, kernel: Kernel | None = None) -> None:
    """Free a block; a double or invalid free is reported by the kernel and ignored."""
    call(resolve(kernel), "kfree", _word("ptr", ptr))


def kfree_checked(ptr: int, *, kernel: Kernel | None = None) -> int:
    """kfree that says how it went: 0, or the heap's negative refusal code."""
    return s32(call(resolve(kernel), "kfree_checked", _word("ptr", ptr)))


def stack_alloc(pid: int, *, kernel: Kernel | None = None) -> int:
    """A stack for pid: its top (the initial stack pointer), or 0."""
    return u32(call(resolve(kernel), "stack_alloc", _word("pid", pid)))


def stack_free(pid: int, *, kernel: Kernel | None = None) -> None:
    call(resolve(kernel), "stack_free", _word("pid", pid))


def stack_get_base(pid: int, *, kernel: Kernel | None = None) -> int:
    """The lowest byte of pid's stack, or 0."""
    return u32(call(resolve(kernel), "stack_get_base", _word("pid", pid)))


def stack_get_top(pid: int, *, kernel: Kernel | None = None) -> int:
    """One past the highest byte of pid's stack, or 0."""
    return u32(call(resolve(kernel), "stack_get_top", _word("pid", pid)))


def memory_defragment(*, kernel: Kernel | None = None) -> int:
    """The bytes memory_defragment() made available (it prints them too)."""
    return u32(call(resolve(kernel), "memory_defragment"))


def memory_check(*, kernel: Kernel | None = None) -> int:
    """Violations of the heap's invariants (0 when all is well; each is printed)."""
    return u32(call(resolve(kernel), "memory_check"))


def memory_stats(*, kernel: Kernel | None = None) -> dict[str, int]:
    """memory_get_stats(): the memory_stats_t fields by name."""
    _, stats = call_out(resolve(kernel), "memory_get_stats", "memory_stats_t")
    return _ints(stats)


def memory_counters(*, kernel: Kernel | None = None) -> dict[str, int]:
    """memory_get_counters(): the struct memory_counters fields by name."""
    _, counters = call_out(resolve(kernel), "memory_get_counters", "memory_counters")
    return _ints(counters)


def _ints(fields: dict[str, object]) -> dict[str, int]:
    out = {}
    for name, value in fields.items():
        if not isinstance(value, int):
            raise TypeError(f"field {name} is not a number: {value!r}")
        out[name] = value
    return out
