"""Boot and idle benchmark: seconds from process start to the first prompt,
and the CPU an idle machine uses at its prompt."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from kos import paths
from kos.machine import make_machine


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(emulator: str, kernel: Path = paths.KERNEL_ELF, boots: int = 5,
            idle_seconds: float = 3.0) -> dict[str, float]:
    """Boot `boots` times; the last boot also idles for idle_seconds."""
    times = []
    idle_pct = 0.0
    for i in range(boots):
        m = make_machine(emulator, kernel, log_path=paths.LOGS / f"bench-boot-{emulator}.log")
        try:
            m.start(timeout=30)
            assert m.boot_seconds is not None and m.child is not None
            times.append(m.boot_seconds)
            if i == boots - 1:
                time.sleep(0.5)
                before = cpu_seconds(m.child.pid)
                time.sleep(idle_seconds)
                idle_pct = 100.0 * (cpu_seconds(m.child.pid) - before) / idle_seconds
        finally:
            m.stop()
    return {
        "boot_seconds_median": statistics.median(times),
        "boot_seconds_max": max(times),
        "idle_cpu_percent": idle_pct,
    }
