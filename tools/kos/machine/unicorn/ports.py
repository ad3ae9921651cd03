"""Port I/O through uart.c: the engine's only IN and OUT hooks. The C hooks
serve the 16550's receive FIFO, LSR and THR while the UART model says its
registers allow it (Uart16550.attach and its modes), and pass every other
access to Python (the engine's port bus) through a ctypes callback.

unicorn calls only the first IN hook it has, and every OUT hook, so the C
hooks are the only ones: a Python hook beside them would run for every
access again. An exception raised in a callback stops the emulation and is
raised by emu_start, as the binding does for its own hooks.
"""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Callable, Iterable, Iterator

from unicorn import Uc
from unicorn import unicorn_const as uc_const
from unicorn import x86_const as x86

from kos.machine.unicorn import native


def _constant(lib: ctypes.CDLL, name: str) -> int:
    return int(ctypes.c_uint32.in_dll(lib, name).value)

_IN_FN = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_uint32, ctypes.c_int)
_OUT_FN = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint32)


class NativeFifo:
    """The receive FIFO held in C, with the deque methods the model uses."""

    def __init__(self, lib: ctypes.CDLL, handle: ctypes.c_void_p) -> None:
        self._lib = lib
        self._handle = handle

    def __len__(self) -> int:
        return int(self._lib.uart_fifo_len(self._handle))

    def __bool__(self) -> bool:
        return bool(self._lib.uart_fifo_len(self._handle))

    def __iter__(self) -> Iterator[int]:
        buf = (ctypes.c_uint8 * _constant(self._lib, "uart_fifo_size"))()
        n = self._lib.uart_fifo_peek(self._handle, buf)
        return iter(bytes(buf[:n]))

    def append(self, byte: int) -> None:
        if not self._lib.uart_fifo_push(self._handle, byte):
            raise OverflowError("the receive FIFO is full")

    def extend(self, data: Iterable[int]) -> None:
        chunk = bytes(data)
        if self._lib.uart_fifo_fill(self._handle, chunk, len(chunk)) != len(chunk):
            raise OverflowError("the receive FIFO is full")

    def popleft(self) -> int:
        byte = int(self._lib.uart_fifo_pop(self._handle))
        if byte < 0:
            raise IndexError("pop from an empty FIFO")
        return byte

    def clear(self) -> None:
        self._lib.uart_fifo_clear(self._handle)


class PortHooks:
    """The IN and OUT hooks of one engine, with the UART's C state. on_in
    and on_out take the accesses C does not serve; sink the bytes the UART
    transmitted, in order."""

    def __init__(self, uc: Uc, base: int, on_in: Callable[[int, int], int],
                 on_out: Callable[[int, int, int], None], sink: Callable[[bytes], None]) -> None:
        lib = native.library()
        self._lib = lib
        self._uc = uc
        self._sink = sink
        # The modes the UART model sets, and the events it takes (uart.c).
        self.fast_lsr, self.fast_rbr, self.fast_thr = (_constant(lib, f"uart_fast_{r}")
                                                       for r in ("lsr", "rbr", "thr"))
        self.emptied, self.sent = (_constant(lib, f"uart_event_{e}") for e in ("emptied", "sent"))

        def slow_in(port: int, size: int) -> int:
            try:
                return on_in(port, size)
            except BaseException as e:
                self._failed(e)
                return 0

        def slow_out(port: int, size: int, value: int) -> None:
            try:
                on_out(port, size, value)
            except BaseException as e:
                self._failed(e)

        # Kept referenced: C holds only their addresses.
        self._callbacks = (_IN_FN(slow_in), _OUT_FN(slow_out))
        handle = lib.uart_new(base, ctypes.cast(self._callbacks[0], ctypes.c_void_p),
                              ctypes.cast(self._callbacks[1], ctypes.c_void_p))
        if not handle:
            raise native.NativeUnavailable("uart_new: out of memory")
        self._handle = ctypes.c_void_p(handle)
        self._free = weakref.finalize(self, lib.uart_free, self._handle)
        self.fifo = NativeFifo(lib, self._handle)
        self._hooks = []
        try:
            for fn, insn in ((lib.uart_in_hook, x86.UC_X86_INS_IN), (lib.uart_out_hook, x86.UC_X86_INS_OUT)):
                self._hooks.append(native.hook_add(uc, uc_const.UC_HOOK_INSN, fn, self._handle,
                                                   ctypes.c_int(insn)))
        except native.NativeUnavailable:
            self.close()
            raise

    def _failed(self, e: BaseException) -> None:
        if self._uc._hook_exception is None:       # type: ignore[attr-defined]
            self._uc._hook_exception = e           # type: ignore[attr-defined]
        self._uc.emu_stop()

    def set_modes(self, modes: int) -> None:
        self._lib.uart_set_modes(self._handle, modes)

    def take_events(self) -> int:
        """The events since the last take (emptied, sent); the bytes sent go to the sink."""
        events = int(self._lib.uart_take_events(self._handle))
        if events & self.sent:
            n = self._lib.uart_tx_len(self._handle)
            if n:
                data = ctypes.string_at(self._lib.uart_tx_data(self._handle), n)
                self._lib.uart_tx_clear(self._handle)
                self._sink(data)
        return events

    def discard(self) -> None:
        """Forget the events and the bytes sent (a machine restored from a snapshot)."""
        self._lib.uart_take_events(self._handle)
        self._lib.uart_tx_clear(self._handle)

    def close(self) -> None:
        """Remove the hooks and free the C state (an engine keeps its hooks
        for as long as it exists: direct calls print after Engine.close)."""
        for h in self._hooks:
            native.hook_del(self._uc, h)
        self._hooks = []
        self._free()
