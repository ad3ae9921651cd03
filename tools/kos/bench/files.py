"""Filesystem benchmark: guest instructions of read() of 4 KiB from a
cached page and of a fault on a shared file page, counted under unicorn on
the real kernel image (direct calls, no timing), and the frames a second
mapping of a program's text costs.

read() is fs_read on a kernel buffer, with the 4 KiB memcpy it does
subtracted (the issue's "plus the copy"). The fault is vm_fault() on a
MAP_SHARED page whose frame is in the page cache already: find the VMA,
check, take the frame from the cache, map it; a resident neighbour keeps
the page table alive across the repetitions, so no page-table allocation
is in it (the VM benchmark measures that with the demand-zero fill). The text figure maps
every page of /bin/hello read-execute MAP_PRIVATE twice, as
execve would map a PT_LOAD text segment from the page cache, and counts
the frames each mapping's faults take.

    from kos.bench import files
    print(files.report(files.measure()))
"""

from __future__ import annotations

from typing import Any

from kos import paths
from kos.fs import VirtualFileSystem
from kos.kernel import abi, call, u32
from kos.machine.unicorn.kernel import boot

PAGE = 4096
REPEAT = 16


def _enum(k: Any, enum: str, name: str) -> int:
    return abi(k).enum(enum)[name]


def _const(k: Any, name: str) -> int:
    return abi(k).constant(name)


def measure(kernel: Any | None = None) -> dict[str, Any]:
    """The figures, on kernel (default: a fresh one booted under unicorn
    with 64 MiB and the initrd). Everything made is given back."""
    k = kernel or boot(paths.KERNEL_ELF, "64M", modules=[paths.INITRD.read_bytes()])
    vfs = VirtualFileSystem(kernel=k)
    mm = u32(call(k, "mm_current"))
    write = _enum(k, "vm_access", "ACCESS_WRITE")
    read_access = _enum(k, "vm_access", "ACCESS_READ")
    prot_r, prot_rw = _const(k, "PROT_READ"), _const(k, "PROT_READ") | _const(k, "PROT_WRITE")
    prot_rx = prot_r | _const(k, "PROT_EXEC")
    shared, private = _const(k, "MAP_SHARED"), _const(k, "MAP_PRIVATE")

    fd = vfs.open("/bench.dat", "w+")
    vfs.write(fd, bytes(range(256)) * (2 * PAGE // 256))
    buf = u32(call(k, "kmalloc", PAGE))
    src = u32(call(k, "kmalloc", PAGE))
    _, copy = k.call_counted("memcpy", buf, src, PAGE)
    iobuf = vfs._iobuf(buf)
    reads = []
    for _ in range(REPEAT):
        vfs.seek(fd, 0)
        got, n = k.call_counted("fs_read", vfs.fdtable, fd, *iobuf, PAGE)
        if got != PAGE:
            raise RuntimeError(f"fs_read returned {got}")
        reads.append(n - copy)
    call(k, "kfree", buf)
    call(k, "kfree", src)

    fixed, anonymous = _const(k, "MAP_FIXED"), _const(k, "MAP_ANONYMOUS")
    base = _const(k, "USER_START")
    neighbour = vfs.mmap(mm, base + 8 * PAGE, PAGE, prot_rw, private | anonymous | fixed, -1)
    call(k, "vm_fault", mm, neighbour, write)
    faults = []
    for _ in range(REPEAT):
        addr = vfs.mmap(mm, base, PAGE, prot_rw, shared | fixed, fd)
        r, n = k.call_counted("vm_fault", mm, addr, write)
        if r:
            raise RuntimeError(f"vm_fault on a shared file page failed ({r})")
        faults.append(n)
        call(k, "vm_munmap", mm, addr, PAGE)
    call(k, "vm_munmap", mm, neighbour, PAGE)
    vfs.close(fd)
    vfs.unlink("/bench.dat")

    text = vfs.open("/bin/hello")
    text_pages = (vfs.fstat(text).st_size + PAGE - 1) // PAGE
    frames = []
    maps = []
    for _ in range(2):
        free = call(k, "get_free_pages")
        addr = vfs.mmap(mm, 0, text_pages * PAGE, prot_rx, private, text)
        for i in range(text_pages):
            r = call(k, "vm_fault", mm, addr + i * PAGE, read_access)
            if r:
                raise RuntimeError(f"vm_fault on /bin/hello's text failed ({r})")
        frames.append(free - call(k, "get_free_pages"))
        maps.append(addr)
    for addr in maps:
        call(k, "vm_munmap", mm, addr, text_pages * PAGE)
    vfs.close_all()
    return {
        "read_4k_cached": min(reads),
        "memcpy_4k": copy,
        "fault_shared_file_page": min(faults),
        "text_pages": text_pages,
        "text_frames_first_mapping": frames[0],
        "text_frames_second_mapping": frames[1],
    }


def report(r: dict[str, Any]) -> str:
    rows = [
        ("read() of 4 KiB from a cached page", f"{r['read_4k_cached']} instructions (+ the copy, "
                                               f"{r['memcpy_4k']})"),
        ("fault on a shared file page", f"{r['fault_shared_file_page']} instructions"),
        ("frames for a program's text, 1st map", f"{r['text_frames_first_mapping']} "
                                                 f"({r['text_pages']} pages, page tables included)"),
        ("frames for a program's text, 2nd map", f"{r['text_frames_second_mapping']}"),
    ]
    return "\n".join(f"{name:<40} {value}" for name, value in rows)


if __name__ == "__main__":
    print(report(measure()))
