"""The exceptions of the KOS memory API.

    KOSError
    └── MemoryError
        ├── AllocationError   an allocation or free the kernel refused
        ├── MappingError      an unmapped address, a refused mmap or munmap
        └── ProtectionError   an access or protection change the protections forbid

MemoryError deliberately has the specification's name, so inside this
package (and for callers who import it) it shadows Python's built-in
MemoryError; it is not a subclass of it.

Every error carries errno, the kernel's negative error code (None when the
refusal was Python's own), and kernel_message, what the kernel said about
it (its report line or its reason), "" when it said nothing.
"""

from __future__ import annotations

__all__ = ["AllocationError", "KOSError", "MappingError", "MemoryError", "ProtectionError"]


class KOSError(Exception):
    """Base of every KOS error."""

    def __init__(self, message: str, errno: int | None = None, kernel_message: str = "") -> None:
        super().__init__(message)
        self.errno = errno
        self.kernel_message = kernel_message


class MemoryError(KOSError):
    """Base memory management error."""


class AllocationError(MemoryError):
    """Memory allocation failed."""


class MappingError(MemoryError):
    """Memory mapping operation failed."""


class ProtectionError(MemoryError):
    """Memory protection change failed."""
