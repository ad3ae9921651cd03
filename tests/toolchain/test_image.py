"""The kernel image: a valid Multiboot v1 kernel laid out as linker.ld says."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from kos.memory.constants import HEAP_START

MB_MAGIC = 0x1BADB002


def test_multiboot_header_is_in_the_first_8k_and_checksums(kernel):
    data = kernel.read_bytes()[:8192]
    offsets = [i for i in range(0, len(data) - 12, 4)
               if struct.unpack_from("<I", data, i)[0] == MB_MAGIC]
    assert offsets, "no multiboot magic in the first 8 KiB"
    magic, flags, checksum = struct.unpack_from("<III", data, offsets[0])
    assert (magic + flags + checksum) & 0xFFFFFFFF == 0
    assert flags & 0x2, "the kernel must ask for the memory map"
    assert not flags & 0x10000, "ELF kernel: no a.out address fields"


@pytest.mark.skipif(shutil.which("grub-file") is None,
                    reason="grub-file not installed (apt-get install grub-common); "
                           "the header is still checked by the test above")
def test_grub_accepts_the_kernel_as_multiboot(kernel):
    assert subprocess.run(["grub-file", "--is-x86-multiboot", str(kernel)]).returncode == 0


def test_image_is_i386_loaded_at_1mib_and_ends_below_the_heap(kernel):
    with kernel.open("rb") as f:
        elf = ELFFile(f)
        assert elf["e_machine"] == "EM_386"
        assert elf.elfclass == 32
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        assert min(s["p_paddr"] for s in loads) == 0x100000
        symtab = elf.get_section_by_name(".symtab")
        end = symtab.get_symbol_by_name("__kernel_end")[0]["st_value"]
        assert end <= HEAP_START
        for name in ("kmain", "kmalloc", "kfree", "kcalloc", "krealloc", "stack_alloc", "stack_free",
                     "stack_get_base", "stack_get_top", "memory_init", "memory_get_stats",
                     "memory_print_stats", "memory_defragment"):
            assert symtab.get_symbol_by_name(name), name


def test_build_writes_symbols_and_disassembly(kernel):
    sym = (kernel.parent / "kernel.sym").read_text()
    assert " T kmain\n" in sym
    asm = (kernel.parent / "kernel.asm").read_text()
    assert "<kmain>:" in asm


def test_kernel_needs_no_libgcc(kernel):
    """No 64-bit division helpers or other runtime symbols left undefined."""
    out = subprocess.run(["nm", "-u", str(kernel)], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
