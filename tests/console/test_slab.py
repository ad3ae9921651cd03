"""Slab caches through the shell: create, allocate, free, destroy, the
statistics slab info and slabinfo report, and every refusal. buddycheck and
slabcheck run after every operation that changes state."""

from __future__ import annotations

import re
from itertools import pairwise

from mm_console import (
    KERNEL_START,
    PAGE,
    addr_of,
    checked,
    checked_kv,
    result,
)

from kos.console import Console
from kos.memory.constants import (
    EACCES,
    EBUSY,
    EINVAL,
    ENOMEM,
    SLAB_MAX_CACHES,
)


def create(console: Console, args: str) -> int:
    out = checked(console, f"slab create {args}")
    m = re.search(r"^id: (-?\d+)$", out, re.M)
    assert m, out
    return int(m.group(1))


def alloc(console: Console, cid: int) -> int:
    return addr_of(checked(console, f"slab alloc {cid}"))


def test_objects_come_aligned_from_slab_frames(console: Console):
    cid = create(console, "obj64 64 8")
    assert cid >= 1
    info = console.kv(f"slab info {cid}")
    assert info["name"] == "obj64" and info["object_size"] == 64 and info["size"] == 64
    assert info["align"] == 8 and info["pages_per_slab"] == 1
    assert 56 <= int(info["objs_per_slab"]) < PAGE // 64            # the slab header takes one
    objs = [alloc(console, cid) for _ in range(5)]
    assert len(set(objs)) == 5 and all(a % 8 == 0 for a in objs)
    assert all(b - a >= 64 for a, b in pairwise(sorted(objs)))
    frame = console.kv(f"page info {objs[0] & ~(PAGE - 1):#x}")
    assert frame["state"] == "slab" and "slab" in str(frame["flag_names"])
    info = console.kv(f"slab info {cid}")
    assert info["active_objs"] == 5 and info["slabs"] == 1 and info["pages"] == 1
    assert info["allocs"] == 5 and info["frees"] == 0
    for a in objs:
        assert result(checked(console, f"slab free {cid} {a:#x}")) == 0
    assert result(checked(console, f"slab destroy {cid}")) == 0


def test_full_slab_grows_a_second_and_empty_slabs_go_back(console: Console):
    free0 = console.kv("meminfo")["free_frames"]
    cid = create(console, "grow 200 0")
    per = int(console.kv(f"slab info {cid}")["objs_per_slab"])
    objs = [addr_of(console.run(f"slab alloc {cid}")) for _ in range(per + 1)]
    assert all(objs) and len(set(objs)) == per + 1
    info = checked_kv(console, f"slab info {cid}")
    assert info["slabs"] == 2 and info["total_objs"] == 2 * per and info["active_objs"] == per + 1
    assert info["active_slabs"] == 2 and info["size"] == 200 and info["align"] == 8
    assert console.kv("meminfo")["free_frames"] == free0 - 2
    for a in objs[:per]:                      # empties the first slab: kept for reuse
        assert result(console.run(f"slab free {cid} {a:#x}")) == 0
    info = checked_kv(console, f"slab info {cid}")
    assert info["slabs"] == 2 and info["active_slabs"] == 1 and info["active_objs"] == 1
    assert console.kv("meminfo")["cached_memory"] == PAGE
    assert result(checked(console, f"slab free {cid} {objs[per]:#x}")) == 0   # second empty: returned
    info = console.kv(f"slab info {cid}")
    assert info["slabs"] == 1 and info["active_slabs"] == 0 and info["active_objs"] == 0
    assert console.kv("meminfo")["free_frames"] == free0 - 1
    assert result(checked(console, f"slab destroy {cid}")) == 0
    mem = console.kv("meminfo")
    assert mem["free_frames"] == free0 and mem["cached_memory"] == 0


def test_alignment_and_order_choice(console: Console):
    cid = create(console, "a64 100 64")
    info = console.kv(f"slab info {cid}")
    assert info["size"] == 128 and info["align"] == 64
    assert all(alloc(console, cid) % 64 == 0 for _ in range(3))
    page = create(console, "pagesized 4096 4096")
    info = console.kv(f"slab info {page}")
    assert info["pages_per_slab"] == 8 and info["objs_per_slab"] == 7      # 1/8 waste at most
    a = alloc(console, page)
    assert a % PAGE == 0
    big = create(console, "big 65536 0")
    info = console.kv(f"slab info {big}")
    assert info["pages_per_slab"] == 32 and info["objs_per_slab"] == 1
    assert alloc(console, big) % 8 == 0
    small = create(console, "tiny 1 1")
    info = console.kv(f"slab info {small}")
    assert info["object_size"] == 1 and info["size"] == 8                 # room for the free list


