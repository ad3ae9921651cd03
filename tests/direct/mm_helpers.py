"""Shared by the address-space direct-call tests: a struct mm's fields and
its page directories, read through the kernel image's layout."""

from __future__ import annotations

from kos.kernel import abi
from kos.machine.unicorn.kernel import UnicornKernel


def mm_field(k: UnicornKernel, mm: int, name: str) -> int:
    return k.read_u32(mm + abi(k).struct("mm").offsetof(name))


def directories(k: UnicornKernel, mm: int) -> list[int]:
    """The three user GiBs' directory pointers (0: none made yet)."""
    at = mm + abi(k).struct("mm").offsetof("pd")
    return [k.read_u32(at + 4 * i) for i in range(3)]
