"""The resident machines the console tests share (tests/conftest.py's
`machine`): every start() gives the kernel back at its first prompt with
nothing of what the test before it did: heap and memory, a half-typed line,
input the UART still held and input not read yet, the timer's count, a
halted machine."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kos.console import Console
from kos.machine import EXIT_SUCCESS
from kos.machine.qemu_resident import ResidentQemu
from kos.machine.unicorn.resident import ResidentUnicorn


@pytest.fixture
def resident(kernel: Path, emulator: str, tmp_path: Path) -> Iterator[ResidentQemu | ResidentUnicorn]:
    kind = ResidentQemu if emulator == "qemu" else ResidentUnicorn
    m = kind(kernel, log_path=tmp_path / "resident.log")
    yield m
    m.close()


def _ticks(console: Console) -> int:
    m = re.search(r"\((\d+) ticks at", console.run("uptime"))
    assert m
    return int(m.group(1))


def _byte(console: Console, addr: str) -> int:
    out = console.run(f"peek {addr} 1")
    m = re.search(r": ([0-9a-f]{2})", out)
    assert m, out
    return int(m.group(1), 16)


def test_start_puts_memory_input_and_time_back(resident: ResidentQemu | ResidentUnicorn):
    c = resident.start()
    first = c.run("kmalloc 4096")
    block = re.search(r"kmalloc: (0x[0-9a-f]+)", first)
    assert block, first
    addr = block.group(1)
    original = _byte(c, addr)
    c.run(f"poke {addr} {original ^ 0xff:#x}")
    assert _byte(c, addr) == original ^ 0xff
    time.sleep(0.3)
    ticks_before = _ticks(c)
    assert ticks_before >= 30
    # A line half typed, and more than the UART's FIFO holds behind it.
    c.send("kmalloc 64" + "x" * 100)
    c.expect_text("kmalloc 64" + "x" * 100)
    if isinstance(resident, ResidentUnicorn):
        assert resident.session is not None
        resident.session.send(b"y" * 100)            # queued at the UART, not yet read
    # And typed just before the test ends: QEMU has not read most of it yet.
    c.send("z" * 2000)
    resident.stop()

    c = resident.start()
    assert resident.boots == 1                       # put back, not booted again
    # The echo of the next command is exactly that command: no half line before it.
    again = c.run("kmalloc 4096")
    assert again == first                            # the heap is as at the first prompt
    assert _byte(c, addr) == original
    assert _ticks(c) < ticks_before                  # time goes on from the first prompt's
    resident.stop()


def test_start_after_halt_gives_a_running_kernel(resident: ResidentQemu | ResidentUnicorn):
    c = resident.start()
    c.sendline("halt")
    assert resident.wait() == EXIT_SUCCESS
    resident.stop()
    c = resident.start()
    assert resident.exit_status is None
    assert "commands:" in c.run("help")
    assert "total_heap: 31457280" in c.run("memstats")
