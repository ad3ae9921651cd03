"""The program's side of the serial port: stdin and stdout as QEMU's
`-serial stdio` uses them, and the loop that runs the kernel.

When stdin is a terminal it is put in raw mode (every byte, Ctrl-C
included, goes to the guest) with output post-processing left on, as QEMU
does, so "\\n" from the guest reaches a pty as "\\r\\n". The idle kernel
costs nothing: the loop sleeps in select() until input arrives or the next
timer tick is due.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import sys
import termios
import tty
from types import FrameType

from kos.machine.unicorn.kernel import Stop, UnicornKernel

CTRL_A = 0x01
ESCAPE_HELP = (b"\r\nC-a h    print this help\r\nC-a x    exit the emulator\r\n"
               b"C-a C-a  send C-a to the guest\r\n")


class Quit(Exception):
    """Leave the emulator with this exit status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class HostTerminal:
    """stdin/stdout of the program, raw when a terminal."""

    def __init__(self, interactive: bool, stdin: int = 0, stdout: int = 1) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.interactive = interactive
        self.eof = False
        self._saved: list[object] | None = None
        self._handlers: dict[int, object] = {}
        self._escape = False

    def __enter__(self) -> HostTerminal:
        if os.isatty(self.stdin):
            self._saved = termios.tcgetattr(self.stdin)
            tty.setraw(self.stdin, termios.TCSANOW)     # TCSAFLUSH would drop typed-ahead input
            attrs = termios.tcgetattr(self.stdin)
            attrs[1] |= termios.OPOST | termios.ONLCR
            termios.tcsetattr(self.stdin, termios.TCSANOW, attrs)
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            self._handlers[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            termios.tcsetattr(self.stdin, termios.TCSADRAIN, self._saved)
        for sig, handler in self._handlers.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        sys.stderr.write(f"unicorn: terminating on signal {signum}\n")
        raise Quit(0)

    def write(self, data: bytes) -> None:
        while data:
            try:
                n = os.write(self.stdout, data)
            except InterruptedError:
                continue
            except BrokenPipeError:
                raise Quit(0) from None
            data = data[n:]

    def read(self, timeout: float | None) -> bytes:
        """Bytes from stdin, waiting up to timeout seconds (None: forever)."""
        if self.eof:
            if timeout is None:
                signal.pause()
            elif timeout > 0:
                select.select([], [], [], timeout)
            return b""
        try:
            ready, _, _ = select.select([self.stdin], [], [], timeout)
        except InterruptedError:
            return b""
        if not ready:
            return b""
        try:
            data = os.read(self.stdin, 4096)
        except OSError as e:
            if e.errno != errno.EIO:            # EIO: the pty's other side closed
                raise
            data = b""
        if not data:
            self.eof = True
            return b""
        return self._filter(data) if self.interactive else data

    def _filter(self, data: bytes) -> bytes:
        """The Ctrl-A escapes of interactive use (QEMU's keys)."""
        out = bytearray()
        for b in data:
            if self._escape:
                self._escape = False
                if b in (ord("x"), ord("X")):
                    self.write(b"\r\nunicorn: terminated\r\n")
                    raise Quit(0)
                if b in (ord("h"), ord("H"), ord("?")):
                    self.write(ESCAPE_HELP)
                elif b == CTRL_A:
                    out.append(CTRL_A)
            elif b == CTRL_A:
                self._escape = True
            else:
                out.append(b)
        return bytes(out)


def serve(kernel: UnicornKernel, term: HostTerminal) -> int:
    """Run the kernel with its serial port on term until it stops; return
    the exit status QEMU would give.

    Input is held until the kernel first waits for an interrupt (its idle
    HLT): the driver's start-up drains the receiver and then switches the
    FIFO on, which empties it (on a 16550 and on QEMU's), and a byte that
    arrived between the two would be lost. Held, it arrives once the kernel
    is up, as typed input would."""
    held = b""
    up = False
    try:
        while True:
            stop = kernel.step()
            out = kernel.take_tx()
            if out:
                term.write(out)
            if stop is Stop.EXITED:
                return kernel.exit_status or 0
            if stop is Stop.SHUTDOWN:
                sys.stderr.write(f"unicorn: {kernel.shutdown_reason}; shutting down\n")
                return 0
            if stop is Stop.IDLE:
                up = True
                timeout = kernel.idle_wait()
            elif stop is Stop.HALTED:
                timeout = None
            else:
                timeout = 0.0
            if not (held and up):
                held += term.read(timeout)
            if held and up:
                kernel.send(held)
                held = b""
    except Quit as q:
        out = kernel.take_tx()
        if out:
            try:
                term.write(out)
            except Quit:
                pass
        return q.status
