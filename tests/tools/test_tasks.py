"""The README's way in: `invoke run` and `invoke debug` drive a real QEMU."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pexpect
import pytest

from kos import paths
from kos.machine import qemu_available

needs_qemu = pytest.mark.skipif(not qemu_available(),
                                reason="qemu-system-i386 not installed (apt-get install qemu-system-x86)")


def _invoke(*args: str) -> pexpect.spawn:
    return pexpect.spawn(sys.executable, ["-m", "invoke", *args], cwd=str(paths.ROOT), timeout=30,
                         dimensions=(24, 200))


@pytest.mark.qemu
@needs_qemu
def test_invoke_run_boots_qemu_to_the_shell_and_halts(kernel):
    child = _invoke("run", "--emulator", "qemu")
    try:
        child.expect(r"run: qemu-system-i386 -kernel \S+kernel.elf -initrd \S+initrd.tar -m 64M")
        child.expect("kos> ")
        child.send("halt\r")
        child.expect("exit status 33")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


@pytest.mark.qemu
@needs_qemu
@pytest.mark.skipif(shutil.which("gdb") is None, reason="gdb not installed (apt-get install gdb)")
def test_invoke_debug_waits_for_gdb_and_stops_at_kmain(kernel):
    child = _invoke("debug")
    try:
        child.expect(r"gdb -ex 'target remote :1234' -ex 'break kmain' (\S+)")
        gdb = subprocess.run(
            ["gdb", "-batch", "-nx", "-ex", "target remote :1234", "-ex", "break kmain",
             "-ex", "continue", "-ex", "info registers eip", "-ex", "kill", str(kernel)],
            capture_output=True, text=True, timeout=30)
        assert "Breakpoint 1, kmain" in gdb.stdout, gdb.stdout + gdb.stderr
    finally:
        child.close(force=True)
