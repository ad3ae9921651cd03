"""The kernel's kmalloc family against a Python model, on the real i386
image through direct calls: random sequences of kmalloc, kcalloc, krealloc
and kfree (sizes from 0 to several MiB), double and invalid frees.

After every step: each live block keeps its content, no two live blocks
overlap, payloads are 8-byte aligned and inside [HEAP_START, HEAP_END),
memory_get_stats counts the live blocks, and memory_check() finds nothing.
Refused frees are reported on serial and counted, and damage nothing.
"""

from __future__ import annotations

import bisect
import itertools
import struct

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from kos.machine.unicorn.kernel import Snapshot, UnicornKernel
from kos.memory import kacchi
from kos.memory.constants import HEAP_ALIGN, HEAP_END, HEAP_START

KIB = 1024
MIB = 1024 * KIB
SAMPLE = 64            # bytes checked at each end of a big block after every step
FULL_CHECK = 4 * KIB   # blocks up to this size are compared whole after every step

sizes = st.one_of(
    st.integers(0, 64),
    st.integers(65, 4 * KIB),
    st.integers(4 * KIB + 1, 256 * KIB),
    st.integers(256 * KIB + 1, 6 * MIB),
)


def pattern(tag: int, size: int, start: int = 0) -> bytes:
    """Content unique to one block: its tag repeated, then the length cut
    (bytes start..size of it, without making the rest: blocks go up to 6 MiB)."""
    unit = struct.pack("<II", 0xB10C0000 | (tag & 0xFFFF), tag)
    skip = start % len(unit)
    return (unit * ((size - start + skip) // len(unit) + 1))[skip:skip + size - start]


class HeapModel(RuleBasedStateMachine):
    """Live blocks: address -> (size, tag); the content is pattern(tag, size)."""

    blocks = Bundle("blocks")

    def __init__(self, k: UnicornKernel, snap: Snapshot) -> None:
        super().__init__()
        k.restore(snap)
        self.k = k
        self.live: dict[int, tuple[int, int]] = {}
        self.starts: list[int] = []          # sorted addresses of live blocks
        self.freed: list[int] = []
        self.tags = itertools.count(1)
        self.base_allocations = kacchi.memory_stats(kernel=self.k)["num_allocations"]
        self.base_counters = kacchi.memory_counters(kernel=self.k)

    # Model bookkeeping.
    def _add(self, p: int, size: int, zeroed: bool = False) -> None:
        assert p % HEAP_ALIGN == 0, f"{p:#x} is not {HEAP_ALIGN}-byte aligned"
        assert HEAP_START <= p and p + size <= HEAP_END, f"block {p:#x}+{size} is outside the heap"
        assert p not in self.live, f"{p:#x} handed out twice"
        i = bisect.bisect(self.starts, p)
        if i > 0:
            prev = self.starts[i - 1]
            assert prev + self.live[prev][0] <= p, f"{p:#x} overlaps the block at {prev:#x}"
        if i < len(self.starts):
            nxt = self.starts[i]
            assert p + size <= nxt, f"{p:#x}+{size} overlaps the block at {nxt:#x}"
        if zeroed:
            assert self.k.read(p, size) == bytes(size), f"kcalloc block {p:#x} is not zeroed"
        tag = next(self.tags)
        self.k.write(p, pattern(tag, size))
        self.live[p] = (size, tag)
        self.starts.insert(i, p)
        if p in self.freed:
            self.freed.remove(p)

    def _remove(self, p: int) -> None:
        del self.live[p]
        self.starts.remove(p)
        self.freed.append(p)

    def _verify(self, p: int, whole: bool) -> None:
        size, tag = self.live[p]
        if whole or size <= FULL_CHECK:
            assert self.k.read(p, size) == pattern(tag, size), f"block {p:#x} ({size} bytes) lost its content"
        else:
            assert self.k.read(p, SAMPLE) == pattern(tag, SAMPLE), f"block {p:#x} lost its head"
            assert self.k.read(p + size - SAMPLE, SAMPLE) == pattern(tag, size, size - SAMPLE), \
                f"block {p:#x} lost its tail"

    def _refused_alloc_was_impossible(self, size: int) -> None:
        largest = kacchi.memory_counters(kernel=self.k)["largest_free"]
        assert size > largest, f"a {size}-byte request failed with a {largest}-byte free block"
        self.k.drain_serial()

    def _delta(self, name: str) -> int:
        return kacchi.memory_counters(kernel=self.k)[name] - self.base_counters[name]

    # Operations.
    @rule(target=blocks, size=sizes)
    def kmalloc(self, size: int) -> int:
        p = kacchi.kmalloc(size, kernel=self.k)
        if size == 0:
            assert p == 0, "kmalloc(0) must return NULL"
        elif p == 0:
            self._refused_alloc_was_impossible(size)
        else:
            self._add(p, size)
        return p

    # The kernel zeroes with rep stosb, which unicorn runs a byte per iteration:
    # kcalloc sizes stay below 256 KiB so the suite stays fast.
    @rule(target=blocks, num=st.integers(0, 64), size=st.integers(0, 4 * KIB))
    def kcalloc(self, num: int, size: int) -> int:
        p = kacchi.kcalloc(num, size, kernel=self.k)
        total = num * size
        if total == 0:
            assert p == 0
        elif p == 0:
            self._refused_alloc_was_impossible(total)
        else:
            self._add(p, total, zeroed=True)
        return p

    @rule(num=st.integers(2, 0xFFFFFFFF), size=st.integers(2, 0xFFFFFFFF))
    def kcalloc_overflow(self, num: int, size: int) -> None:
        if num * size <= 0xFFFFFFFF:
            return
        before = self._delta("bad_sizes")
        assert kacchi.kcalloc(num, size, kernel=self.k) == 0
        assert self._delta("bad_sizes") == before + 1
        assert f"kcalloc: {num} * {size} bytes: size overflows" in self.k.drain_serial()

    @rule(target=blocks, p=consumes(blocks), size=sizes)
    def krealloc(self, p: int, size: int) -> int:
        if p != 0 and p not in self.live:
            return p if size else 0          # freed since; the bundle keeps stale names
        if p:
            self._verify(p, whole=True)
        q = kacchi.krealloc(p, size, kernel=self.k)
        if size == 0:
            assert q == 0, "krealloc(p, 0) must return NULL"
            if p:
                self._remove(p)
            return 0
        if q == 0:
            self._refused_alloc_was_impossible(size)
            return p                         # p stays valid
        if p:
            old_size, tag = self.live[p]
            keep = min(old_size, size)
            assert self.k.read(q, keep) == pattern(tag, keep), \
                f"krealloc({p:#x}, {size}) -> {q:#x} lost the first {keep} bytes"
            del self.live[p]
            self.starts.remove(p)
            if q != p:
                self.freed.append(p)
        self._add(q, size)
        return q

    @rule(p=consumes(blocks))
    def kfree(self, p: int) -> None:
        if p != 0 and p not in self.live:
            return
        if p:
            self._verify(p, whole=True)
        kacchi.kfree(p, kernel=self.k)
        if p:
            self._remove(p)

    @precondition(lambda self: self.freed)
    @rule(data=st.data())
    def double_free(self, data: st.DataObject) -> None:
        p = data.draw(st.sampled_from(self.freed))
        if self._owner(p) is not None:
            return                           # the address is in use again
        self._refused_free(p, ("double free", "invalid pointer"))

    @precondition(lambda self: self.live)
    @rule(data=st.data(), kind=st.sampled_from(["interior", "unaligned", "below", "above"]))
    def invalid_free(self, data: st.DataObject, kind: str) -> None:
        p = data.draw(st.sampled_from(self.starts))
        size = self.live[p][0]
        if kind == "interior":
            if size <= HEAP_ALIGN:
                return
            bad = p + HEAP_ALIGN * data.draw(st.integers(1, (size - 1) // HEAP_ALIGN))
        elif kind == "unaligned":
            bad = p + data.draw(st.integers(1, HEAP_ALIGN - 1))
        elif kind == "below":
            bad = data.draw(st.integers(0x1000, HEAP_START - 1))
        else:
            bad = data.draw(st.integers(HEAP_END, 0xFFFFFFFF))
        self._refused_free(bad, ("invalid pointer",))

    def _owner(self, addr: int) -> int | None:
        i = bisect.bisect(self.starts, addr)
        if i and addr < self.starts[i - 1] + self.live[self.starts[i - 1]][0]:
            return self.starts[i - 1]
        return None

    def _refused_free(self, p: int, reasons: tuple[str, ...]) -> None:
        before = self._delta("double_frees") + self._delta("invalid_frees")
        kacchi.kfree(p, kernel=self.k)
        out = self.k.drain_serial()
        assert any(f"kfree: {p:#010x}: {r}" in out for r in reasons), \
            f"kfree({p:#x}) was not reported as {' or '.join(reasons)}: {out!r}"
        assert self._delta("double_frees") + self._delta("invalid_frees") == before + 1

    # Invariants.
    @invariant()
    def heap_is_sound(self) -> None:
        violations = kacchi.memory_check(kernel=self.k)
        assert violations == 0, f"memory_check: {violations} violations\n{self.k.drain_serial()}"

    @invariant()
    def stats_count_the_live_blocks(self) -> None:
        got = kacchi.memory_stats(kernel=self.k)["num_allocations"]
        assert got == self.base_allocations + len(self.live)

    @invariant()
    def live_blocks_keep_their_content(self) -> None:
        for p in self.starts:
            self._verify(p, whole=False)

    @invariant()
    def nothing_unexpected_was_printed(self) -> None:
        out = self.k.drain_serial()
        assert "out of memory" in out or not out.strip(), f"unexpected serial output: {out!r}"


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_heap_against_model(live: UnicornKernel, first_prompt: Snapshot) -> None:
    run_state_machine_as_test(
        lambda: HeapModel(live, first_prompt),
        settings=settings(max_examples=60, stateful_step_count=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]),
    )
