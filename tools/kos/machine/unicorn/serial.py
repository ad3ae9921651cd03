"""The host's end of the serial line (COM1), and the line as a pexpect child.

Bytes sent to the guest queue on the host side of the UART until its driver
has set the receiver up and reads them; bytes the guest transmits collect
in `output` until taken. SerialChild makes the line look like the pty of a
machine process, so kos.console.Console drives a kernel inside this process
with the same line protocol it uses for QEMU.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pexpect import EOF, TIMEOUT
from pexpect.spawnbase import SpawnBase

if TYPE_CHECKING:
    from kos.machine.unicorn.devices import Uart16550
    from kos.machine.unicorn.engine import Engine


class SerialLine:
    """What travels on COM1, seen from the host."""

    def __init__(self) -> None:
        self.output = bytearray()
        self.uart: Uart16550 | None = None

    def connect(self, uart: Uart16550) -> None:
        self.uart = uart

    def transmitted(self, byte: int) -> None:
        """The UART sent a byte (its transmit callback)."""
        self.output.append(byte)

    def transmitted_bytes(self, data: bytes) -> None:
        """The UART's C half sent these bytes."""
        self.output += data

    def send(self, data: bytes | str) -> None:
        """Bytes arriving on the guest's side of the line."""
        assert self.uart is not None, "the line is not connected to a UART"
        self.uart.feed(data.encode("latin-1") if isinstance(data, str) else data)

    def input_waiting(self) -> bool:
        """Has the guest bytes to read, in the UART or queued for it?"""
        return self.uart is not None and bool(self.uart.pending or self.uart.rx)

    def take(self, size: int | None = None) -> bytes:
        """The oldest output (at most size bytes), removed from the line."""
        end = len(self.output) if size is None else size
        data = bytes(self.output[:end])
        del self.output[:end]
        return data

    def clear(self) -> None:
        self.output.clear()


class SerialChild(SpawnBase):  # type: ignore[misc]
    """An engine's serial line as a pexpect child (bytes, no echo): reading
    runs the guest until it has sent something, the read times out or the
    machine stops for good (EOF)."""

    def __init__(self, engine: Engine, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout, maxread=65536)
        self.delayafterread = None          # reads run the guest: nothing to wait for
        self.engine = engine

    def read_nonblocking(self, size: int = 1, timeout: float | None = -1) -> bytes:
        if timeout == -1:
            timeout = self.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self.engine.run_until_output(deadline, gather=size):
            if self.engine.stopped:
                self.flag_eof = True
                raise EOF("the machine stopped")
            raise TIMEOUT(f"no serial output for {timeout}s")
        data = self.engine.line.take(size)
        self._log(data, "read")
        return data

    def send(self, s: bytes | str) -> int:
        data = s.encode("latin-1") if isinstance(s, str) else s
        self._log(data, "send")
        self.engine.line.send(data)
        return len(data)

    def isalive(self) -> bool:
        return not self.engine.stopped
