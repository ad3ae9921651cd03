"""Boot: banner, multiboot memory information, the first prompt, idling."""

from __future__ import annotations

import re
import time

from kos.bench.boot import cpu_seconds
from kos.machine import Machine
from kos.machine.unicorn.loader import LOADER_NAME
from kos.memory import constants
from kos.memory.constants import HEAP_END, HEAP_SIZE, HEAP_START, MAX_PROCESS_STACKS, STACK_SIZE

# The boot loader's name each machine's Multiboot information gives.
LOADER = {"qemu": "qemu", "unicorn": LOADER_NAME.rstrip(b"\0").decode()}


def test_boot_banner_and_memory_map(machine_factory, emulator):
    m = machine_factory()
    m.start(wait_prompt=False)
    assert m.console is not None
    boot = m.console.wait_prompt(timeout=15)
    start, end = (constants.image().symbol(s) for s in ("__kernel_start", "__kernel_end"))
    assert f"KOS i386 kernel {start:#010x}-{end:#010x}" in boot
    assert f"multiboot: loaded by {LOADER[emulator]}\n" in boot
    lower, upper = map(int, re.search(r"mem_lower=(\d+) KiB mem_upper=(\d+) KiB", boot).groups())
    assert lower == 639
    assert 62 * 1024 < upper < 63 * 1024          # 64 MiB less the first MiB and a BIOS reserve
    regions = re.findall(r"\[mem 0x([0-9a-f]{16})-0x([0-9a-f]{16})\] (\w+)", boot)
    available = [(int(a, 16), int(b, 16)) for a, b, kind in regions if kind == "available"]
    assert (0, 0x9FBFF) in available
    assert any(a == 0x100000 and b > 0x3F00000 for a, b in available)
    assert "paging: identity map" in boot
    assert (f"memory: heap {HEAP_START:#010x}-{HEAP_END:#010x} ({HEAP_SIZE >> 10} KiB), "
            f"{MAX_PROCESS_STACKS} stacks of {STACK_SIZE >> 10} KiB") in boot


def test_memmap_command_repeats_the_boot_map(console):
    out = console.run("memmap")
    assert "mem_lower=639 KiB" in out
    assert "[mem 0x0000000000100000-" in out


def _uptime(console) -> tuple[int, int, int, int, int]:
    """seconds, hundredths, ticks, Hz and dropped input bytes of `uptime`."""
    out = console.run("uptime")
    m = re.search(r"uptime: (\d+)\.(\d\d) s \((\d+) ticks at (\d+) Hz\)\s+serial_rx_dropped: (\d+)", out)
    assert m, out
    secs, hundredths, ticks, hz, dropped = map(int, m.groups())
    return secs, hundredths, ticks, hz, dropped


def test_uptime_advances_with_the_timer(console):
    secs, hundredths, ticks, hz, dropped = _uptime(console)
    assert hz == 100
    assert (secs, hundredths) == divmod(ticks, hz)    # the seconds are the ticks, converted
    assert dropped == 0                               # typed commands lose no byte
    time.sleep(0.3)
    later = _uptime(console)[2]
    assert later >= ticks + 10                        # 100 Hz: 0.3 s is ~30 ticks


def test_idle_machine_halts_instead_of_spinning(machine_factory):
    """At the prompt the kernel halts until an interrupt: the emulator process
    must not burn a core. A polling idle loop uses ~100%."""
    machine: Machine = machine_factory(own_process=True)
    machine.start()
    assert machine.child is not None
    time.sleep(0.2)
    before = cpu_seconds(machine.child.pid)
    time.sleep(1.0)
    used = cpu_seconds(machine.child.pid) - before
    assert used < 0.25, f"idle machine used {used:.2f} s of CPU in 1 s"


def test_small_ram_clamps_the_heap_and_refuses_stacks_honestly(machine_factory):
    """With 32 MiB the layout's heap and stack region do not fit: the kernel
    says so, manages what exists, and refuses what does not."""
    m = machine_factory("32M")
    m.start(wait_prompt=False)
    assert m.console is not None
    boot = m.console.wait_prompt(timeout=15)
    ram_end = int(re.search(r"memory: RAM ends at (0x[0-9a-f]{8}): heap clamped", boot).group(1), 16)
    assert (31 << 20) <= ram_end < HEAP_END           # 32 MiB less a BIOS reserve
    assert f"stack: only 0 of {MAX_PROCESS_STACKS} stack slots are in RAM" in boot
    stats = m.console.kv("memstats")
    assert stats["total_heap"] == ram_end - HEAP_START
    assert "stack_alloc: pid 1: the stack region is beyond RAM" in m.console.run("stack alloc 1")
    big = m.console.run(f"kmalloc {stats['total_heap'] - 4096}")
    assert "out of memory" not in big                 # almost all of the clamped heap is usable
    assert "total_heap" in m.console.run("memstats")
