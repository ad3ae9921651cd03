"""The PC devices KOS talks to, modelled in Python on port I/O: a 16550
UART at COM1, the two cascaded 8259 PICs, PIT channel 0 and QEMU's
isa-debug-exit port. Each follows QEMU's model where it matters to a guest
(hw/char/serial.c, hw/intc/i8259.c, hw/timer/i8254.c, hw/misc/debugexit.c);
what is left out is said at each class.

Unassigned ports read as 0xFF and ignore writes, as on an ISA bus.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

COM1 = 0x3F8
COM1_IRQ = 4
PIC1_CMD, PIC1_DATA = 0x20, 0x21
PIC2_CMD, PIC2_DATA = 0xA0, 0xA1
PIT_CH0, PIT_CMD = 0x40, 0x43
PIT_IRQ = 0
DEBUG_EXIT_PORT = 0xF4
DEBUG_EXIT_SIZE = 4

PIT_HZ = 1193182


class Pic8259:
    """One 8259A: edge-triggered lines, IRR/ISR/IMR, fixed priority (IRQ 0
    highest), non-specific and specific EOI, OCW3 register select, auto-EOI.
    Not modelled: rotation, special mask, poll mode, level-triggered lines."""

    def __init__(self, master: bool, on_output: Callable[[bool], None]) -> None:
        self.master = master
        self.on_output = on_output
        self.irr = 0
        self.isr = 0
        self.imr = 0
        self.last_level = 0
        self.irq_base = 0
        self.read_isr = False
        self.auto_eoi = False
        self.init_step = 0           # 0: ready; 2..4: expecting ICW2..ICW4
        self.expect_icw4 = False
        self.single = False
        self.output = False

    @staticmethod
    def _priority(bits: int) -> int:
        """The highest-priority line in bits (0 is highest), 8 if none."""
        return (bits & -bits).bit_length() - 1 if bits else 8

    def pending(self) -> int:
        """The line this chip would raise to the CPU now, or -1."""
        p = self._priority(self.irr & ~self.imr)
        if p == 8:
            return -1
        return p if p < self._priority(self.isr) else -1

    def update(self) -> None:
        out = self.pending() >= 0
        if out != self.output:
            self.output = out
            self.on_output(out)

    def set_irq(self, line: int, level: bool) -> None:
        bit = 1 << line
        if level:
            if not self.last_level & bit:
                self.irr |= bit
            self.last_level |= bit
        else:
            self.last_level &= ~bit
        self.update()

    def ack(self, line: int) -> None:
        """The CPU acknowledged line: it moves from IRR to ISR."""
        if not self.auto_eoi:
            self.isr |= 1 << line
        self.irr &= ~(1 << line)
        self.update()

    def write(self, port_offset: int, value: int) -> None:
        value &= 0xFF
        if port_offset == 0:
            if value & 0x10:                       # ICW1: start initialisation
                self.irr = self.isr = self.imr = self.last_level = 0
                self.irq_base = 0
                self.read_isr = self.auto_eoi = False
                self.expect_icw4 = bool(value & 0x01)
                self.single = bool(value & 0x02)
                self.init_step = 2
            elif value & 0x08:                     # OCW3
                if value & 0x02:
                    self.read_isr = bool(value & 0x01)
            else:                                  # OCW2
                cmd = value >> 5
                if cmd in (1, 5):                  # non-specific EOI
                    p = self._priority(self.isr)
                    if p != 8:
                        self.isr &= ~(1 << p)
                elif cmd in (3, 7):                # specific EOI
                    self.isr &= ~(1 << (value & 7))
        else:
            if self.init_step == 0:
                self.imr = value
            elif self.init_step == 2:
                self.irq_base = value & 0xF8
                self.init_step = 3 if not self.single else (4 if self.expect_icw4 else 0)
            elif self.init_step == 3:
                self.init_step = 4 if self.expect_icw4 else 0
            elif self.init_step == 4:
                self.auto_eoi = bool(value & 0x02)
                self.init_step = 0
        self.update()

    def read(self, port_offset: int) -> int:
        if port_offset == 0:
            return self.isr if self.read_isr else self.irr
        return self.imr


class PicPair:
    """Master and slave 8259, the slave on the master's line 2, as in a PC."""

    CASCADE = 2

    def __init__(self) -> None:
        self.slave = Pic8259(False, lambda level: self.master.set_irq(self.CASCADE, level))
        self.master = Pic8259(True, lambda level: None)

    def set_irq(self, irq: int, level: bool) -> None:
        if irq < 8:
            self.master.set_irq(irq, level)
        else:
            self.slave.set_irq(irq - 8, level)

    def pulse(self, irq: int) -> None:
        self.set_irq(irq, True)
        self.set_irq(irq, False)

    def has_interrupt(self) -> bool:
        return self.master.output

    def acknowledge(self) -> int:
        """The interrupt acknowledge cycle: the vector to deliver (a spurious
        IRQ 7 or 15 when nothing is pending any more, as on the real chip)."""
        line = self.master.pending()
        if line < 0:
            return self.master.irq_base + 7
        if line == self.CASCADE:
            sline = self.slave.pending()
            if sline >= 0:
                self.slave.ack(sline)
            else:
                sline = 7
            vector = self.slave.irq_base + sline
        else:
            vector = self.master.irq_base + line
        self.master.ack(line)
        return vector

    def ports(self) -> dict[int, tuple[Callable[[int], int], Callable[[int, int], None]]]:
        return {
            PIC1_CMD: (lambda p: self.master.read(0), lambda p, v: self.master.write(0, v)),
            PIC1_DATA: (lambda p: self.master.read(1), lambda p, v: self.master.write(1, v)),
            PIC2_CMD: (lambda p: self.slave.read(0), lambda p, v: self.slave.write(0, v)),
            PIC2_DATA: (lambda p: self.slave.read(1), lambda p, v: self.slave.write(1, v)),
        }


