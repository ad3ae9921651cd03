"""The heap benchmark's guest half: the same traces replayed through kmalloc,
krealloc and kfree of the real i386 kernel under unicorn (direct calls).

Every operation of every trace runs, for failures and utilization (peak live
payload over the heap extent the kernel reports). Guest instructions are
counted on the first COUNTED_OPS operations of each trace: a code hook per
instruction makes counting ~100 times slower than running. The counts cover
the whole kacchiOS API call (memory.c's checks and interrupt masking
included), not only kernel/mm/heap/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kos import paths
from kos.bench import trace
from kos.memory.kacchi import memory_counters
from kos.progress import track

COUNTED_OPS = 5000


class _Replay:
    """One trace's replay state: live blocks, live payload, its peak."""

    def __init__(self, k: Any) -> None:
        self.k = k
        self.live: dict[int, tuple[int, int]] = {}
        self.live_bytes = self.peak = self.failures = self.instructions = 0

    def run(self, ops: list[tuple[str, int, int]], count: bool) -> None:
        k, live = self.k, self.live
        call = k.call_counted if count else (lambda fn, *a: (k.call(fn, *a), 0))
        for op, i, size in ops:
            if op == "f":
                addr, old = live.pop(i, (0, 0))
                self.live_bytes -= old
                _, cost = call("kfree", addr)
            else:
                prev, old = live.get(i, (0, 0))
                addr, cost = call("kmalloc", size) if op == "a" else call("krealloc", prev, size)
                if addr == 0:
                    self.failures += 1
                else:
                    self.live_bytes += size - old
                    live[i] = (addr, size)
                    self.peak = max(self.peak, self.live_bytes)
            self.instructions += cost


def guest_bench(traces: list[dict[str, Any]], elf: Path = paths.KERNEL_ELF,
                counted: int = COUNTED_OPS) -> dict[str, Any]:
    """Replay each trace on a freshly booted kernel state; rows plus summary."""
    from kos.machine.unicorn import boot

    rows = []
    with boot(elf, "64M") as k:
        fresh = k.snapshot()
        for t in track(traces, "bench guest: traces", unit="traces"):
            k.restore(fresh)
            ops = trace.read_ops(Path(str(t["path"])))
            r = _Replay(k)
            with k.counting():
                r.run(ops[:counted], count=True)
            r.run(ops[counted:], count=False)
            extent = memory_counters(kernel=k)["heap_extent"]
            n = min(counted, len(ops))
            rows.append({"name": t["name"], "realistic": t["realistic"], "ops": len(ops),
                         "failures": r.failures, "utilization": r.peak / extent if extent else 0.0,
                         "instr_ops": n, "instr_per_op": r.instructions / n if n else 0.0})
    real = [r for r in rows if r["realistic"]]
    return {
        "rows": rows,
        "summary": {
            "failures": sum(r["failures"] for r in rows),
            "utilization_mean_realistic": sum(r["utilization"] for r in real) / len(real) if real else 0.0,
            "utilization_min": min((r["utilization"] for r in rows), default=0.0),
        },
        "counted_ops_per_trace": counted,
        "measure": "guest instructions (unicorn code hook), kacchiOS API calls",
    }


def table(result: dict[str, Any]) -> str:
    lines = [f"{'trace':<12} {'ops':>8} {'fail':>5} {'util':>7} {'instr/op':>9}"]
    for r in result["rows"]:
        lines.append(f"{r['name']:<12} {r['ops']:>8} {r['failures']:>5} "
                     f"{100 * r['utilization']:>6.1f}% {r['instr_per_op']:>9.1f}")
    s = result["summary"]
    lines.append(f"guest: {s['failures']} failures, realistic mean utilization "
                 f"{100 * s['utilization_mean_realistic']:.1f}%, min {100 * s['utilization_min']:.1f}%; "
                 f"instructions counted on the first {result['counted_ops_per_trace']} ops of each trace")
    return "\n".join(lines)
