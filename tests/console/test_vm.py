"""Virtual memory from the shell: PAE with and without NX, mmap, munmap,
mprotect, maps, peek/poke through the fault-safe path, exec, vmstat, and
every kind of fault report. Each test drives the real kernel over its
serial port, on both machines."""

from __future__ import annotations

import re

import pytest

from kos.console import Console
from kos.machine import QemuMachine

USER = 0x40000000
PAGE = 4096
# mov eax, 0x2a ; ret
RETURN_42 = [0xB8, 0x2A, 0x00, 0x00, 0x00, 0xC3]


def mapped(console: Console, command: str) -> int:
    out = console.run(command)
    m = re.fullmatch(r"mmap: (0x[0-9a-f]{8})", out)
    assert m, out
    return int(m.group(1), 16)


def maps(console: Console) -> list[str]:
    return console.run("maps").splitlines()


def vmstat(console: Console) -> dict[str, int | str]:
    return console.kv("vmstat")


def free_frames(console: Console) -> int:
    return int(console.kv("meminfo")["free_frames"])


def peek_bytes(console: Console, addr: int, n: int = 16) -> list[int]:
    out = console.run(f"peek {addr:#x} {n}")
    values: list[int] = []
    for line in out.splitlines():
        m = re.fullmatch(r"0x[0-9a-f]{8}:((?: [0-9a-f]{2})+)", line)
        assert m, out
        values += [int(b, 16) for b in m.group(1).split()]
    return values


def write_code(console: Console, addr: int, code: list[int]) -> None:
    for i, byte in enumerate(code):
        assert console.run(f"poke {addr + i:#x} {byte:#x}") == ""


def refused(out: str, name: str, code: int, why: str) -> None:
    """One refusal, its reason once: "cmd: error NAME (-N): why", or the
    number parser's reason line and then the error line alone."""
    lines = out.splitlines()
    error = f": error {name} ({code})"
    if len(lines) == 1:
        assert error + ": " in lines[0] and why in lines[0].partition(error)[2], out
    else:
        assert len(lines) == 2 and ": argument " in lines[0] and why in lines[0], out
        assert lines[1].endswith(error), out


# ---- paging -----------------------------------------------------------------

def test_boot_turns_on_pae_and_nx(machine_factory):
    m = machine_factory()
    m.start(wait_prompt=False)
    assert m.console is not None
    boot = m.console.wait_prompt(timeout=15)
    assert "paging: identity map 0x00000000-0x03fdffff (PAE), page 0 unmapped" in boot
    assert "paging: NX on, PROT_EXEC is enforced" in boot
    assert m.console.kv("vmstat")["nx"] == 1


def test_default_qemu32_has_no_nx_and_everything_else_works(kernel, tmp_path):
    m = QemuMachine(kernel, "64M", tmp_path / "qemu32.log")
    m.cpu = "qemu32"
    try:
        console = m.start(wait_prompt=False)
        boot = console.wait_prompt(timeout=15)
        assert "PROT_EXEC is not enforced on this CPU" in boot
        assert "NX on" not in boot
        assert console.kv("vmstat")["nx"] == 0
        addr = mapped(console, "mmap 0 8K rw private,anonymous")
        write_code(console, addr, RETURN_42)
        out = console.run(f"exec {addr:x}")
        assert out == "exec: PROT_EXEC is not enforced on this CPU\nexec: returned 0x0000002a"
        assert console.run(f"poke {addr + PAGE:#x} 7") == ""
        assert console.run(f"mprotect {addr:x} 8K r") == "mprotect: ok"
        assert "write to a read-only mapping (r--p)" in console.run(f"poke {addr:#x} 1")
        assert "fault: instruction fetch" not in console.run("exec 60000000")
    finally:
        m.stop()


def test_null_page_and_kernel_half_are_still_guarded(console):
    assert "is not mapped" in console.run("peek 0x0")
    out = console.run("mmap 10000000 4096 rw private,anonymous,fixed")
    refused(out, "ENOMEM", -12, "outside user space")


# ---- mmap ----------------------------------------------------------------------

def test_mmap_returns_the_first_user_address_and_maps_lists_it(console):
    assert mapped(console, "mmap 0 12K rw private,anonymous") == USER
    assert maps(console) == ["40000000-40003000 rw-p 00000000 00:00 0"]
    st = vmstat(console)
    assert st["vmas"] == 1 and st["virtual_size"] == 3 * PAGE
    assert st["pages_resident"] == 0                      # demand-zero: nothing until touched


