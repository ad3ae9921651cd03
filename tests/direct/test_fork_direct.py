"""fork's address-space copy by direct calls on the real image: page
directories made on demand (only in the GiBs with user mappings, in the
parent and in the copy), private frames shared copy-on-write with the
inline reference count keeping the frame's block accounting (struct page
busy) right, a write breaking the sharing, and every frame back with both
address spaces gone. The pages sit at the deep end of each GiB of user
space (1-2, 2-3 and 3-4 GiB), where a directory's last entry maps them.
Then the walk by VMAs (runs of private VMAs, a far mapping, a shared one
between), struct mm's pool, every allocation of a fork failing with
nothing leaked, ftruncate reaching a child's mapping, and processes that
fork and exit giving everything back."""

from __future__ import annotations

import pytest
from failing import FailingCalls
from fs_helpers import PAGE, fault_kind, user_read, user_write
from mm_helpers import directories, mm_field, vma_spans
from unicorn import unicorn_const as uc_const
from unicorn import x86_const as x86

from kos.fs import VirtualFileSystem
from kos.kernel import abi, call, s32, u32
from kos.machine.unicorn.kernel import UnicornKernel
from kos.memory import constants as c
from kos.memory.kacchi import memory_stats

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


# ---- the walk by VMAs -------------------------------------------------------

def map_range(k: UnicornKernel, mm: int, va: int, pages: int, *, shared: bool = False) -> None:
    flags = (c.MAP_SHARED if shared else c.MAP_PRIVATE) | c.MAP_ANONYMOUS | c.MAP_FIXED
    assert u32(call(k, "vm_mmap", mm, va, pages * PAGE, PROT_RW, flags)) == va


def entry_or_none(k: UnicornKernel, mm: int, va: int) -> int | None:
    """The PTE for va in mm, or None where mm has no page table there."""
    at = u32(call(k, "pgtable_entry", mm, va, 0))
    return int.from_bytes(k.read(at, 8), "little") if at else None


RUN = 0x40000000                        # three adjacent private VMAs: rw-, r--, rw-
SHARED_AFTER = RUN + 3 * PAGE           # a shared mapping right after the run
PRIVATE_AFTER = SHARED_AFTER + 2 * PAGE  # then a private one, its first page never touched
UNTOUCHED = 0x60000000                  # a private mapping with nothing in it
FAR = 0xB0000000                        # another GiB, far from the others


def test_the_walk_by_vmas_shares_every_present_page_near_and_far(k):
    free = call(k, "get_free_pages")
    parent = u32(call(k, "mm_create"))
    map_range(k, parent, RUN, 3)
    map_range(k, parent, SHARED_AFTER, 2, shared=True)
    map_range(k, parent, PRIVATE_AFTER, 2)
    map_range(k, parent, UNTOUCHED, 4)
    map_range(k, parent, FAR, 1)
    private = [RUN, RUN + PAGE, RUN + 2 * PAGE, PRIVATE_AFTER + PAGE, FAR]
    for i, va in enumerate([*private, SHARED_AFTER, SHARED_AFTER + PAGE]):
        assert user_write(k, parent, va, bytes([0x20 + i]) * 8) == 0
    assert call(k, "vm_mprotect", parent, RUN + PAGE, PAGE, c.PROT_READ) == 0
    spans = vma_spans(k, parent)
    assert len(spans) == 7                                      # the run is three VMAs

    child = u32(call(k, "mm_clone", parent, 0))
    assert child and vma_spans(k, child) == spans
    made = directories(k, child)
    assert made[0] and made[1] and not made[2]                  # the far page's GiB has one too
    assert mm_field(k, child, "resident_pages") == len(private)
    for i, va in enumerate(private):
        p, ch = pte(k, parent, va), pte(k, child, va)
        assert p == ch and p & PTE_COW and not p & PTE_WRITE, hex(va)
        assert page_field(k, u32(call(k, "vm_page_at", parent, va)), "refcount") == 1
        assert user_read(k, child, va, 8) == bytes([0x20 + i]) * 8
    assert pte(k, child, PRIVATE_AFTER) == 0                    # never touched: nothing to share
    assert entry_or_none(k, child, UNTOUCHED) is None           # no table where nothing is mapped
    for va in (SHARED_AFTER, SHARED_AFTER + PAGE):              # shared: the object's, not the walk's
        assert pte(k, child, va) == 0
        assert pte(k, parent, va) & PTE_WRITE and not pte(k, parent, va) & PTE_COW
    assert user_write(k, child, SHARED_AFTER, b"both") == 0
    assert user_read(k, parent, SHARED_AFTER, 4) == b"both"
    assert user_write(k, child, RUN + 2 * PAGE, b"mine") == 0   # and private pages copy on write
    assert user_read(k, parent, RUN + 2 * PAGE, 4) == bytes([0x22]) * 4
    for mm in (child, parent):
        call(k, "mm_destroy", mm)
    assert call(k, "get_free_pages") == free


