"""MemoryManager: the specification's high-level memory interface, on a live
KOS kernel.

    from kos.memory.manager import MemoryManager
    mgr = MemoryManager()            # chooses the kernel; nothing else
    mgr.initialize()                 # boots it if needed, makes the address space
    addr = mgr.allocate(64 * 1024)   # 0 on failure; mgr.last_error says why
    mgr.write(addr, b"hello"); mgr.read(addr, 5)
    mgr.deallocate(addr, 64 * 1024)  # True, or False with the reason in last_error

Allocation strategies, by size (the specification's "Performance
considerations"): under PAGE_SIZE from the kernel heap (kmalloc_aligned,
whose small-object runs play the slab role); PAGE_SIZE up to 1 MiB one
buddy block of the smallest order that holds the size and the alignment;
above 1 MiB a vmalloc area (page frames, HighMem first, mapped contiguously
in the kernel's window). Any power-of-two alignment in each: the heap takes
it as asked, a buddy block of order k is aligned to its own size, a vmalloc
area's start is placed on it.

mmap, munmap, mprotect and msync act on the manager's own address space:
that of its own process, which initialize() starts (a sleeping program of
the initrd, named kos-python in ps) and close() ends; on a kernel without
a console to start processes with, a struct mm made through the vm API.
read() and write() reach its mappings the way the kernel reaches an
address space it has not loaded: each page is resolved by the fault
handler for the access, so a write to a read-only mapping raises
ProtectionError and an unmapped address MappingError, as a CPU access
would fault. Kernel
addresses are reachable only inside blocks this manager allocated.

A host file descriptor given to mmap (os.open) is brought into a kernel
file (kos.memory.hostfile) and that file is mapped, so the mapping's pages
are the page-cache frames of a real kernel file; with MAP_SHARED, pages
written through the mapping are written back to the host file on msync,
on munmap and on close(); MAP_PRIVATE never writes back (its writes go to
private copies). The host file's open mode is the kernel file's, so the
kernel's checks apply (EACCES). fd -1 maps anonymous memory (with
MAP_ANONYMOUS, as in Linux).

Every kernel call is made under one lock (kos.kernel.call_lock), so the
manager is thread-safe. Wrong argument types raise TypeError, impossible
values (a negative size, an alignment that is not a power of two)
ValueError; a request the kernel refuses returns the documented failure
value and last_error keeps the kernel's errno and message.
"""

from __future__ import annotations

import fcntl
import os
import re
from dataclasses import dataclass
from typing import Any

from kos import kernel as kk
from kos.exceptions import KOSError, MappingError, MemoryError, ProtectionError
from kos.fs import KernelFd
from kos.kernel import Kernel, call, call_lock, call_out, require_int, s32, u32
from kos.memory import constants as C
from kos.memory import hostfile

__all__ = ["LastError", "MemoryManager", "default_manager",
           *[n for n in C.NAMES if n.startswith(("PROT_", "MAP_"))]]

MEDIUM_LIMIT = 1024 * 1024          # the largest request served by one buddy block
# The manager's process: a program of the initrd that waits (about three
# years) until the manager kills it, and the name ps gives it.
HOLDER = ("/bin/sleeper", "100000000", "1")
PROCESS_NAME = "kos-python"
_HEAP, _BUDDY, _VMALLOC = "heap", "buddy", "vmalloc"


