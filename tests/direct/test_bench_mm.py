"""The buddy/slab benchmark on the real image: every row is there, the
allocators are left as found, and the instruction counts stay within the
budgets (instruction counts are deterministic: this is not a timed test)."""

from __future__ import annotations

import pytest

from kos.bench import kernel_mm
from kos.kernel import Kernel
from kos.kernel.mm import mm_wrapper as mm
from kos.memory.constants import MAX_ORDER

pytestmark = pytest.mark.unicorn

BUDDY_CALL_BUDGET = 150      # every buddy_alloc (ten splits too) and every buddy_free of the run
SPLIT_BUDGET = 10            # instructions one more split adds to a buddy_alloc
MERGE_BUDGET = 16            # and one more merge to a buddy_free
TEN_MERGES_BUDGET = 220      # a free merging through all ten orders: above 150, see below
SLAB_ALLOC_FAST_BUDGET = 40  # slab_alloc when the first partial slab has a free object
SLAB_FREE_FAST_BUDGET = 40   # slab_free with its checks: cache, object start, double free


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
    for name in ("buddy_alloc 10 splits", "buddy_free 10 merges", "slab_alloc 64 B", "slab_free 64 B"):
        assert name in rows
    table = kernel_mm.report(list(rows.values()))
    assert table.splitlines()[0].split() == ["operation", "calls", "fast", "mean", "worst"]
    assert len(table.splitlines()) == len(rows) + 1


def test_buddy_stays_within_its_budget_at_every_order(rows: dict[str, kernel_mm.Row]):
    for order in range(MAX_ORDER + 1):
        for op in ("alloc", "free"):
            row = rows[f"buddy_{op} order {order}"]
            assert 0 < row.fast <= row.mean <= row.worst <= BUDDY_CALL_BUDGET, (row.name, row.worst)
    assert rows["buddy_alloc 10 splits"].worst <= BUDDY_CALL_BUDGET


def test_buddy_splits_and_merges_cost_a_bounded_amount_each(rows: dict[str, kernel_mm.Row]):
    # O(MAX_ORDER): ten splits or merges cost at most ten steps more than
    # none. A merge step (find the buddy, check it, take it off its list,
    # maybe clear its order's nonempty bit, clear its PG_free) is about 15
    # instructions, so a free that merges through all ten orders stays above
    # BUDDY_CALL_BUDGET: bounded, but not within it.
    assert rows["buddy_alloc 10 splits"].worst <= rows["buddy_alloc order 10"].fast + 10 * SPLIT_BUDGET
    assert rows["buddy_free 10 merges"].worst <= rows["buddy_free order 10"].fast + 10 * MERGE_BUDGET
    assert rows["buddy_free 10 merges"].worst <= TEN_MERGES_BUDGET


def test_slab_fast_paths_are_short(rows: dict[str, kernel_mm.Row]):
    assert rows["slab_alloc 64 B"].fast <= SLAB_ALLOC_FAST_BUDGET
    assert rows["slab_free 64 B"].fast <= SLAB_FREE_FAST_BUDGET
