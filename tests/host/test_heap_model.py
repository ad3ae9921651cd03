"""Model-based tests: random operation sequences against a Python model.

After every step the heap must pass heap_check, its statistics must equal the
model's, and every live block must still hold what was written into it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from heap_lib import (
    DEBUG_POISON,
    DEBUG_REDZONE,
    DEBUG_TRACK,
    HEAP_E_DOUBLE,
    HEAP_E_INVALID,
    HEAP_OK,
    Heap,
    pattern,
    round8,
)
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

REGION = 96 * 1024
ALL_DEBUG = DEBUG_POISON | DEBUG_REDZONE | DEBUG_TRACK
EXAMPLES = int(os.environ.get("KOS_HEAP_EXAMPLES", "150"))

sizes = st.one_of(
    st.integers(1, 128),
    st.integers(1, 128),
    st.integers(129, 2048),
    st.integers(2049, 24000),
)
aligns = st.sampled_from([0, 0, 0, 0, 8, 16, 32, 64, 256, 4096])


@dataclass
class Live:
    size: int
    tag: int
    site: int


class HeapMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.heap = Heap(REGION)
        self.live: dict[int, Live] = {}
        self.freed: list[int] = []
        self.tag = 0
        self.debug = 0
        self.expect = {"allocs": 0, "frees": 0, "failed_allocs": 0, "bad_frees": 0}

    @initialize(debug=st.sampled_from([0, 0, ALL_DEBUG, DEBUG_TRACK]))
    def set_debug(self, debug: int) -> None:
        self.debug = debug
        self.heap.set_debug(debug)

    def _need(self, size: int, align: int) -> int:
        need = max(round8(size) + 8 + (24 if self.debug else 0), 24)
        return need + (align + 24 if align > 8 else 0)

    def _record(self, p: int, size: int, align: int) -> None:
        h = self.heap
        assert p % max(align, 8) == 0
        assert h.lo <= p and p + size <= h.hi
        for q, b in self.live.items():
            assert p + size <= q or q + b.size <= p, "blocks overlap"
        assert h.usable(p) >= size
        self.tag += 1
        h.write(p, pattern(self.tag, size))
        self.live[p] = Live(size, self.tag, self.tag)
        if p in self.freed:
            self.freed.remove(p)

    def _refused(self, p: int, codes: tuple[int, ...]) -> None:
        before = self.heap.snapshot()[self.heap.first:]
        assert self.heap.free(p) in codes
        assert self.heap.snapshot()[self.heap.first:] == before
        self.expect["bad_frees"] += 1

    @rule(size=sizes, align=aligns)
    def alloc(self, size: int, align: int) -> None:
        p = self.heap.alloc(size, align, site=self.tag + 1)
        if p is None:
            self.expect["failed_allocs"] += 1
            want = self._need(size, align)
            assert self.heap.stats().largest_free + 8 < want + want // 32 + 8, "failed with room"
            return
        self.expect["allocs"] += 1
        self._record(p, size, align)

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def free(self, data: st.DataObject) -> None:
        p = data.draw(st.sampled_from(sorted(self.live)))
        assert self.heap.free(p) == HEAP_OK
        del self.live[p]
        self.freed.append(p)
        self.expect["frees"] += 1

    @precondition(lambda self: self.live)
    @rule(data=st.data(), size=sizes)
    def realloc(self, data: st.DataObject, size: int) -> None:
        p = data.draw(st.sampled_from(sorted(self.live)))
        old = self.live[p]
        q, err = self.heap.realloc(p, size, site=self.tag + 1)
        assert err == HEAP_OK
        if q is None:
            self.expect["failed_allocs"] += 1
            assert self.heap.owns(p)
            return
        keep = min(old.size, size)
        assert self.heap.read(q, keep) == pattern(old.tag, old.size)[:keep]
        del self.live[p]
        if q != p:
            self.expect["allocs"] += 1
            self.expect["frees"] += 1
            self.freed.append(p)
        self._record(q, size, 0)

    @precondition(lambda self: self.freed)
    @rule(data=st.data())
    def double_free(self, data: st.DataObject) -> None:
        p = data.draw(st.sampled_from(self.freed))
        if p not in self.live:
            self._refused(p, (HEAP_E_DOUBLE, HEAP_E_INVALID))

    @precondition(lambda self: self.live)
    @rule(data=st.data(), delta=st.integers(1, 24000))
    def interior_free(self, data: st.DataObject, delta: int) -> None:
        p = data.draw(st.sampled_from(sorted(self.live)))
        q = p + delta % self.live[p].size
        if q != p:
            self._refused(q, (HEAP_E_INVALID, HEAP_E_DOUBLE))

    @rule(delta=st.integers(-64, 64))
    def foreign_free(self, delta: int) -> None:
        for q in (self.heap.lo + 64 + delta, self.heap.hi + delta):
            if q not in self.live:
                self._refused(q, (HEAP_E_INVALID, HEAP_E_DOUBLE))

    @rule()
    def defragment(self) -> None:
        before = self.heap.stats()
        made = self.heap.defragment()
        assert self.heap.stats().free_bytes == before.free_bytes + made
        assert self.heap.defragment() == 0

    @invariant()
    def heap_is_sound(self) -> None:
        assert self.heap.check() == []

    @invariant()
    def stats_match_the_model(self) -> None:
        st_ = self.heap.stats()
        got = {k: getattr(st_, k) for k in self.expect}
        assert got == self.expect
        assert st_.live_blocks == len(self.live)
        assert st_.payload_bytes == sum(round8(b.size) for b in self.live.values())
        assert st_.used_bytes >= st_.payload_bytes
        assert st_.used_bytes <= st_.peak_used_bytes
        assert st_.extent_bytes <= REGION

    @invariant()
    def contents_are_preserved(self) -> None:
        for p, b in self.live.items():
            assert self.heap.read(p, b.size) == pattern(b.tag, b.size), hex(p)

    @invariant()
    def walker_sees_the_live_blocks(self) -> None:
        blocks = [b for b in self.heap.walk() if b.used]
        assert {b.payload for b in blocks} == set(self.live)
        if self.debug & DEBUG_TRACK:
            for b in blocks:
                assert b.site == self.live[b.payload].site


HeapMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_heap_model = HeapMachine.TestCase
