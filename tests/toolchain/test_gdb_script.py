"""The gdb commands (tools/kos/gdb/kos.py) say what is wrong with how they
were called, without a kernel to attach to: tests/console/test_gdb_helpers.py
checks what they print on a live one."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from kos import paths

SCRIPT = paths.ROOT / "tools" / "kos" / "gdb" / "kos.py"

pytestmark = pytest.mark.skipif(shutil.which("gdb") is None,
                                reason="gdb is not installed (apt-get install gdb)")


def _gdb(kernel, *commands: str) -> str:
    args = ["gdb", "-batch", "-nx", "-x", str(SCRIPT)]
    for c in commands:
        args += ["-ex", c]
    res = subprocess.run([*args, str(kernel)], capture_output=True, text=True, timeout=30)
    return res.stdout + res.stderr


def test_kos_heap_without_a_running_kernel_says_to_attach(kernel):
    out = _gdb(kernel, "kos-heap")
    assert "kos-heap: calls kernel functions, so it needs a running kernel: target remote :1234" in out
    assert "there is no heap" not in out


@pytest.mark.parametrize("command", ["kos-heap", "kos-buddyinfo", "kos-slabinfo", "kos-ps"])
def test_a_command_without_arguments_refuses_one(kernel, command: str):
    out = _gdb(kernel, f"{command} 7")
    assert out.strip() == f"{command}: takes no argument, not '7'"


def test_kos_maps_refuses_what_is_not_a_pid(kernel):
    assert _gdb(kernel, "kos-maps 1 2").strip() == "kos-maps: '1 2' is not a pid"
