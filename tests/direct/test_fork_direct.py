"""fork's address-space copy by direct calls on the real image: page
directories made on demand (only in the GiBs with user mappings, in the
parent and in the copy), private frames shared copy-on-write with the
inline reference count keeping the frame's block accounting (struct page
busy) right, a write breaking the sharing, and every frame back with both
address spaces gone. The pages sit at the deep end of each GiB of user
space (1-2, 2-3 and 3-4 GiB), where a directory's last entry maps them."""

from __future__ import annotations

import pytest
from fs_helpers import PAGE, user_read, user_write
from mm_helpers import directories, mm_field

from kos.kernel import abi, call, u32
from kos.machine.unicorn.kernel import UnicornKernel
from kos.memory import constants as c

pytestmark = pytest.mark.unicorn

GIB = 1 << 30
# The last page of each GiB of user space (the very last is never mapped).
DEEP_PAGES = (2 * GIB - PAGE, 3 * GIB - PAGE, 4 * GIB - 2 * PAGE)
PTE_WRITE, PTE_COW = 1 << 1, 1 << 9


@pytest.fixture
def k(live: UnicornKernel) -> UnicornKernel:
    """The suite's session of this module (tests/conftest.py's live)."""
    return live


def pte(k: UnicornKernel, mm: int, va: int) -> int:
    at = u32(call(k, "pgtable_entry", mm, va, 0))
    assert at, f"no page table for {va:#x}"
    return int.from_bytes(k.read(at, 8), "little")


def page_field(k: UnicornKernel, page: int, name: str) -> int:
    lay = abi(k).struct("page")
    return int.from_bytes(k.read(page + lay.offsetof(name), lay.fields[name].size), "little")


def map_page(k: UnicornKernel, mm: int, va: int) -> None:
    flags = c.MAP_PRIVATE | c.MAP_ANONYMOUS | c.MAP_FIXED
    assert u32(call(k, "vm_mmap", mm, va, PAGE, c.PROT_READ | c.PROT_WRITE, flags)) == va


def test_a_new_address_space_has_no_directory_until_a_mapping_needs_one(k):
    free = call(k, "get_free_pages")
    mm = u32(call(k, "mm_create"))
    assert mm and directories(k, mm) == [0, 0, 0]
    assert mm_field(k, mm, "pt_pages") == 0                     # the PDPT is inside struct mm
    assert call(k, "get_free_pages") == free
    map_page(k, mm, DEEP_PAGES[1])
    assert directories(k, mm) == [0, 0, 0]                      # mmap makes no table
    assert user_write(k, mm, DEEP_PAGES[1], b"x") == 0
    made = directories(k, mm)
    assert made[0] == 0 and made[1] != 0 and made[2] == 0
    assert mm_field(k, mm, "pt_pages") == 2                     # a directory, a table
    call(k, "mm_destroy", mm)
    assert call(k, "get_free_pages") == free


def test_fork_copies_deep_pages_in_every_gib_copy_on_write(k):
    free = call(k, "get_free_pages")
    parent = u32(call(k, "mm_create"))
    for i, va in enumerate(DEEP_PAGES):
        map_page(k, parent, va)
        assert user_write(k, parent, va, bytes([0x40 + i]) * 16) == 0
    assert all(directories(k, parent))
    tables = mm_field(k, parent, "pt_pages")
    assert tables == 3 + 3

    child = u32(call(k, "mm_clone", parent, 0))
    assert child and all(directories(k, child))
    assert set(directories(k, child)).isdisjoint(directories(k, parent))
    assert mm_field(k, child, "pt_pages") == tables
    assert mm_field(k, child, "resident_pages") == len(DEEP_PAGES)
    for i, va in enumerate(DEEP_PAGES):
        p, ch = pte(k, parent, va), pte(k, child, va)
        assert p == ch and p & PTE_COW and not p & PTE_WRITE    # one frame, read-only in both
        page = u32(call(k, "vm_page_at", parent, va))
        assert page_field(k, page, "refcount") == 1             # one holder beyond the first
        assert page_field(k, page, "busy") == 1                 # counted in its block's head
        assert user_read(k, child, va, 16) == bytes([0x40 + i]) * 16

    # The child's write copies; the parent's frame has one holder again
    # and its state is a fresh frame's once more.
    shared = u32(call(k, "vm_page_at", parent, DEEP_PAGES[2]))
    assert user_write(k, child, DEEP_PAGES[2], b"child") == 0
    assert u32(call(k, "vm_page_at", child, DEEP_PAGES[2])) != shared
    assert page_field(k, shared, "refcount") == 0 and page_field(k, shared, "busy") == 0
    assert user_read(k, parent, DEEP_PAGES[2], 5) == bytes([0x42]) * 5
    assert user_read(k, child, DEEP_PAGES[2], 5) == b"child"

    # A copy of the copy: directories again only where the child maps.
    grandchild = u32(call(k, "mm_clone", child, 0))
    assert grandchild and all(directories(k, grandchild))
    assert user_read(k, grandchild, DEEP_PAGES[2], 5) == b"child"
    assert user_read(k, grandchild, DEEP_PAGES[0], 1) == b"\x40"
    for mm in (child, parent, grandchild):
        call(k, "mm_destroy", mm)
    assert call(k, "get_free_pages") == free


