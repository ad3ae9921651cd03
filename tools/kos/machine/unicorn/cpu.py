"""The i386 CPU around unicorn: what unicorn leaves to its user.

unicorn runs guest code, segments and page tables faithfully, but it never
delivers an exception or interrupt through the guest's IDT: an exception
reaches UC_HOOK_INTR (#UD instead ends emu_start with UC_ERR_INSN_INVALID)
with EIP at the faulting instruction (after it, for INT n and INT3), and an
interrupt is ours to inject. This module does what the CPU would: the
multiboot entry state, a page-table walker, and delivery through an
interrupt or trap gate (error code, stack switch from ring 3 through the
TSS, double and triple fault when delivery itself fails).

Three unicorn 2.1.x limits are worked around through the CPU context (the
`Quirks` offsets, found and checked at start-up by selfcheck.py):
 - the hook gets no error code: we read env->error_code from the context;
 - env->old_exception is never reset (QEMU resets it after a delivery), so
   the next #PF or contributory fault would arrive as #DF: we reset it;
 - register writes check privilege against the current CPL, so from ring 3
   the kernel's SS and CS cannot be written: a delivery that changes
   privilege first sets the CPL bits of env->hflags to the gate's level,
   as the CPU's own switch does, then loads SS and CS.
"""

from __future__ import annotations

import ctypes
import struct
from dataclasses import dataclass

from unicorn import Uc
from unicorn import x86_const as x86

from kos.machine.unicorn.fastregs import FastRegs

# Page-table entries as the walker reads them from RAM.
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

EFLAGS_TF = 0x100
EFLAGS_IF = 0x200
EFLAGS_NT = 0x4000
EFLAGS_RF = 0x10000
EFLAGS_VM = 0x20000
EFLAGS_RESERVED = 0x2

PAGE = 4096

CR0_PE = 0x1
CR0_WP = 0x10000
CR0_PG = 0x80000000
CR4_PSE = 0x10
CR4_PAE = 0x20
MSR_EFER = 0xC0000080
EFER_NXE = 0x800

PTE_P = 0x1
PTE_W = 0x2
PTE_U = 0x4
PTE_A = 0x20
PTE_D = 0x40
PDE_PS = 0x80
PTE_NX = 1 << 63
PF_FETCH = 0x10                # error code: the access was an instruction fetch
PAE_ADDR = 0x000FFFFFFFFFF000

VEC_DF = 8
VEC_TS = 10
VEC_NP = 11
VEC_SS = 12
VEC_GP = 13
VEC_PF = 14
VECTORS_WITH_ERROR_CODE = frozenset({8, 10, 11, 12, 13, 14, 17, 21, 29, 30})

GATE_INT32 = 0xE
GATE_TRAP32 = 0xF


@dataclass
class Quirks:
    """Offsets into unicorn's saved CPU context (bytes of a UcContext) of
    two fields the Python API does not expose; found by selfcheck.py."""

    error_code: int
    old_exception: int
    hflags: int


class PageFault(Exception):
    """A guest page-table walk failed: what the CPU would report as #PF."""

    def __init__(self, addr: int, err: int) -> None:
        super().__init__(f"page fault at {addr:#010x} (error code {err:#x})")
        self.addr = addr
        self.err = err


class DeliveryFault(Exception):
    """Delivering an event raised another exception (vector, error code)."""

    def __init__(self, vector: int, err: int, cr2: int | None = None) -> None:
        super().__init__(f"exception {vector} (error code {err:#x}) during delivery")
        self.vector = vector
        self.err = err
        self.cr2 = cr2


class TripleFault(Exception):
    """A double fault could not be delivered: the CPU shuts down."""


