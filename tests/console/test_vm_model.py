"""A model of the shell's address space: random mmap (fixed; private or
shared; anonymous or of a file, at a page offset that may lie beyond its
end; locked or not), munmap, mprotect, msync, touch and read in a 16-page
window, against a Python model of VMAs, protections and page contents.
After every step `maps` must equal the model's merged VMAs, pages_resident
the pages that hold a frame and pages_locked those of them locked; at the
end everything is unmapped and the free-frame count is back where it
started.

The file is a copy of /bin/hello, three pages long. Its shared mappings
write the file's own pages, which every mapping of the file then reads,
the private ones that have not written theirs too; a private write copies
the page. A shared mapping made without PROT_WRITE comes from a file the
shell opened read-only: mprotect may not make it writable (EACCES, after
changing the pages before it, as Linux does). A page wholly beyond the
file's end faults (SIGBUS) however it is touched. MAP_LOCKED fills the
pages at mmap (a write fill for a writable mapping: a private page of the
file is copied then), up to the end of the file, and a locked private
page gets a frame of its own even when read."""

from __future__ import annotations

import math
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
FILE = "/vmf"
FILE_OBJ = 0                  # the object id of the file's pages (shared anonymous ones count from 1)
PRIVATE_OBJ = -1              # private anonymous pages: no object, so adjacent mappings merge


@dataclass
class Page:
    prot: str
    shared: bool
    obj: int          # which mmap call made it (shared objects are per call); FILE_OBJ: the file;
                      # PRIVATE_OBJ: private anonymous memory, of no object
    index: int        # the page's index in that object (in the file: the page offset)
    byte: int = 0     # the byte at offset 0, once private and written
    resident: bool = False
    may_write: bool = True    # a shared file page whose file was opened for writing
    copied: bool = False      # a private file page written: a copy of its own
    locked: bool = False

    @property
    def file(self) -> bool:
        return self.obj == FILE_OBJ


class Model:
    def __init__(self, file_bytes: list[int], inode: int) -> None:
        self.pages: dict[int, Page] = {}
        self.objects: dict[tuple[int, int], int] = {}   # shared anonymous (obj, index) -> byte
        self.file_bytes = file_bytes                     # the file's pages' first bytes (kept by the test)
        self.inode = inode
        self.ids = count(1)

    def mmap(self, start: int, n: int, prot: str, shared: bool, pgoff: int | None, locked: bool) -> None:
        obj = FILE_OBJ if pgoff is not None else next(self.ids) if shared else PRIVATE_OBJ
        first = 0 if pgoff is None else pgoff
        for i in range(start, start + n):
            self.pages[i] = Page(prot, shared, obj, first + i - start,
                                 may_write=pgoff is None or not shared or "w" in prot, locked=locked)
        for i in range(start, start + n):
            p = self.pages[i]
            if not locked or prot == "none" or self.beyond_end(p):
                break
            p.resident = True
            if p.file and not p.shared and "w" in prot:
                p.byte, p.copied = self.file_bytes[p.index], True

    def munmap(self, start: int, n: int) -> None:
        for i in range(start, start + n):
            self.pages.pop(i, None)

    def mprotect(self, start: int, n: int, prot: str) -> str:
        """Linux: change pages up to the first hole (ENOMEM) or the first
        page that may not become writable (EACCES)."""
        for i in range(start, start + n):
            p = self.pages.get(i)
            if p is None:
                return "ENOMEM"
            if "w" in prot and not p.may_write:
                return "EACCES"
            p.prot = prot
        return "ok"

    def beyond_end(self, p: Page) -> bool:
        return p.file and p.index >= len(self.file_bytes)

    def read(self, p: Page) -> int:
        if p.file and not p.copied:
            return self.file_bytes[p.index]
        return self.objects.get((p.obj, p.index), 0) if p.shared else p.byte

    def write(self, p: Page, value: int) -> None:
        if p.file and p.shared:
            self.file_bytes[p.index] = value
        elif p.shared:
            self.objects[(p.obj, p.index)] = value
        else:
            p.byte, p.copied = value, p.file

    def maps(self) -> list[str]:
        lines: list[str] = []
        run: list[int] = []

        def flush() -> None:
            if run:
                p = self.pages[run[0]]
                off = p.index * PAGE if p.shared or p.file else 0
                kind = "s" if p.shared else "p"
                line = (f"{BASE + run[0] * PAGE:08x}-{BASE + (run[-1] + 1) * PAGE:08x} "
                        f"{PROT_BITS[p.prot]}{kind} {off:08x} 00:00 {self.inode if p.file else 0}")
                lines.append(f"{line:<48} {FILE}" if p.file else line)

        for i in range(PAGES):
            p = self.pages.get(i)
            if p is None:
                flush()
                run = []
                continue
            if run:
                q = self.pages[run[-1]]
                same = ((q.prot, q.shared, q.obj, q.may_write, q.locked) ==
                        (p.prot, p.shared, p.obj, p.may_write, p.locked))
                if same and (p.shared or p.file):
                    same = q.index + 1 == p.index
                if not same:
                    flush()
                    run = []
            run.append(i)
        flush()
        return lines