def test_mmap_accepts_every_spelling_of_prot_and_flags(console):
    a = mapped(console, "mmap 0 4096 r-x MAP_PRIVATE|MAP_ANONYMOUS")
    b = mapped(console, "mmap 0x50000000 1 none Private,Anonymous")
    c = mapped(console, "mmap 0 5000 RW shared|anonymous")
    assert (a, b) == (USER, 0x50000000)
    assert maps(console) == [
        "40000000-40001000 r-xp 00000000 00:00 0",
        f"{c:08x}-{c + 2 * PAGE:08x} rw-s 00000000 00:00 0",
        "50000000-50001000 ---p 00000000 00:00 0",
    ]


@pytest.mark.parametrize("command, name, code, why", [
    ("mmap 0 0 rw private,anonymous", "EINVAL", -22, "the length is 0"),
    ("mmap 0 4096 rw anonymous", "EINVAL", -22, "exactly one of shared and private"),
    ("mmap 0 4096 rw private,shared,anonymous", "EINVAL", -22, "exactly one of shared and private"),
    ("mmap 40000800 4096 rw private,anonymous,fixed", "EINVAL", -22, "page aligned"),
    ("mmap 0 4096 rwz private,anonymous", "EINVAL", -22, "PROT is 'none' or letters of rwx"),
    ("mmap 0 4096 rw private,anonymous,huge", "EINVAL", -22, "unknown flag at 'huge'"),
    ("mmap 0 4096 rw private", "EBADF", -9, "no file to map"),
    ("mmap 0 4G rw private,anonymous", "EINVAL", -22, "argument 2 (LEN): 4G is out of range"),
    ("mmap 0 0xc0000000 rw private,anonymous", "ENOMEM", -12, "longer than user space"),
    ("mmap fffff000 4096 rw private,anonymous,fixed", "ENOMEM", -12, "outside user space"),
    ("mmap 3ffff000 8192 rw private,anonymous,fixed", "ENOMEM", -12, "outside user space"),
    ("mmap zz 4096 rw private,anonymous", "EINVAL", -22, "ADDR is not a hex address"),
])
def test_mmap_refuses_bad_arguments_with_a_reason(console, command, name, code, why):
    out = console.run(command)
    refused(out, name, code, why)
    assert maps(console) == []
    assert "mmap: 0x" in console.run("mmap 0 4096 rw private,anonymous")   # the shell goes on


def test_mmap_without_a_free_range_is_refused(console):
    mapped(console, "mmap 80000000 4096 r private,anonymous,fixed")
    refused(console.run("mmap 0 2G rw private,anonymous"), "ENOMEM", -12, "no free range")
    assert mapped(console, "mmap 0 1G rw private,anonymous") == USER


def test_mmap_hint_is_only_a_hint_and_never_overlaps(console):
    assert mapped(console, "mmap 40010000 4096 rw private,anonymous") == 0x40010000
    other = mapped(console, "mmap 40010000 4096 r private,anonymous")
    assert other != 0x40010000
    assert len(maps(console)) == 2


def test_mmap_fixed_replaces_several_mappings_at_once(console):
    for i, prot in enumerate(["r", "rw", "rx"]):
        mapped(console, f"mmap {USER + i * 2 * PAGE:x} 4096 {prot} private,anonymous,fixed")
    assert console.run(f"poke {USER + 2 * PAGE:#x} 9") == ""
    assert mapped(console, f"mmap {USER:x} 24K rw private,anonymous,fixed") == USER
    assert maps(console) == ["40000000-40006000 rw-p 00000000 00:00 0"]
    assert peek_bytes(console, USER + 2 * PAGE, 1) == [0]     # the old page is gone


def test_adjacent_compatible_mappings_merge(console):
    mapped(console, f"mmap {USER:x} 4096 rw private,anonymous,fixed")
    mapped(console, f"mmap {USER + PAGE:x} 4096 rw private,anonymous,fixed")
    mapped(console, f"mmap {USER + 2 * PAGE:x} 4096 r private,anonymous,fixed")
    assert maps(console) == ["40000000-40002000 rw-p 00000000 00:00 0",
                             "40002000-40003000 r--p 00000000 00:00 0"]
    assert console.run(f"mprotect {USER + 2 * PAGE:x} 4096 rw") == "mprotect: ok"
    assert maps(console) == ["40000000-40003000 rw-p 00000000 00:00 0"]


