"""The README's benchmark sections are rendered from bench.json
(kos.bench.readme): rows come out of the numbers, re-rendering changes
nothing, and text outside the markers is never touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kos import paths
from kos.bench import readme

SAMPLE = json.loads((Path(__file__).parent / "data" / "bench_sample.json").read_text())

DOC = """# KOS

Prose above.

<!-- bench:heap -->
| stale | table |
<!-- /bench:heap -->

Between the tables.

<!-- bench:kernel_mm -->
<!-- /bench:kernel_mm -->

<!-- bench:machines -->
kept: no boot or calls part was run
<!-- /bench:machines -->
"""


def test_heap_table_rows_come_from_the_json():
    table = readme.render("heap", SAMPLE)
    assert table.splitlines()[0].startswith("| trace | kind | ops | KOS util |")
    assert "| shell | realistic | 204,964 | 82.3% | 58 | 82.1% | 89 | 70,820 |" in table
    assert "| scale1k | adversarial | 42,000 | 66.9% | 67 | 66.0% | 80 | 5,558 |" in table


def test_kernel_mm_table_spans_the_orders():
    table = readme.render("kernel_mm", SAMPLE)
    row = "| `buddy_alloc`, orders 0{0}1 (up to 32 blocks each) | 38{0}40 | 38.8{0}48.0 | 85 |"
    assert row.format(readme.RANGE) in table
    assert "| `buddy_free` merging one frame up to 4 MiB | 216 |  |  |" in table
    assert "| `slab_alloc`, 64 B objects (256 calls) | 35 | 46.9 | 657 |" in table


def test_summary_and_machines_sections():
    summary = readme.render("heap-summary", SAMPLE)
    assert "utilization 82.3% mean over the realistic traces, 66.9% at the lowest" in summary
    assert "KOS 62.4 (67.9 with the driver's call wrappers), glibc malloc 84.6 (90.4)" in summary
    assert "76,378 failed requests on 2 of 2 traces" in summary
    assert "| unicorn | 0.41 s | 0.50 s | 1.2% |" in readme.render("machines", SAMPLE)


def test_update_rewrites_only_marked_sections_and_is_idempotent():
    once, done = readme.update(DOC, SAMPLE)
    assert done == ["heap", "kernel_mm", "machines"]
    assert "stale" not in once and "| shell | realistic |" in once
    assert "kept: no boot or calls part was run" in readme.update(DOC, {"host": SAMPLE["host"]})[0]
    for text in ("# KOS\n\nProse above.\n\n", "\n\nBetween the tables.\n\n"):
        assert text in once
    twice, _ = readme.update(once, SAMPLE)
    assert twice == once


def test_a_part_that_was_not_run_leaves_its_section(tmp_path):
    doc = tmp_path / "README.md"
    doc.write_text(DOC)
    data = tmp_path / "bench.json"
    data.write_text(json.dumps({"kernel_mm": SAMPLE["kernel_mm"]}))
    assert readme.rewrite(doc, data) == ["kernel_mm"]
    text = doc.read_text()
    assert "| stale | table |" in text and "| `slab_free`, 64 B objects" in text


def test_unknown_section_is_an_error():
    with pytest.raises(ValueError, match="unknown benchmark section 'heapz'"):
        readme.update("<!-- bench:heapz -->\n<!-- /bench:heapz -->\n", SAMPLE)


def test_the_readme_marks_every_section():
    text = (paths.ROOT / "README.md").read_text()
    for name in readme.SECTIONS:
        assert f"<!-- bench:{name} -->" in text and f"<!-- /bench:{name} -->" in text, name


def test_an_interrupted_rewrite_leaves_the_readme_as_it_was(tmp_path, monkeypatch):
    from kos import atomic

    doc = tmp_path / "README.md"
    doc.write_text(DOC)
    data = tmp_path / "bench.json"
    data.write_text(json.dumps(SAMPLE))

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        readme.rewrite(doc, data)
    assert doc.read_text() == DOC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "bench.json"]
