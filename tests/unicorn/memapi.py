"""The kacchiOS memory API (kernel/mm/memory.h) as Python calls into a
booted UnicornKernel."""

from __future__ import annotations

from kos.machine.unicorn.kernel import UnicornKernel

HEAP_START = 0x200000
HEAP_END = 0x2000000
HEAP_ALIGN = 8
STACK_SIZE = 0x4000
STACK_GUARD = 0x1000
STACK_REGION_START = 0x2000000
MAX_PROCESS_STACKS = 32

STATS_FIELDS = ("total_heap", "used_heap", "free_heap", "total_stacks", "num_allocations", "num_stacks")
COUNTER_FIELDS = ("peak_heap", "allocs", "frees", "failed_allocs", "double_frees", "invalid_frees",
                  "corrupt_blocks", "bad_sizes", "stack_errors", "defragment_runs", "largest_free",
                  "free_blocks", "fragmentation_pct")


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
        self.k.call("memory_get_stats", self.k.scratch)
        return dict(zip(STATS_FIELDS, self.k.read_struct(self.k.scratch, "<6I"), strict=True))

    def counters(self) -> dict[str, int]:
        self.k.call("memory_get_counters", self.k.scratch)
        return dict(zip(COUNTER_FIELDS, self.k.read_struct(self.k.scratch, "<13I"), strict=True))
