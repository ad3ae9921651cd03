"""kos.memory.manager.MemoryManager on the live kernel: the specification's
usage examples with the same calls, each allocation strategy by size (seen
in the kernel's own counters), alignment in each, refused deallocations
and their reasons, protections seen from Python, anonymous and host-file
mappings with write-back, and the memory statistics against meminfo."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fs_helpers import read_every_file

from kos import paths
from kos.exceptions import MappingError, MemoryError, ProtectionError
from kos.fs import VirtualFileSystem
from kos.kernel import Kernel, call, call_out, use_kernel
from kos.kernel.mm import mm_wrapper as mm
from kos.machine.unicorn.kernel import UnicornKernel, boot
from kos.memory import constants as c
from kos.memory import hostfile
from kos.memory import manager as manager_module
from kos.memory.kacchi import memory_check, memory_stats
from kos.memory.manager import PROCESS_NAME, MemoryManager
from kos.process import ProcessManager

pytestmark = pytest.mark.unicorn


@pytest.fixture(scope="module")
def live(kernel: Path) -> Iterator[UnicornKernel]:
    """The session with the initrd: the manager's process runs a program of it."""
    k = boot(kernel, modules=[paths.INITRD.read_bytes()])
    with VirtualFileSystem(kernel=k) as v:
        read_every_file(v)          # the ramfs takes the initrd in as it is used
        v.mkdir(hostfile.HOST_DIR)  # made by the first host mapping, and kept
    yield k
    k.close()

MiB = 1024 * 1024


def frames_not_taken(k: UnicornKernel) -> int:
    """Free frames plus page-cache frames: a file the test reads or maps
    stays cached after it is closed, which is no leak."""
    return mm.buddy_stats(kernel=k)["free_pages"] + k.read_u32(k.symbol("pagecache_frames"))


def vmalloc_stats(k: Kernel) -> dict[str, int]:
    _, st = call_out(k, "vmalloc_get_stats", "vmalloc_stats")
    return {name: int(v) for name, v in st.items() if isinstance(v, int)}


@pytest.fixture
def mgr(live: Kernel) -> Iterator[MemoryManager]:
    """A manager on the session; after the test everything it took is back
    (but the page tables of the vmalloc window, which stay once made)."""
    free0 = frames_not_taken(live)
    tables0 = vmalloc_stats(live)["pt_pages"]
    live_blocks0 = memory_stats(kernel=live)["num_allocations"]
    m = MemoryManager(kernel=live)
    m.initialize()
    yield m
    m.close()
    tables = vmalloc_stats(live)["pt_pages"] - tables0
    assert frames_not_taken(live) == free0 - tables
    assert memory_stats(kernel=live)["num_allocations"] == live_blocks0
    assert memory_check(kernel=live) == 0
    assert mm.buddy_check(kernel=live) == 0
    assert call(live, "vmalloc_check", 0) == 0


def test_init_has_no_side_effects_and_initialize_starts_its_process(live: Kernel):
    processes = ProcessManager(kernel=live)
    free0 = mm.buddy_stats(kernel=live)["free_pages"]
    before = processes.list()
    m = MemoryManager(kernel=live)
    assert mm.buddy_stats(kernel=live)["free_pages"] == free0
    assert m.initialize() is True
    assert m.initialize() is True
    mine = [p for p in processes.list() if p not in before]
    assert [(p["pid"], p["ppid"], p["name"]) for p in mine] == [(m.pid, 1, PROCESS_NAME)]
    addr = m.mmap(0, 2 * c.PAGE_SIZE, m.PROT_READ, m.MAP_PRIVATE | m.MAP_ANONYMOUS, -1, 0)
    assert m.read(addr, 2) == bytes(2)
    # The mapping is the process's: the shell's maps of its pid shows it.
    assert f"{addr:08x}-{addr + 2 * c.PAGE_SIZE:08x} r--p" in live.console.run(f"maps {m.pid}")
    m.close()
    assert processes.list() == before
    assert mm.buddy_stats(kernel=live)["free_pages"] == free0


