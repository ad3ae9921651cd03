"""The kernel heap through direct calls on a live kernel: statistics cost
the same whatever the number of live blocks, kmalloc's defragment
retry turns a failed allocation into a successful one, and memory_init
runs once."""

from __future__ import annotations

import re

import pytest

from kos.machine.unicorn.kernel import UnicornKernel
from kos.memory import kacchi

pytestmark = pytest.mark.unicorn


def memory_stats(k: UnicornKernel) -> dict[str, int]:
    return kacchi.memory_stats(kernel=k)


def memory_counters(k: UnicornKernel) -> dict[str, int]:
    return kacchi.memory_counters(kernel=k)


def _stats_cost(k: UnicornKernel) -> int:
    return k.call_counted("memory_get_stats", k.scratch)[1]


def test_memory_get_stats_costs_the_same_with_10_and_100000_live_blocks(guest: UnicornKernel):
    live = guest
    base = memory_stats(live)["num_allocations"]
    # The 16-byte class gets its runs (and keeps one when they empty), and a
    # 264-byte hole stays in the free lists that neither size below fits
    # in: the statistics see non-empty free lists both times.
    for p in [live.call("kmalloc", 16) for _ in range(300)]:
        live.call("kfree", p)
    hole = live.call("kmalloc", 250)
    assert live.call("kmalloc", 250)                 # keeps the hole from the wilderness
    live.call("kfree", hole)
    sizes = [16, 300]
    for i in range(9):
        assert live.call("kmalloc", sizes[i % 2])
    assert memory_stats(live)["num_allocations"] == base + 10
    few = _stats_cost(live)
    for i in range(100000 - 10):
        assert live.call("kmalloc", sizes[i % 2])
    assert memory_stats(live)["num_allocations"] == base + 100000
    many = _stats_cost(live)
    assert many == few
    assert live.call("memory_check") == 0


def _heap_alloc(k: UnicornKernel, heap: int, size: int) -> int:
    return k.call("heap_alloc", heap, size, 0, 0)


def test_an_allocation_succeeds_only_because_of_the_defragment(guest: UnicornKernel):
    live = guest
    heap = live.read_u32(live.symbol("heap"))
    # Enough 16-byte objects for their class to get runs, all freed again:
    # the class keeps one empty run for reuse.
    small = [live.call("kmalloc", 16) for _ in range(300)]
    for p in small:
        live.call("kfree", p)
    # Fill the heap below kmalloc (no defragment attempt): nothing of 264
    # bytes or more is free afterwards.
    size = 1 << 20
    while size >= 256:
        while _heap_alloc(live, heap, size):
            pass
        size //= 2
    assert _heap_alloc(live, heap, 1500) == 0
    before = memory_counters(live)
    live.drain_serial()
    p = live.call("kmalloc", 1500)
    out = live.drain_serial()
    after = memory_counters(live)
    assert p != 0, out
    m = re.search(r"kmalloc: 1500 bytes: defragment made (\d+) bytes available: allocated", out)
    assert m, out
    assert int(m.group(1)) >= 1500 + 8
    assert after["defragment_runs"] == before["defragment_runs"] + 1
    assert after["failed_allocs"] == before["failed_allocs"] + 1  # the first attempt
    assert "out of memory" not in out
    assert live.call("memory_check") == 0


def test_a_second_memory_init_is_reported_and_keeps_the_heap_and_stacks(guest: UnicornKernel):
    """The specification's "call once": a second call used to lay a fresh
    heap over the live blocks (kfree of one was then invalid) and forget the
    stacks in use while num_stacks still counted them."""
    block = kacchi.kmalloc(100, kernel=guest)
    guest.write(block, b"kept" * 25)
    top = kacchi.stack_alloc(7, kernel=guest)
    assert block and top
    before = memory_stats(guest)
    guest.drain_serial()
    guest.call("memory_init")
    assert guest.drain_serial() == "memory_init: already initialized: the heap and the stacks are kept\n"
    assert memory_stats(guest) == before
    assert kacchi.stack_get_top(7, kernel=guest) == top
    assert guest.read(block, 100) == b"kept" * 25
    assert kacchi.kmalloc(100, kernel=guest) != block
    assert kacchi.kfree_checked(block, kernel=guest) == 0
    assert kacchi.memory_check(kernel=guest) == 0


def test_arguments_beyond_32_bits_are_not_cut_down_to_a_word(guest: UnicornKernel):
    """The direct call packs each argument into 32 bits: kmalloc(2**32 + 16)
    was kmalloc(16), kcalloc(2**32 + 1, 1) allocated one byte and
    stack_alloc(2**32 + 5) gave pid 5 a stack. A size no size_t holds is
    now a request that fails (0) and a pointer or pid a ValueError, all
    before the kernel is called; no int at all is a TypeError."""
    before, counters = memory_stats(guest), memory_counters(guest)
    for f in (lambda: kacchi.kmalloc(2**32 + 16, kernel=guest), lambda: kacchi.kmalloc(-1, kernel=guest),
              lambda: kacchi.kmalloc_aligned(16, 2**32 + 8, kernel=guest),
              lambda: kacchi.kcalloc(2**32 + 1, 1, kernel=guest), lambda: kacchi.kcalloc(1, -8, kernel=guest),
              lambda: kacchi.krealloc(0, 2**32 + 8, kernel=guest)):
        assert f() == 0
    for name, f in (("pid", lambda: kacchi.stack_alloc(2**32 + 5, kernel=guest)),
                    ("pid", lambda: kacchi.stack_get_top(-1, kernel=guest)),
                    ("ptr", lambda: kacchi.kfree(2**32 + 0x200000, kernel=guest)),
                    ("ptr", lambda: kacchi.kfree_checked(-8, kernel=guest)),
                    ("ptr", lambda: kacchi.krealloc(2**32, 16, kernel=guest))):
        with pytest.raises(ValueError, match=rf"^{name} must fit 32 bits"):
            f()
    with pytest.raises(TypeError, match=r"^size must be an int"):
        kacchi.kmalloc("10", kernel=guest)                           # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^align must be an int"):
        kacchi.kmalloc_aligned(2**32, "8", kernel=guest)             # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^pid must be an int"):
        kacchi.stack_free(5.0, kernel=guest)                         # type: ignore[arg-type]
    assert memory_stats(guest) == before
    assert memory_counters(guest) == counters
    assert kacchi.stack_get_top(5, kernel=guest) == 0