def test_a_fork_keeps_the_w_x_policy_of_its_parent(k):
    """The child's address space is a copy of the parent's, its W^X policy
    too: a program under W^X cannot shed it by forking."""
    free = call(k, "get_free_pages")
    parent = u32(call(k, "mm_create"))
    map_range(k, parent, RUN, 2)
    assert call(k, "mm_set_policy", parent, c.MM_POLICY_WX) == 0
    child = u32(call(k, "mm_clone", parent, 0))
    assert child and mm_field(k, child, "policy") == c.MM_POLICY_WX
    rwx = c.PROT_READ | c.PROT_WRITE | c.PROT_EXEC
    assert s32(call(k, "vm_mmap", child, 0, PAGE, rwx, c.MAP_PRIVATE | c.MAP_ANONYMOUS)) == c.EACCES
    assert s32(call(k, "vm_mprotect", child, RUN, PAGE, c.PROT_READ | c.PROT_EXEC)) == c.EACCES
    assert vma_spans(k, child) == vma_spans(k, parent)          # refused: nothing changed
    for mm in (child, parent):
        call(k, "mm_destroy", mm)
    assert call(k, "get_free_pages") == free


def test_an_exec_keeps_the_w_x_policy_it_was_made_under(fsk):
    """Under the shell's W^X, procbench runs under it (a spawn), its forks
    too, and each fork's execve of hello keeps it: read at exec_user_regs
    from sys_execve, when the process already has its new address space."""
    proc_mm = abi(fsk).struct("proc").offsetof("mm")
    seen: list[int] = []

    def at_exec_regs(uc: object, address: int, size: int, _: object) -> None:
        ret = fsk.read_u32(fsk.uc.reg_read(x86.UC_X86_REG_ESP))
        if fsk.image.function_at(ret).split("+")[0] == "sys_execve":
            proc = fsk.read_u32(fsk.symbol("current"))
            seen.append(mm_field(fsk, fsk.read_u32(proc + proc_mm), "policy"))

    entry = fsk.symbol("exec_user_regs")
    hook = fsk.uc.hook_add(uc_const.UC_HOOK_CODE, at_exec_regs, begin=entry, end=entry)
    fsk.uc.ctl_flush_tb()
    shell = u32(call(fsk, "mm_current"))
    assert call(fsk, "mm_set_policy", shell, c.MM_POLICY_WX) == 0
    try:
        out = fsk.console.run("run /bin/procbench exec", timeout=300)
    finally:
        call(fsk, "mm_set_policy", shell, 0)
        fsk.uc.hook_del(hook)
    assert "exited with status 0" in out, out[-300:]
    assert seen and seen == [c.MM_POLICY_WX] * len(seen), seen


# ---- the mm pool ---------------------------------------------------------------

def in_pool(k: UnicornKernel, mm: int) -> bool:
    start = k.symbol("mm_pool")
    return start <= mm < start + abi(k).constant("MM_POOL_SIZE") * abi(k).struct("mm").size


def heap_blocks(k: UnicornKernel) -> int:
    return memory_stats(kernel=k)["num_allocations"]


def test_address_spaces_come_from_the_pool_then_the_heap_and_go_back(k):
    full = abi(k).constant("MM_POOL_SIZE")
    assert call(k, "mm_pool_count") == full                     # the shell's is static
    blocks = heap_blocks(k)
    taken = [u32(call(k, "mm_create")) for _ in range(full)]
    assert all(in_pool(k, mm) for mm in taken) and len(set(taken)) == full
    assert call(k, "mm_pool_count") == 0 and heap_blocks(k) == blocks
    extra = u32(call(k, "mm_create"))
    assert extra and not in_pool(k, extra) and extra % 32 == 0  # the heap's, aligned for the PDPT
    assert heap_blocks(k) == blocks + 1
    call(k, "mm_destroy", extra)
    assert heap_blocks(k) == blocks
    for mm in taken:
        call(k, "mm_destroy", mm)
    assert call(k, "mm_pool_count") == full