def test_initialize_reports_a_kernel_that_cannot_start(tmp_path: Path):
    m = MemoryManager(kernel=None)
    missing = tmp_path / "no-kernel.elf"
    previous = manager_module.kk.set_default_kernel(None)
    real_boot = manager_module.kk.boot_kernel
    try:
        manager_module.kk.boot_kernel = lambda memory="64M", elf=None: real_boot(memory, missing)
        with pytest.raises(MemoryError, match="the kernel cannot start"):
            m.initialize()
    finally:
        manager_module.kk.boot_kernel = real_boot
        manager_module.kk.set_default_kernel(previous)


def test_spec_example_basic_memory_allocation(live: Kernel, capsys: pytest.CaptureFixture[str]):
    free0 = mm.buddy_stats(kernel=live)["free_pages"]
    with use_kernel(live):
        # Initialize memory manager
        memory_mgr = MemoryManager()
        memory_mgr.initialize()
        started = mm.buddy_stats(kernel=live)["free_pages"]

        try:
            # Allocate 1MB
            addr = memory_mgr.allocate(1024 * 1024)
            if addr:
                print(f"Allocated 1MB at: 0x{addr:x}")
                # Use the memory...
                after_alloc = mm.buddy_stats(kernel=live)["free_pages"]
                memory_mgr.write(addr + 1024 * 1024 - 4, b"used")
                assert memory_mgr.read(addr + 1024 * 1024 - 4, 4) == b"used"
                # Free when done
                assert memory_mgr.deallocate(addr, 1024 * 1024)
            else:
                print("Allocation failed")
        except MemoryError as e:
            print(f"Memory error: {e}")
        memory_mgr.close()
    assert capsys.readouterr().out == f"Allocated 1MB at: 0x{addr:x}\n"
    # One buddy block of 256 frames (order 8), aligned to its size.
    assert addr % MiB == 0
    assert after_alloc == started - 256
    assert mm.buddy_stats(kernel=live)["free_pages"] == free0


@pytest.mark.parametrize(("size", "strategy", "frames"), [
    (1, "heap", 0), (100, "heap", 0), (4095, "heap", 0),
    (4096, "buddy", 1), (4097, "buddy", 2), (64 * 1024, "buddy", 16), (MiB, "buddy", 256),
    (MiB + 1, "vmalloc", 257), (3 * MiB, "vmalloc", 768),
])
def test_each_size_goes_to_its_allocator(live: Kernel, mgr: MemoryManager, size: int, strategy: str,
                                         frames: int):
    assert mgr.strategy(size) == strategy
    heap0 = memory_stats(kernel=live)["num_allocations"]
    buddy0 = mm.buddy_stats(kernel=live)
    vm0 = vmalloc_stats(live)
    addr = mgr.allocate(size)
    assert addr, mgr.last_error
    heap1 = memory_stats(kernel=live)["num_allocations"]
    buddy1 = mm.buddy_stats(kernel=live)
    vm1 = vmalloc_stats(live)
    assert heap1 - heap0 == (1 if strategy == "heap" else 0) + (2 if strategy == "vmalloc" else 0)
    assert buddy1["allocs"] - buddy0["allocs"] == (1 if strategy == "buddy" else 0) + \
        (frames if strategy == "vmalloc" else 0) + (vm1["pt_pages"] - vm0["pt_pages"])
    assert vm1["areas"] - vm0["areas"] == (1 if strategy == "vmalloc" else 0)
    assert vm1["pages"] - vm0["pages"] == (frames if strategy == "vmalloc" else 0)
    if strategy == "heap":
        assert c.HEAP_START <= addr < c.HEAP_END
    elif strategy == "buddy":
        assert addr % (frames.bit_length() and 1 << (frames - 1).bit_length()) * c.PAGE_SIZE == 0
    else:
        assert c.VMALLOC_START <= addr < c.VMALLOC_END
    # Every byte is the caller's: the last one too.
    mgr.write(addr + size - 1, b"\x5a")
    assert mgr.read(addr + size - 1, 1) == b"\x5a"
    assert mgr.deallocate(addr, size)
    assert vmalloc_stats(live)["areas"] == vm0["areas"]


