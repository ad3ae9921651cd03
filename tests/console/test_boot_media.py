"""Booting the way a PC does: build/kos.iso through the BIOS and GRUB 2, under
QEMU (-cdrom) and under Bochs. One boot per machine serves the smoke tests;
halt comes last and checks the exit status. Bochs is slow: the suite is short."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from kos import iso, ktap, ktest, paths
from kos.console import normalise
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
# nothing typed); Bochs's types the entry's hotkey, as the other ISO tests
# do, and skips the 2 s GRUB spends on that way.
UNATTENDED = {"qemu-iso"}


@pytest.fixture(scope="module", params=_media_params())
def booted(request: pytest.FixtureRequest, kernel) -> Iterator[tuple[Machine, str]]:
    """(machine, everything it printed up to the first prompt)."""
    name = str(request.param)
    failed_before = request.session.testsfailed
    m = make_machine(name, kernel, "64M", paths.LOGS / f"boot-media-{name}.log")
    console = m.start(wait_prompt=False)
    first = b"" if name in UNATTENDED else \
        console.type_until(iso.BOOT_HOTKEY, re.compile(rb"KOS i386 kernel"), BOOT_TIMEOUT)
    boot = normalise(first) + console.wait_prompt(BOOT_TIMEOUT)
    yield m, boot
    m.stop()
    if request.session.testsfailed == failed_before:
        _remove_logs(m)


def _remove_logs(m: Machine) -> None:
    """The serial log, and Bochs's own logs beside it."""
    m.log_path.unlink(missing_ok=True)
    for extra in m.log_path.parent.glob(m.log_path.stem + ".bochs*"):
        extra.unlink()


def test_grub_boots_the_kernel_to_the_prompt(booted):
    machine, boot = booted
    if machine.name in UNATTENDED:
        assert "Booting `KOS'" in boot              # GRUB's default entry, on the serial console
    assert re.search(r"KOS i386 kernel 0x00100000-0x001[0-9a-f]{5}", boot)
    assert re.search(r"multiboot: loaded by GRUB 2\.\d+", boot)     # the loader's name in its Multiboot info
    # The firmware's memory map, through GRUB's Multiboot info.
    assert re.search(r"mem_lower=6[0-9]{2} KiB mem_upper=6[0-9]{4} KiB", boot)
    assert "boot: ready" in boot


def test_memtest_passes(booted):
    machine, _ = booted
    out = machine.console.run("memtest", timeout=60)
    m = re.search(r"memtest: (\d+) passed, (\d+) failed", out)
    assert m, out
    assert int(m.group(1)) > 0 and m.group(2) == "0"
    assert "FAIL" not in out


def test_meminfo_counts_the_ram_the_firmware_reports(booted):
    machine, boot = booted
    usable_kib = int(re.search(r"memory map \(\d+ regions, (\d+) KiB usable\)", boot).group(1))
    initrd = re.search(r"initrd: (0x[0-9a-f]+) - (0x[0-9a-f]+)", boot)
    reserved = int(initrd.group(2), 16) - int(initrd.group(1), 16) if initrd else 0
    info = machine.console.kv("meminfo")
    assert info["total_memory"] == usable_kib * 1024 - reserved     # the module is not free RAM
    assert info["used_memory"] + info["free_memory"] == info["total_memory"]
    assert info["frames"] == info["dma_frames"] + info["normal_frames"] + info["highmem_frames"]
    assert info["normal_frames"] > 7000              # 64 MiB: most frames above 16 MiB


def test_halt_exits_with_the_success_status(booted):
    machine, _ = booted
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
        console = m.start(wait_prompt=False)
        console.type_until(iso.BOOT_HOTKEY, re.compile(rb"KOS i386 kernel"), BOOT_TIMEOUT)
        console.wait_prompt(BOOT_TIMEOUT)
        m.console.sendline("crash ud")
        out = m.console.expect_text("exit status 35", timeout=30)
        assert "*** CPU exception 6: invalid opcode" in out
        assert m.wait(timeout=30) == EXIT_FAILURE
    _remove_logs(m)


@pytest.mark.parametrize("name", _media_params()[:1])
def test_the_menus_ktest_entry_runs_the_in_kernel_suites_and_exits(kernel, name):
    """The ISO's second entry, picked by its hotkey typed while the BIOS runs
    (the menu itself stays hidden), boots with ktest=all: every suite the
    image registers but the manual ones passes, and the machine exits 33."""
    log = paths.LOGS / f"boot-media-ktest-{name}.log"
    with make_machine(name, kernel, "64M", log) as m:
        console = m.start(wait_prompt=False)
        first = console.type_until(iso.KTEST_HOTKEY, re.compile(rb"KTAP version 1|kos> "), BOOT_TIMEOUT)
        assert first.endswith(b"KTAP version 1"), "GRUB booted the first entry"
        console.wait_exit(timeout=BOOT_TIMEOUT)
        out = "KTAP version 1" + console.output_so_far()
        assert m.wait(timeout=30) == EXIT_SUCCESS
    doc = ktap.parse(out)
    assert doc.ok, ktap.summary(doc)
    assert [t.name for t in doc.tests] == [s.name for s in ktest.image_suites(kernel) if not s.manual]
    _remove_logs(m)
