"""The KTAP v1 parser (kos.ktap) on saved kernel logs and on small documents.

The logs in ktap_logs/ are serial output of real runs under QEMU
(`-append ktest=...`): all_pass (lib, paging), failure (lib and the manual
demo_failures suite: a failed expectation, two caught CPU exceptions, a
skip), crash_mid_suite (the same with a case that panics, so the machine
stops inside the suite), and short_plan (all_pass with lib's plan edited
from 1..9 to 1..10).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kos import ktap
from kos.ktap import Status

LOGS = Path(__file__).parent / "ktap_logs"


def _log(name: str) -> ktap.Document:
    return ktap.parse((LOGS / f"{name}.log").read_text())


def _status(doc: ktap.Document, suite: str, case: str) -> Status:
    s = doc.find(suite)
    assert s is not None, f"no suite {suite}"
    c = s.find(case)
    assert c is not None, f"no case {suite}.{case}"
    return c.status


def test_all_pass_log_is_ok_with_every_case():
    doc = _log("all_pass")
    assert doc.ok
    assert doc.version == 1 and doc.plan == 2
    assert [t.name for t in doc.tests] == ["lib", "paging"]
    assert [t.plan for t in doc.tests] == [9, 6]
    counts = doc.counts()
    assert (counts.passed, counts.failed, counts.crashed, counts.errors) == (15, 0, 0, 0)
    assert all(t.status is Status.PASS for _, t in doc.cases())
    assert ("lib", "memmove_handles_overlap_both_ways") in {p for p, _ in doc.cases()}


def test_boot_log_before_the_document_is_ignored():
    doc = _log("all_pass")
    assert not any("buddy:" in d for d in doc.diagnostics)


def test_failure_log_has_each_outcome_and_its_diagnostics():
    doc = _log("failure")
    assert not doc.ok
    assert doc.find("lib").status is Status.PASS
    demo = doc.find("demo_failures")
    assert demo.status is Status.FAIL
    expectation = demo.find("expectation_fails")
    assert expectation.status is Status.FAIL
    assert expectation.diagnostics[0].startswith(
        "expectation_fails: EXPECTATION FAILED at kernel/test/demo_test.c:")
    assert "    sum == 2 (0x2)" in expectation.diagnostics
    crash = demo.find("null_dereference_crashes")
    assert crash.status is Status.FAIL
    assert "CPU exception 14 (page fault)" in crash.diagnostics[0]
    skip = demo.find("skips")
    assert skip.status is Status.SKIP and skip.directive_reason == "nothing to do here"
    assert _status(doc, "demo_failures", "runs_after_the_crashes") is Status.PASS
    counts = doc.counts()
    assert (counts.passed, counts.failed, counts.skipped, counts.crashed) == (10, 3, 1, 0)
    assert not doc.errors


def test_crash_mid_suite_marks_the_running_case_and_the_suite_crashed():
    doc = _log("crash_mid_suite")
    assert not doc.ok
    demo = doc.find("demo_failures")
    assert demo.status is Status.CRASH
    assert [t.status for t in demo.subtests] == [Status.FAIL, Status.FAIL, Status.FAIL, Status.CRASH]
    running = demo.subtests[-1]
    assert running.number == 4 and running.name is None
    assert "panic: heap: free list corrupt" in running.diagnostics
    assert any("planned 5 tests, 3 ran" in e for e in demo.errors)
    assert doc.find("paging") is None
    assert any("planned 3 tests, 2 ran" in e for e in doc.errors)
    assert doc.counts().crashed == 1


def test_short_plan_is_an_error_of_the_suite():
    doc = _log("short_plan")
    assert not doc.ok
    lib = doc.find("lib")
    assert lib.status is Status.ERROR
    assert lib.errors == ["short plan: planned 10 tests, 9 ran"]
    assert all(t.status is Status.PASS for t in lib.subtests)
    assert doc.counts().errors == 1


def test_summary_says_what_ran():
    assert ktap.summary(_log("all_pass")) == (
        "ktap: passed: 15 cases: 15 passed, 0 failed, 0 skipped, 0 todo, 0 crashed, 0 errors")
    assert ktap.summary(_log("failure")).startswith("ktap: FAILED: 14 cases: 10 passed, 3 failed")


DOC = """\
KTAP version 1
1..1
    KTAP version 1
    # Subtest: s
    1..4
    ok 1 a # SKIP no highmem
    not ok 2 b # TODO not written yet
    ok 3 c # TODO passes early
    # d: something to say
    not ok 4 d
not ok 1 s
"""


def test_skip_and_todo_directives():
    doc = ktap.parse(DOC)
    s = doc.find("s")
    assert [t.status for t in s.subtests] == [Status.SKIP, Status.TODO, Status.TODO, Status.FAIL]
    assert s.subtests[0].directive_reason == "no highmem"
    assert s.subtests[1].directive_reason == "not written yet"
    assert s.subtests[3].diagnostics == ["d: something to say"]
    c = doc.counts()
    assert (c.skipped, c.todo, c.failed) == (1, 2, 1)


def test_lines_printed_by_a_case_belong_to_it():
    doc = ktap.parse(DOC.replace("    # d: something to say\n",
                                 "kfree: 0x1234: invalid pointer\n    # d: something to say\n"))
    d = doc.find("s").find("d")
    assert d.diagnostics == ["kfree: 0x1234: invalid pointer", "d: something to say"]


def test_numbers_out_of_sequence_are_errors():
    doc = ktap.parse("KTAP version 1\n1..2\nok 1 a\nok 3 b\n")
    assert doc.tests[1].status is Status.ERROR
    assert "numbered 3, expected 2" in doc.tests[1].errors[0]
    assert not doc.ok


def test_more_results_than_planned_is_an_error():
    doc = ktap.parse("KTAP version 1\n1..1\nok 1 a\nok 2 b\n")
    assert doc.errors == ["planned 1 tests, 2 ran"]


@pytest.mark.parametrize("text", ["", "boot: ready\nkos> ", "1..1\nok 1 a\n"])
def test_no_document_is_an_error(text):
    doc = ktap.parse(text)
    assert not doc.ok
    assert doc.errors == ["no 'KTAP version 1' line"]


def test_log_ending_before_any_case_of_a_suite():
    doc = ktap.parse("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: heap\n    1..3\n"
                     "*** CPU exception 13: general protection fault\n")
    heap = doc.find("heap")
    assert heap.status is Status.CRASH
    assert heap.subtests[0].number == 1 and heap.subtests[0].status is Status.CRASH
    assert heap.subtests[0].diagnostics == ["*** CPU exception 13: general protection fault"]
