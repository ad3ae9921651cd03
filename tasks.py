"""invoke tasks: build, iso, run, debug, test, bench, coverage, plot, clean. `invoke --list` shows them."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from invoke import Context, task

from kos import build as kbuild
from kos import paths
from kos.machine import choose_emulator, qemu_available, qemu_command
from kos.machine.memsize import size_option
from kos.machine.qemu import INSTALL_HINT
from kos.progress import say

if TYPE_CHECKING:
    from kos.ktest import BootRun

# What `run` says when it boots through GRUB (kos.machine.handover says why).
HELD = ("GRUB boots its first entry by hotkey; what you type meanwhile waits until the kernel is up "
        "(GRUB would take it)")

# pytest.ExitCode.NO_TESTS_COLLECTED, without importing pytest into every task.
PYTEST_NO_TESTS = 5


def _build(verbose: bool = True) -> Path:
    try:
        return kbuild.build(verbose=verbose)
    except kbuild.BuildError as e:
        sys.exit(f"build: {e}")


def _memory(task_name: str, text: str) -> str:
    """--memory checked before anything is built, as every machine reads it."""
    try:
        return size_option(text)
    except ValueError as e:
        sys.exit(f"{task_name}: --memory: {e}")


def _jobs(task_name: str, text: str) -> int:
    """--jobs as a count, 0 (or none) for one per core. Taken as text: invoke
    would answer 'x' with a ValueError traceback."""
    if not text.strip():
        return 0
    if not text.strip().isdigit():
        sys.exit(f"{task_name}: --jobs {text}: give a number of workers, or 0 for one per core")
    return int(text)


@task(help={"jobs": "parallel compilers (default: one per core)"})
def build(c: Context, jobs: str = "") -> None:
    """Compile the kernel, the user programs and build/initrd.tar, incrementally.

    build/kernel.elf (plus kernel.sym, kernel.asm), the user programs in
    build/user/bin, both of them in build/initrd.tar."""
    try:
        elf = kbuild.build(jobs=_jobs("build", jobs) or None, verbose=True)
    except kbuild.BuildError as e:
        sys.exit(f"build: {e}")
    print(f"build: {elf.relative_to(paths.ROOT)} is up to date")


def _iso(elf: Path) -> Path:
    from kos import iso as kiso

    try:
        return kiso.build_iso(elf, verbose=True)
    except kbuild.BuildError as e:
        sys.exit(f"iso: {e}")


def _emulator_for(task_name: str, emulator: str, iso: bool, memory: str) -> tuple[str, str]:
    """The emulator run and ktest boot (and why), refused in one line
    before anything is built where it cannot do what was asked: GRUB under
    unicorn, or a size Bochs cannot emulate."""
    name, why = choose_emulator(emulator or ("qemu" if iso else ""))
    if iso and name == "unicorn":
        sys.exit(f"{task_name}: --iso boots through GRUB, which the embedded emulator cannot run: "
                 "use qemu or bochs")
    if name == "bochs":
        from kos.machine.bochs.config import memory_size

        try:
            memory_size(memory)
        except ValueError as e:
            sys.exit(f"{task_name}: --memory: {e}")
    return name, why


@task
def iso(c: Context) -> None:
    """Build build/kos.iso: GRUB 2 on the serial console, booting the kernel (and build/initrd.tar)."""
    out = _iso(_build())
    print(f"iso: {out.relative_to(paths.ROOT)} is up to date")


@task(help={"emulator": "qemu, unicorn or bochs (default: QEMU when installed, else unicorn)",
            "memory": "guest RAM, e.g. 64M or 1G",
            "iso": "boot build/kos.iso through GRUB (QEMU -cdrom) instead of the kernel directly"})
def run(c: Context, emulator: str = "", memory: str = "64M", iso: bool = False) -> None:
    """Build and boot KOS, its serial console on this terminal.

    Exits with the machine's status (33 after halt, 35 after a fault)."""
    given = memory
    memory = _memory("run", memory)
    name, why = _emulator_for("run", emulator, iso, given)
    elf = _build()
    print(f"run: {name} ({why})")
    if name == "bochs":
        from kos.machine.bochs import bochs_command

        cmd = bochs_command(elf, _iso(elf), memory=memory, interactive=True, entry="first")
        print("run: " + " ".join(cmd))
        print(f"run: {HELD}")
        print("run: type 'halt' to stop, or Ctrl-A X to leave Bochs")
        res = c.run(" ".join(cmd), pty=True, warn=True)
    elif name == "qemu":
        if iso:
            from kos.machine.iso import handover_command, qemu_iso_command

            cmd = handover_command(qemu_iso_command(_iso(elf), memory=memory, interactive=True),
                                   entry="first", interactive=True)
        else:
            cmd = qemu_command(elf, memory=memory, interactive=True, initrd=paths.INITRD)
        print("run: " + " ".join(cmd))
        if iso:
            print(f"run: {HELD}")
        print("run: type 'halt' to stop, or Ctrl-A X to leave QEMU")
        res = c.run(" ".join(cmd), pty=True, warn=True)
    else:
        from kos.machine.unicorn import unicorn_command

        cmd = unicorn_command(elf, memory=memory, interactive=True, initrd=paths.INITRD)
        print("run: " + " ".join(cmd))
        print("run: type 'halt' to stop, or Ctrl-A X to leave the emulator")
        res = c.run(" ".join(cmd), pty=True, warn=True)
    sys.exit(res.exited)


