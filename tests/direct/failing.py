"""Allocation failures made from the emulator, for the direct tests of the
kernel's out-of-memory paths: a code hook on an allocator's entry returns
NULL, as an exhausted heap does, to its nth call from given callers, so
the kernel's own error path runs, unchanged."""

from __future__ import annotations

from collections.abc import Collection

from unicorn import unicorn_const as uc_const
from unicorn import x86_const as x86

from kos.machine.unicorn.kernel import UnicornKernel


class FailingCalls:
    """Once armed, fn returns NULL to its nth call made from one of callers
    (function names: list the function a call is inlined into too).
    calls: the calls from callers counted since it was armed."""

    def __init__(self, k: UnicornKernel, fn: str, callers: Collection[str], nth: int, *,
                 armed: bool = True) -> None:
        self.k, self.callers, self.nth = k, callers, nth
        self.calls, self.armed = 0, armed
        addr = k.symbol(fn)
        k.uc.hook_add(uc_const.UC_HOOK_CODE, self._on_entry, begin=addr, end=addr)
        k.uc.ctl_flush_tb()            # code translated before the hook would not call it

    def _on_entry(self, uc: object, address: int, size: int, _: object) -> None:
        if not self.armed:
            return
        k = self.k
        esp = k.uc.reg_read(x86.UC_X86_REG_ESP)
        if k.image.function_at(k.read_u32(esp)).split("+")[0] not in self.callers:
            return
        self.calls += 1
        if self.calls == self.nth:
            k.uc.reg_write(x86.UC_X86_REG_EAX, 0)
            k.uc.reg_write(x86.UC_X86_REG_ESP, esp + 4)
            k.uc.reg_write(x86.UC_X86_REG_EIP, k.read_u32(esp))
