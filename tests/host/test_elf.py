"""kernel/proc/elf.c on the host: the programs of user/bin validate and their
plan matches what readelf-level parsing (pyelftools) finds; each kind of
malformed executable is refused with its own code; garbage never makes it
read outside the image."""

from __future__ import annotations

import io
import itertools
import os
import struct

import pytest
from elftools.elf.elffile import ELFFile
from formats_lib import Formats
from hypothesis import given, settings
from hypothesis import strategies as st

from kos import userland

EXAMPLES = int(os.environ.get("KOS_FORMATS_EXAMPLES", "300"))
PF_X, PF_W, PF_R = 1, 2, 4
USER_START, USER_END = 0x40000000, 0xC0000000      # the process layout of DESIGN.md


@pytest.fixture(scope="module")
def fmt() -> Formats:
    return Formats()


@pytest.fixture(scope="module")
def programs() -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in userland.build_user().items()}


def make_elf(segments: list[tuple[int, int, int, int, int]], entry: int, *, machine: int = 3,
             cls: int = 1, etype: int = 2, extra_phdrs: list[int] | None = None) -> bytes:
    """An ELF32 image: segments are (vaddr, offset, filesz, memsz, flags);
    the file is long enough for every segment's bytes."""
    types = [1] * len(segments) + (extra_phdrs or [])
    phnum = len(types)
    rows = [*segments, *[(USER_START, 0, 0, 0, PF_R)] * len(extra_phdrs or [])]
    ehdr = b"\x7fELF" + bytes([cls, 1, 1]) + bytes(9)
    ehdr += struct.pack("<HHIIIIIHHHHHH", etype, machine, 1, entry, 52, 0, 0, 52, 32, phnum, 40, 0, 0)
    phdrs = b"".join(struct.pack("<IIIIIIII", t, off, va, va, fs, ms, fl, 0x1000)
                     for t, (va, off, fs, ms, fl) in zip(types, rows, strict=True))
    end = max([off + fs for _, off, fs, _, _ in segments] + [len(ehdr) + len(phdrs)])
    return (ehdr + phdrs).ljust(end, b"\xcc")


TEXT = (USER_START, 0, 0x1000, 0x1000, PF_R | PF_X)
DATA = (USER_START + 0x2000, 0x1000, 0x100, 0x3000, PF_R | PF_W)
GOOD = make_elf([TEXT, DATA], USER_START + 0x80)


def test_a_well_formed_image_gets_its_plan(fmt: Formats):
    status, plan = fmt.elf_plan(GOOD)
    assert status == fmt.elf["ELF_OK"]
    assert plan["entry"] == USER_START + 0x80 and plan["nsegments"] == 2
    text, data = plan["seg"][:2]
    assert (text["vaddr"], text["memsz"], text["prot"]) == (USER_START, 0x1000, 0x5)
    assert (data["offset"], data["filesz"], data["memsz"], data["prot"]) == (0x1000, 0x100, 0x3000, 0x3)
    assert plan["brk_start"] == USER_START + 0x5000


def test_every_user_program_validates(fmt: Formats, programs: dict[str, bytes]):
    assert {"hello", "segv", "memhog", "sleeper", "spin"} <= set(programs)
    for name, image in programs.items():
        status, plan = fmt.elf_plan(image)
        assert status == fmt.elf["ELF_OK"], (name, fmt.elf_strerror(status))
        elf = ELFFile(io.BytesIO(image))
        loads = sorted((s["p_vaddr"], s["p_memsz"]) for s in elf.iter_segments()
                       if s["p_type"] == "PT_LOAD" and s["p_memsz"])
        assert [(s["vaddr"], s["memsz"]) for s in plan["seg"][:plan["nsegments"]]] == loads, name
        assert plan["entry"] == elf.header["e_entry"]
        assert plan["brk_start"] > USER_START


def refused(fmt: Formats, image: bytes) -> str:
    status, _ = fmt.elf_plan(image)
    names = {v: k for k, v in fmt.elf.items()}
    return names[status]


@pytest.mark.parametrize("cut", [0, 10, 51, 52 + 31, 52 + 63])
def test_truncated_images_are_refused(fmt: Formats, cut: int):
    assert refused(fmt, GOOD[:cut]) == "ELF_E_TRUNCATED"


def test_header_fields_are_checked(fmt: Formats):
    assert refused(fmt, b"\x7fELG" + GOOD[4:]) == "ELF_E_MAGIC"
    assert refused(fmt, make_elf([TEXT], USER_START, cls=2)) == "ELF_E_CLASS"
    assert refused(fmt, GOOD[:5] + b"\x02" + GOOD[6:]) == "ELF_E_ENDIAN"
    assert refused(fmt, make_elf([TEXT], USER_START, machine=62)) == "ELF_E_MACHINE"
    assert refused(fmt, make_elf([TEXT], USER_START, etype=3)) == "ELF_E_TYPE"
    assert refused(fmt, make_elf([], USER_START)) == "ELF_E_PHDR"
    assert refused(fmt, make_elf([TEXT], USER_START, extra_phdrs=[3])) == "ELF_E_INTERP"


