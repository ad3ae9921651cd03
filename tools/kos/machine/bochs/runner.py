"""The program between Bochs and a terminal: `python -m kos.machine.bochs`.

Debian's Bochs 2.7 is built with its debugger, so it stops at a `<bochs:1>`
prompt before the first instruction, and it has no isa-debug-exit device.
This program keeps both out of the user's way:

- Bochs runs on a pty of its own, where its term display and its debugger
  live. The runner answers the debugger: a breakpoint on the kernel's
  `debug_exit` (its address from the ELF's symbols), then `c`.
- COM1 is a TCP connection from Bochs to the runner on 127.0.0.1, bridged
  to the runner's stdin and stdout, so this program's stdio is the serial
  console exactly as QEMU's `-serial stdio` is; what comes in before the
  kernel is up is held from GRUB (kos.machine.handover), and with an entry
  the runner types its hotkey meanwhile.
- When the kernel reaches `debug_exit(code)`, the runner reads code from
  the stack, lets the UART finish sending (the debugger stopped the clock
  mid-line), stops Bochs and exits with (code << 1) | 1: the status QEMU's
  isa-debug-exit gives, 33 after `halt`, 35 after a fault.

Anything else that ends Bochs (a triple fault, a Bochs panic) ends the
runner with Bochs's own status and the tail of its log on stderr.
"""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

import pexpect
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from kos.machine.bochs.config import bochsrc
from kos.machine.handover import ENTRIES, HOTKEY_EVERY, Hangup, HeldInput, Terminal

PROMPT = re.compile(rb"<bochs:\d+> ")
# Bochs's last words before it quits: "Bochs is exiting with the following
# message:" and a line "[SIM   ] the reason".
EXITING = re.compile(rb"Bochs is exiting with the following message:\r?\n\[[^]]*\] ([^\r\n]*)")
STACK_WORD = re.compile(rb"STACK 0x[0-9a-f]+ \[0x([0-9a-f]+)\]")
EXIT_SYMBOL = "debug_exit"
CTRL_A = 0x01
ESCAPE_HELP = (b"\r\nC-a h    print this help\r\nC-a x    exit the emulator\r\n"
               b"C-a C-a  send C-a to the guest\r\n")
START_TIMEOUT = 30.0
# The UART sends a byte about every 87 us at 115200 baud; this much silence
# means the kernel's last line has left.
DRAIN_QUIET = 0.2


