"""python -m kos.machine.bochs [--memory 64M] [--interactive] [--log PATH] KERNEL ISO"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kos import paths
from kos.machine.bochs.runner import main

parser = argparse.ArgumentParser(prog="python -m kos.machine.bochs",
                                 description="Boot a KOS ISO under Bochs, its COM1 on this terminal.")
parser.add_argument("kernel", type=Path, help="the kernel ELF on the ISO (for its symbols)")
parser.add_argument("image", type=Path, help="the GRUB ISO to boot")
parser.add_argument("--memory", default="64M")
parser.add_argument("--interactive", action="store_true",
                    help="Ctrl-A escapes, and emulated time follows the wall clock")
parser.add_argument("--log", type=Path, default=paths.LOGS / "bochs.log", help="Bochs's own log")
args = parser.parse_args()
sys.exit(main(args.image, args.kernel, args.memory, args.interactive, args.log))