class ContextPatch:
    """Read and patch fields of unicorn's CPU state through one reused context."""

    def __init__(self, uc: Uc, quirks: Quirks) -> None:
        self.uc = uc
        self.quirks = quirks
        self.ctx = uc.context_save()
        addr = ctypes.cast(self.ctx.context, ctypes.c_void_p).value
        assert addr is not None
        self.buf = (ctypes.c_char * self.ctx.size).from_address(addr)

    def error_code(self) -> int:
        """env->error_code of the exception the hook is handling."""
        self.uc.context_update(self.ctx)
        return int(struct.unpack_from("<I", self.buf, self.quirks.error_code)[0])

    def end_of_delivery(self) -> None:
        """What QEMU's do_interrupt_all does after a delivery: old_exception = -1."""
        self.uc.context_update(self.ctx)
        struct.pack_into("<i", self.buf, self.quirks.old_exception, -1)
        self.uc.context_restore(self.ctx)


    def set_cpl(self, cpl: int) -> None:
        """The CPL bits of env->hflags, as a privilege change sets them."""
        self.uc.context_update(self.ctx)
        off = self.quirks.hflags
        hflags = struct.unpack_from("<I", self.buf, off)[0]
        struct.pack_into("<I", self.buf, off, (hflags & ~3) | cpl)
        self.uc.context_restore(self.ctx)


def forget_code(uc: Uc, pages: list[int]) -> None:
    """Drop the code unicorn translated from the physical pages at these
    addresses, after RAM was written behind its back (it does not notice,
    and uc_mem_write does not either). unicorn finds a page's translations
    by a linear address, through the CPU's page tables; with paging off for
    the moment, a page's linear address is its physical one and no page
    can fault (selfcheck.py proves it)."""
    cr0 = uc.reg_read(x86.UC_X86_REG_CR0)
    if cr0 & CR0_PG:
        uc.reg_write(x86.UC_X86_REG_CR0, cr0 & ~CR0_PG)
    try:
        for page in pages:
            uc.ctl_remove_cache(page, page + PAGE)
    finally:
        if cr0 & CR0_PG:
            uc.reg_write(x86.UC_X86_REG_CR0, cr0)


class GateForbidden(Exception):
    """A software interrupt through a gate whose DPL is below the CPL:
    #GP with the gate's IDT selector, reported at the INT instruction."""

    def __init__(self, vector: int) -> None:
        super().__init__(f"int {vector:#x}: the gate's DPL forbids it at this privilege level")
        self.err = vector * 8 + 2


