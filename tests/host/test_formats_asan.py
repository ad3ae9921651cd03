"""Run the ustar and ELF parser tests again on an AddressSanitizer build, so
a read one byte past an archive or an image fails the run.

As for the heap: an ASan library loads only into a process started with
libasan, so the tests run in a child pytest with LD_PRELOAD."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from formats_lib import build

HERE = Path(__file__).resolve().parent


def _libasan() -> str | None:
    out = subprocess.run(["cc", "-print-file-name=libasan.so"], check=False, capture_output=True, text=True)
    path = out.stdout.strip()
    return path if out.returncode == 0 and os.path.isabs(path) and os.path.exists(path) else None


@pytest.mark.skipif(os.environ.get("KOS_FORMATS_LIB") == "asan", reason="already the ASan run")
def test_parser_tests_pass_under_address_sanitizer() -> None:
    libasan = _libasan()
    if libasan is None:
        pytest.skip("the compiler has no libasan")
    build("asan")
    env = dict(os.environ)
    env.update(
        KOS_FORMATS_LIB="asan",
        KOS_FORMATS_EXAMPLES="200",
        PYTHONMALLOC="malloc",       # every buffer from malloc, with ASan redzones after it
        LD_PRELOAD=libasan,
        ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1",
        UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1",
    )
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
           str(HERE / "test_ustar.py"), str(HERE / "test_elf.py")]
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert " passed" in proc.stdout