@task
def debug(c: Context, memory: str = "64M") -> None:
    """Boot under QEMU halted at the first instruction, waiting for gdb on :1234."""
    memory = _memory("debug", memory)
    if not qemu_available():
        sys.exit(f"debug: qemu-system-i386 not found: {INSTALL_HINT}")
    elf = _build()
    cmd = [*qemu_command(elf, memory=memory, interactive=True, initrd=paths.INITRD), "-s", "-S"]
    print("debug: " + " ".join(cmd))
    script = (paths.ROOT / "tools" / "kos" / "gdb" / "kos.py").relative_to(paths.ROOT)
    print(f"debug: in another terminal: gdb -x {script} -ex 'target remote :1234' -ex 'break kmain' "
          f"{elf.relative_to(paths.ROOT)}")
    print("debug: gdb commands kos-heap, kos-buddyinfo, kos-slabinfo show the kernel's allocators, "
          "kos-ps and kos-maps [PID] its processes")
    if shutil.which("gdb") is None:
        print("debug: gdb not found: install it with `apt-get install gdb`")
    res = c.run(" ".join(cmd), pty=True, warn=True)
    sys.exit(res.exited)


@task(help={"k": "only tests matching this expression", "m": "only tests with these markers",
            "args": "extra pytest arguments",
            "jobs": "parallel workers (default: one per core; 1: all in one process)"})
def test(c: Context, k: str = "", m: str = "", args: str = "", jobs: str = "") -> None:
    """Build, then run the whole test suite (pytest) in parallel.

    One worker per core, fastest layers first."""
    count = _jobs("test", jobs)
    _build()
    workers = count or os.cpu_count() or 1
    # Whole modules go to whichever worker is free, in collection order (the
    # layers in testpaths' order, inside each the longest modules first:
    # tests/conftest.py): a module's fixtures boot once, and the workers
    # finish together.
    opts = [f"-n {workers} --dist loadscope --no-loadscope-reorder" if workers > 1 else "", args]
    if k:
        opts.append(f"-k {shlex.quote(k)}")
    if m:
        opts.append(f"-m {shlex.quote(m)}")
    # Compiled modules are kept under build/, never beside the sources, even
    # where the environment asks for no bytecode at all: otherwise every
    # worker compiles the tools and rewrites every test module's asserts
    # again (5 s of CPU each), and so does every emulator and task a test starts.
    env = {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(paths.BUILD / "pycache")}
    res = c.run(f"{sys.executable} -m pytest {' '.join(opts)}", warn=True, pty=False, env=env)
    if res.exited == PYTEST_NO_TESTS and (k or m):
        chosen = " and ".join(f"{flag} {shlex.quote(v)}" for flag, v in (("-k", k), ("-m", m)) if v)
        print(f"test: no test matches {chosen}")
    sys.exit(res.exited)


@task(help={"parts": "comma-separated subset of heap,guest,kernel_mm,vm,proc,files,calls,boot (default: all)",
            "readme": "then rewrite README.md's benchmark sections from build/bench.json"})
def bench(c: Context, parts: str = "", readme: bool = False) -> None:
    """Benchmarks: a table on stdout and build/bench.json (a few minutes).

    Heap traces on host and guest, buddy/slab, the VM, processes, files,
    direct calls, boot."""
    from kos.bench import DEFAULT_OUT, PARTS, run_bench

    names = [p.strip() for p in parts.split(",")]
    chosen = tuple(p for p in names if p) or PARTS
    if parts and not any(names):
        sys.exit(f"bench: --parts {parts!r} names no part: choose from {', '.join(PARTS)} (or leave it out "
                 "for all)")
    unknown = [p for p in chosen if p not in PARTS]
    if unknown:
        sys.exit(f"bench: unknown part(s) {', '.join(unknown)}: choose from {', '.join(PARTS)}")
    _build()
    result = run_bench(DEFAULT_OUT, chosen)
    from kos.plot import bench_plots

    for f in bench_plots(result, DEFAULT_OUT.parent):
        print(f"bench: {f.relative_to(paths.ROOT)}")
    if readme:
        from kos.bench.readme import rewrite

        done = rewrite(paths.ROOT / "README.md", DEFAULT_OUT)
        print(f"bench: README.md sections rewritten: {', '.join(done) or 'none'}")


