"""The README's way in: `invoke run` boots either emulator and exits with the
machine's status, input typed ahead of the boot is kept; `invoke debug`
drives a real QEMU."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pexpect
import pytest

from kos import paths
from kos.machine import EXIT_FAILURE, EXIT_SUCCESS, qemu_available

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
        child.expect(r"run: qemu-system-i386 -kernel \S+kernel.elf -m 64M")
        child.expect("kos> ")
        child.send("halt\r")
        child.expect("exit status 33")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


EMULATORS = [pytest.param("qemu", marks=[pytest.mark.qemu, needs_qemu]),
             pytest.param("unicorn", marks=pytest.mark.unicorn)]


@pytest.mark.parametrize("emulator", EMULATORS)
@pytest.mark.parametrize("command,status", [("halt", EXIT_SUCCESS), ("crash ud", EXIT_FAILURE)],
                         ids=["halt", "crash"])
def test_invoke_run_exits_with_the_machines_status(kernel, emulator: str, command: str, status: int):
    child = _invoke("run", "--emulator", emulator)
    try:
        child.expect("kos> ")
        child.send(command + "\r")
        child.expect(f"exit status {status}")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == status


@pytest.mark.unicorn
def test_commands_piped_into_run_before_boot_all_run(kernel):
    """`printf ... | ./kos run`: the input reaches the emulator's terminal
    long before the guest's UART is ready; every command still runs."""
    res = subprocess.run([sys.executable, "-m", "invoke", "run", "--emulator", "unicorn"], cwd=paths.ROOT,
                         input=b"help\nmemstats\nkmalloc 64\nhalt\n", capture_output=True, timeout=60)
    out = res.stdout.decode(errors="replace").replace("\r", "")
    assert res.returncode == EXIT_SUCCESS, out[-2000:] + res.stderr.decode()
    for command, output in [("help", "commands:"), ("memstats", "num_allocations:"),
                            ("kmalloc 64", "kmalloc: 0x"), ("halt", "exit status 33")]:
        assert f"kos> {command}\n" in out, f"{command!r} was not echoed by the shell"
        assert output in out.partition(f"kos> {command}\n")[2]


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
