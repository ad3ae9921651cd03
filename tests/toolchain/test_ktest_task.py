"""`invoke ktest`: boots with ktest= on the command line, prints the KTAP
and a summary, and exits with the machine's status."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kos import paths
from kos.ktest import image_suites


def _invoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "invoke", "ktest", "--emulator", "unicorn", *args],
                          cwd=paths.ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.unicorn
def test_invoke_ktest_prints_ktap_and_exits_33_when_all_pass(kernel):
    res = _invoke("--suites", "lib,paging")
    assert res.returncode == 33, res.stdout[-2000:] + res.stderr
    out = res.stdout
    assert "ktest: " in out and "--cmdline" in out and "ktest=lib,paging" in out
    assert out.index("KTAP version 1") < out.index("ok 1 lib") < out.index("ok 2 paging")
    n = sum(len(s.cases) for s in image_suites(kernel) if s.name in ("lib", "paging"))
    assert f"ktap: passed: {n} cases: {n} passed, 0 failed" in out
    assert out.rstrip().endswith("exit status 33")


@pytest.mark.unicorn
def test_invoke_ktest_names_the_failed_cases_and_exits_35(kernel):
    res = _invoke("--suites", "demo_failures")
    assert res.returncode == 35
    assert "ktest: demo_failures.expectation_fails: fail" in res.stdout
    assert "ktest: demo_failures.invalid_opcode_crashes: fail" in res.stdout
    assert "ktap: FAILED: 4 cases: 1 passed, 2 failed, 1 skipped" in res.stdout
