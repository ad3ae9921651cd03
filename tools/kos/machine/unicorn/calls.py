"""Direct calls into the kernel, its memory, and saving and putting back its
state: what tests, the memory API and the benchmarks do with a booted kernel.

A call runs a kernel function (by ELF symbol, cdecl) on a scratch stack the
emulator owns, with interrupts off, and returns at a HLT sentinel; the
kernel's registers are put back afterwards, so the interrupted kernel goes
on as if nothing happened, except for what the function did to memory.
"""

from __future__ import annotations

import ctypes
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from unicorn import Uc, UcError
from unicorn import unicorn_const as uc_const
from unicorn import x86_const as x86
from unicorn.unicorn import UcContext

from kos import paths
from kos.machine.unicorn import native
from kos.machine.unicorn.cpu import EFLAGS_RESERVED, PAGE, PageFault, forget_code
from kos.machine.unicorn.engine import SENTINEL, VEC_UD, Engine, GuestFault, KernelExited, Stop

SCRATCH = 0xF0100
SCRATCH_SIZE = 0xF00
CALL_STACK_TOP = 0xFFF00
MAX_CALL_ARGS = 16
# Pages restore() puts back one by one; beyond, all translated code goes.
PUT_BACK_ROOM = 4096
CALL_SP = CALL_STACK_TOP - 4 * (MAX_CALL_ARGS + 1)


class CallError(RuntimeError):
    """A direct call did not come back to its return address."""


@dataclass
class DeviceState:
    """The devices and what the engine knows of the run, in a Snapshot."""

    uart: dict[str, object]
    pics: tuple[dict[str, object], dict[str, object]]
    pit: dict[str, object]
    pending: tuple[int, int | None, int, int | None] | None
    open_bus: list[int]


@dataclass
class Snapshot:
    """CPU state and copies of guest RAM ranges, for CallEngine.restore();
    with devices, the whole machine: the devices' state (UART with its
    FIFO and the bytes queued for it, PICs, PIT), what the engine knows
    of the run (exit status, pending exception) and the open-bus pages."""

    context: UcContext
    ranges: list[SavedRange]
    devices: DeviceState | None = None


@dataclass(frozen=True)
class SavedRange:
    """A copy of guest RAM from addr; for a range of whole pages, which of
    them were all zero (one byte a page: ram.c's zero map)."""

    addr: int
    data: bytes
    zero: bytes | None = None


