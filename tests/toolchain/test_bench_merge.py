"""`./kos bench --parts X` replaces X's results in bench.json and keeps the
others, and its "runs" table says which run each part came from. The part
run here is calls with its measurement replaced by a constant: what is under
test is run_bench's writing, not the measurement."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from kos import bench
from kos.bench import calls

EARLIER = {
    "host": {"rows": [], "summary": {"kos": {"failures": 0}}},
    "vm": {"mmap_munmap_one_page": 719},
    "calls": {"calls_per_second": 1.0},
    "runs": {"heap": {"finished": "2026-01-01T00:00:00Z", "kernel_sha256": "0123456789abcdef"},
             "vm": {"finished": "2026-01-02T00:00:00Z", "kernel_sha256": "fedcba9876543210"},
             "calls": {"finished": "2026-01-03T00:00:00Z", "kernel_sha256": "fedcba9876543210"}},
}


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, float]:
    now = {"calls_per_second": 12345.0}
    monkeypatch.setattr(calls, "measure", lambda: dict(now))
    monkeypatch.setattr(calls, "report", lambda results: f"calls: {results}")
    kernel = tmp_path / "kernel.elf"
    kernel.write_bytes(b"an image")
    monkeypatch.setattr(bench, "KERNEL", kernel, raising=False)
    return now


def test_the_parts_not_run_are_kept_with_their_runs(measured, tmp_path: Path, capsys):
    out = tmp_path / "bench.json"
    out.write_text(json.dumps(EARLIER))
    returned = bench.run_bench(out, ("calls",))
    data = json.loads(out.read_text())
    assert data == returned
    assert data["calls"] == measured                             # the part run replaces its own
    assert data["host"] == EARLIER["host"] and data["vm"] == EARLIER["vm"]
    assert data["runs"]["heap"] == EARLIER["runs"]["heap"]       # each kept part keeps its stamp
    assert data["runs"]["vm"] == EARLIER["runs"]["vm"]
    assert data["runs"]["calls"]["finished"] > EARLIER["runs"]["calls"]["finished"]
    assert data["runs"]["calls"]["kernel_sha256"] == hashlib.sha256(b"an image").hexdigest()[:16]
    assert "kept from earlier runs: heap, vm" in capsys.readouterr().out


def test_a_first_run_writes_its_parts_alone(measured, tmp_path: Path):
    out = tmp_path / "bench.json"
    bench.run_bench(out, ("calls",))
    data = json.loads(out.read_text())
    assert set(data) == {"calls", "runs"} and set(data["runs"]) == {"calls"}


def test_an_unreadable_file_is_set_aside_not_lost(measured, tmp_path: Path, capsys):
    out = tmp_path / "bench.json"
    out.write_text('{"host": ')
    bench.run_bench(out, ("calls",))
    assert (tmp_path / "bench.json.unreadable").read_text() == '{"host": '
    assert set(json.loads(out.read_text())) == {"calls", "runs"}
    assert "bench.json was unreadable" in capsys.readouterr().err
