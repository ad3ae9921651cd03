"""Build the kernel: incremental, parallel compilation and the final link.

An object is rebuilt when its source, any header it included (from gcc's
-MMD dependency file) or the compiler flags changed. Every link also writes
the symbol table (kernel.sym) and an annotated disassembly (kernel.asm).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kos import atomic, paths, userland

CC = "gcc"
LD = "ld"

CFLAGS = [
    "-m32", "-march=i686", "-std=gnu11", "-ffreestanding", "-fno-pie", "-fno-pic",
    "-fno-stack-protector", "-fno-omit-frame-pointer", "-fno-asynchronous-unwind-tables",
    "-mno-sse", "-mno-sse2", "-mno-mmx", "-mno-80387",
    "-nostdlib", "-O2", "-g", "-Wall", "-Wextra", "-Werror",
]
ASFLAGS = ["-m32", "-g", "-Wall", "-Werror"]
LDFLAGS = ["-m", "elf_i386", "-nostdlib", "-T", str(paths.LINKER_SCRIPT)]


class BuildError(RuntimeError):
    """The build failed; the message says why in one line or the compiler's words."""


class ToolMissing(BuildError):
    """A program the build needs is not installed."""


@dataclass(frozen=True)
class Unit:
    source: Path
    obj: Path

    @property
    def depfile(self) -> Path:
        return self.obj.with_suffix(".d")

    @property
    def flagfile(self) -> Path:
        return self.obj.with_suffix(".flags")


def require_tools(*names: str) -> None:
    """Raise ToolMissing naming the package to install for any absent program."""
    packages = {"gcc": "gcc", "ld": "binutils", "objdump": "binutils", "nm": "binutils"}
    for name in names:
        if shutil.which(name) is None:
            pkg = packages.get(name, name)
            raise ToolMissing(f"{name} not found: install it with `apt-get install {pkg}`")


def sources() -> list[Path]:
    found: list[Path] = []
    for d in paths.SOURCE_DIRS:
        found += sorted(p for p in d.rglob("*") if p.suffix in (".c", ".S"))
    return found


def unit_for(src: Path) -> Unit:
    rel = src.relative_to(paths.ROOT)
    return Unit(src, paths.OBJ / rel.with_suffix(rel.suffix + ".o"))


def command_for(unit: Unit) -> list[str]:
    flags = CFLAGS if unit.source.suffix == ".c" else ASFLAGS
    # __FILE__ relative to the tree: reports (KASSERT, ktest) name kernel/..., not the checkout.
    prefix = f"-fmacro-prefix-map={paths.ROOT}/="
    return [CC, *flags, prefix, "-MMD", "-MF", str(unit.depfile), "-c", str(unit.source), "-o", str(unit.obj)]


def _deps(unit: Unit) -> list[Path]:
    """Files the object depends on, from its -MMD dependency file."""
    try:
        text = unit.depfile.read_text()
    except FileNotFoundError:
        return [unit.source]
    body = text.split(":", 1)[1] if ":" in text else ""
    return [Path(tok) for tok in body.replace("\\\n", " ").split()]


def is_stale(unit: Unit) -> bool:
    if not unit.obj.exists() or not unit.flagfile.exists():
        return True
    if unit.flagfile.read_text() != " ".join(command_for(unit)):
        return True
    built = unit.obj.stat().st_mtime_ns
    for dep in _deps(unit):
        try:
            if dep.stat().st_mtime_ns > built:
                return True
        except FileNotFoundError:
            return True
    return False


def compile_unit(unit: Unit) -> str:
    unit.obj.parent.mkdir(parents=True, exist_ok=True)
    cmd = command_for(unit)
    # Without its record the object is stale, whatever an interrupted compiler left.
    unit.flagfile.unlink(missing_ok=True)
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise BuildError(f"{unit.source.relative_to(paths.ROOT)}:\n{res.stderr.strip()}")
    unit.flagfile.write_text(" ".join(cmd))
    return str(unit.source.relative_to(paths.ROOT))


def _link_record(objects: list[Path]) -> str:
    return " ".join([LD, *LDFLAGS, *map(str, objects)])


def link_is_stale(elf: Path, objects: list[Path]) -> bool:
    """elf was not linked from exactly these objects since they (or the
    linker script) last changed: a source removed, or one added, counts."""
    record = elf.with_suffix(".link")
    if not elf.exists() or not record.exists() or record.read_text() != _link_record(objects):
        return True
    built = elf.stat().st_mtime_ns
    return any(p.stat().st_mtime_ns > built for p in [*objects, paths.LINKER_SCRIPT])


def link(objects: Iterable[Path], out: Path) -> None:
    objs = list(objects)
    record = out.with_suffix(".link")
    record.unlink(missing_ok=True)
    with atomic.replacing(out) as partial:
        res = subprocess.run([LD, *LDFLAGS, "-o", str(partial), *map(str, objs)], capture_output=True,
                             text=True)
        if res.returncode != 0:
            raise BuildError(f"link failed:\n{res.stderr.strip()}")
    record.write_text(_link_record(objs))
    listings(out)


def listings(elf: Path) -> None:
    """kernel.sym and kernel.asm beside elf, from it."""
    for name, cmd in ((".sym", ["nm", "-n"]), (".asm", ["objdump", "-d", "-S", "-M", "att"])):
        with atomic.replacing(elf.with_suffix(name)) as partial, partial.open("w") as f:
            subprocess.run([*cmd, str(elf)], stdout=f, check=True)


def _listings_stale(elf: Path) -> bool:
    built = elf.stat().st_mtime_ns
    return any(not p.exists() or p.stat().st_mtime_ns < built
               for p in (elf.with_suffix(".sym"), elf.with_suffix(".asm")))


def build(jobs: int | None = None, verbose: bool = False) -> Path:
    """Bring build/kernel.elf up to date; returns its path."""
    require_tools(CC, LD, "nm", "objdump")
    units = [unit_for(s) for s in sources()]
    stale = [u for u in units if is_stale(u)]
    if stale:
        with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 2) as pool:
            for name in pool.map(compile_unit, stale):
                if verbose:
                    print(f"  CC {name}")
    elf = paths.KERNEL_ELF
    objects = [u.obj for u in units]
    if link_is_stale(elf, objects):
        if verbose:
            print(f"  LD {elf.relative_to(paths.ROOT)}")
        link(objects, elf)
    elif _listings_stale(elf):
        listings(elf)
    build_userland(verbose)
    return elf


def build_userland(verbose: bool = False) -> Path:
    """The user programs and build/initrd.tar (see kos.userland)."""
    try:
        return userland.build_initrd(verbose)
    except userland.UserBuildError as e:
        raise BuildError(str(e)) from None
