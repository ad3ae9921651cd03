"""The W^X policy and the vmalloc window from the shell: `wx`, the mapping
commands it refuses, and `vmalloc` / `vmallocinfo` with their errors.
Each test drives the real kernel over its serial port, on both machines."""

from __future__ import annotations

import re

from kos.console import Console
from kos.memory.constants import VMALLOC_END, VMALLOC_START

PAGE = 4096


def mapped(console: Console, command: str) -> int:
    out = console.run(command)
    m = re.fullmatch(r"mmap: (0x[0-9a-f]{8})", out)
    assert m, out
    return int(m.group(1), 16)


def test_wx_refuses_writable_and_executable(console: Console):
    assert console.kv("wx") == {"wx": "off", "policy_refusals": 0}
    rwx = mapped(console, "mmap 0x50000000 4096 rwx private,anonymous")
    assert console.kv("wx on") == {"wx": "on", "policy_refusals": 0}
    assert console.run("mmap 0x50100000 4096 rwx private,anonymous") == (
        "mmap: error EACCES (-13): W^X: a mapping may not be writable and executable")
    data = mapped(console, "mmap 0x50200000 4096 rw private,anonymous")
    assert console.run(f"mprotect {data:#x} 4096 rx") == (
        "mprotect: error EACCES (-13): W^X: a page that was writable never becomes executable")
    assert console.run(f"mprotect {data:#x} 4096 r") == "mprotect: ok"
    assert "EACCES" in console.run(f"mprotect {data:#x} 4096 x")
    code = mapped(console, "mmap 0x50300000 4096 r private,anonymous")
    assert console.run(f"mprotect {code:#x} 4096 rx") == "mprotect: ok"
    assert console.kv("wx")["policy_refusals"] == 3
    maps = console.run("maps")
    assert "50000000-50001000 rwxp" in maps          # what existed before stays
    assert console.kv("wx off")["wx"] == "off"
    assert console.run(f"mprotect {data:#x} 4096 rwx") == "mprotect: ok"
    assert mapped(console, "mmap 0x50400000 4096 rwx private,anonymous") == 0x50400000
    assert rwx == 0x50000000


def test_wx_rejects_unknown_words(console: Console):
    out = console.run("wx maybe")
    assert out.startswith("usage: wx [PID] [on|off]")
    assert console.kv("wx")["wx"] == "off"


def test_wx_of_another_process(console: Console):
    out = console.run("run /bin/sleeper 30 1 &")
    m = re.search(r"run: pid (\d+) in the background", out)
    assert m, out
    pid = int(m.group(1))
    console.expect_text(f"sleeper {pid}: 0")          # its one line, then it sleeps
    assert console.run("") == ""
    assert console.kv(f"wx {pid} on")["wx"] == "on"
    assert console.kv(f"wx {pid}")["wx"] == "on"
    assert console.kv("wx")["wx"] == "off"               # the shell's own is its own
    assert console.run("wx 999 on") == "wx: error ESRCH (-3): no such process"
    assert console.run(f"kill {pid} 9") == f"kill: pid {pid} sent SIGKILL"


def test_a_program_run_under_w_x_keeps_it_and_so_do_its_forks(console: Console):
    """A spawn is a fork and an exec: a program the shell runs under W^X
    runs under it too (after the loader's own writes), and so does a child
    it forks; `wx off` for the shell afterwards leaves theirs on."""
    assert console.kv("wx on")["wx"] == "on"
    out = console.run("run /bin/sleeper 30 1 1 &")
    m = re.search(r"run: pid (\d+) in the background", out)
    assert m, out
    pid = int(m.group(1))
    console.expect_text(f"sleeper {pid}: 0")
    console.expect_text(f"sleeper {pid + 1}: 0")         # its child, forked first
    assert console.run("") == ""
    assert console.kv("wx off")["wx"] == "off"
    assert console.kv(f"wx {pid}")["wx"] == "on"
    assert console.kv(f"wx {pid + 1}")["wx"] == "on"
    assert console.run(f"kill -{pid} 9") == f"kill: group {pid} sent SIGKILL"


def test_vmalloc_from_the_shell(console: Console):
    assert console.run("vmallocinfo") == ""
    free0 = int(console.kv("meminfo")["free_frames"])
    out = console.run("vmalloc alloc 5000")
    m = re.fullmatch(r"addr: (0x[0-9a-f]{8})", out)
    assert m, out
    addr = int(m.group(1), 16)
    assert VMALLOC_START <= addr < VMALLOC_END
    # Two frames and the window's first page table.
    assert int(console.kv("meminfo")["free_frames"]) == free0 - 3
    info = console.run("vmallocinfo").splitlines()
    assert len(info) == 1
    assert re.fullmatch(rf"0x{addr:08x}-0x{addr + 3 * PAGE:08x}\s+{3 * PAGE} 0x[0-9a-f]{{8}} pages=2 vmalloc",
                        info[0]), info
    stats = console.kv("vmalloc stats")
    assert (stats["areas"], stats["pages"], stats["requested"]) == (1, 2, 5000)
    assert console.run("vmalloc check") == "vmalloc_check: 0 violations"
    assert console.run(f"vmalloc free {addr + PAGE:#x}") == (
        "vmalloc: error EINVAL (-22): an address inside an area, not its start")
    assert console.run(f"vmalloc free {addr:#x}") == ""
    assert console.run(f"vmalloc free {addr:#x}") == (
        "vmalloc: error EINVAL (-22): no area starts there (never allocated, or already freed)")
    assert int(console.kv("meminfo")["free_frames"]) == free0 - 1
    assert console.run("vmallocinfo") == ""


def test_vmalloc_refusals_from_the_shell(console: Console):
    assert console.run("vmalloc alloc 0") == "vmalloc: error EINVAL (-22): the size is 0"
    assert console.run("vmalloc alloc 4096 3000") == (
        "vmalloc: error EINVAL (-22): the alignment is not a power of two")
    assert console.run("vmalloc alloc 200M") == (
        "vmalloc: error ENOMEM (-12): larger than the vmalloc window")
    assert console.run("vmalloc alloc 100M") == "vmalloc: error ENOMEM (-12): out of page frames"
    out = console.run("vmalloc alloc 2M 4M")
    addr = int(out.removeprefix("addr: "), 16)
    assert addr % (4 << 20) == 0
    assert console.kv("vmalloc stats")["failed_allocs"] == 4
    assert console.run(f"vmalloc free {addr:#x}") == ""
    assert console.run("vmalloc check") == "vmalloc_check: 0 violations"