@task(help={"emulator": "qemu, unicorn or bochs (default: QEMU when installed, else unicorn)",
            "suites": "comma-separated suites (default: all; `ktest list` in the shell names them)",
            "memory": "guest RAM, e.g. 64M or 1G",
            "iso": "boot build/kos.iso's ktest entry through GRUB (QEMU -cdrom; Bochs always does)"})
def ktest(c: Context, emulator: str = "", suites: str = "all", memory: str = "64M",
          iso: bool = False) -> None:
    """Boot with ktest=SUITES and print the in-kernel suites' KTAP and a summary.

    Exits with the machine's status (33 all passed, 35 otherwise)."""
    from kos import ktap
    from kos import ktest as kt

    given = memory
    memory = _memory("ktest", memory)
    if not [name for name in suites.split(",") if name.strip()]:
        sys.exit(f"ktest: --suites {suites!r} names no suite: all, or SUITE,... (`ktest list` in the shell "
                 "names them)")
    name, why = _emulator_for("ktest", emulator, iso, given)
    through_grub = iso or name == "bochs"
    if through_grub and suites.strip() != "all":
        sys.exit(f"ktest: --suites {suites}: the ISO's ktest entry runs every suite (ktest=all); "
                 "boot qemu or unicorn without --iso to choose")
    elf = _build()
    print(f"ktest: {name} ({why})")
    if through_grub:
        run = _ktest_entry("qemu-iso" if name == "qemu" else name, elf, memory)
    else:
        print("ktest: " + " ".join(kt.boot_command(name, elf, memory, suites)))
        run = kt.run_at_boot(name, suites, elf, memory)
    start = run.output.find("KTAP version")
    print(run.output[start:] if start >= 0 else run.output, end="")
    for path, case in run.document.cases():
        if case.failed:
            print(f"ktest: {'.'.join(path)}: {case.status.value}")
    print(f"{ktap.summary(run.document)} in {run.seconds:.1f} s; exit status {run.status}")
    status = run.status if run.status is not None else 1
    if status == 33 and not run.document.ok:
        print("ktest: the kernel reported success but its KTAP is not clean")
        status = 35
    sys.exit(status)


def _ktest_entry(machine: str, elf: Path, memory: str, timeout: float = 300.0) -> BootRun:
    """Boot build/kos.iso's ktest entry (its runner types the hotkey) and
    wait for the machine to stop."""
    from kos.ktest import run_to_the_end
    from kos.machine.bochs import BochsMachine
    from kos.machine.iso import QemuIsoMachine

    kind = QemuIsoMachine if machine == "qemu-iso" else BochsMachine
    m = kind(elf, memory, paths.LOGS / f"ktest-{machine}.log")
    m.entry = "ktest"
    print("ktest: " + " ".join(m.command()))
    return run_to_the_end(m, timeout)


@task
def clean(c: Context) -> None:
    """Remove build/."""
    shutil.rmtree(paths.BUILD, ignore_errors=True)
    print("clean: build/ removed")


@task(help={"args": "extra pytest arguments"})
def coverage(c: Context, args: str = "") -> None:
    """Kernel line coverage of the console and direct-call tests under unicorn.

    A table on stdout and build/coverage/index.html."""
    from kos import coverage as kcov

    elf = _build()
    out = paths.BUILD / "coverage"
    raw = out / "raw"
    shutil.rmtree(out, ignore_errors=True)
    suites = "tests/console tests/emulator tests/direct -m 'not qemu and not slow'"
    say("coverage: running the console, emulator and direct-call tests under unicorn, recording the "
        "kernel code they run (pytest's percentages say how far along)")
    res = c.run(f"{sys.executable} -m pytest {suites} -q {args}", warn=True, pty=False,
                env={"KOS_COVERAGE": str(raw)})
    say("coverage: mapping the recorded blocks to source lines and writing the HTML report")
    report = kcov.summarize(elf, raw, out)
    print(report.table())
    print(f"coverage: {report.percent:.1f}% of {report.executable} kernel lines; "
          f"{(out / 'index.html').relative_to(paths.ROOT)} has the annotated sources")
    sys.exit(res.exited if res else 1)


@task(help={"trace": "the benchmark trace to replay (default: shell)"})
def plot(c: Context, trace: str = "") -> None:
    """Pictures of a live kernel under unicorn, PNG files in build/plots/.

    The heap as a strip map, utilization and fragmentation over a trace,
    buddy free blocks, slab caches, an address space."""
    from kos import plot as kplot

    elf = _build()
    made = kplot.live_plots(elf, trace_name=trace or kplot.DEFAULT_TRACE)
    for f in made.files:
        print(f"plot: {f.relative_to(paths.ROOT)}")
