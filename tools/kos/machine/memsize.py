"""Guest RAM sizes as the tasks and every machine take them ("64M", "1G",
"65536K", "512" = MiB): read once, so a size one emulator would refuse
(or, as QEMU does with -m 0, quietly replace by its default) is refused
by all of them before anything is built or booted."""

from __future__ import annotations

import re

KIB = 1 << 10
MIB = 1 << 20
GIB = 1 << 30
# Below this the kernel has no room for its heap and stacks.
MIN_SIZE = 2 * MIB


def parse_size(text: str) -> int:
    """The size in bytes; ValueError saying what is wrong and what a good one looks like."""
    m = re.fullmatch(r"\s*(\d+)\s*([KkMmGgTt]?)[Bb]?\s*", text)
    if not m:
        raise ValueError(f"bad memory size {text!r} (examples: 64M, 1G)")
    unit = {"": MIB, "k": KIB, "m": MIB, "g": GIB, "t": 1 << 40}[m.group(2).lower()]
    size = int(m.group(1)) * unit
    if size < MIN_SIZE:
        raise ValueError(f"memory size {text!r} is too small (at least 2M)")
    return size


def size_option(text: str) -> str:
    """text as QEMU's -m spells it ("64MB" -> "64M", "512" -> "512M"), after parse_size's checks."""
    size = parse_size(text)
    return f"{size // MIB}M" if size % MIB == 0 else f"{size // KIB}K"
