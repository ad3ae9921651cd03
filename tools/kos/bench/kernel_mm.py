"""Buddy and slab benchmark: guest instructions per allocation and per free,
counted under unicorn on the real kernel image (direct calls, no timing).

For every order the buddy allocator hands out a run of blocks and takes
them back (in allocation order); the slab allocator fills and empties a
cache of 64-byte objects. The fast path is the cheapest call seen, the
mean includes splits, merges and new slabs, the worst is the dearest call.

    from kos.bench import kernel_mm
    print(kernel_mm.report(kernel_mm.measure()))
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from kos.kernel import Kernel, resolve, s32, u32, with_bytes
from kos.memory.constants import GFP_KERNEL, GFP_THISZONE, MAX_ORDER, ZONE_NORMAL

BUDDY_BLOCKS = 32          # blocks allocated and freed per order (fewer if RAM is short)
SLAB_OBJECTS = 256         # objects allocated and freed from the slab cache
SLAB_OBJECT_SIZE = 64


@dataclass
class Row:
    """Instruction counts of one operation."""

    name: str
    counts: list[int]

    @property
    def fast(self) -> int:
        return min(self.counts)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.counts)

    @property
    def worst(self) -> int:
        return max(self.counts)


class InstructionCounter:
    """Direct calls that also count their guest instructions: the unicorn
    kernel's call_counted (a code hook while the call runs)."""

    def __init__(self, kernel: Kernel) -> None:
        counted = getattr(kernel, "call_counted", None)
        if counted is None:
            raise TypeError("counting instructions needs a unicorn kernel (call_counted)")
        self.kernel = kernel
        self._counted: Callable[..., tuple[int, int]] = counted

    def call(self, symbol: str, *args: int) -> tuple[int, int]:
        """(EAX, instructions) of one call."""
        return self._counted(symbol, *args)


def _buddy(counter: InstructionCounter) -> list[Row]:
    rows = []
    for order in range(MAX_ORDER + 1):
        allocs, frees, blocks = [], [], []
        for _ in range(BUDDY_BLOCKS):
            addr, n = counter.call("buddy_alloc", order)
            if not u32(addr):
                break
            allocs.append(n)
            blocks.append(u32(addr))
        for addr in blocks:
            rc, n = counter.call("buddy_free", addr, order)
            if s32(rc) != 0:
                raise RuntimeError(f"buddy_free({addr:#x}, {order}) = {s32(rc)}")
            frees.append(n)
        if allocs:
            rows += [Row(f"buddy_alloc order {order}", allocs), Row(f"buddy_free order {order}", frees)]
    return rows


def _buddy_worst(counter: InstructionCounter) -> list[Row]:
    """The dearest calls there are: one frame split off a 4 MiB block (ten
    splits) and merged back (ten merges), with every smaller block taken."""
    k = counter.kernel
    held = []
    for order in range(MAX_ORDER):          # smallest first: each takes from its own list
        for _ in range(u32(k.call("buddy_free_blocks", ZONE_NORMAL, order))):
            held.append((u32(k.call("buddy_alloc_zone", order, GFP_KERNEL | GFP_THISZONE)), order))
    rows = []
    try:
        addr, split = counter.call("buddy_alloc", 0)
        if u32(addr):
            _, merge = counter.call("buddy_free", u32(addr), 0)
            rows = [Row("buddy_alloc 10 splits", [split]), Row("buddy_free 10 merges", [merge])]
    finally:
        for addr, order in held:
            k.call("buddy_free", addr, order)
    return rows


def _slab(counter: InstructionCounter) -> list[Row]:
    k = counter.kernel
    with with_bytes(k, b"bench64\0") as name:
        cid = s32(k.call("slab_create", name, SLAB_OBJECT_SIZE, 8))
    if cid <= 0:
        raise RuntimeError(f"slab_create = {cid}")
    allocs, frees, objs = [], [], []
    for _ in range(SLAB_OBJECTS):
        addr, n = counter.call("slab_alloc", cid)
        if not u32(addr):
            raise RuntimeError("slab_alloc ran out of memory")
        allocs.append(n)
        objs.append(u32(addr))
    for addr in objs:
        rc, n = counter.call("slab_free", cid, addr)
        if s32(rc) != 0:
            raise RuntimeError(f"slab_free = {s32(rc)}")
        frees.append(n)
    k.call("slab_destroy", cid)
    return [Row(f"slab_alloc {SLAB_OBJECT_SIZE} B", allocs), Row(f"slab_free {SLAB_OBJECT_SIZE} B", frees)]


def measure(kernel: Kernel | None = None,
            parts: tuple[Callable[[InstructionCounter], list[Row]], ...] = (_buddy, _buddy_worst, _slab),
            ) -> list[Row]:
    """Instruction counts of buddy and slab calls on kernel (default: the
    module's default kernel, booted under unicorn). The kernel's allocators
    are left as they were found."""
    counter = InstructionCounter(resolve(kernel))
    return [row for part in parts for row in part(counter)]


def report(rows: list[Row]) -> str:
    """The rows as a table: fast path, mean and worst instructions per call."""
    lines = [f"{'operation':<24} {'calls':>5} {'fast':>6} {'mean':>7} {'worst':>6}"]
    for r in rows:
        lines.append(f"{r.name:<24} {len(r.counts):>5} {r.fast:>6} {r.mean:>7.1f} {r.worst:>6}")
    return "\n".join(lines)


def as_dict(rows: list[Row]) -> dict[str, dict[str, float]]:
    """The rows for machine consumption: {name: {fast, mean, worst, calls}}."""
    return {r.name: {"fast": r.fast, "mean": r.mean, "worst": r.worst, "calls": len(r.counts)} for r in rows}


if __name__ == "__main__":
    print(report(measure()))
