"""Kernel preemption by direct calls on the real image: a kernel thread
interrupted with interrupts on may be switched away unless it is inside a
non-preemptible section (preempt_disable, nested, closed by the last
preempt_enable); ring 3 and idle always may; interrupts off never. The
shell holds a section all its life (its commands read other processes'
tables), so at its prompt it is not preemptible in the kernel."""

from __future__ import annotations

import pytest

from kos.kernel import abi, call, u32
from kos.machine.unicorn.kernel import UnicornKernel

pytestmark = pytest.mark.unicorn

EFLAGS_IF = 0x200
KERNEL_CS, USER_CS = 0x08, 0x1B


@pytest.fixture
def k(live: UnicornKernel) -> UnicornKernel:
    """The suite's session of this module (tests/conftest.py's live)."""
    return live


def test_sections_keep_a_kernel_thread_from_being_preempted_and_the_shell_holds_one(k):
    a = abi(k)
    proc = a.struct("proc")
    shell = k.symbol("proc_table") + a.constant("PID_SHELL") * proc.size
    count_at = shell + proc.offsetof("preempt_count")
    current = k.symbol("current")
    saved = k.read_u32(current)
    k.write_u32(current, shell)
    k.write_u32(k.symbol("need_resched"), 0)        # preempt_enable has nothing to switch for
    regs = a.struct("regs")
    frame = u32(call(k, "kmalloc", regs.size))             # an interrupt's return frame
    assert frame

    def preemptible(cs: int, eflags: int) -> int:
        k.write_u32(frame + regs.offsetof("cs"), cs)
        k.write_u32(frame + regs.offsetof("eflags"), eflags)
        return call(k, "sched_preemptible", frame)

    try:
        assert k.read_u32(count_at) == 1                        # the shell's own section
        assert preemptible(KERNEL_CS, EFLAGS_IF) == 0
        assert preemptible(USER_CS, EFLAGS_IF) == 1             # ring 3 is always preemptible
        call(k, "preempt_enable")
        assert k.read_u32(count_at) == 0
        assert preemptible(KERNEL_CS, EFLAGS_IF) == 1
        assert preemptible(KERNEL_CS, 0) == 0                    # interrupts off: never
        call(k, "preempt_disable")
        call(k, "preempt_disable")
        assert k.read_u32(count_at) == 2
        assert preemptible(KERNEL_CS, EFLAGS_IF) == 0
        call(k, "preempt_enable")
        assert preemptible(KERNEL_CS, EFLAGS_IF) == 0            # the outer section is still open
        call(k, "preempt_enable")
        assert preemptible(KERNEL_CS, EFLAGS_IF) == 1
        call(k, "preempt_disable")                              # the shell's again
    finally:
        call(k, "kfree", frame)
        k.write_u32(current, saved)
