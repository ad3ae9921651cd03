"""Loading a Multiboot v1 kernel the way QEMU's -kernel does: the ELF's
PT_LOAD segments at their physical addresses, and a multiboot information
structure whose memory map has the shape QEMU (SeaBIOS) gives for the same
RAM size.

QEMU's map, measured with `-m` 8M .. 5G (the kernel prints it):

    0x00000000-0x0009fbff  available   (639 KiB of low memory)
    0x0009fc00-0x0009ffff  reserved    (EBDA)
    0x000f0000-0x000fffff  reserved    (BIOS)
    0x00100000-LOW-0x20001 available
    LOW-0x20000-LOW-1      reserved    (SeaBIOS keeps the top 128 KiB)
    0xfffc0000-0xffffffff  reserved    (BIOS flash)
    0x100000000-...        available   (only when RAM >= 3.5 GiB: the rest)

LOW is all of RAM below 3.5 GiB; from 3.5 GiB on, QEMU's i440fx machine
keeps 3 GiB below the PCI hole and puts the rest above 4 GiB.
"""

from __future__ import annotations

import functools
import os
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from kos.target import abi as kabi

MULTIBOOT_HEADER_MAGIC = 0x1BADB002
MULTIBOOT_BOOTLOADER_MAGIC = 0x2BADB002
MULTIBOOT_SEARCH = 8192           # the header must lie in the image's first 8 KiB

MB_INFO_MEMORY = 0x001
MB_INFO_CMDLINE = 0x004
MB_INFO_MODS = 0x008
MB_INFO_MEM_MAP = 0x040
MB_INFO_LOADER = 0x200

E820_AVAILABLE = 1
E820_RESERVED = 2

LOW_MEMORY_TOP = 0x9FC00          # 639 KiB, as SeaBIOS reports
EBDA_END = 0xA0000
BIOS_START = 0xF0000
ONE_MIB = 0x100000
TOP_RESERVED = 0x20000            # SeaBIOS reserves the top 128 KiB of low RAM
FLASH_START = 0xFFFC0000
FOUR_GIB = 1 << 32
SPLIT_THRESHOLD = 0xE0000000      # from 3.5 GiB of RAM on, i440fx splits at 3 GiB
SPLIT_LOW = 0xC0000000

# Where the emulator puts what a loader leaves in guest memory: the EBDA
# (reserved in the map, so the kernel never hands it out).
BOOT_GDT = 0x9FC00
MBI_ADDR = 0x9FC40
MMAP_ADDR = 0x9FD00
LOADER_NAME_ADDR = 0x9FE00
CMDLINE_ADDR = 0x9FE40
MODS_ADDR = 0x9FDC0               # up to four 16-byte module entries
MAX_MODULES = 4
PAGE = 0x1000
LOADER_NAME = b"KOS unicorn machine\0"

# A flat GDT as a multiboot loader leaves it: null, code 0x08, data 0x10.
BOOT_GDT_ENTRIES = (0, 0x00CF9A000000FFFF, 0x00CF92000000FFFF)
BOOT_CS = 0x08
BOOT_DS = 0x10


class LoadError(RuntimeError):
    """The file is not a kernel this loader can boot."""


@dataclass(frozen=True)
class Region:
    base: int
    length: int
    type: int

    @property
    def end(self) -> int:
        return self.base + self.length


def ram_split(ram: int) -> tuple[int, int]:
    """(bytes below 4 GiB, bytes above 4 GiB) for ram bytes of RAM."""
    if ram >= SPLIT_THRESHOLD:
        return SPLIT_LOW, ram - SPLIT_LOW
    return ram, 0


def memory_map(ram: int) -> list[Region]:
    """The e820-style map QEMU passes for ram bytes of RAM."""
    low, high = ram_split(ram)
    regions = [
        Region(0, LOW_MEMORY_TOP, E820_AVAILABLE),
        Region(LOW_MEMORY_TOP, EBDA_END - LOW_MEMORY_TOP, E820_RESERVED),
        Region(BIOS_START, ONE_MIB - BIOS_START, E820_RESERVED),
        Region(ONE_MIB, low - TOP_RESERVED - ONE_MIB, E820_AVAILABLE),
        Region(low - TOP_RESERVED, TOP_RESERVED, E820_RESERVED),
        Region(FLASH_START, FOUR_GIB - FLASH_START, E820_RESERVED),
    ]
    if high:
        regions.append(Region(FOUR_GIB, high, E820_AVAILABLE))
    return regions


def multiboot_info(ram: int, cmdline: str = "",
                   modules: Sequence[tuple[int, int]] = ()) -> list[tuple[int, bytes]]:
    """The multiboot information structure and what it points to, as
    (physical address, bytes) pieces to write into guest memory. modules are
    the [start, end) physical ranges of the modules, already in memory."""
    low, _ = ram_split(ram)
    mmap = b"".join(struct.pack("<IQQI", 20, r.base, r.length, r.type) for r in memory_map(ram))
    mem_lower = LOW_MEMORY_TOP // 1024
    mem_upper = (low - TOP_RESERVED - ONE_MIB) // 1024
    flags = MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MEM_MAP | MB_INFO_LOADER
    if len(modules) > MAX_MODULES:
        raise LoadError(f"at most {MAX_MODULES} modules, not {len(modules)}")
    if modules:
        flags |= MB_INFO_MODS
    info = bytearray(0x58)
    struct.pack_into("<III", info, 0, flags, mem_lower, mem_upper)
    struct.pack_into("<I", info, 16, CMDLINE_ADDR)
    struct.pack_into("<II", info, 20, len(modules), MODS_ADDR if modules else 0)
    mods = b"".join(struct.pack("<IIII", start, end, 0, 0) for start, end in modules)
    struct.pack_into("<II", info, 44, len(mmap), MMAP_ADDR)
    struct.pack_into("<I", info, 64, LOADER_NAME_ADDR)
    cmd = cmdline.encode()[:0x1B0] + b"\0"
    gdt = struct.pack("<3Q", *BOOT_GDT_ENTRIES)
    return [(BOOT_GDT, gdt), (MBI_ADDR, bytes(info)), (MMAP_ADDR, mmap),
            (LOADER_NAME_ADDR, LOADER_NAME), (CMDLINE_ADDR, cmd), (MODS_ADDR, mods)]


