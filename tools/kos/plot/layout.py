"""Struct layouts read from the kernel's DWARF (pyelftools): member offsets
and sizes by name, so the pictures never spell a C layout themselves."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from elftools.elf.elffile import ELFFile


class Layout:
    def __init__(self, name: str, size: int, members: dict[str, tuple[int, int]]) -> None:
        self.name = name
        self.size = size
        self.members = members      # name -> (offset, size)

    def field(self, raw: bytes, member: str) -> int:
        offset, size = self.members[member]
        return int.from_bytes(raw[offset:offset + size], "little")


def _type_size(die: object) -> int:
    d = die
    while d is not None:
        attrs = d.attributes  # type: ignore[attr-defined]
        if "DW_AT_byte_size" in attrs:
            return int(attrs["DW_AT_byte_size"].value)
        d = d.get_DIE_from_attribute("DW_AT_type") if "DW_AT_type" in attrs else None  # type: ignore[attr-defined]
    raise ValueError("member type without a size")


@lru_cache(maxsize=16)
def _struct(elf: str, mtime: float, name: str) -> Layout:
    with open(elf, "rb") as f:
        dwarf = ELFFile(f).get_dwarf_info()
        for cu in dwarf.iter_CUs():
            for die in cu.iter_DIEs():
                if die.tag != "DW_TAG_structure_type" or "DW_AT_byte_size" not in die.attributes:
                    continue
                attr = die.attributes.get("DW_AT_name")
                if attr is None or attr.value.decode() != name:
                    continue
                members = {}
                for m in die.iter_children():
                    if m.tag == "DW_TAG_member" and "DW_AT_name" in m.attributes:
                        loc = m.attributes["DW_AT_data_member_location"].value
                        members[m.attributes["DW_AT_name"].value.decode()] = (
                            int(loc), _type_size(m.get_DIE_from_attribute("DW_AT_type")))
                return Layout(name, int(die.attributes["DW_AT_byte_size"].value), members)
    raise KeyError(f"{elf}: no struct {name} in the DWARF (built without -g?)")


def struct_layout(elf: Path, name: str) -> Layout:
    """struct name's layout in elf (cached while the file is unchanged)."""
    return _struct(str(elf), elf.stat().st_mtime, name)
