"""The engine: KOS's machine inside this process. unicorn runs the CPU; the
engine maps guest RAM, loads the kernel as a Multiboot loader would, wires
the devices to port I/O, delivers exceptions and interrupts (through
cpu.py), and schedules device time: step() runs one time slice, ended by a
HLT, the debug-exit port, the next timer tick or MAX_SLICE.

Guest memory the emulator owns (reserved in the memory map it passes):

    0x0009fc00  boot GDT, multiboot info, memory map (loader.py)
    0x000f0000  SENTINEL: the return address of direct calls (a HLT), and
                the `until` address of every emu_start: mapped in the
                kernel's page tables, since an unmapped `until` makes
                unicorn 2.1.x clobber CR2
    0x000f0100  SCRATCH: SCRATCH_SIZE bytes for callers' buffers (calls.py)
    0x000fff00  top of the scratch stack of direct calls (grows down)
"""

from __future__ import annotations

import ctypes
import enum
import mmap
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from unicorn import Uc, UcError
from unicorn import unicorn_const as uc_const
from unicorn import x86_const as x86

from kos import paths
from kos.machine.memsize import parse_size
from kos.machine.unicorn import loader
from kos.machine.unicorn.coverage import BlockRecorder, coverage_dir_from_env
from kos.machine.unicorn.cpu import EFLAGS_IF, VECTORS_WITH_ERROR_CODE, Cpu, TripleFault
from kos.machine.unicorn.devices import (
    COM1,
    FCR_LOADER,
    UART_FCR,
    DebugExit,
    IoBus,
    PicPair,
    Pit8254,
    Uart16550,
)
from kos.machine.unicorn.ports import PortHooks
from kos.machine.unicorn.selfcheck import check_unicorn
from kos.machine.unicorn.serial import SerialLine
from kos.machine.unicorn.slice import Slice
from kos.machine.unicorn.watchdog import Watchdog

SENTINEL = 0xF0000
HLT = 0xF4
MAX_SLICE = 0.010                  # seconds of guest time between device checks when busy
# While an interrupt request waits (interrupts off, or behind another just
# taken), the guest runs in slices this short, so that the interrupt is
# taken soon after the guest can take it, as the CPU would take it at once.
# Without it a lower-priority IRQ waits behind every timer tick of a
# program busy in ring 3 (it never halts), and is never taken. (A count of
# instructions would be exact, but unicorn counts only in blocks translated
# after the count was set.)
IRQ_WAIT_SLICE = 0.0005
OPEN_BUS = b"\xff" * 0x1000
IDLE_TICK_BATCH = 0.05
# How long a read of the serial line goes on gathering output (run_until_output).
GATHER_TIME = 0.005

VEC_UD = 6
# Linux's flag (Python's mmap module names it only from 3.13): RAM is not
# charged to the host's commit limit up front.
MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000)
VEC_PF = 14


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


