"""python -m kos.machine.bochs refuses what Bochs would fail on (a missing
file, a bad memory size or one past Bochs's 2048M, a missing package) in one line, and hands Bochs,
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
    (["--memory", "5G", "kernel.elf", "kos.iso"], "bochs: memory size '5G' is more than Bochs can emulate"),
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
    (image, kernel, memory, interactive, log, entry), = files
    assert (image, kernel, log) == (tmp_path / "kos.iso", tmp_path / "kernel.elf", tmp_path / "b.log")
    assert all(isinstance(p, Path) and p.is_absolute() for p in (image, kernel, log))
    assert (memory, interactive, entry) == ("64M", False, None)


@pytest.mark.skipif(bool(kbochs.bochs_missing()), reason="bochs is not installed")
def test_a_configuration_bochs_refuses_is_named_in_its_words(tmp_path, monkeypatch, capsys):
    """Bochs refuses a bochsrc before it opens its log: the runner reports
    the reason Bochs printed, not the tail of no log or of an earlier run's."""
    from kos import paths
    from kos.machine.bochs.config import bochsrc

    monkeypatch.setattr(krunner, "bochsrc", lambda *args, **kw: bochsrc(*args, **kw).replace(
        "megs: 64\n", "megs: 5120\n"))
    (tmp_path / "bochs.log").write_text("an earlier run's log\n")
    runner = krunner.Runner(tmp_path / "kos.iso", paths.KERNEL_ELF, "64M", False, tmp_path / "bochs.log")
    assert runner.run() == 1
    assert capsys.readouterr().err == ("bochs did not reach its debugger prompt: numerical parameter "
                                       "'host_size' was set to 5120, which is out of range 1 to 2048\n")
