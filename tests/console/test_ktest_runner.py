"""The ktest command and the ktest= boot option, on both machines: how a
run reports failures, caught CPU exceptions and skips (the manual
demo_failures suite), suite selection and its errors, and the exit status
of a boot-time run."""

from __future__ import annotations

import re

import pytest

from kos import ktap
from kos.ktap import Status
from kos.ktest import image_suites, run_at_boot
from kos.machine import EXIT_FAILURE, EXIT_SUCCESS


def test_ktest_list_names_the_suites_the_image_registers(console, kernel):
    out = console.run("ktest list")
    listed = re.findall(r"^(\w+)\s+(\d+) cases(  \(manual: only when named\))?$", out, re.M)
    suites = image_suites(kernel)
    assert [(n, int(c), bool(m)) for n, c, m in listed] == [
        (s.name, len(s.cases), s.manual) for s in suites]
    assert {"lib", "heap", "buddy", "slab", "page", "paging"} <= {s.name for s in suites}


def test_unknown_suite_is_an_error_and_runs_nothing(console):
    out = console.run("ktest lib nosuch")
    assert out.splitlines()[:2] == ["ktest: error EINVAL (-22)",
                                    "ktest: no suite 'nosuch' (ktest list shows them)"]
    assert "KTAP" not in out
    assert "ok 1" in console.run("ktest lib")


def test_named_suites_run_in_the_order_given(console):
    doc = ktap.parse(console.run("ktest paging,lib heap"))
    assert doc.ok
    assert [t.name for t in doc.tests] == ["paging", "lib", "heap"]
    assert doc.plan == 3


def test_failures_crashes_and_skips_are_reported_and_the_run_goes_on(console):
    out = console.run("ktest demo_failures lib")
    doc = ktap.parse(out)
    demo = doc.find("demo_failures")
    assert [(t.name, t.status) for t in demo.subtests] == [
        ("expectation_fails", Status.FAIL),
        ("invalid_opcode_crashes", Status.FAIL),
        ("skips", Status.SKIP),
        ("runs_after_the_crashes", Status.PASS),
    ]
    failed = demo.find("expectation_fails").diagnostics
    assert re.fullmatch(r"expectation_fails: EXPECTATION FAILED at kernel/test/demo_test\.c:\d+",
                        failed[0])
    assert failed[1:] == ["Expected sum == 3, but", "    sum == 2 (0x2)", "    3 == 3 (0x3)"]
    assert "CRASHED: CPU exception 6 (invalid opcode)" in demo.find("invalid_opcode_crashes").diagnostics[0]
    assert demo.find("skips").directive_reason == "nothing to do here"
    assert "# demo_failures: pass:1 fail:2 skip:1 total:4" in out
    assert doc.find("lib").status is Status.PASS            # the next suite ran too
    assert not doc.errors
    assert "uptime:" in console.run("uptime")                # and the shell is still there


def test_page_fault_in_a_case_is_reported_and_the_run_goes_on(console):
    doc = ktap.parse(console.run("ktest demo_page_fault"))
    suite = doc.find("demo_page_fault")
    crash, after = suite.subtests
    assert crash.status is Status.FAIL
    assert "CRASHED: CPU exception 14 (page fault)" in crash.diagnostics[0]
    assert "err=0x0 cr2=0x00000000" in crash.diagnostics[0]
    assert after.status is Status.PASS


def test_ktest_all_at_boot_exits_with_success(emulator, kernel, tmp_path):
    run = run_at_boot(emulator, "all", kernel, log_path=tmp_path / "boot.log")
    assert run.status == EXIT_SUCCESS, run.output[-2000:]
    assert run.document.ok, ktap.summary(run.document)
    assert [t.name for t in run.document.tests] == [s.name for s in image_suites(kernel) if not s.manual]
    assert "kernel stopped: ktest: every case passed (exit status 33)" in run.output
    assert "kos> " not in run.output


@pytest.mark.parametrize(("suites", "why"), [
    ("lib,demo_failures", "kernel stopped: ktest: some cases failed (exit status 35)"),
    ("lib,nosuch", "ktest: no suite 'nosuch' (ktest list shows them)"),
])
def test_ktest_at_boot_exits_with_failure(emulator, kernel, tmp_path, suites, why):
    run = run_at_boot(emulator, suites, kernel, log_path=tmp_path / "boot.log")
    assert run.status == EXIT_FAILURE
    assert why in run.output



@pytest.mark.parametrize("memory", ["16M", "256M"])
def test_every_suite_passes_on_smaller_and_larger_machines(emulator, kernel, tmp_path, memory):
    """16 MiB: the heap ends with RAM, and there is no stack region, no
    Normal zone and no 4 MiB block (those cases skip, saying why). 256 MiB:
    more free frames than the 120 MiB vmalloc window maps (its out-of-frames
    case takes blocks first, so that fewer are free)."""
    run = run_at_boot(emulator, "all", kernel, memory=memory, log_path=tmp_path / "boot.log")
    assert run.status == EXIT_SUCCESS, run.output[-3000:]
    assert run.document.ok, ktap.summary(run.document)
    skipped = {case.name for _, case in run.document.cases() if case.status is Status.SKIP}
    if memory == "16M":
        assert skipped == {"zone_flags_choose_the_zone", "stacks_are_whole_and_refused_twice",
                           "every_stack_is_mapped_below_an_unmapped_guard"}
    else:
        assert skipped == set()
