"""Generate the benchmark traces: ``python -m kos.bench.gen [OUTDIR] [--seed N]``."""

from __future__ import annotations

import argparse
import json
import random
import zlib
from pathlib import Path

from kos.bench.trace import Trace
from kos.bench.workloads import WORKLOADS

DEFAULT_SEED = 2024


def generate(outdir: Path, seed: int = DEFAULT_SEED) -> list[dict[str, object]]:
    """Write every workload's trace into outdir; return one summary per trace.

    Each workload gets its own random source derived from seed and its name,
    so adding a workload does not change the others.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    summary = []
    for name in WORKLOADS:
        trace = _make(name, seed)
        path = outdir / f"{name}.rep"
        trace.write(path)
        summary.append({
            "name": name,
            "path": str(path),
            "realistic": trace.realistic,
            "description": trace.description,
            "ops": len(trace.ops),
            "peak_bytes": trace.peak_bytes,
        })
    (outdir / "traces.json").write_text(json.dumps(summary, indent=1))
    return summary


def generate_one(outdir: Path, name: str, seed: int = DEFAULT_SEED) -> Path:
    """Write one workload's trace into outdir, the same as generate() writes
    it (a tenth of the time of all of them); return its path."""
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / f"{name}.rep"
    _make(name, seed).write(path)
    return path


def _make(name: str, seed: int) -> Trace:
    return WORKLOADS[name](random.Random(seed * 1_000_003 + zlib.crc32(name.encode())))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("outdir", nargs="?", default="build/bench/traces", type=Path)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args()
    for t in generate(args.outdir, args.seed):
        kind = "realistic" if t["realistic"] else "adversarial"
        print(f"{t['name']:<10} {kind:<11} {t['ops']:>7} ops  peak {t['peak_bytes']:>9} B")


if __name__ == "__main__":
    main()
