"""Slab caches called directly in the running kernel, against a Python
model: objects are aligned, never overlap, keep what was written into them,
double and foreign frees are refused, statistics follow the model, and
destroying every cache gives every frame back. slab_check and buddy_check
run after every operation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kos.kernel import Kernel
from kos.kernel.mm import mm_wrapper as mm
from kos.memory.constants import EBUSY, EINVAL, ENOMEM, PAGE_SIZE, SLAB_MAX_CACHES, SLAB_NAME_MAX

pytestmark = pytest.mark.unicorn


def checks(live: Kernel) -> None:
    assert mm.slab_check(kernel=live) == 0
    assert mm.buddy_check(kernel=live) == 0


caches = st.lists(
    st.tuples(st.integers(min_value=1, max_value=6000), st.sampled_from([0, 1, 4, 8, 16, 64, 512, 4096])),
    min_size=1, max_size=4,
)
ops = st.lists(
    st.tuples(st.sampled_from(["alloc", "alloc", "free", "double", "foreign"]),
              st.integers(min_value=0, max_value=1 << 16)),
    max_size=80,
)


@settings(max_examples=60, deadline=None)
@given(caches, ops)
def test_random_objects_match_the_model(live: Kernel, specs, script):
    free0 = mm.buddy_stats(kernel=live)["free_pages"]
    ids = []
    objs: dict[int, tuple[int, int]] = {}       # addr -> (cache id, object size)
    try:
        for size, align in specs:
            cid = mm.slab_create(f"p{size}", size, align, kernel=live)
            assert cid > 0
            ids.append((cid, size, align or 8))
        for n, (op, pick) in enumerate(script):
            if op == "alloc":
                cid, size, align = ids[pick % len(ids)]
                addr = mm.slab_alloc(cid, kernel=live)
                assert addr and addr % align == 0
                assert all(addr + size <= a or a + s <= addr for a, (_, s) in objs.items())
                live.write(addr, bytes([n & 0xFF]) * size)
                objs[addr] = (cid, size)
            elif objs:
                addr = sorted(objs)[pick % len(objs)]
                cid, size = objs[addr]
                if op == "foreign":
                    others = [c for c, _, _ in ids if c != cid]
                    if others:
                        assert mm.slab_free(others[0], addr, kernel=live) == EINVAL
                    assert mm.slab_free(cid, addr + 1, kernel=live) == EINVAL
                    continue
                data = live.read(addr, size)
                assert len(set(data)) == 1, "object changed while allocated"
                assert mm.slab_free(cid, addr, kernel=live) == 0
                del objs[addr]
                if op == "double":
                    assert mm.slab_free(cid, addr, kernel=live) == EINVAL
            checks(live)
            for cid, _, _ in ids:
                info = mm.slab_info(cid, kernel=live)
                assert info is not None
                assert info["active_objs"] == sum(1 for c, _ in objs.values() if c == cid)
                assert info["active_objs"] <= info["total_objs"] == info["slabs"] * info["objs_per_slab"]
        for cid, _, _ in ids:
            if any(c == cid for c, _ in objs.values()):
                assert mm.slab_destroy(cid, kernel=live) == EBUSY
    finally:
        for addr, (cid, _) in objs.items():
            assert mm.slab_free(cid, addr, kernel=live) == 0
        for cid, _, _ in ids:
            assert mm.slab_destroy(cid, kernel=live) == 0
    checks(live)
    assert mm.buddy_stats(kernel=live)["free_pages"] == free0


def test_a_long_name_is_cut_at_a_character_not_inside_one(live: Kernel):
    """The kernel keeps SLAB_NAME_MAX - 1 bytes of a name: twenty "é" (40
    bytes of UTF-8) came back as eleven and half of the twelfth."""
    cid = mm.slab_create("é" * 20, 8, 8, kernel=live)
    try:
        info = mm.slab_info(cid, kernel=live)
        assert info is not None and info["name"] == "é" * ((SLAB_NAME_MAX - 1) // 2)
    finally:
        assert mm.slab_destroy(cid, kernel=live) == 0
    cid = mm.slab_create("x" * 40, 8, 8, kernel=live)
    try:
        info = mm.slab_info(cid, kernel=live)
        assert info is not None and info["name"] == "x" * (SLAB_NAME_MAX - 1)
    finally:
        assert mm.slab_destroy(cid, kernel=live) == 0


def test_create_arguments_are_checked(live: Kernel):
    for name, size, align in (("zero", 0, 8), ("huge", 65537, 8), ("odd", 64, 3), ("wide", 64, 8192),
                              ("", 64, 8), ("neg", -1, 8), ("nul\0x", 8, 8)):
        assert mm.slab_create(name, size, align, kernel=live) == EINVAL, (name, size, align)
    ids = [mm.slab_create(f"c{i}", 16, 0, kernel=live) for i in range(SLAB_MAX_CACHES)]
    assert sorted(ids) == list(range(1, SLAB_MAX_CACHES + 1))
    assert mm.slab_create("one too many", 16, 0, kernel=live) == ENOMEM
    for cid in ids:
        assert mm.slab_destroy(cid, kernel=live) == 0
    assert mm.slab_destroy(1, kernel=live) == EINVAL
    assert mm.slab_alloc(1, kernel=live) == 0
    assert mm.slab_info(1, kernel=live) is None


def test_unknown_ids_and_addresses(live: Kernel):
    cid = mm.slab_create("ids", 32, 0, kernel=live)
    a = mm.slab_alloc(cid, kernel=live)
    for bad in (0, -1, SLAB_MAX_CACHES + 1, 1 << 40):
        assert mm.slab_alloc(bad, kernel=live) == 0
        assert mm.slab_free(bad, a, kernel=live) == EINVAL
        assert mm.slab_destroy(bad, kernel=live) == EINVAL
    for addr in (0, live.symbol("__kernel_start"), a & ~(PAGE_SIZE - 1), -8, 1 << 33):
        assert mm.slab_free(cid, addr, kernel=live) == EINVAL
    checks(live)
    assert mm.slab_info(cid, kernel=live)["bad_frees"] == 3   # the three that reached the cache
    assert mm.slab_free(cid, a, kernel=live) == 0
    assert mm.slab_destroy(cid, kernel=live) == 0


def test_one_empty_slab_is_kept_and_the_next_given_back(live: Kernel):
    free0 = mm.buddy_stats(kernel=live)["free_pages"]
    cid = mm.slab_create("keep", 1024, 0, kernel=live)
    per = mm.slab_info(cid, kernel=live)["objs_per_slab"]
    objs = [mm.slab_alloc(cid, kernel=live) for _ in range(2 * per)]
    assert mm.slab_info(cid, kernel=live)["slabs"] == 2
    for a in objs:
        assert mm.slab_free(cid, a, kernel=live) == 0
    info = mm.slab_info(cid, kernel=live)
    assert info["slabs"] == 1 and info["active_slabs"] == 0 and info["pages"] == info["pages_per_slab"]
    assert mm.buddy_stats(kernel=live)["free_pages"] == free0 - info["pages_per_slab"]
    assert mm.slab_destroy(cid, kernel=live) == 0
    assert mm.buddy_stats(kernel=live)["free_pages"] == free0


STRIDES = [(8, 8), (12, 4), (24, 8), (200, 8), (1000, 8), (3000, 0), (4096, 4096)]


@pytest.mark.parametrize("size,align", STRIDES)
def test_only_object_starts_are_accepted_at_every_stride(live: Kernel, size: int, align: int):
    # slab_free finds the index by multiplying with an inverse; every other
    # address around three objects, word by word, must still be refused.
    cid = mm.slab_create(f"stride{size}", size, align, kernel=live)
    objs = sorted(mm.slab_alloc(cid, kernel=live) for _ in range(3))
    stride = mm.slab_info(cid, kernel=live)["size"]
    try:
        for addr in range(objs[0] - 2 * stride, objs[-1] + 2 * stride, 4):
            if addr not in objs:
                assert mm.slab_free(cid, addr, kernel=live) == EINVAL, hex(addr)
        info = mm.slab_info(cid, kernel=live)
        assert info["active_objs"] == 3 and info["frees"] == 0
        checks(live)
    finally:
        for a in objs:
            assert mm.slab_free(cid, a, kernel=live) == 0
        assert mm.slab_destroy(cid, kernel=live) == 0
