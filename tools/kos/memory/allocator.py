"""KOSAllocator: malloc, calloc, realloc, free and aligned_alloc over the
kernel heap of a live KOS kernel, with per-allocator statistics and a
debug mode.

    from kos.memory.allocator import KOSAllocator
    a = KOSAllocator(debug=True)
    p = a.malloc(64)
    a.free(p)
    a.free(p)              # AllocationError: the kernel's "kfree: ...: double free" report
    a.leaks()              # live blocks and the Python line that allocated each

Each allocator counts only its own blocks. A free of a pointer it did not
return never reaches another owner's block: the kernel is asked first
whether the pointer is a live block (ksize), and only a pointer that is no
live block at all is handed to kfree, whose refusal (double free, not a
heap pointer) is the kernel's report. Without debug, refused frees return
quietly and last_error keeps the reason; with debug=True they raise
AllocationError, and an overwritten red zone found by free raises
MemoryError (the block stays allocated, as the heap leaves it).

debug=True turns on the heap's debug mode for this allocator's blocks only
(the switches are set around each of its calls, under the kernel lock):
freed memory is poisoned, a red zone follows every block and is checked
when it is freed, and the kernel records the call site; the allocator
records the Python call site beside it.

KOSAllocator.get_thread_local() is the calling thread's own allocator.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import ClassVar

from kos import kernel as kk
from kos.exceptions import AllocationError, MemoryError
from kos.kernel import Kernel, call, call_lock, require_int, s32, u32
from kos.memory import constants as C
from kos.memory.manager import LastError

__all__ = ["KOSAllocator", "Leak"]


@dataclass(frozen=True)
class Leak:
    """A live block: its address, the bytes asked for, and the Python call
    site that allocated it ("file:line in function"; "" without debug)."""

    address: int
    size: int
    site: str



def _size(name: str, value: object) -> int:
    v = require_int(name, value)
    if v < 0:
        raise ValueError(f"{name} must not be negative, not {v}")
    return v


def _site() -> str:
    """The caller of the public method that called this."""
    f = sys._getframe(2)
    return f"{f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_name}"


class KOSAllocator:
    """KOS memory allocator with debugging and tracking capabilities."""

    _local: ClassVar[threading.local] = threading.local()

    def __init__(self, debug: bool = False, *, kernel: Kernel | None = None) -> None:
        """debug: enable the heap's debug mode for this allocator's blocks,
        call-site tracking and raising on bad frees. kernel= as everywhere
        in the API (default: kos.kernel.default_kernel(), booted on first use)."""
        self.debug = bool(debug)
        self._chosen = kernel
        self._live: dict[int, Leak] = {}
        self._freed: set[int] = set()
        self._stats = dict.fromkeys(("total_allocated", "total_freed", "current_usage", "peak_usage",
                                     "allocation_count", "free_count"), 0)
        self.last_error: LastError | None = None

    @classmethod
    def get_thread_local(cls) -> KOSAllocator:
        """The calling thread's own allocator (the same object on every call
        from one thread; its statistics are its own)."""
        allocator = getattr(cls._local, "allocator", None)
        if allocator is None:
            allocator = cls._local.allocator = cls()
        return allocator

    @property
    def kernel(self) -> Kernel:
        return kk.resolve(self._chosen)

    # The kernel calls, with the heap's debug switches on for this allocator's.
    def _heap(self, fn: str, *args: int) -> tuple[int, str]:
        """EAX of fn(*args) and what the kernel printed meanwhile."""
        k = self.kernel
        with call_lock():
            mark = kk.output_mark(k)
            if not self.debug:
                return call(k, fn, *args), kk.output_since(k, mark)
            previous = u32(call(k, "memory_get_debug"))
            flags = C.image().enum("heap_debug_flag")
            call(k, "memory_set_debug", previous | sum(flags.values()))
            try:
                return call(k, fn, *args), kk.output_since(k, mark)
            finally:
                call(k, "memory_set_debug", previous)

    def _fail(self, errno: int, message: str, cls: type[MemoryError] = AllocationError) -> None:
        self.last_error = LastError(errno, C.error_name(errno), message)
        if self.debug:
            raise cls(message, errno, message)

    def _took(self, ptr: int, size: int, site: str) -> int:
        if not ptr:
            return 0
        self._live[ptr] = Leak(ptr, size, site if self.debug else "")
        self._freed.discard(ptr)
        st = self._stats
        st["total_allocated"] += size
        st["current_usage"] += size
        st["allocation_count"] += 1
        st["peak_usage"] = max(st["peak_usage"], st["current_usage"])
        return ptr

    def _gave_back(self, ptr: int) -> None:
        block = self._live.pop(ptr)
        self._freed.add(ptr)
        st = self._stats
        st["total_freed"] += block.size
        st["current_usage"] -= block.size
        st["free_count"] += 1

    def _allocate(self, size: int, site: str, fn: str, *args: int) -> int:
        if size == 0 or size >= 1 << 32:
            self.last_error = LastError(C.EINVAL if size == 0 else C.ENOMEM, C.error_name(
                C.EINVAL if size == 0 else C.ENOMEM), f"{fn}: {size} bytes: impossible size")
            return 0
        with call_lock():
            eax, said = self._heap(fn, *args)
            ptr = u32(eax)
            if not ptr:
                self.last_error = LastError(C.ENOMEM, "ENOMEM", said or f"{fn}: {size} bytes: out of memory")
            return self._took(ptr, size, site)

    # The specification's interface.
    def malloc(self, size: int) -> int:
        """Allocate size bytes (8-byte aligned): the pointer, or 0."""
        size = _size("size", size)
        return self._allocate(size, _site(), "kmalloc", size)

    def calloc(self, num: int, size: int) -> int:
        """num * size zero-initialized bytes: the pointer, or 0 (also when
        the product overflows the kernel's 32 bits)."""
        num, size = _size("num", num), _size("size", size)
        total = num * size
        if total >= 1 << 32:
            self.last_error = LastError(C.ENOMEM, "ENOMEM", f"calloc: {num} * {size} bytes overflows 32 bits")
            return 0
        return self._allocate(total, _site(), "kcalloc", num, size)

    def aligned_alloc(self, alignment: int, size: int) -> int:
        """size bytes aligned to alignment (a power of two): the pointer, or 0."""
        alignment, size = _size("alignment", alignment), _size("size", size)
        if alignment == 0 or alignment & (alignment - 1):
            raise ValueError(f"alignment must be a power of two, not {alignment}")
        if alignment >= 1 << 32:
            # Passed on, it would reach the kernel cut to 32 bits: alignment 0.
            self.last_error = LastError(C.ENOMEM, "ENOMEM", f"aligned_alloc: alignment {alignment:#x} "
                                                            "is beyond the 32-bit address space")
            return 0
        return self._allocate(size, _site(), "kmalloc_aligned", size, alignment)

    def realloc(self, ptr: int, new_size: int) -> int:
        """Resize the block at ptr to new_size, keeping its contents up to
        the smaller size: the new pointer (may differ), or 0. ptr 0 is
        malloc; new_size 0 frees ptr and returns 0. On failure ptr stays
        valid. A ptr this allocator did not return is refused (AllocationError
        with debug, else 0 and last_error)."""
        ptr, new_size = _size("ptr", ptr), _size("new_size", new_size)
        site = _site()
        if ptr == 0:
            return self._allocate(new_size, site, "kmalloc", new_size)
        with call_lock():
            if ptr not in self._live:
                self._fail(C.EINVAL, f"realloc: {ptr:#x} was not returned by this allocator")
                return 0
            if new_size == 0:
                self._free(ptr)
                return 0
            if new_size >= 1 << 32:
                self.last_error = LastError(C.ENOMEM, "ENOMEM", f"realloc: {new_size} bytes: impossible size")
                return 0
            eax, said = self._heap("krealloc", ptr, new_size)
            new = u32(eax)
            if not new:
                self.last_error = LastError(C.ENOMEM, "ENOMEM", said or "krealloc: out of memory")
                return 0
            self._gave_back(ptr)
            return self._took(new, new_size, site)

    def free(self, ptr: int) -> None:
        """Free the block at ptr (0 is ignored). A pointer this allocator
        did not return or already freed, or a block whose red zone was
        overwritten, is refused: with debug it raises (AllocationError;
        MemoryError for the red zone) carrying the kernel's report."""
        ptr = _size("ptr", ptr)
        if ptr:
            with call_lock():
                self._free(ptr)

    def _free(self, ptr: int) -> None:
        k = self.kernel
        if ptr not in self._live:
            if u32(call(k, "ksize", ptr)):
                self._fail(C.EINVAL, f"free: {ptr:#x} is a live block this allocator did not return")
                return
            _, said = self._heap("kfree_checked", ptr)
            what = "a double free" if ptr in self._freed else "not returned by this allocator"
            self._fail(C.EINVAL, said or f"free: {ptr:#x}: {what}")
            return
        err, said = self._heap("kfree_checked", ptr)
        if s32(err):
            self._fail(C.EINVAL, said or f"kfree: {ptr:#x}: refused ({s32(err)})", MemoryError)
            return
        self._gave_back(ptr)

    def get_allocation_stats(self) -> dict[str, int]:
        """This allocator's own blocks: total_allocated and total_freed
        (bytes asked for), current_usage, peak_usage (bytes),
        allocation_count, free_count."""
        with call_lock():
            return dict(self._stats)

    def leaks(self) -> list[Leak]:
        """The blocks still allocated, lowest address first, with their call sites."""
        with call_lock():
            return sorted(self._live.values(), key=lambda b: b.address)

    def owns(self, ptr: int) -> bool:
        """Is ptr a live block of this allocator?"""
        return ptr in self._live
