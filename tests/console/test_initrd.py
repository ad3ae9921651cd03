"""The initrd over the console: the boot line, ls, cat and elfinfo against
the archive the build wrote (all three read the ramfs taken in from it, so
elfinfo sees files written at runtime too), errors for paths that are not
there, an archive too large for the room below the heap moved past the
stack region and read back whole (QEMU -initrd, the embedded emulator, and
GRUB from the ISO), a path appended to the archive a second time (the
later entry wins, as tar extracts it), and garbage archives, or one no low memory can hold,
refused at boot with the kernel still reaching its prompt, on an empty root."""

from __future__ import annotations

import functools
import io
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from kos import iso, paths
from kos.console import normalise
from kos.machine import Machine, qemu_available
from kos.machine.iso import QemuIsoMachine, qemu_iso_command
from kos.machine.qemu import QemuMachine
from kos.memory.constants import HEAP_START, STACK_REGION_END

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
    # Every component is walked, as cat and run walk it, and the error names the path typed.
    for path in ("/bin/hello/..", "/etc/motd/../../bin/hello"):
        assert f"elfinfo: error ENOTDIR (-20): not a directory: {path}" in console.run(f"elfinfo {path}")
    dotted = console.run("elfinfo /etc/../bin/./hello")
    assert re.search(r"^/bin/hello: static i386 executable", dotted, re.M), dotted


def test_elfinfo_reads_files_written_at_runtime(console):
    plan = console.run("elfinfo /bin/hello").replace("/bin/hello:", "PATH:")
    copied = console.run("run /bin/cp /bin/hello /hello2")
    assert "bytes from /bin/hello to /hello2" in copied and "exited with status 0" in copied
    copy = console.run("elfinfo hello2")
    assert copy.replace("/hello2:", "PATH:") == plan and copy.startswith("/hello2: static i386")
    console.run("write /hello2 no longer a program")
    bad = console.run("elfinfo /hello2")
    assert "elfinfo: error ENOEXEC (-8): not an ELF file (bad magic): /hello2" in bad
    console.run("rm /hello2")
    assert "elfinfo: error ENOENT (-2): no such file or directory: /hello2" in console.run("elfinfo /hello2")
    assert "elfinfo: error EISDIR (-21): is a directory: /bin" in console.run("elfinfo /bin")


BIG = 1 << 20     # with the build's archive, more than the room between the kernel and the heap


