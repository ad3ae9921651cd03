"""kernel/fs/ustar.c on the host: real archives parse to what tarfile wrote,
each kind of damage is refused with its own code at the right header, and
garbage never makes it read outside the buffer (UBSan here, ASan in
test_formats_asan.py)."""

from __future__ import annotations

import io
import os
import tarfile

import pytest
from formats_lib import REPO, Formats
from hypothesis import given, settings
from hypothesis import strategies as st

from kos import userland

BLOCK = 512
EXAMPLES = int(os.environ.get("KOS_FORMATS_EXAMPLES", "300"))


@pytest.fixture(scope="module")
def fmt() -> Formats:
    return Formats()


def archive(files: dict[str, bytes]) -> bytes:
    return userland.ustar_archive({name: (data, 0o644) for name, data in files.items()})


def fix_checksum(data: bytearray) -> None:
    """Recompute the checksum of the header at the start of data."""
    data[148:156] = b" " * 8
    data[148:156] = b"%06o\0 " % sum(data[:BLOCK])


def entry_status(fmt: Formats, data: bytes) -> int:
    return fmt.ustar_walk(data)[0]


def test_an_archive_lists_what_tarfile_wrote(fmt: Formats):
    files = {"etc/motd": b"hello\n", "data/empty": b"", "data/block": b"x" * BLOCK,
             "data/odd": bytes(range(256)) * 3}
    data = archive(files)
    status, entries, _ = fmt.ustar_walk(data)
    assert status == fmt.ustar["USTAR_END"]
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        expect = [(m.name + ("/" if m.isdir() else ""), m.size, m.mode) for m in tar.getmembers()]
    assert [(e.name, e.size, e.mode) for e in entries] == expect
    got = {e.name: e.data for e in entries if e.type == "0"}
    assert got == files
    assert {e.name for e in entries if e.type == "5"} == {"data/", "etc/"}


def test_long_names_join_prefix_and_name(fmt: Formats):
    name = "d" * 120 + "/" + "f" * 90
    status, entries, _ = fmt.ustar_walk(archive({name: b"z"}))
    assert status == fmt.ustar["USTAR_END"]
    assert [e.name for e in entries if e.type == "0"] == [name]


def test_the_built_initrd_parses(fmt: Formats):
    data = (REPO / "build" / "initrd.tar").read_bytes()
    status, entries, _ = fmt.ustar_walk(data)
    assert status == fmt.ustar["USTAR_END"]
    names = {e.name for e in entries}
    assert {"bin/hello", "etc/motd"} <= names


def one_file() -> bytearray:
    return bytearray(archive({"f": b"abc"}))


def test_a_bad_checksum_is_refused_at_its_header(fmt: Formats):
    data = one_file()
    data[0] ^= 0x20
    status, entries, offset = fmt.ustar_walk(bytes(data))
    assert status == fmt.ustar["USTAR_E_CHECKSUM"]
    assert entries == [] and offset == 0
    assert "checksum" in fmt.ustar_strerror(status)


def test_a_size_past_the_end_is_refused(fmt: Formats):
    data = one_file()                      # tarfile pads the archive to 10 KiB
    data[124:136] = b"%011o\0" % (len(data) - BLOCK + 1)
    fix_checksum(data)
    assert entry_status(fmt, bytes(data)) == fmt.ustar["USTAR_E_SIZE"]


def test_a_size_that_would_wrap_is_refused(fmt: Formats):
    data = one_file()
    data[124:136] = b"37777777777\0"
    fix_checksum(data)
    assert entry_status(fmt, bytes(data)) == fmt.ustar["USTAR_E_SIZE"]


@pytest.mark.parametrize("cut", [0, 100, BLOCK, BLOCK + 3])
def test_truncated_archives_are_refused(fmt: Formats, cut: int):
    data = archive({"a": b"1" * 10, "b": b"2" * 600})
    second = BLOCK * 2                     # header of "b"
    status = entry_status(fmt, data[:second + cut])
    expect = "USTAR_E_NO_END" if cut == 0 else ("USTAR_E_TRUNCATED" if cut < BLOCK else "USTAR_E_SIZE")
    assert status == fmt.ustar[expect]


def test_one_zero_block_at_the_end_is_truncated(fmt: Formats):
    data = archive({"a": b"1"})
    assert entry_status(fmt, data[:BLOCK * 3]) == fmt.ustar["USTAR_E_TRUNCATED"]


