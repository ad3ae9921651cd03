"""kos.target.abi against the compiler: a small C file is built for i386 and
for the host, and every layout the module reads from DWARF is checked
against offsetof/sizeof values the compiler computed itself (exported as
enumerators), and every unpacked value against an initializer the compiler
laid out in .data."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from kos.target import abi as kabi

SOURCE = r"""
#include <stddef.h>
#include <stdint.h>

struct inner { uint16_t a; uint16_t b[2]; };

struct sample {
#ifdef MOVED
    int64_t wide;
    uint8_t tag;
#else
    uint8_t tag;
    int64_t wide;
#endif
    union { struct inner in; struct { void *p; uint32_t q; }; };
    uint32_t grid[3][4];
    char name[8];
    uint32_t lo : 3, mid : 9;
    int32_t neg : 4;
    struct inner arr[2];
    const char *s;
};
typedef struct sample sample_t;

enum sample_offsets {
    OFF_TAG = offsetof(struct sample, tag), OFF_WIDE = offsetof(struct sample, wide),
    OFF_IN = offsetof(struct sample, in), OFF_P = offsetof(struct sample, p),
    OFF_Q = offsetof(struct sample, q), OFF_GRID = offsetof(struct sample, grid),
    OFF_NAME = offsetof(struct sample, name), OFF_ARR = offsetof(struct sample, arr),
    OFF_S = offsetof(struct sample, s), SIZE_SAMPLE = sizeof(struct sample),
    SIZE_INNER = sizeof(struct inner),
};
enum signs { NEGATIVE = -12, LARGE = 0x1E00000 };
enum { ABI_PAGE = 4096 };

sample_t sample = {
    .tag = 7, .wide = -2, .q = 0xdeadbeef, .grid = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}},
    .name = "kos", .lo = 5, .mid = 300, .neg = -3, .arr = {{1, {2, 3}}, {4, {5, 6}}},
};
enum sample_offsets offsets;
enum signs signs;
int anonymous = ABI_PAGE;
"""

TARGETS = {
    "i386": ["-m32", "-c"],
    "host": ["-shared", "-fPIC"],
}


def build(tmp_path: Path, target: str, *defines: str) -> Path:
    src = tmp_path / "sample.c"
    src.write_text(SOURCE)
    out = tmp_path / f"sample-{target}{''.join(defines)}.elf"
    subprocess.run(["gcc", "-g", "-O2", "-ffreestanding", "-Wall", "-Werror", *TARGETS[target],
                    *(f"-D{d}" for d in defines), str(src), "-o", str(out)], check=True)
    return out


def data_of(path: Path, symbol: str, size: int) -> bytes:
    """The initial bytes of a variable, from its section in the file."""
    with path.open("rb") as f:
        elf = ELFFile(f)
        sym = elf.get_section_by_name(".symtab").get_symbol_by_name(symbol)[0]
        section = elf.get_section(sym["st_shndx"])
        start = sym["st_value"] - section["sh_addr"]
        return section.data()[start:start + size]


@pytest.fixture(params=sorted(TARGETS))
def image(request, tmp_path) -> Path:
    return build(tmp_path, request.param)


def test_offsets_and_sizes_are_the_compilers(image):
    abi = kabi.load(image)
    expected = abi.enum("sample_offsets")
    layout = abi.struct("sample_t")
    assert layout.size == expected["SIZE_SAMPLE"]
    assert abi.struct("inner").size == expected["SIZE_INNER"]
    for name in ("tag", "wide", "in", "p", "q", "grid", "name", "arr", "s"):
        assert layout.fields[name].offset == expected[f"OFF_{name.upper()}"], name
    assert layout.fields["s"].size == abi.pointer_size
    assert abi.struct("struct sample") is layout


def test_arrays_and_members(image):
    layout = kabi.load(image).struct("sample")
    grid = layout.fields["grid"]
    assert (grid.count, grid.shape, grid.size, grid.type_name) == (12, (3, 4), 48, "uint32_t")
    arr = layout.fields["arr"]
    assert arr.layout is not None and arr.count == 2 and arr.type_name == "struct inner"
    assert layout.fields["s"].type_name == "const char *"
    assert layout.offsetof("in.b") == layout.fields["in"].offset + 2
    assert layout.flat()["in.b"].offset == layout.offsetof("in.b")


def test_unpack_reads_what_the_compiler_laid_out(image):
    abi = kabi.load(image)
    layout = abi.struct("sample_t")
    v = layout.unpack(data_of(image, "sample", layout.size))
    assert v["tag"] == 7 and v["wide"] == -2 and v["q"] == 0xDEADBEEF
    assert v["grid"] == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
    assert v["name"] == b"kos\0\0\0\0\0"
    assert (v["lo"], v["mid"], v["neg"]) == (5, 300, -3)
    assert v["arr"] == [{"a": 1, "b": [2, 3]}, {"a": 4, "b": [5, 6]}]
    assert v["s"] == 0
    with pytest.raises(ValueError, match="needs"):
        layout.unpack(bytes(layout.size - 1))


def test_a_moved_field_moves_in_the_layout(tmp_path):
    before = kabi.load(build(tmp_path, "i386")).struct("sample")
    after_image = build(tmp_path, "i386", "MOVED")
    after = kabi.load(after_image).struct("sample")
    assert (before.fields["tag"].offset, before.fields["wide"].offset) == (0, 4)
    assert (after.fields["wide"].offset, after.fields["tag"].offset) == (0, 8)
    v = after.unpack(data_of(after_image, "sample", after.size))
    assert (v["tag"], v["wide"]) == (7, -2)


def test_enums_constants_and_symbols(image):
    abi = kabi.load(image)
    assert abi.enum("signs") == {"NEGATIVE": -12, "LARGE": 0x1E00000}
    assert abi.constant("NEGATIVE") == -12
    assert abi.constant("PAGE") == 4096          # ABI_PAGE: a restated #define
    assert abi.constants("OFF_")["OFF_TAG"] == 0
    with image.open("rb") as f:
        sym = ELFFile(f).get_section_by_name(".symtab").get_symbol_by_name("sample")[0]
    assert abi.symbol("sample") == sym["st_value"]


def test_unknown_names_say_what_is_missing(image):
    abi = kabi.load(image)
    with pytest.raises(KeyError, match=r"no struct, union or typedef 'sampel' .*did you mean sample"):
        abi.struct("sampel")
    with pytest.raises(KeyError, match="no enum 'colours'"):
        abi.enum("colours")
    with pytest.raises(KeyError, match="no constant 'HEAP_START'"):
        abi.constant("HEAP_START")
    with pytest.raises(KeyError, match="no symbol 'kmalloc'"):
        abi.symbol("kmalloc")


def test_load_is_cached_until_the_file_changes(tmp_path):
    image = build(tmp_path, "i386")
    first = kabi.load(image)
    assert kabi.load(image) is first
    moved = build(tmp_path, "i386", "MOVED")
    os.replace(moved, image)
    later = time.time() + 1
    os.utime(image, (later, later))
    again = kabi.load(image)
    assert again is not first
    assert again.struct("sample").fields["tag"].offset == 8
