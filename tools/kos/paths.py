"""Where things are: the source tree and the build outputs."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
OBJ = BUILD / "obj"
LOGS = BUILD / "logs"
KERNEL_ELF = BUILD / "kernel.elf"
KERNEL_SYM = BUILD / "kernel.sym"
KERNEL_ASM = BUILD / "kernel.asm"
LINKER_SCRIPT = ROOT / "linker.ld"
SOURCE_DIRS = (ROOT / "boot", ROOT / "kernel")
USER = ROOT / "user"
USER_BUILD = BUILD / "user"
USER_LINKER_SCRIPT = USER / "linker.ld"
INITRD_TREE = USER / "root"
INITRD = BUILD / "initrd.tar"
