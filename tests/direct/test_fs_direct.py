"""The filesystem through direct calls: each initrd header parsed once a
boot, however much of the tree is taken in; kos.fs.VirtualFileSystem over a
kernel fd table, the Linux errnos, the page cache's frames and dirty flags,
file mappings (shared, private, SIGBUS, ftruncate and unlink while mapped,
the EACCES/ENODEV/EINVAL refusals), and the frames all back after
everything is closed, unmapped and unlinked."""

from __future__ import annotations

import errno
import os
import tarfile
from collections.abc import Iterator

import pytest
from fs_helpers import (
    PAGE,
    cached_page,
    fault_kind,
    file_inode,
    read_every_file,
    user_read,
    user_write,
)
from unicorn import unicorn_const

from kos import paths
from kos.fs import VirtualFileSystem
from kos.kernel import abi, call, read, s32, u32, with_bytes
from kos.machine.unicorn.kernel import Snapshot, UnicornKernel
from kos.memory import constants as c

pytestmark = pytest.mark.unicorn


@pytest.fixture(scope="module")
def fs_prompt(fsk: UnicornKernel) -> Snapshot:
    with VirtualFileSystem(kernel=fsk) as v:
        read_every_file(v)
    return fsk.snapshot([(fsk.symbol("__kernel_start"), c.STACK_REGION_END)])


@pytest.fixture
def k(fsk: UnicornKernel, fs_prompt: Snapshot) -> UnicornKernel:
    fsk.restore(fs_prompt)
    return fsk


@pytest.fixture
def vfs(k: UnicornKernel) -> Iterator[VirtualFileSystem]:
    """A VirtualFileSystem whose frames must all be back when it is done."""
    free0 = call(k, "get_free_pages")
    v = VirtualFileSystem(kernel=k)
    yield v
    v.close_all()
    assert call(k, "get_free_pages") == free0


def mm_of(k: UnicornKernel) -> int:
    return u32(call(k, "mm_current"))


def const(k: UnicornKernel, name: str) -> int:
    return abi(k).constant(name)


def test_the_initrd_tree_is_the_root(vfs: VirtualFileSystem):
    with tarfile.open(paths.INITRD) as tar:
        top = {m.name.split("/")[0] for m in tar.getmembers()}
    assert set(vfs.listdir("/")) == top and {"bin", "data", "etc"} <= top
    fd = vfs.open("/etc/motd")
    expect = (paths.ROOT / "user/root/etc/motd").read_bytes()
    assert vfs.read(fd, 4096) == expect
    assert vfs.read(fd, 10) == b""
    vfs.close(fd)
    st = vfs.stat("/etc/motd")
    assert st.st_size == len(expect) and st.st_mode & 0o170000 == 0o100000 and st.st_nlink == 1
    assert vfs.stat("/etc").st_mode & 0o170000 == 0o040000


def test_each_archive_header_is_parsed_once_a_boot():
    """ustar_next (one header parsed, its checksum checked) runs once per
    entry and once for the end marker at boot, and never again while the
    whole tree is listed and read."""
    with tarfile.open(paths.INITRD) as tar:
        entries = len(tar.getmembers())
    k = UnicornKernel(paths.KERNEL_ELF, "64M", modules=[paths.INITRD.read_bytes()])
    parsed = [0]

    def count(*_: object) -> None:
        parsed[0] += 1

    at = k.symbol("ustar_next")
    k.uc.hook_add(unicorn_const.UC_HOOK_CODE, count, begin=at, end=at)
    try:
        k.boot()
        assert parsed[0] == entries + 1
        with VirtualFileSystem(kernel=k) as v:
            read_every_file(v)
            assert v.listdir("/bin") and v.stat("/data/numbers.txt").st_size > 0
        assert parsed[0] == entries + 1
    finally:
        k.close()


