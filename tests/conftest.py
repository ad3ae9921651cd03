"""Fixtures shared by every test layer.

Layered as the harness is: the kernel image (built once, before any test
runs) → a machine (QEMU or unicorn, parametrized by `emulator`) → its
console; or the in-process session under unicorn (`live`, `guest`). A
console test's serial log is kept under build/logs/ (named after the test,
so parallel workers never share one) when the test fails and removed when
it passes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kos import atomic, paths
from kos import build as kbuild
from kos.console import Console
from kos.machine import Machine, make_machine, qemu_available
from kos.machine.qemu_resident import ResidentQemu
from kos.machine.unicorn.kernel import Snapshot, UnicornKernel, boot
from kos.machine.unicorn.resident import InProcessUnicorn, ResidentUnicorn
from kos.memory import constants

# Console tests run on every machine listed here.
CONSOLE_EMULATORS = ["qemu", "unicorn"]


def _emulator_params() -> list[object]:
    params = []
    for name in CONSOLE_EMULATORS:
        marks = [getattr(pytest.mark, name)]
        if name == "qemu" and not qemu_available():
            marks.append(pytest.mark.skip(
                reason="qemu-system-i386 is not installed (apt-get install qemu-system-x86); "
                       "the same tests run on unicorn"))
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _failed(request: pytest.FixtureRequest) -> bool:
    node = request.node
    return any(getattr(node, "rep_" + w, None) is not None and getattr(node, "rep_" + w).failed
               for w in ("setup", "call"))


# The test folders, in the order they run (pyproject.toml's testpaths).
LAYERS = ("toolchain", "host", "emulator", "direct", "console")

# Tests in these folders run the kernel in-process under unicorn.
UNICORN_FOLDERS = ("emulator", "direct")

# How long each test took in the last run that ran it (seconds of wall time,
# setup to teardown), written by the run's main process at its end.
DURATIONS = paths.BUILD / "test-durations.json"
# What a `slow` test counts as when no run has measured it yet.
SLOW_GUESS = 10.0


def _recorded() -> dict[str, float]:
    try:
        data = json.loads(DURATIONS.read_text())
    except (OSError, ValueError):
        return {}
    return {k: float(v) for k, v in data.items()} if isinstance(data, dict) else {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The layers stay in testpaths' order, fastest first. Inside a layer
    # the modules go longest first (by the last run's durations, else those
    # with `slow` tests first), each module's tests together and in their
    # order: pytest-xdist hands out whole modules (--dist loadscope), so a
    # module's fixtures boot once, and the long modules run beside the
    # short ones instead of last, while one worker has nothing left to do.
    layer = {f: i for i, f in enumerate(LAYERS)}
    took = _recorded()
    cost: dict[str, float] = {}
    for item in items:
        guess = SLOW_GUESS if item.get_closest_marker("slow") is not None else 0.0
        module = item.nodeid.partition("::")[0]
        cost[module] = cost.get(module, 0.0) + took.get(item.nodeid, guess)

    here = Path(__file__).parent
    folders: dict[Path, str] = {}

    def folder(item: pytest.Item) -> str:
        """The item's directory right under tests/."""
        if item.path not in folders:
            folders[item.path] = item.path.relative_to(here).parts[0] if here in item.path.parents else ""
        return folders[item.path]

    def order(item: pytest.Item) -> tuple[int, float, str]:
        module = item.nodeid.partition("::")[0]
        return layer.get(folder(item), len(layer)), -cost[module], module

    items.sort(key=order)
    for item in items:
        if folder(item) in UNICORN_FOLDERS:
            item.add_marker(pytest.mark.unicorn)


_took: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _took[report.nodeid] = _took.get(report.nodeid, 0.0) + report.duration


# Set in the environment of everything the suite starts, so that a pytest a
# test runs (the host tests again under AddressSanitizer) records nothing.
NESTED = "KOS_TEST_SESSION"
_records = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_records] = NESTED not in os.environ
    os.environ[NESTED] = "1"


