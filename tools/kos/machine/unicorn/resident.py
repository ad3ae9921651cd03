"""ResidentUnicorn: the embedded emulator as a Machine that lives in this
process, booted once and put back at its first prompt by every start().

A console test on a fresh UnicornMachine pays for a child process that
imports the emulator and boots the kernel; this one pays for copying RAM
back. What a test sees is the same: the kernel at its first prompt,
driven through a Console over the UART, with nothing left of the test
before it. The snapshot is the whole machine (calls.Snapshot with its
devices): all of RAM, the CPU, the UART with its FIFO and queued input,
the PICs, the PIT's count and next tick, and the open-bus pages.

The difference from the child process is the host's idle time: in this
process the guest runs only while the test waits for its output, and an
idle kernel's next timer tick comes at once (Engine.run_until_output), as
in every other in-process use, so programs that sleep finish sooner.
"""

from __future__ import annotations

from pathlib import Path

from kos import paths
from kos.console import Console
from kos.machine.base import Machine
from kos.machine.unicorn.kernel import Snapshot, UnicornKernel
from kos.machine.unicorn.machine import unicorn_command


class ResidentUnicorn(Machine):
    name = "unicorn"

    def __init__(self, kernel: Path = paths.KERNEL_ELF, memory: str = "64M",
                 log_path: Path | None = None, initrd: Path | None = paths.INITRD) -> None:
        super().__init__(kernel, memory, log_path, initrd)
        self.session: UnicornKernel | None = None
        self._first_prompt: Snapshot | None = None
        self._boot_log = b""
        self.boots = 0

    def command(self) -> list[str]:
        """The command of the child process this machine stands for."""
        return unicorn_command(self.kernel, self.memory, initrd=self.initrd)

    def start(self, wait_prompt: bool = True, timeout: float = 15.0) -> Console:
        """The kernel at its first prompt: booted the first time, put back
        from the snapshot taken then every later time."""
        if self.session is None or self._first_prompt is None:
            modules = [self.initrd.read_bytes()] if self.initrd is not None else []
            session = UnicornKernel(self.kernel, self.memory, modules=modules)
            try:
                session.boot(timeout)
            except BaseException:
                session.close()
                raise
            self._boot_log = session.take_tx()
            self._first_prompt = session.snapshot(devices=True)
            self.session = session
            self.boots += 1
        else:
            self.session.restore(self._first_prompt)
        return self._attach(self.session, "in-process, at its first prompt", self._boot_log)

    def _attach(self, session: UnicornKernel, note: str, logged: bytes = b"") -> Console:
        """session's console as this machine's, its output logged."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self._log.write(("$ " + " ".join(self.command()) + f"  ({note})\n").encode())
        self._log.write(logged)
        session.console.log_path = self.log_path
        session.console.child.logfile_read = self._log
        self.console = session.console
        return self.console

    def wait(self, timeout: float = 10.0) -> int | None:
        if self.console is not None:
            self.console.wait_exit(timeout)
        return self.exit_status

    @property
    def exit_status(self) -> int | None:
        """The status the child process would exit with: the debug-exit
        port's, 0 after a triple fault, None while the kernel runs."""
        s = self.session
        if s is None:
            return None
        if s.exit_status is not None:
            return s.exit_status
        return 0 if s.shutdown_reason is not None else None

    def stop(self) -> int | None:
        """End the test's use of the machine (it stays booted for the next)."""
        if self.session is not None:
            self.session.console.child.logfile_read = None
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.exit_status

    def close(self) -> None:
        """Shut the machine down for good."""
        self.stop()
        if self.session is not None:
            self.session.close()
            self.session = None
            self._first_prompt = None


class InProcessUnicorn(ResidentUnicorn):
    """The embedded emulator in this process, booted afresh by each start()
    and shut down by stop(): a test's own machine (another memory size,
    another initrd) without the child process's start-up (Python and the
    emulator's imports, about 0.3 s a machine). Its console runs the guest
    as it is read, so the boot log is there to read as from a child's; a
    test about the emulator's process (its CPU time, its exit) needs
    UnicornMachine."""

    def __init__(self, kernel: Path = paths.KERNEL_ELF, memory: str = "64M",
                 log_path: Path | None = None, initrd: Path | None = paths.INITRD) -> None:
        super().__init__(kernel, memory, log_path, initrd)
        self._ended: int | None = None

    def start(self, wait_prompt: bool = True, timeout: float = 15.0) -> Console:
        self.close()
        modules = [self.initrd.read_bytes()] if self.initrd is not None else []
        self.session = UnicornKernel(self.kernel, self.memory, modules=modules)
        self.boots += 1
        console = self._attach(self.session, "in-process")
        if wait_prompt:
            console.wait_prompt(timeout)
        return console

    @property
    def exit_status(self) -> int | None:
        return self._ended if self.session is None else super().exit_status

    def stop(self) -> int | None:
        status = super().stop()
        if self.session is not None:
            self.session.close()
            self.session = None
            self._ended = status
        return status
