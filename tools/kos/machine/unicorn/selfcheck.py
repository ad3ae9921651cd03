"""Start-up check: the pinned unicorn is installed, and what the emulator
relies on still holds. A tiny protected-mode program with paging runs in a
scratch engine: three page faults (read and write of a not-present page, a
write to a read-only page under CR0.WP), port I/O, HLT, #UD, a code
hook added after translation, a time slice ended by slice.py, the C port
hooks of ports.py (the UART's FIFO, LSR and THR served in C, other ports
passed to Python with their size and value) and count.c's instruction
count (the same as a Python code hook's), a PAE store to RAM mapped
above 4 GiB, code rewritten in RAM dropped by cpu.forget_code, and an
IRET to ring 3. From the faults it finds
where unicorn's saved context keeps env->error_code and
env->old_exception, from the IRET where it keeps env->hflags (whose low
two bits are the CPL) (cpu.Quirks); it proves that resetting old_exception
stops the next fault from being escalated to #DF, and that clearing the
CPL there lets the kernel's SS and CS be loaded from ring 3. Any surprise
fails with a message naming what broke.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from unicorn import Uc

    from kos.machine.unicorn.cpu import Quirks

PINNED_VERSION = "2.1.4"
INSTALL = f"pip install unicorn=={PINNED_VERSION}"


class UnicornUnsupported(RuntimeError):
    """The installed unicorn is missing, of another version, or no longer
    behaves as the workarounds expect."""


def require_pinned_unicorn() -> None:
    try:
        import unicorn
    except ImportError:
        raise UnicornUnsupported(f"the embedded emulator needs unicorn: {INSTALL}") from None
    version = getattr(unicorn, "__version__", "unknown")
    if version != PINNED_VERSION:
        raise UnicornUnsupported(
            f"the embedded emulator is pinned to unicorn {PINNED_VERSION} (its workarounds for "
            f"unicorn defects are checked against that version), but {version} is installed: {INSTALL}")


# The self-test program, at CODE (comments give the assembly).
CODE = 0x10000
NOT_PRESENT = 0x5000
READ_ONLY = 0x6000
_PROGRAM = bytes.fromhex(
    "8b1d00500000"   # 10000: mov ebx, [0x5000]    #PF, error code 0
    "891d00500000"   # 10006: mov [0x5000], ebx    #PF, error code 2
    "891d00600000"   # 1000c: mov [0x6000], ebx    #PF, error code 3
    "e440"           # 10012: in al, 0x40
    "e6f4"           # 10014: out 0xf4, al
    "f4"             # 10016: hlt
    "40"             # 10017: inc eax
    "f4"             # 10018: hlt
    "0f0b"           # 10019: ud2
)
FAULT_LEN = 6
AFTER_HLT = 0x10017
UD2 = 0x10019
EXPECTED_FAULTS = [(CODE, NOT_PRESENT, 0), (CODE + 6, NOT_PRESENT, 2), (CODE + 12, READ_ONLY, 3)]
IN_VALUE = 0x5A


@dataclass
class _Observed:
    contexts: list[bytes] = field(default_factory=list)
    faults: list[tuple[int, int, int]] = field(default_factory=list)   # (intno, eip, cr2)
    io: list[tuple[str, int, int]] = field(default_factory=list)
    code_hook: list[int] = field(default_factory=list)
    old_exception: int | None = None


# The PAE program: a store through a page table entry whose frame is above
# 4 GiB (the engine maps RAM there for machines of 3.5 GiB and more).
HIGH_FRAME = 0x1_2345_6000
HIGH_VA = 0x200000
HIGH_VALUE = 0xC0DE4B05
_HIGH_PROGRAM = (bytes.fromhex("c705") + struct.pack("<II", HIGH_VA + 0x10, HIGH_VALUE)  # mov [va+0x10], v
                 + bytes.fromhex("f4"))                                                 # hlt


def _check_ram_above_4g(fail: Callable[[str], UnicornUnsupported]) -> None:
    from unicorn import Uc, UcError
    from unicorn import unicorn_const as uc_const
    from unicorn import x86_const as x86

    uc = Uc(uc_const.UC_ARCH_X86, uc_const.UC_MODE_32)
    uc.mem_map(0, 0x10000)
    try:
        uc.mem_map(HIGH_FRAME, 0x1000)
    except UcError as e:
        raise fail(f"RAM cannot be mapped at {HIGH_FRAME:#x}, above 4 GiB ({e})") from None
    pdpt, pd, pt_low, pt_high = 0x1000, 0x2000, 0x3000, 0x4000
    uc.mem_write(pdpt, struct.pack("<Q", pd | 1))
    uc.mem_write(pd, struct.pack("<2Q", pt_low | 3, pt_high | 3))
    uc.mem_write(pt_low, struct.pack("<16Q", *((i << 12) | 3 for i in range(16))))
    uc.mem_write(pt_high, struct.pack("<Q", HIGH_FRAME | 3))
    uc.mem_write(CODE - 0x8000, _HIGH_PROGRAM)
    uc.reg_write(x86.UC_X86_REG_CR3, pdpt)
    uc.reg_write(x86.UC_X86_REG_CR4, 0x20)
    uc.reg_write(x86.UC_X86_REG_CR0, uc.reg_read(x86.UC_X86_REG_CR0) | 0x80000001)
    start = CODE - 0x8000
    try:
        uc.emu_start(start, start + len(_HIGH_PROGRAM) - 1)
    except UcError as e:
        raise fail(f"a PAE store to a frame above 4 GiB stopped with {e}") from None
    got = struct.unpack("<I", uc.mem_read(HIGH_FRAME + 0x10, 4))[0]
    if got != HIGH_VALUE:
        raise fail(f"a PAE store to a frame above 4 GiB did not land there (read {got:#x})")


# cpu.forget_code: code at linear CODE_VA, in the physical page CODE_PA,
# jumping to STOP_VA in another page (unicorn drops what it translated from
# the page where emulation is to stop, so that page would prove nothing).
CODE_VA = 0x8000
CODE_PA = 0xA000
STOP_VA = 0x9000


def _mov_eax(value: int) -> bytes:
    jmp = STOP_VA - (CODE_VA + 10)
    return b"\xb8" + struct.pack("<I", value) + b"\xe9" + struct.pack("<i", jmp)  # mov eax, v; jmp STOP_VA


def _check_forget_code(fail: Callable[[str], UnicornUnsupported]) -> None:
    """Code rewritten behind unicorn's back runs stale until cpu.forget_code
    drops it, by the physical page, while paging maps the page elsewhere."""
    import ctypes

    from unicorn import Uc
    from unicorn import unicorn_const as uc_const
    from unicorn import x86_const as x86

    from kos.machine.unicorn.cpu import forget_code

    uc = Uc(uc_const.UC_ARCH_X86, uc_const.UC_MODE_32)
    ram = ctypes.create_string_buffer(0x10000)
    uc.mem_map_ptr(0, len(ram), uc_const.UC_PROT_ALL, ctypes.addressof(ram))
    pd, pt = 0x1000, 0x2000
    uc.mem_write(pd, struct.pack("<I", pt | 3))
    uc.mem_write(pt + (CODE_VA >> 12) * 4, struct.pack("<2I", CODE_PA | 3, STOP_VA | 3))
    uc.reg_write(x86.UC_X86_REG_CR3, pd)
    uc.reg_write(x86.UC_X86_REG_CR0, uc.reg_read(x86.UC_X86_REG_CR0) | 0x80000001)

    def run() -> int:
        uc.emu_start(CODE_VA, STOP_VA)
        return int(uc.reg_read(x86.UC_X86_REG_EAX))

    ctypes.memmove(ctypes.addressof(ram) + CODE_PA, _mov_eax(1), 10)
    first = run()
    ctypes.memmove(ctypes.addressof(ram) + CODE_PA, _mov_eax(2), 10)
    stale = run()
    forget_code(uc, [CODE_PA])
    fresh = run()
    if (first, fresh) != (1, 2):
        raise fail(f"cpu.forget_code did not drop code rewritten in RAM (ran {first}, {stale}, {fresh})")
    if not uc.reg_read(x86.UC_X86_REG_CR0) & 0x80000000:
        raise fail("cpu.forget_code left paging off")


def _int32s(blob: bytes) -> tuple[int, ...]:
    return struct.unpack_from(f"<{len(blob) // 4}i", blob)


def check_unicorn() -> Quirks:
    """Run the checks; return the cpu.Quirks the workarounds need.
    Raises UnicornUnsupported naming the first broken assumption. The
    programs run once a process (every engine asks); the version is
    checked every time."""
    require_pinned_unicorn()
    return _self_test()


@functools.cache
def _self_test() -> Quirks:
    from unicorn import Uc, UcError
    from unicorn import unicorn_const as uc_const
    from unicorn import x86_const as x86

    from kos.machine.unicorn.cpu import ContextPatch, Quirks

    def fail(what: str) -> UnicornUnsupported:
        return UnicornUnsupported(f"unicorn {PINNED_VERSION} self-test: {what}; the embedded "
                                  f"emulator's workarounds no longer hold for this unicorn build")

    uc = Uc(uc_const.UC_ARCH_X86, uc_const.UC_MODE_32)
    uc.mem_map(0, 0x400000)
    uc.mem_write(0x800, struct.pack("<5Q", 0, 0x00CF9A000000FFFF, 0x00CF92000000FFFF,
                                    0x00CFFA000000FFFF, 0x00CFF2000000FFFF))
    pt = [(i << 12) | 3 for i in range(1024)]
    pt[NOT_PRESENT >> 12] = 0
    pt[READ_ONLY >> 12] = READ_ONLY | 1
    uc.mem_write(0x1000, struct.pack("<1024I", 0x2000 | 3, *([0] * 1023)))
    uc.mem_write(0x2000, struct.pack("<1024I", *pt))
    uc.mem_write(CODE, _PROGRAM)
    uc.reg_write(x86.UC_X86_REG_GDTR, (0, 0x800, 39, 0))
    uc.reg_write(x86.UC_X86_REG_CR0, uc.reg_read(x86.UC_X86_REG_CR0) | 1)
    uc.reg_write(x86.UC_X86_REG_CS, 0x08)
    for reg in (x86.UC_X86_REG_DS, x86.UC_X86_REG_ES, x86.UC_X86_REG_SS):
        uc.reg_write(reg, 0x10)
    uc.reg_write(x86.UC_X86_REG_CR3, 0x1000)
    uc.reg_write(x86.UC_X86_REG_CR0, uc.reg_read(x86.UC_X86_REG_CR0) | 0x80010000)
    uc.reg_write(x86.UC_X86_REG_ESP, 0x8000)
    baseline = _int32s(bytes(uc.context_save()))
    seen = _Observed()

    def on_intr(uc: Uc, intno: int, _: object) -> None:
        eip = uc.reg_read(x86.UC_X86_REG_EIP)
        seen.faults.append((intno, eip, uc.reg_read(x86.UC_X86_REG_CR2)))
        blob = bytes(uc.context_save())
        seen.contexts.append(blob)
        if seen.old_exception is None:
            now = _int32s(blob)
            hits = [i * 4 for i, (a, b) in enumerate(zip(baseline, now, strict=True)) if a == -1 and b == 14]
            if len(hits) != 1:
                uc.emu_stop()
                return
            seen.old_exception = hits[0]
        uc.reg_write(x86.UC_X86_REG_EIP, eip + FAULT_LEN)
        ContextPatch(uc, Quirks(0, seen.old_exception, 0)).end_of_delivery()

    def on_in(uc: Uc, port: int, size: int, _: object) -> int:
        seen.io.append(("in", port, size))
        return IN_VALUE

    def on_out(uc: Uc, port: int, size: int, value: int, _: object) -> None:
        seen.io.append(("out", port, value))

    def on_code(uc: Uc, addr: int, size: int, _: object) -> None:
        seen.code_hook.append(addr)

    uc.hook_add(uc_const.UC_HOOK_INTR, on_intr)
    uc.hook_add(uc_const.UC_HOOK_INSN, on_in, None, 1, 0, x86.UC_X86_INS_IN)
    uc.hook_add(uc_const.UC_HOOK_INSN, on_out, None, 1, 0, x86.UC_X86_INS_OUT)
    try:
        uc.emu_start(CODE, 0x300000)
    except UcError as e:
        raise fail(f"the fault program stopped with {e}") from None
    if seen.old_exception is None:
        raise fail("cannot find env->old_exception in the saved context")
    got = [(eip, cr2) for _, eip, cr2 in seen.faults]
    if [n for n, _, _ in seen.faults] != [14, 14, 14]:
        raise fail(f"page faults arrived as vectors {[n for n, _, _ in seen.faults]}, not 14, 14, 14 "
                   "(the old_exception reset does not prevent the escalation to #DF)")
    if got != [(eip, cr2) for eip, cr2, _ in EXPECTED_FAULTS]:
        raise fail(f"page faults reported (eip, cr2) {got}")
    values = [_int32s(c) for c in seen.contexts]
    want = [e for _, _, e in EXPECTED_FAULTS]
    err_offsets = [i * 4 for i in range(len(values[0])) if [v[i] for v in values] == want]
    if len(err_offsets) != 1:
        raise fail(f"cannot find env->error_code in the saved context ({len(err_offsets)} candidates)")
    if seen.io != [("in", 0x40, 1), ("out", 0xF4, IN_VALUE)]:
        raise fail(f"port I/O hooks saw {seen.io}")
    if uc.reg_read(x86.UC_X86_REG_EIP) != AFTER_HLT:
        raise fail(f"HLT did not end emu_start after it (eip {uc.reg_read(x86.UC_X86_REG_EIP):#x})")

    uc.hook_add(uc_const.UC_HOOK_CODE, on_code, None, AFTER_HLT, AFTER_HLT)
    uc.ctl_flush_tb()
    uc.emu_start(AFTER_HLT, 0x300000)
    if seen.code_hook != [AFTER_HLT]:
        raise fail("a code hook added after translation did not fire after ctl_flush_tb()")
    try:
        uc.emu_start(UD2, 0x300000)
        raise fail("ud2 did not stop emulation")
    except UcError as e:
        if e.errno != uc_const.UC_ERR_INSN_INVALID or uc.reg_read(x86.UC_X86_REG_EIP) != UD2:
            raise fail(f"ud2 ended with {e} at {uc.reg_read(x86.UC_X86_REG_EIP):#x}") from None
    # The slice first: finding hflags leaves other page tables loaded.
    _check_slice(uc, fail)
    _check_ports(fail)
    _check_ram_above_4g(fail)
    _check_forget_code(fail)
    hflags = _find_hflags(uc, baseline, fail)
    return Quirks(error_code=err_offsets[0], old_exception=seen.old_exception, hflags=hflags)


def _check_slice(uc: Uc, fail: Callable[[str], UnicornUnsupported]) -> None:
    """An expired slice (slice.py) stops emulation before the next block
    runs any of its instructions, and the next start runs that block."""
    from unicorn import x86_const as x86

    from kos.machine.unicorn.slice import Slice

    sl = Slice(uc)
    try:
        uc.reg_write(x86.UC_X86_REG_EAX, 0)
        sl.expire()
        uc.emu_start(AFTER_HLT, 0x300000)
        eip, eax = uc.reg_read(x86.UC_X86_REG_EIP), uc.reg_read(x86.UC_X86_REG_EAX)
        if (eip, eax) != (AFTER_HLT, 0) or not sl.take():
            raise fail(f"an expired time slice did not stop emulation before its block "
                       f"(eip {eip:#x}, eax {eax})")
        uc.emu_start(AFTER_HLT, 0x300000)
        if uc.reg_read(x86.UC_X86_REG_EAX) != 1 or sl.take():
            raise fail("the block after an ended time slice did not run once")
    finally:
        sl.close()


# The port program: the UART's registers through the C hooks, then two
# ports of no UART through the Python callbacks.
_PORTS_PROGRAM = bytes.fromhex(
    "66bafd03"       # mov dx, 0x3fd
    "ec"             # in al, dx          LSR: data ready
    "88c3"           # mov bl, al
    "66baf803"       # mov dx, 0x3f8
    "ee"             # out dx, al         THR
    "ec"             # in al, dx          RBR: the FIFO's byte
    "88c7"           # mov bh, al
    "e6f4"           # out 0xf4, al       another port
    "e440"           # in al, 0x40
    "f4"             # hlt
)
PORTS_BYTE = 0xA7


def _check_ports(fail: Callable[[str], UnicornUnsupported]) -> None:
    """The C port hooks (ports.py) are the ones unicorn calls for IN and
    OUT, with the port, size and value where uart.c expects them: the
    FIFO's byte read through RBR, LSR's data-ready bit, THR's byte
    collected, and the other ports handed to Python. count.c's code hook
    counts as many instructions as a Python one, and cover.c's block hook
    records blocks that hold every instruction that ran."""
    import ctypes

    from unicorn import Uc, UcError
    from unicorn import unicorn_const as uc_const
    from unicorn import x86_const as x86

    from kos.machine.unicorn import native
    from kos.machine.unicorn.coverage import Cover
    from kos.machine.unicorn.devices.uart import COM1
    from kos.machine.unicorn.ports import PortHooks

    uc = Uc(uc_const.UC_ARCH_X86, uc_const.UC_MODE_32)
    uc.mem_map(0, 0x10000)
    uc.mem_write(0x1000, _PORTS_PROGRAM)
    slow: list[tuple[str, int, int, int]] = []
    sent: list[bytes] = []

    def on_in(port: int, size: int) -> int:
        slow.append(("in", port, size, 0))
        return IN_VALUE

    def on_out(port: int, size: int, value: int) -> None:
        slow.append(("out", port, size, value))

    hooks = PortHooks(uc, COM1, on_in, on_out, sent.append)
    count = ctypes.c_uint64(0)
    native.hook_add(uc, uc_const.UC_HOOK_CODE, native.library().count_code_hook,
                    ctypes.c_void_p(ctypes.addressof(count)))
    sizes = (ctypes.c_uint16 * len(_PORTS_PROGRAM))()
    cover = Cover(0x1000, len(_PORTS_PROGRAM), sizes)
    native.hook_add(uc, uc_const.UC_HOOK_BLOCK, native.library().cover_block_hook,
                    ctypes.c_void_p(ctypes.addressof(cover)),
                    begin=0x1000, end=0x1000 + len(_PORTS_PROGRAM) - 1)
    stepped: list[int] = []
    uc.hook_add(uc_const.UC_HOOK_CODE, lambda uc, addr, size, _: stepped.append(addr))
    try:
        hooks.set_modes(hooks.fast_lsr | hooks.fast_rbr | hooks.fast_thr)
        hooks.fifo.append(PORTS_BYTE)
        try:
            uc.emu_start(0x1000, 0x1000 + len(_PORTS_PROGRAM))
        except UcError as e:
            raise fail(f"the port program stopped with {e}") from None
        lsr, rbr = uc.reg_read(x86.UC_X86_REG_BL), uc.reg_read(x86.UC_X86_REG_BH)
        events = hooks.take_events()
        if (lsr, rbr) != (0x61, PORTS_BYTE) or len(hooks.fifo):
            raise fail(f"the C port hook read LSR {lsr:#x} and RBR {rbr:#x}, not 0x61 and {PORTS_BYTE:#x}")
        if sent != [b"\x61"] or events != hooks.emptied | hooks.sent:
            raise fail(f"the C port hook sent {sent} with events {events:#x}")
        want = [("out", 0xF4, 1, PORTS_BYTE), ("in", 0x40, 1, 0)]
        if slow != want or uc.reg_read(x86.UC_X86_REG_AL) != IN_VALUE:
            raise fail(f"the C port hooks passed {slow} to Python, not {want}")
        if count.value != len(stepped) or not stepped:
            raise fail(f"the C instruction count is {count.value}, a Python code hook counted {len(stepped)}")
        blocks = [(0x1000 + at, size) for at, size in enumerate(sizes) if size]
        if not blocks or any(not any(a <= addr < a + n for a, n in blocks) for addr in stepped):
            raise fail(f"the C block hook recorded {blocks}, which miss instructions that ran")
    finally:
        hooks.close()


# Ring 3 at USER_CODE: `int 0x80`, reached by an IRET from RING3_ENTRY.
PAGE_DIRECTORY, PAGE_TABLE = 0x1000, 0x2000
RING3_ENTRY = 0x10100
USER_CODE = 0x10200
USER_CS, USER_SS, KERNEL_CS, KERNEL_SS = 0x1B, 0x23, 0x08, 0x10
_IRET_TO_RING3 = bytes.fromhex(
    "6a23"           # push 0x23          ss
    "6800900000"     # push 0x9000        esp
    "6a02"           # push 2             eflags
    "6a1b"           # push 0x1b          cs
    "6800020100"     # push 0x10200       eip
    "cf"             # iret
)


def _find_hflags(uc: Uc, ring0: tuple[int, ...], fail: Callable[[str], UnicornUnsupported]) -> int:
    """The offset of env->hflags: the one word that differs between ring 0
    and ring 3 by exactly the CPL bits. Then check that clearing them there
    lets SS and CS take the kernel's selectors, as a delivery from ring 3
    needs (unicorn's register writes check privilege against the CPL)."""
    from unicorn import UcError
    from unicorn import unicorn_const as uc_const
    from unicorn import x86_const as x86

    # The code's and the user stack's pages, and the directory entry, user-accessible.
    uc.mem_write(PAGE_DIRECTORY, struct.pack("<I", PAGE_TABLE | 7))
    for page in (USER_CODE >> 12, 0x8):
        uc.mem_write(PAGE_TABLE + page * 4, struct.pack("<I", (page << 12) | 7))
    uc.reg_write(x86.UC_X86_REG_CR3, PAGE_DIRECTORY)
    uc.mem_write(RING3_ENTRY, _IRET_TO_RING3)
    uc.mem_write(USER_CODE, bytes.fromhex("cd80"))
    stops: list[int] = []

    def on_intr(uc: Uc, intno: int, _: object) -> None:
        stops.append(intno)
        uc.emu_stop()

    hook = uc.hook_add(uc_const.UC_HOOK_INTR, on_intr)
    uc.reg_write(x86.UC_X86_REG_ESP, 0x8000)
    uc.emu_start(RING3_ENTRY, 0x300000)
    uc.hook_del(hook)
    if stops != [0x80] or uc.reg_read(x86.UC_X86_REG_CS) != USER_CS:
        raise fail(f"an IRET to ring 3 and int 0x80 stopped with {stops}, cs="
                   f"{uc.reg_read(x86.UC_X86_REG_CS):#x}")
    ring3 = _int32s(bytes(uc.context_save()))
    hits = [i * 4 for i, (a, b) in enumerate(zip(ring0, ring3, strict=True)) if a ^ b == 3 and b & 3 == 3]
    if len(hits) != 1:
        raise fail(f"cannot find env->hflags in the saved context ({len(hits)} candidates)")
    from kos.machine.unicorn.cpu import ContextPatch, Quirks
    ContextPatch(uc, Quirks(0, 0, hits[0])).set_cpl(0)
    try:
        uc.reg_write(x86.UC_X86_REG_SS, KERNEL_SS)
        uc.reg_write(x86.UC_X86_REG_CS, KERNEL_CS)
    except UcError as e:
        raise fail(f"loading the kernel's SS and CS after clearing the CPL: {e}") from None
    return hits[0]
