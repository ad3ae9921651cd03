"""Line coverage of the kernel's C sources from the blocks unicorn ran.

Input: the *.blocks files UnicornKernel writes under KOS_COVERAGE (one
"address size" per executed basic block, see machine/unicorn/coverage.py)
and the kernel's DWARF line tables. A source line is executable when a
line-table row marks a statement of it; it is covered when the code of one
of its rows lies in an executed block. Output: a table (files sorted by
path, then the total) and an HTML report, build/coverage/index.html with
one annotated page per file.
"""

from __future__ import annotations

import bisect
import html
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from elftools.dwarf.lineprogram import LineProgram
from elftools.elf.elffile import ELFFile

from kos import diskcache, paths


@dataclass
class FileCoverage:
    path: Path                                   # relative to the tree
    executable: set[int] = field(default_factory=set)
    covered: set[int] = field(default_factory=set)

    @property
    def percent(self) -> float:
        return 100.0 * len(self.covered) / len(self.executable) if self.executable else 100.0


@dataclass
class Report:
    files: list[FileCoverage]

    @property
    def executable(self) -> int:
        return sum(len(f.executable) for f in self.files)

    @property
    def covered(self) -> int:
        return sum(len(f.covered) for f in self.files)

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.executable if self.executable else 100.0

    def table(self) -> str:
        width = max([len(str(f.path)) for f in self.files] + [5])
        rows = [f"{'file':<{width}}  {'lines':>6}  {'covered':>7}  {'cover':>6}"]
        rows.append("-" * len(rows[0]))
        for f in self.files:
            rows.append(f"{f.path!s:<{width}}  {len(f.executable):>6}  {len(f.covered):>7}  "
                        f"{f.percent:>5.1f}%")
        rows.append("-" * len(rows[0]))
        rows.append(f"{'total':<{width}}  {self.executable:>6}  {self.covered:>7}  {self.percent:>5.1f}%")
        return "\n".join(rows)


def read_blocks(raw_dir: Path) -> list[tuple[int, int]]:
    """Every executed block from every record under raw_dir, merged into
    sorted, disjoint [start, end) intervals."""
    spans: set[tuple[int, int]] = set()
    for f in sorted(Path(raw_dir).glob("*.blocks")):
        for line in f.read_text().splitlines():
            addr, size = line.split()
            a = int(addr, 16)
            spans.add((a, a + int(size, 16)))
    merged: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _executed(intervals: list[tuple[int, int]], starts: list[int], a: int, b: int) -> bool:
    """Does [a, b) intersect an executed interval?"""
    i = bisect.bisect_right(starts, a) - 1
    if i >= 0 and intervals[i][1] > a:
        return True
    return i + 1 < len(intervals) and intervals[i + 1][0] < b


def line_rows(elf_path: Path) -> list[tuple[Path, int, int, int]]:
    """(source file, line, start, end) for every address range of the
    kernel's line tables that is a statement of a line. Decoded once per
    image (seconds of pyelftools) and kept under build/pycache/lines/."""
    key = Path(__file__).read_bytes() + Path(elf_path).read_bytes()
    return diskcache.cached("lines", key, lambda: _decode_line_rows(elf_path))


def _decode_line_rows(elf_path: Path) -> list[tuple[Path, int, int, int]]:
    rows: list[tuple[Path, int, int, int]] = []
    resolved: dict[Path, Path] = {}          # every CU names the same headers
    with Path(elf_path).open("rb") as f:
        elf = ELFFile(f)
        if not elf.has_dwarf_info():
            raise ValueError(f"{elf_path} has no debug information (build with -g)")
        dwarf = elf.get_dwarf_info()
        for cu in dwarf.iter_CUs():
            lp = dwarf.line_program_for_CU(cu)
            if lp is None:
                continue
            top = cu.get_top_DIE()
            comp_dir = Path(_text(top.attributes["DW_AT_comp_dir"].value)) \
                if "DW_AT_comp_dir" in top.attributes else paths.ROOT
            files = _file_table(lp, comp_dir, resolved)
            # Several rows can share an address (inlined calls, views): each
            # is a statement starting at the instruction there.
            prev = None
            for entry in lp.get_entries():
                state = entry.state
                if state is None:
                    continue
                if prev is not None and prev.is_stmt:
                    end = max(state.address, prev.address + 1)
                    rows.append((files[prev.file], prev.line, prev.address, end))
                prev = None if state.end_sequence else state
    return rows


