"""Bochs 2.7 as a KOS machine: build/kos.iso booted through its BIOS and GRUB.

The child process is `python -m kos.machine.bochs` (runner.py), which
drives Bochs's debugger and bridges COM1 to stdio, so this is a Machine
like QemuMachine: start, a pexpect console, stop, exit status.

Where it differs from QEMU:
- No isa-debug-exit device: the runner stops at the kernel's debug_exit()
  and exits with the status QEMU would give (33 after halt, 35 after a
  fault), read from the code the kernel passed.
- Tests run with the emulated clock as fast as the host allows (uptime
  runs fast); `./kos run --emulator bochs` keeps it on the wall clock.
- A triple fault or a Bochs panic ends the run with Bochs's status (1).
- About 3 s to the prompt, against 0.8 s for QEMU with the same ISO.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from kos import iso
from kos.machine.base import Machine
from kos.machine.bochs.config import BIOS, VGA_BIOS, memory_size

PROGRAM = "kos.machine.bochs"
APT_LINE = "apt-get install bochs bochsbios vgabios bochs-term"


def bochs_missing() -> list[str]:
    """Debian packages to install before Bochs can boot KOS (empty: none)."""
    missing = []
    if shutil.which("bochs") is None:
        missing.append("bochs")
    if not BIOS.exists():
        missing.append("bochsbios")
    if not VGA_BIOS.exists():
        missing.append("vgabios")
    if shutil.which("bochs") is not None and not any(
            Path(d).glob("libbx_term_gui.so*") for d in _plugin_dirs()):
        missing.append("bochs-term")
    return missing


def _plugin_dirs() -> list[Path]:
    return [*Path("/usr/lib").glob("*/bochs/plugins"), Path("/usr/lib/bochs/plugins")]


def bochs_command(kernel: Path, image: Path, memory: str = "64M", interactive: bool = False,
                  log: Path | None = None, entry: str | None = None) -> list[str]:
    """entry: the GRUB menu entry whose hotkey the runner types until the
    kernel is up (None: GRUB's own way, about 2 s longer)."""
    cmd = [sys.executable, "-m", PROGRAM, "--memory", memory]
    if interactive:
        cmd.append("--interactive")
    if entry is not None:
        cmd += ["--entry", entry]
    if log is not None:
        cmd += ["--log", str(log)]
    return [*cmd, str(kernel), str(image)]


class BochsMachine(Machine):
    """kernel is the ELF; the ISO is (re)made from it when the machine starts.
    entry: the GRUB menu entry the runner picks by its hotkey (None: GRUB's
    own way); input is held from GRUB either way."""

    name = "bochs"
    entry: str | None = None

    @property
    def bochs_log(self) -> Path:
        return self.log_path.with_suffix(".bochs.log")

    def command(self) -> list[str]:
        missing = bochs_missing()
        if missing:
            raise FileNotFoundError(f"bochs cannot run: install `apt-get install {' '.join(missing)}`")
        memory_size(self.memory)
        image = iso.build_iso(self.kernel, initrd=self.initrd)
        return bochs_command(self.kernel, image, self.memory, log=self.bochs_log, entry=self.entry)

