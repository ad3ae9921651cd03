"""UnicornMachine: the embedded emulator as a Machine, a child process
driven through pexpect exactly like QEMU."""

from __future__ import annotations

import os
import sys

from kos.machine.base import Machine

PROGRAM = "kos.machine.unicorn"


def unicorn_command(kernel: os.PathLike[str] | str, memory: str = "64M",
                    interactive: bool = False, append: str = "",
                    initrd: os.PathLike[str] | str | None = None) -> list[str]:
    """append: the options of the kernel command line, after the kernel's
    path as QEMU's -append gives them; initrd: the first Multiboot module."""
    cmd = [sys.executable, "-m", PROGRAM, "--memory", memory]
    if interactive:
        cmd.append("--interactive")
    if append:
        cmd += ["--cmdline", f"{kernel} {append}"]
    if initrd is not None:
        cmd += ["--initrd", str(initrd)]
    return [*cmd, str(kernel)]


class UnicornMachine(Machine):
    name = "unicorn"

    def command(self) -> list[str]:
        return unicorn_command(self.kernel, self.memory, initrd=self.initrd)

