"""A hypothesis model of one file's bytes against the kernel: write, read and
ftruncate through a descriptor, stores and loads through a MAP_SHARED
mapping in each of two address spaces, and a MAP_PRIVATE mapping in the
second, which copies a page on its first store and sees the file's bytes
until then. Beside the descriptor the model writes through, a dup of it
shares its offset (seeks from each end and the current position, reads and
writes where it is), an O_APPEND descriptor writes at the end whatever its
offset, and an open with O_TRUNC empties the file under all of them.

The model keeps the file's pages as the page cache holds them (4 KiB each,
the last one's tail included, since a shared store past the end lands
there and stays out of the file), the size, and the private mapping's
copied pages. A touch of a page wholly beyond the end must be SIGBUS. At
the end everything is unmapped, closed and unlinked, and the free frames
must be what they were."""

from __future__ import annotations

import errno
import os

import pytest
from fs_helpers import PAGE, fault_kind, user_read, user_write
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from kos.fs import VirtualFileSystem
from kos.kernel import call, u32
from kos.machine.unicorn.kernel import Snapshot, UnicornKernel
from kos.memory import constants as c

pytestmark = pytest.mark.unicorn

MAP_PAGES = 4
MAP_LEN = MAP_PAGES * PAGE
FILE_MAX = 5 * PAGE

offsets = st.integers(0, FILE_MAX)
map_offsets = st.integers(0, MAP_LEN - 1)
chunks = st.binary(min_size=1, max_size=300)


def pages_of(size: int) -> int:
    return (size + PAGE - 1) // PAGE


