"""Channel 0 of the 8254 programmable interval timer, on IRQ 0."""

from __future__ import annotations

import time
from collections.abc import Callable

from kos.machine.unicorn.devices.bus import Ports
from kos.machine.unicorn.devices.pic import PicPair

PIT_CH0, PIT_CMD = 0x40, 0x43
PIT_IRQ = 0
PIT_HZ = 1193182


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

    # Machine snapshots: the registers, and the count's start and next
    # tick as times from the moment of the save, so that a machine put back
    # later goes on from where its timer was, not from a tick long past.
    def save(self) -> dict[str, object]:
        state = {k: v for k, v in vars(self).items() if k not in ("pics", "clock")}
        state["saved_at"] = self.clock()
        return state

    def load(self, state: dict[str, object]) -> None:
        saved = dict(state)
        shift = self.clock() - float(saved.pop("saved_at"))   # type: ignore[arg-type]
        vars(self).update(saved)
        self.start += shift
        if self.next_tick is not None:
            self.next_tick += shift

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

    def ports(self) -> Ports:
        return {p: (self.read, self.write) for p in (0x40, 0x41, 0x42, PIT_CMD)}
