"""The buddy allocator and slab caches of a live KOS kernel, as the
specification's functions. Each calls the kernel function of the same name
(kernel/mm/buddy.c, slab.c) and returns what it returns: an address (0 on
failure), an id, or 0 / a negative error code from kos.memory.constants.
Every function takes kernel= to name the kernel; the default is
kos.kernel.default_kernel().
"""

from __future__ import annotations

import struct
from typing import Any

from kos.kernel import Kernel, call, fits_u32, read, resolve, s32, u32, with_bytes
from kos.memory.constants import EINVAL, MAX_ORDER, SLAB_NAME_MAX, ZONE_NAMES

__all__ = [
    "buddy_alloc", "buddy_alloc_zone", "buddy_check", "buddy_free", "buddy_init", "buddy_stats",
    "slab_alloc", "slab_check", "slab_create", "slab_destroy", "slab_free", "slab_info",
]

NR_ZONES = 3
NR_ORDERS = MAX_ORDER + 1

# struct buddy_stats (kernel/mm/buddy.h): managed_pages[3], free_pages[3],
# free_blocks[3][11], allocs, frees, failed_allocs, bad_frees, mem_map_phys,
# mem_map_bytes, total_memory; all uint32_t.
_BUDDY_STATS = struct.Struct(f"<{NR_ZONES}I{NR_ZONES}I{NR_ZONES * NR_ORDERS}I7I")
# struct slab_info (kernel/mm/slab.h): name[24] then 14 uint32_t.
_SLAB_INFO_FIELDS = ("object_size", "size", "align", "objs_per_slab", "pages_per_slab", "active_objs",
                     "total_objs", "slabs", "active_slabs", "pages", "allocs", "frees", "bad_frees",
                     "failed_allocs")
_SLAB_INFO = struct.Struct(f"<{SLAB_NAME_MAX}s{len(_SLAB_INFO_FIELDS)}I")


def buddy_init(total_memory: int, *, kernel: Kernel | None = None) -> int:
    """(Re)build the buddy allocator over the RAM below total_memory bytes.
    0, or EINVAL (below one page), ENOMEM (no room for mem_map), EBUSY
    (blocks are allocated: the kernel keeps its allocator as it was)."""
    if not fits_u32(total_memory) or total_memory < 0:
        return EINVAL
    return s32(call(resolve(kernel), "buddy_init", total_memory))


def buddy_alloc(order: int, *, kernel: Kernel | None = None) -> int:
    """2^order contiguous frames (ZONE_NORMAL, then ZONE_DMA): the physical
    address, aligned to the block size, or 0."""
    if not fits_u32(order) or order < 0:
        return 0
    return u32(call(resolve(kernel), "buddy_alloc", order))


def buddy_alloc_zone(order: int, gfp: int, *, kernel: Kernel | None = None) -> int:
    """buddy_alloc with gfp flags (GFP_* in kos.memory.constants)."""
    if not fits_u32(order, gfp) or order < 0 or gfp < 0:
        return 0
    return u32(call(resolve(kernel), "buddy_alloc_zone", order, gfp))


def buddy_free(addr: int, order: int, *, kernel: Kernel | None = None) -> int:
    """Free a block from buddy_alloc with its order: 0, EINVAL (wrong order,
    not such a block) or EBUSY (a frame is referenced or locked)."""
    if not fits_u32(addr, order) or addr < 0 or order < 0:
        return EINVAL
    return s32(call(resolve(kernel), "buddy_free", addr, order))


