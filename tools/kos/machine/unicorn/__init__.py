"""The embedded emulator: KOS on unicorn (pip-installed), no QEMU needed.

- UnicornMachine (machine.py): a Machine like QemuMachine; a child process
  (`python -m kos.machine.unicorn`) with the serial port on a pty.
- UnicornKernel (kernel.py): the one in-process session, booted by boot():
  direct calls of kernel functions, memory access, symbols, snapshots, and
  its serial line as bytes or as a kos.console.Console.

Pieces: engine.py (unicorn set-up, loading, the run loop and device time),
calls.py (direct calls, memory, snapshots), serial.py (the host's end of
COM1), devices/ (UART, PICs, PIT, debug-exit, the port bus), loader.py
(ELF, multiboot info, QEMU's memory map), cpu.py (multiboot entry, page
walker, IDT delivery, unicorn workarounds), selfcheck.py (pinned version
and start-up self-test), host.py (the program's stdio and its run loop),
watchdog.py (time slices), fastregs.py (register access for the fast
paths), coverage.py (block record).

Where it differs from QEMU (nothing the tests see):
- Interrupts arrive when the guest halts or at the end of a time slice
  (at most 10 ms), not after any instruction. An interrupt pending just
  before a HLT returns past it (the `sti; hlt` shadow is invisible here):
  a spurious wake-up idle loops tolerate.
- An idle kernel's timer ticks come in bursts every 50 ms: the tick count
  is right whenever the guest runs, but a guest sleeping on the timer
  wakes up to 50 ms late.
- Devices: COM1, the PICs, PIT channel 0 and debug-exit only (no VGA,
  keyboard, RTC, PCI, ACPI, BIOS). Unassigned ports read 0xFF; unassigned
  physical memory reads 0xFF but keeps what is written. The UART sends
  instantly and keeps input until the driver has set the receiver up.
- CPU: unicorn's CPU model; CR4 is cleared at entry. Task gates and 16-bit
  gates are not delivered; any fault while delivering an event becomes a
  double fault. A triple fault ends the program with status 0 and a line
  on stderr (QEMU -no-reboot exits 0 too).
- Memory from 3.5 GiB: the map says what QEMU's does, but only the RAM
  below 4 GiB exists (no PAE).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kos.machine.unicorn.machine import UnicornMachine, unicorn_command

if TYPE_CHECKING:
    from kos.machine.unicorn.kernel import CallError, GuestFault, KernelExited, UnicornKernel, boot

__all__ = ["CallError", "GuestFault", "KernelExited", "UnicornKernel", "UnicornMachine", "boot",
           "unicorn_command"]


def __getattr__(name: str) -> object:
    # The engine (and the unicorn library) load only when asked for.
    if name in ("CallError", "GuestFault", "KernelExited", "UnicornKernel", "boot"):
        from kos.machine.unicorn import kernel

        return getattr(kernel, name)
    raise AttributeError(name)
