"""The 16550A UART at COM1: the guest's side of the serial line (the host's
side is serial.py)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from kos.machine.unicorn.devices.bus import Ports
from kos.machine.unicorn.devices.pic import PicPair

if TYPE_CHECKING:
    from kos.machine.unicorn.ports import NativeFifo, PortHooks

COM1 = 0x3F8
COM1_IRQ = 4
UART_FCR = 2
FCR_LOADER = 0xC1        # FIFO on, trigger at 14 bytes: what GRUB leaves


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
    input piped in before the driver starts does not spoil a loopback
    self-test (KOS's driver no longer makes one: it probes the scratch
    register). Switching the FIFO on or off empties it, as on the chip: a
    byte moved in between a driver's drain and that switch is lost, which
    is why the program's serve() holds input until the kernel first idles.
    Not modelled: line errors, break, the modem-status interrupt.

    In an engine the receive FIFO lives in C (attach, ports.py): the C
    hooks serve LSR, RBR and THR themselves in the modes this model
    publishes, and the model catches up on what they did before its own
    next access (catch_up)."""

    FIFO_SIZE = 16

    def __init__(self, pics: PicPair, on_tx: Callable[[int], None], irq: int = COM1_IRQ) -> None:
        self.pics = pics
        self.irq = irq
        self.on_tx = on_tx
        self.rx: deque[int] | NativeFifo = deque()
        self.pending: deque[int] = deque()
        self.native: PortHooks | None = None
        # Set by the engine once the machine stopped: it ignores the
        # guest's port writes from then on, so the C hooks must too.
        self.machine_stopped = False
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

    # The C half.
    def attach(self, native: PortHooks) -> None:
        """Keep the receive FIFO in native's C state, and let its hooks
        serve the registers a driver touches for every byte."""
        native.fifo.extend(self.rx)
        self.rx = native.fifo
        self.native = native
        self.publish()

    def catch_up(self) -> None:
        """Take in what the C hooks did since the last time: the bytes
        they sent go out, a write to THR sets its interrupt's condition,
        and a read that emptied the FIFO updates the IRQ line."""
        if self.native is None:
            return
        events = self.native.take_events()
        if events & self.native.sent:
            self.thr_interrupt = True
        if events & self.native.emptied:
            self._update()

    def publish(self) -> None:
        """Tell the C hooks which accesses they may serve in the registers'
        present state (no writes once the machine stopped)."""
        if self.native is None:
            return
        n = self.native
        dlab, loopback = self.lcr & 0x80, self.mcr & 0x10
        modes = n.fast_lsr if self.listening or loopback else 0
        if not dlab:
            modes |= n.fast_rbr
            if not self.machine_stopped and not loopback and not self.ier & 0x02:
                modes |= n.fast_thr
        n.set_modes(modes)

    # The host side.
    def feed(self, data: bytes) -> None:
        """Bytes arriving on the wire; they enter the FIFO at refill()."""
        self.pending.extend(data)
        self.refill()

    def refill(self) -> None:
        """Move waiting bytes into the receive FIFO while it has room."""
        self.catch_up()
        if self.mcr & 0x10 or not self.listening:  # loopback disconnects the wire
            return
        room = (self.FIFO_SIZE if self.fifo_enabled else 1) - len(self.rx)
        if room > 0 and self.pending:
            pending = self.pending
            self.rx.extend([pending.popleft() for _ in range(min(room, len(pending)))])
        self._update()

    # Machine snapshots: the registers and both queues, not the wiring.
    def save(self) -> dict[str, object]:
        self.catch_up()
        state = {k: v for k, v in vars(self).items() if k not in ("pics", "on_tx", "irq", "native", "rx")}
        state["rx"], state["pending"] = bytes(self.rx), deque(self.pending)
        return state

    def load(self, state: dict[str, object]) -> None:
        if self.native is not None:
            self.native.discard()            # of the machine being replaced
        vars(self).update({k: v for k, v in state.items() if k != "rx"})
        self.pending = deque(self.pending)
        self.rx.clear()
        self.rx.extend(state["rx"])          # type: ignore[arg-type]
        self.publish()

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
        self.catch_up()
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
        self.catch_up()
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
        self.publish()

    # What a driver does for every byte: poll LSR, send a byte. The general
    # read() and write() do the same, after finding the register.
    def read_lsr(self, port: int) -> int:
        self.catch_up()
        if not self.listening and not self.mcr & 0x10:
            self.listening = True
            self.refill()
            self.publish()
        return 0x60 | (0x01 if self.rx else 0)

    def write_data(self, port: int, value: int) -> None:
        self.catch_up()
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
