"""A refused mmap, munmap or mlock leaves the address space as it was: the
same VMAs, the same pages with the same bytes, the same counters and free
frames, and the reason kept in mm->why. The refusals here are the
kernel's out-of-memory paths that come after a first change (a VMA split,
an unmap), reached by failing an allocation from the emulator
(failing.FailingCalls)."""

from __future__ import annotations

import pytest
from failing import FailingCalls
from fs_helpers import PAGE, user_read, user_write
from mm_helpers import mm_field, vma_spans

from kos.kernel import call, s32, u32
from kos.machine.unicorn.kernel import UnicornKernel
from kos.memory import constants as c

pytestmark = pytest.mark.unicorn

USER = 0x40000000
RW = c.PROT_READ | c.PROT_WRITE
FIXED = c.MAP_PRIVATE | c.MAP_ANONYMOUS | c.MAP_FIXED
COUNTERS = ("total_pages", "resident_pages", "locked_pages", "pt_pages", "nr_vmas")


@pytest.fixture
def k(live: UnicornKernel) -> UnicornKernel:
    return live


def state(k: UnicornKernel, mm: int) -> tuple[object, ...]:
    return (vma_spans(k, mm), [mm_field(k, mm, f) for f in COUNTERS], call(k, "get_free_pages"))


def why(k: UnicornKernel, mm: int) -> str:
    return k.read_cstring(mm_field(k, mm, "why"))


def full_vma_array(k: UnicornKernel) -> tuple[int, int]:
    """An address space whose inline VMA array has one slot left: seven
    VMAs that cannot merge (no two neighbours alike), the fourth rwx,
    three pages long and written. Returns (mm, its middle page)."""
    mm = u32(call(k, "mm_create"))
    va = USER
    for i, prot in enumerate([RW, c.PROT_READ, RW, RW | c.PROT_EXEC, RW, c.PROT_READ, RW]):
        pages = 3 if i == 3 else 1
        assert u32(call(k, "vm_mmap", mm, va, pages * PAGE, prot, FIXED)) == va
        if i == 3:
            middle = va + PAGE
        va += pages * PAGE
    for p in range(3):
        assert user_write(k, mm, middle + (p - 1) * PAGE, bytes([0x51 + p]) * 8) == 0
    assert mm_field(k, mm, "nr_vmas") == 7 and mm_field(k, mm, "cap_vmas") == 8
    return mm, middle


def test_a_munmap_refused_for_a_vma_slot_leaves_the_vmas_unsplit(k):
    free = call(k, "get_free_pages")
    mm, middle = full_vma_array(k)
    before = state(k, mm)
    fail = FailingCalls(k, "kmalloc", ("grow", "vma_split"), 1)  # the second split's larger array
    try:
        assert s32(call(k, "vm_munmap", mm, middle, PAGE)) == c.ENOMEM
        assert fail.calls == 1
    finally:
        fail.armed = False
    assert state(k, mm) == before and why(k, mm) == "out of memory for the VMA table"
    assert user_read(k, mm, middle, 8) == bytes([0x52]) * 8
    assert call(k, "vm_munmap", mm, middle, PAGE) == 0           # with the memory, it splits
    assert mm_field(k, mm, "nr_vmas") == 8
    call(k, "mm_destroy", mm)
    assert call(k, "get_free_pages") == free


def test_an_mlock_refused_for_a_vma_slot_leaves_the_vmas_unsplit(k):
    free = call(k, "get_free_pages")
    mm, middle = full_vma_array(k)
    before = state(k, mm)
    fail = FailingCalls(k, "kmalloc", ("grow", "vma_split"), 1)
    try:
        assert s32(call(k, "vm_mlock", mm, middle, PAGE, 1)) == c.ENOMEM
        assert fail.calls == 1
    finally:
        fail.armed = False
    assert state(k, mm) == before
    call(k, "mm_destroy", mm)
    assert call(k, "get_free_pages") == free


@pytest.mark.parametrize("nth", [1, 2])          # the object, then its page array
def test_map_fixed_refused_for_a_shared_object_keeps_the_mapping_it_would_replace(k, nth):
    free = call(k, "get_free_pages")
    mm = u32(call(k, "mm_create"))
    assert u32(call(k, "vm_mmap", mm, USER, 2 * PAGE, RW, FIXED)) == USER
    assert user_write(k, mm, USER, b"old!") == 0 and user_write(k, mm, USER + PAGE, b"too!") == 0
    before = state(k, mm)
    fail = FailingCalls(k, "kcalloc", ("object_create", "do_mmap"), nth)
    try:
        shared = c.MAP_SHARED | c.MAP_ANONYMOUS | c.MAP_FIXED
        assert s32(call(k, "vm_mmap", mm, USER, 2 * PAGE, RW, shared)) == c.ENOMEM
        assert fail.calls == nth
    finally:
        fail.armed = False
    assert state(k, mm) == before and why(k, mm) == "out of memory for the shared object"
    assert user_read(k, mm, USER, 4) == b"old!" and user_read(k, mm, USER + PAGE, 4) == b"too!"
    call(k, "mm_destroy", mm)
    assert call(k, "get_free_pages") == free
