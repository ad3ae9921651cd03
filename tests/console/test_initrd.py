"""The initrd over the console: the boot line, ls, cat and elfinfo against
the archive the build wrote (ls and cat read the ramfs copied from it),
errors for paths that are not there, and garbage archives refused at boot
with the kernel still reaching its prompt, on an empty root."""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import pytest

from kos import paths

BLOCK = 512


@pytest.fixture(scope="module")
def members() -> dict[str, tarfile.TarInfo]:
    with tarfile.open(paths.INITRD) as tar:
        return {m.name: m for m in tar.getmembers()}


def motd() -> bytes:
    with tarfile.open(paths.INITRD) as tar:
        f = tar.extractfile("etc/motd")
        assert f is not None
        return f.read()


def test_boot_reports_the_initrd_and_reserves_it(machine_factory, members):
    m = machine_factory()
    m.start(wait_prompt=False)
    assert m.console is not None
    boot = m.console.wait_prompt(timeout=30)
    found = re.search(r"initrd: (0x[0-9a-f]{8}) - (0x[0-9a-f]{8}) \((\d+) KiB, (\d+) files\)", boot)
    assert found, boot
    start, end = int(found.group(1), 16), int(found.group(2), 16)
    assert end - start == paths.INITRD.stat().st_size
    assert int(found.group(4)) == sum(1 for t in members.values() if t.isfile())
    # No frame of the module is handed to the buddy allocator.
    for lo, hi in re.findall(r"buddy: managed (0x[0-9a-f]+)-(0x[0-9a-f]+)", boot):
        assert int(hi, 16) <= start or int(lo, 16) >= end
    memmap = m.console.run("memmap")
    assert f"[mem 0x{start & ~0xFFF:016x}-0x{end - 1:016x}] reserved" in memmap


def test_ls_lists_directories_and_files(console, members):
    root = console.run("ls")
    assert re.search(r"^drwxr-xr-x\s+0 bin$", root, re.M)
    assert re.search(r"^drwxr-xr-x\s+0 etc$", root, re.M)
    out = console.run("ls /bin")
    listed = {name: size for size, name in re.findall(r"^-rwxr-xr-x\s+(\d+) (\S+)$", out, re.M)}
    expect = {n.split("/")[1]: str(t.size) for n, t in members.items() if n.startswith("bin/") and t.isfile()}
    assert listed == expect and "hello" in listed
    one = console.run("ls /etc/motd")
    assert re.search(rf"^-rw-r--r--\s+{members['etc/motd'].size} /etc/motd$", one, re.M)


def test_cat_prints_the_file_bytes(console):
    out = console.run("cat /etc/motd")
    assert out.replace("\r\n", "\n").strip("\n") == motd().decode().strip("\n")
    numbers = console.run("cat data/numbers.txt").split()
    assert numbers == [str(i) for i in range(1, 101)]


def test_missing_paths_and_directories_are_errors(console):
    assert "cat: error ENOENT (-2): no such file or directory: /etc/nope" in console.run("cat /etc/nope")
    assert "ls: error ENOENT (-2)" in console.run("ls /nowhere")
    assert "cat: error EISDIR (-21): is a directory: /bin" in console.run("cat /bin")
    assert re.search(r" motd$", console.run("ls /etc"), re.M)      # the shell goes on


def test_elfinfo_prints_the_plan_of_a_program(console):
    out = console.run("elfinfo /bin/hello")
    assert re.search(r"/bin/hello: static i386 executable, entry 0x400[0-9a-f]{5}, 2 segments", out), out
    loads = re.findall(r"load (0x[0-9a-f]{8}) memsz .* (r-x|rw-)$", out, re.M)
    assert [p for _, p in loads] == ["r-x", "rw-"]
    assert all(int(a, 16) >= 0x40000000 for a, _ in loads)
    bad = console.run("elfinfo /etc/motd")
    assert "elfinfo: error ENOEXEC (-8): not an ELF file (bad magic): /etc/motd" in bad


def fix_checksum(header: bytearray) -> None:
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header[:BLOCK])


def garbage(kind: str) -> bytes:
    data = bytearray(paths.INITRD.read_bytes())
    if kind == "truncated":
        return bytes(data[:BLOCK + 100])
    if kind == "checksum":
        data[0] ^= 0x01
        return bytes(data)
    if kind == "name":
        data[0:100] = b"x" * 100                  # the name field without its NUL
        data[345:500] = b"y" * 155                # and the prefix too
        header = bytearray(data[0:BLOCK])
        fix_checksum(header)
        data[0:BLOCK] = header
        return bytes(data)
    if kind == "size":
        with tarfile.open(fileobj=io.BytesIO(bytes(data))) as tar:
            off = next(m.offset for m in tar.getmembers() if m.isfile())
        header = bytearray(data[off:off + BLOCK])
        header[124:136] = b"%011o\0" % len(data)
        fix_checksum(header)
        data[off:off + BLOCK] = header
        return bytes(data)
    raise ValueError(kind)


@pytest.mark.parametrize(("kind", "reason"), [
    ("truncated", "truncated: a header or the end marker is cut short"),
    ("checksum", "header checksum mismatch"),
    ("size", "file size runs past the end of the archive"),
    ("name", "name or prefix without a terminating NUL, or empty"),
])
def test_a_garbage_initrd_is_refused_and_the_kernel_comes_up(machine_factory, tmp_path: Path,
                                                             kind: str, reason: str):
    bad = tmp_path / f"{kind}.tar"
    bad.write_bytes(garbage(kind))
    m = machine_factory(initrd=bad)
    m.start(wait_prompt=False)
    assert m.console is not None
    boot = m.console.wait_prompt(timeout=30)
    assert f"initrd: refused: {reason}" in boot, boot
    assert "booting without it" in boot
    assert "ramfs: empty root (no initrd)" in boot
    assert "cat: error ENOENT (-2): no such file or directory: /etc/motd" in m.console.run("cat /etc/motd")
    assert "elfinfo: error ENOENT (-2): no initrd: /bin/hello" in m.console.run("elfinfo /bin/hello")
    assert "free_frames" in m.console.run("meminfo")


def test_no_module_boots_without_an_initrd(machine_factory):
    m = machine_factory(initrd=None)
    m.start(wait_prompt=False)
    assert m.console is not None
    boot = m.console.wait_prompt(timeout=30)
    assert "initrd: none (no Multiboot module)" in boot
    assert "ramfs: empty root (no initrd)" in boot
    assert m.console.run("ls").strip() == ""
    m.console.run("write /new made without an initrd")
    assert m.console.run("cat /new").strip() == "made without an initrd"
