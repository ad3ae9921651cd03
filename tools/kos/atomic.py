"""Files in build/ are whole or absent: each is written under a temporary
name beside it and renamed over it only once complete, so Ctrl-C or a
failing tool leaves the old file (or none), never half of one that a later
build would take as up to date."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A name to write path's new contents to; it becomes path when the block ends normally."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes) -> None:
    with replacing(path) as partial:
        partial.write_bytes(data)