def pytest_sessionfinish(session: pytest.Session) -> None:
    # In the main process, which sees every worker's reports: the tests that
    # ran keep their new durations, the others their old ones.
    if hasattr(session.config, "workerinput") or not session.config.stash[_records] or not _took:
        return
    merged = {**_recorded(), **{k: round(v, 3) for k, v in _took.items()}}
    try:
        DURATIONS.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(DURATIONS, json.dumps(merged, indent=0, sort_keys=True).encode())
    except OSError:
        pass


def pytest_sessionstart(session: pytest.Session) -> None:
    # Once, in the main process: pytest-xdist's workers start after this
    # and only read the image, so none of them races another on build/.
    if not hasattr(session.config, "workerinput"):
        try:
            kbuild.build()
        except kbuild.BuildError as e:
            raise pytest.UsageError(f"build: {e}") from None


@pytest.fixture(scope="session")
def kernel() -> Path:
    """build/kernel.elf, brought up to date before the session started."""
    return paths.KERNEL_ELF


@pytest.fixture(params=_emulator_params())
def emulator(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _log_path(request: pytest.FixtureRequest, tag: str = "") -> Path:
    node = request.node
    name = re.sub(r"[^\w.-]+", "_", f"{Path(node.path).stem}.{node.name}")
    return paths.LOGS / f"{name}{tag}.log"


@pytest.fixture
def machine_factory(request: pytest.FixtureRequest, kernel: Path, emulator: str
                    ) -> Iterator[Callable[..., Machine]]:
    """Make machines of the test's emulator; all are stopped at the end and
    their logs kept only if the test failed. The embedded emulator's run in
    the worker (InProcessUnicorn: no child process to start) unless the
    test is about the emulator's process (own_process)."""
    made: list[Machine] = []

    def make(memory: str = "64M", initrd: Path | None = paths.INITRD, own_process: bool = False) -> Machine:
        log = _log_path(request, f"-{len(made)}")
        m = (InProcessUnicorn(kernel, memory, log, initrd) if emulator == "unicorn" and not own_process
             else make_machine(emulator, kernel, memory, log, initrd))
        made.append(m)
        return m

    yield make
    for m in made:
        m.stop()
    if not _failed(request):
        for m in made:
            m.log_path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def resident_machines(kernel: Path) -> Iterator[dict[str, ResidentQemu | ResidentUnicorn]]:
    """The worker's machine of each emulator, with 64 MiB and the initrd,
    booted by its first test and put back at its first prompt for each
    later one: the whole machine, RAM, CPU and devices (unicorn in this
    process from its own snapshot, QEMU with savevm/loadvm)."""
    made: dict[str, ResidentQemu | ResidentUnicorn] = {}
    yield made
    for m in made.values():
        m.close()


@pytest.fixture
def machine(request: pytest.FixtureRequest, kernel: Path, emulator: str,
            resident_machines: dict[str, ResidentQemu | ResidentUnicorn]) -> Iterator[Machine]:
    """A booted machine with 64 MiB and the initrd, at its first prompt and
    with nothing left of an earlier test: the worker's resident machine of
    the emulator put back (a fresh one after a test that failed or ended
    the machine)."""
    m = resident_machines.get(emulator)
    if m is None:
        kind = ResidentQemu if emulator == "qemu" else ResidentUnicorn
        m = resident_machines[emulator] = kind(kernel)
    m.log_path = _log_path(request, "-0")
    m.start()
    yield m
    m.stop()
    if _failed(request):
        m.close()
    else:
        m.log_path.unlink(missing_ok=True)


@pytest.fixture
def console(machine: Machine) -> Console:
    assert machine.console is not None
    return machine.console


@pytest.fixture(scope="module")
def live(kernel: Path) -> Iterator[UnicornKernel]:
    """The in-process session: the kernel booted under unicorn to its first
    prompt, once per module, shared by the module's tests as they leave it."""
    k = boot(kernel)
    yield k
    k.close()


@pytest.fixture(scope="module")
def first_prompt(live: UnicornKernel) -> Snapshot:
    """The session's state at its first prompt (CPU registers, and RAM from
    the kernel image to the end of the stack region)."""
    return live.snapshot([(live.symbol("__kernel_start"), constants.STACK_REGION_END)])


@pytest.fixture
def guest(live: UnicornKernel, first_prompt: Snapshot) -> UnicornKernel:
    """The session, put back as it was at its first prompt."""
    live.restore(first_prompt)
    return live
