"""Constants of the KOS memory API: the specification's protection and
mapping flags, zones and error codes, and the kernel's own (page size,
orders, gfp flags, struct page flags) as kernel/mm/page.h and buddy.h
define them."""

from __future__ import annotations

# Protection flags for mmap/mprotect.
PROT_NONE = 0x0
PROT_READ = 0x1
PROT_WRITE = 0x2
PROT_EXEC = 0x4
PROT_RW = PROT_READ | PROT_WRITE
PROT_RWX = PROT_READ | PROT_WRITE | PROT_EXEC

# Mapping flags.
MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_GROWSDOWN = 0x0100
MAP_LOCKED = 0x2000
MAP_POPULATE = 0x8000

# Memory zones.
ZONE_DMA = 0
ZONE_NORMAL = 1
ZONE_HIGHMEM = 2
ZONE_NAMES = {ZONE_DMA: "DMA", ZONE_NORMAL: "Normal", ZONE_HIGHMEM: "HighMem"}

# Error codes (negative, as the kernel returns them).
ENXIO = -6
ENOMEM = -12
EACCES = -13
EFAULT = -14
EBUSY = -16
EINVAL = -22
ERROR_NAMES = {ENXIO: "ENXIO", ENOMEM: "ENOMEM", EACCES: "EACCES", EFAULT: "EFAULT",
               EBUSY: "EBUSY", EINVAL: "EINVAL"}

# Page frames and the buddy allocator.
PAGE_SIZE = 4096
MAX_ORDER = 10
ZONE_DMA_END = 16 << 20
ZONE_NORMAL_END = 896 << 20

# gfp flags: which zones an allocation may use.
GFP_KERNEL = 0x0      # Normal, then DMA
GFP_DMA = 0x1         # DMA only
GFP_HIGHMEM = 0x2     # HighMem, then Normal, then DMA
GFP_THISZONE = 0x4    # only the first zone of the list

# struct page flags; the zone is in the top two bits.
PG_RESERVED = 0x0001
PG_FREE = 0x0002
PG_HEAD = 0x0004
PG_SLAB = 0x0008
PG_DIRTY = 0x0010
PG_LOCKED = 0x0020
PG_ZONE_SHIFT = 30

# Slab caches.
SLAB_MAX_CACHES = 64
SLAB_NAME_MAX = 24


def error_name(code: int) -> str:
    return ERROR_NAMES.get(code, str(code))
