"""Run the ustar and ELF parser tests again on an AddressSanitizer build, so
a read one byte past an archive or an image fails the run (in a child
pytest: see hostlib.py)."""

from __future__ import annotations

import os

import pytest
from formats_lib import build
from hostlib import rerun_under_asan


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("KOS_FORMATS_LIB") == "asan", reason="already the ASan run")
def test_parser_tests_pass_under_address_sanitizer() -> None:
    rerun_under_asan(lambda: build("asan"), ["test_ustar.py", "test_elf.py"],
                     {"KOS_FORMATS_LIB": "asan", "KOS_FORMATS_EXAMPLES": "200",
                      "PYTHONMALLOC": "malloc"})      # every buffer from malloc, with ASan redzones after it