def buddy_stats(*, kernel: Kernel | None = None) -> dict[str, Any]:
    """Free blocks by order, per zone and in all, with frame counts:

        {'free_blocks': [n0 .. n10], 'free_pages': n, 'managed_pages': n,
         'zones': {'DMA': {'managed_pages': n, 'free_pages': n, 'free_blocks': [...]}, ...},
         'allocs': n, 'frees': n, 'failed_allocs': n, 'bad_frees': n,
         'total_memory': bytes, 'mem_map': addr, 'mem_map_bytes': n}
    """
    k = resolve(kernel)
    with with_bytes(k, bytes(_BUDDY_STATS.size)) as buf:
        call(k, "buddy_stats", buf)
        v = _BUDDY_STATS.unpack(read(k, buf, _BUDDY_STATS.size))
    managed, free = v[0:NR_ZONES], v[NR_ZONES:2 * NR_ZONES]
    blocks = v[2 * NR_ZONES:2 * NR_ZONES + NR_ZONES * NR_ORDERS]
    allocs, frees, failed, bad, mem_map, mem_map_bytes, total = v[-7:]
    zones = {
        ZONE_NAMES[z]: {
            "managed_pages": managed[z],
            "free_pages": free[z],
            "free_blocks": list(blocks[z * NR_ORDERS:(z + 1) * NR_ORDERS]),
        }
        for z in range(NR_ZONES)
    }
    return {
        "free_blocks": [sum(zones[ZONE_NAMES[z]]["free_blocks"][k] for z in range(NR_ZONES))
                        for k in range(NR_ORDERS)],
        "free_pages": sum(free),
        "managed_pages": sum(managed),
        "zones": zones,
        "allocs": allocs,
        "frees": frees,
        "failed_allocs": failed,
        "bad_frees": bad,
        "total_memory": total,
        "mem_map": mem_map,
        "mem_map_bytes": mem_map_bytes,
    }


def buddy_check(*, kernel: Kernel | None = None) -> int:
    """Violations of the buddy allocator's invariants (0 when all is well)."""
    return u32(call(resolve(kernel), "buddy_check", 0))


def slab_create(name: str, object_size: int, alignment: int, *, kernel: Kernel | None = None) -> int:
    """A cache of object_size-byte objects aligned to alignment (a power of
    two up to 4096; 0 means 8). Its id (> 0), or EINVAL / ENOMEM."""
    if not fits_u32(object_size, alignment) or object_size < 0 or alignment < 0:
        return EINVAL
    data = name.encode("utf-8", errors="replace")
    if not data or b"\0" in data:
        return EINVAL
    k = resolve(kernel)
    with with_bytes(k, data + b"\0") as ptr:
        return s32(call(k, "slab_create", ptr, object_size, alignment))


def slab_alloc(cache_id: int, *, kernel: Kernel | None = None) -> int:
    """An object from the cache: its address, or 0."""
    if not fits_u32(cache_id):
        return 0
    return u32(call(resolve(kernel), "slab_alloc", cache_id))


def slab_free(cache_id: int, addr: int, *, kernel: Kernel | None = None) -> int:
    """Give an object back: 0, or EINVAL (not an object of this cache, or already free)."""
    if not fits_u32(cache_id, addr) or addr < 0:
        return EINVAL
    return s32(call(resolve(kernel), "slab_free", cache_id, addr))


def slab_destroy(cache_id: int, *, kernel: Kernel | None = None) -> int:
    """Destroy the cache: 0, EINVAL (no such cache) or EBUSY (objects still allocated)."""
    if not fits_u32(cache_id):
        return EINVAL
    return s32(call(resolve(kernel), "slab_destroy", cache_id))


def slab_info(cache_id: int, *, kernel: Kernel | None = None) -> dict[str, Any] | None:
    """The cache's statistics (name, object_size, size, align, objs_per_slab,
    pages_per_slab, active_objs, total_objs, slabs, active_slabs, pages,
    allocs, frees, bad_frees, failed_allocs), or None for an unknown id."""
    if not fits_u32(cache_id):
        return None
    k = resolve(kernel)
    with with_bytes(k, bytes(_SLAB_INFO.size)) as buf:
        if s32(call(k, "slab_info", cache_id, buf)) != 0:
            return None
        name, *values = _SLAB_INFO.unpack(read(k, buf, _SLAB_INFO.size))
    info: dict[str, Any] = {"name": name.split(b"\0", 1)[0].decode("utf-8", errors="replace")}
    info.update(zip(_SLAB_INFO_FIELDS, values, strict=True))
    return info


def slab_check(*, kernel: Kernel | None = None) -> int:
    """Violations of the slab caches' invariants (0 when all is well)."""
    return u32(call(resolve(kernel), "slab_check", 0))
