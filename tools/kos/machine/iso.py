"""QEMU booting build/kos.iso through GRUB (-cdrom) instead of -kernel: the
path a real PC takes, firmware and boot loader included."""

from __future__ import annotations

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


class QemuIsoMachine(QemuMachine):
    """kernel is the ELF; the ISO is (re)made from it when the machine starts."""

    name = "qemu-iso"

    def command(self) -> list[str]:
        super().command()          # the same check that QEMU is installed
        return qemu_iso_command(iso.build_iso(self.kernel, initrd=self.initrd), self.memory)
