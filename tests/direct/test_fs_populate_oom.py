"""A directory of the initrd whose population runs out of memory halfway:
the entries taken in so far stay, and the next lookup takes in the rest
instead of failing on the first name it already has. The kernel's
kcalloc is made to fail from the emulator (a code hook on its entry returns
NULL to the Nth inode that fill_entry asks for), so the kernel's own error
path runs."""

from __future__ import annotations

import tarfile

import pytest
from fs_helpers import boot_with_initrd
from unicorn import unicorn_const as uc_const
from unicorn import x86_const as x86

from kos import paths
from kos.fs import VirtualFileSystem
from kos.memory.kacchi import memory_check

pytestmark = pytest.mark.unicorn


def bin_names() -> list[str]:
    with tarfile.open(paths.INITRD) as tar:
        return [m.name.split("/", 1)[1] for m in tar.getmembers() if m.name.startswith("bin/")]


@pytest.mark.parametrize("nth", [2, 5])
def test_a_population_cut_short_is_finished_by_the_next_lookup(nth: int):
    k = boot_with_initrd()
    calls, armed = 0, False

    def on_kcalloc(uc: object, address: int, size: int, _: object) -> None:
        nonlocal calls
        if not armed:
            return
        esp = k.uc.reg_read(x86.UC_X86_REG_ESP)
        # inode_alloc, inlined or not, for fill_entry
        if k.image.function_at(k.read_u32(esp)).split("+")[0] not in ("fill_entry", "inode_alloc"):
            return
        calls += 1
        if calls == nth:                      # NULL, as an exhausted heap gives
            k.uc.reg_write(x86.UC_X86_REG_EAX, 0)
            k.uc.reg_write(x86.UC_X86_REG_ESP, esp + 4)
            k.uc.reg_write(x86.UC_X86_REG_EIP, k.read_u32(esp))

    addr = k.symbol("kcalloc")
    k.uc.hook_add(uc_const.UC_HOOK_CODE, on_kcalloc, begin=addr, end=addr)
    try:
        want = bin_names()
        with VirtualFileSystem(kernel=k) as v:
            assert "bin" in v.listdir("/")
            armed = True
            # Each getdents64 populates again: the first fails after nth - 1
            # entries, the second finishes the directory.
            assert v.listdir("/bin") == want
            assert calls > nth
            fd = v.open("/bin/new", "w")
            assert v.write(fd, b"made") == 4
            v.close(fd)
            assert v.listdir("/bin") == [*want, "new"]
        assert memory_check(kernel=k) == 0
    finally:
        k.close()
