"""Shared by the filesystem's direct-call tests: a session booted with the
initrd, and user-memory access through an address space the way a process
would touch it: the page-fault handler's vm_fault for every page first
(direct calls do not take exceptions through the IDT), then the bytes.

In the loaded address space (the shell's, mm_current) the bytes move with
the fault-safe copies, so the CPU sets the PTE dirty bits as a process's
stores would. A direct call restores CR3 when it returns, so another
address space cannot be loaded across calls: its bytes are reached through
its own page table entry, in the frame the fault handler mapped there."""

from __future__ import annotations

from kos import paths
from kos.fs import VirtualFileSystem
from kos.kernel import abi, call, read, u32, write
from kos.machine.unicorn.kernel import UnicornKernel, boot

PAGE = 4096


def boot_with_initrd() -> UnicornKernel:
    return boot(paths.KERNEL_ELF, "64M", modules=[paths.INITRD.read_bytes()])


def read_every_file(v: VirtualFileSystem, path: str = "/") -> None:
    """Bring the whole initrd tree into the ramfs and the page cache, so that
    a test's frame count is not moved by the first read of an archive file."""
    for name in v.listdir(path):
        full = path.rstrip("/") + "/" + name
        if v.stat(full).st_mode & 0o170000 == 0o040000:
            read_every_file(v, full)
        else:
            fd = v.open(full)
            while v.read(fd, 65536):
                pass
            v.close(fd)


def access(k: UnicornKernel, name: str) -> int:
    return abi(k).enum("vm_access")[name]


def fault_kind(k: UnicornKernel, name: str) -> int:
    return abi(k).enum("vm_fault_kind")[name]


def touch(k: UnicornKernel, mm: int, va: int, n: int, kind: str) -> int:
    """vm_fault every page of [va, va + n) for the access, lowest first:
    FAULT_NONE, or the first failure's kind (then no byte is copied)."""
    page = va & ~(PAGE - 1)
    while page < va + n:
        r = call(k, "vm_fault", mm, page, access(k, kind))
        if r:
            return r
        page += PAGE
    return 0


def _frame_bytes(k: UnicornKernel, mm: int, va: int, n: int, data: bytes | None) -> bytes:
    """Read n bytes at va of a not-loaded mm (or write data there) through
    its page table entries."""
    out = bytearray()
    mask = abi(k).constant("PAGE_SIZE") - 1
    pos = 0
    while pos < n:
        addr = va + pos
        chunk = min(n - pos, PAGE - (addr & mask))
        pte_at = u32(call(k, "pgtable_entry", mm, addr & ~mask, 0))
        assert pte_at, f"no page table for {addr:#x}"
        entry = int.from_bytes(read(k, pte_at, 8), "little")
        phys = (entry & 0xFFFFFFFF & ~mask) + (addr & mask)      # the session's RAM is below 4 GiB
        if data is None:
            out += read(k, phys, chunk)
        else:
            write(k, phys, data[pos:pos + chunk])
        pos += chunk
    return bytes(out)


def user_read(k: UnicornKernel, mm: int, va: int, n: int) -> bytes | int:
    """n bytes at va in mm, or the fault kind that stopped it."""
    r = touch(k, mm, va, n, "ACCESS_READ")
    if r:
        return r
    if mm != u32(call(k, "mm_current")):
        return _frame_bytes(k, mm, va, n, None)
    buf = u32(call(k, "kmalloc", n))
    try:
        assert call(k, "copy_from_user", buf, va, n) == 0
        return read(k, buf, n)
    finally:
        call(k, "kfree", buf)


def user_write(k: UnicornKernel, mm: int, va: int, data: bytes) -> int:
    """Store data at va in mm: FAULT_NONE or the fault kind."""
    r = touch(k, mm, va, len(data), "ACCESS_WRITE")
    if r:
        return r
    if mm != u32(call(k, "mm_current")):
        _frame_bytes(k, mm, va, len(data), data)
        return 0
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
