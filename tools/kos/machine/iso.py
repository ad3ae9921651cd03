"""QEMU booting build/kos.iso through GRUB (-cdrom) instead of -kernel: the
path a real PC takes, firmware and boot loader included. QEMU runs under
kos.machine.handover, which keeps input from GRUB until the kernel is up."""

from __future__ import annotations

import sys
from pathlib import Path

from kos import iso
from kos.machine.qemu import QemuMachine, qemu_command


def qemu_iso_command(image: Path, memory: str = "64M", interactive: bool = False) -> list[str]:
    """QemuMachine's command line with the CD in place of the kernel, and a
    VGA card: GRUB's Multiboot loader asks the VBE BIOS for video modes and
    prints an error when there is none."""
    cmd = qemu_command(image, memory, interactive)
    at = cmd.index("-kernel")
    return [*cmd[:at], "-cdrom", str(image), "-boot", "d", "-vga", "std", *cmd[at + 2:]]


def handover_command(qemu: list[str], entry: str | None = None, interactive: bool = False) -> list[str]:
    """qemu under kos.machine.handover: input held from GRUB until the kernel
    is up; entry: the GRUB menu entry whose hotkey it types meanwhile."""
    cmd = [sys.executable, "-m", "kos.machine.handover"]
    if entry is not None:
        cmd += ["--entry", entry]
    if interactive:
        cmd.append("--interactive")
    return [*cmd, "--", *qemu]


class QemuIsoMachine(QemuMachine):
    """kernel is the ELF; the ISO is (re)made from it when the machine starts.
    entry: the GRUB menu entry picked by its hotkey (None: GRUB's own way)."""

    name = "qemu-iso"
    entry: str | None = None

    def command(self) -> list[str]:
        super().command()          # the same check that QEMU is installed
        qemu = qemu_iso_command(iso.build_iso(self.kernel, initrd=self.initrd), self.memory)
        return handover_command(qemu, self.entry)
