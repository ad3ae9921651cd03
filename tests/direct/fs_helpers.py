"""Shared by the filesystem's direct-call tests: a session booted with the
initrd, and user-memory access through an address space the way a process
would touch it (the page-fault handler's vm_fault, then the fault-safe
copies), since direct calls do not take exceptions through the IDT."""

from __future__ import annotations

from kos import paths
from kos.kernel import abi, call, read, u32, write
from kos.machine.unicorn.kernel import UnicornKernel, boot

PAGE = 4096


def boot_with_initrd() -> UnicornKernel:
    return boot(paths.KERNEL_ELF, "64M", modules=[paths.INITRD.read_bytes()])


def access(k: UnicornKernel, name: str) -> int:
    return abi(k).enum("vm_access")[name]


def fault_kind(k: UnicornKernel, name: str) -> int:
    return abi(k).enum("vm_fault_kind")[name]


def touch(k: UnicornKernel, mm: int, va: int, n: int, kind: str) -> int:
    """vm_fault every page of [va, va + n) for the access: FAULT_NONE, or the
    first failure's kind."""
    page = va & ~(PAGE - 1)
    while page < va + n:
        r = call(k, "vm_fault", mm, page, access(k, kind))
        if r:
            return r
        page += PAGE
    return 0


def user_read(k: UnicornKernel, mm: int, va: int, n: int) -> bytes | int:
    """n bytes at va in mm (made current), or the fault kind that stopped it."""
    call(k, "mm_activate", mm)
    r = touch(k, mm, va, n, "ACCESS_READ")
    if r:
        return r
    buf = u32(call(k, "kmalloc", n))
    try:
        assert call(k, "copy_from_user", buf, va, n) == 0
        return read(k, buf, n)
    finally:
        call(k, "kfree", buf)


def user_write(k: UnicornKernel, mm: int, va: int, data: bytes) -> int:
    """Store data at va in mm (made current): FAULT_NONE or the fault kind."""
    call(k, "mm_activate", mm)
    r = touch(k, mm, va, len(data), "ACCESS_WRITE")
    if r:
        return r
    buf = u32(call(k, "kmalloc", len(data)))
    try:
        write(k, buf, data)
        assert call(k, "copy_to_user", va, buf, len(data)) == 0
        return 0
    finally:
        call(k, "kfree", buf)


def file_inode(k: UnicornKernel, fdtable: int, fd: int) -> int:
    """The struct inode behind fd of the table (read through the DWARF layouts)."""
    a = abi(k)
    slots = a.struct("fdtable").offsetof("fd")
    f = k.read_u32(fdtable + slots + 4 * fd)
    return k.read_u32(f + a.struct("file").offsetof("inode"))


def cached_page(k: UnicornKernel, inode: int, index: int) -> int:
    """The page-cache frame's struct page, or 0."""
    return u32(call(k, "pagecache_page", inode, index, 0))