def test_modes_create_truncate_and_append(vfs: VirtualFileSystem):
    fd = vfs.open("/data/m.txt", "w")
    assert vfs.write(fd, b"0123456789") == 10
    with pytest.raises(OSError) as e:
        vfs.read(fd, 1)
    assert e.value.errno == errno.EBADF
    vfs.close(fd)
    fd = vfs.open("/data/m.txt", "a")
    vfs.write(fd, b"ab")
    vfs.close(fd)
    fd = vfs.open("/data/m.txt", "r+")
    assert vfs.read(fd, 100) == b"0123456789ab"
    assert vfs.seek(fd, 2) == 2
    vfs.write(fd, b"XY")
    assert vfs.seek(fd, -3, os.SEEK_END) == 9
    assert vfs.read(fd, 3) == b"9ab"
    with pytest.raises(OSError) as e:
        vfs.write(vfs.open("/data/m.txt", "r"), b"x")
    assert e.value.errno == errno.EBADF
    vfs.close(fd)
    fd = vfs.open("/data/m.txt", "w+")
    assert vfs.fstat(fd).st_size == 0
    vfs.close(fd)
    fd = vfs.open("/data/m2.txt", os.O_RDWR | os.O_CREAT)
    vfs.write(fd, b"flags")
    vfs.seek(fd, 0)
    assert vfs.read(fd, 5) == b"flags"
    with pytest.raises(FileExistsError):
        vfs.open("/data/m2.txt", os.O_RDWR | os.O_CREAT | os.O_EXCL)
    vfs.close_all()
    vfs.unlink("/data/m.txt")
    vfs.unlink("/data/m2.txt")


def test_a_write_past_the_end_leaves_a_hole_of_zeros(vfs: VirtualFileSystem):
    fd = vfs.open("/hole", "w+")
    vfs.seek(fd, 3 * PAGE + 5)
    vfs.write(fd, b"end")
    assert vfs.fstat(fd).st_size == 3 * PAGE + 8
    assert vfs.fstat(fd).st_blocks == 8          # one frame: the hole costs none
    vfs.seek(fd, 0)
    assert vfs.read(fd, 3 * PAGE + 8) == bytes(3 * PAGE + 5) + b"end"
    vfs.close(fd)
    vfs.unlink("/hole")


@pytest.mark.parametrize(("op", "args", "err"), [
    ("open", ("/nope",), errno.ENOENT),
    ("open", ("/etc/motd/x",), errno.ENOTDIR),
    ("open", ("/etc/motd/",), errno.ENOTDIR),
    ("open", ("/etc", "w"), errno.EISDIR),
    ("open", ("/" + "n" * 256,), errno.ENAMETOOLONG),
    ("open", ("/etc/motd/" + "n" * 256,), errno.ENOTDIR),       # a file has no names to be long
    ("mkdir", ("/etc/motd/" + "n" * 256,), errno.ENOTDIR),
    ("open", ("/" + "d/" * 520,), errno.ENAMETOOLONG),           # past FS_PATH_MAX, 1024
    ("open", ("/no/dir/file", "w"), errno.ENOENT),
    ("open", ("/etc/motd/", "w"), errno.EISDIR),                # O_CREAT of "name/", a file or
    ("open", ("/etc/motd/", "x"), errno.EISDIR),                # not there, as Linux has it
    ("open", ("/etc/none/", "w"), errno.EISDIR),
    ("open", ("/no/dir/", "w"), errno.ENOENT),
    ("mkdir", ("/etc",), errno.EEXIST),
    ("mkdir", ("/",), errno.EEXIST),
    ("rmdir", ("/etc",), errno.ENOTEMPTY),
    ("rmdir", ("/etc/motd",), errno.ENOTDIR),
    ("unlink", ("/etc",), errno.EISDIR),
    ("unlink", ("/etc/none",), errno.ENOENT),
    ("listdir", ("/etc/motd",), errno.ENOTDIR),
    ("chdir", ("/etc/motd",), errno.ENOTDIR),
])
def test_bad_paths_get_linux_errnos(vfs: VirtualFileSystem, op: str, args: tuple[str, ...], err: int):
    with pytest.raises(OSError) as e:
        getattr(vfs, op)(*args)
    assert e.value.errno == err


def test_descriptors_close_dup_and_run_out(vfs: VirtualFileSystem):
    with pytest.raises(OSError) as e:
        vfs.read(7, 1)
    assert e.value.errno == errno.EBADF
    fd = vfs.open("/etc/motd")
    other = vfs.dup(fd)
    assert other == fd + 1
    assert vfs.read(fd, 7) == b"Welcome"
    assert vfs.read(other, 3) == b" to"               # one open file: one position
    fds = [vfs.dup(fd) for _ in range(const(vfs.kernel, "FD_MAX") - 2)]
    with pytest.raises(OSError) as e:
        vfs.dup(fd)
    assert e.value.errno == errno.EMFILE
    for f in fds:
        vfs.close(f)
    vfs.close(fd)
    with pytest.raises(OSError) as e:
        vfs.close(fd)
    assert e.value.errno == errno.EBADF


