"""matplotlib (Agg, no display needed) drawings of kos.plot.data, one PNG each."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from kos.plot.data import FREE, SMALL, USED, CacheUse, HeapBlock, TraceSeries, Vma


@functools.cache
def _plt() -> Any:
    """pyplot, imported when the first picture is drawn (a second of CPU: the
    row functions here and every importer of this module need none of it)."""
    import matplotlib

    # Before pyplot is imported: no display is needed or wanted.
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


COLOURS = {USED: "#c0392b", SMALL: "#e67e22", FREE: "#27ae60"}
LABELS = {USED: "allocated block", SMALL: "small object (run slot)", FREE: "free block"}
STRIP_ROWS = 8


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return path


def _row_width(extent: int, rows: int) -> int:
    """Bytes a strip: the extent's share, rounded up to whole 4 KiB pages."""
    share = -(-extent // rows)
    return max(4096, -(-share // 4096) * 4096)


def heap_strip_rows(blocks: list[HeapBlock], base: int, extent: int,
                    rows: int = STRIP_ROWS) -> list[dict[str, list[tuple[int, int]]]]:
    """The heap's first `extent` bytes cut into `rows` strips; for each strip
    and kind, (offset within the strip, length) spans of that kind."""
    width = _row_width(extent, rows)
    out: list[dict[str, list[tuple[int, int]]]] = [{USED: [], SMALL: [], FREE: []} for _ in range(rows)]
    for b in blocks:
        start, end = b.addr - base, min(b.addr - base + b.size, extent)
        while start < end:
            r = start // width
            stop = min(end, (r + 1) * width)
            out[r][b.kind].append((start - r * width, stop - start))
            start = stop
    return out


def heap_strip(blocks: list[HeapBlock], base: int, extent: int, path: Path, title: str) -> Path:
    rows = heap_strip_rows(blocks, base, extent)
    width = _row_width(extent, len(rows))
    fig, ax = _plt().subplots(figsize=(11, 0.45 * len(rows) + 1.4))
    for r, spans in enumerate(rows):
        for kind, parts in spans.items():
            if parts:
                ax.broken_barh([(o / 1024, n / 1024) for o, n in parts], (r - 0.4, 0.8),
                               facecolors=COLOURS[kind], label=LABELS[kind] if r == 0 else None)
    ax.set_yticks(range(len(rows)), [f"{base + r * width:#010x}" for r in range(len(rows))])
    ax.invert_yaxis()
    ax.set_xlim(0, width / 1024)
    ax.set_xlabel("KiB into the row (gaps: headers, run control data, free run slots)")
    ax.set_title(title)
    handles = [_plt().Rectangle((0, 0), 1, 1, color=COLOURS[k]) for k in (USED, SMALL, FREE)]
    ax.legend(handles, [LABELS[k] for k in (USED, SMALL, FREE)], loc="upper center",
              bbox_to_anchor=(0.5, -0.25 if len(rows) > 4 else -0.5), ncol=3, frameon=False)
    return _save(fig, path)


def trace_series(s: TraceSeries, path: Path) -> Path:
    fig, (top, bottom) = _plt().subplots(2, 1, figsize=(10, 6), sharex=True)
    top.plot(s.ops, [100 * u for u in s.utilization], color="#2c3e50")
    top.set_ylabel("utilization %\n(live payload / extent)")
    top.set_ylim(0, 100)
    top.set_title(f"trace {s.name}: {s.ops[-1] if s.ops else 0} operations, {s.failures} failed")
    bottom.plot(s.ops, [100 * f for f in s.free_in_extent], color="#16a085",
                label="free bytes below the extent / extent")
    bottom.plot(s.ops, s.fragmentation, color="#8e44ad", label="1 - largest free / all free (memstats)")
    bottom.set_ylabel("fragmentation %")
    bottom.legend(loc="upper left")
    bottom.set_ylim(0, 100)
    bottom.set_xlabel("operations")
    return _save(fig, path)


def buddy_bars(free: dict[str, list[int]], path: Path) -> Path:
    fig, ax = _plt().subplots(figsize=(10, 4.5))
    orders = max((len(v) for v in free.values()), default=0)
    step = 0.8 / max(1, len(free))
    for z, (zone, counts) in enumerate(free.items()):
        ax.bar([k + z * step for k in range(len(counts))], counts, width=step, label=f"zone {zone}")
    ax.set_xticks([k + 0.4 - step / 2 for k in range(orders)],
                  [f"{k}\n{4 << k} KiB" if k < 8 else f"{k}\n{(4 << k) // 1024} MiB" for k in range(orders)])
    ax.set_xlabel("order (block size)")
    ax.set_ylabel("free blocks")
    ax.set_title("buddy allocator: free blocks per order and zone")
    ax.legend()
    return _save(fig, path)


def slab_bars(caches: list[CacheUse], path: Path) -> Path:
    fig, ax = _plt().subplots(figsize=(9, 0.5 * max(1, len(caches)) + 1.5))
    names = [f"{c.name} ({c.object_size} B)" for c in caches]
    ax.barh(names, [c.total_objs for c in caches], color="#bdc3c7", label="objects in slabs")
    ax.barh(names, [c.active_objs for c in caches], color="#2980b9", label="allocated")
    ax.invert_yaxis()
    ax.set_xlabel("objects")
    ax.set_title("slab caches: occupancy" if caches else "slab caches: none exist")
    if caches:
        ax.legend(loc="lower right")
    return _save(fig, path)


def bench_bars(series: dict[str, dict[str, float]], path: Path, title: str, ylabel: str,
               log: bool = False) -> Path:
    """One group of bars per trace, one bar per allocator."""
    traces = list(series)
    allocs = sorted({a for v in series.values() for a in v})
    fig, ax = _plt().subplots(figsize=(12, 4.5))
    step = 0.8 / max(1, len(allocs))
    for j, a in enumerate(allocs):
        ax.bar([i + j * step for i in range(len(traces))], [series[t].get(a, 0.0) for t in traces],
               width=step, label=a)
    ax.set_xticks([i + 0.4 - step / 2 for i in range(len(traces))], traces, rotation=45, ha="right")
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    return _save(fig, path)


# Colours of VMAs by their protection (maps' first three letters).
PROT_COLOURS = {"r--": "#3498db", "rw-": "#c0392b", "r-x": "#27ae60", "rwx": "#8e44ad",
                "-w-": "#e67e22", "--x": "#16a085", "-wx": "#d35400", "---": "#95a5a6"}


def address_map_rows(vmas: list[Vma]) -> list[tuple[int, int, str, str]]:
    """One row per VMA, in address order: (start, length, colour, label);
    the label is what maps prints for it, plus its size."""
    rows = []
    for v in vmas:
        size = v.end - v.start
        human = f"{size // 1024} KiB" if size < 1 << 20 else f"{size / (1 << 20):g} MiB"
        label = f"{v.start:08x}-{v.end:08x} {v.perms} {human}" + (" [stack]" if v.stack else "")
        rows.append((v.start, size, PROT_COLOURS[v.perms[:3]], label))
    return rows


def address_map(vmas: list[Vma], path: Path, title: str) -> Path:
    """A process's address space: one row per VMA in address order, its bar
    at its place on the address axis (at least a sliver wide, so a page
    among gigabytes still shows), coloured by protection, hatched when
    shared, with what maps prints beside it."""
    rows = address_map_rows(vmas)
    fig, ax = _plt().subplots(figsize=(12, 0.4 * max(1, len(rows)) + 1.8))
    lo = min((v.start for v in vmas), default=0)
    hi = max((v.end for v in vmas), default=lo + 4096)
    sliver = (hi - lo) / 300
    for r, (start, size, colour, label) in enumerate(rows):
        shared = vmas[r].perms[3] == "s"
        ax.broken_barh([(start, max(size, sliver))], (r - 0.4, 0.8), facecolors=colour,
                       hatch="//" if shared else None, edgecolor="black" if shared else colour)
        ax.text(hi + (hi - lo) * 0.01, r, label, va="center", fontsize=8, family="monospace")
    ax.set_xlim(lo, hi)
    ticks = [lo + i * (hi - lo) // 4 for i in range(5)]
    ax.set_xticks(ticks, [f"{t:#010x}" for t in ticks])
    ax.set_yticks([])
    ax.invert_yaxis()
    ax.set_xlabel("virtual address (hatched: shared)")
    ax.set_title(title if rows else f"{title}: no mappings")
    used = [p for p in PROT_COLOURS if any(v.perms[:3] == p for v in vmas)]
    if used:
        ax.legend([_plt().Rectangle((0, 0), 1, 1, color=PROT_COLOURS[p]) for p in used], used,
                  loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / max(1, len(rows))),
                  ncol=len(used), title="protection", frameon=False)
    return _save(fig, path)
