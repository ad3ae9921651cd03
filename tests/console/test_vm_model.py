"""A model of the shell's address space: random mmap (fixed, private or
shared), munmap, mprotect, touch and read in a 16-page window, against a
Python model of VMAs, protections and page contents. After every step
`maps` must equal the model's merged VMAs and pages_resident the pages
that hold a frame; at the end everything is unmapped and the free-frame
count is back where it started."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kos.console import Console

BASE = 0x40000000
PAGES = 16
PAGE = 4096
PROTS = ["none", "r", "rw", "rx", "rwx"]
PROT_BITS = {"none": "---", "r": "r--", "rw": "rw-", "rx": "r-x", "rwx": "rwx"}


@dataclass
class Page:
    prot: str
    shared: bool
    obj: int          # which mmap call made it (shared objects are per call)
    index: int        # the page's index in that object
    byte: int = 0     # the byte at offset 0
    resident: bool = False


class Model:
    def __init__(self) -> None:
        self.pages: dict[int, Page] = {}
        self.objects: dict[tuple[int, int], int] = {}   # shared (obj, index) -> byte
        self.ids = count(1)

    def mmap(self, start: int, n: int, prot: str, shared: bool) -> None:
        obj = next(self.ids)
        for i in range(start, start + n):
            self.pages[i] = Page(prot, shared, obj, i - start)

    def munmap(self, start: int, n: int) -> None:
        for i in range(start, start + n):
            self.pages.pop(i, None)

    def mprotect(self, start: int, n: int, prot: str) -> bool:
        """Linux: change pages up to the first hole; False if there is one."""
        for i in range(start, start + n):
            if i not in self.pages:
                return False
            self.pages[i].prot = prot
        return True

    def maps(self) -> list[str]:
        lines: list[str] = []
        run: list[int] = []

        def flush() -> None:
            if run:
                p = self.pages[run[0]]
                off = p.index * PAGE if p.shared else 0
                kind = "s" if p.shared else "p"
                lines.append(f"{BASE + run[0] * PAGE:08x}-{BASE + (run[-1] + 1) * PAGE:08x} "
                             f"{PROT_BITS[p.prot]}{kind} {off:08x} 00:00 0")

        for i in range(PAGES):
            p = self.pages.get(i)
            if p is None:
                flush()
                run = []
                continue
            if run:
                q = self.pages[run[-1]]
                same = q.prot == p.prot and q.shared == p.shared
                if same and p.shared:
                    same = q.obj == p.obj and q.index + 1 == p.index
                if not same:
                    flush()
                    run = []
            run.append(i)
        flush()
        return lines


ops = st.one_of(
    st.tuples(st.just("mmap"), st.integers(0, PAGES - 1), st.integers(1, 4), st.sampled_from(PROTS),
              st.booleans()),
    st.tuples(st.just("munmap"), st.integers(0, PAGES - 1), st.integers(1, 4)),
    st.tuples(st.just("mprotect"), st.integers(0, PAGES - 1), st.integers(1, 4), st.sampled_from(PROTS)),
    st.tuples(st.just("touch"), st.integers(0, PAGES - 1), st.integers(1, 255)),
    st.tuples(st.just("read"), st.integers(0, PAGES - 1)),
)


def step(console: Console, model: Model, op: tuple) -> None:
    kind = op[0]
    if kind == "mmap":
        _, start, n, prot, shared = op
        n = min(n, PAGES - start)
        flags = "shared" if shared else "private"
        out = console.run(f"mmap {BASE + start * PAGE:x} {n * PAGE} {prot} {flags},anonymous,fixed")
        assert out == f"mmap: {BASE + start * PAGE:#010x}", out
        model.mmap(start, n, prot, shared)
    elif kind == "munmap":
        _, start, n = op
        n = min(n, PAGES - start)
        assert console.run(f"munmap {BASE + start * PAGE:x} {n * PAGE}") == "munmap: ok"
        model.munmap(start, n)
    elif kind == "mprotect":
        _, start, n, prot = op
        n = min(n, PAGES - start)
        out = console.run(f"mprotect {BASE + start * PAGE:x} {n * PAGE} {prot}")
        if model.mprotect(start, n, prot):
            assert out == "mprotect: ok", out
        else:
            assert out.startswith("mprotect: error ENOMEM (-12)"), out
    elif kind == "touch":
        _, i, value = op
        out = console.run(f"poke {BASE + i * PAGE:#x} {value}")
        p = model.pages.get(i)
        if p is not None and "w" in p.prot:
            assert out == "", out
            p.byte, p.resident = value, True
            if p.shared:
                model.objects[(p.obj, p.index)] = value
        else:
            assert "fault:" in out, out
    else:
        _, i = op
        out = console.run(f"peek {BASE + i * PAGE:#x} 1")
        p = model.pages.get(i)
        if p is not None and p.prot != "none":
            m = re.fullmatch(r"0x[0-9a-f]{8}: ([0-9a-f]{2})", out)
            assert m, out
            expect = model.objects.get((p.obj, p.index), 0) if p.shared else p.byte
            assert int(m.group(1), 16) == expect
            if p.shared:
                p.resident = True           # a shared object gets its frame on any touch
        else:
            assert "fault:" in out, out
    assert console.run("maps").splitlines() == model.maps()
    resident = sum(p.resident for p in model.pages.values())
    assert console.kv("vmstat")["pages_resident"] == resident


def test_address_space_matches_the_model(console):
    base = int(console.kv("meminfo")["free_frames"])

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(ops, min_size=1, max_size=12))
    def run(steps: list[tuple]) -> None:
        model = Model()
        try:
            for op in steps:
                step(console, model, op)
        finally:
            assert console.run(f"munmap {BASE:x} {PAGES * PAGE}") == "munmap: ok"
        assert console.run("maps") == ""
        assert int(console.kv("meminfo")["free_frames"]) == base

    run()
