"""QEMU as a KOS machine. The arguments live here, as data, in one place."""

from __future__ import annotations

import shutil
from pathlib import Path

from kos.machine.base import Machine
from kos.machine.memsize import size_option

QEMU = "qemu-system-i386"
INSTALL_HINT = "install it with `apt-get install qemu-system-x86`"

# The debug-exit device: the kernel writes 0x10/0x11 to port 0xf4 and QEMU
# exits with status 33/35.
DEBUG_EXIT = ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]

# The default qemu32 CPU has PAE but no NX; +nx lets the kernel enforce PROT_EXEC.
CPU = "qemu32,+nx"


def qemu_available() -> bool:
    return shutil.which(QEMU) is not None


def qemu_command(kernel: Path, memory: str = "64M", interactive: bool = False,
                 append: str = "", cpu: str = CPU, initrd: Path | None = None) -> list[str]:
    """The QEMU command line for kernel; append is the kernel command line
    (-append: after the kernel's path in the Multiboot cmdline).

    Non-interactive (tests): the serial port alone on stdio, with Ctrl-C
    passed to the guest and no monitor, so any byte can be sent to the kernel.
    Interactive (invoke run): the monitor is multiplexed on the same terminal,
    Ctrl-A X leaves QEMU and Ctrl-A C switches to the monitor.
    initrd, when given, is the first Multiboot module. A memory size QEMU
    would not read as the other machines do raises ValueError.
    """
    if interactive:
        console = ["-chardev", "stdio,id=con,mux=on,signal=off", "-serial", "chardev:con",
                   "-mon", "chardev=con,mode=readline"]
    else:
        console = ["-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con", "-monitor", "none"]
    cmdline = ["-append", append] if append else []
    modules = ["-initrd", str(initrd)] if initrd is not None else []
    return [QEMU, "-kernel", str(kernel), *cmdline, *modules, "-m", size_option(memory), "-cpu", cpu,
            "-nodefaults", "-display", "none", *console, "-no-reboot", *DEBUG_EXIT]


class QemuMachine(Machine):
    name = "qemu"
    cpu = CPU

    def command(self) -> list[str]:
        if not qemu_available():
            raise FileNotFoundError(f"{QEMU} not found: {INSTALL_HINT}")
        return qemu_command(self.kernel, self.memory, cpu=self.cpu, initrd=self.initrd)