# ---- every allocation of a fork failing -----------------------------------------

def fork_fails_and_nothing_leaks(k: UnicornKernel, parent: int, fail: FailingCalls) -> None:
    free, blocks, tables = call(k, "get_free_pages"), heap_blocks(k), call(k, "table_pool_pages")
    spaces = call(k, "mm_pool_count")
    fail.armed = True
    try:
        assert u32(call(k, "mm_clone", parent, 0)) == 0
        assert fail.calls >= fail.nth                           # the failure was the one made
    finally:
        fail.armed = False
    assert call(k, "get_free_pages") == free and heap_blocks(k) == blocks
    assert call(k, "table_pool_pages") == tables and call(k, "mm_pool_count") == spaces


def test_a_fork_without_an_address_space_fails_and_leaks_nothing(k):
    free = call(k, "get_free_pages")
    parent = u32(call(k, "mm_create"))
    map_page(k, parent, DEEP_PAGES[0])
    assert user_write(k, parent, DEEP_PAGES[0], b"kept") == 0
    taken = [u32(call(k, "mm_create")) for _ in range(call(k, "mm_pool_count"))]
    fork_fails_and_nothing_leaks(k, parent, FailingCalls(k, "kmalloc_aligned", ("mm_create",), 1,
                                                         armed=False))
    for mm in taken:
        call(k, "mm_destroy", mm)
    assert user_read(k, parent, DEEP_PAGES[0], 4) == b"kept"
    call(k, "mm_destroy", parent)
    assert call(k, "get_free_pages") == free


@pytest.mark.parametrize("nth", [1, 2, 3, 4])
def test_a_fork_without_a_page_table_fails_and_leaks_nothing(k, nth):
    full = abi(k).constant("TABLE_POOL_PAGES")
    free = call(k, "get_free_pages")
    parent = u32(call(k, "mm_create"))
    for va in (DEEP_PAGES[0], DEEP_PAGES[1]):                   # two directories, two tables
        map_page(k, parent, va)
        assert user_write(k, parent, va, b"kept") == 0
    pooled = [u32(call(k, "pgtable_alloc_page")) for _ in range(call(k, "table_pool_pages"))]
    callers = ("mm_directory_make", "pgtable_alloc_page", "pgtable_entry")
    fail = FailingCalls(k, "alloc_table_page", callers, nth, armed=False)
    try:
        fork_fails_and_nothing_leaks(k, parent, fail)           # the child's nth table from buddy
    finally:
        for p in pooled:
            call(k, "pgtable_free_page", p)
    for va in (DEEP_PAGES[0], DEEP_PAGES[1]):                   # COW now: the next write is the parent's
        assert user_write(k, parent, va, b"mine") == 0 and user_read(k, parent, va, 4) == b"mine"
    call(k, "mm_destroy", parent)
    assert call(k, "get_free_pages") == free and call(k, "table_pool_pages") == full


def test_a_fork_without_room_for_a_long_vma_array_fails_and_leaks_nothing(k):
    free = call(k, "get_free_pages")
    parent = u32(call(k, "mm_create"))
    n = abi(k).constant("MM_INLINE_VMAS") + 1                  # one more than struct mm holds
    for i in range(n):
        map_range(k, parent, 0x50000000 + 2 * i * PAGE, 1)     # apart: no merging
    assert mm_field(k, parent, "nr_vmas") == n
    fork_fails_and_nothing_leaks(k, parent, FailingCalls(k, "kmalloc", ("copy_vmas", "mm_clone"), 1,
                                                         armed=False))
    child = u32(call(k, "mm_clone", parent, 0))                 # and with the memory, it works
    assert child and vma_spans(k, child) == vma_spans(k, parent)
    call(k, "mm_destroy", child)
    call(k, "mm_destroy", parent)
    assert call(k, "get_free_pages") == free


