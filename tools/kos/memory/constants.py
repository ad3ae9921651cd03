"""Constants of the KOS memory API: the specification's protection and
mapping flags, zones and error codes (negative, as callers see them), and
the kernel's own (memory map, page size, orders, gfp flags, struct page
flags, slab limits).

Every value is read from the kernel image (build/kernel.elf) through
kos.target.abi when first asked for, so none is spelled here: kernel/abi.c
restates the kernel's #defines where the image carries them.

    from kos.memory.constants import EINVAL, HEAP_START, PROT_READ
"""

from __future__ import annotations

from typing import Any

from kos import paths
from kos.target.abi import Abi, load

# The constants this module has, each read from the image under its name.
NAMES = (
    "EACCES", "EBADF", "EBUSY", "EEXIST", "EFAULT", "EINVAL", "ENOMEM", "ENXIO", "EPERM", "ESRCH",
    "GFP_DMA", "GFP_HIGHMEM", "GFP_KERNEL", "GFP_MASK", "GFP_THISZONE",
    "DIRECT_MAP_END", "HEAP_ALIGN", "HEAP_END", "HEAP_SIZE", "HEAP_START",
    "KMAP_END", "KMAP_PAGES", "KMAP_START",
    "MAP_ANONYMOUS", "MAP_FIXED", "MAP_GROWSDOWN", "MAP_LOCKED", "MAP_POPULATE", "MAP_PRIVATE", "MAP_SHARED",
    "MAX_BLOCKS", "MAX_ORDER", "MM_POLICY_WX", "MS_SYNC",
    "O_CREAT", "O_RDONLY", "O_RDWR", "O_TRUNC", "O_WRONLY", "MAX_PROCESS_STACKS", "NR_ORDERS", "NR_ZONES",
    "PAGE_SHIFT", "PAGE_SIZE",
    "PG_DIRTY", "PG_FREE", "PG_HEAD", "PG_LOCKED", "PG_RESERVED", "PG_SLAB", "PG_WRITTEN",
    "PG_ZONE_SHIFT",
    "PROT_EXEC", "PROT_NONE", "RLIMIT_AS", "PROT_READ", "PROT_RW", "PROT_RWX", "PROT_WRITE",
    "SLAB_MAX_CACHES", "SLAB_MAX_OBJECT", "SLAB_NAME_MAX",
    "STACK_GUARD_SIZE", "STACK_REGION_END", "STACK_REGION_START", "STACK_SIZE", "STACK_SLOT_SIZE",
    "USER_END", "USER_START", "VMALLOC_END", "VMALLOC_START",
    "ZONE_DMA", "ZONE_DMA_END", "ZONE_HIGHMEM", "ZONE_NORMAL", "ZONE_NORMAL_END",
)

# The kernel's names for its zones (buddyinfo, meminfo), by zone number.
_ZONE_NAMES = {"ZONE_DMA": "DMA", "ZONE_NORMAL": "Normal", "ZONE_HIGHMEM": "HighMem"}


def image() -> Abi:
    """The interface of build/kernel.elf, which every constant comes from."""
    if not paths.KERNEL_ELF.exists():
        raise FileNotFoundError(f"{paths.KERNEL_ELF} is missing: the memory API's constants come from "
                                "the kernel image (run `./kos build`)")
    return load(paths.KERNEL_ELF)


def error_name(code: int) -> str:
    """"ENOMEM" for ENOMEM (-12); the number itself for anything else."""
    return __getattr__("ERROR_NAMES").get(code, str(code))


def __getattr__(name: str) -> Any:
    if name == "ERROR_NAMES":
        return {value: key.removeprefix("ABI_") for key, value in image().enum("abi_errno").items()}
    if name == "ZONE_NAMES":
        return {image().constant(zone): label for zone, label in _ZONE_NAMES.items()}
    if name in NAMES:
        return image().constant(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *NAMES, "ERROR_NAMES", "ZONE_NAMES"])
