"""Build kernel/mm/heap/ for the host and drive it through ctypes.

Two builds: ``ubsan`` (loaded in-process, UBSan aborts on the first report) and
``asan`` (AddressSanitizer too; it can only be loaded into a Python started with
libasan in LD_PRELOAD, see test_heap_asan.py). KOS_HEAP_LIB picks the build.
"""

from __future__ import annotations

import ctypes
import functools
import os
from dataclasses import dataclass
from pathlib import Path

from hostlib import build_library

from kos.target import abi as _abi

REPO = Path(__file__).resolve().parents[2]
HEAP_DIR = REPO / "kernel" / "mm" / "heap"
HEAP_SOURCES = sorted(HEAP_DIR.glob("*.c"))
HEAP_HEADERS = sorted(HEAP_DIR.glob("*.h"))
# Freestanding builds take memset/memcpy from the kernel's library; hosted
# ones from the C library, where the sanitizers check them.
KERNEL_STRING_C = REPO / "kernel" / "lib" / "string.c"


def build(kind: str) -> Path:
    """Compile the heap into build/host/libheap-<kind>.so unless it is up to date."""
    return build_library("heap", kind, HEAP_SOURCES, HEAP_HEADERS)


def round8(n: int) -> int:
    return (n + 7) & ~7


# The C interface comes from the library's own debug information: the
# statistics layout and the HEAP_E_* / HEAP_DEBUG_* codes, never restated.

_ABI = _abi.load(build(os.environ.get("KOS_HEAP_LIB", "ubsan")))
_CODES = _ABI.enum("heap_error")
_FLAGS = _ABI.enum("heap_debug_flag")
HEAP_OK = _CODES["HEAP_OK"]
HEAP_E_INVALID = _CODES["HEAP_E_INVALID"]
HEAP_E_DOUBLE = _CODES["HEAP_E_DOUBLE"]
HEAP_E_CORRUPT = _CODES["HEAP_E_CORRUPT"]
HEAP_E_REDZONE = _CODES["HEAP_E_REDZONE"]
HEAP_E_POISON = _CODES["HEAP_E_POISON"]
DEBUG_POISON = _FLAGS["HEAP_DEBUG_POISON"]
DEBUG_REDZONE = _FLAGS["HEAP_DEBUG_REDZONE"]
DEBUG_TRACK = _FLAGS["HEAP_DEBUG_TRACK"]

_UNSIGNED = {1: ctypes.c_uint8, 2: ctypes.c_uint16, 4: ctypes.c_uint32, 8: ctypes.c_uint64}


def _ctypes_struct(name: str) -> type[ctypes.Structure]:
    """A ctypes Structure with the layout DWARF gives struct `name` (unsigned
    integer members only), checked to land every member where C puts it."""
    layout = _ABI.struct(name)
    fields = [(f.name, _UNSIGNED[f.size]) for f in layout.fields.values()]
    cls = type(name, (ctypes.Structure,), {"_fields_": fields})
    for f in layout.fields.values():
        assert getattr(cls, f.name).offset == f.offset, f"{name}.{f.name} moved"
    assert ctypes.sizeof(cls) == layout.size, f"{name}: size differs"
    return cls


class Stats(_ctypes_struct("heap_stats")):  # type: ignore[misc]
    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name, _ in self._fields_}


class _Block(ctypes.Structure):
    _fields_ = [
        ("payload", ctypes.c_void_p),
        ("size", ctypes.c_size_t),
        ("used", ctypes.c_int),
        ("site", ctypes.c_size_t),
    ]


WALK_FN = ctypes.CFUNCTYPE(None, ctypes.POINTER(_Block), ctypes.c_void_p)
REPORT_FN = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p)


