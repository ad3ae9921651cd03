"""The kacchiOS memory manager through the shell: statistics, memtest,
allocations by hand, and every error path reported and survived."""

from __future__ import annotations

import re

from kos.console import Console
from kos.memory import constants
from kos.memory.constants import (
    HEAP_ALIGN,
    HEAP_SIZE,
    HEAP_START,
    MAX_PROCESS_STACKS,
    PAGE_SIZE,
    STACK_GUARD_SIZE,
    STACK_REGION_START,
    STACK_SIZE,
    STACK_SLOT_SIZE,
)


def _addr(out: str, what: str) -> int:
    m = re.search(rf"{what}:? (0x[0-9a-f]{{8}})", out)
    assert m, out
    return int(m.group(1), 16)


def test_memstats_fields_are_consistent(console: Console):
    s = console.kv("memstats")
    specified = list(constants.image().struct("memory_stats_t").fields)
    assert list(s)[:len(specified)] == specified          # memory_stats_t first, in its order
    assert s["total_heap"] == HEAP_SIZE
    assert s["used_heap"] + s["free_heap"] <= s["total_heap"]
    assert s["free_heap"] > HEAP_SIZE - PAGE_SIZE     # almost all free at boot
    assert s["total_stacks"] == MAX_PROCESS_STACKS * STACK_SIZE
    assert s["num_stacks"] == 0
    out = console.run("memstats")
    first = [line.split(":")[0] for line in out.splitlines()[:6]]
    assert first == ["total_heap", "used_heap", "free_heap", "total_stacks", "num_allocations", "num_stacks"]


def test_memtest_passes_every_check(console: Console):
    out = console.run("memtest", timeout=30)
    checks = [line for line in out.splitlines() if line.startswith("  ")]
    assert len(checks) >= 25
    failed = [c for c in checks if not c.endswith(": ok")]
    assert not failed, failed
    m = re.search(r"memtest: (\d+) passed, (\d+) failed", out)
    assert m and int(m.group(1)) == len(checks) and m.group(2) == "0"


def test_memtest_leaves_memstats_as_it_found_them(console: Console):
    keys = ("used_heap", "free_heap", "num_allocations", "num_stacks")
    before = console.kv("memstats")
    console.run("memtest", timeout=30)
    after = console.kv("memstats")
    assert {k: after[k] for k in keys} == {k: before[k] for k in keys}


def test_allocations_show_in_memstats_and_go_when_freed(console: Console):
    base = console.kv("memstats")
    addrs = [_addr(console.run(f"kmalloc {size}"), "kmalloc") for size in (100, 5000, 1 << 20)]
    assert all(HEAP_START <= a < HEAP_START + HEAP_SIZE and a % HEAP_ALIGN == 0 for a in addrs)
    assert len(set(addrs)) == 3
    mid = console.kv("memstats")
    assert mid["num_allocations"] == base["num_allocations"] + 3
    assert mid["used_heap"] >= base["used_heap"] + 100 + 5000 + (1 << 20)
    assert mid["peak_heap"] >= mid["used_heap"]
    for a in addrs:
        assert console.run(f"kfree {a:#x}").strip() == "kfree: ok"
    end = console.kv("memstats")
    assert end["num_allocations"] == base["num_allocations"]
    assert end["used_heap"] == base["used_heap"]
    assert end["frees"] == base["frees"] + 3


