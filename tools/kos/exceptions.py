"""The exceptions of the KOS memory API.

MemoryError deliberately has the specification's name, so inside this
package (and for callers who import it) it shadows Python's built-in
MemoryError; it is not a subclass of it.
"""

from __future__ import annotations

__all__ = ["AllocationError", "KOSError", "MappingError", "MemoryError", "ProtectionError"]


class KOSError(Exception):
    """Base of every KOS error. errno is the kernel's negative error code, if any."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


class MemoryError(KOSError):
    """Base memory management error."""


class AllocationError(MemoryError):
    """Memory allocation failed."""


class MappingError(MemoryError):
    """Memory mapping operation failed."""


class ProtectionError(MemoryError):
    """Memory protection change failed."""
