"""The filesystem benchmark on the real image: the first lookup of a
program after boot (directories taken in from the initrd's index, no header
parsed again), read() of 4 KiB from a cached page and a fault on a shared
file page stay within their budgets (deterministic instruction counts, not
timings), two execs of a program map the same text frames and touching
them takes none, and everything measured is given back."""

from __future__ import annotations

from typing import Any

import pytest

from kos.bench import files
from kos.kernel import call
from kos.machine.unicorn.kernel import UnicornKernel

pytestmark = pytest.mark.unicorn

READ_BUDGET = 1500           # fs_read of 4 KiB from a cached page, the copy excluded
FAULT_BUDGET = 700           # vm_fault mapping a page-cache frame MAP_SHARED
FIRST_LOOKUP_BUDGET = 40_000 # vfs_stat of /bin/hello taking in / and /bin (24,422 measured; 290,712
                             # when each directory's first lookup parsed the whole archive twice)


@pytest.fixture(scope="module")
def figures(fsk: UnicornKernel) -> dict[str, Any]:
    cached = fsk.symbol("pagecache_frames")
    free = call(fsk, "get_free_pages") + fsk.read_u32(cached)
    r = files.measure(fsk)
    # What measure read of /bin/hello stays in the page cache; nothing else is kept.
    assert call(fsk, "get_free_pages") + fsk.read_u32(cached) == free
    return r


def test_a_cached_read_and_a_shared_fault_stay_within_budget(figures):
    assert 0 < figures["read_4k_cached"] <= READ_BUDGET
    assert 0 < figures["fault_shared_file_page"] <= FAULT_BUDGET


def test_the_first_lookup_takes_directories_in_from_the_index(figures):
    assert figures["lookup_bin_hello"] < figures["first_lookup_bin_hello"] <= FIRST_LOOKUP_BUDGET


def test_exec_maps_the_text_from_the_page_cache_without_new_frames(figures):
    assert figures["exec_text_pages"] >= 1
    assert figures["exec_text_shared"]                       # the same frames in both address spaces
    # Page-table pages only (a table, and the directory of the GiB when it is
    # the first mapping there), no text frame.
    assert figures["exec_text_fault_frames"][1] == figures["exec_text_fault_tables"][1] <= 2
    assert figures["exec_frames"][1] <= figures["exec_frames"][0]   # the first read the file in
