"""The in-kernel test suites from outside: which suites and cases the image
registers (read from its .ktest_suites section, laid out by DWARF), and a
boot with ktest= on the kernel command line that runs them and exits, as
`kunit.py run` does.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile

from kos import ktap, paths
from kos.machine import Machine, qemu_command
from kos.machine.unicorn import unicorn_command
from kos.target import abi

MANUAL = "KTEST_MANUAL"


@dataclass(frozen=True)
class Suite:
    name: str
    cases: tuple[str, ...]      # in run order, the check last
    manual: bool                # run only when named


def _reader(elf: ELFFile) -> Callable[[int, int], bytes]:
    """read(addr, n): bytes of the image's loaded segments at a virtual address."""
    segments = [(seg["p_vaddr"], seg.data()) for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD"]

    def read(addr: int, n: int) -> bytes:
        for base, data in segments:
            if base <= addr < base + len(data):
                return data[addr - base:addr - base + n]
        raise ValueError(f"{addr:#x} is not in the image's loaded data")

    return read


def image_suites(kernel: Path = paths.KERNEL_ELF) -> list[Suite]:
    """Every suite the image registers, in the order `ktest list` prints them:
    the pointers in .ktest_suites, laid out as the DWARF says (kos.target.abi)."""
    image = abi.load(kernel)
    suite_t, case_t = image.struct("ktest_suite"), image.struct("ktest_case")
    manual = image.constant(MANUAL)
    with Path(kernel).open("rb") as f:
        read = _reader(ELFFile(f))

    def u32(addr: int) -> int:
        return int(struct.unpack("<I", read(addr, 4))[0])

    def string(addr: int) -> str:
        out = b""
        while b"\0" not in out:
            out += read(addr + len(out), 64)
        return out[:out.index(b"\0")].decode()

    suites = []
    for slot in range(image.symbol("__ktest_suites_start"), image.symbol("__ktest_suites_end"), 4):
        s = suite_t.unpack(read(u32(slot), suite_t.size))
        cases = []
        c = int(s["cases"])
        while (case := case_t.unpack(read(c, case_t.size)))["name"]:
            cases.append(string(int(case["name"])))
            c += case_t.size
        check = s["check"]
        if isinstance(check, dict) and check["name"]:
            cases.append(string(int(check["name"])))
        suites.append(Suite(string(int(s["name"])), tuple(cases),
                            bool(int(s["flags"]) & manual)))
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
    return run_to_the_end(KtestMachine(emulator, kernel, memory, suites, log_path), timeout)


def run_to_the_end(m: Machine, timeout: float = 300.0) -> BootRun:
    """Boot m (a machine whose kernel runs its suites at boot), wait for it
    to stop, parse its KTAP."""
    cmd = m.command()
    t0 = time.monotonic()
    try:
        console = m.start(wait_prompt=False, timeout=timeout)
        console.wait_exit(timeout)
        output = console.output_so_far()
        status = m.wait(timeout=5)
    finally:
        m.stop()
    return BootRun(cmd, status, output, ktap.parse(output), time.monotonic() - t0)
