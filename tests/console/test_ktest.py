"""Every in-kernel test case as its own pytest item, on each machine.

The cases are read from the image (kos.ktest.image_suites) when the module
is collected, so `-k heap` or `-k kmalloc_zero` picks them like any test.
The kernel is booted once per module and emulator; the shell's `ktest`
runs every suite that is not manual, its KTAP is parsed, and each item
reports its own case: a failure carries the case's diagnostics, a case the
run never reached says where the run stopped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from ktap_runs import Run

from kos import build as kbuild
from kos import ktap, paths
from kos.console import ConsoleError
from kos.ktap import Status
from kos.machine import make_machine

RUN_TIMEOUT = 240.0


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "ktest_case" not in metafunc.fixturenames:
        return
    from kos.ktest import image_suites

    cases = [(s.name, c) for s in image_suites(kbuild.build()) if not s.manual for c in s.cases]
    metafunc.parametrize("ktest_case", cases, ids=[f"{s}.{c}" for s, c in cases])


@pytest.fixture(scope="module")
def ktest_runs(kernel) -> Iterator[dict[str, Run]]:
    """One `ktest` run per emulator, made when its first case asks for it."""
    runs: dict[str, Run] = {}
    yield runs
    for run in runs.values():
        if not run.failed:
            run.log_path.unlink(missing_ok=True)


def _run(runs: dict[str, Run], emulator: str, kernel) -> Run:
    if emulator not in runs:
        m = make_machine(emulator, kernel, "64M", paths.LOGS / f"test_ktest-{emulator}.log")
        try:
            console = m.start()
            console.sendline("ktest")
            try:
                output = console.wait_prompt(timeout=RUN_TIMEOUT)
            except ConsoleError:            # the kernel stopped (a panic) or hung: parse what came
                output = console.output_so_far()
        finally:
            m.stop()
        runs[emulator] = Run(ktap.parse(output), output, m.log_path)
    return runs[emulator]


def _where_it_stopped(doc: ktap.Document) -> str:
    done = [".".join(p) for p, t in doc.cases() if t.name is not None]
    return f"after {done[-1]}" if done else "before the first case"


def test_ktest_case(ktest_runs, emulator, kernel, ktest_case):
    suite_name, case_name = ktest_case
    run = _run(ktest_runs, emulator, kernel)
    suite = run.document.find(suite_name)
    case = suite.find(case_name) if suite is not None else None
    if case is None and suite is not None and suite.status is Status.CRASH:
        # The log ended inside this suite: the unnamed last case is the one that was running.
        running = suite.subtests[-1] if suite.subtests else None
        from kos.ktest import image_suites

        order = next(s.cases for s in image_suites(kernel) if s.name == suite_name)
        if running is not None and running.name is None and order[running.number - 1] == case_name:
            run.failed = True
            pytest.fail(f"{suite_name}.{case_name} crashed the kernel:\n" +
                        "\n".join(running.diagnostics) + f"\n(log: {run.log_path})", pytrace=False)
    if case is None:
        run.failed = True
        pytest.fail(f"{suite_name}.{case_name} did not run: the run stopped "
                    f"{_where_it_stopped(run.document)} (log: {run.log_path})\n"
                    + "\n".join(run.document.errors), pytrace=False)
    if case.status is Status.SKIP:
        pytest.skip(f"the kernel skipped it: {case.directive_reason}")
    if case.status is not Status.PASS:
        run.failed = True
        pytest.fail(f"{suite_name}.{case_name}: {case.status.value}\n" + "\n".join(case.diagnostics)
                    + ("\n" + "\n".join(case.errors) if case.errors else ""), pytrace=False)


def test_ktest_run_is_one_clean_document(ktest_runs, emulator, kernel):
    run = _run(ktest_runs, emulator, kernel)
    doc = run.document
    assert not doc.errors, doc.errors
    assert doc.version == 1
    from kos.ktest import image_suites

    expected = [s.name for s in image_suites(kernel) if not s.manual]
    assert [t.name for t in doc.tests] == expected
    m = re.search(r"^# Totals: pass:(\d+) fail:(\d+) skip:(\d+) total:(\d+)$", run.output, re.M)
    assert m, run.output[-500:]
    counts = doc.counts()
    assert (int(m[1]), int(m[2]), int(m[3])) == (counts.passed, counts.failed + counts.crashed,
                                                   counts.skipped)
