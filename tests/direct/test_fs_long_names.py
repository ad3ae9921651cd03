"""Paths longer than a ustar header holds, from a real initrd: GNU tar's
long-name entries and pax path records are files like any other, open()
and the archive share one limit (FS_PATH_MAX bytes with the NUL, a name
at most FS_NAME_MAX), and an archive entry past it is skipped with
ENAMETOOLONG at boot, as open() refuses the path, the rest of the archive
kept."""

from __future__ import annotations

import errno
import io
import re
import tarfile
from collections.abc import Iterator

import pytest

from kos import paths
from kos.fs import VirtualFileSystem
from kos.kernel import abi
from kos.machine.unicorn.kernel import UnicornKernel
from kos.target import abi as kabi

pytestmark = pytest.mark.unicorn

BLOCK = 512

GNU = "gnu/" + "/".join(["g" * 200] * 3) + "/file"
PAX = "pax/" + "/".join(["p" * 250] * 3) + "/file"


def paths_for(path_max: int, name_max: int) -> dict[str, str]:
    return {
        "longest": "max/" + "/".join(["m" * 200] * 6)[:path_max - 2 - len("max/")],   # '/' + it + NUL
        "too_long": "data/" + "/".join(["o" * 200] * 6)[:path_max - 1 - len("data/")],
        "long_name": "data/" + "n" * (name_max + 1),
    }


@pytest.fixture(scope="module")
def longk() -> Iterator[tuple[UnicornKernel, str, dict[str, str], bytes]]:
    """The kernel booted with the build's initrd plus long paths (GNU entries,
    then pax headers): the session, its boot log, the paths by role, the archive."""
    image = kabi.load(paths.KERNEL_ELF)
    by_role = paths_for(image.constant("FS_PATH_MAX"), image.constant("FS_NAME_MAX"))
    buf = io.BytesIO()
    with tarfile.open(paths.INITRD) as src, \
            tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for m in src.getmembers():
            tar.addfile(m, src.extractfile(m) if m.isfile() else None)
        files = [(GNU, tarfile.GNU_FORMAT), (by_role["longest"], tarfile.GNU_FORMAT),
                 (by_role["too_long"], tarfile.GNU_FORMAT), (by_role["long_name"], tarfile.GNU_FORMAT),
                 (PAX, tarfile.PAX_FORMAT)]
        for name, fmt in files:
            tar.format = fmt
            data = f"I am {len(name)} bytes deep\n".encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    archive = buf.getvalue()
    assert b"././@LongLink" in archive and b"././@PaxHeader" in archive
    k = UnicornKernel(paths.KERNEL_ELF, "64M", modules=[archive])
    k.boot()
    yield k, k.drain_serial(), by_role, archive
    k.close()


def read_file(v: VirtualFileSystem, path: str) -> bytes:
    fd = v.open(path)
    try:
        return v.read(fd, 4096)
    finally:
        v.close(fd)


@pytest.mark.parametrize("name", [GNU, PAX], ids=["gnu", "pax"])
def test_a_long_archive_path_opens(longk, name: str):
    k, _, _, _ = longk
    with VirtualFileSystem(kernel=k) as v:
        assert read_file(v, "/" + name) == f"I am {len(name)} bytes deep\n".encode()
        assert v.listdir("/" + name.rsplit("/", 1)[0]) == ["file"]


def test_the_longest_path_opens_and_one_byte_more_is_refused_everywhere(longk):
    k, log, by_role, archive = longk
    longest = "/" + by_role["longest"]
    assert len(longest) + 1 == abi(k).constant("FS_PATH_MAX")
    with VirtualFileSystem(kernel=k) as v:
        assert read_file(v, longest).startswith(b"I am")
        for role in ("too_long", "long_name"):
            with pytest.raises(OSError) as e:
                v.open("/" + by_role[role])
            assert e.value.errno == errno.ENAMETOOLONG
        refused = (by_role["too_long"], by_role["long_name"])
        listed = set(v.listdir("/data"))
        assert "README" in listed and not listed & {name.split("/")[1] for name in refused}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        headers = [m.offset_data - BLOCK for m in tar.getmembers() if m.name in refused]
    skipped = re.findall(r"initrd: skipped the entry at offset (\d+): error ENAMETOOLONG \(-36\): its path "
                         r"is longer than (\d+) bytes or holds a name longer than (\d+)", log)
    limits = (str(abi(k).constant("FS_PATH_MAX") - 1), str(abi(k).constant("FS_NAME_MAX")))
    assert skipped == [(str(h), *limits) for h in headers] and len(headers) == 2, log
    assert re.search(r"initrd: 0x[0-9a-f]{8} - 0x[0-9a-f]{8} \(\d+ KiB, \d+ files, 2 skipped\)", log), log
