"""Page frames of a live KOS kernel: the specification's PageFrame and
PageFrameAllocator over kernel/mm/page.c.

A PageFrame is a handle on the kernel's struct page for one frame; every
attribute is read from the kernel when asked, and every method runs the
kernel function (page_get, page_lock, ...). Failures raise
kos.exceptions.MemoryError (MappingError for map/unmap,
AllocationError when no frame is free) carrying the kernel's error code;
an argument that is no int raises TypeError.
Every class takes kernel=; the default is kos.kernel.default_kernel().
"""

from __future__ import annotations

from kos.exceptions import AllocationError, MappingError, MemoryError
from kos.kernel import (
    Kernel,
    call,
    call64,
    call_lock,
    fits_u32,
    read,
    require_int,
    resolve,
    s32,
    split64,
    u32,
)
from kos.memory.constants import (
    EINVAL,
    ENOMEM,
    ENXIO,
    GFP_KERNEL,
    MAX_ORDER,
    PAGE_SIZE,
    PG_DIRTY,
    PG_LOCKED,
    PG_ZONE_SHIFT,
    error_name,
)

__all__ = ["PageFrame", "PageFrameAllocator"]


def _raise_on(code: int, what: str, cls: type[MemoryError] = MemoryError, why: str = "") -> None:
    if code < 0:
        raise cls(f"{what}: {error_name(code)} ({code})" + (f": {why}" if why else ""), code, why)


class PageFrame:
    """A physical page frame.

    Attributes (read from the kernel's struct page each time):
        physical_addr: physical address of the page
        virtual_addr: virtual address it is mapped at (0 if unmapped)
        ref_count: reference count (holders beyond the owner)
        flags: page flags (PG_* in kos.memory.constants; zone in the top bits)
    """

    def __init__(self, physical_addr: int, *, kernel: Kernel | None = None) -> None:
        """The frame holding physical_addr. Raises MemoryError (ENXIO) if the
        kernel has no page frame there."""
        require_int("physical_addr", physical_addr)
        self._kernel = resolve(kernel)
        in_range = 0 <= physical_addr < 1 << 64
        ptr = u32(call(self._kernel, "page_lookup", *split64(physical_addr))) if in_range else 0
        if not ptr or physical_addr < 0:
            raise MemoryError(f"no page frame at {physical_addr:#x}", ENXIO)
        self._page = ptr

    @classmethod
    def _of(cls, kernel: Kernel, page: int) -> PageFrame:
        frame = cls.__new__(cls)
        frame._kernel = kernel
        frame._page = page
        return frame

    @property
    def kernel(self) -> Kernel:
        return self._kernel

    @property
    def struct_page(self) -> int:
        """Address of the frame's struct page in the kernel."""
        return self._page

    @property
    def physical_addr(self) -> int:
        return call64(self._kernel, "page_phys", self._page)

    @property
    def virtual_addr(self) -> int:
        return u32(call(self._kernel, "page_virt", self._page))

    @property
    def ref_count(self) -> int:
        return s32(call(self._kernel, "page_ref_count", self._page))

    @property
    def flags(self) -> int:
        return u32(call(self._kernel, "page_flags", self._page))

    @property
    def zone(self) -> int:
        """ZONE_DMA, ZONE_NORMAL or ZONE_HIGHMEM."""
        return self.flags >> PG_ZONE_SHIFT

    def _op(self, fn: str, *args: int, cls: type[MemoryError] = MemoryError) -> None:
        """Run the kernel's fn on the frame; a refusal raises cls with the
        kernel's reason (page_change_why) as kernel_message."""
        with call_lock():
            err = s32(call(self._kernel, fn, self._page, *args))
            why = ""
            if err < 0:
                at = u32(call(self._kernel, "page_change_why"))
                why = read(self._kernel, at, 64).partition(b"\0")[0].decode("utf-8", errors="replace")
        _raise_on(err, f"{fn}({self.physical_addr:#x})", cls, why)

    def get(self) -> None:
        """Increment reference count."""
        self._op("page_get")

    def put(self) -> None:
        """Decrement reference count (MemoryError EINVAL at 0)."""
        self._op("page_put")

    def is_dirty(self) -> bool:
        return bool(self.flags & PG_DIRTY)

    def set_dirty(self) -> None:
        self._op("page_set_dirty")

    def clear_dirty(self) -> None:
        self._op("page_clear_dirty")

    def is_locked(self) -> bool:
        return bool(self.flags & PG_LOCKED)

    def lock(self) -> None:
        """Lock page in memory: it cannot be freed until unlocked (MemoryError EBUSY if locked)."""
        self._op("page_lock")

    def unlock(self) -> None:
        self._op("page_unlock")

    def map_virtual(self, virtual_addr: int) -> None:
        """Record that the page is mapped at virtual_addr (page aligned, not 0)."""
        if not fits_u32(require_int("virtual_addr", virtual_addr)) or virtual_addr < 0:
            raise MappingError(f"virtual address {virtual_addr:#x} does not fit 32 bits", EINVAL)
        self._op("page_map_virtual", virtual_addr, cls=MappingError)

    def unmap_virtual(self) -> None:
        self._op("page_unmap_virtual", cls=MappingError)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PageFrame) and other._kernel is self._kernel and other._page == self._page

    def __hash__(self) -> int:
        return hash((id(self._kernel), self._page))

    def __repr__(self) -> str:
        return f"PageFrame({self.physical_addr:#010x}, ref_count={self.ref_count}, flags={self.flags:#x})"