def test_a_lone_zero_block_before_more_data_is_refused(fmt: Formats):
    data = archive({"a": b"1"})
    garbage = data[:BLOCK * 2] + bytes(BLOCK) + b"\x01" + bytes(BLOCK - 1)
    assert entry_status(fmt, garbage) == fmt.ustar["USTAR_E_LONE_ZERO"]


def test_a_full_name_field_needs_no_terminator(fmt: Formats):
    # POSIX: name and prefix end with a NUL only when they are not full,
    # and tarfile writes a 100-byte name so. The entries after it parse.
    files = {"n" * 100: b"full", "data/" + "m" * 95: b"in a directory", "after": b"next"}
    status, entries, _ = fmt.ustar_walk(archive(files))
    assert status == fmt.ustar["USTAR_END"]
    assert {e.name: e.data for e in entries if e.type == "0"} == files


def test_full_prefix_and_name_fields_join_without_terminators(fmt: Formats):
    data = one_file()
    data[0:100] = b"n" * 100
    data[345:500] = b"p" * 155
    fix_checksum(data)
    status, entries, _ = fmt.ustar_walk(bytes(data))
    assert status == fmt.ustar["USTAR_END"]
    assert [e.name for e in entries] == ["p" * 155 + "/" + "n" * 100]     # not a byte of mode or magic
    assert entries[0].data == b"abc" and entries[0].mode == 0o644


def test_an_empty_name_is_refused(fmt: Formats):
    data = one_file()
    data[0:100] = bytes(100)
    fix_checksum(data)
    assert entry_status(fmt, bytes(data)) == fmt.ustar["USTAR_E_NAME"]
    assert fmt.ustar_strerror(fmt.ustar["USTAR_E_NAME"]) == "an empty name"


def test_no_magic_is_refused(fmt: Formats):
    data = one_file()
    data[257:263] = b"xxxxx\0"
    fix_checksum(data)
    assert entry_status(fmt, bytes(data)) == fmt.ustar["USTAR_E_MAGIC"]


def test_non_octal_numbers_are_refused(fmt: Formats):
    data = one_file()
    data[100:108] = b"0000x44\0"
    fix_checksum(data)
    assert entry_status(fmt, bytes(data)) == fmt.ustar["USTAR_E_NUMBER"]


def test_symlinks_are_refused_as_an_unsupported_type(fmt: Formats):
    data = one_file()
    data[156] = ord("2")
    fix_checksum(data)
    assert entry_status(fmt, bytes(data)) == fmt.ustar["USTAR_E_TYPE"]


def test_errors_repeat_once_reached(fmt: Formats):
    data = one_file()
    data[0] ^= 1
    status, _, offset = fmt.ustar_walk(bytes(data))
    assert status < 0 and offset == 0
    assert all(fmt.ustar_strerror(v) != "unknown error" for k, v in fmt.ustar.items() if k != "USTAR_ENTRY")


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(max_size=4 * BLOCK))
def test_random_bytes_are_refused_or_parsed_inside_the_buffer(fmt: Formats, data: bytes):
    status, _, offset = fmt.ustar_walk(data)
    assert status in fmt.ustar.values() and status != fmt.ustar["USTAR_ENTRY"]
    assert offset <= len(data)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.data())
def test_damaged_archives_never_read_outside_the_buffer(fmt: Formats, draw: st.DataObject):
    data = bytearray(archive({"etc/motd": b"hi\n" * 50, "bin/x": bytes(range(200))}))
    for _ in range(draw.draw(st.integers(1, 8))):
        pos = draw.draw(st.integers(0, len(data) - 1))
        data[pos] = draw.draw(st.integers(0, 255))
    if draw.draw(st.booleans()):
        fix_checksum_at = draw.draw(st.sampled_from([0, BLOCK * 2, BLOCK * 3]))
        header = data[fix_checksum_at:fix_checksum_at + BLOCK]
        if any(header):
            fix_checksum(header)
            data[fix_checksum_at:fix_checksum_at + BLOCK] = header
    data = data[:draw.draw(st.integers(0, len(data)))]
    status, entries, _ = fmt.ustar_walk(bytes(data))
    assert status <= fmt.ustar["USTAR_END"]
    for e in entries:
        assert e.offset + e.size <= len(data)


