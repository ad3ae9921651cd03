"""munmap gives back the page tables it empties, and a page directory with
its last table, by direct calls on the real image: the free frame count
comes back to its baseline and mm->pt_pages (what vmstat, ps and meminfo
print) drops; a table that keeps mapped entries stays, with their data;
fork and COW still work after it. (A directory freed in the loaded
address space, which reloads CR3: mmaptest's a_gib_emptied_by_munmap_is_mapped_again.)"""

from __future__ import annotations

import pytest
from fs_helpers import PAGE, user_read, user_write
from mm_helpers import directories, mm_field

from kos.kernel import abi, call, u32
from kos.machine.unicorn.kernel import UnicornKernel
from kos.memory import constants as c

pytestmark = pytest.mark.unicorn

MIB = 1 << 20
TABLE_SPAN = 2 * MIB
BASE = 0x80000000                    # a 2 MiB-aligned address in the second GiB of user space
RW = c.PROT_READ | c.PROT_WRITE
FLAGS = c.MAP_PRIVATE | c.MAP_ANONYMOUS | c.MAP_FIXED


@pytest.fixture
def k(live: UnicornKernel) -> UnicornKernel:
    """The suite's session of this module (tests/conftest.py's live)."""
    return live


def has_table(k: UnicornKernel, mm: int, va: int) -> bool:
    return u32(call(k, "pgtable_entry", mm, va, 0)) != 0


def populate(k: UnicornKernel, mm: int, va: int, size: int) -> None:
    assert u32(call(k, "vm_mmap", mm, va, size, RW, FLAGS | c.MAP_POPULATE)) == va


def munmap(k: UnicornKernel, mm: int, va: int, size: int) -> None:
    assert call(k, "vm_munmap", mm, va, size) == 0


def test_unmapping_touched_memory_gives_back_every_frame_and_table(k):
    free = call(k, "get_free_pages")
    mm = u32(call(k, "mm_create"))
    populate(k, mm, BASE, 16 * MIB)
    assert mm_field(k, mm, "resident_pages") == 16 * MIB // PAGE
    assert mm_field(k, mm, "pt_pages") == 1 + 8                 # a directory, a table per 2 MiB
    munmap(k, mm, BASE, 16 * MIB)
    assert mm_field(k, mm, "pt_pages") == 0                     # the PDPT is inside struct mm
    assert directories(k, mm) == [0, 0, 0]
    assert call(k, "get_free_pages") == free
    call(k, "mm_destroy", mm)
    assert call(k, "get_free_pages") == free


def test_unmapping_half_a_tables_span_keeps_the_table_and_the_other_half(k):
    mm = u32(call(k, "mm_create"))
    populate(k, mm, BASE, TABLE_SPAN)
    for i in range(0, TABLE_SPAN // PAGE, 64):
        assert user_write(k, mm, BASE + i * PAGE, bytes([i % 251 + 1]) * 8) == 0
    tables = mm_field(k, mm, "pt_pages")
    free = call(k, "get_free_pages")
    munmap(k, mm, BASE, MIB)
    assert mm_field(k, mm, "pt_pages") == tables
    assert call(k, "get_free_pages") == free + MIB // PAGE       # the frames alone
    assert has_table(k, mm, BASE)
    for i in range(MIB // PAGE, TABLE_SPAN // PAGE, 64):
        assert user_read(k, mm, BASE + i * PAGE, 8) == bytes([i % 251 + 1]) * 8
    assert user_read(k, mm, BASE, 1) == abi(k).enum("vm_fault_kind")["FAULT_NOT_MAPPED"]
    call(k, "mm_destroy", mm)


def test_unmapping_across_two_tables_frees_only_the_emptied_one(k):
    mm = u32(call(k, "mm_create"))
    populate(k, mm, BASE, 2 * TABLE_SPAN)
    assert user_write(k, mm, BASE + MIB - PAGE, b"kept") == 0
    tables = mm_field(k, mm, "pt_pages")
    free, pooled = call(k, "get_free_pages"), call(k, "table_pool_pages")
    munmap(k, mm, BASE + MIB, MIB + TABLE_SPAN)        # the first table's upper half, all the second
    assert mm_field(k, mm, "pt_pages") == tables - 1
    # The frames to buddy, the table to buddy or to the table pool.
    back = call(k, "get_free_pages") - free + call(k, "table_pool_pages") - pooled
    assert back == (MIB + TABLE_SPAN) // PAGE + 1
    assert has_table(k, mm, BASE) and not has_table(k, mm, BASE + TABLE_SPAN)
    assert user_read(k, mm, BASE + MIB - PAGE, 4) == b"kept"
    call(k, "mm_destroy", mm)


def test_pages_unmapped_one_by_one_free_the_table_with_the_last(k):
    mm = u32(call(k, "mm_create"))
    populate(k, mm, BASE, 4 * PAGE)
    tables = mm_field(k, mm, "pt_pages")
    for i in range(3):
        munmap(k, mm, BASE + i * PAGE, PAGE)
        assert mm_field(k, mm, "pt_pages") == tables
    munmap(k, mm, BASE + 3 * PAGE, PAGE)
    assert mm_field(k, mm, "pt_pages") == tables - 2            # the table, then its directory
    call(k, "mm_destroy", mm)


def test_fork_after_a_partial_unmap_shares_what_is_left(k):
    free = call(k, "get_free_pages")
    parent = u32(call(k, "mm_create"))
    populate(k, parent, BASE, 2 * TABLE_SPAN)
    assert user_write(k, parent, BASE, b"parent") == 0
    munmap(k, parent, BASE + TABLE_SPAN, TABLE_SPAN)
    child = u32(call(k, "mm_clone", parent, 0))
    assert child
    assert mm_field(k, child, "pt_pages") == mm_field(k, parent, "pt_pages") == 2
    assert user_write(k, child, BASE, b"child!") == 0            # copies on write
    assert user_read(k, parent, BASE, 6) == b"parent"
    munmap(k, child, BASE, TABLE_SPAN)
    assert mm_field(k, child, "pt_pages") == 0
    assert user_read(k, parent, BASE, 6) == b"parent"
    call(k, "mm_destroy", child)
    call(k, "mm_destroy", parent)
    assert call(k, "get_free_pages") == free
