"""The ISA port bus: port numbers to device handlers. Unassigned ports
read as all ones and ignore writes, as on an ISA bus."""

from __future__ import annotations

from collections.abc import Callable

# port -> (read(port), write(port, value))
Ports = dict[int, tuple[Callable[[int], int], Callable[[int, int], None]]]


class IoBus:
    """Port dispatch. The devices are byte devices: a word or dword access
    reaches the first port only (KOS makes none, except to debug-exit,
    which takes the whole value as QEMU's does)."""

    def __init__(self) -> None:
        self.readers: dict[int, Callable[[int], int]] = {}
        self.writers: dict[int, Callable[[int, int], None]] = {}

    def attach(self, ports: Ports) -> None:
        for port, (reader, writer) in ports.items():
            self.readers[port] = reader
            self.writers[port] = writer

    def read(self, port: int, size: int) -> int:
        reader = self.readers.get(port)
        if reader is None:
            return (1 << (8 * size)) - 1
        return reader(port)

    def write(self, port: int, size: int, value: int) -> None:
        writer = self.writers.get(port)
        if writer is not None:
            writer(port, value)
