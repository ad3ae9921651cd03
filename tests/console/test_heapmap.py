"""`heapmap`: the ASCII map of the heap changes where the heap did."""

from __future__ import annotations

import re


class HeapMap:
    """A parsed `heapmap` screen: the character of the cell holding an address."""

    def __init__(self, out: str) -> None:
        self.cell = int(re.search(r"heapmap: 0x[0-9a-f]+-0x[0-9a-f]+, (\d+) bytes a cell", out).group(1))
        self.rows = {int(a, 16): cells for a, cells in re.findall(r"^(0x[0-9a-f]{8}) (\S+)$", out, re.M)}
        assert self.rows, out

    def at(self, addr: int) -> str | None:
        row = max((a for a in self.rows if a <= addr), default=None)
        if row is None:
            return None
        i = (addr - row) // self.cell
        cells = self.rows[row]
        return cells[i] if i < len(cells) else None

    def span(self, start: int, size: int) -> str:
        """The cells wholly inside [start, start + size)."""
        first = -(-start // self.cell) * self.cell
        return "".join(self.at(a) or "?" for a in range(first, start + size - self.cell + 1, self.cell))


def _addr(out: str, name: str) -> int:
    return int(re.search(rf"{name}: (0x[0-9a-f]+)", out).group(1), 16)


def test_heapmap_marks_blocks_used_then_free(console):
    big = _addr(console.run("kmalloc 20000"), "kmalloc")
    console.run("kmalloc 5000")                  # keeps the first block off the top of the heap
    used = HeapMap(console.run("heapmap 64"))
    assert set(used.span(big, 20000)) == {"#"}
    console.run(f"kfree {big:#x}")
    freed = HeapMap(console.run("heapmap 64"))
    assert set(freed.span(big, 20000)) == {"."}


def test_heapmap_shows_small_objects_where_they_are(console):
    before = HeapMap(console.run("heapmap 64"))
    addrs = [_addr(console.run("kmalloc 48"), "kmalloc") for _ in range(24)]
    after = HeapMap(console.run("heapmap 64"))
    lo, hi = min(addrs), max(addrs) + 48
    assert "o" in after.span(lo, hi - lo)
    assert after.span(lo, hi - lo).count("o") > before.span(lo, hi - lo).count("o")
    for a in addrs:
        console.run(f"kfree {a:#x}")
    emptied = HeapMap(console.run("heapmap 64"))
    assert "o" not in emptied.span(lo, hi - lo)


def test_heapmap_default_scale_fits_the_extent_on_one_screen(console):
    console.run("kmalloc 300000")
    out = console.run("heapmap")
    m = HeapMap(out)
    extent = console.kv("memstats")["heap_extent"]
    assert len(m.rows) <= 16 and all(len(r) <= 64 for r in m.rows.values())
    assert m.cell * 64 * 16 >= extent > m.cell * 64 * 16 // 2      # the smallest power of two that fits
    assert "not shown" not in out


def test_heapmap_refuses_a_bad_cell_size(console):
    out = console.run("heapmap 100")
    assert "heapmap: error EINVAL (-22): CELL must be a power of two" in out
    assert "heapmap: argument 1 (CELL): banana is not a number" in console.run("heapmap banana")
    assert "is out of range" in console.run("heapmap 0x80000000")
    assert "bytes a cell" in console.run("heapmap")