class FileModel(RuleBasedStateMachine):
    def __init__(self, k: UnicornKernel, snap: Snapshot) -> None:
        super().__init__()
        k.restore(snap)
        self.k = k
        self.free0 = call(k, "get_free_pages")
        self.vfs = VirtualFileSystem(kernel=k)
        self.fd = self.vfs.open("/model", "w+")
        self.dup = self.vfs.dup(self.fd)
        self.append_fd = self.vfs.open("/model", "a+")
        self.pos = 0                               # the offset fd and dup share
        self.mm = [u32(call(k, "mm_current")), u32(call(k, "mm_create"))]
        assert self.mm[1]
        rw = c.PROT_READ | c.PROT_WRITE
        self.shared = [self.vfs.mmap(mm, 0, MAP_LEN, rw, c.MAP_SHARED, self.fd) for mm in self.mm]
        self.private = self.vfs.mmap(self.mm[1], 0, MAP_LEN, rw, c.MAP_PRIVATE, self.fd)
        self.sigbus = fault_kind(k, "FAULT_SIGBUS")
        self.pages: dict[int, bytearray] = {}
        self.size = 0
        self.copies: dict[int, bytearray] = {}

    # ---- the model -------------------------------------------------------

    def page(self, i: int) -> bytearray:
        return self.pages.setdefault(i, bytearray(PAGE))

    def zero_tail(self, pos: int) -> None:
        if pos % PAGE and pos // PAGE in self.pages:
            self.pages[pos // PAGE][pos % PAGE:] = bytes(PAGE - pos % PAGE)

    def resize(self, size: int) -> None:
        for i in [i for i in self.pages if i >= pages_of(size)]:
            del self.pages[i]
        self.zero_tail(min(size, self.size))
        self.size = size

    def file_bytes(self, off: int, n: int) -> bytes:
        out = bytearray()
        for pos in range(off, off + n):
            out.append(self.pages[pos // PAGE][pos % PAGE] if pos // PAGE in self.pages else 0)
        return bytes(out)

    def store(self, off: int, data: bytes, target: dict[int, bytearray] | None) -> None:
        for j, b in enumerate(data):
            pos = off + j
            (target[pos // PAGE] if target is not None else self.page(pos // PAGE))[pos % PAGE] = b

    def beyond(self, off: int, n: int) -> bool:
        return (off + n - 1) // PAGE >= pages_of(self.size)

    # ---- the rules -------------------------------------------------------

    def written(self, off: int, data: bytes) -> None:
        self.resize(self.size)
        if off > self.size:
            self.resize(off)
        self.store(off, data, None)
        self.size = max(self.size, off + len(data))

    def truncated(self, size: int) -> None:
        if size < self.size:
            for i in [i for i in self.copies if i >= pages_of(size)]:
                del self.copies[i]
        self.resize(size)

    def either(self, which: int) -> int:
        return self.dup if which else self.fd

    @rule(off=offsets, data=chunks)
    def write(self, off: int, data: bytes) -> None:
        self.vfs.seek(self.fd, off)
        assert self.vfs.write(self.fd, data) == len(data)
        self.written(off, data)
        self.pos = off + len(data)

    @rule(off=offsets, n=st.integers(1, 2 * PAGE))
    def read(self, off: int, n: int) -> None:
        self.vfs.seek(self.fd, off)
        want = self.file_bytes(off, max(0, min(n, self.size - off)))
        assert self.vfs.read(self.fd, n) == want
        self.pos = off + len(want)

    @rule(which=st.integers(0, 1), whence=st.sampled_from([os.SEEK_SET, os.SEEK_CUR, os.SEEK_END]),
          off=st.integers(-FILE_MAX - 1, FILE_MAX))
    def seek(self, which: int, whence: int, off: int) -> None:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.pos, os.SEEK_END: self.size}[whence]
        if base + off < 0:
            with pytest.raises(OSError) as e:
                self.vfs.seek(self.either(which), off, whence)
            assert e.value.errno == errno.EINVAL       # and the offset stays (the invariant)
        else:
            assert self.vfs.seek(self.either(which), off, whence) == base + off
            self.pos = base + off

    @rule(which=st.integers(0, 1), data=chunks)
    def write_here(self, which: int, data: bytes) -> None:
        assert self.vfs.write(self.either(which), data) == len(data)
        self.written(self.pos, data)
        self.pos += len(data)

    @rule(which=st.integers(0, 1), n=st.integers(1, 2 * PAGE))
    def read_here(self, which: int, n: int) -> None:
        want = self.file_bytes(self.pos, max(0, min(n, self.size - self.pos)))
        assert self.vfs.read(self.either(which), n) == want
        self.pos += len(want)

    @rule(off=offsets, data=chunks)
    def append(self, off: int, data: bytes) -> None:
        self.vfs.seek(self.append_fd, off)             # O_APPEND writes at the end all the same
        assert self.vfs.write(self.append_fd, data) == len(data)
        self.written(self.size, data)
        assert self.vfs.seek(self.append_fd, 0, os.SEEK_CUR) == self.size

    @rule(size=st.integers(0, FILE_MAX))
    def ftruncate(self, size: int) -> None:
        self.vfs.truncate(self.fd, size)
        self.truncated(size)

    @rule()
    def open_truncating(self) -> None:
        self.vfs.close(self.vfs.open("/model", "w"))
        self.truncated(0)

    @rule(which=st.integers(0, 1), off=map_offsets, data=chunks)
    def shared_store(self, which: int, off: int, data: bytes) -> None:
        data = data[:MAP_LEN - off]
        r = user_write(self.k, self.mm[which], self.shared[which] + off, data)
        if self.beyond(off, len(data)):
            assert r == self.sigbus            # faulted before any byte was copied
        else:
            assert r == 0
            self.store(off, data, None)

    @rule(which=st.integers(0, 1), off=map_offsets, n=st.integers(1, 300))
    def shared_load(self, which: int, off: int, n: int) -> None:
        n = min(n, MAP_LEN - off)
        got = user_read(self.k, self.mm[which], self.shared[which] + off, n)
        if self.beyond(off, n):
            assert got == self.sigbus
        else:
            assert got == b"".join(bytes(self.page(i)) for i in range(MAP_PAGES))[off:off + n]

    @rule(off=map_offsets, data=chunks)
    def private_store(self, off: int, data: bytes) -> None:
        data = data[:MAP_LEN - off]
        r = user_write(self.k, self.mm[1], self.private + off, data)
        last = min((off + len(data) - 1) // PAGE, pages_of(self.size) - 1)
        for i in range(off // PAGE, last + 1):
            if i not in self.copies:
                self.copies[i] = bytearray(self.page(i))
        if self.beyond(off, len(data)):
            assert r == self.sigbus            # the pages before it were copied by their faults
        else:
            assert r == 0
            self.store(off, data, self.copies)

    @rule(off=map_offsets, n=st.integers(1, 300))
    def private_load(self, off: int, n: int) -> None:
        n = min(n, MAP_LEN - off)
        got = user_read(self.k, self.mm[1], self.private + off, n)
        if self.beyond(off, n):
            assert got == self.sigbus
        else:
            view = b"".join(bytes(self.copies.get(i) or self.page(i)) for i in range(MAP_PAGES))
            assert got == view[off:off + n]

    @invariant()
    def sizes_and_offsets_agree(self) -> None:
        assert self.vfs.fstat(self.fd).st_size == self.size
        assert self.vfs.seek(self.dup, 0, os.SEEK_CUR) == self.pos

    def teardown(self) -> None:
        k = self.k
        for mm, a in zip(self.mm, self.shared, strict=True):
            assert call(k, "vm_munmap", mm, a, MAP_LEN) == 0
        assert call(k, "vm_munmap", self.mm[1], self.private, MAP_LEN) == 0
        call(k, "mm_destroy", self.mm[1])
        self.vfs.close_all()
        self.vfs.unlink("/model")
        assert call(k, "get_free_pages") == self.free0


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_file_bytes_against_model(fsk: UnicornKernel) -> None:
    snap = fsk.snapshot([(fsk.symbol("__kernel_start"), c.STACK_REGION_END)])
    run_state_machine_as_test(
        lambda: FileModel(fsk, snap),
        settings=settings(max_examples=40, stateful_step_count=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]),
    )
