"""Virtual-memory benchmark: guest instructions of mmap, munmap (of one
page, and over 1,000 and 10,000 VMAs), mprotect and of resolving a
demand-zero fault, counted under unicorn on the real kernel image (direct
calls into the shell's address space, no timing), plus the memory a VMA
and a page table cost.

Two fault figures, the 4 KiB clear subtracted from both: vm_fault()
itself (find the VMA, check, fill, map), with 10 and with 10,000 VMAs in
the address space (the lookup is a bisection, so the two should be close);
and a whole fault taken through the IDT, from the exception stub's first
instruction to its iret (the shell's `poke` writing a demand-zero page
through copy_to_user).

Under QEMU, wall-clock: a loop in the guest (run with the shell's `exec`)
writes one byte per page of 64 MiB of fresh anonymous memory, timed with
rdtsc, then runs again over the same, now mapped, memory; the figure is
the ratio of the two.

    from kos.bench import vm
    print(vm.report(vm.measure()))
    print(vm.measure_qemu_touch())
"""

from __future__ import annotations

import re
import statistics
import struct
from typing import Any

from kos.kernel import abi, boot_kernel, s32, split64
from kos.machine import make_machine
from kos.memory.constants import GFP_KERNEL

USER = 0x40000000
PAGE = 4096
PROT_READ, PROT_WRITE = 0x1, 0x2
MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x02, 0x10, 0x20
ACCESS_WRITE = 1
REPEAT = 16


def _mm_field(k: Any, mm: int, name: str) -> int:
    layout = abi(k).struct("mm")
    return int(layout.unpack(k.read(mm, layout.size))[name])


def _mmap(k: Any, mm: int, addr: int, prot: int) -> int:
    r = s32(k.call("vm_mmap", mm, addr, PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED))
    if r != addr:
        raise RuntimeError(f"vm_mmap at {addr:#x} returned {r}")
    return r


