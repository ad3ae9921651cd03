"""Time slices that end safely: the C half (slice.c) is a UC_HOOK_BLOCK
callback that calls emu_stop from the CPU thread at the start of a block,
when the timer thread has marked the slice expired. slice.c says why a
cross-thread emu_stop cannot be used.

The library is compiled with the host's cc into build/host/ the first time
it is needed (and again when slice.c changes). It is registered through
unicorn's C API (`uclib.uc_hook_add` with a native function pointer and
the engine handle `Uc._uch`): internals of the unicorn Python binding,
which is why unicorn is pinned (selfcheck.py), and why the self-test
checks that an expired slice stops emulation before the block runs.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from unicorn import Uc
from unicorn import unicorn_const as uc_const

from kos import paths

SOURCE = Path(__file__).with_name("slice.c")
LIBRARY = paths.BUILD / "host" / "libkos_slice.so"


class SliceUnavailable(RuntimeError):
    """The slice library cannot be built or loaded."""


def _build() -> Path:
    if LIBRARY.exists() and LIBRARY.stat().st_mtime >= SOURCE.stat().st_mtime:
        return LIBRARY
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        raise SliceUnavailable("the embedded emulator needs a host C compiler (cc or gcc) "
                               f"to build {LIBRARY.name}: apt-get install gcc")
    LIBRARY.parent.mkdir(parents=True, exist_ok=True)
    # Parallel test workers may build at once: each writes its own file
    # and renames it into place.
    fd, tmp = tempfile.mkstemp(dir=LIBRARY.parent, suffix=".so")
    os.close(fd)
    try:
        done = subprocess.run([cc, "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                               "-o", tmp, str(SOURCE)], capture_output=True, text=True)
        if done.returncode != 0:
            raise SliceUnavailable(f"building {LIBRARY.name} failed:\n{done.stderr}")
        os.replace(tmp, LIBRARY)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return LIBRARY


_lib: ctypes.CDLL | None = None


def _library() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        lib = ctypes.CDLL(str(_build()))
        lib.slice_new.restype = ctypes.c_void_p
        lib.slice_new.argtypes = [ctypes.c_void_p]
        for name in ("slice_free", "slice_expire"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
            getattr(lib, name).restype = None
        lib.slice_take.argtypes = [ctypes.c_void_p]
        lib.slice_take.restype = ctypes.c_int
        _lib = lib
    return _lib


class Slice:
    """The expiry flag of one engine, and the block hook that acts on it."""

    def __init__(self, uc: Uc) -> None:
        from unicorn.unicorn_py3.unicorn import uclib

        lib = _library()
        self._lib = lib
        stop = ctypes.cast(uclib.uc_emu_stop, ctypes.c_void_p).value
        handle = lib.slice_new(stop)
        if not handle:
            raise SliceUnavailable("slice_new: out of memory")
        self._handle = ctypes.c_void_p(handle)
        self._hook = ctypes.c_size_t()
        hook_fn = ctypes.cast(lib.slice_block_hook, ctypes.c_void_p)
        err = uclib.uc_hook_add(uc._uch, ctypes.byref(self._hook), uc_const.UC_HOOK_BLOCK,
                                hook_fn, self._handle, 1, 0)
        if err != uc_const.UC_ERR_OK:
            lib.slice_free(self._handle)
            raise SliceUnavailable(f"uc_hook_add(UC_HOOK_BLOCK) failed with unicorn error {err}")
        # Blocks translated before the hook existed would not call it.
        uc.ctl_flush_tb()
        self._uc = uc

    def expire(self) -> None:
        """End the running emulation at its next block (any thread)."""
        self._lib.slice_expire(self._handle)

    def take(self) -> bool:
        """Whether the slice was ended since the last take (clears it)."""
        return bool(self._lib.slice_take(self._handle))

    def close(self) -> None:
        """Remove the hook and free the flag."""
        from unicorn.unicorn_py3.unicorn import uclib

        if self._handle:
            uclib.uc_hook_del(self._uc._uch, self._hook)
            self._lib.slice_free(self._handle)
            self._handle = ctypes.c_void_p()
