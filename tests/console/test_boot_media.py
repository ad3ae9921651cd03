"""Booting the way a PC does: build/kos.iso through the BIOS and GRUB 2, under
QEMU (-cdrom) and under Bochs. One boot per machine serves the smoke tests;
halt comes last and checks the exit status. Bochs is slow: the suite is short."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from types import ModuleType

import pytest
from invoke import Context

from kos import iso, ktap, ktest, paths
from kos.console import parse_kv
from kos.machine import EXIT_FAILURE, EXIT_SUCCESS, Machine, make_machine, qemu_available
from kos.machine.bochs import bochs_missing

BOOT_TIMEOUT = 90.0     # Bochs on a loaded machine


def _skip(packages: list[str], why: str) -> list[pytest.MarkDecorator]:
    return [pytest.mark.skip(reason=f"{why}: apt-get install {' '.join(packages)}")] if packages else []


def _media_params() -> list[object]:
    iso_skip = _skip(iso.missing_tools(), "no ISO without grub-mkrescue")
    qemu_skip = _skip([] if qemu_available() else ["qemu-system-x86"], "qemu-system-i386 is not installed")
    bochs_skip = _skip(bochs_missing(), "bochs is not installed")
    return [
        pytest.param("qemu-iso", marks=[pytest.mark.qemu, *iso_skip, *qemu_skip], id="grub-qemu"),
        pytest.param("bochs", marks=[pytest.mark.slow, *iso_skip, *bochs_skip], id="bochs"),
    ]


# QEMU's boot takes GRUB's own way to the first entry (its hidden timeout,
# nothing typed to GRUB); Bochs's runner types the entry's hotkey, as the
# other ISO tests do, and skips the 2 s GRUB spends on that way.
UNATTENDED = {"qemu-iso"}
# Typed as the machine starts, before GRUB runs: GRUB would take every byte
# (kos.machine.handover), so the machine's runner holds them until the
# kernel is up, and each must then run in the shell. The `t` of memstats is
# the ktest entry's hotkey: GRUB reading it boots that entry.
EARLY = ("meminfo", "memstats")


@pytest.fixture(scope="module", params=_media_params())
def booted(request: pytest.FixtureRequest, kernel) -> Iterator[tuple[Machine, str, list[str]]]:
    """(machine, everything it printed up to the first prompt, what each of
    EARLY printed)."""
    name = str(request.param)
    failed_before = request.session.testsfailed
    m = make_machine(name, kernel, "64M", paths.LOGS / f"boot-media-{name}.log")
    m.entry = None if name in UNATTENDED else "first"
    console = m.start(wait_prompt=False)
    console.send("".join(f"{c}\r" for c in EARLY))
    boot = console.wait_prompt(BOOT_TIMEOUT)
    early = [console.wait_prompt(30) for _ in EARLY]
    yield m, boot, early
    m.stop()
    if request.session.testsfailed == failed_before:
        _remove_logs(m)


def _remove_logs(m: Machine) -> None:
    """The serial log, and Bochs's own logs beside it."""
    m.log_path.unlink(missing_ok=True)
    for extra in m.log_path.parent.glob(m.log_path.stem + ".bochs*"):
        extra.unlink()


def test_grub_boots_the_kernel_to_the_prompt(booted):
    machine, boot, _ = booted
    if machine.name in UNATTENDED:
        assert "Booting `KOS'" in boot              # GRUB's default entry, on the serial console
    assert re.search(r"KOS i386 kernel 0x00100000-0x001[0-9a-f]{5}", boot)
    assert re.search(r"multiboot: loaded by GRUB 2\.\d+", boot)     # the loader's name in its Multiboot info
    # The firmware's memory map, through GRUB's Multiboot info.
    assert re.search(r"mem_lower=6[0-9]{2} KiB mem_upper=6[0-9]{4} KiB", boot)
    assert "boot: ready" in boot