# ---- long names: GNU tar's 'L' entries and pax 'x' headers ------------------

LONG_DIR = "deep/" + "/".join(["d" * 60] * 5)          # 310 bytes: no ustar header holds it
LONG_FILE = LONG_DIR + "/" + "f" * 200


def tar_of(files: dict[str, bytes], fmt_: int, dirs: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt_) as tar:
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o640
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def members(data: bytes) -> list[tuple[str, int, int]]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return [(m.name + ("/" if m.isdir() else ""), m.size, m.mode) for m in tar.getmembers()]


@pytest.mark.parametrize("fmt_", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT], ids=["gnu", "pax"])
def test_long_names_of_gnu_and_pax_archives_are_read(fmt: Formats, fmt_: int):
    files = {LONG_FILE: b"at the bottom\n", "short": b"s", "x" * 101: b"just over a name field"}
    data = tar_of(files, fmt_, dirs=(LONG_DIR,))
    assert len(LONG_FILE) > 500
    status, entries, _ = fmt.ustar_walk(data)
    assert status == fmt.ustar["USTAR_END"]
    got = [(e.name if e.type == "0" else e.name.rstrip("/") + "/", e.size, e.mode) for e in entries]
    assert got == members(data)
    assert {e.name: e.data for e in entries if e.type == "0"} == files
    assert all(e.type in "05" for e in entries)             # the extension entries are not listed


def test_a_pax_path_wins_over_a_gnu_long_name(fmt: Formats):
    gnu = tar_of({"g" * 150: b"data"}, tarfile.GNU_FORMAT)
    pax = tar_of({"p" * 150: b"data"}, tarfile.PAX_FORMAT)
    pax_header = pax[:BLOCK * 2]                               # 'x' header and its records
    assert chr(pax_header[156]) == "x"
    status, entries, _ = fmt.ustar_walk(pax_header + gnu)
    assert status == fmt.ustar["USTAR_END"]
    assert [e.name for e in entries] == ["p" * 150]


def test_a_global_pax_header_is_checked_and_ignored(fmt: Formats):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT,
                      pax_headers={"comment": "made by git archive"}) as tar:
        info = tarfile.TarInfo("a")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"1"))
    data = buf.getvalue()
    assert chr(data[156]) == "g"
    status, entries, _ = fmt.ustar_walk(data)
    assert status == fmt.ustar["USTAR_END"]
    assert [(e.name, e.data) for e in entries] == [("a", b"1")]


def test_a_long_link_target_is_read_and_the_link_refused(fmt: Formats):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("link")
        info.type, info.linkname = tarfile.SYMTYPE, "t" * 300
        tar.addfile(info)
    data = buf.getvalue()
    assert chr(data[156]) == "K"
    status, _, offset = fmt.ustar_walk(data)
    assert (status, offset) == (fmt.ustar["USTAR_E_TYPE"], 2 * BLOCK)     # the link, past its 'K'


def gnu_long(name: bytes, type_: str = "L", size: int | None = None) -> bytes:
    """A GNU long-name entry holding name (size: what its header says)."""
    h = bytearray(BLOCK)
    h[0:13] = b"././@LongLink"
    h[100:108] = b"0000644\0"
    h[124:136] = b"%011o\0" % (len(name) if size is None else size)
    h[156] = ord(type_)
    h[257:265] = b"ustar  \0"
    fix_checksum(h)
    pad = -len(name) % BLOCK
    return bytes(h) + name + bytes(pad)


def pax_header(records: bytes) -> bytes:
    h = bytearray(BLOCK)
    h[0:14] = b"././@PaxHeader"
    h[100:108] = b"0000644\0"
    h[124:136] = b"%011o\0" % len(records)
    h[156] = ord("x")
    h[257:265] = b"ustar\x0000"
    fix_checksum(h)
    return bytes(h) + records + bytes(-len(records) % BLOCK)


def test_a_hand_made_gnu_long_name_names_the_entry_after_it(fmt: Formats):
    status, entries, _ = fmt.ustar_walk(gnu_long(b"a/" + b"n" * 300 + b"\0") + one_file())
    assert status == fmt.ustar["USTAR_END"]
    assert [(e.name, e.data) for e in entries] == [("a/" + "n" * 300, b"abc")]


