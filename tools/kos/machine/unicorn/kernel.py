"""UnicornKernel: KOS booted inside this Python process.

One class serves both users: the program (__main__.py: serial port on
stdin/stdout, like QEMU) drives it with step(); tests and tools boot it to
the shell prompt and then call kernel functions directly:

    k = UnicornKernel("build/kernel.elf").boot()
    p = k.call("kmalloc", 64)
    k.write(p, b"hello"); k.call("kfree", p)
    k.drain_serial()           # what the kernel printed meanwhile

Guest memory the emulator owns (reserved in the memory map it passes):

    0x0009fc00  boot GDT, multiboot info, memory map (loader.py)
    0x000f0000  SENTINEL: the return address of direct calls (a HLT), and
                the `until` address of every emu_start: mapped in the
                kernel's page tables, since an unmapped `until` makes
                unicorn 2.1.x clobber CR2
    0x000f0100  SCRATCH: SCRATCH_SIZE bytes for callers' buffers (out
                parameters such as a memory_stats_t)
    0x000fff00  top of the scratch stack of direct calls (grows down)
"""

from __future__ import annotations

import ctypes
import enum
import mmap
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
from kos.machine.unicorn import loader
from kos.machine.unicorn.coverage import BlockRecorder, coverage_dir_from_env
from kos.machine.unicorn.cpu import (
    EFLAGS_IF,
    EFLAGS_RESERVED,
    VECTORS_WITH_ERROR_CODE,
    Cpu,
    PageFault,
    TripleFault,
)
from kos.machine.unicorn.devices import DebugExit, IoBus, PicPair, Pit8254, Uart16550
from kos.machine.unicorn.selfcheck import check_unicorn
from kos.machine.unicorn.watchdog import Watchdog

SENTINEL = 0xF0000
SCRATCH = 0xF0100
SCRATCH_SIZE = 0xF00
CALL_STACK_TOP = 0xFFF00
MAX_CALL_ARGS = 16
CALL_SP = CALL_STACK_TOP - 4 * (MAX_CALL_ARGS + 1)
HLT = 0xF4
MAX_SLICE = 0.010                  # seconds of guest time between device checks when busy
OPEN_BUS = b"\xff" * 0x1000
IDLE_TICK_BATCH = 0.05

VEC_UD = 6


class Stop(enum.Enum):
    """Why step() returned."""

    BUSY = "busy"            # the time slice ended (or a device wants attention)
    IDLE = "idle"            # HLT with interrupts on: waiting for an interrupt
    HALTED = "halted"        # HLT with interrupts off: stopped for good (QEMU hangs too)
    EXITED = "exited"        # the debug-exit port was written: exit_status is set
    SHUTDOWN = "shutdown"    # triple fault: QEMU with -no-reboot exits with status 0


