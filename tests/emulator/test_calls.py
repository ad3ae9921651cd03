"""Direct calls into the booted kernel: arguments, return values, memory
and symbols, captured serial output, state kept around a call, faults and
instruction counts."""

from __future__ import annotations

import re

import pytest
from unicorn import unicorn_const as uc_const
from unicorn import x86_const as x86

from kos.machine.unicorn.kernel import CallError, GuestFault, KernelExited, UnicornKernel
from kos.memory.constants import GFP_KERNEL

EFLAGS_IF = 0x200


def test_call_returns_eax_and_passes_cdecl_arguments(guest: UnicornKernel):
    src = guest.scratch
    dst = guest.scratch + 0x100
    guest.write(src, b"direct calls\0")
    assert guest.call("strlen", src) == 12
    assert guest.call("memcpy", dst, src, 13) == dst
    assert guest.read(dst, 13) == b"direct calls\0"
    assert guest.call("memcmp", dst, src, 13) == 0
    assert guest.call("memset", dst, 0x41, 5) == dst
    assert guest.read_cstring(dst) == "AAAAAt calls"


def test_negative_arguments_are_passed_as_32_bit_values(guest: UnicornKernel):
    p = guest.call("kmalloc", -1)          # 0xffffffff bytes: refused, not a crash
    assert p == 0
    assert "kmalloc: 4294967295 bytes: out of memory" in guest.drain_serial()


def test_symbols_come_from_the_elf(guest: UnicornKernel):
    assert guest.symbol("_start") == guest.image.entry
    assert guest.symbol("__text_start") <= guest.symbol("kmalloc") < guest.symbol("__text_end")
    with pytest.raises(KeyError, match="no_such_function"):
        guest.symbol("no_such_function")
    with pytest.raises(KeyError):
        guest.call("no_such_function")


def test_memory_helpers_round_trip(guest: UnicornKernel):
    a = guest.scratch
    guest.write_u32(a, 0xDEADBEEF)
    assert guest.read_u32(a) == 0xDEADBEEF
    assert guest.read(a, 4) == b"\xef\xbe\xad\xde"
    guest.write_u32(a, -2)
    assert guest.read_struct(a, "<i") == (-2,)


def test_serial_output_of_a_call_is_captured(guest: UnicornKernel):
    guest.call("kfree", 0x1234)
    out = guest.serial_output()
    assert "kfree: 0x00001234: invalid pointer" in out
    assert guest.drain_serial() == out
    assert guest.serial_output() == ""


def test_kernel_registers_are_restored_and_it_still_runs(guest: UnicornKernel):
    uc = guest.uc
    regs = [x86.UC_X86_REG_EIP, x86.UC_X86_REG_ESP, x86.UC_X86_REG_EBP, x86.UC_X86_REG_EFLAGS,
            x86.UC_X86_REG_EBX, x86.UC_X86_REG_ESI, x86.UC_X86_REG_EDI, x86.UC_X86_REG_EAX]
    # The boot's own blocks (the ramfs root, the console file) stay; the calls leave nothing.
    live = re.search(r"num_allocations: (\d+)", guest.console.run("memstats"))
    assert live
    # Read after the shell ran: the prompt is out before the shell is back
    # asleep, so where the kernel stopped then depends on the time slice.
    before = [uc.reg_read(r) for r in regs]
    for size in (16, 4096, 1 << 20):
        guest.call("kfree", guest.call("kmalloc", size))
    assert [uc.reg_read(r) for r in regs] == before
    assert f"num_allocations: {live.group(1)}" in guest.console.run("memstats")


def test_interrupts_are_off_during_a_call(guest: UnicornKernel):
    seen: list[int] = []

    def on_entry(uc, addr, size, _):
        seen.append(uc.reg_read(x86.UC_X86_REG_EFLAGS))

    entry = guest.symbol("pit_ticks")
    h = guest.uc.hook_add(uc_const.UC_HOOK_CODE, on_entry, None, entry, entry)
    guest.uc.ctl_flush_tb()
    try:
        guest.call("pit_ticks")
    finally:
        guest.uc.hook_del(h)
        guest.uc.ctl_flush_tb()
    assert seen and not seen[0] & EFLAGS_IF
    assert guest.uc.reg_read(x86.UC_X86_REG_EFLAGS) & EFLAGS_IF   # the idle kernel's own IF is back


def test_a_fault_in_a_call_raises_and_leaves_the_kernel_usable(guest: UnicornKernel):
    for _ in range(2):                     # the second fault must not turn into a double fault
        with pytest.raises(GuestFault) as exc:
            guest.call("strlen", 0)        # page 0 is unmapped
        assert exc.value.vector == 14
        assert exc.value.cr2 == 0
        assert exc.value.err == 0          # read of a not-present page, kernel mode
        assert "strlen" in str(exc.value)
    with pytest.raises(GuestFault) as exc:
        guest.call("memset", 0xDEAD0000, 0, 4)
    assert (exc.value.vector, exc.value.cr2, exc.value.err) == (14, 0xDEAD0000, 2)
    assert guest.call("kmalloc", 32) != 0
    assert "memstats" in guest.console.run("help")


