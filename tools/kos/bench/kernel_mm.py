"""Buddy and slab benchmark: guest instructions per allocation and per free,
counted under unicorn on the real kernel image (direct calls, no timing).

For every order the buddy allocator hands out a run of blocks and takes
them back (in allocation order); then, in a zone drained of small blocks,
one allocation and free for every number of splits and merges (0 to
MAX_ORDER), and order-0 calls with a short and a long free list. The slab
allocator fills and empties a cache of 64-byte objects. The fast path is the cheapest call seen, the
mean includes splits, merges and new slabs, the worst is the dearest call.

    from kos.bench import kernel_mm
    print(kernel_mm.report(kernel_mm.measure()))
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from kos.kernel import Kernel, resolve, s32, split64, u32, with_bytes
from kos.memory.constants import GFP_KERNEL, GFP_THISZONE, MAX_ORDER, ZONE_NORMAL

BUDDY_BLOCKS = 32          # blocks allocated and freed per order (fewer if RAM is short)
FEW_FREE = 1               # blocks on the order-0 free list, then
MANY_FREE = 512            # many more: no cost may grow with them
REPEATS = 8
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
            rc, n = counter.call("buddy_free", *split64(addr), order)
            if s32(rc) != 0:
                raise RuntimeError(f"buddy_free({addr:#x}, {order}) = {s32(rc)}")
            frees.append(n)
        if allocs:
            rows += [Row(f"buddy_alloc order {order}", allocs), Row(f"buddy_free order {order}", frees)]
    return rows


class _Drained:
    """ZONE_NORMAL with every free block below MAX_ORDER taken, so that an
    allocation of order k splits exactly MAX_ORDER - k times and its free
    merges as often; everything taken is given back on exit."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.held: list[tuple[int, int]] = []

    def __enter__(self) -> _Drained:
        k = self.kernel
        for order in range(MAX_ORDER):          # smallest first: each takes from its own list
            for _ in range(u32(k.call("buddy_free_blocks", ZONE_NORMAL, order))):
                self.held.append((u32(k.call("buddy_alloc_zone", order, GFP_KERNEL | GFP_THISZONE)), order))
        return self

    def __exit__(self, *exc: object) -> None:
        for addr, order in self.held:
            self.kernel.call("buddy_free", *split64(addr), order)


def _buddy_levels(counter: InstructionCounter) -> list[Row]:
    """One allocation and its free for every number of splits and merges,
    0 to MAX_ORDER: order MAX_ORDER - n out of a whole 4 MiB block."""
    rows = []
    with _Drained(counter.kernel):
        if not u32(counter.kernel.call("buddy_free_blocks", ZONE_NORMAL, MAX_ORDER)):
            return rows
        for levels in range(MAX_ORDER + 1):
            order = MAX_ORDER - levels
            addr, split = counter.call("buddy_alloc", order)
            if not u32(addr):
                break
            rc, merge = counter.call("buddy_free", *split64(u32(addr)), order)
            if s32(rc) != 0:
                raise RuntimeError(f"buddy_free({u32(addr):#x}, {order}) = {s32(rc)}")
            rows += [Row(f"buddy_alloc {levels} splits", [split]),
                     Row(f"buddy_free {levels} merges", [merge])]
    return rows


def _buddy_list_length(counter: InstructionCounter) -> list[Row]:
    """An order-0 allocation and free (no split, no merge) with FEW_FREE and
    with MANY_FREE blocks on the order-0 free list: the free list is made
    of every other frame of a run, so no two of its blocks are buddies."""
    k = counter.kernel
    rows = []
    with _Drained(k):
        for label, blocks in (("few", FEW_FREE), ("many", MANY_FREE)):
            run = [u32(k.call("buddy_alloc", 0)) for _ in range(2 * blocks)]
            held = set(run) - {0}
            try:
                if len(held) != len(run):
                    raise RuntimeError(f"no room for {2 * blocks} frames in a drained zone")
                for addr in run[0::2]:
                    k.call("buddy_free", *split64(addr), 0)
                    held.discard(addr)
                allocs, frees = [], []
                for _ in range(REPEATS):
                    addr, n = counter.call("buddy_alloc", 0)
                    allocs.append(n)
                    rc, m = counter.call("buddy_free", *split64(u32(addr)), 0)
                    if s32(rc) != 0:
                        raise RuntimeError(f"buddy_free({u32(addr):#x}, 0) = {s32(rc)}")
                    frees.append(m)
                rows += [Row(f"buddy_alloc {label} free", allocs), Row(f"buddy_free {label} free", frees)]
            finally:
                for addr in held:                   # each merges with its free buddy
                    k.call("buddy_free", *split64(addr), 0)
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
            parts: tuple[Callable[[InstructionCounter], list[Row]], ...] = (
                _buddy, _buddy_levels, _buddy_list_length, _slab),
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
