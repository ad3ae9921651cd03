"""A live kernel for direct-call tests of the memory API: booted once per
test module under the in-process unicorn emulator (kos.kernel.boot_kernel).
Skips when this tree has no unicorn direct-call machine yet."""

from __future__ import annotations

from pathlib import Path

import pytest

import kos.kernel
from kos.kernel import Kernel


def boot_live(elf: Path, memory: str = "64M") -> Kernel:
    try:
        return kos.kernel.boot_kernel(memory, elf)
    except ImportError as e:
        pytest.skip(f"direct calls need the unicorn machine (kos.machine.unicorn): {e}")


def stop_live(live: Kernel) -> None:
    for name in ("stop", "close"):
        fn = getattr(live, name, None)
        if callable(fn):
            fn()
            return