def test_a_page_that_was_writable_merges_with_one_that_never_was(console):
    """As Linux: once both are PROT_NONE they are one mapping (only the W^X
    policy reads the history that one was writable; under it they stay
    two, and the page never writable may still become executable)."""
    for base in (USER, USER + 4 * PAGE):
        if base != USER:
            assert console.run("wx on").startswith("wx: on")
        mapped(console, f"mmap {base:x} 8192 none private,anonymous,fixed")
        mapped(console, f"mmap {base:x} 4096 rw private,anonymous,fixed")
        assert console.run(f"mprotect {base:x} 4096 none") == "mprotect: ok"
    assert maps(console) == ["40000000-40002000 ---p 00000000 00:00 0",
                             "40004000-40005000 ---p 00000000 00:00 0",
                             "40005000-40006000 ---p 00000000 00:00 0"]
    assert console.run(f"mprotect {USER + 5 * PAGE:x} 4096 rx") == "mprotect: ok"


# ---- demand paging, populate, locked, shared -----------------------------------

def test_untouched_page_reads_as_zeros_and_counts_a_minor_fault(console):
    mapped(console, "mmap 0 8K rw private,anonymous")
    before = vmstat(console)
    assert peek_bytes(console, USER + 100, 16) == [0] * 16
    after = vmstat(console)
    assert after["minor_faults"] == before["minor_faults"] + 1
    assert after["pages_resident"] == before["pages_resident"]      # the shared zero page
    assert console.run(f"poke {USER + 100:#x} 0x5a") == ""
    written = vmstat(console)
    assert written["pages_resident"] == before["pages_resident"] + 1
    assert peek_bytes(console, USER + 99, 3) == [0, 0x5A, 0]


def test_populate_and_locked_fill_during_the_call(console):
    base = free_frames(console)
    mapped(console, "mmap 0 64K rw private,anonymous,populate")
    st = vmstat(console)
    assert st["pages_resident"] == 16 and st["pages_locked"] == 0
    mapped(console, "mmap 0 32K r private,anonymous,locked")
    st = vmstat(console)
    assert st["pages_resident"] == 24 and st["pages_locked"] == 8
    assert free_frames(console) <= base - 24
    assert console.run(f"munmap {USER:x} 96K") == "munmap: ok"
    st = vmstat(console)
    assert (st["pages_resident"], st["pages_locked"], st["vmas"]) == (0, 0, 0)
    assert free_frames(console) == base


def test_populate_out_of_memory_gives_everything_back(machine_factory):
    m = machine_factory("32M")                     # 1.4 MiB of frames: running out is quick
    console = m.start()
    base = free_frames(console)
    out = console.run("mmap 0 8M rw private,anonymous,populate", timeout=60)
    refused(out, "ENOMEM", -12, "out of memory while populating: everything given back")
    assert maps(console) == []
    assert vmstat(console)["pages_resident"] == 0
    assert free_frames(console) == base
    assert console.run("buddycheck") == "buddycheck: 0 violations"


def test_shared_anonymous_memory_is_one_object_across_splits(console):
    mapped(console, "mmap 0 12K rw shared,anonymous")
    for i in range(3):
        assert console.run(f"poke {USER + i * PAGE:#x} {0x10 + i}") == ""
    assert console.run(f"mprotect {USER + PAGE:x} 4096 r") == "mprotect: ok"
    assert console.run(f"munmap {USER:x} 4096") == "munmap: ok"
    assert maps(console) == ["40001000-40002000 r--s 00001000 00:00 0",
                             "40002000-40003000 rw-s 00002000 00:00 0"]
    assert peek_bytes(console, USER + PAGE, 1) == [0x11]
    assert peek_bytes(console, USER + 2 * PAGE, 1) == [0x12]
    assert console.run(f"mprotect {USER + PAGE:x} 4096 rw") == "mprotect: ok"
    assert maps(console) == ["40001000-40003000 rw-s 00001000 00:00 0"]   # same object: merged


