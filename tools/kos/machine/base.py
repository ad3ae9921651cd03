"""The interface every machine (QEMU, unicorn) has: start, console, stop,
exit status. A machine is a child process whose stdin/stdout is the kernel's
serial port, driven through pexpect."""

from __future__ import annotations

import os
import signal
import time
from abc import ABC, abstractmethod
from pathlib import Path

import pexpect

from kos import paths
from kos.console import Console

# Exit statuses a kernel can produce through the debug-exit port.
EXIT_SUCCESS = 33
EXIT_FAILURE = 35

# How long a machine gets to end on SIGHUP (as a closed terminal would send)
# before it is killed.
STOP_GRACE = 2.0


class Machine(ABC):
    """A kernel running in an emulator, its serial port on a pty."""

    name = "machine"

    def __init__(self, kernel: Path = paths.KERNEL_ELF, memory: str = "64M",
                 log_path: Path | None = None, initrd: Path | None = paths.INITRD) -> None:
        self.kernel = Path(kernel)
        self.memory = memory
        self.initrd = initrd          # the first Multiboot module; None boots without one
        self.log_path = log_path or paths.LOGS / f"{self.name}-{os.getpid()}.log"
        self.child: pexpect.spawn | None = None
        self.console: Console | None = None
        self._log = None
        self.boot_seconds: float | None = None

    @abstractmethod
    def command(self) -> list[str]:
        """The program and arguments that run the kernel."""

    def start(self, wait_prompt: bool = True, timeout: float = 15.0) -> Console:
        """Start the machine; by default wait until the shell prompt appears."""
        cmd = self.command()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self._log.write(("$ " + " ".join(cmd) + "\n").encode())
        t0 = time.monotonic()
        self.child = pexpect.spawn(cmd[0], cmd[1:], timeout=timeout, echo=False,
                                   dimensions=(24, 200), env=self.environment())
        self.child.logfile_read = self._log
        # pexpect sleeps 50 ms before every send by default, 0.1 ms (at
        # least one scheduler tick) after every read, and 100 ms in every
        # close (stop() and wait() reap the child first).
        self.child.delaybeforesend = None
        self.child.delayafterread = None
        self.child.ptyproc.delayafterclose = 0
        self.console = Console(self.child, self.log_path)
        if wait_prompt:
            self.console.wait_prompt(timeout)
            self.boot_seconds = time.monotonic() - t0
        return self.console

    def environment(self) -> dict[str, str] | None:
        """Environment for the child (None: inherit)."""
        return None

    def wait(self, timeout: float = 10.0) -> int | None:
        """Wait for the machine to stop by itself; return its exit status."""
        if self.child is None:
            return None
        if self.console is not None:
            self.console.wait_exit(timeout)
        _end(self.child, hang_up=False)
        self.child.close()
        return self.exit_status

    @property
    def exit_status(self) -> int | None:
        if self.child is None or self.child.isalive():
            return None
        if self.child.exitstatus is not None:
            return self.child.exitstatus
        sig = self.child.signalstatus
        return -sig if sig is not None else None

    def stop(self) -> int | None:
        """Stop the machine (killing it if it still runs); return its exit status."""
        if self.child is not None:
            _end(self.child)
            self.child.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.exit_status

    def __enter__(self) -> Machine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _end(child: pexpect.spawn, hang_up: bool = True) -> None:
    """Wait for child to exit, after a SIGHUP if hang_up (without: it is
    ending by itself, and a signal could replace its exit status); SIGKILL
    once STOP_GRACE has passed. Polls rather than sleeping pexpect's fixed
    100 ms steps: a machine usually ends within a few milliseconds."""
    if not child.isalive():
        return
    if hang_up:
        child.kill(signal.SIGHUP)
    deadline = time.monotonic() + STOP_GRACE
    while child.isalive():
        if time.monotonic() > deadline:
            child.kill(signal.SIGKILL)
            child.wait()
            return
        time.sleep(0.002)
