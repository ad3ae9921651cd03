"""Results worth keeping between processes: what a kernel image's DWARF
says (its ABI, its line tables) costs seconds to parse, and test workers,
tools and every emulator a test starts would each parse it again.

cached(kind, key, compute) returns compute()'s value, pickled under
build/pycache/KIND/ and named after key's digest: key must be every byte the
value depends on (the image, and the source of the module that parses it).
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from kos import atomic, paths

T = TypeVar("T")

ROOT = paths.BUILD / "pycache"


def cached(kind: str, key: bytes, compute: Callable[[], T]) -> T:
    saved = ROOT / kind / f"{hashlib.sha256(key).hexdigest()}.pickle"
    try:
        with saved.open("rb") as f:
            value: T = pickle.load(f)
            return value
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        pass
    value = compute()
    _save(value, saved)
    return value


def _save(value: object, saved: Path) -> None:
    # Parallel workers may compute at once: each writes a file of its own
    # and renames it into place. Without room to save, the next process
    # computes.
    try:
        saved.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(saved, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        pass