# ---- munmap and mprotect -------------------------------------------------------

def test_munmap_splits_and_unmapped_ranges_are_fine(console):
    mapped(console, "mmap 0 16K rw private,anonymous")
    assert console.run(f"poke {USER + 3 * PAGE:#x} 3") == ""
    assert console.run(f"munmap {USER + PAGE:x} 8K") == "munmap: ok"
    assert maps(console) == ["40000000-40001000 rw-p 00000000 00:00 0",
                             "40003000-40004000 rw-p 00000000 00:00 0"]
    assert peek_bytes(console, USER + 3 * PAGE, 1) == [3]
    assert console.run("munmap 70000000 1M") == "munmap: ok"      # nothing there
    assert "no mapping" in console.run(f"peek {USER + PAGE:#x}")


@pytest.mark.parametrize("command, name, code, why", [
    ("munmap 40000000 0", "EINVAL", -22, "the length is 0"),
    ("munmap 40000010 4096", "EINVAL", -22, "page aligned"),
    ("munmap 1000000 4096", "EINVAL", -22, "outside user space"),
    ("mprotect 40000010 4096 r", "EINVAL", -22, "page aligned"),
    ("mprotect 40000000 4096 q", "EINVAL", -22, "PROT is 'none'"),
    ("mprotect 60000000 4096 r", "ENOMEM", -12, "no mapping at the start"),
    ("mprotect 1000000 4096 r", "ENOMEM", -12, "outside user space"),
])
def test_munmap_and_mprotect_refuse_with_a_reason(console, command, name, code, why):
    mapped(console, "mmap 0 4096 rw private,anonymous")
    refused(console.run(command), name, code, why)
    assert maps(console) == ["40000000-40001000 rw-p 00000000 00:00 0"]


def test_mprotect_over_a_hole_changes_the_pages_before_it(console):
    mapped(console, f"mmap {USER:x} 8K rw private,anonymous,fixed")
    mapped(console, f"mmap {USER + 3 * PAGE:x} 4096 rw private,anonymous,fixed")
    out = console.run(f"mprotect {USER + PAGE:x} 12K r")
    refused(out, "ENOMEM", -12, "a hole in the range")
    assert maps(console) == ["40000000-40001000 rw-p 00000000 00:00 0",
                             "40001000-40002000 r--p 00000000 00:00 0",
                             "40003000-40004000 rw-p 00000000 00:00 0"]
    assert console.run(f"mprotect {USER:x} 0 none") == "mprotect: ok"
    assert len(maps(console)) == 3


def test_write_implies_read(console):
    mapped(console, "mmap 0 4096 -w- private,anonymous")
    assert console.run(f"poke {USER:#x} 0x77") == ""
    assert peek_bytes(console, USER, 1) == [0x77]
    assert maps(console) == ["40000000-40001000 -w-p 00000000 00:00 0"]


def test_tlb_is_flushed_when_a_writable_page_becomes_read_only(console):
    mapped(console, "mmap 0 4096 rw private,anonymous")
    assert console.run(f"poke {USER:#x} 1") == ""                 # in the TLB as writable
    assert console.run(f"poke {USER:#x} 2") == ""
    assert console.run(f"mprotect {USER:x} 4096 r") == "mprotect: ok"
    out = console.run(f"poke {USER:#x} 3")
    assert out == "poke: 0x40000000: fault: write to a read-only mapping (r--p)"
    assert peek_bytes(console, USER, 1) == [2]


# ---- fault reports -------------------------------------------------------------

def test_every_kind_of_fault_is_reported_and_counted(console):
    mapped(console, f"mmap {USER:x} 4096 r private,anonymous,fixed")
    mapped(console, f"mmap {USER + PAGE:x} 4096 none private,anonymous,fixed")
    mapped(console, f"mmap {USER + 2 * PAGE:x} 4096 rw private,anonymous,fixed")
    reports = {
        f"poke {USER:#x} 1": "poke: 0x40000000: fault: write to a read-only mapping (r--p)",
        f"peek {USER + PAGE:#x}": "peek: 0x40001000: fault: read from an inaccessible mapping (---p)",
        f"poke {USER + PAGE:#x} 1": "poke: 0x40001000: fault: write to an inaccessible mapping (---p)",
        "peek 0x48000000": "peek: 0x48000000: fault: read from an unmapped address (no mapping)",
        f"exec {USER + 2 * PAGE:x}":
            "exec: 0x40002000: fault: instruction fetch from a non-executable mapping (rw-p)",
        "exec 48000000": "exec: 0x48000000: fault: instruction fetch from an unmapped address (no mapping)",
    }
    for command, report in reports.items():
        assert console.run(command) == report + ""
    st = vmstat(console)
    assert st["faults_protection"] == 4 and st["faults_not_mapped"] == 2
    assert st["faults_stack_limit"] == 0