def test_a_full_table_refuses_open_before_creating_or_truncating(vfs: VirtualFileSystem):
    fd = vfs.open("/kept", "w")
    vfs.write(fd, b"precious")
    fds = [vfs.dup(fd) for _ in range(const(vfs.kernel, "FD_MAX") - 1)]
    for path, mode in (("/made", "w"), ("/kept", "w"), ("/made", "x"), ("/nope/x", "r")):
        with pytest.raises(OSError) as e:
            vfs.open(path, mode)
        assert e.value.errno == errno.EMFILE, (path, mode)
    assert vfs.stat("/kept").st_size == 8
    for f in fds:
        vfs.close(f)
    assert "made" not in vfs.listdir("/")
    vfs.close(fd)
    vfs.unlink("/kept")


def test_offsets_beyond_32_bits_and_negative_lengths_are_einval(vfs: VirtualFileSystem):
    """os.lseek and os.ftruncate's answers: an offset the kernel's off_t cannot
    hold is refused, never wrapped round onto another one."""
    fd = vfs.open("/off", "w+")
    vfs.write(fd, b"0123456789")
    vfs.seek(fd, 3)
    for op, args in ((vfs.seek, (2**32 + 5,)), (vfs.seek, (-2**32 + 5, os.SEEK_END)),
                     (vfs.truncate, (-1,)), (vfs.truncate, (2**32 + 1,)), (vfs.truncate, (2**31,))):
        with pytest.raises(OSError) as e:
            op(fd, *args)
        assert e.value.errno == errno.EINVAL, (op, args)
    assert vfs.seek(fd, 0, os.SEEK_CUR) == 3
    assert vfs.fstat(fd).st_size == 10
    vfs.close(fd)
    vfs.unlink("/off")


@pytest.mark.parametrize(("offset", "err"), [(2**32, errno.EOVERFLOW), (2**32 + PAGE, errno.EOVERFLOW),
                                            (-PAGE, errno.EINVAL)])
def test_mmap_offsets_beyond_32_bits_are_refused_not_wrapped(vfs: VirtualFileSystem, offset: int,
                                                             err: int):
    fd = vfs.open("/wrap", "w+")
    vfs.write(fd, b"w" * 5000)
    free = call(vfs.kernel, "get_free_pages")
    with pytest.raises(OSError) as e:
        vfs.mmap(mm_of(vfs.kernel), 0, PAGE, c.PROT_READ, c.MAP_SHARED, fd, offset)
    assert e.value.errno == err
    assert call(vfs.kernel, "get_free_pages") == free
    vfs.close(fd)
    vfs.unlink("/wrap")


def test_reads_and_writes_of_nothing_still_check_the_descriptor(vfs: VirtualFileSystem):
    """os.read(fd, 0) and os.write(fd, b"") say EBADF for a descriptor they
    cannot use, and 0 for one they can."""
    ro = vfs.open("/etc/motd")
    for op, fd, arg in ((vfs.read, 9, 0), (vfs.write, 9, b""), (vfs.write, ro, b"")):
        with pytest.raises(OSError) as e:
            op(fd, arg)
        assert e.value.errno == errno.EBADF, (op, fd)
    assert vfs.read(ro, 0) == b""
    vfs.close(ro)


def test_o_creat_with_o_directory_is_einval_and_makes_nothing(vfs: VirtualFileSystem):
    for path in ("/cd", "/etc"):
        with pytest.raises(OSError) as e:
            vfs.open(path, os.O_RDONLY | os.O_CREAT | os.O_DIRECTORY)
        assert e.value.errno == errno.EINVAL, path
    assert "cd" not in vfs.listdir("/")


def getdents64(vfs: VirtualFileSystem, fd: int, size: int) -> tuple[int, bytes]:
    with with_bytes(vfs.kernel, bytes(size)) as buf:
        got = s32(call(vfs.kernel, "fs_getdents64", vfs.fdtable, fd, *vfs._iobuf(buf), size))
        return got, read(vfs.kernel, buf, max(got, 0))


