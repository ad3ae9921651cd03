"""The process benchmark on the real image: its instruction counts
(deterministic, not timings) stay under regression ceilings. The getpid,
COW-fault and fork ceilings are the issue's targets; the others are
the figures measured when this was written plus slack, below the target
where it is met and above it where it is not (README, "Processes": the table
says which)."""

from __future__ import annotations

from typing import Any

import pytest

from kos.bench import proc

pytestmark = pytest.mark.unicorn

GETPID_CEILING = 150               # the target; measured 125
COW_FAULT_CEILING = 700            # the target, the 4 KiB copy excluded; measured 499
CONTEXT_SWITCH_CEILING = 150       # target 400; measured 83 to 105 (timer ticks)
FORK_PER_PAGE_CEILING = 40         # the target; measured 38.2
FORK_BASE_CEILING = 3_000          # the target; measured 2,950 (4,274 before, 10,474 before that)
EXEC_CEILING = 35_000              # target 50,000; measured 31,157 (24,939 before the pool checked)


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    return proc.measure()


def test_a_getpid_round_trip_meets_its_target(figures):
    assert 0 < figures["getpid_round_trip"] <= GETPID_CEILING


def test_a_cow_fault_meets_its_target(figures):
    assert 0 < figures["cow_fault"] <= COW_FAULT_CEILING


def test_switch_fork_and_exec_stay_under_their_ceilings(figures):
    assert 0 < figures["context_switch"] <= CONTEXT_SWITCH_CEILING
    assert 0 < figures["fork_per_page"] <= FORK_PER_PAGE_CEILING
    assert 0 < figures["fork_empty"] <= FORK_BASE_CEILING
    assert 0 < figures["exec_hello"] <= EXEC_CEILING
