"""Recording which guest code ran, for `invoke coverage`.

With KOS_COVERAGE=DIR in the environment (or coverage= given), every
UnicornKernel hooks the basic blocks of the kernel's .text (a C hook,
cover.c) and, when closed or at process exit, writes DIR/<pid>-<n>.blocks:
one "address size" line (hex) per block start executed, with the longest
block begun there. kos.coverage merges the files and maps them to source
lines.
"""

from __future__ import annotations

import atexit
import ctypes
import itertools
import os
import time
from pathlib import Path

from unicorn import Uc
from unicorn import unicorn_const as uc_const

from kos.machine.unicorn import native

ENV_VAR = "KOS_COVERAGE"
_serial = itertools.count()


def coverage_dir_from_env() -> Path | None:
    value = os.environ.get(ENV_VAR, "")
    return Path(value) if value else None


class Cover(ctypes.Structure):
    """cover.c's struct cover."""

    _fields_ = [("start", ctypes.c_uint32), ("len", ctypes.c_uint32),
                ("size", ctypes.POINTER(ctypes.c_uint16))]


class BlockRecorder:
    """The blocks of [text_start, text_end) that ran: cover.c's hook keeps,
    for each start address, the longest block begun there."""

    def __init__(self, uc: Uc, directory: Path, text_start: int, text_end: int) -> None:
        self.directory = Path(directory)
        self.path = self.directory / f"{os.getpid()}-{next(_serial)}.blocks"
        length = max(text_end - text_start, 0)
        self._sizes = (ctypes.c_uint16 * max(length, 1))()
        self._cover = Cover(text_start, length, self._sizes)
        self._dumped: bytes = b""
        self._last_dump = time.monotonic()
        if length:
            native.hook_add(uc, uc_const.UC_HOOK_BLOCK, native.library().cover_block_hook,
                            ctypes.c_void_p(ctypes.addressof(self._cover)),
                            begin=text_start, end=text_end - 1)
            # Blocks translated before the hook existed would not call it.
            uc.ctl_flush_tb()
        atexit.register(self.dump)

    @property
    def blocks(self) -> set[tuple[int, int]]:
        """(address, size) of each block start that ran, its longest size."""
        start = self._cover.start
        return {(start + at, size) for at, size in enumerate(self._sizes) if size}

    def maybe_dump(self, every: float = 1.0) -> None:
        """Write the record if `every` seconds passed since the last write
        and it grew: a program killed by a signal it cannot catch loses
        little."""
        if time.monotonic() - self._last_dump >= every:
            self.dump()

    def dump(self) -> None:
        """Write the record (again, with anything new since the last dump)."""
        self._last_dump = time.monotonic()
        now = bytes(self._sizes)
        if now == self._dumped or not any(now):
            return
        self._dumped = now
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(f"{a:x} {s:x}\n" for a, s in sorted(self.blocks)))
        tmp.replace(self.path)
