"""The emulator's C half: slice.c (time slices that end at a block's start),
uart.c (the port I/O hooks with the 16550's hot registers), count.c
(counting guest instructions), ram.c (putting RAM back from a snapshot)
and cover.c (recording the kernel code that ran), one shared
library compiled with the host's cc into build/host/ the first time it is
needed (and again when a source changes). Its functions are registered
through unicorn's C API (`uclib.uc_hook_add` with a native function
pointer and the engine handle `Uc._uch`): internals of the unicorn Python
binding, which is why unicorn is pinned and why selfcheck.py runs each of
them at start-up.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from pathlib import Path

from kos import atomic, paths

HERE = Path(__file__).parent
SOURCES = (HERE / "slice.c", HERE / "uart.c", HERE / "count.c", HERE / "ram.c", HERE / "cover.c")
LIBRARY = paths.BUILD / "host" / "libkos_unicorn.so"


class NativeUnavailable(RuntimeError):
    """The library cannot be built or loaded."""


def _build() -> Path:
    newest = max(s.stat().st_mtime for s in SOURCES)
    if LIBRARY.exists() and LIBRARY.stat().st_mtime >= newest:
        return LIBRARY
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        raise NativeUnavailable("the embedded emulator needs a host C compiler (cc or gcc) "
                                f"to build {LIBRARY.name}: apt-get install gcc")
    LIBRARY.parent.mkdir(parents=True, exist_ok=True)
    # Parallel test workers may build at once: each writes its own file
    # and renames it into place.
    with atomic.replacing(LIBRARY) as partial:
        done = subprocess.run([cc, "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                               "-o", str(partial), *map(str, SOURCES)], capture_output=True, text=True)
        if done.returncode != 0:
            raise NativeUnavailable(f"building {LIBRARY.name} failed:\n{done.stderr}")
    return LIBRARY


# The signatures of the functions Python calls: (name, result, arguments).
_P = ctypes.c_void_p
_U32 = ctypes.c_uint32
_PROTOTYPES: tuple[tuple[str, object, list[object]], ...] = (
    ("slice_new", _P, [_P]),
    ("slice_free", None, [_P]),
    ("slice_expire", None, [_P]),
    ("slice_take", ctypes.c_int, [_P]),
    ("uart_new", _P, [_U32, _P, _P]),
    ("uart_free", None, [_P]),
    ("uart_set_modes", None, [_P, _U32]),
    ("uart_fifo_len", _U32, [_P]),
    ("uart_fifo_push", ctypes.c_int, [_P, ctypes.c_uint8]),
    ("uart_fifo_fill", _U32, [_P, ctypes.c_char_p, _U32]),
    ("uart_fifo_pop", ctypes.c_int, [_P]),
    ("uart_fifo_peek", _U32, [_P, _P]),
    ("uart_fifo_clear", None, [_P]),
    ("uart_take_events", ctypes.c_int, [_P]),
    ("uart_tx_len", ctypes.c_size_t, [_P]),
    ("uart_tx_data", _P, [_P]),
    ("uart_tx_clear", None, [_P]),
    ("ram_zero_map", None, [_P, ctypes.c_size_t, _P]),
    ("ram_put_back", ctypes.c_size_t, [_P, _P, _P, ctypes.c_size_t, _P, ctypes.c_size_t]),
)

_lib: ctypes.CDLL | None = None


def library() -> ctypes.CDLL:
    """The library, built if needed, with its functions' signatures set."""
    global _lib
    if _lib is None:
        lib = ctypes.CDLL(str(_build()))
        for name, restype, argtypes in _PROTOTYPES:
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = argtypes
        _lib = lib
    return _lib


def hook_add(uc: object, htype: int, fn: object, data: ctypes.c_void_p,
             *extra: ctypes.c_int, begin: int = 1, end: int = 0) -> ctypes.c_size_t:
    """Register the library's function fn as a unicorn hook with user data
    data (extra: the instruction of a UC_HOOK_INSN), for the addresses
    begin..end (both included; the default: all of them); the hook's
    handle."""
    from unicorn import unicorn_const as uc_const
    from unicorn.unicorn_py3.unicorn import uclib

    handle = ctypes.c_size_t()
    err = uclib.uc_hook_add(uc._uch, ctypes.byref(handle), htype,  # type: ignore[attr-defined]
                            ctypes.cast(fn, ctypes.c_void_p), data, ctypes.c_uint64(begin),
                            ctypes.c_uint64(end), *extra)
    if err != uc_const.UC_ERR_OK:
        raise NativeUnavailable(f"uc_hook_add({htype}) failed with unicorn error {err}")
    return handle


def hook_del(uc: object, handle: ctypes.c_size_t) -> None:
    from unicorn.unicorn_py3.unicorn import uclib

    uclib.uc_hook_del(uc._uch, handle)  # type: ignore[attr-defined]
