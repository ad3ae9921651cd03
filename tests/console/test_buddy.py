"""Page frames and the buddy allocator through the shell: zones sized from
the memory map the kernel printed, allocation and coalescing, zone
preference and fallback, every refused free, and the PageFrame operations.
buddycheck and slabcheck run after every operation that changes state."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from mm_console import (
    KERNEL_START,
    PAGE,
    STRUCT_PAGE,
    ZONES,
    BootLayout,
    addr_of,
    buddyinfo,
    checked,
    checked_kv,
    result,
    zone_of,
)

from kos import paths
from kos.console import Console
from kos.memory.constants import (
    EACCES,
    EBUSY,
    EFAULT,
    EINVAL,
    ENXIO,
    HEAP_START,
    MAX_ORDER,
    ZONE_NORMAL_END,
)

# RAM size -> the zones that must have frames.
POPULATED = {
    "32M": {"dma"},
    "64M": {"dma", "normal"},
    "256M": {"dma", "normal"},
    "1G": {"dma", "normal", "highmem"},
    "2G": {"dma", "normal", "highmem"},
    "3G": {"dma", "normal", "highmem"},
}


@pytest.mark.parametrize("memory", list(POPULATED))
def test_zones_and_totals_match_the_boot_memory_map(machine_factory, memory):
    m = machine_factory(memory=memory)
    m.start(wait_prompt=False)
    assert m.console is not None
    boot = m.console.wait_prompt(timeout=30)
    layout = BootLayout.parse(boot)
    expect = layout.zone_frames()
    info = m.console.kv("meminfo")

    assert {z for z in ZONES if expect[z]} == POPULATED[memory]
    for z in ZONES:
        assert info[f"{z}_frames"] == expect[z], z
        assert info[f"{z}_free_frames"] == expect[z], z          # nothing allocated at boot
    assert info["frames"] == info["free_frames"] == sum(expect.values())
    assert info["total_memory"] == layout.total_usable
    assert info["buddy_free"] == sum(expect.values()) * PAGE

    # mem_map: on a page, below 896 MiB, inside RAM nobody else uses, one
    # struct page per frame up to the last managed one (whole 4 MiB blocks,
    # whose struct pages fill whole pages of it).
    start, end = layout.mem_map
    assert start % PAGE == 0 and (STRUCT_PAGE << MAX_ORDER) % PAGE == 0 and end <= ZONE_NORMAL_END
    unmapped = layout.frames(with_mem_map=False)
    assert any(s * PAGE <= start and end <= e * PAGE for s, e in unmapped)
    pages = -(-max(e for _, e in layout.managed) // (1 << MAX_ORDER)) << MAX_ORDER
    assert info["mem_map_pages"] == pages
    assert end - start == -(-pages * STRUCT_PAGE // PAGE) * PAGE

    # buddyinfo lists the populated zones, and its blocks add up to the free frames.
    blocks = buddyinfo(m.console)
    assert set(blocks) == POPULATED[memory]
    for z, counts in blocks.items():
        assert sum(n << k for k, n in enumerate(counts)) == expect[z]
    assert "buddycheck: 0 violations" in m.console.run("buddycheck")


def test_32m_machine_has_only_low_frames_and_still_allocates(machine_factory):
    console = machine_factory(memory="32M").start()
    a = addr_of(checked(console, "buddy alloc 0"))
    assert zone_of(a) == "dma" and a < HEAP_START           # fell back: no Normal zone
    assert addr_of(console.run("buddy alloc 0 kernel only")) == 0
    assert result(checked(console, f"buddy free {a:#x} 0")) == 0
    page = console.kv("page info 0x1000000")                 # heap: beyond mem_map
    assert page["result"] == ENXIO and page["error"] == "ENXIO"


def test_every_order_allocates_aligned_blocks_that_coalesce_back(console: Console):
    before = buddyinfo(console)
    free0 = console.kv("meminfo")["free_frames"]
    blocks = []
    for order in range(MAX_ORDER + 1):
        out = checked(console, f"buddy alloc {order}")
        a = addr_of(out)
        assert a and a % (PAGE << order) == 0, (order, hex(a))
        assert "zone: Normal" in out
        blocks.append((a, order))
    spans = sorted((a, a + (PAGE << o)) for a, o in blocks)
    assert all(e <= s for (_, e), (s, _) in pairwise(spans)), "blocks overlap"
    used = sum(1 << o for _, o in blocks)
    assert console.kv("meminfo")["free_frames"] == free0 - used
    for a, order in reversed(blocks):
        assert result(checked(console, f"buddy free {a:#x} {order}")) == 0
    assert buddyinfo(console) == before
    stats = console.kv("buddy stats")
    assert stats["allocs"] == stats["frees"] == MAX_ORDER + 1
    assert stats["bad_frees"] == stats["failed_allocs"] == 0


def test_splitting_one_block_leaves_one_free_buddy_per_order(console: Console):
    before = buddyinfo(console)["normal"]
    a = addr_of(checked(console, "buddy alloc 0"))
    after = buddyinfo(console)["normal"]
    # The smallest non-empty order k >= 0 lost one block; orders below it gained one each.
    k = next(i for i, n in enumerate(before) if n)
    assert after[k] == before[k] - 1
    assert all(after[i] == before[i] + 1 for i in range(k))
    assert all(after[i] == before[i] for i in range(k + 1, MAX_ORDER + 1))
    assert result(checked(console, f"buddy free {a:#x} 0")) == 0
    assert buddyinfo(console)["normal"] == before


def test_a_4mib_block_split_down_to_one_frame_merges_back_whole(console: Console):
    initial = buddyinfo(console)
    held = []
    for order in range(MAX_ORDER):                      # leave Normal only 4 MiB blocks
        for _ in range(initial["normal"][order]):
            held.append((addr_of(console.run(f"buddy alloc {order} kernel only")), order))
    drained = buddyinfo(console)["normal"]
    assert drained[:MAX_ORDER] == [0] * MAX_ORDER and drained[MAX_ORDER] == initial["normal"][MAX_ORDER]
    a = addr_of(checked(console, "buddy alloc 0"))
    split = buddyinfo(console)["normal"]
    assert split == [1] * MAX_ORDER + [drained[MAX_ORDER] - 1]   # one free buddy at every order
    assert a % (PAGE << MAX_ORDER) == 0
    assert result(checked(console, f"buddy free {a:#x} 0")) == 0
    assert buddyinfo(console)["normal"] == drained       # ten merges: whole again
    for addr, order in held:
        assert result(console.run(f"buddy free {addr:#x} {order}")) == 0
    assert buddyinfo(console) == initial
    assert "buddycheck: 0 violations" in console.run("buddycheck")


def test_zone_preference_and_fallback_at_64m(console: Console):
    out = checked(console, "buddy alloc 0")
    assert "zone: Normal" in out
    dma = addr_of(checked(console, "buddy alloc 2 dma"))
    assert zone_of(dma) == "dma" and dma % (4 * PAGE) == 0
    high = checked(console, "buddy alloc 0 highmem")         # no HighMem at 64 MiB: Normal
    assert "zone: Normal" in high
    assert addr_of(console.run("buddy alloc 0 highmem only")) == 0
    assert addr_of(console.run("buddy alloc 0 3")) == 0     # GFP_DMA | GFP_HIGHMEM is invalid
    for a, order in ((addr_of(out), 0), (dma, 2), (addr_of(high), 0)):
        assert result(checked(console, f"buddy free {a:#x} {order}")) == 0


def test_highmem_zone_is_used_when_asked_at_1g(machine_factory):
    console = machine_factory(memory="1G").start()
    a = addr_of(checked(console, "buddy alloc 3 highmem"))
    assert a >= ZONE_NORMAL_END and zone_of(a) == "highmem"
    b = addr_of(checked(console, "buddy alloc 3"))            # GFP_KERNEL never gets HighMem
    assert zone_of(b) == "normal"
    info = console.kv("meminfo")
    assert info["highmem_free_frames"] == info["highmem_frames"] - 8
    for x in (a, b):
        assert result(checked(console, f"buddy free {x:#x} 3")) == 0


def test_normal_zone_exhausted_falls_back_to_dma_then_fails(console: Console):
    info = console.kv("meminfo")
    blocks = buddyinfo(console)
    got = []
    for _ in range(blocks["normal"][MAX_ORDER]):
        a = addr_of(console.run(f"buddy alloc {MAX_ORDER}"))
        assert zone_of(a) == "normal"
        got.append((a, MAX_ORDER))
    # The rest of Normal comes in smaller blocks; drain it order by order.
    for order in range(MAX_ORDER - 1, -1, -1):
        for _ in range(buddyinfo(console)["normal"][order]):
            got.append((addr_of(console.run(f"buddy alloc {order}")), order))
    assert console.kv("meminfo")["normal_free_frames"] == 0
    a = addr_of(checked(console, "buddy alloc 0"))
    assert zone_of(a) == "dma"                                 # fallback
    got.append((a, 0))
    assert addr_of(console.run(f"buddy alloc {MAX_ORDER}")) == 0   # DMA has no 4 MiB block
    assert console.kv("buddy stats")["failed_allocs"] == 1
    for a, order in got:
        assert result(console.run(f"buddy free {a:#x} {order}")) == 0
    assert console.kv("meminfo")["free_frames"] == info["free_frames"]
    assert buddyinfo(console) == blocks
    assert "buddycheck: 0 violations" in console.run("buddycheck")


def test_refused_frees_are_reported_counted_and_change_nothing(console: Console):
    a = addr_of(checked(console, "buddy alloc 2"))
    before = buddyinfo(console)
    cases = [
        (f"{a:#x} 1", "block was allocated with order 2"),
        (f"{a:#x} 3", "not aligned to a block of that order" if a % (PAGE << 3) else
         "block was allocated with order 2"),
        (f"{a + PAGE:#x} 0", "not the start of an allocated block"),
        (f"{a + 2 * PAGE:#x} 1", "not the start of an allocated block"),
        (f"{a + 1:#x} 2", "not page aligned"),
        (f"{a:#x} 11", "order above MAX_ORDER"),
        (f"{KERNEL_START:#x} 0", "reserved frame, never allocated"),
        ("0x80000000 0", "no RAM managed there"),
    ]
    for args, why in cases:
        out = checked(console, f"buddy free {args}")
        assert result(out) == EINVAL, args
        assert why in out, (args, out)
    assert buddyinfo(console) == before
    assert result(checked(console, f"buddy free {a:#x} 2")) == 0
    out = checked(console, f"buddy free {a:#x} 2")
    assert result(out) == EINVAL and "already free" in out
    stats = console.kv("buddy stats")
    assert stats["bad_frees"] == len(cases) + 1
    assert stats["frees"] == 1


def test_alloc_of_an_impossible_order_returns_zero_and_says_why(console: Console):
    out = console.run("buddy alloc 11")
    assert addr_of(out) == 0 and "error: EINVAL\nreason: order 11 is above MAX_ORDER (10)" in out, out
    assert addr_of(console.run("buddy alloc 4000000000")) == 0
    assert console.kv("buddy stats")["failed_allocs"] == 2
    out = console.run("page alloc 11")
    assert addr_of(out) == 0 and "reason: order 11 is above MAX_ORDER (10)" in out, out
    out = console.run("buddy alloc 0 7")
    assert addr_of(out) == 0 and "error: EINVAL\nreason: gfp 0x7 names no zone" in out, out
    out = console.run("buddy alloc 0 highmem only")                 # 64 MiB: no HighMem at all
    assert addr_of(out) == 0 and "error: ENOMEM\nreason: no free block of order 0 in the zones" in out, out


def test_bad_buddy_commands_print_usage(console: Console):
    for cmd in ("buddy", "buddy alloc", "buddy alloc x", "buddy free 0x1000", "buddy alloc 0 dma maybe",
                "buddy stats now"):
        out = console.run(cmd)
        assert "usage: buddy" in out or "is not a number" in out, cmd
    # A zone that is no name and no number is named as a zone, not called "not a number".
    out = console.run("buddy alloc 0 sideways")
    assert out.strip() == "buddy: argument 3 (ZONE): sideways is not kernel, dma, highmem or gfp flags", out
    assert console.kv("buddy stats")["allocs"] == 0


def test_page_alloc_info_and_free(console: Console):
    free0 = console.kv("page count")["free_pages"]
    out = checked(console, "page alloc 1")
    a = addr_of(out)
    assert console.kv("page count")["free_pages"] == free0 - 2
    head = console.kv(f"page info {a:#x}")
    assert head["physical_addr"] == head["virtual_addr"] == a
    assert head["ref_count"] == 0 and head["state"] == "allocated"
    assert head["flag_names"] == "head" and head["zone"] == "Normal"
    tail = console.kv(f"page info {a + PAGE:#x}")
    assert tail["state"] == "allocated" and tail["flag_names"] == "none"
    assert result(checked(console, f"page free {a:#x} 1")) == 0
    assert console.kv(f"page info {a:#x}")["state"] == "free"
    assert console.kv("page count")["free_pages"] == free0
    assert console.kv("page count")["free_pages"] == console.kv("meminfo")["free_frames"]


def test_referenced_frame_cannot_be_freed_until_put(console: Console):
    a = addr_of(checked(console, "page alloc 2"))
    tail = a + 3 * PAGE
    assert result(checked(console, f"page get {tail:#x}")) == 0
    assert result(checked(console, f"page get {tail:#x}")) == 0
    assert console.kv(f"page info {tail:#x}")["ref_count"] == 2
    out = checked(console, f"page free {a:#x} 2")
    assert result(out) == EBUSY and "referenced or locked" in out
    assert result(checked(console, f"page put {tail:#x}")) == 0
    assert result(checked(console, f"page free {a:#x} 2")) == EBUSY
    assert result(checked(console, f"page put {tail:#x}")) == 0
    out = console.run(f"page put {tail:#x}")                          # below zero
    assert result(out) == EINVAL and f"page put: {tail:#010x}: the reference count is 0" in out
    assert result(checked(console, f"page free {a:#x} 2")) == 0


def test_dirty_lock_and_virtual_address(console: Console):
    a = addr_of(checked(console, "page alloc"))
    assert result(checked(console, f"page dirty {a:#x}")) == 0
    info = console.kv(f"page info {a:#x}")
    assert info["dirty"] == 1 and "dirty" in str(info["flag_names"])
    assert result(checked(console, f"page clean {a:#x}")) == 0
    assert console.kv(f"page info {a:#x}")["dirty"] == 0

    assert result(checked(console, f"page lock {a:#x}")) == 0
    assert console.kv(f"page info {a:#x}")["locked"] == 1
    out = console.run(f"page lock {a:#x}")
    assert result(out) == EBUSY and f"page lock: {a:#010x}: the frame is locked already" in out
    assert result(checked(console, f"page free {a:#x}")) == EBUSY
    assert result(checked(console, f"page unlock {a:#x}")) == 0
    out = console.run(f"page unlock {a:#x}")
    assert result(out) == EINVAL and f"page unlock: {a:#010x}: the frame is not locked" in out

    for va in ("0x40000800", "0"):                                     # not page aligned, 0
        out = console.run(f"page map {a:#x} {va}")
        assert result(out) == EFAULT and "the virtual address is 0 or not page aligned" in out, va
    assert result(checked(console, f"page map {a:#x} 0x40000000")) == 0
    assert console.kv(f"page info {a:#x}")["virtual_addr"] == 0x40000000
    assert result(checked(console, f"page unmap {a:#x}")) == 0
    assert console.kv(f"page info {a:#x}")["virtual_addr"] == 0
    out = console.run(f"page unmap {a:#x}")
    assert result(out) == EINVAL and f"page unmap: {a:#010x}: the frame is not mapped" in out

    assert result(checked(console, f"page dirty {a:#x}")) == 0
    assert result(checked(console, f"page free {a:#x}")) == 0          # dirty and unmapped: fine
    info = console.kv(f"page info {a:#x}")                             # and fresh again
    assert info["state"] == "free" and info["dirty"] == 0 and info["virtual_addr"] == a


def test_page_operations_refuse_free_reserved_and_missing_frames(console: Console):
    a = addr_of(checked(console, "page alloc"))
    assert result(checked(console, f"page free {a:#x}")) == 0
    for op in ("get", "put", "dirty", "clean", "lock", "unlock", "unmap"):
        out = console.run(f"page {op} {a:#x}")                                 # free frame
        assert result(out) == EINVAL and f"page {op}: {a:#010x}: the frame is free" in out, op
        out = console.run(f"page {op} {KERNEL_START:#x}")                      # kernel image
        assert result(out) == EACCES and "the frame is reserved (never handed out)" in out, op
        assert result(console.run(f"page {op} 0x3fff0000")) == ENXIO, op      # beyond RAM
    assert result(console.run(f"page map {a:#x} 0x40000000")) == EINVAL
    assert result(console.run(f"page free {KERNEL_START:#x}")) == EACCES
    assert result(console.run(f"page free {a:#x}")) == EINVAL
    info = console.kv(f"page info {KERNEL_START:#x}")
    assert info["state"] == "reserved" and info["flag_names"] == "reserved"
    assert "buddycheck: 0 violations" in console.run("buddycheck")


def test_page_free_of_an_address_inside_a_frame_is_einval_as_buddy_free(console: Console):
    """page free used to report the state of the frame the address falls in:
    `page free 0x123` said "not page aligned" with EACCES (frame 0 is
    reserved), where buddy free refuses the same address with EINVAL."""
    a = addr_of(checked(console, "page alloc"))
    before = console.kv("buddy stats")
    for addr in (0x123, KERNEL_START + 1, a + 1):
        out = checked(console, f"page free {addr:#x} 0")
        assert result(out) == EINVAL and f"free_pages: {addr:#010x} order 0: not page aligned" in out, out
    after = console.kv("buddy stats")
    assert after["bad_frees"] == before["bad_frees"] + 3
    assert after["normal_free_frames"] == before["normal_free_frames"]
    # A reserved or slab frame is EACCES, and counted as every refused free (it was not).
    assert result(checked(console, f"page free {KERNEL_START:#x}")) == EACCES
    slab = int(checked_kv(console, "slab create pf 64")["id"])
    obj = addr_of(checked(console, f"slab alloc {slab}"))
    assert result(checked(console, f"page free {obj & ~(PAGE - 1):#x}")) == EACCES
    assert console.kv("buddy stats")["bad_frees"] == after["bad_frees"] + 2
    assert result(checked(console, f"page free {a:#x}")) == 0


def test_bad_page_commands_print_usage(console: Console):
    for cmd in ("page", "page get", "page get x", "page map 0x2200000", "page frob 0x2200000",
                "page get 0x2200000 1", "page alloc 1 2"):
        out = console.run(cmd)
        assert "usage: page" in out or "is not a number" in out, cmd


def test_meminfo_has_the_get_memory_stats_fields(console: Console):
    info = console.kv("meminfo")
    fields = ("total_memory", "free_memory", "used_memory", "cached_memory", "buffer_memory",
              "swap_total", "swap_free")
    assert list(info)[: len(fields)] == list(fields)
    assert info["used_memory"] + info["free_memory"] == info["total_memory"]
    assert info["free_memory"] == info["buddy_free"] + info["heap_free"]
    assert info["swap_total"] == info["swap_free"] == info["buffer_memory"] == 0
    assert info["cached_memory"] == 0
    a = addr_of(checked(console, "buddy alloc 4"))
    assert console.kv("meminfo")["used_memory"] == info["used_memory"] + (PAGE << 4)
    assert result(checked(console, f"buddy free {a:#x} 4")) == 0


def test_the_readmes_64_mib_row_is_what_buddy_stats_says(console: Console):
    """The README's zones table once kept the frames of an older image (DMA
    338 where a boot had 230). Its 64 MiB row is the resident machine's."""
    readme = (paths.ROOT / "README.md").read_text()
    m = re.search(r"^\| 64 MiB \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \|$", readme, re.M)
    assert m, "no 64 MiB row in the README's zones table"
    row = [int(g.replace(",", "")) for g in m.groups()]
    st = console.kv("buddy stats")
    assert row == [st["total_memory"], st["dma_frames"], st["normal_frames"], st["highmem_frames"]]
    # And the size of mem_map it gives (36 bytes a frame, 54 MiB at 5 GiB, when struct page had 44).
    m = re.search(r"`mem_map`, (\d+) bytes per frame.*?: (\d+) MiB\s+for 5 GiB of RAM", readme, re.S)
    assert m, "the README no longer says how large mem_map is"
    five_gib_frames = (6 << 30) // PAGE                          # flat up to the top of RAM at 6 GiB
    assert [int(m.group(1)), int(m.group(2))] == [STRUCT_PAGE, five_gib_frames * STRUCT_PAGE >> 20]
    assert st["mem_map_bytes"] == (st["total_memory"] // PAGE + 1023) // 1024 * 1024 * STRUCT_PAGE


def test_a_page_alloc_the_shrinker_rescues_is_not_counted_as_failed(console: Console):
    """alloc_pages tries the buddy allocator, asks the shrinkers, tries
    again: the first try was counted in failed_allocs even when the second
    succeeded, so buddy stats said a request failed that did not."""
    console.run("elfinfo /bin/cat")                              # archive pages into the page cache
    assert console.kv("meminfo")["pagecache_frames"] > 0
    for order in range(MAX_ORDER, -1, -1):
        while addr_of(console.run(f"buddy alloc {order}")):
            pass
    before = console.kv("buddy stats")
    assert before["normal_free_frames"] == before["dma_free_frames"] == 0
    assert addr_of(console.run("page alloc")) != 0                # a clean archive page given back
    after = console.kv("buddy stats")
    assert after["allocs"] == before["allocs"] + 1
    assert after["failed_allocs"] == before["failed_allocs"]
