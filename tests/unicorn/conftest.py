"""Fixtures for the direct-call tests: the real i386 kernel booted inside
this process on unicorn, to its shell prompt, once per module; each test
starts from that state again (CPU registers and RAM from the kernel image
to the end of the stack region are restored)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kos.machine.unicorn.kernel import Snapshot, UnicornKernel
from kos.memory.constants import STACK_REGION_END
from kos.target import abi


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.unicorn)


@pytest.fixture(scope="module")
def booted(kernel: Path) -> Iterator[tuple[UnicornKernel, Snapshot]]:
    k = UnicornKernel(kernel).boot()
    k.drain_serial()
    snap = k.snapshot([(abi.load(kernel).symbol("__kernel_start"), STACK_REGION_END)])
    yield k, snap
    k.close()


@pytest.fixture
def guest(booted: tuple[UnicornKernel, Snapshot]) -> UnicornKernel:
    """The booted kernel, as it was at its first prompt."""
    k, snap = booted
    k.restore(snap)
    return k
