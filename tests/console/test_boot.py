"""Boot: banner, multiboot memory information, the first prompt, idling."""

from __future__ import annotations

import re
import time

from kos.bench.boot import cpu_seconds
from kos.machine import Machine


def test_boot_banner_and_memory_map(machine_factory):
    m = machine_factory()
    m.start(wait_prompt=False)
    assert m.console is not None
    boot = m.console.wait_prompt(timeout=15)
    assert re.search(r"KOS i386 kernel 0x00100000-0x001[0-9a-f]{5}", boot)
    lower, upper = map(int, re.search(r"mem_lower=(\d+) KiB mem_upper=(\d+) KiB", boot).groups())
    assert lower == 639
    assert 62 * 1024 < upper < 63 * 1024          # 64 MiB less the first MiB and a BIOS reserve
    regions = re.findall(r"\[mem 0x([0-9a-f]{16})-0x([0-9a-f]{16})\] (\w+)", boot)
    available = [(int(a, 16), int(b, 16)) for a, b, kind in regions if kind == "available"]
    assert (0, 0x9FBFF) in available
    assert any(a == 0x100000 and b > 0x3F00000 for a, b in available)
    assert "paging: identity map" in boot
    assert "memory: heap 0x00200000-0x02000000 (30720 KiB), 32 stacks of 16 KiB" in boot


def test_memmap_command_repeats_the_boot_map(console):
    out = console.run("memmap")
    assert "mem_lower=639 KiB" in out
    assert "[mem 0x0000000000100000-" in out


def test_uptime_advances_with_the_timer(console):
    first = console.kv("uptime")
    time.sleep(0.3)
    second = console.kv("uptime")
    t0 = int(re.search(r"\((\d+) ticks", console.run("uptime")).group(1))
    assert isinstance(first["serial_rx_dropped"], int)
    assert first != second or t0 > 0
    ticks = [int(re.search(r"\((\d+) ticks", console.run("uptime")).group(1)) for _ in range(2)]
    time.sleep(0.3)
    later = int(re.search(r"\((\d+) ticks", console.run("uptime")).group(1))
    assert later >= ticks[-1] + 10                 # 100 Hz: 0.3 s is ~30 ticks


def test_idle_machine_halts_instead_of_spinning(machine: Machine):
    """At the prompt the kernel halts until an interrupt: the emulator process
    must not burn a core. A polling idle loop uses ~100%."""
    assert machine.child is not None
    time.sleep(0.5)
    before = cpu_seconds(machine.child.pid)
    time.sleep(2.0)
    used = cpu_seconds(machine.child.pid) - before
    assert used < 0.5, f"idle machine used {used:.2f} s of CPU in 2 s"


def test_small_ram_clamps_the_heap_and_refuses_stacks_honestly(machine_factory):
    """With 32 MiB the layout's heap and stack region do not fit: the kernel
    says so, manages what exists, and refuses what does not."""
    m = machine_factory("32M")
    m.start(wait_prompt=False)
    assert m.console is not None
    boot = m.console.wait_prompt(timeout=15)
    ram_end = int(re.search(r"memory: RAM ends at (0x[0-9a-f]{8}): heap clamped", boot).group(1), 16)
    assert 0x1F00000 <= ram_end < 0x2000000
    assert "stack: only 0 of 32 stack slots are in RAM" in boot
    stats = m.console.kv("memstats")
    assert stats["total_heap"] == ram_end - 0x200000
    assert "stack_alloc: pid 1: the stack region is beyond RAM" in m.console.run("stack alloc 1")
    big = m.console.run(f"kmalloc {stats['total_heap'] - 4096}")
    assert "out of memory" not in big                 # almost all of the clamped heap is usable
    assert "total_heap" in m.console.run("memstats")