class Uart16550:
    """A 16550A UART. Transmission is instant (THR is always empty again),
    so THRE and TEMT always read 1. Received bytes wait in `pending` (the
    host side, like a pty's buffer) and move into the 16-byte receive FIFO
    only when refill() is called, so a guest that drains the FIFO per
    interrupt sees at most 16 bytes each time, as on QEMU. The receive
    interrupt is raised as soon as the FIFO holds a byte (below the trigger
    level it reports the character-timeout source, as the chip would a few
    character times later). The IRQ line is not gated by MCR.OUT2, as in QEMU.
    Bytes wait on the host side until the guest has set the receiver up
    (enabled the receive interrupt, or polled LSR outside loopback), so
    input piped in before the driver's FIFO reset and loopback self-test
    neither gets lost nor spoils the self-test (on QEMU it can).
    Not modelled: line errors, break, the modem-status interrupt."""

    FIFO_SIZE = 16

    def __init__(self, pics: PicPair, on_tx: Callable[[int], None], irq: int = COM1_IRQ) -> None:
        self.pics = pics
        self.irq = irq
        self.on_tx = on_tx
        self.rx: deque[int] = deque()
        self.pending: deque[int] = deque()
        self.ier = 0
        self.lcr = 0
        self.mcr = 0
        self.scr = 0
        self.dll = 0
        self.dlm = 0
        self.fifo_enabled = False
        self.trigger = 1
        self.thr_interrupt = False
        self.line = False
        self.listening = False

    # The host side.
    def feed(self, data: bytes) -> None:
        """Bytes arriving on the wire; they enter the FIFO at refill()."""
        self.pending.extend(data)
        self.refill()

    def refill(self) -> None:
        """Move waiting bytes into the receive FIFO while it has room."""
        if self.mcr & 0x10 or not self.listening:  # loopback disconnects the wire
            return
        size = self.FIFO_SIZE if self.fifo_enabled else 1
        while self.pending and len(self.rx) < size:
            self.rx.append(self.pending.popleft())
        self._update()

    # Guest registers.
    def _iir(self) -> int:
        fifo = 0xC0 if self.fifo_enabled else 0
        if self.ier & 0x01 and self.rx:
            return fifo | (0x04 if len(self.rx) >= self.trigger or not self.fifo_enabled else 0x0C)
        if self.ier & 0x02 and self.thr_interrupt:
            return fifo | 0x02
        return fifo | 0x01

    def _update(self) -> None:
        level = not self._iir() & 0x01
        if level != self.line:
            self.line = level
            self.pics.set_irq(self.irq, level)

    def read(self, port: int) -> int:
        reg = port - COM1
        dlab = self.lcr & 0x80
        if reg == 0:
            if dlab:
                return self.dll
            value = self.rx.popleft() if self.rx else 0
            self._update()
            return value
        if reg == 1:
            return self.dlm if dlab else self.ier
        if reg == 2:
            iir = self._iir()
            if iir & 0x0F == 0x02:
                self.thr_interrupt = False
                self._update()
            return iir
        if reg == 3:
            return self.lcr
        if reg == 4:
            return self.mcr
        if reg == 5:
            if not self.listening and not self.mcr & 0x10:
                self.listening = True
                self.refill()
            return 0x60 | (0x01 if self.rx else 0)
        if reg == 6:
            if self.mcr & 0x10:                    # loopback: outputs wired to inputs
                m = self.mcr
                return ((m & 0x02) << 3) | ((m & 0x01) << 5) | ((m & 0x04) << 4) | ((m & 0x08) << 4)
            return 0xB0                            # DCD, DSR, CTS
        return self.scr

    def write(self, port: int, value: int) -> None:
        reg = port - COM1
        dlab = self.lcr & 0x80
        value &= 0xFF
        if reg == 0:
            if dlab:
                self.dll = value
                return
            if self.mcr & 0x10:
                if len(self.rx) < (self.FIFO_SIZE if self.fifo_enabled else 1):
                    self.rx.append(value)
            else:
                self.on_tx(value)
            self.thr_interrupt = True
        elif reg == 1:
            if dlab:
                self.dlm = value
                return
            if value & 0x02 and not self.ier & 0x02:
                self.thr_interrupt = True
            self.ier = value & 0x0F
            if value & 0x01 and not self.listening:
                self.listening = True
                self.refill()
        elif reg == 2:
            enabled = bool(value & 0x01)
            if enabled != self.fifo_enabled or value & 0x02:
                self.rx.clear()
            self.fifo_enabled = enabled
            self.trigger = (1, 4, 8, 14)[value >> 6]
        elif reg == 3:
            self.lcr = value
        elif reg == 4:
            was_loopback = self.mcr & 0x10
            self.mcr = value & 0x1F
            if was_loopback and not self.mcr & 0x10:
                self.refill()
        elif reg == 7:
            self.scr = value
        self._update()

    def ports(self) -> dict[int, tuple[Callable[[int], int], Callable[[int, int], None]]]:
        return {COM1 + r: (self.read, self.write) for r in range(8)}


