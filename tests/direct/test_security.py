"""kos.security.SecurityManager on the live kernel: the address-space limit
and check_memory_limit, the W^X policy switched from Python and obeyed by
every mapping call, refusals counted by the kernel, and the
specification's security example with the same calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kos import paths
from kos.kernel import Kernel, use_kernel
from kos.machine.unicorn.kernel import UnicornKernel, boot
from kos.memory import constants as c
from kos.memory.manager import MemoryManager, default_manager
from kos.process import ProcessManager
from kos.security import SecurityManager

pytestmark = pytest.mark.unicorn


@pytest.fixture(scope="module")
def live(kernel: Path) -> Iterator[UnicornKernel]:
    """The session with the initrd: the manager's process runs a program of it."""
    k = boot(kernel, modules=[paths.INITRD.read_bytes()])
    yield k
    k.close()

PAGE = 4096


@pytest.fixture
def mgr(live: Kernel) -> Iterator[MemoryManager]:
    m = MemoryManager(kernel=live)
    m.initialize()
    yield m
    m.close()


def anon(mgr: MemoryManager, prot: int, length: int = PAGE) -> int:
    return mgr.mmap(0, length, prot, mgr.MAP_PRIVATE | mgr.MAP_ANONYMOUS, -1, 0)


def test_limit_is_checked_and_enforced(mgr: MemoryManager):
    sec = SecurityManager(mgr)
    assert sec.memory_limit == 0xFFFFFFFF
    assert sec.check_memory_limit(64 * 1024 * 1024)
    base = mgr.address_space()["virtual_size"]          # the process's program and stack
    sec.set_memory_limit(base + 16 * PAGE)
    assert sec.memory_limit == base + 16 * PAGE
    assert ProcessManager(kernel=mgr.kernel).get_memory_limit(mgr.pid) == base + 16 * PAGE
    assert sec.check_memory_limit(16 * PAGE) and not sec.check_memory_limit(16 * PAGE + 1)
    addr = anon(mgr, mgr.PROT_READ, 10 * PAGE)
    assert addr != -1
    assert sec.check_memory_limit(6 * PAGE) and not sec.check_memory_limit(6 * PAGE + 1)
    # The kernel enforces what check_memory_limit predicts.
    assert anon(mgr, mgr.PROT_READ, 7 * PAGE) == -1
    assert mgr.last_error is not None and mgr.last_error.name == "ENOMEM"
    assert mgr.last_error.message == "beyond the address-space limit"
    assert anon(mgr, mgr.PROT_READ, 6 * PAGE) != -1
    with pytest.raises(ValueError):
        sec.set_memory_limit(-1)
    with pytest.raises(TypeError):
        sec.check_memory_limit(1.5)          # type: ignore[arg-type]


def test_wx_is_off_by_default_and_refuses_when_on(mgr: MemoryManager):
    sec = SecurityManager(mgr)
    assert not sec.wx
    rwx = anon(mgr, mgr.PROT_RWX)
    assert rwx != -1                          # allowed while off
    sec.set_wx(True)
    assert sec.wx and sec.refusals == 0
    assert anon(mgr, mgr.PROT_RWX) == -1
    assert sec.last_refusal is not None and sec.last_refusal.errno == c.EACCES
    assert sec.last_refusal.message == "W^X: a mapping may not be writable and executable"
    data = anon(mgr, mgr.PROT_READ | mgr.PROT_WRITE)
    assert mgr.mprotect(data, PAGE, mgr.PROT_READ | mgr.PROT_EXEC) == -1
    assert sec.last_refusal.message == "W^X: a page that was writable never becomes executable"
    assert mgr.mprotect(data, PAGE, mgr.PROT_READ) == 0
    assert mgr.mprotect(data, PAGE, mgr.PROT_EXEC) == -1       # once writable, never executable
    code = anon(mgr, mgr.PROT_READ)
    assert mgr.mprotect(code, PAGE, mgr.PROT_READ | mgr.PROT_EXEC) == 0
    assert mgr.mprotect(code, PAGE, mgr.PROT_RWX) == -1
    assert sec.refusals == 4
    # Existing mappings are not changed by switching the policy.
    mgr.write(rwx, b"still writable")
    sec.set_wx(False)
    assert mgr.mprotect(data, PAGE, mgr.PROT_READ | mgr.PROT_EXEC) == 0
    assert sec.refusals == 4


def test_policy_is_per_address_space(live: Kernel, mgr: MemoryManager):
    other = MemoryManager(kernel=live)
    try:
        SecurityManager(mgr).set_wx(True)
        assert anon(mgr, mgr.PROT_RWX) == -1
        assert anon(other, other.PROT_RWX) != -1
        assert not SecurityManager(other).wx
        assert "wx: off" in live.console.run("wx")      # the shell's own address space
    finally:
        other.close()


def test_spec_example_security_integration(live: Kernel):
    with use_kernel(live):
        requested_size = 1024 * 1024
        # Memory allocations respect security limits
        security_mgr = SecurityManager()
        if not security_mgr.check_memory_limit(requested_size):
            raise PermissionError("Memory allocation exceeds security limit")
        assert security_mgr.memory_manager is default_manager()
        security_mgr.set_memory_limit(requested_size // 2)
        with pytest.raises(PermissionError):
            if not security_mgr.check_memory_limit(requested_size):
                raise PermissionError("Memory allocation exceeds security limit")
        security_mgr.set_memory_limit(0xFFFFFFFF)
