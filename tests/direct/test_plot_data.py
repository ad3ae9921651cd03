"""The pictures' data (kos.plot) against the kernel's own numbers on the same
live kernel: buddyinfo, slabinfo, memstats and the addresses kmalloc gave."""

from __future__ import annotations

import itertools
import re

import pytest

from kos import plot
from kos.bench import guest
from kos.plot import data, render


@pytest.fixture(scope="module")
def whole_ram(live):
    """All of RAM at the first prompt: the workloads here change mem_map and
    buddy frames too, beyond the range the shared snapshot keeps."""
    return live.snapshot()


@pytest.fixture
def fresh(live, whole_ram):
    live.restore(whole_ram)
    return live


def test_buddy_bars_are_buddyinfo_counts(fresh):
    plot.exercise_pages(fresh, seed=7)
    bars = data.buddy_free_blocks(fresh)
    shell = {}
    for line in fresh.console.run("buddyinfo").splitlines():
        m = re.match(r"Node 0, zone\s+(\w+)((?:\s+\d+)+)$", line.strip())
        if m:
            shell[m.group(1)] = [int(n) for n in m.group(2).split()]
    assert bars == shell
    assert sum(bars["Normal"][:5]) > 0            # the workload left small blocks free


def test_slab_bars_are_slabinfo_rows(fresh):
    plot.exercise_pages(fresh, seed=7)
    caches = data.slab_occupancy(fresh)
    rows = {}
    for line in fresh.console.run("slabinfo").splitlines():
        f = line.split()
        if f and f[0].isdigit():
            rows[f[1]] = (int(f[0]), int(f[2]), int(f[3]), int(f[4]))
    assert {c.name: (c.id, c.active_objs, c.total_objs, c.object_size) for c in caches} == rows
    assert [c.name for c in caches] == ["tiny", "dentry", "inode", "buffer", "page_cache"]
    assert all(0 < c.active_objs < c.total_objs for c in caches)


def test_heap_blocks_are_what_kmalloc_returned(fresh):
    sizes = [24, 100, 5000, 70000, 48, 300]
    addrs = [fresh.call("kmalloc", n) for n in sizes]
    fresh.call("kfree", addrs[2])
    blocks = data.heap_blocks(fresh)
    by_addr = {b.addr: b for b in blocks}
    for a, n in zip(addrs, sizes, strict=True):
        b = by_addr[a]
        if a == addrs[2]:
            assert b.kind == data.FREE and b.size >= n
        else:
            assert b.kind == (data.SMALL if n <= data.SMALL_OBJECT else data.USED)
            assert b.size >= n
    stats = data.heap_summary(fresh)
    assert sum(b.kind != data.FREE for b in blocks) == stats["num_allocations"]
    ordered = sorted(blocks, key=lambda b: b.addr)
    assert ordered == blocks
    assert all(x.addr + x.size <= y.addr for x, y in itertools.pairwise(blocks))
    assert blocks[0].addr >= data.heap_base(fresh)
    assert data.heap_base(fresh) == 0x200000      # HEAP_START of the specification


def test_strip_rows_cover_exactly_the_blocks_below_the_extent(fresh):
    for n in (24, 5000, 70000, 48):
        fresh.call("kmalloc", n)
    blocks = data.heap_blocks(fresh)
    base, extent = data.heap_base(fresh), data.heap_summary(fresh)["heap_extent"]
    rows = render.heap_strip_rows(blocks, base, extent)
    for kind in (data.USED, data.SMALL, data.FREE):
        drawn = sum(n for r in rows for _, n in r[kind])
        inside = sum(max(0, min(b.addr + b.size, base + extent) - b.addr) for b in blocks if b.kind == kind)
        assert drawn == inside, kind


def test_trace_series_samples_the_kernels_counters(fresh):
    ops = plot.trace_ops("realloc")[:3000]
    series = data.replay(fresh, ops, "realloc", samples=30)
    assert series.ops[-1] == len(ops) and 30 <= len(series.ops) <= 31
    c = data.heap_summary(fresh)
    assert series.extent[-1] == c["heap_extent"]
    assert series.fragmentation[-1] == c["fragmentation_pct"]
    assert series.utilization[-1] == pytest.approx(series.live_bytes[-1] / c["heap_extent"])
    assert series.failures == 0
    assert all(0 < u <= 1 for u in series.utilization)


def test_bench_plots_show_the_benchmarks_numbers(kernel, tmp_path):
    traces = [{"name": "binary", "realistic": False, "path": str(plot.trace_path("binary"))}]
    result = {"guest": guest.guest_bench(traces, kernel, counted=200)}
    series = plot.bench_series(result)
    util = 100 * result["guest"]["rows"][0]["utilization"]
    assert series["utilization"] == {"binary": {"kos (i386 guest)": util}}
    assert 50 < util <= 100
    files = plot.bench_plots(result, tmp_path)
    assert [f.name for f in files] == ["bench-utilization.png"]     # no host part: no instruction counts
    assert files[0].read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_invoke_plot_draws_every_picture(kernel, tmp_path):
    made = plot.live_plots(kernel, tmp_path, trace_name="binary")
    names = sorted(f.name for f in made.files)
    assert names == ["address-space.png", "buddy-boot.png", "buddy.png", "heap-binary.png", "slab.png",
                     "trace-binary.png"]
    for f in made.files:
        assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f.stat().st_size > 10_000
    assert len(made.data["blocks"]) == made.data["heap"]["num_allocations"] + made.data["heap"]["free_blocks"]


def test_address_map_is_what_maps_prints(fresh, tmp_path):
    plot.exercise_address_space(fresh)
    vmas = data.address_space(fresh)
    shell = []
    for line in fresh.console.run("maps").splitlines():
        f = line.split()
        lo, hi = f[0].split("-")
        shell.append(data.Vma(int(lo, 16), int(hi, 16), f[1], f[-1] == "[stack]"))
    assert vmas == shell
    # Every kind the workload made, and the splits of its munmap and mprotect.
    assert {"r-xp", "rw-p", "r--p", "rw-s", "r--s"} <= {v.perms for v in vmas}
    assert sum(v.stack for v in vmas) == 1
    rows = render.address_map_rows(vmas)
    assert [(start, length) for start, length, _, _ in rows] == [(v.start, v.end - v.start) for v in vmas]
    assert len({colour for _, _, colour, _ in rows}) == len({v.perms[:3] for v in vmas})
    png = render.address_map(vmas, tmp_path / "maps.png", "test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
