"""The buddy allocator and slab caches of a live KOS kernel, as the
specification's functions. Each calls the kernel function of the same name
(kernel/mm/buddy.c, kernel/mm/slab/) and returns what it returns: an address (0 on
failure), an id, or 0 / a negative error code from kos.memory.constants.
Every function takes kernel= to name the kernel; the default is
kos.kernel.default_kernel(). An argument of the wrong type (a str order, a
float address, a name that is no str) raises TypeError.
"""

from __future__ import annotations

from typing import Any

from kos.kernel import (
    Kernel,
    call,
    call64,
    call_out,
    fits_u32,
    require_int,
    resolve,
    s32,
    split64,
    u32,
    with_bytes,
)
from kos.memory.constants import EINVAL, SLAB_NAME_MAX, ZONE_NAMES

__all__ = [
    "buddy_alloc", "buddy_alloc_zone", "buddy_check", "buddy_free", "buddy_init", "buddy_stats",
    "slab_alloc", "slab_check", "slab_create", "slab_destroy", "slab_free", "slab_info",
]


def buddy_init(total_memory: int, *, kernel: Kernel | None = None) -> int:
    """(Re)build the buddy allocator over the RAM below total_memory bytes.
    0, or EINVAL (below one page), ENOMEM (no room for mem_map), EBUSY
    (blocks are allocated: the kernel keeps its allocator as it was)."""
    if not 0 <= require_int("total_memory", total_memory) < 1 << 64:
        return EINVAL
    return s32(call(resolve(kernel), "buddy_init", *split64(total_memory)))


def buddy_alloc(order: int, *, kernel: Kernel | None = None) -> int:
    """2^order contiguous frames (ZONE_NORMAL, then ZONE_DMA): the physical
    address, aligned to the block size, or 0."""
    if not fits_u32(require_int("order", order)) or order < 0:
        return 0
    return call64(resolve(kernel), "buddy_alloc", order)


def buddy_alloc_zone(order: int, gfp: int, *, kernel: Kernel | None = None) -> int:
    """buddy_alloc with gfp flags (GFP_* in kos.memory.constants). With
    GFP_HIGHMEM the address may lie above 4 GiB."""
    if not fits_u32(require_int("order", order), require_int("gfp", gfp)) or order < 0 or gfp < 0:
        return 0
    return call64(resolve(kernel), "buddy_alloc_zone", order, gfp)


def buddy_free(addr: int, order: int, *, kernel: Kernel | None = None) -> int:
    """Free a block from buddy_alloc with its order: 0, EINVAL (wrong order,
    not such a block) or EBUSY (a frame is referenced or locked)."""
    require_int("addr", addr)
    if not fits_u32(require_int("order", order)) or not 0 <= addr < 1 << 64 or order < 0:
        return EINVAL
    return s32(call(resolve(kernel), "buddy_free", *split64(addr), order))


def buddy_stats(*, kernel: Kernel | None = None) -> dict[str, Any]:
    """Free blocks by order, per zone and in all, with frame counts:

        {'free_blocks': [n0 .. n10], 'free_pages': n, 'managed_pages': n,
         'zones': {'DMA': {'managed_pages': n, 'free_pages': n, 'free_blocks': [...]}, ...},
         'allocs': n, 'frees': n, 'failed_allocs': n, 'bad_frees': n,
         'total_memory': bytes, 'mem_map': addr, 'mem_map_bytes': n}
    """
    st: dict[str, Any]
    _, st = call_out(resolve(kernel), "buddy_stats", "buddy_stats")
    blocks: list[list[int]] = st["free_blocks"]
    zones = {
        name: {
            "managed_pages": st["managed_pages"][z],
            "free_pages": st["free_pages"][z],
            "free_blocks": blocks[z],
        }
        for z, name in sorted(ZONE_NAMES.items())
    }
    return {
        "free_blocks": [sum(orders) for orders in zip(*blocks, strict=True)],
        "free_pages": sum(st["free_pages"]),
        "managed_pages": sum(st["managed_pages"]),
        "zones": zones,
        "allocs": st["allocs"],
        "frees": st["frees"],
        "failed_allocs": st["failed_allocs"],
        "bad_frees": st["bad_frees"],
        "total_memory": st["total_memory"],
        "mem_map": st["mem_map_phys"],
        "mem_map_bytes": st["mem_map_bytes"],
    }


def buddy_check(*, kernel: Kernel | None = None) -> int:
    """Violations of the buddy allocator's invariants (0 when all is well)."""
    return u32(call(resolve(kernel), "buddy_check", 0))


def slab_create(name: str, object_size: int, alignment: int, *, kernel: Kernel | None = None) -> int:
    """A cache of object_size-byte objects aligned to alignment (a power of
    two up to 4096; 0 means 8). Its id (> 0), or EINVAL / ENOMEM."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    require_int("object_size", object_size)
    if not fits_u32(object_size, require_int("alignment", alignment)) or object_size < 0 or alignment < 0:
        return EINVAL
    data = name.encode("utf-8", errors="replace")
    if not data or b"\0" in data:
        return EINVAL
    # The kernel keeps SLAB_NAME_MAX - 1 bytes; cut here, at a character,
    # so the name slabinfo shows is no broken UTF-8 sequence.
    data = data[:SLAB_NAME_MAX - 1].decode("utf-8", errors="ignore").encode("utf-8")
    k = resolve(kernel)
    with with_bytes(k, data + b"\0") as ptr:
        return s32(call(k, "slab_create", ptr, object_size, alignment))


def slab_alloc(cache_id: int, *, kernel: Kernel | None = None) -> int:
    """An object from the cache: its address, or 0."""
    if not fits_u32(require_int("cache_id", cache_id)):
        return 0
    return u32(call(resolve(kernel), "slab_alloc", cache_id))


def slab_free(cache_id: int, addr: int, *, kernel: Kernel | None = None) -> int:
    """Give an object back: 0, or EINVAL (not an object of this cache, or already free)."""
    if not fits_u32(require_int("cache_id", cache_id), require_int("addr", addr)) or addr < 0:
        return EINVAL
    return s32(call(resolve(kernel), "slab_free", cache_id, addr))


def slab_destroy(cache_id: int, *, kernel: Kernel | None = None) -> int:
    """Destroy the cache: 0, EINVAL (no such cache) or EBUSY (objects still allocated)."""
    if not fits_u32(require_int("cache_id", cache_id)):
        return EINVAL
    return s32(call(resolve(kernel), "slab_destroy", cache_id))


def slab_info(cache_id: int, *, kernel: Kernel | None = None) -> dict[str, Any] | None:
    """The cache's statistics (name, object_size, size, align, objs_per_slab,
    pages_per_slab, active_objs, total_objs, slabs, active_slabs, pages,
    allocs, frees, bad_frees, failed_allocs), or None for an unknown id."""
    if not fits_u32(require_int("cache_id", cache_id)):
        return None
    result, info = call_out(resolve(kernel), "slab_info", "slab_info", cache_id)
    if s32(result) != 0:
        return None
    name = info.pop("name")
    assert isinstance(name, bytes)
    return {"name": name.split(b"\0", 1)[0].decode("utf-8", errors="replace"), **info}


def slab_check(*, kernel: Kernel | None = None) -> int:
    """Violations of the slab caches' invariants (0 when all is well)."""
    return u32(call(resolve(kernel), "slab_check", 0))