def big_initrd(path: Path, size: int) -> str:
    """Write the build's initrd plus /data/big.txt, size bytes of numbered
    lines, last in the archive; return the file's text."""
    body = "".join(f"{i:07d}\n" for i in range(size // 8))
    path.write_bytes(_archive_with("data/big.txt", body.encode()))
    return body


def initrd_plus(files: list[tuple[str, bytes]], dirs: tuple[str, ...] = ()) -> bytes:
    """The build's initrd with these directories (0755) and files (0644,
    name and bytes) after its own entries, in that order."""
    buf = io.BytesIO()
    with tarfile.open(paths.INITRD) as src, \
            tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for m in src.getmembers():
            tar.addfile(m, src.extractfile(m) if m.isfile() else None)
        for name in dirs:
            d = tarfile.TarInfo(name)
            d.type, d.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(d)
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@functools.lru_cache(maxsize=2)
def _archive_with(name: str, data: bytes) -> bytes:
    """The build's initrd with one more file, last; made once for the tests
    of both machines."""
    return initrd_plus([(name, data)])


def boot_counting(machine_factory, archive: Path, files: int) -> Machine:
    """A machine booted with archive as its initrd, whose boot counted files files."""
    m = machine_factory(initrd=archive)
    m.start(wait_prompt=False)
    assert m.console is not None
    boot = m.console.wait_prompt(timeout=30)
    assert re.search(rf"initrd: 0x[0-9a-f]{{8}} - 0x[0-9a-f]{{8}} \(\d+ KiB, {files} files\)", boot), boot
    return m


def check_big_initrd(m: Machine, archive: Path, body: str, boot_key: str = "") -> None:
    """The archive did not fit below the heap, sits past the stack region,
    reserved, and every byte of its last file reads back. boot_key: the
    boot loader's key for the kernel's entry, typed until the kernel talks."""
    m.start(wait_prompt=False)
    assert m.console is not None
    first = m.console.type_until(boot_key, re.compile(rb"KOS i386 kernel[^\n]*\n"), 90) if boot_key else b""
    boot = normalise(first) + m.console.wait_prompt(timeout=90)
    image = re.search(r"KOS i386 kernel 0x[0-9a-f]{8}-(0x[0-9a-f]{8})", boot)
    assert image, boot
    assert archive.stat().st_size > HEAP_START - int(image.group(1), 16)
    moved = rf"initrd: moved from 0x[0-9a-f]{{8}} up to {STACK_REGION_END:#010x}, clear of the heap"
    assert re.search(moved, boot), boot
    found = re.search(r"initrd: (0x[0-9a-f]{8}) - (0x[0-9a-f]{8}) \((\d+) KiB, (\d+) files\)", boot)
    assert found, boot
    start, end = int(found.group(1), 16), int(found.group(2), 16)
    assert start == STACK_REGION_END and end - start == archive.stat().st_size
    for lo, hi in re.findall(r"buddy: managed (0x[0-9a-f]+)-(0x[0-9a-f]+)", boot):
        assert int(hi, 16) <= start or int(lo, 16) >= end
    assert f"[mem 0x{start:016x}-0x{end - 1:016x}] reserved" in m.console.run("memmap")
    # The host's cksum of the same bytes: every byte read back, without a
    # megabyte through the serial line (QEMU writes it a byte at a time).
    copy = archive.with_name("big.txt")
    copy.write_text(body)
    host = subprocess.run(["cksum", str(copy)], capture_output=True, text=True, check=True)
    crc, size = host.stdout.split()[:2]
    out = m.console.run("run /bin/cksum /data/big.txt", timeout=300)
    assert f"{crc} {size} /data/big.txt" in out, out
    assert m.console.run("cat /etc/motd").replace("\r\n", "\n").strip("\n") == motd().decode().strip("\n")
    assert re.search(r"run: pid \d+ exited with status 0", m.console.run("run /bin/hello"))


def test_an_initrd_too_large_for_below_the_heap_moves_past_the_stacks(machine_factory, tmp_path: Path):
    archive = tmp_path / "big.tar"
    body = big_initrd(archive, BIG)
    check_big_initrd(machine_factory(initrd=archive), archive, body)


def test_a_path_appended_again_takes_the_later_entry(machine_factory, tmp_path: Path, members):
    """An archive `tar -r` added to holds a path twice; the later entry is
    the file (as tar extracts it), its directory takes in every other entry
    and new names, and the boot counts the file once."""
    archive = tmp_path / "appended.tar"
    archive.write_bytes(initrd_plus([("data/README", b"the second README\n"), ("data/after", b"after it\n")]))
    m = boot_counting(machine_factory, archive, len([t for t in members.values() if t.isfile()]) + 1)
    listing = m.console.run("ls /data")
    assert re.findall(r"^-rw-r--r--\s+(\d+) README$", listing, re.M) == ["18"], listing
    assert m.console.run("cat /data/README").strip() == "the second README"
    assert m.console.run("cat /data/after").strip() == "after it"
    assert m.console.run("write /data/new made here").strip() == "write: 9 bytes to /data/new"
    assert m.console.run("mkdir /data/sub").strip() == ""
    assert re.search(r"^-rw-r--r--\s+292 numbers.txt$", m.console.run("ls /data"), re.M)


def test_names_that_fill_their_fields_are_files(machine_factory, tmp_path: Path, members):
    """POSIX ustar ends name and prefix with a NUL only when they are not
    full: a 100-byte name, alone or after a prefix, is a path like
    any other."""
    full = "data/" + "n" * 95                     # the name field, whole
    deep = "p" * 140                              # a prefix, then a full name field (a line holds 255)
    archive = tmp_path / "full-names.tar"
    data = initrd_plus([(full, b"a full name field\n"), (f"{deep}/{'q' * 100}", b"and a full prefix\n")],
                       dirs=(deep,))
    assert data.count(("n" * 95).encode() + b"0000644") == 1           # no NUL between name and mode
    archive.write_bytes(data)
    m = boot_counting(machine_factory, archive, len([t for t in members.values() if t.isfile()]) + 2)
    assert m.console.run(f"cat /{full}").strip() == "a full name field"
    assert re.search(rf"^-rw-r--r--\s+18 {'n' * 95}$", m.console.run("ls /data"), re.M)
    assert m.console.run(f"cat /{deep}/{'q' * 100}").strip() == "and a full prefix"
    assert m.console.run("cat /etc/motd").strip()


def test_directories_the_archive_does_not_hold_are_made(machine_factory, tmp_path: Path, members):
    """An archive made with `tar cf a.tar x/y/file` holds no entry for x or
    x/y; tar makes them as it extracts, and so does the index: the file is
    reachable, and each directory lists what is under it."""
    archive = tmp_path / "no-dirs.tar"
    archive.write_bytes(_archive_with("x/y/file", b"deep\n"))
    assert not any(n in ("x", "x/y") for n in tarfile.open(archive).getnames())
    m = boot_counting(machine_factory, archive, len([t for t in members.values() if t.isfile()]) + 1)
    assert m.console.run("cat /x/y/file").strip() == "deep"
    assert re.search(r"^drwxr-xr-x\s+0 x$", m.console.run("ls /"), re.M)
    assert re.search(r"^drwxr-xr-x\s+0 y$", m.console.run("ls /x"), re.M)
    assert re.search(r"^-rw-r--r--\s+5 file$", m.console.run("ls /x/y"), re.M)
    assert m.console.run("write /x/y/new made").strip() == "write: 4 bytes to /x/y/new"
    assert m.console.run("cat /etc/motd").strip()


class _IsoMachine(QemuIsoMachine):
    """GRUB from an ISO of its own (build/kos.iso is the build's), with this initrd."""

    def __init__(self, kernel: Path, image: Path, log_path: Path, initrd: Path) -> None:
        super().__init__(kernel, "64M", log_path, initrd)
        self.image = image

    def command(self) -> list[str]:
        QemuMachine.command(self)      # the check that QEMU is installed
        return qemu_iso_command(iso.build_iso(self.kernel, out=self.image, initrd=self.initrd), self.memory)


@pytest.mark.qemu
@pytest.mark.skipif(not qemu_available() or bool(iso.missing_tools()),
                    reason=f"needs qemu-system-i386 (apt-get install qemu-system-x86) and grub-mkrescue "
                           f"({iso.APT_LINE})")
def test_grub_loads_an_initrd_too_large_for_below_the_heap(kernel, tmp_path: Path):
    archive = tmp_path / "big.tar"
    body = big_initrd(archive, BIG)
    m = _IsoMachine(kernel, tmp_path / "big.iso", paths.LOGS / "test_initrd.grub-big.log", archive)
    try:
        check_big_initrd(m, archive, body, boot_key=iso.BOOT_HOTKEY)
    finally:
        m.stop()
    m.log_path.unlink(missing_ok=True)        # kept only when the test failed


def test_an_initrd_no_low_memory_can_hold_is_refused(machine_factory, tmp_path: Path):
    archive = tmp_path / "huge.tar"
    size = 40 << 20               # fits in 64 MiB after the kernel, not past the stack region
    archive.write_bytes(_archive_with("data/zeros", bytes(size)))    # refused unread: any bytes do
    m = machine_factory(initrd=archive)
    m.start(wait_prompt=False)
    assert m.console is not None
    boot = m.console.wait_prompt(timeout=90)
    assert re.search(r"initrd: refused: module 0x[0-9a-f]{8} - 0x[0-9a-f]{8} \(\d+ KiB\) overlaps the heap "
                     r"or stacks, and no low memory past them holds it", boot), boot
    assert "ramfs: empty root (no initrd)" in boot
    assert "ls: error ENOENT (-2)" in m.console.run("ls /bin")
    assert "free_frames" in m.console.run("meminfo")


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
        data[0:100] = bytes(100)                  # no name, and no prefix before it
        data[345:500] = bytes(155)
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
    ("name", "an empty name"),
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
    missing = m.console.run("elfinfo /bin/hello")
    assert "elfinfo: error ENOENT (-2): no such file or directory: /bin/hello" in missing
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
