"""python -m kos.machine.bochs [--memory 64M] [--interactive] [--entry first|ktest] [--log PATH] KERNEL ISO"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kos import paths
from kos.machine.handover import ENTRIES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kos.machine.bochs",
                                     description="Boot a KOS ISO under Bochs, its COM1 on this terminal.")
    parser.add_argument("kernel", type=Path, help="the kernel ELF on the ISO (for its symbols)")
    parser.add_argument("image", type=Path, help="the GRUB ISO to boot")
    parser.add_argument("--memory", default="64M", help="guest RAM (default 64M)")
    parser.add_argument("--interactive", action="store_true",
                        help="Ctrl-A escapes, and emulated time follows the wall clock")
    parser.add_argument("--entry", choices=sorted(ENTRIES),
                        help="type this GRUB menu entry's hotkey until the kernel is up")
    parser.add_argument("--log", type=Path, default=paths.LOGS / "bochs.log", help="Bochs's own log")
    args = parser.parse_args(argv)

    from kos.machine.bochs import bochs_missing
    from kos.machine.bochs.config import memory_size

    # Refused here, in one line: Bochs itself would start, fail and end
    # with status 1 and the tail of its log.
    for f in (args.kernel, args.image):
        if not f.is_file():
            print(f"bochs: cannot read {f}: no such file", file=sys.stderr)
            return 1
    try:
        memory_size(args.memory)
    except ValueError as e:
        print(f"bochs: {e}", file=sys.stderr)
        return 1
    missing = bochs_missing()
    if missing:
        print(f"bochs cannot run: install `apt-get install {' '.join(missing)}`", file=sys.stderr)
        return 1
    from kos.machine.bochs.runner import main as run

    # Bochs runs in a directory of its own, where a relative path names nothing.
    return run(args.image.resolve(), args.kernel.resolve(), args.memory, args.interactive, args.log.resolve(),
               args.entry)


if __name__ == "__main__":
    sys.exit(main())
