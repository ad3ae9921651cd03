"""Virtual-memory benchmark: guest instructions of mmap, munmap, mprotect
and of resolving a demand-zero fault, counted under unicorn on the real
kernel image (direct calls into the shell's address space, no timing), plus
the memory a VMA and a page table cost.

The fault figure is vm_fault() itself (find the VMA, check, fill, map),
with the 4 KiB clear subtracted; the exception entry stub, the dispatch and
the iret around it are not in it. Fault cost is measured with 10 and with
10,000 VMAs in the address space: the lookup is a bisection, so the two
should be close.

    from kos.bench import vm
    print(vm.report(vm.measure()))
"""

from __future__ import annotations

from typing import Any

from kos.kernel import abi, boot_kernel, s32
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
    # One VMA at a time from the top: vm_munmap moves the entries above
    # each VMA it removes, so one call over all of them would cost
    # nvmas^2 / 2 entry moves (250 million instructions for 10,000 VMAs).
    for i in reversed(range(nvmas)):
        k.call("vm_munmap", mm, USER + 2 * i * PAGE, PAGE)
    return min(counts)


def measure(kernel: Any | None = None) -> dict[str, Any]:
    """The figures, on kernel (default: a fresh one booted under unicorn with
    64 MiB). The address space is left empty."""
    k = kernel or boot_kernel()
    mm = k.call("mm_current")
    frame = k.call("buddy_alloc_zone", 0, GFP_KERNEL)
    _, clear = k.call_counted("memset", frame, 0, PAGE)
    k.call("buddy_free", frame, 0)

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
        ("bytes per VMA", f"{r['bytes_per_vma']} (struct vma, in a doubling array)"),
        ("page-table pages per 2 MiB touched", f"{r['page_tables_per_2mib']:.2f}"),
    ]
    return "\n".join(f"{name:<36} {value}" for name, value in rows)


if __name__ == "__main__":
    print(report(measure()))
