"""fork's address-space copy by direct calls on the real image: page
directories made on demand (only in the GiBs with user mappings, in the
parent and in the copy), private frames shared copy-on-write with the
inline reference count keeping the frame's block accounting (struct page
busy) right, a write breaking the sharing, and every frame back with both
address spaces gone. The pages sit at the deep end of each GiB of user
space (1-2, 2-3 and 3-4 GiB), where a directory's last entry maps them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fs_helpers import PAGE, user_read, user_write
from mm_helpers import directories, mm_field

from kos import paths
from kos.kernel import abi, call, u32
from kos.machine.unicorn.kernel import UnicornKernel, boot
from kos.memory import constants as c

pytestmark = pytest.mark.unicorn

GIB = 1 << 30
# The last page of each GiB of user space (the very last is never mapped).
DEEP_PAGES = (2 * GIB - PAGE, 3 * GIB - PAGE, 4 * GIB - 2 * PAGE)
PTE_WRITE, PTE_COW = 1 << 1, 1 << 9


@pytest.fixture(scope="module")
def k() -> Iterator[UnicornKernel]:
    kernel = boot(paths.KERNEL_ELF, "64M")
    yield kernel
    kernel.close()


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