def test_vmalloc_areas_are_listed_by_the_shell(live: Kernel, mgr: MemoryManager):
    addr = mgr.allocate(2 * MiB + 1)
    info = live.console.run("vmallocinfo")
    line = next(row for row in info.splitlines() if row.startswith(f"0x{addr:08x}-"))
    # Linux's format: the range and size include the guard page.
    assert line.split()[0] == f"0x{addr:08x}-0x{addr + 2 * MiB + 2 * c.PAGE_SIZE:08x}"
    assert line.split()[1] == str(2 * MiB + 2 * c.PAGE_SIZE)
    assert line.endswith("pages=513 vmalloc")
    assert mgr.deallocate(addr, 2 * MiB + 1)
    assert f"0x{addr:08x}-" not in live.console.run("vmallocinfo")


@pytest.mark.parametrize(("size", "alignment"), [
    (24, 8), (24, 64), (100, 4096), (3000, 1 << 16),
    (5000, 8), (8192, 1 << 16), (100 * 1024, 1 << 20), (MiB, 1 << 22),
    (2 * MiB, 8), (2 * MiB, 1 << 22), (MiB + 1, 1 << 24),
])
def test_any_power_of_two_alignment_in_each_strategy(mgr: MemoryManager, size: int, alignment: int):
    addr = mgr.allocate(size, alignment)
    assert addr and addr % alignment == 0, mgr.last_error
    assert mgr.deallocate(addr, size)


def test_buddy_alignment_beyond_its_largest_block_is_refused(mgr: MemoryManager):
    assert mgr.allocate(8192, 1 << 23) == 0
    assert mgr.last_error is not None and mgr.last_error.errno == c.EINVAL
    assert "largest buddy block" in mgr.last_error.message


def test_bad_arguments_raise(mgr: MemoryManager):
    with pytest.raises(TypeError):
        mgr.allocate("64")                      # type: ignore[arg-type]
    with pytest.raises(TypeError):
        mgr.allocate(64.0)                      # type: ignore[arg-type]
    with pytest.raises(ValueError):
        mgr.allocate(-1)
    with pytest.raises(ValueError, match=r"^size must not be negative"):
        mgr.allocate(-1, 24)                    # the first bad argument is the one named
    with pytest.raises(ValueError):
        mgr.allocate(64, 24)
    with pytest.raises(ValueError):
        mgr.allocate(64, 0)
    with pytest.raises(TypeError):
        mgr.deallocate(None, 64)                # type: ignore[arg-type]
    with pytest.raises(ValueError):
        mgr.deallocate(0x200000, -5)
    with pytest.raises(TypeError):
        mgr.write(0x40000000, "text")           # type: ignore[arg-type]


def test_impossible_requests_return_zero_with_the_reason(mgr: MemoryManager):
    assert mgr.allocate(0) == 0
    assert mgr.last_error is not None and mgr.last_error.name == "EINVAL"
    assert mgr.allocate(1 << 40) == 0
    assert mgr.last_error.errno == c.ENOMEM
    # More than the machine has: vmalloc refuses without keeping anything.
    assert mgr.allocate(100 * MiB) == 0
    assert mgr.last_error.errno == c.ENOMEM and mgr.last_error.message == "out of page frames"


@pytest.mark.parametrize("size", [100, 16 * 1024, 2 * MiB])
def test_deallocate_refuses_with_the_reason(mgr: MemoryManager, size: int):
    addr = mgr.allocate(size)
    assert not mgr.deallocate(addr, size + 8)
    assert mgr.last_error is not None and "size mismatch" in mgr.last_error.message
    assert not mgr.deallocate(addr + 8, size)
    assert "never returned by this manager" in mgr.last_error.message
    # The refusals left the block as it was: it is still the caller's.
    mgr.write(addr, b"kept")
    assert mgr.read(addr, 4) == b"kept"
    assert mgr.deallocate(addr, size)
    assert not mgr.deallocate(addr, size)
    assert "double free" in mgr.last_error.message