def test_input_typed_before_grub_runs_reaches_the_shell(booted):
    """Every command typed before boot ran, in order, each echoed whole:
    GRUB drains COM1 when it sets it up and reads keys through its hidden
    menu, so unheld, they were lost (or a `t` booted the ktest entry)."""
    _, boot, early = booted
    assert "KTAP" not in boot
    for command, out in zip(EARLY, early, strict=True):
        echo, _, printed = out.partition("\n")
        assert echo == command, out
        assert "unknown command" not in printed
    assert parse_kv(early[0])["frames"] > 7000
    assert "total_heap: 31457280" in early[1]


def test_memtest_passes(booted):
    machine, _, _ = booted
    out = machine.console.run("memtest", timeout=60)
    m = re.search(r"memtest: (\d+) passed, (\d+) failed", out)
    assert m, out
    assert int(m.group(1)) > 0 and m.group(2) == "0"
    assert "FAIL" not in out


def test_meminfo_counts_the_ram_the_firmware_reports(booted):
    machine, boot, _ = booted
    usable_kib = int(re.search(r"memory map \(\d+ regions, (\d+) KiB usable\)", boot).group(1))
    initrd = re.search(r"initrd: (0x[0-9a-f]+) - (0x[0-9a-f]+)", boot)
    reserved = int(initrd.group(2), 16) - int(initrd.group(1), 16) if initrd else 0
    info = machine.console.kv("meminfo")
    assert info["total_memory"] == usable_kib * 1024 - reserved     # the module is not free RAM
    assert info["used_memory"] + info["free_memory"] == info["total_memory"]
    assert info["frames"] == info["dma_frames"] + info["normal_frames"] + info["highmem_frames"]
    assert info["normal_frames"] > 7000              # 64 MiB: most frames above 16 MiB


def test_halt_exits_with_the_success_status(booted):
    machine, _, _ = booted
    machine.console.sendline("halt")
    assert "kernel stopped: halt" in machine.console.expect_text("exit status 33")
    assert machine.wait(timeout=30) == EXIT_SUCCESS


@pytest.mark.parametrize("name", _media_params()[1:])
def test_fault_exits_with_the_failure_status(kernel, name):
    """Bochs has no isa-debug-exit: its runner stops at the kernel's
    debug_exit and reads the code. (QEMU's exit is the same device with or
    without GRUB; tests/toolchain/test_tasks.py checks it after a fault.)"""
    log = paths.LOGS / f"boot-media-crash-{name}.log"
    with make_machine(name, kernel, "64M", log) as m:
        m.entry = "first"
        m.start(timeout=BOOT_TIMEOUT)
        m.console.sendline("crash ud")
        out = m.console.expect_text("exit status 35", timeout=30)
        assert "*** CPU exception 6: invalid opcode" in out
        assert m.wait(timeout=30) == EXIT_FAILURE
    _remove_logs(m)


@pytest.mark.parametrize("name", _media_params()[:1])
def test_the_menus_ktest_entry_runs_the_in_kernel_suites_and_exits(kernel, name, capsys):
    """`./kos ktest --iso`: the ISO's second entry, picked by its hotkey,
    which the machine's runner types while the BIOS runs (the menu itself
    stays hidden), boots with ktest=all: every suite the image registers but
    the manual ones passes, and the task exits with the machine's 33."""
    with pytest.raises(SystemExit) as stopped:
        _tasks().ktest(Context(), iso=True)
    out = capsys.readouterr().out
    assert stopped.value.code == EXIT_SUCCESS, out[-2000:]
    assert "--entry ktest" in out and "-cdrom" in out          # the command it printed
    assert "Booting `KOS'" not in out and "boot: ready" not in out
    doc = ktap.parse(out[out.index("KTAP version 1"):])
    assert doc.ok, ktap.summary(doc)
    assert [t.name for t in doc.tests] == [s.name for s in ktest.image_suites(kernel) if not s.manual]
    assert f"{ktap.summary(doc)} in " in out
    (paths.LOGS / "ktest-qemu-iso.log").unlink(missing_ok=True)


def _tasks() -> ModuleType:
    """tasks.py, whose build is the session's (the image is up to date)."""
    spec = importlib.util.spec_from_file_location("kos_tasks", paths.ROOT / "tasks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