ops = st.one_of(
    st.tuples(st.just("mmap"), st.integers(0, PAGES - 1), st.integers(1, 4), st.sampled_from(PROTS),
              st.booleans(), st.booleans()),
    st.tuples(st.just("mmap_file"), st.integers(0, PAGES - 1), st.integers(1, 3), st.sampled_from(PROTS),
              st.booleans(), st.booleans(), st.integers(0, 3)),
    st.tuples(st.just("munmap"), st.integers(0, PAGES - 1), st.integers(1, 4)),
    st.tuples(st.just("mprotect"), st.integers(0, PAGES - 1), st.integers(1, 4), st.sampled_from(PROTS)),
    st.tuples(st.just("msync"), st.integers(0, PAGES - 1), st.integers(1, 4)),
    st.tuples(st.just("touch"), st.integers(0, PAGES - 1), st.integers(1, 255)),
    st.tuples(st.just("read"), st.integers(0, PAGES - 1)),
)


def step(console: Console, model: Model, op: tuple) -> None:
    kind = op[0]
    if kind in ("mmap", "mmap_file"):
        start, n, prot, shared, locked = op[1:6]
        n = min(n, PAGES - start)
        addr = BASE + start * PAGE
        flags = ("shared" if shared else "private") + ",fixed" + (",locked" if locked else "")
        if kind == "mmap":
            out = console.run(f"mmap {addr:x} {n * PAGE} {prot} {flags},anonymous")
        else:
            out = console.run(f"mmap {addr:x} {n * PAGE} {prot} {flags} {FILE} {op[6] * PAGE}")
        assert out == f"mmap: {addr:#010x}", out
        model.mmap(start, n, prot, shared, op[6] if kind == "mmap_file" else None, locked)
    elif kind == "munmap":
        _, start, n = op
        n = min(n, PAGES - start)
        assert console.run(f"munmap {BASE + start * PAGE:x} {n * PAGE}") == "munmap: ok"
        model.munmap(start, n)
    elif kind == "mprotect":
        _, start, n, prot = op
        n = min(n, PAGES - start)
        out = console.run(f"mprotect {BASE + start * PAGE:x} {n * PAGE} {prot}")
        verdict = model.mprotect(start, n, prot)
        if verdict == "ok":
            assert out == "mprotect: ok", out
        else:
            code = {"ENOMEM": -12, "EACCES": -13}[verdict]
            assert out.startswith(f"mprotect: error {verdict} ({code})"), out
    elif kind == "msync":
        _, start, n = op
        n = min(n, PAGES - start)
        out = console.run(f"msync {BASE + start * PAGE:x} {n * PAGE}")
        whole = all(i in model.pages for i in range(start, start + n))
        assert out == "msync: ok" if whole else out.startswith("msync: error ENOMEM (-12)"), out
    elif kind == "touch":
        _, i, value = op
        out = console.run(f"poke {BASE + i * PAGE:#x} {value}")
        p = model.pages.get(i)
        if p is not None and "w" in p.prot and not model.beyond_end(p):
            assert out == "", out
            model.write(p, value)
            p.resident = True
        else:
            assert "fault:" in out, out
    else:
        _, i = op
        out = console.run(f"peek {BASE + i * PAGE:#x} 1")
        p = model.pages.get(i)
        if p is not None and p.prot != "none" and not model.beyond_end(p):
            m = re.fullmatch(r"0x[0-9a-f]{8}: ([0-9a-f]{2})", out)
            assert m, out
            assert int(m.group(1), 16) == model.read(p)
            if p.shared or p.file or p.locked:
                p.resident = True           # an object's or a file's frame, or a locked page's own
        else:
            assert "fault:" in out, out
    assert console.run("maps").splitlines() == model.maps()
    stat = console.kv("vmstat")
    assert stat["pages_resident"] == sum(p.resident for p in model.pages.values())
    assert stat["pages_locked"] == sum(p.resident and p.locked for p in model.pages.values())


def make_file(console: Console) -> tuple[list[int], int]:
    """FILE, and the first byte of each of its pages and its inode."""
    assert console.run(f"run /bin/cp /bin/hello {FILE}").startswith("cp: ")
    info = console.kv(f"stat {FILE}")
    pages = math.ceil(int(info["size"]) / PAGE)
    assert console.run(f"mmap {BASE:x} {pages * PAGE} r private {FILE}") == f"mmap: {BASE:#010x}"
    first = []
    for i in range(pages):
        m = re.fullmatch(r"0x[0-9a-f]{8}: ([0-9a-f]{2})", console.run(f"peek {BASE + i * PAGE:#x} 1"))
        assert m
        first.append(int(m.group(1), 16))
    assert console.run(f"munmap {BASE:x} {pages * PAGE}") == "munmap: ok"
    return first, int(info["inode"])


def test_address_space_matches_the_model(console):
    file_bytes, inode = make_file(console)
    assert len(file_bytes) == 3
    base = int(console.kv("meminfo")["free_frames"])

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(ops, min_size=1, max_size=12))
    def run(steps: list[tuple]) -> None:
        model = Model(file_bytes, inode)
        try:
            for op in steps:
                step(console, model, op)
        finally:
            assert console.run(f"munmap {BASE:x} {PAGES * PAGE}") == "munmap: ok"
        assert console.run("maps") == ""
        assert int(console.kv("meminfo")["free_frames"]) == base

    run()