def __getattr__(name: str) -> Any:
    if name.startswith(("PROT_", "MAP_")) and name in C.NAMES:
        return getattr(C, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_default: MemoryManager | None = None


def default_manager() -> MemoryManager:
    """The process's shared MemoryManager on the default kernel, initialized:
    whose address space SecurityManager and friends act on by default."""
    global _default
    with call_lock():
        if _default is None or _default._kernel is not kk.default_kernel():
            _default = MemoryManager()
        _default.initialize()
        return _default


class _Constant:
    """A constant of the image as a class attribute (read when first used)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: object, owner: type | None = None) -> int:
        return int(getattr(C, self.name))


@dataclass(frozen=True)
class LastError:
    """Why the last refused call failed: the kernel's negative errno, its
    name, and the message (the kernel's reason or report)."""

    errno: int
    name: str
    message: str

    def __str__(self) -> str:
        return f"{self.name} ({self.errno}): {self.message}"


@dataclass
class _Block:
    size: int
    strategy: str
    order: int = 0



def _power_of_two(name: str, value: object) -> int:
    v = require_int(name, value)
    if v <= 0 or v & (v - 1):
        raise ValueError(f"{name} must be a power of two, not {v}")
    return v


class MemoryManager:
    """High-level memory management interface over a live KOS kernel.

    kernel= names the kernel; the default is kos.kernel.default_kernel(),
    booted by initialize() on first use."""

    PROT_NONE = _Constant()
    PROT_READ = _Constant()
    PROT_WRITE = _Constant()
    PROT_EXEC = _Constant()
    PROT_RW = _Constant()
    PROT_RWX = _Constant()
    MAP_SHARED = _Constant()
    MAP_PRIVATE = _Constant()
    MAP_ANONYMOUS = _Constant()
    MAP_FIXED = _Constant()
    MAP_GROWSDOWN = _Constant()
    MAP_LOCKED = _Constant()
    MAP_POPULATE = _Constant()

    def __init__(self, *, kernel: Kernel | None = None) -> None:
        """Initialize memory manager with system defaults: only the choice of kernel."""
        self._chosen = kernel
        self._kernel: Kernel | None = None
        self._mm = 0
        self._pid = 0
        self._blocks: dict[int, _Block] = {}
        self._freed: dict[int, _Block] = {}
        self._host = hostfile.HostMappings()
        self.last_error: LastError | None = None

    # Life cycle.
    def initialize(self) -> bool:
        """Initialize memory management subsystem: boot the kernel if
        needed and make the manager's address space. True; raises
        MemoryError with the reason if the kernel cannot start or has no
        memory for the address space."""
        with call_lock():
            if self._mm:
                return True
            try:
                k = kk.resolve(self._chosen)
            except Exception as e:
                raise MemoryError(f"the kernel cannot start: {e}") from e
            if getattr(k, "console", None) is not None:
                self._pid, mm = self._own_process(k)
            else:
                mm = u32(call(k, "mm_create"))
                if not mm:
                    raise MemoryError("mm_create: no memory for the manager's address space", C.ENOMEM)
            self._kernel, self._mm = k, mm
        return True

    def _own_process(self, k: Kernel) -> tuple[int, int]:
        """A process of the manager's own, whose address space it maps into:
        a program that sleeps until the manager ends it, renamed PROCESS_NAME
        so that ps shows whose it is. (pid, its struct mm)."""
        from kos.process import ProcessManager

        try:
            pid = ProcessManager(kernel=k).spawn(HOLDER[0], list(HOLDER[1:]))
            # Its one line, then silence until it is killed.
            k.console.expect(re.compile(rb"sleeper %d: 0\r?\n" % pid), timeout=30, what="its first line")
        except KOSError as e:
            raise MemoryError(f"no process for the manager: {e}", e.errno, e.kernel_message) from e
        proc = u32(call(k, "proc_find", pid))
        kk.write(k, k.scratch, PROCESS_NAME.encode() + b"\0")
        call(k, "proc_set_name", proc, k.scratch)
        mm = self._u32_at_kernel(k, proc + kk.abi(k).struct("proc").offsetof("mm"))
        return pid, mm

    @staticmethod
    def _u32_at_kernel(k: Kernel, addr: int) -> int:
        return int.from_bytes(kk.read(k, addr, 4), "little")

    @property
    def pid(self) -> int:
        """The manager's process (0 on a kernel without processes' console)."""
        self.initialize()
        return self._pid

    @property
    def kernel(self) -> Kernel:
        self.initialize()
        assert self._kernel is not None
        return self._kernel

    @property
    def mm(self) -> int:
        """The kernel address of the manager's struct mm."""
        self.initialize()
        return self._mm

    def close(self) -> None:
        """Write back and unmap the host-file mappings, give back every
        block still allocated, and destroy the address space."""
        with call_lock():
            if not self._mm:
                return
            for start, end in self._host.ranges():
                self.munmap(start, end - start)
            for addr, block in list(self._blocks.items()):
                self.deallocate(addr, block.size)
            if self._pid:
                from kos.process import SIGKILL, ProcessManager

                # Its exit takes the address space with it.
                processes = ProcessManager(kernel=self.kernel)
                processes.kill(self._pid, SIGKILL)
                processes.wait(self._pid)
            else:
                call(self.kernel, "mm_destroy", self._mm)
            self._mm = self._pid = 0

    def __enter__(self) -> MemoryManager:
        self.initialize()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fail(self, errno: int, message: str) -> None:
        self.last_error = LastError(errno, C.error_name(errno), message)

    # Allocation.
    @staticmethod
    def strategy(size: int) -> str:
        """Which allocator serves a request of size bytes: "heap", "buddy" or "vmalloc"."""
        if size < C.PAGE_SIZE:
            return _HEAP
        return _BUDDY if size <= MEDIUM_LIMIT else _VMALLOC

    def allocate(self, size: int, alignment: int = 8) -> int:
        """Allocate memory block: its kernel address, aligned to alignment
        (a power of two), or 0 if allocation failed (last_error says why)."""
        size = require_int("size", size)
        if size < 0:
            raise ValueError(f"size must not be negative, not {size}")
        alignment = _power_of_two("alignment", alignment)
        with call_lock():
            k = self.kernel
            if size == 0:
                self._fail(C.EINVAL, "the size is 0")
                return 0
            if size >= 1 << 32 or alignment >= 1 << 32:
                self._fail(C.ENOMEM, "larger than the 32-bit kernel's address space")
                return 0
            kind = self.strategy(size)
            mark = kk.output_mark(k)
            if kind == _HEAP:
                addr = u32(call(k, "kmalloc_aligned", size, alignment))
                block = _Block(size, kind)
                why = kk.output_since(k, mark) or "the heap has no room"
            elif kind == _BUDDY:
                order = max((size - 1) // C.PAGE_SIZE, alignment // C.PAGE_SIZE - 1, 0).bit_length()
                if order > C.MAX_ORDER:
                    self._fail(C.EINVAL, f"alignment {alignment:#x} is beyond the largest buddy block "
                                         f"({C.PAGE_SIZE << C.MAX_ORDER:#x} bytes)")
                    return 0
                addr = kk.call64(k, "buddy_alloc", order)     # low memory (GFP_KERNEL): below 4 GiB
                block = _Block(size, kind, order)
                why = f"no free buddy block of order {order}"
            else:
                err = s32(call(k, "vmalloc_area", size, alignment, 0, k.scratch))
                addr = self._u32_at(k.scratch) if err == 0 else 0
                block = _Block(size, kind)
                why = self._cstring(u32(call(k, "vmalloc_why")))
            if not addr:
                self._fail(C.ENOMEM, why)
                return 0
            self._blocks[addr] = block
            self._freed.pop(addr, None)
            return addr

    def deallocate(self, address: int, size: int) -> bool:
        """Deallocate memory block. The size finds the allocator: True, or
        False (reason in last_error) for an address this manager never
        returned, a double free, or a size that does not match the block."""
        address, size = require_int("address", address), require_int("size", size)
        if size < 0:
            raise ValueError(f"size must not be negative, not {size}")
        with call_lock():
            kind = self.strategy(size) if size else _HEAP
            block = self._blocks.get(address)
            if block is None:
                if address in self._freed:
                    self._fail(C.EINVAL, f"double free of {address:#x}: already deallocated")
                else:
                    self._fail(C.EINVAL, f"{address:#x} was never returned by this manager")
                return False
            if block.size != size:
                self._fail(C.EINVAL, f"size mismatch: the block at {address:#x} is {block.size} bytes "
                                     f"({block.strategy}), not {size} ({kind})")
                return False
            k = self.kernel
            mark = kk.output_mark(k)
            if kind == _HEAP:
                err = s32(call(k, "kfree_checked", address))
                why = kk.output_since(k, mark)
            elif kind == _BUDDY:
                err = s32(call(k, "buddy_free", *kk.split64(address), block.order))
                why = f"buddy_free refused the block of order {block.order}"
            else:
                err = s32(call(k, "vfree", address))
                why = self._cstring(u32(call(k, "vmalloc_why")))
            if err:
                self._fail(err if err in C.ERROR_NAMES else C.EINVAL, why)
                return False
            self._freed[address] = self._blocks.pop(address)
            return True

    # Reading and writing.
    def _chunks(self, address: int, size: int) -> list[tuple[int, int]]:
        step = self.kernel.scratch_size
        return [(address + off, min(step, size - off)) for off in range(0, size, step)]

    def _kernel_range(self, address: int, size: int) -> None:
        for start, block in self._blocks.items():
            if start <= address and address + size <= start + block.size:
                return
        raise MappingError(f"{address:#x}+{size:#x}: not inside a block this manager allocated "
                           "(nor in user space)", C.EFAULT)

    def _user(self, address: int) -> bool:
        return address >= C.USER_START

    def _fault(self, address: int) -> MemoryError:
        """The exception for the manager's address space's last unresolved fault."""
        k = self.kernel
        layout = kk.abi(k).struct("mm")
        report = self._mm + layout.offsetof("last_fault")
        kind = self._u32_at(self._mm + layout.offsetof("last_fault.kind"))
        call(k, "vm_fault_describe", report, k.scratch, 128)
        why = self._cstring(k.scratch)
        cls = ProtectionError if kind == kk.abi(k).constant("FAULT_PROTECTION") else MappingError
        return cls(f"{address:#x}: {why}", C.EFAULT, why)

    def read(self, address: int, size: int) -> bytes:
        """size bytes at address: a user address of the manager's mappings
        (ProtectionError where they forbid reading, MappingError where
        nothing is mapped), or inside a block from allocate()."""
        address, size = require_int("address", address), require_int("size", size)
        if size < 0 or address < 0:
            raise ValueError("address and size must not be negative")
        with call_lock():
            k = self.kernel
            out = bytearray()
            if not self._user(address):
                self._kernel_range(address, size)
            for addr, n in self._chunks(address, size):
                if not self._user(addr):
                    call(k, "memcpy", k.scratch, addr, n)
                elif s32(call(k, "vm_access", self._mm, addr, k.scratch, n, 0)):
                    raise self._fault(addr)
                out += kk.read(k, k.scratch, n)
            return bytes(out)

    def write(self, address: int, data: bytes) -> None:
        """Write data at address, as read() reaches it (ProtectionError for
        a read-only mapping, MappingError where nothing is mapped)."""
        address = require_int("address", address)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes, not {type(data).__name__}")
        data = bytes(data)
        with call_lock():
            k = self.kernel
            if not self._user(address):
                self._kernel_range(address, len(data))
            for addr, n in self._chunks(address, len(data)):
                kk.write(k, k.scratch, data[addr - address:addr - address + n])
                if not self._user(addr):
                    call(k, "memcpy", addr, k.scratch, n)
                elif s32(call(k, "vm_access", self._mm, addr, k.scratch, n, 1)):
                    raise self._fault(addr)

    def _u32_at(self, addr: int) -> int:
        return int.from_bytes(kk.read(self.kernel, addr, 4), "little")

    def _cstring(self, addr: int, limit: int = 256) -> str:
        return kk.read(self.kernel, addr, limit).partition(b"\0")[0].decode("utf-8", errors="replace")

    # Mappings.
    def _refused(self, result: int) -> int:
        why = self._cstring(self._u32_at(self._mm + kk.abi(self.kernel).struct("mm").offsetof("why")))
        self._fail(result, why)
        return -1

    def mmap(self, addr: int, length: int, prot: int, flags: int, fd: int, offset: int, *,
             vfs: Any = None) -> int:
        """Memory map operation in the manager's address space: the mapped
        address, or -1 on error (last_error: EINVAL, ENOMEM, EACCES, EBADF).
        fd is -1 (anonymous), a descriptor from kos.fs.VirtualFileSystem.open
        (a kernel fd, mapped by fs_mmap; vfs= names the file system of a
        plain int), or else a host descriptor."""
        for name, v in (("addr", addr), ("length", length), ("prot", prot), ("flags", flags),
                        ("fd", fd), ("offset", offset)):
            require_int(name, v)
        if length < 0 or offset < 0 or prot < 0 or flags < 0:
            raise ValueError("length, prot, flags and offset must not be negative")
        with call_lock():
            k, mm = self.kernel, self.mm
            if not kk.fits_u32(addr, length, prot, flags):
                self._fail(C.EINVAL, "an argument does not fit 32 bits")
                return -1
            if fd == -1:
                r = s32(call(k, "vm_mmap", mm, addr, length, prot, flags))
                return self._refused(r) if r < 0 and r > -4096 else u32(r)
            if vfs is None and isinstance(fd, KernelFd):
                vfs = fd.vfs
            if vfs is not None:
                if vfs.kernel is not k:
                    self._fail(C.EBADF, "the file system is another kernel's")
                    return -1
                why_at = mm + kk.abi(k).struct("mm").offsetof("why")
                kk.write(k, why_at, bytes(4))          # fs_mmap's own refusals leave no reason there
                r = s32(call(k, "fs_mmap", mm, vfs.fdtable, addr, length, prot, flags, fd, offset))
                if r < 0 and r > -4096:
                    if self._u32_at(why_at):
                        return self._refused(r)
                    self._fail(r, f"fd {fd} of the file system cannot be mapped so")
                    return -1
                return u32(r)
            return self._map_host(addr, length, prot, flags, fd, offset)

    def _map_host(self, addr: int, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
        try:
            mode = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
            path = hostfile.kernel_path(fd)
        except OSError as e:
            self._fail(C.EBADF, f"fd {fd}: {e.strerror}")
            return -1
        if mode == os.O_WRONLY:
            # Its bytes cannot be read into the kernel file: Linux's answer.
            self._fail(C.EACCES, f"fd {fd} is not open for reading")
            return -1
        k = self.kernel
        if not self._host.maps(path):
            err = hostfile.import_host_file(k, fd)
            if err:
                self._fail(err, f"bringing host fd {fd} into {path} failed")
                return -1
        kflags = {os.O_RDONLY: C.O_RDONLY, os.O_WRONLY: C.O_WRONLY}.get(mode, C.O_RDWR)
        err, f = hostfile.open_kernel_file(k, path, kflags)
        if err:
            self._fail(err, f"opening {path} failed")
            return -1
        start = self.mmap_kernel_file(addr, length, prot, flags, f, offset)
        call(k, "file_put", f)           # the mapping holds its own reference
        if start == -1:
            if not self._host.maps(path):
                hostfile.unlink_kernel_file(k, path)
            return -1
        end = start + (length + C.PAGE_SIZE - 1) // C.PAGE_SIZE * C.PAGE_SIZE
        self._host.add(hostfile.HostMapping(start, end, os.dup(fd), offset, bool(flags & C.MAP_SHARED), path))
        return start

    def mmap_kernel_file(self, addr: int, length: int, prot: int, flags: int, file: int, offset: int) -> int:
        """mmap of a kernel file, given as the address of its struct file
        (what a kernel fd of the VFS stands for): the mapped address, or -1
        with last_error (EACCES for the file's open mode, EINVAL, ENOMEM)."""
        for name, v in (("addr", addr), ("length", length), ("prot", prot), ("flags", flags),
                        ("file", file), ("offset", offset)):
            require_int(name, v)
        with call_lock():
            bad = min(length, prot, flags, offset) < 0
            if bad or not kk.fits_u32(addr, length, prot, flags, file, offset):
                self._fail(C.EINVAL, "an argument is negative or does not fit 32 bits")
                return -1
            r = s32(call(self.kernel, "fs_mmap_file", self.mm, file, addr, length, prot, flags, offset))
            return self._refused(r) if r < 0 and r > -4096 else u32(r)

    def msync(self, addr: int, length: int) -> int:
        """Write the pages of shared file mappings in the range that were
        written back to their files: 0, or -1 (EINVAL: addr not page aligned)."""
        addr, length = require_int("addr", addr), require_int("length", length)
        if length < 0:
            raise ValueError("length must not be negative")
        with call_lock():
            if addr % C.PAGE_SIZE:
                self._fail(C.EINVAL, "the address must be page aligned")
                return -1
            self._host.write_back(self.kernel, self._mm, self.read, addr, addr + length)
            return 0

    def munmap(self, addr: int, length: int) -> int:
        """Unmap memory region (written-to pages of shared file mappings are
        written back first): 0 on success, -1 on error."""
        addr, length = require_int("addr", addr), require_int("length", length)
        if length < 0:
            raise ValueError("length must not be negative")
        with call_lock():
            k, mm = self.kernel, self.mm
            if not kk.fits_u32(addr, length):
                self._fail(C.EINVAL, "an argument does not fit 32 bits")
                return -1
            end = addr + (length + C.PAGE_SIZE - 1) // C.PAGE_SIZE * C.PAGE_SIZE
            if addr % C.PAGE_SIZE == 0:
                self._host.write_back(k, mm, self.read, addr, end)
            r = s32(call(k, "vm_munmap", mm, addr, length))
            if r:
                return self._refused(r)
            self._host.forget(k, addr, end)
            return 0

    def mprotect(self, addr: int, length: int, prot: int) -> int:
        """Change memory protection: 0 on success, -1 on error (EACCES when
        the W^X policy refuses)."""
        addr, length, prot = (require_int(name, v) for name, v in (("addr", addr), ("length", length),
                                                                  ("prot", prot)))
        if length < 0 or prot < 0:
            raise ValueError("length and prot must not be negative")
        with call_lock():
            if not kk.fits_u32(addr, length, prot):
                self._fail(C.EINVAL, "an argument does not fit 32 bits")
                return -1
            r = s32(call(self.kernel, "vm_mprotect", self.mm, addr, length, prot))
            return self._refused(r) if r else 0

    # Statistics.
    def get_memory_stats(self) -> dict[str, int]:
        """Get system memory statistics, in bytes (the kernel's mem_info_get,
        which meminfo prints): total_memory, free_memory, used_memory,
        cached_memory, buffer_memory, swap_total, swap_free."""
        with call_lock():
            _, info = call_out(self.kernel, "mem_info_get", "mem_info")
        return {name: int(value) for name, value in info.items() if isinstance(value, int)}

    def address_space(self) -> dict[str, int]:
        """The manager's address space's counters: virtual_size, resident,
        locked (bytes), faults (minor faults), limit (bytes of address space)."""
        with call_lock():
            k = self.kernel
            layout = kk.abi(k).struct("mm")
            mm = layout.unpack(kk.read(k, self.mm, layout.size))
        page = C.PAGE_SIZE
        return {
            "virtual_size": int(mm["total_pages"]) * page,
            "resident": int(mm["resident_pages"]) * page,
            "locked": int(mm["locked_pages"]) * page,
            "faults": int(mm["minor_faults"]),
            "limit": int(mm["limit_as"]),
        }