class Pit8254:
    """PIT channel 0 driving IRQ 0 at the programmed rate (modes 2 and 3
    periodic, 0 and 4 one-shot), with lobyte/hibyte/both access and the
    counter latch command. Channels 1 and 2 accept writes and do nothing.
    Time is the host's monotonic clock. fire() raises one tick at a time,
    so ticks that came due while the emulator slept are delivered one by
    one; a tick raised while the last one is still unacknowledged merges
    into it, as on an edge-triggered PIC line. More than MAX_BACKLOG
    behind (the host was suspended), the count skips ahead."""

    MAX_BACKLOG = 1.0

    def __init__(self, pics: PicPair, clock: Callable[[], float] = time.monotonic) -> None:
        self.pics = pics
        self.clock = clock
        self.reload = 0x10000
        self.mode = 3
        self.access = 3
        self.write_low: int | None = None
        self.read_high = False
        self.latched: int | None = None
        self.start = clock()
        self.next_tick: float | None = None       # None: not counting

    @property
    def period(self) -> float:
        return self.reload / PIT_HZ

    def _arm(self) -> None:
        self.start = self.clock()
        self.next_tick = self.start + self.period

    def count(self) -> int:
        elapsed = int((self.clock() - self.start) * PIT_HZ)
        return (self.reload - elapsed % self.reload) & 0xFFFF

    def tick_due(self, now: float) -> bool:
        return self.next_tick is not None and now >= self.next_tick

    def fire(self, now: float) -> None:
        """Raise IRQ 0 for the tick that came due first."""
        if self.next_tick is None:
            return
        self.pics.pulse(PIT_IRQ)
        if self.mode in (2, 3):
            self.next_tick += self.period
            if now - self.next_tick > self.MAX_BACKLOG:
                self.next_tick = now + self.period
        else:
            self.next_tick = None

    def write(self, port: int, value: int) -> None:
        value &= 0xFF
        if port == PIT_CMD:
            if value >> 6 != 0:                    # channels 1, 2 and read-back: ignored
                return
            access = (value >> 4) & 3
            if access == 0:
                self.latched = self.count()
                return
            self.access = access
            self.mode = (value >> 1) & 7
            if self.mode > 5:
                self.mode -= 4
            self.write_low = None
            self.read_high = False
            return
        if port != PIT_CH0:
            return
        if self.access == 1:
            self._load(value)
        elif self.access == 2:
            self._load(value << 8)
        elif self.write_low is None:
            self.write_low = value
        else:
            self._load(self.write_low | (value << 8))
            self.write_low = None

    def _load(self, reload: int) -> None:
        self.reload = reload or 0x10000
        self._arm()

    def read(self, port: int) -> int:
        if port != PIT_CH0:
            return 0xFF
        value = self.latched if self.latched is not None else self.count()
        if self.access == 1:
            self.latched = None
            return value & 0xFF
        if self.access == 2:
            self.latched = None
            return value >> 8
        if not self.read_high:
            self.read_high = True
            return value & 0xFF
        self.read_high = False
        self.latched = None
        return value >> 8

    def ports(self) -> dict[int, tuple[Callable[[int], int], Callable[[int, int], None]]]:
        return {p: (self.read, self.write) for p in (0x40, 0x41, 0x42, PIT_CMD)}