def test_kernel_addresses_are_reachable_only_inside_own_blocks(mgr: MemoryManager):
    addr = mgr.allocate(64)
    with pytest.raises(MappingError, match="not inside a block"):
        mgr.read(addr, 65)
    with pytest.raises(MappingError):
        mgr.write(c.HEAP_START, b"x")
    mgr.deallocate(addr, 64)
    with pytest.raises(MappingError):
        mgr.read(addr, 1)


def test_protections_are_seen_from_python(mgr: MemoryManager):
    rw = mgr.PROT_READ | mgr.PROT_WRITE
    addr = mgr.mmap(0, 3 * c.PAGE_SIZE, rw, mgr.MAP_PRIVATE | mgr.MAP_ANONYMOUS, -1, 0)
    assert addr >= c.USER_START, mgr.last_error
    assert mgr.read(addr, 8) == bytes(8)               # demand-zero
    data = bytes(range(256)) * 20
    mgr.write(addr + 100, data)                        # across a page boundary
    assert mgr.read(addr + 100, len(data)) == data
    assert mgr.mprotect(addr + c.PAGE_SIZE, c.PAGE_SIZE, mgr.PROT_READ) == 0
    with pytest.raises(ProtectionError, match="write to a read-only mapping") as e:
        mgr.write(addr + c.PAGE_SIZE + 5, b"no")
    assert e.value.errno == c.EFAULT
    assert mgr.read(addr + c.PAGE_SIZE, 4) == data[c.PAGE_SIZE - 100:c.PAGE_SIZE - 96]
    assert mgr.mprotect(addr, c.PAGE_SIZE, mgr.PROT_NONE) == 0
    with pytest.raises(ProtectionError, match="read from an inaccessible mapping"):
        mgr.read(addr, 1)
    assert mgr.munmap(addr, 3 * c.PAGE_SIZE) == 0
    # Nothing is mapped there now (the fault handler may call it a stack
    # growth too far: the process's stack is the next mapping up).
    with pytest.raises(MappingError) as unmapped:
        mgr.read(addr + c.PAGE_SIZE, 1)
    assert not isinstance(unmapped.value, ProtectionError)
    # A write that crosses from a writable page into an unmapped one.
    addr = mgr.mmap(0, c.PAGE_SIZE, rw, mgr.MAP_PRIVATE | mgr.MAP_ANONYMOUS, -1, 0)
    with pytest.raises(MappingError):
        mgr.write(addr + c.PAGE_SIZE - 2, b"four")
    assert mgr.read(addr + c.PAGE_SIZE - 2, 2) == b"fo"
    assert mgr.munmap(addr, c.PAGE_SIZE) == 0


def test_mapping_calls_return_minus_one_with_the_kernels_reason(mgr: MemoryManager):
    anon = mgr.MAP_PRIVATE | mgr.MAP_ANONYMOUS
    assert mgr.mmap(0, 0, mgr.PROT_READ, anon, -1, 0) == -1
    assert mgr.last_error is not None and mgr.last_error.message == "the length is 0"
    assert mgr.mmap(0, c.PAGE_SIZE, mgr.PROT_READ, mgr.MAP_PRIVATE, -1, 0) == -1
    assert mgr.last_error.name == "EBADF"
    assert mgr.mmap(0, c.PAGE_SIZE, 0x80, anon, -1, 0) == -1
    assert mgr.last_error.message == "unknown protection bits"
    assert mgr.munmap(0x40000001, c.PAGE_SIZE) == -1
    assert mgr.last_error.errno == c.EINVAL
    assert mgr.mprotect(0x7F000000, c.PAGE_SIZE, mgr.PROT_READ) == -1
    assert mgr.last_error.errno == c.ENOMEM
    assert mgr.mmap(0, c.PAGE_SIZE, mgr.PROT_READ, anon, 12345, 0) == -1
    assert mgr.last_error.name == "EBADF"