def test_out_of_memory_while_filling_is_reported_and_the_shell_goes_on(console):
    mapped(console, "mmap 0 8K rw private,anonymous")
    taken: list[tuple[int, int]] = []
    for order in range(10, -1, -1):
        while True:
            m = re.search(r"^addr: (0x[0-9a-f]{8})$", console.run(f"buddy alloc {order}"), re.M)
            if not m or int(m.group(1), 16) == 0:
                break
            taken.append((int(m.group(1), 16), order))
    assert free_frames(console) == 0
    out = console.run(f"poke {USER:#x} 1")
    assert out == "poke: 0x40000000: fault: write to a page with no free frame: out of memory (rw-p)"
    assert vmstat(console)["faults_oom"] == 1
    for addr, order in taken:
        assert "result: 0" in console.run(f"buddy free {addr:#x} {order}")
    assert console.run(f"poke {USER:#x} 1") == ""
    assert peek_bytes(console, USER, 1) == [1]


def test_maps_puts_a_name_at_column_50_whatever_the_inode(console):
    """As Linux's /proc/PID/maps on i386: the fixed fields padded to 48
    columns, a space, then the name, for a one-digit inode and a longer one."""
    files = ["/data/numbers.txt", "/bin/systest"]
    inodes = [int(console.kv(f"stat {f}")["inode"]) for f in files]
    assert inodes[0] < 10 <= inodes[1], inodes
    for i, f in enumerate(files):
        mapped(console, f"mmap {USER + 2 * i * PAGE:x} 4096 r private {f}")
    mapped(console, f"mmap {USER + 4 * PAGE:x} 4096 rw private,anonymous,growsdown,fixed")
    heads = [f"{USER + 2 * i * PAGE:08x}-{USER + (2 * i + 1) * PAGE:08x} r--p 00000000 00:00 {n}"
             for i, n in enumerate(inodes)]
    stack = f"{USER + 4 * PAGE:08x}-{USER + 5 * PAGE:08x} rw-p 00000000 00:00 0"
    want = [f"{head:<48} {name}" for head, name in [*zip(heads, files, strict=True), (stack, "[stack]")]]
    assert maps(console) == want


def test_a_locked_file_mapping_counts_its_pages_locked_and_uncounts_them_at_munmap(console):
    mapped(console, "mmap 0 4096 r private,locked /data/numbers.txt")
    assert vmstat(console)["pages_resident"] == 1 and vmstat(console)["pages_locked"] == 1
    assert console.run(f"munmap {USER:x} 4096") == "munmap: ok"
    assert vmstat(console)["pages_locked"] == 0


def test_populate_of_a_file_mapping_past_the_end_of_the_file_fills_what_the_file_has(console):
    """As Linux's mmap: MAP_POPULATE and MAP_LOCKED fill the pages the file
    has; a page beyond its end is left to fault with SIGBUS when touched,
    and the mapping is made, not refused as out of memory."""
    for flags in ("private,populate", "shared,locked"):
        addr = mapped(console, f"mmap 0 8192 r {flags} /data/numbers.txt")
        assert vmstat(console)["pages_resident"] == 1, flags
        assert peek_bytes(console, addr, 4) == list(b"1\n2\n")
        out = console.run(f"peek {addr + PAGE:#x} 1")
        assert "fault: read from a page beyond the end of its file (SIGBUS)" in out, out
        assert console.run(f"munmap {addr:x} 8192") == "munmap: ok"
    assert vmstat(console)["pages_locked"] == 0


