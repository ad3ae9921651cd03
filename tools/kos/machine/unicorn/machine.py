"""UnicornMachine: the embedded emulator as a Machine, a child process
driven through pexpect exactly like QEMU."""

from __future__ import annotations

import os
import sys

from kos import paths
from kos.machine.base import Machine

PROGRAM = "kos.machine.unicorn"


def unicorn_command(kernel: os.PathLike[str] | str, memory: str = "64M",
                    interactive: bool = False, append: str = "") -> list[str]:
    """append: the options of the kernel command line, after the kernel's
    path as QEMU's -append gives them."""
    cmd = [sys.executable, "-m", PROGRAM, "--memory", memory]
    if interactive:
        cmd.append("--interactive")
    if append:
        cmd += ["--cmdline", f"{kernel} {append}"]
    return [*cmd, str(kernel)]


def unicorn_environment() -> dict[str, str]:
    """The environment with tools/ on PYTHONPATH, so the program imports kos."""
    env = dict(os.environ)
    tools = str(paths.ROOT / "tools")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (tools, env.get("PYTHONPATH", "")) if p)
    return env


class UnicornMachine(Machine):
    name = "unicorn"

    def command(self) -> list[str]:
        return unicorn_command(self.kernel, self.memory)

    def environment(self) -> dict[str, str] | None:
        return unicorn_environment()
