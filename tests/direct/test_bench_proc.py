"""The process benchmark on the real image: its instruction counts
(deterministic, not timings) stay under regression ceilings. The getpid and
COW-fault ceilings are the issue's targets; the others are the figures
measured when this was written plus slack, where the target is not met yet
(README, "Processes": the table says which)."""

from __future__ import annotations

from typing import Any

import pytest

from kos.bench import proc

pytestmark = pytest.mark.unicorn

GETPID_CEILING = 150               # the target
COW_FAULT_CEILING = 700            # the target, the 4 KiB copy excluded
CONTEXT_SWITCH_CEILING = 600       # target 400; measured 422
FORK_PER_PAGE_CEILING = 200        # target 40; measured 141
FORK_BASE_CEILING = 25_000         # target 3,000; measured 17,048
EXEC_CEILING = 50_000              # the target; measured 33,454


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