def test_a_shared_growsdown_mapping_never_grows(console):
    """Its object's pages are numbered from its start: as in Linux (whose
    shared anonymous memory has no page offset below 0 to grow into), a
    touch below it is an unmapped address, and the mapping stays as it was
    (growing, it mapped the object's first page twice, then indexed past
    the object's page array)."""
    top = 0x50010000
    mapped(console, f"mmap {top:x} 4096 rw shared,anonymous,growsdown,fixed")
    assert console.run(f"poke {top:#x} 0x11") == ""
    for below in (top - PAGE, top - 2 * PAGE):
        out = console.run(f"poke {below:#x} 0x22")
        assert out == f"poke: {below:#010x}: fault: write to an unmapped address (no mapping)", out
    assert maps(console) == [f"{top:08x}-{top + PAGE:08x} rw-s 00000000 00:00 0          [stack]"]
    assert peek_bytes(console, top, 1) == [0x11]
    assert console.run("heapcheck") == "heapcheck: 0 violations"


def test_growsdown_grows_to_the_limit_and_never_into_another_mapping(console):
    top = 0x60000000
    mapped(console, f"mmap {top - PAGE:x} 4096 rw private,anonymous,growsdown,fixed")
    assert maps(console) == [f"{top - PAGE:08x}-{top:08x} rw-p 00000000 00:00 0          [stack]"]
    assert console.run(f"poke {top - 5 * PAGE:#x} 1") == ""
    assert maps(console)[0].startswith(f"{top - 5 * PAGE:08x}-{top:08x} rw-p")
    beyond = top - (8 << 20) - PAGE
    out = console.run(f"poke {beyond:#x} 1")
    assert out == f"poke: {beyond:#010x}: fault: write to an address beyond the stack limit (rw-p)"
    below = top - 64 * PAGE
    mapped(console, f"mmap {below - PAGE:x} 4096 r private,anonymous,fixed")
    out = console.run(f"poke {below:#x} 1")                  # would touch the mapping under it
    assert "beyond the stack limit" in out
    assert console.run(f"poke {below + PAGE:#x} 1") == ""
    assert vmstat(console)["faults_stack_limit"] == 2


# ---- exec and vmstat -----------------------------------------------------------

def test_exec_runs_code_in_an_executable_mapping(console):
    addr = mapped(console, "mmap 0 4096 rwx private,anonymous")
    write_code(console, addr, RETURN_42)
    assert console.run(f"exec {addr:x}") == "exec: returned 0x0000002a"
    assert console.run(f"mprotect {addr:x} 4096 rw") == "mprotect: ok"
    out = console.run(f"exec {addr:x}")
    assert out == "exec: 0x40000000: fault: instruction fetch from a non-executable mapping (rw-p)"
    assert console.run(f"mprotect {addr:x} 4096 r-x") == "mprotect: ok"
    assert console.run(f"exec {addr:x}") == "exec: returned 0x0000002a"


def test_vmstat_names_every_counter(console):
    keys = set(vmstat(console))
    assert {"minor_faults", "cow_faults", "pages_resident", "pages_locked", "page_table_pages",
            "vmas", "virtual_size", "faults_not_mapped", "faults_protection", "faults_stack_limit",
            "faults_oom"} <= keys


def test_page_tables_are_counted_and_given_back(console):
    base = vmstat(console)["page_table_pages"]
    frames = free_frames(console)
    mapped(console, "mmap 0 4M rw private,anonymous")
    for mib in range(4):
        assert console.run(f"poke {USER + mib * (1 << 20):#x} 1") == ""
    assert vmstat(console)["page_table_pages"] == base + 2         # one table per 2 MiB
    assert console.run(f"munmap {USER:x} 4M") == "munmap: ok"
    assert vmstat(console)["page_table_pages"] == base
    assert free_frames(console) == frames




@pytest.mark.parametrize("memory", ["2G", "3G"])
def test_large_machines_map_896_mib_and_keep_highmem_unmapped(machine_factory, memory):
    m = machine_factory(memory)
    m.start(wait_prompt=False)
    assert m.console is not None
    boot = m.console.wait_prompt(timeout=60)
    assert "paging: identity map 0x00000000-0x37ffffff (PAE), page 0 unmapped" in boot
    out = m.console.run("buddy alloc 0 highmem")
    assert "zone: HighMem" in out
    assert "is not mapped" in m.console.run("peek 0x38000000")          # no direct map above 896 MiB
    mapped(m.console, "mmap 0 1M rw private,anonymous,populate")
    assert vmstat(m.console)["pages_resident"] == 256
