"""UnicornKernel: the one in-process session of KOS, for the memory API,
the tests and the benchmarks, and the program (__main__.py) that puts its
serial line on stdin/stdout like QEMU.

    from kos.machine.unicorn import boot
    k = boot("build/kernel.elf")        # to the first shell prompt
    p = k.call("kmalloc", 64)           # by ELF symbol, cdecl, returns EAX
    k.write(p, b"hello"); k.call("kfree", p)
    k.drain_serial()                    # what the kernel printed meanwhile
    k.console.run("memstats")           # a shell command, as over QEMU's serial port

Its parts: engine.py (unicorn, the devices, the run loop), calls.py
(direct calls, memory, snapshots), serial.py (the host's end of COM1).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from kos import paths
from kos.console import Console
from kos.machine.unicorn.calls import CallEngine, CallError, Snapshot
from kos.machine.unicorn.engine import GuestFault, KernelExited, Stop
from kos.machine.unicorn.serial import SerialChild

__all__ = ["CallError", "GuestFault", "KernelExited", "Snapshot", "Stop", "UnicornKernel", "boot"]

_PROMPT_RE = re.compile(rb"(?:\n|(?<=\x1b\[H))kos> ")


class UnicornKernel(CallEngine):
    """KOS in this process: the engine, direct calls, and its serial line
    both as bytes (send, take_tx, drain_serial) and as a Console."""

    def __init__(self, elf: Path | str = paths.KERNEL_ELF, memory: str = "64M", *,
                 cmdline: str = "", modules: Sequence[bytes] = (), coverage: Path | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(elf, memory, cmdline=cmdline, modules=modules, coverage=coverage, clock=clock)
        self._child = SerialChild(self)
        self.console = Console(self._child)

    def boot(self, timeout: float = 10.0) -> UnicornKernel:
        """Run the kernel to its first shell prompt, and on until it idles
        (the shell asleep for input, idle halted with interrupts on: the
        state direct calls and snapshots start from, rather than wherever
        the prompt's output stopped it); the boot log stays in
        serial_output() until drained."""
        self.console.expect(_PROMPT_RE, timeout, what="kos> ")
        self._child.buffer = self._child.before + self._child.after + self._child.buffer
        deadline = time.monotonic() + timeout
        while self.step() is not Stop.IDLE:
            if self.stopped or time.monotonic() > deadline:
                raise RuntimeError("the kernel did not go idle after its first prompt")
        self._child.buffer += self.line.take()
        return self

    # The serial line as bytes. Output the console has read but not matched
    # comes first: there is one stream, whoever reads it.
    def send(self, data: bytes | str) -> None:
        """Bytes arriving on the serial port."""
        self.line.send(data)

    def take_tx(self) -> bytes:
        """What the kernel sent on the serial port since the last take."""
        unread = self._child.buffer
        self._child.buffer = b""
        return unread + self.line.take()

    def serial_output(self) -> str:
        """The serial output since the last drain, "\\r" removed."""
        return (self._child.buffer + bytes(self.line.output)).decode("utf-8", errors="replace") \
            .replace("\r", "")

    def drain_serial(self) -> str:
        """The serial output since the last drain, which it empties."""
        return self.take_tx().decode("utf-8", errors="replace").replace("\r", "")

    def restore(self, snap: Snapshot) -> None:
        super().restore(snap)
        child = self._child
        child.buffer = b""
        child.before = b""
        child.after = None
        child.flag_eof = False

    def __enter__(self) -> UnicornKernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def boot(elf: Path | str = paths.KERNEL_ELF, memory: str = "64M", *, cmdline: str = "",
         modules: Sequence[bytes] = (), coverage: Path | None = None,
         timeout: float = 10.0) -> UnicornKernel:
    """KOS booted in this process to its first shell prompt, its boot log
    drained: the session every in-process user starts from. modules: the
    Multiboot modules (the first is the initrd); none by default."""
    k = UnicornKernel(elf, memory, cmdline=cmdline, modules=modules, coverage=coverage)
    try:
        k.boot(timeout)
    except BaseException:
        k.close()
        raise
    k.drain_serial()
    return k
