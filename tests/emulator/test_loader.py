"""The multiboot loader: the kernel sees the memory map QEMU gives for the
same RAM size (the expected lines are what KOS prints under QEMU 8.x with
-m 32M, 64M, 256M, 1G and 4G)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from kos.machine import make_machine, qemu_available
from kos.machine.memsize import parse_size
from kos.machine.unicorn import loader
from kos.machine.unicorn.kernel import UnicornKernel

QEMU_MAPS = {
    "32M": ("mem_lower=639 KiB mem_upper=31616 KiB", "0x0000000001fdffff",
            "0x0000000001fe0000-0x0000000001ffffff"),
    "64M": ("mem_lower=639 KiB mem_upper=64384 KiB", "0x0000000003fdffff",
            "0x0000000003fe0000-0x0000000003ffffff"),
    "256M": ("mem_lower=639 KiB mem_upper=260992 KiB", "0x000000000ffdffff",
             "0x000000000ffe0000-0x000000000fffffff"),
    "1G": ("mem_lower=639 KiB mem_upper=1047424 KiB", "0x000000003ffdffff",
           "0x000000003ffe0000-0x000000003fffffff"),
}


def qemu_lines(size: str) -> list[str]:
    head, avail_end, top = QEMU_MAPS[size]
    return [
        f"multiboot: {head}",
        "  [mem 0x0000000000000000-0x000000000009fbff] available",
        "  [mem 0x000000000009fc00-0x000000000009ffff] reserved",
        "  [mem 0x00000000000f0000-0x00000000000fffff] reserved",
        f"  [mem 0x0000000000100000-{avail_end}] available",
        f"  [mem {top}] reserved",
        "  [mem 0x00000000fffc0000-0x00000000ffffffff] reserved",
    ]


def map_lines(boot_log: str) -> list[str]:
    return [line for line in boot_log.splitlines() if line.startswith(("multiboot: mem_", "  [mem "))]


@pytest.mark.parametrize("size", list(QEMU_MAPS))
def test_the_kernel_sees_qemus_memory_map(kernel: Path, size: str):
    with UnicornKernel(kernel, size) as k:
        assert map_lines(k.boot().drain_serial()) == qemu_lines(size)


def test_from_3_5_gib_ram_is_split_around_the_pci_hole_as_on_qemu():
    regions = loader.memory_map(4 << 30)
    assert regions[3] == loader.Region(0x100000, 0xC0000000 - 0x20000 - 0x100000, loader.E820_AVAILABLE)
    assert regions[4] == loader.Region(0xBFFE0000, 0x20000, loader.E820_RESERVED)
    assert regions[-1] == loader.Region(1 << 32, 1 << 30, loader.E820_AVAILABLE)
    assert len(loader.memory_map(3 << 30)) == 6                  # 3 GiB still fits below the hole


def test_multiboot_info_fields():
    pieces = dict(loader.multiboot_info(64 << 20, "hello"))
    info = pieces[loader.MBI_ADDR]
    flags, lower, upper = (int.from_bytes(info[i:i + 4], "little") for i in (0, 4, 8))
    assert flags & 0x41 == 0x41 and (lower, upper) == (639, 64384)
    assert pieces[loader.CMDLINE_ADDR] == b"hello\0"
    assert len(pieces[loader.MMAP_ADDR]) == 6 * 24


@pytest.mark.parametrize("text,size", [("64M", 64 << 20), ("1G", 1 << 30), ("65536K", 64 << 20),
                                       ("512", 512 << 20), ("2g", 2 << 30)])
def test_memory_sizes_parse_as_qemu_reads_them(text: str, size: int):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "64X", "-1M", "1K"])
def test_bad_memory_sizes_are_refused(text: str):
    with pytest.raises(ValueError):
        parse_size(text)


def test_files_that_are_not_multiboot_kernels_are_refused(tmp_path: Path, kernel: Path):
    junk = tmp_path / "junk.elf"
    junk.write_bytes(b"not an elf at all")
    with pytest.raises(loader.LoadError, match="not an ELF"):
        loader.load_kernel(junk)
    with pytest.raises(loader.LoadError, match="cannot read"):
        loader.load_kernel(tmp_path / "missing.elf")
    no_header = tmp_path / "no_header.elf"
    data = bytearray(kernel.read_bytes())
    i = data.find((0x1BADB002).to_bytes(4, "little"))
    data[i:i + 4] = bytes(4)
    no_header.write_bytes(bytes(data))
    with pytest.raises(loader.LoadError, match="no Multiboot v1 header"):
        loader.load_kernel(no_header)


@pytest.mark.qemu
@pytest.mark.skipif(not qemu_available(), reason="qemu-system-i386 is not installed (apt-get install "
                    "qemu-system-x86); the recorded QEMU maps above are still checked")
@pytest.mark.parametrize("size", ["32M", "1G"])
def test_qemu_still_gives_the_recorded_map(kernel: Path, size: str, tmp_path: Path):
    m = make_machine("qemu", kernel, size, tmp_path / "qemu.log", initrd=None)   # the module splits the map
    try:
        boot_log = m.start().run("memmap")
    finally:
        m.stop()
    assert [re.sub(r"\s+$", "", line) for line in map_lines(boot_log)] == qemu_lines(size)


def test_an_image_is_read_once_per_version_of_its_file(tmp_path: Path, kernel: Path):
    copy = tmp_path / "kernel.elf"
    copy.write_bytes(kernel.read_bytes())
    first = loader.load_kernel(copy)
    assert loader.load_kernel(copy) is first
    assert first.abi.path == copy.resolve() and first.abi.struct("mm").size > 0
    # A rebuilt file (a later mtime, and here another entry point) is read again.
    data = bytearray(copy.read_bytes())
    entry = int.from_bytes(data[24:28], "little")
    data[24:28] = (entry + 1).to_bytes(4, "little")
    copy.write_bytes(bytes(data))
    later = copy.stat().st_mtime_ns + 1_000_000
    os.utime(copy, ns=(later, later))
    again = loader.load_kernel(copy)
    assert again is not first and again.entry == first.entry + 1
