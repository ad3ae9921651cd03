"""The ring-3 side of the build: the user runtime (user/lib), the programs
(user/bin, one C file each) and the initrd archive that carries them.

A program is linked from crt0, its own object and every runtime object,
with ld directly (no compiler driver, so no libgcc and no host C library),
at 0x40000000 by user/linker.ld. build/initrd.tar is a POSIX ustar archive
of user/root/ plus /bin, plus /bad: a minimal valid executable broken one
way each (MALFORMED), which execve must refuse. It is written
deterministically: sorted names, mtime 0, owner 0, fixed modes, so the same
tree always gives the same bytes.
"""

from __future__ import annotations

import io
import struct
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kos import atomic, paths

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile

USER_CFLAGS = [
    "-m32", "-march=i686", "-std=gnu11", "-ffreestanding", "-nostdlib", "-static",
    "-fno-pie", "-fno-pic", "-fno-stack-protector", "-fno-asynchronous-unwind-tables",
    # The runtime's copy and fill loops must not be turned into calls to memcpy/memset.
    "-fno-tree-loop-distribute-patterns",
    # No FPU/SSE state in programs: the kernel saves only general registers.
    "-mgeneral-regs-only",
    "-O2", "-Wall", "-Wextra", "-Werror", "-I", str(paths.USER / "lib"),
]
# The memory and string primitives, and the errno names, are the kernel's own,
# compiled into the runtime too.
SHARED = [paths.ROOT / "kernel" / "lib" / "string.c", paths.ROOT / "kernel" / "lib" / "errno.c"]
SHARED_HEADERS = [paths.ROOT / "kernel" / "lib" / "string.h", paths.ROOT / "kernel" / "include" / "errno.h"]
USER_LDFLAGS = ["-m", "elf_i386", "-static", "-nostdlib", "-z", "max-page-size=0x1000",
                "-z", "noexecstack", "-T", str(paths.USER_LINKER_SCRIPT)]


class UserBuildError(RuntimeError):
    """A user program failed to compile or link; the message has the tool's words."""


def programs() -> list[Path]:
    """The program sources: user/bin/NAME.c builds /bin/NAME."""
    return sorted((paths.USER / "bin").glob("*.c"))


def _run(cmd: list[str], what: str) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise UserBuildError(f"{what}:\n{res.stderr.strip()}")


def _make(out: Path, cmd: list[str], what: str) -> None:
    """Run cmd, which writes out. Its record goes first: an interrupted
    run leaves out stale, not a half-written file taken as up to date."""
    record = out.with_suffix(out.suffix + ".cmd")
    record.unlink(missing_ok=True)
    _run(cmd, what)
    record.write_text(" ".join(cmd))


def _stale(out: Path, inputs: list[Path], command: list[str]) -> bool:
    flags = out.with_suffix(out.suffix + ".cmd")
    if not out.exists() or not flags.exists() or flags.read_text() != " ".join(command):
        return True
    built = out.stat().st_mtime_ns
    return any(p.stat().st_mtime_ns > built for p in inputs)


def _compile(src: Path, headers: list[Path]) -> Path:
    rel = src.relative_to(paths.ROOT)
    obj = paths.USER_BUILD / "obj" / rel.with_suffix(rel.suffix + ".o")
    cmd = ["gcc", *USER_CFLAGS, "-c", str(src), "-o", str(obj)]
    if _stale(obj, [src, *headers], cmd):
        obj.parent.mkdir(parents=True, exist_ok=True)
        _make(obj, cmd, str(src.relative_to(paths.ROOT)))
    return obj


def build_user(verbose: bool = False) -> dict[str, Path]:
    """Bring build/user/bin/* up to date; returns {program name: ELF path}."""
    lib = paths.USER / "lib"
    headers = sorted(lib.glob("*.h"))
    crt0 = _compile(lib / "crt0.S", headers)
    runtime = [_compile(s, headers) for s in sorted([*lib.glob("*.c"), *lib.glob("*.S")])
               if s.name != "crt0.S"]
    runtime += [_compile(src, SHARED_HEADERS) for src in SHARED]
    out: dict[str, Path] = {}
    for src in programs():
        obj = _compile(src, headers)
        elf = paths.USER_BUILD / "bin" / src.stem
        cmd = ["ld", *USER_LDFLAGS, "-o", str(elf), str(crt0), str(obj), *map(str, runtime)]
        if _stale(elf, [crt0, obj, *runtime, paths.USER_LINKER_SCRIPT], cmd):
            elf.parent.mkdir(parents=True, exist_ok=True)
            if verbose:
                print(f"  LD {elf.relative_to(paths.ROOT)}")
            _make(elf, cmd, f"linking {src.stem}")
        out[src.stem] = elf
    return out


E_ENTRY, E_PHOFF, E_MACHINE, EI_CLASS = 24, 28, 18, 4
PHDR_SIZE, P_OFFSET, P_VADDR = 32, 4, 8
EM_X86_64, ELFCLASS64 = 62, 2


