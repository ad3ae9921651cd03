"""The kacchiOS memory API's statistics read from a live kernel: the one
Python copy of the layouts of memory_stats_t and struct memory_counters
(kernel/mm/memory.h), both all-uint32_t in field order."""

from __future__ import annotations

import struct
from typing import Any

STATS_FIELDS = ("total_heap", "used_heap", "free_heap", "total_stacks", "num_allocations", "num_stacks")
COUNTER_FIELDS = ("peak_heap", "allocs", "frees", "failed_allocs", "double_frees", "invalid_frees",
                  "corrupt_blocks", "bad_sizes", "stack_errors", "defragment_runs", "largest_free",
                  "free_blocks", "fragmentation_pct", "heap_extent")


def _read(k: Any, fn: str, fields: tuple[str, ...]) -> dict[str, int]:
    """Call fn(out) with out in the kernel's scratch area; the fields it filled."""
    layout = struct.Struct(f"<{len(fields)}I")
    k.call(fn, k.scratch)
    return dict(zip(fields, layout.unpack(k.read(k.scratch, layout.size)), strict=True))


def memory_stats(k: Any) -> dict[str, int]:
    """memory_get_stats() of kernel k."""
    return _read(k, "memory_get_stats", STATS_FIELDS)


def memory_counters(k: Any) -> dict[str, int]:
    """memory_get_counters() of kernel k."""
    return _read(k, "memory_get_counters", COUNTER_FIELDS)
