"""The PC devices KOS talks to, modelled in Python on port I/O: a 16550
UART at COM1 (uart.py), the two cascaded 8259 PICs (pic.py), PIT channel 0
(pit.py) and QEMU's isa-debug-exit port (debug_exit.py), on an ISA port bus
(bus.py). Each follows QEMU's model where it matters to a guest
(hw/char/serial.c, hw/intc/i8259.c, hw/timer/i8254.c, hw/misc/debugexit.c);
what is left out is said at each class.
"""

from kos.machine.unicorn.devices.bus import IoBus, Ports
from kos.machine.unicorn.devices.debug_exit import DEBUG_EXIT_PORT, DebugExit
from kos.machine.unicorn.devices.pic import Pic8259, PicPair
from kos.machine.unicorn.devices.pit import PIT_HZ, Pit8254
from kos.machine.unicorn.devices.uart import COM1, COM1_IRQ, FCR_LOADER, UART_FCR, Uart16550

__all__ = [
           "COM1",
           "COM1_IRQ",
           "DEBUG_EXIT_PORT",
           "FCR_LOADER",
           "PIT_HZ",
           "UART_FCR",
           "DebugExit",
           "IoBus",
           "Pic8259",
           "PicPair",
           "Pit8254",
           "Ports",
           "Uart16550",
]
