"""The ring-3 test programs (forktest, mmaptest, systest, filetest): every KTAP case
as its own pytest item, on each machine.

The cases are read from each program's .ktap_cases section when the module
is collected (kos.userland.ktap_cases), so `-k cow_isolates` picks one.
Each program runs once per emulator from the shell (`run /bin/NAME`); its
KTAP output is parsed, each item reports its own case, and the shell must
report the program's normal exit afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from ktap_runs import Run

from kos import build as kbuild
from kos import ktap, paths, userland
from kos.console import ConsoleError
from kos.ktap import Status
from kos.machine import make_machine

PROGRAMS = ("forktest", "mmaptest", "systest", "filetest")
RUN_TIMEOUT = 300.0


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "user_case" not in metafunc.fixturenames:
        return
    kbuild.build()
    cases = [(p, c) for p in PROGRAMS for c in userland.ktap_cases(paths.USER_BUILD / "bin" / p)]
    metafunc.parametrize("user_case", cases, ids=[f"{p}.{c}" for p, c in cases])


@pytest.fixture(scope="module")
def user_runs(kernel) -> Iterator[dict[tuple[str, str], Run]]:
    runs: dict[tuple[str, str], Run] = {}
    yield runs
    for run in runs.values():
        if not run.failed:
            run.log_path.unlink(missing_ok=True)


def _run(runs: dict[tuple[str, str], Run], emulator: str, kernel, program: str) -> Run:
    key = (emulator, program)
    if key not in runs:
        m = make_machine(emulator, kernel, "64M", paths.LOGS / f"test_user_ktap-{program}-{emulator}.log")
        try:
            console = m.start()
            console.sendline(f"run /bin/{program}")
            try:
                output = console.wait_prompt(timeout=RUN_TIMEOUT)
            except ConsoleError:
                output = console.output_so_far()
        finally:
            m.stop()
        runs[key] = Run(ktap.parse(output), output, m.log_path)
    return runs[key]


def test_user_ktap_case(user_runs, emulator, kernel, user_case):
    program, name = user_case
    run = _run(user_runs, emulator, kernel, program)
    case = next((t for t in run.document.tests if t.name == name), None)
    if case is None:
        run.failed = True
        pytest.fail(f"{program}.{name} did not run (log: {run.log_path})\n" + "\n".join(run.document.errors),
                    pytrace=False)
    if case.status is not Status.PASS:
        run.failed = True
        pytest.fail(f"{program}.{name}: {case.status.value}\n" + "\n".join(case.diagnostics), pytrace=False)


@pytest.mark.parametrize("program", PROGRAMS)
def test_user_ktap_program_is_one_clean_document(user_runs, emulator, kernel, program):
    run = _run(user_runs, emulator, kernel, program)
    doc = run.document
    assert not doc.errors, doc.errors
    assert [t.name for t in doc.tests] == userland.ktap_cases(paths.USER_BUILD / "bin" / program)
    assert "run: pid 2 exited with status 0" in run.output, run.output[-500:]


def test_systest_sees_each_refused_free_reported(user_runs, emulator, kernel):
    """malloc's refusals go to fd 2, the console: a large block freed twice
    and a pointer malloc never returned are said to be no live block, an
    interior pointer is no block, and a small block freed twice a double free."""
    out = _run(user_runs, emulator, kernel, "systest").output
    foreign = r"free: 0x[0-9a-f]{8}: no live block there \(freed already, or never malloc's\), refused"
    assert len(re.findall(foreign, out)) == 2, out
    assert "free: 0x7fff0010: no live block there" in out
    assert re.search(r"free: 0x[0-9a-f]{8}: not a block malloc returned, refused", out), out
    assert len(re.findall(r"free: 0x[0-9a-f]{8}: double free, refused", out)) == 2, out
