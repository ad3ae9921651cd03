"""The initrd's index when the heap cannot hold it: the boot refuses the
archive with a message and goes on without it, having freed every block
the index took, and the shell works without files. The kernel's krealloc
is made to fail from the emulator (a code hook on its entry returns NULL
to the index's Nth growth), so the kernel's own error path runs, unchanged."""

from __future__ import annotations

import re

import pytest
from unicorn import unicorn_const as uc_const
from unicorn import x86_const as x86

from kos import paths
from kos.machine.unicorn.kernel import UnicornKernel, boot
from kos.memory.kacchi import memory_check, memory_stats

pytestmark = pytest.mark.unicorn


def boot_failing_index_growth(nth: int) -> tuple[UnicornKernel, int]:
    """Boot with the initrd, krealloc returning NULL to initrd_scan's nth
    call of it: the session and how many calls it saw."""
    k = UnicornKernel(paths.KERNEL_ELF, "64M", modules=[paths.INITRD.read_bytes()])
    calls = 0

    def on_krealloc(uc: object, address: int, size: int, _: object) -> None:
        nonlocal calls
        esp = k.uc.reg_read(x86.UC_X86_REG_ESP)
        caller = k.image.function_at(k.read_u32(esp)).split("+")[0]
        if caller not in ("initrd_scan", "index_add"):
            return
        calls += 1
        if calls == nth:                      # return NULL, as an exhausted heap does
            k.uc.reg_write(x86.UC_X86_REG_EAX, 0)
            k.uc.reg_write(x86.UC_X86_REG_ESP, esp + 4)
            k.uc.reg_write(x86.UC_X86_REG_EIP, k.read_u32(esp))

    addr = k.symbol("krealloc")
    k.uc.hook_add(uc_const.UC_HOOK_CODE, on_krealloc, begin=addr, end=addr)
    try:
        k.boot()
    except BaseException:
        k.close()
        raise
    return k, calls


@pytest.fixture(scope="module")
def blocks_without_initrd() -> int:
    """The heap's live blocks after a boot with no initrd at all."""
    plain = boot(paths.KERNEL_ELF, "64M")
    try:
        return memory_stats(kernel=plain)["num_allocations"]
    finally:
        plain.close()


@pytest.mark.parametrize("nth", [1, 2, 3])
def test_an_index_the_heap_cannot_hold_is_refused_and_freed(nth: int, blocks_without_initrd: int):
    k, calls = boot_failing_index_growth(nth)
    try:
        log = k.drain_serial()
        assert calls >= nth
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
