"""The tasks refuse a bad argument or a missing tool in one line before
anything is built or booted, and the lists of choices they print are the
ones the code has."""

from __future__ import annotations

import importlib.util
import re

import pytest
from invoke import Context

from kos import paths
from kos.bench import PARTS
from kos.machine import qemu_command
from kos.machine.bochs.config import bochsrc
from kos.machine.memsize import parse_size, size_option


@pytest.fixture
def tasks(monkeypatch):
    """tasks.py, whose build fails the test if a refusal comes too late."""
    spec = importlib.util.spec_from_file_location("kos_tasks", paths.ROOT / "tasks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def no_build(*args, **kwargs):
        raise AssertionError("the task built before refusing its arguments")

    monkeypatch.setattr(module, "_build", no_build)
    monkeypatch.setattr(module.kbuild, "build", no_build)
    return module


@pytest.mark.parametrize("task_name", ["run", "debug", "ktest"])
@pytest.mark.parametrize("memory,why", [("0", "too small"), ("5Q", "bad memory size"), ("1K", "too small"),
                                        ("", "bad memory size")])
def test_a_bad_memory_size_is_refused_before_the_build(tasks, monkeypatch, task_name: str, memory: str,
                                                       why: str):
    monkeypatch.setattr(tasks, "qemu_available", lambda: True)
    with pytest.raises(SystemExit, match=f"^{task_name}: --memory: .*{why}"):
        getattr(tasks, task_name)(Context(), memory=memory)


@pytest.mark.parametrize("memory", ["5G", "2049M"])
def test_a_size_bochs_cannot_emulate_is_refused_before_the_build(tasks, monkeypatch, memory: str):
    """Bochs 2.7 takes at most 2048M: past that it stopped before its
    debugger prompt, and the runner said only that."""
    import kos.machine.bochs as kbochs

    monkeypatch.setattr(kbochs, "bochs_missing", lambda: [])
    with pytest.raises(SystemExit, match=f"^run: --memory: memory size '{memory}' is more than Bochs can "
                                         "emulate \\(at most 2048M\\)"):
        tasks.run(Context(), emulator="bochs", memory=memory)
    assert re.search(r"^megs: 2048$", bochsrc(paths.ROOT, 1, "2G", paths.ROOT, False), re.M)


def test_qemu_gets_the_size_the_other_machines_read():
    assert [size_option(t) for t in ("64MB", "512", "1g", "65537K")] == ["64M", "512M", "1024M", "65537K"]
    assert parse_size("65537K") == 65537 << 10
    cmd = qemu_command(paths.KERNEL_ELF, memory="2G")
    assert cmd[cmd.index("-m") + 1] == "2048M"
    with pytest.raises(ValueError, match="too small"):
        qemu_command(paths.KERNEL_ELF, memory="0")        # QEMU would boot its default 128M
    assert re.search(r"^megs: 1024$", bochsrc(paths.ROOT, 1, "1G", paths.ROOT, False), re.M)
    with pytest.raises(ValueError, match="bad memory size"):
        bochsrc(paths.ROOT, 1, "1X", paths.ROOT, False)


def test_an_unknown_emulator_is_refused_before_the_build(tasks):
    with pytest.raises(SystemExit, match="unknown emulator 'nope'"):
        tasks.run(Context(), emulator="nope")
    with pytest.raises(SystemExit, match="unknown emulator 'nope'"):
        tasks.ktest(Context(), emulator="nope")


def test_ktest_through_grub_refuses_what_the_isos_entry_cannot_do(tasks, monkeypatch):
    """The ISO's ktest entry boots ktest=all, and only QEMU and Bochs run GRUB."""
    import kos.machine.bochs as kbochs

    monkeypatch.setattr(kbochs, "bochs_missing", lambda: [])
    monkeypatch.setattr(tasks, "qemu_available", lambda: True)
    for kw in ({"iso": True}, {"emulator": "bochs"}):
        with pytest.raises(SystemExit, match=r"^ktest: --suites heap: the ISO's ktest entry runs every"):
            tasks.ktest(Context(), suites="heap", **kw)
    with pytest.raises(SystemExit, match=r"^ktest: --iso boots through GRUB, which the embedded emulator"):
        tasks.ktest(Context(), emulator="unicorn", iso=True)
    with pytest.raises(SystemExit, match=r"^ktest: --memory: memory size '4G' is more than Bochs can"):
        tasks.ktest(Context(), emulator="bochs", memory="4G")


def test_debug_without_qemu_names_the_package(tasks, monkeypatch):
    monkeypatch.setattr(tasks, "qemu_available", lambda: False)
    with pytest.raises(SystemExit, match=r"^debug: qemu-system-i386 not found: .*apt-get install qemu-sys"):
        tasks.debug(Context())


def test_bench_refuses_an_unknown_part_before_the_build_and_lists_them_all(tasks):
    with pytest.raises(SystemExit, match=f"unknown part\\(s\\) nope: choose from {', '.join(PARTS)}$"):
        tasks.bench(Context(), parts="heap,nope")
    assert f"subset of {','.join(PARTS)} " in tasks.bench.help["parts"]
    with pytest.raises(SystemExit, match=r"^bench: --parts ', ' names no part: choose from heap, "):
        tasks.bench(Context(), parts=", ")       # it ran every part, a few minutes
    readme = (paths.ROOT / "README.md").read_text()
    assert f"`bench [--parts {','.join(PARTS)}] [--readme]`" in readme


@pytest.mark.parametrize("task_name", ["build", "test"])
@pytest.mark.parametrize("jobs", ["-2", "x", "1.5"])
def test_a_bad_number_of_workers_is_refused(tasks, task_name: str, jobs: str):
    with pytest.raises(SystemExit, match=f"^{task_name}: --jobs {re.escape(jobs)}: give a number"):
        getattr(tasks, task_name)(Context(), jobs=jobs)


def test_every_task_is_summed_up_in_its_first_line(tasks):
    """`./kos --list` shows a task's first docstring line: a whole sentence, not half of one."""
    from invoke import Task

    found = {name: t for name, t in vars(tasks).items() if isinstance(t, Task)}
    assert {"build", "run", "test", "bench", "ktest", "coverage", "plot", "debug", "iso"} <= set(found)
    for name, t in found.items():
        first = (t.__doc__ or "").strip().splitlines()[0]
        assert first.endswith("."), f"{name}: {first!r}"


def test_bench_reads_parts_with_spaces_around_the_commas(tasks, monkeypatch):
    """'heap, vm' was refused as the unknown part ' vm'."""
    import kos.bench

    ran = []
    monkeypatch.setattr(tasks, "_build", lambda: None)
    monkeypatch.setattr(kos.bench, "run_bench", lambda out, parts: ran.append(parts) or {})
    monkeypatch.setattr("kos.plot.bench_plots", lambda result, out_dir: [])
    tasks.bench(Context(), parts="heap, vm ")
    assert ran == [("heap", "vm")]


@pytest.mark.parametrize("suites", ["", ",", " , "])
def test_ktest_with_no_suite_is_refused_not_passed(tasks, suites: str):
    """The kernel runs no case for an empty ktest= and reports success."""
    with pytest.raises(SystemExit, match=r"^ktest: --suites .* names no suite"):
        tasks.ktest(Context(), emulator="unicorn", suites=suites)


def test_kos_runs_through_a_symlink_from_another_directory(tmp_path):
    """`ln -s .../kos ~/bin/kos`: the script finds its tree, not the link's
    directory (where it made a .venv of nothing and failed). Run alone, it
    lists the tasks (invoke alone printed only its own options)."""
    import subprocess

    link = tmp_path / "bin" / "kos"
    link.parent.mkdir()
    link.symlink_to(paths.ROOT / "kos")
    res = subprocess.run([str(link)], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "build " in res.stdout and "ktest " in res.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]
    assert sorted(p.name for p in link.parent.iterdir()) == ["kos"]


def test_a_selection_that_matches_no_test_says_so(tasks, monkeypatch, capsys):
    """pytest alone ends with 'no tests ran' and status 5; the task names the selection."""
    from types import SimpleNamespace

    monkeypatch.setattr(tasks, "_build", lambda: None)
    ran = []
    c = Context()
    monkeypatch.setattr(c, "run", lambda cmd, **kw: ran.append(cmd) or SimpleNamespace(exited=5))
    with pytest.raises(SystemExit) as e:
        tasks.test(c, k="no such test's name", m="qemu")
    assert e.value.code == 5
    assert "-k 'no such test'\"'\"'s name'" in ran[0] and "-m qemu" in ran[0]
    assert capsys.readouterr().out.endswith(
        "test: no test matches -k 'no such test'\"'\"'s name' and -m qemu\n")
