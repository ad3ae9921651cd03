"""kos.memory.allocator.KOSAllocator on the live kernel: the specification's
examples with the same calls, the heap functions behind each method, the
statistics, the debug mode's refusals carrying the kernel's report, leak
detection with Python call sites, and thread-local allocators under eight
threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from kos.exceptions import AllocationError, MemoryError
from kos.kernel import Kernel, read, use_kernel, write
from kos.memory import constants as c
from kos.memory.allocator import KOSAllocator
from kos.memory.kacchi import memory_check, memory_counters, memory_stats

pytestmark = pytest.mark.unicorn


@pytest.fixture
def heap(live: Kernel) -> Iterator[Kernel]:
    """The session; after the test the heap has its blocks back and is sound."""
    blocks0 = memory_stats(kernel=live)["num_allocations"]
    with use_kernel(live):
        yield live
    assert memory_stats(kernel=live)["num_allocations"] == blocks0
    assert memory_check(kernel=live) == 0


def test_spec_example_malloc_and_free(heap: Kernel):
    allocator = KOSAllocator()
    before = memory_stats(kernel=heap)["num_allocations"]
    ptr = allocator.malloc(1024)
    # Use memory...
    assert ptr % 8 == 0 and c.HEAP_START <= ptr < c.HEAP_END
    assert memory_stats(kernel=heap)["num_allocations"] == before + 1
    write(heap, ptr, b"\x11" * 1024)
    allocator.free(ptr)
    assert memory_stats(kernel=heap)["num_allocations"] == before


def test_calloc_zeroes_and_realloc_keeps_contents(heap: Kernel):
    allocator = KOSAllocator()
    dirty = allocator.malloc(200)
    write(heap, dirty, b"\xaa" * 200)
    allocator.free(dirty)
    p = allocator.calloc(25, 8)
    assert read(heap, p, 200) == bytes(200)
    write(heap, p, bytes(range(200)))
    q = allocator.realloc(p, 5000)
    assert q and read(heap, q, 200) == bytes(range(200))
    r = allocator.realloc(q, 16)
    assert read(heap, r, 16) == bytes(range(16))
    assert allocator.realloc(r, 0) == 0
    assert allocator.leaks() == []
    s = allocator.realloc(0, 32)                   # realloc(NULL) is malloc
    assert allocator.owns(s)
    allocator.free(s)


@pytest.mark.parametrize("alignment", [8, 16, 64, 256, 4096, 1 << 16])
def test_aligned_alloc(heap: Kernel, alignment: int):
    allocator = KOSAllocator()
    p = allocator.aligned_alloc(alignment, 100)
    assert p and p % alignment == 0
    allocator.free(p)


def test_bad_arguments_raise(heap: Kernel):
    allocator = KOSAllocator()
    with pytest.raises(TypeError):
        allocator.malloc("10")                     # type: ignore[arg-type]
    with pytest.raises(ValueError):
        allocator.malloc(-1)
    with pytest.raises(ValueError):
        allocator.aligned_alloc(24, 100)
    with pytest.raises(ValueError):
        allocator.calloc(-2, 8)
    assert allocator.malloc(0) == 0
    assert allocator.last_error is not None and allocator.last_error.name == "EINVAL"
    assert allocator.calloc(1 << 20, 1 << 20) == 0
    assert allocator.last_error.name == "ENOMEM"


def test_out_of_memory_returns_zero_with_the_kernels_report(heap: Kernel):
    allocator = KOSAllocator()
    assert allocator.malloc(64 * 1024 * 1024) == 0
    assert allocator.last_error is not None
    assert "kmalloc: 67108864 bytes: out of memory" in allocator.last_error.message


def test_an_alignment_beyond_32_bits_is_refused_before_the_kernel(heap: Kernel):
    """aligned_alloc(2**32, 16) reached the kernel as kmalloc_aligned(16, 0):
    the reason was "alignment 0 is not a power of two" and the kernel
    counted a bad size that was never asked for."""
    allocator = KOSAllocator()
    counters = memory_counters(kernel=heap)
    assert allocator.aligned_alloc(1 << 32, 16) == 0
    assert allocator.last_error is not None and allocator.last_error.errno == c.ENOMEM
    assert "alignment 0x100000000 is beyond the 32-bit address space" in allocator.last_error.message
    assert memory_counters(kernel=heap) == counters
    assert allocator.get_allocation_stats()["allocation_count"] == 0


def test_statistics_add_up(heap: Kernel):
    allocator = KOSAllocator()
    a, b = allocator.malloc(100), allocator.calloc(10, 30)
    allocator.free(a)
    b = allocator.realloc(b, 500)
    st = allocator.get_allocation_stats()
    assert st == {"total_allocated": 100 + 300 + 500, "total_freed": 100 + 300, "current_usage": 500,
                  "peak_usage": 500, "allocation_count": 3, "free_count": 2}
    allocator.free(b)
    st = allocator.get_allocation_stats()
    assert st["current_usage"] == 0 and st["allocation_count"] == st["free_count"] == 3


def test_spec_example_allocator_statistics(heap: Kernel, capsys: pytest.CaptureFixture[str]):
    allocator = KOSAllocator()
    p = allocator.malloc(300)
    # Get allocator statistics
    alloc_stats = allocator.get_allocation_stats()
    print(f"Current usage: {alloc_stats['current_usage']} bytes")
    print(f"Peak usage: {alloc_stats['peak_usage']} bytes")
    allocator.free(p)
    assert capsys.readouterr().out == "Current usage: 300 bytes\nPeak usage: 300 bytes\n"


def test_spec_example_memory_leak_detection(heap: Kernel, capsys: pytest.CaptureFixture[str]):
    # Enable debug mode for allocation tracking
    debug_allocator = KOSAllocator(debug=True)

    # Perform operations...
    kept = [debug_allocator.malloc(48) for _ in range(3)]
    debug_allocator.free(kept.pop())

    # Check for leaks
    stats = debug_allocator.get_allocation_stats()
    if stats['allocation_count'] != stats['free_count']:
        print(f"Memory leak detected: {stats['allocation_count'] - stats['free_count']} unfreed allocations")
    assert capsys.readouterr().out == "Memory leak detected: 2 unfreed allocations\n"
    leaks = debug_allocator.leaks()
    assert [leak.address for leak in leaks] == sorted(kept)
    site = f"{__file__}:{_line_of('kept = [')} in "
    assert all(leak.size == 48 and leak.site.startswith(site) for leak in leaks), leaks
    for p in kept:
        debug_allocator.free(p)
    assert debug_allocator.leaks() == []


def _line_of(text: str) -> int:
    with open(__file__) as f:
        return next(i for i, line in enumerate(f, 1) if text in line and "_line_of" not in line)


def test_debug_blocks_carry_red_zones_and_freed_ones_are_poisoned(heap: Kernel):
    plain, debug = KOSAllocator(), KOSAllocator(debug=True)
    # Plain neighbours on both sides keep the freed block from coalescing.
    before, d, after = plain.malloc(40), debug.malloc(40), plain.malloc(40)
    guard = read(heap, d + 40, 8)                    # the red zone right after the request
    assert len(set(guard)) == 1 and guard != bytes(8)
    write(heap, d, b"\x11" * 40)
    debug.free(d)
    body = read(heap, d + 8, 32)                     # past the free block's links: poison
    assert len(set(body)) == 1 and body != b"\x11" * 32
    plain.free(before)
    plain.free(after)
    # The switches were this allocator's only: the heap's own mode is as before.
    assert heap.call("memory_get_debug") == 0


def test_debug_double_free_raises_with_the_kernels_report(heap: Kernel):
    allocator = KOSAllocator(debug=True)
    errors0 = memory_counters(kernel=heap)["double_frees"]
    p = allocator.malloc(64)
    allocator.free(p)
    with pytest.raises(AllocationError) as e:
        allocator.free(p)
    assert e.value.kernel_message == f"kfree: 0x{p:08x}: double free"
    assert memory_counters(kernel=heap)["double_frees"] == errors0 + 1


def test_debug_free_of_a_pointer_it_did_not_return(heap: Kernel):
    allocator, other = KOSAllocator(debug=True), KOSAllocator()
    theirs = other.malloc(32)
    write(heap, theirs, b"theirs")
    with pytest.raises(AllocationError, match="live block this allocator did not return"):
        allocator.free(theirs)
    assert read(heap, theirs, 6) == b"theirs" and other.owns(theirs)   # left alone
    other.free(theirs)
    with pytest.raises(AllocationError) as e:
        allocator.free(c.HEAP_START + 3)
    assert "invalid" in e.value.kernel_message or "never returned" in e.value.kernel_message, e.value
    with pytest.raises(AllocationError):
        allocator.realloc(theirs, 10)


def test_debug_red_zone_overwrite_raises_memory_error(heap: Kernel):
    allocator = KOSAllocator(debug=True)
    p = allocator.malloc(24)
    write(heap, p + 24, b"\x00\x01")                 # two bytes past the end
    with pytest.raises(MemoryError) as e:
        allocator.free(p)
    assert not isinstance(e.value, AllocationError)
    assert e.value.kernel_message == f"kfree: 0x{p:08x}: red zone overwritten"
    assert allocator.owns(p)                         # the heap kept the block
    write(heap, p + 24, read(heap, p + 26, 2))       # the red zone is one byte value: put it back
    allocator.free(p)
    assert not allocator.owns(p)


def test_without_debug_bad_frees_are_refused_quietly(heap: Kernel):
    allocator = KOSAllocator()
    p = allocator.malloc(16)
    allocator.free(p)
    allocator.free(p)
    assert allocator.last_error is not None and "double free" in allocator.last_error.message
    assert allocator.get_allocation_stats()["free_count"] == 1


def test_thread_local_allocator_is_per_thread(heap: Kernel):
    mine = KOSAllocator.get_thread_local()
    assert KOSAllocator.get_thread_local() is mine
    seen: list[KOSAllocator] = []
    t = threading.Thread(target=lambda: seen.append(KOSAllocator.get_thread_local()))
    t.start()
    t.join()
    assert seen[0] is not mine and isinstance(seen[0], KOSAllocator)
    # Get thread-local allocator for better performance
    local_allocator = KOSAllocator.get_thread_local()
    p = local_allocator.malloc(8)
    assert seen[0].get_allocation_stats()["allocation_count"] == 0
    local_allocator.free(p)


def test_eight_threads_with_thread_local_allocators(heap: Kernel):
    rounds, threads = 1500, 8
    allocs0 = memory_counters(kernel=heap)["allocs"]
    allocators: dict[int, KOSAllocator] = {}
    errors: list[BaseException] = []
    # Every block live anywhere, by start and end: a new one must overlap none.
    everywhere: dict[int, int] = {}
    guard = threading.Lock()
    start, hold = threading.Barrier(threads), threading.Barrier(threads)

    def took(p: int, size: int) -> None:
        with guard:
            clash = [q for q, end in everywhere.items() if q < p + size and p < end]
            assert not clash, f"{p:#x}+{size} overlaps {clash}"
            everywhere[p] = p + size

    def gave(allocator: KOSAllocator, p: int) -> None:
        with guard:
            del everywhere[p]
        allocator.free(p)

    def work(n: int) -> None:
        try:
            allocator = KOSAllocator.get_thread_local()
            allocators[n] = allocator
            live: list[int] = []
            start.wait()
            for i in range(rounds):
                size = 8 + (n * 13 + i) % 200
                p = allocator.malloc(size)
                assert p
                took(p, size)
                live.append(p)
                if len(live) > 20:
                    gave(allocator, live.pop(i % len(live)))
            hold.wait()                       # every thread's last blocks are live together here
            for p in live:
                gave(allocator, p)
        except BaseException as e:            # reported below, in the test's thread
            errors.append(e)
            start.abort()
            hold.abort()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors
    assert len({id(a) for a in allocators.values()}) == threads
    assert everywhere == {}
    for a in allocators.values():
        st = a.get_allocation_stats()
        assert st["allocation_count"] == st["free_count"] == rounds
        assert st["current_usage"] == 0 and st["total_allocated"] == st["total_freed"]
        assert st["peak_usage"] > 0
    assert memory_counters(kernel=heap)["allocs"] - allocs0 == threads * rounds
    assert memory_check(kernel=heap) == 0
