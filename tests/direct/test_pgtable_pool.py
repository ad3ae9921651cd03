"""The page-table pool (kernel/mm/vm/pgtable.c) hands out tables unread,
trusting them to be all zeros: a frame that comes back to it with an entry
still set is reported, counted and kept out, so the next address space never
inherits another's mappings; and table_pool_check counts the pool's frames
that are not zero. By direct calls on the real image, with all of RAM put
back after each test (a refused table keeps frames of buddy's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fs_helpers import PAGE, user_write
from mm_helpers import directories, mm_field

from kos.kernel import abi, call, u32
from kos.machine.unicorn.kernel import Snapshot, UnicornKernel
from kos.memory import constants as c

pytestmark = pytest.mark.unicorn

VA = 0x80000000                        # the second GiB of user space: its own directory
REFUSED = "pgtable_free_page: table {:#010x}: {} of its entries still set: kept out of the pool"


@pytest.fixture(scope="module")
def whole_ram(live: UnicornKernel) -> Snapshot:
    return live.snapshot()


@pytest.fixture
def k(live: UnicornKernel, whole_ram: Snapshot) -> Iterator[UnicornKernel]:
    live.restore(whole_ram)
    live.drain_serial()
    yield live
    live.restore(whole_ram)


def phys(k: UnicornKernel, page: int) -> int:
    lay = abi(k).struct("page")
    return int.from_bytes(k.read(page + lay.offsetof("phys"), lay.fields["phys"].size), "little")


def test_a_pool_table_given_back_with_an_entry_set_never_comes_out_again(k):
    full = abi(k).constant("TABLE_POOL_PAGES")
    page = u32(call(k, "pgtable_alloc_page"))
    table = phys(k, page)
    k.write(table + 8 * 7, (0x1234000 | 0x7).to_bytes(8, "little"))
    call(k, "pgtable_free_page", page)
    # Every table the pool hands out now is zeros: the dirty one is not among them.
    handed = [u32(call(k, "pgtable_alloc_page")) for _ in range(full - 1)]
    assert page not in handed
    assert all(k.read(phys(k, p), PAGE) == bytes(PAGE) for p in handed)
    assert REFUSED.format(table, 1) in k.drain_serial()
    assert call(k, "table_pool_refusals") == 1


def test_a_directory_freed_with_a_table_under_it_is_refused(k):
    """The bug the check exists for: a directory's table count says it is
    empty while a table is still in it. Before the check, the pool took the
    directory back and the next address space found that table mapped."""
    mm = u32(call(k, "mm_create"))
    flags = c.MAP_PRIVATE | c.MAP_ANONYMOUS | c.MAP_FIXED
    assert u32(call(k, "vm_mmap", mm, VA, PAGE, c.PROT_READ | c.PROT_WRITE, flags)) == VA
    assert user_write(k, mm, VA, b"secret") == 0
    directory = directories(k, mm)[1]
    assert directory
    lay = abi(k).struct("mm")
    width = lay.fields["pd_tables"].size // 3
    k.write(mm + lay.offsetof("pd_tables") + width, bytes(width))      # the count lies: "no table"
    call(k, "mm_directory_trim", mm, VA)
    assert directories(k, mm)[1] == 0
    assert REFUSED.format(directory, 1) in k.drain_serial()
    other = u32(call(k, "mm_create"))
    assert u32(call(k, "vm_mmap", other, VA, PAGE, c.PROT_READ | c.PROT_WRITE, flags)) == VA
    assert user_write(k, other, VA, b"x") == 0
    assert directories(k, other)[1] != directory
    assert mm_field(k, other, "pt_pages") == 2
    assert call(k, "table_pool_check") == 0


def test_the_checker_counts_a_pool_frame_written_while_in_the_pool(k):
    assert call(k, "table_pool_check") == 0
    page = u32(call(k, "pgtable_alloc_page"))
    call(k, "pgtable_free_page", page)                      # empty: taken back
    assert call(k, "table_pool_refusals") == 0
    k.write(phys(k, page) + PAGE - 8, (1).to_bytes(8, "little"))
    assert call(k, "table_pool_check") == 1


def test_fork_and_exit_leave_nothing_for_the_checker(k):
    parent = u32(call(k, "mm_create"))
    flags = c.MAP_PRIVATE | c.MAP_ANONYMOUS | c.MAP_FIXED
    for va in (0x40000000, VA, 0xC0000000 - 2 * PAGE):
        assert u32(call(k, "vm_mmap", parent, va, PAGE, c.PROT_READ | c.PROT_WRITE, flags)) == va
        assert user_write(k, parent, va, b"data") == 0
    child = u32(call(k, "mm_clone", parent, VA))
    assert user_write(k, child, VA, b"copy") == 0
    call(k, "mm_destroy", child)
    call(k, "mm_destroy", parent)
    assert call(k, "table_pool_pages") == abi(k).constant("TABLE_POOL_PAGES")
    assert call(k, "table_pool_check") == 0
    assert call(k, "table_pool_refusals") == 0
    assert "pgtable_free_page" not in k.drain_serial()
