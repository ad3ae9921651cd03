"""Leaving the kernel: halt's success code, and CPU exceptions reported with a
register dump and the failure code through the debug-exit port."""

from __future__ import annotations

import pytest

from kos.machine import EXIT_FAILURE, EXIT_SUCCESS


def _crash(machine, kind: str) -> str:
    """Run `crash kind`; return everything the kernel printed until it stopped."""
    machine.console.sendline(f"crash {kind}")
    machine.console.wait_exit()
    return machine.console.output_so_far()


def test_halt_exits_with_success_status(machine):
    machine.console.sendline("halt")
    out = machine.console.expect_text("exit status 33")
    assert "kernel stopped: halt" in out
    assert machine.wait() == EXIT_SUCCESS


def test_page_fault_dumps_registers_and_exits_with_failure(machine):
    out = _crash(machine, "pf")
    assert "*** CPU exception 14: page fault" in out
    assert "page fault at cr2=dead0000: page not present, write, kernel mode" in out
    for reg in ("eip=", "eax=", "esp=", "cr2=dead0000", "cr3="):
        assert reg in out
    assert "kernel stopped: unhandled CPU exception (exit status 35)" in out
    assert machine.wait() == EXIT_FAILURE


def test_null_dereference_faults(machine):
    out = _crash(machine, "null")
    assert "page fault at cr2=00000000: page not present, read, kernel mode" in out
    assert machine.wait() == EXIT_FAILURE


@pytest.mark.parametrize(("kind", "vector", "name"), [
    ("ud", 6, "invalid opcode"),
    ("de", 0, "divide error"),
    ("gp", 13, "general protection fault"),
])
def test_cpu_exceptions_are_named(machine, kind, vector, name):
    out = _crash(machine, kind)
    assert f"*** CPU exception {vector}: {name}" in out
    assert "eip=" in out
    assert machine.wait() == EXIT_FAILURE


def test_panic_exits_with_failure(machine):
    assert "panic: crash: deliberate panic" in _crash(machine, "panic")
    assert machine.wait() == EXIT_FAILURE


def test_unknown_crash_kind_is_refused(console):
    assert "crash: unknown kind 'zz'" in console.run("crash zz")