def _patch(elf: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(elf)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def _phdr(elf: bytes, i: int) -> int:
    return int(struct.unpack_from("<I", elf, E_PHOFF)[0]) + i * PHDR_SIZE


def minimal_elf() -> bytes:
    """The smallest executable KOS runs (it exits with status 0): the ELF
    header, two PT_LOAD program headers and the code in one R+X segment of
    a page, and four bytes of data in an R+W segment on the next page."""
    entry = 0x40000000 + 52 + 2 * PHDR_SIZE
    header = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9) + struct.pack(
        "<HHIIIIIHHHHHH", 2, 3, 1, entry, 52, 0, 0, 52, PHDR_SIZE, 2, 40, 0, 0)
    text = struct.pack("<8I", 1, 0, 0x40000000, 0x40000000, 0x80, 0x1000, 5, 0x1000)
    data = struct.pack("<8I", 1, 0x80, 0x40001080, 0x40001080, 4, 8, 6, 0x1000)
    code = bytes.fromhex("b801000000" "31db" "cd80")      # exit(0)
    body = header + text + data + code
    return body + bytes(0x80 - len(body)) + b"data"


def _outside_user_space(elf: bytes) -> bytes:
    at = _phdr(elf, 0)
    vaddr = struct.unpack_from("<I", elf, at + P_VADDR)[0]
    return _patch(elf, at + P_VADDR, "<I", 0x00100000 | (vaddr & 0xFFF))


def _in_stack(elf: bytes) -> bytes:
    at = _phdr(elf, 1)
    vaddr = struct.unpack_from("<I", elf, at + P_VADDR)[0]
    top = 0xBFFFF000 | (vaddr & 0xFFF)                   # the stack's top page
    return _patch(_patch(elf, at + P_VADDR, "<I", top), at + P_VADDR + 4, "<I", top)


def _overlapping(elf: bytes) -> bytes:
    first, second = _phdr(elf, 0), _phdr(elf, 1)
    vaddr = struct.unpack_from("<I", elf, first + P_VADDR)[0]
    offset = struct.unpack_from("<I", elf, second + P_OFFSET)[0]
    return _patch(elf, second + P_VADDR, "<I", (vaddr & ~0xFFF) | (offset & 0xFFF))


# /bad/NAME: how each is broken, and the ELF_E_* reason execve gives (elf.h).
MALFORMED: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "truncated": (lambda e: e[:E_PHOFF + 8], "truncated: shorter than its headers say"),
    "wrong-machine": (lambda e: _patch(e, E_MACHINE, "<H", EM_X86_64), "not an i386 executable (EM_386)"),
    "wrong-class": (lambda e: _patch(e, EI_CLASS, "<B", ELFCLASS64), "not a 32-bit ELF file (ELFCLASS32)"),
    "outside-user": (_outside_user_space, "a segment lies outside user space (0x40000000-0xc0000000)"),
    "overlapping": (_overlapping, "two segments overlap"),
    "in-stack": (_in_stack, "a segment reaches into the stack (0xbfffc000-0xc0000000)"),
    "bad-entry": (lambda e: _patch(e, E_ENTRY, "<I", 0x70000000),
                  "the entry point is outside every executable segment"),
}


def initrd_files(binaries: dict[str, Path]) -> dict[str, tuple[bytes, int]]:
    """The archive's regular files: {name without a leading '/': (bytes, mode)}."""
    files: dict[str, tuple[bytes, int]] = {}
    for p in sorted(paths.INITRD_TREE.rglob("*")):
        if p.is_file():
            files[p.relative_to(paths.INITRD_TREE).as_posix()] = (p.read_bytes(), 0o644)
    for name, elf in sorted(binaries.items()):
        files[f"bin/{name}"] = (elf.read_bytes(), 0o755)
    for name, (breaker, _) in MALFORMED.items():
        files[f"bad/{name}"] = (breaker(minimal_elf()), 0o755)
    return files


def ustar_archive(files: dict[str, tuple[bytes, int]]) -> bytes:
    """A deterministic ustar archive of files, with an entry for every
    directory on their paths."""
    dirs = {"/".join(name.split("/")[:i]) for name in files for i in range(1, name.count("/") + 1)}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(dirs | set(files)):
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if name in dirs:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                data, info.mode = files[name]
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def build_initrd(verbose: bool = False) -> Path:
    """Build the user programs and write build/initrd.tar if its bytes changed."""
    data = ustar_archive(initrd_files(build_user(verbose)))
    out = paths.INITRD
    if not out.exists() or out.read_bytes() != data:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(out, data)
        if verbose:
            print(f"  TAR {out.relative_to(paths.ROOT)} ({len(data) // 1024} KiB)")
    return out


def ktap_cases(program: Path) -> list[str]:
    """The KTAP case names of a user test program, in the order it runs
    them: its .ktap_cases section (user/lib/ktap.h) holds one
    (name pointer, function pointer) pair per case, read from the ELF."""
    from elftools.elf.elffile import ELFFile

    with program.open("rb") as f:
        elf = ELFFile(f)
        table = elf.get_section_by_name(".ktap_cases")
        if table is None:
            return []
        data = table.data()
        return [_string_at(elf, name_ptr) for name_ptr, _fn in struct.iter_unpack("<II", data)]


def _string_at(elf: ELFFile, addr: int) -> str:
    """The NUL-terminated string at addr in the program's loaded bytes."""
    for seg in elf.iter_segments():
        start = seg["p_vaddr"]
        if seg["p_type"] == "PT_LOAD" and start <= addr < start + seg["p_filesz"]:
            data = seg.data()
            off = addr - start
            return data[off:data.index(b"\0", off)].decode()
    raise ValueError(f"no loaded bytes at {addr:#x}")
