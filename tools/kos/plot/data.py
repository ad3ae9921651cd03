"""What the pictures show, read from a live kernel under unicorn by direct
calls. Each function returns plain data (tested against the kernel's own
numbers); render.py draws it.

- heap_blocks: every block of the kmalloc heap in address order, as the
  heap's public walker (memory_walk) reports it.
- trace_series: utilization and fragmentation after each step of a trace
  replayed through kmalloc/krealloc/kfree.
- buddy_free_blocks: free blocks per order and zone (buddyinfo's numbers).
- slab_occupancy: each slab cache's allocated and total objects (slabinfo's).
- address_space: a struct mm's VMAs by address with their protections
  (maps' lines), read from the kernel's memory through the DWARF layouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kos.kernel.mm import mm_wrapper
from kos.memory.kacchi import memory_counters, memory_stats
from kos.target.abi import load

# Blocks of at most this many payload bytes are drawn as small objects, the
# same threshold the shell's heapmap uses; the heap packs such requests in
# runs of equal slots.
SMALL_OBJECT = 256

USED, SMALL, FREE = "used", "small", "free"


@dataclass(frozen=True)
class HeapBlock:
    addr: int       # the payload's address
    size: int       # usable payload bytes
    kind: str       # USED, SMALL or FREE


# A RET in the emulator's scratch area: memory_walk's callback. A code hook
# at it reads each block before it returns to the walker.
_VISIT = b"\xc3"


def heap_blocks(k: Any) -> list[HeapBlock]:
    """Every block in address order, through the public walker: memory_walk
    (memory.h) calls back for each struct heap_block (its layout from the
    DWARF), free ones included."""
    from unicorn import UC_HOOK_CODE
    from unicorn.x86_const import UC_X86_REG_ESP

    layout = load(k.image.path).struct("heap_block")
    blocks: list[HeapBlock] = []

    def on_visit(uc: Any, addr: int, size: int, _: object) -> None:
        esp = uc.reg_read(UC_X86_REG_ESP)
        ptr = int.from_bytes(uc.mem_read(esp + 4, 4), "little")
        b = layout.unpack(bytes(uc.mem_read(ptr, layout.size)))
        payload, nbytes, used = int(b["payload"]), int(b["size"]), b["used"] != 0  # type: ignore[call-overload]
        kind = FREE if not used else SMALL if nbytes <= SMALL_OBJECT else USED
        blocks.append(HeapBlock(payload, nbytes, kind))

    visit = k.scratch
    k.write(visit, _VISIT)
    hook = k.uc.hook_add(UC_HOOK_CODE, on_visit, None, visit, visit)
    try:
        k.call("memory_walk", visit, 0)
    finally:
        k.uc.hook_del(hook)
    return blocks


@dataclass
class TraceSeries:
    """Samples taken every `every` operations of a replayed trace."""

    name: str
    ops: list[int]                  # operations done at each sample
    utilization: list[float]        # live payload / heap extent
    fragmentation: list[int]        # memory_get_counters().fragmentation_pct
    free_in_extent: list[float]     # free bytes below the extent / extent: the holes
    live_bytes: list[int]
    extent: list[int]
    failures: int


def replay(k: Any, ops: list[tuple[str, int, int]], name: str = "trace", samples: int = 200,
           stop: int | None = None, progress: Any = None) -> TraceSeries:
    """Replay ops (kos.bench.trace format) through the kernel's kmalloc API,
    sampling the counters about `samples` times; stop early after `stop`
    operations. progress (a kos.progress.Progress) is advanced per sample."""
    ops = ops[:stop] if stop is not None else ops
    every = max(1, len(ops) // samples)
    live: dict[int, tuple[int, int]] = {}
    live_bytes = failures = 0
    s = TraceSeries(name, [], [], [], [], [], [], 0)
    for n, (op, i, size) in enumerate(ops, 1):
        if op == "f":
            addr, old = live.pop(i, (0, 0))
            k.call("kfree", addr)
            live_bytes -= old
        else:
            prev, old = live.get(i, (0, 0))
            addr = k.call("kmalloc", size) if op == "a" else k.call("krealloc", prev, size)
            if addr == 0:
                failures += 1
            else:
                live[i] = (addr, size)
                live_bytes += size - old
        if n % every == 0 or n == len(ops):
            c = memory_counters(kernel=k)
            st = memory_stats(kernel=k)
            extent = c["heap_extent"]
            holes = st["free_heap"] - (st["total_heap"] - extent)
            s.free_in_extent.append(holes / extent if extent else 0.0)
            s.ops.append(n)
            s.live_bytes.append(live_bytes)
            s.extent.append(c["heap_extent"])
            s.utilization.append(live_bytes / c["heap_extent"] if c["heap_extent"] else 0.0)
            s.fragmentation.append(c["fragmentation_pct"])
            if progress is not None:
                progress.advance()
    s.failures = failures
    return s


def peak_op(ops: list[tuple[str, int, int]]) -> int:
    """How many operations of a trace bring its live payload to its peak."""
    live: dict[int, int] = {}
    cur = best = at = 0
    for n, (op, i, size) in enumerate(ops, 1):
        cur -= live.pop(i, 0)
        if op != "f":
            live[i] = size
            cur += size
        if cur > best:
            best, at = cur, n
    return at


def buddy_free_blocks(k: Any) -> dict[str, list[int]]:
    """Free blocks per order for each zone with frames (buddyinfo's rows)."""
    st = mm_wrapper.buddy_stats(kernel=k)
    return {name: list(z["free_blocks"]) for name, z in st["zones"].items() if z["managed_pages"]}


@dataclass(frozen=True)
class CacheUse:
    id: int
    name: str
    active_objs: int
    total_objs: int
    object_size: int


def slab_occupancy(k: Any) -> list[CacheUse]:
    """Every live slab cache, in id order (slabinfo's rows)."""
    out = []
    cid = k.call("slab_next", 0)
    while cid:
        info = mm_wrapper.slab_info(cid, kernel=k)
        if info is not None:
            out.append(CacheUse(cid, info["name"], info["active_objs"], info["total_objs"], info["size"]))
        cid = k.call("slab_next", cid)
    return out


def heap_base(k: Any) -> int:
    """Where the heap's region starts: memory.c's heap handle, which heap.h
    says is the control data at the start of the region."""
    return int(k.read_u32(k.symbol("heap")))


def heap_summary(k: Any) -> dict[str, int]:
    """memory_get_stats and memory_get_counters in one dict (the plots' captions)."""
    return {**memory_stats(kernel=k), **memory_counters(kernel=k)}


@dataclass(frozen=True)
class Vma:
    start: int
    end: int
    perms: str        # as maps prints them: "rw-p", "r-xs", ...
    stack: bool       # VM_GROWSDOWN: maps' [stack]


def address_space(k: Any, mm: int | None = None) -> list[Vma]:
    """The VMAs of struct mm at mm (default: the shell's, mm_current()),
    in address order: struct mm and struct vma as the DWARF lays them out,
    the PROT_* and VM_* bits from the image's constants."""
    image = load(k.image.path)
    mm_t, vma_t = image.struct("mm"), image.struct("vma")
    addr = mm if mm is not None else k.call("mm_current")
    if not addr:
        return []
    m = mm_t.unpack(k.read(addr, mm_t.size))
    bits = [(image.constant("PROT_READ"), "r"), (image.constant("PROT_WRITE"), "w"),
            (image.constant("PROT_EXEC"), "x")]
    shared, growsdown = image.constant("VM_SHARED"), image.constant("VM_GROWSDOWN")
    n, table = int(m["nr_vmas"]), int(m["vmas"])  # type: ignore[call-overload]
    raw = k.read(table, n * vma_t.size) if n else b""
    out = []
    for i in range(n):
        v = vma_t.unpack(raw, i * vma_t.size)
        prot, flags = int(v["prot"]), int(v["flags"])  # type: ignore[call-overload]
        perms = "".join(c if prot & bit else "-" for bit, c in bits) + ("s" if flags & shared else "p")
        out.append(Vma(int(v["start"]), int(v["end"]), perms, bool(flags & growsdown)))  # type: ignore[call-overload]
    return out
