"""``python -m kos.bench [OUT_JSON]``: run the heap benchmark."""

from __future__ import annotations

import sys
from pathlib import Path

from kos.bench import DEFAULT_OUT, run_bench

if __name__ == "__main__":
    run_bench(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
