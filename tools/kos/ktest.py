"""The in-kernel test suites from outside: which suites and cases the image
registers (read from its .ktest_suites section, laid out by DWARF), and a
boot with ktest= on the kernel command line that runs them and exits, as
`kunit.py run` does.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile

from kos import ktap, paths
from kos.machine import Machine, qemu_command
from kos.machine.unicorn import UnicornMachine, unicorn_command

MANUAL = "KTEST_MANUAL"


@dataclass(frozen=True)
class Suite:
    name: str
    cases: tuple[str, ...]      # in run order, the check last
    manual: bool                # run only when named


def _members(elf: ELFFile, struct_name: str) -> tuple[dict[str, int], int]:
    """Member offsets and size of a struct, from the DWARF of a ktest unit."""
    dwarf = elf.get_dwarf_info()
    for cu in dwarf.iter_CUs():
        top = cu.get_top_DIE()
        if b"kernel/test/" not in (top.attributes.get("DW_AT_name").value or b""):
            continue
        for die in cu.iter_DIEs():
            name = die.attributes.get("DW_AT_name")
            if die.tag != "DW_TAG_structure_type" or name is None or name.value != struct_name.encode():
                continue
            if "DW_AT_byte_size" not in die.attributes:
                continue
            members = {m.attributes["DW_AT_name"].value.decode():
                       m.attributes["DW_AT_data_member_location"].value
                       for m in die.iter_children() if m.tag == "DW_TAG_member"}
            return members, die.attributes["DW_AT_byte_size"].value
    raise LookupError(f"no DWARF for struct {struct_name} in kernel/test/")


def _enumerator(elf: ELFFile, name: str) -> int:
    """The value of an enumerator, from the DWARF of a ktest unit."""
    for cu in elf.get_dwarf_info().iter_CUs():
        if b"kernel/test/" not in (cu.get_top_DIE().attributes["DW_AT_name"].value or b""):
            continue
        for die in cu.iter_DIEs():
            attr = die.attributes.get("DW_AT_name")
            if die.tag == "DW_TAG_enumerator" and attr is not None and attr.value == name.encode():
                return int(die.attributes["DW_AT_const_value"].value)
    raise LookupError(f"no enumerator {name} in the image's DWARF")


def _read(elf: ELFFile, addr: int, n: int) -> bytes:
    for seg in elf.iter_segments():
        if seg["p_type"] == "PT_LOAD" and seg["p_vaddr"] <= addr < seg["p_vaddr"] + seg["p_filesz"]:
            off = addr - seg["p_vaddr"]
            return seg.data()[off:off + n]
    raise ValueError(f"{addr:#x} is not in the image's loaded data")


def _string(elf: ELFFile, addr: int) -> str:
    out = b""
    while not out.endswith(b"\0"):
        out += _read(elf, addr + len(out), 64)
    return out[:out.index(b"\0")].decode()


def _u32(elf: ELFFile, addr: int) -> int:
    return struct.unpack("<I", _read(elf, addr, 4))[0]


def image_suites(kernel: Path = paths.KERNEL_ELF) -> list[Suite]:
    """Every suite the image registers, in the order `ktest list` prints them."""
    with Path(kernel).open("rb") as f:
        elf = ELFFile(f)
        suite_m, _ = _members(elf, "ktest_suite")
        case_m, case_size = _members(elf, "ktest_case")
        manual = _enumerator(elf, MANUAL)
        symtab = elf.get_section_by_name(".symtab")
        start = symtab.get_symbol_by_name("__ktest_suites_start")[0]["st_value"]  # type: ignore[union-attr]
        end = symtab.get_symbol_by_name("__ktest_suites_end")[0]["st_value"]  # type: ignore[union-attr]
        suites = []
        for slot in range(start, end, 4):
            s = _u32(elf, slot)
            cases = []
            c = _u32(elf, s + suite_m["cases"])
            while (name := _u32(elf, c + case_m["name"])) != 0:
                cases.append(_string(elf, name))
                c += case_size
            check = _u32(elf, s + suite_m["check"] + case_m["name"])
            if check:
                cases.append(_string(elf, check))
            flags = _u32(elf, s + suite_m["flags"])
            suites.append(Suite(_string(elf, _u32(elf, s + suite_m["name"])), tuple(cases),
                                bool(flags & manual)))
        return suites


def boot_command(emulator: str, kernel: Path, memory: str, suites: str) -> list[str]:
    """The emulator's command line with ktest=SUITES on the kernel command line."""
    option = f"ktest={suites}"
    if emulator == "qemu":
        return qemu_command(kernel, memory, append=option)
    if emulator == "unicorn":
        return unicorn_command(kernel, memory, append=option)
    raise ValueError(f"unknown emulator {emulator!r}")


class KtestMachine(Machine):
    """A machine booted with ktest= on its command line: it runs the suites
    and stops by itself."""

    def __init__(self, emulator: str, kernel: Path = paths.KERNEL_ELF, memory: str = "64M",
                 suites: str = "all", log_path: Path | None = None) -> None:
        self.name = emulator
        super().__init__(kernel, memory, log_path or paths.LOGS / f"ktest-{emulator}.log")
        self.suites = suites

    def command(self) -> list[str]:
        if self.name == "qemu":
            from kos.machine.qemu import QemuMachine

            QemuMachine(self.kernel).command()     # the same check that QEMU is installed
        return boot_command(self.name, self.kernel, self.memory, self.suites)

    def environment(self) -> dict[str, str] | None:
        return UnicornMachine(self.kernel).environment() if self.name == "unicorn" else None


@dataclass
class BootRun:
    command: list[str]
    status: int | None          # the machine's exit status: 33 all passed, 35 not
    output: str                 # the serial log
    document: ktap.Document
    seconds: float


def run_at_boot(emulator: str, suites: str = "all", kernel: Path = paths.KERNEL_ELF,
                memory: str = "64M", timeout: float = 300.0, log_path: Path | None = None) -> BootRun:
    """Boot with ktest=suites, wait for the machine to stop, parse its KTAP."""
    m = KtestMachine(emulator, kernel, memory, suites, log_path)
    t0 = time.monotonic()
    try:
        console = m.start(wait_prompt=False, timeout=timeout)
        console.wait_exit(timeout)
        output = console.output_so_far()
        status = m.wait(timeout=5)
    finally:
        m.stop()
    return BootRun(m.command(), status, output, ktap.parse(output), time.monotonic() - t0)
