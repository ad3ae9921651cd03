"""Time slices that end safely: the C half (slice.c, in native.py's
library) is a UC_HOOK_BLOCK callback that calls emu_stop from the CPU
thread at the start of a block, when the timer thread has marked the slice
expired. slice.c says why a cross-thread emu_stop cannot be used; the
self-test checks that an expired slice stops emulation before the block
runs.
"""

from __future__ import annotations

import ctypes

from unicorn import Uc
from unicorn import unicorn_const as uc_const

from kos.machine.unicorn import native


class Slice:
    """The expiry flag of one engine, and the block hook that acts on it."""

    def __init__(self, uc: Uc) -> None:
        from unicorn.unicorn_py3.unicorn import uclib

        lib = native.library()
        self._lib = lib
        stop = ctypes.cast(uclib.uc_emu_stop, ctypes.c_void_p).value
        handle = lib.slice_new(stop)
        if not handle:
            raise native.NativeUnavailable("slice_new: out of memory")
        self._handle = ctypes.c_void_p(handle)
        try:
            self._hook = native.hook_add(uc, uc_const.UC_HOOK_BLOCK, lib.slice_block_hook, self._handle)
        except native.NativeUnavailable:
            lib.slice_free(self._handle)
            raise
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
        if self._handle:
            native.hook_del(self._uc, self._hook)
            self._lib.slice_free(self._handle)
            self._handle = ctypes.c_void_p()