def test_refused_allocations_end_with_the_shells_error_line_and_change_nothing(console: Console):
    """kmalloc, kcalloc, krealloc and stack alloc used to stop at the NULL
    they got ("kmalloc: 0x00000000"): every refusal now ends as the other
    commands' do, `cmd: error ENAME (-N): why`, and the heap is as it was."""
    block = _addr(console.run("kmalloc 64"), "kmalloc")
    assert console.run("stack alloc 9").startswith("stack: pid 9 top 0x")
    before = console.kv("memstats")
    cases = {
        "kmalloc 0": "kmalloc: error EINVAL (-22): the size is 0",
        "kmalloc 100 3": "kmalloc: error EINVAL (-22): alignment 3 is not a power of two",
        "kmalloc 100 0": "kmalloc: error EINVAL (-22): alignment 0 is not a power of two",
        "kmalloc 0 24": "kmalloc: error EINVAL (-22): alignment 24 is not a power of two",  # checked first
        "kmalloc 0xFFFFFFFF": "kmalloc: error ENOMEM (-12): no room for 4294967295 bytes",
        "kmalloc 100 0x80000000": "kmalloc: error ENOMEM (-12): no room for 100 bytes",
        "kcalloc 0 16": "kcalloc: error EINVAL (-22): the size is 0",
        "kcalloc 0x10000 0x10001": "kcalloc: error ENOMEM (-12): 65536 * 65537 bytes overflows 32 bits",
        "kcalloc 0x10000 0x8000": "kcalloc: error ENOMEM (-12): no room for 65536 * 32768 bytes",
        "krealloc 0x1234 16": "krealloc: error EINVAL (-22): nothing resized at 0x00001234",
        f"krealloc {block:#x} 0xFFFFFFF0":
            "krealloc: error ENOMEM (-12): no room for 4294967280 bytes; the block is unchanged",
        "stack alloc 9": "stack: error EEXIST (-17): pid 9 already has a stack at 0x",
    }
    for command, refusal in cases.items():
        lines = console.run(command).splitlines()
        assert lines[-1].startswith(refusal), (command, lines)
        assert re.fullmatch(r"(kmalloc|kcalloc|krealloc|stack): (pid 9 top )?0x00000000", lines[-2]), lines
    after = console.kv("memstats")
    same = ("used_heap", "free_heap", "num_allocations", "num_stacks", "allocs", "frees")
    assert {k: after[k] for k in same} == {k: before[k] for k in same}
    assert after["failed_allocs"] == before["failed_allocs"] + 4        # the ENOMEM sizes, krealloc too
    assert after["bad_sizes"] == before["bad_sizes"] + 4                # three alignments, one overflow
    assert after["invalid_frees"] == before["invalid_frees"] + 1
    assert after["stack_errors"] == before["stack_errors"] + 1
    assert console.run("krealloc 0 0").strip() == "krealloc: 0x00000000"  # krealloc(NULL, 0): nothing to do
    assert console.run(f"kfree {block:#x}").strip() == "kfree: ok"
    assert console.run("stack free 9").strip() == "stack: pid 9 freed"
    assert "0 violations" in console.run("heapcheck")


def test_aligned_allocation(console: Console):
    a = _addr(console.run("kmalloc 100 4096"), "kmalloc")
    assert a % 4096 == 0
    assert console.run(f"kfree {a:#x}").strip() == "kfree: ok"
    out = console.run("kmalloc 100 24")
    assert "alignment 24 is not a power of two" in out


def test_double_kfree_is_reported_and_counted(console: Console):
    a = _addr(console.run("kmalloc 64"), "kmalloc")
    console.run(f"kfree {a:#x}")
    before = console.kv("memstats")
    out = console.run(f"kfree {a:#x}")
    assert f"kfree: {a:#010x}: double free\nkfree: error EINVAL (-22): nothing freed at {a:#010x}" in out
    assert console.kv("memstats")["double_frees"] == before["double_frees"] + 1


def test_invalid_pointers_are_reported_and_survived(console: Console):
    a = _addr(console.run("kmalloc 64"), "kmalloc")
    before = console.kv("memstats")
    for bad in (a + 8, a + 3, 0x1234, HEAP_START + HEAP_SIZE + 16):
        out = console.run(f"kfree {bad:#x}")
        refusal = rf"^kfree: {bad:#010x}: .+\nkfree: error EINVAL \(-22\): nothing freed at {bad:#010x}$"
        assert re.search(refusal, out, re.M), out
    after = console.kv("memstats")
    assert after["invalid_frees"] == before["invalid_frees"] + 4
    assert after["num_allocations"] == before["num_allocations"]
    assert console.run(f"kfree {a:#x}").strip() == "kfree: ok"
    assert "0 violations" in console.run("heapcheck")


def test_kcalloc_zeroes_and_refuses_overflow(console: Console):
    a = _addr(console.run("kmalloc 256"), "kmalloc")
    for i in range(0, 16):
        console.run(f"poke {a + i:#x} 0xAB")
    console.run(f"kfree {a:#x}")
    c = _addr(console.run("kcalloc 16 16"), "kcalloc")
    dump = console.run(f"peek {c:#x} 256")
    assert set(re.findall(r" ([0-9a-f]{2})", dump)) == {"00"}
    out = console.run("kcalloc 0x10000 0x10001")
    assert "kcalloc: 65536 * 65537 bytes: size overflows" in out
    assert "kcalloc: 0x00000000" in out
    assert console.kv("memstats")["bad_sizes"] >= 1


def test_krealloc_keeps_contents_and_frees_on_zero(console: Console):
    a = _addr(console.run("kmalloc 16"), "kmalloc")
    for i in range(16):
        console.run(f"poke {a + i:#x} {i + 1}")
    b = _addr(console.run(f"krealloc {a:#x} 100000"), "krealloc")
    dump = console.run(f"peek {b:#x} 16")
    assert [int(x, 16) for x in re.findall(r" ([0-9a-f]{2})", dump)] == list(range(1, 17))
    before = console.kv("memstats")
    assert "krealloc: 0x00000000" in console.run(f"krealloc {b:#x} 0")
    assert console.kv("memstats")["num_allocations"] == before["num_allocations"] - 1


