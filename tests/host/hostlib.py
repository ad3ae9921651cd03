"""Host builds of pure-C kernel modules, and rerunning their tests on an
AddressSanitizer build.

build_library compiles sources into build/host/lib<name>-<kind>.so: ``ubsan``
(loaded in-process; UBSan aborts on the first report) or ``asan``
(AddressSanitizer too).

An ASan library loads only into a process that starts with libasan, so the
modules run again in a child pytest with LD_PRELOAD; the child sees the
variable that selects the ASan build and skips the module that started it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kos import atomic

HERE = Path(__file__).resolve().parent
BUILD = HERE.parents[1] / "build" / "host"
SAN_FLAGS = {
    "ubsan": ["-fsanitize=undefined", "-fno-sanitize-recover=all"],
    "asan": ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"],
}


def build_library(name: str, kind: str, sources: list[Path], headers: list[Path]) -> Path:
    """Compile sources into build/host/lib<name>-<kind>.so unless it is newer
    than every source and header."""
    out = BUILD / f"lib{name}-{kind}.so"
    newest = max(p.stat().st_mtime for p in (*sources, *headers))
    if out.exists() and out.stat().st_mtime >= newest:
        return out
    BUILD.mkdir(parents=True, exist_ok=True)
    # The test workers may build the same library at once: each writes
    # its own file and renames it into place.
    with atomic.replacing(out) as partial:
        cmd = ["cc", "-shared", "-fPIC", "-O1", "-g", "-fno-omit-frame-pointer", "-Wall", "-Wextra",
               "-Werror", *SAN_FLAGS[kind], *map(str, sources), "-o", str(partial)]
        subprocess.run(cmd, check=True)
    return out


def libasan() -> str | None:
    out = subprocess.run(["cc", "-print-file-name=libasan.so"], check=False, capture_output=True, text=True)
    path = out.stdout.strip()
    return path if out.returncode == 0 and os.path.isabs(path) and os.path.exists(path) else None


def rerun_under_asan(build: Callable[[], object], modules: list[str], env: dict[str, str]) -> None:
    """Build the ASan library, then run the test modules (file names in
    tests/host) but their `build` tests in a child pytest with libasan
    preloaded and env added; fail with its output if any test fails."""
    preload = libasan()
    if preload is None:
        pytest.skip("the compiler has no libasan")
    build()
    child_env = dict(os.environ)
    child_env.update(
        env,
        LD_PRELOAD=preload,
        ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1",
        UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1",
    )
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not build",
           *(str(HERE / m) for m in modules)]
    proc = subprocess.run(cmd, check=False, env=child_env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert " passed" in proc.stdout
