"""Scenario tests of kernel/mm/heap/ on the host."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from heap_lib import (
    DEBUG_POISON,
    DEBUG_REDZONE,
    DEBUG_TRACK,
    HEAP_E_CORRUPT,
    HEAP_E_DOUBLE,
    HEAP_E_INVALID,
    HEAP_E_POISON,
    HEAP_E_REDZONE,
    HEAP_OK,
    HEAP_SOURCES,
    KERNEL_STRING_C,
    REPO,
    Heap,
    pattern,
    round8,
)

from kos import build

REGION = 256 * 1024


@pytest.fixture
def heap() -> Heap:
    return Heap(REGION)


def sound(h: Heap) -> None:
    assert h.check() == []


def frozen(h: Heap) -> tuple[bytes, dict[str, int]]:
    """Everything a refused operation must leave alone: the blocks and stats."""
    st = h.stats().as_dict()
    del st["bad_frees"]
    return h.snapshot()[h.first:], st


def test_init_refuses_a_region_too_small_for_its_control_data() -> None:
    with pytest.raises(ValueError):
        Heap(1024)


def test_misaligned_region_is_aligned_up(heap: Heap) -> None:
    h = Heap(64 * 1024, skew=3)
    p = h.alloc(100)
    assert p is not None and p % 8 == 0 and h.lo <= p < h.hi
    sound(h)


def test_small_and_large_blocks_hold_their_content(heap: Heap) -> None:
    sizes = [1, 7, 8, 9, 24, 100, 128, 129, 200, 1000, 5000, 40000]
    ptrs = []
    for tag, size in enumerate(sizes):
        p = heap.alloc(size)
        assert p is not None and p % 8 == 0
        assert heap.usable(p) >= size
        heap.write(p, pattern(tag, size))
        ptrs.append(p)
        sound(heap)
    for tag, (p, size) in enumerate(zip(ptrs, sizes, strict=True)):
        assert heap.read(p, size) == pattern(tag, size)
    st = heap.stats()
    assert st.live_blocks == len(sizes)
    assert st.payload_bytes == sum(round8(s) for s in sizes)
    for p in ptrs:
        assert heap.free(p) == HEAP_OK
        sound(heap)
    st = heap.stats()
    assert (st.live_blocks, st.payload_bytes, st.allocs, st.frees) == (0, 0, len(sizes), len(sizes))


def test_size_zero_returns_null(heap: Heap) -> None:
    assert heap.alloc(0) is None
    assert heap.free(None) == HEAP_OK


@pytest.mark.parametrize("align", [16, 32, 64, 128, 256, 1024, 4096, 65536])
def test_any_power_of_two_alignment(align: int) -> None:
    # Where aligned blocks land depends on the region's offset from an
    # `align` boundary: try sixteen offsets spread over it (all 8-byte ones
    # for small alignments), not whichever one the buffer's address gives.
    for skew in range(0, align, max(8, align // 16)):
        heap = Heap(1024 * 1024, skew=skew)
        ptrs = [heap.alloc(size, align) for size in (1, 24, 130, 777)]
        for p in ptrs:
            assert p is not None and p % align == 0, f"skew {skew}"
            sound(heap)
        for p in ptrs:
            assert heap.free(p) == HEAP_OK, f"skew {skew}"
            sound(heap)


def test_bad_alignment_fails(heap: Heap) -> None:
    assert heap.alloc(10, 24) is None
    assert heap.stats().failed_allocs == 1


@pytest.mark.parametrize("size", [16, 300])
def test_double_free_is_refused_and_changes_nothing(heap: Heap, size: int) -> None:
    keep = heap.alloc(size)
    p = heap.alloc(size)
    heap.alloc(size)
    assert heap.free(p) == HEAP_OK
    before = frozen(heap)
    assert heap.free(p) == HEAP_E_DOUBLE
    assert frozen(heap) == before
    assert heap.stats().bad_frees == 1
    assert heap.last_error() == HEAP_E_DOUBLE
    assert heap.reports and heap.reports[-1][1] == p
    assert heap.free(keep) == HEAP_OK
    sound(heap)


def test_double_free_of_a_block_given_back_to_the_wilderness_is_named(heap: Heap) -> None:
    p = heap.alloc(500)
    assert heap.free(p) == HEAP_OK
    assert heap.extent() > p - heap.lo  # p lies above top now
    before = frozen(heap)
    assert heap.free(p) == HEAP_E_DOUBLE
    assert heap.free(p + 8) == HEAP_E_INVALID
    assert frozen(heap) == before


def test_double_free_after_coalescing_is_refused(heap: Heap) -> None:
    a, b, c = heap.alloc(400), heap.alloc(400), heap.alloc(400)
    heap.alloc(400)
    for p in (a, c, b):  # b merges with both neighbours
        assert heap.free(p) == HEAP_OK
    before = frozen(heap)
    for p in (a, b, c):
        assert heap.free(p) in (HEAP_E_DOUBLE, HEAP_E_INVALID)
    assert frozen(heap) == before
    sound(heap)


@pytest.mark.parametrize("size", [40, 2000])
def test_interior_and_foreign_pointers_are_refused(heap: Heap, size: int) -> None:
    p = heap.alloc(size)
    assert p is not None
    heap.write(p, pattern(1, size))
    before = frozen(heap)
    bad = [p + 8, p + 16, p + 1, p - 8, heap.lo, heap.lo + 8, heap.hi - 8, heap.hi + 64, 8]
    for q in bad:
        assert heap.free(q) in (HEAP_E_INVALID, HEAP_E_DOUBLE), hex(q)
        assert not heap.owns(q)
        assert heap.usable(q) == 0
    assert frozen(heap) == before
    assert heap.stats().bad_frees == len(bad)
    assert heap.owns(p)
    sound(heap)


def test_corrupted_header_is_detected_and_survived(heap: Heap) -> None:
    a = heap.alloc(500)
    b = heap.alloc(500)
    heap.alloc(500)
    assert a is not None and b is not None
    heap.write(b - 8, b"\xff\xff\x00\x00")  # b's size field
    assert heap.free(b) == HEAP_E_INVALID
    assert heap.check() != []
    assert heap.free(a) == HEAP_E_CORRUPT  # a's successor header is damaged


def test_damaged_footer_below_a_block_refuses_its_free_and_changes_nothing(heap: Heap) -> None:
    """The free of a block whose free predecessor's footer was overwritten
    is refused before anything is written: the footer is checked where the
    release reads it, ahead of the first write."""
    a = heap.alloc(500)
    b = heap.alloc(500)
    heap.alloc(500)
    assert a is not None and b is not None
    assert heap.free(a) == HEAP_OK  # a is now b's free predecessor, its size in the footer
    heap.write(b - 12, b"\x10\x00\x00\x00")  # the footer, just below b's header
    before = frozen(heap)
    assert heap.free(b) == HEAP_E_CORRUPT
    assert frozen(heap) == before
    assert heap.check() != []  # the checker names the damaged footer too


def test_realloc_grows_in_place_into_a_free_successor(heap: Heap) -> None:
    a = heap.alloc(300)
    b = heap.alloc(600)
    heap.alloc(300)
    assert a is not None
    heap.write(a, pattern(7, 300))
    assert heap.free(b) == HEAP_OK
    q, err = heap.realloc(a, 800)
    assert (q, err) == (a, HEAP_OK)
    assert heap.read(a, 300) == pattern(7, 300)
    sound(heap)


def test_realloc_grows_in_place_into_the_wilderness(heap: Heap) -> None:
    a = heap.alloc(300)
    assert a is not None
    heap.write(a, pattern(3, 300))
    q, _ = heap.realloc(a, 50000)
    assert q == a
    assert heap.read(a, 300) == pattern(3, 300)
    sound(heap)


def test_realloc_moves_and_shrinks_preserving_content(heap: Heap) -> None:
    a = heap.alloc(300)
    heap.alloc(40)
    assert a is not None
    heap.write(a, pattern(5, 300))
    q, err = heap.realloc(a, 5000)
    assert err == HEAP_OK and q is not None and q != a
    assert heap.read(q, 300) == pattern(5, 300)
    sound(heap)
    r, _ = heap.realloc(q, 200)
    assert r is not None and heap.read(r, 200) == pattern(5, 300)[:200]
    s, _ = heap.realloc(r, 20)  # large to small
    assert s is not None and heap.read(s, 20) == pattern(5, 300)[:20]
    t, _ = heap.realloc(s, 100)  # small to another class
    assert t is not None and heap.read(t, 20) == pattern(5, 300)[:20]
    assert heap.stats().payload_bytes == 40 + 104
    sound(heap)


def test_appending_realloc_moves_rarely() -> None:
    """Buffers grown round-robin by small steps block one another; their
    growth reserves keep the number of moves low (without them: ~270)."""
    heap = Heap(1024 * 1024)
    bufs = [[heap.alloc(200), 200, tag] for tag in range(8)]
    for p, size, tag in bufs:
        heap.write(p, pattern(tag, size + 40)[:size])
    moves = 0
    for _ in range(150):
        for b in bufs:
            p, size, tag = b
            q, err = heap.realloc(p, size + 40)
            assert err == HEAP_OK and q is not None
            assert heap.read(q, size) == pattern(tag, size)
            moves += q != p
            heap.write(q, pattern(tag, size + 40))  # a prefix of the same pattern
            b[0], b[1] = q, size + 40
    assert moves <= 130
    assert heap.stats().payload_bytes == sum(round8(b[1]) for b in bufs)
    sound(heap)


def test_realloc_edge_cases(heap: Heap) -> None:
    p, err = heap.realloc(None, 50)
    assert p is not None and err == HEAP_OK
    q, err = heap.realloc(p, 0)
    assert q is None and err == HEAP_OK
    q, err = heap.realloc(p, 10)
    assert q is None and err == HEAP_E_DOUBLE
    q, err = heap.realloc(heap.lo + 12345, 10)
    assert q is None and err == HEAP_E_INVALID
    sound(heap)


def test_out_of_memory_returns_null_and_heap_stays_sound(heap: Heap) -> None:
    assert heap.alloc(REGION * 2) is None
    assert heap.alloc(2**62) is None
    live = []
    for size in [3000, 50, 700, 8] * 1000:
        p = heap.alloc(size)
        if p is None:
            break
        live.append(p)
    else:
        pytest.fail("the heap never ran out")
    assert heap.stats().failed_allocs == 3
    sound(heap)
    q, _ = heap.realloc(live[0], REGION)
    assert q is None and heap.owns(live[0])
    for p in live:
        assert heap.free(p) == HEAP_OK
    sound(heap)
    heap.defragment()
    st = heap.stats()
    assert (st.used_bytes, st.live_blocks, st.runs, st.free_blocks) == (0, 0, 0, 1)
    assert heap.alloc(REGION // 2) is not None


def test_small_request_falls_back_to_a_block_when_no_run_fits() -> None:
    h = Heap(64 * 1024)
    big = []
    while (p := h.alloc(1000)) is not None:
        big.append(p)
    for p in big[::2]:
        h.free(p)  # 1000-byte holes: no room for a 2 KiB-aligned run
    small = [h.alloc(16) for _ in range(20)]
    assert all(p is not None for p in small)
    sound(h)


def test_defragment_gives_back_kept_runs_and_reports_the_bytes(heap: Heap) -> None:
    small = [heap.alloc(16) for _ in range(400)]  # enough for the class to get runs
    guard = heap.alloc(3000)
    assert heap.stats().runs > 0
    for p in small:
        heap.free(p)
    st = heap.stats()
    assert st.runs == 1  # the class keeps one empty run for reuse
    made = heap.defragment()
    after = heap.stats()
    assert made >= 2048 and after.runs == 0
    assert after.free_bytes == st.free_bytes + made
    assert heap.defragment() == 0  # nothing held any more
    assert heap.owns(guard)
    sound(heap)


def test_defragment_trims_unused_growth_reserves(heap: Heap) -> None:
    p = heap.alloc(1000)
    heap.alloc(40)
    q, _ = heap.realloc(p, 1100)  # an append: moves with a growth reserve
    assert q is not None and q != p
    heap.write(q, pattern(9, 1100))
    heap.alloc(40)  # keeps the reserve from the wilderness
    st = heap.stats()
    made = heap.defragment()
    assert made >= 200
    assert heap.stats().free_bytes == st.free_bytes + made
    assert heap.read(q, 1100) == pattern(9, 1100)
    assert heap.usable(q) >= 1100
    sound(heap)


def test_walker_reports_every_live_block(heap: Heap) -> None:
    sizes = {heap.alloc(s): s for s in (10, 20, 300, 4000, 128)}
    blocks = heap.walk()
    live = {b.payload: b for b in blocks if b.used}
    assert set(live) == set(sizes)
    for p, size in sizes.items():
        assert live[p].size >= size
    assert sorted(b.payload for b in blocks) == [b.payload for b in blocks]
    free = [b for b in blocks if not b.used]
    largest = max(b.size for b in free)
    assert largest * 31 // 32 <= heap.stats().largest_free <= largest


def test_largest_free_is_a_request_sure_to_succeed() -> None:
    heap = Heap(1024 * 1024)
    # Fifty free blocks of 3000 to 3049 bytes, all in one free list, kept
    # apart by live blocks; the wilderness is used up.
    holes = [heap.alloc(3000 + k) for k in range(50)]
    for _ in holes:
        heap.alloc(400)
    while heap.alloc(4096):
        pass
    for p in holes:
        heap.free(p)
    largest = max(b.size for b in heap.walk() if not b.used)
    got = heap.stats().largest_free
    assert largest * 31 // 32 <= got <= largest
    assert heap.alloc(got) is not None  # sure to succeed
    sound(heap)


def test_poison_detects_a_write_after_free(heap: Heap) -> None:
    heap.set_debug(DEBUG_POISON)
    a = heap.alloc(300)
    heap.alloc(300)  # keeps a away from the wilderness
    assert a is not None
    assert heap.free(a) == HEAP_OK
    assert heap.read(a + 16, 200) == b"\x6b" * 200
    sound(heap)
    heap.write(a + 100, b"\x00")  # use after free
    assert heap.check() == ["poisoned free block was written"]
    b = heap.alloc(300)
    assert b == a
    assert heap.last_error() == HEAP_E_POISON
    assert heap.stats().debug_errors == 1
    assert heap.reports[-1][1] == a + 100
    sound(heap)


def test_red_zone_overflow_is_refused_and_the_block_kept(heap: Heap) -> None:
    heap.set_debug(DEBUG_REDZONE)
    for size in (13, 16, 200):
        p = heap.alloc(size)
        assert p is not None
        heap.write(p, pattern(size, size))
        sound(heap)
        heap.write(p + size, b"!")
        assert heap.check() == ["red zone overwritten"]
        assert heap.free(p) == HEAP_E_REDZONE
        assert heap.owns(p)
        assert heap.stats().debug_errors >= 1
        heap.write(p + size, b"\xfd")
        assert heap.free(p) == HEAP_OK
        sound(heap)


def test_tracking_gives_a_leak_report_by_call_site(heap: Heap) -> None:
    heap.set_debug(DEBUG_TRACK)
    a = heap.alloc(10, site=0x1111)
    heap.alloc(300, site=0x2222)
    heap.alloc(40, site=0x3333)
    heap.free(a)
    leaks = sorted(b.site for b in heap.walk() if b.used)
    assert leaks == [0x2222, 0x3333]
    heap.set_debug(0)
    assert heap.alloc(10, site=0x4444) is not None
    assert 0x4444 not in {b.site for b in heap.walk()}
    sound(heap)


def test_debug_blocks_realloc_and_mix_with_plain_ones(heap: Heap) -> None:
    plain = heap.alloc(50)
    heap.set_debug(DEBUG_POISON | DEBUG_REDZONE | DEBUG_TRACK)
    d = heap.alloc(30, site=7)
    assert plain is not None and d is not None
    heap.write(d, pattern(1, 30))
    q, err = heap.realloc(d, 3000, site=8)
    assert err == HEAP_OK and q is not None and heap.read(q, 30) == pattern(1, 30)
    assert heap.usable(q) == 3000
    assert heap.free(plain) == HEAP_OK
    sound(heap)
    heap.set_debug(0)
    assert heap.free(q) == HEAP_OK
    sound(heap)


def test_strerror_names_every_code(heap: Heap) -> None:
    names = {heap.strerror(e) for e in (0, -1, -2, -3, -4, -5)}
    assert len(names) == 6


CFLAGS_32 = [
    "-m32", "-ffreestanding", "-fno-pie", "-fno-pic", "-fno-stack-protector", "-nostdlib",
    "-O2", "-Wall", "-Wextra", "-Werror", "-std=gnu11",
]


@pytest.mark.build
def test_the_kernels_own_heap_objects_need_no_symbol_from_outside(tmp_path: object, kernel: Path) -> None:
    """The objects `./kos build` made for kernel.elf: the heap and the
    kernel's string functions, linked alone, leave nothing undefined."""
    obj = f"{tmp_path}/heap32.o"
    objects = [str(build.unit_for(src).obj) for src in (*HEAP_SOURCES, KERNEL_STRING_C)]
    subprocess.run([build.LD, "-m", "elf_i386", "-r", *objects, "-o", obj], check=True)
    undefined = subprocess.run(["nm", "-u", obj], check=True, capture_output=True, text=True)
    assert undefined.stdout.split() == []