def test_fork_of_one_gib_makes_one_directory(k):
    free = call(k, "get_free_pages")
    parent = u32(call(k, "mm_create"))
    map_page(k, parent, DEEP_PAGES[0])
    assert user_write(k, parent, DEEP_PAGES[0], b"only") == 0
    child = u32(call(k, "mm_clone", parent, 0))
    made = directories(k, child)
    assert made[0] != 0 and made[1:] == [0, 0]
    assert mm_field(k, child, "pt_pages") == 2
    assert user_read(k, child, DEEP_PAGES[0], 4) == b"only"
    call(k, "mm_destroy", child)
    call(k, "mm_destroy", parent)
    assert call(k, "get_free_pages") == free


STACK_TOP = 0xC0000000
STACK = STACK_TOP - 3 * PAGE            # three pages under the stack top
PROT_RW = c.PROT_READ | c.PROT_WRITE


def map_stack(k: UnicornKernel, mm: int) -> None:
    flags = c.MAP_PRIVATE | c.MAP_ANONYMOUS | c.MAP_FIXED
    assert u32(call(k, "vm_mmap", mm, STACK, 3 * PAGE, PROT_RW, flags)) == STACK
    for i in range(3):
        assert user_write(k, mm, STACK + i * PAGE, bytes([0x60 + i]) * 8) == 0


def test_the_page_at_the_stack_pointer_is_copied_at_fork_and_the_rest_shared(k):
    free = call(k, "get_free_pages")
    parent = u32(call(k, "mm_create"))
    map_stack(k, parent)
    hot = STACK + PAGE
    before = pte(k, parent, hot)
    child = u32(call(k, "mm_clone", parent, hot + 0x10))
    assert child
    assert mm_field(k, child, "resident_pages") == 3
    p, ch = pte(k, parent, hot), pte(k, child, hot)
    assert p == before and p & PTE_WRITE and not p & PTE_COW    # the parent keeps its frame, writable
    assert ch & PTE_WRITE and not ch & PTE_COW                  # the child has a copy of its own
    assert u32(call(k, "vm_page_at", child, hot)) != u32(call(k, "vm_page_at", parent, hot))
    assert page_field(k, u32(call(k, "vm_page_at", parent, hot)), "refcount") == 0
    assert user_read(k, child, hot, 8) == bytes([0x61]) * 8
    for va in (STACK, STACK + 2 * PAGE):                        # the others: copy-on-write
        p, ch = pte(k, parent, va), pte(k, child, va)
        assert p == ch and p & PTE_COW and not p & PTE_WRITE
    assert user_write(k, parent, hot, b"parent") == 0
    assert user_write(k, child, hot, b"child!") == 0
    assert user_read(k, parent, hot, 6) == b"parent"
    assert user_read(k, child, hot, 6) == b"child!"
    assert mm_field(k, parent, "cow_faults") == mm_field(k, child, "cow_faults") == 0
    call(k, "mm_destroy", child)
    call(k, "mm_destroy", parent)
    assert call(k, "get_free_pages") == free