def place_modules(image: KernelImage, modules: Sequence[bytes]) -> list[tuple[int, bytes]]:
    """Where QEMU's -kernel puts modules: one after another from the first
    page boundary past the kernel image, each starting on a page."""
    addr = max(a + memsz for a, _, memsz in image.segments)
    placed = []
    for data in modules:
        addr = (addr + PAGE - 1) & ~(PAGE - 1)
        placed.append((addr, bytes(data)))
        addr += len(data)
    return placed


@dataclass(frozen=True, eq=False)
class KernelImage:
    """What the emulator needs from the kernel's ELF file. One is shared by
    every machine that loads the same version of the file (load_kernel), so
    nothing changes it after loading."""

    path: Path
    entry: int
    segments: list[tuple[int, bytes, int]]          # (physical address, file bytes, memory size)
    symbols: dict[str, int] = field(default_factory=dict)
    functions: list[tuple[int, int, str]] = field(default_factory=list)  # (start, size, name) sorted

    def symbol(self, name: str) -> int:
        try:
            return self.symbols[name]
        except KeyError:
            raise KeyError(f"{self.path.name} has no symbol {name!r}") from None

    def function_at(self, addr: int) -> str:
        """"name+0xoff" for a code address, or its hex if no function holds it."""
        for start, size, name in self.functions:
            if start <= addr < start + max(size, 1):
                return f"{name}+{addr - start:#x}"
        return f"{addr:#010x}"

    @functools.cached_property
    def abi(self) -> kabi.Abi:
        """The image's C interface (its DWARF), read at its first use."""
        return kabi.load(self.path)


_loaded: dict[tuple[str, int, int], KernelImage] = {}
_loaded_lock = threading.Lock()


def load_kernel(path: Path) -> KernelImage:
    """Read a Multiboot v1 ELF kernel, once per version of the file (the
    suite boots the same image hundreds of times, and reading its symbol
    table takes some 30 ms). Raises LoadError if it is not one."""
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as e:
        raise LoadError(f"cannot read {path}: {e.strerror}") from None
    key = (str(path), st.st_mtime_ns, st.st_size)
    with _loaded_lock:
        image = _loaded.get(key)
        if image is None:
            for old in [k for k in _loaded if k[0] == key[0]]:
                del _loaded[old]
            image = _loaded[key] = _read_kernel(path)
        return image


def _read_kernel(path: Path) -> KernelImage:
    try:
        with path.open("rb") as f:
            elf = ELFFile(f)
            if elf.get_machine_arch() != "x86" or elf.elfclass != 32:
                raise LoadError(f"{path}: not a 32-bit x86 ELF file")
            segments = [(seg["p_paddr"], seg.data(), seg["p_memsz"])
                        for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD"]
            symbols: dict[str, int] = {}
            functions: list[tuple[int, int, str]] = []
            symtab = elf.get_section_by_name(".symtab")
            if isinstance(symtab, SymbolTableSection):
                for sym in symtab.iter_symbols():
                    if not sym.name or sym["st_info"]["type"] in ("STT_FILE", "STT_SECTION"):
                        continue
                    # A global wins over a static of the same name.
                    if sym.name not in symbols or sym["st_info"]["bind"] == "STB_GLOBAL":
                        symbols[sym.name] = sym["st_value"]
                    if sym["st_info"]["type"] == "STT_FUNC":
                        functions.append((sym["st_value"], sym["st_size"], sym.name))
            entry = elf.header["e_entry"]
    except OSError as e:
        raise LoadError(f"cannot read {path}: {e.strerror}") from None
    except Exception as e:  # pyelftools raises its own error types for garbage
        if isinstance(e, LoadError):
            raise
        raise LoadError(f"{path}: not an ELF file ({e})") from None
    if not segments:
        raise LoadError(f"{path}: no loadable segments")
    _check_multiboot_header(path)
    functions.sort()
    return KernelImage(path, entry, segments, symbols, functions)


def _check_multiboot_header(path: Path) -> None:
    with path.open("rb") as f:
        head = f.read(MULTIBOOT_SEARCH)
    for off in range(0, len(head) - 11, 4):
        magic, flags, checksum = struct.unpack_from("<III", head, off)
        if magic == MULTIBOOT_HEADER_MAGIC and (magic + flags + checksum) & 0xFFFFFFFF == 0:
            if flags & 0x10000:
                raise LoadError(f"{path}: a.out-kludge multiboot images are not supported")
            return
    raise LoadError(f"{path}: no Multiboot v1 header in the first {MULTIBOOT_SEARCH} bytes")
