"""A directory of the initrd whose population runs out of memory halfway:
the call that met it says so (ENOSPC, not "no such file" or a listing cut
short), the entries taken in so far stay, and the next lookup takes in the
rest instead of failing on the first name it already has. The kernel's
kcalloc is made to fail from the emulator (a code hook on its entry returns
NULL to the Nth inode that fill_entry asks for), so the kernel's own error
path runs."""

from __future__ import annotations

import errno
import tarfile
from collections.abc import Iterator

import pytest
from failing import FailingCalls
from fs_helpers import boot_with_initrd

from kos import paths
from kos.fs import VirtualFileSystem
from kos.machine.unicorn.kernel import UnicornKernel
from kos.memory.kacchi import memory_check

pytestmark = pytest.mark.unicorn


def bin_names() -> list[str]:
    with tarfile.open(paths.INITRD) as tar:
        return [m.name.split("/", 1)[1] for m in tar.getmembers() if m.name.startswith("bin/")]


def failing_inodes(k: UnicornKernel, nth: int) -> FailingCalls:
    """Once armed, kcalloc returns NULL to fill_entry's nth inode
    (inode_alloc's, inlined or not)."""
    return FailingCalls(k, "kcalloc", ("fill_entry", "inode_alloc"), nth, armed=False)


@pytest.fixture
def k() -> Iterator[UnicornKernel]:
    k = boot_with_initrd()
    try:
        yield k
        assert memory_check(kernel=k) == 0
    finally:
        k.close()


@pytest.mark.parametrize("nth", [2, 5])
def test_a_listing_cut_short_is_refused_and_the_next_finishes_it(k: UnicornKernel, nth: int):
    fail = failing_inodes(k, nth)
    want = bin_names()
    with VirtualFileSystem(kernel=k) as v:
        assert "bin" in v.listdir("/")
        fail.armed = True
        with pytest.raises(OSError) as refused:
            v.listdir("/bin")
        assert refused.value.errno == errno.ENOSPC and fail.calls == nth
        assert v.listdir("/bin") == want
        fd = v.open("/bin/new", "w")
        assert v.write(fd, b"made") == 4
        v.close(fd)
        assert v.listdir("/bin") == [*want, "new"]


def test_a_path_through_a_directory_cut_short_is_enospc_not_enoent(k: UnicornKernel):
    fail = failing_inodes(k, 2)
    want = bin_names()
    with VirtualFileSystem(kernel=k) as v:
        assert "bin" in v.listdir("/")
        fail.armed = True
        with pytest.raises(OSError) as refused:
            v.open(f"/bin/{want[-1]}")
        assert refused.value.errno == errno.ENOSPC
        v.close(v.open(f"/bin/{want[-1]}"))
