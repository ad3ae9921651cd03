"""How the heap stays dense on small heaps and cheap on growing buffers: the
size of its control data, when a size class gets its first run, where a
class's slots lie in a run, and the growth reserves of realloc."""

from __future__ import annotations

from heap_lib import HEAP_OK, Heap, pattern

# Bytes of a run, as the heap's documentation (internal.h) draws it: runs sit
# on boundaries of this size, with a 48-byte header before slot 0.
RUN = 2048
RUN_HEADER = 48


def sound(h: Heap) -> None:
    assert h.check() == []


def test_control_data_is_smaller_than_a_run() -> None:
    """A fresh heap's first payload lies within one run of the region's
    start: the bins and class tables no longer fill 3.8 KiB in front of it."""
    h = Heap(64 * 1024)
    p = h.alloc(24)
    assert p is not None
    assert p - h.lo < RUN
    assert h.first < RUN
    sound(h)


def test_control_data_is_smaller_than_a_run_in_a_misaligned_region() -> None:
    """Frees and lookups of blocks whose run boundary falls in the control
    data (below the first payload) are blocks, not runs."""
    h = Heap(64 * 1024, skew=3)
    ptrs = [h.alloc(40) for _ in range(3)]
    assert all(p is not None and p & ~(RUN - 1) < h.lo + h.first for p in ptrs)
    for p in ptrs:
        assert h.owns(p)
        assert h.usable(p) == 40
    for p in ptrs:
        assert h.free(p) == HEAP_OK
    assert h.free(ptrs[0]) != HEAP_OK  # still named as not live
    sound(h)


def first_run_after(size: int) -> int:
    """How many live objects of `size` bytes a small heap holds as blocks
    before the class gets its first run (the allocation that made it)."""
    h = Heap(256 * 1024)
    n = 0
    while h.stats().runs == 0:
        assert h.alloc(size) is not None
        n += 1
        assert n < 400
    sound(h)
    return n


def test_a_class_gets_its_first_run_when_its_blocks_take_a_run() -> None:
    """Until its blocks (payload and 8-byte header, 24 bytes at least) take
    as many bytes as a run, a class costs less as blocks; from then on a run
    costs no more."""
    for size, block in ((8, 24), (64, 72), (184, 192)):
        n = first_run_after(size)
        blocks = n - 1  # the n-th allocation came from the new run
        assert abs(blocks * block - RUN) < block, (size, n)
    # 20 objects of 64 bytes would fill a run to more than half (31 slots),
    # but as blocks they take 1,440 bytes, less than the run's 2 KiB.
    assert first_run_after(64) > 20


def test_slots_of_every_class_follow_their_stride() -> None:
    """Once every class has runs (64 KiB in use), consecutive slots of a
    class lie one slot apart from slot 0 on, which is what the constant
    slot-start table says."""
    h = Heap(1024 * 1024)
    ballast = [h.alloc(1000) for _ in range(70)]
    assert all(p is not None for p in ballast)
    for size in range(8, 193, 8):
        ptrs = [h.alloc(size) for _ in range(3)]
        assert all(p is not None for p in ptrs)
        run = ptrs[0] & ~(RUN - 1)
        offset = ptrs[0] - run - RUN_HEADER
        assert offset >= 0 and offset % size == 0, size
        assert ptrs[1] - ptrs[0] == size and ptrs[2] - ptrs[1] == size, size
        assert h.usable(ptrs[0]) == size
        if size > 8:
            assert h.free(ptrs[0] + 8) != HEAP_OK  # inside a live slot
        assert h.free(ptrs[1]) == HEAP_OK
        assert h.free(ptrs[1]) != HEAP_OK  # a slot start no longer live
    sound(h)


def test_a_reserve_block_growing_into_the_wilderness_takes_room_to_spare() -> None:
    """A buffer that keeps growing and sits at the top of the heap takes half
    more than it asks for when it grows there, so the appends after it
    neither move it nor push the top up."""
    h = Heap(1024 * 1024)
    a = h.alloc(1000)
    wall = h.alloc(16)  # blocks growth in place: the next grow moves a
    assert a is not None and wall is not None
    h.write(a, pattern(1, 1000))
    b, err = h.realloc(a, 1100)  # moves, with a reserve, to the top
    assert err == HEAP_OK and b is not None and b != a
    size = 1100
    moved_top = h.extent()
    while h.extent() == moved_top:  # fill the reserve, then grow past it once
        size += 64
        q, err = h.realloc(b, size)
        assert (q, err) == (b, HEAP_OK)
    top = h.extent()
    assert top - moved_top >= size // 2  # half more than asked for
    for _ in range(size // 2 // 64 - 1):
        size += 64
        q, err = h.realloc(b, size)
        assert (q, err) == (b, HEAP_OK)
    assert h.extent() == top
    assert h.read(b, 1000) == pattern(1, 1000)
    sound(h)


def test_a_buffer_grown_by_appends_copies_about_its_final_size() -> None:
    """Buffers grown in turn block one another, so they move; each move of
    one that keeps growing doubles its room, so all the moves together copy
    about one and a half times the buffers' final sizes (twice, when a move
    gave only half more room)."""
    h = Heap(4 * 1024 * 1024)
    bufs = [[h.alloc(300), 300] for _ in range(8)]
    copied = 0
    for _ in range(300):
        for b in bufs:
            p, size = b
            q, err = h.realloc(p, size + 100)
            assert err == HEAP_OK and q is not None
            if q != p:
                copied += size
            b[0], b[1] = q, size + 100
    final = sum(size for _, size in bufs)
    assert 4 * copied <= 7 * final
    sound(h)


def test_a_remainder_of_one_minimum_free_block_is_split_off_and_reused() -> None:
    """A block carved from a hole that leaves exactly a minimum free block
    (24 bytes: header, two links, footer) splits it off instead of keeping
    it as tail slack, so the next small request fills it."""
    h = Heap(64 * 1024)
    a = h.alloc(104)  # a 112-byte block
    guard = h.alloc(104)
    assert a is not None and guard is not None
    assert h.free(a) == HEAP_OK
    b = h.alloc(80)  # 88 bytes of the 112: 24 left over
    assert b == a
    assert h.usable(b) == 80
    c = h.alloc(16)  # a 24-byte block: the remainder
    assert c == a + 88
    sound(h)
