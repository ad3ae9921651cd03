"""python -m kos.machine.bochs refuses what Bochs would fail on (a missing
file, a bad memory size, a missing package) in one line, and hands Bochs,
which runs in a directory of its own, paths that name the same files."""

from __future__ import annotations

from pathlib import Path

import pytest

import kos.machine.bochs as kbochs
import kos.machine.bochs.runner as krunner
from kos.machine.bochs.__main__ import main


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("kernel.elf", "kos.iso"):
        (tmp_path / name).write_bytes(b"x")
    monkeypatch.setattr(kbochs, "bochs_missing", lambda: [])
    started = []
    monkeypatch.setattr(krunner, "main", lambda *args: started.append(args) or 33)
    return started


@pytest.mark.parametrize("argv,message", [
    (["kernel.elf", "none.iso"], "bochs: cannot read none.iso: no such file"),
    (["--memory", "0", "kernel.elf", "kos.iso"], "bochs: memory size '0' is too small"),
    (["--memory", "5Q", "kernel.elf", "kos.iso"], "bochs: bad memory size '5Q'"),
])
def test_what_bochs_would_fail_on_is_refused_in_one_line(files, capsys, argv: list[str], message: str):
    assert main(argv) == 1
    assert capsys.readouterr().err.startswith(message)
    assert not files


def test_a_missing_package_is_named(files, monkeypatch, capsys):
    monkeypatch.setattr(kbochs, "bochs_missing", lambda: ["bochsbios"])
    assert main(["kernel.elf", "kos.iso"]) == 1
    assert "apt-get install bochsbios" in capsys.readouterr().err
    assert not files


def test_relative_paths_reach_bochs_as_absolute_ones(files, tmp_path):
    assert main(["--log", "b.log", "kernel.elf", "kos.iso"]) == 33
    (image, kernel, memory, interactive, log), = files
    assert (image, kernel, log) == (tmp_path / "kos.iso", tmp_path / "kernel.elf", tmp_path / "b.log")
    assert all(isinstance(p, Path) and p.is_absolute() for p in (image, kernel, log))
    assert (memory, interactive) == ("64M", False)
