"""Direct-call benchmark: how many kernel functions a second the in-process
unicorn kernel runs (wall time, so this is a measurement, never a test),
and how long an in-process boot to the prompt takes.

    python -c "from kos.bench import calls; print(calls.report(calls.measure()))"
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from kos import paths


def _rate(fn: Callable[[], object], calls_per_round: int, seconds: float) -> float:
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(1000):
            fn()
        n += 1000
    return n * calls_per_round / (time.perf_counter() - start)


def measure(kernel: Path = paths.KERNEL_ELF, seconds: float = 1.0) -> dict[str, float]:
    from kos.machine.unicorn.kernel import UnicornKernel

    t0 = time.perf_counter()
    k = UnicornKernel(kernel)
    t1 = time.perf_counter()
    k.boot()
    t2 = time.perf_counter()
    call = k.call

    def pair() -> None:
        call("kfree", call("kmalloc", 64))

    try:
        return {
            "engine_setup_seconds": t1 - t0,
            "boot_to_prompt_seconds": t2 - t1,
            "pit_ticks_calls_per_second": _rate(lambda: call("pit_ticks"), 1, seconds),
            "kmalloc_kfree_calls_per_second": _rate(pair, 2, seconds),
            "kmalloc_instructions": k.call_counted("kmalloc", 64)[1],
        }
    finally:
        k.close()


def report(results: dict[str, float]) -> str:
    return "\n".join(f"{name}: {value:,.3f}" if isinstance(value, float) else f"{name}: {value}"
                     for name, value in results.items())
