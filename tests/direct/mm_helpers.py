"""Shared by the address-space direct-call tests: a struct mm's fields,
its page directories and its VMAs, read through the kernel image's layout."""

from __future__ import annotations

from kos.kernel import abi
from kos.machine.unicorn.kernel import UnicornKernel


def mm_field(k: UnicornKernel, mm: int, name: str) -> int:
    return k.read_u32(mm + abi(k).struct("mm").offsetof(name))


def directories(k: UnicornKernel, mm: int) -> list[int]:
    """The three user GiBs' directory pointers (0: none made yet)."""
    at = mm + abi(k).struct("mm").offsetof("pd")
    return [k.read_u32(at + 4 * i) for i in range(3)]


def vma_spans(k: UnicornKernel, mm: int) -> list[tuple[int, int, int, int]]:
    """(start, end, prot, flags) of every VMA of mm, in order."""
    lay = abi(k).struct("vma")
    at, n = mm_field(k, mm, "vmas"), mm_field(k, mm, "nr_vmas")
    out = []
    for i in range(n):
        v = at + i * lay.size
        fields = [int.from_bytes(k.read(v + lay.offsetof(f), lay.fields[f].size), "little")
                  for f in ("start", "end", "prot", "flags")]
        out.append((fields[0], fields[1], fields[2], fields[3]))
    return out
