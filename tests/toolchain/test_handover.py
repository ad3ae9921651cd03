"""kos.machine.handover's gate: what is typed before the kernel's first line
is held (GRUB would take it) and sent once, in order, when that line shows
or GRUB asks for a key; Ctrl-A pairs, the emulator's escapes, go at once.
(The boots through it are in tests/console/test_boot_media.py.)"""

from __future__ import annotations

import pytest

from kos.machine.handover import GRUB_ASKS, KERNEL_UP, HeldInput


def test_input_waits_for_the_kernels_first_line_even_split_across_reads():
    gate = HeldInput()
    assert gate.input(b"meminfo\r") == b""
    assert gate.output(b"\x1b[H\x1b[J  Booting `KOS'\r\n") == b""
    assert gate.input(b"halt\r") == b""
    half = len(KERNEL_UP) // 2
    assert gate.output(b"\r\n" + KERNEL_UP[:half]) == b""
    assert gate.output(KERNEL_UP[half:] + b" 0x00100000") == b"meminfo\rhalt\r"
    assert gate.input(b"ps\r") == b"ps\r"                  # open from then on
    assert gate.output(KERNEL_UP) == b""                   # and sent only once


@pytest.mark.parametrize("ask", GRUB_ASKS)
def test_grub_asking_for_a_key_gets_what_was_typed(ask: bytes):
    gate = HeldInput()
    gate.input(b"x")
    assert gate.output(b"error: file `/boot/kernel.elf' not found.\r\n" + ask) == b"x"


def test_escapes_go_through_at_once_only_when_they_are_the_emulators():
    gate = HeldInput(escapes=True)
    assert gate.input(b"ab\x01xcd\x01") == b"\x01x"
    assert gate.input(b"c") == b"\x01c"
    assert gate.output(KERNEL_UP) == b"abcd"
    plain = HeldInput()
    assert plain.input(b"\x01x") == b""
    assert plain.output(KERNEL_UP) == b"\x01x"
