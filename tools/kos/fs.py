"""The KOS filesystem from Python: VirtualFileSystem, over a live kernel
through direct calls to the same functions the system calls use
(kernel/fs/vfs.h). Each VirtualFileSystem owns a kernel fd table
(fdtable_create) and a working directory, so its descriptors are kernel
descriptors: fs_mmap maps them into a struct mm, as a process's would be.

    vfs = VirtualFileSystem(kernel=k)
    fd = vfs.open("/data/notes.txt", "w+")
    vfs.write(fd, b"hello")
    vfs.seek(fd, 0)
    assert vfs.read(fd, 5) == b"hello"
    vfs.close(fd)

Errors are raised as OSError with the kernel's errno, which Python turns
into the matching subclass (FileNotFoundError for ENOENT, IsADirectoryError
for EISDIR, ...). Flags, layouts and constants come from the kernel's DWARF.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from kos.kernel import Kernel, abi, call, call_out, read, resolve, s32, u32, with_bytes

__all__ = ["FileStat", "VirtualFileSystem"]

# Python's mode strings as open(2) flags, by the kernel's flag names.
_MODES: dict[str, tuple[str, ...]] = {
    "r": ("O_RDONLY",),
    "w": ("O_WRONLY", "O_CREAT", "O_TRUNC"),
    "a": ("O_WRONLY", "O_CREAT", "O_APPEND"),
    "x": ("O_WRONLY", "O_CREAT", "O_EXCL"),
    "r+": ("O_RDWR",),
    "w+": ("O_RDWR", "O_CREAT", "O_TRUNC"),
    "a+": ("O_RDWR", "O_CREAT", "O_APPEND"),
}
# os.O_* bits a caller may pass, translated to the kernel's by name.
_OS_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_EXCL", "O_TRUNC", "O_APPEND", "O_DIRECTORY")


@dataclass(frozen=True)
class FileStat:
    """The fields of struct stat64 that KOS fills in."""

    st_ino: int
    st_mode: int
    st_nlink: int
    st_size: int
    st_blocks: int
    st_blksize: int


def _off32(value: int) -> int:
    """An offset or length as the kernel's 32-bit off_t takes it: one that
    does not fit is EINVAL here, never wrapped round to another offset."""
    if not -2**31 <= value < 2**31:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
    return value & 0xFFFFFFFF


def _check(result: int, path: str | None = None) -> int:
    value = s32(result)
    if value < 0:
        err = -value
        if path is None:
            raise OSError(err, os.strerror(err))
        raise OSError(err, os.strerror(err), path)
    return value


class KernelFd(int):
    """A kernel descriptor as VirtualFileSystem.open returns it: an int (the
    slot in that file system's fd table) that remembers its table, so that
    MemoryManager.mmap(..., fd, offset) tells it from a host descriptor and
    maps the kernel file, as the specification's example does."""

    vfs: VirtualFileSystem

    def __new__(cls, fd: int, vfs: VirtualFileSystem) -> KernelFd:
        self = super().__new__(cls, fd)
        self.vfs = vfs
        return self


class VirtualFileSystem:
    """A kernel fd table and a working directory, and the file operations
    over them. close_all() (or the with block's end) closes every descriptor
    and frees the table."""

    def __init__(self, *, kernel: Kernel | None = None, cwd: str = "/") -> None:
        self.kernel = resolve(kernel)
        self._abi = abi(self.kernel)
        self.fdtable = u32(call(self.kernel, "fdtable_create", 0))
        if not self.fdtable:
            raise MemoryError("fdtable_create: no memory for an fd table")
        self.cwd = cwd

    def __enter__(self) -> VirtualFileSystem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_all()

    def close_all(self) -> None:
        if self.fdtable:
            call(self.kernel, "fdtable_destroy", self.fdtable)
            self.fdtable = 0

    # ---- helpers ----------------------------------------------------------

    def _const(self, name: str) -> int:
        return self._abi.constant(name)

    def flags(self, mode: str | int) -> int:
        """The kernel's open flags for a Python mode string ('r', 'w', 'a',
        'x', 'r+', 'w+', 'a+'; a 'b' is ignored) or os.O_* bits."""
        if isinstance(mode, int):
            out = 0
            for name in _OS_FLAGS:
                if mode & getattr(os, name):
                    out |= self._const(name)
            return out
        key = mode.replace("b", "")
        if key not in _MODES:
            raise ValueError(f"invalid mode: {mode!r}")
        out = 0
        for name in _MODES[key]:
            out |= self._const(name)
        return out

    def _iobuf(self, addr: int) -> tuple[int, int]:
        """struct iobuf for a kernel pointer, as the two words cdecl pushes."""
        layout = self._abi.struct("iobuf")
        words = [0] * (layout.size // 4)
        words[layout.fields["addr"].offset // 4] = addr
        words[layout.fields["user"].offset // 4] = 0
        return words[0], words[1]

    def _path_call(self, symbol: str, path: str, *args: int, table: bool = False) -> int:
        """symbol([fdtable,] cwd, path, *args) with the strings in kernel memory."""
        head = (self.fdtable,) if table else ()
        with with_bytes(self.kernel, self.cwd.encode() + b"\0") as cwd, \
                with_bytes(self.kernel, path.encode() + b"\0") as p:
            return _check(call(self.kernel, symbol, *head, cwd, p, *args), path)

    # ---- the operations ---------------------------------------------------

    def open(self, path: str, mode: str | int = "r", perm: int = 0o644) -> KernelFd:
        """A kernel descriptor for path."""
        return KernelFd(self._path_call("fs_open", path, self.flags(mode), perm, table=True), self)

    def read(self, fd: int, n: int) -> bytes:
        """Up to n bytes from fd's position (b"" at the end). n = 0 still asks
        the kernel, which says EBADF for a descriptor that cannot be read."""
        if n < 0:
            raise ValueError("negative read size")
        if n == 0:
            _check(call(self.kernel, "fs_read", self.fdtable, fd, *self._iobuf(0), 0))
            return b""
        with with_bytes(self.kernel, bytes(n)) as buf:
            got = _check(call(self.kernel, "fs_read", self.fdtable, fd, *self._iobuf(buf), n))
            return read(self.kernel, buf, got)

    def write(self, fd: int, data: bytes) -> int:
        """Write data at fd's position: the bytes written. Nothing to write
        still asks the kernel, which says EBADF for a descriptor that cannot
        be written."""
        if not data:
            return _check(call(self.kernel, "fs_write", self.fdtable, fd, *self._iobuf(0), 0))
        with with_bytes(self.kernel, data) as buf:
            return _check(call(self.kernel, "fs_write", self.fdtable, fd, *self._iobuf(buf), len(data)))

    def seek(self, fd: int, offset: int, whence: int = os.SEEK_SET) -> int:
        names = {os.SEEK_SET: "SEEK_SET", os.SEEK_CUR: "SEEK_CUR", os.SEEK_END: "SEEK_END"}
        if whence not in names:
            raise OSError(22, os.strerror(22))
        return _check(call(self.kernel, "fs_lseek", self.fdtable, fd, _off32(offset),
                           self._const(names[whence])))

    def close(self, fd: int) -> None:
        _check(call(self.kernel, "fs_close", self.fdtable, fd))

    def dup(self, fd: int) -> KernelFd:
        return KernelFd(_check(call(self.kernel, "fdtable_dup", self.fdtable, fd)), self)

    def truncate(self, fd: int, length: int) -> None:
        """ftruncate(fd, length)."""
        _check(call(self.kernel, "fs_ftruncate", self.fdtable, fd, _off32(length)))

    def _stat(self, values: dict[str, object]) -> FileStat:
        def get(name: str) -> int:
            v = values[name]
            assert isinstance(v, int)
            return v

        return FileStat(st_ino=get("st_ino"), st_mode=get("st_mode"), st_nlink=get("st_nlink"),
                        st_size=get("st_size"), st_blocks=get("st_blocks"), st_blksize=get("st_blksize"))

    def stat(self, path: str) -> FileStat:
        with with_bytes(self.kernel, self.cwd.encode() + b"\0") as cwd, \
                with_bytes(self.kernel, path.encode() + b"\0") as p:
            r, st = call_out(self.kernel, "vfs_stat", "stat64", cwd, p)
        _check(r, path)
        return self._stat(st)

    def fstat(self, fd: int) -> FileStat:
        r, st = call_out(self.kernel, "fs_fstat", "stat64", self.fdtable, fd)
        _check(r)
        return self._stat(st)

    def listdir(self, path: str = ".") -> list[str]:
        """The names in a directory, without "." and ".."."""
        fd = self.open(path, os.O_RDONLY | os.O_DIRECTORY)
        header = self._abi.struct("linux_dirent64")
        names: list[str] = []
        size = 4096
        try:
            with with_bytes(self.kernel, bytes(size)) as buf:
                while True:
                    got = _check(call(self.kernel, "fs_getdents64", self.fdtable, fd,
                                      *self._iobuf(buf), size), path)
                    if not got:
                        break
                    data = read(self.kernel, buf, got)
                    pos = 0
                    while pos < got:
                        rec = header.unpack(data, pos)
                        reclen = rec["d_reclen"]
                        assert isinstance(reclen, int)
                        start = pos + header.offsetof("d_name")
                        name = data[start:pos + reclen].split(b"\0", 1)[0].decode()
                        if name not in (".", ".."):
                            names.append(name)
                        pos += reclen
        finally:
            self.close(fd)
        return names

    def mkdir(self, path: str, mode: int = 0o755) -> None:
        self._path_call("vfs_mkdir", path, mode)

    def rmdir(self, path: str) -> None:
        self._path_call("vfs_rmdir", path)

    def unlink(self, path: str) -> None:
        self._path_call("vfs_unlink", path)

    def chdir(self, path: str) -> None:
        """Change the working directory (checked by the kernel's fs_chdir)."""
        out_size = self._const("FS_PATH_MAX")
        with with_bytes(self.kernel, self.cwd.encode() + b"\0") as cwd, \
                with_bytes(self.kernel, path.encode() + b"\0") as p, \
                with_bytes(self.kernel, bytes(out_size)) as out:
            _check(call(self.kernel, "fs_chdir", cwd, p, out), path)
            self.cwd = read(self.kernel, out, out_size).split(b"\0", 1)[0].decode()

    def getcwd(self) -> str:
        return self.cwd

    def mmap(self, mm: int, addr: int, length: int, prot: int, flags: int, fd: int,
             offset: int = 0) -> int:
        """Map fd of this table into the struct mm at mm (fs_mmap): the
        address, or OSError with the kernel's errno. An offset the kernel's
        32 bits of bytes cannot hold is EOVERFLOW, as mmap2's is, and a
        negative one EINVAL: never wrapped round onto the file's start."""
        if offset < 0:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        if offset >= 2**32:
            raise OSError(errno.EOVERFLOW, os.strerror(errno.EOVERFLOW))
        result = u32(call(self.kernel, "fs_mmap", mm, self.fdtable, addr, length, prot, flags, fd,
                          offset))
        if result >= 0x100000000 - 4096:            # -4095 .. -1: an errno, as Linux's mmap
            _check(result)
        return result
