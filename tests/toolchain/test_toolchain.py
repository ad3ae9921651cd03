"""The Python toolchain: emulator choice, missing tools, incremental builds,
console parsing and its failure messages."""

from __future__ import annotations

import os
import time

import pexpect
import pytest

from kos import build as kbuild
from kos import machine as kmachine
from kos.console import Console, ConsoleError, normalise, parse_kv


def only_on_path(tmp_path, monkeypatch, *programs: str) -> None:
    """PATH holds nothing but these (empty executable) programs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in programs:
        exe = bin_dir / name
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_qemu_is_preferred_when_it_is_on_the_path(tmp_path, monkeypatch):
    only_on_path(tmp_path, monkeypatch, "qemu-system-i386")
    assert kmachine.choose_emulator("") == ("qemu", "qemu-system-i386 is installed")
    assert kmachine.choose_emulator("unicorn") == ("unicorn", "requested")


def test_unicorn_is_the_fallback_and_says_why(tmp_path, monkeypatch):
    only_on_path(tmp_path, monkeypatch, "qemu-system-x86_64")     # not the i386 one
    name, why = kmachine.choose_emulator("")
    assert name == "unicorn"
    assert "not installed" in why


def test_asking_for_missing_qemu_names_the_package(tmp_path, monkeypatch):
    only_on_path(tmp_path, monkeypatch)
    with pytest.raises(SystemExit, match=r"apt-get install qemu-system-x86"):
        kmachine.choose_emulator("qemu")
    with pytest.raises(SystemExit, match="unknown emulator 'vmware'"):
        kmachine.choose_emulator("vmware")


def test_asking_for_missing_bochs_names_the_packages(monkeypatch):
    import kos.machine.bochs as kbochs

    monkeypatch.setattr(kbochs, "bochs_missing", lambda: ["bochs", "bochs-term"])
    with pytest.raises(SystemExit, match=r"apt-get install bochs bochs-term"):
        kmachine.choose_emulator("bochs")
    monkeypatch.setattr(kbochs, "bochs_missing", lambda: [])
    assert kmachine.choose_emulator("bochs") == ("bochs", "requested")


def test_qemu_command_has_debug_exit_and_passes_ctrl_c(tmp_path):
    cmd = kmachine.qemu_command(tmp_path / "k.elf", memory="128M")
    assert cmd[0] == "qemu-system-i386"
    assert "isa-debug-exit,iobase=0xf4,iosize=0x04" in cmd
    assert "stdio,id=con,signal=off" in cmd
    assert cmd[cmd.index("-m") + 1] == "128M"
    assert "mux=on" in " ".join(kmachine.qemu_command(tmp_path / "k.elf", interactive=True))


def test_missing_compiler_is_one_line_naming_the_package(tmp_path, monkeypatch):
    only_on_path(tmp_path, monkeypatch, "ld")
    with pytest.raises(kbuild.ToolMissing) as e:
        kbuild.require_tools("ld", "gcc")
    assert str(e.value) == "gcc not found: install it with `apt-get install gcc`"
    kbuild.require_tools("ld")


def test_build_is_incremental_and_follows_headers(kernel):
    units = [kbuild.unit_for(s) for s in kbuild.sources()]
    assert not [u for u in units if kbuild.is_stale(u)], "a fresh build left stale objects"
    header = kbuild.paths.ROOT / "kernel" / "arch" / "pit.h"
    before = header.stat()
    try:
        future = time.time() + 5
        os.utime(header, (future, future))
        stale = {u.source.name for u in units if kbuild.is_stale(u)}
    finally:
        os.utime(header, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert {"pit.c", "kernel.c", "cmd_system.c"} <= stale
    assert "string.c" not in stale


def test_parse_kv_reads_numbers_and_text():
    text = "total_heap: 31457280\nname: value with spaces\naddr: 0x00200000\nnot a pair\n"
    assert parse_kv(text) == {"total_heap": 31457280, "name": "value with spaces", "addr": 0x200000}


def test_normalise_drops_carriage_returns():
    assert normalise(b"a\r\r\nb\r\n") == "a\nb\n"


def test_timeout_names_the_pattern_shows_the_tail_and_the_log(tmp_path):
    log = tmp_path / "serial.log"
    child = pexpect.spawn("sh", ["-c", "echo booting; echo almost-there; sleep 5"])
    try:
        con = Console(child, log)
        with pytest.raises(ConsoleError) as e:
            con.expect_text("never-printed", timeout=0.5)
    finally:
        child.terminate(force=True)
    msg = str(e.value)
    assert "timed out after 0.5s waiting for 'never-printed'" in msg
    assert "almost-there" in msg
    assert str(log) in msg


def test_machine_end_is_reported_as_such(tmp_path):
    child = pexpect.spawn("sh", ["-c", "echo bye"])
    con = Console(child, tmp_path / "x.log")
    with pytest.raises(ConsoleError, match="the machine ended waiting for"):
        con.wait_prompt(timeout=5)


def test_the_python_api_before_a_build_says_to_build(tmp_path, monkeypatch):
    from kos import kernel as kk
    from kos.exceptions import MemoryError as KOSMemoryError
    from kos.memory.manager import MemoryManager

    monkeypatch.setattr(kk.paths, "KERNEL_ELF", tmp_path / "kernel.elf")
    previous = kk.set_default_kernel(None)
    try:
        with pytest.raises(KOSMemoryError, match=r"kernel.elf does not exist yet: `\./kos build` makes it"):
            MemoryManager().initialize()
    finally:
        kk.set_default_kernel(previous)


def test_removing_a_source_relinks_the_kernel(tmp_path):
    """Its object is no longer linked in: the kernel must not keep its code
    because every remaining object is older than the image."""
    objects = [tmp_path / "a.o", tmp_path / "b.o"]
    for o in objects:
        o.write_bytes(b"")
    elf = tmp_path / "kernel.elf"
    elf.write_bytes(b"")
    assert kbuild.link_is_stale(elf, objects), "never linked: no record"
    elf.with_suffix(".link").write_text(kbuild._link_record(objects))
    future = time.time() + 5
    os.utime(elf, (future, future))
    assert not kbuild.link_is_stale(elf, objects)
    assert kbuild.link_is_stale(elf, objects[:1])
    assert kbuild.link_is_stale(elf, [*objects, tmp_path / "c.o"])
    os.utime(objects[1], (future + 1, future + 1))
    assert kbuild.link_is_stale(elf, objects)