class Cpu:
    """Physical memory (the RAM buffer), the page walker and event delivery."""

    def __init__(self, uc: Uc, ram: memoryview, quirks: Quirks) -> None:
        self.uc = uc
        self.ram = ram
        self.patch = ContextPatch(uc, quirks)
        self.regs = FastRegs(uc)
        self._mmu = self.regs.batch([x86.UC_X86_REG_CR0, x86.UC_X86_REG_CR3, x86.UC_X86_REG_CR4])
        self._frame = self.regs.batch([x86.UC_X86_REG_CS, x86.UC_X86_REG_EFLAGS, x86.UC_X86_REG_ESP])
        self._cr = (0, 0, 0)

    def sync(self) -> None:
        """Read CR0, CR3 and CR4 for the page walker: call whenever the
        guest may have run since the last walk."""
        cr0, cr3, cr4 = self._mmu.read()
        self._cr = (cr0, cr3, cr4)

    def nx_enabled(self) -> bool:
        """EFER.NXE under PAE: NX bits forbid instruction fetches. Read only
        for fetches (the walker's other users never need it)."""
        return bool(self._cr[2] & CR4_PAE and self.uc.msr_read(MSR_EFER) & EFER_NXE)

    # Physical memory.
    def phys_read(self, addr: int, n: int) -> bytes:
        if addr < 0 or addr + n > len(self.ram):
            return bytes(self.uc.mem_read(addr, n))
        return bytes(self.ram[addr:addr + n])

    def phys_write(self, addr: int, data: bytes) -> None:
        if addr < 0 or addr + len(data) > len(self.ram):
            self.uc.mem_write(addr, data)
        else:
            self.ram[addr:addr + len(data)] = data

    def phys_u32(self, addr: int) -> int:
        if 0 <= addr <= len(self.ram) - 4:
            return int(_U32.unpack_from(self.ram, addr)[0])
        return int(_U32.unpack(self.phys_read(addr, 4))[0])

    def phys_u64(self, addr: int) -> int:
        if 0 <= addr <= len(self.ram) - 8:
            return int(_U64.unpack_from(self.ram, addr)[0])
        return int(_U64.unpack(self.phys_read(addr, 8))[0])

    # Paging.
    def translate(self, va: int, write: bool = False, user: bool = False,
                  fetch: bool = False) -> int:
        """The physical address of linear address va, setting accessed/dirty
        bits as the MMU would. Raises PageFault with the CPU's error code
        (P, W/R, U/S and, when EFER.NXE is on, I/D for a fetch). Uses the
        control registers read by the last sync()."""
        cr0, cr3, cr4 = self._cr
        if not cr0 & CR0_PG:
            return va
        err = (PTE_W if write else 0) | (PTE_U if user else 0)
        nxe = fetch and self.nx_enabled()
        if nxe:
            err |= PF_FETCH
        if cr4 & CR4_PAE:
            return self._walk_pae(va, write, user, nxe, err)
        pde_addr = (cr3 & 0xFFFFF000) + (va >> 22) * 4
        pde = self.phys_u32(pde_addr)
        if not pde & PTE_P:
            raise PageFault(va, err)
        if pde & PDE_PS and cr4 & CR4_PSE:
            entry_addr, entry, flags = pde_addr, pde, pde
            pa = (pde & 0xFFC00000) | (va & 0x3FFFFF)
        else:
            pte_addr = (pde & 0xFFFFF000) + ((va >> 12) & 0x3FF) * 4
            pte = self.phys_u32(pte_addr)
            if not pte & PTE_P:
                raise PageFault(va, err)
            entry_addr, entry = pte_addr, pte
            flags = pde & pte                  # both levels must allow W and U
            pa = (pte & 0xFFFFF000) | (va & 0xFFF)
            if not pde & PTE_A:
                self.phys_write(pde_addr, struct.pack("<I", pde | PTE_A))
        self._check(va, flags, write, user, False, err)
        new = entry | PTE_A | (PTE_D if write else 0)
        if new != entry:
            self.phys_write(entry_addr, struct.pack("<I", new))
        return pa

    def _check(self, va: int, flags: int, write: bool, user: bool, no_exec: bool, err: int) -> None:
        if user and not flags & PTE_U:
            raise PageFault(va, err | PTE_P)
        if write and not flags & PTE_W and (user or self._cr[0] & CR0_WP):
            raise PageFault(va, err | PTE_P)
        if no_exec:
            raise PageFault(va, err | PTE_P)

    def _walk_pae(self, va: int, write: bool, user: bool, nxe: bool, err: int) -> int:
        """The three-level PAE walk: PDPT (4 entries, P only), page
        directory (2 MiB pages with PS), page table; 64-bit entries whose
        bit 63 forbids instruction fetches when EFER.NXE is on."""
        pdpte = self.phys_u64((self._cr[1] & 0xFFFFFFE0) + (va >> 30) * 8)
        if not pdpte & PTE_P:
            raise PageFault(va, err)
        pde_addr = (pdpte & PAE_ADDR) + ((va >> 21) & 0x1FF) * 8
        pde = self.phys_u64(pde_addr)
        if not pde & PTE_P:
            raise PageFault(va, err)
        if pde & PDE_PS:
            entry_addr, entry, flags, nx = pde_addr, pde, pde, pde & PTE_NX
            pa = (pde & PAE_ADDR & ~0x1FFFFF) | (va & 0x1FFFFF)
        else:
            pte_addr = (pde & PAE_ADDR) + ((va >> 12) & 0x1FF) * 8
            pte = self.phys_u64(pte_addr)
            if not pte & PTE_P:
                raise PageFault(va, err)
            entry_addr, entry = pte_addr, pte
            flags = pde & pte
            nx = (pde | pte) & PTE_NX
            pa = (pte & PAE_ADDR) | (va & 0xFFF)
            if not pde & PTE_A:
                self.phys_write(pde_addr, struct.pack("<Q", pde | PTE_A))
        self._check(va, flags, write, user, bool(nxe and nx), err)
        new = entry | PTE_A | (PTE_D if write else 0)
        if new != entry:
            self.phys_write(entry_addr, struct.pack("<Q", new))
        return pa

    def virt_read(self, va: int, n: int) -> bytes:
        if n <= 0x1000 - (va & 0xFFF):
            return self.phys_read(self.translate(va), n)
        out = b""
        while n > 0:
            chunk = min(n, 0x1000 - (va & 0xFFF))
            out += self.phys_read(self.translate(va), chunk)
            va, n = va + chunk, n - chunk
        return out

    def virt_byte(self, va: int) -> int | None:
        """The byte at va, or None if it is not mapped."""
        try:
            return self.virt_read(va, 1)[0]
        except PageFault:
            return None

    # Entry.
    def enter_multiboot(self, gdt_addr: int, gdt_limit: int, cs: int, ds: int, entry: int,
                        eax: int, ebx: int) -> None:
        """The state a multiboot loader leaves: protected mode, paging off,
        flat segments, interrupts off, EAX = magic, EBX = the info."""
        uc = self.uc
        uc.reg_write(x86.UC_X86_REG_GDTR, (0, gdt_addr, gdt_limit, 0))
        uc.reg_write(x86.UC_X86_REG_CR0, (uc.reg_read(x86.UC_X86_REG_CR0) | CR0_PE) & ~CR0_PG)
        uc.reg_write(x86.UC_X86_REG_CR4, 0)          # unicorn starts with OSFXSR, FSGSBASE, OSXSAVE
        uc.reg_write(x86.UC_X86_REG_CS, cs)
        for reg in (x86.UC_X86_REG_DS, x86.UC_X86_REG_ES, x86.UC_X86_REG_FS, x86.UC_X86_REG_GS,
                    x86.UC_X86_REG_SS):
            uc.reg_write(reg, ds)
        uc.reg_write(x86.UC_X86_REG_EFLAGS, EFLAGS_RESERVED)
        uc.reg_write(x86.UC_X86_REG_EAX, eax)
        uc.reg_write(x86.UC_X86_REG_EBX, ebx)
        uc.reg_write(x86.UC_X86_REG_EIP, entry)
        self.sync()

    # Event delivery.
    def deliver(self, vector: int, err: int | None, eip: int, from_hook: bool,
                insn_len: int = 0) -> None:
        """Deliver vector through the IDT as the CPU would, returning to eip.
        insn_len > 0: a software interrupt (INT n, INT3, INTO) of that many
        bytes ending at eip, which the gate's DPL must allow at the current
        privilege level, else the INT raises #GP(vector * 8 + 2) at itself.
        A failure while delivering becomes a double fault; a failed double
        fault raises TripleFault."""
        self.sync()
        try:
            try:
                self._deliver(vector, err, eip, software=insn_len > 0)
            except GateForbidden as gp:
                vector, eip = VEC_GP, eip - insn_len
                self._deliver(VEC_GP, gp.err, eip)
        except DeliveryFault as first:
            if first.cr2 is not None:
                self.uc.reg_write(x86.UC_X86_REG_CR2, first.cr2)
            if vector == VEC_DF:
                raise TripleFault(f"exception {first.vector} while delivering a double fault") from None
            try:
                self._deliver(VEC_DF, 0, eip)
            except DeliveryFault as second:
                raise TripleFault(f"exception {second.vector} while delivering a double fault "
                                  f"(for vector {vector})") from None
        if from_hook:
            self.patch.end_of_delivery()

    def _descriptor(self, table_base: int, table_limit: int, selector: int, vector: int) -> int:
        index = selector & ~7
        if index + 7 > table_limit:
            raise DeliveryFault(VEC_GP, selector & ~3)
        return int.from_bytes(self._read_sys(table_base + index, 8), "little")

    def _read_sys(self, va: int, n: int) -> bytes:
        try:
            return self.virt_read(va, n)
        except PageFault as pf:
            raise DeliveryFault(VEC_PF, pf.err, pf.addr) from None

    def _deliver(self, vector: int, err: int | None, eip: int, software: bool = False) -> None:
        uc = self.uc
        _, idt_base, idt_limit = self.regs.table(x86.UC_X86_REG_IDTR)
        ext = vector * 8 + 2
        if vector * 8 + 7 > idt_limit:
            raise DeliveryFault(VEC_GP, ext)
        gate = int.from_bytes(self._read_sys(idt_base + vector * 8, 8), "little")
        gtype = (gate >> 40) & 0xF
        if not gate >> 47 & 1:
            raise DeliveryFault(VEC_NP, ext)
        if gtype not in (GATE_INT32, GATE_TRAP32):
            raise DeliveryFault(VEC_GP, ext)          # task and 16-bit gates: not modelled
        cs, eflags, esp = self._frame.read()
        cs &= 0xFFFF
        cpl = cs & 3
        if software and (gate >> 45) & 3 < cpl:
            raise GateForbidden(vector)
        selector = (gate >> 16) & 0xFFFF
        offset = (gate & 0xFFFF) | ((gate >> 32) & 0xFFFF0000)
        _, gdt_base, gdt_limit = self.regs.table(x86.UC_X86_REG_GDTR)
        if selector & ~3 == 0:
            raise DeliveryFault(VEC_GP, 0)
        code = self._descriptor(gdt_base, gdt_limit, selector, vector)
        if not code >> 47 & 1:
            raise DeliveryFault(VEC_NP, selector & ~3)
        new_cpl = (code >> 45) & 3
        frame = [eflags, cs, eip]
        if new_cpl < cpl:
            # The inner stack from the TSS (esp0/ss0 for ring 0), which must
            # be there and name a present data segment at the new level.
            tr_sel, tss_base, tss_limit, _ = uc.reg_read(x86.UC_X86_REG_TR)
            if tss_limit < 4 + 8 * new_cpl + 7:
                raise DeliveryFault(VEC_TS, tr_sel & ~3)
            esp0, ss0 = struct.unpack("<II", self._read_sys(tss_base + 4 + 8 * new_cpl, 8))
            ss0 &= 0xFFFF
            if ss0 & ~3 == 0 or ss0 & 3 != new_cpl:
                raise DeliveryFault(VEC_TS, ss0 & ~3)
            stack = self._descriptor(gdt_base, gdt_limit, ss0, vector)
            if (stack >> 45) & 3 != new_cpl or (stack >> 43) & 1 or not (stack >> 41) & 1:
                raise DeliveryFault(VEC_TS, ss0 & ~3)
            if not stack >> 47 & 1:
                raise DeliveryFault(VEC_SS, ss0 & ~3)
            frame = [uc.reg_read(x86.UC_X86_REG_SS), esp, *frame]
            esp = esp0
            new_ss: int | None = ss0
        else:
            new_ss = None
        if err is not None and vector in VECTORS_WITH_ERROR_CODE:
            frame.append(err)
        data = struct.pack(f"<{len(frame)}I", *reversed(frame))
        esp = (esp - len(data)) & 0xFFFFFFFF
        try:
            self.virt_write_checked(esp, data, user=False)
        except PageFault as pf:
            raise DeliveryFault(VEC_PF, pf.err, pf.addr) from None
        if new_ss is not None:
            # unicorn checks SS and CS writes against the CPL it keeps in
            # hflags: lower it first, as the CPU's switch does.
            self.patch.set_cpl(new_cpl)
            uc.reg_write(x86.UC_X86_REG_SS, new_ss)
        regs = self.regs
        regs.write(x86.UC_X86_REG_ESP, esp)
        cleared = EFLAGS_TF | EFLAGS_NT | EFLAGS_RF | EFLAGS_VM
        if gtype == GATE_INT32:
            cleared |= EFLAGS_IF
        regs.write(x86.UC_X86_REG_EFLAGS, eflags & ~cleared)
        if selector != cs:
            uc.reg_write(x86.UC_X86_REG_CS, selector)
        regs.write(x86.UC_X86_REG_EIP, offset)

    def virt_write_checked(self, va: int, data: bytes, user: bool) -> None:
        """Write data at linear address va as a supervisor (or user) store,
        checking every page before writing any byte."""
        pieces = []
        off = 0
        while off < len(data):
            chunk = min(len(data) - off, 0x1000 - ((va + off) & 0xFFF))
            pieces.append((self.translate(va + off, write=True, user=user), data[off:off + chunk]))
            off += chunk
        for pa, piece in pieces:
            self.phys_write(pa, piece)