class PageFrameAllocator:
    """Physical page frame allocator: the kernel's buddy allocator, in frames
    (GFP_KERNEL: ZONE_NORMAL, then ZONE_DMA)."""

    def __init__(self, *, kernel: Kernel | None = None) -> None:
        self._kernel = resolve(kernel)

    @property
    def kernel(self) -> Kernel:
        return self._kernel

    def alloc_page(self) -> PageFrame:
        """Allocate a single page frame. Raises AllocationError (a MemoryError) if none is free."""
        return self.alloc_pages(0)[0]

    def alloc_pages(self, order: int) -> list[PageFrame]:
        """2^order contiguous frames, lowest first. Raises AllocationError for
        an order outside 0..MAX_ORDER or when no block is free."""
        if not 0 <= require_int("order", order) <= MAX_ORDER:
            raise AllocationError(f"order {order!r} is not in 0..{MAX_ORDER}", EINVAL)
        head = u32(call(self._kernel, "alloc_pages", GFP_KERNEL, order))
        if not head:
            raise AllocationError(f"no free block of order {order}", ENOMEM)
        phys = call64(self._kernel, "page_phys", head)
        pages = [PageFrame._of(self._kernel, head)]
        for i in range(1, 1 << order):
            tail = u32(call(self._kernel, "page_lookup", *split64(phys + i * PAGE_SIZE)))
            pages.append(PageFrame._of(self._kernel, tail))
        return pages

    def free_page(self, page: PageFrame) -> None:
        """Free a frame from alloc_page. Raises MemoryError if the kernel
        refuses (EBUSY: referenced or locked; EINVAL: not an allocated block
        of one frame; EACCES: reserved or slab)."""
        self.free_pages([page])

    def free_pages(self, pages: list[PageFrame] | PageFrame) -> None:
        """Free the block alloc_pages returned (all its frames, lowest first).
        Anything but PageFrames raises TypeError, nothing freed."""
        if isinstance(pages, PageFrame):
            pages = [pages]
        if not isinstance(pages, list | tuple) or not all(isinstance(p, PageFrame) for p in pages):
            raise TypeError(f"pages must be a PageFrame or a list of them, not {pages!r}")
        n = len(pages)
        if n == 0 or n & (n - 1) or n > 1 << MAX_ORDER:
            raise MemoryError(f"{n} frames are not one block of 2^order frames", EINVAL)
        head = pages[0]
        if any(p._kernel is not self._kernel for p in pages):
            raise MemoryError("frames of another kernel", EINVAL)
        base = head.physical_addr
        if n > 1 and any(p.physical_addr != base + i * PAGE_SIZE for i, p in enumerate(pages)):
            raise MemoryError("frames are not one contiguous block, lowest first", EINVAL)
        order = n.bit_length() - 1
        _raise_on(s32(call(self._kernel, "free_pages", head._page, order)), f"free_pages({base:#x}, {order})")

    def get_free_pages(self) -> int:
        """Number of free pages available."""
        return u32(call(self._kernel, "get_free_pages"))
