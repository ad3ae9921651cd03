"""The README's benchmark tables, rendered from build/bench.json so the text
cannot drift from what was measured (`./kos bench --readme`).

A generated section sits between two markers, and everything between them
is replaced:

    <!-- bench:kernel_mm -->
    | operation | fast | mean | worst |
    ...
    <!-- /bench:kernel_mm -->

A section whose benchmark part is not in the JSON (`--parts` left it out)
is kept as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kos import atomic

__all__ = ["SECTIONS", "render", "rewrite", "update"]

RANGE = "\N{EN DASH}"
_MARKED = re.compile(r"(<!-- bench:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /bench:(?P=name) -->)", re.S)


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _heap(data: dict[str, Any]) -> str | None:
    host = data.get("host")
    if not host:
        return None
    guest = {r["name"]: r for r in data.get("guest", {}).get("rows", [])}
    rows = []
    for r in host["rows"]:
        g = guest.get(r["name"])
        kos, glibc = r["kos"], r.get("glibc", {})
        rows.append([
            r["name"], "realistic" if r["realistic"] else "adversarial", _n(r["ops"]),
            _pct(kos["utilization"]), _n(kos["instr_per_op"]) if "instr_per_op" in kos else "-",
            _pct(g["utilization"]) if g else "-",
            _n(glibc["instr_per_op"]) if "instr_per_op" in glibc else "-",
            _n(r["kacchi"]["failures"]) if "kacchi" in r else "-",
        ])
    return _table(["trace", "kind", "ops", "KOS util", "KOS instr/op", "KOS util (guest)", "glibc instr/op",
                   "first-fit (kacchiOS) failures"], rows)


def _heap_summary(data: dict[str, Any]) -> str | None:
    host = data.get("host")
    if not host:
        return None
    s = host["summary"]
    kos, glibc, kacchi = s["kos"], s.get("glibc", {}), s.get("kacchi", {})
    lines = [
        f"- KOS: {kos['failures']} failed allocations over {len(host['rows'])} traces; utilization "
        f"{_pct(kos['util_mean_realistic'])} mean over the realistic traces, {_pct(kos['util_min'])} "
        "at the lowest",
    ]
    if "instr_per_op_geomean" in kos:
        lines.append(f"- instructions per operation, geometric mean: KOS {kos['instr_per_op_geomean']:.1f} "
                     f"({kos.get('instr_per_op_with_calls_geomean', 0):.1f} with the driver's call "
                     "wrappers), "
                     f"glibc malloc {glibc.get('instr_per_op_geomean', 0):.1f} "
                     f"({glibc.get('instr_per_op_with_calls_geomean', 0):.1f})")
    scale = {k: v for k, v in host.get("scaling_instr_per_op", {}).items() if v}
    if scale:
        lines.append("- KOS per operation against the number of live blocks: "
                     + ", ".join(f"{name} {v:.0f}" for name, v in scale.items()))
    if kacchi:
        lines.append(f"- the kacchiOS-style first fit (1024-entry block table): {_n(kacchi['failures'])} "
                     f"failed requests on {kacchi['traces_with_failures']} of {len(host['rows'])} traces, "
                     f"{kacchi.get('instr_per_op_geomean', 0):,.0f} instructions per operation "
                     f"(its first {host['baseline_ops_counted']:,} operations)")
    guest = data.get("guest")
    if guest:
        g = guest["summary"]
        lines.append(f"- through the kernel under unicorn: {g['failures']} failed allocations, utilization "
                     f"{_pct(g['utilization_mean_realistic'])} mean over the realistic traces, "
                     f"{_pct(g['utilization_min'])} at the lowest")
    return "\n".join(lines) + "\n"


_MAX_LEVELS = 10   # splits from a 4 MiB block down to one frame: MAX_ORDER


def _kernel_mm(data: dict[str, Any]) -> str | None:
    mm = data.get("kernel_mm")
    if not mm:
        return None

    def spread(rows: list[dict[str, float]], key: str, fmt: str) -> str:
        lo, hi = min(r[key] for r in rows), max(r[key] for r in rows)
        return format(lo, fmt) if lo == hi else f"{lo:{fmt}}{RANGE}{hi:{fmt}}"

    rows = []
    for verb in ("alloc", "free"):
        per_order = [v for k, v in sorted(mm.items()) if k.startswith(f"buddy_{verb} order ")]
        if per_order:
            calls = int(max(r["calls"] for r in per_order))
            rows.append([f"`buddy_{verb}`, orders 0{RANGE}{len(per_order) - 1} (up to {calls} blocks each)",
                         spread(per_order, "fast", ".0f"), spread(per_order, "mean", ".1f"),
                         f"{max(r['worst'] for r in per_order):.0f}"])
    for name, label in (("buddy_alloc 10 splits", "`buddy_alloc` splitting a 4 MiB block down to one frame"),
                        ("buddy_free 10 merges", "`buddy_free` merging one frame up to 4 MiB")):
        if name in mm:
            rows.append([label, f"{mm[name]['fast']:.0f}", "", ""])
    for verb, unit in (("alloc", "splits"), ("free", "merges")):
        levels = [mm.get(f"buddy_{verb} {n} {unit}") for n in range(_MAX_LEVELS + 1)]
        if all(levels):
            first, last = levels[1]["worst"], levels[-1]["worst"]
            step = (last - first) / (_MAX_LEVELS - 1)
            rows.append([f"`buddy_{verb}` with n {unit}, n = 0{RANGE}{_MAX_LEVELS}",
                         f"{levels[0]['worst']:.0f} + {step:.1f} n", "", f"{last:.0f}"])
    for verb in ("alloc", "free"):
        few, many = mm.get(f"buddy_{verb} few free"), mm.get(f"buddy_{verb} many free")
        if few and many:
            rows.append([f"`buddy_{verb}` of one frame, few / many blocks on its free list",
                         f"{few['worst']:.0f} / {many['worst']:.0f}", "", ""])
    for name, r in mm.items():
        if name.startswith("slab_"):
            verb, size = name.split(" ", 1)
            rows.append([f"`{verb}`, {size} objects ({r['calls']:.0f} calls)", f"{r['fast']:.0f}",
                         f"{r['mean']:.1f}", f"{r['worst']:.0f}"])
    return _table(["operation", "fast", "mean", "worst"], rows)


def _machines(data: dict[str, Any]) -> str | None:
    boot, calls = data.get("boot"), data.get("calls")
    if not boot and not calls:
        return None
    out = ""
    if boot:
        out += _table(["emulator", "boot to prompt (median)", "slowest boot", "CPU used at the idle prompt"],
                      [[name, f"{r['boot_seconds_median']:.2f} s", f"{r['boot_seconds_max']:.2f} s",
                        f"{r['idle_cpu_percent']:.1f}%"] for name, r in boot.items()])
    if calls:
        out += ("\n" if out else "") + _table(["direct calls (unicorn, in-process)", ""], [
            ["`pit_ticks` calls per second", _n(calls["pit_ticks_calls_per_second"])],
            ["`kmalloc`/`kfree` calls per second", _n(calls["kmalloc_kfree_calls_per_second"])],
            ["boot to the prompt in-process", f"{calls['boot_to_prompt_seconds']:.2f} s"],
        ])
    return out


SECTIONS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "heap": _heap,
    "heap-summary": _heap_summary,
    "kernel_mm": _kernel_mm,
    "machines": _machines,
}


def render(name: str, data: dict[str, Any]) -> str | None:
    """Section name's text from the benchmark results; None if they lack its part."""
    try:
        fn = SECTIONS[name]
    except KeyError:
        raise ValueError(f"unknown benchmark section {name!r}: the README can hold "
                         f"{', '.join(SECTIONS)}") from None
    return fn(data)


def update(text: str, data: dict[str, Any]) -> tuple[str, list[str]]:
    """text with every marked section rendered afresh; and the names rewritten."""
    done: list[str] = []

    def fill(m: re.Match[str]) -> str:
        body = render(m["name"], data)
        if body is None:
            return m[0]
        done.append(m["name"])
        return m[1] + body + m[4]

    return _MARKED.sub(fill, text), done


def rewrite(readme: Path, bench_json: Path) -> list[str]:
    """Rewrite readme's marked sections from bench_json; the sections rewritten."""
    data = json.loads(bench_json.read_text())
    text, done = update(readme.read_text(), data)
    atomic.write_bytes(readme, text.encode())
    return done