class Quit(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def symbol_address(elf: Path, name: str) -> int:
    with elf.open("rb") as f:
        for section in ELFFile(f).iter_sections():
            if isinstance(section, SymbolTableSection):
                for sym in section.get_symbol_by_name(name) or []:
                    return int(sym["st_value"])
    raise SystemExit(f"bochs: {elf} has no symbol {name!r}: is it a KOS kernel?")


class Runner:
    def __init__(self, image: Path, kernel: Path, memory: str, interactive: bool,
                 log: Path, entry: str | None = None) -> None:
        self.image = image
        self.exit_addr = symbol_address(kernel, EXIT_SYMBOL)
        self.memory = memory
        self.interactive = interactive
        self.log = log
        self.bochs: pexpect.spawn | None = None
        self.serial: socket.socket | None = None
        self.debugger = b""
        self.stdin_open = True
        self.escape = False
        # GRUB takes what reaches COM1 before the kernel is up (kos.machine.handover).
        self.gate = HeldInput()
        self.hotkey = ENTRIES[entry] if entry else b""

    # --- the debugger ---------------------------------------------------

    def _command(self, line: str, timeout: float = 10.0) -> bytes:
        """Type a debugger command; return what it printed before the next prompt."""
        assert self.bochs is not None
        self.bochs.send(line.encode() + b"\r")
        self.bochs.expect(PROMPT, timeout=timeout)
        before = self.bochs.before
        return before if isinstance(before, bytes) else b""

    def _start(self, server: socket.socket, workdir: Path) -> None:
        rc = workdir / "bochsrc"
        # A log left by an earlier run must not stand for this one's if
        # Bochs stops before it opens its own.
        self.log.unlink(missing_ok=True)
        rc.write_text(bochsrc(self.image, server.getsockname()[1], self.memory, self.log,
                              realtime=self.interactive))
        env = dict(os.environ)
        if env.get("TERM", "dumb") == "dumb":
            env["TERM"] = "xterm"       # the term display needs a curses terminal
        self.bochs = pexpect.spawn("bochs", ["-q", "-f", str(rc)], cwd=str(workdir), env=env,
                                   dimensions=(25, 80), timeout=START_TIMEOUT, echo=False)
        self.bochs.logfile_read = self.log.with_suffix(".debugger.log").open("wb")
        try:
            self.bochs.expect(PROMPT)
        except (pexpect.EOF, pexpect.TIMEOUT):
            self._bochs_failed("did not reach its debugger prompt")
        self._command(f"lb {self.exit_addr:#x}")
        self.bochs.send(b"c\r")
        server.settimeout(START_TIMEOUT)
        try:
            self.serial, _ = server.accept()
        except TimeoutError:
            self._bochs_failed("did not connect COM1")
        self.serial.setblocking(False)

    def _bochs_failed(self, what: str) -> None:
        assert self.bochs is not None
        if self.bochs.isalive():
            self.bochs.terminate(force=True)
        self.bochs.close()
        tail = self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""
        if tail.strip():
            sys.stderr.write(f"bochs {what}; the end of {self.log}:\n{tail}\n")
        else:
            # Bochs stopped before it opened its log (its configuration was
            # refused): the reason is in what it printed on its terminal.
            printed = self.bochs.before if isinstance(self.bochs.before, bytes) else b""
            why = EXITING.findall(printed)
            if why:
                sys.stderr.write(f"bochs {what}: {why[-1].decode(errors='replace').strip()}\n")
            else:
                sys.stderr.write(f"bochs {what}; it printed:\n{printed.decode(errors='replace')[-1500:]}\n")
        status = self.bochs.exitstatus
        raise Quit(status if status else 1)

    def _stopped(self) -> int:
        """Bochs is at its prompt again: at the breakpoint, or something else."""
        if b"Breakpoint 1," not in self.debugger:
            tail = self.debugger.decode(errors="replace")[-600:]
            sys.stderr.write(f"bochs stopped in its debugger, not at {EXIT_SYMBOL}:\n{tail}\n")
            self._quit()
            raise Quit(1)
        words = STACK_WORD.findall(self._command("print-stack 2"))
        if len(words) < 2:
            self._bochs_failed("printed no stack at debug_exit")
        code = int(words[1], 16) & 0xFF
        self._command("d 1")
        assert self.bochs is not None
        self.bochs.send(b"c\r")
        self._drain_serial()
        self._quit()
        return (code << 1) | 1

    def _drain_serial(self) -> None:
        assert self.serial is not None
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.serial], [], [], DRAIN_QUIET)
            if not ready:
                return
            data = self._recv()
            if not data:
                return
            self._write(data)

    def _quit(self) -> None:
        """Break into the debugger (SIGINT is its Ctrl-C) and leave Bochs."""
        assert self.bochs is not None
        if not self.bochs.isalive():
            return
        self.bochs.kill(signal.SIGINT)
        try:
            self.bochs.expect(PROMPT, timeout=5)
            self.bochs.send(b"q\r")
            self.bochs.expect(pexpect.EOF, timeout=5)
        except (pexpect.EOF, pexpect.TIMEOUT):
            pass
        if self.bochs.isalive():
            self.bochs.terminate(force=True)
        self.bochs.close()

    # --- the serial console ---------------------------------------------

    def _recv(self) -> bytes | None:
        """What COM1 sent: None if nothing yet, b"" once Bochs closed it."""
        assert self.serial is not None
        try:
            return self.serial.recv(65536)
        except BlockingIOError:
            return None
        except ConnectionError:
            return b""

    def _write(self, data: bytes) -> None:
        while data:
            try:
                data = data[os.write(1, data):]
            except BrokenPipeError:
                raise Quit(0) from None

    def _from_stdin(self) -> None:
        data = os.read(0, 4096)
        if not data:
            # Like QEMU: the machine keeps running; halt or a signal ends it.
            self.stdin_open = False
            return
        if self.interactive:
            data = self._escapes(data)
        self._send(self.gate.input(data))

    def _send(self, data: bytes) -> None:
        assert self.serial is not None
        if not data:
            return
        self.serial.setblocking(True)
        try:
            self.serial.sendall(data)
        finally:
            self.serial.setblocking(False)

    def _escapes(self, data: bytes) -> bytes:
        """QEMU's Ctrl-A escapes: x leaves, h helps, Ctrl-A sends Ctrl-A."""
        out = bytearray()
        for b in data:
            if self.escape:
                self.escape = False
                if b in (ord("x"), ord("X")):
                    self._quit()
                    raise Quit(0)
                if b in (ord("h"), ord("H")):
                    self._write(ESCAPE_HELP)
                elif b == CTRL_A:
                    out.append(CTRL_A)
            elif b == CTRL_A:
                self.escape = True
            else:
                out.append(b)
        return bytes(out)

    def run(self) -> int:
        with tempfile.TemporaryDirectory(prefix="kos-bochs-") as tmp, \
                socket.create_server(("127.0.0.1", 0)) as server:
            try:
                self._start(server, Path(tmp))
                return self._loop()
            except Quit as q:
                return q.status
            except Hangup as h:
                sys.stderr.write(f"bochs: terminating on signal {h.signum}\n")
                return 0
            finally:
                if self.bochs is not None and self.bochs.isalive():
                    self.bochs.terminate(force=True)
                if self.serial is not None:
                    self.serial.close()

    def _loop(self) -> int:
        assert self.bochs is not None and self.serial is not None
        while True:
            watch = [self.serial, self.bochs.child_fd, *([0] if self.stdin_open else [])]
            typing = bool(self.hotkey) and not self.gate.open
            ready, _, _ = select.select(watch, [], [], HOTKEY_EVERY if typing else None)
            if typing and not ready:
                self._send(self.hotkey)
            if self.serial in ready:
                data = self._recv()
                if data == b"":
                    self._bochs_failed("closed COM1")
                if data:
                    self._write(data)
                    self._send(self.gate.output(data))
            if self.bochs.child_fd in ready:
                try:
                    self.debugger += self.bochs.read_nonblocking(65536, timeout=0)
                except pexpect.TIMEOUT:
                    pass
                except pexpect.EOF:
                    self._bochs_failed("stopped")
                if PROMPT.search(self.debugger):
                    return self._stopped()
                self.debugger = self.debugger[-4096:]
            if 0 in ready:
                self._from_stdin()


def main(image: Path, kernel: Path, memory: str, interactive: bool, log: Path,
         entry: str | None = None) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    runner = Runner(image, kernel, memory, interactive, log, entry)
    with Terminal():
        return runner.run()
