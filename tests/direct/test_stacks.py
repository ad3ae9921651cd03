"""Process stacks and kcalloc's overflow check through direct calls."""

from __future__ import annotations

import pytest

from kos.machine.unicorn.kernel import GuestFault, UnicornKernel
from kos.memory.constants import (
    MAX_PROCESS_STACKS,
    STACK_GUARD_SIZE,
    STACK_REGION_START,
    STACK_SIZE,
    STACK_SLOT_SIZE,
)
from kos.memory.kacchi import kcalloc, memory_counters, memory_stats


def test_stack_alloc_gives_a_zeroed_slot_and_the_getters_agree(guest: UnicornKernel):
    top = guest.call("stack_alloc", 7)
    base = guest.call("stack_get_base", 7)
    assert top and base == top - STACK_SIZE
    assert guest.call("stack_get_top", 7) == top
    assert (base - STACK_REGION_START - STACK_GUARD_SIZE) % STACK_SLOT_SIZE == 0
    assert guest.read(base, STACK_SIZE) == bytes(STACK_SIZE)
    assert memory_stats(kernel=guest)["num_stacks"] == 1


def test_every_slot_once_then_refusals_are_reported(guest: UnicornKernel):
    tops = [guest.call("stack_alloc", 100 + i) for i in range(MAX_PROCESS_STACKS)]
    assert all(tops) and len(set(tops)) == MAX_PROCESS_STACKS
    assert sorted(tops) == [STACK_REGION_START + (i + 1) * STACK_SLOT_SIZE for i in range(MAX_PROCESS_STACKS)]
    guest.drain_serial()
    assert guest.call("stack_alloc", 999) == 0
    assert f"stack_alloc: pid 999: all {MAX_PROCESS_STACKS} stacks in use" in guest.drain_serial()
    assert guest.call("stack_alloc", 100) == 0
    assert "stack_alloc: pid 100: already has a stack" in guest.drain_serial()
    assert memory_counters(kernel=guest)["stack_errors"] == 2
    assert memory_stats(kernel=guest)["num_stacks"] == MAX_PROCESS_STACKS


def test_stack_free_releases_the_slot_for_reuse(guest: UnicornKernel):
    top = guest.call("stack_alloc", 1)
    guest.write(top - 4, b"used")
    guest.call("stack_free", 1)
    assert guest.call("stack_get_base", 1) == 0
    assert guest.call("stack_get_top", 1) == 0
    assert guest.call("stack_alloc", 2) == top              # the same slot, zeroed again
    assert guest.read(top - 4, 4) == bytes(4)


def test_freeing_a_pid_without_a_stack_is_reported(guest: UnicornKernel):
    guest.call("stack_free", 42)
    assert "stack_free: pid 42: has no stack" in guest.drain_serial()
    assert memory_counters(kernel=guest)["stack_errors"] == 1
    assert guest.call("stack_get_base", 42) == 0


def test_the_guard_page_below_a_stack_faults(guest: UnicornKernel):
    base = guest.call("stack_alloc", 3) - STACK_SIZE
    guest.call("memset", base, 0xAA, 4)                       # the stack itself is writable
    with pytest.raises(GuestFault) as exc:
        guest.call("memset", base - 4, 0xAA, 4)
    assert (exc.value.vector, exc.value.cr2, exc.value.err) == (14, base - 4, 2)


@pytest.mark.parametrize("num,size", [(0x10000, 0x10001), (0xFFFFFFFF, 2), (2, 0x80000000)])
def test_kcalloc_refuses_a_product_that_overflows(guest: UnicornKernel, num: int, size: int):
    live = memory_stats(kernel=guest)["num_allocations"]        # the boot's own blocks
    assert kcalloc(num, size, kernel=guest) == 0
    assert f"kcalloc: {num} * {size} bytes: size overflows" in guest.drain_serial()
    assert memory_counters(kernel=guest)["bad_sizes"] == 1
    assert memory_stats(kernel=guest)["num_allocations"] == live


def test_kcalloc_at_the_edge_of_overflow_is_only_out_of_memory(guest: UnicornKernel):
    assert kcalloc(0x10000, 0x10000 - 1, kernel=guest) == 0  # fits in 32 bits, too big for the heap
    out = guest.drain_serial()
    assert "size overflows" not in out and "out of memory" in out
    assert memory_counters(kernel=guest)["bad_sizes"] == 0
    p = kcalloc(1000, 24, kernel=guest)
    assert p and guest.read(p, 24000) == bytes(24000)
