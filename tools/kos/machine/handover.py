"""Input typed or piped before the kernel is up is held back from GRUB and
handed to the kernel: `python -m kos.machine.handover [--entry first|ktest] -- CMD...`
runs CMD (QEMU booting build/kos.iso) on a pty of its own and bridges it to
this program's stdio; the Bochs runner holds its input the same way (HeldInput).

Why: GRUB 2.06 on the serial console takes every byte that reaches COM1
before it boots an entry. Configuring the port (at its first output) it
drains the receiver, for as long as bytes keep coming, up to a second;
then its hidden menu (timeout 0, style hidden) reads keys for about 3 s,
booting an entry whose hotkey it reads (Backspace: the first, `t`: the
ktest one), showing the menu on Esc (where `e` edits and `c` opens GRUB's
command line) and dropping anything else. Nothing in grub.cfg switches
that off while GRUB is on the serial line, so nothing reaches COM1 until
the kernel's first line shows: the kernel's driver keeps what is waiting
in the UART when it starts, and takes the rest by interrupt.

Held input is let through early only when GRUB itself asks for a key (an
error's "Press any key to continue", its `grub>` prompt), and with
--interactive a Ctrl-A pair (QEMU's escape: Ctrl-A X leaves) goes through
at once. With --entry, the
runner types that entry's hotkey until the kernel is up, as a user would
hold it from power-on: `first` skips GRUB's 3 s, `ktest` boots ktest=all.
"""

from __future__ import annotations

import argparse
import errno
import os
import pty
import select
import signal
import sys
import termios
import tty
from types import FrameType

from kos import iso

# The kernel's first line (kernel/kernel.c): from here on its driver has COM1.
KERNEL_UP = b"KOS i386 kernel"
# GRUB waiting for a key of its own: the held input is the user's answer.
GRUB_ASKS = (b"Press any key to continue", b"grub> ")
CTRL_A = 0x01
# How often an entry's hotkey is typed while GRUB runs (as Console.type_until does).
HOTKEY_EVERY = 0.05
ENTRIES = {"first": iso.BOOT_HOTKEY.encode(), "ktest": iso.KTEST_HOTKEY.encode()}


class HeldInput:
    """The gate between a user's input and COM1 while GRUB runs: feed it the
    machine's output and the user's input; it says what to send when."""

    def __init__(self, escapes: bool = False) -> None:
        self.held = bytearray()
        self.open = False
        self.escapes = escapes        # Ctrl-A pairs are the emulator's: let them through
        self._tail = b""
        self._escape = False

    def output(self, data: bytes) -> bytes:
        """The machine printed data: the held input to send now (once, when
        the kernel is up or GRUB asks for a key), else b""."""
        if self.open:
            return b""
        seen = self._tail + data
        self._tail = seen[-64:]
        if KERNEL_UP in seen or any(ask in seen for ask in GRUB_ASKS):
            self.open = True
            out, self.held = bytes(self.held), bytearray()
            return out
        return b""

    def input(self, data: bytes) -> bytes:
        """The user typed data: what to send now (all of it once open; while
        held, only the Ctrl-A pairs of escapes)."""
        if self.open:
            return data
        now = bytearray()
        for b in data:
            if self._escape:
                self._escape = False
                now += bytes([CTRL_A, b])
            elif b == CTRL_A and self.escapes:
                self._escape = True
            else:
                self.held.append(b)
        return bytes(now)


class Terminal:
    """stdin raw when it is a terminal (every byte, Ctrl-C included, goes to
    the guest), output post-processing kept if post, as QEMU's stdio does
    (bridge's output is a pty's, post-processed already); SIGTERM and SIGHUP
    raise Hangup."""

    def __init__(self, post: bool = True) -> None:
        self.saved: list[object] | None = None
        self.post = post

    def __enter__(self) -> Terminal:
        if os.isatty(0):
            self.saved = termios.tcgetattr(0)
            # TCSANOW: the default TCSAFLUSH would drop what was typed (or
            # piped through a pty) before this program started.
            tty.setraw(0, termios.TCSANOW)
            if self.post:
                attrs = termios.tcgetattr(0)
                attrs[1] |= termios.OPOST | termios.ONLCR
                termios.tcsetattr(0, termios.TCSANOW, attrs)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._signalled)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, self.saved)

    def _signalled(self, signum: int, frame: FrameType | None) -> None:
        raise Hangup(signum)


class Hangup(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def bridge(cmd: list[str], hotkey: bytes = b"", escapes: bool = False) -> int:
    """Run cmd on a pty, this program's stdio on the other side, input held
    until the kernel is up (typing hotkey meanwhile); cmd's exit status
    (128 + N after signal N)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            # Raw from the start: a hotkey typed before the emulator sets up
            # its terminal would otherwise be taken by the line discipline.
            tty.setraw(0)
            os.execvp(cmd[0], cmd)
        except OSError as e:
            os.write(2, f"handover: cannot run {cmd[0]}: {e.strerror}\r\n".encode())
        os._exit(127)
    gate = HeldInput(escapes)
    stdin_open = True
    try:
        with Terminal(post=False):
            while True:
                typing = bool(hotkey) and not gate.open
                ready, _, _ = select.select([fd, *([0] if stdin_open else [])], [], [],
                                            HOTKEY_EVERY if typing else None)
                if typing and not ready:
                    _write_all(fd, hotkey)
                if fd in ready:
                    try:
                        data = os.read(fd, 65536)
                    except OSError as e:      # EIO: the child closed its side
                        if e.errno != errno.EIO:
                            raise
                        data = b""
                    if not data:
                        break
                    try:
                        _write_all(1, data)
                    except BrokenPipeError:
                        break
                    _write_all(fd, gate.output(data))
                if 0 in ready:
                    data = os.read(0, 4096)
                    if data:
                        _write_all(fd, gate.input(data))
                    else:
                        # Like QEMU's own stdio: the machine runs on; halt ends it.
                        stdin_open = False
    except Hangup as h:
        os.kill(pid, h.signum)
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kos.machine.handover",
        description="Run a machine booting through GRUB, holding input until the kernel is up.")
    parser.add_argument("--entry", choices=sorted(ENTRIES),
                        help="type this GRUB menu entry's hotkey until the kernel is up")
    parser.add_argument("--interactive", action="store_true",
                        help="Ctrl-A pairs are the emulator's escapes: let them through at once")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the machine's command line")
    args = parser.parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        parser.error("no command to run")
    return bridge(cmd, ENTRIES[args.entry] if args.entry else b"", args.interactive)


if __name__ == "__main__":
    sys.exit(main())
