"""The heap benchmark's guest half replays a trace through the real kmalloc."""

from __future__ import annotations

from kos.bench import guest
from kos.bench.trace import Trace


def test_guest_replay_measures_failures_utilization_and_instructions(kernel, tmp_path):
    t = Trace("small", realistic=True, description="a few hundred mixed blocks")
    ids = [t.alloc(16 + (n * 37) % 3000) for n in range(300)]
    for i in ids[::2]:
        t.free(i)
    t.realloc(ids[1], 20000)
    t.alloc(40 << 20)                                # larger than the heap: must fail
    t.free_all()
    path = tmp_path / "small.rep"
    t.write(path)
    result = guest.guest_bench([{"name": "small", "realistic": True, "path": path}], kernel, counted=100)
    row = result["rows"][0]
    assert row["ops"] == len(t.ops)
    assert row["failures"] == 1
    assert 0.5 < row["utilization"] <= 1.0
    assert 20 < row["instr_per_op"] < 2000
    assert row["instr_ops"] == 100
    assert "small" in guest.table(result)