@pytest.mark.parametrize("seg", [
    (USER_START - 0x1000, 0, 0x1000, 0x1000, PF_R | PF_X),      # below user space
    (0xBFFFF000, 0, 0x1000, 0x2000, PF_R | PF_X),               # runs into the kernel
    (0xC0000000, 0, 0x1000, 0x1000, PF_R | PF_X),               # in the kernel
    (0xFFFFF000, 0, 0x1000, 0x2000, PF_R | PF_X),               # wraps around
])
def test_segments_outside_user_space_are_refused(fmt: Formats, seg: tuple[int, int, int, int, int]):
    assert refused(fmt, make_elf([seg], seg[0])) == "ELF_E_OUTSIDE_USER"


@pytest.mark.parametrize("seg", [
    (0xBFFFB000, 0, 0x1000, 0x1001, PF_R | PF_W),               # its last byte in the stack's first page
    (0xBFFFC000, 0, 0x1000, 0x1000, PF_R | PF_W),               # the stack's lowest page
    (0xBFFFF080, 0x80, 0x4, 0x8, PF_R | PF_W),                  # the stack's top page
])
def test_segments_in_the_initial_stack_are_refused(fmt: Formats, seg: tuple[int, int, int, int, int]):
    assert refused(fmt, make_elf([TEXT, seg], USER_START)) == "ELF_E_STACK"
    assert "stack" in fmt.elf_strerror(fmt.elf["ELF_E_STACK"])


def test_a_segment_that_ends_where_the_stack_starts_is_planned(fmt: Formats):
    seg = (0xBFFFB000, 0, 0x1000, 0x1000, PF_R | PF_W)
    assert refused(fmt, make_elf([TEXT, seg], USER_START)) == "ELF_OK"


def test_segment_sizes_and_placement_are_checked(fmt: Formats):
    bigger_file = (USER_START, 0, 0x2000, 0x1000, PF_R | PF_X)
    assert refused(fmt, make_elf([bigger_file], USER_START)) == "ELF_E_FILESZ"
    beyond = bytearray(GOOD)
    struct.pack_into("<I", beyond, 52 + 32 + 16, 0x10000)       # DATA's p_filesz past the file
    struct.pack_into("<I", beyond, 52 + 32 + 20, 0x10000)
    assert refused(fmt, bytes(beyond)) == "ELF_E_OUTSIDE_FILE"
    assert refused(fmt, make_elf([(USER_START + 0x10, 0, 0x100, 0x100, PF_R | PF_X)],
                                 USER_START + 0x10)) == "ELF_E_ALIGN"
    too_many = [(USER_START + i * 0x1000, 0, 0x10, 0x10, PF_R | PF_X) for i in range(9)]
    assert refused(fmt, make_elf(too_many, USER_START)) == "ELF_E_TOO_MANY"
    assert refused(fmt, make_elf([(USER_START, 0, 0, 0, PF_R)], USER_START)) == "ELF_E_NO_LOAD"


def test_overlapping_segments_are_refused_in_either_order(fmt: Formats):
    a = (USER_START, 0, 0x1000, 0x3000, PF_R | PF_X)
    b = (USER_START + 0x2000, 0x1000, 0x100, 0x1000, PF_R | PF_W)
    assert refused(fmt, make_elf([a, b], USER_START)) == "ELF_E_OVERLAP"
    assert refused(fmt, make_elf([b, a], USER_START)) == "ELF_E_OVERLAP"
    status, plan = fmt.elf_plan(make_elf([DATA, TEXT], USER_START))
    assert status == 0 and plan["seg"][0]["vaddr"] == USER_START           # sorted by address


@pytest.mark.parametrize("entry", [USER_START - 1, USER_START + 0x1000, USER_START + 0x2000, 0])
def test_an_entry_outside_every_executable_segment_is_refused(fmt: Formats, entry: int):
    assert refused(fmt, make_elf([TEXT, DATA], entry)) == "ELF_E_ENTRY"     # DATA is not executable


def test_every_code_has_a_message(fmt: Formats):
    assert all(fmt.elf_strerror(v) != "unknown error" for v in fmt.elf.values())


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_are_refused_without_reading_outside(fmt: Formats, data: bytes):
    status, _ = fmt.elf_plan(b"\x7fELF\x01\x01\x01" + data)
    assert status in fmt.elf.values()


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.data())
def test_damaged_images_give_a_code_and_plans_stay_in_user_space(fmt: Formats, draw: st.DataObject):
    image = bytearray(GOOD)
    for _ in range(draw.draw(st.integers(1, 6))):
        pos = draw.draw(st.integers(0, 52 + 64 - 1))             # the headers: where the checks are
        image[pos] = draw.draw(st.integers(0, 255))
    image = image[:draw.draw(st.integers(0, len(image)))]
    status, plan = fmt.elf_plan(bytes(image))
    assert status in fmt.elf.values()
    if status == fmt.elf["ELF_OK"]:
        segs = plan["seg"][:plan["nsegments"]]
        for s in segs:
            assert USER_START <= s["vaddr"] and s["vaddr"] + s["memsz"] <= USER_END
            assert s["filesz"] <= s["memsz"] and s["offset"] + s["filesz"] <= len(image)
        for a, b in itertools.pairwise(segs):
            assert a["vaddr"] + a["memsz"] <= b["vaddr"]
