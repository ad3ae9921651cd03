"""build/kos.iso: what grub-mkrescue puts on the CD and the grub.cfg that
boots it (the boots themselves are in tests/console/test_boot_media.py)."""

from __future__ import annotations

import subprocess

import pytest

from kos import iso

pytestmark = pytest.mark.skipif(bool(iso.missing_tools()),
                                reason=f"apt-get install {' '.join(iso.missing_tools())}")


def _extract(image, inside, dest):
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(image), "-extract", inside, str(dest)],
                   check=True, capture_output=True)
    return dest.read_bytes()


def _files(image):
    out = subprocess.run(["xorriso", "-indev", str(image), "-find", "/boot", "-type", "f"],
                         check=True, capture_output=True, text=True).stdout
    return {line.strip().strip("'") for line in out.splitlines() if line.strip()}


def test_iso_holds_the_kernel_and_a_serial_grub_config(kernel, tmp_path):
    image = iso.build_iso(kernel, tmp_path / "kos.iso", initrd=None)
    assert _extract(image, "/boot/kernel.elf", tmp_path / "k.elf") == kernel.read_bytes()
    cfg = _extract(image, "/boot/grub/grub.cfg", tmp_path / "grub.cfg").decode()
    lines = [line.strip() for line in cfg.splitlines()]
    assert "serial --unit=0 --speed=115200" in lines
    assert "terminal_input serial" in lines and "terminal_output serial" in lines
    assert "set timeout=0" in lines and "set timeout_style=hidden" in lines
    assert "multiboot /boot/kernel.elf" in lines
    assert 'menuentry "KOS" --hotkey=backspace {' in lines        # iso.BOOT_HOTKEY picks it at once
    # The second entry, on its hotkey: the in-kernel suites at boot.
    assert f'menuentry "{iso.KTEST_ENTRY}" --hotkey={iso.KTEST_HOTKEY} {{' in lines
    assert "multiboot /boot/kernel.elf ktest=all" in lines
    assert not any(line.startswith("module") for line in lines)
    assert "/boot/initrd.tar" not in _files(image)


def test_initrd_becomes_a_module_when_it_exists(kernel, tmp_path):
    initrd = tmp_path / "initrd.tar"
    initrd.write_bytes(b"ustar test archive" * 64)
    image = iso.build_iso(kernel, tmp_path / "kos.iso", initrd=initrd, cmdline="ktest=all")
    cfg = _extract(image, "/boot/grub/grub.cfg", tmp_path / "grub.cfg").decode()
    assert "module /boot/initrd.tar initrd.tar" in cfg
    assert "multiboot /boot/kernel.elf ktest=all" in cfg
    assert _extract(image, "/boot/initrd.tar", tmp_path / "i.tar") == initrd.read_bytes()


def test_iso_is_rebuilt_only_when_an_input_changes(kernel, tmp_path):
    out = tmp_path / "kos.iso"
    iso.build_iso(kernel, out, initrd=None)
    first = out.stat().st_mtime_ns
    iso.build_iso(kernel, out, initrd=None)
    assert out.stat().st_mtime_ns == first
    iso.build_iso(kernel, out, initrd=None, cmdline="ktest=all")
    assert out.stat().st_mtime_ns != first
