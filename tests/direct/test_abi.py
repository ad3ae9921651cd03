"""The C/Python interface read from the kernel image (kos.target.abi).

The specifications' constants are checked against the image here, once:
this is the only place their values are spelled in Python. Then the
structures the memory API reads are proved against what the kernel
writes: each is filled by a direct call, unpacked by the DWARF layout, and
compared field by field with the same numbers the kernel reports another
way (its own printout, or single-value getters).
"""

from __future__ import annotations

import pytest

from kos.console import parse_kv
from kos.kernel import Kernel, call_out
from kos.kernel.mm import mm_wrapper as mm
from kos.memory import constants, kacchi
from kos.target import abi

pytestmark = pytest.mark.unicorn

SPECIFICATION = {
    # The kacchiOS memory manager.
    "HEAP_START": 0x200000, "HEAP_SIZE": 0x1E00000, "STACK_SIZE": 0x4000, "MAX_BLOCKS": 1024,
    "MAX_PROCESS_STACKS": 32,
    # The KOS memory API.
    "ENOMEM": -12, "EINVAL": -22, "EACCES": -13, "EFAULT": -14, "ENXIO": -6,
    "PROT_NONE": 0x0, "PROT_READ": 0x1, "PROT_WRITE": 0x2, "PROT_EXEC": 0x4,
    "MAP_SHARED": 0x01, "MAP_PRIVATE": 0x02, "MAP_FIXED": 0x10, "MAP_ANONYMOUS": 0x20,
    "MAP_GROWSDOWN": 0x0100, "MAP_LOCKED": 0x2000, "MAP_POPULATE": 0x8000,
    "ZONE_DMA": 0, "ZONE_NORMAL": 1, "ZONE_HIGHMEM": 2,
}


def test_the_image_has_the_specifications_constants(kernel):
    image = abi.load(kernel)
    assert {name: image.constant(name) for name in SPECIFICATION} == SPECIFICATION
    assert constants.PROT_RW == constants.PROT_READ | constants.PROT_WRITE
    assert constants.PROT_RWX == constants.PROT_RW | constants.PROT_EXEC
    assert constants.ERROR_NAMES[constants.EBUSY] == "EBUSY"


def test_constants_module_reads_the_built_image(kernel):
    image = abi.load(kernel)
    for name in constants.NAMES:
        assert getattr(constants, name) == image.constant(name), name
    with pytest.raises(AttributeError, match="HEAP_STRAT"):
        _ = constants.HEAP_STRAT


def _dirty_the_counters(k: Kernel) -> None:
    """Leave every memory statistic at a different, non-zero value, so a
    field read from the wrong offset cannot match by accident."""
    blocks = [kacchi.kmalloc(size, kernel=k) for size in (24, 3000, 70000, 8, 512, 100, 9000)]
    kacchi.kfree(blocks[0], kernel=k)
    kacchi.kfree(blocks[0], kernel=k)                        # double_frees 1
    for _ in range(2):
        kacchi.kfree(blocks[1] + 8, kernel=k)                # invalid_frees 2
    for _ in range(3):
        kacchi.kcalloc(0xFFFFFFFF, 2, kernel=k)              # bad_sizes 3, failed_allocs 3
    for pid in range(5):
        kacchi.stack_alloc(pid, kernel=k)                    # num_stacks 5
    for _ in range(4):
        kacchi.stack_free(99, kernel=k)                      # stack_errors 4
    for _ in range(7):
        kacchi.memory_defragment(kernel=k)                   # num_allocations 6 above


def test_memory_statistics_unpacked_by_dwarf_match_the_kernels_printout(live):
    _dirty_the_counters(live)
    live.drain_serial()
    live.call("memory_print_stats")
    printed = parse_kv(live.drain_serial())
    image = abi.load(live.image.path)
    for type_name, fn in (("memory_stats_t", "memory_get_stats"), ("memory_counters", "memory_get_counters")):
        fields = image.struct(type_name).fields
        _, got = call_out(live, fn, type_name)
        assert set(got) == set(fields)
        for name in fields:
            assert got[name] == printed[name], f"{type_name}.{name}"
    counted = ["double_frees", "invalid_frees", "bad_sizes", "stack_errors", "num_stacks", "num_allocations"]
    values = [printed[name] for name in counted]
    assert 0 not in values and len(set(values)) == len(values), dict(zip(counted, values, strict=True))


def test_buddy_statistics_unpacked_by_dwarf_match_the_single_value_getters(live):
    held = [(mm.buddy_alloc(order, kernel=live), order) for order in (0, 0, 1, 3, 5)]
    try:
        _, st = call_out(live, "buddy_stats", "buddy_stats")
        layout = abi.load(live.image.path).struct("buddy_stats")
        assert layout.fields["free_blocks"].shape == (constants.NR_ZONES, constants.NR_ORDERS)
        for zone in range(constants.NR_ZONES):
            assert st["managed_pages"][zone] == live.call("buddy_zone_managed", zone)
            assert st["free_pages"][zone] == live.call("buddy_zone_free", zone)
            for order in range(constants.NR_ORDERS):
                assert st["free_blocks"][zone][order] == live.call("buddy_free_blocks", zone, order), (zone,
                                                                                                     order)
        assert sum(st["free_pages"]) == live.call("buddy_free_pages_total")
        assert st["allocs"] - st["frees"] >= len(held)
        assert st["mem_map_phys"] == live.read_u32(live.symbol("mem_map"))
    finally:
        for addr, order in held:
            assert mm.buddy_free(addr, order, kernel=live) == 0


def test_a_structure_that_does_not_fit_the_scratch_area_is_refused(live, monkeypatch):
    monkeypatch.setattr(live, "scratch_size", 16)
    with pytest.raises(ValueError, match=r"memory_stats_t .* does not fit"):
        call_out(live, "memory_get_stats", "memory_stats_t")
