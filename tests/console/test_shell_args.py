"""The shell's one number parser (kernel/shell/args.c): every command
takes decimal, 0x hex and K/M/G suffixes alike, and a refused number names
the command, the argument's position and role, and the reason, and changes
nothing."""

from __future__ import annotations

import pytest

from kos.console import Console

U32_MAX = 0xFFFFFFFF
SUFFIX = "is not a number: only K, M or G may follow the digits"


def test_a_pid_beyond_32_bits_is_out_of_range_and_no_stack_is_made(console: Console):
    before = console.kv("memstats")["num_stacks"]
    out = console.run("stack alloc 99999999999999")
    assert out.strip() == f"stack: argument 2 (PID): 99999999999999 is out of range (max {U32_MAX})"
    assert console.kv("memstats")["num_stacks"] == before


@pytest.mark.parametrize(("command", "error"), [
    ("kmalloc lots", "kmalloc: argument 1 (SIZE): lots is not a number (decimal, or hex with 0x)"),
    ("kmalloc 0x", "kmalloc: argument 1 (SIZE): 0x is not a number (decimal, or hex with 0x)"),
    ("kmalloc 0xg1", "kmalloc: argument 1 (SIZE): 0xg1 is not a number (decimal, or hex with 0x)"),
    ("kmalloc 4Q", f"kmalloc: argument 1 (SIZE): 4Q {SUFFIX}"),
    ("kmalloc 4KK", f"kmalloc: argument 1 (SIZE): 4KK {SUFFIX}"),
    ("kmalloc 12ab", f"kmalloc: argument 1 (SIZE): 12ab {SUFFIX}"),
    ("kmalloc 4294967296", f"kmalloc: argument 1 (SIZE): 4294967296 is out of range (max {U32_MAX})"),
    ("kmalloc 0x100000000", f"kmalloc: argument 1 (SIZE): 0x100000000 is out of range (max {U32_MAX})"),
    ("kmalloc 4G", f"kmalloc: argument 1 (SIZE): 4G is out of range (max {U32_MAX})"),
    ("kmalloc 16 8x", f"kmalloc: argument 2 (ALIGN): 8x {SUFFIX}"),
    ("poke 0x2000000 256", "poke: argument 2 (BYTE): 256 is out of range (max 255)"),
    ("peek 0x200000 8K", "peek: argument 2 (LEN): 8K is out of range (max 4096)"),
    ("buddy free 0x1000 nine", "buddy: argument 3 (ORDER): nine is not a number (decimal, or hex with 0x)"),
    ("slab free 1 addr", "slab: argument 3 (ADDR): addr is not a number (decimal, or hex with 0x)"),
    ("page map 0x2200000 -1", "page: argument 3 (VADDR): -1 is not a number (decimal, or hex with 0x)"),
])
def test_a_bad_number_names_its_argument_and_why(console: Console, command: str, error: str):
    before = console.kv("memstats")
    assert console.run(command).strip() == error
    after = console.kv("memstats")
    assert (after["num_allocations"], after["allocs"]) == (before["num_allocations"], before["allocs"])


def test_hex_and_suffixes_mean_what_they_say(console: Console):
    used = console.kv("memstats")["used_heap"]
    a = console.run("kmalloc 64K")
    assert "kmalloc: 0x" in a
    grown = console.kv("memstats")["used_heap"] - used
    assert 64 << 10 <= grown < 2 * (64 << 10)
    free0 = console.kv("page count")["free_pages"]
    block = console.kv("page alloc 0x2")             # order 2: four frames
    assert console.kv("page count")["free_pages"] == free0 - 4
    assert console.kv(f"page free {block['addr']:#x} 2")["result"] == 0
    assert console.kv("page count")["free_pages"] == free0
    assert console.kv("page info 1M")["physical_addr"] == 0x100000     # 1M = 0x100000: the kernel image


def test_the_largest_number_is_accepted(console: Console):
    out = console.run(f"kmalloc {U32_MAX}")
    assert "kmalloc: 0x00000000" in out and "is out of range" not in out    # parsed; the heap refuses
    assert "kmalloc: 0x00000000" in console.run("kmalloc 0xFFFFFFFF")


@pytest.mark.parametrize(("offset", "why"), [
    ("xyz", "xyz is not a number (decimal, or hex with 0x)"),
    ("5G", f"5G is out of range (max {U32_MAX})"),
])
def test_a_bad_mmap_offset_is_the_only_reason_given(console: Console, offset: str, why: str):
    # A refusal first, whose reason must not be printed again for the offset.
    assert "mmap: error EINVAL (-22): the length is 0" in console.run("mmap 0 0 r private")
    out = console.run(f"mmap 0 4096 r private /etc/motd {offset}")
    assert out.strip().splitlines() == [f"mmap: argument 6 (OFFSET): {why}", "mmap: error EINVAL (-22)"]
    assert "/etc/motd" not in console.run("maps")