def test_a_stack_pointer_page_the_parent_may_not_write_is_shared(k):
    free = call(k, "get_free_pages")
    parent = u32(call(k, "mm_create"))
    map_stack(k, parent)
    hot = STACK + PAGE
    first = u32(call(k, "mm_clone", parent, 0))                 # every page COW now
    second = u32(call(k, "mm_clone", parent, hot))
    assert first and second
    frame = u32(call(k, "vm_page_at", parent, hot))
    assert u32(call(k, "vm_page_at", second, hot)) == frame
    assert page_field(k, frame, "refcount") == 2                # three holders of one frame
    assert call(k, "vm_mprotect", parent, STACK, 3 * PAGE, c.PROT_READ) == 0
    third = u32(call(k, "mm_clone", parent, STACK))
    assert u32(call(k, "vm_page_at", third, STACK)) == u32(call(k, "vm_page_at", parent, STACK))
    for mm in (first, second, third, parent):
        call(k, "mm_destroy", mm)
    assert call(k, "get_free_pages") == free


def pool_frames(k: UnicornKernel) -> list[int]:
    """The struct pages in the table pool now."""
    at = k.symbol("table_pool")
    return [k.read_u32(at + 4 * i) for i in range(call(k, "table_pool_pages"))]


def frame_bytes(k: UnicornKernel, page: int) -> bytes:
    return k.read(page_field(k, page, "phys"), PAGE)


def test_page_tables_come_from_the_zeroed_pool_and_go_back_to_it_empty(k):
    full = abi(k).constant("TABLE_POOL_PAGES")
    assert call(k, "table_pool_pages") == full
    free = call(k, "get_free_pages")
    mm = u32(call(k, "mm_create"))
    map_page(k, mm, DEEP_PAGES[1])
    assert user_write(k, mm, DEEP_PAGES[1], b"x") == 0
    assert call(k, "table_pool_pages") == full - 2              # its directory and its table
    assert call(k, "get_free_pages") == free - 1                # the data frame alone from buddy
    assert call(k, "vm_munmap", mm, DEEP_PAGES[1], PAGE) == 0
    assert call(k, "table_pool_pages") == full                  # both back, empty, uncleared
    assert call(k, "get_free_pages") == free
    assert all(frame_bytes(k, p) == bytes(PAGE) for p in pool_frames(k))
    call(k, "mm_destroy", mm)


def test_a_fork_and_exit_leave_the_pool_full_of_zeroed_frames(k):
    full = abi(k).constant("TABLE_POOL_PAGES")
    free = call(k, "get_free_pages")
    parent = u32(call(k, "mm_create"))
    for va in DEEP_PAGES:
        map_page(k, parent, va)
        assert user_write(k, parent, va, b"data") == 0
    child = u32(call(k, "mm_clone", parent, DEEP_PAGES[0]))
    assert call(k, "table_pool_pages") == full - 2 * 6          # three directories and tables each
    assert user_write(k, child, DEEP_PAGES[1], b"copy") == 0
    call(k, "mm_destroy", child)
    call(k, "mm_destroy", parent)
    assert call(k, "get_free_pages") == free
    assert call(k, "table_pool_pages") == full
    assert all(frame_bytes(k, p) == bytes(PAGE) for p in pool_frames(k))


def test_with_the_pool_empty_tables_come_from_buddy_cleared_and_go_back_there(k):
    full = abi(k).constant("TABLE_POOL_PAGES")
    pooled = [u32(call(k, "pgtable_alloc_page")) for _ in range(full)]
    assert call(k, "table_pool_pages") == 0
    free = call(k, "get_free_pages")
    mm = u32(call(k, "mm_create"))
    map_page(k, mm, DEEP_PAGES[0])
    assert user_write(k, mm, DEEP_PAGES[0], b"y") == 0
    assert call(k, "get_free_pages") == free - 3                # a directory, a table, the data
    table = u32(call(k, "pgtable_entry", mm, DEEP_PAGES[0], 0)) & ~(PAGE - 1)
    others = k.read(table, PAGE - 8)                            # every entry but the last page's
    assert others == bytes(PAGE - 8)
    call(k, "mm_destroy", mm)
    assert call(k, "get_free_pages") == free                    # to buddy: the pool's are its own
    assert call(k, "table_pool_pages") == 0
    for p in pooled:
        call(k, "pgtable_free_page", p)
    assert call(k, "table_pool_pages") == full