def dirents(vfs: VirtualFileSystem, fd: int, size: int) -> list[str]:
    """One getdents64 of at most size bytes from fd: the names it gave."""
    header = vfs._abi.struct("linux_dirent64")
    got, data = getdents64(vfs, fd, size)
    assert got >= 0, got
    names, pos = [], 0
    while pos < got:
        reclen = header.unpack(data, pos)["d_reclen"]
        assert isinstance(reclen, int)
        start = pos + header.offsetof("d_name")
        names.append(data[start:pos + reclen].split(b"\0", 1)[0].decode())
        pos += reclen
    return names


def test_getdents64_misses_no_entry_when_those_listed_are_removed(vfs: VirtualFileSystem):
    """rm -r's loop: list a few entries, unlink them, list on. Each entry still
    there must come exactly once however many before it went."""
    vfs.mkdir("/many")
    names = [f"e{i}" for i in range(10)]
    for name in names:
        vfs.close(vfs.open("/many/" + name, "w"))
    fd = vfs.open("/many", os.O_RDONLY | os.O_DIRECTORY)
    assert getdents64(vfs, fd, 16)[0] == -errno.EINVAL  # not even "." fits: nothing is skipped
    seen: list[str] = []
    while batch := dirents(vfs, fd, 64):                 # two records of 24 bytes a call
        assert len(batch) <= 2
        seen += batch
        for name in batch:
            if name not in (".", ".."):
                vfs.unlink("/many/" + name)
    assert seen == [".", "..", *names]
    vfs.close(fd)
    vfs.rmdir("/many")


def test_directories_and_relative_paths(vfs: VirtualFileSystem):
    vfs.mkdir("/work")
    vfs.chdir("/work")
    vfs.mkdir("sub")
    vfs.chdir("sub/../sub/.")
    assert vfs.getcwd() == "/work/sub"
    fd = vfs.open("f", "w")
    vfs.write(fd, b"x")
    vfs.close(fd)
    assert vfs.listdir("..") == ["sub"]
    assert vfs.stat("/work/sub/f").st_size == 1
    assert vfs.stat("/work").st_nlink == 3             # ".", its entry in /, sub's ".."
    vfs.unlink("f")
    vfs.chdir("/")
    vfs.rmdir("work/sub")
    vfs.rmdir("/work")
    assert "work" not in vfs.listdir("/")


def test_an_unlinked_file_lives_until_closed(vfs: VirtualFileSystem):
    fd = vfs.open("/gone", "w+")
    vfs.write(fd, b"still here")
    vfs.unlink("/gone")
    with pytest.raises(FileNotFoundError):
        vfs.stat("/gone")
    vfs.seek(fd, 0)
    assert vfs.read(fd, 100) == b"still here"
    assert vfs.fstat(fd).st_nlink == 0
    vfs.close(fd)


def test_write_dirties_the_cache_frames_and_meminfo_counts_them(vfs: VirtualFileSystem):
    k = vfs.kernel
    cached0 = k.read_u32(k.symbol("pagecache_frames"))
    fd = vfs.open("/c", "w+")
    vfs.write(fd, b"a" * (PAGE + 1))
    assert k.read_u32(k.symbol("pagecache_frames")) == cached0 + 2
    inode = file_inode(k, vfs.fdtable, fd)
    p0, p1 = cached_page(k, inode, 0), cached_page(k, inode, 1)
    assert p0 and p1 and cached_page(k, inode, 2) == 0
    assert call(k, "page_is_dirty", p0) == 1
    lay = abi(k).struct("page")
    assert k.read_u32(p1 + lay.offsetof("mapping")) == inode
    assert k.read_u32(p1 + lay.offsetof("index")) == 1
    vfs.truncate(fd, 10)
    assert cached_page(k, inode, 1) == 0
    assert k.read_u32(k.symbol("pagecache_frames")) == cached0 + 1
    vfs.close(fd)
    vfs.unlink("/c")
    assert k.read_u32(k.symbol("pagecache_frames")) == cached0


def make_file(vfs: VirtualFileSystem, path: str, data: bytes) -> None:
    fd = vfs.open(path, "w")
    vfs.write(fd, data)
    vfs.close(fd)


