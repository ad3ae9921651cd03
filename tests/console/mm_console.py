"""Helpers for the page frame, buddy and slab console tests: run a command
and both integrity checkers after it, and work out from a boot log which
frames the buddy allocator must manage."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kos.console import Console, parse_kv
from kos.memory import constants
from kos.memory.constants import HEAP_START, STACK_REGION_END
from kos.memory.constants import PAGE_SIZE as PAGE
from kos.memory.constants import ZONE_DMA_END as DMA_END
from kos.memory.constants import ZONE_NORMAL_END as NORMAL_END

ZONES = ("dma", "normal", "highmem")
ZONE_NAMES = {"dma": "DMA", "normal": "Normal", "highmem": "HighMem"}
KERNEL_START = constants.image().symbol("__kernel_start")
STRUCT_PAGE = constants.image().struct("page").size


def checked(console: Console, command: str) -> str:
    """Run command, then buddycheck and slabcheck; both must find nothing."""
    out = console.run(command)
    for check in ("buddycheck", "slabcheck"):
        res = console.run(check)
        assert f"{check}: 0 violations" in res, f"after {command!r}:\n{res}"
    return out


def checked_kv(console: Console, command: str) -> dict[str, int | str]:
    return parse_kv(checked(console, command))


def result(out: str) -> int:
    """The "result: N" of a command's output."""
    m = re.search(r"^result: (-?\d+)$", out, re.M)
    assert m, out
    return int(m.group(1))


def addr_of(out: str) -> int:
    m = re.search(r"^addr: (0x[0-9a-f]{8})$", out, re.M)
    assert m, out
    return int(m.group(1), 16)


def zone_of(addr: int) -> str:
    return "dma" if addr < DMA_END else "normal" if addr < NORMAL_END else "highmem"


def buddyinfo(console: Console) -> dict[str, list[int]]:
    """Free blocks per order for each populated zone."""
    out = console.run("buddyinfo")
    zones: dict[str, list[int]] = {}
    names = {v: k for k, v in ZONE_NAMES.items()}
    for line in out.splitlines():
        m = re.match(r"Node 0, zone\s+(\w+)((?:\s+\d+){11})\s*$", line)
        assert m, line
        zones[names[m.group(1)]] = [int(n) for n in m.group(2).split()]
    return zones


def cut(ranges: list[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    """ranges ([start, end) pairs) without [start, end)."""
    out = []
    for s, e in ranges:
        if end <= s or start >= e:
            out.append((s, e))
            continue
        if s < start:
            out.append((s, start))
        if end < e:
            out.append((end, e))
    return out


@dataclass
class BootLayout:
    """What the boot log says: RAM, the kernel image, mem_map, and the frames
    the buddy allocator must therefore manage (computed here, independently)."""

    available: list[tuple[int, int]]            # [start, end) in bytes
    kernel: tuple[int, int]
    mem_map: tuple[int, int]
    managed: list[tuple[int, int]] = field(default_factory=list)   # [start, end) in pfns

    @classmethod
    def parse(cls, boot: str) -> BootLayout:
        regions = re.findall(r"\[mem 0x([0-9a-f]{16})-0x([0-9a-f]{16})\] (\w+)", boot)
        available = [(int(a, 16), int(b, 16) + 1) for a, b, kind in regions if kind == "available"]
        initrd = re.search(r"initrd: (0x[0-9a-f]{8}) - (0x[0-9a-f]{8})", boot)
        if initrd:
            # The kernel reserves the module's frames after printing the map.
            available = cut(available, int(initrd.group(1), 16) & ~(PAGE - 1), int(initrd.group(2), 16))
        k = re.search(r"KOS i386 kernel (0x[0-9a-f]{8})-(0x[0-9a-f]{8})", boot)
        mm = re.search(r"buddy: mem_map (0x[0-9a-f]{8})-(0x[0-9a-f]{8})", boot)
        assert k and mm, boot
        layout = cls(available, (int(k.group(1), 16), int(k.group(2), 16)),
                     (int(mm.group(1), 16), int(mm.group(2), 16)))
        layout.managed = layout.frames(with_mem_map=True)
        return layout

    def frames(self, with_mem_map: bool) -> list[tuple[int, int]]:
        """Whole frames of available RAM minus page 0, the kernel image, the
        heap and stack regions and (optionally) mem_map."""
        ranges = [(-(-a // PAGE), b // PAGE) for a, b in self.available]
        cuts = [(0, 1), (self.kernel[0] // PAGE, -(-self.kernel[1] // PAGE)),
                (HEAP_START // PAGE, STACK_REGION_END // PAGE)]
        if with_mem_map:
            cuts.append((self.mem_map[0] // PAGE, self.mem_map[1] // PAGE))
        for cs, ce in cuts:
            ranges = cut(ranges, cs, ce)
        return sorted(r for r in ranges if r[0] < r[1])

    def zone_frames(self) -> dict[str, int]:
        bounds = {"dma": (0, DMA_END // PAGE), "normal": (DMA_END // PAGE, NORMAL_END // PAGE),
                  "highmem": (NORMAL_END // PAGE, 1 << 24)}          # PAE: 36-bit physical addresses
        return {z: sum(max(0, min(e, hi) - max(s, lo)) for s, e in self.managed)
                for z, (lo, hi) in bounds.items()}

    @property
    def total_usable(self) -> int:
        return sum(b - a for a, b in self.available)

