"""A 5 GiB machine over its serial port, on both machines: the boot log's
zones count the RAM above 4 GiB as HighMem, the buddy allocator hands out a
frame above 4 GiB that the shell names and frees, and a user mapping's
bytes survive through its HighMem frames. One boot per machine: 5 GiB
boots are the slow ones."""

from __future__ import annotations

import re
from collections.abc import Callable

from mm_console import ZONES, BootLayout

from kos.machine import Machine

FOUR_GIB = 1 << 32
PAGE = 4096
# 896 MiB .. 3 GiB less SeaBIOS's top 128 KiB, and 4 .. 6 GiB.
HIGHMEM_FRAMES = ((0xC0000000 - 0x20000 - 0x38000000) + (2 << 30)) // PAGE


def test_a_5_gib_machine_uses_its_ram_above_4_gib(machine_factory: Callable[..., Machine]):
    m = machine_factory("5G")
    console = m.start(timeout=60)
    log = console.output_so_far()
    assert "[mem 0x0000000100000000-0x000000017fffffff] available" in log
    assert re.search(rf"buddy: zone HighMem {HIGHMEM_FRAMES} frames", log), log
    assert "buddy: managed 0x100000000-0x180000000: 524288 frames" in log
    expect = BootLayout.parse(log).zone_frames()
    info = console.kv("meminfo")
    assert expect["highmem"] == HIGHMEM_FRAMES
    for z in ZONES:
        assert info[f"{z}_frames"] == info[f"{z}_free_frames"] == expect[z], z

    out = console.kv("buddy alloc 10 highmem only")
    addr = out["addr"]
    assert isinstance(addr, int)
    assert addr >= FOUR_GIB and out["zone"] == "HighMem"
    info = console.kv(f"page info {addr:#x}")
    assert info["physical_addr"] == addr
    assert info["virtual_addr"] == 0 and info["state"] == "allocated"
    assert console.kv(f"buddy free {addr:#x} 10")["result"] == 0
    assert console.kv(f"page info {addr:#x}")["state"] == "free"

    before = int(console.kv("meminfo")["highmem_free_frames"])
    assert console.run("mmap 0x40000000 64K rw private,anonymous,populate") == "mmap: 0x40000000"
    assert int(console.kv("meminfo")["highmem_free_frames"]) == before - 16
    for page in range(16):
        assert console.run(f"poke {0x40000000 + page * PAGE + page:#x} {0xA0 + page:#x}") == ""
    for page in range(16):
        dump = console.run(f"peek {0x40000000 + page * PAGE + page:#x} 1")
        assert dump.endswith(f": {0xA0 + page:02x}"), dump
    assert console.run("munmap 0x40000000 64K") == "munmap: ok"
    assert int(console.kv("meminfo")["highmem_free_frames"]) == before
    # A walk of 1.3 million frames: seconds under coverage's block hook.
    assert console.run("buddycheck", timeout=60) == "buddycheck: 0 violations"
