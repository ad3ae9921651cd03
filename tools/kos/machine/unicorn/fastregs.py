"""Register access without the binding's per-call overhead.

uc.reg_read/reg_write build a ctypes object and pick a register class on
every use, which costs more than a short guest function or an idle timer
tick. These accessors reuse their ctypes buffers and call the binding's
low-level entry points (Uc._do_reg_read and friends) directly. They serve
scalar registers and reads of the descriptor-table registers.
"""

from __future__ import annotations

import ctypes

from unicorn import Uc, UcError


class _TableReg(ctypes.Structure):
    """unicorn's uc_x86_mmr: GDTR, IDTR, LDTR, TR."""

    _fields_ = (("selector", ctypes.c_uint16), ("base", ctypes.c_uint64),
                ("limit", ctypes.c_uint32), ("flags", ctypes.c_uint32))


class RegBatch:
    """Several registers read or written in one call."""

    def __init__(self, uc: Uc, regs: list[int]) -> None:
        n = len(regs)
        self.uc = uc
        self.ids = (ctypes.c_int * n)(*regs)
        self.vals = [ctypes.c_uint64() for _ in regs]
        self.ptrs = (ctypes.c_void_p * n)(*(ctypes.addressof(v) for v in self.vals))
        self.count = ctypes.c_int(n)

    def read(self) -> list[int]:
        for v in self.vals:
            v.value = 0                    # unicorn writes only the register's width
        status = self.uc._do_reg_read_batch(self.ids, self.ptrs, self.count)
        if status:
            raise UcError(status)
        return [v.value & 0xFFFFFFFF for v in self.vals]

    def write(self, *values: int) -> None:
        for v, x in zip(self.vals, values, strict=True):
            v.value = x
        status = self.uc._do_reg_write_batch(self.ids, self.ptrs, self.count)
        if status:
            raise UcError(status)


class FastRegs:
    def __init__(self, uc: Uc) -> None:
        self.uc = uc
        self._buf = ctypes.c_uint64()
        self._ref = ctypes.byref(self._buf)
        self._table = _TableReg()
        self._table_ref = ctypes.byref(self._table)

    def read(self, reg: int) -> int:
        self._buf.value = 0
        status = self.uc._do_reg_read(reg, self._ref)
        if status:
            raise UcError(status)
        return self._buf.value & 0xFFFFFFFF

    def write(self, reg: int, value: int) -> None:
        self._buf.value = value & 0xFFFFFFFF
        status = self.uc._do_reg_write(reg, self._ref)
        if status:
            raise UcError(status)

    def table(self, reg: int) -> tuple[int, int, int]:
        """(selector, base, limit) of a descriptor-table register."""
        status = self.uc._do_reg_read(reg, self._table_ref)
        if status:
            raise UcError(status)
        t = self._table
        return t.selector, t.base & 0xFFFFFFFF, t.limit

    def batch(self, regs: list[int]) -> RegBatch:
        return RegBatch(self.uc, regs)