def test_fixed_and_populated_mappings(mgr: MemoryManager):
    fixed = 0x50000000
    resident0 = mgr.address_space()["resident"]        # the process's own program pages
    flags = mgr.MAP_PRIVATE | mgr.MAP_ANONYMOUS | mgr.MAP_FIXED | mgr.MAP_POPULATE
    assert mgr.mmap(fixed, 4 * c.PAGE_SIZE, mgr.PROT_READ | mgr.PROT_WRITE, flags, -1, 0) == fixed
    assert mgr.address_space()["resident"] == resident0 + 4 * c.PAGE_SIZE
    assert mgr.munmap(fixed, 4 * c.PAGE_SIZE) == 0
    assert mgr.address_space()["resident"] == resident0


def test_flags_are_the_kernels_as_class_and_module_attributes(mgr: MemoryManager):
    for name in ("PROT_NONE", "PROT_READ", "PROT_WRITE", "PROT_EXEC", "PROT_RW", "PROT_RWX",
                 "MAP_SHARED", "MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED", "MAP_GROWSDOWN",
                 "MAP_LOCKED", "MAP_POPULATE"):
        value = c.image().constant(name)
        assert getattr(MemoryManager, name) == getattr(mgr, name) == getattr(manager_module, name) == value
    # The specification's values are Linux's.
    assert (mgr.PROT_READ, mgr.PROT_WRITE, mgr.PROT_EXEC) == (1, 2, 4)
    assert (mgr.MAP_SHARED, mgr.MAP_PRIVATE, mgr.MAP_ANONYMOUS, mgr.MAP_FIXED) == (1, 2, 0x20, 0x10)


def test_spec_example_memory_mapping_of_a_host_file(live: Kernel, tmp_path: Path):
    path = str(tmp_path / "test_file")
    with use_kernel(live):
        memory_mgr = MemoryManager()

        # Create temporary file
        with open(path, 'wb') as f:
            f.write(b'x' * 4096)  # 4KB file

        # Open file for mapping
        fd = os.open(path, os.O_RDWR)

        try:
            # Map file into memory
            addr = memory_mgr.mmap(
                0,                                    # Let system choose address
                4096,                                # Map 4KB
                memory_mgr.PROT_READ | memory_mgr.PROT_WRITE,  # Read/write access
                memory_mgr.MAP_SHARED,               # Shared mapping
                fd,                                  # File descriptor
                0                                    # Offset
            )

            assert addr != -1, memory_mgr.last_error
            if addr != -1:
                print(f"File mapped at: 0x{addr:x}")

                # Access mapped memory...
                assert memory_mgr.read(addr, 4096) == b"x" * 4096
                memory_mgr.write(addr + 100, b"written through the mapping")

                # Unmap when done
                assert memory_mgr.munmap(addr, 4096) == 0

        finally:
            os.close(fd)
            with open(path, "rb") as f:
                content = f.read()
            os.unlink(path)
        memory_mgr.close()
    assert content == b"x" * 100 + b"written through the mapping" + b"x" * (4096 - 127)


def test_shared_host_mapping_is_written_back_on_msync_and_close(live: Kernel, mgr: MemoryManager,
                                                                 tmp_path: Path):
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(3 * c.PAGE_SIZE))
    fd = os.open(path, os.O_RDWR)
    try:
        addr = mgr.mmap(0, 3 * c.PAGE_SIZE, mgr.PROT_READ | mgr.PROT_WRITE, mgr.MAP_SHARED, fd, 0)
        assert addr != -1, mgr.last_error
        mgr.write(addr + c.PAGE_SIZE, b"page one")
        assert path.read_bytes()[c.PAGE_SIZE:c.PAGE_SIZE + 8] == bytes(8)   # not before msync
        assert mgr.msync(addr, 3 * c.PAGE_SIZE) == 0
        assert path.read_bytes()[c.PAGE_SIZE:c.PAGE_SIZE + 8] == b"page one"
        # The mapping is of a kernel file, which the shell sees; it goes with the last mapping.
        name = hostfile.kernel_path(fd).rsplit("/", 1)[1]
        assert re.search(rf"\b{3 * c.PAGE_SIZE}\s+{name}$", live.console.run("ls /host"), re.M)
        mgr.write(addr + 2 * c.PAGE_SIZE, b"page two")
    finally:
        os.close(fd)
    mgr.close()                  # writes back with a descriptor of its own
    assert path.read_bytes()[2 * c.PAGE_SIZE:2 * c.PAGE_SIZE + 8] == b"page two"
    assert len(path.read_bytes()) == 3 * c.PAGE_SIZE
    assert name not in live.console.run("ls /host")


