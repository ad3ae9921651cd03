"""kos.process.ProcessManager on the live kernel (booted with the initrd):
spawn, list, wait, kill, the memory limit the kernel enforces on a
spawned memhog, memory usage, and the specification's process example."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from kos import paths
from kos.exceptions import KOSError
from kos.kernel import use_kernel
from kos.machine.unicorn.kernel import UnicornKernel, boot
from kos.memory import constants as c
from kos.memory.manager import MemoryManager
from kos.process import SIGKILL, SIGTERM, ProcessManager

pytestmark = pytest.mark.unicorn

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def live(kernel: Path) -> Iterator[UnicornKernel]:
    k = boot(kernel, modules=[paths.INITRD.read_bytes()])
    yield k
    k.close()


@pytest.fixture
def pm(live: UnicornKernel) -> Iterator[ProcessManager]:
    processes = ProcessManager(kernel=live)
    before = {p["pid"] for p in processes.list()}
    yield processes
    assert {p["pid"] for p in processes.list()} == before       # nothing left behind


def test_spawn_and_wait(pm: ProcessManager):
    pid = pm.spawn("/bin/hello", ["a", "b"])
    assert pid > 1
    status = pm.wait(pid)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert f"hello from pid {pid}\nargv[0] = /bin/hello\nargv[1] = a\nargv[2] = b\n" in pm.output


def test_spawn_refusals_carry_the_kernels_errno(pm: ProcessManager):
    with pytest.raises(KOSError) as e:
        pm.spawn("/bin/no-such-program")
    assert e.value.errno == c.image().constant("ENOENT")
    with pytest.raises(ValueError):
        pm.spawn("/bin/hello", ["two words"])
    with pytest.raises(TypeError):
        pm.spawn("/bin/hello", [3])                  # type: ignore[list-item]


def test_list_shows_a_spawned_process(pm: ProcessManager):
    pid = pm.spawn("/bin/sleeper", ["30", "1"])
    row = next(p for p in pm.list() if p["pid"] == pid)
    assert row["ppid"] == 1 and row["name"] == "sleeper" and row["vsz"] > 0 and row["limit"] is None
    pm.kill(pid, SIGKILL)
    status = pm.wait(pid)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == SIGKILL


def test_kill_sends_sigterm_and_refuses_what_it_cannot(pm: ProcessManager):
    pid = pm.spawn("/bin/sleeper", ["30", "1"])
    pm.kill(pid)
    assert os.WTERMSIG(pm.wait(pid)) == SIGTERM
    with pytest.raises(KOSError) as e:
        pm.kill(pid)
    assert e.value.errno == c.ESRCH
    with pytest.raises(KOSError) as e:
        pm.kill(1)
    assert e.value.errno == c.EPERM
    with pytest.raises(ChildProcessError):
        pm.wait(pid)


def test_a_spawned_memhog_stops_at_its_limit(pm: ProcessManager):
    pid = pm.spawn("/bin/memhog", ["8M"], memory_limit=4 * MiB)
    status = pm.wait(pid)
    assert os.WEXITSTATUS(status) == 1
    m = re.search(r"memhog: stopped at (\d+) of 8388608 bytes: mmap error -12 \(ENOMEM\)", pm.output)
    assert m, pm.output
    assert 3 * MiB < int(m.group(1)) <= 4 * MiB
    assert pm.get_memory_limit(1) == 0xFFFFFFFF          # the shell's own limit was put back
    pid = pm.spawn("/bin/memhog", ["2M"])
    assert os.WEXITSTATUS(pm.wait(pid)) == 0
    assert "memhog: touched 2097152 bytes" in pm.output


def test_set_memory_limit_and_usage(live: UnicornKernel, pm: ProcessManager):
    pid = pm.spawn("/bin/sleeper", ["30", "1"])
    usage = pm.get_memory_usage(pid)
    assert usage["virtual_size"] > 0 and usage["resident"] > 0 and usage["locked"] == 0
    pm.set_memory_limit(pid, 16 * MiB)
    assert pm.get_memory_limit(pid) == 16 * MiB
    assert next(p for p in pm.list() if p["pid"] == pid)["limit"] == 16 * MiB
    with pytest.raises(ValueError):
        pm.set_memory_limit(pid, -1)
    with pytest.raises(KOSError):
        pm.set_memory_limit(9999, MiB)
    pm.kill(pid, SIGKILL)
    pm.wait(pid)


def test_usage_follows_the_managers_own_process(live: UnicornKernel, pm: ProcessManager):
    mgr = MemoryManager(kernel=live)
    mgr.initialize()
    try:
        before = pm.get_memory_usage(mgr.pid)
        flags = mgr.MAP_PRIVATE | mgr.MAP_ANONYMOUS | mgr.MAP_LOCKED
        addr = mgr.mmap(0, 8 * c.PAGE_SIZE, mgr.PROT_READ | mgr.PROT_WRITE, flags, -1, 0)
        assert addr != -1, mgr.last_error
        after = pm.get_memory_usage(mgr.pid)
        assert after["virtual_size"] == before["virtual_size"] + 8 * c.PAGE_SIZE
        assert after["resident"] == before["resident"] + 8 * c.PAGE_SIZE
        assert after["locked"] == before["locked"] + 8 * c.PAGE_SIZE
        assert after["faults"] == before["faults"] + 8
    finally:
        mgr.close()


def test_spec_example_process_memory_limit(live: UnicornKernel, pm: ProcessManager):
    with use_kernel(live):
        process_mgr = ProcessManager()
        process_id = process_mgr.spawn("/bin/sleeper", ["30", "1"])
        # Set memory limit for process
        process_mgr.set_memory_limit(process_id, 100 * 1024 * 1024)  # 100MB limit
        assert process_mgr.get_memory_limit(process_id) == 100 * MiB
        process_mgr.kill(process_id, SIGKILL)
        process_mgr.wait(process_id)
