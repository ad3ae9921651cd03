"""Workload generators: each turns a seeded random source into a Trace.

Realistic workloads imitate what kernels and programs do with a heap (their
size mixes and lifetimes); adversarial ones aim at known allocator weak spots.
Every generator is deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable

from kos.bench.trace import Trace

KIB = 1024
MIB = 1024 * 1024


def _logn(rng: random.Random, median: float, sigma: float, lo: int, hi: int) -> int:
    """A log-normal size around `median`, clamped to [lo, hi]."""
    return max(lo, min(hi, int(rng.lognormvariate(0, sigma) * median)))


def _string(rng: random.Random, median: float = 12, hi: int = 4096) -> int:
    return _logn(rng, median, 0.9, 1, hi)


def shell(rng: random.Random) -> Trace:
    """An interactive shell: a line buffer, tokens, argv arrays, command
    output buffers, and a bounded history of command lines."""
    t = Trace("shell", True, "line buffer, argv tokens, output buffers, 5000-line history, scrollback")
    line = t.alloc(1024)
    env = [t.alloc(_string(rng, 24, 300)) for _ in range(200)]
    history: deque[int] = deque()
    scrollback: deque[int] = deque()
    for _ in range(12000):
        ntok = rng.randint(1, 9)
        toks = [t.alloc(_string(rng, 6, 200)) for _ in range(ntok)]
        argv = t.alloc(8 * (ntok + 1))
        outs = [t.alloc(_logn(rng, 600, 1.2, 16, 64 * KIB)) for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.05:
            i = rng.randrange(len(env))
            t.free(env[i])
            env[i] = t.alloc(_string(rng, 24, 300))
        history.append(t.alloc(_string(rng, 20, 400)))
        if len(history) > 5000:
            t.free(history.popleft())
        if outs:
            scrollback.append(outs.pop())
            if len(scrollback) > 200:
                t.free(scrollback.popleft())
        for b in [*outs, argv, *toks]:
            t.free(b)
    t.free(line)
    t.free_all()
    return t


def compiler(rng: random.Random) -> Trace:
    """A compiler: interned identifiers live for the whole run, symbols per
    file, AST and IR per function (an arena of small nodes), IR vectors
    grown by doubling."""
    t = Trace("compiler", True, "interned names, per-file symbols, per-function AST/IR arenas")
    interned: list[int] = []
    node_sizes = [24, 32, 32, 40, 48, 48, 56, 64, 96, 128]
    for _ in range(6):
        symbols = [t.alloc(rng.choice([40, 48, 64])) for _ in range(rng.randint(1000, 4000))]
        for _ in range(rng.randint(20, 60)):
            for _ in range(rng.randint(0, 6)):
                interned.append(t.alloc(_string(rng, 10, 64)))
            ast = [t.alloc(rng.choice(node_sizes)) for _ in range(rng.randint(40, 600))]
            ir, cap = t.alloc(256), 256
            for n in range(rng.randint(20, 400)):
                if 16 * n > cap:
                    cap *= 2
                    t.realloc(ir, cap)
                ast.append(t.alloc(rng.choice(node_sizes)))
            for b in ast:
                t.free(b)
            t.free(ir)
        for b in symbols:
            t.free(b)
    t.free_all()
    return t


def browser(rng: random.Random) -> Trace:
    """A browser: tabs full of DOM nodes, text, styles, images and scripts,
    mutated while open and freed whole when closed."""
    t = Trace("browser", True, "tabs of DOM nodes, strings, images; DOM churn; tabs closed whole")
    tabs: deque[list[int]] = deque()
    for _ in range(14):
        tab: list[int] = []
        for _ in range(rng.randint(500, 2500)):
            tab.append(t.alloc(rng.choice([64, 96, 128, 160, 200])))
            if rng.random() < 0.6:
                tab.append(t.alloc(_string(rng, 40, 8 * KIB)))
            if rng.random() < 0.1:
                tab.append(t.alloc(rng.randint(100, 300)))
        for _ in range(rng.randint(2, 12)):
            tab.append(t.alloc(_logn(rng, 40 * KIB, 1.0, 2 * KIB, 600 * KIB)))
        for _ in range(rng.randint(1, 4)):
            tab.append(t.alloc(_logn(rng, 20 * KIB, 1.0, KIB, 200 * KIB)))
        for _ in range(rng.randint(500, 3000)):
            j = rng.randrange(len(tab))
            t.free(tab[j])
            tab[j] = t.alloc(rng.choice([64, 96, 128, 160, 200]) if rng.random() < 0.6
                             else _string(rng, 40, 8 * KIB))
        tabs.append(tab)
        if len(tabs) > 4:
            for b in tabs.popleft():
                t.free(b)
    t.free_all()
    return t


def game(rng: random.Random) -> Trace:
    """A game: per level textures and entities, per frame temporaries freed
    at frame end, entities spawning and dying every frame."""
    t = Trace("game", True, "level assets, entities spawning/dying, per-frame temporaries")
    for _ in range(3):
        textures = [t.alloc(_logn(rng, 128 * KIB, 0.8, 16 * KIB, 1 * MIB)) for _ in range(12)]
        entities = [t.alloc(rng.randint(200, 2000)) for _ in range(400)]
        for _ in range(250):
            temps = [t.alloc(_logn(rng, 64, 0.8, 16, 1024)) for _ in range(rng.randint(20, 80))]
            for _ in range(rng.randint(0, 6)):
                j = rng.randrange(len(entities))
                t.free(entities[j])
                entities[j] = t.alloc(rng.randint(200, 2000))
            for b in reversed(temps):
                t.free(b)
        for b in entities + textures:
            t.free(b)
    t.free_all()
    return t


def mail(rng: random.Random) -> Trace:
    """A mail client: messages with header strings and bodies read in chunks
    (realloc), an index that grows, deletions and new mail."""
    t = Trace("mail", True, "header strings, bodies grown chunk by chunk, growing index, deletions")
    msgs: list[list[int]] = []
    index, cap = t.alloc(64), 8
    for _ in range(3000):
        if msgs and rng.random() < 0.35:
            for b in msgs.pop(rng.randrange(len(msgs))):
                t.free(b)
            continue
        parts = [t.alloc(_string(rng, 40, 400)) for _ in range(rng.randint(4, 10))]
        body_len = _logn(rng, 3 * KIB, 1.2, 64, 256 * KIB)
        body, got = t.alloc(min(body_len, 4096)), min(body_len, 4096)
        while got < body_len:
            got = min(body_len, got + 4096)
            t.realloc(body, got)
        parts.append(body)
        msgs.append(parts)
        if len(msgs) > cap:
            cap *= 2
            t.realloc(index, 8 * cap)
    t.free_all()
    return t


def string_builder(rng: random.Random) -> Trace:
    """String builders appending a few bytes at a time (realloc to the exact
    new length); finished strings are kept as exact copies or dropped."""
    t = Trace("strbuild", True, "many interleaved builders growing by small appends")
    done: deque[int] = deque()
    active = {t.alloc(16): 16 for _ in range(200)}
    for _ in range(40000):
        b = rng.choice(list(active))
        size = active.pop(b) + rng.randint(1, 80)
        t.realloc(b, size)
        if size > _logn(rng, 1500, 1.0, 64, 64 * KIB):
            if rng.random() < 0.5:
                done.append(t.alloc(size))
                if len(done) > 3000:
                    t.free(done.popleft())
            t.free(b)
            b, size = t.alloc(16), 16
        active[b] = size
    t.free_all()
    return t


def kvstore(rng: random.Random) -> Trace:
    """A key-value store: node, key and value per entry, a bucket array that
    doubles, random inserts, updates (realloc) and deletes."""
    t = Trace("kvstore", True, "hash table entries, value updates, doubling bucket array")
    buckets, nb = t.alloc(8 * 64), 64
    entries: list[tuple[int, int, int]] = []
    for step in range(30000):
        r = rng.random()
        target = 12000 if step < 20000 else 6000
        if r < 0.5 * (2 - len(entries) / target) if entries else True:
            e = (t.alloc(32), t.alloc(_logn(rng, 16, 0.6, 4, 120)), t.alloc(_logn(rng, 80, 1.1, 8, 16 * KIB)))
            entries.append(e)
            if len(entries) > nb:
                nb *= 2
                t.realloc(buckets, 8 * nb)
        elif r < 0.75:
            e = entries[rng.randrange(len(entries))]
            t.realloc(e[2], _logn(rng, 80, 1.1, 8, 16 * KIB))
        else:
            e = entries.pop(rng.randrange(len(entries)))
            for b in e:
                t.free(b)
    t.free_all()
    return t


def json_docs(rng: random.Random) -> Trace:
    """A JSON service: parse a document into a tree of small nodes, strings
    and growing arrays, use it, free it whole; a few documents are cached."""
    t = Trace("json", True, "parse trees of small nodes and strings freed whole; a small cache")
    cache: deque[list[int]] = deque()
    for _ in range(250):
        doc: list[int] = []
        for _ in range(rng.randint(50, 600)):
            doc.append(t.alloc(rng.choice([24, 32, 40, 48])))
            if rng.random() < 0.7:
                doc.append(t.alloc(_string(rng, 10, 2048)))
            if rng.random() < 0.05:
                arr, cap = t.alloc(64), 64
                for _ in range(rng.randint(1, 5)):
                    cap *= 2
                    t.realloc(arr, cap)
                doc.append(arr)
        if rng.random() < 0.2:
            cache.append(doc)
            if len(cache) > 40:
                doc = cache.popleft()
            else:
                continue
        for b in doc:
            t.free(b)
    t.free_all()
    return t


def server(rng: random.Random) -> Trace:
    """A network server: connections with receive/send buffers, request
    objects and header strings, overlapping lifetimes."""
    t = Trace("server", True, "connections with I/O buffers, requests and headers, random lifetimes")
    conns: list[list[int]] = []
    for _ in range(3000):
        if conns and (len(conns) > 300 or rng.random() < 0.45):
            for b in conns.pop(rng.randrange(len(conns))):
                t.free(b)
        conn = [t.alloc(rng.choice([4096, 16384])), t.alloc(rng.choice([2048, 8192])), t.alloc(512)]
        for _ in range(rng.randint(1, 4)):
            conn.append(t.alloc(rng.randint(200, 600)))
            conn.extend(t.alloc(_string(rng, 24, 1024)) for _ in range(rng.randint(3, 12)))
        conns.append(conn)
    t.free_all()
    return t


# ---- adversarial -----------------------------------------------------------

def tiny_objects(rng: random.Random) -> Trace:
    """A hundred thousand 1-24 byte objects, half freed at random and
    reallocated: per-object overhead dominates."""
    t = Trace("tiny", False, "100k objects of 1-24 bytes, random half freed and refilled twice")
    ids = [t.alloc(rng.randint(1, 24)) for _ in range(100000)]
    for _ in range(2):
        rng.shuffle(ids)
        for b in ids[:50000]:
            t.free(b)
        ids[:50000] = [t.alloc(rng.randint(1, 24)) for _ in range(50000)]
    t.free_all()
    return t


def powers_of_two(rng: random.Random) -> Trace:
    """Sizes that are exact powers of two with random lifetimes: the worst
    case for allocators that add a header and round to a power of two."""
    t = Trace("pow2", False, "2^4..2^16 byte blocks, random lifetimes")
    live: list[int] = []
    for _ in range(40000):
        if live and rng.random() < 0.48:
            t.free(live.pop(rng.randrange(len(live))))
        else:
            live.append(t.alloc(1 << rng.randint(4, 16 if rng.random() < 0.1 else 11)))
    t.free_all()
    return t


def binary(rng: random.Random) -> Trace:
    """malloc-lab's binary-bal pattern: alternate a small and a large size,
    free every large one, then ask for slightly larger blocks."""
    del rng
    t = Trace("binary", False, "alternating 64/448, free the 448s, allocate 512s (malloc-lab binary)")
    small, large = [], []
    for _ in range(4000):
        small.append(t.alloc(64))
        large.append(t.alloc(448))
    for b in large:
        t.free(b)
    for _ in range(4000):
        t.alloc(512)
    t.free_all()
    return t


def alternating(rng: random.Random) -> Trace:
    """Long-lived and short-lived blocks interleaved so every short-lived
    block leaves a hole between survivors; then larger requests arrive."""
    t = Trace("alternate", False, "survivors pin every other block, holes then asked for more")
    keep: list[int] = []
    for _ in range(6):
        drop = []
        for _ in range(3000):
            keep.append(t.alloc(rng.randint(16, 200)))
            drop.append(t.alloc(rng.randint(100, 400)))
        for b in drop:
            t.free(b)
        for _ in range(500):
            t.alloc(rng.randint(500, 2000))
    t.free_all()
    return t


def near_full(rng: random.Random) -> Trace:
    """Fill the 30 MiB heap to 24 MiB of live data, then churn at that level
    with mixed sizes: fragmentation must not turn into failures."""
    t = Trace("nearfull", False, "24 MiB live in the 30 MiB heap, churned with mixed sizes")
    live: list[int] = []

    def size() -> int:
        return _logn(rng, 300, 1.6, 8, 256 * KIB)

    while t.live_bytes < 24 * MIB:
        live.append(t.alloc(size()))
    for _ in range(30000):
        if t.live_bytes > 24 * MIB:
            t.free(live.pop(rng.randrange(len(live))))
        else:
            live.append(t.alloc(size()))
    t.free_all()
    return t


def realloc_interleaved(rng: random.Random) -> Trace:
    """malloc-lab's realloc-bal pattern: many buffers grown in turn, each
    growth blocked by its neighbours."""
    t = Trace("realloc", False, "buffers grown round-robin by random steps (malloc-lab realloc)")
    bufs = {t.alloc(rng.randint(16, 512)): 0 for _ in range(60)}
    for b in bufs:
        bufs[b] = 256
    for _ in range(150):
        for b in list(bufs):
            bufs[b] += rng.randint(16, 1024)
            t.realloc(b, bufs[b])
            if rng.random() < 0.2:
                t.free(t.alloc(rng.randint(16, 256)))
    t.free_all()
    return t


def fragment_then_large(rng: random.Random) -> Trace:
    """Many small objects, nearly all freed except scattered survivors, then
    large requests that need contiguous space."""
    t = Trace("fraglarge", False, "100k small objects, 1 in 64 survives, then 8 MiB of large blocks")
    small = [t.alloc(rng.randint(16, 64)) for _ in range(100000)]
    for j, b in enumerate(small):
        if j % 64:
            t.free(b)
    big = 0
    while big < 8 * MIB:
        size = rng.randint(4 * KIB, 64 * KIB)
        t.alloc(size)
        big += size
    t.free_all()
    return t


def uniform(rng: random.Random) -> Trace:
    """Sizes uniform in 1..8192 with random lifetimes: no structure at all."""
    t = Trace("uniform", False, "uniform 1..8192 bytes, random lifetimes")
    live: list[int] = []
    for _ in range(40000):
        if live and rng.random() < 0.49:
            t.free(live.pop(rng.randrange(len(live))))
        else:
            live.append(t.alloc(rng.randint(1, 8192)))
    t.free_all()
    return t


def _scaling(n: int) -> Callable[[random.Random], Trace]:
    def gen(rng: random.Random) -> Trace:
        t = Trace(f"scale{n // 1000}k", False,
                  f"{n} live blocks of 16-256 bytes, then 20000 free/alloc pairs")
        live = [t.alloc(rng.randint(16, 256)) for _ in range(n)]
        for _ in range(20000):
            j = rng.randrange(len(live))
            t.free(live[j])
            live[j] = t.alloc(rng.randint(16, 256))
        t.free_all()
        return t

    gen.__doc__ = f"Churn with {n} live blocks: per-operation cost must not grow with n."
    return gen


def _utility(name: str, ops: int, peak: int, description: str) -> Callable[[random.Random], Trace]:
    """A short-lived utility (a shell command, an interpreter starting up):
    argument and environment strings, a few buffers, tables of small
    records built up and torn down, staying under `peak` live bytes."""

    def gen(rng: random.Random) -> Trace:
        t = Trace(name, True, description)
        live: list[int] = []
        env = [t.alloc(_string(rng, 16, 120)) for _ in range(rng.randint(5, 20))]
        buf = t.alloc(min(peak // 8, 1024))
        while len(t.ops) < ops - len(live) - len(env) - 1:
            if live and (t.live_bytes > peak * 0.85 or rng.random() < 0.45):
                t.free(live.pop(rng.randrange(len(live))))
                continue
            r = rng.random()
            if r < 0.55:
                size = _string(rng, 14, 200)
            elif r < 0.9:
                size = rng.choice([16, 24, 32, 48, 64])
            else:
                size = _logn(rng, 300, 0.8, 64, max(256, peak // 16))
            if t.live_bytes + size <= peak:
                live.append(t.alloc(size))
        t.free(buf)
        t.free_all()
        return t

    gen.__doc__ = description
    return gen


def merry_go_round(rng: random.Random) -> Trace:
    """A loop that allocates and frees a few sizes over and over (a
    request, its reply, a scratch buffer), around a small resident set."""
    t = Trace("merrygo", True, "a few sizes allocated and freed over and over, 6 KiB resident")
    resident = [t.alloc(rng.choice([24, 40, 64, 128])) for _ in range(80)]
    for _ in range(3000):
        req, reply = t.alloc(48), t.alloc(rng.choice([96, 160]))
        scratch = t.alloc(512)
        t.free(scratch)
        t.free(req)
        t.free(reply)
    for b in resident:
        t.free(b)
    return t


WORKLOADS: dict[str, Callable[[random.Random], Trace]] = {
    "shell": shell,
    "compiler": compiler,
    "browser": browser,
    "game": game,
    "mail": mail,
    "strbuild": string_builder,
    "kvstore": kvstore,
    "json": json_docs,
    "server": server,
    "tiny": tiny_objects,
    "pow2": powers_of_two,
    "binary": binary,
    "alternate": alternating,
    "nearfull": near_full,
    "realloc": realloc_interleaved,
    "fraglarge": fragment_then_large,
    "uniform": uniform,
    "scale1k": _scaling(1000),
    "scale100k": _scaling(100000),
    "util4k": _utility("util4k", 1000, 4 * KIB, "a small command: 1,000 operations, 4 KiB live at most"),
    "util16k": _utility("util16k", 5000, 16 * KIB, "a utility: 5,000 operations, 16 KiB live at most"),
    "util64k": _utility("util64k", 20000, 64 * KIB,
                        "an interpreter starting up: 20,000 operations, 64 KiB live at most"),
    "merrygo": merry_go_round,
}
