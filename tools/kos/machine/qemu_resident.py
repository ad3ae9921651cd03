"""ResidentQemu: a QEMU machine that outlives one test, put back at its first
prompt by every start() with QEMU's own snapshots (savevm once, loadvm
each time after): RAM, CPU and every device (the UART and its FIFOs, the
PICs, the PIT, the clocks) come back as they were, in about 10 ms of
QEMU's CPU instead of the 0.14 s a fresh process and boot take.

QEMU keeps a snapshot in a qcow2 image (`qemu-img`, from apt's
qemu-utils), attached to no device; its monitor is on a unix socket beside
it. Without qemu-img every start() boots a fresh machine. A machine that
ended (halt, a fault) is replaced by a fresh one.

Input a test left unread must not reach the machine put back. While QEMU
is stopped, what it has not read yet is discarded from the terminal it
reads (its stdin, opened a second time through /proc); what it has read is
in the UART, which loadvm puts back. Where that terminal cannot be opened,
a machine that prints anything while idle just after it is put back is
replaced instead.
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import subprocess
import tempfile
import termios
from pathlib import Path

from kos import paths
from kos.console import Console
from kos.machine.qemu import QemuMachine

SNAPSHOT = "first_prompt"
# How long a machine just put back must stay silent to count as clean,
# when its input cannot be discarded.
QUIET = 0.01


class MonitorError(RuntimeError):
    """QEMU's monitor refused a command."""


class ResidentQemu(QemuMachine):
    def __init__(self, kernel: Path = paths.KERNEL_ELF, memory: str = "64M",
                 log_path: Path | None = None, initrd: Path | None = paths.INITRD) -> None:
        super().__init__(kernel, memory, log_path, initrd)
        self.snapshots = shutil.which("qemu-img") is not None
        self._dir: Path | None = None
        self._monitor: socket.socket | None = None
        self._boot_log = b""
        self.boots = 0

    def command(self) -> list[str]:
        cmd = super().command()
        if not self.snapshots or self._dir is None:
            return cmd
        at = cmd.index("-monitor")
        cmd[at:at + 2] = ["-monitor", f"unix:{self._dir / 'monitor'},server=on,wait=off"]
        return [*cmd, "-drive", f"if=none,id=snapshots,format=qcow2,file={self._dir / 'snapshots.qcow2'}"]

    def start(self, wait_prompt: bool = True, timeout: float = 15.0) -> Console:
        """The kernel at its first prompt: the running machine put back from
        its snapshot when it can be, else a fresh boot (which takes the
        snapshot)."""
        if not (self.child is not None and self.child.isalive() and self._put_back()):
            self._boot(timeout)
        assert self.child is not None and self.console is not None
        self._open_log(self._boot_log)
        return self.console

    def _boot(self, timeout: float) -> None:
        self.close()
        if self.snapshots:
            self._dir = Path(tempfile.mkdtemp(prefix="kos-qemu-"))
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(self._dir / "snapshots.qcow2"),
                            "1M"], check=True)
        super().start(timeout=timeout)
        self.boots += 1
        self._boot_log = self.log_path.read_bytes()
        if self.snapshots:
            assert self._dir is not None
            self._monitor = socket.socket(socket.AF_UNIX)
            self._monitor.connect(str(self._dir / "monitor"))
            self._hmp("")
            self._hmp(f"savevm {SNAPSHOT}")

    def _discard_input(self) -> bool:
        """Discard what QEMU has not read yet from the terminal it reads its
        serial input from; whether it could. The terminal is opened only
        for this: while it is open, QEMU's end would not hang up when QEMU
        exits."""
        assert self.child is not None
        try:
            fd = os.open(f"/proc/{self.child.pid}/fd/0", os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError:
            return False
        try:
            termios.tcflush(fd, termios.TCIFLUSH)
        except termios.error:
            return False
        finally:
            os.close(fd)
        return True

    def _put_back(self) -> bool:
        if not self.snapshots or self._monitor is None:
            return False
        assert self.console is not None and self.child is not None
        try:
            self._hmp("stop")
            discarded = self._discard_input()
            self.console.drain()
            self._hmp(f"loadvm {SNAPSHOT}")
            self._hmp("cont")
        except (MonitorError, OSError):
            return False
        self.console.drain()
        self.child.buffer = b""
        self.child.before = b""
        if discarded:
            return True
        readable, _, _ = select.select([self.child.child_fd], [], [], QUIET)
        return not readable

    def _hmp(self, command: str) -> str:
        """A human-monitor command; its reply (the monitor echoes what it is
        sent and ends every reply with its prompt)."""
        assert self._monitor is not None
        if command:
            self._monitor.sendall(command.encode() + b"\n")
        reply = b""
        while not reply.endswith(b"(qemu) "):
            chunk = self._monitor.recv(4096)
            if not chunk:
                raise MonitorError(f"QEMU's monitor closed during {command!r}")
            reply += chunk
        text = reply.decode("latin-1")
        if "Error" in text:
            raise MonitorError(f"{command}: {text.strip()}")
        return text

    def _open_log(self, boot_log: bytes) -> None:
        assert self.child is not None
        if self._log is not None:
            self._log.close()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self._log.write(boot_log)
        self._log.write(b"\n(put back at its first prompt)\n")
        self.child.logfile_read = self._log
        assert self.console is not None
        self.console.log_path = self.log_path

    def stop(self) -> int | None:
        """End the test's use of the machine; it keeps running for the next."""
        if self.child is not None:
            self.child.logfile_read = None
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.exit_status

    def close(self) -> None:
        """Stop QEMU and remove its snapshot image."""
        if self._monitor is not None:
            self._monitor.close()
            self._monitor = None
        super().stop()
        self.child = None
        self.console = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