@pytest.mark.parametrize(("extension", "code"), [
    (gnu_long(b""), "USTAR_E_LONG_NAME"),                   # no name at all
    (gnu_long(b"\0name"), "USTAR_E_LONG_NAME"),             # empty up to its NUL
    (gnu_long(b"one\0") + gnu_long(b"two\0"), "USTAR_E_LONG_NAME"),
    (pax_header(b"12 path=abc\n" + b"x"), "USTAR_E_PAX"),    # bytes after the last record
    (pax_header(b"13 path=abc\n"), "USTAR_E_PAX"),          # length past the data
    (pax_header(b"11 path=abc\n"), "USTAR_E_PAX"),          # record not ended by '\n'
    (pax_header(b"12 pathxabc\n"), "USTAR_E_PAX"),          # no '='
    (pax_header(b"12 path=a\0c\n"), "USTAR_E_PAX"),         # a NUL in a path
    (pax_header(b"x2 path=abc\n"), "USTAR_E_PAX"),          # length not decimal
    (pax_header(b"0 \n"), "USTAR_E_PAX"),
    (pax_header(b"99999999999999999999 p=v\n"), "USTAR_E_PAX"),
    (pax_header(b"5 =v\n"), "USTAR_E_PAX"),                 # empty key
])
def test_damaged_long_name_entries_are_refused_at_their_header(fmt: Formats, extension: bytes, code: str):
    status, entries, offset = fmt.ustar_walk(extension + one_file())
    assert (status, entries) == (fmt.ustar[code], [])
    assert offset in range(0, len(extension), BLOCK)
    assert fmt.ustar_strerror(status) != "unknown error"


def test_a_long_name_size_past_the_archive_is_refused(fmt: Formats):
    data = gnu_long(b"name\0", size=100000) + one_file()
    assert fmt.ustar_walk(data)[:3:2] == (fmt.ustar["USTAR_E_SIZE"], 0)


@pytest.mark.parametrize("extension", [gnu_long(b"lost\0"), pax_header(b"12 path=abc\n")])
def test_a_long_name_with_no_entry_after_it_is_an_orphan(fmt: Formats, extension: bytes):
    data = archive({"a": b"1"})
    end = BLOCK * 2                                          # the end marker of data
    status, entries, offset = fmt.ustar_walk(data[:end] + extension + data[end:])
    assert status == fmt.ustar["USTAR_E_ORPHAN"]
    assert [e.name for e in entries] == ["a"] and offset == end


def test_an_empty_pax_path_leaves_the_header_name(fmt: Formats):
    status, entries, _ = fmt.ustar_walk(pax_header(b"8 path=\n") + one_file())
    assert status == fmt.ustar["USTAR_END"]
    assert [e.name for e in entries] == ["f"]


def test_a_gnu_header_has_no_prefix_field(fmt: Formats):
    data = bytearray(tar_of({"f": b"abc"}, tarfile.GNU_FORMAT))
    data[345:357] = b"14715234567\0"                         # old GNU tar's atime lives here
    fix_checksum(data)
    status, entries, _ = fmt.ustar_walk(bytes(data))
    assert status == fmt.ustar["USTAR_END"]
    assert [e.name for e in entries] == ["f"]


@settings(max_examples=EXAMPLES // 4, deadline=None)
@given(st.data())
def test_damaged_long_name_archives_never_read_outside_the_buffer(fmt: Formats, draw: st.DataObject):
    fmt_ = draw.draw(st.sampled_from([tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]))
    data = bytearray(tar_of({LONG_FILE: b"z" * 40, "b" * 120: b"y"}, fmt_))
    for _ in range(draw.draw(st.integers(1, 8))):
        data[draw.draw(st.integers(0, len(data) - 1))] = draw.draw(st.integers(0, 255))
    header = draw.draw(st.sampled_from(range(0, len(data) - BLOCK, BLOCK)))
    if any(data[header:header + BLOCK]) and draw.draw(st.booleans()):
        h = data[header:header + BLOCK]
        fix_checksum(h)
        data[header:header + BLOCK] = h
    data = data[:draw.draw(st.integers(0, len(data)))]
    status, entries, offset = fmt.ustar_walk(bytes(data))
    assert status <= fmt.ustar["USTAR_END"] and offset <= len(data)
    for e in entries:
        assert e.offset + e.size <= len(data)
