"""The kacchiOS memory API (kernel/mm/memory.h) as Python calls into a
booted UnicornKernel."""

from __future__ import annotations

from kos.machine.unicorn.kernel import UnicornKernel
from kos.memory.kacchi import memory_counters, memory_stats

HEAP_START = 0x200000
HEAP_END = 0x2000000
HEAP_ALIGN = 8
STACK_SIZE = 0x4000
STACK_GUARD = 0x1000
STACK_REGION_START = 0x2000000
MAX_PROCESS_STACKS = 32


class MemoryApi:
    def __init__(self, k: UnicornKernel) -> None:
        self.k = k

    def kmalloc(self, size: int) -> int:
        return self.k.call("kmalloc", size)

    def kcalloc(self, num: int, size: int) -> int:
        return self.k.call("kcalloc", num, size)

    def krealloc(self, ptr: int, size: int) -> int:
        return self.k.call("krealloc", ptr, size)

    def kfree(self, ptr: int) -> None:
        self.k.call("kfree", ptr)

    def check(self) -> int:
        return self.k.call("memory_check")

    def stats(self) -> dict[str, int]:
        return memory_stats(self.k)

    def counters(self) -> dict[str, int]:
        return memory_counters(self.k)
