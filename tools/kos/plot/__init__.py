"""Pictures of a live kernel's memory (`invoke plot`) and of the benchmark
(`invoke bench`), PNG files drawn with matplotlib's Agg backend.

`invoke plot` boots build/kernel.elf under unicorn in-process, replays a
generated trace through kmalloc/krealloc/kfree (utilization and
fragmentation over its operations), draws the heap as a strip map at the
trace's peak, then runs a small seeded page and slab workload and draws the
buddy allocator's free blocks and the slab caches' occupancy, and maps a
few regions into the shell's address space to draw its map of VMAs. The
numbers come from kos.plot.data; tests compare them with the shell's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kos import paths
from kos.progress import Progress, say

OUT = paths.BUILD / "plots"
DEFAULT_TRACE = "shell"
SAMPLES = 120


@dataclass
class Plots:
    files: list[Path] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def exercise_pages(k: Any, seed: int = 1) -> None:
    """A reproducible mix of slab caches and buddy blocks, half of it freed
    again, so the buddy and slab pictures show a used kernel, not a fresh one."""
    from kos.kernel.mm import mm_wrapper

    rng = random.Random(seed)
    for name, size in (("tiny", 32), ("dentry", 64), ("inode", 192), ("buffer", 1000), ("page_cache", 4000)):
        cid = mm_wrapper.slab_create(name, size, 0, kernel=k)
        objs = [mm_wrapper.slab_alloc(cid, kernel=k) for _ in range(rng.randint(20, 300))]
        for o in rng.sample(objs, len(objs) // 2):
            mm_wrapper.slab_free(cid, o, kernel=k)
    blocks = [(order, mm_wrapper.buddy_alloc(order, kernel=k)) for order in
              (rng.choice((0, 0, 0, 1, 1, 2, 3, 4, 6)) for _ in range(120))]
    for order, addr in rng.sample(blocks, len(blocks) // 2):
        if addr:
            mm_wrapper.buddy_free(addr, order, kernel=k)


def exercise_address_space(k: Any) -> None:
    """Mappings of every kind in the shell's address space (private and
    shared, read-only, writable and executable, a stack that grows down),
    with a hole punched in one and part of another made read-only, so the
    map shows splits as well as whole regions."""
    from kos.kernel import abi, s32

    c = abi(k).constant
    mm = k.call("mm_current")
    private, anon = c("MAP_PRIVATE"), c("MAP_ANONYMOUS")
    r, w, x = c("PROT_READ"), c("PROT_WRITE"), c("PROT_EXEC")
    page = 1 << c("PAGE_SHIFT")
    regions = [(16 * page, r | x, private), (64 * page, r | w, private), (8 * page, r, private),
               (256 * page, r | w, c("MAP_SHARED")), (32 * page, r | w, private | c("MAP_GROWSDOWN"))]
    starts = []
    for size, prot, flags in regions:
        addr = s32(k.call("vm_mmap", mm, 0, size, prot, flags | anon))
        if addr < 0:
            raise RuntimeError(f"vm_mmap of {size} bytes failed ({addr})")
        starts.append(addr)
    k.call("vm_munmap", mm, starts[1] + 16 * page, 8 * page)
    k.call("vm_mprotect", mm, starts[3], 64 * page, r)


def trace_path(name: str) -> Path:
    """A generated benchmark trace's file (the traces are generated when missing)."""
    from kos.bench import WORKDIR, gen

    path = WORKDIR / "traces" / f"{name}.rep"
    if not path.exists():
        if name not in gen.WORKLOADS:
            raise SystemExit(f"plot: no trace {name!r}: choose one of {', '.join(gen.WORKLOADS)}")
        say(f"plot: generating the benchmark trace {name}")
        gen.generate_one(WORKDIR / "traces", name)
    return path


def trace_ops(name: str) -> list[tuple[str, int, int]]:
    """The operations of a generated benchmark trace."""
    from kos.bench import trace

    return trace.read_ops(trace_path(name))


