"""Page-cache reclaim over the console, on both machines: with every free
block taken by `buddy alloc` (which asks no shrinker), `page alloc` still
gets frames, each one a clean archive page the cache gave back, until only
the pages written at runtime are left; then the files read back as they
were and /bin/hello, whose text pages went, runs again."""

from __future__ import annotations

import re

from kos.console import Console

MAX_ORDER = 10


def frames(console: Console) -> int:
    return int(console.kv("meminfo")["pagecache_frames"])


def drain(console: Console) -> list[tuple[str, int]]:
    """Every free block, largest first: (address, order) of each."""
    taken = []
    for order in range(MAX_ORDER, -1, -1):
        while m := re.search(r"addr: (0x[0-9a-f]+)", console.run(f"buddy alloc {order}")):
            if int(m.group(1), 16) == 0:
                break
            taken.append((m.group(1), order))
    assert console.kv("page count")["free_pages"] == 0
    return taken


def page_alloc(console: Console) -> str | None:
    m = re.search(r"addr: (0x[0-9a-f]+)", console.run("page alloc"))
    assert m
    return m.group(1) if int(m.group(1), 16) else None


def test_pressure_reclaims_clean_archive_pages_and_keeps_written_ones(console: Console):
    motd = console.run("cat /etc/motd")
    numbers = console.run("cat /data/numbers.txt")
    hello = console.run("run /bin/hello")
    assert "exited with status 0" in hello
    console.run("write /data/note written at runtime")
    assert console.kv("stat /bin/hello")["cached_frames"] > 0
    cached = frames(console)

    taken = drain(console)
    first = page_alloc(console)
    assert first is not None                      # only because a cache frame was given back
    assert frames(console) == cached - 1
    got = [first]
    while p := page_alloc(console):
        got.append(p)
    assert frames(console) == 1                   # the note's page: dirty, the only copy
    assert console.kv("stat /data/note")["cached_frames"] == 1
    assert console.kv("stat /bin/hello")["cached_frames"] == 0
    assert len(got) == cached - 1

    for addr in got:
        console.run(f"page free {addr}")
    for addr, order in taken:
        console.run(f"buddy free {addr} {order}")
    assert console.run("cat /data/note").strip() == "written at runtime"
    assert console.run("cat /etc/motd") == motd
    assert console.run("cat /data/numbers.txt") == numbers
    again = console.run("run /bin/hello")
    assert re.sub(r"pid \d+", "", again) == re.sub(r"pid \d+", "", hello)
