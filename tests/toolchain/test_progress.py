"""kos.progress: plain lines in logs, a bar on a terminal."""

from __future__ import annotations

import io
import os
import pty
import select

from kos.progress import Progress, say, track


def test_without_a_terminal_progress_is_a_line_every_tenth():
    out = io.StringIO()
    assert list(track(range(20), "bench guest: traces", unit="traces", stream=out)) == list(range(20))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("bench guest: traces: 0/20 traces, 0%")
    assert lines[-1].startswith("bench guest: traces: 20/20 traces, 100%")
    assert len(lines) == 11
    assert "\r" not in out.getvalue()


def test_work_stopped_early_says_so():
    out = io.StringIO()
    with Progress("plot", 5, "pictures", stream=out) as p:
        p.advance(note="heap")
        p.advance()
    assert out.getvalue().splitlines()[-1].startswith("plot: 2/5 pictures, 40%")
    assert "stopped early" in out.getvalue()
    say("coverage: mapping", stream=out)
    assert out.getvalue().endswith("coverage: mapping\n")


def test_on_a_terminal_progress_is_a_bar():
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w") as tty:
        with Progress("plot", 4, "pictures", stream=tty) as p:
            for _ in range(4):
                p.advance()
        tty.flush()
        shown = ""
        while select.select([leader], [], [], 0.2)[0]:
            shown += os.read(leader, 65536).decode()
    os.close(leader)
    assert "\r" in shown and "4/4" in shown and "100%" in shown