def live_plots(kernel: Path = paths.KERNEL_ELF, out: Path = OUT, trace_name: str = DEFAULT_TRACE,
               memory: str = "64M") -> Plots:
    """Every picture of a live kernel; returns the files and the data drawn."""
    from kos.machine.unicorn import UnicornKernel
    from kos.plot import data, render

    ops = trace_ops(trace_name)
    peak = data.peak_op(ops)
    result = Plots()
    with Progress("plot", 6, "pictures") as p, UnicornKernel(kernel, memory) as k:
        k.boot()
        fresh = k.snapshot()
        with Progress(f"plot: replaying {trace_name}", SAMPLES + 1, "samples") as rp:
            series = data.replay(k, ops, trace_name, samples=SAMPLES, progress=rp)
        result.files.append(render.trace_series(series, out / f"trace-{trace_name}.png"))
        result.data["series"] = series
        p.advance(note="utilization and fragmentation")

        k.restore(fresh)
        data.replay(k, ops, trace_name, samples=1, stop=peak)
        summary = data.heap_summary(k)
        blocks = data.heap_blocks(k)
        result.files.append(render.heap_strip(
            blocks, data.heap_base(k), summary["heap_extent"], out / f"heap-{trace_name}.png",
            f"heap after {peak} operations of {trace_name} (its peak): {summary['num_allocations']} blocks, "
            f"{summary['used_heap'] // 1024} KiB used, extent {summary['heap_extent'] // 1024} KiB"))
        result.data["blocks"] = blocks
        result.data["heap"] = summary
        p.advance(note="heap strip map")

        k.restore(fresh)
        result.files.append(render.buddy_bars(data.buddy_free_blocks(k), out / "buddy-boot.png"))
        p.advance(note="buddy at boot")
        exercise_pages(k)
        result.data["buddy"] = data.buddy_free_blocks(k)
        result.files.append(render.buddy_bars(result.data["buddy"], out / "buddy.png"))
        p.advance(note="buddy after the workload")
        result.data["slab"] = data.slab_occupancy(k)
        result.files.append(render.slab_bars(result.data["slab"], out / "slab.png"))
        p.advance(note="slab caches")
        exercise_address_space(k)
        result.data["maps"] = data.address_space(k)
        result.files.append(render.address_map(result.data["maps"], out / "address-space.png",
                                               "the shell's address space (maps)"))
        p.advance(note="address-space map")
    return result


def bench_series(result: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    """From bench.json: per trace, utilization (%) and instructions per
    operation of each allocator that reported them."""
    util: dict[str, dict[str, float]] = {}
    ipo: dict[str, dict[str, float]] = {}
    for row in result.get("host", {}).get("rows", []):
        for alloc in ("kos", "kacchi", "glibc"):
            m = row.get(alloc) or {}
            if m.get("utilization") is not None and alloc != "glibc":
                util.setdefault(row["name"], {})[f"{alloc} (host)"] = 100 * m["utilization"]
            if m.get("instr_per_op"):
                ipo.setdefault(row["name"], {})[alloc] = m["instr_per_op"]
    for row in result.get("guest", {}).get("rows", []):
        util.setdefault(row["name"], {})["kos (i386 guest)"] = 100 * row["utilization"]
    return {"utilization": util, "instr_per_op": ipo}


def bench_plots(result: dict[str, Any], out_dir: Path) -> list[Path]:
    """The benchmark's pictures, beside its JSON."""
    from kos.plot import render

    series = bench_series(result)
    files = []
    if series["utilization"]:
        files.append(render.bench_bars(series["utilization"], out_dir / "bench-utilization.png",
                                       "heap utilization per trace (peak live payload / extent)", "%"))
    if series["instr_per_op"]:
        files.append(render.bench_bars(series["instr_per_op"], out_dir / "bench-instructions.png",
                                       "instructions per operation (callgrind)", "instructions", log=True))
    return files