def _fault_cost(k: Any, mm: int, nvmas: int, clear: int) -> int:
    """Fill one page of a VMA in the middle of nvmas one-page VMAs (every
    other page, alternating protections so that none merge). nvmas >= 8."""
    for i in range(nvmas):
        _mmap(k, mm, USER + 2 * i * PAGE, PROT_READ | PROT_WRITE if i % 2 else PROT_READ)
    target = USER + 2 * (nvmas // 2 | 1) * PAGE
    # A resident neighbour keeps the page table alive across the munmaps below,
    # so each fill is one frame and one clear, as for a page of a busy region.
    k.call("vm_fault", mm, target + 4 * PAGE, ACCESS_WRITE)
    counts = []
    for _ in range(REPEAT):
        r, n = k.call_counted("vm_fault", mm, target, ACCESS_WRITE)
        if r != 0:
            raise RuntimeError(f"vm_fault at {target:#x} failed ({r})")
        counts.append(n - clear)
        k.call("vm_munmap", mm, target, PAGE)
        _mmap(k, mm, target, PROT_READ | PROT_WRITE)
    k.call("vm_munmap", mm, USER, 2 * nvmas * PAGE)
    return min(counts)


def _munmap_cost(k: Any, mm: int, nvmas: int) -> int:
    """Instructions of one vm_munmap over nvmas one-page VMAs (every other
    page, alternating protections so that none merge), none of them touched:
    the removal of a range of VMAs, which should grow linearly with it."""
    for i in range(nvmas):
        _mmap(k, mm, USER + 2 * i * PAGE, PROT_READ | PROT_WRITE if i % 2 else PROT_READ)
    r, n = k.call_counted("vm_munmap", mm, USER, 2 * nvmas * PAGE)
    if r != 0 or _mm_field(k, mm, "nr_vmas") != 0:
        raise RuntimeError(f"vm_munmap over {nvmas} VMAs returned {r} and left VMAs behind")
    return n


def _fault_entry_to_iret(k: Any, mm: int, clear: int) -> int:
    """Instructions of one demand-zero write fault through the IDT, from
    isr_stub_14 to isr_iret, the clear excluded: the shell's poke of a page
    next to a resident one (so its page table exists, as in _fault_cost)."""
    k.call("vm_mmap", mm, USER, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    k.call("vm_fault", mm, USER + 4 * PAGE, ACCESS_WRITE)
    stub, iret = k.image.symbol("isr_stub_14"), k.image.symbol("isr_iret")
    counts = []
    for _ in range(4):
        with k.counting_spans(stub, iret) as spans:
            k.console.run(f"poke {USER:#x} 1")
        if len(spans) != 1:
            raise RuntimeError(f"poke of a demand-zero page took {len(spans)} faults, not 1")
        counts.append(spans[0] - clear)
        k.call("vm_munmap", mm, USER, PAGE)
        _mmap(k, mm, USER, PROT_READ | PROT_WRITE)
    k.call("vm_munmap", mm, USER, 8 * PAGE)
    return min(counts)


def measure(kernel: Any | None = None) -> dict[str, Any]:
    """The figures, on kernel (default: a fresh one booted under unicorn with
    64 MiB). The address space is left empty."""
    k = kernel or boot_kernel()
    mm = k.call("mm_current")
    frame = k.call("buddy_alloc_zone", 0, GFP_KERNEL)
    _, clear = k.call_counted("memset", frame, 0, PAGE)
    k.call("buddy_free", *split64(frame), 0)

    mmap_munmap = []
    for _ in range(REPEAT):
        addr, n_map = k.call_counted("vm_mmap", mm, 0, PAGE, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS)
        _, n_unmap = k.call_counted("vm_munmap", mm, addr, PAGE)
        mmap_munmap.append(n_map + n_unmap)

    _mmap(k, mm, USER, PROT_READ | PROT_WRITE)
    mprotect = [k.call_counted("vm_mprotect", mm, USER, PAGE, PROT_READ if i % 2 == 0 else 3)[1]
                for i in range(REPEAT)]
    k.call("vm_munmap", mm, USER, PAGE)

    fault_10 = _fault_cost(k, mm, 10, clear)
    fault_10k = _fault_cost(k, mm, 10_000, clear)
    fault_iret = _fault_entry_to_iret(k, mm, clear)
    munmap_1k = _munmap_cost(k, mm, 1_000)
    munmap_10k = _munmap_cost(k, mm, 10_000)

    # Page tables per 2 MiB touched: fill every page of 8 MiB.
    size = 8 << 20
    k.call("vm_mmap", mm, USER, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    before = _mm_field(k, mm, "pt_pages")
    for va in range(USER, USER + size, PAGE):
        k.call("vm_fault", mm, va, ACCESS_WRITE)
    tables = _mm_field(k, mm, "pt_pages") - before
    k.call("vm_munmap", mm, USER, size)

    return {
        "mmap_munmap_one_page": min(mmap_munmap),
        "mprotect_one_page": min(mprotect),
        "memset_4k": clear,
        "fault_demand_zero_10_vmas": fault_10,
        "fault_demand_zero_10000_vmas": fault_10k,
        "fault_ratio_10000_to_10": fault_10k / fault_10,
        "fault_entry_to_iret": fault_iret,
        "munmap_1000_vmas": munmap_1k,
        "munmap_10000_vmas": munmap_10k,
        "munmap_ratio_10000_to_1000": munmap_10k / munmap_1k,
        "bytes_per_vma": abi(k).struct("vma").size,
        "page_tables_per_2mib": tables / (size >> 21),
    }


def report(r: dict[str, Any]) -> str:
    rows = [
        ("mmap + munmap of one page", f"{r['mmap_munmap_one_page']} instructions"),
        ("mprotect of one page", f"{r['mprotect_one_page']} instructions"),
        ("demand-zero fill, 10 VMAs", f"{r['fault_demand_zero_10_vmas']} instructions (4 KiB clear "
                                       f"of {r['memset_4k']} excluded)"),
        ("demand-zero fill, 10,000 VMAs", f"{r['fault_demand_zero_10000_vmas']} instructions "
                                          f"({r['fault_ratio_10000_to_10']:.2f}x)"),
        ("demand-zero fault, entry to iret", f"{r['fault_entry_to_iret']} instructions (clear excluded)"),
        ("munmap of 1,000 VMAs", f"{r['munmap_1000_vmas']} instructions"),
        ("munmap of 10,000 VMAs", f"{r['munmap_10000_vmas']} instructions "
                                  f"({r['munmap_ratio_10000_to_1000']:.2f}x)"),
        ("bytes per VMA", f"{r['bytes_per_vma']} (struct vma, in a doubling array)"),
        ("page-table pages per 2 MiB touched", f"{r['page_tables_per_2mib']:.2f}"),
    ]
    if "qemu_touch_64mib" in r:
        q = r["qemu_touch_64mib"]
        rows.append(("QEMU: touch 64 MiB, fresh / mapped", f"{q['ratio']:.1f}x ({q['fresh_cycles']:.3g} / "
                                                          f"{q['mapped_cycles']:.3g} TSC cycles)"))
    return "\n".join(f"{name:<36} {value}" for name, value in rows)


# The touch loop, cdecl, no arguments: write one byte per page of
# [TOUCH_DATA, TOUCH_DATA + TOUCH_SIZE) and return the rdtsc cycles it took,
# divided by 1024 (so 32 bits hold seconds of it).
TOUCH_CODE = USER
TOUCH_DATA = USER + 0x100000
TOUCH_SIZE = 64 << 20
TOUCH_SHIFT = 10
_TOUCH_LOOP = b"".join([
    bytes.fromhex("565753"),                                  # push esi; push edi; push ebx
    bytes.fromhex("0f31" "89c6" "89d3"),                      # rdtsc; mov esi, eax; mov ebx, edx
    b"\xbf" + struct.pack("<I", TOUCH_DATA),                  # mov edi, TOUCH_DATA
    b"\xb9" + struct.pack("<I", TOUCH_SIZE // PAGE),          # mov ecx, pages
    bytes.fromhex("c60701"),                                  # 1: mov byte [edi], 1
    bytes.fromhex("81c700100000"),                            #    add edi, 4096
    bytes.fromhex("49" "75f4"),                               #    dec ecx; jnz 1b
    bytes.fromhex("0f31" "29f0" "19da"),                      # rdtsc; sub eax, esi; sbb edx, ebx
    bytes.fromhex("0facd0") + bytes([TOUCH_SHIFT]),           # shrd eax, edx, TOUCH_SHIFT
    bytes.fromhex("5b5f5e" "c3"),                             # pop ebx; pop edi; pop esi; ret
])
_EXEC_RE = re.compile(r"exec: returned 0x([0-9a-f]{8})")


def _exec_cycles(console: Any) -> int:
    m = _EXEC_RE.search(console.run(f"exec {TOUCH_CODE:#x}", timeout=120))
    if not m:
        raise RuntimeError("the touch loop did not return")
    return int(m.group(1), 16) << TOUCH_SHIFT


def measure_qemu_touch(runs: int = 3) -> dict[str, float]:
    """Under QEMU (256 MiB): rdtsc cycles of the touch loop over fresh
    anonymous memory and over the same memory mapped, medians of runs, and
    their ratio."""
    m = make_machine("qemu", memory="256M")
    console = m.start(timeout=30)
    try:
        console.run(f"mmap {TOUCH_CODE:#x} 4K rwx private,anonymous,fixed")
        for i, byte in enumerate(_TOUCH_LOOP):
            console.run(f"poke {TOUCH_CODE + i:#x} {byte:#x}")
        fresh, mapped = [], []
        for _ in range(runs):
            console.run(f"mmap {TOUCH_DATA:#x} {TOUCH_SIZE:#x} rw private,anonymous,fixed")
            fresh.append(_exec_cycles(console))
            mapped.append(_exec_cycles(console))
            console.run(f"munmap {TOUCH_DATA:#x} {TOUCH_SIZE:#x}")
    finally:
        m.stop()
    f, p = statistics.median(fresh), statistics.median(mapped)
    return {"fresh_cycles": f, "mapped_cycles": p, "ratio": f / p}
