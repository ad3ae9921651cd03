"""``python -m kos.bench [OUT_JSON] [PART ...]``: run the benchmark (all parts by default)."""

from __future__ import annotations

import sys
from pathlib import Path

from kos.bench import DEFAULT_OUT, PARTS, run_bench

if __name__ == "__main__":
    args = sys.argv[1:]
    out = Path(args.pop(0)) if args and args[0].endswith(".json") else DEFAULT_OUT
    unknown = [a for a in args if a not in PARTS]
    if unknown:
        sys.exit(f"unknown benchmark part(s) {', '.join(unknown)}: choose from {', '.join(PARTS)}")
    run_bench(out, tuple(args) or PARTS)