class Engine:
    """A KOS kernel in an embedded unicorn engine, with its devices and its
    serial line (`line`, the host's end of COM1)."""

    def __init__(self, elf: Path | str = paths.KERNEL_ELF, memory: str = "64M", *,
                 cmdline: str = "", modules: Sequence[bytes] = (), coverage: Path | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        quirks = check_unicorn()
        self.image = loader.load_kernel(Path(elf))
        self.ram_size = parse_size(memory)
        self.clock = clock
        low, high = loader.ram_split(self.ram_size)
        # One private anonymous mapping for all of RAM: the host commits
        # only the pages the guest touches, so a 5 GiB machine costs what it
        # uses, and a restore gives pages back to it (ram.c).
        self._mm = mmap.mmap(-1, low + high, flags=mmap.MAP_PRIVATE | MAP_NORESERVE)
        # A child this process forks (QEMU, a test's program) has no use for
        # it, and copying its page tables would make the guest's next writes
        # fault.
        self._mm.madvise(mmap.MADV_DONTFORK)
        self.ram = memoryview(self._mm)[:low]
        uc = Uc(uc_const.UC_ARCH_X86, uc_const.UC_MODE_32)
        self.uc = uc
        self._ram_anchor = ctypes.c_char.from_buffer(self._mm)
        base = self.ram_base = ctypes.addressof(self._ram_anchor)
        uc.mem_map_ptr(0, low, uc_const.UC_PROT_ALL, base)
        if high:
            # RAM above 4 GiB (PAE's 36-bit physical addresses): unicorn's
            # x86 core has a 64-bit physical address space even in 32-bit
            # mode; selfcheck.py proves a PAE store reaches it. self.ram
            # stays the RAM below 4 GiB; cpu.phys_read reaches the rest
            # through unicorn.
            uc.mem_map_ptr(loader.FOUR_GIB, high, uc_const.UC_PROT_ALL, base + low)
        self.cpu = Cpu(uc, self.ram, quirks)
        self.regs = self.cpu.regs
        self._watchdog: Watchdog | None = None
        self._slice: Slice | None = None

        self.exit_status: int | None = None
        self.shutdown_reason: str | None = None
        self.halted = False
        # Pages of open bus mapped when the guest first touched them (_on_unmapped).
        self.open_bus: list[int] = []
        # Set while a direct call runs (calls.py): an exception then ends the call.
        self.in_call = False
        # An exception the hook saw, delivered once emu_start has returned:
        # (vector, error code, return EIP, CR2 of a page fault).
        self._pending: tuple[int, int | None, int, int | None] | None = None
        self.line = SerialLine()
        self.pics = PicPair()
        self.uart = Uart16550(self.pics, self.line.transmitted)
        # The machine's loader leaves the UART's FIFO on, as GRUB does (FCR:
        # enabled, trigger 14). The kernel keeps the FIFO as it finds it,
        # since turning it on would flush what is waiting; off, every
        # received byte would be an interrupt through this model.
        self.uart.write(COM1 + UART_FCR, FCR_LOADER)
        self.line.connect(self.uart)
        self.pit = Pit8254(self.pics, clock)
        self.bus = IoBus()
        for dev in (self.pics, self.uart, self.pit, DebugExit(self._debug_exit)):
            self.bus.attach(dev.ports())

        # Port I/O: the UART's hot registers in C (ports.py), the rest here.
        self.ports = PortHooks(uc, COM1, self._on_in, self._on_out, self.line.transmitted_bytes)
        self.uart.attach(self.ports)
        uc.hook_add(uc_const.UC_HOOK_INTR, self._on_exception)
        uc.hook_add(uc_const.UC_HOOK_MEM_UNMAPPED, self._on_unmapped)

        cov_dir = coverage if coverage is not None else coverage_dir_from_env()
        self.coverage: BlockRecorder | None = None
        if cov_dir is not None:
            text = (self.image.symbols.get("__text_start", 0), self.image.symbols.get("__text_end", 0))
            self.coverage = BlockRecorder(uc, cov_dir, *text)

        self._load(cmdline, modules)

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
    def _on_in(self, port: int, size: int) -> int:
        return self.bus.read(port, size)

    def _on_out(self, port: int, size: int, value: int) -> None:
        if self.exit_status is None:
            self.bus.write(port, size, value)

    def _debug_exit(self, status: int) -> None:
        self.exit_status = status
        self.uart.machine_stopped = True
        self.uart.publish()
        self.uc.emu_stop()

    def _on_unmapped(self, uc: Uc, access: int, addr: int, size: int, value: int, _: object) -> bool:
        # Physical addresses with no RAM: open bus (reads 0xFF), as QEMU's unassigned memory.
        page = addr & ~0xFFF
        uc.mem_map(page, 0x1000, uc_const.UC_PROT_ALL)
        uc.mem_write(page, OPEN_BUS)
        self.open_bus.append(page)
        return True

    def _on_exception(self, uc: Uc, intno: int, _: object) -> None:
        eip = self.regs.read(x86.UC_X86_REG_EIP)
        err = self.cpu.patch.error_code() if intno in VECTORS_WITH_ERROR_CODE else None
        if self.in_call:
            cr2 = uc.reg_read(x86.UC_X86_REG_CR2) if intno == 14 else None
            raise GuestFault(intno, eip, self.image.function_at(eip), err, cr2)
        # Delivering here, inside unicorn's exception handling, rewrites EIP,
        # ESP and EFLAGS while the emulation loop still runs, which unicorn
        # does not expect of a hook. So the hook only records the exception
        # and stops; step() delivers it outside the loop, as it does #UD.
        # CR2 is read here: when the guest ran in ring 3, emu_start's return
        # clobbers it (_undo_ring3_return), so it is put back before the
        # delivery.
        if self._pending is None:
            cr2 = uc.reg_read(x86.UC_X86_REG_CR2) if intno == VEC_PF else None
            self._pending = (intno, err, eip, cr2)
        uc.emu_stop()

    def _undo_ring3_return(self, cr2: int) -> None:
        """When emu_start returns with the guest in ring 3, unicorn 2.1.4
        has probed `until` (a supervisor page) with ring 3's rights and left
        the #PF it never raised behind: CR2 = until - 1 and old_exception =
        14, which would turn the next page fault into a #DF. Put both back
        (a page fault the hook saw keeps its own CR2 in _pending)."""
        if self.regs.read(x86.UC_X86_REG_CS) & 3 != 3:
            return
        self.uc.reg_write(x86.UC_X86_REG_CR2, cr2)
        self.cpu.patch.end_of_delivery()

    def _software_int_len(self, intno: int, ret: int) -> int:
        """The length of the INT n / INT3 / INTO that raised intno and ends
        at ret, or 0 for an exception. The hook sees only vectors the code
        raised itself (interrupts are ours to inject), so a vector of 32 or
        more came from INT n; INT3 and INTO are the one-byte forms."""
        if intno not in (3, 4) and intno < 32:
            return 0
        self.cpu.sync()
        one_byte = {3: 0xCC, 4: 0xCE}.get(intno)
        return 1 if one_byte is not None and self.cpu.virt_byte(ret - 1) == one_byte else 2

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
            waiting = self.pics.has_request()
            deadline = now + max_slice
            if self.pit.next_tick is not None:
                deadline = min(deadline, max(self.pit.next_tick, now + 0.001))
            if waiting:
                deadline = min(deadline, now + IRQ_WAIT_SLICE)
            if self._watchdog is None:
                self._slice = Slice(uc)
                self._watchdog = Watchdog(self._slice.expire)
            self._watchdog.arm(deadline)
            cr2 = regs.read(x86.UC_X86_REG_CR2)
            try:
                uc.emu_start(eip, SENTINEL)
            except UcError as e:
                if e.errno != uc_const.UC_ERR_INSN_INVALID:
                    raise
                self._undo_ring3_return(cr2)
                self.cpu.deliver(VEC_UD, None, regs.read(x86.UC_X86_REG_EIP), from_hook=False)
                return Stop.BUSY
            finally:
                sliced = self._watchdog.disarm()
                if self._slice is not None:
                    self._slice.take()
                self.uart.catch_up()
            self._undo_ring3_return(cr2)
            if self._pending is not None:
                intno, err, ret, cr2 = self._pending
                self._pending = None
                if cr2 is not None:
                    uc.reg_write(x86.UC_X86_REG_CR2, cr2)
                self.cpu.deliver(intno, err, ret, from_hook=True, insn_len=self._software_int_len(intno, ret))
                return Stop.BUSY
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

    @property
    def stopped(self) -> bool:
        """The kernel runs no more: it exited, the machine shut down, or it
        halted with interrupts off."""
        return self.exit_status is not None or self.shutdown_reason is not None or self.halted

    def run_until_output(self, deadline: float | None, gather: int = 0) -> bool:
        """Run until the kernel has sent something on the serial line; False
        if it stopped for good or the deadline (time.monotonic()) passed
        first. Idle time is skipped: an idle kernel with no input waiting
        gets its next timer tick at once. With gather, go on while the
        kernel is busy or has input to read, until gather bytes are waiting
        or GATHER_TIME has passed: a reader then takes a long exchange in
        pieces of many bytes instead of one per time slice (and a pexpect
        reader searches its window again after every piece)."""
        while not self.line.output:
            if self.stopped or (deadline is not None and time.monotonic() >= deadline):
                return False
            stop = self.step()
            if stop is Stop.HALTED:
                self.halted = True
            elif stop is Stop.IDLE and not self.line.input_waiting() and self.pit.next_tick is not None:
                self.pit.next_tick = self.clock()
        end = time.monotonic() + GATHER_TIME
        while len(self.line.output) < gather and not self.stopped and time.monotonic() < end:
            stop = self.step()
            if stop is Stop.HALTED:
                self.halted = True
            elif stop is Stop.IDLE and not self.line.input_waiting():
                break
        return True

    def symbol(self, name: str) -> int:
        return self.image.symbol(name)

    # Teardown.
    def close(self) -> None:
        """Write the coverage record (if recording) and stop the time-slice
        thread; direct calls and memory access still work afterwards."""
        if self.coverage is not None:
            self.coverage.dump()
        if self._watchdog is not None:
            self._watchdog.close()
            self._watchdog = None
        if self._slice is not None:
            self._slice.close()
            self._slice = None
