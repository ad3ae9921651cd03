"""kos.memory.kacchi reads memory_get_stats/memory_get_counters with the
kernel's own layout: each field lands where its meaning says."""

from __future__ import annotations

from kos.memory.kacchi import memory_counters, memory_stats


def test_fields_follow_the_kernel_layout(guest):
    before_s, before_c = memory_stats(guest), memory_counters(guest)
    p = guest.call("kmalloc", 100000)
    guard = guest.call("kmalloc", 64)                # keeps p's block from merging with the top
    guest.call("kfree", p)
    guest.call("kfree", p)                           # a double free, counted
    s, c = memory_stats(guest), memory_counters(guest)
    assert s["total_heap"] == 0x1E00000
    assert s["total_stacks"] == 32 * 0x4000
    assert s["num_allocations"] == before_s["num_allocations"] + 1
    assert c["allocs"] == before_c["allocs"] + 2
    assert guard
    assert c["frees"] == before_c["frees"] + 1
    assert c["double_frees"] == before_c["double_frees"] + 1
    assert c["heap_extent"] >= p - 0x200000 + 100000
    assert c["peak_heap"] >= 100000
    assert 0 <= c["fragmentation_pct"] <= 100
