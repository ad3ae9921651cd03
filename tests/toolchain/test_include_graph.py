"""Dependencies run one way: kernel/'s #include graph (and boot/'s, should
it include C headers) has no cycle, between modules (a .c and its .h are
one module: kprintf.c -> serial.h -> serial.c -> idt.h ... counts) nor
between the folders of kernel/ (arch, dev, lib, trap, mm, shell, ...).

The checker is tested on small trees first, so a pass on the real tree
means something."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("kernel", "boot")
SUFFIXES = (".c", ".h", ".S")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

Graph = dict[str, set[str]]


def include_edges(root: Path, dirs: Iterable[str] = SCANNED) -> list[tuple[Path, Path]]:
    """(includer, included) for every quoted #include under dirs, resolved
    against the includer's folder. An include that names no file fails."""
    edges = []
    for d in dirs:
        for src in sorted((root / d).rglob("*")):
            if src.suffix not in SUFFIXES:
                continue
            for name in INCLUDE.findall(src.read_text(errors="replace")):
                target = (src.parent / name).resolve()
                assert target.is_file(), f"{src.relative_to(root)}: #include \"{name}\" names no file"
                edges.append((src.resolve(), target))
    return edges


def module_graph(root: Path, edges: list[tuple[Path, Path]]) -> Graph:
    """Modules (path without suffix: foo.c and foo.h are one) and what each includes."""
    graph: Graph = {}
    for a, b in edges:
        ma, mb = (str(p.relative_to(root).with_suffix("")) for p in (a, b))
        graph.setdefault(ma, set())
        graph.setdefault(mb, set())
        if ma != mb:
            graph[ma].add(mb)
    return graph


def folder_graph(root: Path, edges: list[tuple[Path, Path]]) -> Graph:
    """The first folder under kernel/ (or boot/) of each file: mm/heap/x.c is mm.
    Files directly in kernel/ (kernel.c) are the folder "kernel"."""
    def folder(p: Path) -> str:
        parts = p.relative_to(root).parts
        return parts[1] if len(parts) > 2 else parts[0]

    graph: Graph = {}
    for a, b in edges:
        fa, fb = folder(a), folder(b)
        graph.setdefault(fa, set())
        graph.setdefault(fb, set())
        if fa != fb:
            graph[fa].add(fb)
    return graph


def find_cycle(graph: Graph) -> list[str] | None:
    """One cycle as a path [a, b, ..., a], or None (depth-first search)."""
    state: dict[str, int] = {}          # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return [*stack[stack.index(m):], m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def write_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_the_checker_finds_a_cycle_through_a_c_file_and_its_header(tmp_path: Path):
    # The shape of the cycle this test was written against: printing needs
    # the UART, the UART the IDT, the IDT's report printing.
    write_tree(tmp_path, {
        "kernel/lib/kprintf.c": '#include "kprintf.h"\n#include "../dev/serial.h"\n',
        "kernel/lib/kprintf.h": "",
        "kernel/dev/serial.c": '#include "serial.h"\n#include "../arch/idt.h"\n',
        "kernel/dev/serial.h": "",
        "kernel/arch/idt.c": '#include "idt.h"\n#include "../lib/kprintf.h"\n',
        "kernel/arch/idt.h": "",
    })
    edges = include_edges(tmp_path)
    cycle = find_cycle(module_graph(tmp_path, edges))
    assert cycle is not None and cycle[0] == cycle[-1]
    assert set(cycle) == {"kernel/lib/kprintf", "kernel/dev/serial", "kernel/arch/idt"}
    assert find_cycle(folder_graph(tmp_path, edges)) is not None


def test_the_checker_finds_a_cycle_between_folders_alone(tmp_path: Path):
    write_tree(tmp_path, {
        "kernel/lib/a.c": '#include "../mm/b.h"\n',
        "kernel/mm/b.h": "",
        "kernel/mm/c.c": '#include "../lib/d.h"\n',
        "kernel/lib/d.h": "",
    })
    edges = include_edges(tmp_path)
    assert find_cycle(module_graph(tmp_path, edges)) is None
    assert find_cycle(folder_graph(tmp_path, edges)) == ["lib", "mm", "lib"]


def test_the_checker_passes_a_layered_tree_and_refuses_a_dangling_include(tmp_path: Path):
    write_tree(tmp_path, {
        "kernel/kernel.c": '#include "mm/page.h"\n#include "lib/list.h"\n',
        "kernel/mm/page.c": '#include "page.h"\n#include "../lib/list.h"\n',
        "kernel/mm/page.h": '#include "../lib/list.h"\n',
        "kernel/lib/list.h": "",
    })
    edges = include_edges(tmp_path)
    assert find_cycle(module_graph(tmp_path, edges)) is None
    assert find_cycle(folder_graph(tmp_path, edges)) is None
    (tmp_path / "kernel/lib/list.h").write_text('#include "gone.h"\n')
    with pytest.raises(AssertionError, match="names no file"):
        include_edges(tmp_path)


def test_kernel_modules_include_each_other_one_way():
    edges = include_edges(ROOT)
    assert len(edges) > 50                      # the scan found the kernel
    cycle = find_cycle(module_graph(ROOT, edges))
    assert cycle is None, "include cycle between modules: " + " -> ".join(cycle or [])


def test_kernel_folders_depend_on_each_other_one_way():
    cycle = find_cycle(folder_graph(ROOT, include_edges(ROOT)))
    assert cycle is None, "include cycle between folders of kernel/: " + " -> ".join(cycle or [])
