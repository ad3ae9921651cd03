"""The benchmark's summary numbers and its table."""

from __future__ import annotations

import math
from typing import Any


def geomean(values: list[float]) -> float:
    vals = [v for v in values if v > 0]
    return math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else 0.0


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over the traces: utilization (all, realistic), instructions."""
    out: dict[str, Any] = {}
    for alloc in ("kos", "kacchi", "glibc"):
        mine = [r[alloc] for r in rows if alloc in r]
        if not mine:
            continue
        real = [r[alloc] for r in rows if alloc in r and r["realistic"]]
        utils = [m["utilization"] for m in mine if m.get("utilization") is not None]
        s: dict[str, Any] = {
            "failures": sum(m["failures"] for m in mine),
            "traces_with_failures": sum(1 for m in mine if m["failures"]),
        }
        if utils:
            s["util_mean_all"] = sum(utils) / len(utils)
            s["util_min"] = min(utils)
            s["util_mean_realistic"] = sum(m["utilization"] for m in real) / max(1, len(real))
        ipo = [m["instr_per_op"] for m in mine if m.get("instr_per_op")]
        if ipo:
            s["instr_per_op_geomean"] = geomean(ipo)
        wrapped = [m["instr_per_op_with_calls"] for m in mine if m.get("instr_per_op_with_calls")]
        if wrapped:
            s["instr_per_op_with_calls_geomean"] = geomean(wrapped)
        out[alloc] = s
    return out


def table(rows: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    def util(r: dict[str, Any], a: str) -> str:
        m = r.get(a)
        if not m or m.get("utilization") is None:
            return "-"
        # With failures, utilization only covers what fitted: flag it.
        return f"{100 * m['utilization']:.1f}%" + ("*" if m.get("failures") else "")

    def ipo(r: dict[str, Any], a: str) -> str:
        m = r.get(a)
        if not m:
            return "-"
        if m.get("instr_per_op"):
            return f"{m['instr_per_op']:.0f}"
        return f"{m['ns_per_op']:.0f}ns"  # no valgrind: wall time per operation

    head = (f"{'trace':<10} {'kind':<5} {'ops':>7} {'peak KiB':>9} | {'kos util':>8} {'fail':>4} "
            f"{'instr/op':>8} | {'kacchi util':>11} {'fail':>6} {'instr/op':>8} | {'glibc instr/op':>14}")
    lines = [head, "-" * len(head)]
    for r in rows:
        k, b = r["kos"], r.get("kacchi", {})
        lines.append(
            f"{r['name']:<10} {'real' if r['realistic'] else 'adv':<5} {r['ops']:>7} "
            f"{r['peak_bytes'] // 1024:>9} | {util(r, 'kos'):>8} {k['failures']:>4} {ipo(r, 'kos'):>8} | "
            f"{util(r, 'kacchi'):>11} {b.get('failures', '-'):>6} {ipo(r, 'kacchi'):>8} | "
            f"{ipo(r, 'glibc'):>14}")
    lines.append("-" * len(head))
    for a, s in summary.items():
        parts = [f"{a}:"]
        if "util_mean_realistic" in s:
            parts.append(f"util mean realistic {100 * s['util_mean_realistic']:.1f}%, "
                         f"mean all {100 * s['util_mean_all']:.1f}%, min {100 * s['util_min']:.1f}%;")
        parts.append(f"failures {s['failures']} in {s['traces_with_failures']} traces;")
        if "instr_per_op_geomean" in s:
            parts.append(f"instructions/op geomean {s['instr_per_op_geomean']:.1f}")
        if "instr_per_op_with_calls_geomean" in s:
            parts.append(f"({s['instr_per_op_with_calls_geomean']:.1f} with the driver's calls)")
        lines.append(" ".join(parts))
    lines.append("* = the allocator failed requests on that trace: its utilization counts only what fitted.")
    lines.append("instr/op: callgrind, instructions the allocator executes per operation (its entry "
                 "points and all they call; the driver's call wrappers are not counted); "
                 "kacchi: first operations only (see baseline_ops_counted); glibc utilization: "
                 "arena + mmapped bytes, approximate. Without valgrind: ns = the whole replay loop "
                 "per operation (glibc's includes a mallinfo2 call).")
    return "\n".join(lines)