def _file_table(lp: LineProgram, comp_dir: Path, resolved: dict[Path, Path]) -> dict[int, Path]:
    """The line program's file indexes as absolute paths (DWARF 5 numbers
    files and directories from 0, earlier versions from 1); resolved keeps
    the paths resolved so far."""
    v5 = lp.header["version"] >= 5
    dirs = [Path(_text(d)) for d in lp.header["include_directory"]]
    table = {}
    for i, entry in enumerate(lp.header["file_entry"]):
        d = entry.dir_index
        if v5:
            base = dirs[d] if d < len(dirs) else comp_dir
        else:
            base = dirs[d - 1] if d > 0 else comp_dir
        path = comp_dir / base / _text(entry.name)
        if path not in resolved:
            resolved[path] = path.resolve()
        table[i if v5 else i + 1] = resolved[path]
    return table


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def build_report(elf_path: Path, raw_dir: Path, root: Path = paths.ROOT,
                 sources: tuple[str, ...] = ("kernel",)) -> Report:
    """Coverage of the C files (.c and the inline code of .h) under the
    given directories of the tree."""
    intervals = read_blocks(raw_dir)
    starts = [a for a, _ in intervals]
    by_file: dict[Path, FileCoverage] = {}
    dirs = [(root / d).resolve() for d in sources]
    tree = root.resolve()
    wanted: dict[Path, Path | None] = {}     # source file -> its path in the tree, if reported

    def reported(src: Path) -> Path | None:
        if src not in wanted:
            inside = src.suffix in (".c", ".h") and any(d in src.parents for d in dirs)
            wanted[src] = src.relative_to(tree) if inside else None
        return wanted[src]

    for src, line, a, b in line_rows(elf_path):
        rel = reported(src)
        if rel is None:
            continue
        fc = by_file.setdefault(rel, FileCoverage(rel))
        fc.executable.add(line)
        if _executed(intervals, starts, a, b):
            fc.covered.add(line)
    return Report(sorted(by_file.values(), key=lambda f: str(f.path)))


_CSS = """body{font-family:sans-serif}table{border-collapse:collapse}td,th{padding:2px 8px}
pre{margin:0}.hit{background:#d7f5d7}.miss{background:#f8d0d0}.n{color:#888;text-align:right}
td.pct{text-align:right}"""


def write_html(report: Report, out_dir: Path, root: Path = paths.ROOT) -> Path:
    """index.html with the table, and one annotated page per source file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for f in report.files:
        page = str(f.path).replace("/", "_") + ".html"
        rows.append(f"<tr><td><a href='{page}'>{html.escape(str(f.path))}</a></td>"
                    f"<td class=pct>{len(f.executable)}</td><td class=pct>{len(f.covered)}</td>"
                    f"<td class=pct>{f.percent:.1f}%</td></tr>")
        lines = (root / f.path).read_text(errors="replace").splitlines()
        body = []
        for n, text in enumerate(lines, 1):
            cls = "hit" if n in f.covered else "miss" if n in f.executable else ""
            body.append(f"<tr class='{cls}'><td class=n>{n}</td><td><pre>{html.escape(text)}</pre></td></tr>")
        (out_dir / page).write_text(
            f"<!doctype html><meta charset=utf-8><title>{html.escape(str(f.path))}</title>"
            f"<style>{_CSS}</style><h1>{html.escape(str(f.path))}: {f.percent:.1f}%</h1>"
            f"<p><a href='index.html'>all files</a></p><table>{''.join(body)}</table>")
    index = out_dir / "index.html"
    index.write_text(
        f"<!doctype html><meta charset=utf-8><title>KOS kernel coverage</title><style>{_CSS}</style>"
        f"<h1>KOS kernel line coverage: {report.percent:.1f}%</h1>"
        f"<table><tr><th>file</th><th>lines</th><th>covered</th><th>cover</th></tr>{''.join(rows)}"
        f"<tr><th>total</th><th>{report.executable}</th><th>{report.covered}</th>"
        f"<th>{report.percent:.1f}%</th></tr></table>")
    return index


def functions_never_run(report_elf: Path, raw_dir: Path) -> list[str]:
    """Kernel functions none of whose code ran (a quick list of what no test reaches)."""
    intervals = read_blocks(raw_dir)
    starts = [a for a, _ in intervals]
    names = []
    with Path(report_elf).open("rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        for sym in symtab.iter_symbols() if symtab is not None else []:
            if sym["st_info"]["type"] == "STT_FUNC" and sym["st_size"]:
                a = sym["st_value"]
                if not _executed(intervals, starts, a, a + sym["st_size"]):
                    names.append(sym.name)
    return sorted(set(names))


def summarize(elf_path: Path, raw_dir: Path, out_dir: Path) -> Report:
    """Build the report, write the HTML and summary.txt; return the report."""
    report = build_report(elf_path, raw_dir)
    write_html(report, out_dir)
    lines = [report.table(), "", "functions never run: " + ", ".join(functions_never_run(elf_path, raw_dir))]
    (out_dir / "summary.txt").write_text("\n".join(lines) + "\n")
    return report


def by_line_counts(report: Report) -> dict[str, tuple[int, int]]:
    """{file: (covered, executable)}, for tests and tools."""
    out: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for f in report.files:
        out[str(f.path)] = (len(f.covered), len(f.executable))
    return dict(out)
