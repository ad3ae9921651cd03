"""Allocation traces in the malloc-lab format, and a builder that records one.

A trace file has four header lines (suggested heap size, number of ids, number
of operations, weight) followed by one operation per line: ``a id size``
(allocate), ``r id size`` (reallocate), ``f id`` (free).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kos import atomic
from kos.memory import constants


@dataclass
class Trace:
    """Records operations while tracking the live payload and its peak."""

    name: str
    realistic: bool
    description: str
    ops: list[tuple[str, int, int]] = field(default_factory=list)
    live: dict[int, int] = field(default_factory=dict)
    next_id: int = 0
    live_bytes: int = 0
    peak_bytes: int = 0

    def alloc(self, size: int) -> int:
        size = max(1, int(size))
        i = self.next_id
        self.next_id += 1
        self.ops.append(("a", i, size))
        self.live[i] = size
        self._grow(size)
        return i

    def free(self, i: int) -> None:
        self.ops.append(("f", i, 0))
        self.live_bytes -= self.live.pop(i)

    def realloc(self, i: int, size: int) -> None:
        size = max(1, int(size))
        self.ops.append(("r", i, size))
        self.live_bytes -= self.live[i]
        self.live[i] = size
        self._grow(size)

    def free_all(self) -> None:
        for i in list(self.live):
            self.free(i)

    def _grow(self, size: int) -> None:
        self.live_bytes += size
        self.peak_bytes = max(self.peak_bytes, self.live_bytes)

    def write(self, path: Path) -> None:
        lines = [str(constants.HEAP_SIZE), str(self.next_id), str(len(self.ops)), "1"]
        for op, i, size in self.ops:
            lines.append(f"f {i}" if op == "f" else f"{op} {i} {size}")
        # Whole or not at all: a reader in another process never sees half a trace.
        atomic.write_bytes(path, ("\n".join(lines) + "\n").encode())


def read_ops(path: Path) -> list[tuple[str, int, int]]:
    """The operations of a trace file (the header is skipped)."""
    ops = []
    for line in path.read_text().splitlines()[4:]:
        parts = line.split()
        if parts:
            ops.append((parts[0], int(parts[1]), int(parts[2]) if len(parts) > 2 else 0))
    return ops
