"""Guest coverage: the block record of a run and its mapping to source lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kos import coverage
from kos.machine.unicorn.kernel import UnicornKernel


def test_blocks_of_a_boot_map_to_the_lines_that_ran(kernel: Path, tmp_path: Path):
    k = UnicornKernel(kernel, coverage=tmp_path).boot()
    k.close()
    records = list(tmp_path.glob("*.blocks"))
    assert len(records) == 1
    blocks = coverage.read_blocks(tmp_path)
    text = (k.symbol("__text_start"), k.symbol("__text_end"))
    assert blocks and all(text[0] <= a < b <= text[1] for a, b in blocks)

    report = coverage.build_report(kernel, tmp_path)
    files = coverage.by_line_counts(report)
    covered, lines = files["kernel/kernel.c"]
    assert covered == lines > 5                     # kmain runs whole
    assert files["kernel/shell/cmd_memtest.c"][0] == 0
    never = coverage.functions_never_run(kernel, tmp_path)
    assert "kmain" not in never and "cmd_memtest" in never and "kernel_stop" in never
    assert 0 < report.percent < 100


def test_the_program_records_when_the_environment_asks(kernel: Path, tmp_path: Path):
    env = dict(os.environ) | {"KOS_COVERAGE": str(tmp_path / "raw")}
    res = subprocess.run([sys.executable, "-m", "kos.machine.unicorn", str(kernel)], input=b"halt\r",
                         capture_output=True, timeout=30, env=env)
    assert res.returncode == 33
    never = coverage.functions_never_run(kernel, tmp_path / "raw")
    assert "cmd_halt" not in never and "kernel_stop" not in never


def test_blocks_merge_into_disjoint_intervals(tmp_path: Path):
    (tmp_path / "1-0.blocks").write_text("100 10\n108 10\n200 4\n")
    (tmp_path / "2-0.blocks").write_text("110 8\n300 1\n")
    assert coverage.read_blocks(tmp_path) == [(0x100, 0x118), (0x200, 0x204), (0x300, 0x301)]


def test_html_report_annotates_every_file(kernel: Path, tmp_path: Path):
    with UnicornKernel(kernel, coverage=tmp_path / "raw") as k:
        k.boot()
    report = coverage.summarize(kernel, tmp_path / "raw", tmp_path / "out")
    index = (tmp_path / "out" / "index.html").read_text()
    assert f"{report.percent:.1f}%" in index
    page = (tmp_path / "out" / "kernel_kernel.c.html").read_text()
    assert "class='hit'" in page and "kmain" in page
    assert "functions never run:" in (tmp_path / "out" / "summary.txt").read_text()