def test_private_host_mapping_never_writes_back(mgr: MemoryManager, tmp_path: Path):
    path = tmp_path / "private.bin"
    path.write_bytes(b"p" * c.PAGE_SIZE)
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = mgr.mmap(0, c.PAGE_SIZE, mgr.PROT_READ | mgr.PROT_WRITE, mgr.MAP_PRIVATE, fd, 0)
        assert addr != -1, mgr.last_error
        mgr.write(addr, b"private")
        assert mgr.read(addr, 8) == b"privatep"
        assert mgr.msync(addr, c.PAGE_SIZE) == 0
        assert mgr.munmap(addr, c.PAGE_SIZE) == 0
    finally:
        os.close(fd)
    assert path.read_bytes() == b"p" * c.PAGE_SIZE


def test_host_open_mode_is_respected(mgr: MemoryManager, tmp_path: Path):
    path = tmp_path / "ro.bin"
    path.write_bytes(b"r" * c.PAGE_SIZE)
    ro = os.open(path, os.O_RDONLY)
    wo = os.open(path, os.O_WRONLY)
    try:
        rw = mgr.PROT_READ | mgr.PROT_WRITE
        assert mgr.mmap(0, c.PAGE_SIZE, rw, mgr.MAP_SHARED, ro, 0) == -1
        assert mgr.last_error is not None and mgr.last_error.name == "EACCES"
        assert mgr.mmap(0, c.PAGE_SIZE, mgr.PROT_READ, mgr.MAP_SHARED, wo, 0) == -1
        assert mgr.last_error.name == "EACCES"
        addr = mgr.mmap(0, c.PAGE_SIZE, mgr.PROT_READ, mgr.MAP_SHARED, ro, 0)
        assert mgr.read(addr, 4) == b"rrrr"
        with pytest.raises(ProtectionError):
            mgr.write(addr, b"w")
        assert mgr.munmap(addr, c.PAGE_SIZE) == 0
    finally:
        os.close(ro)
        os.close(wo)


def test_memory_stats_are_the_kernels(live: Kernel, mgr: MemoryManager):
    stats = mgr.get_memory_stats()
    assert set(stats) == {"total_memory", "free_memory", "used_memory", "cached_memory", "buffer_memory",
                          "swap_total", "swap_free"}
    shell = live.console.kv("meminfo")
    assert {k: shell[k] for k in stats} == stats
    assert stats["used_memory"] == stats["total_memory"] - stats["free_memory"]
    assert 60 * MiB < stats["total_memory"] <= 64 * MiB
    addr = mgr.allocate(64 * 1024)
    assert mgr.get_memory_stats()["free_memory"] == stats["free_memory"] - 64 * 1024
    mgr.deallocate(addr, 64 * 1024)
    assert mgr.get_memory_stats() == stats


