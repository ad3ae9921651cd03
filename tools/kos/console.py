"""Talking to a kernel's serial console through pexpect.

The console hides what the transport adds: the echo of what was typed, and
the carriage returns (QEMU's stdio pty turns the kernel's "\\r\\n" into
"\\r\\r\\n"). A timeout or an unexpected end says what was awaited, shows the
tail of the output and where the full log is.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
from pathlib import Path

import pexpect

PROMPT = "kos> "
# The prompt starts a line: after a newline, or after `clear` homed the cursor.
_PROMPT_RE = re.compile(rb"(?:\n|(?<=\x1b\[H))kos> ")
_KV_RE = re.compile(r"^\s*([A-Za-z_][\w.]*):\s+(\S.*?)\s*$")
# A wait searches only the newest this many bytes of output, so waiting
# through a megabyte of echo costs linear time (pexpect otherwise searches
# everything since the last match again after every read). What is waited
# for is a prompt or one line of text.
SEARCH_WINDOW = 4096


class ConsoleError(AssertionError):
    """The console did not show what was expected (timeout or the machine ended)."""


def normalise(raw: bytes) -> str:
    """Bytes from the serial port as text with plain "\\n" line ends."""
    return raw.decode("utf-8", errors="replace").replace("\r", "")


def parse_value(text: str) -> int | str:
    try:
        return int(text, 0)
    except ValueError:
        return text


def parse_kv(text: str) -> dict[str, int | str]:
    """Every "name: value" line of text as a dict; numbers become ints."""
    out: dict[str, int | str] = {}
    for line in text.splitlines():
        m = _KV_RE.match(line)
        if m:
            out[m.group(1)] = parse_value(m.group(2))
    return out


class Console:
    """A kernel's serial console: send lines, wait for patterns, run commands."""

    def __init__(self, child: pexpect.spawn, log_path: Path | None = None) -> None:
        self.child = child
        self.log_path = log_path
        self.default_timeout = 10.0

    def _fail(self, what: str, timeout: float | None, ended: bool) -> ConsoleError:
        buf = self.child.before if isinstance(self.child.before, bytes) else b""
        tail = normalise(buf)[-200:]
        why = "the machine ended" if ended else f"timed out after {timeout:g}s"
        return ConsoleError(
            f"{why} waiting for {what!r}\n--- last 200 characters ---\n{tail}\n"
            f"--- full log: {self.log_path or '(none)'}"
        )

    def expect(self, pattern: str | bytes | re.Pattern[bytes], timeout: float | None = None,
               what: str | None = None, window: int = SEARCH_WINDOW) -> bytes:
        """Wait for pattern (a regex matching within the newest `window`
        bytes); return everything before it. `what` names the pattern in
        failure messages (default: the regex)."""
        t = self.default_timeout if timeout is None else timeout
        pat = pattern.encode() if isinstance(pattern, str) else pattern
        name = what if what is not None else _show(pat)
        try:
            self.child.expect(pat, timeout=t, searchwindowsize=window)
        except pexpect.TIMEOUT:
            raise self._fail(name, t, ended=False) from None
        except pexpect.EOF:
            raise self._fail(name, t, ended=True) from None
        before = self.child.before
        return before if isinstance(before, bytes) else b""

    def expect_text(self, text: str, timeout: float | None = None) -> str:
        """Wait for a literal text; return the normalised output before it."""
        raw = text.encode()
        return normalise(self.expect(re.compile(re.escape(raw)), timeout, what=text,
                                     window=max(SEARCH_WINDOW, 2 * len(raw))))

    def wait_prompt(self, timeout: float | None = None) -> str:
        """Wait for the shell prompt; return the output before it."""
        return normalise(self.expect(_PROMPT_RE, timeout, what=PROMPT))

    def type_until(self, key: str, pattern: re.Pattern[bytes], timeout: float,
                   every: float = 0.05) -> bytes:
        """Press key every `every` seconds until pattern shows (a boot
        loader's menu key, typed from power-on as a user would hold it,
        until what the chosen entry prints first); return the output up to
        the end of the match."""
        for _ in range(max(1, int(timeout / every))):
            self.send(key)
            try:
                before = self.expect(pattern, timeout=every)
            except ConsoleError:
                continue
            after = self.child.after
            return before + (after if isinstance(after, bytes) else b"")
        raise self._fail(pattern.pattern.decode(errors="replace"), timeout, ended=False)

    def send(self, data: str | bytes) -> None:
        self.child.send(data.encode("latin-1") if isinstance(data, str) else data)

    def sendline(self, line: str) -> None:
        self.send(line + "\r")

    def run(self, command: str, timeout: float | None = None) -> str:
        """Type a command, wait for the next prompt, return its output without the echo."""
        self.sendline(command)
        out = self.wait_prompt(timeout)
        first, _, rest = out.partition("\n")
        if first.strip() != command.strip():
            raise ConsoleError(f"echo mismatch: typed {command!r}, saw {first!r}\n{out[-200:]}")
        return rest

    def kv(self, command: str, timeout: float | None = None) -> dict[str, int | str]:
        """Run a command and parse its "name: value" lines."""
        return parse_kv(self.run(command, timeout))

    def send_flowing(self, data: bytes, chunk: int = 1024, stall: float = 30.0) -> None:
        """Send a large input while reading the output it causes.

        A plain blocking send can deadlock: once the pty's input buffer is
        full we wait for the emulator, while the emulator waits for us to read
        its output. Here we write only when the pty has room and drain output
        whenever there is some. A line with no pty (the in-process
        machine's, kos.machine.unicorn.serial) queues everything at once and
        runs the guest only while output is awaited: no deadlock to avoid."""
        fd = self.child.child_fd
        if fd < 0:
            self.send(data)
            return
        view = memoryview(data)
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        try:
            while view:
                readable, writable, _ = select.select([fd], [fd], [], stall)
                if not readable and not writable:
                    raise self._fail(f"room to send {len(view)} more bytes", stall, ended=False)
                if readable:
                    self.drain()
                if writable:
                    try:
                        view = view[os.write(fd, view[:chunk]):]
                    except BlockingIOError:
                        pass
        finally:
            fcntl.fcntl(fd, fcntl.F_SETFL, flags)

    def drain(self) -> bytes:
        """Read whatever output is waiting, without blocking."""
        got = b""
        while True:
            try:
                chunk = self.child.read_nonblocking(65536, timeout=0)
            except (pexpect.TIMEOUT, pexpect.EOF):
                return got
            if not chunk:
                return got
            got += chunk

    def wait_exit(self, timeout: float | None = None) -> None:
        """Wait until the machine closes the console."""
        t = self.default_timeout if timeout is None else timeout
        try:
            self.child.expect(pexpect.EOF, timeout=t)
        except pexpect.TIMEOUT:
            raise self._fail("end of output", t, ended=False) from None

    def output_so_far(self) -> str:
        """Everything read since the last match (for failure messages)."""
        before = self.child.before
        return normalise(before if isinstance(before, bytes) else b"")


def _show(pat: bytes | re.Pattern[bytes]) -> str:
    raw = pat.pattern if isinstance(pat, re.Pattern) else pat
    return raw.decode("latin-1")
