"""QEMU's isa-debug-exit device: how the guest ends the emulator with a status."""

from __future__ import annotations

from collections.abc import Callable

from kos.machine.unicorn.devices.bus import Ports

DEBUG_EXIT_PORT = 0xF4
DEBUG_EXIT_SIZE = 4


class DebugExit:
    """QEMU's isa-debug-exit at 0xf4: writing v stops the machine with exit
    status (v << 1) | 1."""

    def __init__(self, on_exit: Callable[[int], None]) -> None:
        self.on_exit = on_exit

    def write(self, port: int, value: int) -> None:
        self.on_exit(((value << 1) | 1) & 0xFF)

    def ports(self) -> Ports:
        return {DEBUG_EXIT_PORT + i: (lambda p: 0xFF, self.write) for i in range(DEBUG_EXIT_SIZE)}
