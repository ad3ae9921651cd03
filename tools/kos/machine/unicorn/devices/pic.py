"""The two cascaded 8259A programmable interrupt controllers of a PC."""

from __future__ import annotations

from collections.abc import Callable

from kos.machine.unicorn.devices.bus import Ports

PIC1_CMD, PIC1_DATA = 0x20, 0x21
PIC2_CMD, PIC2_DATA = 0xA0, 0xA1


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

    # Machine snapshots: the registers, not the wiring.
    def save(self) -> dict[str, object]:
        return {k: v for k, v in vars(self).items() if k != "on_output"}

    def load(self, state: dict[str, object]) -> None:
        vars(self).update(state)

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

    def save(self) -> tuple[dict[str, object], dict[str, object]]:
        return self.master.save(), self.slave.save()

    def load(self, state: tuple[dict[str, object], dict[str, object]]) -> None:
        self.master.load(state[0])
        self.slave.load(state[1])

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

    def has_request(self) -> bool:
        """An unmasked line is requesting, whether or not an interrupt in
        service holds it back for now."""
        return any(p.irr & ~p.imr & 0xFF for p in (self.master, self.slave))

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

    def ports(self) -> Ports:
        return {
            PIC1_CMD: (lambda p: self.master.read(0), lambda p, v: self.master.write(0, v)),
            PIC1_DATA: (lambda p: self.master.read(1), lambda p, v: self.master.write(1, v)),
            PIC2_CMD: (lambda p: self.slave.read(0), lambda p, v: self.slave.write(0, v)),
            PIC2_DATA: (lambda p: self.slave.read(1), lambda p, v: self.slave.write(1, v)),
        }
