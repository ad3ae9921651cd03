"""Ctrl-C in the middle of a build leaves every file in build/ whole or
absent (or stale, so the next build remakes it), never half-written and
taken as up to date."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kos import build as kbuild
from kos import iso as kiso
from kos import userland


def _interrupt_at(monkeypatch, module, program: str, partial_bytes: bytes = b"") -> None:
    """module's subprocess.run is Ctrl-C'd while program runs: after it wrote
    partial_bytes to its -o file, when it has one."""
    real = subprocess.run

    def run(cmd, *args, **kwargs):
        if cmd[0] == program:
            if "-o" in cmd:
                Path(cmd[cmd.index("-o") + 1]).write_bytes(partial_bytes)
            raise KeyboardInterrupt
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(module.subprocess, "run", run)


def _objects() -> list[Path]:
    return [kbuild.unit_for(s).obj for s in kbuild.sources()]


def test_an_interrupted_link_keeps_the_old_kernel(kernel, tmp_path, monkeypatch):
    out = tmp_path / "kernel.elf"
    out.write_bytes(b"the previous kernel")
    _interrupt_at(monkeypatch, kbuild, kbuild.LD, b"\x7fELF half of a kernel")
    with pytest.raises(KeyboardInterrupt):
        kbuild.link(_objects(), out)
    assert out.read_bytes() == b"the previous kernel"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernel.elf"]


def test_listings_cut_short_are_remade_by_the_next_build(kernel, tmp_path, monkeypatch):
    out = tmp_path / "kernel.elf"
    _interrupt_at(monkeypatch, kbuild, "objdump")
    with pytest.raises(KeyboardInterrupt):
        kbuild.link(_objects(), out)
    assert out.read_bytes()[:4] == b"\x7fELF"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernel.elf", "kernel.link", "kernel.sym"]
    assert kbuild._listings_stale(out)
    monkeypatch.undo()
    (tmp_path / "kernel.asm").write_text("")        # objdump -S is slow; any listing newer than the ELF
    assert not kbuild._listings_stale(out)


def test_an_interrupted_iso_keeps_the_old_one(tmp_path, monkeypatch):
    kernel = tmp_path / "kernel.elf"
    kernel.write_bytes(b"kernel")
    out = tmp_path / "kos.iso"
    out.write_bytes(b"the previous ISO")
    monkeypatch.setattr(kiso, "missing_tools", lambda: [])
    _interrupt_at(monkeypatch, kiso, "grub-mkrescue", b"CD001 half of an ISO")
    with pytest.raises(KeyboardInterrupt):
        kiso.build_iso(kernel, out, initrd=None)
    assert out.read_bytes() == b"the previous ISO"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernel.elf", "kos.iso"]


def test_an_interrupted_user_program_is_stale(tmp_path, monkeypatch):
    out = tmp_path / "hello"
    cmd = ["ld", "-o", str(out), "hello.o"]
    out.write_bytes(b"the previous program")
    (tmp_path / "hello.cmd").write_text(" ".join(cmd))
    assert not userland._stale(out, [], cmd)
    _interrupt_at(monkeypatch, userland, "ld", b"\x7fELF half of a program")
    with pytest.raises(KeyboardInterrupt):
        userland._make(out, cmd, "linking hello")
    assert userland._stale(out, [], cmd)


def test_an_up_to_date_iso_needs_no_grub_tools(tmp_path, monkeypatch):
    """Booting an ISO made earlier (run --iso, Bochs) works where GRUB's
    tools are gone; making a new one names the packages."""
    kernel = tmp_path / "kernel.elf"
    kernel.write_bytes(b"kernel")
    out = tmp_path / "kos.iso"
    out.write_bytes(b"an ISO made before")
    out.with_suffix(".cfg").write_text(kiso.grub_config(kernel.name))
    monkeypatch.setattr(kiso, "missing_tools", lambda: ["xorriso"])
    assert kiso.build_iso(kernel, out, initrd=None) == out
    kernel.write_bytes(b"a newer kernel")
    future = out.stat().st_mtime + 5
    os.utime(kernel, (future, future))
    with pytest.raises(kbuild.ToolMissing, match=r"apt-get install xorriso"):
        kiso.build_iso(kernel, out, initrd=None)
    assert out.read_bytes() == b"an ISO made before"
