"""The buddy/slab benchmark on the real image: every row is there, the
allocators are left as found, and the instruction counts have the shape the
algorithms promise (instruction counts are deterministic: this is not a
timed test, and the ceilings are regression bounds with slack, not targets).

Shape, not figures: a buddy call costs at most a fixed part plus a part per
level split or merged (O(MAX_ORDER)), no call costs more because more
blocks are free (the free lists are never walked), and the slab fast paths
stay within twice what they cost when these bounds were set."""

from __future__ import annotations

import itertools

import pytest

from kos.bench import kernel_mm
from kos.kernel import Kernel
from kos.kernel.mm import mm_wrapper as mm
from kos.memory.constants import MAX_ORDER

pytestmark = pytest.mark.unicorn

# Measured with `./kos bench --parts kernel_mm`: alloc 76 + 18 per split,
# free 108 + 37 per merge, an order-0 free that finds its buddy busy 129.
BUDDY_FIXED = 150            # a buddy_alloc or buddy_free that splits or merges nothing
BUDDY_PER_LEVEL = 45         # each split or merge on top
LIST_LENGTH_SLACK = 8        # a long free list may cost this much more than a short one, no more
SLAB_ALLOC_FAST = 2 * 35     # slab_alloc from a partial slab: twice its count of 35 before
SLAB_FREE_FAST = 2 * 39      # slab_free with every check: twice its count of 39 before


def buddy_bound(levels: int) -> int:
    return BUDDY_FIXED + BUDDY_PER_LEVEL * levels


@pytest.fixture(scope="module")
def rows(live: Kernel) -> dict[str, kernel_mm.Row]:
    before = mm.buddy_stats(kernel=live)
    measured = {r.name: r for r in kernel_mm.measure(live)}
    after = mm.buddy_stats(kernel=live)
    assert after["zones"] == before["zones"]
    assert mm.buddy_check(kernel=live) == 0 and mm.slab_check(kernel=live) == 0
    return measured


def test_every_operation_is_measured(rows: dict[str, kernel_mm.Row]):
    for order in range(MAX_ORDER + 1):
        assert f"buddy_alloc order {order}" in rows and f"buddy_free order {order}" in rows
        assert f"buddy_alloc {order} splits" in rows and f"buddy_free {order} merges" in rows
    for name in ("buddy_alloc few free", "buddy_alloc many free", "buddy_free few free",
                 "buddy_free many free", "slab_alloc 64 B", "slab_free 64 B"):
        assert name in rows
    table = kernel_mm.report(list(rows.values()))
    assert table.splitlines()[0].split() == ["operation", "calls", "fast", "mean", "worst"]
    assert len(table.splitlines()) == len(rows) + 1


def test_buddy_costs_a_fixed_part_plus_a_part_per_level(rows: dict[str, kernel_mm.Row]):
    for levels in range(MAX_ORDER + 1):
        for name in (f"buddy_alloc {levels} splits", f"buddy_free {levels} merges"):
            assert rows[name].worst <= buddy_bound(levels), (name, rows[name].worst)


def test_each_level_costs_about_the_same(rows: dict[str, kernel_mm.Row]):
    # Linear in the levels, not just bounded: the cost of level n + 1 over
    # level n is the same for every n, give or take a few instructions.
    for op, unit in (("alloc", "splits"), ("free", "merges")):
        costs = [rows[f"buddy_{op} {n} {unit}"].worst for n in range(MAX_ORDER + 1)]
        steps = [b - a for a, b in itertools.pairwise(costs[1:])]
        assert max(steps) - min(steps) <= 4, (op, costs)
        assert 0 < min(steps) and max(steps) <= BUDDY_PER_LEVEL, (op, steps)


def test_no_buddy_call_anywhere_exceeds_the_bound_for_max_order_levels(rows: dict[str, kernel_mm.Row]):
    for order in range(MAX_ORDER + 1):
        for op in ("alloc", "free"):
            row = rows[f"buddy_{op} order {order}"]
            assert 0 < row.fast <= row.mean <= row.worst <= buddy_bound(MAX_ORDER), (row.name, row.worst)


def test_no_cost_grows_with_the_number_of_free_blocks(rows: dict[str, kernel_mm.Row]):
    assert kernel_mm.MANY_FREE >= 100 * kernel_mm.FEW_FREE
    for op in ("alloc", "free"):
        few, many = rows[f"buddy_{op} few free"], rows[f"buddy_{op} many free"]
        assert many.worst <= few.worst + LIST_LENGTH_SLACK, (op, few.counts, many.counts)
        assert many.worst <= buddy_bound(0)


def test_slab_fast_paths_stay_within_twice_their_old_counts(rows: dict[str, kernel_mm.Row]):
    assert rows["slab_alloc 64 B"].fast <= SLAB_ALLOC_FAST
    assert rows["slab_free 64 B"].fast <= SLAB_FREE_FAST
