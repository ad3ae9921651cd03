"""Run the heap's scenario and model tests again on an AddressSanitizer build
(in a child pytest: see hostlib.py)."""

from __future__ import annotations

import os

import pytest
from heap_lib import build
from hostlib import rerun_under_asan


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("KOS_HEAP_LIB") == "asan", reason="already the ASan run")
def test_heap_tests_pass_under_address_sanitizer() -> None:
    rerun_under_asan(lambda: build("asan"), ["test_heap_unit.py", "test_heap_model.py"],
                     {"KOS_HEAP_LIB": "asan", "KOS_HEAP_EXAMPLES": "25"})