@pytest.mark.build
@pytest.mark.parametrize("opt", ["-Os", "-O3"])
def test_i386_kernel_build_needs_no_symbol_from_outside(tmp_path: object, opt: str) -> None:
    """At other optimisation levels too, where gcc may call memcpy or
    memset on its own."""
    if shutil.which("gcc") is None or shutil.which("nm") is None:
        pytest.skip("gcc and nm are needed")
    obj = f"{tmp_path}/heap32.o"
    sources = [*map(str, HEAP_SOURCES), str(KERNEL_STRING_C)]
    flags = [f for f in build.CFLAGS if f not in ("-O2", "-g")]
    subprocess.run(["gcc", *flags, opt, "-r", *sources, "-o", obj], check=True)
    undefined = subprocess.run(["nm", "-u", obj], check=True, capture_output=True, text=True)
    assert undefined.stdout.split() == []


@pytest.mark.build
def test_i386_build_runs_random_operations_soundly(tmp_path: object) -> None:
    """The kernel's i386 build of the heap, linked with a freestanding driver
    (tests/host/heap_i386_smoke.c) into a static Linux program, checks
    contents and heap_check on random operations."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed")
    exe = f"{tmp_path}/smoke32"
    src = REPO / "tests" / "host" / "heap_i386_smoke.c"
    subprocess.run(["gcc", *CFLAGS_32, "-static", "-no-pie", "-o", exe, str(src),
                    *map(str, HEAP_SOURCES), str(KERNEL_STRING_C)], check=True)
    try:
        run = subprocess.run([exe], check=False, capture_output=True, text=True, timeout=60)
    except OSError as e:  # no 32-bit support in this kernel
        pytest.skip(f"cannot run an i386 program here: {e}")
    assert run.returncode == 0, f"failed check {run.returncode}"
    assert run.stdout == "i386 heap smoke: ok\n"


@pytest.mark.build
def test_plain_host_build_is_warning_free(tmp_path: object) -> None:
    obj = f"{tmp_path}/heap.o"
    subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-r", *map(str, HEAP_SOURCES),
                    "-o", obj], check=True)
