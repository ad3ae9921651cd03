"""The initrd's index when the heap cannot hold it: the boot refuses the
archive with a message and goes on without it, having freed every block
the index took, and the shell works without files. The kernel's krealloc
is made to fail from the emulator (failing.py) at each growth of the
index in turn, and the index's dedupe kcalloc at the end."""

from __future__ import annotations

import re

import pytest
from failing import FailingCalls

from kos import paths
from kos.machine.unicorn.kernel import UnicornKernel, boot
from kos.memory.kacchi import memory_check, memory_stats

pytestmark = pytest.mark.unicorn


# The allocations of the index's build: its arrays' growth, then the
# table that keeps one entry per path.
CALLERS = {"krealloc": ("initrd_scan", "index_add", "index_put"), "kcalloc": ("initrd_scan", "index_dedupe")}


def boot_failing_index(fn: str, nth: int) -> tuple[UnicornKernel, FailingCalls]:
    """Boot with the initrd, fn returning NULL to the index build's nth
    call of it: the session, and the failure with its count of calls."""
    k = UnicornKernel(paths.KERNEL_ELF, "64M", modules=[paths.INITRD.read_bytes()])
    fail = FailingCalls(k, fn, CALLERS[fn], nth)
    try:
        k.boot()
    except BaseException:
        k.close()
        raise
    return k, fail


@pytest.fixture(scope="module")
def blocks_without_initrd() -> int:
    """The heap's live blocks after a boot with no initrd at all."""
    plain = boot(paths.KERNEL_ELF, "64M")
    try:
        return memory_stats(kernel=plain)["num_allocations"]
    finally:
        plain.close()


@pytest.mark.parametrize(("fn", "nth"), [("krealloc", 1), ("krealloc", 2), ("krealloc", 3), ("kcalloc", 1)])
def test_an_index_the_heap_cannot_hold_is_refused_and_freed(fn: str, nth: int, blocks_without_initrd: int):
    k, fail = boot_failing_index(fn, nth)
    try:
        log = k.drain_serial()
        assert fail.calls >= nth
        m = re.search(r"initrd: refused: out of memory for the index of its entries \((\d+) so far\); "
                      r"booting without it", log)
        assert m, log
        assert "files)" not in log                      # no archive line: it was not taken
        assert memory_stats(kernel=k)["num_allocations"] == blocks_without_initrd
        assert k.call("initrd_present") == 0
        out = k.console.run("run /bin/hello")
        assert "ENOENT" in out, out
        assert memory_check(kernel=k) == 0
    finally:
        k.close()