class DebugExit:
    """QEMU's isa-debug-exit at 0xf4: writing v stops the machine with exit
    status (v << 1) | 1."""

    def __init__(self, on_exit: Callable[[int], None]) -> None:
        self.on_exit = on_exit

    def write(self, port: int, value: int) -> None:
        self.on_exit(((value << 1) | 1) & 0xFF)

    def ports(self) -> dict[int, tuple[Callable[[int], int], Callable[[int, int], None]]]:
        return {DEBUG_EXIT_PORT + i: (lambda p: 0xFF, self.write) for i in range(DEBUG_EXIT_SIZE)}


class IoBus:
    """Port dispatch. The devices are byte devices: a word or dword access
    reaches the first port only (KOS makes none, except to debug-exit,
    which takes the whole value as QEMU's does)."""

    def __init__(self) -> None:
        self.readers: dict[int, Callable[[int], int]] = {}
        self.writers: dict[int, Callable[[int, int], None]] = {}

    def attach(self, ports: dict[int, tuple[Callable[[int], int], Callable[[int, int], None]]]) -> None:
        for port, (reader, writer) in ports.items():
            self.readers[port] = reader
            self.writers[port] = writer

    def read(self, port: int, size: int) -> int:
        reader = self.readers.get(port)
        if reader is None:
            return (1 << (8 * size)) - 1
        return reader(port)

    def write(self, port: int, size: int, value: int) -> None:
        writer = self.writers.get(port)
        if writer is not None:
            writer(port, value)
