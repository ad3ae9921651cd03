"""HighMem by direct call on a 5 GiB machine under unicorn (3 GiB below the
PCI hole, 2 GiB above 4 GiB): the buddy allocator hands out frames above
4 GiB, kmap maps them into windows (written through one, read through
another), user pages come from HighMem and their bytes land in the right
frame; and struct mm's address-space limit is enforced."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kos.kernel import abi, s32
from kos.kernel.mm import mm_wrapper as mm
from kos.machine.unicorn import UnicornKernel, boot
from kos.machine.unicorn.cpu import PageFault
from kos.memory import constants as c
from kos.memory.page import PageFrame

pytestmark = pytest.mark.unicorn

FOUR_GIB = 1 << 32
USER = c.USER_START
PAGE = c.PAGE_SIZE
FIXED = c.MAP_PRIVATE | c.MAP_ANONYMOUS | c.MAP_FIXED
ACCESS_WRITE = c.image().enum("vm_access")["ACCESS_WRITE"]
FAULT_STACK_LIMIT = c.image().enum("vm_fault_kind")["FAULT_STACK_LIMIT"]


@pytest.fixture(scope="module")
def big(kernel: Path) -> Iterator[UnicornKernel]:
    k = boot(kernel, memory="5G", timeout=60)   # 1.5 million struct pages to set up
    yield k
    k.close()


def high_block(k: UnicornKernel) -> int:
    """A 4 MiB HighMem block (freed by the caller): the first one the
    allocator hands out lies above 4 GiB."""
    addr = mm.buddy_alloc_zone(c.MAX_ORDER, c.GFP_HIGHMEM | c.GFP_THISZONE, kernel=k)
    assert addr >= FOUR_GIB, hex(addr)
    return addr


def test_ram_above_4_gib_is_highmem(big: UnicornKernel):
    stats = mm.buddy_stats(kernel=big)
    # 896 MiB .. 3 GiB (less SeaBIOS's top 128 KiB) and all of 4 .. 6 GiB.
    below_4g = 0xC0000000 - 0x20000 - 0x38000000
    assert stats["zones"]["HighMem"]["managed_pages"] == (below_4g + (2 << 30)) // PAGE
    assert stats["total_memory"] == 6 << 30
    addr = high_block(big)
    try:
        frame = PageFrame(addr, kernel=big)
        assert frame.physical_addr == addr
        assert frame.zone == c.ZONE_HIGHMEM
        assert frame.virtual_addr == 0                 # no permanent mapping
        assert PageFrame(addr + PAGE, kernel=big).physical_addr == addr + PAGE
    finally:
        assert mm.buddy_free(addr, c.MAX_ORDER, kernel=big) == 0
    assert mm.buddy_check(kernel=big) == 0


def test_kmap_windows_reach_a_frame_above_4_gib(big: UnicornKernel):
    addr = high_block(big)
    try:
        page = PageFrame(addr, kernel=big).struct_page
        before = big.call("kmap_windows_in_use")
        w1 = big.call("kmap", page)
        w2 = big.call("kmap", page)
        assert c.KMAP_START <= w1 < c.KMAP_END and c.KMAP_START <= w2 < c.KMAP_END and w1 != w2
        assert big.call("kmap_windows_in_use") == before + 2
        pattern = bytes(range(256)) * 16
        big.write(big.scratch, pattern[:256])
        for off in range(0, PAGE, 256):                  # write through the first window
            big.call("memcpy", w1 + off, big.scratch, 256)
        big.call("memcpy", big.scratch, w2 + 0x300, 64)  # read through the second
        assert big.read(big.scratch, 64) == pattern[0x300:0x340]
        assert big.cpu.phys_read(addr, PAGE) == pattern  # and the frame itself holds it
        big.call("kunmap", w2)
        big.call("kunmap", w1)
        assert big.call("kmap_windows_in_use") == before
        big.cpu.sync()
        with pytest.raises(PageFault):                   # an unmapped window maps nothing
            big.cpu.translate(w1)
    finally:
        assert mm.buddy_free(addr, c.MAX_ORDER, kernel=big) == 0


def test_a_low_memory_frame_needs_no_window(big: UnicornKernel):
    addr = mm.buddy_alloc(0, kernel=big)
    try:
        page = PageFrame(addr, kernel=big).struct_page
        before = big.call("kmap_windows_in_use")
        assert big.call("kmap", page) == addr
        big.call("kunmap", addr)
        assert big.call("kmap_windows_in_use") == before
    finally:
        assert mm.buddy_free(addr, 0, kernel=big) == 0


def test_user_pages_come_from_highmem_and_hold_what_is_written(big: UnicornKernel):
    space = big.call("mm_current")
    free = mm.buddy_stats(kernel=big)["zones"]
    assert big.call("vm_mmap", space, USER, 16 * PAGE, c.PROT_RW, FIXED) == USER
    try:
        # A direct call cannot take a fault: fill the page first, as the
        # fault handler would on copy_to_user's first touch.
        assert big.call("vm_fault", space, USER + 5 * PAGE, ACCESS_WRITE) == 0
        big.write(big.scratch, b"HighMem user page")
        assert big.call("copy_to_user", USER + 5 * PAGE + 8, big.scratch, 17) == 0
        big.cpu.sync()
        pa = big.cpu.translate(USER + 5 * PAGE)
        assert pa >= c.DIRECT_MAP_END
        assert PageFrame(pa & ~(PAGE - 1), kernel=big).zone == c.ZONE_HIGHMEM
        assert big.cpu.phys_read(pa + 8, 17) == b"HighMem user page"
        assert big.call("copy_from_user", big.scratch + 64, USER + 5 * PAGE + 8, 17) == 0
        assert big.read(big.scratch + 64, 17) == b"HighMem user page"
    finally:
        assert big.call("vm_munmap", space, USER, 16 * PAGE) == 0
    assert mm.buddy_stats(kernel=big)["zones"] == free     # the frame and its page table went back
    assert mm.buddy_check(kernel=big) == 0


def test_the_address_space_limit_holds_for_mmap_fixed_and_stack_growth(big: UnicornKernel):
    space = big.call("mm_current")
    limit_at = space + abi(big).struct("mm").offsetof("limit_as")
    unlimited = big.read_u32(limit_at)
    big.write_u32(limit_at, 8 * PAGE)
    try:
        assert big.call("vm_mmap", space, USER, 6 * PAGE, c.PROT_RW, FIXED) == USER
        anywhere = c.MAP_PRIVATE | c.MAP_ANONYMOUS
        assert s32(big.call("vm_mmap", space, 0, 3 * PAGE, c.PROT_RW, anywhere)) == c.ENOMEM
        # A fixed mapping over mapped pages gives them back first: 4 of the 6 are replaced.
        assert big.call("vm_mmap", space, USER + 2 * PAGE, 6 * PAGE, c.PROT_RW,
                        FIXED) == USER + 2 * PAGE
        assert s32(big.call("vm_mmap", space, USER + 2 * PAGE, 7 * PAGE, c.PROT_RW,
                            FIXED)) == c.ENOMEM
        assert big.call("vm_munmap", space, USER, 8 * PAGE) == 0
        # A stack may not grow past the limit either.
        stack = USER + 0x100000
        assert big.call("vm_mmap", space, stack, 7 * PAGE, c.PROT_RW,
                        FIXED | c.MAP_GROWSDOWN) == stack
        assert big.call("vm_fault", space, stack - PAGE, ACCESS_WRITE) == 0
        assert big.call("vm_fault", space, stack - 2 * PAGE, ACCESS_WRITE) == FAULT_STACK_LIMIT
        assert big.call("vm_munmap", space, stack - PAGE, 8 * PAGE) == 0
    finally:
        big.write_u32(limit_at, unlimited)