def test_out_of_memory_returns_null_after_a_defragment_attempt(console: Console):
    before = console.kv("memstats")
    out = console.run(f"kmalloc {HEAP_SIZE}")
    assert "kmalloc: 31457280 bytes: out of memory" in out
    assert "kmalloc: 0x00000000" in out
    after = console.kv("memstats")
    assert after["defragment_runs"] == before["defragment_runs"] + 1
    assert after["failed_allocs"] == before["failed_allocs"] + 1
    assert "kmalloc: 0x" in console.run("kmalloc 1000")


def test_corrupted_block_header_is_detected(console: Console):
    # Blocks above the small-object size carry an 8-byte header before the payload.
    a = _addr(console.run("kmalloc 4096"), "kmalloc")
    b = _addr(console.run("kmalloc 4096"), "kmalloc")
    for i in range(1, 9):                           # smash b's header
        console.run(f"poke {b - i:#x} 0x5A")
    check = console.run("heapcheck")
    assert not check.strip().endswith("heapcheck: 0 violations"), check
    out = console.run(f"kfree {b:#x}")
    assert f"kfree: error EINVAL (-22): nothing freed at {b:#010x}" in out
    assert console.run(f"kfree {a:#x}")            # the kernel survives and answers


def test_stack_alloc_free_and_refusals(console: Console):
    out = console.run("stack alloc 7")
    top = _addr(out, "top")
    info = console.run("stack info 7")
    base = _addr(info, "base")
    assert top - base == STACK_SIZE
    assert (base - STACK_REGION_START) % STACK_SLOT_SIZE == STACK_GUARD_SIZE
    dup = console.run("stack alloc 7")
    assert "stack_alloc: pid 7: already has a stack" in dup
    assert console.kv("memstats")["num_stacks"] == 1
    assert "stack: pid 7 freed" in console.run("stack free 7")
    unknown = console.run("stack free 7")
    assert "stack_free: pid 7: has no stack\nstack: error ENOENT (-2): pid 7 has no stack to free" in unknown
    for pid in range(100, 100 + MAX_PROCESS_STACKS):
        assert "top 0x02" in console.run(f"stack alloc {pid}")
    full = console.run("stack alloc 999")
    assert f"stack_alloc: pid 999: all {MAX_PROCESS_STACKS} stacks in use" in full
    s = console.kv("memstats")
    assert s["num_stacks"] == MAX_PROCESS_STACKS
    assert s["stack_errors"] >= 3


def test_stack_guard_page_is_unmapped(console: Console):
    top = _addr(console.run("stack alloc 3"), "top")
    base = top - STACK_SIZE
    guard = base - 16
    peek = console.run(f"peek {guard:#x} 16").strip()
    assert peek == f"peek: error EFAULT (-14): {guard:#010x}..+16 is not mapped"
    assert "is not mapped" not in console.run(f"peek {base:#x} 16")
    poke = console.run(f"poke {guard:#x} 1").strip()
    assert poke == (f"poke: error EFAULT (-14): {guard:#010x} is not writable from the shell "
                    "(below the heap or unmapped)")


def test_defrag_reports_what_it_did(console: Console):
    out = console.run("defrag")
    assert re.search(r"memory_defragment: \d+ bytes made available; "
                     r"largest free block \d+ of \d+ free bytes", out)


def test_heapdebug_switches(console: Console):
    assert "poison on, redzone on, track on" in console.run("heapdebug on")
    assert "poison off, redzone off, track off" in console.run("heapdebug off")


def test_bad_numbers_are_refused(console: Console):
    assert "kmalloc: argument 1 (SIZE): lots is not a number" in console.run("kmalloc lots")
    assert "usage: kfree ADDR" in console.run("kfree")
    assert ("kmalloc: argument 1 (SIZE): 99999999999 is out of range (max 4294967295)"
            in console.run("kmalloc 99999999999"))


def test_memstats_counts_only_the_heap_and_stacks_that_are_in_ram(machine_factory):
    """On 32 MiB the RAM ends inside the heap: the heap is clamped and no
    stack slot exists. total_heap and total_stacks say what there is, as the
    boot log does (total_stacks used to claim all 32 slots regardless)."""
    console = machine_factory(memory="32M").start()
    s = console.kv("memstats")
    assert 0 < s["total_heap"] < HEAP_SIZE
    assert s["used_heap"] + s["free_heap"] <= s["total_heap"]
    assert s["total_stacks"] == 0
    assert console.run("stack alloc 7").splitlines() == [
        "stack_alloc: pid 7: the stack region is beyond RAM", "stack: pid 7 top 0x00000000",
        "stack: error ENOMEM (-12): no free stack slot for pid 7"]
    assert console.kv("memstats")["total_stacks"] == 0
    # memtest checks the slots there are: it used to FAIL its stack checks here, and try 32 stacks.
    out = console.run("memtest", timeout=30)
    assert re.search(r"^memtest: \d+ passed, 0 failed$", out, re.M), out
    assert "  stack_alloc is refused: no stack slot is in RAM: ok" in out
    assert out.count("stack_alloc: pid") == 2
