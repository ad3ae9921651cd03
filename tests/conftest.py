"""Fixtures shared by every test layer.

Layered as the harness is: the kernel image (built once per session) →
a machine (QEMU or unicorn, parametrized by `emulator`) → its console.
A console test's serial log is kept under build/logs/ when the test fails
and removed when it passes.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from kos import build as kbuild
from kos import paths
from kos.console import Console
from kos.machine import Machine, make_machine, qemu_available

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


@pytest.fixture(scope="session")
def kernel() -> Path:
    """build/kernel.elf, brought up to date once per session."""
    return kbuild.build()


@pytest.fixture(params=_emulator_params())
def emulator(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _log_path(request: pytest.FixtureRequest, tag: str = "") -> Path:
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    return paths.LOGS / f"{name}{tag}.log"


@pytest.fixture
def machine_factory(request: pytest.FixtureRequest, kernel: Path, emulator: str
                    ) -> Iterator[Callable[..., Machine]]:
    """Make machines of the test's emulator; all are stopped at the end and
    their logs kept only if the test failed."""
    made: list[Machine] = []

    def make(memory: str = "64M", initrd: Path | None = paths.INITRD) -> Machine:
        m = make_machine(emulator, kernel, memory, _log_path(request, f"-{len(made)}"), initrd)
        made.append(m)
        return m

    yield make
    for m in made:
        m.stop()
    if not _failed(request):
        for m in made:
            m.log_path.unlink(missing_ok=True)


@pytest.fixture
def machine(machine_factory: Callable[..., Machine]) -> Machine:
    """A booted machine with 64 MiB, at its first prompt."""
    m = machine_factory()
    m.start()
    return m


@pytest.fixture
def console(machine: Machine) -> Console:
    assert machine.console is not None
    return machine.console
