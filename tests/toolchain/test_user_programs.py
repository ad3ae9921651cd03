"""The user programs as built: static i386 executables at or above
0x40000000 with nothing left undefined, made without the host C library or
libgcc, packed into build/initrd.tar under /bin, deterministically."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from kos import paths, userland

USER_START = 0x40000000
NAMES = {"hello", "segv", "memhog", "sleeper", "spin"}


@pytest.fixture(scope="module")
def programs() -> dict[str, Path]:
    return userland.build_user()


def test_every_program_is_built(programs: dict[str, Path]):
    assert NAMES <= set(programs)
    assert set(programs) == {p.stem for p in userland.programs()}


@pytest.mark.parametrize("name", sorted(NAMES))
def test_a_program_is_a_static_i386_executable_in_user_space(programs: dict[str, Path], name: str):
    with programs[name].open("rb") as f:
        elf = ELFFile(f)
        assert elf.elfclass == 32 and elf.little_endian
        assert elf.header["e_type"] == "ET_EXEC" and elf.header["e_machine"] == "EM_386"
        kinds = {s["p_type"] for s in elf.iter_segments()}
        assert "PT_INTERP" not in kinds and "PT_DYNAMIC" not in kinds
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        assert loads and all(s["p_vaddr"] >= USER_START for s in loads)
        assert not any(s["p_flags"] & 2 and s["p_flags"] & 1 for s in loads), "a W+X segment"
        entry = elf.header["e_entry"]
        assert any(s["p_vaddr"] <= entry < s["p_vaddr"] + s["p_memsz"] and s["p_flags"] & 1 for s in loads)
        symtab = elf.get_section_by_name(".symtab")
        assert symtab is not None
        undefined = [s.name for s in symtab.iter_symbols() if s.name and s["st_shndx"] == "SHN_UNDEF"]
        assert undefined == []
        assert elf.get_section_by_name(".interp") is None


def test_the_programs_need_only_their_runtime(programs: dict[str, Path]):
    for path in programs.values():
        syms = subprocess.run(["nm", str(path)], check=True, capture_output=True, text=True).stdout
        # A libgcc helper (64-bit division) or a libc symbol would show up here.
        assert not any(f" {s}" in syms for s in ("__udivdi3", "__divdi3", "__umoddi3", "__libc_start_main"))
        assert " T _start" in syms and " T main" in syms


def test_the_initrd_holds_the_programs_under_bin(programs: dict[str, Path]):
    userland.build_initrd()
    assert paths.INITRD.read_bytes()[257:265] == b"ustar\x0000"        # POSIX ustar, not GNU or pax
    with tarfile.open(paths.INITRD) as tar:
        members = {m.name: m for m in tar.getmembers()}
        for name, path in programs.items():
            m = members[f"bin/{name}"]
            f = tar.extractfile(m)
            assert f is not None and f.read() == path.read_bytes()
            assert m.mode == 0o755 and m.mtime == 0 and m.uid == 0
        assert members["etc/motd"].isfile() and members["bin"].isdir()


def test_the_archive_is_deterministic(programs: dict[str, Path]):
    files = userland.initrd_files(programs)
    first = userland.ustar_archive(files)
    second = userland.ustar_archive(dict(reversed(list(files.items()))))
    assert first == second
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        names = [m.name for m in tar.getmembers()]
    assert names == sorted(names)
    assert paths.INITRD.read_bytes() == first
