"""Build kernel/fs/ustar.c and kernel/proc/elf.c for the host and call them
through ctypes; their structures and error codes come from the library's own
DWARF (kos.target.abi), never spelled here.

Two builds, as for the heap: ``ubsan`` (in-process) and ``asan`` (needs a
Python started with libasan in LD_PRELOAD, see test_formats_asan.py).
KOS_FORMATS_LIB picks the build.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path

from hostlib import build_library

from kos.target import abi as kabi

REPO = Path(__file__).resolve().parents[2]
SOURCES = [REPO / "kernel" / "fs" / "ustar.c", REPO / "kernel" / "proc" / "elf.c"]
HEADERS = [REPO / "kernel" / "fs" / "ustar.h", REPO / "kernel" / "proc" / "elf.h"]


def build(kind: str) -> Path:
    """Compile both parsers into build/host/libformats-<kind>.so unless up to date."""
    return build_library("formats", kind, SOURCES, HEADERS)


@dataclass(frozen=True)
class Entry:
    name: str
    data: bytes
    offset: int            # of the data within the archive
    size: int
    mode: int
    type: str


class Formats:
    """The two parsers of one host build."""

    def __init__(self, kind: str = os.environ.get("KOS_FORMATS_LIB", "ubsan")) -> None:
        path = build(kind)
        self.lib = ctypes.CDLL(str(path))
        self.abi = kabi.load(path)
        vp, u32, i = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int
        self.lib.ustar_iter_init.argtypes = [vp, vp, u32]
        self.lib.ustar_next.argtypes = [vp, vp]
        self.lib.ustar_next.restype = i
        self.lib.ustar_strerror.argtypes = [i]
        self.lib.ustar_strerror.restype = ctypes.c_char_p
        self.lib.elf_plan.argtypes = [vp, u32, vp]
        self.lib.elf_plan.restype = i
        self.lib.elf_strerror.argtypes = [i]
        self.lib.elf_strerror.restype = ctypes.c_char_p
        self.ustar = self.abi.constants("USTAR_")
        self.elf = self.abi.constants("ELF_")

    def ustar_walk(self, archive: bytes) -> tuple[int, list[Entry], int]:
        """(final status, entries before it, offset of the header it stopped at).
        The archive sits in a buffer of exactly its length, so ASan sees any
        read past its end."""
        buf = (ctypes.c_uint8 * max(len(archive), 1)).from_buffer_copy(archive or b"\0")
        it_layout, e_layout = self.abi.struct("ustar_iter"), self.abi.struct("ustar_entry")
        it = ctypes.create_string_buffer(it_layout.size)
        ent = ctypes.create_string_buffer(e_layout.size)
        self.lib.ustar_iter_init(it, buf, len(archive))
        base = ctypes.addressof(buf)
        entries: list[Entry] = []
        while True:
            r = self.lib.ustar_next(it, ent)
            if r != self.ustar["USTAR_ENTRY"]:
                break
            e = e_layout.unpack(ent.raw)
            off = int(e["data"]) - base
            assert 0 <= off and off + int(e["size"]) <= len(archive), "entry data outside the archive"
            name = self._path(int(e["path"]), int(e["path_len"]), archive, base,
                              ctypes.addressof(ent), e_layout.size)
            entries.append(Entry(name, archive[off:off + int(e["size"])], off, int(e["size"]),
                                 int(e["mode"]), chr(int(e["type"]) & 0xFF)))
        return r, entries, int(it_layout.unpack(it.raw)["offset"])

    @staticmethod
    def _path(ptr: int, n: int, archive: bytes, base: int, ent: int, ent_size: int) -> str:
        """The entry's path: inside its own name field or, for a long name,
        inside the archive, never anywhere else."""
        if base <= ptr and ptr + n <= base + len(archive):
            return archive[ptr - base:ptr - base + n].decode("latin-1")
        assert ent <= ptr and ptr + n <= ent + ent_size, "entry path outside the archive and the entry"
        return ctypes.string_at(ptr, n).decode("latin-1")

    def ustar_strerror(self, err: int) -> str:
        return self.lib.ustar_strerror(err).decode()

    def elf_plan(self, image: bytes) -> tuple[int, dict]:
        buf = (ctypes.c_uint8 * max(len(image), 1)).from_buffer_copy(image or b"\0")
        layout = self.abi.struct("elf_plan")
        plan = ctypes.create_string_buffer(layout.size)
        r = self.lib.elf_plan(buf, len(image), plan)
        return r, layout.unpack(plan.raw)

    def elf_strerror(self, err: int) -> str:
        return self.lib.elf_strerror(err).decode()
