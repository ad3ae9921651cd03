"""Machines that run KOS: QEMU when installed, else the embedded unicorn
emulator; and from build/kos.iso through GRUB, QEMU (-cdrom) or Bochs."""

from __future__ import annotations

from pathlib import Path

from kos import paths
from kos.machine.base import EXIT_FAILURE, EXIT_SUCCESS, Machine
from kos.machine.qemu import INSTALL_HINT, QemuMachine, qemu_available, qemu_command

EMULATORS = ("qemu", "unicorn", "bochs")
# Every machine make_machine knows: the emulators, and QEMU booting the ISO.
MACHINES = (*EMULATORS, "qemu-iso")

__all__ = [
    "EMULATORS", "EXIT_FAILURE", "EXIT_SUCCESS", "MACHINES", "Machine", "QemuMachine", "choose_emulator",
    "make_machine", "qemu_available", "qemu_command",
]


def choose_emulator(requested: str = "") -> tuple[str, str]:
    """Pick the emulator: the requested one, else QEMU when installed, else unicorn.
    Returns (name, reason). Exits with one line if the request cannot be met."""
    if requested:
        if requested not in EMULATORS:
            raise SystemExit(f"unknown emulator {requested!r}: choose one of {', '.join(EMULATORS)}")
        if requested == "qemu" and not qemu_available():
            raise SystemExit(f"qemu-system-i386 not found: {INSTALL_HINT}, or use --emulator unicorn")
        if requested == "bochs":
            from kos.machine.bochs import bochs_missing

            if bochs_missing():
                raise SystemExit(f"bochs cannot run: `apt-get install {' '.join(bochs_missing())}`")
        return requested, "requested"
    if qemu_available():
        return "qemu", "qemu-system-i386 is installed"
    return "unicorn", "qemu-system-i386 is not installed; using the embedded emulator"


def make_machine(name: str, kernel: Path = paths.KERNEL_ELF, memory: str = "64M",
                 log_path: Path | None = None, initrd: Path | None = paths.INITRD) -> Machine:
    if name == "qemu":
        return QemuMachine(kernel, memory, log_path, initrd)
    if name == "unicorn":
        from kos.machine.unicorn import UnicornMachine

        return UnicornMachine(kernel, memory, log_path, initrd)
    if name == "qemu-iso":
        from kos.machine.iso import QemuIsoMachine

        return QemuIsoMachine(kernel, memory, log_path)
    if name == "bochs":
        from kos.machine.bochs import BochsMachine

        return BochsMachine(kernel, memory, log_path)
    raise ValueError(f"unknown emulator {name!r}")
