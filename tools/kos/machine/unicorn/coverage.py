"""Recording which guest code ran, for `invoke coverage`.

With KOS_COVERAGE=DIR in the environment (or coverage= given), every
UnicornKernel hooks the basic blocks of the kernel's .text and, when closed
or at process exit, writes DIR/<pid>-<n>.blocks: one "address size" line
(hex) per distinct block executed. kos.coverage merges the files and maps
them to source lines.
"""

from __future__ import annotations

import atexit
import itertools
import os
import time
from pathlib import Path

from unicorn import Uc
from unicorn import unicorn_const as uc_const

ENV_VAR = "KOS_COVERAGE"
_serial = itertools.count()


def coverage_dir_from_env() -> Path | None:
    value = os.environ.get(ENV_VAR, "")
    return Path(value) if value else None


class BlockRecorder:
    def __init__(self, uc: Uc, directory: Path, text_start: int, text_end: int) -> None:
        self.directory = Path(directory)
        self.blocks: set[tuple[int, int]] = set()
        self.path = self.directory / f"{os.getpid()}-{next(_serial)}.blocks"
        self._dumped = 0
        self._last_dump = time.monotonic()
        begin, end = (text_start, text_end - 1) if text_end > text_start else (1, 0)
        uc.hook_add(uc_const.UC_HOOK_BLOCK, self._on_block, None, begin, end)
        atexit.register(self.dump)

    def _on_block(self, uc: Uc, addr: int, size: int, _: object) -> None:
        self.blocks.add((addr, size))

    def maybe_dump(self, every: float = 1.0) -> None:
        """Write the record if it grew and `every` seconds passed since the
        last write: a program killed by a signal it cannot catch loses
        little."""
        if len(self.blocks) != self._dumped and time.monotonic() - self._last_dump >= every:
            self.dump()

    def dump(self) -> None:
        """Write the record (again, with anything new since the last dump)."""
        self._last_dump = time.monotonic()
        if len(self.blocks) == self._dumped:
            return
        self._dumped = len(self.blocks)
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(f"{a:x} {s:x}\n" for a, s in sorted(self.blocks)))
        tmp.replace(self.path)