def test_without_a_frame_for_the_stack_pointer_page_it_is_shared_instead(k):
    free = call(k, "get_free_pages")
    parent = u32(call(k, "mm_create"))
    map_stack(k, parent)
    hot = STACK + PAGE
    fail = FailingCalls(k, "alloc_page", ("copy_entry", "share_private", "mm_clone"), 1)
    try:
        child = u32(call(k, "mm_clone", parent, hot))
    finally:
        fail.armed = False
    assert child and fail.calls == 1
    p, ch = pte(k, parent, hot), pte(k, child, hot)
    assert p == ch and p & PTE_COW and not p & PTE_WRITE        # the fork goes on, COW
    assert user_write(k, child, hot, b"child") == 0
    assert user_read(k, parent, hot, 5) == bytes([0x61]) * 5
    call(k, "mm_destroy", child)
    call(k, "mm_destroy", parent)
    assert call(k, "get_free_pages") == free


def test_ftruncate_takes_the_pages_beyond_the_end_from_parent_and_child(k):
    """No record of who maps a file is kept (a fork would copy it):
    ftruncate asks every address space, so the child's copy of the
    mapping loses its pages too."""
    free = call(k, "get_free_pages")
    sigbus = fault_kind(k, "FAULT_SIGBUS")
    parent = u32(call(k, "mm_create"))
    with VirtualFileSystem(kernel=k) as v:
        fd = v.open("/forked", "w")
        v.write(fd, b"f" * (3 * PAGE))
        v.close(fd)
        fd = v.open("/forked", "r+")
        a = v.mmap(parent, 0, 3 * PAGE, PROT_RW, c.MAP_SHARED, fd)
        assert user_write(k, parent, a + 2 * PAGE, b"x") == 0
        child = u32(call(k, "mm_clone", parent, 0))
        assert user_read(k, child, a + 2 * PAGE, 1) == b"x"      # the child maps the file's frame
        v.truncate(fd, PAGE + 10)
        for mm in (parent, child):
            assert user_read(k, mm, a + 2 * PAGE, 1) == sigbus
            assert user_read(k, mm, a, 1) == b"f"
        for mm in (child, parent):
            call(k, "mm_destroy", mm)
        v.close(fd)
        v.unlink("/forked")
    assert call(k, "get_free_pages") == free


def test_processes_that_fork_and_exit_give_every_address_space_and_stack_back(fsk):
    """procbench forks eight children that exit at once; with the parent
    reaped, the pool, the stacks, the heap and buddy are as before (once
    a first run has read the program into the page cache)."""
    def run_procbench() -> None:
        out = fsk.console.run("run /bin/procbench fork1m", timeout=300)
        assert "exited with status 0" in out, out[-300:]

    full = abi(fsk).constant("MM_POOL_SIZE")
    run_procbench()
    free, blocks = call(fsk, "get_free_pages"), heap_blocks(fsk)
    assert call(fsk, "mm_pool_count") == full
    run_procbench()
    assert call(fsk, "mm_pool_count") == full
    assert memory_stats(kernel=fsk)["num_stacks"] == 0
    assert heap_blocks(fsk) == blocks and call(fsk, "get_free_pages") == free


def test_a_fork_refused_for_want_of_an_address_space_gives_its_process_slot_back(fsk):
    """With the pool empty and the heap refusing procbench's first fork,
    that fork fails (-ENOMEM to the program, which goes on) and its slot
    and kernel stack go back; the later forks take theirs from the heap."""
    fsk.console.run("run /bin/procbench fork0", timeout=300)           # the page cache filled
    free, blocks = call(fsk, "get_free_pages"), heap_blocks(fsk)
    taken = [u32(call(fsk, "mm_create")) for _ in range(call(fsk, "mm_pool_count"))]
    # mm_create's first heap allocation is exec's, its second the first fork's.
    fail = FailingCalls(fsk, "kmalloc_aligned", ("mm_create",), 2)
    try:
        out = fsk.console.run("run /bin/procbench fork0", timeout=300)
    finally:
        fail.armed = False
    assert "exited with status 0" in out, out[-300:]
    assert fail.calls > 2                                               # forks after the refused one
    assert memory_stats(kernel=fsk)["num_stacks"] == 0
    for mm in taken:
        call(fsk, "mm_destroy", mm)
    assert call(fsk, "mm_pool_count") == abi(fsk).constant("MM_POOL_SIZE")
    assert heap_blocks(fsk) == blocks and call(fsk, "get_free_pages") == free
