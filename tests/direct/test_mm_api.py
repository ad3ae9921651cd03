"""The specification's Python memory API on a live kernel: PageFrame and
PageFrameAllocator (kos.memory.page), the buddy and slab functions
(kos.kernel.mm.mm_wrapper), the exceptions and the default kernel."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import kos.kernel
from kos.exceptions import AllocationError, KOSError, MappingError, MemoryError, ProtectionError
from kos.kernel import Kernel, use_kernel
from kos.kernel.mm import mm_wrapper as mm
from kos.memory import constants as c
from kos.memory.page import PageFrame, PageFrameAllocator

pytestmark = pytest.mark.unicorn


@pytest.fixture
def pages(live: Kernel) -> Iterator[PageFrameAllocator]:
    alloc = PageFrameAllocator(kernel=live)
    free0 = alloc.get_free_pages()
    yield alloc
    assert alloc.get_free_pages() == free0
    assert mm.buddy_check(kernel=live) == 0


def test_exception_hierarchy():
    assert issubclass(AllocationError, MemoryError)
    assert issubclass(MappingError, MemoryError) and issubclass(ProtectionError, MemoryError)
    assert issubclass(MemoryError, KOSError) and issubclass(KOSError, Exception)
    assert KOSError("x", c.EINVAL).errno == c.EINVAL


def test_spec_example_page_frame_management(pages: PageFrameAllocator):
    page = pages.alloc_page()
    assert page.physical_addr % c.PAGE_SIZE == 0
    assert page.virtual_addr == page.physical_addr and page.ref_count == 0
    assert page.flags & c.PG_HEAD and page.zone == c.ZONE_NORMAL
    page.set_dirty()
    assert page.is_dirty() and page.flags & c.PG_DIRTY
    page.clear_dirty()
    assert not page.is_dirty()
    page.set_dirty()
    pages.free_page(page)
    assert not page.flags & c.PG_HEAD and not page.is_dirty()   # freed frames are fresh


def test_references_and_locks_block_freeing(pages: PageFrameAllocator):
    block = pages.alloc_pages(2)
    assert len(block) == 4
    assert [p.physical_addr - block[0].physical_addr for p in block] == [0, 4096, 8192, 12288]
    block[2].get()
    block[2].get()
    assert block[2].ref_count == 2
    with pytest.raises(MemoryError) as e:
        pages.free_pages(block)
    assert e.value.errno == c.EBUSY
    block[2].put()
    block[2].put()
    with pytest.raises(MemoryError) as e:
        block[2].put()
    assert e.value.errno == c.EINVAL
    block[3].lock()
    assert block[3].is_locked() and block[3].flags & c.PG_LOCKED
    with pytest.raises(MemoryError) as e:
        block[3].lock()
    assert e.value.errno == c.EBUSY
    with pytest.raises(MemoryError):
        pages.free_pages(block)
    block[3].unlock()
    with pytest.raises(MemoryError) as e:
        block[3].unlock()
    assert e.value.errno == c.EINVAL
    pages.free_pages(block)


def test_virtual_mapping(pages: PageFrameAllocator):
    page = pages.alloc_page()
    page.map_virtual(0x40000000)
    assert page.virtual_addr == 0x40000000
    with pytest.raises(MappingError) as e:
        page.map_virtual(0x40000001)
    assert e.value.errno == c.EFAULT
    with pytest.raises(MappingError):
        page.map_virtual(1 << 40)
    page.unmap_virtual()
    assert page.virtual_addr == 0
    with pytest.raises(MappingError) as e:
        page.unmap_virtual()
    assert e.value.errno == c.EINVAL
    pages.free_page(page)
    assert page.virtual_addr == page.physical_addr


def test_page_frames_by_address(live: Kernel, pages: PageFrameAllocator):
    page = pages.alloc_page()
    same = PageFrame(page.physical_addr + 123, kernel=live)
    assert same == page and hash(same) == hash(page)
    kernel_image = PageFrame(live.symbol("__kernel_start"), kernel=live)
    assert kernel_image.flags & c.PG_RESERVED
    with pytest.raises(MemoryError) as e:
        kernel_image.get()
    assert e.value.errno == c.EACCES
    with pytest.raises(MemoryError) as e:
        PageFrame(0x80000000, kernel=live)
    assert e.value.errno == c.ENXIO
    pages.free_page(page)
    with pytest.raises(MemoryError) as e:
        page.get()                                          # free frame
    assert e.value.errno == c.EINVAL
    with pytest.raises(MemoryError) as e:
        pages.free_page(page)
    assert e.value.errno == c.EINVAL


def test_free_pages_checks_the_list(pages: PageFrameAllocator):
    block = pages.alloc_pages(1)
    for bad in ([], block[:1] * 3, [block[1], block[0]]):
        with pytest.raises(MemoryError) as e:
            pages.free_pages(bad)
        assert e.value.errno == c.EINVAL
    with pytest.raises(MemoryError):
        pages.free_page(block[0])                           # order 0: the block is order 1
    pages.free_pages(block)


def test_free_pages_of_what_is_no_page_frame_raises_type_error(pages: PageFrameAllocator):
    """free_page(None) and free_pages([1]) used to fail inside the method
    with AttributeError ('NoneType' object has no attribute '_kernel')."""
    block = pages.alloc_pages(1)
    free = pages.get_free_pages()
    for bad in (None, 5, [1], [block[0], None], "frames"):
        with pytest.raises(TypeError, match=r"^pages must be a PageFrame or a list of them"):
            pages.free_pages(bad)                                   # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^pages must be"):
        pages.free_page(None)                                       # type: ignore[arg-type]
    assert pages.get_free_pages() == free
    pages.free_pages(tuple(block))                                  # type: ignore[arg-type]


def test_alloc_pages_failures_raise_allocation_error(pages: PageFrameAllocator):
    for order in (-1, c.MAX_ORDER + 1):
        with pytest.raises(AllocationError) as e:
            pages.alloc_pages(order)
        assert e.value.errno == c.EINVAL
    held = []
    try:
        while True:
            held.append(mm.buddy_alloc(c.MAX_ORDER, kernel=pages.kernel))
            if not held[-1]:
                held.pop()
                break
        with pytest.raises(AllocationError) as e:
            pages.alloc_pages(c.MAX_ORDER)
        assert e.value.errno == c.ENOMEM
    finally:
        for a in held:
            assert mm.buddy_free(a, c.MAX_ORDER, kernel=pages.kernel) == 0


def test_spec_example_kernel_memory_operations(live: Kernel):
    addr = mm.buddy_alloc(2, kernel=live)
    assert addr and addr % (4 * c.PAGE_SIZE) == 0
    assert mm.buddy_free(addr, 2, kernel=live) == 0
    cache_id = mm.slab_create("my_objects", 64, 8, kernel=live)
    assert cache_id > 0
    obj = mm.slab_alloc(cache_id, kernel=live)
    assert obj and obj % 8 == 0
    info = mm.slab_info(cache_id, kernel=live)
    assert info is not None and info["name"] == "my_objects" and info["active_objs"] == 1
    assert mm.slab_free(cache_id, obj, kernel=live) == 0
    assert mm.slab_destroy(cache_id, kernel=live) == 0


def test_buddy_stats_has_free_blocks_by_order(live: Kernel):
    s = mm.buddy_stats(kernel=live)
    assert len(s["free_blocks"]) == c.MAX_ORDER + 1
    assert set(s["zones"]) == {"DMA", "Normal", "HighMem"}
    assert s["free_pages"] == sum(n << k for k, n in enumerate(s["free_blocks"]))
    for z in s["zones"].values():
        assert z["free_pages"] == sum(n << k for k, n in enumerate(z["free_blocks"]))
    assert s["zones"]["HighMem"]["managed_pages"] == 0           # 64 MiB
    assert s["free_pages"] == PageFrameAllocator(kernel=live).get_free_pages()


def test_default_kernel_is_used_without_kernel_argument(live: Kernel):
    with use_kernel(live):
        assert kos.kernel.default_kernel() is live
        page = PageFrameAllocator().alloc_page()
        assert page.kernel is live
        PageFrameAllocator().free_page(page)
        assert mm.buddy_check() == 0
        addr = mm.buddy_alloc(0)
        assert mm.buddy_free(addr, 0) == 0


def test_threads_take_turns_on_one_kernel(live: Kernel):
    errors: list[BaseException] = []

    def churn(order: int) -> None:
        try:
            for _ in range(200):
                a = mm.buddy_alloc(order, kernel=live)
                assert a and mm.buddy_free(a, order, kernel=live) == 0
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=churn, args=(k,)) for k in (0, 3, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert mm.buddy_check(kernel=live) == 0


def test_arguments_of_the_wrong_type_raise_type_error(live: Kernel, pages: PageFrameAllocator):
    """A str order or a float address is the caller's mistake: TypeError
    naming the argument, not the failure value of a refused request (a
    silent 0 from buddy_alloc("2")) nor an error from inside the wrapper."""
    free0 = mm.buddy_stats(kernel=live)["free_pages"]
    calls = [
        ("order", lambda: mm.buddy_alloc("2", kernel=live)),             # type: ignore[arg-type]
        ("order", lambda: mm.buddy_alloc(True, kernel=live)),
        ("gfp", lambda: mm.buddy_alloc_zone(0, 1.0, kernel=live)),       # type: ignore[arg-type]
        ("addr", lambda: mm.buddy_free(1.5, 0, kernel=live)),            # type: ignore[arg-type]
        ("total_memory", lambda: mm.buddy_init("64M", kernel=live)),     # type: ignore[arg-type]
        ("name", lambda: mm.slab_create(123, 64, 8, kernel=live)),       # type: ignore[arg-type]
        ("object_size", lambda: mm.slab_create("t", 64.0, 8, kernel=live)),  # type: ignore[arg-type]
        ("alignment", lambda: mm.slab_create("t", 64, None, kernel=live)),   # type: ignore[arg-type]
        ("cache_id", lambda: mm.slab_alloc(None, kernel=live)),          # type: ignore[arg-type]
        ("addr", lambda: mm.slab_free(1, "0x1000", kernel=live)),        # type: ignore[arg-type]
        ("cache_id", lambda: mm.slab_destroy("1", kernel=live)),         # type: ignore[arg-type]
        ("physical_addr", lambda: PageFrame("0x1000", kernel=live)),     # type: ignore[arg-type]
        ("order", lambda: pages.alloc_pages("1")),                       # type: ignore[arg-type]
    ]
    for name, f in calls:
        with pytest.raises(TypeError, match=rf"^{name} must be"):
            f()
    page = pages.alloc_page()
    try:
        with pytest.raises(TypeError, match=r"^virtual_addr must be"):
            page.map_virtual(0x1000 * 1.0)                               # type: ignore[arg-type]
        assert page.virtual_addr == page.physical_addr                   # nothing was recorded
    finally:
        pages.free_page(page)
    assert mm.buddy_stats(kernel=live)["free_pages"] == free0
    assert mm.slab_check(kernel=live) == 0


def test_a_refused_page_operation_carries_the_kernels_reason(pages: PageFrameAllocator):
    page = pages.alloc_page()
    try:
        page.unmap_virtual()                                  # from its home address
        for op, why in ((page.put, "the reference count is 0"), (page.unlock, "the frame is not locked"),
                        (page.unmap_virtual, "the frame is not mapped")):
            with pytest.raises(MemoryError) as e:
                op()
            assert e.value.errno == c.EINVAL and e.value.kernel_message == why
            assert str(e.value).endswith(f": EINVAL (-22): {why}")
        page.lock()
        with pytest.raises(MemoryError) as e:
            page.lock()
        assert (e.value.errno, e.value.kernel_message) == (c.EBUSY, "the frame is locked already")
        page.unlock()
        with pytest.raises(MappingError) as e:
            page.map_virtual(0x40000800)
        assert e.value.kernel_message == "the virtual address is 0 or not page aligned"
        page.map_virtual(page.physical_addr)                  # back to its home address
    finally:
        pages.free_page(page)
    with pytest.raises(MemoryError) as e:
        page.get()
    assert (e.value.errno, e.value.kernel_message) == (c.EINVAL, "the frame is free")
