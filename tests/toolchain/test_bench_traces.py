"""The benchmark's generated traces: one workload's trace written alone is
the file a whole generation writes for it (plot and the tests generate only
the trace they read), and the file holds a whole trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from kos.bench import gen, trace

SMALL = ("util4k", "merrygo")      # two of the quickest to make


def test_one_trace_alone_is_the_one_every_generation_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(gen, "WORKLOADS", {name: gen.WORKLOADS[name] for name in SMALL})
    every = {str(t["name"]): Path(str(t["path"])) for t in gen.generate(tmp_path / "all")}
    assert set(every) == set(SMALL)
    for name in SMALL:
        alone = gen.generate_one(tmp_path / "one", name)
        assert alone.read_bytes() == every[name].read_bytes()
        assert trace.read_ops(alone)                      # operations after the header
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == sorted(f"{n}.rep" for n in SMALL)
