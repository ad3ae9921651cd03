"""The buddy allocator called directly in the running kernel, against a
Python model: random allocations and frees of random orders never overlap,
are aligned to their size, stay out of HighMem without GFP_HIGHMEM, and
everything coalesces back to the state at boot once all is freed.
buddy_check runs after every operation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kos.kernel import Kernel
from kos.kernel.mm import mm_wrapper as mm
from kos.memory.constants import (
    EBUSY,
    EINVAL,
    ENOMEM,
    GFP_DMA,
    GFP_HIGHMEM,
    GFP_KERNEL,
    GFP_THISZONE,
    MAX_ORDER,
    PAGE_SIZE,
    ZONE_DMA_END,
    ZONE_NORMAL_END,
)

pytestmark = pytest.mark.unicorn


def zones_of(stats: dict[str, Any]) -> dict[str, Any]:
    return stats["zones"]


def no_overlap(blocks: dict[int, int], addr: int, order: int) -> bool:
    end = addr + (PAGE_SIZE << order)
    return all(end <= a or a + (PAGE_SIZE << o) <= addr for a, o in blocks.items())


orders = st.integers(min_value=0, max_value=MAX_ORDER)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("alloc"), orders, st.sampled_from([GFP_KERNEL, GFP_DMA, GFP_HIGHMEM])),
        st.tuples(st.just("free"), st.integers(min_value=0, max_value=1 << 16), st.just(0)),
        st.tuples(st.just("badfree"), st.integers(min_value=0, max_value=1 << 16), orders),
    ),
    max_size=60,
)


@settings(max_examples=100, deadline=None)
@given(ops)
def test_random_allocations_match_the_model_and_coalesce_back(live: Kernel, script):
    initial = mm.buddy_stats(kernel=live)
    blocks: dict[int, int] = {}
    try:
        for op, a, b in script:
            if op == "alloc":
                addr = mm.buddy_alloc_zone(a, b, kernel=live)
                if addr == 0:
                    continue
                assert addr % (PAGE_SIZE << a) == 0
                assert no_overlap(blocks, addr, a)
                if b == GFP_DMA:
                    assert addr + (PAGE_SIZE << a) <= ZONE_DMA_END
                elif b == GFP_KERNEL:
                    assert addr + (PAGE_SIZE << a) <= ZONE_NORMAL_END
                blocks[addr] = a
            elif blocks:
                addr = sorted(blocks)[a % len(blocks)]
                if op == "free":
                    assert mm.buddy_free(addr, blocks.pop(addr), kernel=live) == 0
                elif b != blocks[addr]:
                    before = mm.buddy_stats(kernel=live)
                    assert mm.buddy_free(addr, b, kernel=live) == EINVAL
                    after = mm.buddy_stats(kernel=live)
                    assert zones_of(after) == zones_of(before)
            assert mm.buddy_check(kernel=live) == 0
            free = mm.buddy_stats(kernel=live)["free_pages"]
            assert free == initial["free_pages"] - sum(1 << o for o in blocks.values())
    finally:
        for addr, order in blocks.items():
            assert mm.buddy_free(addr, order, kernel=live) == 0
    assert zones_of(mm.buddy_stats(kernel=live)) == zones_of(initial)
    assert mm.buddy_check(kernel=live) == 0


def test_exhausting_every_frame_then_freeing_restores_boot_state(live: Kernel):
    initial = mm.buddy_stats(kernel=live)
    got = []
    for order in range(MAX_ORDER, -1, -1):
        while addr := mm.buddy_alloc(order, kernel=live):
            got.append((addr, order))
    assert sum(1 << o for _, o in got) == initial["free_pages"]
    assert mm.buddy_stats(kernel=live)["free_pages"] == 0
    assert mm.buddy_alloc(0, kernel=live) == 0
    assert mm.buddy_check(kernel=live) == 0
    for addr, order in reversed(got[::2]):
        assert mm.buddy_free(addr, order, kernel=live) == 0
    for addr, order in got[1::2]:
        assert mm.buddy_free(addr, order, kernel=live) == 0
    assert zones_of(mm.buddy_stats(kernel=live)) == zones_of(initial)
    assert mm.buddy_check(kernel=live) == 0


def test_thiszone_never_falls_back(live: Kernel):
    assert mm.buddy_alloc_zone(0, GFP_HIGHMEM | GFP_THISZONE, kernel=live) == 0   # no HighMem at 64 MiB
    a = mm.buddy_alloc_zone(0, GFP_HIGHMEM, kernel=live)
    assert ZONE_DMA_END <= a < ZONE_NORMAL_END
    assert mm.buddy_free(a, 0, kernel=live) == 0
    assert mm.buddy_alloc_zone(0, GFP_DMA | GFP_HIGHMEM, kernel=live) == 0
    assert mm.buddy_alloc_zone(0, 8, kernel=live) == 0


def test_arguments_out_of_range_are_refused(live: Kernel):
    assert mm.buddy_alloc(MAX_ORDER + 1, kernel=live) == 0
    assert mm.buddy_alloc(-1, kernel=live) == 0
    assert mm.buddy_free(-4096, 0, kernel=live) == EINVAL
    assert mm.buddy_free(1 << 40, 0, kernel=live) == EINVAL
    assert mm.buddy_free(0, 0, kernel=live) == EINVAL
    assert mm.buddy_check(kernel=live) == 0


def test_buddy_init_rebuilds_only_when_nothing_is_allocated(live: Kernel):
    initial = mm.buddy_stats(kernel=live)
    total = initial["total_memory"]
    a = mm.buddy_alloc(0, kernel=live)
    assert mm.buddy_init(total, kernel=live) == EBUSY
    assert mm.buddy_free(a, 0, kernel=live) == 0
    assert mm.buddy_init(0, kernel=live) == EINVAL
    assert mm.buddy_init(8192, kernel=live) == ENOMEM              # page 1 alone cannot hold mem_map
    assert zones_of(mm.buddy_stats(kernel=live)) == zones_of(initial)  # and nothing changed
    assert mm.buddy_init(8 << 20, kernel=live) == 0                 # only the low 8 MiB
    small = mm.buddy_stats(kernel=live)
    assert small["zones"]["Normal"]["managed_pages"] == 0
    assert 0 < small["zones"]["DMA"]["managed_pages"] <= (8 << 20) // PAGE_SIZE
    a = mm.buddy_alloc(0, kernel=live)
    assert 0 < a < 8 << 20
    assert mm.buddy_free(a, 0, kernel=live) == 0
    assert mm.buddy_check(kernel=live) == 0
    assert mm.buddy_init(total, kernel=live) == 0
    again = mm.buddy_stats(kernel=live)
    assert zones_of(again) == zones_of(initial) and again["mem_map"] == initial["mem_map"]
