"""Host files brought into the kernel's file system, so that a host file
descriptor (os.open) can be mapped the way a kernel file is: its bytes are
copied into a ramfs file under /host, whose page-cache frames the mapping
then maps (fs_mmap_file). HostMappings records which ranges of an address
space map which host file, and copies the dirty pages of a shared mapping
out to the host file when the manager (kos.memory.manager) calls for it:
on msync, munmap and close.

The kernel file is named after the host file's device and inode, so two
mappings of one host file share one kernel file (and so see each other's
writes, as MAP_SHARED promises); it is refreshed from the host when no
mapping of it is live, and unlinked when the last one goes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from kos import kernel as kk
from kos.kernel import Kernel, call, s32, u32
from kos.memory import constants as C

__all__ = ["HOST_DIR", "HostMapping", "HostMappings", "import_host_file", "kernel_path",
           "open_kernel_file", "unlink_kernel_file"]

HOST_DIR = "/host"

# Offsets in the scratch area of the strings and results of these calls.
_CWD, _PATH, _OUT, _DATA = 0, 0x40, 0x100, 0x200


def kernel_path(fd: int) -> str:
    """The kernel file a host file descriptor's file is brought into."""
    st = os.fstat(fd)
    return f"{HOST_DIR}/dev{st.st_dev}-ino{st.st_ino}"


def _strings(k: Kernel, path: str) -> None:
    kk.write(k, k.scratch + _CWD, b"/\0")
    kk.write(k, k.scratch + _PATH, path.encode() + b"\0")


def open_kernel_file(k: Kernel, path: str, flags: int) -> tuple[int, int]:
    """vfs_open(path, flags): (0, struct file *) or (negative errno, 0)."""
    _strings(k, path)
    err = s32(call(k, "vfs_open", k.scratch + _CWD, k.scratch + _PATH, flags, 0o644, k.scratch + _OUT))
    return (err, 0) if err else (0, int.from_bytes(kk.read(k, k.scratch + _OUT, 4), "little"))


def import_host_file(k: Kernel, fd: int) -> int:
    """Copy the host file's bytes into its kernel file (made, or emptied,
    under HOST_DIR): 0 or the kernel's negative errno."""
    _strings(k, HOST_DIR)
    err = s32(call(k, "vfs_mkdir", k.scratch + _CWD, k.scratch + _PATH, 0o755))
    if err and err != C.EEXIST:
        return err
    err, f = open_kernel_file(k, kernel_path(fd), C.O_CREAT | C.O_TRUNC | C.O_RDWR)
    if err:
        return err
    layout = kk.abi(k).struct("file")
    ops = u32(int.from_bytes(kk.read(k, f + layout.offsetof("ops"), 4), "little"))
    write = u32(int.from_bytes(kk.read(k, ops + kk.abi(k).struct("file_ops").offsetof("write"), 4), "little"))
    inode = u32(int.from_bytes(kk.read(k, f + layout.offsetof("inode"), 4), "little"))
    chunk = k.scratch_size - _DATA
    pos = 0
    try:
        while True:
            data = os.pread(fd, chunk, pos)
            if not data:
                _clean(k, inode, pos)
                return 0
            kk.write(k, k.scratch + _DATA, data)
            # struct iobuf by value: a kernel pointer and user = 0.
            n = s32(call(k, write, f, k.scratch + _DATA, 0, len(data)))
            if n < 0:
                return n
            pos += len(data)
    finally:
        call(k, "file_put", f)


def _clean(k: Kernel, inode: int, size: int) -> None:
    """The page cache now holds what the host file holds: none of its pages
    is dirty, so write-back sends only what is written through a mapping."""
    for index in range(-(-size // C.PAGE_SIZE)):
        page = u32(call(k, "pagecache_page", inode, index, 0))
        if page:
            call(k, "page_clear_dirty", page)


def unlink_kernel_file(k: Kernel, path: str) -> int:
    _strings(k, path)
    return s32(call(k, "vfs_unlink", k.scratch + _CWD, k.scratch + _PATH))


@dataclass
class HostMapping:
    start: int
    end: int
    fd: int               # a duplicate the mapping owns, closed when its last page goes
    offset: int           # file offset of start
    shared: bool
    path: str             # the kernel file it maps


class HostMappings:
    """The host-file mappings of one address space."""

    def __init__(self) -> None:
        self._maps: list[HostMapping] = []

    def add(self, m: HostMapping) -> None:
        self._maps.append(m)

    def maps(self, path: str) -> bool:
        """Is the kernel file path mapped here?"""
        return any(m.path == path for m in self._maps)

    def ranges(self) -> list[tuple[int, int]]:
        return [(m.start, m.end) for m in self._maps]

    def write_back(self, k: Kernel, mm: int, read: Callable[[int, int], bytes],
                   start: int, end: int) -> None:
        """Write the dirty pages of the shared mappings in [start, end) of
        mm to their host files (read(va, n): the bytes at va)."""
        for m in self._maps:
            lo, hi = max(start, m.start), min(end, m.end)
            if not m.shared or lo >= hi:
                continue
            call(k, "vm_msync", mm, lo, hi - lo, C.MS_SYNC)   # CPU writes: PTE dirty bits to frames
            size = os.fstat(m.fd).st_size
            for va in range(lo, hi, C.PAGE_SIZE):
                page = u32(call(k, "vm_page_at", mm, va))
                if not page or not u32(call(k, "page_flags", page)) & C.PG_DIRTY:
                    continue
                pos = m.offset + va - m.start
                n = max(0, min(C.PAGE_SIZE, size - pos))
                if n:
                    os.pwrite(m.fd, read(va, n), pos)
                call(k, "page_clear_dirty", page)

    def forget(self, k: Kernel, start: int, end: int) -> None:
        """[start, end) is unmapped: split or drop the mappings there, and
        unlink the kernel files no mapping uses any more."""
        kept = []
        for m in self._maps:
            pieces = [(m.start, min(m.end, start)), (max(m.start, end), m.end)]
            pieces = [(a, b) for a, b in pieces if a < b]
            if not pieces:
                os.close(m.fd)
            for i, (a, b) in enumerate(pieces):
                fd = m.fd if i == 0 else os.dup(m.fd)
                kept.append(HostMapping(a, b, fd, m.offset + a - m.start, m.shared, m.path))
        for path in {m.path for m in self._maps} - {m.path for m in kept}:
            unlink_kernel_file(k, path)
        self._maps = kept
