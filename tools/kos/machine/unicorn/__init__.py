"""The embedded emulator: KOS on unicorn (pip-installed), no QEMU needed.

- UnicornMachine (machine.py): a Machine like QemuMachine; a child process
  (`python -m kos.machine.unicorn`) with the serial port on a pty.
- UnicornKernel (kernel.py): the kernel inside this process, for direct
  calls of kernel functions, memory access and symbol lookup.

Pieces: loader.py (ELF, multiboot info, QEMU's memory map), devices.py
(UART, PICs, PIT, debug-exit), cpu.py (multiboot entry, page walker, IDT
delivery, unicorn workarounds), selfcheck.py (pinned version and start-up
self-test), host.py (stdio and the run loop), coverage.py (block record).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kos.machine.unicorn.machine import UnicornMachine, unicorn_command, unicorn_environment

if TYPE_CHECKING:
    from kos.machine.unicorn.kernel import CallError, GuestFault, KernelExited, UnicornKernel

__all__ = ["CallError", "GuestFault", "KernelExited", "UnicornKernel", "UnicornMachine",
           "unicorn_command", "unicorn_environment"]


def __getattr__(name: str) -> object:
    # The engine (and the unicorn library) load only when asked for.
    if name in ("CallError", "GuestFault", "KernelExited", "UnicornKernel"):
        from kos.machine.unicorn import kernel

        return getattr(kernel, name)
    raise AttributeError(name)
