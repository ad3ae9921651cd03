"""The 16550A UART at COM1: the guest's side of the serial line (the host's
side is serial.py)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from kos.machine.unicorn.devices.bus import Ports
from kos.machine.unicorn.devices.pic import PicPair

COM1 = 0x3F8
COM1_IRQ = 4


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
    input piped in before the driver starts does not spoil its loopback
    self-test. Switching the FIFO on or off empties it, as on the chip: a
    byte moved in between a driver's drain and that switch is lost, which
    is why the program's serve() holds input until the kernel first idles.
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

    # Machine snapshots: the registers and both queues, not the wiring.
    def save(self) -> dict[str, object]:
        state = {k: v for k, v in vars(self).items() if k not in ("pics", "on_tx", "irq")}
        state["rx"], state["pending"] = deque(self.rx), deque(self.pending)
        return state

    def load(self, state: dict[str, object]) -> None:
        vars(self).update(state)
        self.rx, self.pending = deque(self.rx), deque(self.pending)

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
            return self.read_lsr(port)
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

    # What a driver does for every byte: poll LSR, send a byte. The general
    # read() and write() do the same, after finding the register.
    def read_lsr(self, port: int) -> int:
        if not self.listening and not self.mcr & 0x10:
            self.listening = True
            self.refill()
        return 0x60 | (0x01 if self.rx else 0)

    def write_data(self, port: int, value: int) -> None:
        if self.lcr & 0x80 or self.mcr & 0x10:
            self.write(port, value)
            return
        self.on_tx(value & 0xFF)
        self.thr_interrupt = True
        if self.ier & 0x02:
            self._update()

    def ports(self) -> Ports:
        ports = {COM1 + r: (self.read, self.write) for r in range(8)}
        ports[COM1] = (self.read, self.write_data)
        ports[COM1 + 5] = (self.read_lsr, self.write)
        return ports