def test_spec_example_memory_statistics(live: Kernel, capsys: pytest.CaptureFixture[str]):
    with use_kernel(live):
        memory_mgr = MemoryManager()
        # Get system memory statistics
        stats = memory_mgr.get_memory_stats()
        print(f"Total memory: {stats['total_memory'] // (1024*1024)} MB")
        print(f"Free memory: {stats['free_memory'] // (1024*1024)} MB")
        print(f"Memory usage: {(stats['used_memory'] / stats['total_memory']) * 100:.1f}%")
        memory_mgr.close()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Total memory: {stats['total_memory'] // MiB} MB"
    assert lines[2] == f"Memory usage: {stats['used_memory'] / stats['total_memory'] * 100:.1f}%"


def test_only_pages_written_through_the_mapping_go_back(mgr: MemoryManager, tmp_path: Path):
    path = tmp_path / "two.bin"
    path.write_bytes(b"a" * c.PAGE_SIZE + b"b" * c.PAGE_SIZE)
    fd = os.open(path, os.O_RDWR)
    try:
        addr = mgr.mmap(0, 2 * c.PAGE_SIZE, mgr.PROT_READ | mgr.PROT_WRITE, mgr.MAP_SHARED, fd, 0)
        assert mgr.read(addr, 1) == b"a"                 # page 0 read, never written
        os.pwrite(fd, b"host", 0)                        # the host changes page 0 meanwhile
        mgr.write(addr + c.PAGE_SIZE, b"B")
        assert mgr.munmap(addr, 2 * c.PAGE_SIZE) == 0
    finally:
        os.close(fd)
    data = path.read_bytes()
    assert data[:4] == b"host" and data[c.PAGE_SIZE:c.PAGE_SIZE + 2] == b"Bb"


def test_a_kernel_file_maps_with_its_open_mode(live: Kernel, mgr: MemoryManager):
    assert live.console.run("write /kfile hello kernel") == "write: 12 bytes to /kfile"
    err, f = hostfile.open_kernel_file(live, "/kfile", c.O_RDONLY)
    assert err == 0 and f
    try:
        rw = mgr.PROT_READ | mgr.PROT_WRITE
        assert mgr.mmap_kernel_file(0, c.PAGE_SIZE, rw, mgr.MAP_SHARED, f, 0) == -1
        assert mgr.last_error is not None and mgr.last_error.name == "EACCES"
        addr = mgr.mmap_kernel_file(0, c.PAGE_SIZE, mgr.PROT_READ, mgr.MAP_PRIVATE, f, 0)
        assert addr != -1, mgr.last_error
        assert mgr.read(addr, 13) == b"hello kernel\0"
        assert mgr.munmap(addr, c.PAGE_SIZE) == 0
    finally:
        call(live, "file_put", f)
    assert live.console.run("rm /kfile") == ""


def test_spec_example_filesystem_integration(live: Kernel, mgr: MemoryManager):
    from kos.fs import VirtualFileSystem

    with use_kernel(live):
        setup = VirtualFileSystem()                  # /data is the initrd's
        w = setup.open("/data/largefile.dat", "w")
        setup.write(w, b"L" * 5000)
        setup.close(w)
        file_size = 5000
        PROT_READ, MAP_PRIVATE = manager_module.PROT_READ, manager_module.MAP_PRIVATE
        memory_mgr = mgr

        # Memory-map a file through VFS
        vfs = VirtualFileSystem()
        fd = vfs.open('/data/largefile.dat', 'r')
        addr = memory_mgr.mmap(0, file_size, PROT_READ, MAP_PRIVATE, fd, 0)

        assert addr != -1, memory_mgr.last_error
        assert memory_mgr.read(addr, file_size) == b"L" * file_size
        with pytest.raises(ProtectionError):
            memory_mgr.write(addr, b"x")
        assert memory_mgr.mmap(0, 4096, mgr.PROT_READ | mgr.PROT_WRITE, mgr.MAP_SHARED, fd, 0) == -1
        assert memory_mgr.last_error is not None and memory_mgr.last_error.name == "EACCES"
        assert memory_mgr.mmap(0, 4096, PROT_READ, MAP_PRIVATE, 99, 0, vfs=vfs) == -1
        assert memory_mgr.last_error.name == "EBADF"
        # The same kernel descriptor as a plain int needs its file system named.
        plain = memory_mgr.mmap(0, 4096, PROT_READ, MAP_PRIVATE, int(fd), 0, vfs=vfs)
        assert plain != -1 and memory_mgr.read(plain, 4) == b"LLLL"
        assert memory_mgr.munmap(plain, 4096) == 0
        assert memory_mgr.munmap(addr, file_size) == 0
        vfs.close(fd)
        vfs.close_all()
        setup.unlink("/data/largefile.dat")
        setup.close_all()
