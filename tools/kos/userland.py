"""The ring-3 side of the build: the user runtime (user/lib), the programs
(user/bin, one C file each) and the initrd archive that carries them.

A program is linked from crt0, its own object and every runtime object,
with ld directly (no compiler driver, so no libgcc and no host C library),
at 0x40000000 by user/linker.ld. build/initrd.tar is a POSIX ustar archive
of user/root/ plus /bin, written deterministically: sorted names, mtime 0,
owner 0, fixed modes, so the same tree always gives the same bytes.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from kos import paths

USER_CFLAGS = [
    "-m32", "-march=i686", "-std=gnu11", "-ffreestanding", "-nostdlib", "-static",
    "-fno-pie", "-fno-pic", "-fno-stack-protector", "-fno-asynchronous-unwind-tables",
    # The runtime's copy and fill loops must not be turned into calls to memcpy/memset.
    "-fno-tree-loop-distribute-patterns",
    # No FPU/SSE state in programs: the kernel saves only general registers.
    "-mgeneral-regs-only",
    "-O2", "-Wall", "-Wextra", "-Werror", "-I", str(paths.USER / "lib"),
]
# The memory and string primitives are the kernel's own, compiled into the runtime too.
SHARED_STRING = paths.ROOT / "kernel" / "lib" / "string.c"
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
        _run(cmd, str(src.relative_to(paths.ROOT)))
        obj.with_suffix(obj.suffix + ".cmd").write_text(" ".join(cmd))
    return obj


def build_user(verbose: bool = False) -> dict[str, Path]:
    """Bring build/user/bin/* up to date; returns {program name: ELF path}."""
    lib = paths.USER / "lib"
    headers = sorted(lib.glob("*.h"))
    crt0 = _compile(lib / "crt0.S", headers)
    runtime = [_compile(s, headers) for s in sorted([*lib.glob("*.c"), *lib.glob("*.S")])
               if s.name != "crt0.S"]
    runtime.append(_compile(SHARED_STRING, [SHARED_STRING.with_suffix(".h")]))
    out: dict[str, Path] = {}
    for src in programs():
        obj = _compile(src, headers)
        elf = paths.USER_BUILD / "bin" / src.stem
        cmd = ["ld", *USER_LDFLAGS, "-o", str(elf), str(crt0), str(obj), *map(str, runtime)]
        if _stale(elf, [crt0, obj, *runtime, paths.USER_LINKER_SCRIPT], cmd):
            elf.parent.mkdir(parents=True, exist_ok=True)
            if verbose:
                print(f"  LD {elf.relative_to(paths.ROOT)}")
            _run(cmd, f"linking {src.stem}")
            elf.with_suffix(".cmd").write_text(" ".join(cmd))
        out[src.stem] = elf
    return out


def initrd_files(binaries: dict[str, Path]) -> dict[str, tuple[bytes, int]]:
    """The archive's regular files: {name without a leading '/': (bytes, mode)}."""
    files: dict[str, tuple[bytes, int]] = {}
    for p in sorted(paths.INITRD_TREE.rglob("*")):
        if p.is_file():
            files[p.relative_to(paths.INITRD_TREE).as_posix()] = (p.read_bytes(), 0o644)
    for name, elf in sorted(binaries.items()):
        files[f"bin/{name}"] = (elf.read_bytes(), 0o755)
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
        out.write_bytes(data)
        if verbose:
            print(f"  TAR {out.relative_to(paths.ROOT)} ({len(data) // 1024} KiB)")
    return out