class CallEngine(Engine):
    """An engine whose kernel functions can be called from Python."""

    scratch = SCRATCH
    scratch_size = SCRATCH_SIZE

    def __init__(self, elf: Path | str = paths.KERNEL_ELF, memory: str = "64M", *,
                 cmdline: str = "", modules: Sequence[bytes] = (), coverage: Path | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(elf, memory, cmdline=cmdline, modules=modules, coverage=coverage, clock=clock)
        self._kstate = self.uc.context_save()
        self._call_frame = self.regs.batch([x86.UC_X86_REG_ESP, x86.UC_X86_REG_EFLAGS])
        self._call_result = self.regs.batch([x86.UC_X86_REG_EAX, x86.UC_X86_REG_EDX, x86.UC_X86_REG_EIP])
        self._edx = 0
        self._fmts = [struct.Struct(f"<{n + 1}I") for n in range(MAX_CALL_ARGS + 1)]
        self._sym_cache: dict[str, int] = {}
        self._counter: ctypes.c_size_t | None = None
        # The instruction count, kept by count.c's hook while counting.
        self._count = ctypes.c_uint64(0)
        self._changed = (ctypes.c_uint32 * PUT_BACK_ROOM)()

    # Guest memory.
    def read(self, addr: int, n: int) -> bytes:
        """n bytes of guest physical memory (KOS identity maps: = virtual)."""
        return self.cpu.phys_read(addr, n)

    def write(self, addr: int, data: bytes) -> None:
        """Write guest physical memory through unicorn (data, not code:
        unicorn keeps code it translated from the range)."""
        self.uc.mem_write(addr, bytes(data))

    def read_u32(self, addr: int) -> int:
        return int(struct.unpack_from("<I", self.ram, addr)[0])

    def write_u32(self, addr: int, value: int) -> None:
        self.write(addr, struct.pack("<I", value & 0xFFFFFFFF))

    def read_cstring(self, addr: int, limit: int = 4096) -> str:
        data = self.read(addr, limit)
        return data.partition(b"\0")[0].decode("latin-1")

    def read_struct(self, addr: int, fmt: str) -> tuple[int, ...]:
        """struct.unpack of guest memory at addr (e.g. "<6I")."""
        return struct.unpack_from(fmt, self.ram, addr)

    def snapshot(self, ranges: list[tuple[int, int]] | None = None, devices: bool = False) -> Snapshot:
        """Save the CPU state and the RAM in ranges ([start, end) pairs
        below 4 GiB; default: all of the RAM there, which is all of it
        below 3.5 GiB of RAM). Device state is saved only with devices: direct
        calls do not touch devices except to print, while a machine whose
        tests run through its serial port must be put back whole."""
        spans = ranges if ranges is not None else [(0, len(self.ram))]
        snap = Snapshot(self.uc.context_save(), [self._save(a, b) for a, b in spans])
        if devices:
            snap.devices = DeviceState(self.uart.save(), self.pics.save(), self.pit.save(), self._pending,
                                       list(self.open_bus))
        return snap

    def restore(self, snap: Snapshot) -> None:
        """Put back what snapshot() saved and empty the serial output: the
        pages of the saved ranges that changed, and the CPU; code translated
        from those pages is dropped. With the devices, the whole machine
        comes back: the TLB is dropped too (the page tables may have
        changed), and open-bus pages mapped since are unmapped again."""
        changed = self._put_back(snap.ranges)
        self.uc.context_restore(snap.context)
        self._forget_code(changed)
        self.line.clear()
        self.exit_status = None
        self.shutdown_reason = None
        self.halted = False
        if snap.devices is not None:
            self._restore_devices(snap.devices)
        else:
            self.uart.machine_stopped = False
            self.uart.publish()

    def _restore_devices(self, state: DeviceState) -> None:
        self.uart.load(state.uart)
        self.pics.load(state.pics)
        self.pit.load(state.pit)
        self._pending = state.pending
        for page in self.open_bus:
            if page not in state.open_bus:
                self.uc.mem_unmap(page, 0x1000)
        self.open_bus = list(state.open_bus)
        # The TLB's translations through the page tables that were there
        # may no longer hold.
        self.uc.ctl(uc_const.UC_CTL_TLB_FLUSH, uc_const.UC_CTL_IO_WRITE)

    def _save(self, start: int, end: int) -> SavedRange:
        data = bytes(self.ram[start:end])
        if start % PAGE or (end - start) % PAGE:
            return SavedRange(start, data)
        zero = ctypes.create_string_buffer(len(data) // PAGE)
        native.library().ram_zero_map(data, len(data) // PAGE, zero)
        return SavedRange(start, data, zero.raw)

    def _put_back(self, ranges: list[SavedRange]) -> list[int] | None:
        """Put the saved ranges back into RAM, page by page where they are
        whole pages (ram.c: only the pages that differ); the addresses of
        the pages written, or None when there are more than PUT_BACK_ROOM."""
        lib = native.library()
        changed: list[int] = []
        complete = True
        for r in ranges:
            if r.zero is None:
                self.ram[r.addr:r.addr + len(r.data)] = r.data
                changed.extend(range(r.addr & ~(PAGE - 1), r.addr + len(r.data), PAGE))
                continue
            n = lib.ram_put_back(self.ram_base + r.addr, r.data, r.zero, len(r.zero), self._changed,
                                 PUT_BACK_ROOM)
            complete = complete and n <= PUT_BACK_ROOM
            changed.extend(r.addr + page * PAGE for page in self._changed[:min(n, PUT_BACK_ROOM)])
        return changed if complete and len(changed) <= PUT_BACK_ROOM else None

    def _forget_code(self, pages: list[int] | None) -> None:
        """Drop the code translated from pages (all of it when None)."""
        if pages is None:
            self.uc.ctl_flush_tb()
        elif pages:
            forget_code(self.uc, pages)

    # Direct calls.
    def _address(self, fn: str | int) -> int:
        if isinstance(fn, int):
            return fn
        addr = self._sym_cache.get(fn)
        if addr is None:
            addr = self._sym_cache[fn] = self.image.symbol(fn)
        return addr

    def check_callable(self) -> None:
        """Raise unless direct calls can run: the kernel runs and the
        sentinel return address is mapped in its page tables."""
        if self.exit_status is not None:
            raise KernelExited(self.exit_status)
        self.cpu.sync()
        try:
            self.cpu.translate(SENTINEL)
            self.cpu.translate(CALL_SP, write=True)
        except PageFault:
            raise CallError(f"the direct-call area at {SENTINEL:#x} is not mapped in the kernel's "
                            "page tables") from None

    def call(self, fn: str | int, *args: int) -> int:
        """Run kernel function fn (an ELF symbol or an address) with cdecl
        int arguments on the scratch stack, interrupts off; return EAX.
        The kernel's registers are restored afterwards; what the function
        did to memory stays. Raises GuestFault on a CPU exception,
        KernelExited if the kernel stopped the machine."""
        if self.in_call:
            raise CallError("direct calls do not nest")
        uc = self.uc
        addr = self._address(fn)
        if self.exit_status is not None:
            raise KernelExited(self.exit_status)
        fmt = self._fmts[len(args)]
        try:
            fmt.pack_into(self.ram, CALL_SP, SENTINEL, *args)
        except struct.error:
            fmt.pack_into(self.ram, CALL_SP, SENTINEL, *(a & 0xFFFFFFFF for a in args))
        if uc.reg_read(x86.UC_X86_REG_CS) & 3:
            self._to_kernel_mode()
        uc.context_update(self._kstate)
        self.in_call = True
        try:
            self._call_frame.write(CALL_SP, EFLAGS_RESERVED)
            try:
                uc.emu_start(addr, SENTINEL)
            except UcError as e:
                if e.errno != uc_const.UC_ERR_INSN_INVALID:
                    raise
                eip = self.regs.read(x86.UC_X86_REG_EIP)
                raise GuestFault(VEC_UD, eip, self.image.function_at(eip), None, None) from None
            eax, self._edx, eip = self._call_result.read()
        finally:
            self.in_call = False
            uc.context_restore(self._kstate)
            self.uart.catch_up()
        if eip != SENTINEL:
            if self.exit_status is not None:
                raise KernelExited(self.exit_status)
            raise CallError(f"{fn} stopped at {eip:#010x} ({self.image.function_at(eip)}) "
                            "instead of returning")
        return eax

    def _to_kernel_mode(self, patience: float = 5.0) -> None:
        """The guest was stopped in a user program: let it run until the CPU
        is in the kernel (a system call, a fault or an interrupt being
        served, or idle), where a call may borrow it. CallError if that
        takes more than patience seconds."""
        deadline = time.monotonic() + patience
        while self.uc.reg_read(x86.UC_X86_REG_CS) & 3:
            if self.step() in (Stop.EXITED, Stop.SHUTDOWN):
                raise KernelExited(self.exit_status if self.exit_status is not None else -1)
            if time.monotonic() > deadline:
                raise CallError(f"a user program kept the CPU for {patience:g} s: no moment in the "
                                "kernel to make the call in")

    def call64(self, fn: str | int, *args: int) -> int:
        """call() of a function returning a 64-bit value (a physical
        address): EDX:EAX. Pass 64-bit arguments as two ints, low word
        first (kos.kernel.split64)."""
        eax = self.call(fn, *args)
        return (self._edx << 32) | eax

    def call_counted(self, fn: str | int, *args: int) -> tuple[int, int]:
        """call(), also counting the guest instructions executed from the
        function's entry to its return: (EAX, instructions). Each use adds
        and removes a code hook (and so retranslates the code it runs);
        many counted calls in a row are cheaper inside `with counting():`."""
        if self._counter is not None:
            self._count.value = 0
            return self.call(fn, *args), self._count.value
        with self.counting():
            return self.call_counted(fn, *args)

    @contextmanager
    def counting_spans(self, start: int, end: int) -> Iterator[list[int]]:
        """While the block runs the kernel (e.g. through its console),
        count the guest instructions of each passage from code address
        start to code address end, both included: the yielded list gets one
        count per passage, e.g. from an exception stub to its iret."""
        spans: list[int] = []
        begun: list[int] = []

        def at_start(uc: Uc, addr: int, size: int, _: object) -> None:
            begun.append(self._count.value)

        def at_end(uc: Uc, addr: int, size: int, _: object) -> None:
            if begun:
                spans.append(self._count.value - begun.pop())

        hooks = [self.uc.hook_add(uc_const.UC_HOOK_CODE, at_start, None, start, start),
                 self.uc.hook_add(uc_const.UC_HOOK_CODE, at_end, None, end, end)]
        try:
            with self.counting():
                yield spans
        finally:
            for h in hooks:
                self.uc.hook_del(h)
            self.uc.ctl_flush_tb()

    @property
    def instructions(self) -> int:
        """Guest instructions run so far inside `with counting():` (a code
        hook watching one address may read it: the counter has counted
        every instruction before that address)."""
        return int(self._count.value)

    @contextmanager
    def counting(self) -> Iterator[None]:
        """Keep the instruction-counting hook installed for a series of
        call_counted() (plain calls run slower meanwhile)."""
        if self._counter is not None:
            yield
            return
        # A hook added after translation fires only once the cache is flushed.
        self._counter = native.hook_add(self.uc, uc_const.UC_HOOK_CODE, native.library().count_code_hook,
                                        ctypes.c_void_p(ctypes.addressof(self._count)))
        self.uc.ctl_flush_tb()
        try:
            yield
        finally:
            native.hook_del(self.uc, self._counter)
            self._counter = None
            self.uc.ctl_flush_tb()
