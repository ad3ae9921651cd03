"""Time slices end without disturbing the guest: a loop whose every
iteration increments a memory word and a register is stopped and
restarted hundreds of times by the watchdog, and both counts come out
exact. (With a cross-thread emu_stop, unicorn 2.1.4 leaves the block
halfway and runs its first half again: the memory count came out high.)"""

from __future__ import annotations

import time

from unicorn import Uc
from unicorn import unicorn_const as uc_const
from unicorn import x86_const as x86

from kos.machine.unicorn.slice import Slice
from kos.machine.unicorn.watchdog import Watchdog

CODE = 0x1000
COUNTER = 0x2000
ITERATIONS = 1_000_000
SLICE = 0.0001

# mov ecx, ITERATIONS; xor ebx, ebx
# loop: inc dword [COUNTER]; add ebx, 3; add esi, ebx; call next; next: pop eax; dec ecx; jnz loop
# hlt
PROGRAM = (bytes.fromhex("b9") + ITERATIONS.to_bytes(4, "little") + bytes.fromhex(
    "31db" "ff05" ) + COUNTER.to_bytes(4, "little") + bytes.fromhex(
    "83c303" "01de" "e800000000" "58" "49" "75ec" "f4"))
HLT_END = CODE + len(PROGRAM)


def test_watchdog_slices_leave_the_guest_state_exact() -> None:
    uc = Uc(uc_const.UC_ARCH_X86, uc_const.UC_MODE_32)
    uc.mem_map(0, 0x100000)
    uc.mem_write(CODE, PROGRAM)
    uc.reg_write(x86.UC_X86_REG_ESP, 0x8000)
    sl = Slice(uc)
    dog = Watchdog(sl.expire)
    eip, ended_by_watchdog, ended_otherwise = CODE, 0, 0
    try:
        while eip != HLT_END:
            dog.arm(time.monotonic() + SLICE)
            uc.emu_start(eip, 0xF0000)
            fired = dog.disarm()
            sl.take()
            eip = uc.reg_read(x86.UC_X86_REG_EIP)
            # The slice that reaches the hlt may see the watchdog fire after
            # it ended: only a slice that stopped short has to be its doing.
            if eip != HLT_END:
                ended_by_watchdog += fired
                ended_otherwise += not fired
    finally:
        dog.close()
        sl.close()
    assert ended_by_watchdog >= 20, f"only {ended_by_watchdog} slices were cut: the test proves nothing"
    assert int.from_bytes(uc.mem_read(COUNTER, 4), "little") == ITERATIONS
    assert uc.reg_read(x86.UC_X86_REG_EBX) == 3 * ITERATIONS
    assert uc.reg_read(x86.UC_X86_REG_ECX) == 0
    assert ended_otherwise == 0, f"{ended_otherwise} slices stopped short without the watchdog"
