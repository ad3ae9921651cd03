"""Process benchmark: guest instructions of a getpid round trip, a context
switch, fork (of a process with nothing and with 1 MiB touched), exec of
hello and a copy-on-write fault, counted under unicorn on the real kernel
image while user/bin/procbench runs from the shell.

A code hook in C counts every guest instruction, kernel and user alike, and
the count is noted each time procbench's bench_mark runs (with CR3, so the
marks of a child are told from its parent's) or hello's entry point is
reached after an exec. An operation's cost is the count between the two
marks around it, less the cost of an empty pair of marks; the minimum of
procbench's rounds is kept (a timer tick inside a round adds its handler).

  - getpid: int 0x80 to the instruction after it: entry stub, dispatch,
    the call, the exit hook, iret.
  - context switch: one sched_yield round trip against a child that yields
    back, less two getpid round trips, halved: what a switch adds.
  - fork: the parent's fork() call; per page = (1 MiB - empty) / 256.
  - exec: from the mark before execve to hello's first instruction.
  - COW fault: a write to a page shared with a child, less the 4 KiB copy
    (copy_page_frame, counted by a direct call).

    from kos.bench import proc
    print(proc.report(proc.measure()))
"""

from __future__ import annotations

from typing import Any

from elftools.elf.elffile import ELFFile
from unicorn import Uc
from unicorn import unicorn_const as uc_const
from unicorn import x86_const as x86

from kos import paths
from kos.machine.unicorn import UnicornKernel
from kos.memory.constants import GFP_KERNEL

PAGE = 4096
RUN_TIMEOUT = 600.0


def _symbol(program: str, name: str) -> int:
    with (paths.USER_BUILD / "bin" / program).open("rb") as f:
        elf = ELFFile(f)
        if name == "_entry":
            return int(elf.header["e_entry"])
        symtab = elf.get_section_by_name(".symtab")
        for sym in symtab.iter_symbols():           # type: ignore[union-attr]
            if sym.name == name:
                return int(sym["st_value"])
    raise KeyError(f"{program}: no symbol {name}")


class _Recorder:
    """(kind, cr3, instructions so far) each time user code reaches a
    watched address; the kernel's C hook counts the instructions, and a
    Python hook runs only at the watched addresses."""

    def __init__(self, k: Any, watch: dict[int, str]) -> None:
        self.k = k
        self.watch = watch
        self.events: list[tuple[str, int, int]] = []

    def on_watched(self, uc: Uc, addr: int, size: int, _: object) -> None:
        if uc.reg_read(x86.UC_X86_REG_CS) & 3 == 3:
            self.events.append((self.watch[addr], uc.reg_read(x86.UC_X86_REG_CR3), self.k.instructions))

    def run(self, command: str) -> None:
        uc = self.k.uc
        hooks = [uc.hook_add(uc_const.UC_HOOK_CODE, self.on_watched, None, addr, addr) for addr in self.watch]
        try:
            with self.k.counting():
                out = self.k.console.run(command, timeout=RUN_TIMEOUT)
        finally:
            for hook in hooks:
                uc.hook_del(hook)
            uc.ctl_flush_tb()
        if "exited with status 0" not in out:
            raise RuntimeError(f"{command}: {out[-300:]}")


def _pairs(events: list[tuple[str, int, int]]) -> list[int]:
    """Counts between consecutive marks of the first process that marked."""
    marks = [e for e in events if e[0] == "mark"]
    own = [c for _, cr3, c in marks if cr3 == marks[0][1]]
    return [own[i + 1] - own[i] for i in range(0, len(own) - 1, 2)]


def _mode(k: Any, mode: str, rounds: int) -> tuple[int, list[tuple[str, int, int]]]:
    """(cost of the operation, events) for procbench MODE."""
    mark = _symbol("procbench", "bench_mark")
    rec = _Recorder(k, {mark: "mark", _symbol("hello", "_entry"): "entry"})
    rec.run(f"run /bin/procbench {mode}")
    diffs = _pairs(rec.events)
    empty = min(diffs[:rounds])
    measured = diffs[rounds:]
    return (min(measured) - empty if measured else 0), rec.events


def _exec_cost(events: list[tuple[str, int, int]]) -> int:
    costs = [events[i + 1][2] - c for i, (kind, _, c) in enumerate(events[:-1])
             if kind == "mark" and events[i + 1][0] == "entry"]
    return min(costs)


def measure(kernel: Any | None = None, rounds: int = 8) -> dict[str, Any]:
    if kernel is None:
        kernel = UnicornKernel(modules=[paths.INITRD.read_bytes()]).boot()
        kernel.drain_serial()
    k = kernel
    src = k.call("alloc_pages", GFP_KERNEL, 0)
    dst = k.call("alloc_pages", GFP_KERNEL, 0)
    _, copy = k.call_counted("copy_page_frame", dst, src)
    k.call("free_pages", src, 0)
    k.call("free_pages", dst, 0)
    getpid, _ = _mode(k, "getpid", rounds)
    yield_rt, _ = _mode(k, "yield", rounds)
    fork0, _ = _mode(k, "fork0", rounds)
    fork1m, _ = _mode(k, "fork1m", rounds)
    _, exec_events = _mode(k, "exec", rounds)
    cow, _ = _mode(k, "cow", rounds)
    return {
        "getpid_round_trip": getpid,
        "sched_yield_round_trip": yield_rt,
        "context_switch": (yield_rt - 2 * getpid) // 2,
        "fork_empty": fork0,
        "fork_1mib": fork1m,
        "fork_per_page": (fork1m - fork0) / 256,
        "exec_hello": _exec_cost(exec_events),
        "cow_fault": cow - copy,
        "copy_page_frame": copy,
    }


# The targets, as ceilings.
TARGETS = {
    "getpid_round_trip": 150,
    "context_switch": 400,
    "exec_hello": 50_000,
    "cow_fault": 700,
}


def report(r: dict[str, Any]) -> str:
    rows = [
        ("getpid round trip", f"{r['getpid_round_trip']} instructions (target <= 150)"),
        ("context switch", f"{r['context_switch']} instructions (target <= 400; sched_yield "
                           f"round trip {r['sched_yield_round_trip']})"),
        ("fork, 1 MiB touched", f"{r['fork_1mib']} instructions = {r['fork_empty']} + "
                                f"{r['fork_per_page']:.1f} per page (target <= 3,000 + 40 per page)"),
        ("exec of hello", f"{r['exec_hello']} instructions (target <= 50,000)"),
        ("COW fault", f"{r['cow_fault']} instructions, the 4 KiB copy of {r['copy_page_frame']} "
                      f"excluded (target <= 700)"),
    ]
    return "\n".join(f"{name:<24} {value}" for name, value in rows)


if __name__ == "__main__":
    print(report(measure()))