def test_map_shared_stores_are_read_back_and_dirty_at_msync(vfs: VirtualFileSystem):
    k = vfs.kernel
    mm = mm_of(k)
    make_file(vfs, "/s", b"s" * 5000)
    fd = vfs.open("/s", "r+")
    a = vfs.mmap(mm, 0, 2 * PAGE, c.PROT_READ | c.PROT_WRITE, c.MAP_SHARED, fd)
    b = vfs.mmap(mm, 0, 2 * PAGE, c.PROT_READ, c.MAP_SHARED, fd)
    inode = file_inode(k, vfs.fdtable, fd)
    assert user_read(k, mm, a, 4) == b"ssss"
    p0 = cached_page(k, inode, 0)
    assert call(k, "page_clear_dirty", p0) == 0
    assert user_write(k, mm, a + 1, b"HELLO") == 0
    assert user_read(k, mm, b, 8) == b"sHELLOss"        # the very frame, in another mapping
    assert vfs.read(fd, 8) == b"sHELLOss"               # and read() sees it at once
    assert call(k, "page_is_dirty", p0) == 0            # still only in the PTE
    assert call(k, "vm_msync", mm, a, PAGE, const(k, "MS_SYNC")) == 0
    assert call(k, "page_is_dirty", p0) == 1
    # The tail of the last page reads as zeros, and stores there stay out of the file.
    assert user_read(k, mm, a + 5000, 8) == bytes(8)
    assert user_write(k, mm, a + 6000, b"beyond") == 0
    assert vfs.fstat(fd).st_size == 5000
    assert call(k, "vm_munmap", mm, a, 2 * PAGE) == 0
    assert call(k, "vm_munmap", mm, b, 2 * PAGE) == 0
    vfs.seek(fd, 0, os.SEEK_END)
    vfs.write(fd, b"!")                                  # growing shows zeros, not the store
    vfs.seek(fd, 5000)
    assert vfs.read(fd, 1) == b"!"
    vfs.truncate(fd, 6010)
    vfs.seek(fd, 5001)
    assert vfs.read(fd, 1009) == bytes(1009)
    vfs.close(fd)
    vfs.unlink("/s")


def test_map_private_copies_on_first_write(vfs: VirtualFileSystem):
    k = vfs.kernel
    mm = mm_of(k)
    make_file(vfs, "/p", b"p" * PAGE)
    fd = vfs.open("/p", "r")                              # PROT_WRITE private needs no write access
    a = vfs.mmap(mm, 0, PAGE, c.PROT_READ | c.PROT_WRITE, c.MAP_PRIVATE, fd)
    s = vfs.mmap(mm, 0, PAGE, c.PROT_READ, c.MAP_SHARED, fd)
    assert user_read(k, mm, a, 2) == b"pp"
    w = vfs.open("/p", "r+")
    vfs.write(w, b"Q")
    assert user_read(k, mm, a, 2) == b"Qp"                # not copied yet: the file's frame
    assert user_write(k, mm, a, b"mine") == 0
    assert user_read(k, mm, a, 5) == b"minep"
    assert user_read(k, mm, s, 5) == b"Qpppp"             # the file and shared mappings unchanged
    vfs.seek(fd, 0)
    assert vfs.read(fd, 5) == b"Qpppp"
    vfs.write(w, b"R")
    assert user_read(k, mm, a, 5) == b"minep"             # the copy is private from now on
    assert call(k, "vm_munmap", mm, a, PAGE) == 0
    assert call(k, "vm_munmap", mm, s, PAGE) == 0
    vfs.close_all()
    vfs.unlink("/p")


def test_pages_beyond_the_end_are_sigbus_also_after_ftruncate(vfs: VirtualFileSystem):
    k = vfs.kernel
    mm = mm_of(k)
    make_file(vfs, "/t", b"t" * (3 * PAGE))
    fd = vfs.open("/t", "r+")
    a = vfs.mmap(mm, 0, 4 * PAGE, c.PROT_READ | c.PROT_WRITE, c.MAP_SHARED, fd)
    sigbus = fault_kind(k, "FAULT_SIGBUS")
    assert user_read(k, mm, a + 3 * PAGE, 1) == sigbus
    assert user_write(k, mm, a + 2 * PAGE, b"x") == 0
    vfs.truncate(fd, PAGE + 10)
    assert user_read(k, mm, a + 2 * PAGE, 1) == sigbus
    assert user_read(k, mm, a + PAGE + 10, 4) == bytes(4)
    assert user_read(k, mm, a, 1) == b"t"
    vfs.truncate(fd, 3 * PAGE)
    assert user_read(k, mm, a + 2 * PAGE, 4) == bytes(4)  # the store went with the truncate
    assert call(k, "vm_munmap", mm, a, 4 * PAGE) == 0
    vfs.close(fd)
    vfs.unlink("/t")


