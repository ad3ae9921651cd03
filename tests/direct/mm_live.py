"""A live kernel for direct-call tests of the memory API: booted once per
test module under the in-process unicorn emulator (kos.kernel.boot_kernel)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kos.kernel import boot_kernel
from kos.machine.unicorn import UnicornKernel


@contextmanager
def live_kernel(elf: Path, memory: str = "64M") -> Iterator[UnicornKernel]:
    k = boot_kernel(memory, elf)
    assert isinstance(k, UnicornKernel)
    try:
        yield k
    finally:
        k.close()
