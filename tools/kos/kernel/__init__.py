"""Live kernels behind the KOS memory API.

The Python classes of the specification (kos.memory.page,
kos.kernel.mm.mm_wrapper) do nothing themselves: every call runs the real
kernel function in a booted KOS through a direct call. Anything with the
methods of `Kernel` will do; every API function takes `kernel=` to
name one explicitly, and without it uses the module's default kernel, which
is booted lazily (build/kernel.elf under the in-process unicorn emulator,
64 MiB) on first use and kept for the life of the process.

    from kos.kernel import set_default_kernel
    set_default_kernel(machine)      # a machine you booted yourself

A structure a kernel function fills in is read one way, call_out: the
function gets a buffer in the kernel's scratch area (outside the heap, so
reading statistics does not change them) and the bytes it wrote are
unpacked by the layout the image's DWARF gives (kos.target.abi).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, runtime_checkable

from kos import paths
from kos.target.abi import Abi, Value, load

__all__ = [
    "Kernel", "abi", "boot_kernel", "call", "call64", "call_lock", "call_out", "default_kernel",
    "fits_u32", "output_mark", "output_since", "read", "require_int", "resolve", "s32", "set_default_kernel",
    "split64", "u32", "use_kernel", "with_bytes", "write",
]


@runtime_checkable
class Kernel(Protocol):
    """A booted kernel whose functions can be called directly (cdecl, by ELF
    symbol; the result is EAX) and whose memory can be read and written;
    scratch is the address of scratch_size bytes of guest memory no kernel
    code uses, for the out-parameters of calls."""

    scratch: int
    scratch_size: int

    def call(self, symbol: str, *args: int) -> int: ...

    def call64(self, symbol: str, *args: int) -> int: ...

    def read(self, addr: int, size: int) -> bytes: ...

    def write(self, addr: int, data: bytes) -> None: ...


_default: Kernel | None = None
_lock = threading.Lock()
# One guest CPU: calls from several Python threads take turns (the API is
# thread-safe as the specification asks; each kernel call is atomic).
_call_lock = threading.RLock()


def call_lock() -> threading.RLock:
    """The lock every kernel call takes: hold it across a series of calls
    that must not interleave with another thread's (a debug switch set
    around an allocation, a copy in several pieces)."""
    return _call_lock


def call(kernel: Kernel, symbol: str, *args: int) -> int:
    """kernel.call, one thread at a time."""
    with _call_lock:
        return kernel.call(symbol, *args)


def call64(kernel: Kernel, symbol: str, *args: int) -> int:
    """kernel.call64 (a 64-bit result: EDX:EAX), one thread at a time."""
    with _call_lock:
        return kernel.call64(symbol, *args)


def split64(value: int) -> tuple[int, int]:
    """A 64-bit argument (phys_addr_t) as cdecl passes it: low word, high word."""
    return value & 0xFFFFFFFF, (value >> 32) & 0xFFFFFFFF


def read(kernel: Kernel, addr: int, size: int) -> bytes:
    with _call_lock:
        return kernel.read(addr, size)


def write(kernel: Kernel, addr: int, data: bytes) -> None:
    with _call_lock:
        kernel.write(addr, data)


def abi(kernel: Kernel | None = None) -> Abi:
    """The C interface of kernel's image (the image's own when it keeps one,
    else that of its `image.path`, else of build/kernel.elf)."""
    image = getattr(kernel, "image", None)
    own = getattr(image, "abi", None)
    if isinstance(own, Abi):
        return own
    return load(getattr(image, "path", paths.KERNEL_ELF))


def call_out(kernel: Kernel, symbol: str, type_name: str, *args: int) -> tuple[int, dict[str, Value]]:
    """Call symbol(*args, out) with out a zeroed struct type_name in the
    scratch area: EAX, and the struct as the function left it, by field."""
    layout = abi(kernel).struct(type_name)
    if layout.size > kernel.scratch_size:
        raise ValueError(f"{type_name} ({layout.size} bytes) does not fit the {kernel.scratch_size}-byte "
                         "scratch area")
    with _call_lock:
        kernel.write(kernel.scratch, bytes(layout.size))
        result = kernel.call(symbol, *args, kernel.scratch)
        data = kernel.read(kernel.scratch, layout.size)
    return result, layout.unpack(data)


def output_mark(kernel: Kernel) -> int:
    """Where the kernel's serial output stands now, for output_since: what
    a call printed (its report of a refused free, say) without draining
    the line. 0 for a kernel whose output cannot be read."""
    out = getattr(kernel, "serial_output", None)
    return len(out()) if callable(out) else 0


def output_since(kernel: Kernel, mark: int) -> str:
    """The kernel's serial output after mark, stripped ("" if none or unreadable)."""
    out = getattr(kernel, "serial_output", None)
    return str(out())[mark:].strip() if callable(out) else ""


def boot_kernel(memory: str = "64M", elf: Path | None = None) -> Kernel:
    """Boot KOS in this process under unicorn to its shell prompt, ready for
    direct calls (a kos.machine.unicorn.UnicornKernel), with build/initrd.tar
    as its initrd when it is there (the programs processes run)."""
    from kos.machine.unicorn import boot

    if elf is None and not paths.KERNEL_ELF.exists():
        raise FileNotFoundError(f"{paths.KERNEL_ELF} does not exist yet: `./kos build` makes it")
    modules = [paths.INITRD.read_bytes()] if paths.INITRD.exists() else []
    return boot(elf or paths.KERNEL_ELF, memory, modules=modules)


def default_kernel() -> Kernel:
    """The module's kernel, booted on first use."""
    global _default
    with _lock:
        if _default is None:
            _default = boot_kernel()
        return _default


def set_default_kernel(kernel: Kernel | None) -> Kernel | None:
    """Make kernel the default (None: boot a fresh one on next use); returns the previous one."""
    global _default
    with _lock:
        previous, _default = _default, kernel
    return previous


@contextmanager
def use_kernel(kernel: Kernel) -> Iterator[Kernel]:
    """Make kernel the default inside a with block."""
    previous = set_default_kernel(kernel)
    try:
        yield kernel
    finally:
        set_default_kernel(previous)


def resolve(kernel: Kernel | None) -> Kernel:
    return kernel if kernel is not None else default_kernel()


def u32(value: int) -> int:
    """EAX as an unsigned 32-bit value (addresses, counts)."""
    return value & 0xFFFFFFFF


def s32(value: int) -> int:
    """EAX as a signed 32-bit value (0 or a negative error code)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def fits_u32(*values: int) -> bool:
    """Can every value be passed as a 32-bit argument without changing meaning?"""
    return all(isinstance(v, int) and -(1 << 31) <= v < (1 << 32) for v in values)


def require_int(name: str, value: object) -> int:
    """value, if it is an int (bool is not: True is no size, order or
    address); else TypeError naming the argument. A wrong type is the
    caller's mistake, not a request the kernel refuses, so the API raises
    instead of answering with its failure value."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


@contextmanager
def with_bytes(kernel: Kernel, data: bytes) -> Iterator[int]:
    """data copied into a kmalloc'd buffer of the kernel for the duration of a
    with block; yields its address."""
    addr = u32(call(kernel, "kmalloc", max(len(data), 1)))
    if not addr:
        from kos.exceptions import AllocationError

        raise AllocationError(f"kmalloc({len(data)}) failed: no room for a call argument")
    try:
        write(kernel, addr, data)
        yield addr
    finally:
        call(kernel, "kfree", addr)