def test_refused_frees_are_reported_and_change_nothing(console: Console):
    a_id = create(console, "first 64 0")
    b_id = create(console, "second 64 0")
    a = alloc(console, a_id)
    b = alloc(console, b_id)
    before = console.kv(f"slab info {a_id}")
    cases = [
        (f"{a_id} {b:#x}", "object of another cache"),
        (f"{a_id} {a + 4:#x}", "not the start of an object"),
        (f"{a_id} {a & ~(PAGE - 1):#x}", "not the start of an object"),    # the slab header
        (f"{a_id} {KERNEL_START:#x}", "not slab memory"),
        (f"{a_id} 0x80000000", "not slab memory"),
        (f"{a_id} {a + 64:#x}", "object already free"),                    # never allocated
        (f"99 {a:#x}", "no such cache"),
        (f"0 {a:#x}", "no such cache"),
    ]
    for args, why in cases:
        out = checked(console, f"slab free {args}")
        assert result(out) == EINVAL and why in out, (args, out)
    after = console.kv(f"slab info {a_id}")
    assert after["active_objs"] == before["active_objs"] == 1
    assert after["bad_frees"] == 6
    assert result(checked(console, f"slab free {a_id} {a:#x}")) == 0
    out = checked(console, f"slab free {a_id} {a:#x}")
    assert result(out) == EINVAL and "object already free" in out
    assert result(checked(console, f"slab free {b_id} {b:#x}")) == 0


def test_destroy_is_refused_while_objects_live(console: Console):
    cid = create(console, "busy 32 0")
    a = alloc(console, cid)
    out = checked(console, f"slab destroy {cid}")
    assert result(out) == EBUSY and "1 objects still allocated" in out
    assert result(checked(console, f"slab free {cid} {a:#x}")) == 0
    assert result(checked(console, f"slab destroy {cid}")) == 0
    gone = console.run(f"slab alloc {cid}")
    assert addr_of(gone) == 0 and f"error: EINVAL\nreason: no cache {cid}" in gone, gone
    out = console.run(f"slab destroy {cid}")
    assert result(out) == EINVAL and f"slab_destroy: cache {cid}: no such cache" in out
    out = console.run(f"slab info {cid}")
    assert result(out) == EINVAL and f"slab_info: cache {cid}: no such cache" in out
    assert create(console, "again 32 0") == cid                            # ids are reused


def test_bad_create_arguments(console: Console):
    for args, why in (("zero 0 8", "the object size is 0"),
                      ("huge 65537 8", "the object size is above SLAB_MAX_OBJECT (64 KiB)"),
                      ("odd 64 3", "the alignment is not a power of two"),
                      ("wide 64 8192", "the alignment is above PAGE_SIZE")):
        out = console.run(f"slab create {args}")
        assert out.splitlines() == ["id: -22", "error: EINVAL", f"reason: {why}"], args
    assert len(console.run("slabinfo").splitlines()) == 2                 # header only: none made


def test_cache_table_fills_up_with_enomem(console: Console):
    ids = [int(console.kv(f"slab create c{i} 16 0")["id"]) for i in range(SLAB_MAX_CACHES)]
    assert sorted(ids) == list(range(1, SLAB_MAX_CACHES + 1))
    out = console.run("slab create onemore 16 0")
    assert out.splitlines() == [f"id: {ENOMEM}", "error: ENOMEM",
                                "reason: all SLAB_MAX_CACHES (64) cache ids are in use"]
    for cid in ids:
        assert result(console.run(f"slab destroy {cid}")) == 0
    assert "slabcheck: 0 violations" in console.run("slabcheck")


def test_long_names_are_cut(console: Console):
    cid = create(console, "a" * 40 + " 16 0")
    assert console.kv(f"slab info {cid}")["name"] == "a" * 23


def test_slabinfo_lists_every_cache(console: Console):
    one = create(console, "alpha 48 0")
    two = create(console, "beta 4096 0")
    for _ in range(3):
        alloc(console, one)
    out = console.run("slabinfo")
    lines = out.splitlines()
    assert lines[0].startswith("slabinfo - version: 2.1")
    assert lines[1].startswith("# id") and "<active_objs>" in lines[1]
    rows = {}
    for line in lines[2:]:
        f = line.split()
        rows[f[1]] = [int(x) for x in f[2:7]] + [int(f[9]), int(f[10])]
    per = console.kv(f"slab info {one}")["objs_per_slab"]
    assert rows["alpha"] == [3, per, 48, per, 1, 1, 1]
    info = console.kv(f"slab info {two}")
    assert rows["beta"] == [0, 0, 4096, info["objs_per_slab"], info["pages_per_slab"], 0, 0]


def test_slab_frames_are_off_limits_to_buddy_and_page_operations(console: Console):
    cid = create(console, "guarded 64 0")
    a = alloc(console, cid)
    frame = a & ~(PAGE - 1)
    out = checked(console, f"buddy free {frame:#x} 0")
    assert result(out) == EINVAL and "frame belongs to a slab cache" in out
    out = console.run(f"page get {frame:#x}")
    assert result(out) == EACCES and "the frame belongs to a slab cache" in out
    assert result(console.run(f"page free {frame:#x}")) == EACCES
    assert result(checked(console, f"slab free {cid} {a:#x}")) == 0


def test_bad_slab_commands_print_usage(console: Console):
    for cmd in ("slab", "slab create", "slab create x", "slab alloc", "slab alloc x", "slab free 1",
                "slab frob 1", "slab create x 1 2 3"):
        out = console.run(cmd)
        assert "usage: slab" in out or "is not a number" in out, cmd
