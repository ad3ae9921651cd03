"""Saying what long work is doing and how far along it is.

On a terminal a tqdm bar on stderr; anywhere else (CI logs, pipes) a plain
line now and then — at the start, every tenth of the way and at the end —
so a log shows progress without a carriage-return storm.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def _is_tty(stream: TextIO) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


def say(what: str, stream: TextIO | None = None) -> None:
    """One line naming the step about to run."""
    out = stream or sys.stderr
    out.write(f"{what}\n")
    out.flush()


class Progress:
    """Count units of work: `with Progress("guest traces", 19) as p: ... p.advance()`."""

    def __init__(self, what: str, total: int, unit: str = "", stream: TextIO | None = None) -> None:
        self.what = what
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.done = 0
        self._bar: tqdm | None = None
        self._next_line = 0
        self._t0 = time.monotonic()

    def __enter__(self) -> Progress:
        if _is_tty(self.stream):
            self._bar = tqdm(total=self.total, desc=self.what, unit=self.unit or "it", file=self.stream,
                             leave=True)
        else:
            self._line()
        return self

    def advance(self, n: int = 1, note: str = "") -> None:
        self.done += n
        if self._bar is not None:
            if note:
                self._bar.set_postfix_str(note, refresh=False)
            self._bar.update(n)
        elif self.done >= self._next_line or self.done >= self.total:
            self._line(note)

    def _line(self, note: str = "") -> None:
        pct = 100 * self.done // self.total if self.total else 100
        elapsed = time.monotonic() - self._t0
        tail = f" ({note})" if note else ""
        self.stream.write(f"{self.what}: {self.done}/{self.total} {self.unit}".rstrip()
                          + f", {pct}% after {elapsed:.0f} s{tail}\n")
        self.stream.flush()
        step = max(1, self.total // 10)
        self._next_line = (self.done // step + 1) * step

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.done < self.total and exc[0] is None:
            self._line("stopped early")


def track(items: Iterable[T], what: str, total: int | None = None, unit: str = "",
          stream: TextIO | None = None) -> Iterator[T]:
    """Iterate items, reporting progress (total defaults to len(items))."""
    n = total if total is not None else len(items)  # type: ignore[arg-type]
    with Progress(what, n, unit, stream) as p:
        for item in items:
            yield item
            p.advance()