class KernelExited(RuntimeError):
    """The kernel wrote the debug-exit port; it no longer runs."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the kernel stopped with exit status {status}")
        self.status = status


class GuestFault(RuntimeError):
    """A CPU exception inside a direct call (the kernel's state is restored)."""

    def __init__(self, vector: int, eip: int, where: str, err: int | None, cr2: int | None) -> None:
        msg = f"CPU exception {vector} at {eip:#010x} ({where})"
        if err is not None:
            msg += f", error code {err:#x}"
        if cr2 is not None:
            msg += f", cr2={cr2:#010x}"
        super().__init__(msg)
        self.vector = vector
        self.eip = eip
        self.err = err
        self.cr2 = cr2


class CallError(RuntimeError):
    """A direct call did not come back to its return address."""


@dataclass
class Snapshot:
    """CPU state and copies of guest RAM ranges, for UnicornKernel.restore()."""

    context: UcContext
    ranges: list[tuple[int, bytes]]


class UnicornKernel:
    """A KOS kernel in an embedded unicorn engine, with its devices."""

    scratch = SCRATCH
    scratch_size = SCRATCH_SIZE

    def __init__(self, elf: Path | str = paths.KERNEL_ELF, memory: str = "64M", *,
                 cmdline: str = "", modules: Sequence[bytes] = (), coverage: Path | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        quirks = check_unicorn()
        self.image = loader.load_kernel(Path(elf))
        self.ram_size = loader.parse_size(memory)
        self.clock = clock
        low, _ = loader.ram_split(self.ram_size)
        self._mm = mmap.mmap(-1, low)
        self.ram = memoryview(self._mm)
        uc = Uc(uc_const.UC_ARCH_X86, uc_const.UC_MODE_32)
        self.uc = uc
        self._ram_anchor = ctypes.c_char.from_buffer(self._mm)
        uc.mem_map_ptr(0, low, uc_const.UC_PROT_ALL, ctypes.addressof(self._ram_anchor))
        self.cpu = Cpu(uc, self.ram, quirks)
        self.regs = self.cpu.regs
        self._call_frame = self.regs.batch([x86.UC_X86_REG_ESP, x86.UC_X86_REG_EFLAGS])
        self._call_result = self.regs.batch([x86.UC_X86_REG_EAX, x86.UC_X86_REG_EIP])
        self._watchdog: Watchdog | None = None

        self.exit_status: int | None = None
        self.shutdown_reason: str | None = None
        self._tx = bytearray()
        self._in_call = False
        self.pics = PicPair()
        self.uart = Uart16550(self.pics, self._tx.append)
        self.pit = Pit8254(self.pics, clock)
        self.bus = IoBus()
        for dev in (self.pics, self.uart, self.pit, DebugExit(self._debug_exit)):
            self.bus.attach(dev.ports())

        uc.hook_add(uc_const.UC_HOOK_INSN, self._on_in, None, 1, 0, x86.UC_X86_INS_IN)
        uc.hook_add(uc_const.UC_HOOK_INSN, self._on_out, None, 1, 0, x86.UC_X86_INS_OUT)
        uc.hook_add(uc_const.UC_HOOK_INTR, self._on_exception)
        uc.hook_add(uc_const.UC_HOOK_MEM_UNMAPPED, self._on_unmapped)

        cov_dir = coverage if coverage is not None else coverage_dir_from_env()
        self.coverage: BlockRecorder | None = None
        if cov_dir is not None:
            text = (self.image.symbols.get("__text_start", 0), self.image.symbols.get("__text_end", 0))
            self.coverage = BlockRecorder(uc, cov_dir, *text)

        self._load(cmdline, modules)
        self._kstate = uc.context_save()
        self._fmts = [struct.Struct(f"<{n + 1}I") for n in range(MAX_CALL_ARGS + 1)]
        self._sym_cache: dict[str, int] = {}
        self._counter: int | None = None
        self._count = 0

    # Loading.
    def _load(self, cmdline: str, modules: Sequence[bytes] = ()) -> None:
        for addr, data, memsz in self.image.segments:
            if addr + memsz > len(self.ram):
                raise loader.LoadError(f"{self.image.path}: segment at {addr:#x} does not fit in "
                                       f"{len(self.ram) >> 20} MiB of RAM")
            self.ram[addr:addr + len(data)] = data
            self.ram[addr + len(data):addr + memsz] = bytes(memsz - len(data))
        placed = loader.place_modules(self.image, modules)
        for addr, data in placed:
            if addr + len(data) > len(self.ram):
                raise loader.LoadError(f"a module of {len(data)} bytes does not fit in RAM")
            self.ram[addr:addr + len(data)] = data
        mods = [(addr, addr + len(data)) for addr, data in placed]
        for addr, data in loader.multiboot_info(self.ram_size, cmdline, mods):
            self.ram[addr:addr + len(data)] = data
        self.ram[SENTINEL] = HLT
        self.cpu.enter_multiboot(loader.BOOT_GDT, 8 * len(loader.BOOT_GDT_ENTRIES) - 1, loader.BOOT_CS,
                                 loader.BOOT_DS, self.image.entry, loader.MULTIBOOT_BOOTLOADER_MAGIC,
                                 loader.MBI_ADDR)

    # Hooks.
    def _on_in(self, uc: Uc, port: int, size: int, _: object) -> int:
        return self.bus.read(port, size)

    def _on_out(self, uc: Uc, port: int, size: int, value: int, _: object) -> None:
        if self.exit_status is None:
            self.bus.write(port, size, value)

    def _debug_exit(self, status: int) -> None:
        self.exit_status = status
        self.uc.emu_stop()

    def _on_unmapped(self, uc: Uc, access: int, addr: int, size: int, value: int, _: object) -> bool:
        # Physical addresses with no RAM: open bus (reads 0xFF), as QEMU's unassigned memory.
        page = addr & ~0xFFF
        uc.mem_map(page, 0x1000, uc_const.UC_PROT_ALL)
        uc.mem_write(page, OPEN_BUS)
        return True

    def _on_exception(self, uc: Uc, intno: int, _: object) -> None:
        eip = self.regs.read(x86.UC_X86_REG_EIP)
        err = self.cpu.patch.error_code() if intno in VECTORS_WITH_ERROR_CODE else None
        if self._in_call:
            cr2 = uc.reg_read(x86.UC_X86_REG_CR2) if intno == 14 else None
            raise GuestFault(intno, eip, self.image.function_at(eip), err, cr2)
        self.cpu.deliver(intno, err, eip, from_hook=True)

    # Running.
    def step(self, max_slice: float = MAX_SLICE) -> Stop:
        """Run the guest until it halts, exits, or max_slice seconds pass
        (shortened to the next timer tick). Interrupts due are delivered first."""
        if self.exit_status is not None:
            return Stop.EXITED
        if self.shutdown_reason is not None:
            return Stop.SHUTDOWN
        uc = self.uc
        regs = self.regs
        now = self.clock()
        if self.pit.tick_due(now):
            self.pit.fire(now)
        self.uart.refill()
        eip = regs.read(x86.UC_X86_REG_EIP)
        try:
            if self.pics.has_interrupt() and regs.read(x86.UC_X86_REG_EFLAGS) & EFLAGS_IF:
                self.cpu.sync()
                vector = self.pics.acknowledge()
                # Stopped just before a HLT (as after `sti; hlt`, whose
                # interrupt shadow we cannot see): return past it, as the
                # woken HLT would.
                ret = eip + 1 if self.cpu.virt_byte(eip) == HLT else eip
                self.cpu.deliver(vector, None, ret, from_hook=False)
                eip = regs.read(x86.UC_X86_REG_EIP)
            deadline = now + max_slice
            if self.pit.next_tick is not None:
                deadline = min(deadline, max(self.pit.next_tick, now + 0.001))
            if self._watchdog is None:
                self._watchdog = Watchdog(uc)
            self._watchdog.arm(deadline)
            try:
                uc.emu_start(eip, SENTINEL)
            except UcError as e:
                if e.errno != uc_const.UC_ERR_INSN_INVALID:
                    raise
                self.cpu.deliver(VEC_UD, None, regs.read(x86.UC_X86_REG_EIP), from_hook=False)
                return Stop.BUSY
            finally:
                sliced = self._watchdog.disarm()
        except TripleFault as e:
            self.shutdown_reason = f"triple fault: {e}"
            return Stop.SHUTDOWN
        if self.exit_status is not None:
            return Stop.EXITED
        if sliced:
            return Stop.BUSY
        eip = regs.read(x86.UC_X86_REG_EIP)
        self.cpu.sync()
        if self.cpu.virt_byte(eip - 1) != HLT:
            return Stop.BUSY
        if not regs.read(x86.UC_X86_REG_EFLAGS) & EFLAGS_IF:
            return Stop.HALTED
        self.uart.refill()
        if self.pics.has_interrupt():
            return Stop.BUSY                 # an interrupt is waiting: not idle
        if self.coverage is not None:
            self.coverage.maybe_dump()
        return Stop.IDLE

    def next_event_in(self) -> float | None:
        """Seconds until the next timer tick (None: no timer running)."""
        if self.pit.next_tick is None:
            return None
        return max(0.0, self.pit.next_tick - self.clock())

    def idle_wait(self) -> float | None:
        """How long the host may sleep while the kernel is idle (None: until
        input). Timer ticks of an idle kernel are delivered in bursts every
        IDLE_TICK_BATCH seconds instead of one wake-up each: nothing in the
        guest runs between them to tell the difference, input still wakes
        the emulator at once, and it costs a fraction of the CPU."""
        due = self.next_event_in()
        if due is None or due == 0.0:
            return due
        return due + IDLE_TICK_BATCH

    def send(self, data: bytes | str) -> None:
        """Bytes arriving on the serial port."""
        self.uart.feed(data.encode("latin-1") if isinstance(data, str) else data)

    def take_tx(self) -> bytes:
        """What the kernel sent on the serial port since the last take."""
        out = bytes(self._tx)
        self._tx.clear()
        return out

    def serial_output(self) -> str:
        """The serial output since the last drain, "\\r" removed."""
        return self._tx.decode("utf-8", errors="replace").replace("\r", "")

    def drain_serial(self) -> str:
        """The serial output since the last drain, which it empties."""
        text = self.serial_output()
        self._tx.clear()
        return text

    def run_until(self, pattern: bytes | str, timeout: float = 10.0) -> str:
        """Run until the serial output (since the last drain) contains
        pattern; return the output up to and including it, drained. Idle
        time is skipped: the next timer tick is delivered at once."""
        pat = pattern.encode() if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while pat not in self._tx:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {pat!r} in the serial output after {timeout:g}s; "
                                   f"last output: {self.serial_output()[-200:]!r}")
            stop = self.step()
            if stop is Stop.EXITED:
                raise KernelExited(self.exit_status or 0)
            if stop is Stop.SHUTDOWN:
                raise CallError(f"the machine shut down: {self.shutdown_reason}")
            if stop is Stop.HALTED:
                raise CallError(f"the kernel halted with interrupts off; output: "
                                f"{self.serial_output()[-200:]!r}")
            if stop is Stop.IDLE and not self.uart.pending and not self.uart.rx:
                self.pit.next_tick = self.clock() if self.pit.next_tick is not None else None
        end = self._tx.index(pat) + len(pat)
        text = bytes(self._tx[:end]).decode("utf-8", errors="replace").replace("\r", "")
        del self._tx[:end]
        return text

    def boot(self, timeout: float = 10.0) -> UnicornKernel:
        """Run the kernel to its first shell prompt; the boot log stays in
        serial_output() until drained."""
        log = self.run_until(b"kos> ", timeout)
        self._tx[:0] = log.encode()
        return self

    def run_command(self, line: str, timeout: float = 10.0) -> str:
        """Type a shell command and run until the next prompt; return its
        output without the echo and the prompt."""
        self.drain_serial()
        self.send(line.encode("latin-1") + b"\r")
        out = self.run_until(b"\nkos> ", timeout)
        return out.partition("\n")[2].removesuffix("kos> ")

    # Guest memory and symbols.
    def symbol(self, name: str) -> int:
        return self.image.symbol(name)

    def read(self, addr: int, n: int) -> bytes:
        """n bytes of guest physical memory (KOS identity maps: = virtual)."""
        return self.cpu.phys_read(addr, n)

    def write(self, addr: int, data: bytes) -> None:
        """Write guest physical memory through unicorn (so translated code
        in the range is invalidated)."""
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

    def snapshot(self, ranges: list[tuple[int, int]] | None = None) -> Snapshot:
        """Save the CPU state and the RAM in ranges ([start, end) pairs;
        default: all of it). Device state is not saved: this is for direct
        calls, which do not touch devices except to print."""
        spans = ranges if ranges is not None else [(0, len(self.ram))]
        return Snapshot(self.uc.context_save(), [(a, bytes(self.ram[a:b])) for a, b in spans])

    def restore(self, snap: Snapshot) -> None:
        """Put back what snapshot() saved and empty the serial output. Code
        in the saved ranges must not have changed (translated code is kept)."""
        for addr, data in snap.ranges:
            self.ram[addr:addr + len(data)] = data
        self.uc.context_restore(snap.context)
        self._tx.clear()
        self.exit_status = None
        self.shutdown_reason = None

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
        if self._in_call:
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
        uc.context_update(self._kstate)
        self._in_call = True
        try:
            self._call_frame.write(CALL_SP, EFLAGS_RESERVED)
            try:
                uc.emu_start(addr, SENTINEL)
            except UcError as e:
                if e.errno != uc_const.UC_ERR_INSN_INVALID:
                    raise
                eip = self.regs.read(x86.UC_X86_REG_EIP)
                raise GuestFault(VEC_UD, eip, self.image.function_at(eip), None, None) from None
            eax, eip = self._call_result.read()
        finally:
            self._in_call = False
            uc.context_restore(self._kstate)
        if eip != SENTINEL:
            if self.exit_status is not None:
                raise KernelExited(self.exit_status)
            raise CallError(f"{fn} stopped at {eip:#010x} ({self.image.function_at(eip)}) "
                            "instead of returning")
        return eax

    def call_counted(self, fn: str | int, *args: int) -> tuple[int, int]:
        """call(), also counting the guest instructions executed from the
        function's entry to its return: (EAX, instructions). Each use adds
        and removes a code hook (and so retranslates the code it runs);
        many counted calls in a row are cheaper inside `with counting():`."""
        if self._counter is not None:
            self._count = 0
            return self.call(fn, *args), self._count
        with self.counting():
            return self.call_counted(fn, *args)

    def _on_code(self, uc: Uc, addr: int, size: int, _: object) -> None:
        self._count += 1

    @contextmanager
    def counting(self) -> Iterator[None]:
        """Keep the instruction-counting hook installed for a series of
        call_counted() (plain calls run slower meanwhile)."""
        if self._counter is not None:
            yield
            return
        # A hook added after translation fires only once the cache is flushed.
        self._counter = self.uc.hook_add(uc_const.UC_HOOK_CODE, self._on_code)
        self.uc.ctl_flush_tb()
        try:
            yield
        finally:
            self.uc.hook_del(self._counter)
            self._counter = None
            self.uc.ctl_flush_tb()

    # Teardown.
    def close(self) -> None:
        """Write the coverage record (if recording) and stop the time-slice
        thread; direct calls and memory access still work afterwards."""
        if self.coverage is not None:
            self.coverage.dump()
        if self._watchdog is not None:
            self._watchdog.close()
            self._watchdog = None

    def __enter__(self) -> UnicornKernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