def test_unlink_while_mapped_keeps_the_pages_until_munmap(vfs: VirtualFileSystem):
    k = vfs.kernel
    mm = mm_of(k)
    make_file(vfs, "/u", b"keep me")
    fd = vfs.open("/u", "r+")
    a = vfs.mmap(mm, 0, PAGE, c.PROT_READ | c.PROT_WRITE, c.MAP_SHARED, fd)
    vfs.close(fd)
    vfs.unlink("/u")
    free = call(k, "get_free_pages")
    assert user_read(k, mm, a, 7) == b"keep me"
    assert user_write(k, mm, a, b"K") == 0
    assert user_read(k, mm, a, 7) == b"Keep me"
    assert call(k, "vm_munmap", mm, a, PAGE) == 0
    assert call(k, "get_free_pages") > free                # the file's frame went with the mapping


@pytest.mark.parametrize(("mode", "prot", "flags", "fd_kind", "err"), [
    ("r", c.PROT_READ, c.MAP_SHARED, "closed", errno.EBADF),
    ("w", c.PROT_READ, c.MAP_SHARED, "file", errno.EACCES),
    ("w", c.PROT_READ, c.MAP_PRIVATE, "file", errno.EACCES),
    ("r", c.PROT_READ | c.PROT_WRITE, c.MAP_SHARED, "file", errno.EACCES),
    ("r", c.PROT_READ, c.MAP_SHARED, "dir", errno.ENODEV),
    ("r", c.PROT_READ, c.MAP_PRIVATE | c.MAP_GROWSDOWN, "file", errno.EINVAL),
])
def test_mmap_refusals(vfs: VirtualFileSystem, mode: str, prot: int, flags: int, fd_kind: str, err: int):
    make_file(vfs, "/r", b"r")
    fd = 9 if fd_kind == "closed" else vfs.open("/etc" if fd_kind == "dir" else "/r", mode)
    with pytest.raises(OSError) as e:
        vfs.mmap(mm_of(vfs.kernel), 0, PAGE, prot, flags, fd)
    assert e.value.errno == err
    vfs.close_all()
    vfs.unlink("/r")


def test_an_unaligned_offset_is_einval(vfs: VirtualFileSystem):
    fd = vfs.open("/etc/motd")
    with pytest.raises(OSError) as e:
        vfs.mmap(mm_of(vfs.kernel), 0, PAGE, c.PROT_READ, c.MAP_SHARED, fd, 100)
    assert e.value.errno == errno.EINVAL
    vfs.close(fd)


def test_mprotect_cannot_make_a_read_only_shared_mapping_writable(vfs: VirtualFileSystem):
    k = vfs.kernel
    mm = mm_of(k)
    fd = vfs.open("/etc/motd")
    a = vfs.mmap(mm, 0, PAGE, c.PROT_READ, c.MAP_SHARED, fd)
    assert s32(call(k, "vm_mprotect", mm, a, PAGE, c.PROT_READ | c.PROT_WRITE)) == -errno.EACCES
    p = vfs.mmap(mm, 0, PAGE, c.PROT_READ, c.MAP_PRIVATE, fd)
    assert call(k, "vm_mprotect", mm, p, PAGE, c.PROT_READ | c.PROT_WRITE) == 0
    assert user_write(k, mm, p, b"private") == 0
    assert vfs.read(fd, 7) == b"Welcome"
    assert call(k, "vm_munmap", mm, a, PAGE) == 0
    assert call(k, "vm_munmap", mm, p, PAGE) == 0
    vfs.close(fd)


def test_the_specification_integration_example(vfs: VirtualFileSystem):
    k = vfs.kernel
    make_file(vfs, "/data/largefile.dat", bytes(range(256)) * 64)
    file_size = vfs.stat("/data/largefile.dat").st_size
    fd = vfs.open("/data/largefile.dat", "r")
    mm = mm_of(k)
    addr = vfs.mmap(mm, 0, file_size, c.PROT_READ, c.MAP_PRIVATE, fd, 0)
    assert user_read(k, mm, addr + 4000, 4) == bytes([4000 % 256, 4001 % 256, 4002 % 256, 4003 % 256])
    assert call(k, "vm_munmap", mm, addr, file_size) == 0
    vfs.close(fd)
    vfs.unlink("/data/largefile.dat")
