"""Build the replay driver (bench/replay.c) and run traces through it.

Utilization, failures and time come from a native run; instructions per
operation from a callgrind run that collects only inside the driver's bench_*
wrappers, i.e. the allocator itself plus one call and return per operation.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [ROOT / "bench" / "replay.c", ROOT / "bench" / "kacchi.c", ROOT / "kernel" / "mm" / "heap.c"]
HEADERS = [ROOT / "bench" / "kacchi.h", ROOT / "kernel" / "mm" / "heap.h"]


def build_driver(outdir: Path) -> Path:
    """Compile the driver with the host compiler (-O2) unless it is up to date."""
    outdir.mkdir(parents=True, exist_ok=True)
    exe = outdir / "replay"
    newest = max(p.stat().st_mtime for p in SOURCES + HEADERS)
    if not exe.exists() or exe.stat().st_mtime < newest:
        cmd = ["cc", "-O2", "-g", "-Wall", "-Wextra", "-Werror", *map(str, SOURCES), "-o", str(exe)]
        subprocess.run(cmd, check=True)
    return exe


def replay(exe: Path, allocator: str, trace: Path, max_ops: int | None = None,
           check: bool = False) -> dict[str, float]:
    """One native replay: the driver's JSON line as a dict."""
    cmd = [str(exe), allocator, str(trace)]
    if max_ops is not None:
        cmd += ["--max-ops", str(max_ops)]
    if check:
        cmd.append("--check")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def have_callgrind() -> bool:
    return shutil.which("valgrind") is not None


def instructions(exe: Path, allocator: str, trace: Path, max_ops: int | None = None) -> tuple[int, int]:
    """(instructions executed inside the allocator, operations replayed)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = [
            "valgrind", "--tool=callgrind", "--collect-atstart=no",
            f"--toggle-collect=bench_{allocator}_*", f"--callgrind-out-file={out}",
            str(exe), allocator, str(trace),
        ]
        if max_ops is not None:
            cmd += ["--max-ops", str(max_ops)]
        proc = subprocess.run(cmd, check=True, capture_output=True, text=True)
        result = json.loads(proc.stdout)
        text = out.read_text()
    m = re.search(r"^(?:summary|totals): (\d+)", text, re.MULTILINE)
    if m is None:
        raise RuntimeError(f"no instruction total in callgrind output for {trace}")
    return int(m.group(1)), int(result["ops"])
