"""Build the replay driver (bench/replay.c) and run traces through it.

Utilization, failures and time come from a native run; instructions per
operation from a callgrind run that collects only inside the driver's bench_*
wrappers. The wrappers' own instructions (their frame, loading the allocator
handle and arguments, the call, their return: 6 to 9 per operation) are the
driver's and are subtracted, so the count is what the allocator executes from
its entry to its return, everything it calls included.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAP = ROOT / "kernel" / "mm" / "heap"
# The heap's memset and memcpy are the kernel's (kernel/lib/string.c), so the
# driver measures the copies the kernel makes, not the C library's.
SOURCES = [ROOT / "bench" / "replay.c", ROOT / "bench" / "kacchi.c", *sorted(HEAP.glob("*.c")),
           ROOT / "kernel" / "lib" / "string.c"]
HEADERS = [ROOT / "bench" / "kacchi.h", *sorted(HEAP.glob("*.h")), ROOT / "kernel" / "lib" / "string.h"]


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


def wrapper_self_cost(callgrind_out: str) -> int:
    """Instructions executed in the bench_* wrappers themselves (callgrind
    output format: cost lines under fn=, the line after calls= is the
    inclusive cost of that call and belongs to the callee)."""
    names: dict[str, str] = {}
    current = ""
    after_call = False
    total = 0
    for line in callgrind_out.splitlines():
        if line.startswith("fn="):
            m = re.match(r"fn=(\(\d+\))?\s*(.*)", line)
            assert m is not None
            ref, name = m.group(1), m.group(2)
            if ref and name:
                names[ref] = name
            current = name or names.get(ref or "", "")
            continue
        if line.startswith(("cfn=", "cfi=", "cfl=", "cob=")):
            m = re.match(r"cfn=(\(\d+\))\s+(.+)", line)
            if m:
                names[m.group(1)] = m.group(2)
            continue
        if line.startswith("calls="):
            after_call = True
            continue
        if line[:1] in "0123456789+-*" and line.strip():
            if after_call:
                after_call = False
            elif current.startswith("bench_"):
                total += int(line.split()[-1])
    return total


def instructions(exe: Path, allocator: str, trace: Path,
                 max_ops: int | None = None) -> tuple[int, int, int]:
    """(instructions executed inside the allocator, operations replayed,
    instructions of the driver's wrappers around those calls)."""
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
    driver = wrapper_self_cost(text)
    return int(m.group(1)) - driver, int(result["ops"]), driver
