"""Fixtures of the direct-call tests beyond the suite's own (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fs_helpers import boot_with_initrd

from kos.machine.unicorn.kernel import UnicornKernel


@pytest.fixture(scope="module")
def fsk() -> Iterator[UnicornKernel]:
    """The kernel booted with the initrd, once per module."""
    k = boot_with_initrd()
    yield k
    k.close()
