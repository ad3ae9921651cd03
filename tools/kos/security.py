"""SecurityManager: the memory policy of an address space on a live KOS
kernel, as the specification's security integration uses it.

    from kos.security import SecurityManager
    security_mgr = SecurityManager()                 # the default manager's address space
    if not security_mgr.check_memory_limit(requested_size):
        raise PermissionError("Memory allocation exceeds security limit")
    security_mgr.set_wx(True)                        # W^X: mmap/mprotect refuse W|X, and X after W
    security_mgr.refusals                            # how many calls the policy refused

What it reads and sets is the kernel's (struct mm: limit_as, policy,
policy_refusals), so every mapping call obeys it whether it comes from
Python, the shell (`wx on|off`) or a program: the kernel refuses with
EACCES, and the refusing call's last_error says why.
"""

from __future__ import annotations

from kos import kernel as kk
from kos.kernel import call, call_lock
from kos.memory import constants as C
from kos.memory.manager import LastError, MemoryManager, default_manager

__all__ = ["SecurityManager"]


class SecurityManager:
    """The memory policy of one address space: memory_manager's, that of
    its process (default: kos.memory.manager.default_manager())."""

    def __init__(self, memory_manager: MemoryManager | None = None) -> None:
        self._mgr = memory_manager

    @property
    def memory_manager(self) -> MemoryManager:
        if self._mgr is None:
            self._mgr = default_manager()
        return self._mgr

    def _field(self, name: str) -> int:
        mgr = self.memory_manager
        layout = kk.abi(mgr.kernel).struct("mm")
        return int.from_bytes(kk.read(mgr.kernel, mgr.mm + layout.offsetof(name), 4), "little")

    @property
    def memory_limit(self) -> int:
        """Bytes of address space the address space may map (RLIMIT_AS)."""
        with call_lock():
            return self._field("limit_as")

    def set_memory_limit(self, limit: int) -> None:
        """Set the address-space limit in bytes: mappings that would pass it
        fail with ENOMEM (what is mapped already stays)."""
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise TypeError(f"limit must be an int, not {type(limit).__name__}")
        if not 0 <= limit < 1 << 32:
            raise ValueError(f"limit must be 0 .. 2**32 - 1 bytes, not {limit}")
        mgr = self.memory_manager
        with call_lock():
            if mgr.pid:
                from kos.process import ProcessManager

                # The process's RLIMIT_AS, which the kernel passes on to its mm.
                ProcessManager(kernel=mgr.kernel).set_memory_limit(mgr.pid, limit)
            else:
                call(mgr.kernel, "mm_set_limit_as", mgr.mm, limit)

    def check_memory_limit(self, requested_size: int) -> bool:
        """Would mapping requested_size more bytes (rounded up to pages) stay
        within the address space's limit?"""
        if isinstance(requested_size, bool) or not isinstance(requested_size, int):
            raise TypeError(f"requested_size must be an int, not {type(requested_size).__name__}")
        if requested_size < 0:
            raise ValueError(f"requested_size must not be negative, not {requested_size}")
        pages = -(-requested_size // C.PAGE_SIZE)
        with call_lock():
            return (self._field("total_pages") + pages) * C.PAGE_SIZE <= self._field("limit_as")

    @property
    def wx(self) -> bool:
        """Is W^X on: no mapping writable and executable, and none made
        executable after it was writable?"""
        with call_lock():
            return bool(self._field("policy") & C.MM_POLICY_WX)

    def set_wx(self, on: bool) -> None:
        with call_lock():
            policy = self._field("policy")
            policy = policy | C.MM_POLICY_WX if on else policy & ~C.MM_POLICY_WX
            call(self.memory_manager.kernel, "mm_set_policy", self.memory_manager.mm, policy)

    @property
    def refusals(self) -> int:
        """mmap and mprotect calls the policy has refused in this address space."""
        with call_lock():
            return self._field("policy_refusals")

    @property
    def last_refusal(self) -> LastError | None:
        """The manager's last error if the policy caused it (EACCES), else None."""
        err = self.memory_manager.last_error
        return err if err is not None and err.errno == C.EACCES else None
