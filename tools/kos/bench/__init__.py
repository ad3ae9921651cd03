"""The benchmarks behind `./kos bench`; run_bench() runs the parts asked for
and writes their results to build/bench.json, from which kos.bench.readme
renders the README's tables.

heap (host_bench here): the generated traces (kos.bench.gen) replayed on
the host build of kernel/mm/heap/ (bench/replay.c), on the kacchiOS
first-fit baseline and on glibc malloc: utilization (peak live payload over
the heap extent used), failures and instructions per operation (callgrind,
when valgrind is installed; the allocator's own instructions, see
kos.bench.replay). guest: the same traces through the real i386 kernel's
kmalloc under unicorn (kos.bench.guest). kernel_mm: buddy and slab
instructions per call; calls: direct calls per second; boot: boot time and
idle CPU on each emulator.

A run of some parts (`--parts`) replaces those parts in bench.json and keeps
the others; its "runs" table says, for each part, when it last ran and on
which kernel image.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kos import atomic
from kos.bench import gen, replay, report
from kos.progress import Progress, say

ROOT = Path(__file__).resolve().parents[3]
WORKDIR = ROOT / "build" / "bench"
DEFAULT_OUT = ROOT / "build" / "bench.json"

# The baseline is O(n) per operation over its 1024-entry table; under callgrind
# only the first BASELINE_OPS operations of each trace are counted.
BASELINE_OPS = 5000


def _measure(exe: Path, trace: Path, callgrind: bool) -> dict[str, dict[str, Any]]:
    res: dict[str, dict[str, Any]] = {}
    for alloc in ("kos", "kacchi", "glibc"):
        r: dict[str, Any] = replay.replay(exe, alloc, trace, check=alloc == "kos")
        if alloc == "glibc":
            r["utilization_note"] = "extent = glibc arena + mmapped bytes (approximate)"
        if callgrind:
            max_ops = BASELINE_OPS if alloc == "kacchi" else None
            instr, ops, driver = replay.instructions(exe, alloc, trace, max_ops)
            r["instructions"] = instr
            r["instr_per_op"] = instr / ops if ops else 0.0
            r["instr_ops"] = ops
            r["driver_instructions"] = driver
            r["instr_per_op_with_calls"] = (instr + driver) / ops if ops else 0.0
        res[alloc] = r
    return res


def host_bench(workdir: Path = WORKDIR, callgrind: bool | None = None) -> dict[str, Any]:
    """Replay every generated trace on the host build; rows plus summary."""
    traces = gen.generate(workdir / "traces")
    exe = replay.build_driver(workdir)
    if callgrind is None:
        callgrind = replay.have_callgrind()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool, \
            Progress("bench heap: host traces", len(traces), "traces") as p:
        def measure(t: dict[str, object]) -> dict[str, dict[str, Any]]:
            r = _measure(exe, Path(str(t["path"])), callgrind)
            p.advance(note=str(t["name"]))
            return r

        results = list(pool.map(measure, traces))
    rows = [{**t, **r} for t, r in zip(traces, results, strict=True)]
    summary = report.summarize(rows)
    scale = {r["name"]: r["kos"].get("instr_per_op") for r in rows if r["name"].startswith("scale")}
    return {
        "rows": rows,
        "summary": summary,
        "scaling_instr_per_op": scale,
        "measure": "callgrind" if callgrind else "wall time only",
        "baseline_ops_counted": BASELINE_OPS,
    }


PARTS = ("heap", "guest", "kernel_mm", "vm", "proc", "files", "calls", "boot")
# The key each part's results have in bench.json (the heap part's are the host's).
KEYS = {part: "host" if part == "heap" else part for part in PARTS}
KERNEL = ROOT / "build" / "kernel.elf"


def _run_of(kernel: Path) -> dict[str, str]:
    """When a run finished, and the kernel image it measured (the heap part
    measures the host build of the same sources, and is stamped alike)."""
    digest = hashlib.sha256(kernel.read_bytes()).hexdigest()[:16] if kernel.exists() else "none"
    return {"finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "kernel_sha256": digest}


def merge(previous: dict[str, Any], fresh: dict[str, Any], kernel: Path | None = None) -> dict[str, Any]:
    """previous with the parts in fresh (keyed by part name) replaced and
    stamped in its "runs" table (with kernel, build/kernel.elf unless
    given); the other parts and their stamps are kept."""
    merged = {k: v for k, v in previous.items() if k != "runs"}
    runs = dict(previous.get("runs", {}))
    stamp = _run_of(kernel or KERNEL)
    for part, value in fresh.items():
        merged[KEYS[part]] = value
        runs[part] = stamp
    merged["runs"] = {p: runs[p] for p in PARTS if p in runs}
    return merged


def _previous(out_json: Path) -> dict[str, Any]:
    """What out_json holds; an unreadable one is said so and set aside (as
    out_json + ".unreadable") rather than lost."""
    if not out_json.exists():
        return {}
    try:
        data = json.loads(out_json.read_text())
        if isinstance(data, dict):
            return data
        why = "not a JSON object"
    except (ValueError, UnicodeDecodeError) as e:
        why = str(e)
    aside = out_json.with_name(out_json.name + ".unreadable")
    os.replace(out_json, aside)
    say(f"bench: {out_json} was unreadable ({why}): moved to {aside.name}, starting anew")
    return {}


def run_bench(out_json: Path = DEFAULT_OUT, parts: tuple[str, ...] = PARTS) -> dict[str, Any]:
    """Run the benchmark parts, merge their JSON into out_json (see merge),
    print tables; return everything out_json now holds.

    heap: the traces on the host build (callgrind); guest: the same traces
    through the kernel's kmalloc under unicorn; kernel_mm: buddy and slab
    instructions per call; vm: mmap/munmap/mprotect/fault instructions and
    VMA and page-table costs; proc: getpid, context switch, fork, exec
    and COW fault instructions; files: read() from the page cache, a shared
    file fault, the frames a second text mapping costs; calls: direct calls
    per second; boot: boot time and idle CPU on each available emulator."""
    from kos.bench import boot, calls, files, guest, kernel_mm, proc, vm
    from kos.machine import qemu_available

    result: dict[str, Any] = {}          # by key in bench.json, for the tables printed
    traces = gen.generate(WORKDIR / "traces") if {"heap", "guest"} & set(parts) else []
    if "heap" in parts:
        say("bench heap: the traces on the host build")
        host = host_bench()
        result["host"] = host
        print(report.table(host["rows"], host["summary"]))
        if host["scaling_instr_per_op"]:
            print("per-op cost vs live blocks:", ", ".join(
                f"{k} {v:.1f}" for k, v in host["scaling_instr_per_op"].items() if v))
    if "guest" in parts:
        say("bench guest: the traces through the kernel's kmalloc under unicorn")
        result["guest"] = guest.guest_bench(traces)
        print("\n" + guest.table(result["guest"]))
    if "kernel_mm" in parts:
        say("bench kernel_mm: buddy and slab instructions per call")
        rows = kernel_mm.measure()
        result["kernel_mm"] = kernel_mm.as_dict(rows)
        print("\n" + kernel_mm.report(rows))
    if "vm" in parts:
        say("bench vm: mmap, mprotect and fault instructions under unicorn; touching 64 MiB under QEMU")
        result["vm"] = vm.measure()
        if qemu_available():
            result["vm"]["qemu_touch_64mib"] = vm.measure_qemu_touch()
        print("\n" + vm.report(result["vm"]))
    if "proc" in parts:
        say("bench proc: system call, switch, fork, exec and COW instructions under unicorn")
        result["proc"] = proc.measure()
        print("\n" + proc.report(result["proc"]))
    if "files" in parts:
        say("bench files: page-cache read, shared file fault, text frames")
        result["files"] = files.measure()
        print("\n" + files.report(result["files"]))
    if "calls" in parts:
        say("bench calls: direct calls per second")
        result["calls"] = calls.measure()
        print("\n" + calls.report(result["calls"]))
    if "boot" in parts:
        say("bench boot: boot time and idle CPU")
        emulators = ["qemu", "unicorn"] if qemu_available() else ["unicorn"]
        result["boot"] = {e: boot.measure(e) for e in emulators}
        print()
        for e, r in result["boot"].items():
            print(f"boot {e}: median {r['boot_seconds_median']:.3f} s, max {r['boot_seconds_max']:.3f} s, "
                  f"idle CPU {r['idle_cpu_percent']:.1f}%")
    fresh = {part: result[KEYS[part]] for part in parts}
    merged = merge(_previous(out_json), fresh)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(out_json, json.dumps(merged, indent=1).encode())
    kept = [p for p in PARTS if p not in parts and KEYS[p] in merged]
    print(f"written {out_json}" + (f" (kept from earlier runs: {', '.join(kept)})" if kept else ""))
    return merged
