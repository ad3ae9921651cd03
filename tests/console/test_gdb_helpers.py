"""The gdb helpers (tools/kos/gdb/kos.py) against the shell on the same machine:
QEMU started with -S waits for gdb; a first batch gdb lets it run, the shell
builds some allocator state and prints it, a second batch gdb stops the
machine and its kos-* commands must print the same."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from collections.abc import Iterator

import pexpect
import pytest

from kos import paths
from kos.console import Console, parse_kv
from kos.machine import qemu_available, qemu_command

SCRIPT = paths.ROOT / "tools" / "kos" / "gdb" / "kos.py"

pytestmark = [
    pytest.mark.qemu,
    pytest.mark.skipif(not qemu_available(), reason="qemu-system-i386 is not installed "
                       "(apt-get install qemu-system-x86)"),
    pytest.mark.skipif(shutil.which("gdb") is None, reason="gdb is not installed (apt-get install gdb)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Debugged:
    def __init__(self, kernel, port: int, console: Console) -> None:
        self.kernel = kernel
        self.port = port
        self.console = console

    def gdb(self, *commands: str) -> str:
        """One batch gdb session: attach (the machine stops), run commands, detach."""
        args = ["gdb", "-batch", "-nx", "-x", str(SCRIPT), "-ex", f"target remote 127.0.0.1:{self.port}"]
        for c in (*commands, "detach"):
            args += ["-ex", c]
        res = subprocess.run([*args, str(self.kernel)], capture_output=True, text=True, timeout=60)
        assert res.returncode == 0 and not res.stderr.strip(), res.stdout + res.stderr
        return res.stdout


@pytest.fixture
def debugged(kernel, request) -> Iterator[Debugged]:
    port = _free_port()
    cmd = [*qemu_command(kernel, initrd=paths.INITRD), "-gdb", f"tcp:127.0.0.1:{port}", "-S"]
    log_path = paths.LOGS / "gdb-helpers.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        child = pexpect.spawn(cmd[0], cmd[1:], timeout=15, echo=False)
        child.logfile_read = log
        child.delaybeforesend = None
        d = Debugged(kernel, port, Console(child, log_path))
        try:
            out = d.gdb("info registers eip")
            assert "0xfff0" in out               # held at the reset vector by -S
            d.console.wait_prompt(15)            # detaching let it boot
            yield d
        finally:
            child.close(force=True)
    if not getattr(request.node, "rep_call", None) or request.node.rep_call.passed:
        log_path.unlink(missing_ok=True)


def _after(out: str, marker: str) -> str:
    return out[out.index(marker):]


def test_gdb_commands_print_what_the_shell_prints(debugged):
    c = debugged.console
    at_start = c.kv("memstats")
    kept = [c.kv(f"kmalloc {n}")["kmalloc"] for n in (24, 100, 5000, 70000)]
    c.run(f"kfree {kept[1]:#x}")
    big = c.kv("slab create big 2048")["id"]
    per_slab = c.kv(f"slab info {big}")["objs_per_slab"]
    for _ in range(per_slab + 1):                 # one full slab, one partial
        c.run(f"slab alloc {big}")
    small = c.kv("slab create small 48")["id"]
    c.run(f"slab alloc {small}")
    c.run("buddy alloc 3")
    c.run("buddy alloc 0")

    shell_buddy = c.run("buddyinfo")
    shell_slab = c.run("slabinfo")
    memstats = c.kv("memstats")

    out = debugged.gdb("kos-heap", "kos-buddyinfo", "kos-slabinfo")
    heap = parse_kv(out[:out.index("Node 0")])
    assert heap == memstats                      # every line memstats prints, and only those
    assert heap["num_allocations"] == at_start["num_allocations"] + 3
    assert heap["frees"] == at_start["frees"] + 1

    gdb_buddy = out[out.index("Node 0"):out.index("slabinfo - version")]
    assert gdb_buddy.split() == shell_buddy.split()
    assert re.search(r"zone\s+Normal", gdb_buddy)

    gdb_slab = _after(out, "slabinfo - version").split("[Inferior")[0]
    assert gdb_slab.split() == shell_slab.split()
    rows = {line.split()[1]: line.split() for line in gdb_slab.splitlines() if line[:1].isdigit()}
    assert rows["big"][2:4] == [str(per_slab + 1), str(2 * per_slab)]    # active, total objects
    assert rows["small"][2] == "1"

    # The machine goes on after gdb leaves, and gdb sees the change it makes.
    c.run(f"kfree {kept[0]:#x}")
    again = parse_kv(debugged.gdb("kos-heap"))
    assert again["frees"] == at_start["frees"] + 2
    assert again["num_allocations"] == at_start["num_allocations"] + 2


def test_gdb_ps_and_maps_print_what_the_shell_prints(debugged):
    c = debugged.console
    started = c.run("run /bin/sleeper 300 1 &")
    pid = int(re.search(r"run: pid (\d+) in the background", started).group(1))
    c.expect_text(f"sleeper {pid}: 0")                  # it has printed and gone to sleep
    c.run("")                                           # a fresh prompt after its line
    c.run("mmap 0 8192 rw private,anonymous")           # the shell's own map has something in it
    shell_ps = c.run("ps")
    shell_maps = c.run("maps")
    child_maps = c.run(f"maps {pid}")

    out = debugged.gdb("kos-ps", "echo ==maps\\n", "kos-maps", f"echo =={pid}\\n", f"kos-maps {pid}")
    gdb_ps, rest = _after(out, "  PID  PPID").split("==maps\n")
    gdb_maps, gdb_child = rest.split(f"=={pid}\n")
    gdb_child = gdb_child.split("[Inferior")[0]
    def table(text):
        lines = text.strip().splitlines()
        return lines[0].split(), {line.split()[0]: line.split() for line in lines[1:]}

    (gdb_head, gdb_rows), (shell_head, shell_rows) = table(gdb_ps), table(shell_ps)
    assert gdb_head == shell_head and gdb_rows.keys() == shell_rows.keys()
    # The shell ran while it printed ps; stopped by gdb, it waits for a line.
    assert shell_rows["1"][2] == "R" and gdb_rows["1"][2] == "S"
    shell_rows["1"][2] = "S"
    assert gdb_rows == shell_rows
    assert gdb_rows[str(pid)][2:4] == ["S", "sleeper"]       # state and name
    assert gdb_maps.split() == shell_maps.split() and gdb_maps.strip()
    assert gdb_child.split() == child_maps.split()
    # The program's text, mapped from its file, and its stack.
    assert "r-xp" in gdb_child and "/bin/sleeper" in gdb_child and "[stack]" in gdb_child

    refused = subprocess.run(
        ["gdb", "-batch", "-nx", "-x", str(SCRIPT), "-ex", f"target remote 127.0.0.1:{debugged.port}",
         "-ex", "kos-maps 999", "-ex", "detach", str(debugged.kernel)],
        capture_output=True, text=True, timeout=60)
    assert "kos-maps: no such process: 999" in refused.stderr