@dataclass(frozen=True)
class Block:
    payload: int
    size: int
    used: bool
    site: int


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    vp, sz, u32, i = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int
    sigs: dict[str, tuple[object, list[object]]] = {
        "heap_init": (vp, [vp, sz]),
        "heap_alloc": (vp, [vp, sz, sz, ctypes.c_size_t]),
        "heap_free": (i, [vp, vp]),
        "heap_realloc": (vp, [vp, vp, sz, ctypes.c_size_t, ctypes.POINTER(i)]),
        "heap_usable_size": (sz, [vp, vp]),
        "heap_owns": (i, [vp, vp]),
        "heap_get_stats": (None, [vp, ctypes.POINTER(Stats)]),
        "heap_walk": (None, [vp, WALK_FN, vp]),
        "heap_check": (u32, [vp, REPORT_FN, vp]),
        "heap_defragment": (u32, [vp]),
        "heap_set_debug": (None, [vp, u32]),
        "heap_get_debug": (u32, [vp]),
        "heap_strerror": (ctypes.c_char_p, [i]),
        "heap_extent": (sz, [vp]),
        "heap_last_error": (i, [vp]),
        "heap_set_report": (None, [vp, REPORT_FN, vp]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    return lib


_LIBS: dict[str, ctypes.CDLL] = {}


def load(kind: str | None = None) -> ctypes.CDLL:
    kind = kind or os.environ.get("KOS_HEAP_LIB", "ubsan")
    if kind not in _LIBS:
        _LIBS[kind] = _declare(ctypes.CDLL(str(build(kind))))
    return _LIBS[kind]


# Test regions start at a boundary of this many bytes in the address space
# (plus their skew): the largest alignment the tests ask for.
REGION_ALIGN = 64 * 1024


class Heap:
    """One heap over a region of `size` bytes starting `skew` bytes past a
    REGION_ALIGN boundary."""

    def __init__(self, size: int, skew: int = 0, lib: ctypes.CDLL | None = None) -> None:
        self.lib = lib or load()
        # Runs and aligned blocks land at absolute address boundaries, so the
        # region's offset from them decides the layout. Fixing it makes every
        # run of a test lay the heap out the same way, wherever the buffer is:
        # hypothesis needs deterministic behaviour, and a test must not pass
        # or fail with the address the buffer happens to get.
        self.buf = ctypes.create_string_buffer(size + skew + REGION_ALIGN)
        base = ctypes.addressof(self.buf)
        self.lo = ((base + REGION_ALIGN - 1) & ~(REGION_ALIGN - 1)) + skew
        self.hi = self.lo + size
        self.h = self.lib.heap_init(self.lo, size)
        if not self.h:
            raise ValueError("heap_init refused the region")
        self.first = self.extent()  # the control data ends here
        self.reports: list[tuple[str, int]] = []
        self._report_cb = REPORT_FN(self._on_report)
        self.lib.heap_set_report(self.h, self._report_cb, None)

    def _on_report(self, what: bytes, where: int | None, _ctx: int | None) -> None:
        self.reports.append((what.decode(), where or 0))

    def alloc(self, size: int, align: int = 0, site: int = 0) -> int | None:
        return self.lib.heap_alloc(self.h, size, align, site)

    def free(self, p: int | None) -> int:
        return self.lib.heap_free(self.h, p)

    def realloc(self, p: int | None, size: int, site: int = 0) -> tuple[int | None, int]:
        err = ctypes.c_int(12345)
        q = self.lib.heap_realloc(self.h, p, size, site, ctypes.byref(err))
        return q, err.value

    def usable(self, p: int) -> int:
        return self.lib.heap_usable_size(self.h, p)

    def owns(self, p: int) -> bool:
        return bool(self.lib.heap_owns(self.h, p))

    def stats(self) -> Stats:
        st = Stats()
        self.lib.heap_get_stats(self.h, ctypes.byref(st))
        return st

    def check(self) -> list[str]:
        """Violations heap_check reports; asserts the count matches the reports."""
        found: list[str] = []

        def cb(what: bytes, _where: int | None, _ctx: int | None) -> None:
            found.append(what.decode())

        n = self.lib.heap_check(self.h, REPORT_FN(cb), None)
        assert n == len(found)
        return found

    def walk(self) -> list[Block]:
        blocks: list[Block] = []

        def cb(b: ctypes._Pointer[_Block], _ctx: int | None) -> None:
            blk = b.contents
            blocks.append(Block(blk.payload or 0, blk.size, bool(blk.used), blk.site))

        self.lib.heap_walk(self.h, WALK_FN(cb), None)
        return blocks

    def defragment(self) -> int:
        return self.lib.heap_defragment(self.h)

    def set_debug(self, flags: int) -> None:
        self.lib.heap_set_debug(self.h, flags)

    def extent(self) -> int:
        return self.lib.heap_extent(self.h)

    def last_error(self) -> int:
        return self.lib.heap_last_error(self.h)

    def strerror(self, err: int) -> str:
        return self.lib.heap_strerror(err).decode()

    def write(self, p: int, data: bytes) -> None:
        assert self.lo <= p and p + len(data) <= self.hi
        ctypes.memmove(p, data, len(data))

    def read(self, p: int, n: int) -> bytes:
        assert self.lo <= p and p + n <= self.hi
        return ctypes.string_at(p, n)

    def snapshot(self) -> bytes:
        """The whole region, to prove a refused operation changed nothing."""
        return ctypes.string_at(self.lo, self.hi - self.lo)


@functools.lru_cache(maxsize=4096)
def _pattern_unit(tag: int) -> bytes:
    seed = (tag * 0x9E3779B1) & 0xFFFFFFFF
    return bytes(((seed >> (8 * (k % 4))) + k) & 0xFF for k in range(251))


def pattern(tag: int, n: int) -> bytes:
    """A block's content: distinct per tag and position, so shifts show up.
    The model tests compare every live block after every step, so the
    251-byte unit of a tag is made once."""
    unit = _pattern_unit(tag)
    return (unit * (n // len(unit) + 1))[:n]