def test_instruction_count_of_a_call_is_exact_and_repeatable(guest: UnicornKernel):
    assert guest.call_counted("pit_ticks") == (guest.call("pit_ticks"), 2)   # mov; ret
    _, n1 = guest.call_counted("strlen", guest.symbol("__text_start"))
    _, n2 = guest.call_counted("strlen", guest.symbol("__text_start"))
    assert n1 == n2 > 2
    p, n = guest.call_counted("kmalloc", 64)
    assert p != 0 and n > 10


def test_a_call_that_stops_the_machine_raises_kernel_exited(guest: UnicornKernel):
    with pytest.raises(KernelExited) as exc:
        guest.call("kernel_stop", 0x10, guest.scratch)
    assert exc.value.status == 33
    with pytest.raises(KernelExited):
        guest.call("kmalloc", 8)


def test_calls_do_not_nest(guest: UnicornKernel):
    def on_entry(uc, addr, size, _):
        guest.call("pit_ticks")

    entry = guest.symbol("strlen")
    h = guest.uc.hook_add(uc_const.UC_HOOK_CODE, on_entry, None, entry, entry)
    guest.uc.ctl_flush_tb()
    try:
        with pytest.raises(CallError, match="nest"):
            guest.call("strlen", guest.scratch)
    finally:
        guest.uc.hook_del(h)
        guest.uc.ctl_flush_tb()


def test_the_direct_call_area_is_mapped_in_the_kernel_page_tables(guest: UnicornKernel):
    guest.check_callable()


def test_a_counting_session_counts_each_call_on_its_own(guest: UnicornKernel):
    alone = [guest.call_counted("pit_ticks")[1], guest.call_counted("strlen", guest.scratch)[1]]
    with guest.counting():
        together = [guest.call_counted("pit_ticks")[1], guest.call_counted("strlen", guest.scratch)[1]]
    assert together == alone


def test_an_invalid_opcode_in_a_call_is_a_guest_fault(guest: UnicornKernel):
    ud2 = guest.scratch + 0x200
    guest.write(ud2, b"\x0f\x0b")
    with pytest.raises(GuestFault) as exc:
        guest.call(ud2)
    assert (exc.value.vector, exc.value.eip) == (6, ud2)
    assert guest.call("pit_ticks") == guest.call("pit_ticks")


def _returning(value: int) -> bytes:
    return b"\xb8" + value.to_bytes(4, "little") + b"\xc3"          # mov eax, value; ret


@pytest.mark.parametrize("devices", [False, True])
def test_restore_drops_the_code_translated_from_the_pages_it_puts_back(guest: UnicornKernel, devices: bool):
    """Code in a page that restore() copies back runs as restored, not as
    unicorn translated it before: the page is the kernel text's last one,
    past its end (executable, and run by nothing else)."""
    text_end = guest.symbol("__text_end")
    at = ((text_end + 0xFFF) & ~0xFFF) - 16
    assert at >= text_end
    page = at & ~0xFFF
    guest.write(at, _returning(1))
    one = guest.snapshot([(page, page + 0x1000)], devices=devices)
    guest.write(at, _returning(2))
    two = guest.snapshot([(page, page + 0x1000)], devices=devices)
    guest.restore(two)
    assert guest.call(at) == 2
    guest.restore(one)
    assert guest.read(at, 6) == _returning(1)
    assert guest.call(at) == 1                 # not the code translated from the other content
    guest.restore(two)
    assert guest.call(at) == 2
    guest.write(at, bytes(6))


def test_restore_clears_a_page_that_was_zero_and_copies_one_that_was_not(guest: UnicornKernel):
    frames = guest.call("alloc_pages", GFP_KERNEL, 1)        # two frames, from the buddy allocator
    assert frames
    zero, full = frames, frames + 0x1000
    guest.write(zero, bytes(0x1000))
    guest.write(full, bytes(range(256)) * 16)
    snap = guest.snapshot([(zero, full + 0x1000)])
    guest.write(zero + 100, b"changed")
    guest.write(full + 0x800, b"changed")
    guest.restore(snap)
    assert guest.read(zero, 0x1000) == bytes(0x1000)
    assert guest.read(full, 0x1000) == bytes(range(256)) * 16
    guest.write(zero + 0xFF8, b"again")                     # the page written after it went back
    assert guest.read(zero + 0xFF8, 5) == b"again"
    guest.restore(snap)
    assert guest.read(zero, 0x1000) == bytes(0x1000)
    guest.call("free_pages", frames, 1)
